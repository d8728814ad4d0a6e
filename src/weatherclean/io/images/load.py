"""Reading a photo as stored (no EXIF rotation) with everything needed to write it back the same.

Each format's own details (JPEG subsampling, PNG text, TIFF compression, WebP losslessness, ...) are
read by one small function in :data:`_FORMAT_META`; everything else is shared. Every failure is one
line that names the file and says what to do. :func:`read_rgb` is the same reader for pictures that are
only looked at (synthesis, training, evaluation): three float32 channels, optionally turned upright.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from weatherclean.errors import ImageOutOfMemory, InputError, WeathercleanError, memory_advice
from weatherclean.io import media
from weatherclean.io.folders import check_input_file
from weatherclean.io.images import jpegsegments, opener
from weatherclean.io.images.formats import SUPPORTED_FORMATS, avif_available, frame_unit, normalise_format
from weatherclean.io.images.heif import auxiliary_name, auxiliary_names, read_deep_heif
from weatherclean.io.images.motion import HEIF_MOTION_NOTE, has_heif_motion_video
from weatherclean.io.images.nclx import HDR_PROPERTIES, avif_facts, nclx_of
from weatherclean.io.images.pixels import read_wide, to_float, unit_float, wide_kind
from weatherclean.io.images.pngchunks import read_png_chunks
from weatherclean.io.images.records import LoadedImage
from weatherclean.io.images.tiff import (
    TiffMetadata,
    read_tiff_grey_alpha16,
    tiff_file_head,
    tiff_metadata,
    unreadable_tiff,
)
from weatherclean.io.images.trailer import find_trailer
from weatherclean.io.orientation import exif_orientation, to_stored, to_upright

__all__ = ["load_image", "read_rgb", "three_channels", "webp_lossless"]


@dataclass
class _Meta:
    """What a file says besides its pixels, gathered before decoding them."""

    exif: bytes | None
    icc: bytes | None
    xmp: bytes | None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    orientation: int = 1


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value or None
    if isinstance(value, str):
        return value.encode("utf-8") or None
    if isinstance(value, tuple | list) and all(isinstance(v, int) for v in value):
        return bytes(value) or None
    return None


def _raw_profile(text: Any) -> bytes | None:
    """ImageMagick's PNG ``Raw profile type exif/xmp`` text chunk: ``\\nname\\n  length\\nhex...``."""
    parts = str(text).split()
    try:
        length = int(parts[1])
        data = bytes.fromhex("".join(parts[2:]))[:length]
    except (IndexError, ValueError):
        return None
    return data or None


def webp_lossless(path: Path) -> bool:
    """True when the (first frame's) bitstream is VP8L: that file was saved lossless and should stay so (and, of two
    files of one name, is the one to score: :func:`~weatherclean.data.pairing.lossy`). Opened as
    Pillow's was (:func:`~weatherclean.io.images.opener.open_regular`): a FIFO put there since must not hang."""
    with opener.open_regular(path) as fh:
        if fh.read(12)[8:12] != b"WEBP":
            return False
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return False
            fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
            if fourcc in (b"VP8L", b"VP8 "):
                return fourcc == b"VP8L"
            if fourcc == b"ANMF":  # frame header (16 bytes), then the frame's own chunks
                fh.seek(16, os.SEEK_CUR)
                continue
            fh.seek(size + (size & 1), os.SEEK_CUR)


# ------------------------------------------------------------------------------ per-format metadata


def _jpeg_sampling(im: Image.Image) -> int:
    """Pillow's subsampling code (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, -1 = other) of a JPEG, CMYK and YCCK too.

    Pillow reports -1 for any four-component JPEG, so a CMYK master saved at full colour resolution (every
    component 1×1) came back as 4:2:0 RGB; its first three components tell how finely its colour was kept.
    """
    from PIL import JpegImagePlugin

    layers = getattr(im, "layer", None) or []
    if len(layers) != 4:
        return JpegImagePlugin.get_sampling(im)
    factors = [tuple(layer[1:3]) for layer in layers[:3]]
    if len(set(factors)) == 1:  # every colour component sampled alike: nothing subsampled
        return 0
    return JpegImagePlugin.samplings.get(factors[0] + factors[1] + factors[2], -1)


