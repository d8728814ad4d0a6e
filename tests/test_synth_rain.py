"""Rain synthesis: the hybrid model holds exactly, alpha is binary, levels differ, clips move like a
camera and like falling rain, results are reproducible, and ``synth rain`` writes readable layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import weatherclean.synth.rain as rain
from synthetic import synth_app
from weatherclean.synth.rain import (
    RAIN_LEVELS,
    RAIN_STYLES,
    CameraMotion,
    RainClip,
    RainSample,
    apply_rain,
    check_styles,
    synthesize_rain,
    synthesize_rain_clip,
)


def _clean(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful image with some texture, so camera motion is measurable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / max(w - 1, 1), yy / max(h - 1, 1), 0.5 + 0.3 * np.sin(xx / 5.0) * np.cos(yy / 7.0)], axis=-1)
    return np.clip(base * 0.7 + 0.15 * rng.random((h, w, 3)), 0, 1).astype(np.float32)


def _check_model(clean: np.ndarray, streak: np.ndarray, alpha: np.ndarray, reliance: np.ndarray, rainy: np.ndarray):
    a = alpha[..., None]
    np.testing.assert_allclose(rainy, (1 - a) * (clean + streak) + a * reliance, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(rainy, apply_rain(clean, streak, alpha, reliance))
    assert set(np.unique(alpha)) <= {0.0, 1.0}  # alpha is an occlusion *map*, not an opacity
    assert streak.min() >= 0 and (clean + streak).max() <= 1 + 1e-6
    assert np.all(reliance[alpha == 0] == 0)  # A only exists where rain occludes
    assert rainy.min() >= 0 and rainy.max() <= 1 + 1e-6


def test_sample_follows_the_hybrid_model_exactly() -> None:
    clean = _clean(48, 64)
    for level in RAIN_LEVELS:
        s = synthesize_rain(clean, np.random.default_rng(3), level)
        assert isinstance(s, RainSample) and s.level == level
        assert s.rainy.shape == s.streak.shape == s.reliance.shape == (48, 64, 3) and s.alpha.shape == (48, 64)
        assert s.rainy.dtype == s.streak.dtype == s.alpha.dtype == s.reliance.dtype == np.float32
        np.testing.assert_array_equal(s.clean, clean)
        _check_model(clean, s.streak, s.alpha, s.reliance, s.rainy)
        assert s.streak.max() > 0.1  # there is rain


def test_occluding_rain_is_bright_and_not_the_background() -> None:
    clean = np.zeros((96, 96, 3), np.float32)
    clean[:, 48:] = 0.9  # dark and bright halves
    s = next(
        s
        for seed in range(20)
        if (s := synthesize_rain(clean, np.random.default_rng(seed), "heavy", styles=["lines"])).alpha.sum() > 20
    )
    occluded = s.alpha > 0
    assert s.reliance[occluded].mean() > 0.5  # bright, even where the background is black
    dark = occluded[:, :40]
    if dark.any():
        assert s.rainy[:, :40][dark].mean() > 0.5


def test_same_seed_same_rain_different_seed_different() -> None:
    clean = _clean(48, 64)
    a = synthesize_rain(clean, np.random.default_rng(7), "heavy")
    b = synthesize_rain(clean, np.random.default_rng(7), "heavy")
    c = synthesize_rain(clean, np.random.default_rng(8), "heavy")
    np.testing.assert_array_equal(a.rainy, b.rainy)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    assert not np.array_equal(a.streak, c.streak)


def test_heavy_has_more_rain_and_occlusion_than_light() -> None:
    clean = _clean(96, 96)
    stats = {}
    for level in RAIN_LEVELS:
        samples = [synthesize_rain(clean, np.random.default_rng(s), level, styles=["lines"]) for s in range(12)]
        stats[level] = (
            np.mean([s.streak.mean() for s in samples]),
            np.mean([s.alpha.mean() for s in samples]),
            np.mean([(s.streak.mean(axis=2) > 0.05).mean() for s in samples]),
        )
    light, heavy = stats["light"], stats["heavy"]
    assert heavy[0] > 3 * light[0]  # more streak energy (longer, denser, plus the veil)
    assert heavy[2] > 2 * light[2]  # more of the picture rained on
    assert heavy[1] > 0.005 and light[1] < 0.002  # heavy rain occludes; light rain almost never does
    assert light[0] > 0.003  # light rain is still visible


def _orientation_deg(streak: np.ndarray) -> float:
    """Dominant streak direction from the structure tensor, in degrees from vertical (+ falls right)."""
    gy, gx = np.gradient(streak.mean(axis=2))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return float(-0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy)))


def test_wind_angle_varies_between_seeds_and_matches_the_streaks() -> None:
    clean = np.full((112, 112, 3), 0.4, np.float32)
    samples = [synthesize_rain(clean, np.random.default_rng(s), "light", styles=["lines"]) for s in range(10)]
    angles = np.array([s.angle for s in samples])
    measured = np.array([_orientation_deg(s.streak) for s in samples])
    assert len(set(angles.tolist())) >= 4 and angles.min() < 0 < angles.max()
    assert np.corrcoef(angles, measured)[0, 1] > 0.9  # the streaks really lean the way the angle says
    tilted = np.abs(angles) >= 5
    assert np.all(np.sign(measured[tilted]) == np.sign(angles[tilted]))


def test_density_scales_with_area() -> None:
    # A 48x48 crop must look like a piece of a big rainy picture, not a miniature of it.
    small = np.mean(
        [synthesize_rain(_clean(48, 48), np.random.default_rng(s), "light").streak.mean() for s in range(40)]
    )
    big = np.mean(
        [synthesize_rain(_clean(192, 192), np.random.default_rng(s), "light").streak.mean() for s in range(6)]
    )
    assert 0.6 < small / big < 1.6


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="level"):
        synthesize_rain(_clean(16, 16), np.random.default_rng(0), "drizzle")
    with pytest.raises(ValueError, match="HxWx3"):
        synthesize_rain(np.zeros((16, 16), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="motion"):
        synthesize_rain_clip(_clean(16, 16), np.random.default_rng(0), "light", motion="wobble")


# --------------------------------------------------------------------------------------------------
# Styles
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", RAIN_STYLES)
@pytest.mark.parametrize("level", RAIN_LEVELS)
def test_every_style_renders_and_obeys_the_hybrid_model(style: str, level: str) -> None:
    clean = _clean(64, 80, seed=3)
    rained = []
    for seed in range(3):
        s = synthesize_rain(clean, np.random.default_rng(seed), level, styles=[style])
        assert s.styles == (style,) and s.level == level
        _check_model(clean, s.streak, s.alpha, s.reliance, s.rainy)
        rained.append(float(s.streak.max()))
    assert max(rained) > 0.05  # the style puts visible rain on the picture
    clip = synthesize_rain_clip(
        _clean(72, 96), np.random.default_rng(9), level, frames=3, size=(40, 56), styles=[style]
    )
    assert clip.styles == (style,)
    _check_model(clip.clean, clip.streak, clip.alpha, clip.reliance, clip.rainy)


def test_heavy_is_heavier_than_light_in_every_style() -> None:
    clean = _clean(96, 96)
    for style in RAIN_STYLES:
        mean = {
            level: np.mean(
                [synthesize_rain(clean, np.random.default_rng(s), level, [style]).streak.mean() for s in range(6)]
            )
            for level in RAIN_LEVELS
        }
        assert mean["heavy"] > 1.5 * mean["light"], (style, mean)


def test_check_styles_names_the_allowed_ones() -> None:
    assert check_styles(None) == check_styles([]) == RAIN_STYLES
    assert check_styles(["lens", "wide", "lens"]) == ("lens", "wide")
    with pytest.raises(ValueError, match="unknown rain style 'snow'.*lines"):
        check_styles(["snow"])
    with pytest.raises(ValueError, match="unknown rain style"):
        synthesize_rain(_clean(16, 16), np.random.default_rng(0), "light", styles=["fog"])


def test_style_weights_set_how_often_each_style_is_drawn() -> None:
    """A mapping of names to weights draws in proportion to the weights (a name left out weighs 1, weight 0
    leaves a style out); a plain list draws exactly as before weights existed, and so do equal weights."""
    from weatherclean.synth.common import pick_styles

    only_two = {name: 0 for name in RAIN_STYLES} | {"downpour": 0.25, "lines": 1}
    assert check_styles(only_two) == {"lines": 1.0, "downpour": 0.25}  # RAIN_STYLES' order, weight 0 dropped
    assert check_styles({"downpour": np.float32(2)}) == {s: 1.0 for s in RAIN_STYLES} | {"downpour": 2.0}
    assert check_styles({"lens": 0}) == tuple(s for s in RAIN_STYLES if s != "lens")  # equal: a plain tuple
    rng = np.random.default_rng(0)
    singles = [p[0] for p in (pick_styles(rng, check_styles(only_two)) for _ in range(4000)) if len(p) == 1]
    share = singles.count("downpour") / len(singles)  # 0.25 / 1.25 = 0.2 expected; 0.5 if drawn alike
    assert 0.16 < share < 0.24, share

    def before_weights(rng: np.random.Generator, allowed: tuple[str, ...]) -> list[str]:  # the draw of 0.x
        count = min(len(allowed), int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])))
        return [allowed[int(i)] for i in sorted(rng.choice(len(allowed), size=count, replace=False))]

    for allowed in (["lines", "downpour"], list(RAIN_STYLES), {s: 0 for s in RAIN_STYLES} | {"wide": 3, "lines": 3}):
        names = check_styles(allowed)
        assert [pick_styles(np.random.default_rng(seed), names) for seed in range(100)] == [
            before_weights(np.random.default_rng(seed), tuple(names)) for seed in range(100)
        ]
    for bad, message in (
        ({"lines": -1}, "not a number >= 0"),
        ({"lines": float("nan")}, "not a number"),
        ({"lines": True}, "not a number"),
        ({name: 0 for name in RAIN_STYLES}, "every rain style has weight 0"),
        ({"fog": 1}, "unknown rain style 'fog'"),
        ({"lines": 1e300}, "too small beside the largest"),
    ):
        with pytest.raises(ValueError, match=message):
            check_styles(bad)
    huge = check_styles({s: 1e308 for s in RAIN_STYLES} | {"lens": 5e307})  # their sum would overflow
    assert all(len(pick_styles(np.random.default_rng(seed), huge)) >= 1 for seed in range(20))
    sample = synthesize_rain(_clean(24, 24), np.random.default_rng(3), "heavy", styles={"wide": 1, "lines": 0})
    assert "lines" not in sample.styles


def test_mixed_draws_one_to_three_styles_and_never_an_excluded_one() -> None:
    clean = _clean(32, 32)
    allowed = ("wide", "drizzle", "lens")
    seen: set[str] = set()
    counts = set()
    for seed in range(40):
        drawn = synthesize_rain(clean, np.random.default_rng(seed), "light", styles=allowed).styles
        assert set(drawn) <= set(allowed) and 1 <= len(drawn) <= 3 and len(set(drawn)) == len(drawn)
        seen |= set(drawn)
        counts.add(len(drawn))
    assert seen == set(allowed) and counts == {1, 2, 3}
    everything = {s for seed in range(40) for s in synthesize_rain(clean, np.random.default_rng(seed)).styles}
    assert everything == set(RAIN_STYLES)


def _coherence(streak: np.ndarray) -> float:
    """How much the streak picture's gradients share one direction (1: all streaks parallel)."""
    gy, gx = np.gradient(streak.mean(axis=2))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return float(np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy))


