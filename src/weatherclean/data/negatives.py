"""Hard negatives: weather-free training crops taken where the picture has the most fine detail.

Why: each bundled model's worst weather-free held-out photo is one full of small structure. The snow
model darkens the lit windows of an office front (img_012, 36.46 dB against its input) as if they were
flakes; the rain model treats a house front's shutters and window frames as streaks (kodim24, 38.97 dB;
both measured per photo before runs/round11-snow-rule.txt and runs/round20-rain-rule.txt were written).
A random crop of a training background is mostly sky, foliage or wall, so the weather-free samples
that teach "leave this alone" rarely show such structure. With ``dry_crops`` K > 1 a dataset draws K
candidate crops for each weather-free sample and keeps the one with the most fine detail; samples that
get weather are cropped as before.

The detail measure is the mean absolute difference between the luma and its 5 × 5 local mean: it is
high wherever there is fine structure of any kind (flakes, streaks, windows, slats, and foliage too).
Since a zoomed-out crop packs more structure into the same pixels, the chosen crops are on average a
little more zoomed out than plain ones (the scale jitter of 0.5-1x).

Any other rating of a crop can take the measure's place (``score``): both synthetic datasets take the
change a frozen model would make (``train --dry-pick change``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from weatherclean.errors import DatasetError

#: Side of the local mean the detail measure compares each pixel with.
DETAIL_WINDOW = 5
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

#: How a candidate crop is rated (higher: a harder negative): :func:`fine_detail`, or the change a frozen
#: model would make (``train --dry-pick change``).
CropScore = Callable[[np.ndarray], float]


def check_dry_crops(value: int) -> None:
    """``dry_crops`` is a whole number of candidate crops, at least 1 (1: the ordinary random crop)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DatasetError(f"dry crops {value!r} must be a whole number of at least 1")


def luma(patch: np.ndarray) -> np.ndarray:
    """The H × W luma (BT.601 weights, float32) of an H × W × 3 float picture: what both ratings of a
    candidate crop, its detail and a model's change to it, are measured on."""
    return patch.astype(np.float32, copy=False) @ _LUMA


def fine_detail(patch: np.ndarray) -> float:
    """Mean |luma − its 5 × 5 local mean| of an H × W × 3 float picture in [0, 1] (borders: edge values)."""
    y = luma(patch)
    r = DETAIL_WINDOW // 2
    local = sliding_window_view(np.pad(y, r, mode="edge"), (DETAIL_WINDOW, DETAIL_WINDOW)).mean(axis=(-2, -1))
    return float(np.abs(y - local).mean())


def detailed_crop(
    draw: Callable[[np.random.Generator], np.ndarray],
    rng: np.random.Generator,
    tries: int,
    score: CropScore | None = None,
) -> np.ndarray:
    """The crop with the highest ``score`` (default :func:`fine_detail`) of ``tries`` made by ``draw(rng)``
    (the first on ties).

    With ``tries`` 1 this is ``draw(rng)``, with the same draws from ``rng``: a run without hard
    negatives keeps its samples for the same seed. The score never draws from ``rng``, so any score sees
    the same candidates."""
    best = draw(rng)
    if tries <= 1:
        return best
    score = score or fine_detail
    best_score = score(best)
    for _ in range(tries - 1):
        candidate = draw(rng)
        value = score(candidate)
        if value > best_score:
            best, best_score = candidate, value
    return best
