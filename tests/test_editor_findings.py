"""What a photographer using weatherclean as Lightroom's / Capture One's external editor found: a TIFF's saved
selection (an extra channel, ExtraSamples 0) and Photoshop layers lost without a word, also in place; extended
attributes (file-manager tags) lost in place; truncated TIFFs called "unsupported TIFF layout" or "decoder error
-2", after Pillow's warnings on stderr; and a 16-bit PSD called "not an image".

Every file is made here, small: with tifffile, or with the stand-alone writer below (IFD after the strips, LZW or
Deflate, as Photoshop and Lightroom lay out their TIFFs), so that a truncated copy loses its tag directory.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch.handlers import in_place_loss
from weatherclean.cli import desnow
from weatherclean.errors import InputError
from weatherclean.io.atomic import atomic_write
from weatherclean.io.images import load_image, save_image
from weatherclean.io.images.opener import reason
from weatherclean.io.pillow_warnings import quiet_pillow

SELECTION_NOTE = "extra channel (ExtraSamples 0, e.g. a saved selection) dropped"


@pytest.fixture
def loads() -> StandIn:
    return StandIn(Inverter)


def _invoke(*args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=models)


def _rgb16(h: int = 24, w: int = 32) -> np.ndarray:
    return (np.random.default_rng(0).random((h, w, 3)) * 60000).astype(np.uint16)


def _with_selection(path: Path, depth: int = 16, extrasamples: tuple[int, ...] = (0,)) -> np.ndarray:
    """An RGB TIFF with Photoshop's saved selection ("Alpha 1") as an extra channel of kind 0, or RGBA + one."""
    rgb = _rgb16()
    extra = np.zeros((*rgb.shape[:2], len(extrasamples)), np.uint16)
    extra[8:16, 10:20] = 65535
    data = np.concatenate([rgb, extra], -1)
    if depth == 8:
        data = (data >> 8).astype(np.uint8)
    tifffile.imwrite(path, data, photometric="rgb", extrasamples=list(extrasamples), compression="zlib",
                     metadata=None)  # fmt: skip
    return data


def _layered(path: Path, resources: bytes | None = None, layers: bool = True) -> None:
    """A TIFF as Photoshop saves one with layers: the flattened picture, the layers in ImageSourceData (37724)."""
    tags = []
    if layers:
        block = b"Adobe Photoshop Document Data Block\0" + b"8BIMLayr" + (16).to_bytes(4, "big") + b"\0" * 16
        tags.append((37724, 7, len(block), block, True))
    if resources is not None:
        tags.append((34377, 7, len(resources), resources, True))
    tifffile.imwrite(path, _rgb16(), photometric="rgb", compression="zlib", metadata=None, extratags=tags)


# --------------------------------------------------------------------------------- 1. extra channels


def test_a_saved_selection_is_noted_and_refused_in_place(tmp_path: Path, loads: StandIn) -> None:
    """Pillow opens RGB + an unspecified extra channel as plain RGB: the selection went without a word, also with
    --in-place (rc 0, the 4th channel and ExtraSamples gone)."""
    for depth in (8, 16):
        src = tmp_path / f"sel{depth}.tif"
        data = _with_selection(src, depth)
        image = load_image(src)
        assert any(SELECTION_NOTE in note for note in image.notes), image.notes
        assert image.alpha is None and image.pixels.shape[2] == 3
        scale = 65535 if depth == 16 else 255
        assert np.array_equal(np.round(image.pixels * scale).astype(data.dtype), data[..., :3])
        assert in_place_loss(image) == "its extra channel (ExtraSamples 0, e.g. a saved selection)"
    before = (tmp_path / "sel16.tif").read_bytes()
    code, _, stderr = _invoke(str(tmp_path / "sel16.tif"), "--in-place", "-q", models=loads)
    flat = " ".join(stderr.split())
    assert code == 1
    assert "--in-place would lose its extra channel (ExtraSamples 0, e.g. a saved selection); use -o DIR" in flat
    assert (tmp_path / "sel16.tif").read_bytes() == before
    code, stdout, stderr = _invoke(str(tmp_path / "sel16.tif"), "--in-place", "--dry-run", "--json", models=loads)
    assert code == 1 and "would lose its extra channel" in json.loads(stdout)["failed"][0]["reason"], stderr
    code, stdout, _ = _invoke(str(tmp_path / "sel16.tif"), "-o", str(tmp_path / "out"), "--json", models=loads)
    assert code == 0 and SELECTION_NOTE in stdout