def _jfif(im: Image.Image, info: dict[str, Any], meta: _Meta) -> None:
    """The JFIF header's units and density (``extra["jfif"]``), which a JPEG output gets back as they were
    (:func:`.jpegsegments.with_jfif`), and the dpi only where the file gives one.

    Why: Pillow reports 72 dpi for a JPEG whose JFIF header says "no units" (a 1:1 pixel aspect ratio, not a size)
    and whose EXIF names no resolution, and writes that as the output's JFIF density: the header changed from
    "no units, 1:1" to "72 dpi" (and a PNG or TIFF output claimed 72 dpi too)."""
    unit, density = info.get("jfif_unit"), info.get("jfif_density")
    if isinstance(unit, int) and isinstance(density, tuple) and len(density) == 2:
        meta.extra["jfif"] = (unit, (int(density[0]), int(density[1])))
    if unit not in (1, 2) and not _exif_resolution(im):
        meta.extra.pop("dpi", None)


def _exif_resolution(im: Image.Image) -> bool:
    """Whether a JPEG's EXIF gives its resolution (XResolution, a number above 0, and ResolutionUnit), the one
    other place Pillow takes a dpi from; it says 72 where the EXIF does not."""
    with contextlib.suppress(Exception):
        exif = im.getexif()
        x = float(exif[0x011A])
        return 0x0128 in exif and 0 < x < float("inf")
    return False


def _jpeg_meta(im: Image.Image, p: Path, info: dict[str, Any], meta: _Meta) -> None:
    _jfif(im, info, meta)
    with contextlib.suppress(Exception):
        meta.extra["subsampling"] = _jpeg_sampling(im)
    with contextlib.suppress(Exception):  # for --quality keep: the input's own quantisation tables
        meta.extra["qtables"] = {int(k): list(v) for k, v in im.quantization.items()}  # type: ignore[attr-defined]
        # and which one each component used (SOF: id, h, v, table), as table ids need not follow components
        meta.extra["qtable_of_component"] = [int(layer[3]) for layer in im.layer]  # type: ignore[attr-defined]
    meta.extra["progressive"] = bool(info.get("progressive") or info.get("progression"))
    if info.get("comment"):
        meta.extra["comment"] = info["comment"]
    applist: list[tuple[str, bytes]] = list(getattr(im, "applist", []))
    photoshop = jpegsegments.photoshop_block(applist)
    if photoshop is None:
        meta.notes.append("IPTC/Photoshop block (APP13) not kept; XMP and EXIF are")  # not a block we can read
    elif photoshop[0] or photoshop[1]:
        meta.extra["photoshop"], meta.extra["photoshop_thumbnail"] = photoshop
    if extensions := jpegsegments.xmp_extensions(applist):
        meta.extra["xmp_extension"] = extensions
    if unkept := jpegsegments.unkept_segments(applist):
        meta.notes.append(f"JPEG segments not kept: {', '.join(unkept)}")
    if (trailer := find_trailer(p, meta.xmp)) is not None:  # what follows the picture: a gain map, a motion photo
        meta.extra["trailer"] = trailer
        if trailer.pictures and int(getattr(im, "n_frames", 1) or 1) == 1:  # a gain map without MPF: said as for MPO
            meta.notes.append(_frames_note("JPEG", 1 + trailer.pictures))


