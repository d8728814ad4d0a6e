"""Reading and writing photos without losing what the photographer cares about.

A restored photo must look, in every viewer, like the input minus the snow: same orientation (we
process pixels *as stored* and keep the EXIF orientation tag, so viewers rotate output as they rotated
input), same colour profile, same capture metadata (EXIF incl. GPS, XMP), same bit depth, same alpha.
The only thing deliberately dropped is the EXIF thumbnail: it still shows the snowy original.

Pillow cannot hold 16-bit colour, so 16-bit RGB(A) PNG/TIFF are decoded with Pillow's own C decoder
twice (high bytes, then low bytes via the byte-swapped raw mode) and written by small PNG/TIFF
writers below. Writes are atomic: a crash or full disk never leaves a half-written photo behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, TiffImagePlugin, TiffTags, UnidentifiedImageError

from weatherclean.errors import InputError, OutputError, WeathercleanError
from weatherclean.io.atomic import atomic_write

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "LoadedImage",
    "OutputError",
    "is_image_path",
    "load_image",
    "save_image",
    "strip_exif_thumbnail",
]

#: Refuse images above one gigapixel: larger files are almost always corrupt or hostile (a
#: "decompression bomb" that would exhaust memory), and Pillow's default limit (~179 MP) is too low
#: for real panoramas.
MAX_PIXELS = 1_000_000_000
#: File name endings we treat as images (everything else in a folder is skipped with a note).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp"})
_SUPPORTED_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP")
_SUFFIX_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG", ".tif": "TIFF",
                  ".tiff": "TIFF", ".webp": "WEBP"}  # fmt: skip
#: TIFF tags that describe the photo (not the pixel layout) and are copied to the output.
_TIFF_KEEP_TAGS = (270, 271, 272, 274, 305, 306, 315, 33432)
_EXIF_PREFIX = b"Exif\x00\x00"
_pillow_limit_lock = threading.Lock()


def is_image_path(path: Path) -> bool:
    """True for file names with an image suffix we can read and write."""
    return path.suffix.lower() in IMAGE_SUFFIXES


@dataclass
class LoadedImage:
    """Pixels plus everything needed to write the result back "the same" as the input.

    ``pixels`` is float32 H×W×C in [0, 1] with C = 3 (colour) or 1 (greyscale); ``alpha`` is H×W float32
    in [0, 1] or None; ``bit_depth`` is 8 or 16 per channel; ``extra`` holds format details used by
    :func:`save_image` (JPEG subsampling, DPI, PNG text chunks, TIFF tags, ...).
    """

    path: Path
    pixels: np.ndarray
    bit_depth: int
    format: str
    mode: str
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


# --------------------------------------------------------------------------------------------- loading


@contextlib.contextmanager
def _pillow_pixel_limit() -> Iterator[None]:
    """Use our own bomb limit instead of Pillow's global one, without leaving the global changed."""
    with _pillow_limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises above 2× this, warns above 1×
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _reason(exc: BaseException) -> str:
    """A short human reason for a Pillow decode failure."""
    msg = str(exc).strip() or type(exc).__name__
    low = msg.lower()
    if "truncated" in low or "premature end" in low or "unexpected end" in low or isinstance(exc, EOFError):
        return f"truncated file ({msg}); re-copy it from the source"
    return f"cannot decode image ({msg})"


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


def _open(path: Path) -> Image.Image:
    with _pillow_pixel_limit():
        im = Image.open(path)
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise InputError(
            f"{path}: image is {w}×{h} = {w * h / 1e6:.0f} megapixels, over the {MAX_PIXELS // 1_000_000} MP "
            "safety limit (decompression-bomb guard); downscale or split it first"
        )
    return im


def _read_wide(path: Path) -> np.ndarray | None:
    """16-bit colour: decode high and low bytes with Pillow's C decoder; None if the trick does not apply."""
    with _open(path) as im:
        if len(im.tile) == 0:
            return None
        raws = [_rawmode(t) for t in im.tile]
        swapped = [_swap_rawmode(r) if r else None for r in raws]
        if any(s is None for s in swapped):
            return None
        with _pillow_pixel_limit():
            im.load()
        hi = np.asarray(im).astype(np.uint16)
    with _open(path) as im2:
        im2.tile = [_with_rawmode(t, s) for t, s in zip(im2.tile, swapped, strict=True)]  # type: ignore[arg-type]
        with _pillow_pixel_limit():
            im2.load()
        lo = np.asarray(im2).astype(np.uint16)
    if hi.shape != lo.shape:
        return None
    return (hi << 8) | lo


