"""Re-toned backgrounds (weatherclean.data.tones): brighter, lifted or hazy scenes that are the ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from weatherclean.data import tones
from weatherclean.data.rain import SyntheticRainDataset
from weatherclean.data.snow import SyntheticSnowDataset
from weatherclean.data.tones import TONES, WEATHER_TONES, check_tone_fraction, maybe_retone, retone
from weatherclean.errors import DatasetError
from weatherclean.synth.rain import apply_rain
from weatherclean.training.tasks import RainTask, SnowTask


def _photo(seed: int = 0, side: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 + 0.6 * rng.random((side, side, 3))).astype(np.float32)


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_tone_brightens_or_flattens_a_mid_grey_photo_and_stays_in_range(tone: str, seed: int) -> None:
    photo = _photo()  # values 0.1-0.7: every tone brightens it on average (a haze darkens a brighter scene)
    out = retone(np.random.default_rng(seed), photo, tone)
    assert out.shape == photo.shape and out.dtype == np.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(out.mean()) > float(photo.mean()) + 0.02
    if tone == "gamma":
        assert bool(np.all(out >= photo - 1e-6))  # shadows lifted, nothing darker
    if tone == "lift":
        assert float(out.std()) < 0.95 * float(photo.std())  # a haze flattens the contrast


def test_unknown_tone_and_fraction_out_of_range_are_refused() -> None:
    with pytest.raises(DatasetError, match="unknown tone 'sepia'"):
        retone(np.random.default_rng(0), _photo(), "sepia")
    with pytest.raises(DatasetError, match="float picture"):  # uint8 would wrap and clip to white
        retone(np.random.default_rng(0), np.full((4, 4, 3), 200, np.uint8), "exposure")
    for bad in (-0.1, 1.5):
        with pytest.raises(DatasetError, match="tone fraction"):
            check_tone_fraction(bad)
    check_tone_fraction(1.0)


def test_fraction_zero_draws_nothing_so_earlier_runs_stay_reproducible() -> None:
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    photo = _photo()
    assert maybe_retone(a, photo, 0.0) is photo
    assert a.random() == b.random()
    changed = sum(not np.array_equal(maybe_retone(a, photo, 0.5), photo) for _ in range(200))
    assert 60 <= changed <= 140  # about half


@pytest.mark.parametrize("frames", [1, 3])
def test_rain_items_are_made_over_the_retoned_background(frames: int) -> None:
    """The re-toned picture is the ground truth and the rain is added over it (the hybrid model exact):
    with every background re-toned the targets are brighter on average, a clip's frames share one tone,
    and the dry items come back unchanged."""
    images = [_photo(seed) for seed in range(2)]
    kwargs = {"frames": frames, "crop": 32, "length": 40, "level": "light", "seed": 3, "clean_fraction": 0.3}
    plain = SyntheticRainDataset(images, **kwargs)
    toned = SyntheticRainDataset(images, tone_fraction=1.0, **kwargs)
    brightness = [float(torch.stack([ds[i]["clean"] for i in range(40)]).mean()) for ds in (plain, toned)]
    assert brightness[1] > brightness[0] + 0.05
    dry = [i for i in range(40) if torch.equal(toned[i]["rainy"], toned[i]["clean"])]
    assert dry and all(float(toned[i]["streak"].abs().max()) == 0.0 for i in dry)

    def hwc(t: torch.Tensor) -> np.ndarray:
        return t.permute(0, 2, 3, 1).numpy()

    for i in [i for i in range(40) if i not in dry][:5]:
        item = toned[i]
        rainy = apply_rain(hwc(item["clean"]), hwc(item["streak"]), hwc(item["alpha"])[..., 0], hwc(item["reliance"]))
        assert np.allclose(rainy, hwc(item["rainy"]), atol=1e-6)
    if frames > 1:  # one tone per clip: the camera moves over one re-toned scene, so frame means stay close
        means = toned[0]["clean"].mean(dim=(1, 2, 3))
        assert float(means.max() - means.min()) < 0.05


def test_both_training_tasks_pass_the_fraction_on(tmp_path: Path) -> None:
    for seed in range(2):
        Image.fromarray(np.round(_photo(seed) * 255).astype(np.uint8)).save(tmp_path / f"{seed}.png")
    for task in (SnowTask(clean=[tmp_path], tone_fraction=0.3), RainTask(clean=[tmp_path], tone_fraction=0.3)):
        assert task.build_dataset().tone_fraction == 0.3


def test_snow_items_keep_eq_1_over_the_retoned_background() -> None:
    images = [_photo(seed, 80) for seed in range(2)]
    plain = SyntheticSnowDataset(images, crop=32, length=40, level="M", seed=2, haze=False)
    toned = SyntheticSnowDataset(images, crop=32, length=40, level="M", seed=2, haze=False, tone_fraction=1.0)
    assert (
        float(torch.stack([toned[i]["y"] for i in range(40)]).mean())
        > float(torch.stack([plain[i]["y"] for i in range(40)]).mean()) + 0.05
    )
    for i in range(5):  # x = a z + y (1 - z), exactly, with the re-toned y
        item = toned[i]
        recon = item["a"] * item["z"] + item["y"] * (1 - item["z"])
        assert torch.allclose(item["x"], recon, atol=1e-5)


def _spy_on_kinds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The ``kinds`` each re-toned item could be given, in item order."""
    seen: list[tuple[str, ...]] = []
    real = tones.retone

    def spy(rng: np.random.Generator, patch: np.ndarray, kind: str | None = None, kinds=TONES) -> np.ndarray:
        seen.append(tuple(kinds))
        return real(rng, patch, kind, kinds)

    monkeypatch.setattr(tones, "retone", spy)
    return seen


