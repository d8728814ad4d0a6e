"""EXIF as bytes: its IFDs copied entry by entry, and a thumbnail that shows the output, not the input.

EXIF is a little TIFF file. To carry it into TIFF output (and out of TIFF input) we copy IFD entries
as raw (type, count, bytes) triples in the source byte order, so every value keeps its exact type
and bytes; only offsets change. Pillow's tag tables lack types for many EXIF tags (MakerNote became
BYTE, rationals were reduced), which is why this is not done with ImageFileDirectory_v2.

The EXIF thumbnail still shows the snowy original after restoration, so it is rebuilt from the output
(JPEG, PNG, WebP) or removed, always without moving any other byte: maker notes use absolute offsets.
The one exception is EXIF too big for a JPEG (:func:`fit_jpeg_exif`), rebuilt without its largest values.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import ExifTags, Image

from weatherclean.io.images.formats import size_text

__all__ = [
    "EXIF_POINTER",
    "EXIF_PREFIX",
    "INTEROP_IFD",
    "Ifd",
    "entry",
    "exif_blob",
    "exif_for_output",
    "fit_jpeg_exif",
    "exif_ifd0",
    "parse_ifd",
    "serialise_ifd",
    "strip_exif_thumbnail",
    "sub_ifd",
    "swap_ifd",
    "tiff_head",
    "tiff_part",
]

EXIF_PREFIX = b"Exif\x00\x00"
#: A JPEG APP1 segment holds at most this many bytes after its length field.
_JPEG_MAX_APP1 = 65533
_THUMB_NOTE = "EXIF thumbnail removed (it showed the original)"
_THUMB_TOO_BIG_NOTE = (
    "EXIF thumbnail removed (it showed the original): with a new one the EXIF block would be over JPEG's 64 KB limit"
)
#: Thumbnails tried in turn, (longest side, JPEG quality): the first whose EXIF block fits is used.
_THUMB_TRIES = ((160, 80), (160, 50), (160, 25), (120, 25), (80, 20), (48, 15))
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
#: The pointer tags of the Exif sub-IFD (in IFD0), the GPS one (in IFD0) and the Interoperability one (in the Exif
#: sub-IFD).
EXIF_POINTER, _GPS_IFD, INTEROP_IFD = 34665, 34853, 40965
_SUB_IFD_TAGS = frozenset({EXIF_POINTER, _GPS_IFD, INTEROP_IFD})

#: One IFD: tag → (type, count, value bytes) or, for a sub-IFD pointer, (type, 1, nested IFD).
Ifd = dict[int, tuple[int, int, Any]]


def sub_ifd(ifd: Ifd, tag: int) -> Ifd:
    """The sub-IFD that pointer ``tag`` of a parsed ``ifd`` (:func:`parse_ifd`) leads to, or an empty one where the
    tag is missing or its value was not parsed as an IFD (a damaged pointer): callers look tags up in it alike."""
    pointer = ifd.get(tag)
    return pointer[2] if pointer is not None and isinstance(pointer[2], dict) else {}


#: BigTIFF's 8-byte types (LONG8, SLONG8, IFD8) → the classic type that holds the same value when it fits 32 bits.
_BIG_TYPES = {16: (4, "Q", "I"), 17: (9, "q", "i"), 18: (13, "Q", "I")}


def _classic(e: str, typ: int, count: int, payload: bytes) -> tuple[int, bytes] | None:
    """A BigTIFF value as a classic TIFF one: LONG8/SLONG8/IFD8 as LONG/SLONG/IFD when every value fits 32 bits
    (None when one does not), anything else as it was. The parsed IFD then carries into classic TIFF, EXIF and
    BigTIFF alike, and the readers of layout tags (strip offsets) need to know one set of types."""
    if typ not in _BIG_TYPES:
        return typ, payload
    classic, wide, narrow = _BIG_TYPES[typ]
    values = struct.unpack(e + wide * count, payload)
    try:
        return classic, struct.pack(e + narrow * count, *values)
    except struct.error:
        return None


def parse_ifd(
    buf: Any,
    e: str,
    offset: int,
    depth: int = 0,
    *,
    big: bool = False,
    dropped: list[tuple[int, int]] | None = None,
    where: int = 0,
) -> Ifd:
    """Read an IFD from ``buf`` (bytes or mmap) as raw entries; corrupt entries are skipped, not fatal.

    ``big``: a BigTIFF's IFD (8-byte counts and offsets, 20-byte entries); its 8-byte integer values come back
    as the classic types when they fit (:func:`_classic`), so what is parsed can be written as classic TIFF or
    EXIF, which have no such types. A value that does not fit is left out, and ``dropped`` (when given) gets
    ``(where, tag)`` so the caller can say so; ``where`` is the pointer tag of this IFD (0 for IFD0). Sub-IFD
    pointers (Exif, GPS, Interoperability) are followed first: libtiff writes them as LONG8 or IFD8 after the
    image data, so past 4 GB in a big file, and narrowing them first lost those directories without a word.
    Such a pointer comes back as LONG, the type the EXIF standard gives it (an IFD8 became IFD, type 13, in the
    EXIF of a JPEG, PNG or WebP output); a classic TIFF's IFD-typed pointer stays IFD, as it was.
    """
    entries: Ifd = {}
    count_size, entry_size, inline, off_code = (8, 20, 8, "Q") if big else (2, 12, 4, "I")
    if offset < 8 or offset + count_size > len(buf):
        return entries
    (n,) = struct.unpack_from(e + ("Q" if big else "H"), buf, offset)
    if n > 4096 or offset + count_size + entry_size * n > len(buf):
        return entries
    for i in range(n):
        pos = offset + count_size + entry_size * i
        tag, typ = struct.unpack_from(e + "HH", buf, pos)
        (count,) = struct.unpack_from(e + off_code, buf, pos + 4)
        value_at = pos + 4 + inline
        size = _TYPE_SIZES.get(typ) or (8 if big and typ in _BIG_TYPES else None)
        if size is None:
            continue
        if tag in _SUB_IFD_TAGS and count == 1 and typ in (4, 13, 16, 18):
            if depth < 3:  # the pointer is inline (one value); kept as LONG, or as IFD where it was one
                (sub,) = struct.unpack_from(e + ("Q" if size == 8 else "I"), buf, value_at)
                nested = parse_ifd(buf, e, sub, depth + 1, big=big, dropped=dropped, where=tag)
                entries[tag] = (13 if typ == 13 else 4, 1, nested)  # IFD8 → LONG, the type EXIF gives it
            continue
        nbytes = size * count
        if nbytes <= inline:
            payload = bytes(buf[value_at : value_at + nbytes])
        else:
            (off,) = struct.unpack_from(e + off_code, buf, value_at)
            if off + nbytes > len(buf):
                continue
            payload = bytes(buf[off : off + nbytes])
        classic = _classic(e, typ, count, payload)
        if classic is None:
            if dropped is not None:
                dropped.append((where, tag))
            continue
        entries[tag] = (classic[0], count, classic[1])
    return entries


def serialise_ifd(entries: Ifd, e: str, offset: int, next_ifd: int = 0, *, big: bool = False) -> bytes:
    """An IFD placed at ``offset`` followed by its out-of-line values and sub-IFDs (word aligned).

    ``big``: as a BigTIFF's IFD, its sub-IFDs too (8-byte counts and offsets). A sub-IFD pointer keeps its
    LONG or IFD type while the offset fits 32 bits, and is LONG8 beyond: Pillow reads no IFD8, which libtiff
    writes. Values keep their types: a strip table that needs 8-byte offsets comes as LONG8.
    """
    count_code, off_code, inline = ("Q", "Q", 8) if big else ("H", "I", 4)
    tags = sorted(entries)
    base = offset + (8 + 20 * len(tags) if big else 2 + 12 * len(tags)) + inline
    head = bytearray(struct.pack(e + count_code, len(tags)))
    aux = bytearray()
    for tag in tags:
        typ, count, payload = entries[tag]
        if isinstance(payload, dict):
            aux += b"\x00" * (len(aux) % 2)
            sub_offset = base + len(aux)
            aux += serialise_ifd(payload, e, sub_offset, big=big)
            if big and sub_offset > 0xFFFFFFFF:
                typ = 16  # LONG8: what every BigTIFF reader takes for a far pointer (Pillow knows no IFD8)
            elif big:
                typ = typ if typ in (4, 13) else 4
            head += struct.pack(e + "HH" + off_code, tag, typ, 1) + struct.pack(e + off_code, sub_offset)
        elif len(payload) <= inline:
            head += struct.pack(e + "HH" + off_code, tag, typ, count) + payload.ljust(inline, b"\x00")
        else:
            aux += b"\x00" * (len(aux) % 2)
            head += struct.pack(e + "HH" + off_code, tag, typ, count) + struct.pack(e + off_code, base + len(aux))
            aux += payload
    head += struct.pack(e + off_code, next_ifd)
    return bytes(head + aux)


def entry(e: str, typ: int, values: tuple[Any, ...] | bytes) -> tuple[int, int, bytes]:
    """Pack values as a raw IFD entry: SHORT/LONG/LONG8 ints, RATIONAL (num, den) pairs, BYTE/UNDEFINED bytes."""
    if isinstance(values, bytes):
        return typ, len(values), values
    if typ == 5:
        return typ, len(values), b"".join(struct.pack(e + "II", n, d) for n, d in values)
    code = {3: "H", 16: "Q"}.get(typ, "I")
    return typ, len(values), struct.pack(e + code * len(values), *values)


#: Each type's value layout for a byte-order change (struct code of one unit; sign does not matter to a swap):
#: rationals are two LONGs, FLOAT and DOUBLE are swapped as 4- and 8-byte units. BYTE, ASCII, SBYTE and
#: UNDEFINED (a maker note, an ICC profile) are bytes and stay as they are.
_SWAP_UNITS = {3: "H", 8: "H", 4: "I", 9: "I", 13: "I", 5: "I", 10: "I", 11: "I", 12: "Q", 16: "Q", 17: "Q", 18: "Q"}
#: IFD0 tags whose value is a byte stream whatever type it is declared with, copied as it is by :func:`swap_ifd`:
#: IPTC-NAA (Photoshop writes it as LONG, and every IPTC reader takes its bytes), Photoshop's resources and
#: layers, XMP and the ICC profile. Swapped as LONGs, a Mac Photoshop TIFF's IPTC came out scrambled.
_BYTE_STREAM_TAGS = frozenset({33723, 34377, 37724, 700, 34675})
#: UNDEFINED Exif-IFD values with a fixed layout that starts with two SHORTs (columns, rows) in the file's byte
#: order: CFAPattern, OECF, SpatialFrequencyResponse, DeviceSettingDescription (:func:`_swap_structure`).
_EXIF_STRUCTURES = frozenset({0xA302, 0x8828, 0xA20C, 0xA40B})


def swap_ifd(entries: Ifd, src: str, dst: str) -> Ifd:
    """``entries`` (sub-IFDs too) with their values in byte order ``dst`` instead of ``src``.

    For a BigTIFF written from big-endian EXIF: Pillow reads no big-endian BigTIFF (nor, through it, does
    weatherclean), so such a file is written little-endian with every number converted. What is converted: every
    numeric value by its type; the byte streams of :data:`_BYTE_STREAM_TAGS` (IPTC-NAA typed LONG too) not at all;
    and the Exif fields whose layout the standard fixes (:data:`_EXIF_STRUCTURES`) field by field, where their
    length matches that layout (else as they are). Every other UNDEFINED value is copied byte for byte: a maker
    note whose vendor format follows the file's byte order (many do; some carry their own) may then be misread, as
    when one is copied at new offsets (see formats.md)."""
    if src == dst:
        return entries
    return _swap(entries, src, dst, 0)


def _swap(entries: Ifd, src: str, dst: str, where: int) -> Ifd:
    """:func:`swap_ifd` of the IFD that pointer tag ``where`` leads to (0: IFD0)."""
    out: Ifd = {}
    for tag, (typ, count, payload) in entries.items():
        if isinstance(payload, dict):
            out[tag] = (typ, count, _swap(payload, src, dst, tag))
            continue
        if where == 0 and tag in _BYTE_STREAM_TAGS:
            pass
        elif where == EXIF_POINTER and typ == 7 and tag in _EXIF_STRUCTURES:
            payload = _swap_structure(tag, payload, src, dst) or payload
        elif (unit := _SWAP_UNITS.get(typ)) is not None:
            payload = _swap_units(payload, src, dst, unit)
        out[tag] = (typ, count, payload)
    return out


def _swap_units(payload: bytes, src: str, dst: str, unit: str) -> bytes:
    """``payload`` read as whole ``unit`` values in ``src`` order, written in ``dst`` (a ragged tail as it was)."""
    n = len(payload) // struct.calcsize(unit)
    done = n * struct.calcsize(unit)
    return struct.pack(dst + unit * n, *struct.unpack_from(src + unit * n, payload)) + payload[done:]


def _swap_structure(tag: int, payload: bytes, src: str, dst: str) -> bytes | None:
    """A fixed-layout Exif value (as Exif 2.32 lays it out) in byte order ``dst``; None when ``payload`` does not
    have that layout exactly in byte order ``src`` (the caller then copies it as it is: converting what we cannot
    parse would only scramble it).

    All four start with two SHORTs, columns and rows. CFAPattern: columns × rows bytes. OECF and
    SpatialFrequencyResponse: ``columns`` NUL-terminated ASCII names, then columns × rows (S)RATIONALs.
    DeviceSettingDescription: NUL-terminated UCS-2 strings, in the file's byte order as the rest.
    """
    if len(payload) < 4:
        return None
    cols, rows = struct.unpack_from(src + "HH", payload)
    head, body = struct.pack(dst + "HH", cols, rows), payload[4:]
    if tag == 0xA302:
        return head + body if len(body) == cols * rows else None
    if tag == 0xA40B:
        return head + _swap_units(body, src, dst, "H") if body and len(body) % 2 == 0 and body[-2:] == b"\0\0" else None
    names_end = 0
    for _ in range(cols):
        nul = body.find(b"\x00", names_end)
        if nul < 0:
            return None
        names_end = nul + 1
    values = body[names_end:]
    if len(values) != 8 * cols * rows:
        return None
    return head + body[:names_end] + _swap_units(values, src, dst, "I")


def tiff_head(blob: bytes) -> tuple[str, int] | None:
    """Byte order and IFD0 offset of a TIFF structure (EXIF without its ``Exif\\0\\0`` prefix)."""
    if blob[:4] == b"II*\x00":
        e = "<"
    elif blob[:4] == b"MM\x00*":
        e = ">"
    else:
        return None
    (ifd0,) = struct.unpack_from(e + "I", blob, 4)
    return e, ifd0


def tiff_part(exif: bytes) -> bytes:
    """The TIFF structure inside an EXIF blob, without the ``Exif\\0\\0`` marker JPEG puts before it."""
    return exif[len(EXIF_PREFIX) :] if exif.startswith(EXIF_PREFIX) else exif


def exif_ifd0(exif: bytes) -> tuple[str, Ifd] | None:
    """Byte order and raw IFD0 entries of an EXIF blob, or None when it is not a TIFF structure."""
    tiff = tiff_part(exif)
    head = tiff_head(tiff)
    if head is None:
        return None
    return head[0], parse_ifd(tiff, head[0], head[1])


def exif_blob(e: str, ifd0: Ifd) -> bytes | None:
    """A standalone EXIF blob (with ``Exif\\0\\0``) from raw IFD0 entries, e.g. those of a TIFF file."""
    if not ifd0:
        return None
    header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", 8)
    return EXIF_PREFIX + header + serialise_ifd(ifd0, e, 8)


# ----------------------------------------------------------------------------------- EXIF thumbnail


def _ifd0_link(t: bytes | bytearray) -> tuple[str, int, int] | None:
    """(byte order, position of IFD0's next-IFD pointer, IFD1 offset) of a TIFF structure, or None."""
    try:
        head = tiff_head(bytes(t[:8]))
        if head is None:
            return None
        e, ifd0 = head
        (n0,) = struct.unpack_from(e + "H", t, ifd0)
        link = ifd0 + 2 + 12 * n0
        (ifd1,) = struct.unpack_from(e + "I", t, link)
    except struct.error:
        return None
    return e, link, ifd1


def _ifd1_ranges(t: bytearray, e: str, ifd1: int) -> list[tuple[int, int]]:
    """The byte ranges IFD1 occupies: the directory, its out-of-line values and the thumbnail."""
    (n1,) = struct.unpack_from(e + "H", t, ifd1)
    ranges = [(ifd1, ifd1 + 2 + 12 * n1 + 4)]
    thumb_off = thumb_len = None
    for i in range(n1):
        pos = ifd1 + 2 + 12 * i
        tag, typ, count = struct.unpack_from(e + "HHI", t, pos)
        nbytes = _TYPE_SIZES.get(typ, 1) * count
        if nbytes > 4:
            (off,) = struct.unpack_from(e + "I", t, pos + 8)
            ranges.append((off, off + nbytes))
        if tag == 0x0201:
            thumb_off = struct.unpack_from(e + "I", t, pos + 8)[0]
        elif tag == 0x0202:
            thumb_len = struct.unpack_from(e + "I", t, pos + 8)[0]
    if thumb_off is not None and thumb_len is not None:
        ranges.append((thumb_off, thumb_off + thumb_len))
    return ranges


def strip_exif_thumbnail(exif: bytes) -> bytes:
    """Remove the IFD1 thumbnail from an EXIF blob in place, leaving every other byte where it was.

    Re-serialising EXIF (e.g. with piexif) would move data and break maker notes that use absolute
    offsets, so we only cut the link to IFD1, zero IFD1 and the thumbnail, and drop them when they
    are the tail of the blob (the usual layout). If IFD1 itself is damaged only the link is cut, so a
    viewer still cannot find the stale picture. Unparseable EXIF is returned unchanged.
    """
    prefix = EXIF_PREFIX if exif.startswith(EXIF_PREFIX) else b""
    t = bytearray(exif[len(prefix) :])
    found = _ifd0_link(t)
    if found is None or found[2] == 0:
        return exif
    e, link, ifd1 = found
    struct.pack_into(e + "I", t, link, 0)
    try:
        ranges = _ifd1_ranges(t, e, ifd1)
    except struct.error:
        return prefix + bytes(t)
    if any(a < 8 or b > len(t) or a > b for a, b in ranges):
        return prefix + bytes(t)
    for a, b in ranges:
        t[a:b] = bytes(b - a)
    end = len(t)
    merged = sorted(ranges)
    changed = True
    while changed:  # drop the tail that consists only of removed bytes
        changed = False
        for a, b in merged:
            if a < end <= b:
                end = a
                changed = True
    return prefix + bytes(t[:end])


def _has_thumbnail(exif: bytes) -> bool:
    found = _ifd0_link(tiff_part(exif))
    return found is not None and found[2] != 0


def _thumbnail_of(arr: np.ndarray) -> Image.Image:
    """An RGB picture of ``arr`` (H×W×C, 8 or 16 bits, C = 1..4) at most 160 px a side, as a viewer shows it:
    transparent areas flattened onto white, as the JPEG output is, not the colour hidden under them (often
    junk, or what a cut-out removed). Scaled before flattening: Pillow weighs RGBA by alpha when resizing."""
    a8 = (arr >> 8).astype(np.uint8) if arr.dtype == np.uint16 else arr
    im = Image.fromarray(np.ascontiguousarray(a8[..., 0] if a8.shape[2] == 1 else a8))  # L, LA, RGB or RGBA
    im.thumbnail((160, 160), reducing_gap=2.0)
    if im.mode in ("LA", "RGBA"):
        im = im.convert("RGBA")
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im.convert("RGB")


def _thumbnails(arr: np.ndarray) -> Iterator[bytes]:
    """JPEG thumbnails of the output (as stored, like the main image; the orientation tag covers both), best
    first: ~160 px at quality 80, then smaller files, for EXIF blocks that leave little room in a JPEG APP1."""
    full = _thumbnail_of(arr)
    for side, quality in _THUMB_TRIES:
        im = full if side == 160 else full.copy()
        im.thumbnail((side, side))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        yield buf.getvalue()


def _refresh_exif_thumbnail(exif: bytes, thumb: bytes) -> bytes | None:
    """Replace the thumbnail without moving any other byte: strip it, then append a new IFD1 + JPEG.

    Appending (instead of re-serialising) keeps maker notes and every offset valid. None when the old
    thumbnail could not be cleanly removed.
    """
    stripped = strip_exif_thumbnail(exif)
    prefix = EXIF_PREFIX if stripped.startswith(EXIF_PREFIX) else b""
    t = bytearray(stripped[len(prefix) :])
    found = _ifd0_link(t)
    if found is None or found[2] != 0:
        return None
    e, link, _ = found
    t += b"\x00" * (len(t) % 2)
    ifd1 = len(t)
    entries: Ifd = {
        0x0103: entry(e, 3, (6,)),  # Compression: JPEG
        0x011A: entry(e, 5, ((72, 1),)),
        0x011B: entry(e, 5, ((72, 1),)),
        0x0128: entry(e, 3, (2,)),  # inches
        0x0201: entry(e, 4, (0,)),
        0x0202: entry(e, 4, (len(thumb),)),
    }
    entries[0x0201] = entry(e, 4, (ifd1 + len(serialise_ifd(entries, e, ifd1)),))
    struct.pack_into(e + "I", t, link, ifd1)
    return prefix + bytes(t) + serialise_ifd(entries, e, ifd1) + thumb


def exif_for_output(exif: bytes | None, fmt: str, arr: np.ndarray) -> tuple[bytes | None, list[str]]:
    """The input EXIF with a thumbnail of the output (JPEG/PNG/WebP), or without one (other formats).

    JPEG holds EXIF in one 64 KB APP1 segment. A block over it even without its thumbnail (a raw converter's
    maker note) is fitted first (:func:`fit_jpeg_exif`), and the thumbnail is then made for what is left. A
    block with a large maker note may have fitted with the camera's tiny thumbnail and not with ours, so
    smaller thumbnails are tried before none; when none fits, the note says that this is why, not that the
    old one showed the original (which any thumbnail fixes).
    """
    if not exif:
        return exif, []
    exif = _dimensions_as_written(exif, arr.shape[1], arr.shape[0])
    notes: list[str] = []
    thumbnail = _has_thumbnail(exif)
    if fmt == "JPEG" and not _fits_jpeg(strip_exif_thumbnail(exif) if thumbnail else exif):
        exif, dropped = fit_jpeg_exif(exif)  # rebuilt from IFD0: the thumbnail is gone
        notes.append(dropped)
        if exif is None or not thumbnail:
            return exif, notes
    return _with_thumbnail(exif, fmt, arr, thumbnail, notes)


def _dimensions_as_written(exif: bytes, width: int, height: int) -> bytes:
    """``exif`` with its PixelXDimension and PixelYDimension swapped where they give the picture turned a quarter
    (``height``×``width``) from how it is written: a HEIC is decoded upright and written so (its orientation tag
    reset to 1), and its EXIF went on saying 4032×3024 for a 3024×4032 output. Patched where the two values lie
    (each fits in its entry), so no other byte moves; any other pair of values is the camera's and is kept."""
    if width == height:
        return exif
    prefix = EXIF_PREFIX if exif.startswith(EXIF_PREFIX) else b""
    t = bytearray(exif[len(prefix) :])
    try:
        head = tiff_head(bytes(t[:8]))
        if head is None:
            return exif
        e, ifd0 = head
        sub = _entry_value(t, e, ifd0, EXIF_POINTER)
        found = {tag: _entry_at(t, e, sub, tag) for tag in (0xA002, 0xA003)} if sub else {}
        if None in found.values() or len(found) != 2:
            return exif
        values = {tag: struct.unpack_from(e + ("H" if typ == 3 else "I"), t, pos)[0]
                  for tag, (pos, typ) in found.items()}  # fmt: skip
        if (values[0xA002], values[0xA003]) != (height, width):
            return exif
        for tag, value in ((0xA002, width), (0xA003, height)):
            pos, typ = found[tag]  # type: ignore[misc]
            if value > (0xFFFF if typ == 3 else 0xFFFFFFFF):
                return exif
            struct.pack_into(e + ("H" if typ == 3 else "I"), t, pos, value)
    except struct.error:
        return exif
    return prefix + bytes(t)


def _entry_at(t: bytearray, e: str, ifd: int, tag: int) -> tuple[int, int] | None:
    """Where the one SHORT or LONG value of ``tag`` in the IFD at ``ifd`` lies (it is held in its entry), with its
    type; None when the IFD has no such entry."""
    (count,) = struct.unpack_from(e + "H", t, ifd)
    for i in range(count):
        pos = ifd + 2 + 12 * i
        entry_tag, typ, n = struct.unpack_from(e + "HHI", t, pos)
        if entry_tag == tag:
            return (pos + 8, typ) if typ in (3, 4) and n == 1 else None
    return None


def _entry_value(t: bytearray, e: str, ifd: int, tag: int) -> int | None:
    """The value of ``tag``'s one SHORT or LONG in the IFD at ``ifd`` (an offset, for a pointer tag), or None."""
    found = _entry_at(t, e, ifd, tag)
    if found is None:
        return None
    pos, typ = found
    return struct.unpack_from(e + ("H" if typ == 3 else "I"), t, pos)[0]


def _with_thumbnail(
    exif: bytes, fmt: str, arr: np.ndarray, thumbnail: bool, notes: list[str]
) -> tuple[bytes | None, list[str]]:
    """:func:`exif_for_output`'s thumbnail step, where the input had one (``thumbnail``): a new one where it
    fits, else none, with a note."""
    if not thumbnail:
        return exif, notes
    if fmt not in ("JPEG", "PNG", "WEBP"):
        return strip_exif_thumbnail(exif), [*notes, _THUMB_NOTE]
    for thumb in _thumbnails(arr):
        refreshed = _refresh_exif_thumbnail(exif, thumb)
        if refreshed is None:  # the old thumbnail could not be cut out cleanly
            return strip_exif_thumbnail(exif), [*notes, _THUMB_NOTE]
        if fmt != "JPEG" or _fits_jpeg(refreshed):
            return refreshed, notes
    return strip_exif_thumbnail(exif), [*notes, _THUMB_TOO_BIG_NOTE]


def _fits_jpeg(exif: bytes) -> bool:
    return len(EXIF_PREFIX + tiff_part(exif)) <= _JPEG_MAX_APP1


# ------------------------------------------------------------------------ EXIF over JPEG's 64 KB


#: Where each tag's name is looked up for the note, by the pointer tag of the IFD that holds it (0: IFD0).
_TAG_NAMES = {0: ExifTags.TAGS, EXIF_POINTER: ExifTags.TAGS, _GPS_IFD: ExifTags.GPSTAGS, INTEROP_IFD: ExifTags.TAGS}
_MAKER_NOTE = 0x927C
#: Never dropped to fit: without it the photo shows on its side.
_ORIENTATION = 0x0112
#: Dropped values named in the note; the rest are counted.
_NAMED = 5


def fit_jpeg_exif(exif: bytes) -> tuple[bytes | None, str]:
    """EXIF that fits JPEG's one 64 KB APP1 segment, and a note naming what was dropped for it.

    A PNG, TIFF or WebP may carry EXIF of any size (a camera's 90 KB maker note, a long user comment);
    Pillow refuses to write such a block into a JPEG, which failed the whole picture. Dropping the whole
    block would lose the orientation, the date and the GPS position, so the largest values go first, the
    maker note before any (it is the usual culprit, and its absolute offsets would not survive the block
    being rebuilt anyway), until the rest fits; the orientation is never dropped. The block is rebuilt
    entry by entry (:func:`serialise_ifd`), every kept value with its exact type and bytes, once per pass
    over what an entry costs (not once per entry: a damaged block can hold thousands). The thumbnail (IFD1)
    is not carried: :func:`exif_for_output` makes a new one for what is left.
    """
    found = exif_ifd0(exif)
    if found is None:
        return None, f"EXIF ({size_text(len(exif))}) is over JPEG's 64 KB segment and not readable; dropped"
    e, ifd0 = found
    leaves = [leaf for leaf in _leaves(ifd0, 0) if not (leaf[2] == 0 and leaf[1] == _ORIENTATION)]
    leaves.sort(key=lambda leaf: (leaf[1] != _MAKER_NOTE, -len(leaf[0][leaf[1]][2])))
    dropped: list[str] = []
    blob = exif_blob(e, ifd0)
    while leaves and (blob is None or not _fits_jpeg(blob)):
        over = len(EXIF_PREFIX + tiff_part(blob or b"")) - _JPEG_MAX_APP1
        while leaves and over > 0:  # an entry costs its 12 bytes and its value where that is not inline
            holder, tag, where = leaves.pop(0)
            value = holder.pop(tag)[2]
            over -= 12 + (len(value) + len(value) % 2 if len(value) > 4 else 0)
            dropped.append(f"{_TAG_NAMES[where].get(tag, f'tag 0x{tag:04X}')} ({size_text(len(value))})")
        blob = exif_blob(e, _pruned(ifd0))
    named = ", ".join(dropped[:_NAMED]) + (f" and {len(dropped) - _NAMED} more values" if len(dropped) > _NAMED else "")
    named = named or "its unreadable entries"  # all that went were entries the reader skips (a damaged IFD)
    rest = "; the rest kept" if blob is not None else "; nothing else was left"
    return blob, f"EXIF is over JPEG's 64 KB segment: dropped {named}{rest}"


def _leaves(ifd: Ifd, where: int) -> Iterator[tuple[Ifd, int, int]]:
    """(holding IFD, tag, the pointer tag of the holding IFD, 0 for IFD0) for every value under ``ifd``."""
    for tag, (_typ, _count, payload) in list(ifd.items()):
        if isinstance(payload, dict):
            yield from _leaves(payload, tag)
        else:
            yield ifd, tag, where


def _pruned(ifd: Ifd) -> Ifd:
    """``ifd`` without sub-IFDs left empty."""
    kept: Ifd = {}
    for tag, (typ, count, payload) in ifd.items():
        if isinstance(payload, dict):
            payload = _pruned(payload)
            if not payload:
                continue
        kept[tag] = (typ, count, payload)
    return kept
