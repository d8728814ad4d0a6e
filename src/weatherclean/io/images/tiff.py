"""Our own TIFF reading and writing, for what Pillow's TIFF support loses.

TIFF output always goes through :func:`encode_tiff` so that EXIF sub-IFDs (Exif, GPS) are copied entry by
entry with their original types and values, which neither Pillow's nor libtiff's TIFF writer does; its
16-bit grey+alpha files, which Pillow cannot open, are read back by :func:`read_tiff_grey_alpha16`. A
TIFF's metadata is read raw from its first IFD (:func:`tiff_metadata`), and pixels are kept as stored
(:func:`~weatherclean.io.orientation.to_stored`), like every other format. BigTIFF (8-byte offsets, for files over
classic TIFF's 4 GB) is read the same way, and a BigTIFF input is written back as BigTIFF (little-endian,
which is the byte order Pillow reads).
"""

from __future__ import annotations

import functools
import io
import mmap
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, features

from weatherclean.errors import InputError
from weatherclean.io.images.exif import (
    Ifd,
    entry,
    exif_blob,
    exif_ifd0,
    parse_ifd,
    serialise_ifd,
    swap_ifd,
    tiff_head,
)
from weatherclean.io.images.jpegsegments import PHOTOSHOP_HEADER, iptc_records, photoshop_block
from weatherclean.io.images.pixels import RESAVE_HINT
from weatherclean.io.images.records import LoadedImage

__all__ = [
    "PNG_TEXT_TAGS",
    "TIFF_LAYOUT_TAGS",
    "TiffMetadata",
    "encode_tiff",
    "extra_channels_text",
    "first_ifd",
    "photoshop_entries",
    "read_tiff_grey_alpha16",
    "text_entries",
    "tiff_compression",
    "tiff_file_head",
    "tiff_metadata",
    "unreadable_tiff",
]

#: IFD0 tags that describe pixel layout/encoding: our TIFF writer sets its own, and they mean nothing
#: (or something wrong) once copied into another file's EXIF.
TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289,
     290, 291, 292, 293, 297, 317, 320, 321, 322, 323, 324, 325, 330, 332, 333, 334, 336, 338, 339, 340,
     341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 532}
)  # fmt: skip
#: Carried in their own fields (ICC, XMP), not in the EXIF blob.
_TIFF_SEPARATE_TAGS = frozenset({700, 34675})
#: Photoshop's resources (carried apart, less their thumbnails of the original: :func:`_photoshop_resources`) and
#: layers (dropped: they no longer match the processed pixels).
_PHOTOSHOP_TAGS = frozenset({34377, 37724})
#: TIFF compressions kept from the input (Pillow's name → our writer's), and each one's TIFF code. Others
#: (JPEG-in-TIFF, CCITT fax) are written with Deflate, with a note; files from other formats get Deflate.
_TIFF_KEPT = {"raw": "none", "tiff_lzw": "lzw", "packbits": "packbits", "tiff_adobe_deflate": "deflate",
              "tiff_deflate": "deflate"}  # fmt: skip
_TIFF_CODES = {"none": 1, "lzw": 5, "deflate": 8, "packbits": 32773}
#: The largest classic TIFF: its offsets are 4 bytes. A bigger output is written as BigTIFF.
_CLASSIC_MAX = 0xFFFFFFFF
#: How near :data:`_CLASSIC_MAX` the image data and metadata values may come before the whole IFD is measured: more
#: than an IFD's entries, strip table and padding can add (a 4 GB picture's strip table is about 1 MB).
_NEAR_LIMIT = 64 << 20


# --------------------------------------------------------------------------------------------- reading


def tiff_file_head(blob: bytes) -> tuple[str, int, bool] | None:
    """(byte order, IFD0 offset, whether it is BigTIFF) of a TIFF file from its first 16 bytes; None for
    anything else. :func:`~weatherclean.io.images.exif.tiff_head` knows classic TIFF only, as EXIF is."""
    head = tiff_head(blob[:8])
    if head is not None:
        return head[0], head[1], False
    e = {b"II+\x00": "<", b"MM\x00+": ">"}.get(blob[:4])
    if e is None or len(blob) < 16:
        return None
    size, zero, ifd0 = struct.unpack_from(e + "HHQ", blob, 4)
    return (e, ifd0, True) if (size, zero) == (8, 0) else None


