"""A small 16-bit PNG writer: Pillow cannot write 16-bit colour, and a 16-bit photo must stay 16-bit."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from weatherclean.io.images.exif import tiff_part
from weatherclean.io.images.pngchunks import colour_chunks, iccp_chunk, text_chunks
from weatherclean.io.images.records import LoadedImage, icc_fits

__all__ = ["encode_png16"]


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _paeth_rows(arr: np.ndarray) -> np.ndarray:
    """The image's big-endian bytes, Paeth-filtered, each row led by its filter type (4)."""
    h, w, c = arr.shape
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
    return np.concatenate([np.full((h, 1), 4, dtype=np.uint8), filtered], axis=1)


def _metadata_chunks(like: LoadedImage, exif: bytes | None, channels: int) -> list[bytes]:
    """ICC, colour, resolution, background, EXIF, XMP and text chunks, in the order Pillow writes them (colour
    chunks before the image data, bKGD after where a palette would be, as PNG asks)."""
    out = []
    fits = icc_fits(like, channels)
    if fits:
        out.append(_png_chunk(*iccp_chunk(like.icc_profile, like.extra)))  # type: ignore[arg-type]
    colour = colour_chunks(like.extra, channels, 16, fits)
    out += [_png_chunk(cid, data) for cid, data in colour if cid != b"bKGD"]
    dpi = like.extra.get("dpi")
    if dpi:
        ppm = [round(float(d) / 0.0254) for d in dpi]
        out.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    out += [_png_chunk(cid, data) for cid, data in colour if cid == b"bKGD"]
    if exif:
        out.append(_png_chunk(b"eXIf", tiff_part(exif)))
    if like.xmp:
        out.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + like.xmp))
    texts = text_chunks(like.extra.get("text") or {}, like.extra.get("png_text"))
    out += [_png_chunk(cid, data) for cid, data in texts]
    return out


def encode_png16(arr: np.ndarray, like: LoadedImage, exif: bytes | None) -> bytes:
    """16-bit PNG bytes of ``arr`` (uint16 H×W×C, C = 1..4) with ``like``'s metadata and ``exif``."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    out = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))]
    out += _metadata_chunks(like, exif, c)
    out.append(_png_chunk(b"IDAT", zlib.compress(_paeth_rows(arr).tobytes(), 6)))
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)
