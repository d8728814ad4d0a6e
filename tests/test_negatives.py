"""Hard negatives (weatherclean.data.negatives): weather-free crops from the most detailed part of a picture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from weatherclean.data.negatives import detailed_crop, fine_detail
from weatherclean.data.rain import SyntheticRainDataset
from weatherclean.data.snow import SyntheticSnowDataset
from weatherclean.errors import DatasetError


def _half_busy(side: int = 160, seed: int = 0) -> np.ndarray:
    """Left half a flat mid grey, right half fine bright dots on the same grey (lit windows, specks)."""
    rng = np.random.default_rng(seed)
    image = np.full((side, side, 3), 0.45, dtype=np.float32)
    dots = rng.random((side, side // 2)) < 0.08
    image[:, side // 2 :][dots] = 0.95
    return image


def test_fine_detail_ranks_dots_above_a_flat_field_and_a_smooth_ramp() -> None:
    flat = np.full((32, 32, 3), 0.5, dtype=np.float32)
    ramp = np.repeat(np.linspace(0.0, 1.0, 32, dtype=np.float32)[None, :, None], 32, axis=0).repeat(3, axis=2)
    dots = _half_busy(32)
    assert fine_detail(flat) == 0.0
    assert fine_detail(ramp) < 0.005  # a steep smooth gradient hardly counts (only at the edge padding)
    assert fine_detail(dots) > 0.02


def test_detailed_crop_keeps_the_most_detailed_try_and_one_try_is_a_plain_draw() -> None:
    image = _half_busy()

    def draw(rng: np.random.Generator) -> np.ndarray:
        left = int(rng.integers(0, image.shape[1] - 32 + 1))
        return image[:32, left : left + 32]

    plain, chosen = [], []
    for seed in range(40):
        plain.append(fine_detail(detailed_crop(draw, np.random.default_rng(seed), 1)))
        chosen.append(fine_detail(detailed_crop(draw, np.random.default_rng(seed), 4)))
        rng = np.random.default_rng(seed)
        assert np.array_equal(detailed_crop(draw, np.random.default_rng(seed), 1), draw(rng))
    assert all(c >= p for c, p in zip(chosen, plain, strict=True))  # the first try is among the four
    assert np.mean(chosen) > 1.3 * np.mean(plain)


def _dry(item: dict[str, torch.Tensor], key: str) -> bool:
    return float(item[key].abs().max()) == 0.0


@pytest.mark.parametrize("task", ["snow", "rain", "rain-clip"])
def test_dry_crops_make_weather_free_samples_more_detailed_and_leave_weather_samples_alone(task: str) -> None:
    """With dry_crops 4 the weather-free items come from the busy half far more often, while the items
    with weather stay as detailed as before (one plain crop each), so dry items end more detailed than
    them; dry_crops 1 is the dataset as it was (the same samples for the same seed)."""
    images = [_half_busy(seed=s) for s in range(2)]
    common = {"crop": 24, "length": 120, "seed": 5, "clean_fraction": 0.5}

    def make(**extra: int) -> SyntheticSnowDataset | SyntheticRainDataset:
        if task == "snow":
            return SyntheticSnowDataset(images, level="S", **common, **extra)
        return SyntheticRainDataset(images, frames=3 if task == "rain-clip" else 1, level="light", **common, **extra)

    key, clean = ("z", "y") if task == "snow" else ("streak", "clean")
    default, one, four = make(), make(dry_crops=1), make(dry_crops=4)
    for a, b in ((default[i], one[i]) for i in range(10)):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def detail(ds: SyntheticSnowDataset | SyntheticRainDataset) -> tuple[float, float, int]:
        """Mean fine detail of the dry items' and the weather items' clean picture, and the dry count."""
        dry, wet = [], []
        for i in range(120):
            item = ds[i]
            picture = fine_detail(item[clean].reshape(-1, 3, *item[clean].shape[-2:])[0].permute(1, 2, 0).numpy())
            (dry if _dry(item, key) else wet).append(picture)
        return float(np.mean(dry)), float(np.mean(wet)), len(dry)

    (dry1, wet1, n1), (dry4, wet4, n4) = detail(one), detail(four)
    assert 30 <= n1 <= 90 and 30 <= n4 <= 90
    assert dry4 > 1.3 * dry1 and dry4 > 1.3 * wet4
    assert abs(wet4 - wet1) < 0.25 * wet1  # plain crops both times (other draws of them; 4 tries: about 1.5x)


def test_without_dry_crops_the_samples_are_those_of_earlier_runs() -> None:
    """Sums of whole items as the datasets made them before hard negatives existed (commit 95921fe), for
    snow, rain photos and clips with re-toning: an old seed still gives its old samples."""
    images = [_half_busy(seed=s) for s in range(2)]
    common = {"crop": 24, "length": 80, "seed": 5, "clean_fraction": 0.5, "tone_fraction": 0.5}
    cases = [
        (SyntheticSnowDataset(images, level="S", **common), [3701.974, 4384.025, 3602.311, 2886.752]),
        (SyntheticRainDataset(images, frames=1, level="light", **common), [2344.121, 2741.594, 2221.88, 1896.531]),
        (SyntheticRainDataset(images, frames=3, level="light", tone_haze="dry", **common),
         [7161.689, 5569.15, 5513.807, 5410.115]),
    ]  # fmt: skip
    for ds, sums in cases:
        got = [float(sum(t.double().sum() for t in ds[i].values())) for i in range(4)]
        assert got == pytest.approx(sums, abs=0.01)


def test_dry_crops_must_be_a_whole_number_of_at_least_one() -> None:
    with pytest.raises(DatasetError, match="dry crops 0 must be"):
        SyntheticSnowDataset([_half_busy()], crop=24, clean_fraction=0.5, dry_crops=0)


def test_train_cli_takes_dry_crops_records_them_and_refuses_them_without_dry_samples(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weatherclean.cli import app

    clean = tmp_path / "clean"
    clean.mkdir()
    Image.fromarray((_half_busy(64) * 255).astype(np.uint8)).save(clean / "busy.png")
    run = tmp_path / "run"
    base = ["train", "--task", "snow", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0",
            "--steps", "2", "-q", "-o", str(run)]  # fmt: skip
    refused = CliRunner().invoke(app, [*base, "--dry-crops", "4"])
    assert refused.exit_code == 2 and "needs --clean-fraction above 0" in refused.output, refused.output
    assert not run.exists()
    result = CliRunner().invoke(app, [*base, "--dry-crops", "4", "--clean-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "train_config.json").read_text())["extra"]["dry_crops"] == 4
    assert "--dry-crops 4" in (run / "model" / "README.md").read_text()


def _tiny_folder(path: Path) -> Path:
    """A small DesnowNet with fixed random weights, saved as a model folder."""
    from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig

    config = DesnowNetConfig(
        width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, descriptor_stride=2, head_channels=8
    )
    with torch.random.fork_rng():  # later tests keep their random state
        torch.manual_seed(3)
        DesnowNet(config).save_pretrained(path)
    return path


def test_model_change_scores_what_the_frozen_model_does_and_travels_to_workers_without_weights(tmp_path: Path) -> None:
    import pickle

    from weatherclean.models.loading import load_from_folder
    from weatherclean.training.mining import ModelChange

    folder = _tiny_folder(tmp_path / "m")
    score = ModelChange(folder)
    patch = _half_busy(32)
    model = load_from_folder(folder).eval()
    x = torch.from_numpy(patch.transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        change = ((model.restore(x) - x) * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1)
    assert score(patch) == pytest.approx(float(change.square().mean()), rel=1e-5)
    assert score(patch) > 0.0  # random weights change a picture
    copy = pickle.loads(pickle.dumps(score))
    assert copy._model is None and copy(patch) == pytest.approx(score(patch), rel=1e-6)


def test_model_change_rates_what_a_user_gets_back_with_the_gate_of_inference() -> None:
    """J4R-Net's pass-through gate acts only in eval mode: the rating must be of the gated output."""
    from weatherclean.models.registry import bundled_weights_dir, load_model
    from weatherclean.training.mining import ModelChange

    folder = bundled_weights_dir("j4rnet-light")
    assert folder is not None
    patch = _half_busy(48)
    x = torch.from_numpy(patch.transpose(2, 0, 1).copy())[None]
    model = load_model("j4rnet-light", task="rain")
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    def change(m: torch.nn.Module) -> float:
        return float((((m.restore(x) - x) * luma).sum(dim=1)).square().mean())

    gated, ungated = change(model.eval()), change(model.train())
    assert gated != pytest.approx(ungated, rel=1e-3)  # the case can tell the two apart
    assert ModelChange(folder)(patch) == pytest.approx(gated, rel=1e-5)


