"""The image formats we read and write: one spelling per format, its file suffix and its display name.

The CLI (``--format``), output naming and the writers all go through :func:`normalise_format`, so a
format is either supported everywhere or refused with one line that says why.
"""

from __future__ import annotations

import importlib.util

from PIL import Image, features

from weatherclean.errors import OutputError
from weatherclean.io import media

__all__ = [
    "FORMAT_NAME",
    "OUTPUT_FORMATS",
    "PHOTO_FORMATS_TEXT",
    "SUPPORTED_FORMATS",
    "avif_available",
    "frame_unit",
    "normalise_format",
    "size_text",
    "suffix_for_format",
]

#: Names users type for ``--format`` → Pillow format name.
_FORMAT_ALIASES = {"jpeg": "JPEG", "jpg": "JPEG", "jpe": "JPEG", "jfif": "JPEG", "jif": "JPEG", "png": "PNG",
                   "tiff": "TIFF", "tif": "TIFF", "webp": "WEBP", "avif": "AVIF", "heic": "HEIF", "heif": "HEIF",
                   "bmp": "BMP", "ppm": "PPM", "pgm": "PPM"}  # fmt: skip
_FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "AVIF": ".avif", "HEIF": ".heic",
                  "BMP": ".bmp", "PPM": ".ppm"}  # fmt: skip
#: Pillow's format name → the name people know, for messages.
FORMAT_NAME = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP", "AVIF": "AVIF", "HEIF": "HEIC",
               "BMP": "BMP", "PPM": "PPM"}  # fmt: skip
#: Formats :func:`weatherclean.io.images.load_image` reads (Pillow's names; MPO is read as JPEG).
SUPPORTED_FORMATS = tuple(_FORMAT_SUFFIX)
#: The photo formats ``--format`` takes, as its messages name them.
PHOTO_FORMATS_TEXT = "jpeg, png, tiff, webp, avif, heic, bmp or ppm"


#: A file of several pictures, by format: what it is called, and what one of its pictures is (the load note
#: "multi-page TIFF: only page 1 of 3 processed" and --in-place's "would lose pages 2–3" say the same).
_MULTI_PICTURE = {"TIFF": ("multi-page TIFF", "page"), "JPEG": ("multi-picture JPEG", "picture"),
                  "HEIF": ("HEIC with several images", "image")}  # fmt: skip


def frame_unit(fmt: str) -> tuple[str, str]:
    """(what a file of several pictures in ``fmt`` is called, what one of them is): ``("multi-page TIFF",
    "page")``; any other format is an animation of frames."""
    return _MULTI_PICTURE.get(fmt, (f"animated {FORMAT_NAME.get(fmt, fmt)}", "frame"))


def avif_available() -> bool:
    """Whether this Pillow was built with AVIF (wheels since 11.2 are; some distributions' are not)."""
    return bool(features.check("avif"))


#: Names accepted by ``--format`` in this installation (heic/heif only with the optional extra).
OUTPUT_FORMATS: tuple[str, ...] = (
    "jpeg", "jpg", "png", "tiff", "tif", "webp",
    *(("avif",) if avif_available() else ()),
    *(("heic", "heif") if importlib.util.find_spec("pillow_heif") is not None else ()),
    "bmp", "ppm", "pgm",
)  # fmt: skip


def normalise_format(name: str) -> str:
    """``"jpg"`` → ``"JPEG"``: one spelling per format so the CLI, suffixes and writers agree.

    Raises a one-line :class:`OutputError` for unknown names and for formats this installation cannot
    write (HEIC without the ``heif`` extra, AVIF with a Pillow built without it).
    """
    key = name.strip().lower().lstrip(".")
    fmt = _FORMAT_ALIASES.get(key)
    if fmt is None:
        raise OutputError(f"unknown output format '{name}'; use {PHOTO_FORMATS_TEXT}")
    if fmt == "AVIF" and not avif_available():
        raise OutputError(f"{key} output needs Pillow built with AVIF support: pip install -U pillow")
    if fmt == "HEIF" and not (media.heif_ready() and "HEIF" in Image.SAVE):
        raise OutputError(f"{key} output needs the optional extra: {media.HEIF_EXTRA_HINT}")
    return fmt


def format_of_suffix(suffix: str) -> str | None:
    """The format a file ending names (``".JPG"`` → ``"JPEG"``), None when it names none; whether this
    installation can write it is :func:`normalise_format`'s question."""
    return _FORMAT_ALIASES.get(suffix.strip().lower().lstrip(".")) if suffix else None


def suffix_for_format(fmt: str) -> str:
    """File ending for a format (Pillow name or user spelling), e.g. ``"JPEG"`` → ``".jpg"``."""
    key = fmt.strip().lstrip(".")
    pillow = key.upper() if key.upper() in _FORMAT_SUFFIX else _FORMAT_ALIASES.get(key.lower())
    if pillow is None:
        raise OutputError(f"unknown output format '{fmt}'; use {PHOTO_FORMATS_TEXT}")
    return _FORMAT_SUFFIX[pillow]


def size_text(count: int) -> str:
    """A size as every note gives it: ``104 bytes``, ``3 KB``, ``12.4 MB``, ``2.0 GB`` (of 1024: a JPEG segment's
    64 KB is 65,535 bytes)."""
    if count < 1024:
        return "1 byte" if count == 1 else f"{count} bytes"
    if round(count / 1024) < 1024:
        return f"{round(count / 1024)} KB"
    if round(count / (1 << 20), 1) < 1024:
        return f"{count / (1 << 20):.1f} MB"
    return f"{count / (1 << 30):.1f} GB"
