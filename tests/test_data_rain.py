"""Rain dataset readers (RainSyn, NTURain, {rain,gt}, frame folders, videos) and the rain datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from weatherclean.data.rain import (
    PairedRainDataset,
    RainClipPaths,
    SyntheticRainDataset,
    find_frame_folders,
    find_nturain,
    find_rain_clips,
    find_rain_pairs,
    find_rainsyn,
    iter_video_frames,
    list_frames,
    natural_key,
    read_video_frames,
)
from weatherclean.errors import DatasetError, InputError


def _img(path: Path, h: int = 12, w: int = 16, seed: int = 0, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)


def _clip(folder: Path, names: list[str], seed: int = 0, **kw: int) -> None:
    for i, name in enumerate(names):
        _img(folder / name, seed=seed + i, **kw)


def _rainsyn(root: Path, level: str, split: str, clips: dict[str, int]) -> None:
    for clip, n in clips.items():
        names = [f"{i}.png" for i in range(1, n + 1)]
        _clip(root / f"video_rain_{level}" / split / "input" / clip, names)
        _clip(root / f"video_rain_{level}" / split / "processed" / clip, names, seed=50)


def test_natural_sort_orders_frame_numbers_by_value(tmp_path: Path) -> None:
    _clip(tmp_path / "f", ["10.png", "2.png", "1.png", "frame_9.jpg", "frame_10.jpg"])
    (tmp_path / "f" / "notes.txt").write_text("x")
    assert [p.name for p in list_frames(tmp_path / "f")] == ["1.png", "2.png", "10.png", "frame_9.jpg", "frame_10.jpg"]
    assert sorted(["b10", "b9", "a100"], key=natural_key) == ["a100", "b9", "b10"]


def test_rainsyn_found_from_every_level_of_the_tree(tmp_path: Path) -> None:
    _rainsyn(tmp_path, "light", "train", {"c1": 3, "c2": 2})
    _rainsyn(tmp_path, "heavy", "test", {"c1": 10})
    every = find_rainsyn(tmp_path)
    assert sorted(c.name for c in every) == ["heavy_test_c1", "light_train_c1", "light_train_c2"]
    heavy = next(c for c in every if c.level == "heavy")
    assert heavy.split == "test" and heavy.layout == "rainsyn" and len(heavy) == 10
    assert [p.name for p in heavy.rainy][:3] == ["1.png", "2.png", "3.png"]  # natural order, not 1, 10, 2
    assert [p.parent.parent.name for p in heavy.clean] == ["processed"] * 10  # processed = ground truth
    assert [p.name for p in heavy.clean] == [p.name for p in heavy.rainy]
    for root in (tmp_path / "video_rain_light", tmp_path / "video_rain_light" / "train"):
        assert [c.name for c in find_rainsyn(root)] == ["c1", "c2"]
    assert [c.name for c in find_rainsyn(tmp_path / "video_rain_light" / "train" / "input")] == ["c1", "c2"]
    assert [c.name for c in find_rainsyn(tmp_path, split="test")] == ["heavy_test_c1"]
    assert len(find_rainsyn(tmp_path, level="light")) == 2
    rainy, clean = every[0].read()
    assert rainy.shape == clean.shape == (10, 12, 16, 3) and rainy.dtype == np.float32
    assert find_rain_clips(tmp_path)[0].layout == "rainsyn"


def test_rainsyn_errors_are_clear(tmp_path: Path) -> None:
    _rainsyn(tmp_path, "light", "train", {"c1": 3})
    (tmp_path / "video_rain_light/train/processed/c1/3.png").unlink()
    with pytest.raises(DatasetError, match=r"c1: 3 rainy frames .* 2 ground-truth frames"):
        find_rainsyn(tmp_path)
    _clip(tmp_path / "video_rain_light/train/input/c2", ["1.png"])
    (tmp_path / "video_rain_light/train/processed/c1/3.png").write_bytes(
        (tmp_path / "video_rain_light/train/processed/c1/2.png").read_bytes()
    )
    with pytest.raises(DatasetError, match="c2: no ground truth"):
        find_rainsyn(tmp_path)
    with pytest.raises(DatasetError, match="input"):
        find_rainsyn(tmp_path / "video_rain_light/train/input/c1")
    with pytest.raises(DatasetError, match="split=val"):
        find_rainsyn(tmp_path, split="val")


def test_nturain_pairs_rain_and_gt_folders_also_nested(tmp_path: Path) -> None:
    frames = [f"{i:05d}.jpg" for i in range(1, 5)]
    _clip(tmp_path / "train" / "a1_Rain", frames)
    _clip(tmp_path / "train" / "a1_GT", frames, seed=9)
    _clip(tmp_path / "test" / "b2_rain", frames[:2])
    _clip(tmp_path / "test" / "b2_gt", frames[:2], seed=9)
    clips = find_nturain(tmp_path)
    assert [(c.name, len(c), c.split, c.layout) for c in clips] == [
        ("test_b2", 2, "test", "nturain"),
        ("train_a1", 4, "train", "nturain"),
    ]
    assert all(p.parent.name == "a1_GT" for p in clips[1].clean)
    assert [c.name for c in find_nturain(tmp_path / "train")] == ["a1"]
    assert [c.name for c in find_rain_clips(tmp_path)] == ["test_b2", "train_a1"]


def test_nturain_errors(tmp_path: Path) -> None:
    _clip(tmp_path / "a1_Rain", ["00001.jpg", "00002.jpg"])
    with pytest.raises(DatasetError, match="a1_GT"):
        find_nturain(tmp_path)
    _clip(tmp_path / "a1_GT", ["00001.jpg"])
    with pytest.raises(DatasetError, match="2 rainy frames"):
        find_nturain(tmp_path)
    with pytest.raises(DatasetError, match="CLIP_Rain"):
        find_nturain(tmp_path / "a1_GT")


def test_rain_pairs_single_images_and_clips_with_maps(tmp_path: Path) -> None:
    # The layout of ../shared/data/paired and of `synth rain` without --clips ...
    for stem in ("001", "002"):
        _img(tmp_path / "img" / "rain" / f"{stem}.png")
        _img(tmp_path / "img" / "gt" / f"{stem}.png", seed=3)
    _img(tmp_path / "img" / "alpha" / "001.png", mode="L")
    _img(tmp_path / "img" / "streak" / "001.png")
    pairs = find_rain_pairs(tmp_path / "img")
    assert [(c.name, len(c), c.layout) for c in pairs] == [("001", 1, "pairs"), ("002", 1, "pairs")]
    assert pairs[0].alpha is not None and pairs[1].alpha is None
    assert [c.name for c in find_rain_pairs(tmp_path / "img" / "rain")] == ["001", "002"]
    # ... and of `synth rain --clips`.
    frames = ["00001.png", "00002.png", "00003.png"]
    for folder in ("rain", "gt", "streak", "alpha", "reliance"):
        _clip(tmp_path / "clips" / folder / "walk", frames)
    clips = find_rain_pairs(tmp_path / "clips")
    assert [(c.name, len(c)) for c in clips] == [("walk", 3)]
    assert clips[0].streak is not None and clips[0].reliance is not None
    assert sorted(c.name for c in find_rain_clips(tmp_path)) == ["clips_walk", "img_001", "img_002"]


def test_rain_pairs_errors(tmp_path: Path) -> None:
    _img(tmp_path / "rain" / "a.png")
    (tmp_path / "gt").mkdir()
    with pytest.raises(DatasetError, match=r"a\.png: no ground truth"):
        find_rain_pairs(tmp_path)
    (tmp_path / "rain" / "a.png").unlink()
    _clip(tmp_path / "rain" / "clip", ["1.png"])
    with pytest.raises(DatasetError, match="no ground truth folder"):
        find_rain_pairs(tmp_path)
    with pytest.raises(DatasetError, match="'rain' and 'gt'"):
        find_rain_pairs(tmp_path / "gt")


def test_frame_folders_without_ground_truth(tmp_path: Path) -> None:
    _clip(tmp_path / "one", ["10.png", "9.png", "1.png"])
    [clip] = find_frame_folders(tmp_path / "one")
    assert clip.name == "one" and not clip.has_gt and [p.name for p in clip.rainy] == ["1.png", "9.png", "10.png"]
    rainy, clean = clip.read()
    assert rainy.shape == (3, 12, 16, 3) and clean is None
    _clip(tmp_path / "many" / "street", ["1.png", "2.png"])
    _clip(tmp_path / "many" / "park", ["1.png"])
    assert [c.name for c in find_rain_clips(tmp_path / "many")] == ["park", "street"]


def test_unrecognised_layouts_and_bad_clips_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no rain dataset or frames"):
        find_rain_clips(tmp_path / "empty")
    with pytest.raises(DatasetError, match="no such folder"):
        find_rain_clips(tmp_path / "missing")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(DatasetError, match="video file"):
        find_rain_clips(tmp_path / "clip.mp4")
    _img(tmp_path / "odd" / "1.png")
    _img(tmp_path / "odd" / "2.png", h=10)
    with pytest.raises(DatasetError, match="one size"):
        find_frame_folders(tmp_path / "odd")[0].read()
    clip = RainClipPaths("x", (tmp_path / "odd" / "1.png",), (tmp_path / "odd" / "2.png",))
    with pytest.raises(DatasetError, match="aligned"):
        clip.read_frame(0)
    for sub in ("synthetic", "gt", "mask", "aberration"):  # a snow set was read as four clips without gt
        _img(tmp_path / "snowset" / sub / "a.png")
    with pytest.raises(DatasetError, match="a snow dataset .*use --task snow"):
        find_rain_clips(tmp_path / "snowset")


def test_video_frames_are_read_with_pyav(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    path = tmp_path / "clip.mp4"
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (128, 128, 128)]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for colour in colours:
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), colour, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = list(iter_video_frames(path))
    assert len(frames) == 4 and frames[0].shape == (24, 32, 3) and frames[0].dtype == np.float32
    for frame, colour in zip(frames, colours, strict=True):
        np.testing.assert_allclose(frame.mean(axis=(0, 1)), np.array(colour) / 255, atol=0.06)
    assert read_video_frames(path, max_frames=2).shape == (2, 24, 32, 3)
    with pytest.raises(InputError, match="not found"):
        next(iter_video_frames(tmp_path / "missing.mp4"))
    (tmp_path / "bad.mp4").write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="bad.mp4"):
        next(iter_video_frames(tmp_path / "bad.mp4"))


# --------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------


def _photo(h: int = 60, w: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 4.0)], axis=-1).astype(np.float32)


def _model_holds(item: dict[str, torch.Tensor]) -> None:
    a = item["alpha"]
    expected = (1 - a) * (item["clean"] + item["streak"]) + a * item["reliance"]
    torch.testing.assert_close(item["rainy"], expected, rtol=0, atol=1e-5)
    assert set(torch.unique(a).tolist()) <= {0.0, 1.0}


def test_synthetic_rain_dataset_clips_and_single_frames() -> None:
    clips = SyntheticRainDataset([_photo()], frames=5, crop=24, length=10, level="heavy", seed=1)
    item = clips[3]
    assert item["rainy"].shape == item["clean"].shape == item["streak"].shape == (5, 3, 24, 24)
    assert item["alpha"].shape == (5, 1, 24, 24) and item["rainy"].dtype == torch.float32
    _model_holds(item)
    singles = SyntheticRainDataset([_photo(), (_photo() * 255).astype(np.uint8)], frames=1, crop=24, length=4)
    one = singles[0]
    assert one["rainy"].shape == (1, 3, 24, 24) and one["alpha"].shape == (1, 1, 24, 24)
    _model_holds(one)


def test_synthetic_rain_dataset_is_a_pure_function_of_seed_epoch_index() -> None:
    ds = SyntheticRainDataset([_photo()], frames=3, crop=16, length=8, seed=2)
    a, b = ds.item(2, epoch=1), ds.item(2, epoch=1)
    c = ds.item(2, epoch=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["rainy"], c["rainy"])
    ds.set_epoch(1)
    assert torch.equal(ds[2]["rainy"], a["rainy"])
    with pytest.raises(IndexError):
        ds.item(8, 0)


def test_synthetic_rain_dataset_bad_arguments() -> None:
    with pytest.raises(DatasetError, match="no clean images"):
        SyntheticRainDataset([])
    with pytest.raises(DatasetError, match="rain level"):
        SyntheticRainDataset([_photo()], level="storm")
    with pytest.raises(DatasetError, match="unknown rain style 'bokeh'"):
        SyntheticRainDataset([_photo()], styles=["bokeh"])
    with pytest.raises(DatasetError, match="HxWx3"):
        SyntheticRainDataset([np.zeros((8, 8), np.float32)])


def test_paired_rain_dataset_windows_crops_and_maps(tmp_path: Path) -> None:
    frames = [f"{i:05d}.png" for i in range(1, 6)]
    for folder in ("rain", "gt", "streak"):
        _clip(tmp_path / "synth" / folder / "walk", frames)
    _clip(tmp_path / "synth" / "alpha" / "walk", frames, mode="L")
    ds = PairedRainDataset(tmp_path / "synth", frames=2, crop=8, augment=True)
    assert len(ds) == 2  # windows 0-1 and 2-3 (stride = frames)
    item = ds[1]
    assert item["rainy"].shape == item["streak"].shape == (2, 3, 8, 8) and item["alpha"].shape == (2, 1, 8, 8)
    assert bool(item["has_maps"]) and item["name"] == "walk" and item["start"] == 2
    whole = PairedRainDataset(tmp_path / "synth", frames=None)
    assert len(whole) == 1 and whole[0]["clean"].shape == (5, 3, 12, 16)
    long = PairedRainDataset(tmp_path / "synth", frames=8)
    assert len(long) == 1 and long[0]["rainy"].shape[0] == 8  # short clip: last frame repeated
    _img(tmp_path / "pairs" / "rain" / "a.png")
    _img(tmp_path / "pairs" / "gt" / "a.png", seed=4)
    single = PairedRainDataset(tmp_path / "pairs")[0]
    assert single["rainy"].shape == (1, 3, 12, 16) and not bool(single["has_maps"])
    assert float(single["alpha"].abs().sum()) == 0.0
    _clip(tmp_path / "nogt" / "frames", ["1.png", "2.png"])
    with pytest.raises(DatasetError, match="no ground truth"):
        PairedRainDataset(tmp_path / "nogt")


def test_clean_fraction_gives_rain_free_clips() -> None:
    rng = np.random.default_rng(0)
    images = [rng.random((96, 96, 3)).astype(np.float32) for _ in range(2)]
    ds = SyntheticRainDataset(images, frames=3, crop=32, length=120, level="heavy", seed=2, clean_fraction=0.25)
    items = [ds[i] for i in range(120)]  # each synthesised once
    dry = [item for item in items if torch.equal(item["rainy"], item["clean"])]
    assert 12 <= len(dry) <= 55
    for item in dry:
        assert float(item["streak"].abs().max()) == 0.0 and float(item["alpha"].max()) == 0.0


def test_synthetic_rain_dataset_draws_only_the_styles_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The leave-one-style-out training data: every item is synthesised from the allowed styles only."""
    import weatherclean.data.rain as data_rain
    from weatherclean.synth.rain import RAIN_STYLES
    from weatherclean.training.tasks import RainTask

    kept = tuple(s for s in RAIN_STYLES if s != "lens")
    drawn: list[tuple[str, ...]] = []
    for name in ("synthesize_rain", "synthesize_rain_clip"):
        real = getattr(data_rain, name)

        def recording(*args: object, _real=real, **kwargs: object) -> object:  # noqa: ANN001
            out = _real(*args, **kwargs)
            drawn.append(out.styles)
            return out

        monkeypatch.setattr(data_rain, name, recording)
    _img(tmp_path / "clean" / "a.png", h=60, w=80)
    for frames in (1, 3):
        task = RainTask(clean=[tmp_path / "clean"], frames=frames, crop=16, samples=30, seed=5, styles=kept)
        dataset = task.build_dataset()
        assert isinstance(dataset, SyntheticRainDataset) and dataset.styles == kept
        for i in range(30):
            dataset[i]
    assert len(drawn) == 60 and all(set(d) <= set(kept) for d in drawn)
    assert set().union(*drawn) == set(kept)
