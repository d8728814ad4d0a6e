"""Decoded pictures as float32 in [0, 1]: every Pillow mode, and 16-bit colour Pillow cannot hold.

Pillow cannot hold 16-bit colour, so 16-bit RGB(A) PNG/TIFF are decoded with Pillow's own C decoder
twice (high bytes, then low bytes via the byte-swapped raw mode), and 16-bit grey+alpha PNG is decoded
as raw bytes. Other modes are converted to L, LA, RGB or RGBA, with a note when that changes anything
a user would see.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from weatherclean.errors import InputError
from weatherclean.io.images.opener import open_image, pillow_pixel_limit

__all__ = ["RESAVE_HINT", "read_wide", "row_blocks", "to_float", "unit_float", "wide_kind"]

#: What to do with samples weatherclean cannot read (float, signed, deeper than 16 bits): 16 bits hold what a print
#: or an edit needs, and every tool can convert to them (a float master's values above 1.0 are clipped by such a
#: conversion, as they would be here). One wording for every such refusal, whichever reader meets the file.
RESAVE_HINT = "re-save it as a 16-bit integer TIFF or PNG and run again"

#: Values converted per step by :func:`row_blocks`' users: their wider temporaries stay a few MB.
_BLOCK_VALUES = 1 << 20


def row_blocks(arr: np.ndarray) -> Iterator[slice]:
    """Slices of ``arr``'s rows, about a million values each: a conversion done a block at a time keeps its float
    or 32-bit temporaries a few MB, where on a whole 24-megapixel picture they would add up to hundreds of MB at
    the moment memory peaks."""
    per_row = max(1, arr[0].size if arr.shape[0] else 1)
    rows = max(1, _BLOCK_VALUES // per_row)
    for y in range(0, arr.shape[0], rows):
        yield slice(y, y + rows)


def _swap_rawmode(rawmode: str) -> str | None:
    """``RGB;16B`` ↔ ``RGB;16L`` (``16N`` is native): decoding with the swapped mode yields the low bytes."""
    native = "L" if np.little_endian else "B"
    for suffix in (";16B", ";16L", ";16N"):
        if rawmode.endswith(suffix):
            order = native if suffix == ";16N" else suffix[-1]
            return rawmode[: -len(suffix)] + (";16L" if order == "B" else ";16B")
    return None


def _rawmode(tile: Any) -> str | None:
    args = tile.args if hasattr(tile, "args") else tile[3]
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    args = tile.args if hasattr(tile, "args") else tile[3]
    new_args: Any = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=new_args)
    return (tile[0], tile[1], tile[2], new_args)


def _decode_with(path: Path, rawmodes: list[str]) -> np.ndarray:
    """Decode ``path`` with its tiles' raw modes replaced (Pillow's C decoders, our byte layout)."""
    with open_image(path) as im:
        im.tile = [_with_rawmode(t, r) for t, r in zip(im.tile, rawmodes, strict=True)]  # type: ignore[arg-type]
        with pillow_pixel_limit():
            im.load()
        return np.asarray(im)


def read_wide(path: Path, kind: str) -> np.ndarray | None:
    """16-bit samples that Pillow cannot hold, as uint16 H×W×C; None if the trick does not apply.

    ``"colour"``: decode the high bytes, then the low bytes via the byte-swapped raw mode.
    ``"planar"`` (a TIFF stored plane by plane, PlanarConfiguration 2): Pillow reads each plane as 8-bit
    (garbage); the same trick with each plane's 16-bit raw mode in the file's byte order. Uncompressed
    planes only: libtiff decodes compressed ones, and their low bytes come back as the high bytes.
    ``"grey_alpha"`` (PNG colour type 4): Pillow widens it to 8-bit RGBA, so decode the same 4 bytes per
    pixel as plain 8-bit RGBA instead – PNG unfiltering/de-interlacing only depend on the pixel size.
    """
    with open_image(path) as im:
        tiles = list(im.tile)
        raws = [_rawmode(t) for t in tiles]
        order = "B" if getattr(getattr(im, "tag_v2", None), "_endian", "<") == ">" else "L"
    if not raws or any(r is None for r in raws):
        return None
    if kind == "grey_alpha":
        b = _decode_with(path, ["RGBA"] * len(raws)).astype(np.uint16)
        return np.stack([(b[..., 0] << 8) | b[..., 1], (b[..., 2] << 8) | b[..., 3]], axis=-1)
    if kind == "planar":
        if any(getattr(t, "codec_name", t[0]) != "raw" or len(r or "") != 1 for t, r in zip(tiles, raws, strict=True)):
            return None  # compressed planes go through libtiff, whose low bytes come back wrong
        raws = [f"{r};16{order}" for r in raws if r]
    swapped = [_swap_rawmode(r) for r in raws if r]
    if any(s is None for s in swapped):
        return None
    hi = _decode_with(path, [r for r in raws if r]).astype(np.uint16)
    lo = _decode_with(path, [s for s in swapped if s]).astype(np.uint16)
    if hi.shape != lo.shape:
        return None
    return (hi << 8) | lo


def wide_kind(im: Image.Image) -> str | None:
    """Pillow reports 16-bit colour as 8-bit RGB(A); the raw modes tell the truth."""
    raws = [_rawmode(t) or "" for t in im.tile]
    if not raws:
        return None
    tags = getattr(im, "tag_v2", None)
    planar = im.format == "TIFF" and tags is not None and tags.get(284) == 2 and im.mode in ("RGB", "RGBA")
    if planar and 16 in tuple(tags.get(258) or ()):
        return "planar"
    if im.mode in ("RGB", "RGBA") and all(";16" in r and not r.startswith("LA") for r in raws):
        return "colour"
    if im.format == "PNG" and all(r == "LA;16B" for r in raws):
        return "grey_alpha"
    return None


def unit_float(arr: np.ndarray, scale: float) -> np.ndarray:
    """Integer pixels as float32 in [0, 1], divided in place: one float copy of the picture, not two."""
    out = arr.astype(np.float32)
    out /= scale
    return out


@functools.cache
def _srgb_profile() -> tuple[Any, bytes]:
    """littlecms's sRGB profile and its bytes, made once: a folder of CMYK scans built and serialised it per photo."""
    from PIL import ImageCms

    srgb = ImageCms.createProfile("sRGB")
    return srgb, ImageCms.ImageCmsProfile(srgb).tobytes()


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """CMYK → RGB through the embedded profile when there is one (colour-accurate), else naively."""
    if icc:
        try:
            from PIL import ImageCms

            srgb, srgb_bytes = _srgb_profile()
            rgb = ImageCms.profileToProfile(im, io.BytesIO(icc), srgb, outputMode="RGB")
            if rgb is not None:
                notes.append("CMYK converted to RGB via its ICC profile; written as RGB with an sRGB profile")
                return rgb, srgb_bytes
        except (ImportError, OSError, ValueError, TypeError):
            pass  # littlecms missing or a broken profile: fall through to the plain conversion
        notes.append("CMYK converted to RGB for processing; written as RGB (the CMYK ICC profile was dropped)")
    else:
        notes.append("CMYK converted to RGB (no ICC profile, colours are approximate)")
    return im.convert("RGB"), None