def _png_meta(im: Image.Image, p: Path, info: dict[str, Any], meta: _Meta) -> None:
    meta.extra.update(read_png_chunks(p))  # colour chunks and how each text was stored, for the PNG writers
    ihdr = meta.extra.get("png_ihdr")
    if "transparency" in info and ihdr and ihdr[1] in (0, 2):
        # A grey or RGB picture's tRNS makes one exact colour transparent. Restoration changes exact colours:
        # kept, it would punch holes wherever a restored pixel happened to land on that colour, and none where
        # the transparent ones moved off it. (A palette's tRNS becomes an alpha channel, and stays.)
        meta.notes.append("PNG transparent colour (tRNS) dropped: restored colours no longer match it exactly")
    text = dict(getattr(im, "text", None) or {})
    text.pop("XML:com.adobe.xmp", None)
    raw_exif = text.pop("Raw profile type exif", None)
    raw_exif = text.pop("Raw profile type APP1", None) or raw_exif
    raw_xmp = text.pop("Raw profile type xmp", None)
    meta.exif = meta.exif or (_raw_profile(raw_exif) if raw_exif else None)
    meta.xmp = meta.xmp or (_raw_profile(raw_xmp) if raw_xmp else None)
    meta.extra["text"] = text


def _tiff_meta(_im: Image.Image, p: Path, info: dict[str, Any], meta: _Meta) -> None:
    tiff = tiff_metadata(p, meta.notes)
    if tiff.unreadable:  # signed or float samples Pillow opened anyway: a wrong picture, or a wrong reason
        raise InputError(f"{p}: {tiff.unreadable}")
    if tiff.truncated:  # before libtiff reads past the end (and prints its own errors on stderr)
        raise InputError(f"{p}: {tiff.truncated}")
    meta.exif, meta.orientation = tiff.exif, tiff.orientation
    meta.icc, meta.xmp = meta.icc or tiff.icc, meta.xmp or tiff.xmp
    meta.extra.update(_tiff_extra(tiff))
    meta.extra["compression"] = str(info.get("compression") or "raw")


def _tiff_extra(tiff: TiffMetadata) -> dict[str, Any]:
    """What a TIFF output needs to know of a TIFF input: that it was BigTIFF (so the output is again), and its
    Photoshop resources, kept as a JPEG's APP13 is (``photoshop``, ``photoshop_thumbnail``); and what ``--in-place``
    must not lose (:func:`~weatherclean.batch.handlers.in_place_loss`): its extra channels (``extra_channels``, the
    ExtraSamples values of a saved selection) and its Photoshop layers (``photoshop_layers``)."""
    extra: dict[str, Any] = {"bigtiff": True} if tiff.big else {}
    if tiff.photoshop or tiff.photoshop_thumbnail:
        extra["photoshop"], extra["photoshop_thumbnail"] = tiff.photoshop or b"", tiff.photoshop_thumbnail
    if tiff.extra_channels:
        extra["extra_channels"] = tiff.extra_channels
    if tiff.photoshop_layers:
        extra["photoshop_layers"] = True
    return extra


def _webp_meta(_im: Image.Image, p: Path, _info: dict[str, Any], meta: _Meta) -> None:
    meta.extra["lossless"] = webp_lossless(p)


def _heif_motion(p: Path, meta: _Meta) -> None:
    """A HEIC or AVIF motion photo: its video is not kept, so say so (and ``--in-place`` refuses it)."""
    if has_heif_motion_video(p, meta.xmp):
        meta.extra["motion_lost"] = True
        meta.notes.append(HEIF_MOTION_NOTE)


def _avif_meta(_im: Image.Image, p: Path, _info: dict[str, Any], meta: _Meta) -> None:
    _heif_motion(p, meta)
    facts = avif_facts(p)
    if facts.bits > 8:
        meta.notes.append(f"{facts.bits}-bit AVIF read as 8-bit (Pillow decodes AVIF at 8 bits)")
        meta.extra["bits"] = facts.bits  # so --in-place refuses it: the file would lose those bits for good
    if facts.nclx is not None:  # the colour space Pillow neither reports nor writes (weatherclean.io.images.nclx)
        meta.extra["nclx"] = facts.nclx
    _auxiliary("AVIF", list(dict.fromkeys(map(auxiliary_name, facts.auxiliary))), meta)