@pytest.mark.parametrize("task", ["rain", "rain-clip", "snow"])
def test_tone_haze_dry_keeps_the_haze_off_backgrounds_that_get_weather(
    monkeypatch: pytest.MonkeyPatch, task: str
) -> None:
    """With tone_haze="dry" an item with weather is re-toned only by exposure or gamma (a haze under it
    would look like the accumulation it must remove), and a dry item by any of the three."""
    seen = _spy_on_kinds(monkeypatch)
    images = [_photo(seed, 80) for seed in range(2)]
    common = {"crop": 24, "length": 60, "seed": 7, "clean_fraction": 0.5, "tone_fraction": 1.0, "tone_haze": "dry"}
    if task == "snow":
        items = [SyntheticSnowDataset(images, level="M", **common)[i] for i in range(60)]
        dry = [bool(torch.equal(it["x"], it["y"]) and float(it["z"].max()) == 0.0) for it in items]
    else:
        ds = SyntheticRainDataset(images, frames=3 if task == "rain-clip" else 1, level="light", **common)
        dry = [float(ds[i]["streak"].abs().max()) == 0.0 for i in range(60)]
    assert len(seen) == 60 and 10 <= sum(dry) <= 50
    assert all(kinds == (TONES if is_dry else WEATHER_TONES) for kinds, is_dry in zip(seen, dry, strict=True))


def test_tone_haze_all_is_the_default_and_keeps_earlier_runs_samples() -> None:
    images = [_photo(seed) for seed in range(2)]
    common = {"frames": 1, "crop": 24, "length": 8, "level": "light", "seed": 3, "clean_fraction": 0.3,
              "tone_fraction": 0.5}  # fmt: skip
    default, explicit = SyntheticRainDataset(images, **common), SyntheticRainDataset(images, tone_haze="all", **common)
    dry_first = SyntheticRainDataset(images, tone_haze="dry", **common)
    assert all(torch.equal(default[i]["rainy"], explicit[i]["rainy"]) for i in range(8))
    assert not all(torch.equal(default[i]["rainy"], dry_first[i]["rainy"]) for i in range(8))
    with pytest.raises(DatasetError, match="unknown tone haze 'fog'"):
        SyntheticRainDataset(images, tone_haze="fog", **common)
