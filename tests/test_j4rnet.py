"""J4R-Net: structure (recurrence, gates, identity start), save/load, the loss, and that it learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from synthetic import clean_image, write_clean
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import create_model, list_models, load_model
from weatherclean.models.j4rnet import FNet, J4RNet, J4RNetConfig, macs_per_pixel
from weatherclean.models.registry import load_from_folder
from weatherclean.synth.rain import synthesize_rain
from weatherclean.training.losses import DerainLoss, high_pass
from weatherclean.training.tasks import RainTask
from weatherclean.training.trainer import TrainConfig, train

TINY = J4RNetConfig(channels=12, hidden=8, stride=2, extractor_layers=1, dnet_layers=2, rnet_blocks=1,
                    cnet_blocks=1, jrc_blocks=1)  # fmt: skip


def _randomise(model: J4RNet, seed: int = 0) -> J4RNet:
    """Give the zero-initialised output heads random weights, so every path influences the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for head in (model.rnet_head, model.cnet_head, model.jrc_head, model.dnet_head):
            head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.05)
    return model


def test_untrained_model_returns_its_input() -> None:
    model = J4RNet(TINY).eval()
    x = torch.rand(1, 3, 21, 34)
    assert torch.allclose(model.restore(x), x, atol=1e-6)


def test_memory_carries_information_forward_and_forward_is_stepwise() -> None:
    torch.manual_seed(0)
    model = _randomise(J4RNet(TINY)).eval()
    clip = torch.rand(1, 4, 3, 16, 24)
    other_first = clip.clone()
    other_first[:, 0] = torch.rand(3, 16, 24)
    with torch.no_grad():
        out, h = model(clip)
        out2, _ = model(other_first)
        state = None
        for t in range(4):
            step_out, state = model.step(clip[:, t], state)
            assert torch.allclose(step_out.background, out.background[:, t], atol=1e-6)
    assert out.background.shape == (1, 4, 3, 16, 24) and out.alpha_logits.shape == (1, 4, 2, 16, 24)
    assert h.shape == (1, TINY.hidden, 8, 12)
    # frame 3 is the same in both clips, yet its output differs: it remembers frame 0
    assert not torch.allclose(out.background[:, 3], out2.background[:, 3], atol=1e-5)
    single = model.restore(clip[:, 3])  # photos: H = 0, no leak from anything before
    assert torch.allclose(single, model.step(clip[:, 3])[0].background.clamp(0, 1))


def test_fnet_gates_follow_the_paper() -> None:
    torch.manual_seed(1)
    fnet = FNet(4, 3)
    f, h, fd = torch.randn(1, 4, 5, 5), torch.randn(1, 3, 5, 5), torch.randn(1, 4, 5, 5)
    wz, wr, wh = fnet.w(f).chunk(3, 1)
    uz, ur = fnet.u(h).chunk(2, 1)
    vz, vr = fnet.v(fd).chunk(2, 1)
    z, r = torch.sigmoid(wz + uz + vz), torch.relu(wr + ur + vr)  # update: sigmoid; read: ReLU
    expected = (1 - z) * h + z * torch.tanh(wh + fnet.u_h(r * h))
    assert torch.allclose(fnet(f, h, fd), expected, atol=1e-6)


@pytest.mark.parametrize("name", [s.name for s in list_models("rain")])
def test_registered_configs_run_on_odd_sizes_and_report_cost(name: str) -> None:
    model = create_model(name).eval()
    x = torch.rand(1, 3, 19, 23)
    assert model.restore(x).shape == x.shape
    assert macs_per_pixel(model) > 1000 and model.receptive_field >= 32


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = _randomise(J4RNet(TINY))
    model.save_pretrained(tmp_path / "m")
    loaded = load_from_folder(tmp_path / "m")
    assert isinstance(loaded, J4RNet) and loaded.config == TINY
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_loss_terms_and_weights() -> None:
    torch.manual_seed(2)
    model = _randomise(J4RNet(TINY))
    batch = {
        "rainy": torch.rand(2, 3, 3, 16, 16), "clean": torch.rand(2, 3, 3, 16, 16),
        "streak": torch.rand(2, 3, 3, 16, 16) * 0.2, "alpha": (torch.rand(2, 3, 1, 16, 16) > 0.9).float(),
    }  # fmt: skip
    out, _ = model(batch["rainy"])
    loss = DerainLoss()
    total, parts = loss(out, batch)
    expected = parts["joint"] + 1e-3 * parts["detect"] + 1e-4 * parts["rect"] + 1e-4 * parts["removal"]
    assert total.item() == pytest.approx(expected, rel=1e-5) and all(v > 0 for v in parts.values())
    _, real = loss(out, {**batch, "has_maps": torch.tensor([False, False])})  # real pairs: no maps
    assert real["detect"] == 0.0 and real["removal"] == 0.0 and real["joint"] == parts["joint"]
    flat = torch.full((1, 3, 8, 8), 0.4)
    assert torch.allclose(high_pass(flat), torch.zeros_like(flat), atol=1e-6)  # E ignores flat areas


def test_training_learns_to_remove_rain(tmp_path: Path) -> None:
    """Single-frame pre-training on test-made backgrounds: loss falls, PSNR rises above the input's."""
    clean = write_clean(tmp_path / "clean", seed=11, n=6)
    task = RainTask(clean=[clean], frames=1, crop=32, samples=10**6, level="light", seed=0)
    cfg = TrainConfig(output=str(tmp_path / "run"), steps=250, batch_size=8, lr=2e-3, warmup_steps=20,
                      workers=0, progress=False, checkpoint_every=250, log_every=25)  # fmt: skip
    torch.manual_seed(0)
    result = train(J4RNet(TINY), task, cfg)
    losses = [r["loss"] for r in result.history]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:2])

    model = load_model(str(result.final_dir), task="rain")
    rng = np.random.default_rng(321)  # held-out: other backgrounds, other rain
    gains = []
    for _ in range(4):
        y = clean_image(rng)
        x = synthesize_rain(y, rng, level="light").rainy
        out = model.restore(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        gains.append(psnr(out, y) - psnr(x, y))
    assert np.mean(gains) > 1.0, gains


def test_models_of_the_other_task_are_refused_everywhere(tmp_path: Path) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from weatherclean.cli import app

    for sub in ("rain", "gt"):
        (tmp_path / sub).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / sub / "a.png")
    runner = CliRunner()
    for args in (
        ["evaluate", "--task", "rain", "--dataset", str(tmp_path), "--model", "desnownet-light"],
        ["train", "--task", "rain", "--skimage-samples", "--init", "desnownet-light", "-o", str(tmp_path / "r")],
        ["train", "--task", "snow", "--skimage-samples", "--arch", "j4rnet-light", "-o", str(tmp_path / "s")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "model; use `weatherclean" in result.output, (args, result.output)
