"""HEIC and AVIF colour described by code points (``nclx``): kept where the output can say it, else a note.

A HEIC or AVIF without an ICC profile says what its colours mean with an ``nclx`` colour box: H.273 code
points for the primaries (1 BT.709/sRGB, 12 Display P3, 9 BT.2020), the transfer (13 sRGB, 16 PQ, 18 HLG),
the matrix and the range. Phones write Display P3 this way, and HDR pictures BT.2020 with PQ or HLG. Written
back as sRGB, a P3 picture looked duller and a PQ picture's coded values were shown as plain sRGB (dark and
washed out). Restoration does not change the colour space, so the description holds for the output:

* HEIC output keeps the nclx box as it was (pillow-heif's ``nclx_profile``; its matrix and range are the ones
  the encoder then uses), and the HDR properties with it (:data:`HDR_PROPERTIES`: ``clli``, ``mdcv``, ``amve``
  and the nominal diffuse white luminance).
* AVIF output: Pillow's encoder always tags its output sRGB (1/13/6). Primaries and transfer are tags, not
  coding (the matrix and range are what the pixels were coded with), so the two are set to the input's in the
  box Pillow wrote (:func:`with_nclx_tags`), which has the same size either way.
* PNG output gets ``cICP`` (primaries, transfer, matrix 0 for RGB, full range) and the HDR boxes as ``mDCV``
  and ``cLLI`` (:func:`png_chunks`); the other way, a PNG's ``cICP`` becomes a HEIC's nclx (coded as YCbCr,
  :meth:`Nclx.for_coding`) and its ``mDCV`` and ``cLLI`` its HDR boxes (:func:`hdr_from_png`).
* Other outputs (JPEG, WebP, TIFF, BMP, PPM) cannot say it: a note names what was dropped.

An ICC profile, where there is one, describes the colours instead (as every reader takes it), so nclx counts
only for a picture without one. A description of plain sRGB (or "unspecified") changes nothing and is never
named.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weatherclean.io.images.bmff import box_heads

__all__ = [
    "HDR_PROPERTIES",
    "PROFILE_KEYS",
    "Nclx",
    "AvifFacts",
    "avif_facts",
    "hdr_from_png",
    "lost_note",
    "nclx_of",
    "png_chunks",
    "with_nclx_tags",
]

#: pillow-heif's names for the four code points, in the box's order.
PROFILE_KEYS = ("color_primaries", "transfer_characteristics", "matrix_coefficients", "full_range_flag")
#: A HEIC's HDR properties, by pillow-heif's names (as it reads and writes them) → the PNG chunk that holds the
#: same (None: none does) and what a note calls it. The one list load, save and the PNG mapping go by.
HDR_PROPERTIES: dict[str, tuple[str | None, str]] = {
    "mastering_display_colour_volume": ("mDCV", "mastering display"),
    "content_light_level": ("cLLI", "content light level"),
    "ambient_viewing_environment": (None, "ambient viewing environment"),
    "nominal_diffuse_white_luminance": (None, "nominal diffuse white luminance"),
}
#: The matrix a HEIC is coded with when the colour came from an RGB picture (a PNG's cICP says matrix 0, RGB
#: as is): BT.601, what libheif codes sRGB with. Primaries and transfer are the picture's; the matrix is only
#: how the encoder turns RGB into YCbCr, and a 4:2:0 file with it is what every HEIC decoder reads.
_CODING_MATRIX = 6
_PRIMARIES = {1: "BT.709", 4: "BT.470M", 5: "BT.601 625", 6: "BT.601 525", 7: "SMPTE 240M", 8: "generic film",
              9: "BT.2020", 10: "XYZ", 11: "DCI-P3", 12: "Display P3", 22: "EBU 3213"}  # fmt: skip
_TRANSFER = {1: "BT.709", 4: "gamma 2.2", 5: "gamma 2.8", 6: "BT.601", 7: "SMPTE 240M", 8: "linear",
             11: "IEC 61966-2-4", 12: "BT.1361", 13: "sRGB", 14: "BT.2020", 15: "BT.2020", 16: "PQ",
             17: "SMPTE 428", 18: "HLG"}  # fmt: skip
#: Code points that mean "as an untagged picture": BT.709 primaries (sRGB's), sRGB transfer, or unspecified (2).
_SRGB_PRIMARIES = frozenset({1, 2})
_SRGB_TRANSFER = frozenset({13, 2})
_HDR_TRANSFER = frozenset({16, 18})
#: How many bytes of an AVIF file are searched for its ``meta`` box (it comes first in every AVIF seen).
_HEAD = 1 << 18


@dataclass(frozen=True)
class Nclx:
    """An ``nclx`` colour box's code points (H.273)."""

    primaries: int
    transfer: int
    matrix: int
    full_range: bool

    @property
    def is_srgb(self) -> bool:
        """Whether it says what viewers assume of an untagged picture anyway (then nothing depends on it)."""
        return self.primaries in _SRGB_PRIMARIES and self.transfer in _SRGB_TRANSFER

    @property
    def is_hdr(self) -> bool:
        return self.transfer in _HDR_TRANSFER

    def describe(self) -> str:
        """``Display P3`` or ``BT.2020, PQ``: what a note names (the transfer only when it is not sRGB's)."""
        primaries = _PRIMARIES.get(self.primaries, f"primaries {self.primaries}")
        if self.transfer in _SRGB_TRANSFER:
            return primaries
        return f"{primaries}, {_TRANSFER.get(self.transfer, f'transfer {self.transfer}')}"

    def profile(self) -> dict[str, int]:
        """pillow-heif's ``nclx_profile``."""
        return dict(zip(PROFILE_KEYS, (self.primaries, self.transfer, self.matrix, int(self.full_range)), strict=True))

    @classmethod
    def from_cicp(cls, chunk: bytes | None) -> Nclx | None:
        """The colours a PNG ``cICP`` chunk gives (its four bytes are the same H.273 code points), or None."""
        if chunk is None or len(chunk) != 4:
            return None
        return cls(chunk[0], chunk[1], chunk[2], bool(chunk[3]))

    def for_coding(self) -> Nclx:
        """These colours as a HEIC is coded with them: RGB as is (matrix 0) at full range becomes YCbCr with
        :data:`_CODING_MATRIX`, as an RGB picture's primaries and transfer need no RGB coding (which only 4:4:4
        decoders read). Narrow-range RGB has no other way to be said, so it stays as it is."""
        if self.matrix == 0 and self.full_range:
            return Nclx(self.primaries, self.transfer, _CODING_MATRIX, True)
        return self

    def cicp(self) -> bytes | None:
        """The PNG ``cICP`` chunk for these colours (RGB: matrix 0, full range), or None when primaries or
        transfer are not a defined code point that PNG readers can act on."""
        if self.primaries not in _PRIMARIES or self.transfer not in _TRANSFER:
            return None
        return bytes((self.primaries, self.transfer, 0, 1))


