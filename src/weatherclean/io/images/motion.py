"""Motion photos: the short video a phone appends to a picture, found so that it is kept (JPEG) or said lost.

Google's Motion Photo (``MVIMG_*.jpg``, ``PXL_*.MP.jpg``) and Samsung's put an MP4 after the JPEG's end (EOI).
Google's XMP says where it starts, counted back from the end of the file: ``GCamera:MicroVideoOffset`` (the
older MicroVideo) or the video item's ``Item:Length`` in ``Container:Directory`` (Motion Photo 1.0); Samsung
marks it with ``MotionPhoto_Data`` (and its SEF directory, when there is one, counts back from the end too).
:func:`video_length` finds it among the bytes after a JPEG's pictures, which :mod:`.trailer` keeps after a JPEG
output as they were; the video is never decoded, and not restored (a phone shows it as it was). An output in
another format cannot hold it, so the XMP that points at it goes with it (:func:`without_motion_xmp`,
:func:`without_directory`).

A HEIC or AVIF motion photo (Google's XMP, Samsung's ``mpvd`` box, or an MP4 after the picture's boxes) is told by
:func:`has_heif_motion_video`: its video is not kept, so it is noted and ``--in-place`` refuses the file.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

from weatherclean.io.images.bmff import box_heads
from weatherclean.io.images.jpegsegments import xmp_property

__all__ = [
    "HEIF_MOTION_NOTE",
    "has_heif_motion_video",
    "names_video",
    "video_length",
    "without_directory",
    "without_dropped_items",
    "without_motion_xmp",
]

#: Bytes read at a time while searching for Samsung's marker.
_BLOCK = 1 << 20
#: Samsung's label before the MP4 of a motion photo.
_SAMSUNG_MARKER = b"MotionPhoto_Data"
#: A box type of an MP4 (ISO media file): four printable characters (``ftyp``, ``mdat``, ``moov``, ``free``).
_BOX_TYPE = re.compile(rb"[\x20-\x7e]{4}")

# The XMP patterns below take time in proportion to the packet's length, whatever it holds. Why: a pattern that may
# start inside a run of bytes and scan to its end (a prefix ``[\w.-]+`` tried from every letter of a long word, a
# tag tried from every ``<`` and read to the packet's end) took time with the square of the length: a 400 KB XMP in
# a 64x48 AVIF took 4 minutes. So a prefix is matched from the start of its run only (the lookbehinds, which change
# no match: a match from inside a run ends where one from its start would), a tag ends at the first ``<`` or ``>``
# (XML allows no ``<`` inside one), and a Directory's body at the next Directory's start. A quoted value scans to
# the next quote of its kind, which ends the next attempt's scan too: linear as it is.
#: A prefix of an XMP name (``GCamera``), from the start of its run of name characters.
_PREFIX = rb"(?<![\w.-])[\w.-]+"
#: A quoted attribute value, in group 1 (double quotes) or 2 (single).
_VALUE = rb"(?:\"([^\"]*)\"|'([^']*)')"

#: Google's flag that the file is a motion photo (``GCamera:MicroVideo="1"``, ``Camera:MotionPhoto="1"``).
_FLAG = re.compile(
    _PREFIX + rb":(?:MicroVideo|MotionPhoto)\s*=\s*[\"']1[\"']|<([\w.-]+:(?:MicroVideo|MotionPhoto))>\s*1\s*</\1>"
)
_OFFSET = re.compile(_PREFIX + rb":MicroVideoOffset\s*=\s*[\"'](\d+)[\"']|<([\w.-]+:MicroVideoOffset)>\s*(\d+)\s*</\2>")
_ITEM = re.compile(rb"<[\w.-]+:Item\b[^<>]*>")
_ATTRIBUTE = re.compile(_PREFIX + rb":(\w+)\s*=\s*" + _VALUE)
#: XMP properties of a motion photo, as attributes, elements or empty elements.
_MOTION_NAMES = rb"(?:MicroVideo|MotionPhoto)\w*"
_MOTION_XMP = xmp_property(_MOTION_NAMES)
#: One entry of a ``Container:Directory``: an ``rdf:li`` that holds one ``Container:Item``.
_DIRECTORY_ENTRY = re.compile(rb"<rdf:li\b[^<>]*>\s*(<[\w.-]+:Item\b[^<>]*?/>)\s*</rdf:li>")
#: A whole ``Container:Directory`` (Google's list of the items appended after the primary picture).
_DIRECTORY = re.compile(
    rb"<([\w.-]+:Directory)\b[^<>]*(?<!/)>(?:(?!<[\w.-]+:Directory\b).)*?</\1>|<[\w.-]+:Directory\b[^<>]*/>",
    re.DOTALL,
)


def _attributes(tag: bytes) -> dict[bytes, bytes]:
    """An XMP element's attributes by local name (``Item:Length="5"`` → ``{b"Length": b"5"}``)."""
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTRIBUTE.finditer(tag)}


def _is_video_item(attrs: dict[bytes, bytes]) -> bool:
    return attrs.get(b"Semantic") == b"MotionPhoto" or attrs.get(b"Mime", b"").startswith(b"video/")


def _google_video_length(xmp: bytes | None) -> int | None:
    """The video's length that Google's XMP gives (MicroVideoOffset, or the video item's Item:Length), or None."""
    if not xmp or not _FLAG.search(xmp):
        return None
    offset = _OFFSET.search(xmp)
    if offset is not None:
        return int(offset.group(1) or offset.group(3))
    for tag in _ITEM.findall(xmp):
        attrs = _attributes(tag)
        if _is_video_item(attrs) and attrs.get(b"Length", b"").isdigit():
            return int(attrs[b"Length"])
    return None


