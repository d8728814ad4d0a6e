"""J4R-Net: structure (recurrence, gates, identity start), save/load, the loss, and that it learns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthetic import clean_image, write_clean
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import create_model, list_models, load_model
from weatherclean.models.j4rnet import FNet, J4RNet, J4RNetConfig, macs_per_pixel, smooth_veil
from weatherclean.models.registry import load_from_folder
from weatherclean.synth.rain import RAIN_STYLES, synthesize_rain
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
    clip = torch.rand(1, 4, 3, 32, 40)
    other_first = clip.clone()
    other_first[:, 0] = torch.rand(3, 32, 40)
    with torch.no_grad():
        out, h = model(clip)
        out2, _ = model(other_first)
        state = None
        for t in range(4):
            step_out, state = model.step(clip[:, t], state)
            assert torch.allclose(step_out.background, out.background[:, t], atol=1e-6)
    assert out.background.shape == (1, 4, 3, 32, 40) and out.alpha_logits.shape == (1, 4, 2, 32, 40)
    assert h.shape == (1, TINY.hidden, 16, 20)
    # frame 3 is the same in both clips, yet its output differs: it remembers frame 0
    assert not torch.allclose(out.background[:, 3], out2.background[:, 3], atol=1e-5)
    single = model.restore(clip[:, 3])  # photos: H = 0, no leak from anything before
    assert torch.allclose(single, model.step(clip[:, 3])[0].background.clamp(0, 1))


def test_a_frame_under_32_px_is_padded_and_its_outputs_cropped() -> None:
    """Small frames run padded to 32 px a side (edges repeated), so the memory has the padded size, every
    output the frame's, and stepping a clip of them matches running it whole."""
    torch.manual_seed(0)
    model = _randomise(J4RNet(TINY)).eval()
    clip = torch.rand(1, 3, 3, 5, 7)
    with torch.no_grad():
        out, h = model(clip)
        padded = F.pad(clip[:, 0], (0, 25, 0, 27), mode="replicate")
        first = model.step(padded)[0].background[..., :5, :7]
    assert out.background.shape == (1, 3, 3, 5, 7) and out.alpha_logits.shape == (1, 3, 2, 5, 7)
    assert h.shape == (1, TINY.hidden, 16, 16) == model.init_state(clip[:, 0]).shape
    assert torch.allclose(out.background[:, 0], first, atol=1e-6)


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


@pytest.mark.slow
def test_training_learns_to_remove_rain(tmp_path: Path) -> None:
    """Single-frame pre-training on test-made backgrounds: loss falls, PSNR rises above the input's."""
    clean = write_clean(tmp_path / "clean", seed=11, n=6)
    task = RainTask(clean=[clean], frames=1, crop=32, samples=10**6, level="light", seed=0, styles=("lines",))
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
        x = synthesize_rain(y, rng, level="light", styles=["lines"]).rainy
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
    for args, advice in (
        (["evaluate", "--task", "rain", "--dataset", str(tmp_path), "--model", "desnownet-light"],
         "model; use it with `weatherclean desnow` or `evaluate --task snow` (load_restorer('snow', ...) in Python)"),
        # train's advice is train's: the other --task, or a model of this task
        (["train", "--task", "rain", "--skimage-samples", "--init", "desnownet-light", "-o", str(tmp_path / "r")],
         "--init desnownet-light: a snow model; to fine-tune it, use --task snow, or pick a rain model for --init"),
        (["train", "--task", "snow", "--skimage-samples", "--arch", "j4rnet-light", "-o", str(tmp_path / "s")],
         "--arch j4rnet-light: a rain configuration; to train it, use --task rain, or pick a snow configuration"),
    ):  # fmt: skip
        result = runner.invoke(app, args)
        output = " ".join(result.output.split())  # the one-line message, as the console may wrap it
        assert result.exit_code == 2 and advice in output, (args, output)
        assert "(`weatherclean " in output, (args, output)
        assert args[0] != "train" or "load_restorer" not in output, (args, output)


# --------------------------------------------------------------------------------------------------
# No harm (issue 13): opt-in options, off by default
# --------------------------------------------------------------------------------------------------