def first_ifd(buf: Any, dropped: list[tuple[int, int]] | None = None) -> tuple[Ifd, str, int, bool] | None:
    """The first tag directory of the TIFF structure in ``buf`` (a mapped file, or bytes), with its byte order,
    offset and whether it is BigTIFF; None where ``buf`` holds no TIFF (:func:`tiff_file_head`). One reading for
    every look at a TIFF's IFD0 (its metadata, its 16-bit grey-and-alpha layout, why Pillow cannot open it, the
    capture identity), each keeping its own handling of a file that cannot be read."""
    head = tiff_file_head(bytes(buf[:16]))
    if head is None:
        return None
    e, offset, big = head
    return parse_ifd(buf, e, offset, big=big, dropped=dropped), e, offset, big


@dataclass(frozen=True)
class TiffMetadata:
    """What a TIFF's first IFD says beside its pixels: the metadata tags as an EXIF blob (raw, every tag with its
    type and bytes), the ICC profile and XMP, the orientation, whether the file is BigTIFF, its Photoshop
    resources (34377) less their thumbnails and whether one went (as a JPEG's APP13 is kept, so written back
    as the JPEG output's APP13 or the TIFF output's 34377), and why its samples cannot be read, if they cannot
    (:func:`_unreadable_samples`). Also what no reader here keeps, so that a note says so and ``--in-place`` refuses
    the file (:func:`~weatherclean.batch.handlers.in_place_loss`): ``extra_channels``, the ExtraSamples (338)
    values of channels that are not its transparency (a saved selection, :func:`_extra_channels`), and
    ``photoshop_layers``, whether it holds Photoshop layers (37724); and ``truncated``, the reason when its image
    data runs past the end of the file, or its tag directory cannot be read (:func:`_damaged`)."""

    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    orientation: int = 1
    big: bool = False
    photoshop: bytes | None = None
    photoshop_thumbnail: bool = False
    unreadable: str | None = None
    extra_channels: tuple[int, ...] = ()
    photoshop_layers: bool = False
    truncated: str | None = None


_PHOTOSHOP_NOTE = "Photoshop data (layers, resources) not kept; only the flattened image is processed"


def tiff_metadata(path: Path, notes: list[str]) -> TiffMetadata:
    """The metadata of a TIFF's (or BigTIFF's) first IFD, copied raw so every tag keeps type and bytes.

    A BigTIFF's values come as classic types (:func:`~weatherclean.io.images.exif.parse_ifd`), so they fit the
    EXIF blob every other format writes; before BigTIFF was read here, its Artist, Copyright, description and
    IPTC were lost without a word. A value that EXIF cannot hold (an 8-byte integer over 4 G) is named in a note.
    """
    dropped: list[tuple[int, int]] = []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        first = first_ifd(buf, dropped)
        if first is None:
            return TiffMetadata()
        ifd0, e, offset, big = first
        truncated = _damaged(ifd0, e, offset, len(buf))
    icc = ifd0[34675][2] if 34675 in ifd0 else None
    xmp = ifd0[700][2] if 700 in ifd0 else None
    orientation = 1
    if 274 in ifd0 and ifd0[274][0] == 3 and ifd0[274][1] == 1:
        (orientation,) = struct.unpack(e + "H", ifd0[274][2])
    photoshop, thumbnail = _photoshop_resources(ifd0, notes)
    unkept = TIFF_LAYOUT_TAGS | _TIFF_SEPARATE_TAGS | _PHOTOSHOP_TAGS
    if any(where or tag not in unkept for where, tag in dropped):
        names = ", ".join(
            (ExifTags.GPSTAGS if where == 34853 else ExifTags.TAGS).get(tag, f"tag {tag}")
            for where, tag in dropped
            if where or tag not in unkept
        )
        notes.append(f"TIFF {names} not kept: an 8-byte value over 4 G, which EXIF cannot hold")
    keep = {t: v for t, v in ifd0.items() if t not in unkept}
    extra = _extra_channels(ifd0, e)
    if extra:
        notes.append(f"{extra_channels_text(extra)} dropped: weatherclean keeps colour and transparency only")
    return TiffMetadata(
        exif_blob(e, keep), icc or None, xmp or None, orientation, big, photoshop, thumbnail, _samples(ifd0, e),
        extra, 37724 in ifd0, truncated,
    )  # fmt: skip