def _auxiliary(name: str, auxiliary: list[str], meta: _Meta) -> None:
    """A HEIC's or AVIF's auxiliary images (a depth map, a gain map, mattes): no writer here keeps them, so a note
    says so, and ``--in-place`` refuses the file (:func:`~weatherclean.batch.handlers.in_place_loss`)."""
    if auxiliary:
        meta.extra["heif_auxiliary"] = auxiliary
        meta.notes.append(f"{name} {_listed(auxiliary)} not kept: weatherclean cannot write auxiliary images; dropped")


def _heif_meta(_im: Image.Image, p: Path, info: dict[str, Any], meta: _Meta) -> None:
    _heif_motion(p, meta)
    if (nclx := nclx_of(info.get("nclx_profile"))) is not None:
        meta.extra["nclx"] = nclx
    if hdr := {key: info[key] for key in HDR_PROPERTIES if info.get(key) is not None}:  # 0 is a valid luminance
        meta.extra["heif_hdr"] = hdr
    _auxiliary("HEIC", auxiliary_names(info), meta)  # pillow-heif cannot write them
    if (bits := int(info.get("bit_depth") or 8)) > 8:
        meta.extra["bits"] = bits  # decoded at its own depth (_decode_wide), and written back at it
    if info.get("chroma") in (420, 422, 444):
        meta.extra["chroma"] = int(info["chroma"])  # its chroma subsampling, kept HEIC → HEIC as a JPEG's is


#: Format details kept for :func:`save_image` or told to the user. BMP and PPM have none beyond the DPI.
_FORMAT_META: dict[str, Callable[[Image.Image, Path, dict[str, Any], _Meta], None]] = {
    "JPEG": _jpeg_meta,
    "PNG": _png_meta,
    "TIFF": _tiff_meta,
    "WEBP": _webp_meta,
    "AVIF": _avif_meta,
    "HEIF": _heif_meta,
}


# --------------------------------------------------------------------------------------------- loading


def _frames_note(fmt: str, n: int) -> str:
    """Only the first frame is processed (the API is one picture per file); say so instead of hiding it."""
    what, unit = frame_unit(fmt)
    return f"{what}: only {unit} 1 of {n} processed; other {unit}s dropped"


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _check_file(p: Path) -> None:
    """Refuse folders, missing and empty files, and HEIC without the extra, before Pillow sees them."""
    check_input_file(p, "an image file")
    if p.suffix.lower() in (".heic", ".heif") and not media.heif_ready():
        raise InputError(f"{p}: HEIC/HEIF photos need the optional extra: {media.HEIF_EXTRA_HINT}")


#: The formats to give instead of one that is not supported.
_USE_INSTEAD = "use JPEG, PNG, TIFF, WebP, AVIF, HEIC or BMP"

#: Why a file Pillow does not recognise cannot be read, by what its first bytes say it is.
_UNREADABLE: dict[str, str] = {
    # Pillow opens 8-bit RGB PSDs only (refused by _format_of, in these words); a 16-bit one was "not an image"
    "PSD": f"PSD images are not supported; {_USE_INSTEAD}",
    "HEIF": f"HEIC/HEIF photos need the optional extra: {media.HEIF_EXTRA_HINT}",
    "AVIF": "AVIF needs Pillow built with AVIF support: pip install -U pillow",
    "TIFF": "unsupported TIFF layout; re-save it as PNG or as a plain 8/16-bit TIFF",
    # named like a photo (a photo's ending is what sent it here): renamed, the commands read it as a video
    "video": "holds a video, not a photo; give it a video ending (such as .mp4) and the commands read it as one",
}