def test_a_dry_score_replaces_the_detail_measure_and_sees_the_same_candidates(tmp_path: Path) -> None:
    """detailed_crop with another score keeps that score's best of the same draws; the snow dataset
    passes it on: with "least detail" as the score its dry items come out flatter than plain ones."""
    image = _half_busy()

    def draw(rng: np.random.Generator) -> np.ndarray:
        left = int(rng.integers(0, image.shape[1] - 32 + 1))
        return image[:32, left : left + 32]

    def flatness(p: np.ndarray) -> float:
        return -fine_detail(p)

    for seed in range(20):
        rng = np.random.default_rng(seed)
        candidates = [draw(rng) for _ in range(4)]
        picked = detailed_crop(draw, np.random.default_rng(seed), 4, flatness)
        assert fine_detail(picked) == min(fine_detail(c) for c in candidates)

    def dry_detail(**kw: object) -> float:
        ds = SyntheticSnowDataset([image], crop=24, length=400, seed=1, clean_fraction=0.5, **kw)  # type: ignore[arg-type]
        items = [ds[i] for i in range(120)]
        return float(np.mean([fine_detail(it["y"].permute(1, 2, 0).numpy()) for it in items if _dry(it, "z")]))

    assert dry_detail(dry_crops=4, dry_score=flatness) < 0.7 * dry_detail(dry_crops=1)


