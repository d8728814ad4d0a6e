"""The trainer: the DesnowNet loss, learning on synthetic snow, determinism and resume."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from synthetic import clean_image, write_clean
from weatherclean.errors import WeathercleanError
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import DesnowNet, DesnowNetConfig, load_model
from weatherclean.synth.snow import synthesize_snow
from weatherclean.training.losses import DesnowLoss, pyramid_loss
from weatherclean.training.tasks import SnowTask
from weatherclean.training.trainer import TrainConfig, _autocast_choice, lr_factor, train

TINY = DesnowNetConfig(
    width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, descriptor_stride=2, head_channels=8
)


def _tiny_model(seed: int = 0) -> DesnowNet:
    torch.manual_seed(seed)
    return DesnowNet(TINY)


def test_pyramid_loss_matches_the_definition() -> None:
    torch.manual_seed(0)
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    expected = sum(
        (torch.nn.functional.max_pool2d(a, k, k) - torch.nn.functional.max_pool2d(b, k, k)).pow(2).sum() / 2
        for k in (1, 2, 4, 8, 16)
    )
    assert pyramid_loss(a, b, levels=4).item() == pytest.approx(expected.item(), rel=1e-5)
    assert pyramid_loss(a, a).item() == 0.0


def test_full_loss_has_every_term() -> None:
    model = _tiny_model()
    batch = {"x": torch.rand(2, 3, 32, 32), "y": torch.rand(2, 3, 32, 32), "z": torch.rand(2, 1, 32, 32)}
    total, parts = DesnowLoss(lambda_z=3.0, lambda_w=5e-4)(model, model(batch["x"]), batch)
    expected = parts["y_prime"] + parts["y_hat"] + 3.0 * parts["z"] + 5e-4 * parts["w"]
    assert total.item() == pytest.approx(expected, rel=1e-5)
    assert all(v > 0 for v in parts.values())


def test_lr_schedule_warms_up_and_decays() -> None:
    cfg = TrainConfig(steps=1000, warmup_steps=100, min_lr_ratio=0.05)
    assert lr_factor(0, cfg) == pytest.approx(0.01)
    assert lr_factor(99, cfg) == pytest.approx(1.0)
    assert lr_factor(550, cfg) == pytest.approx(0.525, abs=1e-3)
    assert lr_factor(1000, cfg) == pytest.approx(0.05)


def learn_snow(
    folder: Path,
    no_harm: bool,
    *,
    steps: int = 300,
    crop: int = 32,
    batch: int = 8,
    warmup: int = 20,
    log_every: int = 25,
) -> tuple[list[float], list[float], float | None]:
    """What :func:`test_training_learns_to_remove_snow` trains and measures, under its settings by default: the logged
    losses, the PSNR gains on four held-out pictures and, for ``no_harm``, the PSNR-Y of a snow-free picture (else
    None). ``runs/test_margins_s45.sh`` calls it with other settings to measure the test's margins."""
    clean = write_clean(folder / "clean", seed=1, n=6)
    task = SnowTask(clean=[clean], crop=crop, samples=10**6, level="M", seed=0)
    net = _tiny_model()
    if no_harm:
        task.clean_fraction = 0.2
        task.loss_fn = DesnowLoss(lambda_colour=1.0)
        net = DesnowNet(dataclasses.replace(TINY, pass_through=0.02))
        net.load_state_dict(_tiny_model().state_dict())
    cfg = TrainConfig(
        output=str(folder / "run"),
        steps=steps,
        batch_size=batch,
        lr=2e-3,
        warmup_steps=warmup,
        workers=0,
        progress=False,
        checkpoint_every=100,
        log_every=log_every,
    )
    result = train(net, task, cfg)
    losses = [r["loss"] for r in result.history]

    model = load_model(str(result.final_dir))  # the final folder loads like any --model
    rng = np.random.default_rng(123)  # held-out: other backgrounds, other snow
    gains = []
    for _ in range(4):
        y = clean_image(rng)
        x = synthesize_snow(y, rng, level="M").snowy
        out = model.restore(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        gains.append(psnr(out, y) - psnr(x, y))
    clean_psnr = None
    if no_harm:
        y = clean_image(rng)
        out = model.restore(torch.from_numpy(y).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        clean_psnr = psnr(out, y, y_channel=True)
    return losses, gains, clean_psnr


@pytest.mark.slow
@pytest.mark.parametrize("no_harm", [False, True], ids=["paper", "no-harm"])
def test_training_learns_to_remove_snow(tmp_path: Path, no_harm: bool) -> None:
    """A few hundred steps on tiny synthetic data: the loss falls and PSNR rises above the input's.

    ``no-harm`` is the recipe of the shipped weights (issue 12): the pass-through gate, the colour term
    and snow-free crops; that model must still learn, and return snow-free pictures nearly unchanged.
    """
    losses, gains, clean_psnr = learn_snow(tmp_path, no_harm)
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:2])
    assert np.mean(gains) > 1.0, gains
    if no_harm:
        assert clean_psnr is not None
        assert clean_psnr > 35.0  # 38.5 dB when written; the gate returns most pixels as they are


