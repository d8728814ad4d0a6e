"""Snow100K folder discovery and the two snow datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from weatherclean.data.images import list_images, read_rgb
from weatherclean.data.snow import Snow100KDataset, SyntheticSnowDataset, find_snow100k
from weatherclean.errors import DatasetError, InputError


def _img(path: Path, h: int = 20, w: int = 24, seed: int = 0, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    im.convert(mode).save(path)


def _split(folder: Path, stems: list[str], mask: bool = True, gt_ext: str = ".png") -> None:
    for i, stem in enumerate(stems):
        _img(folder / "synthetic" / f"{stem}.jpg", seed=i)
        _img(folder / "gt" / f"{stem}{gt_ext}", seed=100 + i)
        if mask:
            _img(folder / "mask" / f"{stem}.jpg", seed=200 + i, mode="L")


def test_training_layout_found_from_all_and_from_parent(tmp_path: Path) -> None:
    _split(tmp_path / "Snow100K-training" / "all", ["a", "b", "c"])
    for root in (tmp_path / "Snow100K-training", tmp_path / "Snow100K-training" / "all"):
        triples = find_snow100k(root)
        assert [t.name for t in triples] == ["a", "b", "c"]
        assert all(t.gt.suffix == ".png" and t.synthetic.suffix == ".jpg" for t in triples)  # matched by stem
        assert all(t.mask is not None for t in triples)


def test_nested_test_tarball_layout_and_split_selection(tmp_path: Path) -> None:
    test = tmp_path / "media" / "jdway" / "GameSSD" / "overlapping" / "test"
    for split, n in (("S", 1), ("M", 2), ("L", 3)):
        _split(test / f"Snow100K-{split}", [f"img{i}" for i in range(n)], mask=split != "L")
    every = find_snow100k(tmp_path)
    assert len(every) == 6 and len({t.name for t in every}) == 6  # names stay unique across splits
    medium = find_snow100k(tmp_path, split="M")
    assert len(medium) == 2 and {t.split for t in medium} == {"M"}
    assert [t.name for t in find_snow100k(test / "Snow100K-M", split="m")] == ["img0", "img1"]
    heavy = find_snow100k(tmp_path, split="L")
    assert len(heavy) == 3 and all(t.mask is None for t in heavy)


def test_missing_split_gt_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    _split(tmp_path / "Snow100K-S", ["x"])
    with pytest.raises(DatasetError, match="Snow100K-M"):
        find_snow100k(tmp_path, split="M")
    (tmp_path / "Snow100K-S" / "gt" / "x.png").unlink()
    with pytest.raises(DatasetError, match=r"x\.jpg.*ground truth"):
        find_snow100k(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no 'synthetic' folder found;"):
        find_snow100k(tmp_path / "empty")
    (tmp_path / "rainy" / "rain").mkdir(parents=True)  # a rain set given to a snow command
    with pytest.raises(DatasetError, match="no 'synthetic' folder found .*add --task rain"):
        find_snow100k(tmp_path / "rainy")
    with pytest.raises(DatasetError, match="no such folder"):
        find_snow100k(tmp_path / "absent")
    _img(tmp_path / "nogt" / "synthetic" / "y.png")
    with pytest.raises(DatasetError, match="no 'gt' folder"):
        find_snow100k(tmp_path / "nogt")


def test_snow100k_dataset_items_crops_and_missing_masks(tmp_path: Path) -> None:
    _split(tmp_path / "Snow100K-M", ["a", "b"])
    _split(tmp_path / "Snow100K-L", ["c"], mask=False)
    full = Snow100KDataset(tmp_path, split="M")
    item = full[0]
    assert item["x"].shape == (3, 20, 24) and item["y"].shape == (3, 20, 24) and item["z"].shape == (1, 20, 24)
    assert item["x"].dtype == torch.float32 and item["x"].min() >= 0 and item["x"].max() <= 1
    assert bool(item["has_mask"]) and item["name"] == "a"
    np.testing.assert_allclose(item["y"].permute(1, 2, 0).numpy(), read_rgb(tmp_path / "Snow100K-M/gt/a.png"))
    # A crop larger than the image is reflection-padded; crops are deterministic per (seed, epoch, i).
    cropped = Snow100KDataset(tmp_path, crop=32, augment=True, split="L", seed=5)
    one, two = cropped[0], cropped[0]
    assert one["x"].shape == (3, 32, 32) and one["z"].abs().sum() == 0 and not bool(one["has_mask"])
    assert torch.equal(one["x"], two["x"])


@pytest.fixture()
def clean_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((80, 100, 3)).astype(np.float32), rng.random((50, 40, 3)).astype(np.float32)]


def test_synthetic_dataset_is_a_pure_function_of_seed_epoch_index(clean_arrays: list[np.ndarray]) -> None:
    ds = SyntheticSnowDataset(clean_arrays, crop=48, length=10, seed=3)
    assert len(ds) == 10
    first = ds[4]
    assert set(first) == {"x", "y", "z", "a"}
    again = SyntheticSnowDataset(clean_arrays, crop=48, length=10, seed=3)[4]
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert all(torch.equal(first[k], ds[4][k]) for k in first)
    assert not torch.equal(first["x"], ds[5]["x"])
    ds.set_epoch(1)
    assert ds.epoch == 1 and not torch.equal(first["x"], ds[4]["x"])
    ds.set_epoch(0)
    assert torch.equal(first["x"], ds[4]["x"])
    assert not torch.equal(first["x"], SyntheticSnowDataset(clean_arrays, crop=48, length=10, seed=4)[4]["x"])


def test_synthetic_dataset_shapes_ranges_and_equation(tmp_path: Path, clean_arrays: list[np.ndarray]) -> None:
    _img(tmp_path / "small.png", h=30, w=20)  # smaller than the crop: still works
    ds = SyntheticSnowDataset([tmp_path / "small.png", *clean_arrays], crop=40, length=12, level="L", seed=1)
    for i in range(len(ds)):
        item = ds[i]
        assert item["x"].shape == item["y"].shape == item["a"].shape == (3, 40, 40)
        assert item["z"].shape == (1, 40, 40)
        for value in item.values():
            assert value.dtype == torch.float32 and value.min() >= 0 and value.max() <= 1
        recon = item["a"] * item["z"] + item["y"] * (1 - item["z"])
        assert torch.allclose(item["x"], recon, atol=1e-6)
    assert max(float(ds[i]["z"].max()) for i in range(4)) > 0.2
    no_aug = SyntheticSnowDataset(clean_arrays, crop=32, length=2, augment=False)
    assert no_aug[1]["x"].shape == (3, 32, 32)


def test_synthetic_dataset_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no clean images"):
        SyntheticSnowDataset([])
    with pytest.raises(DatasetError, match="level"):
        SyntheticSnowDataset([np.zeros((8, 8, 3), np.float32)], crop=8, level="XL")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="bad.png"):
        SyntheticSnowDataset([tmp_path / "bad.png"])


def test_list_and_read_images(tmp_path: Path) -> None:
    _img(tmp_path / "b.PNG")
    _img(tmp_path / "sub" / "a.jpg")
    _img(tmp_path / "grey.png", mode="L")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["b.PNG", "grey.png", "a.jpg"]
    assert [p.name for p in list_images(tmp_path, recursive=False)] == ["b.PNG", "grey.png"]
    grey = read_rgb(tmp_path / "grey.png")
    assert grey.shape == (20, 24, 3) and grey.dtype == np.float32 and grey.max() <= 1
    with pytest.raises(InputError, match="notes.txt"):
        read_rgb(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="not found"):
        read_rgb(tmp_path / "missing.png")


def test_clean_fraction_gives_snow_free_items_with_an_empty_mask() -> None:
    rng = np.random.default_rng(0)
    images = [rng.random((80, 80, 3)).astype(np.float32) for _ in range(2)]
    ds = SyntheticSnowDataset(images, crop=32, length=200, level="L", seed=1, clean_fraction=0.3)
    items = [ds[i] for i in range(200)]  # each synthesised once
    clean = [item for item in items if torch.equal(item["x"], item["y"])]
    assert 30 <= len(clean) <= 90  # about 30 % of 200
    assert all(float(item["z"].abs().max()) == 0.0 for item in clean)
    plain = SyntheticSnowDataset(images, crop=32, length=50, level="L", seed=1)
    assert not any(torch.equal(item["x"], item["y"]) for item in map(plain.__getitem__, range(50)))
    with pytest.raises(DatasetError, match="clean fraction"):
        SyntheticSnowDataset(images, crop=32, clean_fraction=1.0)


@pytest.mark.parametrize("task", ["snow", "rain"])
def test_training_backgrounds_are_used_upright(tmp_path: Path, task: str) -> None:
    """A phone portrait stored on its side (EXIF orientation 6) is a portrait background: training draws
    its weather on the picture a viewer sees, as synth does, not across the stored one."""
    from PIL import Image

    from weatherclean.data.rain import SyntheticRainDataset
    from weatherclean.data.snow import SyntheticSnowDataset

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 24), (90, 120, 150)).save(tmp_path / "portrait.jpg", exif=exif.tobytes())
    dataset = SyntheticSnowDataset if task == "snow" else SyntheticRainDataset
    assert dataset._load(tmp_path / "portrait.jpg").shape == (40, 24, 3)