def _not_pillow(p: Path) -> LoadedImage:
    """A file Pillow does not recognise: our own 16-bit grey+alpha TIFF reader, else why it cannot be read."""
    fallback = _load_tiff_grey_alpha16(p)
    if fallback is not None:
        return fallback
    samples = unreadable_tiff(p)  # a float TIFF, a cut-short one: say what to do
    if samples is not None:
        raise InputError(f"{p}: {samples}")
    kind = media.sniff(p)
    if kind is None:
        with opener.open_regular(p) as fh:  # never blocks on a FIFO put there since Pillow looked
            head = fh.read(16)
        kind = "TIFF" if tiff_file_head(head) is not None else None  # a BigTIFF Pillow cannot read
        kind = "PSD" if head.startswith(b"8BPS") else kind  # Photoshop's own format (PSB too), at any depth
    if kind is None and p.suffix.lower() == ".avif":
        kind = "AVIF"
    if (kind == "HEIF" and media.heif_ready()) or (kind == "AVIF" and avif_available()):
        kind = None  # the decoder is there, so the file itself is damaged
    raise InputError(f"{p}: {_UNREADABLE.get(kind or '', 'not an image (unrecognised file contents)')}")


def _format_of(p: Path, im: Image.Image, notes: list[str]) -> tuple[str, int]:
    """(format, frame count) of an opened file; unsupported formats and misleading names are told."""
    fmt = im.format or ""
    if fmt == "MPO":  # multi-picture JPEG from some cameras: the first frame is the photo
        fmt = "JPEG"
    if fmt not in SUPPORTED_FORMATS:
        what = fmt or "unknown"
        raise InputError(f"{p}: {what} images are not supported; {_USE_INSTEAD}")
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        notes.append(_frames_note(fmt, frames))
    with contextlib.suppress(WeathercleanError):  # a name that lies about the contents
        named = normalise_format(p.suffix.lstrip("."))
        if named != fmt:
            # Ends with what the commands do (their output keeps the input's format and name);
            # ``Restorer.restore_file``, whose ``dst`` picks the format, replaces the end with what it did.
            notes.append(f"{misnamed_note(p.suffix, fmt)}; written as {fmt} under the same name")
    return fmt, frames


def misnamed_note(suffix: str, fmt: str) -> str:
    """How the note on a file whose ending ``suffix`` names another format than the ``fmt`` it holds begins: shared,
    so that a caller that writes it otherwise than the commands (``restore_file``) finds the note and says what it
    did, not what the commands would have done."""
    return f"named {suffix} but holds a {fmt} image"


def _metadata(p: Path, im: Image.Image, fmt: str, notes: list[str]) -> _Meta:
    info = dict(im.info)
    meta = _Meta(
        exif=_as_bytes(info.get("exif")),
        icc=_as_bytes(info.get("icc_profile")),
        xmp=_as_bytes(info.get("xmp") or info.get("XML:com.adobe.xmp")),
        notes=notes,
    )
    # Pillow reports dpi (1, 1) for a TIFF without resolution tags; writing that back would claim a
    # photo is hundreds of inches wide, so TIFF resolution counts only when the tags are there.
    has_resolution = fmt != "TIFF" or 282 in getattr(im, "tag_v2", {})
    if "dpi" in info and has_resolution:
        meta.extra["dpi"] = info["dpi"]
    reader = _FORMAT_META.get(fmt)
    if reader is not None:
        reader(im, p, info, meta)
    return meta


@dataclass
class _Decoded:
    """A file opened with Pillow: its pixels, unless they are above what Pillow holds, which ``wide`` (16-bit PNG
    and TIFF, :func:`read_wide`'s kind) or ``deep_heif`` (a 10- or 12-bit HEIC, :func:`read_deep_heif`) says are
    decoded apart. ``mode`` is the mode Pillow gives the file (``RGB`` for 16-bit colour too: ``depth`` says)."""

    fmt: str
    frames: int
    mode: str
    meta: _Meta
    wide: str | None
    pixels: np.ndarray | None = None
    alpha: np.ndarray | None = None
    depth: int = 8
    deep_heif: bool = False