def test_same_seed_same_result_and_resume_continues_exactly(tmp_path: Path) -> None:
    clean = write_clean(tmp_path / "clean", seed=2, n=3)

    def run(name: str, stop_after: int | None = None, workers: int = 0):
        task = SnowTask(clean=[clean], crop=24, samples=10**6, seed=5)
        cfg = TrainConfig(
            output=str(tmp_path / name),
            steps=12,
            batch_size=4,
            lr=1e-3,
            warmup_steps=2,
            workers=workers,
            progress=False,
            checkpoint_every=5,
            stop_after=stop_after,
        )
        return train(_tiny_model(), task, cfg)

    straight = run("a")
    again = run("b", workers=1)  # same seed, a data-loader worker: same samples, same result
    first = run("c", stop_after=7)  # "interrupted" after 7 steps ...
    assert first.final_dir is None and first.steps == 7
    resumed = run("c")  # ... and the same command continues from the checkpoint
    assert resumed.steps == 12
    ref = load_model(str(straight.final_dir)).state_dict()
    for other in (again, resumed):
        state = load_model(str(other.final_dir)).state_dict()
        for key, value in ref.items():
            assert torch.allclose(value, state[key], atol=1e-6), key
    config = json.loads((tmp_path / "c" / "train_config.json").read_text())
    assert config["steps"] == 12


def test_resume_with_different_steps_is_refused(tmp_path: Path) -> None:
    clean = write_clean(tmp_path / "clean", seed=3, n=2)
    task = SnowTask(clean=[clean], crop=24, samples=1000, seed=0)
    cfg = TrainConfig(output=str(tmp_path / "r"), steps=4, batch_size=2, workers=0, progress=False)
    train(_tiny_model(), task, cfg)
    cfg.steps = 6
    with pytest.raises(Exception, match="--steps 4"):
        train(_tiny_model(), task, cfg)


def test_items_without_a_mask_get_no_mask_loss() -> None:
    model = _tiny_model()
    torch.manual_seed(4)
    batch = {"x": torch.rand(2, 3, 32, 32), "y": torch.rand(2, 3, 32, 32), "z": torch.rand(2, 1, 32, 32)}
    out = model(batch["x"])
    loss = DesnowLoss()
    _, with_masks = loss(model, out, batch)
    _, first_only = loss(model, out, {**batch, "has_mask": torch.tensor([True, False])})
    _, none = loss(model, out, {**batch, "has_mask": torch.tensor([False, False])})
    expected = pyramid_loss(out.z_hat[:1], batch["z"][:1]).item() / 2  # item 0's sum over the batch of 2
    assert first_only["z"] == pytest.approx(expected, rel=1e-5)
    assert first_only["z"] < with_masks["z"] and none["z"] == 0.0
    assert first_only["y_hat"] == with_masks["y_hat"]


