"""Image files in and out, keeping metadata, bit depth and alpha."""

from weatherclean.io.images import (
    IMAGE_SUFFIXES,
    LoadedImage,
    OutputError,
    is_image_path,
    load_image,
    save_image,
    strip_exif_thumbnail,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "LoadedImage",
    "OutputError",
    "is_image_path",
    "load_image",
    "save_image",
    "strip_exif_thumbnail",
]
