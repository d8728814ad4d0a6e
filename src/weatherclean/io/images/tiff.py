"""Our own TIFF reading and writing, for what Pillow's TIFF support loses.

TIFF output always goes through :func:`encode_tiff` so that EXIF sub-IFDs (Exif, GPS) are copied entry by
entry with their original types and values, which neither Pillow's nor libtiff's TIFF writer does; its
16-bit grey+alpha files, which Pillow cannot open, are read back by :func:`read_tiff_grey_alpha16`. A
TIFF's metadata is read raw from its first IFD (:func:`tiff_metadata`), and pixels are kept as stored
(:func:`~weatherclean.io.orientation.to_stored`), like every other format.
"""

from __future__ import annotations

import functools
import io
import mmap
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, features

from weatherclean.errors import InputError
from weatherclean.io.images.exif import Ifd, entry, exif_blob, exif_ifd0, parse_ifd, serialise_ifd, tiff_head
from weatherclean.io.images.records import LoadedImage

__all__ = [
    "TIFF_LAYOUT_TAGS",
    "encode_tiff",
    "read_tiff_grey_alpha16",
    "tiff_compression",
    "tiff_metadata",
]

#: IFD0 tags that describe pixel layout/encoding: our TIFF writer sets its own, and they mean nothing
#: (or something wrong) once copied into another file's EXIF.
TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289,
     290, 291, 292, 293, 297, 317, 320, 321, 322, 323, 324, 325, 330, 332, 333, 334, 336, 338, 339, 340,
     341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 532}
)  # fmt: skip
#: Carried in their own fields (ICC, XMP) or deliberately dropped (Photoshop resources hold a preview
#: of the original; layer data no longer matches the processed pixels).
_TIFF_SEPARATE_TAGS = frozenset({700, 34675})
_PHOTOSHOP_TAGS = frozenset({34377, 37724})
#: TIFF compressions kept from the input (Pillow's name → our writer's), and each one's TIFF code. Others
#: (JPEG-in-TIFF, CCITT fax) are written with Deflate, with a note; files from other formats get Deflate.
_TIFF_KEPT = {"raw": "none", "tiff_lzw": "lzw", "packbits": "packbits", "tiff_adobe_deflate": "deflate",
              "tiff_deflate": "deflate"}  # fmt: skip
_TIFF_CODES = {"none": 1, "lzw": 5, "deflate": 8, "packbits": 32773}


# --------------------------------------------------------------------------------------------- reading


def tiff_metadata(path: Path, notes: list[str]) -> tuple[bytes | None, bytes | None, bytes | None, int]:
    """(EXIF, ICC, XMP, orientation) of a TIFF's first IFD, copied raw so every tag keeps type and bytes."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        head = tiff_head(bytes(buf[:8]))
        if head is None:
            return None, None, None, 1
        ifd0 = parse_ifd(buf, *head)
    e = head[0]
    icc = ifd0[34675][2] if 34675 in ifd0 else None
    xmp = ifd0[700][2] if 700 in ifd0 else None
    orientation = 1
    if 274 in ifd0 and ifd0[274][0] == 3 and ifd0[274][1] == 1:
        (orientation,) = struct.unpack(e + "H", ifd0[274][2])
    if any(t in ifd0 for t in _PHOTOSHOP_TAGS):
        notes.append("Photoshop data (layers, resources) not kept; only the flattened image is processed")
    keep = {t: v for t, v in ifd0.items() if t not in TIFF_LAYOUT_TAGS | _TIFF_SEPARATE_TAGS | _PHOTOSHOP_TAGS}
    return exif_blob(e, keep), icc or None, xmp or None, orientation


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
        head = tiff_head(bytes(buf[:8]))
        if head is None:
            return None
        e = head[0]
        ifd = parse_ifd(buf, *head)
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


def _layout_entries(e: str, shape: tuple[int, ...], bits: int, compression: str, strips: list[bytes],
                    rows: int) -> Ifd:  # fmt: skip
    """The IFD0 entries that describe our strips: size, depth, compression, photometric, strip table."""
    h, w, c = shape
    offsets, pos = [], 8
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    entries: Ifd = {
        256: entry(e, 4, (w,)), 257: entry(e, 4, (h,)), 258: entry(e, 3, (bits,) * c),
        259: entry(e, 3, (_TIFF_CODES[compression],)), 262: entry(e, 3, (1 if c <= 2 else 2,)),
        273: entry(e, 4, tuple(offsets)), 277: entry(e, 3, (c,)), 278: entry(e, 4, (rows,)),
        279: entry(e, 4, tuple(len(s) for s in strips)), 284: entry(e, 3, (1,)),
    }  # fmt: skip
    if compression in ("deflate", "lzw"):
        entries[317] = entry(e, 3, (2,))
    if c in (2, 4):
        entries[338] = entry(e, 3, (2,))  # unassociated alpha: we never premultiply
    return entries


def encode_tiff(arr: np.ndarray, like: LoadedImage, exif: bytes | None, compression: str = "deflate") -> bytes:
    """TIFF (8 or 16 bit, grey/RGB, ± alpha) carrying EXIF IFD0 tags and sub-IFDs entry by entry.

    The file uses the EXIF blob's byte order so raw entries can be copied without re-encoding values.
    Layout: header, strips, then IFD0 with its values and the Exif/GPS sub-IFDs. ``compression`` is
    ``deflate``, ``lzw`` (both with horizontal prediction), ``packbits`` or ``none``.
    """
    h, w, c = arr.shape
    parsed = exif_ifd0(exif) if exif else None
    e = parsed[0] if parsed else "<"
    predict = compression in ("deflate", "lzw")
    diff = arr.copy() if predict else arr
    if predict:
        diff[:, 1:] -= arr[:, :-1]  # horizontal predictor (TIFF Predictor=2): unsigned wrap-around is intended
    data = diff.astype(e + ("u2" if arr.dtype == np.uint16 else "u1"), copy=False)
    row_bytes = w * c * data.itemsize
    rows, strips = _tiff_strips(np.ascontiguousarray(data).view(np.uint8).reshape(h, row_bytes), compression)
    pos = 8 + sum(len(s) for s in strips)
    ifd_offset = pos + (pos & 1)
    entries = _metadata_entries(like, exif, e)
    entries.update(_layout_entries(e, arr.shape, data.itemsize * 8, compression, strips, rows))
    header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", ifd_offset)
    return header + b"".join(strips) + b"\x00" * (ifd_offset - pos) + serialise_ifd(entries, e, ifd_offset)