def test_rgba_with_a_selection_says_the_extra_channel_is_why(tmp_path: Path) -> None:
    """16-bit RGB + alpha + a selection (ExtraSamples 2, 0), which Pillow cannot open, was "unsupported TIFF layout;
    re-save it ..." without saying what to take out; the 8-bit one, which Pillow opens, dropped it silently."""
    _with_selection(tmp_path / "rgba16.tif", 16, (2, 0))
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "rgba16.tif")
    assert "its extra channel (ExtraSamples 0, e.g. a saved selection) beside its transparency" in str(caught.value)
    assert "Channels panel" in str(caught.value)
    _with_selection(tmp_path / "rgba8.tif", 8, (2, 0))
    image = load_image(tmp_path / "rgba8.tif")
    assert image.alpha is not None and any(SELECTION_NOTE in note for note in image.notes)
    assert in_place_loss(image) is not None


def test_plain_rgba_and_16_bit_grey_with_a_selection(tmp_path: Path) -> None:
    """Transparency is no extra channel to tell of; a 16-bit grey picture's selection, which our own grey+alpha
    reader took for transparency (the selection's outside came out transparent), is dropped and noted instead."""
    rgba = np.concatenate([_rgb16(), np.full((24, 32, 1), 40000, np.uint16)], -1)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=[2], metadata=None)
    image = load_image(tmp_path / "rgba.tif")
    assert image.alpha is not None and image.notes == [] and in_place_loss(image) is None
    grey = np.stack([_rgb16()[..., 0], np.zeros((24, 32), np.uint16)], -1)
    tifffile.imwrite(tmp_path / "grey.tif", grey, photometric="minisblack", extrasamples=[0], metadata=None)
    image = load_image(tmp_path / "grey.tif")
    assert image.alpha is None and any(SELECTION_NOTE in note for note in image.notes)
    assert np.array_equal(np.round(image.pixels[..., 0] * 65535).astype(np.uint16), grey[..., 0])
    save_image(tmp_path / "out.tif", image.pixels, image)
    assert np.array_equal(tifffile.imread(tmp_path / "out.tif"), grey[..., 0])  # grey, no alpha


# --------------------------------------------------------------------------------- 2. Photoshop layers


def test_in_place_refuses_photoshop_layers_but_not_kept_resources(tmp_path: Path, loads: StandIn) -> None:
    """--in-place threw a layered TIFF's layers away with only a note; resources alone (34377) are kept, and the
    print round kept them JPEG → TIFF → TIFF, so they refuse nothing."""
    folder = tmp_path / "in"
    folder.mkdir()
    _layered(folder / "layered.tif")
    resources = b"8BIM" + struct.pack(">H", 0x03ED) + b"\0\0" + struct.pack(">I", 16) + b"\0\x48\0\0\0\1\0\1" * 2
    _layered(folder / "resources.tif", resources, layers=False)
    assert load_image(folder / "resources.tif").extra.get("photoshop")  # kept, so nothing is lost in place
    layered_before = (folder / "layered.tif").read_bytes()
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json", models=loads)
    flat = " ".join(stderr.split())
    assert code == 1 and json.loads(stdout)["counts"] == {"done": 1, "skipped": 0, "failed": 1, "not_done": 0}, stderr
    assert "--in-place would lose its Photoshop layers (TIFF tag 37724); use -o DIR to keep the original" in flat
    assert (folder / "layered.tif").read_bytes() == layered_before
    with tifffile.TiffFile(folder / "resources.tif") as done:  # replaced, its resources still there
        assert done.pages[0].tags[34377].value == resources


# --------------------------------------------------------------------------------- 3. extended attributes


def test_a_replaced_file_keeps_its_user_xattrs(tmp_path: Path) -> None:
    """--in-place (and --overwrite) replaced a photo with a new file without its user.* extended attributes (the
    tags a file manager keeps there); the system's own (security.*) are not the file's to carry."""
    if not hasattr(os, "listxattr"):
        pytest.skip("no extended-attribute API in Python on this system")
    dest = tmp_path / "photo.jpg"
    dest.write_bytes(b"old")
    try:
        os.setxattr(dest, "user.xdg.tags", b"winter,print")
        os.setxattr(dest, "user.xdg.comment", b"for the gallery")
    except OSError:
        pytest.skip("this file system keeps no user extended attributes")
    atomic_write(dest, b"new")
    assert dest.read_bytes() == b"new"
    assert os.getxattr(dest, "user.xdg.tags") == b"winter,print"
    assert os.getxattr(dest, "user.xdg.comment") == b"for the gallery"
    atomic_write(tmp_path / "new.jpg", b"x")  # a new file: nothing to copy, no error
    assert [n for n in os.listxattr(tmp_path / "new.jpg") if n.startswith("user.")] == []


# --------------------------------------------------------------------------------- 4. truncated TIFFs


