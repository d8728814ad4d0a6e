"""The picture gate: a picture in which the model finds almost nothing it is sure of comes back unchanged.

Why: the light models judge each pixel by its neighbourhood, so the same local pattern gets the same
correction whatever the rest of the picture shows (snow round 18's calibration probe). On a photo without
weather, and on light specks or bokeh, what they change is mostly scene detail they take for weather:
scattered, faint changes that cost PSNR and never help. Where there really is weather, some of it is
changed strongly. So the share of pixels whose luma the model darkens by at least
:data:`STRONG_CHANGE` tells, for the whole picture at once, whether the model found weather it is sure
of. Below the model's ``config.picture_gate`` the picture is returned as it came; from twice it, the
model's output is returned as it is; in between, the two are blended linearly. The share is measured on
the whole picture after its tiles are put together: one decision per picture, however it was tiled (a
video's frames are pictures of their own, each decided alone).

A model opts in through ``config.picture_gate`` (0 or missing: off); this module knows no model family.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from weatherclean.restore.tiling import full_scale

__all__ = ["STRONG_CHANGE", "apply_picture_gate", "blend", "gate_of", "gate_strength", "strong_share"]

#: How much darker (luma, as a fraction of full scale: 24 grey levels of 255) a pixel must come out to
#: count as a change the model is sure of.
STRONG_CHANGE = 24.0 / 255.0

#: Rows per chunk, so that a 24-megapixel photo needs no whole-picture float copies.
_ROWS = 512

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601, as PSNR-Y


def gate_of(model: Any) -> float:
    """The model's picture-gate floor (0: off), from ``model.config.picture_gate`` when it has one."""
    return float(getattr(getattr(model, "config", None), "picture_gate", 0.0) or 0.0)


def _scale(pixels: np.ndarray) -> float:
    """Full scale of ``pixels``' dtype, as the tiling engine reads it: 255 for uint8, 65535 for uint16, 1 for
    float."""
    return full_scale(pixels.dtype) or 1.0


def _luma(pixels: np.ndarray) -> np.ndarray:
    """Luma of H×W×C rows (C = 1 or 3) in [0, 1], float32."""
    values = pixels.astype(np.float32) / np.float32(_scale(pixels))
    return values[..., 0] if values.shape[-1] == 1 else values @ _LUMA


def strong_share(before: np.ndarray, after: np.ndarray) -> float:
    """The share of pixels whose luma ``after`` is at least :data:`STRONG_CHANGE` darker than ``before``
    (H×W×C arrays of the same shape; each may be uint8, uint16 or float in [0, 1])."""
    if before.shape != after.shape:
        raise ValueError(f"the picture is {before.shape}, its restored version {after.shape}")
    strong = 0
    for top in range(0, before.shape[0], _ROWS):
        rows = slice(top, top + _ROWS)
        strong += int(np.count_nonzero(_luma(before[rows]) - _luma(after[rows]) >= STRONG_CHANGE))
    return strong / max(before.shape[0] * before.shape[1], 1)


def gate_strength(share: float, floor: float) -> float:
    """How much of the model's correction a picture keeps: 0 below ``floor``, 1 from ``2 * floor``,
    linear in between; always 1 when the gate is off (``floor`` 0)."""
    if floor <= 0:
        return 1.0
    return float(np.clip((share - floor) / floor, 0.0, 1.0))


def blend(before: np.ndarray, after: np.ndarray, strength: float) -> np.ndarray:
    """``before + strength * (after - before)``, written into ``after`` (returned), in ``after``'s pixel type:
    ``before`` is rescaled when the two types differ (uint8 into a uint16 or float output), integers are
    rounded and floats clipped to [0, 1], as the tiling engine writes them. Strength 1 leaves ``after`` as
    it is; strength 0 writes ``before`` over it (bit for bit when the types match)."""
    if strength >= 1.0:
        return after
    if strength <= 0.0 and before.dtype == after.dtype:
        if after.dtype.kind == "f":
            np.clip(before, 0, 1, out=after)
        else:
            np.copyto(after, before)
        return after
    integer = np.issubdtype(after.dtype, np.integer)
    top_value = _scale(after)
    factor = np.float32(top_value / _scale(before))
    for first in range(0, before.shape[0], _ROWS):
        rows = slice(first, first + _ROWS)
        start = before[rows].astype(np.float32)
        if factor != 1:
            start *= factor
        if strength > 0.0:
            start += np.float32(strength) * (after[rows].astype(np.float32) - start)
        after[rows] = np.clip(np.rint(start) if integer else start, 0, top_value)
    return after


def apply_picture_gate(before: np.ndarray, after: np.ndarray, floor: float) -> np.ndarray:
    """``after`` (the model's output for ``before``) with the picture gate at ``floor`` applied, written into
    ``after`` itself, which is returned. ``before`` must not share memory with ``after``."""
    return blend(before, after, gate_strength(strong_share(before, after), floor))
