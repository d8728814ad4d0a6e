"""Listing and reading clean images: the few helpers every data path needs.

Which files are images, and how they are decoded, is io's business (:mod:`weatherclean.io.media`,
:func:`weatherclean.io.images.load_image`): training and evaluation read pictures exactly as desnow and
derain do, and a format that works in one works in the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from weatherclean.errors import InputError
from weatherclean.io.images import load_image
from weatherclean.io.media import IMAGE_SUFFIXES, is_visible_image
from weatherclean.io.orientation import to_upright

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


def walk_files(folder: Path | str, *, skip_folder: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Every visible file under ``folder`` (recursively), as desnow walks a folder: hidden files and hidden
    folders (``.thumbnails/``, ``.git/``: names starting with a dot) are never entered, nor links to
    folders; ``skip_folder(path)``, when given, leaves out a sub-folder and everything in it. Unordered.
    """
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        dirnames[:] = [
            d for d in dirnames if not d.startswith(".") and (skip_folder is None or not skip_folder(base / d))
        ]
        yield from (base / name for name in filenames if not name.startswith("."))


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


def read_rgb(path: Path | str, *, upright: bool = False) -> np.ndarray:
    """Read an image as HxWx3 float32 in [0, 1], through the one image reader the CLI uses.

    Greyscale is repeated to three channels; 16-bit files keep their 16 bits of precision; transparency
    is dropped (composited on nothing), since the models work on opaque photos.

    Pixels are as stored by default (no EXIF rotation): the rainy and the clean picture of a pair are
    then read alike whatever tags each carries (a pair must never be turned on one side only). With
    ``upright`` a photo is turned as a viewer shows it (EXIF orientation, :mod:`weatherclean.io.orientation`):
    for a single clean photo that weather is drawn on, so that rain and snow fall down a phone's portrait
    photo and not across it. Raises :class:`InputError` with a one-line reason that names the file.
    """
    loaded = load_image(path)
    pixels = to_upright(loaded.pixels, loaded.orientation) if upright else loaded.pixels
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


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