def test_train_cli_mines_dry_crops_against_the_init_weights_and_refuses_what_cannot_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from weatherclean.cli import app
    from weatherclean.training import mining

    rated: list[Path] = []
    rate = mining.ModelChange.__call__

    def spy(self: mining.ModelChange, patch: np.ndarray) -> float:
        rated.append(self.folder)
        return rate(self, patch)

    monkeypatch.setattr(mining.ModelChange, "__call__", spy)

    clean = tmp_path / "clean"
    clean.mkdir()
    Image.fromarray((_half_busy(64) * 255).astype(np.uint8)).save(clean / "busy.png")
    init = _tiny_folder(tmp_path / "init")
    run = tmp_path / "run"
    base = ["train", "--task", "snow", "--clean", str(clean), "--crop", "16", "--batch-size", "2", "--workers", "0",
            "--steps", "2", "-q", "-o", str(run), "--clean-fraction", "0.5"]  # fmt: skip
    refusals = {
        ("--dry-crops", "4", "--dry-pick", "change"): "needs --init",
        ("--init", str(init), "--dry-pick", "change"): "needs --dry-crops 2 or more",
        ("--init", str(init), "--dry-crops", "4", "--dry-pick", "most"): "use detail or change",
    }
    for extra, message in refusals.items():
        refused = CliRunner().invoke(app, [*base, *extra])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    assert not run.exists()
    result = CliRunner().invoke(app, [*base, "--init", str(init), "--dry-crops", "4", "--dry-pick", "change",
                                      "--batch-size", "8"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert rated and set(rated) == {init}  # the crops were rated, by the --init weights
    assert json.loads((run / "train_config.json").read_text())["extra"]["dry_pick"] == "change"
    assert "--dry-crops 4 --dry-pick change" in (run / "model" / "README.md").read_text()
    rain = tmp_path / "rain"
    mined = ["-o", str(rain), "--clean-fraction", "0.5", "--init", "j4rnet-light", "--dry-crops", "4",
             "--dry-pick", "change"]  # fmt: skip
    result = CliRunner().invoke(app, [*base[:2], "rain", *base[3:-4], *mined])
    assert result.exit_code == 0, result.output
    assert json.loads((rain / "train_config.json").read_text())["extra"]["dry_pick"] == "change"
    dataset = CliRunner().invoke(app, ["train", "--task", "snow", "--dataset", str(clean), "--init", str(init),
                                       "--dry-pick", "change", "-o", str(tmp_path / "pairs")])  # fmt: skip
    assert dataset.exit_code == 2 and "--dry-pick" in dataset.output and "--dataset" in dataset.output, dataset.output


def test_rain_items_take_the_dry_score_too() -> None:
    """SyntheticRainDataset passes dry_score on, for frames and for clips: with "least detail" as the
    score its rain-free items come out flatter than with the detail pick."""

    def flatness(p: np.ndarray) -> float:
        return -fine_detail(p)

    image = _half_busy(200)
    for frames in (1, 3):

        def dry_detail(score: object, frames: int = frames) -> float:
            ds = SyntheticRainDataset([image], frames=frames, crop=24, length=400, seed=2, clean_fraction=0.5,
                                      dry_crops=4, dry_score=score)  # type: ignore[arg-type]  # fmt: skip
            items = [ds[i] for i in range(60)]
            dry = [it["clean"][0].permute(1, 2, 0).numpy() for it in items if _dry(it, "streak")]
            return float(np.mean([fine_detail(p) for p in dry]))

        assert dry_detail(flatness) < 0.7 * dry_detail(None)
