"""EXIF helpers: PixelXDimension/PixelYDimension follow a picture written turned upright (a HEIC, decoded
upright); ``sub_ifd`` finds a nested IFD."""

from __future__ import annotations

import struct

import numpy as np
import piexif
import pytest

from weatherclean.io.images.exif import EXIF_POINTER, INTEROP_IFD, Ifd, exif_for_output, sub_ifd


def _exif(x: int, y: int, *, order: str = "<", typ: int = 3) -> bytes:
    """A minimal EXIF block by hand: IFD0 with only the Exif pointer, the Exif IFD with the two dimensions as
    SHORT (3) or LONG (4), in either byte order."""
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    ifd0 = struct.pack(order + "H", 1) + struct.pack(order + "HHII", 0x8769, 4, 1, 26) + struct.pack(order + "I", 0)

    def value(v: int) -> bytes:
        return struct.pack(order + "HH", v, 0) if typ == 3 else struct.pack(order + "I", v)

    sub = struct.pack(order + "H", 2)
    sub += struct.pack(order + "HHI", 0xA002, typ, 1) + value(x)
    sub += struct.pack(order + "HHI", 0xA003, typ, 1) + value(y) + struct.pack(order + "I", 0)
    return b"Exif\x00\x00" + head + ifd0 + sub


def _dims(exif: bytes) -> tuple[int, int]:
    ifd = piexif.load(exif)["Exif"]
    return ifd[piexif.ExifIFD.PixelXDimension], ifd[piexif.ExifIFD.PixelYDimension]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("typ", [3, 4])
def test_dimensions_of_a_picture_written_turned_are_swapped(order: str, typ: int) -> None:
    upright = np.zeros((320, 240, 3), np.uint8)  # 240 wide, 320 tall: the HEIC decoded upright
    given = _exif(320, 240, order=order, typ=typ)
    assert _dims(given) == (320, 240)
    out, _ = exif_for_output(given, "JPEG", upright)
    assert out is not None and _dims(out) == (240, 320)
    assert len(out) == len(given)  # patched where the values lie: nothing moved


def test_dimensions_that_are_not_a_quarter_turn_are_the_cameras_and_kept() -> None:
    pixels = np.zeros((320, 240, 3), np.uint8)
    for x, y in ((240, 320), (4000, 3000), (100, 100)):
        out, _ = exif_for_output(_exif(x, y), "JPEG", pixels)
        assert out is not None and _dims(out) == (x, y)
    out, _ = exif_for_output(_exif(64, 32), "PNG", np.zeros((64, 64, 3), np.uint8))
    assert out is not None and _dims(out) == (64, 32)


def test_sub_ifd_gives_the_nested_ifd_or_an_empty_one() -> None:
    """``sub_ifd`` is what capture.py and carryover.py look tags up in: the parsed sub-IFD where the pointer led to
    one, and an empty IFD where the tag is missing or its value is raw bytes (a pointer the parser could not
    follow), so that a damaged EXIF reads as one without those tags, never as an error."""
    interop: Ifd = {0x0001: (2, 4, b"R03\x00")}
    exif: Ifd = {0xA001: (3, 1, b"\xff\xff"), INTEROP_IFD: (4, 1, interop)}
    ifd0: Ifd = {EXIF_POINTER: (4, 1, exif), 0x8825: (4, 1, b"\x00\x00\x00\x08")}
    assert sub_ifd(ifd0, EXIF_POINTER) is exif
    assert sub_ifd(sub_ifd(ifd0, EXIF_POINTER), INTEROP_IFD) is interop
    assert sub_ifd(ifd0, 0x8825) == {}  # a pointer left as bytes
    assert sub_ifd(ifd0, INTEROP_IFD) == {}  # not in IFD0
    assert sub_ifd({}, EXIF_POINTER) == {}
