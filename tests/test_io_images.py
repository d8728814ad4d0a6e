"""Photos must come back with their metadata, bit depth and alpha, and never half-written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import piexif
import pytest
from PIL import Image

from weatherclean.errors import InputError
from weatherclean.io import atomic as atomic_mod
from weatherclean.io import images as images_mod
from weatherclean.io import load_image, save_image, strip_exif_thumbnail
from weatherclean.io.permissions import remove_empty

ICC = b"\x00" * 128 + b"not-a-real-icc-but-opaque-bytes"


def _exif(with_thumbnail: bool) -> bytes:
    data: dict = {
        "0th": {piexif.ImageIFD.Orientation: 6, piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"R5"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:01:02 10:11:12"},
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((46, 1), (30, 1), (1234, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((7, 1), (59, 1), (0, 1)),
        },
    }
    if with_thumbnail:
        thumb = io.BytesIO()
        Image.new("RGB", (16, 12), (250, 250, 250)).save(thumb, "JPEG")
        data["1st"] = {piexif.ImageIFD.XResolution: (72, 1), piexif.ImageIFD.YResolution: (72, 1)}
        data["thumbnail"] = thumb.getvalue()
    return piexif.dump(data)


def _rgb(h: int = 24, w: int = 40, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_jpeg_exif_gps_orientation_icc_xmp_survive(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    exif = _exif(with_thumbnail=False)
    Image.fromarray(_rgb()).save(src, exif=exif, icc_profile=ICC, xmp=b"<x:xmpmeta>snow</x:xmpmeta>")
    loaded = load_image(src)
    # orientation is NOT applied: pixels as stored (24 rows × 40 columns)
    assert loaded.pixels.shape == (24, 40, 3) and loaded.pixels.dtype == np.float32
    assert loaded.format == "JPEG" and loaded.bit_depth == 8
    out = tmp_path / "out.jpg"
    save_image(out, loaded.pixels, loaded)
    with Image.open(src) as a, Image.open(out) as b:
        assert b.info["exif"] == a.info["exif"]  # byte for byte
        assert b.info["icc_profile"] == ICC
        assert b.info["xmp"] == b"<x:xmpmeta>snow</x:xmpmeta>"
        assert b.getexif()[274] == 6


def test_jpeg_exif_thumbnail_is_refreshed_everything_else_kept(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    original = _exif(with_thumbnail=True)
    Image.fromarray(_rgb()).save(src, exif=original, icc_profile=ICC)
    loaded = load_image(src)
    out = tmp_path / "out.jpg"
    save_image(out, 1.0 - loaded.pixels, loaded)  # a visibly different result
    with Image.open(src) as a, Image.open(out) as b:
        before, after = piexif.load(a.info["exif"]), piexif.load(b.info["exif"])
        for ifd in ("0th", "Exif", "GPS"):
            assert after[ifd] == before[ifd]
        # the old thumbnail (near-white) is gone; the new one shows the output (dark), not the input
        assert before["thumbnail"] and after["thumbnail"] and after["thumbnail"] != before["thumbnail"]
        with Image.open(io.BytesIO(after["thumbnail"])) as thumb:
            assert max(thumb.size) <= 160 and np.asarray(thumb).mean() < 200
        # every byte before the old IFD1 is untouched: the new IFD1 + JPEG are appended, not re-serialised
        kept = strip_exif_thumbnail(a.info["exif"])
        assert b.info["exif"][:40] == kept[:40]
        assert b.info["icc_profile"] == ICC


def test_strip_exif_thumbnail_is_a_no_op_without_thumbnail() -> None:
    blob = _exif(with_thumbnail=False)  # piexif.dump already starts with b"Exif\0\0"
    assert blob.startswith(b"Exif\x00\x00") and not blob.startswith(b"Exif\x00\x00" * 2)
    assert piexif.load(blob)["thumbnail"] is None  # a parseable blob: the "no IFD1" branch, not "unparseable"
    assert strip_exif_thumbnail(blob) == blob
    with_thumb = _exif(with_thumbnail=True)
    assert strip_exif_thumbnail(with_thumb) != with_thumb  # the same parser does act when there is one
    assert strip_exif_thumbnail(b"garbage") == b"garbage"


def test_png_16bit_colour_alpha_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    raw = (rng.random((10, 14, 4)) * 65535).astype(np.uint16)
    like = load_image(_write_png8(tmp_path / "seed.png"))
    like.bit_depth, like.alpha = 16, raw[..., 3].astype(np.float32) / 65535
    save_image(tmp_path / "a.png", raw[..., :3].astype(np.float32) / 65535, like)
    back = load_image(tmp_path / "a.png")
    assert back.bit_depth == 16 and back.format == "PNG" and back.alpha is not None
    assert np.array_equal(np.rint(back.pixels * 65535).astype(np.uint16), raw[..., :3])
    assert np.array_equal(np.rint(back.alpha * 65535).astype(np.uint16), raw[..., 3])
    # a second generation stays 16-bit and unchanged
    save_image(tmp_path / "b.png", back.pixels, back)
    again = load_image(tmp_path / "b.png")
    assert again.bit_depth == 16 and np.array_equal(again.pixels, back.pixels)


def _write_png8(path: Path) -> Path:
    Image.fromarray(_rgb(10, 14)).save(path)
    return path


def test_png_16bit_grey_stays_16bit_grey(tmp_path: Path) -> None:
    grey = (np.random.default_rng(2).random((9, 11)) * 65535).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.bit_depth == 16 and loaded.pixels.shape == (9, 11, 1)
    save_image(tmp_path / "o.png", loaded.pixels, loaded)
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode.startswith("I") and np.array_equal(np.asarray(im).astype(np.uint16), grey)


def test_alpha_and_greyscale_are_kept(tmp_path: Path) -> None:
    rgba = np.dstack([_rgb(8, 8), np.arange(64, dtype=np.uint8).reshape(8, 8) * 4])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    assert loaded.pixels.shape == (8, 8, 3) and loaded.alpha is not None
    save_image(tmp_path / "o.png", 1.0 - loaded.pixels, loaded)
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGBA" and np.array_equal(np.asarray(im)[..., 3], rgba[..., 3])
    Image.fromarray(_rgb(8, 8)[..., 0], "L").save(tmp_path / "g.jpg")
    grey = load_image(tmp_path / "g.jpg")
    assert grey.pixels.shape == (8, 8, 1)
    save_image(tmp_path / "go.jpg", grey.pixels, grey)
    with Image.open(tmp_path / "go.jpg") as im:
        assert im.mode == "L"


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(_rgb()).save(src)
    loaded = load_image(src)
    out = tmp_path / "out.png"

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", disk_full)
    with pytest.raises(images_mod.OutputError, match="No space left"):
        save_image(out, loaded.pixels, loaded)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.jpg", b"", "empty file"),
        ("text.jpg", b"this is not a photo\n", "not an image"),
        ("cut.jpg", None, "truncated"),
    ],
)
def test_bad_inputs_one_line_errors(tmp_path: Path, name: str, content: bytes | None, reason: str) -> None:
    path = tmp_path / name
    if content is None:
        buf = io.BytesIO()
        Image.fromarray(_rgb(64, 64)).save(buf, "JPEG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_image(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and reason in msg and "\n" not in msg


def test_folder_and_decompression_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.jpg").mkdir()
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path / "x.jpg")
    Image.fromarray(_rgb(40, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr(images_mod.opener, "MAX_PIXELS", 1000)
    with pytest.raises(InputError, match="safety limit"):
        load_image(tmp_path / "big.png")


def test_a_killed_runs_leftover_part_file_is_removed_on_the_next_write(tmp_path: Path) -> None:
    import os
    import time

    from weatherclean.io.atomic import atomic_write
    from weatherclean.io.leftovers import STALE_SECONDS

    old = tmp_path / ".a.png.x1y2z3w4.part"
    old.write_bytes(b"half a picture")
    recent = tmp_path / ".a.png.q9w8e7r6.part"  # maybe another run writing right now: left alone
    recent.write_bytes(b"in progress")
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    atomic_write(tmp_path / "a.png", b"done")
    assert not old.exists() and recent.exists() and (tmp_path / "a.png").read_bytes() == b"done"


def test_a_jpeg_named_png_gets_a_note(tmp_path: Path) -> None:
    Image.fromarray(_rgb(8, 8)).save(tmp_path / "liar.png", format="JPEG")
    image = load_image(tmp_path / "liar.png")
    assert image.format == "JPEG" and any("holds a JPEG image" in n for n in image.notes)


@pytest.mark.parametrize("compression", ["tiff_lzw", "packbits", "raw", "tiff_adobe_deflate"])
def test_tiff_keeps_its_compression_and_exif(tmp_path: Path, compression: str) -> None:
    """LZW stays LZW, PackBits PackBits, uncompressed uncompressed: an archive's settings survive; 2 strips."""
    rgb = _rgb(h=300, w=320)  # > 256 KiB uncompressed: more than one strip
    Image.fromarray(rgb).save(tmp_path / "in.tif", compression=compression)
    photo = load_image(tmp_path / "in.tif")
    photo.exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Canon"}, "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N"}})
    saved = save_image(tmp_path / "out.tif", 1.0 - photo.pixels, photo)
    assert saved.notes == []
    with Image.open(tmp_path / "out.tif") as out:
        assert out.info["compression"] == compression
        assert np.array_equal(np.asarray(out), 255 - rgb)
        assert out.getexif()[0x010F] == "Canon"  # Make, copied tag by tag
    deep = load_image(tmp_path / "in.tif")  # the same settings at 16 bits, through our own writer
    deep.bit_depth = 16
    save_image(tmp_path / "deep.tif", deep.pixels, deep)
    back = load_image(tmp_path / "deep.tif")
    assert back.bit_depth == 16 and np.allclose(back.pixels, photo.pixels, atol=1e-6)
    assert back.extra["compression"] == compression


