"""The JPEG/WebP/AVIF ``quality`` every writer takes: a whole number 1-100, or ``"keep"``.

A leaf without Pillow, so that ``--quality`` is checked by the command line's parser (``--help`` and a
mistyped option must not import the image stack) with the same rule and words as ``save_image`` and
``Restorer.restore_file``.
"""

from __future__ import annotations

import numbers
from typing import Literal

__all__ = ["DEFAULT_QUALITY", "Quality", "check_quality"]

#: 1-100, or "keep": a JPEG written as JPEG keeps its own quantisation tables and subsampling.
Quality = int | Literal["keep"]
#: What photos are written at when nothing else is asked, and what "keep" gives a photo that has no tables to keep.
DEFAULT_QUALITY = 95


def check_quality(quality: object, *, typed: str | None = None) -> Quality:
    """``quality`` as the writers take it: a whole number 1-100, or ``"keep"`` in any case.

    ``typed`` is the text a user gave ``--quality``: its ASCII digits count as a number (not ``"²"``, which
    ``str.isdigit`` takes and ``int`` refuses), and the message quotes it as typed. Raises :class:`ValueError`
    with the one message the writer, ``restore_file`` (after the file's name) and ``--quality`` give.
    """
    value = quality
    if typed is not None:
        text = typed.strip()
        value = int(text) if text.isascii() and text.isdigit() else text
    if isinstance(value, str) and value.strip().lower() == "keep":
        return "keep"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= int(value) <= 100:
        got = typed.strip() if typed is not None else quality
        raise ValueError(f"quality must be a whole number from 1 to 100 or 'keep', got {got!r}")
    return int(value)
