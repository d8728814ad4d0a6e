"""Listing and reading clean images: the few helpers every data path needs, kept Pillow-only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from weatherclean.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "SKIMAGE_SAMPLES", "list_images", "read_rgb", "skimage_samples"]

#: File endings treated as images (lower case; matching ignores case).
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})

#: scikit-image samples that are natural colour photos and ship inside the package (no download).
#: Microscopy, astronomy and synthetic test patterns are left out: snow never falls on them.
SKIMAGE_SAMPLES: tuple[str, ...] = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "motorcycle_left",
    "motorcycle_right",
)


def list_images(folder: Path | str, recursive: bool = True) -> list[Path]:
    """Image files under ``folder``, sorted so every run (and every worker) sees the same order.

    Hidden files (``.DS_Store``, ``._x.jpg`` from macOS) are skipped because they are never pictures.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; pass a folder that contains images")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in root.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def read_rgb(path: Path | str) -> np.ndarray:
    """Read any Pillow-readable image as HxWx3 float32 in [0, 1].

    Greyscale, palette, CMYK and 16-bit files are converted to 8-bit RGB; transparency is dropped
    (composited on nothing), since the models work on opaque photos.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float32)
                scale = 65535.0 if arr.max() > 255 else 255.0
                arr = np.clip(arr / scale, 0.0, 1.0)
                return np.repeat(arr[..., None], 3, axis=2).astype(np.float32)
            rgb = im.convert("RGB")
            return np.asarray(rgb, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image Pillow can read; convert it to PNG or JPEG") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read image ({exc}); the file may be truncated or corrupt") from None


def skimage_samples() -> list[tuple[str, np.ndarray]]:
    """scikit-image's bundled colour photos as (name, HxWx3 float32) pairs.

    They need no download, so tests, docs pictures and a first training run work offline.
    scikit-image is an optional dependency (``pip install weatherclean[train]``), imported only here.
    """
    try:
        from skimage import data as skdata
    except ImportError as exc:
        raise InputError(
            "scikit-image is not installed; run `pip install scikit-image` (or weatherclean[train]) "
            "or pass a folder of clean images instead"
        ) from exc
    out: list[tuple[str, np.ndarray]] = []
    stereo: tuple[np.ndarray, ...] | None = None
    for name in SKIMAGE_SAMPLES:
        if name.startswith("motorcycle_"):
            # Only reachable through stereo_motorcycle(), which returns (left, right, disparity).
            stereo = stereo or tuple(skdata.stereo_motorcycle())
            arr = np.asarray(stereo[0 if name.endswith("left") else 1])
        else:
            arr = np.asarray(getattr(skdata, name)())
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        arr = arr[..., :3]
        out.append((name, (arr.astype(np.float32) / 255.0).astype(np.float32)))
    return out
