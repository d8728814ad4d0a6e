"""Writing a photo in its input's format, depth and metadata, atomically; one small writer per format.

Pixels are converted once (:func:`_planes`, :func:`_to_uint`), the EXIF gets a thumbnail of the output,
and :data:`_WRITERS` picks the format's writer: 16-bit PNG and every TIFF go through our own writers
(Pillow cannot write 16-bit colour, nor copy EXIF sub-IFDs into a TIFF), the rest through Pillow with
the format's own options. Whatever a format cannot keep is a one-line note in :class:`SavedImage`.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from weatherclean.errors import OutputError, OutputOutOfMemory, memory_advice
from weatherclean.io.atomic import atomic_write
from weatherclean.io.images.carryover import avif_tagged, carry_over, exif_space_note, heic_colour, write_with_trailer
from weatherclean.io.images.exif import EXIF_PREFIX, Ifd, exif_for_output, tiff_part
from weatherclean.io.images.formats import FORMAT_NAME, normalise_format, size_text
from weatherclean.io.images.heif import encode_heif
from weatherclean.io.images.jpegsegments import (
    app13_segments,
    insert_segments,
    with_jfif,
    without_extended_xmp_pointer,
)
from weatherclean.io.images.pixels import row_blocks
from weatherclean.io.images.png16 import encode_png16
from weatherclean.io.images.pngchunks import HDR_CHUNKS, colour_chunks, iccp_chunk, insert_after_ihdr, text_chunks
from weatherclean.io.images.records import LoadedImage, SavedImage, icc_fits
from weatherclean.io.images.tiff import encode_tiff, photoshop_entries, text_entries, tiff_compression, tiff_file_head
from weatherclean.io.orientation import to_upright
from weatherclean.io.quality import DEFAULT_QUALITY, Quality, check_quality

__all__ = ["DEFAULT_QUALITY", "Quality", "check_quality", "save_image"]


#: The IJG (libjpeg) luminance table that a quality scales (ITU T.81 Annex K), and what each quality makes of
#: it (libjpeg's scaling, baseline: entries 1-255), summed: to tell how fine a JPEG's own tables are.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_IJG_LUMA_SUM = {
    q: sum(min(255, max(1, (b * (5000 // q if q < 50 else 200 - 2 * q) + 50) // 100)) for b in _IJG_LUMA)
    for q in range(1, 101)
}
#: The most XMP one JPEG APP1 segment holds: 65533 bytes after the length, less the XMP namespace header.
_JPEG_MAX_XMP = 65533 - len(b"http://ns.adobe.com/xap/1.0/\x00")
#: Formats that hold EXIF, ICC and XMP; BMP and PPM hold none of them, and say so in a note.
_HOLDS_METADATA = frozenset({"JPEG", "PNG", "TIFF", "WEBP", "AVIF", "HEIF"})
#: Formats that keep a JPEG's Photoshop resources (APP13): JPEG as APP13, TIFF in its IPTC-NAA and Photoshop tags.
_HOLDS_APP13 = frozenset({"JPEG", "TIFF"})
#: Formats whose output has no alpha channel (a BMP's fourth byte is ignored by most readers).
_NO_ALPHA = frozenset({"JPEG", "BMP", "PPM"})
#: Formats written above 8 bits: 16-bit PNG and TIFF, and HEIC at 10 or 12 bits (:mod:`.heif`).
_DEEP = frozenset({"PNG", "TIFF", "HEIF"})
#: The depth a HEIC is written at from 16-bit pixels that were not a HEIC's own 10 or 12 bits: Main 10, which
#: every HEVC decoder that reads deep HEIC takes.
_HEIF_BITS = 10


@dataclass
class _Target:
    """The output format and what has been decided for it so far."""

    fmt: str
    quality: int
    exif: bytes | None
    text: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    #: The input JPEG's quantisation tables, for ``quality="keep"`` (JPEG to JPEG only).
    qtables: list[list[int]] | None = None
    #: A PNG input's text that TIFF tags hold, for a TIFF output (:func:`.tiff.text_entries`).
    tiff_text: Ifd = field(default_factory=dict)

    @property
    def name(self) -> str:
        return FORMAT_NAME[self.fmt]


def _to_uint(arr: np.ndarray, depth: int) -> np.ndarray:
    """Float pixels → rounded 8- or 16-bit, in C order (the byte-level writers need plain rows).

    Row blocks at a time: on a whole 24-megapixel picture the float temporaries of clip, scale and round
    would add up to 600 MB at the moment memory peaks.
    """
    scale = 65535.0 if depth == 16 else 255.0
    out = np.empty(arr.shape, dtype=np.uint16 if depth == 16 else np.uint8)
    for rows in row_blocks(arr):
        block = np.nan_to_num(arr[rows], nan=0.0)  # a float copy of these rows only
        np.clip(block, 0.0, 1.0, out=block)
        block *= scale
        out[rows] = np.rint(block, out=block)
    return out


def _planes(pixels: np.ndarray, like: LoadedImage, fmt: str, notes: list[str]) -> tuple[np.ndarray, int]:
    """(colour + alpha planes as float H×W×C, bit depth) in the shape the format can hold."""
    name = FORMAT_NAME[fmt]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be H×W×1 or H×W×3, got {pixels.shape}")
    alpha = like.alpha
    if alpha is not None and fmt in _NO_ALPHA:
        if alpha.shape == pixels.shape[:2] and bool((alpha < 1.0).any()):
            # Dropping alpha alone would show whatever colour hides under transparent pixels (often junk, or
            # the picture's edges before a cut-out); flattening onto white is what viewers and converters show.
            a = alpha[..., None]
            flat = pixels * a  # the one full-size temporary (pixels may be the caller's own array)
            flat += 1.0
            flat -= a  # colour·a + 1·(1 − a)
            pixels = flat
            notes.append(f"alpha dropped: {name} has no alpha; transparent areas flattened onto white")
        else:
            notes.append(f"alpha dropped: {name} has no alpha")
        alpha = None
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match pixels {pixels.shape[:2]}")
    depth = 16 if like.bit_depth == 16 and fmt in _DEEP else 8
    bits = _source_bits(like)
    if like.bit_depth == 16 and depth == 8:
        why = f"cannot hold {bits} bits" if fmt in ("JPEG", "WEBP", "BMP") else "output is 8-bit here"
        notes.append(f"{bits}-bit written as 8-bit because {name} {why}")
    elif fmt == "HEIF" and depth == 16 and _heif_bits(like) < bits:
        notes.append(f"{bits}-bit written as {_heif_bits(like)}-bit because HEIC is written at {_HEIF_BITS} bits here")
    if pixels.shape[2] == 1 and (fmt == "WEBP" or (alpha is not None and fmt in ("AVIF", "HEIF"))):
        pixels = np.repeat(pixels, 3, axis=2)
        if alpha is None:
            notes.append(f"greyscale written as RGB: {name} has no greyscale mode")
        else:
            notes.append(f"greyscale+alpha written as RGBA: {name} has no grey+alpha mode")
    return (pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)), depth


def _source_bits(like: LoadedImage) -> int:
    """Bits per channel of the input as its file held them: a 10/12-bit HEIC's own (``extra["bits"]``; its
    pixels come as 16-bit), else its bit depth."""
    bits = like.extra.get("bits")
    return int(bits) if isinstance(bits, int) and 8 < bits < like.bit_depth else like.bit_depth


def _heif_bits(like: LoadedImage) -> int:
    """The depth a HEIC output of 16-bit pixels is written at: a 10- or 12-bit HEIC's own, else 10."""
    bits = _source_bits(like)
    return bits if like.format == "HEIF" and bits in (10, 12) else _HEIF_BITS


