"""Which way up a picture is: EXIF orientation for photos, display rotation for videos, as NumPy turns.

Files keep their pixels as stored and say how to show them (the EXIF orientation tag, a video's display
matrix); we keep it that way on output. But the models must see a picture the way a viewer shows it:
rain falls down the displayed picture, and a portrait photo stored on its side shows the model
horizontal streaks it never learned (a stored-sideways rainy photo came back with none of its rain
removed). So :meth:`~weatherclean.restore.Restorer.restore_loaded` and the video path turn pixels
upright (:func:`to_upright`, :func:`rotation_upright`) for the model and back (:func:`to_stored`,
:func:`rotation_stored`) for the writer, and formats that cannot keep the tag get upright pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["exif_orientation", "rotation_stored", "rotation_upright", "to_stored", "to_upright"]

_Turn = Callable[[np.ndarray], np.ndarray]

#: EXIF orientation → stored pixels to displayed ones (as ``PIL.ImageOps.exif_transpose``).
_UPRIGHT: dict[int, _Turn] = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}  # fmt: skip
#: The inverses: flips and transposes are their own, the two quarter turns swap.
_STORED: dict[int, _Turn] = {**_UPRIGHT, 6: _UPRIGHT[8], 8: _UPRIGHT[6]}


def exif_orientation(exif: bytes | None) -> int:
    """The orientation tag of an EXIF block (1 when there is none or it cannot be read)."""
    if not exif:
        return 1
    try:
        data = Image.Exif()
        data.load(exif)
        value = int(data.get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a photo must never fail over its EXIF
        return 1
    return value if value in range(1, 9) else 1


def to_upright(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Stored pixels (H×W or H×W×C) as a viewer shows them under EXIF ``orientation``, in C order."""
    turn = _UPRIGHT.get(orientation)
    return np.ascontiguousarray(turn(arr)) if turn else arr


def to_stored(arr: np.ndarray, orientation: int, *, view: bool = False) -> np.ndarray:
    """The inverse of :func:`to_upright`: displayed pixels back as stored under ``orientation``, in C order,
    or with ``view`` a strided view of ``arr`` (no copy: for writing straight into a stored-shaped array)."""
    turn = _STORED.get(orientation)
    if turn is None:
        return arr
    return turn(arr) if view else np.ascontiguousarray(turn(arr))


def rotation_upright(arr: np.ndarray, rotation: int) -> np.ndarray:
    """A video frame as shown under a display rotation of ``rotation`` degrees counter-clockwise (as
    PyAV reports it; multiples of 90, others count as the nearest below)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(arr, turns)) if turns else arr


def rotation_stored(arr: np.ndarray, rotation: int) -> np.ndarray:
    """The inverse of :func:`rotation_upright`."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(arr, -turns)) if turns else arr
