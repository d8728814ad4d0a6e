"""The pixel arrays restoration takes, checked at every public way in.

:meth:`~weatherclean.restore.Restorer.restore` checks what a Python user hands it; the entry points the
commands use (:meth:`~weatherclean.restore.Restorer.restore_loaded`, the clip restorers of
:meth:`~weatherclean.restore.Restorer.new_clip`, :meth:`~weatherclean.restore.Restorer.finish`) take the
engine's own H×W×C form and check it the same way, so that 0-255 floats or NaN are refused wherever they
come in rather than clipped to a white picture without a word.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FLOAT_RANGE", "check_dtype", "check_float_range", "engine_pixels", "restore_frame"]

#: Float pixels outside [low, high] are on another scale, not [0, 1] with overshoot: sharpening or a cubic
#: resize leaves a few hundredths either side, which the engine clips as it always did.
FLOAT_RANGE = (-0.5, 1.5)


def check_dtype(arr: np.ndarray) -> np.ndarray:
    """``arr`` in native byte order (NumPy's view of a big-endian 16-bit TIFF is ``>u2``: the same values),
    after refusing a pixel type the engine does not take; float pixels are checked for their scale."""
    dtype = arr.dtype
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    if not (arr.dtype in (np.uint8, np.uint16) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"pixels must be uint8, uint16 or float in [0, 1], got {dtype}")
    if np.issubdtype(arr.dtype, np.floating) and arr.size:
        check_float_range(arr)
    return arr


def check_float_range(arr: np.ndarray) -> None:
    """Refuse float pixels that are clearly not on the [0, 1] scale, or NaN: 0-255 floats (what OpenCV or a
    cast from uint8 gives) would come back mostly white, and NaN as NaN, both without a word."""
    low, high = float(np.min(arr)), float(np.max(arr))
    if np.isnan(low) or np.isnan(high):
        raise ValueError("float pixels contain NaN; they must be numbers in [0, 1]")
    if low < FLOAT_RANGE[0] or high > FLOAT_RANGE[1]:
        hint = "; for 0-255 values pass uint8, or divide by 255" if 2 < high <= 256 else ""
        raise ValueError(f"float pixels must be in [0, 1], got values from {low:g} to {high:g}{hint}")


def engine_pixels(pixels: object, what: str) -> np.ndarray:
    """``pixels`` as the tiling engine takes them, H×W×1 or H×W×3 of uint8, uint16 or float in [0, 1] (in
    native byte order), checked as :meth:`~weatherclean.restore.Restorer.restore` checks a picture;
    ``what`` names the argument in the errors (a ``TypeError`` for a non-array, else a ``ValueError``)."""
    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"{what} must be a NumPy array (H×W×1 or H×W×3), got {type(pixels).__name__}")
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3) or min(pixels.shape[:2]) == 0:
        raise ValueError(
            f"{what} must be H×W×1 or H×W×3 (alpha apart; restore() takes H×W and alpha too), got shape {pixels.shape}"
        )
    return check_dtype(pixels)


def restore_frame(restore: Callable[[np.ndarray], np.ndarray], frame: np.ndarray, *, check: bool) -> np.ndarray:
    """``restore(frame)`` for the clip restorers of :meth:`~weatherclean.restore.Restorer.new_clip`: with
    ``check``, the frame is checked as :func:`engine_pixels` checks it and the result comes back in its dtype
    (float64 in, float64 out); without, frames already checked (:meth:`Restorer.restore_clip`'s) pass as they
    are."""
    if not check:
        return restore(frame)
    out = restore(engine_pixels(frame, "frame"))
    return out if out.dtype == frame.dtype else out.astype(frame.dtype)