def test_crossing_rain_falls_in_several_directions() -> None:
    style = rain._STYLES["crossing"]
    for seed in range(20):
        winds = [rain._angle_of(i) for i in rain._winds(np.random.default_rng(seed), style)]
        assert 2 <= len(winds) <= 3 and all(abs(a) <= style.max_angle for a in winds)
        assert max(abs(a - winds[0]) for a in winds[1:]) >= style.spread[0] - rain._ANGLE_STEP_DEG
    clean = np.full((112, 112, 3), 0.3, np.float32)
    coherence = {
        s: np.mean(
            [_coherence(synthesize_rain(clean, np.random.default_rng(i), "heavy", [s]).streak) for i in range(6)]
        )
        for s in ("lines", "crossing")
    }
    assert coherence["crossing"] < 0.8 * coherence["lines"], coherence


def test_lens_drops_occlude_and_show_an_upside_down_blurred_scene() -> None:
    h, w = 80, 80
    clean = np.repeat(np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None, None], w, axis=1).repeat(3, axis=2)
    drop = rain._LensDrop(x=40.0, y=40.0, radius=12.0, slide=0.0, zoom=2.0)
    scene = rain._Scene(
        level="heavy", styles=("lens",), angle_index=0, groups=[], lens=[drop], splashes=[], veil=None,
        colour=np.ones(3, np.float32), reliance_gain=0.8, reliance_light=0.2, accumulation=np.inf,
    )  # fmt: skip
    zeros = np.zeros((1, h, w), np.float32)
    streak, alpha, reliance = rain._compose_maps(scene, clean[None], zeros, zeros > 0)
    assert alpha[0, 40, 40] == 1 and alpha[0, 40, 20] == 0 and alpha[0, 40, 60] == 0  # a disc of radius 12
    assert alpha[0, 27:54, 40].all() and not alpha[0, 24, 40]  # a little taller than wide (it sags)
    inside = alpha[0] > 0
    a = reliance[0].mean(axis=2)
    top, bottom = a[:40][inside[:40]], a[41:][inside[41:]]
    # The scene is bright above and dark below; through the drop it is the other way round.
    assert np.median(top) < np.median(bottom) - 0.2
    assert np.abs(a[inside] - clean[..., 0][inside]).mean() > 0.1  # never the background itself
    _check_model(clean, streak[0], alpha[0], reliance[0], apply_rain(clean, streak[0], alpha[0], reliance[0]))