def _papers_step(model: J4RNet, frame: torch.Tensor) -> torch.Tensor:
    """The paper's step written out from the model's own modules, as it was before the no-harm options."""
    folded, size = model._fold(frame)
    h_prev = model.init_state(frame)
    f = model.extract(folded)
    fd = model.dnet(torch.cat([f, h_prev], dim=1))
    logits = model._unfold(model.dnet_head(fd), size, frame)
    h = model.fnet(f, h_prev, fd)
    removed = frame - model._unfold(model.rnet_head(model.rnet(f)), size, frame)
    filled = removed + model._unfold(model.cnet_head(model.cnet(torch.cat([f, h], dim=1))), size, frame)
    alpha = torch.softmax(logits, dim=1)[:, 1:2]
    joint = (1 - alpha) * removed + alpha * filled
    joint_folded, _ = model._fold(joint)
    return joint + model._unfold(model.jrc_head(model.jrc(torch.cat([joint_folded, h], dim=1))), size, frame)


def test_no_harm_options_are_off_by_default_and_off_is_the_papers_step() -> None:
    defaults = J4RNetConfig()
    assert (defaults.streak_mode, defaults.clamp_fill, defaults.occlusion_floor, defaults.pass_through) == (
        "paper", False, 0.0, 0.0,
    )  # fmt: skip
    bundled = load_model("j4rnet-light", task="rain")
    assert isinstance(bundled, J4RNet)
    # The shipped weights opt in through their config.json (issue 13, rounds 4 and 6); a config.json
    # that loses those keys would silently ship the ungated network. Round 6 tuned them to these.
    shipped = bundled.config
    assert (shipped.streak_mode, shipped.clamp_fill, shipped.occlusion_floor) == ("detail", True, 0.2)
    assert (shipped.pass_through, shipped.veil_threshold, shipped.veil_cell) == (0.03, 0.04, 64)  # round 18
    # The rain default since round 17 opts in the same way, with the veil smoothed over 64-px cells.
    wide = load_model("j4rnet-wide", task="rain").config
    assert (wide.channels, wide.streak_mode, wide.clamp_fill, wide.occlusion_floor) == (64, "detail", True, 0.2)
    assert (wide.pass_through, wide.veil_threshold, wide.veil_cell) == (0.03, 0.04, 64)
    # With every option off, the same weights run the paper's step bit for bit.
    cfg = dataclasses.replace(
        shipped, streak_mode="paper", clamp_fill=False, occlusion_floor=0.0, pass_through=0.0, veil_threshold=0.0,
        veil_cell=0,
    )  # fmt: skip
    plain = J4RNet(cfg).eval()
    plain.load_state_dict(bundled.state_dict())
    x = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(plain.step(x)[0].background, _papers_step(plain, x))  # bit for bit
    assert torch.equal(plain.gate(x), torch.ones(1, 1, 37, 50))  # no gate: every pixel is the model's
    assert plain.receptive_field == 64  # tiles overlap as the paper's network needs
    gated = J4RNet(dataclasses.replace(cfg, streak_mode="detail", pass_through=0.02))
    assert gated.receptive_field == 64 + 4 * 2 + 4 * 3  # + the detail window and the gate's reach
    smoothed = J4RNet(dataclasses.replace(cfg, streak_mode="detail", pass_through=0.02, veil_cell=64))
    assert smoothed.receptive_field == gated.receptive_field + 160  # + the veil smoothing's 2.5 cells
    for bad in (
        {"streak_mode": "zero"},
        {"streak_window": 4},
        {"occlusion_floor": 1.0},
        {"pass_through": -0.1},
        {"pass_through": 0.02, "veil_threshold": 0.6},
        {"veil_cell": 6},
        {"veil_cell": 66},
        {"veil_cell": 64.0},  # a float from a hand-edited config.json would fail inside the pooling
    ):
        with pytest.raises(ValueError):
            J4RNetConfig(**bad)  # type: ignore[arg-type]


def _with(config: J4RNetConfig, state: dict[str, torch.Tensor], **changes: object) -> J4RNet:
    model = J4RNet(dataclasses.replace(config, **changes))
    model.load_state_dict(state)
    return model.eval()


def test_detail_streak_is_non_negative_and_has_no_constant_offset() -> None:
    torch.manual_seed(4)
    paper = _randomise(J4RNet(TINY)).eval()
    with torch.no_grad():
        paper.rnet_head.bias.fill_(0.2)  # the constant "streak" the shipped weights carry (+56 grey levels)
    state = paper.state_dict()
    detail = _with(TINY, state, streak_mode="detail")
    shifted = {**state, "rnet_head.bias": state["rnet_head.bias"] + 0.3}
    x = torch.rand(2, 3, 24, 32)
    with torch.no_grad():
        s_paper = paper.step(x)[0].streak
        s_detail = detail.step(x)[0].streak
        s_shifted = _with(TINY, shifted, streak_mode="detail").step(x)[0].streak
    assert float(s_paper.mean()) > 0.15  # the paper's parameterisation keeps the offset
    assert float(s_detail.min()) >= 0.0 and float(s_detail.mean()) < 0.02
    torch.testing.assert_close(s_shifted, s_detail, rtol=0, atol=1e-5)  # any constant offset is removed


