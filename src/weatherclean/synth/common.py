"""What snow and rain synthesis share: choosing styles by name, and smooth random fields."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["StyleChoice", "Styles", "check_style_names", "pick_styles", "smooth_field"]

#: The styles a sample is drawn from: names drawn alike, or names with relative weights (the chance of
#: each at every draw; ``{"downpour": 0.25}`` gives downpour a quarter of any other style's chance).
Styles = tuple[str, ...] | Mapping[str, float]
#: What a caller may pass: names, names with weights (a name left out weighs 1), or None (all, alike).
StyleChoice = Sequence[str] | Mapping[str, float] | None
#: Weights further apart than this, relative to the largest, are refused: the smaller style would
#: practically never be drawn, and numpy's draw fails on probabilities that round to 0.
_SMALLEST_SHARE = 1e-6


def check_style_names(weather: str, styles: StyleChoice, known: tuple[str, ...]) -> Styles:
    """The allowed styles as a tuple without repeats (None or empty: all ``known``), or, given a mapping of
    names to weights, a dict of the styles with a weight above 0 (a known name left out weighs 1), in
    ``known``'s order, as given (so a model card repeats what was typed).

    An unknown name, or a weight that is negative or not a number, raises ValueError naming it, so the CLI
    can say it in one line. Weights are kept apart from names (rather than always drawing with weights)
    so that a plain list draws exactly the samples it drew before weights existed; for the same reason,
    weights that are all equal come back as a plain tuple: the same draws as naming those styles.
    """
    if isinstance(styles, str):  # one name, not a sequence of one-letter names
        styles = [styles]
    if not styles:
        return known
    unknown = [s for s in styles if s not in known]
    if unknown:
        raise ValueError(f"unknown {weather} style {unknown[0]!r}: use one of {', '.join(known)}")
    if not isinstance(styles, Mapping):
        return tuple(dict.fromkeys(styles))
    for name, weight in styles.items():
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 <= weight < math.inf:
            raise ValueError(f"{weather} style {name!r}: weight {weight!r} is not a number >= 0")
    given = {name: float(styles.get(name, 1.0)) for name in known}
    largest = max(given.values())
    if largest == 0:
        raise ValueError(f"every {weather} style has weight 0: give at least one a weight above 0")
    weights = {name: w for name, w in given.items() if w > 0}
    if tiny := [name for name, w in weights.items() if w / largest < _SMALLEST_SHARE]:
        raise ValueError(f"{weather} style {tiny[0]!r}: weight too small beside the largest; use 0 to leave it out")
    if len(set(weights.values())) == 1:
        return tuple(weights)
    return weights


def pick_styles(rng: np.random.Generator, allowed: Styles) -> list[str]:
    """One style when only one is allowed; otherwise one to three of them (half the samples have one).

    Real weather is rarely one renderer's look: a mixed sample layers up to three styles. With weights
    (a mapping from :func:`check_style_names`), each style is drawn with a chance in proportion to its
    weight, without repeats, so in samples of two or three styles the shares come out less far apart.
    """
    names = tuple(allowed)
    if len(names) == 1:
        return list(names)
    count = min(len(names), int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])))
    if isinstance(allowed, Mapping):
        weights = np.array([allowed[n] for n in names], dtype=np.float64)
        weights /= weights.max()  # first, so that huge weights cannot overflow the sum
        picked = rng.choice(len(names), size=count, replace=False, p=weights / weights.sum())
    else:
        picked = rng.choice(len(names), size=count, replace=False)
    return [names[int(i)] for i in sorted(picked)]


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
