"""What snow and rain synthesis share: choosing styles by name, and smooth random fields."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["check_style_names", "pick_styles", "smooth_field"]


def check_style_names(weather: str, styles: Sequence[str] | None, known: tuple[str, ...]) -> tuple[str, ...]:
    """The allowed styles as a tuple without repeats (None or empty: all ``known``).

    An unknown name raises ValueError naming it and the known ones, so the CLI can say it in one line.
    """
    if isinstance(styles, str):  # one name, not a sequence of one-letter names
        styles = [styles]
    if not styles:
        return known
    unknown = [s for s in styles if s not in known]
    if unknown:
        raise ValueError(f"unknown {weather} style {unknown[0]!r}: use one of {', '.join(known)}")
    return tuple(dict.fromkeys(styles))


def pick_styles(rng: np.random.Generator, allowed: tuple[str, ...]) -> list[str]:
    """One style when only one is allowed; otherwise one to three of them (half the samples have one).

    Real weather is rarely one renderer's look: a mixed sample layers up to three styles.
    """
    if len(allowed) == 1:
        return list(allowed)
    count = min(len(allowed), int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])))
    picked = rng.choice(len(allowed), size=count, replace=False)
    return [allowed[int(i)] for i in sorted(picked)]


def smooth_field(rng: np.random.Generator, h: int, w: int, channels: int, cell: float) -> np.ndarray:
    """Random field varying over about ``cell`` pixels (bilinear upsampling of a coarse grid) in [-1, 1]."""
    gh = int(math.ceil(h / cell)) + 2
    gw = int(math.ceil(w / cell)) + 2
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw, channels)).astype(np.float32)
    # A random phase so the grid does not line up with the image border.
    ys = (np.arange(h, dtype=np.float32) + float(rng.uniform(0, cell))) / cell
    xs = (np.arange(w, dtype=np.float32) + float(rng.uniform(0, cell))) / cell
    y0 = np.floor(ys).astype(np.intp)
    x0 = np.floor(xs).astype(np.intp)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)