def test_clamp_fill_and_occlusion_floor_stop_c_net_leaking_into_unoccluded_pixels() -> None:
    torch.manual_seed(5)
    base = _randomise(J4RNet(TINY)).eval()
    with torch.no_grad():
        base.cnet_head.weight.mul_(200.0)  # a wild C-Net, as at the wall edge of the real frames
    state = base.state_dict()
    quiet = {**state, "cnet_head.weight": state["cnet_head.weight"] * 0.0}
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        out = base.step(x)[0]
        assert float(out.filled.min()) < -0.5 and float(out.filled.max()) > 1.5
        clamped = _with(TINY, state, clamp_fill=True).step(x)[0]
        assert float(clamped.filled.min()) >= 0.0 and float(clamped.filled.max()) <= 1.0
        # α̂ ≈ 0.12 here (no occlusion found): above a floor of 0.2 C-Net's fill no longer reaches the output.
        assert float(out.alpha.max()) < 0.2
        floored = _with(TINY, state, occlusion_floor=0.2).step(x)[0].background
        without_cnet = _with(TINY, quiet, occlusion_floor=0.2).step(x)[0].background
        assert torch.equal(floored, without_cnet)
        assert not torch.allclose(out.background, _with(TINY, quiet).step(x)[0].background, atol=1e-3)


def test_pass_through_returns_dry_pixels_unchanged() -> None:
    torch.manual_seed(6)
    state = _randomise(J4RNet(TINY)).state_dict()
    model = _with(TINY, state, streak_mode="detail", pass_through=0.01, gate_radius=2)
    dry = torch.full((1, 3, 64, 80), 0.45)
    with torch.no_grad():
        gate = model.gate(dry)
        out = model.step(dry)[0].background
    closed = gate == 0
    assert float(closed.float().mean()) > 0.3  # the flat middle: no rain evidence anywhere near
    assert torch.equal(out.expand_as(dry)[closed.expand_as(dry)], dry[closed.expand_as(dry)])  # bit for bit
    rainy = dry.clone()
    rainy[..., 8:40:6] = 0.95  # bright thin vertical streaks: evidence, the gate opens, the model acts
    with torch.no_grad():
        opened = model.gate(rainy)
        changed = model.step(rainy)[0].background
    assert float(opened.max()) == 1.0 and float(opened.mean()) > float(gate.mean())
    assert float((changed - rainy).abs().max()) > 1e-3
    assert torch.equal(changed[(opened == 0).expand_as(rainy)], rainy[(opened == 0).expand_as(rainy)])
    with torch.no_grad():  # training sees the network behind the gate: a closed gate would pass no gradient
        behind = model.train().step(dry)[0].background
    assert not torch.equal(behind, out)


def test_veil_threshold_opens_the_gate_where_the_network_removes_a_veil() -> None:
    """A flat frame has no streak detail, so the streak evidence alone keeps the gate shut; a network that
    darkens it by 0.1 (a veil removed) opens it with ``veil_threshold`` 0.03, one that darkens by 0.02
    (a dry photo's drift) does not."""
    frame = torch.full((1, 3, 40, 48), 0.7)
    for darkening, opens in ((0.1, True), (0.02, False)):
        model = J4RNet(dataclasses.replace(TINY, streak_mode="detail", pass_through=0.02, gate_radius=4))
        with torch.no_grad():
            model.jrc_head.bias.fill_(-darkening)  # the network's correction: a uniform darkening
            streaks_only = model.eval().step(frame)[0].background
            model.config = dataclasses.replace(model.config, veil_threshold=0.03)
            gate = model.gate(frame)
            out = model.step(frame)[0].background
        assert torch.equal(streaks_only, frame)  # no streak evidence: the input itself
        if opens:
            assert float(gate.min()) == 1.0
            torch.testing.assert_close(out, frame - darkening, rtol=0, atol=1e-3)  # R-Net starts at 1e-4
        else:
            assert float(gate.max()) == 0.0 and torch.equal(out, frame)
    with pytest.raises(ValueError, match="pass_through"):
        J4RNetConfig(veil_threshold=0.03)