def _is_wide_colour(im: Image.Image) -> bool:
    """Pillow reports 16-bit colour as 8-bit RGB(A); the raw mode or the bits tag tell the truth."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    raws = [_rawmode(t) or "" for t in im.tile]
    return bool(raws) and all(";16" in r for r in raws)


def _tiff_tags(im: Image.Image) -> dict[int, Any]:
    tags: dict[int, Any] = {}
    v2 = getattr(im, "tag_v2", None)
    if v2 is None:
        return tags
    for tag in _TIFF_KEEP_TAGS:
        if tag in v2:
            tags[tag] = v2[tag]
    return tags


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


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode a photo as stored (no EXIF rotation) with its metadata; :class:`InputError` if unusable."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not an image file")
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError(f"{p}: empty file (0 bytes); re-copy it from the source")
    try:
        im = _open(p)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: over the {MAX_PIXELS // 1_000_000} MP safety limit ({exc})") from None
    except UnidentifiedImageError:
        raise InputError(f"{p}: not an image (unrecognised file contents)") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error, not a decoder complaint
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        raise InputError(f"{p}: {_reason(exc)}") from None
    except (SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None

    try:
        with im:
            fmt = im.format or ""
            if fmt == "MPO":  # multi-picture JPEG from some cameras: the first frame is the photo
                fmt = "JPEG"
            if fmt not in _SUPPORTED_FORMATS:
                what = fmt or "unknown"
                raise InputError(f"{p}: {what} images are not supported; use JPEG, PNG, TIFF or WebP")
            info = dict(im.info)
            mode = im.mode
            wide = _is_wide_colour(im) and fmt in ("PNG", "TIFF")
            extra: dict[str, Any] = {}
            if "dpi" in info:
                extra["dpi"] = info["dpi"]
            if fmt == "JPEG":
                from PIL import JpegImagePlugin

                with contextlib.suppress(Exception):
                    extra["subsampling"] = JpegImagePlugin.get_sampling(im)
                extra["progressive"] = bool(info.get("progressive") or info.get("progression"))
            if fmt == "PNG":
                text = getattr(im, "text", None) or {}
                extra["text"] = {k: v for k, v in text.items() if k != "XML:com.adobe.xmp"}
            if fmt == "TIFF":
                extra["tiff_tags"] = _tiff_tags(im)
                extra["compression"] = info.get("compression")
            exif = _as_bytes(info.get("exif")) if fmt != "TIFF" else None
            icc = _as_bytes(info.get("icc_profile"))
            xmp = _as_bytes(info.get("xmp") or info.get("XML:com.adobe.xmp"))
            if fmt == "TIFF" and xmp is None and hasattr(im, "tag_v2"):
                xmp = _as_bytes(im.tag_v2.get(700))
            with _pillow_pixel_limit():
                im.load()
            if not wide:
                pixels, alpha, depth, icc = _to_float(im, icc)
    except WeathercleanError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: over the {MAX_PIXELS // 1_000_000} MP safety limit ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError) as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None
    except MemoryError:
        raise InputError(f"{p}: not enough memory to decode this image") from None

    if wide:
        try:
            raw = _read_wide(p)
        except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
            raise InputError(f"{p}: {_reason(exc)}") from None
        if raw is None:
            raise InputError(f"{p}: unsupported 16-bit colour layout; convert it to 8-bit or 16-bit PNG")
        scaled = raw.astype(np.float32) / 65535.0
        pixels, alpha, depth = scaled[..., :3], (scaled[..., 3] if raw.shape[-1] == 4 else None), 16
    return LoadedImage(
        path=p, pixels=np.ascontiguousarray(pixels), bit_depth=depth, format=fmt, mode=mode,
        alpha=alpha, exif=exif, icc_profile=icc, xmp=xmp, extra=extra,
    )  # fmt: skip


def _to_float(im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Pillow image → (pixels H×W×C, alpha, bit depth, icc still valid for the output colour space)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(im).astype(np.float32) / 65535.0
        return arr[..., None], None, 16, icc
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise InputError(f"{im.filename}: 32-bit integer images are not supported; convert to 16-bit")
        return (arr.astype(np.float32) / 65535.0)[..., None], None, 16, icc
    if mode == "F":
        raise InputError(f"{getattr(im, 'filename', 'image')}: floating-point images are not supported")
    if mode == "1":
        im = im.convert("L")
    elif mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        if mode != "RGBX" and icc is not None:
            icc = None  # the embedded profile describes the old colour space, not the RGB we write
        im = im.convert("RGB")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im).astype(np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = np.ascontiguousarray(arr[..., -1])
        arr = arr[..., :-1]
    return arr, alpha, 8, icc


# ---------------------------------------------------------------------------------------------- saving


def strip_exif_thumbnail(exif: bytes) -> bytes:
    """Remove the IFD1 thumbnail from an EXIF blob in place, leaving every other byte where it was.

    Re-serialising EXIF (e.g. with piexif) would move data and break maker notes that use absolute
    offsets, so we only cut the link to IFD1, zero IFD1 and the thumbnail, and drop them when they
    are the tail of the blob (the usual layout). Unparseable EXIF is returned unchanged.
    """
    prefix = _EXIF_PREFIX if exif.startswith(_EXIF_PREFIX) else b""
    t = bytearray(exif[len(prefix) :])
    try:
        if t[:2] == b"II":
            e = "<"
        elif t[:2] == b"MM":
            e = ">"
        else:
            return exif
        (ifd0,) = struct.unpack_from(e + "I", t, 4)
        (n0,) = struct.unpack_from(e + "H", t, ifd0)
        link = ifd0 + 2 + 12 * n0
        (ifd1,) = struct.unpack_from(e + "I", t, link)
        if ifd1 == 0:
            return exif
        (n1,) = struct.unpack_from(e + "H", t, ifd1)
        ranges = [(ifd1, ifd1 + 2 + 12 * n1 + 4)]
        sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
        thumb_off = thumb_len = None
        for i in range(n1):
            pos = ifd1 + 2 + 12 * i
            tag, typ, count = struct.unpack_from(e + "HHI", t, pos)
            nbytes = sizes.get(typ, 1) * count
            if nbytes > 4:
                (off,) = struct.unpack_from(e + "I", t, pos + 8)
                ranges.append((off, off + nbytes))
            if tag == 0x0201:
                thumb_off = struct.unpack_from(e + "I", t, pos + 8)[0]
            elif tag == 0x0202:
                thumb_len = struct.unpack_from(e + "I", t, pos + 8)[0]
        if thumb_off is not None and thumb_len is not None:
            ranges.append((thumb_off, thumb_off + thumb_len))
        if any(a < 8 or b > len(t) or a > b for a, b in ranges):
            return exif
    except struct.error:
        return exif
    struct.pack_into(e + "I", t, link, 0)
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


def _exif_for_output(exif: bytes | None) -> bytes | None:
    return strip_exif_thumbnail(exif) if exif else None


def _to_uint(arr: np.ndarray, depth: int) -> np.ndarray:
    scale = 65535.0 if depth == 16 else 255.0
    out = np.rint(np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0) * scale)
    return out.astype(np.uint16 if depth == 16 else np.uint8)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _encode_png16(arr: np.ndarray, like: LoadedImage, exif: bytes | None) -> bytes:
    """Minimal 16-bit PNG writer (Pillow cannot write 16-bit colour), with Paeth filtering and metadata."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = arr.astype(">u2").view(np.uint8).reshape(h, w * c * 2).astype(np.int16)
    bpp = c * 2
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    upleft = np.zeros_like(raw)
    upleft[1:, bpp:] = raw[:-1, :-bpp]
    p = left + up - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    filtered = ((raw - pred) & 0xFF).astype(np.uint8)
    rows = np.concatenate([np.full((h, 1), 4, dtype=np.uint8), filtered], axis=1)
    out = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))]
    if like.icc_profile:
        out.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(like.icc_profile)))
    dpi = like.extra.get("dpi")
    if dpi:
        ppm = [round(float(d) / 0.0254) for d in dpi]
        out.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        out.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(_EXIF_PREFIX) else exif))
    if like.xmp:
        out.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + like.xmp))
    for key, value in (like.extra.get("text") or {}).items():
        with contextlib.suppress(UnicodeEncodeError):
            keyword = key.encode("latin-1")[:79]
            out.append(_png_chunk(b"iTXt", keyword + b"\x00\x00\x00\x00\x00" + str(value).encode()))
    out.append(_png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


def _encode_tiff16(arr: np.ndarray, like: LoadedImage) -> bytes:
    """Minimal deflate-compressed 16-bit TIFF writer (Pillow cannot write 16-bit colour TIFF)."""
    h, w, c = arr.shape
    data = zlib.compress(arr.astype("<u2").tobytes(), 6)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag, value in (like.extra.get("tiff_tags") or {}).items():
        with contextlib.suppress(Exception):
            ifd[tag] = value
    ifd[256] = w
    ifd[257] = h
    ifd[258] = (16,) * c
    ifd[259] = 8
    ifd[262] = 1 if c <= 2 else 2
    ifd[277] = c
    ifd[278] = h
    ifd[279] = (len(data),)
    ifd[284] = 1
    if c in (2, 4):
        ifd[338] = (2,)
    if like.icc_profile:
        ifd[34675] = like.icc_profile
        ifd.tagtype[34675] = TiffTags.UNDEFINED
    if like.xmp:
        ifd[700] = like.xmp
        ifd.tagtype[700] = TiffTags.BYTE
    dpi = like.extra.get("dpi")
    if dpi:
        ifd[282], ifd[283], ifd[296] = float(dpi[0]), float(dpi[1]), 2
    ifd[273] = (0,)  # Pillow rewrites this as "right after the IFD and its values", where we put the data
    ifd.tagtype[273] = ifd.tagtype[279] = TiffTags.LONG
    return b"II*\x00" + struct.pack("<I", 8) + ifd.tobytes(8) + data


def _encode(pixels: np.ndarray, like: LoadedImage, fmt: str, quality: int) -> bytes:
    """Encode to bytes in memory, so the file system only ever sees a complete file."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be H×W×1 or H×W×3, got {pixels.shape}")
    alpha = like.alpha if fmt != "JPEG" else None
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match pixels {pixels.shape[:2]}")
    depth = 16 if like.bit_depth == 16 and fmt in ("PNG", "TIFF") else 8
    planes = pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)
    arr = _to_uint(planes, depth)
    exif = _exif_for_output(like.exif)
    if depth == 16 and fmt == "PNG":
        return _encode_png16(arr, like, exif)
    if depth == 16 and (fmt == "TIFF" and arr.shape[2] > 1):
        return _encode_tiff16(arr, like)

    if depth == 16:
        im = Image.fromarray(arr[..., 0].astype("<u2")).convert("I;16") if arr.shape[2] == 1 else None
        assert im is not None
    else:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
        im = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr, mode=None)
        if im.mode != mode:
            im = im.convert(mode)
    params: dict[str, Any] = {}
    if like.icc_profile:
        params["icc_profile"] = like.icc_profile
    dpi = like.extra.get("dpi")
    if dpi:
        params["dpi"] = tuple(float(d) for d in dpi)
    if fmt == "JPEG":
        params.update(quality=quality, optimize=True)
        sub = like.extra.get("subsampling")
        if isinstance(sub, int) and sub >= 0:
            params["subsampling"] = sub
        if like.extra.get("progressive"):
            params["progressive"] = True
        if exif:
            params["exif"] = exif if exif.startswith(_EXIF_PREFIX) else _EXIF_PREFIX + exif
        if like.xmp:
            params["xmp"] = like.xmp
    elif fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in (like.extra.get("text") or {}).items():
            with contextlib.suppress(Exception):
                info.add_itxt(key, str(value))
        if like.xmp:
            info.add_itxt("XML:com.adobe.xmp", like.xmp.decode("utf-8", "replace"))
        params.update(pnginfo=info, optimize=False, compress_level=6)
        if exif:
            params["exif"] = exif
    elif fmt == "WEBP":
        params.update(quality=quality, method=4)
        if exif:
            params["exif"] = exif
        if like.xmp:
            params["xmp"] = like.xmp
    elif fmt == "TIFF":
        comp = like.extra.get("compression")
        lossless = ("raw", "tiff_lzw", "tiff_adobe_deflate")
        params["compression"] = comp if comp in lossless else "tiff_adobe_deflate"
        tags = dict(like.extra.get("tiff_tags") or {})
        info = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in tags.items():
            with contextlib.suppress(Exception):
                info[tag] = value
        if like.xmp:
            info[700] = like.xmp
            info.tagtype[700] = TiffTags.BYTE
        params["tiffinfo"] = info
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    like: LoadedImage,
    *,
    format: str | None = None,
    quality: int = 95,
) -> Path:
    """Write ``pixels`` (H×W×C float in [0, 1]) atomically, in ``like``'s format, depth and metadata.

    The file appears under its final name complete or not at all: we encode in memory, write a hidden
    temporary file in the same folder, fsync it and ``os.replace`` it into place. Alpha, ICC, XMP and
    EXIF (minus the stale thumbnail) come from ``like``. Raises :class:`OutputError`.
    """
    dest = Path(path)
    fmt = (format or like.format or _SUFFIX_FORMAT.get(dest.suffix.lower(), "")).upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt not in _SUPPORTED_FORMATS:
        raise OutputError(f"{dest}: cannot write format '{fmt}'; use JPEG, PNG, TIFF or WEBP")
    try:
        data = _encode(np.asarray(pixels, dtype=np.float32), like, fmt, quality)
    except (OSError, ValueError) as exc:
        raise OutputError(f"{dest}: cannot encode {fmt} ({exc})") from None
    atomic_write(dest, data)
    return dest
