"""Listing and reading clean images: the few helpers every data path needs.

Which files are images, how a folder is walked (:mod:`weatherclean.io.media`) and how a picture is decoded
(:func:`weatherclean.io.images.read_rgb`) is io's business: training and evaluation read pictures exactly as
desnow and derain do, and a format that works in one works in the other. ``read_rgb`` and ``walk_files`` are
importable from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from weatherclean.errors import DatasetError, InputError
from weatherclean.io.images import read_rgb
from weatherclean.io.media import IMAGE_SUFFIXES, is_visible_image, walk_files

__all__ = [
    "IMAGE_SUFFIXES", "SKIMAGE_SAMPLES", "list_clean_photos", "list_images", "read_clean_photo", "read_rgb",
    "skimage_samples", "walk_files",
]  # fmt: skip

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


def list_clean_photos(folder: Path | str, note: Callable[[str], None] | None = None) -> list[Path]:
    """The clean photos under ``folder``, found as ``synth`` finds CLEAN_DIR's: sorted, hidden files and folders
    left out, and no folder that holds an earlier synth output (a ``synth.json``, or the progress file of an
    unfinished run) searched. What was passed over is told to ``note``.

    Why: a synth output kept beside the photos it was made from (``photos/snowy/``) holds snowy pictures,
    masks and streak maps; read as clean backgrounds they would teach a model that weather is part of a
    clean scene. ``train --clean`` and ``synth`` both list photos with
    :func:`~weatherclean.synth.dataset.inputs.find_clean_photos`, so they read the same photos from a folder.
    """
    from weatherclean.synth.dataset.inputs import find_clean_photos  # the rule synth's own listing follows

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; pass a folder that contains images")
    return find_clean_photos(root, note)[0]


def read_clean_photo(path: Path | str) -> np.ndarray:
    """A clean training background as HxWx3 float32 RGB, upright (EXIF orientation: the weather falls down
    the view); one that cannot be read is a one-line :class:`DatasetError` that says what to do.

    Why refuse rather than skip: the run, its ``train_config.json`` and its model card name the folder, and a
    model trained on all of it but one photo would not be the model that the card's command makes.
    """
    try:
        return read_rgb(path, upright=True)
    except InputError as exc:
        raise DatasetError(
            f"{exc}; fix or remove this photo and run the command again (training uses every photo in the "
            "folders given, as the run records them)"
        ) from None


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