def nclx_of(profile: Any) -> Nclx | None:
    """An :class:`Nclx` from pillow-heif's ``nclx_profile`` (a dict), or None when there is none."""
    if not isinstance(profile, dict) or not all(isinstance(profile.get(k), int) for k in PROFILE_KEYS):
        return None
    values = [int(profile[k]) for k in PROFILE_KEYS]
    return Nclx(values[0], values[1], values[2], bool(values[3]))


# ------------------------------------------------------------------------------------------ AVIF boxes


def _boxes(buf: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each ISO-BMFF box from ``start`` to ``end``; a damaged one ends the list."""
    out = []
    for pos, size, kind, head in box_heads(io.BytesIO(buf), start, end):
        if size < head or pos + size > end:
            break
        out.append((kind, pos + head, pos + size))
    return out


def _child(boxes: list[tuple[bytes, int, int]], kind: bytes) -> tuple[int, int] | None:
    return next(((start, end) for k, start, end in boxes if k == kind), None)


def _primary_id(buf: bytes, meta: list[tuple[bytes, int, int]]) -> int | None:
    found = _child(meta, b"pitm")
    if found is None or found[0] + 6 > found[1]:
        return None
    version = buf[found[0]]
    return struct.unpack_from(">I" if version else ">H", buf, found[0] + 4)[0]


def _associations(buf: bytes, start: int, end: int) -> dict[int, list[int]]:
    """``ipma``: item id → the (1-based) indices of its properties in ``ipco``."""
    version, flags = buf[start], int.from_bytes(buf[start + 1 : start + 4], "big")
    pos = start + 4
    (count,) = struct.unpack_from(">I", buf, pos)
    pos += 4
    out: dict[int, list[int]] = {}
    for _ in range(count):
        item = struct.unpack_from(">I" if version else ">H", buf, pos)[0]
        pos += 4 if version else 2
        n = buf[pos]
        pos += 1
        indices = []
        for _ in range(n):
            if flags & 1:
                indices.append(struct.unpack_from(">H", buf, pos)[0] & 0x7FFF)
                pos += 2
            else:
                indices.append(buf[pos] & 0x7F)
                pos += 1
        out[item] = indices
        if pos > end:
            break
    return out


#: The boxes inside an AVIF's ``meta``, inside its ``iprp`` and inside its ``ipco`` (every item's properties).
_ItemBoxes = tuple[list[tuple[bytes, int, int]], list[tuple[bytes, int, int]], list[tuple[bytes, int, int]]]


def _item_boxes(buf: bytes) -> _ItemBoxes | None:
    """The boxes inside ``meta``, ``iprp`` and ``ipco`` (empty where one is missing), None without ``meta``: the
    walk every question about an AVIF's items starts with."""
    meta = _child(_boxes(buf, 0, len(buf)), b"meta")
    if meta is None:
        return None
    inside = _boxes(buf, meta[0] + 4, meta[1])  # meta is a full box: version and flags first
    iprp = _child(inside, b"iprp")
    parts = _boxes(buf, *iprp) if iprp is not None else []
    ipco = _child(parts, b"ipco")
    return inside, parts, _boxes(buf, *ipco) if ipco is not None else []


def _primary_properties(buf: bytes) -> list[tuple[bytes, int, int]]:
    """The property boxes (``pixi``, ``colr``, ...) of the primary item, or all of them when the file does not
    say which are whose."""
    found = _item_boxes(buf)
    if found is None or not found[2]:
        return []
    inside, parts, properties = found
    ipma, primary = _child(parts, b"ipma"), _primary_id(buf, inside)
    try:
        indices = _associations(buf, *ipma).get(primary or -1) if ipma is not None else None
    except (struct.error, IndexError):
        indices = None
    if not indices:
        return properties
    return [properties[i - 1] for i in indices if 0 < i <= len(properties)]


def _nclx_box(buf: bytes, start: int, end: int) -> Nclx | None:
    if end - start < 11 or buf[start : start + 4] != b"nclx":
        return None
    primaries, transfer, matrix = struct.unpack_from(">HHH", buf, start + 4)
    return Nclx(primaries, transfer, matrix, bool(buf[start + 10] & 0x80))


@dataclass(frozen=True)
class AvifFacts:
    """What Pillow does not say of an AVIF: its bits per channel, its nclx colour, and its auxiliary images
    beside the picture and alpha (a depth map, a gain map), by type."""

    bits: int = 8
    nclx: Nclx | None = None
    auxiliary: tuple[str, ...] = ()


def avif_facts(path: Path) -> AvifFacts:
    """:class:`AvifFacts` of the AVIF at ``path``, from one read of its first :data:`_HEAD` bytes; what the file
    does not say (or says in damaged boxes) keeps its default."""
    try:
        with open(path, "rb") as fh:
            buf = fh.read(_HEAD)
    except OSError:
        return AvifFacts()
    bits, nclx = _depth_and_colour(buf)
    return AvifFacts(bits, nclx, tuple(_auxiliary_types(buf)))


def _depth_and_colour(buf: bytes) -> tuple[int, Nclx | None]:
    """(bits per channel, nclx colour) of an AVIF's primary item, from its ``pixi`` and ``colr`` boxes: Pillow
    decodes AVIF at 8 bits and reports neither. (8, None) when the file does not say."""
    try:
        properties = _primary_properties(buf)
    except (struct.error, IndexError):
        return 8, None
    bits, nclx = 8, None
    for kind, start, end in properties:
        if kind == b"pixi" and start + 5 < end:
            channels = buf[start + 4]
            bits = max(buf[start + 5 : min(end, start + 5 + channels)] or b"\x08")
        elif kind == b"colr" and nclx is None:
            nclx = _nclx_box(buf, start, end)
    return bits, nclx


#: Auxiliary image types that are an AVIF's alpha channel, which Pillow reads and writes with the picture.
_ALPHA_TYPES = frozenset({"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", "urn:mpeg:hevc:2015:auxid:1"})


def _item_types(buf: bytes, inside: list[tuple[bytes, int, int]]) -> list[bytes]:
    """The item types (``av01``, ``tmap``, ...) of the ``infe`` entries of version 2 or 3 in ``iinf``."""
    iinf = _child(inside, b"iinf")
    if iinf is None:
        return []
    skip = 4 + (2 if buf[iinf[0]] == 0 else 4)  # full box, then the entry count
    out = []
    for kind, start, end in _boxes(buf, iinf[0] + skip, iinf[1]):
        version = buf[start] if start < end else 0
        at = start + 4 + (2 if version == 2 else 4) + 2  # item id, protection index
        if kind == b"infe" and version in (2, 3) and at + 4 <= end:
            out.append(buf[at : at + 4])
    return out


def _auxiliary_types(buf: bytes) -> list[str]:
    """The auxiliary images of an AVIF beside its picture and alpha (a depth map, a gain map), by type: the
    URN of each ``auxC`` property, and ``tmap`` for a gain map item (ISO 21496-1). Pillow reads neither and
    cannot write them, so a note names them and ``--in-place`` refuses the file. Empty when there are none
    or the file does not say."""
    try:
        found = _item_boxes(buf)
        if found is None:
            return []
        inside, _parts, properties = found
        out = ["tmap"] if b"tmap" in _item_types(buf, inside) else []
        for kind, start, end in properties:
            if kind == b"auxC" and start + 4 < end:
                urn = buf[start + 4 : end].split(b"\0", 1)[0].decode("ascii", "replace")
                if urn not in _ALPHA_TYPES:
                    out.append(urn)
    except (struct.error, IndexError):
        return []
    return list(dict.fromkeys(out))


def with_nclx_tags(avif: bytes, nclx: Nclx) -> bytes | None:
    """``avif`` (as Pillow wrote it) with its primaries and transfer set to ``nclx``'s, in every nclx colour box
    of the primary item; None when it has none to set. The matrix and range stay: the pixels were coded with them."""
    data = bytearray(avif)
    found = False
    try:
        properties = _primary_properties(avif)
    except (struct.error, IndexError):
        return None
    for kind, start, end in properties:
        if kind == b"colr" and _nclx_box(avif, start, end) is not None:
            struct.pack_into(">HH", data, start + 4, nclx.primaries, nclx.transfer)
            found = True
    return bytes(data) if found else None


# ------------------------------------------------------------------------------------------------ PNG


def _mdcv(volume: dict[str, Any]) -> bytes | None:
    """PNG ``mDCV`` from pillow-heif's ``mastering_display_colour_volume``: red, green, blue, white (x, y in
    0.00002), then the maximum and minimum luminance (0.0001 cd/m², the same units). HEIF stores the primaries in
    the order the encoder gave (HEVC's SEI: green, blue, red), so each is told by where it lies: red has the
    largest x, green of the others the largest y."""
    try:
        points = list(zip(volume["display_primaries_x"], volume["display_primaries_y"], strict=True))
        red = max(points, key=lambda p: p[0])
        rest = [p for p in points if p is not red]
        green = max(rest, key=lambda p: p[1])
        blue = next(p for p in rest if p is not green)
        values = (*red, *green, *blue, volume["white_point_x"], volume["white_point_y"])
        return struct.pack(">8H2I", *values, volume["max_display_mastering_luminance"],
                           volume["min_display_mastering_luminance"])  # fmt: skip
    except (KeyError, TypeError, ValueError, StopIteration, struct.error):
        return None


def _clli(level: dict[str, Any]) -> bytes | None:
    """PNG ``cLLI`` from pillow-heif's ``content_light_level`` (whole cd/m², as HEVC stores it; PNG: 0.0001)."""
    try:
        keys = ("max_content_light_level", "max_pic_average_light_level")
        return struct.pack(">2I", *(level[key] * 10000 for key in keys))
    except (KeyError, TypeError, struct.error):
        return None


def _volume(mdcv: bytes) -> dict[str, Any] | None:
    """pillow-heif's ``mastering_display_colour_volume`` from a PNG ``mDCV`` (:func:`_mdcv` the other way; the
    primaries in HEVC's order, green, blue, red)."""
    if len(mdcv) != 24:
        return None
    rx, ry, gx, gy, bx, by, wx, wy, top, bottom = struct.unpack(">8H2I", mdcv)
    return {
        "display_primaries_x": (gx, bx, rx), "display_primaries_y": (gy, by, ry), "white_point_x": wx,
        "white_point_y": wy, "max_display_mastering_luminance": top, "min_display_mastering_luminance": bottom,
    }  # fmt: skip


def _level(clli: bytes) -> dict[str, int] | None:
    """pillow-heif's ``content_light_level`` from a PNG ``cLLI`` (0.0001 cd/m², HEVC's whole cd/m²)."""
    if len(clli) != 8:
        return None
    top, average = (round(value / 10000) for value in struct.unpack(">2I", clli))
    return {"max_content_light_level": min(top, 65535), "max_pic_average_light_level": min(average, 65535)}


#: How each PNG HDR chunk is made from the HEIC property :data:`HDR_PROPERTIES` pairs it with, and back.
_TO_PNG: dict[str, Callable[[Any], bytes | None]] = {"mDCV": _mdcv, "cLLI": _clli}
_FROM_PNG: dict[str, Callable[[bytes], Any]] = {"mDCV": _volume, "cLLI": _level}


def hdr_from_png(chunks: dict[str, bytes]) -> dict[str, Any]:
    """A PNG's ``mDCV`` and ``cLLI`` as the HEIC HDR properties that say the same (pillow-heif's names)."""
    out: dict[str, Any] = {}
    for key, (chunk, _) in HDR_PROPERTIES.items():
        data = chunks.get(chunk) if chunk else None
        value = _FROM_PNG[chunk](data) if chunk and data is not None else None
        if value is not None:
            out[key] = value
    return out


def png_chunks(nclx: Nclx | None, hdr: dict[str, Any]) -> dict[str, bytes]:
    """The PNG colour chunks that say what ``nclx`` and the HEIC HDR properties (``hdr``, pillow-heif's names)
    said: cICP, mDCV, cLLI, where each maps."""
    out: dict[str, bytes] = {}
    cicp = nclx.cicp() if nclx is not None else None
    if cicp is not None:
        out["cICP"] = cicp
    for key, (chunk, _) in HDR_PROPERTIES.items():
        value = hdr.get(key)
        data = _TO_PNG[chunk](value) if chunk and value else None
        if chunk and data is not None:
            out[chunk] = data
    return out


def lost_note(source: str, parts: list[str], name: str, nclx: Nclx | None) -> str:
    """``HEIC colour information (nclx: Display P3) cannot be stored in JPEG; dropped, so ...``: ``parts`` name
    what was dropped, ``nclx`` the colour description among them (None when only the HDR boxes were dropped,
    which tell an HDR display how to tone-map the picture, not what its colours are)."""
    if nclx is None:
        why = "so HDR displays tone-map it without them"
    elif nclx.is_hdr:
        why = "so the HDR picture shows as washed-out SDR"
    else:
        why = "so colour-managed viewers may show the picture in other colours"
    return f"{source} colour information ({', '.join(parts)}) cannot be stored in {name}; dropped, {why}"
