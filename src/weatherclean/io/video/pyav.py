"""PyAV, imported on first use (:func:`_av`), never at the top of a module.

Runs that touch no video import this package too: a photo batch asks it which files are videos and
what a partial output is named. Loading FFmpeg's libraries is left to the first call that opens a video.
"""

from __future__ import annotations

from typing import Any


def _av() -> Any:
    import av

    return av