def _one_bit(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    notes.append("1-bit image written as 8-bit greyscale")
    return im.convert("L"), icc


def _palette(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    target = "RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB"
    notes.append(f"palette image written as {target}")
    return im.convert(target), icc


def _other_space(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """YCbCr, LAB, HSV: the embedded profile describes the old colour space, not the RGB we write."""
    notes.append(f"{im.mode} converted to RGB")
    return im.convert("RGB"), None


#: Pillow modes that need converting before they become L, LA, RGB or RGBA pixels, and how.
_CONVERT: dict[str, Callable[[Image.Image, bytes | None, list[str]], tuple[Image.Image, bytes | None]]] = {
    "1": _one_bit,
    "P": _palette,
    "PA": _palette,
    "La": lambda im, icc, _notes: (im.convert("LA"), icc),
    "RGBa": lambda im, icc, _notes: (im.convert("RGBA"), icc),
    "CMYK": _cmyk_to_rgb,
    "YCbCr": _other_space,
    "LAB": _other_space,
    "HSV": _other_space,
}


def _integer_grey(im: Image.Image) -> np.ndarray:
    """16-bit (``I;16*``) or 32-bit integer (``I``) greyscale as H×W×1 float; values beyond 16 bits refused, in
    the words a 32-bit TIFF that Pillow cannot open is refused with (:func:`~.tiff.unreadable_tiff`)."""
    arr = np.asarray(im)
    if im.mode == "I" and arr.size and (arr.min() < 0 or arr.max() > 65535):
        name = getattr(im, "filename", "image")
        raise InputError(f"{name}: 32-bit integer samples are not supported; {RESAVE_HINT}")
    return unit_float(arr, 65535.0)[..., None]


def to_float(
    im: Image.Image, icc: bytes | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Pillow image → (pixels H×W×C, alpha, bit depth, icc still valid for the output colour space)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return _integer_grey(im), None, 16, icc
    if mode == "F":
        raise InputError(
            f"{getattr(im, 'filename', 'image')}: 32-bit floating-point samples are not supported; {RESAVE_HINT}"
        )
    convert = _CONVERT.get(mode)
    if convert is not None:
        im, icc = convert(im, icc, notes)
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = unit_float(np.asarray(im), 255.0)
    if arr.ndim == 2:
        arr = arr[..., None]
    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = np.ascontiguousarray(arr[..., -1])
        arr = arr[..., :-1]
    return arr, alpha, 8, icc