def test_cpu_mixed_precision_only_where_the_cpu_has_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    assert _autocast_choice(None, cpu)[0] is False  # never on by default on a CPU
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "1")
    assert _autocast_choice(True, cpu) == (True, torch.bfloat16)
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "0")
    with pytest.raises(WeathercleanError, match="native bf16"):
        _autocast_choice(True, cpu)


def learn_snow_in_bf16(
    folder: Path, *, steps: int = 30, crop: int = 24, batch: int = 6, warmup: int = 5
) -> tuple[list[float], Path]:
    """What :func:`test_bf16_training_learns_and_saves_a_loadable_fp32_model` trains, under its settings by default
    (``WEATHERCLEAN_CPU_BF16=1`` set by the caller): the logged losses and the final model's folder.
    ``runs/test_margins_s45.sh`` calls it with other settings to measure the test's margin."""
    clean = write_clean(folder / "clean", seed=3, n=4)
    task = SnowTask(clean=[clean], crop=crop, samples=10**6, level="M", seed=0)
    cfg = TrainConfig(  # small: bf16 is emulated, and slow, on CPUs without it (30 steps: loss 0.34x the first)
        output=str(folder / "run"),
        steps=steps,
        batch_size=batch,
        lr=2e-3,
        warmup_steps=warmup,
        workers=0,
        progress=False,
        checkpoint_every=steps // 2,
        log_every=max(1, steps // 6),
        amp=True,
    )
    result = train(_tiny_model(), task, cfg)
    return [r["loss"] for r in result.history], result.final_dir


@pytest.mark.slow
def test_bf16_training_learns_and_saves_a_loadable_fp32_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--amp on a CPU (bf16 autocast, channels-last weights) still learns, and the saved model is plain fp32."""
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "1")  # emulated where the CPU lacks it: slower, same maths
    losses, final_dir = learn_snow_in_bf16(tmp_path)
    assert np.mean(losses[-2:]) < 0.8 * losses[0]
    state = load_model(str(final_dir)).state_dict()
    assert all(v.dtype == torch.float32 and v.is_contiguous() for v in state.values())


def test_train_cli_styles_and_pass_through(tmp_path: Path) -> None:
    """`train --exclude-style` trains on the other styles; `--pass-through` lands in the saved config."""
    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = write_clean(tmp_path / "clean", seed=3, n=2)
    runner = CliRunner()
    base = ["train", "--task", "snow", "--clean", str(clean), "--crop", "24", "--batch-size", "2", "--workers", "0"]
    result = runner.invoke(
        app,
        [*base, "--arch", "desnownet-light", "--steps", "2", "--exclude-style", "flakes", "--pass-through", "0.02",
         "--lambda-colour", "1", "-q", "-o", str(tmp_path / "run")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["pass_through"] == 0.02
    settings = json.loads((tmp_path / "run" / "train_config.json").read_text())["extra"]
    assert "flakes" not in settings["styles"] and len(settings["styles"]) == 4
    card = (tmp_path / "run" / "model" / "README.md").read_text()  # the card's command makes the same run
    assert "--pass-through 0.02" in card and "--lambda-colour 1" in card
    assert "--style discs" in card and "--style flakes" not in card
    for bad, message in (
        (["--style", "hail"], "unknown snow style 'hail'"),
        (["--style", "bokeh", "--exclude-style", "bokeh"], "leave no snow style"),
    ):
        result = runner.invoke(app, [*base, *bad, "--steps", "1", "-o", str(tmp_path / "bad")])
        assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize(("option", "term"), [("--lambda-detect", "detect"), ("--lambda-rect", "rect"),
                                             ("--lambda-removal", "removal")])  # fmt: skip
def test_train_cli_rain_takes_the_paper_lambdas(tmp_path: Path, option: str, term: str) -> None:
    """Each of J4R-Net's loss weights reaches its own term: from the same seed the first step's parts are the
    same, and the totals differ by exactly the changed weight times that term. The card records them."""
    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = write_clean(tmp_path / "clean", seed=4, n=2)
    first = {}
    for weight in ("0", "1000"):
        result = CliRunner().invoke(
            app,
            ["train", "--task", "rain", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0",
             "--steps", "1", "--log-every", "1", option, weight, "-q", "-o", str(tmp_path / weight)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        first[weight] = json.loads((tmp_path / weight / "train_log.jsonl").read_text().splitlines()[0])
    value = first["0"][term]
    assert value > 0 and first["1000"][term] == pytest.approx(value)
    assert first["1000"]["loss"] - first["0"]["loss"] == pytest.approx(1000 * value, rel=1e-3)
    card = (tmp_path / "1000" / "model" / "README.md").read_text()
    assert f"{option} 1000" in card and "--lambda-removal" in card and "the J4R-Net paper loss, λ_d = " in card


def test_train_cli_refuses_the_other_tasks_loss_weights(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weatherclean.cli import app

    for task, option in (("snow", "--lambda-removal"), ("rain", "--lambda-z")):
        result = CliRunner().invoke(
            app, ["train", "--task", task, "--clean", str(tmp_path), option, "0.5", "-o", str(tmp_path / "run")]
        )
        assert result.exit_code == 2 and f"{option}: only the" in result.output, result.output
        assert not (tmp_path / "run").exists()


def test_train_cli_rain_takes_the_colour_term_and_the_gate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = write_clean(tmp_path / "clean", seed=4, n=2)
    result = CliRunner().invoke(
        app,
        ["train", "--task", "rain", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0",
         "--steps", "2", "--lambda-colour", "1", "--pass-through", "0.02", "--tone-fraction", "0.5",
         "--tone-haze", "dry", "-q", "-o", str(tmp_path / "rain")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rain" / "model" / "config.json").read_text())["pass_through"] == 0.02
    assert json.loads((tmp_path / "rain" / "train_config.json").read_text())["extra"]["tone_fraction"] == 0.5
    log = [json.loads(line) for line in (tmp_path / "rain" / "train_log.jsonl").read_text().splitlines()]
    assert "colour" in log[-1]  # the term was in the loss
    card = (tmp_path / "rain" / "model" / "README.md").read_text()
    assert "--lambda-colour 1" in card and "--pass-through 0.02" in card and "--tone-fraction 0.5" in card
    assert "--tone-haze dry" in card


@pytest.mark.parametrize(("option", "value"), [("--clean-fraction", "0.3"), ("--tone-fraction", "0.3"),
                                               ("--tone-haze", "dry"), ("--dry-crops", "4"), ("--level", "heavy"),
                                               ("--style", "lines")])  # fmt: skip
def test_train_cli_refuses_synthesis_options_with_pairs_from_disk(tmp_path: Path, option: str, value: str) -> None:
    """--dataset pairs are used as they are: an option that shapes synthetic samples would do nothing
    and be recorded in the card as if it had, so it is refused before anything is read."""
    from typer.testing import CliRunner

    from weatherclean.cli import app

    (tmp_path / "pairs").mkdir()
    pairs, run = str(tmp_path / "pairs"), str(tmp_path / "run")
    result = CliRunner().invoke(app, ["train", "--task", "rain", "--dataset", pairs, option, value, "-o", run])
    assert result.exit_code == 2 and f"{option}: only synthetic training data" in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_train_cli_refuses_an_unknown_or_idle_tone_haze(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = write_clean(tmp_path / "clean", seed=4, n=1)
    args = ["train", "--task", "rain", "--clean", str(clean), "--tone-haze", "fog", "-o", str(tmp_path / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "unknown tone haze 'fog'" in result.output, result.output
    result = CliRunner().invoke(app, [*args[:-4], "--tone-haze", "dry", "-o", str(tmp_path / "run")])
    assert result.exit_code == 2 and "needs --tone-fraction above 0" in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_veil_stage_fit_takes_heavy_snows_veil_off(tmp_path: Path) -> None:
    """The least-squares fit explains the veil on pictures it did not see, and the model it makes takes
    the veil off held-out heavy snow (closer to the same flakes without the veil), other weights kept."""
    from weatherclean.synth.snow import apply_snow, snow_mask_and_aberration
    from weatherclean.training.veil import fit_veil, with_veil_stage

    rng = np.random.default_rng(11)
    fit = fit_veil([clean_image(rng, 192) for _ in range(40)], crop=192, seed=3)
    assert fit.r2 > 0.2 and fit.heavy_mean > fit.none_mean, fit
    assert (fit.colour > 0.7).all() and fit.cell == 8, fit.colour  # synthetic snow is light
    start = _tiny_model()
    model = with_veil_stage(start, fit).eval()
    for key, value in start.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    before, after = [], []
    for _ in range(50):
        if len(before) == 4:
            break
        y, seed = clean_image(rng, 192), int(rng.integers(0, 2**31))
        z, a = snow_mask_and_aberration(y, np.random.default_rng(seed), "L")
        z_p, _ = snow_mask_and_aberration(y, np.random.default_rng(seed), "L", haze=False)
        if (z - z_p).mean() < 0.03:  # no veil drawn this time
            continue
        x, x_p = apply_snow(y, z, a), apply_snow(y, z_p, a)
        with torch.no_grad():
            cleared = model.remove_veil(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        before.append(psnr(x, x_p))
        after.append(psnr(cleared, x_p))
    assert np.mean(after) > np.mean(before) + 1.0, (before, after)


def test_parts_with_an_lr_scale_learn_faster_and_others_as_before() -> None:
    """DesnowNet's context starts at zero inside trained weights: its parameters get their own, larger rate;
    a model without such a part keeps a single group at the given rate."""
    from weatherclean.models import DesnowNet, DesnowNetConfig
    from weatherclean.models.desnownet import Context
    from weatherclean.training.trainer import param_groups

    settings = {"width": 0.05, "blocks": (0, 0, 0), "descriptor_stride": 2, "head_channels": 4, "pyramid_channels": 4}
    plain = DesnowNet(DesnowNetConfig(**settings))
    assert [(g["lr"], len(g["params"])) for g in param_groups(plain, 1e-4)] == [(1e-4, len(list(plain.parameters())))]
    grown = DesnowNet(DesnowNetConfig(**settings, context=True))
    groups = param_groups(grown, 1e-4)
    assert [g["lr"] for g in groups] == [1e-4, pytest.approx(1e-4 * Context.lr_scale)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in grown.tr_descriptor.context.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(grown.parameters()))


def test_a_checkpoint_from_before_a_part_got_its_own_rate_says_so(tmp_path: Path, monkeypatch) -> None:
    """A run checkpointed while the context shared the model's rate cannot resume with its own rate: the error
    names that cause, not a damaged file (snow round 18's runs were checkpointed so)."""
    from weatherclean.models import DesnowNetConfig
    from weatherclean.models.desnownet import Context

    clean = write_clean(tmp_path / "clean", seed=3, n=2)
    task = SnowTask(clean=[clean], crop=24, samples=1000, seed=0)
    cfg = TrainConfig(output=str(tmp_path / "r"), steps=2, batch_size=2, workers=0, progress=False)
    settings = {**TINY.to_dict(), "context": True}
    monkeypatch.setattr(Context, "lr_scale", None)
    train(DesnowNet(DesnowNetConfig(**settings)), task, cfg)
    monkeypatch.setattr(Context, "lr_scale", 10.0)
    with pytest.raises(Exception, match="grouped the learning rates otherwise.*--no-resume"):
        train(DesnowNet(DesnowNetConfig(**settings)), task, cfg)
