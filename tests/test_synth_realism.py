"""Synthesis features added after comparing our weather with real photos (docs/synthesis.md, "How close
is synthetic weather to real weather"): big soft bokeh flakes that some photos are full of, and rain
streaks that fan out and vary in length within one picture."""

from __future__ import annotations

import math

import numpy as np
import pytest

import weatherclean.synth.rain as rain
import weatherclean.synth.snow as snow


@pytest.fixture
def bokeh_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bokeh style with its small-flake layer emptied, so the mask shows the bokeh discs alone."""
    import dataclasses

    style = snow._STYLES["bokeh"]
    discs, small = style.layers
    monkeypatch.setitem(
        snow._STYLES, "bokeh", dataclasses.replace(style, layers=(discs, dataclasses.replace(small, density=(0, 0, 0))))
    )


def _bokeh_masks(n: int, size: int = 320) -> list[np.ndarray]:
    clean = np.full((size, size, 3), 0.2, np.float32)
    return [
        snow.synthesize_snow(clean, np.random.default_rng(s), "L", haze=False, styles=["bokeh"]).mask for s in range(n)
    ]


def test_bokeh_flakes_at_level_l_are_big_and_soft(bokeh_only: None) -> None:
    masks = _bokeh_masks(12)
    assert all(m.max() > 0.05 for m in masks)  # every heavy-snow image has some bokeh
    for m in masks:
        # Big: a disc of radius >= 5 px covers well over 50 pixels above half its peak.
        assert (m > 0.5 * m.max()).sum() > 50
        # Soft: the defocused edge spreads over several pixels, so the mask never changes by more than
        # 0.4 of its peak between neighbours (a sharp-edged disc jumps by most of its peak).
        gy, gx = np.gradient(m)
        assert np.hypot(gx, gy).max() < 0.4 * m.max()
        # See-through: even overlapping discs in a burst stay translucent.
        assert m.max() < 0.85


def test_some_images_are_full_of_bokeh_and_most_have_little(bokeh_only: None) -> None:
    amounts = np.array([m.mean() for m in _bokeh_masks(40)])
    low, high = np.percentile(amounts, [20, 90])
    # Real photos are either full of near-lens flakes or nearly free of them: a wide spread, far more
    # than the 0.7-1.35 x 0.8-1.25 jitter and Poisson noise of the other layers give.
    assert high > 5 * low


def _streak_axis(bank: rain._Bank, v: int) -> tuple[float, float]:
    """Direction (degrees from vertical, + falls right) and along-axis standard deviation (px) of one
    sprite of a sparse bank, from the second moments of its pixel values."""
    w = bank.val[v].astype(np.float64)
    y, x = bank.dy[v].astype(np.float64), bank.dx[v].astype(np.float64)
    w = np.where(w > 0.05 * w.max(), w, 0.0)
    my, mx = (w * y).sum() / w.sum(), (w * x).sum() / w.sum()
    cyy = (w * (y - my) ** 2).sum() / w.sum()
    cxx = (w * (x - mx) ** 2).sum() / w.sum()
    cxy = (w * (x - mx) * (y - my)).sum() / w.sum()
    evals, evecs = np.linalg.eigh(np.array([[cxx, cxy], [cxy, cyy]]))
    ex, ey = evecs[:, 1]
    if ey < 0:
        ex, ey = -ex, -ey
    return math.degrees(math.atan2(ex, ey)), math.sqrt(evals[1])


def test_streaks_fan_out_around_the_wind() -> None:
    vertical = (rain._N_ANGLES - 1) // 2
    deviations = [
        _streak_axis(rain._bank(layer, vertical, k, False), v)[0]
        for layer in (rain._MID, rain._NEAR)
        for k in (2, 3)
        for v in range(rain._LAYERS[layer].variants)
    ]
    deviations = np.abs(deviations)
    assert deviations.max() > 4.5  # some streaks lean clearly off the wind (was clipped at 4 degrees)
    assert deviations.max() < 7.5  # but the wind still rules
    assert np.median(deviations) > 1.2


def test_streak_lengths_vary_within_one_bank() -> None:
    vertical = (rain._N_ANGLES - 1) // 2
    bank = rain._bank(rain._NEAR, vertical, 3, False)
    spreads = [_streak_axis(bank, v)[1] for v in range(bank.val.shape[0])]
    # The longest near streak is well over 1.5x the shortest (lengths vary by 0.7-1.3x).
    assert max(spreads) > 1.55 * min(spreads)