def test_smooth_veil_keeps_streak_detail_and_a_smooth_veil_and_evens_out_an_area_veil() -> None:
    """A constant veil and fine detail (zero mean over every 16-px cell) come through unchanged. A veil
    that stops at an edge keeps its level far from it, while over the tens of pixels beside the edge
    its level moves towards the other side's: an area darkened much more than its surroundings (the
    sunlit building of rain round 17) is evened out; the detail within 8 px of the edge stays."""
    h, w = 128, 512
    stripes = torch.zeros(1, 3, h, w)
    stripes[..., ::4] = 0.06
    stripes[..., 2::4] = -0.06  # streak-scale detail, zero mean over every 16-px cell
    smooth = torch.full((1, 3, h, w), -0.1) + stripes
    torch.testing.assert_close(smooth_veil(smooth, 64), smooth, rtol=0, atol=1e-5)
    edge = torch.zeros(1, 3, h, w)
    edge[..., :, : w // 2] = -0.2  # a veil over the left half only
    out = smooth_veil(edge, 64)
    torch.testing.assert_close(out[..., :, :128], edge[..., :, :128], rtol=0, atol=1e-5)  # far from the edge
    torch.testing.assert_close(out[..., :, -128:], edge[..., :, -128:], rtol=0, atol=1e-5)
    beside = out[..., :, w // 2 - 40 : w // 2 - 16]  # 16-40 px inside the veiled side
    assert float(beside.max()) > -0.2 + 0.05  # a quarter of the step and more evened out
    assert float(out.min()) >= -0.2 - 1e-5 and float(out.max()) <= 0.2  # nothing darker than the veil itself
    assert smooth_veil(torch.zeros(1, 3, 37, 50), 16).shape == (1, 3, 37, 50)  # sizes not a multiple of the cell


def test_veil_cell_smooths_jrc_nets_residual_at_inference_only() -> None:
    torch.manual_seed(7)
    state = _randomise(J4RNet(TINY)).state_dict()
    plain, smoothed = _with(TINY, state), _with(TINY, state, veil_cell=16)
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        a, b = plain.step(x)[0], smoothed.step(x)[0]
        torch.testing.assert_close(b.streak, a.streak)  # only JRC-Net's residual changes
        residual = a.background - ((1 - a.alpha) * (x - a.streak) + a.alpha * a.filled)
        expected = a.background - residual + smooth_veil(residual, 16)
        torch.testing.assert_close(b.background, expected, rtol=0, atol=1e-5)
        assert float((b.background - a.background).abs().max()) > 1e-4
        # training optimises the network as it is: the smoothing is part of inference, like the gate
        torch.testing.assert_close(smoothed.train().step(x)[0].background, plain.train().step(x)[0].background)


def test_detail_mode_asks_r_net_only_for_the_streaks_detail() -> None:
    model = J4RNet(dataclasses.replace(TINY, streak_mode="detail"))
    veil = torch.full((2, 3, 3, 16, 20), 0.3)  # a clip's streak map that is all veil
    torch.testing.assert_close(model.streak_target(veil), torch.zeros_like(veil), rtol=0, atol=1e-6)
    line = veil.clone()
    line[..., 9] += 0.4  # a thin streak on the veil keeps most of its height
    target = model.streak_target(line)
    assert float(target[..., 9].min()) > 0.25 and float(target[..., :6].abs().max()) < 1e-6
    assert J4RNet(TINY).streak_target(line) is line  # the paper's mode: S itself


def test_colour_term_charges_a_shift_and_is_off_by_default() -> None:
    clean = torch.rand(2, 3, 3, 16, 16)
    shifted = clean - 0.02
    batch = {"clean": clean, "streak": torch.zeros_like(clean), "alpha": torch.zeros(2, 3, 1, 16, 16)}
    out = (shifted, torch.zeros_like(clean), torch.zeros(2, 3, 2, 16, 16))
    total, parts = DerainLoss()(out, batch)
    assert "colour" not in parts
    total2, parts2 = DerainLoss(lambda_colour=2.0)(out, batch)
    # Per frame, a uniform shift d costs 3·d² per cell at each of the 2, 4, 8 and 16 px levels.
    expected = sum(3 * (16 // k) ** 2 * 0.02**2 for k in (2, 4, 8, 16))
    assert parts2["colour"] == pytest.approx(expected, rel=1e-3)
    assert total2.item() == pytest.approx(total.item() + 2.0 * expected, rel=1e-4)


def test_training_with_the_no_harm_options_still_learns(tmp_path: Path) -> None:
    """Every option on, two-frame clips: the training loss on a fixed batch falls, and the gated output
    (inference) is no worse than the input it would otherwise return."""
    clean = write_clean(tmp_path / "clean", seed=13, n=4, size=64)
    config = dataclasses.replace(
        TINY, streak_mode="detail", clamp_fill=True, occlusion_floor=0.2, pass_through=0.02, gate_radius=4
    )
    loss_fn = DerainLoss(lambda_colour=1.0, lambda_removal=0.1)
    task = RainTask(clean=[clean], frames=2, crop=24, samples=10**6, level="light", seed=1, styles=("lines",),
                    clean_fraction=0.15, loss_fn=loss_fn)  # fmt: skip
    fixed = task.build_dataset()
    batch = {
        k: torch.stack([fixed.item(i, epoch=99)[k] for i in range(12)]) for k in ("rainy", "clean", "streak", "alpha")
    }

    def fixed_loss(model: J4RNet, training: bool) -> float:
        with torch.no_grad():
            return float(task.loss(model.train(training), batch)[0])

    cfg = TrainConfig(output=str(tmp_path / "run"), steps=40, batch_size=4, lr=2e-3, warmup_steps=10,
                      workers=0, progress=False, checkpoint_every=40, log_every=20)  # fmt: skip
    torch.manual_seed(0)
    untrained = J4RNet(config)
    before = fixed_loss(untrained, training=True), fixed_loss(untrained, training=False)
    result = train(J4RNet(config), task, cfg)
    trained = load_from_folder(Path(str(result.final_dir)))
    assert isinstance(trained, J4RNet) and trained.config == config  # the options travel with the weights
    assert fixed_loss(trained, training=True) < 0.8 * before[0]
    assert fixed_loss(trained, training=False) < 1.02 * before[1]


def test_train_cli_rain_styles(tmp_path: Path) -> None:
    """`train --task rain --exclude-style` trains on the other rain styles; names are the rain task's."""
    import json

    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = write_clean(tmp_path / "clean", seed=3, n=2, size=48)
    runner = CliRunner()
    base = ["train", "--task", "rain", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0"]
    result = runner.invoke(app, [*base, "--steps", "1", "--exclude-style", "lens", "-q", "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "r" / "train_config.json").read_text())["extra"]
    assert settings["styles"] == [s for s in RAIN_STYLES if s != "lens"]
    for bad, message in (
        (["--style", "bokeh"], "unknown rain style 'bokeh'"),
        (["--style", "wide", "--exclude-style", "wide"], "leave no rain style"),
        (["--style-weight", "downpour"], "write NAME=W"),
        (["--style-weight", "downpour=-1"], "write NAME=W"),
        (["--style-weight", "fog=1"], "--style-weight: unknown rain style 'fog'"),
        (["--exclude-style", "lens", "--style-weight", "lens=2"], "--style-weight lens: that style is not trained"),
        (["--style", "wide", "--style-weight", "wide=0"], "every style trained on has weight 0"),
        (["--style-weight", "wide=1", "--style-weight", "WIDE=2"], "'wide' is given two weights"),
    ):
        result = runner.invoke(app, [*base, *bad, "--steps", "1", "-o", str(tmp_path / "bad")])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "bad").exists()  # refused before anything was written


def test_train_cli_style_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--style-weight downpour=0.25` trains on every style, downpour with a quarter of the chance, the data
    draws with those weights, and the model card's command repeats them; weight 0 is `--exclude-style`."""
    import json

    from typer.testing import CliRunner

    import weatherclean.data.rain as data_rain
    from weatherclean.cli import app

    drawn_from: list[object] = []
    real = data_rain.SyntheticRainDataset

    def recording(*args: object, **kwargs: object) -> object:
        drawn_from.append(kwargs["styles"])
        return real(*args, **kwargs)

    monkeypatch.setattr(data_rain, "SyntheticRainDataset", recording)
    clean = write_clean(tmp_path / "clean", seed=3, n=2, size=48)
    base = ["train", "--task", "rain", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0",
            "--steps", "1", "-q"]  # fmt: skip
    args = [*base, "--style-weight", "Downpour=0.25", "--style-weight", "lens=0", "-o", str(tmp_path / "r")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = {s: 0.25 if s == "downpour" else 1.0 for s in RAIN_STYLES if s != "lens"}
    assert drawn_from == [expected]
    settings = json.loads((tmp_path / "r" / "train_config.json").read_text())["extra"]
    assert settings["style_weights"] == expected and settings["styles"] == list(expected)
    card = (tmp_path / "r" / "model" / "README.md").read_text()
    assert "--style-weight downpour=0.25" in card and "--style lens" not in card
    result = CliRunner().invoke(app, [*base, "--style-weight", "lens=0", "-o", str(tmp_path / "same")])
    assert result.exit_code == 0, result.output
    assert drawn_from[-1] == tuple(expected)  # equal weights: the plain list, drawn as --exclude-style lens
    card = (tmp_path / "same" / "model" / "README.md").read_text()
    assert "--style-weight" not in card and "--style lens" not in card and "--style downpour" in card
