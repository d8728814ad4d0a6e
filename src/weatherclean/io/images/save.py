"""Writing a photo in its input's format, depth and metadata, atomically; one small writer per format.

Pixels are converted once (:func:`_planes`, :func:`_to_uint`), the EXIF gets a thumbnail of the output,
and :data:`_WRITERS` picks the format's writer: 16-bit PNG and every TIFF go through our own writers
(Pillow cannot write 16-bit colour, nor copy EXIF sub-IFDs into a TIFF), the rest through Pillow with
the format's own options. Whatever a format cannot keep is a one-line note in :class:`SavedImage`.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from weatherclean.errors import OutputError
from weatherclean.io.atomic import atomic_write
from weatherclean.io.images.exif import EXIF_PREFIX, exif_for_output, tiff_part
from weatherclean.io.images.formats import FORMAT_NAME, normalise_format
from weatherclean.io.images.png16 import encode_png16
from weatherclean.io.images.records import LoadedImage, SavedImage
from weatherclean.io.images.tiff import encode_tiff, tiff_compression
from weatherclean.io.orientation import to_upright

__all__ = ["save_image"]

#: Values converted per step by :func:`_to_uint`: float temporaries stay a few MB, not a picture's size.
_ROWS_VALUES = 1 << 20
#: Formats that hold EXIF, ICC and XMP; BMP and PPM hold none of them, and say so in a note.
_HOLDS_METADATA = frozenset({"JPEG", "PNG", "TIFF", "WEBP", "AVIF", "HEIF"})
#: Formats whose output has no alpha channel (a BMP's fourth byte is ignored by most readers).
_NO_ALPHA = frozenset({"JPEG", "BMP", "PPM"})


@dataclass
class _Target:
    """The output format and what has been decided for it so far."""

    fmt: str
    quality: int
    exif: bytes | None
    text: dict[str, Any]
    notes: list[str] = field(default_factory=list)

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
    rows = max(1, _ROWS_VALUES // max(1, arr[0].size if arr.shape[0] else 1))
    for y in range(0, arr.shape[0], rows):
        block = np.nan_to_num(arr[y : y + rows], nan=0.0)  # a float copy of these rows only
        np.clip(block, 0.0, 1.0, out=block)
        block *= scale
        out[y : y + rows] = np.rint(block, out=block)
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
        notes.append(f"alpha dropped: {name} has no alpha")
        alpha = None
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match pixels {pixels.shape[:2]}")
    depth = 16 if like.bit_depth == 16 and fmt in ("PNG", "TIFF") else 8
    if like.bit_depth == 16 and depth == 8:
        why = "cannot hold 16 bits" if fmt in ("JPEG", "WEBP", "BMP") else "output is 8-bit here"
        notes.append(f"16-bit written as 8-bit because {name} {why}")
    if pixels.shape[2] == 1 and (fmt == "WEBP" or (alpha is not None and fmt in ("AVIF", "HEIF"))):
        pixels = np.repeat(pixels, 3, axis=2)
        if alpha is None:
            notes.append(f"greyscale written as RGB: {name} has no greyscale mode")
        else:
            notes.append(f"greyscale+alpha written as RGBA: {name} has no grey+alpha mode")
    return (pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)), depth


def _exif(like: LoadedImage, fmt: str, arr: np.ndarray, notes: list[str]) -> bytes | None:
    """The EXIF to write (with a thumbnail of ``arr``), or a note on the metadata the format cannot hold."""
    if fmt not in _HOLDS_METADATA:
        held = [what for what, value in (("EXIF", like.exif), ("ICC profile", like.icc_profile), ("XMP", like.xmp))
                if value]  # fmt: skip
        if held:
            notes.append(f"{', '.join(held)} cannot be stored in {FORMAT_NAME[fmt]}; dropped")
        return None
    exif, exif_notes = exif_for_output(like.exif, fmt, arr)
    notes += exif_notes
    return exif


def _metadata_params(arr: np.ndarray, like: LoadedImage, t: _Target) -> dict[str, Any]:
    """Pillow's save options for ICC, DPI, XMP and EXIF (the formats in :data:`_HOLDS_METADATA`)."""
    params: dict[str, Any] = {}
    if like.icc_profile and like.icc_profile[16:20] == b"GRAY" and arr.shape[2] >= 3:
        t.notes.append(f"greyscale ICC profile dropped: it cannot describe the RGB {t.name} output")
    elif like.icc_profile:
        params["icc_profile"] = like.icc_profile
    if like.xmp and t.fmt != "PNG":
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
    with warnings.catch_warnings():
        # Pillow re-parses EXIF for some formats and warns about quirks (e.g. piexif's missing next-IFD
        # pointer) that do not stop it from writing every tag; the user cannot act on that warning.
        warnings.simplefilter("ignore", UserWarning)
        im.save(buf, format=t.fmt, **options)
    return buf.getvalue()