def _extra_channels(ifd: Ifd, e: str) -> tuple[int, ...]:
    """The ExtraSamples (338) values of the channels that no reader here keeps: every one but a first that is
    transparency (1: associated, 2: unassociated alpha), which Pillow (and our 16-bit reader) reads as alpha.

    Why: Photoshop saves a selection ("Alpha 1" in its Channels panel) as an extra channel of kind 0
    (unspecified); Pillow opens such a file as plain RGB, and the channel was gone without a word, also in place.
    A file without the tag (four samples, read as RGBA) has no such channel to tell of."""
    values = _ifd_values(ifd, e, 338)
    # a first extra channel of a value outside the standard's 0-2 (999 from some writers) is read as alpha too
    return tuple(v for i, v in enumerate(values) if i or v == 0)


def extra_channels_text(values: tuple[int, ...]) -> str:
    """``extra channel (ExtraSamples 0, e.g. a saved selection)``: :func:`_extra_channels`'s values, for notes and
    refusals."""
    kinds = ", ".join(str(v) for v in values)
    what = "extra channel" if len(values) == 1 else f"{len(values)} extra channels"
    return f"{what} (ExtraSamples {kinds}, e.g. a saved selection)"


def _damaged(ifd: Ifd, e: str, offset: int, size: int) -> str | None:
    """Why a TIFF of ``size`` bytes, its first tag directory at ``offset``, parsed as ``ifd``, is cut short or
    damaged: that directory past its end or unreadable (an empty ``ifd``), or a strip (or tile) starting past its
    last byte; None for a whole file.

    Why: such a file (a copy cut short, a card pulled out mid-write) got "unsupported TIFF layout", which sends
    the user to re-save a file that is merely incomplete, or libtiff's "decoder error -2", which says nothing.
    Asked before any pixel is decoded, so libtiff does not print its own read errors on stderr either."""
    if not ifd:
        where = "past its end" if offset >= size else "cut short or unreadable"
        return f"truncated or damaged file (its tag directory at byte {offset} is {where}); {DAMAGED_HINT}"
    offsets = _ifd_values(ifd, e, 273) or _ifd_values(ifd, e, 324)
    counts = _ifd_values(ifd, e, 279) or _ifd_values(ifd, e, 325)
    if not offsets or len(offsets) != len(counts):
        return None
    # A strip that starts past the end is missing; one that merely runs past it is not proof (writers pad the last
    # strip's byte count, and libtiff reads only what it needs): such a file is decoded, and a decode that then
    # fails reads as damaged too (opener.reason).
    missing = [o for o in offsets if o >= size]
    if not missing:
        return None
    end = max(o + c for o, c in zip(offsets, counts, strict=True))
    return f"truncated or damaged file (its image data runs to byte {end}, the file ends at {size}); {DAMAGED_HINT}"


#: What to do with a file that is cut short or damaged: nothing in its layout is at fault.
DAMAGED_HINT = "re-copy it from the source"