def _decode(p: Path, im: Image.Image) -> _Decoded:
    """Format, metadata and (unless Pillow cannot hold its depth) the pixels of an opened file."""
    notes: list[str] = []
    with im:
        fmt, frames = _format_of(p, im, notes)
        mode = im.mode
        wide = wide_kind(im) if fmt in ("PNG", "TIFF") else None
        # 10/12 bits: pillow-heif's own API, not Pillow's 8-bit plugin (weatherclean.io.images.heif)
        deep_heif = fmt == "HEIF" and int(im.info.get("bit_depth") or 8) > 8
        meta = _metadata(p, im, fmt, notes)
        if not deep_heif:  # a deep HEIC is decoded once, by _decode_deep_heif
            with opener.pillow_pixel_limit():
                im.load()
        out = _Decoded(fmt, frames, mode, meta, wide, deep_heif=deep_heif)
        if not wide and not deep_heif:
            out.pixels, out.alpha, out.depth, meta.icc = to_float(im, meta.icc, notes)
    return out


def _decode_deep_heif(p: Path, out: _Decoded) -> None:
    """Fill in a 10/12-bit HEIC's pixels at 16 bits (:func:`read_deep_heif`): alpha, when there is one, last."""
    try:
        pixels, bits = read_deep_heif(p)
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        raise InputError(f"{p}: {opener.reason(exc)}") from None
    colour = 1 if pixels.shape[2] in (1, 2) else 3
    out.pixels = np.ascontiguousarray(pixels[..., :colour])
    out.alpha = np.ascontiguousarray(pixels[..., colour]) if pixels.shape[2] > colour else None
    out.depth = 16 if bits > 8 else 8