def _exif(like: LoadedImage, fmt: str, arr: np.ndarray, notes: list[str]) -> bytes | None:
    """The EXIF to write (with a thumbnail of ``arr``), or a note on the metadata the format cannot hold."""
    if fmt not in _HOLDS_METADATA:
        held = [what for what, value in (("EXIF", like.exif), ("ICC profile", like.icc_profile), ("XMP", like.xmp))
                if value]  # fmt: skip
        if held:
            notes.append(f"{', '.join(held)} cannot be stored in {FORMAT_NAME[fmt]}; dropped")
        space = exif_space_note(like, FORMAT_NAME[fmt])  # when the EXIF was all that said "not sRGB"
        notes += [space] if space else []
        return None
    exif, exif_notes = exif_for_output(like.exif, fmt, arr)
    notes += exif_notes
    return exif


def _metadata_params(arr: np.ndarray, like: LoadedImage, t: _Target) -> dict[str, Any]:
    """Pillow's save options for ICC, DPI, XMP and EXIF (the formats in :data:`_HOLDS_METADATA`)."""
    params: dict[str, Any] = {}
    if like.icc_profile and not icc_fits(like, arr.shape[2]):
        t.notes.append(f"greyscale ICC profile dropped: it cannot describe the RGB {t.name} output")
    elif like.icc_profile:
        params["icc_profile"] = like.icc_profile
    if like.xmp and t.fmt == "JPEG" and len(like.xmp) > _JPEG_MAX_XMP:
        # Pillow refuses the whole picture; spreading it over extended XMP segments is not done (yet)
        t.notes.append(f"XMP ({size_text(len(like.xmp))}) is over JPEG's 64 KB segment; dropped")
    elif like.xmp and t.fmt != "PNG":
        params["xmp"] = like.xmp
    if t.exif:  # JPEG stores the "Exif\0\0" marker prefix, the others the bare TIFF structure
        params["exif"] = EXIF_PREFIX + tiff_part(t.exif) if t.fmt == "JPEG" else tiff_part(t.exif)
    return params


