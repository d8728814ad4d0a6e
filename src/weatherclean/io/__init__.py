"""Image files in and out, keeping metadata, bit depth and alpha."""

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