def test_splashes_last_one_frame() -> None:
    bank = rain._splash_bank()
    weights = bank.val.astype(np.float64)
    assert (weights * bank.dy).sum() / weights.sum() < 0  # crowns go up from where the drop hit
    splashes = [
        rain._Splashes(np.array([10]), np.array([12]), np.array([0]), np.array([1.0])),
        rain._Splashes(np.array([30]), np.array([5]), np.array([1]), np.array([1.0])),
    ]
    radiance = rain._splash_radiance(splashes, 40, 40)
    assert radiance[0, 5:12, 8:16].sum() > 0 and radiance[1, 5:12, 8:16].sum() == 0
    assert radiance[1, 25:32, 1:9].sum() > 0 and radiance[0, 25:32, 1:9].sum() == 0


# --------------------------------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------------------------------


def test_clip_frames_follow_the_model_and_are_reproducible() -> None:
    still = _clean(72, 96)
    clip = synthesize_rain_clip(still, np.random.default_rng(4), "heavy", frames=5, size=(40, 56))
    assert isinstance(clip, RainClip) and clip.frames == 5
    assert clip.rainy.shape == clip.clean.shape == clip.streak.shape == (5, 40, 56, 3)
    assert clip.alpha.shape == (5, 40, 56)
    _check_model(clip.clean, clip.streak, clip.alpha, clip.reliance, clip.rainy)
    again = synthesize_rain_clip(still, np.random.default_rng(4), "heavy", frames=5, size=(40, 56))
    np.testing.assert_array_equal(clip.rainy, again.rainy)
    other = synthesize_rain_clip(still, np.random.default_rng(5), "heavy", frames=5, size=(40, 56))
    assert not np.array_equal(clip.rainy, other.rainy)
    default = synthesize_rain_clip(still, np.random.default_rng(4), "light", frames=2)
    assert default.rainy.shape == (2, 61, 81, 3)  # 85 % of the still