def _pillow(arr: np.ndarray, like: LoadedImage, t: _Target, params: dict[str, Any]) -> bytes:
    """Encode 8-bit ``arr`` with Pillow: the shared metadata options plus the format's own ``params``."""
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    im = Image.fromarray(np.ascontiguousarray(arr[..., 0] if arr.shape[2] == 1 else arr))
    if im.mode != mode:
        im = im.convert(mode)
    options = _metadata_params(arr, like, t) if t.fmt in _HOLDS_METADATA else {}
    dpi = like.extra.get("dpi")
    if dpi:
        options["dpi"] = tuple(float(d) for d in dpi)
    options.update(params)
    buf = io.BytesIO()
    # Pillow re-parses EXIF for some formats and may warn about quirks (e.g. piexif's missing next-IFD pointer) that
    # do not stop it from writing every tag. Its warnings are the program's to filter (docs/api.md, "Warning
    # filters"), and the command's (weatherclean.io.pillow_warnings): no filter is touched here, since any edit of
    # the process's list as a library could be kept for good by another thread's warnings.catch_warnings.
    im.save(buf, format=t.fmt, **options)
    return buf.getvalue()


def _write_jpeg(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    # With the input's own tables (quality "keep") no quality is given: Pillow then uses them as they are.
    params: dict[str, Any] = {"qtables": t.qtables} if t.qtables else {"quality": t.quality}
    params["optimize"] = True
    sub = like.extra.get("subsampling")
    if isinstance(sub, int) and sub >= 0 and like.format == "JPEG":
        params["subsampling"] = sub
    if like.extra.get("progressive"):
        params["progressive"] = True
    if like.extra.get("comment") and like.format == "JPEG":
        params["comment"] = like.extra["comment"]
    data = with_jfif(_pillow(arr, like, t, params), like.extra.get("jfif"))  # units and density as they were
    # Pillow writes no APP13 and no extended XMP: they go in after its metadata segments (jpegsegments).
    segments = app13_segments(like.extra.get("photoshop") or b"")
    segments += [(0xE1, ext) for ext in like.extra.get("xmp_extension") or ()]
    return insert_segments(data, segments)


def _write_png(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    if arr.dtype == np.uint16:
        if like.icc_profile and not icc_fits(like, arr.shape[2]):
            t.notes.append(f"greyscale ICC profile dropped: it cannot describe the RGB {t.name} output")
        return encode_png16(arr, like, t.exif)
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    # Pillow places each chunk where PNG wants it (colour chunks before the image data, no sRGB beside iCCP);
    # the PNG 3rd edition's it leaves out, so they go in after IHDR, as the 16-bit writer puts them too.
    fits = icc_fits(like, arr.shape[2])
    colour = colour_chunks(like.extra, arr.shape[2], 8, fits)
    hdr = [(cid, data) for cid, data in colour if cid.decode() in HDR_CHUNKS]
    # iCCP goes in as the 16-bit writer writes it, under the input's own profile name (Pillow names every one
    # "ICC Profile"); Pillow is told to write none (_metadata_params dropped a grey profile on colour already)
    hdr = [iccp_chunk(like.icc_profile, like.extra), *hdr] if fits and like.icc_profile else hdr
    for cid, data in colour:
        if cid.decode() not in HDR_CHUNKS:
            info.add(cid, data)
    for cid, data in text_chunks(t.text, like.extra.get("png_text")):
        info.add(cid, data)
    if like.xmp:
        info.add_itxt("XML:com.adobe.xmp", like.xmp.decode("utf-8", "replace"))
    params = {"pnginfo": info, "optimize": False, "compress_level": 6, "icc_profile": None}
    return insert_after_ihdr(_pillow(arr, like, t, params), hdr)


def _write_tiff(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    compression, why = tiff_compression(like)
    if compression in ("lzw", "packbits") and arr.shape[2] == 2 and arr.dtype == np.uint16:
        # 16-bit grey+alpha is read back by our own reader, which knows Deflate only: said, not done silently
        why = f"TIFF {compression} compression not kept for 16-bit grey+alpha: written with Deflate (lossless)"
        compression = "deflate"
    t.notes += [why] if why else []
    # a JPEG's IPTC and Photoshop resources, and a PNG's text, have TIFF tags of their own
    extra = {**photoshop_entries(like.extra.get("photoshop") or b""), **t.tiff_text}
    data = encode_tiff(arr, like, t.exif, compression, extra=extra)
    head = tiff_file_head(data[:16])
    if head is not None and head[2] and not like.extra.get("bigtiff"):
        t.notes.append("written as BigTIFF: the file is over classic TIFF's 4 GB")
    return data


def _write_webp(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    lossless = bool(like.extra.get("lossless")) and like.format == "WEBP"
    # exact: keep the colour under fully transparent pixels, so alpha really passes through untouched
    params = {"lossless": lossless, "quality": 80 if lossless else t.quality, "method": 4, "exact": True}
    return _pillow(arr, like, t, params)


def _write_avif(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    """AVIF through Pillow, whose encoder tags every picture sRGB: a picture the input's code points describe
    (Display P3, BT.2020 PQ) gets their primaries and transfer in the box written (:func:`.carryover.avif_tagged`)."""
    return avif_tagged(_pillow(arr, like, t, {"quality": t.quality}), like, t.notes)


def _write_heic(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    """HEIC through pillow-heif's own API (:func:`.heif.encode_heif`): 16-bit pixels at 10 or 12 bits, and the
    input's colours, HDR properties and chroma subsampling (:func:`.carryover.heic_colour`)."""
    params = {**_metadata_params(arr, like, t), "quality": t.quality, **heic_colour(like)}
    return encode_heif(arr, _heif_bits(like), params)


def _write_plain(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    """BMP and PPM/PGM: pixels (and a BMP's DPI) only, nothing to choose."""
    return _pillow(arr, like, t, {})


#: Output format (Pillow's name) → its writer.
_WRITERS: dict[str, Callable[[np.ndarray, LoadedImage, _Target], bytes]] = {
    "JPEG": _write_jpeg,
    "PNG": _write_png,
    "TIFF": _write_tiff,
    "WEBP": _write_webp,
    "AVIF": _write_avif,
    "HEIF": _write_heic,
    "BMP": _write_plain,
    "PPM": _write_plain,
}


def _text_note(text: dict[str, Any], name: str) -> str:
    """``PNG text (Title, Author, Description and 1 more) cannot be stored in JPEG; dropped``."""
    keys = list(text)
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"PNG text ({', '.join(keys[:3])}{more}) cannot be stored in {name}; dropped"


def _input_format_extras(
    like: LoadedImage, fmt: str, arr: np.ndarray, quality: Quality, notes: list[str]
) -> LoadedImage:
    """Notes for what only a JPEG output keeps (extended XMP; APP13, which a TIFF keeps in tags of its own), and
    ``like`` with its XMP no longer pointing at an extended XMP that is not written; then what the output carries
    over of the input's colours and of what follows a JPEG's picture, or says it cannot, and the XMP instance
    that the pixels ``arr`` written at ``quality`` are (:func:`.carryover.carry_over`)."""
    name = FORMAT_NAME[fmt]
    extra = like.extra
    # a TIFF's Photoshop resources are kept as a JPEG's APP13 is, and named as the TIFF holds them
    block = "the Photoshop resources (TIFF tag 34377)" if like.format == "TIFF" else "the IPTC block (APP13)"
    if extra.get("photoshop_thumbnail") and (fmt in _HOLDS_APP13 or not extra.get("photoshop")):
        notes.append(f"Photoshop thumbnail in {block} removed (it showed the original)")
    if fmt not in _HOLDS_APP13 and extra.get("photoshop"):
        what = "Photoshop resources (TIFF tag 34377)" if like.format == "TIFF" else "IPTC/Photoshop block (APP13)"
        notes.append(f"{what} cannot be stored in {name}; dropped")
    extensions = extra.get("xmp_extension")
    if fmt != "JPEG" and extensions:
        size = sum(len(ext) for ext in extensions)
        notes.append(f"extended XMP ({size_text(size)}) cannot be stored in {name}; dropped")
        if like.xmp:
            like = dataclasses.replace(like, xmp=without_extended_xmp_pointer(like.xmp))
    icc_kept = fmt in _HOLDS_METADATA and icc_fits(like, arr.shape[2])
    settings = f"quality {quality}" if fmt in _QUALITY_FORMATS else ""  # a lossless format's bytes ignore it
    return carry_over(like, fmt, icc_kept, notes, arr, settings)


#: The formats whose encoding ``--quality`` changes: only these put it in an output's InstanceID
#: (:func:`.carryover._output_digest`), so that ``--quality 80`` does not give a PNG another ID for the same bytes.
_QUALITY_FORMATS = frozenset({"JPEG", "WEBP", "AVIF", "HEIF"})


def _component_tables(extra: dict[str, Any], channels: int) -> list[list[int]] | None:
    """The input JPEG's quantisation tables in component order, as Pillow's encoder takes them.

    Pillow gives component i the i-th table of ``qtables`` (and the last table to any component beyond), but
    a JPEG's table ids need not follow its components (Cb and Cr share table 1, or a writer numbered them
    otherwise), so each component gets the table its SOF named. Components at the end that repeat the table
    before them are left to Pillow's "last table" rule, so the usual layout is written with the input's own
    tables. Without that record (an older load), tables go by id, the usual layout.
    """
    tables: dict[int, list[int]] = extra.get("qtables") or {}
    if not 0 < len(tables) < 5:
        return None
    used = extra.get("qtable_of_component") or []
    if not used or not all(tq in tables for tq in used):
        return [list(tables[key]) for key in sorted(tables)]
    used = list(used[: max(1, channels)])
    while len(used) > 1 and used[-1] == used[-2]:  # [0, 1, 1] → tables 0 and 1, as the input had them
        used.pop()
    return [list(tables[tq]) for tq in used]


def _coarser_note(extra: dict[str, Any], quality: int) -> str | None:
    """The note for a JPEG re-encoded with tables clearly coarser than its own (a quality-100 master at the
    default 95, say): its luminance table sums to under 0.8× the one ``quality`` gives. The input's quality
    is estimated as the IJG quality whose luminance table sum is nearest to its own."""
    tables: dict[int, list[int]] = extra.get("qtables") or {}
    used = extra.get("qtable_of_component") or []
    if not tables:
        return None
    luma = tables.get(used[0] if used else min(tables))  # the first component's: Y, or the grey
    if not luma or len(luma) != 64:
        return None
    own = sum(luma)
    about = min(_IJG_LUMA_SUM, key=lambda q: (abs(_IJG_LUMA_SUM[q] - own), -q))
    if own >= 0.8 * _IJG_LUMA_SUM[quality] or about < quality + 2:  # one IJG step near the top is ~20 %
        return None
    return f"re-encoded at quality {quality}, coarser than the input's (about q{about}); --quality keep keeps its own"


def _jpeg_tables(
    like: LoadedImage, fmt: str, quality: Quality, channels: int, notes: list[str]
) -> tuple[int, list[list[int]] | None]:
    """(quality, quantisation tables): ``"keep"`` re-encodes a JPEG with its own tables, so it neither
    loses quality nor grows; anything else written with ``"keep"`` gets :data:`DEFAULT_QUALITY`. A number
    that makes a JPEG's tables clearly coarser is said in a note, with the way to keep them."""
    jpeg_to_jpeg = fmt == "JPEG" and like.format == "JPEG"
    if quality != "keep":
        note = _coarser_note(like.extra, int(quality)) if jpeg_to_jpeg else None
        notes += [note] if note else []
        return int(quality), None
    if jpeg_to_jpeg and len(like.extra.get("qtable_of_component") or []) > 3:  # CMYK/YCCK: K's tables on chroma
        notes.append(f"--quality keep: a {like.mode} JPEG's tables do not fit an RGB one; written at {DEFAULT_QUALITY}")
        return DEFAULT_QUALITY, None
    return DEFAULT_QUALITY, _component_tables(like.extra, channels) if jpeg_to_jpeg else None


def _encode(pixels: np.ndarray, like: LoadedImage, fmt: str, quality: Quality) -> tuple[bytes, list[str]]:
    """Encode to bytes in memory, so the file system only ever sees a complete file."""
    notes: list[str] = []
    planes, depth = _planes(pixels, like, fmt, notes)
    if like.orientation != 1 and fmt not in _HOLDS_METADATA:
        # The tag that turns the picture upright in a viewer is lost with the EXIF: turn the pixels instead.
        planes = to_upright(planes, like.orientation)
        notes.append(f"turned upright: {FORMAT_NAME[fmt]} cannot store the EXIF orientation")
    arr = _to_uint(planes, depth)
    exif = _exif(like, fmt, arr, notes)
    text = like.extra.get("text") or {}
    tiff_text: Ifd = {}
    if text and fmt == "TIFF":  # Description, Author, Copyright and Software have TIFF tags
        tiff_text, rest, differ = text_entries(text, exif)
        notes += [_text_note({key: text[key] for key in rest}, FORMAT_NAME[fmt])] if rest else []
        notes += differ
    elif text and fmt != "PNG":
        notes.append(_text_note(text, FORMAT_NAME[fmt]))
    like = _input_format_extras(like, fmt, arr, quality, notes)
    value, qtables = _jpeg_tables(like, fmt, quality, arr.shape[2], notes)
    target = _Target(fmt, value, exif, text, notes, qtables, tiff_text)
    return _WRITERS[fmt](arr, like, target), notes


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    like: LoadedImage,
    *,
    format: str | None = None,
    quality: Quality = DEFAULT_QUALITY,
) -> SavedImage:
    """Write ``pixels`` (H×W×C float in [0, 1]) atomically, in ``like``'s format, depth and metadata.

    The file appears under its final name complete or not at all: we encode in memory, write a hidden
    temporary file in the same folder, fsync it and ``os.replace`` it into place. Alpha, ICC, XMP and
    EXIF (with a thumbnail of the *output*) come from ``like``. ``format`` (``"png"``, ``"JPEG"``, ...)
    converts; the returned :class:`SavedImage` lists what the target could not keep. ``quality`` is 1-100,
    or ``"keep"``: a JPEG written as JPEG is re-encoded with its own quantisation tables and subsampling
    (neither worse nor bigger); other inputs and outputs get :data:`DEFAULT_QUALITY`. Raises
    :class:`OutputError`.
    """
    dest = Path(path)
    wanted = format or like.format or dest.suffix
    if not wanted:
        raise OutputError(f"{dest}: no output format given and none can be told from the name")
    try:
        fmt = normalise_format(wanted)
    except OutputError as exc:
        raise OutputError(f"{dest}: {exc}") from None
    try:
        checked = check_quality(quality)
    except ValueError as exc:  # as --quality and restore_file
        raise OutputError(f"{dest}: {exc}") from None
    try:
        data, notes = _encode(np.asarray(pixels, dtype=np.float32), like, fmt, checked)
    except MemoryError:
        raise OutputOutOfMemory(f"{dest}: {_no_memory(fmt)}") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise _encode_error(dest, fmt, exc, np.shape(pixels)) from None
    if fmt != "JPEG" or not write_with_trailer(dest, data, like):
        atomic_write(dest, data)
    return SavedImage(path=dest, format=fmt, notes=notes)


#: The longest side a JPEG holds (libjpeg's JPEG_MAX_DIMENSION).
_JPEG_MAX_SIDE = 65500


def _no_memory(fmt: str) -> str:
    """The reason of an output that ran out of memory while encoded: the stage, and what helps (the process's own
    limit where one is set: "close other programs" frees nothing under ``ulimit -v``)."""
    return f"not enough memory to encode the {FORMAT_NAME[fmt]} output; {memory_advice()}"


def _encode_error(dest: Path, fmt: str, exc: BaseException, shape: tuple[int, ...]) -> OutputError:
    """The error of an encoder that failed (:func:`_encode_failure`): an :class:`~weatherclean.errors.OutputOutOfMemory`
    where memory is the cause, which a batch counts with the photos that ran out, else an :class:`OutputError`."""
    reason, memory = _encode_failure(fmt, exc, shape)
    return (OutputOutOfMemory if memory else OutputError)(f"{dest}: {reason}")


def _encode_failure(fmt: str, exc: BaseException, shape: tuple[int, ...]) -> tuple[str, bool]:
    """The reason an encoder failed, in words a user can act on, and whether memory is the cause.

    Pillow reports a codec that ran out of memory as ``out of memory error when writing image file``, and any
    libjpeg failure, "Insufficient memory" among them, as ``broken data stream when writing image file`` (libjpeg's
    own words go to stderr): an encoder is handed whole pixels, so for a JPEG within its size limit memory is the
    one likely cause; over it (65 500 px a side) the format is."""
    text = " ".join(str(exc).split())
    if "out of memory" in text.lower() or "insufficient memory" in text.lower():
        return _no_memory(fmt), True
    if fmt == "JPEG" and "broken data stream" in text:
        if max(shape[:2], default=0) > _JPEG_MAX_SIDE:
            return (
                f"cannot encode JPEG: it holds at most {_JPEG_MAX_SIDE} px a side, this picture is "
                f"{shape[1]}×{shape[0]}; write PNG or TIFF (--format png)"
            ), False
        return f"{_no_memory(fmt)} (the JPEG encoder failed: {text})", True
    return f"cannot encode {FORMAT_NAME[fmt]} ({text})", False