def test_tiff_compression_that_cannot_be_kept_gets_a_note(tmp_path: Path) -> None:
    Image.fromarray(_rgb()).save(tmp_path / "in.tif", compression="jpeg")
    photo = load_image(tmp_path / "in.tif")
    saved = save_image(tmp_path / "out.tif", photo.pixels, photo)
    assert any("jpeg compression not kept" in n for n in saved.notes)
    with Image.open(tmp_path / "out.tif") as out:
        assert out.info["compression"] == "tiff_adobe_deflate"


def test_a_write_survives_another_jobs_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs share an output tree (Ray actors): one creates ``out/`` for its photo, the other fails and
    removes ``out/`` because it was still empty, just before the first job's temporary file goes in. The
    write must still land (this failed CI once as "out/p0.jpg: cannot write (No such file or directory)")."""
    folder = tmp_path / "out"
    folder.mkdir()
    calls = _after_cleanup(monkeypatch, "mkstemp", folder, times=1)
    atomic_mod.atomic_write(folder / "p0.jpg", b"restored")
    assert (folder / "p0.jpg").read_bytes() == b"restored" and len(calls) == 2


def test_a_folder_that_keeps_vanishing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    calls = _after_cleanup(monkeypatch, "mkstemp", folder, times=99)
    with pytest.raises(images_mod.OutputError, match="No such file"):
        atomic_mod.atomic_write(folder / "p0.jpg", b"restored")
    assert len(calls) == atomic_mod.FOLDER_ATTEMPTS


def test_a_folder_that_exists_but_refuses_files_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder that exists yet says "No such file" (Linux's /proc, /sys): that is the answer."""
    calls: list[str] = []

    def refused(*args: Any, **kwargs: Any) -> tuple[int, str]:
        calls.append("mkstemp")
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(atomic_mod.tempfile, "mkstemp", refused)
    with pytest.raises(images_mod.OutputError, match="No such file"):
        atomic_mod.atomic_write(tmp_path / "p1.jpg", b"restored")
    assert calls == ["mkstemp"]