def _strip_tiff(path: Path, img: np.ndarray, compression: int) -> None:
    """A little-endian TIFF laid out as Photoshop writes one: strips first, the tag directory at the end."""
    h, w, c = img.shape
    data = img.astype("<u2").tobytes()
    body = zlib.compress(data) if compression == 8 else data
    out = bytearray(b"II*\0\0\0\0\0") + body
    if len(out) % 2:
        out += b"\0"
    bits_at = len(out)
    out += struct.pack("<HHH", 16, 16, 16)
    ifd = len(out)
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, c, bits_at), (259, 3, 1, compression), (262, 3, 1, 2),
               (273, 4, 1, 8), (277, 3, 1, c), (278, 4, 1, h), (279, 4, 1, len(body)), (284, 3, 1, 1)]  # fmt: skip
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        out += struct.pack("<HHI", tag, typ, count) + struct.pack("<I" if typ == 4 or count > 1 else "<HH", value,
                                                                   *([] if typ == 4 or count > 1 else [0]))  # fmt: skip
    out += b"\0\0\0\0"
    out[4:8] = struct.pack("<I", ifd)
    path.write_bytes(bytes(out))


def test_truncated_tiffs_say_truncated_without_warnings(tmp_path: Path) -> None:
    """A copy cut short said "unsupported TIFF layout" (its tag directory gone) or "cannot decode image (decoder
    error -2)" (its strips cut), after Pillow's UserWarning on stderr."""
    img = _rgb16(64, 64)
    _strip_tiff(tmp_path / "whole.tif", img, 8)
    assert np.array_equal(np.round(load_image(tmp_path / "whole.tif").pixels * 65535).astype(np.uint16), img)
    blob = (tmp_path / "whole.tif").read_bytes()
    (tmp_path / "no_ifd.tif").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "cut_ifd.tif").write_bytes(blob[:-20])  # the directory's last entries gone: Pillow warns
    tifffile.imwrite(tmp_path / "first.tif", img, photometric="rgb", compression="zlib", metadata=None)
    first = (tmp_path / "first.tif").read_bytes()
    (tmp_path / "short.tif").write_bytes(first[: len(first) - 100])  # the tag directory first: strips cut
    for name in ("no_ifd.tif", "cut_ifd.tif", "short.tif"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            quiet_pillow()  # the command's filters (as a library, Pillow's warnings are the program's to filter)
            with pytest.raises(InputError) as caught:
                load_image(tmp_path / name)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / name}: truncated or damaged file (")
        assert message.endswith("; re-copy it from the source") and "\n" not in message
        assert seen == [], [str(w.message) for w in seen]


def test_decoder_error_2_reads_as_damaged() -> None:
    assert reason(OSError("decoder error -2")).startswith("truncated or damaged file (")
    assert reason(OSError("decoder error -2")).endswith("; re-copy it from the source")


# --------------------------------------------------------------------------------- 5. PSD at any depth


@pytest.mark.parametrize("depth", [8, 16])
def test_psd_is_named_at_every_depth(tmp_path: Path, depth: int) -> None:
    """An 8-bit PSD got "PSD images are not supported; use JPEG, PNG, ..."; a 16-bit one "not an image"."""
    img = np.full((3, 16, 20), 100, ">u2" if depth == 16 else "u1")
    head = b"8BPS" + struct.pack(">H", 1) + b"\0" * 6 + struct.pack(">HIIHH", 3, 16, 20, depth, 3)
    src = tmp_path / f"IMG_0002-Edit-{depth}.psd"
    src.write_bytes(head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + img.tobytes())
    with pytest.raises(InputError, match=r"PSD images are not supported; use JPEG, PNG, TIFF"):
        load_image(src)
    if depth == 8:
        with Image.open(src) as im:  # Pillow's own PSD reader opens this one: refused by format, same words
            assert im.format == "PSD"


def test_a_padded_last_strip_is_no_truncation(tmp_path: Path) -> None:
    """Reviewer: writers that round the last strip's byte count up (past the file's end) made a valid TIFF fail
    as "truncated" before a pixel was read; libtiff reads only what it needs, and the file decodes."""
    tifffile = pytest.importorskip("tifffile")
    import struct

    from weatherclean.io.images import load_image

    path = tmp_path / "padded.tif"
    picture = (np.arange(24 * 32 * 3) % 251).astype(np.uint8).reshape(24, 32, 3)
    tifffile.imwrite(path, picture, photometric="rgb", rowsperstrip=8)
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["StripByteCounts"]
        counts, at, dtype = list(tag.value), tag.valueoffset, tag.dtype
    fmt = {3: "H", 4: "I", 16: "Q"}[int(dtype)]
    counts[-1] += 10
    data = bytearray(path.read_bytes())
    struct.pack_into(f"<{len(counts)}{fmt}", data, at, *counts)
    path.write_bytes(bytes(data))
    pixels = load_image(path).pixels
    assert np.array_equal(np.round(np.asarray(pixels, np.float64) * (255 if pixels.dtype.kind == "f" else 1)), picture)