def _first_ifd(path: Path) -> tuple[Ifd, str, int, int] | None:
    """A TIFF's first tag directory, parsed from the file (its byte order, the directory's offset and the file's
    size with it), or None for a file that cannot be read or is no TIFF: what :func:`unreadable_tiff` looks at."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            first = first_ifd(buf)
            return None if first is None else (first[0], first[1], first[2], len(buf))
    except (OSError, ValueError, struct.error):
        return None


def unreadable_tiff(path: Path) -> str | None:
    """Why a TIFF that Pillow cannot open cannot be read, when the file says so itself, from its first tag directory
    parsed once: its samples' kind (:func:`_unreadable_samples`), else cut short or an extra channel beside its
    transparency (:func:`_unopenable_layout`); None otherwise (or for a file that is no TIFF), for the caller's
    general "unsupported TIFF layout".

    Why: each was "unsupported TIFF layout; re-save it ...", which does not say what to change."""
    first = _first_ifd(path)
    if first is None:
        return None
    ifd, e, offset, size = first
    return _unreadable_samples(ifd, e) or _unopenable_layout(ifd, e, offset, size)


def _unopenable_layout(ifd: Ifd, e: str, offset: int, size: int) -> str | None:
    """A TIFF cut short (its tag directory, or its image data, past its end: :func:`_damaged`) or holding an extra
    channel beside its transparency (RGB + alpha + a saved selection, ExtraSamples 2, 0, which Pillow has no 16-bit
    layout for); None otherwise."""
    damaged = _damaged(ifd, e, offset, size)
    if damaged:
        return damaged
    extra = _extra_channels(ifd, e)
    if extra:
        beside = " beside its transparency" if _ifd_values(ifd, e, 338)[0] in (1, 2) else ""
        return (
            f"unsupported TIFF layout: its {extra_channels_text(extra)}{beside}; re-save a copy without that "
            "channel (Photoshop: delete it in the Channels panel)"
        )
    return None


def _photoshop_resources(ifd0: Ifd, notes: list[str]) -> tuple[bytes | None, bool]:
    """A TIFF's Photoshop resources (34377) as a JPEG's APP13 is kept: thumbnails out (they show the original), the
    rest (IPTC, resolution, print settings) kept, with whether a thumbnail went. Not with layers (37724): their
    resources describe layers that are not written; a note says so. A JPEG's TIFF output holds its APP13 there,
    which was dropped when that TIFF was processed again."""
    if 37724 in ifd0 or (34377 in ifd0 and ifd0[34377][0] not in (1, 7)):
        notes.append(_PHOTOSHOP_NOTE)
        return None, False
    if 34377 not in ifd0:
        return None, False
    found = photoshop_block([("APP13", PHOTOSHOP_HEADER + ifd0[34377][2])])
    if found is None:
        notes.append(_PHOTOSHOP_NOTE)
        return None, False
    return found[0] or None, found[1]


def _unreadable_samples(ifd: Ifd, e: str) -> str | None:
    """A TIFF's samples' kind that no reader here takes: ``32-bit floating-point samples are not supported; ...``,
    signed or deeper than 16 bits; None otherwise. A float master used to get "unsupported TIFF layout", which did
    not say what to change, and unsigned 32-bit grey got that or other words by byte order (Pillow opens only a
    little-endian one, refused in :func:`~.pixels.to_float` when its values go beyond 16 bits)."""
    bits = max(_ifd_values(ifd, e, 258, (1,)) or (1,))
    return _samples(ifd, e) or (f"{bits}-bit integer samples are not supported; {RESAVE_HINT}" if bits > 16 else None)


def _samples(ifd: Ifd, e: str) -> str | None:
    """What :func:`_unreadable_samples` says of signed and floating-point samples. Also asked of files Pillow opens
    (:func:`tiff_metadata`): it reads signed 8-bit samples as unsigned (a wrong picture, without a word) and refuses
    signed 16-bit grey as "32-bit integer", which is not what the file holds."""
    kinds = set(_ifd_values(ifd, e, 339, (1,)))
    bits = "/".join(str(b) for b in sorted(set(_ifd_values(ifd, e, 258, (1,)))))
    if 3 in kinds:
        return f"{bits}-bit floating-point samples are not supported; {RESAVE_HINT}"
    if 2 in kinds:
        return f"signed {bits}-bit integer samples are not supported; {RESAVE_HINT}"
    return None


def _ifd_values(ifd: Ifd, e: str, tag: int, default: tuple[int, ...] = ()) -> tuple[int, ...]:
    """A SHORT or LONG tag's values (``default`` when absent, empty for other types)."""
    if tag not in ifd:
        return default
    typ, count, payload = ifd[tag]
    code = {3: "H", 4: "I"}.get(typ)
    return struct.unpack(e + code * count, payload) if code else ()


def _grey_alpha16_layout(ifd: Ifd, e: str, max_pixels: int) -> tuple[int, int, int, int, int] | None:
    """(width, height, compression, photometric, predictor) when the IFD is a layout we can decode."""

    def vals(tag: int, default: tuple[int, ...] = ()) -> tuple[int, ...]:
        return _ifd_values(ifd, e, tag, default)

    w, h = (vals(256) or (0,))[0], (vals(257) or (0,))[0]
    compression, photometric = vals(259, (1,))[0], vals(262, (1,))[0]
    predictor = vals(317, (1,))[0]
    supported = (
        vals(258) == (16, 16) and vals(277) == (2,) and photometric in (0, 1) and compression in (1, 8, 32946)
        and vals(284, (1,)) == (1,) and predictor in (1, 2) and vals(339, (1, 1)) in ((1,), (1, 1))
        and 0 < w * h <= max_pixels
    )  # fmt: skip
    return (w, h, compression, photometric, predictor) if supported else None


