"""One list of media suffixes for io/ and data/, content sniffing, and the formats every reader shares."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import make_video
from weatherclean.errors import InputError


def test_io_and_data_share_one_list_of_image_and_video_suffixes() -> None:
    import weatherclean.data as data
    import weatherclean.data.images as data_images
    import weatherclean.data.rain as data_rain
    import weatherclean.io.images as io_images
    import weatherclean.io.video as io_video
    from weatherclean.io import media

    assert io_images.IMAGE_SUFFIXES is media.IMAGE_SUFFIXES is data_images.IMAGE_SUFFIXES is data.IMAGE_SUFFIXES
    assert io_video.VIDEO_SUFFIXES is media.VIDEO_SUFFIXES is data_rain.VIDEO_SUFFIXES is data.VIDEO_SUFFIXES
    assert {".bmp", ".heic", ".jpe", ".ppm", ".pgm"} <= media.IMAGE_SUFFIXES
    assert {".mp4", ".mkv", ".ts", ".wmv"} <= media.VIDEO_SUFFIXES
    assert not media.IMAGE_SUFFIXES & media.VIDEO_SUFFIXES
    assert media.is_image_path(Path("A.BMP")) and media.is_video_path(Path("clip.MTS"))
    assert media.is_video_path(Path("clip.R3D")) is False
    assert media.is_video_path(Path("clip.Ts"))


def _bytes(fmt: str, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (8, 6), 90).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (_bytes("PNG"), "PNG"),
        (_bytes("JPEG"), "JPEG"),
        (_bytes("BMP"), "BMP"),
        (_bytes("TIFF"), "TIFF"),
        (_bytes("WEBP"), "WEBP"),
        (_bytes("PPM"), "PPM"),
        (_bytes("PPM", "L"), "PPM"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", "video"),
        (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01", "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video"),
        (b"this is not a photo\n", None),
        (b"", None),
    ],
    ids=["png", "jpeg", "bmp", "tiff", "webp", "ppm", "pgm", "heic", "avif", "mp4", "mkv", "avi", "text", "empty"],
)
def test_sniffing_tells_the_kind_from_the_first_bytes(tmp_path: Path, content: bytes, kind: str | None) -> None:
    from weatherclean.io.media import sniff

    path = tmp_path / "no-suffix"
    path.write_bytes(content)
    assert sniff(path) == kind


def _photo(path: Path, mode: str = "RGB", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    arr = (rng.random((10, 14, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(arr)
    im = im.convert(mode) if mode != "RGB" else im
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return np.asarray(im)


@pytest.mark.parametrize(("name", "mode"), [("a.bmp", "RGB"), ("g.bmp", "L"), ("a.ppm", "RGB"), ("g.pgm", "L")])
def test_bmp_and_netpbm_load_and_save_in_their_own_format(tmp_path: Path, name: str, mode: str) -> None:
    from weatherclean.io.images import load_image, save_image

    arr = _photo(tmp_path / name, mode)
    loaded = load_image(tmp_path / name)
    assert loaded.pixels.shape[:2] == arr.shape[:2] and loaded.bit_depth == 8
    saved = save_image(tmp_path / f"out-{name}", loaded.pixels, loaded)
    with Image.open(saved.path) as back:
        assert back.format == Image.open(tmp_path / name).format
        np.testing.assert_array_equal(np.asarray(back), arr)


def test_metadata_a_bmp_cannot_hold_is_a_note_not_silence(tmp_path: Path) -> None:
    from weatherclean.io.images import load_image, save_image

    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((6, 8, 4), np.uint8)).save(src, icc_profile=b"\x00" * 128)
    loaded = load_image(src)
    saved = save_image(tmp_path / "a.bmp", loaded.pixels, loaded, format="bmp")
    assert saved.path.suffix == ".bmp" and saved.format == "BMP"
    assert any("ICC profile" in n and "BMP" in n for n in saved.notes), saved.notes


def test_data_reads_through_the_one_image_reader(tmp_path: Path) -> None:
    """read_rgb keeps its contract (H×W×3 float32 in [0, 1]) and gets 16-bit colour right, not cut to 8 bits."""
    from weatherclean.data.images import read_rgb

    wide = np.linspace(0, 65535, 5 * 7 * 3).astype(np.uint16).reshape(5, 7, 3)
    from weatherclean.io.images import load_image, save_image

    stand = tmp_path / "base.png"
    Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(stand)
    like = load_image(stand)
    like.bit_depth = 16
    save_image(tmp_path / "w.png", wide.astype(np.float32) / 65535, like)
    got = read_rgb(tmp_path / "w.png")
    assert got.shape == (5, 7, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, wide / 65535, atol=1e-6)
    _photo(tmp_path / "g.bmp", "L")
    grey = read_rgb(tmp_path / "g.bmp")
    assert grey.shape == (10, 14, 3) and np.array_equal(grey[..., 0], grey[..., 2])


def test_heic_without_the_extra_is_an_error_naming_the_file_not_a_silent_drop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.data.rain import find_frame_folders, list_frames
    from weatherclean.io import media

    monkeypatch.setattr(media, "heif_ready", lambda: False)
    clip = tmp_path / "clip"
    _photo(clip / "1.png")
    (clip / "2.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    assert [p.name for p in list_frames(clip)] == ["1.png", "2.heic"]
    (only,) = find_frame_folders(clip)
    with pytest.raises(Exception, match=r"2\.heic.*pip install 'weatherclean\[heif\]'") as info:
        only.read_frame(1)
    assert "\n" not in str(info.value)


def test_one_frame_listing_for_clips_and_datasets(tmp_path: Path) -> None:
    """``derain --frames`` and the rain datasets list a clip's frames with the same rule: pictures only,
    no dot files, numbers by value."""
    from weatherclean.data.rain import list_frames as dataset_frames
    from weatherclean.errors import DatasetError
    from weatherclean.io.media import list_frames

    for name in ("10.png", "2.jpg", "1.bmp", "._2.jpg"):
        _photo(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "3.png").mkdir()
    assert [p.name for p in list_frames(tmp_path)] == ["1.bmp", "2.jpg", "10.png"]
    assert dataset_frames(tmp_path) == list_frames(tmp_path)
    with pytest.raises(DatasetError, match="not a folder of frames"):
        dataset_frames(tmp_path / "10.png")


def test_one_video_decoder_for_io_and_data(tmp_path: Path) -> None:
    """data's float frames are io's decoded frames scaled: same colour matrix, same damage handling."""
    from weatherclean.data.rain import iter_video_frames
    from weatherclean.io.video import iter_frames

    make_video(tmp_path / "hd.mkv", frames=4, size=(720, 64), audio=None, container="matroska", vfr=False)
    ints = list(iter_frames(tmp_path / "hd.mkv"))
    floats = list(iter_video_frames(tmp_path / "hd.mkv", max_frames=3))
    assert len(ints) == 4 and len(floats) == 3 and ints[0].dtype == np.uint8
    for a, b in zip(ints, floats, strict=False):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a / 255.0, atol=1e-7)
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(InputError, match="folder"):
        next(iter_video_frames(tmp_path / "dir.mp4"))


@pytest.mark.parametrize("suffix", [".ts", ".flv", ".wmv", ".mpg", ".mts", ".m2ts", ".3gp"])
def test_every_listed_video_suffix_can_be_read_and_written(tmp_path: Path, suffix: str) -> None:
    from weatherclean.io.video import VideoOptions, check_encoder, process_video

    make_video(tmp_path / "src.mkv", frames=6, container="matroska")  # variable rate, with AAC audio
    check_encoder(VideoOptions(), suffix)
    result = process_video(tmp_path / "src.mkv", tmp_path / f"out{suffix}", lambda f: f)
    assert result.frames == 6 and not result.partial
    assert result.notes == (["audio aac cannot be stored in mpeg; re-encoded as mp2"] if suffix == ".mpg" else [])
    back = process_video(tmp_path / f"out{suffix}", tmp_path / "back.mp4", lambda f: f)
    assert back.frames == 6


def test_a_video_named_like_a_photo_is_told_apart_by_its_content(tmp_path: Path) -> None:
    from weatherclean.io.images import load_image

    make_video(tmp_path / "clip.mp4", frames=2, audio=None)
    (tmp_path / "clip.mp4").rename(tmp_path / "holiday.jpg")
    with pytest.raises(InputError, match=r"holiday\.jpg: holds a video, not a photo; give it a video ending"):
        load_image(tmp_path / "holiday.jpg")