def test_a_clip_folder_survives_another_jobs_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``derain --frames`` builds its output folder in a temporary folder beside it: the same race."""
    folder = tmp_path / "out"
    folder.mkdir()
    calls = _after_cleanup(monkeypatch, "mkdtemp", folder, times=1)
    work = atomic_mod.make_beside(folder, lambda at: atomic_mod.tempfile.mkdtemp(suffix=".part", dir=at))
    assert Path(work).parent == folder and Path(work).is_dir() and len(calls) == 2


def _after_cleanup(monkeypatch: pytest.MonkeyPatch, name: str, folder: Path, *, times: int) -> list[str]:
    """Make every ``tempfile.NAME`` (``mkstemp``, ``mkdtemp``) find ``folder`` just removed by another job's
    cleanup, the first ``times`` times (the worst moment); the list returned records each call."""
    real = getattr(atomic_mod.tempfile, name)
    calls: list[str] = []

    def after_the_other_jobs_cleanup(*args: Any, **kwargs: Any) -> Any:
        if len(calls) < times:
            remove_empty([folder])
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic_mod.tempfile, name, after_the_other_jobs_cleanup)
    return calls


def _planar_tiff(path: Path, planes: np.ndarray, *, order: str = "<", deflate: bool = False) -> None:
    """A baseline TIFF stored plane by plane (PlanarConfiguration 2), as scanners and Photoshop's "Per
    Channel" write it: ``planes`` is C×H×W uint16, one strip per plane."""
    import struct
    import zlib

    c, h, w = planes.shape
    strips = [p.astype(order + "u2").tobytes() for p in planes]
    strips = [zlib.compress(s) for s in strips] if deflate else strips
    n_entries = 11
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * n_entries + 4
    bits_at, offsets_at, counts_at = data_at, data_at + 2 * c, data_at + 6 * c
    strip_at = counts_at + 4 * c
    offsets = [strip_at + sum(len(s) for s in strips[:i]) for i in range(c)]

    def entry(tag: int, typ: int, count: int, value: int) -> bytes:
        short = typ == 3 and count == 1  # a lone SHORT sits left-justified in the 4-byte value field
        packed = struct.pack(order + "H", value) + b"\0\0" if short else struct.pack(order + "I", value)
        return struct.pack(order + "HHI", tag, typ, count) + packed

    entries = [
        entry(256, 4, 1, w), entry(257, 4, 1, h), entry(258, 3, c, bits_at), entry(259, 3, 1, 8 if deflate else 1),
        entry(262, 3, 1, 2), entry(273, 4, c, offsets_at), entry(277, 3, 1, c), entry(278, 4, 1, h),
        entry(279, 4, c, counts_at), entry(284, 3, 1, 2), entry(338, 3, 1, 2) if c == 4 else entry(296, 3, 1, 1),
    ]  # fmt: skip
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, ifd_at)
    ifd = struct.pack(order + "H", n_entries) + b"".join(entries) + struct.pack(order + "I", 0)
    tables = struct.pack(order + "H" * c, *[16] * c) + struct.pack(order + "I" * c, *offsets)
    tables += struct.pack(order + "I" * c, *[len(s) for s in strips])
    path.write_bytes(head + ifd + tables + b"".join(strips))


