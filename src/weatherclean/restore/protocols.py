"""What the batch runner needs of a restorer, kept free of PyTorch so that ``batch/`` can name it without
loading a model stack (a ``--help`` or a dry run imports batch/ too)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["CancelSignal", "ClipRestorer"]


class CancelSignal(Protocol):
    """What :meth:`weatherclean.restore.Restorer.restore` takes as ``cancel``: anything whose ``is_set()`` turns
    true when the call should stop, such as a ``threading.Event`` another thread sets."""

    def is_set(self) -> bool: ...


class ClipRestorer(Protocol):
    """Restores one clip's frames in order (H×W×C arrays, C = 1 or 3), each call the next frame, with the
    memory carried between calls; :meth:`weatherclean.restore.Restorer.new_clip` makes one per clip."""

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...

    @property
    def notes(self) -> list[str]:
        """Things to tell the user once the clip is done (precision fallbacks, ...)."""
        ...