def names_video(xmp: bytes | None) -> bool:
    """Whether Google's XMP says the file is a motion photo (``MicroVideo="1"``, ``MotionPhoto="1"``)."""
    return xmp is not None and _FLAG.search(xmp) is not None


def _mp4_length(fh: BinaryIO, start: int, end: int) -> int:
    """How many bytes from ``start`` are an MP4: its top-level boxes, read from their headers up to the first
    that is not one (Samsung's SEF trailer after the video) or runs past ``end``."""
    length = 0
    for pos, box, kind, _head in box_heads(fh, start, end):
        if pos + box > end or not _BOX_TYPE.fullmatch(kind):
            break
        length = pos + box - start
    return length


def _is_mp4_at(fh: BinaryIO, pos: int) -> bool:
    """Whether an ISO media file (MP4, MOV) starts at ``pos``: a box whose type is ``ftyp``."""
    fh.seek(pos)
    return fh.read(8)[4:8] == b"ftyp"


def _samsung_video(fh: BinaryIO, after: int) -> int | None:
    """Where the MP4 after Samsung's marker begins: the first marker (from ``after``) that an MP4 follows, as the
    label may also occur in Samsung's other data before it; None when there is none."""
    pos = after
    while (at := _find(fh, _SAMSUNG_MARKER, pos)) is not None:
        if _is_mp4_at(fh, at + len(_SAMSUNG_MARKER)):
            return at + len(_SAMSUNG_MARKER)
        pos = at + 1
    return None


def video_length(fh: BinaryIO, xmp: bytes | None, after: int, size: int) -> int:
    """The size of the motion photo video among the bytes from ``after`` (the end of a JPEG's pictures) to
    ``size``, by Google's XMP or Samsung's marker, checked against the bytes there; 0 when neither finds one.
    Google's runs to the end of the file; Samsung's is measured by its boxes, without the SEF trailer behind."""
    length = _google_video_length(xmp)
    if length is not None and 0 < length <= size - after and _is_mp4_at(fh, size - length):
        return length
    start = _samsung_video(fh, after)
    return _mp4_length(fh, start, size) if start is not None else 0


def _find(fh: BinaryIO, marker: bytes, start: int) -> int | None:
    """Where ``marker`` first occurs from ``start`` on, read block by block (Samsung's other data, a depth map,
    can come before it), or None."""
    pos = start
    while True:
        fh.seek(pos)
        block = fh.read(_BLOCK)
        at = block.find(marker)
        if at >= 0:
            return pos + at
        if len(block) < _BLOCK:
            return None
        pos += len(block) - len(marker) + 1  # a marker across two blocks is found in the next one


#: The note of a HEIC or AVIF motion photo, whose video is not kept (a known gap, docs/formats.md).
HEIF_MOTION_NOTE = "motion photo video not kept (weatherclean keeps it for JPEG motion photos only); dropped"


def _top_level(fh: BinaryIO, size: int) -> list[bytes]:
    """The types of an ISO-BMFF file's top-level boxes, in order, read from their headers alone."""
    return [kind for _pos, _box, kind, _head in box_heads(fh, 0, size)]


def has_heif_motion_video(path: Path, xmp: bytes | None) -> bool:
    """Whether a HEIC or AVIF is a motion photo: Google's XMP flag, Samsung's ``mpvd`` box, or an MP4 (a second
    ``ftyp`` box) after the picture's boxes. Its video is not kept, and ``--in-place`` must not lose it."""
    if xmp and _FLAG.search(xmp):
        return True
    try:
        with open(path, "rb") as fh:
            kinds = _top_level(fh, os.fstat(fh.fileno()).st_size)
    except (OSError, struct.error):
        return False
    return b"mpvd" in kinds or kinds.count(b"ftyp") > 1


def without_motion_xmp(xmp: bytes) -> bytes:
    """The XMP packet without its motion photo properties (``MicroVideo*``, ``MotionPhoto*``) and its video's
    directory entry, for an output that lost the video: a reader would otherwise look for it at an offset
    that now lies inside the picture."""
    xmp = _MOTION_XMP.sub(b"", xmp)
    return _DIRECTORY_ENTRY.sub(lambda m: b"" if _is_video_item(_attributes(m.group(1))) else m.group(0), xmp)


def without_dropped_items(xmp: bytes, pictures: int) -> bytes:
    """The XMP packet without the directory entries of the first ``pictures`` pictures after the main one (a
    gain map), which the output no longer holds: a reader that adds up the items' lengths from the front would
    otherwise look for the video ``Item:Length`` bytes too far."""
    left = pictures

    def drop(match: re.Match[bytes]) -> bytes:
        nonlocal left
        attrs = _attributes(match.group(1))
        if left and attrs.get(b"Semantic") != b"Primary" and attrs.get(b"Mime", b"").startswith(b"image/"):
            left -= 1
            return b""
        return match.group(0)

    return _DIRECTORY_ENTRY.sub(drop, xmp) if pictures else xmp


def without_directory(xmp: bytes) -> bytes:
    """The XMP packet without its ``Container:Directory``, for an output in another format than JPEG: the items it
    lists (a gain map, a depth map, the video) were appended after the JPEG's picture, and none follows the
    output's, so a reader that looked for them would read whatever lies at those lengths."""
    return _DIRECTORY.sub(b"", xmp)
