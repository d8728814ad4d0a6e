"""Image files in and out, keeping metadata, bit depth and alpha.

The names below are imported on first use (PEP 562), so that :mod:`.atomic` can be imported without
Pillow: the model loader uses it to give saved weights the user's permissions. :mod:`.folders` (is an
output folder writable?) needs no Pillow either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weatherclean._lazy import lazy_exports

if TYPE_CHECKING:
    from weatherclean.io.images import (
        HEIF_EXTRA_HINT,
        IMAGE_SUFFIXES,
        OUTPUT_FORMATS,
        LoadedImage,
        OutputError,
        SavedImage,
        is_image_path,
        load_image,
        normalise_format,
        save_image,
        strip_exif_thumbnail,
        suffix_for_format,
    )

__all__ = [
    "HEIF_EXTRA_HINT",
    "IMAGE_SUFFIXES",
    "OUTPUT_FORMATS",
    "LoadedImage",
    "OutputError",
    "SavedImage",
    "is_image_path",
    "load_image",
    "normalise_format",
    "save_image",
    "strip_exif_thumbnail",
    "suffix_for_format",
]

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "weatherclean.io.images"), globals())