def _best_shift(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[int, int, float]:
    """(dy, dx, error) of the integer shift that best maps a onto b (b[y, x] ~ a[y - dy, x - dx])."""
    best = (0, 0, np.inf)
    h, w = a.shape[:2]
    m = radius
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            err = float(np.mean((b[m : h - m, m : w - m] - a[m - dy : h - m - dy, m - dx : w - m - dx]) ** 2))
            if err < best[2]:
                best = (dy, dx, err)
    return best


def test_camera_motion_moves_the_background_by_small_shifts() -> None:
    still = _clean(80, 110, seed=2)
    clip = synthesize_rain_clip(
        still, np.random.default_rng(0), "light", frames=4, size=(48, 64), motion=CameraMotion(pan=(2.0, 1.0))
    )
    for t in range(3):
        a, b = clip.clean[t], clip.clean[t + 1]
        assert np.abs(a - b).mean() > 0.01  # the view moved
        dy, dx, err = _best_shift(a, b, 3)
        assert (dy, dx) == (-1, -2)  # panning right and down moves the content left and up
        assert err < 1e-5  # and it is the same picture, shifted
    static = synthesize_rain_clip(still, np.random.default_rng(0), "light", frames=3, size=(48, 64), motion="static")
    np.testing.assert_array_equal(static.clean[0], static.clean[2])


def test_random_camera_paths_stay_inside_the_still() -> None:
    for seed in range(12):
        rng = np.random.default_rng(seed)
        h, w = (40, 50) if seed % 2 else (120, 90)  # also stills smaller than the view (magnified)
        clip = synthesize_rain_clip(_clean(h, w), rng, "light", frames=9, size=(48, 64))
        p = clip.path
        half_w, half_h = (64 - 1) / 2 * p.scale, (48 - 1) / 2 * p.scale
        cos, sin = np.abs(np.cos(p.roll)), np.abs(np.sin(p.roll))
        ext_x, ext_y = cos * half_w + sin * half_h, sin * half_w + cos * half_h
        assert np.all(p.center[:, 0] - ext_x >= -1e-6) and np.all(p.center[:, 0] + ext_x <= w - 1 + 1e-6)
        assert np.all(p.center[:, 1] - ext_y >= -1e-6) and np.all(p.center[:, 1] + ext_y <= h - 1 + 1e-6)


def _shift_correlation(a: np.ndarray, b: np.ndarray, dy: int, dx: int, margin: int) -> float:
    """Correlation of b with a moved by (dy, dx) on the common interior."""
    h, w = a.shape
    pa = a[margin - dy : h - margin - dy, margin - dx : w - margin - dx].ravel()
    pb = b[margin : h - margin, margin : w - margin].ravel()
    return float(np.corrcoef(pa, pb)[0, 1])


def _rain_motion(s0: np.ndarray, s1: np.ndarray) -> tuple[int, int, float, float]:
    """Best (dy, dx) moving frame 0's streaks onto frame 1's, its correlation and that of no shift."""
    margin = 24
    scores = {(dy, dx): _shift_correlation(s0, s1, dy, dx, margin) for dy in range(-4, 21) for dx in range(-12, 13)}
    (dy, dx), best = max(scores.items(), key=lambda kv: kv[1])
    return dy, dx, best, scores[(0, 0)]


@pytest.mark.parametrize("style", ["lines", "wide", "drizzle", "lens"])
def test_rain_falls_coherently_along_the_wind(style: str) -> None:
    """Every style with one wind: its streaks move down along the wind from frame to frame. (``crossing``
    and ``downpour`` may draw two winds, and downpour's near drops fall up to 28 px a frame.)"""
    still = _clean(120, 150)
    for seed in range(6 if style == "lines" else 2):
        clip = synthesize_rain_clip(
            still, np.random.default_rng(seed), "light", frames=3, size=(96, 128), motion="static", styles=[style]
        )
        s = clip.streak.mean(axis=3)
        s = s - s.mean(axis=(1, 2), keepdims=True)
        for t in range(2):
            dy, dx, best, unmoved = _rain_motion(s[t], s[t + 1])
            assert dy >= 2  # the streaks fall down ...
            assert abs(dx - dy * np.tan(np.radians(clip.angle))) <= 1.5  # ... along the wind ...
            # ... as a whole: frame t's rain, moved, explains frame t+1 (and better than unmoved, which
            # long streaks partly do too; fresh random rain would not correlate at all, see below).
            assert best > 0.6 and best > unmoved + 0.05
    # Independent rain (another seed) does not correlate like that at any shift.
    a = synthesize_rain_clip(still, np.random.default_rng(0), "light", frames=1, size=(96, 128), motion="static")
    b = synthesize_rain_clip(still, np.random.default_rng(1), "light", frames=1, size=(96, 128), motion="static")
    sa, sb = a.streak[0].mean(axis=2), b.streak[0].mean(axis=2)
    assert _rain_motion(sa - sa.mean(), sb - sb.mean())[2] < 0.3


def test_occluding_rain_persists_across_frames() -> None:
    clip = next(
        c
        for seed in range(20)
        if (
            c := synthesize_rain_clip(
                _clean(80, 100), np.random.default_rng(seed), "heavy", frames=4, size=(64, 80), motion="static"
            )
        ).alpha.sum()
        > 100
    )
    per_frame = clip.alpha.sum(axis=(1, 2))
    # Occluding drops do not blink in and out: they enter at the top and leave at the bottom a few
    # pixels per frame, so the occluded area changes gradually (a drop entering may make frame 0 empty).
    assert np.all(per_frame[1:-1] > 0)
    assert np.abs(np.diff(per_frame)).max() < 0.6 * per_frame.max()
    assert not np.array_equal(clip.alpha[0], clip.alpha[1])  # they move


# --------------------------------------------------------------------------------------------------
# CLI: weatherclean synth rain
# --------------------------------------------------------------------------------------------------


@pytest.fixture()
def clean_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray((_clean(48, 64, 1) * 255).astype(np.uint8)).save(folder / "one.png")
    Image.fromarray((_clean(40, 56, 2) * 255).astype(np.uint8)).save(folder / "nested" / "two.jpg")
    (folder / "notes.txt").write_text("not a picture")
    return folder


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float32) / 255.0