def _decode_wide(p: Path, out: _Decoded) -> None:
    """Fill in 16-bit pixels Pillow could not hold (see :func:`read_wide`)."""
    try:
        raw = read_wide(p, out.wide or "")
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
        raise InputError(f"{p}: {opener.reason(exc)}") from None
    if raw is None and out.wide == "planar":
        raise InputError(
            f"{p}: a compressed 16-bit TIFF stored plane by plane (PlanarConfiguration 2) is not supported; "
            "re-save it interleaved (chunky) or as 16-bit PNG"
        )
    if raw is None:
        raise InputError(f"{p}: unsupported 16-bit colour layout; convert it to 8-bit or 16-bit PNG")
    scaled = unit_float(raw, 65535.0)
    colour = 1 if out.wide == "grey_alpha" else 3
    out.mode = "LA;16" if out.wide == "grey_alpha" else out.mode
    out.pixels, out.depth = scaled[..., :colour], 16
    out.alpha = scaled[..., colour] if raw.shape[-1] == colour + 1 else None


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode a photo as stored (no EXIF rotation) with its metadata; :class:`InputError` if unusable.

    Pillow's warnings raised meanwhile ("Corrupt EXIF data", "Truncated File Read") are the program's to filter,
    as its other warnings are (docs/api.md, "Warning filters"): what matters of them is in the one-line error or the
    notes. The ``weatherclean`` command hides them (:func:`~weatherclean.io.pillow_warnings.quiet_pillow`), since a
    warning printed first on stderr, with a path into Pillow, was what a program showing stderr's first line (a
    photo editor's external-editor hook) showed. libtiff's own messages go to the C stderr, out of Python's reach;
    a file cut short is refused before libtiff reads it.
    """
    return _load(Path(path))


def _load(p: Path) -> LoadedImage:
    """:func:`load_image` on a :class:`~pathlib.Path`."""
    _check_file(p)
    try:
        im: Image.Image | None = opener.open_or_explain(p)
    except opener.NotPillow:
        im = None
    try:  # every path allocates whole pictures: ours for 16-bit and deep HEIC, Pillow's, the turn back to as stored
        if im is None:
            return _not_pillow(p)
        try:
            out = _decode(p, im)
        except WeathercleanError:
            raise
        except Image.DecompressionBombError as exc:
            raise InputError(f"{p}: over the {opener.max_pixels() / 1e6:.0f} MP safety limit ({exc})") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError) as exc:
            raise InputError(f"{p}: {opener.reason(exc)}") from None
        return _finish(p, out)
    except MemoryError:
        raise ImageOutOfMemory(f"{p}: {NO_MEMORY}; {memory_advice()}") from None


#: How the reason of a photo that ran out of memory while it was decoded (whichever path decoded it) begins; what to
#: do follows (:func:`~weatherclean.errors.memory_advice`: the process's own limit, where one is set).
NO_MEMORY = "not enough memory to decode this image"


def _finish(p: Path, out: _Decoded) -> LoadedImage:
    """A decoded file's :class:`LoadedImage`: its 16-bit or deep-HEIC pixels read (:func:`_decode_wide`,
    :func:`_decode_deep_heif`), as stored."""
    if out.deep_heif:
        _decode_deep_heif(p, out)
    elif out.wide:
        _decode_wide(p, out)
    assert out.pixels is not None
    pixels, alpha, meta = out.pixels, out.alpha, out.meta
    if meta.orientation != 1:  # Pillow turned a TIFF upright on load: back to as stored
        pixels = to_stored(pixels, meta.orientation)
        alpha = None if alpha is None else to_stored(alpha, meta.orientation)
    return LoadedImage(
        path=p, pixels=np.ascontiguousarray(pixels), bit_depth=out.depth, format=out.fmt, mode=out.mode,
        alpha=alpha, exif=meta.exif, icc_profile=meta.icc, xmp=meta.xmp, extra=meta.extra, notes=meta.notes,
        frames=out.frames, orientation=meta.orientation if meta.orientation != 1 else exif_orientation(meta.exif),
    )  # fmt: skip


def read_rgb(path: Path | str, *, upright: bool = False) -> np.ndarray:
    """Read an image as HxWx3 float32 in [0, 1], through :func:`load_image`, the one reader the CLI uses.

    Greyscale is repeated to three channels; 16-bit files keep their 16 bits of precision; transparency
    is dropped (composited on nothing), since the models work on opaque photos.

    Pixels are as stored by default (no EXIF rotation): the rainy and the clean picture of a pair are
    then read alike whatever tags each carries (a pair must never be turned on one side only). With
    ``upright`` a photo is turned as a viewer shows it (EXIF orientation, :mod:`weatherclean.io.orientation`):
    for a single clean photo that weather is drawn on, so that rain and snow fall down a phone's portrait
    photo and not across it. Raises :class:`InputError` with a one-line reason that names the file.
    """
    loaded = load_image(path)
    return three_channels(to_upright(loaded.pixels, loaded.orientation) if upright else loaded.pixels)


def three_channels(pixels: np.ndarray) -> np.ndarray:
    """A decoded picture's H×W×C ``pixels`` as H×W×3: grey repeated to three channels, RGB as it is."""
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def _load_tiff_grey_alpha16(p: Path) -> LoadedImage | None:
    """The one TIFF layout Pillow cannot identify that we must read: 16-bit grey+alpha."""
    try:
        read = read_tiff_grey_alpha16(p, opener.max_pixels())
        if read is None:
            return None
        raw, compression = read
        notes: list[str] = []
        tiff = tiff_metadata(p, notes)  # raw decoding: pixels are already as stored
        exif, icc, xmp = tiff.exif, tiff.icc, tiff.xmp
        extra: dict[str, Any] = {"compression": compression, **_tiff_extra(tiff)}  # so the output keeps them
    except (OSError, ValueError, struct.error, zlib.error) as exc:
        raise InputError(f"{p}: {opener.reason(exc)}") from None
    scaled = unit_float(raw, 65535.0)
    # a second sample that is no transparency (ExtraSamples 0: a saved selection) is dropped, noted (tiff_metadata),
    # not made the picture's alpha: that made the selection's outside transparent in the output
    selection = bool(tiff.extra_channels)
    return LoadedImage(
        path=p, pixels=np.ascontiguousarray(scaled[..., :1]), bit_depth=16, format="TIFF",
        mode="I;16" if selection else "LA;16", alpha=None if selection else np.ascontiguousarray(scaled[..., 1]),
        exif=exif, icc_profile=icc, xmp=xmp, extra=extra, notes=notes,
    )  # fmt: skip
