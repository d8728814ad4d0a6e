"""Listing and reading clean images: the few helpers every data path needs.

Which files are images, how a folder is walked (:mod:`weatherclean.io.media`) and how a picture is decoded
(:func:`weatherclean.io.images.read_rgb`) is io's business: training and evaluation read pictures exactly as
desnow and derain do, and a format that works in one works in the other. ``read_rgb`` and ``walk_files`` are
importable from here too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weatherclean.errors import InputError
from weatherclean.io.images import read_rgb
from weatherclean.io.media import IMAGE_SUFFIXES, is_visible_image, walk_files

__all__ = ["IMAGE_SUFFIXES", "SKIMAGE_SAMPLES", "list_images", "read_rgb", "skimage_samples", "walk_files"]

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

    Hidden files (``.DS_Store``, ``._x.jpg`` from macOS) are skipped because they are never pictures, and
    hidden folders (``.thumbnails/``) are not searched, as desnow does not search them.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; pass a folder that contains images")
    found = walk_files(root) if recursive else root.iterdir()
    return sorted(p for p in found if is_visible_image(p))


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