def read_tiff_grey_alpha16(path: Path, max_pixels: int) -> tuple[np.ndarray, str] | None:
    """16-bit grey+alpha TIFF, which Pillow cannot open (it is what we write for 16-bit LA input), and its
    compression by Pillow's name (``"tiff_adobe_deflate"``).

    Handles the layouts our writer and common tools produce: strips, chunky, uncompressed or deflate,
    with or without horizontal prediction. Anything else returns None (and the caller reports it). The
    compression is returned because Pillow's reader records it in ``LoadedImage.extra`` for the files it
    opens, and :func:`tiff_compression` keeps what is recorded there: without it a Deflate file of this
    layout came back uncompressed, with no note, against formats.md's promise.
    """
    from PIL.TiffImagePlugin import COMPRESSION_INFO

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        first = first_ifd(buf)
        if first is None:
            return None
        ifd, e = first[0], first[1]
        layout = _grey_alpha16_layout(ifd, e, max_pixels)
        offsets, counts = _ifd_values(ifd, e, 273), _ifd_values(ifd, e, 279)
        if layout is None or not offsets or len(offsets) != len(counts):
            return None
        w, h, compression, photometric, predictor = layout
        raw = bytearray()
        for off, cnt in zip(offsets, counts, strict=True):
            chunk = bytes(buf[off : off + cnt])
            raw += zlib.decompress(chunk) if compression != 1 else chunk
    need = w * h * 4
    if len(raw) < need:
        raise InputError(f"{path}: truncated file (image data ends early); re-copy it from the source")
    arr = np.frombuffer(bytes(raw[:need]), dtype=e + "u2").reshape(h, w, 2).astype(np.uint16)
    if predictor == 2:
        arr = np.cumsum(arr, axis=1, dtype=np.uint16)  # undo horizontal differencing (wraps mod 2**16)
    if photometric == 0:  # WhiteIsZero
        arr[..., 0] = 65535 - arr[..., 0]
    return arr, COMPRESSION_INFO[compression]  # 1, 8 or 32946: the layouts decoded above


# --------------------------------------------------------------------------------------------- writing


def _rational(value: float) -> tuple[int, int]:
    f = Fraction(float(value)).limit_denominator(10000)
    return f.numerator, f.denominator


def tiff_compression(like: LoadedImage) -> tuple[str, str | None]:
    """The compression a TIFF output of ``like`` is written with, and a note when the input's is not kept.

    The input's own, for a TIFF (LZW stays LZW, PackBits stays PackBits, uncompressed stays uncompressed),
    so that a user's archive settings survive; Deflate for anything else. LZW and PackBits are encoded
    by libtiff through Pillow; without libtiff they become Deflate, with a note.
    """
    if like.format != "TIFF":
        return "deflate", None
    given = str(like.extra.get("compression") or "raw")
    kept = _TIFF_KEPT.get(given)
    if kept is None:
        return "deflate", f"TIFF {given} compression not kept: written with Deflate (lossless)"
    if kept in ("lzw", "packbits") and not _libtiff():
        return "deflate", f"TIFF {kept} compression needs Pillow with libtiff; written with Deflate"
    return kept, None


@functools.cache
def _libtiff() -> bool:
    return bool(features.check("libtiff"))