def _write_jpeg(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    params: dict[str, Any] = {"quality": t.quality, "optimize": True}
    sub = like.extra.get("subsampling")
    if isinstance(sub, int) and sub >= 0 and like.format == "JPEG":
        params["subsampling"] = sub
    if like.extra.get("progressive"):
        params["progressive"] = True
    if like.extra.get("comment") and like.format == "JPEG":
        params["comment"] = like.extra["comment"]
    return _pillow(arr, like, t, params)


def _write_png(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    if arr.dtype == np.uint16:
        return encode_png16(arr, like, t.exif)
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in t.text.items():
        with contextlib.suppress(Exception):
            info.add_itxt(key, str(value))
    if like.xmp:
        info.add_itxt("XML:com.adobe.xmp", like.xmp.decode("utf-8", "replace"))
    return _pillow(arr, like, t, {"pnginfo": info, "optimize": False, "compress_level": 6})


def _write_tiff(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    compression, why = tiff_compression(like)
    if compression in ("lzw", "packbits") and arr.shape[2] == 2 and arr.dtype == np.uint16:
        # 16-bit grey+alpha is read back by our own reader, which knows Deflate only: said, not done silently
        why = f"TIFF {compression} compression not kept for 16-bit grey+alpha: written with Deflate (lossless)"
        compression = "deflate"
    t.notes += [why] if why else []
    return encode_tiff(arr, like, t.exif, compression)


def _write_webp(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    lossless = bool(like.extra.get("lossless")) and like.format == "WEBP"
    # exact: keep the colour under fully transparent pixels, so alpha really passes through untouched
    params = {"lossless": lossless, "quality": 80 if lossless else t.quality, "method": 4, "exact": True}
    return _pillow(arr, like, t, params)


def _write_lossy_still(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    """AVIF and HEIC: only the quality to choose."""
    return _pillow(arr, like, t, {"quality": t.quality})


def _write_plain(arr: np.ndarray, like: LoadedImage, t: _Target) -> bytes:
    """BMP and PPM/PGM: pixels (and a BMP's DPI) only, nothing to choose."""
    return _pillow(arr, like, t, {})


#: Output format (Pillow's name) → its writer.
_WRITERS: dict[str, Callable[[np.ndarray, LoadedImage, _Target], bytes]] = {
    "JPEG": _write_jpeg,
    "PNG": _write_png,
    "TIFF": _write_tiff,
    "WEBP": _write_webp,
    "AVIF": _write_lossy_still,
    "HEIF": _write_lossy_still,
    "BMP": _write_plain,
    "PPM": _write_plain,
}


def _encode(pixels: np.ndarray, like: LoadedImage, fmt: str, quality: int) -> tuple[bytes, list[str]]:
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
    if text and fmt != "PNG":
        notes.append(f"PNG text ({', '.join(list(text)[:3])}) cannot be stored in {FORMAT_NAME[fmt]}; dropped")
    target = _Target(fmt, quality, exif, text, notes)
    return _WRITERS[fmt](arr, like, target), notes


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    like: LoadedImage,
    *,
    format: str | None = None,
    quality: int = 95,
) -> SavedImage:
    """Write ``pixels`` (H×W×C float in [0, 1]) atomically, in ``like``'s format, depth and metadata.

    The file appears under its final name complete or not at all: we encode in memory, write a hidden
    temporary file in the same folder, fsync it and ``os.replace`` it into place. Alpha, ICC, XMP and
    EXIF (with a thumbnail of the *output*) come from ``like``. ``format`` (``"png"``, ``"JPEG"``, ...)
    converts; the returned :class:`SavedImage` lists what the target could not keep. Raises
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
    if not 1 <= quality <= 100:  # as --quality and restore_file
        raise OutputError(f"{dest}: quality must be between 1 and 100, got {quality}")
    try:
        data, notes = _encode(np.asarray(pixels, dtype=np.float32), like, fmt, quality)
    except (OSError, ValueError, RuntimeError) as exc:
        raise OutputError(f"{dest}: cannot encode {FORMAT_NAME[fmt]} ({exc})") from None
    atomic_write(dest, data)
    return SavedImage(path=dest, format=fmt, notes=notes)