@pytest.mark.parametrize(("order", "channels"), [("<", 3), (">", 3), ("<", 4)])
def test_16bit_tiff_stored_plane_by_plane_is_read_exactly(tmp_path: Path, order: str, channels: int) -> None:
    """Pillow reads each 16-bit plane as 8-bit: the picture came out striped, 60 levels off, with exit 0."""
    planes = np.random.default_rng(1).integers(0, 65536, (channels, 6, 9)).astype(np.uint16)
    _planar_tiff(tmp_path / "scan.tif", planes, order=order)
    image = load_image(tmp_path / "scan.tif")
    assert image.bit_depth == 16
    assert np.array_equal(np.rint(image.pixels * 65535).astype(np.uint16), np.moveaxis(planes[:3], 0, 2))
    if channels == 4:
        assert image.alpha is not None and np.array_equal(np.rint(image.alpha * 65535), planes[3])


def test_a_compressed_16bit_planar_tiff_is_refused_in_one_line(tmp_path: Path) -> None:
    """Compressed planes go through libtiff, whose low bytes came back as the high bytes: refused, not
    read at 8 bits of precision dressed as 16."""
    _planar_tiff(tmp_path / "scan.tif", np.full((3, 6, 9), 30000, np.uint16), deflate=True)
    with pytest.raises(InputError, match=r"scan\.tif: a compressed 16-bit TIFF stored plane by plane .* re-save"):
        load_image(tmp_path / "scan.tif")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_umask_is_read_without_being_changed(umask: int) -> None:
    """Outputs get the permissions the user's umask allows; reading it must not set it, because setting
    it to read it races with the batch's other threads creating files at that moment."""
    import os

    from weatherclean.io.permissions import process_umask

    before = os.umask(umask)
    try:
        with pytest.MonkeyPatch.context() as mp:
            if os.path.exists("/proc/self/status"):  # where the system shows it, it must not be set at all
                mp.setattr(os, "umask", lambda _mask: pytest.fail("os.umask was called to read the umask"))
            assert process_umask() == umask
    finally:
        os.umask(before)


def test_a_finished_frames_folder_gets_the_users_permissions(tmp_path: Path) -> None:
    """mkdtemp makes 0700 folders: a clip's frames folder must end with what the umask allows, like a photo.
    (That the umask is read without being set, the race, is the test above; this one guards the mode.)"""
    import os
    import tempfile

    from weatherclean.batch.handlers import replace_folder

    before = os.umask(0o027)
    try:
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        replace_folder(work, tmp_path / "frames")
    finally:
        os.umask(before)
    assert (tmp_path / "frames").stat().st_mode & 0o777 == 0o750