def _run(*args: str):
    return CliRunner().invoke(synth_app(), ["synth", "rain", *args])


def test_cli_writes_images_that_satisfy_the_model(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(str(clean_dir), str(out), "--level", "heavy", "-q", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "wrote 2 rainy image(s)" in result.output
    assert "skipped 1 non-image file" in result.output and "notes.txt" in result.output
    for name in ("one", "nested_two"):
        o = _read(out / "rain" / f"{name}.png")
        b = _read(out / "gt" / f"{name}.png")
        s = _read(out / "streak" / f"{name}.png")
        alpha = _read(out / "alpha" / f"{name}.png")
        a = _read(out / "reliance" / f"{name}.png")
        assert alpha.ndim == 2 and set(np.unique(alpha)) <= {0.0, 1.0}
        assert o.shape == b.shape == s.shape == a.shape and alpha.shape == o.shape[:2]
        assert np.abs(o - ((1 - alpha[..., None]) * (b + s) + alpha[..., None] * a)).max() <= 1.5 / 255
        assert s.max() > 0.1
    meta = json.loads((out / "synth.json").read_text())
    assert meta["seed"] == 1 and meta["level"] == "heavy" and meta["count"] == 2 and meta["clips"] is False
    assert set(meta["items"]) == {"one", "nested_two"} and meta["version"]


def test_cli_clips_layout_is_read_back(clean_dir: Path, tmp_path: Path) -> None:
    from weatherclean.data.rain import find_rain_clips

    out = tmp_path / "clips"
    result = _run(str(clean_dir), str(out), "--clips", "--frames", "3", "--size", "24x32", "-q")
    assert result.exit_code == 0, result.output
    for folder in ("rain", "gt", "streak", "alpha", "reliance"):
        assert sorted(p.name for p in (out / folder / "one").iterdir()) == ["00001.png", "00002.png", "00003.png"]
    o, b = _read(out / "rain/one/00002.png"), _read(out / "gt/one/00002.png")
    s, alpha, a = (
        _read(out / "streak/one/00002.png"),
        _read(out / "alpha/one/00002.png"),
        _read(out / "reliance/one/00002.png"),
    )
    assert o.shape == (24, 32, 3)
    assert np.abs(o - ((1 - alpha[..., None]) * (b + s) + alpha[..., None] * a)).max() <= 1.5 / 255
    clips = find_rain_clips(out)
    assert [(c.name, len(c), c.has_gt, c.alpha is not None) for c in clips] == [
        ("nested_two", 3, True, True),
        ("one", 3, True, True),
    ]
    assert json.loads((out / "synth.json").read_text())["frames"] == 3


def test_cli_is_reproducible_and_seed_dependent(clean_dir: Path, tmp_path: Path) -> None:
    for out, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert _run(str(clean_dir), str(tmp_path / out), "--seed", seed, "--crop", "32", "-q").exit_code == 0
    read = {k: (tmp_path / k / "rain" / "one.png").read_bytes() for k in "abc"}
    assert read["a"] == read["b"] and read["a"] != read["c"]
    assert _read(tmp_path / "a/rain/one.png").shape == (32, 32, 3)


def test_cli_refuses_reruns_unless_overwrite(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run(str(clean_dir), str(out), "--clips", "--frames", "3", "--crop", "20", "-q").exit_code == 0
    before = (out / "rain/one/00001.png").read_bytes()
    again = _run(str(clean_dir), str(out), "--clips", "--frames", "2", "--crop", "20", "--seed", "5", "-q")
    assert again.exit_code == 2 and "--overwrite" in again.output and "Traceback" not in again.output
    assert (out / "rain/one/00001.png").read_bytes() == before  # nothing touched
    forced = _run(
        str(clean_dir), str(out), "--clips", "--frames", "2", "--crop", "20", "--seed", "5", "-q", "--overwrite"
    )
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in (out / "rain/one").iterdir()) == ["00001.png", "00002.png"]  # old tail removed
    assert (out / "rain/one/00001.png").read_bytes() != before


def test_cli_refuses_name_clashes_before_any_work(clean_dir: Path, tmp_path: Path) -> None:
    clash = shutil.copytree(clean_dir, tmp_path / "clash")
    Image.open(clash / "one.png").convert("RGB").save(clash / "one.jpg")
    out = tmp_path / "out"
    result = _run(str(clash), str(out), "-q")
    assert result.exit_code == 2 and "would both be written" in result.output
    assert not (out / "rain").exists() or not any((out / "rain").iterdir())


def test_cli_skips_bad_files_and_exits_1(clean_dir: Path, tmp_path: Path) -> None:
    (clean_dir / "broken.png").write_bytes(b"not a png")
    result = _run(str(clean_dir), str(tmp_path / "o"), "-q")
    assert result.exit_code == 1
    assert "broken.png" in result.output and "1 failed" in result.output
    assert (tmp_path / "o/rain/one.png").is_file()


def test_cli_never_reads_its_own_outputs_inside_the_clean_folder(clean_dir: Path) -> None:
    for _ in range(2):  # the second run would see the first run's PNGs if OUT_DIR were not excluded
        result = _run(str(clean_dir), str(clean_dir / "rainy"), "-q", "--overwrite")
        assert result.exit_code == 0, result.output
    assert len(list((clean_dir / "rainy" / "rain").glob("*.png"))) == 2


def test_cli_usage_errors_are_one_line(clean_dir: Path, tmp_path: Path) -> None:
    for args in (
        [str(tmp_path / "nope"), str(tmp_path / "o")],
        [str(clean_dir), str(tmp_path / "o"), "--size", "big"],
        [str(clean_dir), str(tmp_path / "o"), "--size", "20x20", "--crop", "20"],
    ):
        result = _run(*args)
        assert result.exit_code == 2, args
        assert "error:" in result.output and "Traceback" not in result.output


def test_cli_style_renders_one_style_for_photos_and_clips(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "drizzle"
    result = _run(str(clean_dir), str(out), "--style", "drizzle", "--level", "heavy", "-q")
    assert result.exit_code == 0, result.output
    assert "style drizzle" in result.output
    meta = json.loads((out / "synth.json").read_text())
    assert meta["style"] == "drizzle" and all(item["styles"] == ["drizzle"] for item in meta["items"].values())
    o, b, s = (_read(out / f / "one.png") for f in ("rain", "gt", "streak"))
    alpha, a = _read(out / "alpha/one.png"), _read(out / "reliance/one.png")
    assert np.abs(o - ((1 - alpha[..., None]) * (b + s) + alpha[..., None] * a)).max() <= 1.5 / 255
    clips = tmp_path / "crossing"
    result = _run(str(clean_dir), str(clips), "--clips", "--frames", "2", "--crop", "24", "--style", "CROSSING", "-q")
    assert result.exit_code == 0, result.output
    meta = json.loads((clips / "synth.json").read_text())
    assert meta["style"] == "crossing" and {tuple(i["styles"]) for i in meta["items"].values()} == {("crossing",)}
    assert sorted(p.name for p in (clips / "rain" / "one").iterdir()) == ["00001.png", "00002.png"]
    assert _run(str(clean_dir), str(tmp_path / "m"), "-q").exit_code == 0
    mixed = json.loads((tmp_path / "m" / "synth.json").read_text())
    assert mixed["style"] == "mixed" and all(set(i["styles"]) <= set(RAIN_STYLES) for i in mixed["items"].values())


def test_cli_unknown_style_is_a_one_line_error(clean_dir: Path, tmp_path: Path) -> None:
    result = _run(str(clean_dir), str(tmp_path / "o"), "--style", "sleet")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "sleet" in result.output and "drizzle" in result.output
    assert not (tmp_path / "o").exists()


def test_clips_from_one_pixel_wide_photos_and_a_negative_seed(tmp_path: Path) -> None:
    """A 1-px side left the camera's path no room (NaN moves) and crashed the whole batch with a traceback;
    --seed -1 was a traceback too, after the output folders were made."""
    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name, shape in (("thin", (1, 60)), ("tall", (60, 1)), ("dot", (1, 1)), ("ok", (30, 40))):
        Image.fromarray((rng.random((*shape, 3)) * 255).astype(np.uint8)).save(folder / f"{name}.png")
    result = _run(str(folder), str(tmp_path / "out"), "--clips", "--frames", "2", "-q")
    assert result.exit_code == 0, result.output
    clips = {p.name: sorted(q.name for q in p.iterdir()) for p in (tmp_path / "out" / "rain").iterdir()}
    assert clips == dict.fromkeys(("dot", "ok", "tall", "thin"), ["00001.png", "00002.png"])
    result = _run(str(folder), str(tmp_path / "bad"), "--seed", "-1")
    assert result.exit_code == 2 and "--seed" in result.output
    assert not (tmp_path / "bad").exists()
