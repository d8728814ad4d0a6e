"""PNG chunks Pillow does not carry over: colour (cICP, mDCV, cLLI, gAMA, cHRM, sRGB, sBIT), bKGD, tIME, and
how text was stored.

Without an ICC profile, ``gAMA`` and ``cHRM`` *are* a PNG's colour description: a photo tagged gamma 1.8
(old Mac exports, scanners) shows lighter or darker in a colour-managed viewer once they are gone. ``cICP``
(PNG 3rd edition) names the colour space outright and overrides all of them: an HDR photo (BT.2100 PQ or
HLG) without it is shown as washed-out SDR; ``mDCV`` and ``cLLI`` (mastering display, content light level)
tell a viewer how to tone-map it. Pillow reads gAMA, cHRM and sRGB into ``info`` but never writes them
back, leaves mDCV and cLLI out even when asked to write them, and reads neither ``sBIT`` nor how each text chunk
was stored (tEXt, compressed zTXt, iTXt with a language tag and translated keyword). So a PNG's chunks are
walked once on load, and written again, where they still describe the output, by both PNG writers (Pillow's
for 8 bits, with :func:`insert_after_ihdr` for what Pillow drops; :mod:`png16` for 16 bits).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "HDR_CHUNKS",
    "PngText",
    "colour_chunks",
    "iccp_chunk",
    "insert_after_ihdr",
    "lost_colour_note",
    "read_png_chunks",
    "text_chunks",
]

#: The PNG 3rd edition's colour chunks, with the length each must have: coding-independent code points (the
#: colour space, HDR included), mastering display colour volume, content light level. Kept byte for byte.
HDR_CHUNKS = {"cICP": 4, "mDCV": 24, "cLLI": 8}
#: Chunks kept byte for byte, with the length each must have; sBIT, bKGD and tIME are decided apart.
_KEPT_AS_IS = {**HDR_CHUNKS, "sRGB": 1, "gAMA": 4, "cHRM": 32}
_WANTED = frozenset({"IHDR", *_KEPT_AS_IS, "sBIT", "bKGD", "tIME", "tEXt", "zTXt", "iTXt", "iCCP"})
#: The longest each fixed-size chunk can be, so a damaged length (4 GB) is never read into memory.
_LONGEST = {**_KEPT_AS_IS, "IHDR": 13, "sBIT": 4, "bKGD": 6, "tIME": 7}
#: Text chunk bytes read to learn how a text was stored (keyword, flags, language, translated keyword).
_TEXT_HEAD = 4096
#: iCCP bytes read for its profile name (a keyword of 1-79 bytes and its NUL); the profile is Pillow's to read.
_ICCP_HEAD = 80
#: The profile name Pillow gives every iCCP chunk, used where the input had none of its own.
_ICC_NAME = b"ICC Profile"
#: PNG colour type → bytes of its sBIT chunk: one per channel, and three for a palette (whose entries are RGB).
_SBIT_BYTES = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
#: Channels → PNG colour type of what the writers produce (never a palette).
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
#: gAMA and cHRM values (× 100000) that say what a viewer assumes of an untagged picture anyway: sRGB.
_SRGB_GAMMA = 45455
_SRGB_CHRM = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)


@dataclass(frozen=True)
class PngText:
    """How one text chunk was stored, so it is written back the same way (Pillow keeps only the text)."""

    chunk: str  # "tEXt", "zTXt" or "iTXt"
    compressed: bool = False
    lang: str = ""
    tkey: str = ""


def _text_how(kind: str, data: bytes) -> tuple[str, PngText] | None:
    """(keyword, how it was stored) from the start of a tEXt/zTXt/iTXt chunk; None when malformed."""
    keyword, sep, rest = data.partition(b"\x00")
    if not sep or not keyword:
        return None
    key = keyword.decode("latin-1")
    if kind != "iTXt":
        return key, PngText(kind, compressed=kind == "zTXt")
    if len(rest) < 2:
        return None
    compressed = rest[0] == 1
    lang, sep1, after = rest[2:].partition(b"\x00")
    tkey, sep2, _ = after.partition(b"\x00")
    if not (sep1 and sep2):  # header longer than we read: keep the text, without its language details
        return key, PngText("iTXt", compressed=compressed)
    return key, PngText("iTXt", compressed, lang.decode("ascii", "replace"), tkey.decode("utf-8", "replace"))


def read_png_chunks(path: Path) -> dict[str, Any]:
    """The extras :func:`colour_chunks` and :func:`text_chunks` need, from one walk over the file's chunks.

    ``png_ihdr``: (bit depth, colour type); ``png_chunks``: raw cICP, mDCV, cLLI, gAMA, cHRM, sRGB, sBIT,
    bKGD, tIME data; ``png_text``: keyword → :class:`PngText`; ``png_icc_name``: the iCCP profile's name, which
    Pillow neither reads nor writes (it names every profile "ICC Profile"). Image data is skipped, not read. A damaged
    chunk list ends the walk: Pillow has decoded the pixels already, and what was found so far is still right.
    """
    chunks: dict[str, bytes] = {}
    texts: dict[str, PngText] = {}
    ihdr: tuple[int, int] | None = None
    extra: dict[str, Any] = {}
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            return {}
        while True:
            head = fh.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            name = kind.decode("latin-1")
            if name == "IEND":
                break
            if name not in _WANTED or length > _LONGEST.get(name, length):  # a length no such chunk has: skipped
                fh.seek(length + 4, 1)
                continue
            head_only = {"tEXt": _TEXT_HEAD, "zTXt": _TEXT_HEAD, "iTXt": _TEXT_HEAD, "iCCP": _ICCP_HEAD}
            data = fh.read(min(length, head_only.get(name, length)))
            fh.seek(length - len(data) + 4, 1)
            if name == "iCCP":
                profile_name = data.partition(b"\x00")[0]
                if 0 < len(profile_name) < 80 and "png_icc_name" not in extra:
                    extra["png_icc_name"] = profile_name
            elif name == "IHDR" and len(data) == 13:
                ihdr = (data[8], data[9])
            elif name in ("tEXt", "zTXt", "iTXt"):
                found = _text_how(name, data)
                if found is not None:
                    texts[found[0]] = found[1]
            elif name != "IHDR" and name not in chunks:  # the first one counts, as in every decoder
                chunks[name] = data
    return {"png_ihdr": ihdr, "png_chunks": chunks, "png_text": texts, **extra}


def _rescaled(samples: tuple[int, ...], depth_in: int, depth_out: int) -> tuple[int, ...]:
    """``samples`` of a ``depth_in``-bit PNG as the same levels at ``depth_out`` bits, rounded: a 1-, 2- or
    4-bit grey picture is written as 8 bits, so its background grey must be scaled as its pixels were."""
    top_in, top_out = (1 << depth_in) - 1, (1 << depth_out) - 1
    return tuple(min(top_out, (s * top_out + top_in // 2) // top_in) for s in samples)


def _valid_sbit(data: bytes, ihdr: tuple[int, int]) -> bool:
    """Whether sBIT has a byte per channel, each 1 to the sample depth (8 for a palette): a decoder uses it
    to scale samples back, so a 0 or a value over the depth is nonsense that must not be copied on."""
    depth, colour_type = ihdr
    top = 8 if colour_type == 3 else depth
    return len(data) == _SBIT_BYTES.get(colour_type) and all(1 <= bits <= top for bits in data)


def _background(data: bytes, ihdr: tuple[int, int], channels: int, depth: int) -> bytes | None:
    """bKGD for the output, or None where it no longer applies (a palette index once the palette is gone) or
    never did (a sample beyond what the input's bit depth can hold, which PNG forbids)."""
    depth_in, type_in = ihdr
    if type_in == 3 or len(data) != (2 if type_in in (0, 4) else 6) or depth_in not in (1, 2, 4, 8, 16):
        return None
    samples = struct.unpack(f">{len(data) // 2}H", data)
    if any(sample >> depth_in for sample in samples):
        return None
    if depth_in != depth:
        samples = _rescaled(samples, depth_in, depth)
    if channels >= 3 and len(samples) == 1:
        samples *= 3
    if channels < 3 and len(samples) == 3:
        return None
    return struct.pack(f">{len(samples)}H", *samples)


def colour_chunks(extra: dict[str, Any], channels: int, depth: int, icc: bool) -> list[tuple[bytes, bytes]]:
    """The input PNG's colour and time chunks that still hold for the output, in the order PNG wants them.

    ``channels`` and ``depth`` describe the output, ``icc`` whether it has an iCCP chunk. cICP, mDCV, cLLI,
    gAMA, cHRM and sRGB describe the pixels' colour space and the display they were made for, which
    restoration does not change; sRGB never goes beside an iCCP (the PNG spec forbids both), and a gAMA of 0
    (which no decoder can use) is dropped. sBIT (the significant bits per channel) only holds for the same
    bit depth and channel layout, and only with values a decoder can use. bKGD holds unless it indexed a
    palette that is gone. tIME is the time the image was last changed (PNG spec: updated whenever the image
    data are changed), so it becomes now. All of them go before PLTE and IDAT, as PNG asks (bKGD after PLTE).
    """
    found: dict[str, bytes] = extra.get("png_chunks") or {}
    ihdr = extra.get("png_ihdr")
    out: list[tuple[bytes, bytes]] = []
    for name, size in _KEPT_AS_IS.items():
        data = found.get(name)
        if data is None or len(data) != size or (name == "sRGB" and icc) or (name == "gAMA" and not any(data)):
            continue
        out.append((name.encode(), data))
    sbit = found.get("sBIT")
    same_layout = ihdr is not None and ihdr == (depth, _COLOUR_TYPE.get(channels))
    if sbit is not None and same_layout and _valid_sbit(sbit, ihdr):
        out.append((b"sBIT", sbit))
    bkgd = found.get("bKGD")
    background = _background(bkgd, ihdr, channels, depth) if bkgd is not None and ihdr else None
    if background is not None:
        out.append((b"bKGD", background))
    if "tIME" in found:
        now = datetime.now(UTC)
        out.append((b"tIME", struct.pack(">HBBBBB", now.year, now.month, now.day, now.hour, now.minute, now.second)))
    return out


def lost_colour_note(
    extra: dict[str, Any], name: str, icc_kept: bool, held: Collection[str] = frozenset()
) -> str | None:
    """The note for a PNG whose colour chunks are written where they cannot go (any format but PNG).

    cICP, mDCV and cLLI always count, but for those the output says its own way (``held``: a HEIC's nclx and HDR
    properties, an AVIF's nclx): cICP overrides every other colour chunk and the ICC profile, and the HDR
    picture they describe is shown as plain SDR without them. gAMA/cHRM count only when they change how
    the picture looks: not beside an sRGB chunk (which overrides them), not when they say sRGB anyway (gamma
    1/2.2, BT.709 primaries: what viewers assume of an untagged picture), and not when the output keeps an
    ICC profile (``icc_kept``), which overrides them too.
    """
    found: dict[str, bytes] = extra.get("png_chunks") or {}
    parts = [chunk for chunk, size in HDR_CHUNKS.items() if len(found.get(chunk) or b"") == size and chunk not in held]
    gama = found.get("gAMA")
    if gama is not None and len(gama) == 4 and "sRGB" not in found and not icc_kept:
        (value,) = struct.unpack(">I", gama)
        if value and abs(value - _SRGB_GAMMA) > _SRGB_GAMMA // 100:
            parts.append(f"gAMA 1/{100000 / value:.3g}")
    chrm = found.get("cHRM")
    if chrm is not None and len(chrm) == 32 and "sRGB" not in found and not icc_kept:
        values = struct.unpack(">8I", chrm)
        if any(abs(v - s) > 1000 for v, s in zip(values, _SRGB_CHRM, strict=True)):
            parts.append("cHRM")
    if not parts:
        return None
    return (
        f"PNG colour information ({', '.join(parts)}) cannot be stored in {name}; dropped, so colour-managed "
        "viewers may show the picture lighter, darker or in other colours"
    )


def iccp_chunk(icc: bytes, extra: dict[str, Any]) -> tuple[bytes, bytes]:
    """The iCCP chunk of ``icc`` under the input PNG's own profile name (``extra["png_icc_name"]``), or Pillow's
    "ICC Profile" for a profile from another format: both PNG writers name it alike, and a PNG keeps its name."""
    name = extra.get("png_icc_name") or _ICC_NAME
    if not isinstance(name, bytes) or not 0 < len(name) < 80 or b"\x00" in name:
        name = _ICC_NAME
    return b"iCCP", name + b"\x00\x00" + zlib.compress(icc)


def insert_after_ihdr(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """``png`` with ``chunks`` ((type, data) pairs) right after IHDR, so before PLTE and IDAT as PNG asks of
    colour chunks: for :data:`HDR_CHUNKS`, which Pillow's writer leaves out of ``pnginfo`` (mDCV and cLLI in
    every version so far, cICP in older ones)."""
    if not chunks:
        return png
    if png[12:16] != b"IHDR":
        raise ValueError("encoder output is not a PNG")
    at = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    new = b"".join(
        struct.pack(">I", len(data)) + cid + data + struct.pack(">I", zlib.crc32(cid + data) & 0xFFFFFFFF)
        for cid, data in chunks
    )
    return png[:at] + new + png[at:]


def _text_data(key: bytes, value: str, how: PngText) -> tuple[bytes, bytes] | None:
    """One text chunk, stored as the input stored it; None when its text cannot be stored that way."""
    if how.chunk in ("tEXt", "zTXt"):
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            return None  # the caller falls back to iTXt
        if how.chunk == "zTXt":
            return b"zTXt", key + b"\x00\x00" + zlib.compress(raw)
        return b"tEXt", key + b"\x00" + raw
    text = value.encode("utf-8")
    flags = b"\x01\x00" if how.compressed else b"\x00\x00"
    body = zlib.compress(text) if how.compressed else text
    lang = how.lang.encode("ascii", "ignore")
    return b"iTXt", key + b"\x00" + flags + lang + b"\x00" + how.tkey.encode("utf-8") + b"\x00" + body


def text_chunks(text: dict[str, Any], how: dict[str, PngText] | None) -> list[tuple[bytes, bytes]]:
    """PNG text chunks for ``text`` (keyword → value), each stored as the input stored it: tEXt stays tEXt,
    compressed zTXt stays compressed, iTXt keeps its language tag and translated keyword. Text without a
    record (or that no longer fits tEXt's Latin-1) becomes iTXt, compressed when it was. Keywords that
    cannot be a PNG keyword (not Latin-1) are left out, as before."""
    out = []
    for key, value in text.items():
        try:
            keyword = str(key).encode("latin-1")[:79]
        except UnicodeEncodeError:
            continue
        stored = (how or {}).get(key) or PngText("iTXt", lang=getattr(value, "lang", "") or "",
                                                 tkey=getattr(value, "tkey", "") or "")  # fmt: skip
        chunk = _text_data(keyword, str(value), stored)
        if chunk is None:
            chunk = _text_data(keyword, str(value), PngText("iTXt", compressed=stored.compressed))
        if chunk is not None:
            out.append(chunk)
    return out
