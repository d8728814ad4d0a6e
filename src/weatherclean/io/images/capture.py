"""Which shot a photo is, by its EXIF capture identity: what a rerun compares before it takes an existing output as
its input's (:func:`~weatherclean.batch.jobs.other_photo`).

Why a module of its own: finding a file's EXIF takes each format's header reader (JPEG markers, a TIFF's IFD0,
Pillow's for the rest), which :mod:`.exif`, the low-level EXIF parser those readers use, must not import.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import BinaryIO, NamedTuple

from PIL import UnidentifiedImageError

from weatherclean.errors import WeathercleanError
from weatherclean.io.images.exif import EXIF_POINTER, EXIF_PREFIX, Ifd, exif_ifd0, sub_ifd
from weatherclean.io.images.jpegsegments import jpeg_segments
from weatherclean.io.images.opener import NotPillow, open_or_explain
from weatherclean.io.images.tiff import first_ifd, tiff_file_head

__all__ = ["Capture", "capture_in", "capture_of", "file_exif"]

#: The tags of :class:`Capture` (EXIF 2.3), in the order of its fields.
_CAPTURE_TAGS = (0x9003, 0x9291, 0xA420, 0xA431)
#: What reading a header that is not what it claims raises: a file that cannot be read (OSError), a structure cut
#: short or malformed (ValueError, struct.error, SyntaxError from Pillow's parsers, an empty file's mmap), one
#: Pillow does not know (UnidentifiedImageError, NotPillow), and the one-line errors of :func:`open_or_explain`.
_UNREADABLE = (OSError, ValueError, struct.error, SyntaxError, UnidentifiedImageError, NotPillow, WeathercleanError)


class Capture(NamedTuple):
    """Which shot a photo is, as its EXIF says (:func:`capture_of`): each field the raw bytes of its tag, without
    the NULs and spaces writers pad with, None where the file does not hold it. Bytes, not text: a serial number
    with a byte over 0x7F must equal itself whatever format the output was written in."""

    #: DateTimeOriginal, as written (``2024:01:05 10:00:00``).
    taken: bytes | None = None
    #: SubSecTimeOriginal: the fraction of that second (``12`` for .12 s), which tells a burst's frames apart.
    subsec: bytes | None = None
    #: ImageUniqueID: an identifier some cameras and phones give each shot (others a model or firmware code).
    unique_id: bytes | None = None
    #: BodySerialNumber: the camera's serial number (two bodies of one model shoot the same file names).
    serial: bytes | None = None


def capture_of(path: Path) -> Capture | None:
    """``path``'s capture identity from its EXIF, or None when it holds none (a PNG without EXIF, a screenshot, a
    stripped file, a file that cannot be read or a header that cannot be parsed: no identity is known, which is
    no error; the job that reads the file says what is wrong with it). Every format's EXIF is found by
    :func:`file_exif` and read by :func:`capture_in`, so a photo and its output in another format
    (``--format png``) compare alike. A DateTimeOriginal left blank (``"    :  :     :  :  "``, as EXIF allows) is
    none. Anything else raised is a bug, and goes up."""
    try:
        found = file_exif(path)
    except _UNREADABLE:
        return None
    return capture_in(found[1]) if found is not None else None


def capture_in(ifd0: Ifd) -> Capture | None:
    """The :class:`Capture` of a parsed IFD0 (:func:`~.exif.parse_ifd`), its tags looked for in the Exif sub-IFD,
    then in IFD0 (where some programs put them); None when it holds none of them."""
    sub = sub_ifd(ifd0, EXIF_POINTER)
    values: list[bytes | None] = []
    for tag in _CAPTURE_TAGS:
        found = sub.get(tag) or ifd0.get(tag)
        raw = found[2] if found is not None and found[0] in (1, 2, 7) and isinstance(found[2], bytes) else b""
        values.append(raw.split(b"\x00", 1)[0].strip() or None)  # ASCII ends at its NUL; padded with spaces
    capture = Capture(*values)
    if capture.taken is not None and not capture.taken.strip(b" :0"):
        capture = capture._replace(taken=None)
    return capture if any(capture) else None


def file_exif(path: Path) -> tuple[str, Ifd] | None:
    """(byte order, raw IFD0) of the EXIF in ``path``'s header, or None when it holds none; the pixels are never
    read, as this runs for every existing output of a rerun over thousands of photos.

    A JPEG's EXIF is its first ``Exif`` APP1 segment before the image data, found by the JPEG marker walker
    (:func:`~weatherclean.io.images.jpegsegments.jpeg_segments`): several times faster than Pillow, which parses
    every segment and the EXIF twice on opening. A TIFF's is the file's own IFD0 (its Exif sub-IFD included),
    read in place. Any other (PNG, WebP, HEIC, AVIF) is the EXIF block Pillow's reader finds on opening (a PNG's
    only when its ``eXIf`` chunk comes before the pixels, where Pillow and this project write it: Pillow decodes
    the whole picture to find one after them). Each block is parsed by the same IFD reader. Raises what
    :data:`_UNREADABLE` lists when the file cannot be read or parsed."""
    with open(path, "rb") as fh:
        head = fh.read(16)
        if head[:2] == b"\xff\xd8":
            blob = _jpeg_exif(fh)
            return exif_ifd0(blob) if blob is not None else None
        if tiff_file_head(head) is not None:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                ifd, e, _offset, _big = first_ifd(buf) or ({}, "<", 0, False)
                return e, ifd
    blob = _pillow_exif(path)
    return exif_ifd0(blob) if blob else None


def _jpeg_exif(fh: BinaryIO) -> bytes | None:
    """The first APP1 ``Exif`` block of the JPEG open as ``fh``, before its image data (None when there is none)."""
    for marker, pos, length in jpeg_segments(fh):
        if marker in (0xDA, 0xD9):  # the image data (or the end) starts: no EXIF comes after it
            return None
        if marker == 0xE1 and length >= len(EXIF_PREFIX):
            fh.seek(pos)
            data = fh.read(length)
            if data.startswith(EXIF_PREFIX):
                return data
    return None


def _pillow_exif(path: Path) -> bytes | None:
    """The EXIF block Pillow's reader of ``path`` finds on opening it, its pixels not decoded."""
    with open_or_explain(path) as im:
        raw = im.info.get("exif")
    return bytes(raw) if isinstance(raw, (bytes, bytearray)) else None
