"""HEIC at its own bit depth: 10- and 12-bit pictures decoded and written without going through 8 bits; and what
a HEIC holds beside its picture that cannot be written back.

Phones write 10-bit HEIC (HDR or not). Pillow holds 8 bits per colour channel, so pillow-heif's Pillow plugin
hands it 8-bit pixels; written back, a 10-bit photo became 8-bit for good, and ``--in-place`` lost the two
bits in the file itself. pillow-heif's own API decodes such a picture as 16-bit samples (the 10 or 12 bits
shifted to the top) and encodes 16-bit samples at 10 or 12 bits, so a HEIC goes through as 16-bit pixels
(:attr:`LoadedImage.bit_depth` 16, ``extra["bits"]`` the file's own 10 or 12) and comes back at its depth.
Pixels are scaled by the file's own maximum (1023 for 10 bits), so white is 1.0 and an unchanged pixel comes
back as the same code. Everything else (EXIF, XMP, ICC, nclx, HDR properties) goes to the encoder as before.

Auxiliary images (an iPhone's HDR gain map, portrait mattes) and depth maps cannot be written by pillow-heif:
:func:`auxiliary_names` names them, for a note on load and for ``--in-place`` to refuse the file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.io.images.pixels import row_blocks

__all__ = ["auxiliary_name", "auxiliary_names", "encode_heif", "read_deep_heif"]

#: pillow-heif's modes by channels, at 8 and at 16 bits (grey+alpha is written as RGBA, see save._planes).
_MODES = {8: {1: "L", 3: "RGB", 4: "RGBA"}, 16: {1: "L;16", 3: "RGB;16", 4: "RGBA;16"}}
#: What a note calls an auxiliary image, by the last part of its type (a URN such as Apple's
#: ``urn:com:apple:photo:2020:aux:hdrgainmap``); others by that part itself.
_AUXILIARY = {"hdrgainmap": "HDR gain map", "portraiteffectsmatte": "portrait matte", "semanticskinmatte": "skin matte",
              "semantichairmatte": "hair matte", "semanticteethmatte": "teeth matte",
              "semanticglassesmatte": "glasses matte", "semanticskymatte": "sky matte", "depth": "depth map",
              "tmap": "HDR gain map"}  # fmt: skip


def read_deep_heif(path: Path) -> tuple[np.ndarray, int]:
    """The primary picture of a HEIC above 8 bits as (H×W×C float32 in [0, 1], its bits per channel), turned
    as libheif turns it (its rotation applied, as the Pillow plugin does)."""
    import pillow_heif  # type: ignore[import-not-found,unused-ignore]

    heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False, hdr_to_16bit=True)
    picture = heif[heif.primary_index]
    bits = int(picture.info.get("bit_depth") or 16)
    raw = np.asarray(picture)
    if raw.ndim == 2:
        raw = raw[..., None]
    if raw.dtype != np.uint16:  # a mode without 16 bits after all: as 8 bits
        return raw.astype(np.float32) / 255.0, 8
    out = (raw >> (16 - bits)).astype(np.float32)
    out /= float((1 << bits) - 1)
    return out, bits


def _samples(arr: np.ndarray, bits: int) -> np.ndarray:
    """16-bit samples (0..65535) as pillow-heif takes a ``bits``-bit picture: each value rounded to the nearest
    ``bits``-bit code (``value × 1023 / 65535`` for 10 bits), which pillow-heif wants at the top of 16 bits."""
    top = (1 << bits) - 1
    out = np.empty(arr.shape, dtype=np.uint16)
    for rows in row_blocks(arr):
        wide = arr[rows].astype(np.uint32)  # value × top overflows 16 bits
        codes = (wide * top + 65535 // 2) // 65535
        out[rows] = codes << (16 - bits)
    return out


def encode_heif(arr: np.ndarray, bits: int, params: dict[str, Any]) -> bytes:
    """HEIC bytes of ``arr`` (uint8, or uint16 written at ``bits``: 10 or 12) with pillow-heif's save options
    ``params`` (quality, exif, xmp, icc_profile, nclx_profile, the HDR properties)."""
    import pillow_heif  # type: ignore[import-not-found,unused-ignore]

    depth = 16 if arr.dtype == np.uint16 else 8
    data = _samples(arr, bits) if depth == 16 else arr
    mode = _MODES[depth][arr.shape[2]]
    picture = pillow_heif.from_bytes(mode, (arr.shape[1], arr.shape[0]), np.ascontiguousarray(data).tobytes())
    buf = io.BytesIO()
    options = {**params, "bit_depth": bits} if depth == 16 else params
    picture.save(buf, format="HEIF", **options)
    return buf.getvalue()


def auxiliary_name(kind: object) -> str:
    """What a note calls the auxiliary image of type ``kind`` (a HEIC's or an AVIF's URN; ``tmap``: a gain map)."""
    return _AUXILIARY.get(str(kind).rsplit(":", 1)[-1], f"auxiliary image {kind}")


def auxiliary_names(info: dict[str, Any]) -> list[str]:
    """What the primary picture of a HEIC holds beside it that pillow-heif cannot write (its Pillow plugin's
    ``info``: ``aux``, auxiliary images by type, and ``depth_images``), as a note names them, once each."""
    names = [auxiliary_name(kind) for kind in info.get("aux") or {}]
    if info.get("depth_images"):
        names.append("depth map")
    return list(dict.fromkeys(names))