def _tiff_strips(data: np.ndarray, compression: str) -> tuple[int, list[bytes]]:
    """(rows per strip, compressed strips) of ``data``, the file's bytes as H × row-bytes.

    LZW and PackBits work on bytes, row by row for PackBits, so libtiff (through Pillow) compresses the
    rows as an 8-bit grey picture of the same bytes, whatever the real depth and channels, and the
    strips are lifted out of that file into ours, which carries the real layout and the EXIF tags.
    """
    h, row_bytes = data.shape
    if compression in ("lzw", "packbits"):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(data), mode="L").save(
            buf, format="TIFF", compression="tiff_lzw" if compression == "lzw" else "packbits"
        )
        blob = buf.getvalue()
        with Image.open(io.BytesIO(blob)) as made:
            tags = made.tag_v2
            offsets, counts = tags[273], tags[279]
            rows = int(tags.get(278, h))
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        return min(rows, h), [blob[o : o + n] for o, n in zip(offsets, counts, strict=True)]
    rows = max(1, min(h, (1 << 18) // max(1, row_bytes)))  # ~256 KiB strips
    if compression == "none":
        return rows, [data[y : y + rows].tobytes() for y in range(0, h, rows)]
    return rows, [zlib.compress(data[y : y + rows].tobytes(), 6) for y in range(0, h, rows)]


def _metadata_entries(like: LoadedImage, exif: bytes | None, e: str) -> Ifd:
    """IFD0 entries carried from the input: its EXIF tags (layout tags left out), DPI, ICC and XMP."""
    parsed = exif_ifd0(exif) if exif else None
    entries: Ifd = {}
    if parsed:
        entries.update({t: v for t, v in parsed[1].items() if t not in TIFF_LAYOUT_TAGS | _TIFF_SEPARATE_TAGS})
    dpi = like.extra.get("dpi")
    if dpi and 282 not in entries:
        entries[282] = entry(e, 5, (_rational(dpi[0]),))
        entries[283] = entry(e, 5, (_rational(dpi[1]),))
        entries[296] = entry(e, 3, (2,))
    if like.icc_profile:
        entries[34675] = entry(e, 7, like.icc_profile)
    if like.xmp:
        entries[700] = entry(e, 1, like.xmp)
    return entries


def photoshop_entries(stream: bytes) -> Ifd:
    """A JPEG's Photoshop resources (APP13, thumbnails already out) as TIFF keeps them: the IPTC records
    (resource 0x0404) in IPTC-NAA (33723), where IPTC readers look in a TIFF and where a TIFF input's IPTC
    comes from, and the whole resource block in Photoshop's own tag (34377), as Photoshop saves a TIFF."""
    if not stream:
        return {}
    entries: Ifd = {34377: entry("<", 1, stream)}
    iptc = iptc_records(stream)
    if iptc:
        entries[33723] = entry("<", 7, iptc)
    return entries


#: PNG text keywords (PNG spec, 11.3.4.2) that mean what a TIFF tag means, and that tag: written there for a
#: PNG input's TIFF output. Title (a caption), Creation Time (free-form, not TIFF's date format), Source
#: (a device, where TIFF has Make and Model apart) and the rest have no exact TIFF tag, and are named in a note.
PNG_TEXT_TAGS = {"Description": 270, "Author": 315, "Copyright": 33432, "Software": 305}


def _ascii(value: str) -> bytes:
    """A TIFF ASCII value: UTF-8 (as ExifTool writes one that is not plain ASCII, and as the Metadata Working
    Group asks readers to take one), NUL-terminated. Readers that decode these tags as Latin-1 (Pillow) show
    such text garbled; formats.md says so."""
    return value.encode("utf-8") + b"\x00"


def text_entries(text: dict[str, Any], exif: bytes | None) -> tuple[Ifd, list[str], list[str]]:
    """(IFD0 entries for the PNG text that a TIFF tag holds (:data:`PNG_TEXT_TAGS`), the keywords that no TIFF tag
    holds, notes for those the EXIF contradicts).

    A text whose tag the EXIF already holds with another value is not written (the EXIF is copied as it was), and
    its note says so: ``PNG text (Author) differs from the EXIF's Artist; the EXIF's value kept``. The same value
    is simply there once.
    """
    parsed = exif_ifd0(exif) if exif else None
    held = parsed[1] if parsed else {}
    entries: Ifd = {}
    rest: list[str] = []
    notes: list[str] = []
    for key, value in text.items():
        tag = PNG_TEXT_TAGS.get(str(key))
        if tag is None or not str(value):
            rest.append(str(key))
            continue
        raw = _ascii(str(value))
        if tag in held and held[tag][2].rstrip(b"\x00") != raw.rstrip(b"\x00"):
            notes.append(f"PNG text ({key}) differs from the EXIF's {ExifTags.TAGS[tag]}; the EXIF's value kept")
            continue
        entries[tag] = entry("<", 2, raw)
    return entries, rest, notes


def _layout_entries(e: str, shape: tuple[int, ...], bits: int, compression: str, strips: list[bytes],
                    rows: int, first: int, big: bool) -> Ifd:  # fmt: skip
    """The IFD0 entries that describe our strips (the first at byte ``first``): size, depth, compression,
    photometric, strip table (LONG8 in a BigTIFF, as libtiff writes it, so strips can lie past 4 GB)."""
    h, w, c = shape
    offsets, pos = [], first
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    table = 16 if big else 4
    entries: Ifd = {
        256: entry(e, 4, (w,)), 257: entry(e, 4, (h,)), 258: entry(e, 3, (bits,) * c),
        259: entry(e, 3, (_TIFF_CODES[compression],)), 262: entry(e, 3, (1 if c <= 2 else 2,)),
        273: entry(e, table, tuple(offsets)), 277: entry(e, 3, (c,)), 278: entry(e, 4, (rows,)),
        279: entry(e, table, tuple(len(s) for s in strips)), 284: entry(e, 3, (1,)),
    }  # fmt: skip
    if compression in ("deflate", "lzw"):
        entries[317] = entry(e, 3, (2,))
    if c in (2, 4):
        entries[338] = entry(e, 3, (2,))  # unassociated alpha: we never premultiply
    return entries


def _value_bytes(entries: Ifd) -> int:
    """The bytes of every value in ``entries``, sub-IFDs' too: what metadata adds to a file, less its entries."""
    return sum(_value_bytes(v) if isinstance(v, dict) else len(v) for _typ, _count, v in entries.values())


def encode_tiff(
    arr: np.ndarray,
    like: LoadedImage,
    exif: bytes | None,
    compression: str = "deflate",
    *,
    extra: Ifd | None = None,
    big: bool | None = None,
) -> bytes:
    """TIFF (8 or 16 bit, grey/RGB, ± alpha) carrying EXIF IFD0 tags and sub-IFDs entry by entry.

    A classic TIFF uses the EXIF blob's byte order so raw entries are copied without re-encoding values; a
    BigTIFF is always little-endian, its values converted (:func:`~weatherclean.io.images.exif.swap_ifd`), since
    Pillow (and so weatherclean) cannot read a big-endian one back. Layout: header, strips, then IFD0 with its
    values and the Exif/GPS sub-IFDs. ``compression`` is ``deflate``, ``lzw`` (both with horizontal prediction),
    ``packbits`` or ``none``. ``extra``: IFD0 entries the input held outside its EXIF (a JPEG's IPTC, a PNG's
    text), each written where the EXIF has none of its tag (their values are bytes, the same in either byte
    order). ``big``: BigTIFF; by default when the input was (``like.extra["bigtiff"]``) or when the file would
    not fit classic TIFF's 4 GB.
    """
    h, w, c = arr.shape
    parsed = exif_ifd0(exif) if exif else None
    e = parsed[0] if parsed else "<"
    entries = _metadata_entries(like, exif, e)
    for tag, value in (extra or {}).items():
        entries.setdefault(tag, value)
    predict = compression in ("deflate", "lzw")
    diff = arr.copy() if predict else arr
    if predict:
        diff[:, 1:] -= arr[:, :-1]  # horizontal predictor (TIFF Predictor=2): unsigned wrap-around is intended
    itemsize = 2 if arr.dtype == np.uint16 else 1

    def strips_in(order: str) -> tuple[int, list[bytes]]:
        data = diff.astype(order + ("u2" if itemsize == 2 else "u1"), copy=False)
        return _tiff_strips(np.ascontiguousarray(data).view(np.uint8).reshape(h, w * c * itemsize), compression)

    auto = big is None
    big = bool(like.extra.get("bigtiff")) if big is None else big
    if big:
        entries, e = swap_ifd(entries, e, "<"), "<"
    rows, strips = strips_in(e)
    size = sum(len(s) for s in strips)
    if auto and not big and size + _value_bytes(entries) > _CLASSIC_MAX - _NEAR_LIMIT:
        # near classic TIFF's limit, image data or metadata (a huge maker note or Photoshop block): measure it all
        probe = {**entries, **_layout_entries(e, arr.shape, 8, compression, strips, rows, 0, True)}
        big = 8 + size + 1 + len(serialise_ifd(probe, e, 0)) > _CLASSIC_MAX
        if big and e == ">":  # little-endian after all; 8-bit strips are the same bytes in either order
            entries, e = swap_ifd(entries, e, "<"), "<"
            if itemsize == 2:
                strips = []  # let the big-endian strips go before the little-endian ones are made: not both at once
                rows, strips = strips_in(e)
    first = 16 if big else 8
    pos = first + sum(len(s) for s in strips)
    ifd_offset = pos + (pos & 1)
    ifd = {**entries, **_layout_entries(e, arr.shape, itemsize * 8, compression, strips, rows, first, big)}
    if big:
        header = b"II+\x00" + struct.pack("<HHQ", 8, 0, ifd_offset)
    else:
        header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", ifd_offset)
    pad = b"\x00" * (ifd_offset - pos)
    return header + b"".join(strips) + pad + serialise_ifd(ifd, e, ifd_offset, big=big)
