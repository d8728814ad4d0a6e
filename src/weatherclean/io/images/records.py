"""What a loaded photo carries and what a save reports: the records load and save pass between them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LoadedImage", "SavedImage", "icc_fits"]


@dataclass
class LoadedImage:
    """Pixels plus everything needed to write the result back "the same" as the input.

    ``pixels`` is float32 H×W×C in [0, 1] with C = 3 (colour) or 1 (greyscale); ``alpha`` is H×W float32
    in [0, 1] or None; ``bit_depth`` is 8 or 16 per channel (a 10- or 12-bit HEIC's pixels are 16-bit, its own
    depth in ``extra["bits"]``); ``mode`` is the mode Pillow gives the file, whatever its depth (``RGB`` for a
    16-bit PNG or a 10-bit HEIC too), or ``LA;16`` for the 16-bit grey+alpha Pillow cannot open; ``extra`` holds
    format details used by
    :func:`save_image` (JPEG subsampling, DPI, PNG text chunks, WebP losslessness, ...). ``notes`` are
    one-line, non-fatal things the user should be told (conversions, dropped pages) – the batch runner
    prints them next to the photo. ``frames`` is how many frames/pages the file had (only the first is
    processed). ``orientation`` is the EXIF orientation (1–8; 1 when there is none): ``pixels`` are as
    stored, and a viewer turns them by it.
    """

    path: Path
    pixels: np.ndarray
    bit_depth: int
    format: str
    mode: str
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    frames: int = 1
    orientation: int = 1

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


@dataclass
class SavedImage:
    """What :func:`save_image` wrote: the path, the format, and notes about anything not kept.

    ``os.fspath(saved)`` gives the path, so code that treated the old ``Path`` return value as a path
    (``open(saved)``, ``Path(saved)``) keeps working.
    """

    path: Path
    format: str
    notes: list[str] = field(default_factory=list)

    def __fspath__(self) -> str:
        return os.fspath(self.path)


def icc_fits(like: LoadedImage, channels: int) -> bool:
    """Whether the input's ICC profile can describe an output of ``channels``: not a grey profile on colour
    pixels, which decoders refuse or misread. Both PNG writers and the other formats ask the same."""
    return bool(like.icc_profile) and not (like.icc_profile[16:20] == b"GRAY" and channels >= 3)  # type: ignore[index]
