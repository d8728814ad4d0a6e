"""Synthetic snow that follows DesnowNet's image model ``x = a * z + y * (1 - z)``, in several styles.

A model trained on one renderer's snow learns that renderer's look, and then gains far less on snow
made any other way (issue 12). So snow here comes in *styles*, each its own particle model with its own
parameters, and a training sample draws one to three of them at random:

* ``discs``: soft round flakes in depth layers (far specks, mid flakes, near flakes), little wind;
* ``flakes``: irregular, brush-like flakes made of several strokes, sharp-edged, of all sizes;
* ``streaks``: flakes smeared by wind and a slow shutter into streaks of many lengths and angles;
* ``bokeh``: large, soft, out-of-focus discs of flakes right in front of the lens, some with a rim;
* ``specks``: dense, fine, sub-pixel specks, often under a veil, as in a distant blizzard.

On top of the style, every *layer* of a sample draws its own opacity, extra defocus blur and tint
(white, cool, warm under street light, or grey against a bright sky), and heavy snow draws a veil
(haze) of varying strength. ``--style NAME`` renders one style, so a test set can be made per style and
a model can be trained without one of them (the leave-one-style-out test in docs/models.md).

How a layer is drawn, fast enough for on-the-fly training:

* Flake pictures ("sprites") are rendered once per (style, layer, wind direction, wind strength) into a
  small bank with variants (size, sub-pixel phase, shape, angle jitter) and cached; an image then only
  splats sprites at random positions with one ``np.bincount``.
* Overlapping flakes combine like stacked semi-transparent sheets: the splats add *optical depth*
  ``-log(1 - alpha)`` and the mask is ``z = 1 - exp(-depth)``, so the mask never exceeds 1 and a veil is
  just extra depth everywhere. The colour ``a`` is each layer's tint weighted by its share of the depth.
* Sizes are in pixels and counts are per unit area, so a 64x64 crop looks like a piece of a 640x480
  picture with the same snow rather than a miniature of it.

All randomness for an image comes from the caller's ``numpy.random.Generator``; sprite banks use their
own seeds derived from their cache key, so results do not depend on which images were made before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import erfc

from weatherclean.synth.common import StyleChoice, Styles, check_style_names, pick_styles, smooth_field
from weatherclean.synth.names import SNOW_LEVELS, SNOW_STYLES

__all__ = [
    "SNOW_LEVELS",
    "SNOW_STYLES",
    "STYLE_DESCRIPTIONS",
    "SnowSample",
    "apply_snow",
    "check_styles",
    "snow_mask_and_aberration",
    "synthesize_snow",
]

#: Image area the layer densities below are counted for (640x480, the size of typical test photos).
REFERENCE_AREA: float = 640.0 * 480.0


@dataclass(frozen=True)
class _Layer:
    """One depth layer of one style; see docs/synthesis.md for how the numbers were chosen."""

    name: str
    kind: str  # sprite model: "disc", "brush" or "bokeh"
    radius: tuple[float, float]  # flake radius in pixels (log-uniform)
    blur: tuple[float, float]  # optics blur sigma in pixels (for bokeh: a fraction of the radius)
    opacity: tuple[float, float]  # peak opacity of one flake
    streak: float  # motion-blur length as a multiple of the image's wind length
    density: tuple[float, float, float]  # flakes per 640x480 image at levels S, M, L
    variants: int = 20  # sprites in the bank
    clumps: int = 1  # up to this many sub-blobs per flake (irregular shapes); 1 = round
    aspect: tuple[float, float] = (0.8, 1.0)  # ellipticity (minor/major axis)


@dataclass(frozen=True)
class _Style:
    """A particle model: its layers, its wind, and its veil per level."""

    name: str
    description: str
    layers: tuple[_Layer, ...]
    wind: tuple[float, ...]  # probability of each entry of _WIND_LENGTHS
    angle_sigma: float  # spread of the fall direction from vertical, degrees
    veil: dict[str, tuple[float, float, float]]  # level -> (probability, min depth, max depth)
    bursts: tuple[float, float, float] = (0.0, 1.0, 1.0)  # (probability, low, high): some images far snowier


#: Wind streak lengths in pixels (for a layer with ``streak`` 1); a discrete set so banks can be cached.
_WIND_LENGTHS: tuple[float, ...] = (0.0, 1.0, 2.0, 3.5, 5.0, 7.0, 10.0, 14.0, 20.0, 28.0)
_ANGLE_STEP_DEG = 5.0
_MAX_ANGLE_DEG = 60.0
_N_ANGLES = int(round(2 * _MAX_ANGLE_DEG / _ANGLE_STEP_DEG)) + 1

_NO_VEIL = {"S": (0.0, 0.0, 0.0), "M": (0.0, 0.0, 0.0), "L": (0.0, 0.0, 0.0)}
_VEIL = {"S": (0.1, 0.0, 0.02), "M": (0.35, 0.0, 0.05), "L": (0.8, 0.02, 0.12)}

_STYLES: dict[str, _Style] = {
    s.name: s
    for s in (
        _Style(
            "discs",
            "soft round flakes in three depth layers, little wind",
            (
                _Layer("far", "disc", (0.35, 0.8), (0.35, 0.5), (0.30, 0.65), 0.35, (500, 1400, 4000)),
                _Layer("mid", "disc", (0.8, 1.6), (0.45, 0.8), (0.45, 0.85), 0.6, (170, 520, 1600)),
                _Layer("near", "disc", (1.6, 4.0), (0.6, 1.4), (0.55, 0.95), 1.0, (45, 130, 400)),
            ),
            wind=(0.25, 0.25, 0.2, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0, 0.0),
            angle_sigma=15.0,
            veil=_VEIL,
        ),
        _Style(
            "flakes",
            "irregular brush-like flakes of several strokes, sharp-edged, small to large",
            (
                _Layer(
                    "small",
                    "brush",
                    (1.0, 2.2),
                    (0.3, 0.5),
                    (0.5, 0.9),
                    0.5,
                    (260, 700, 2000),
                    clumps=4,
                    aspect=(0.3, 0.7),
                ),
                _Layer(
                    "large",
                    "brush",
                    (2.2, 6.0),
                    (0.3, 0.7),
                    (0.6, 1.0),
                    1.0,
                    (40, 110, 320),
                    clumps=6,
                    aspect=(0.25, 0.6),
                ),
            ),  # fmt: skip
            wind=(0.3, 0.25, 0.2, 0.15, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0),
            angle_sigma=20.0,
            veil=_VEIL,
        ),
        _Style(
            "streaks",
            "flakes smeared by wind and a slow shutter into streaks of many lengths and angles",
            (
                _Layer("thin", "disc", (0.4, 1.0), (0.35, 0.6), (0.45, 0.9), 0.6, (300, 800, 2400)),
                _Layer("thick", "disc", (1.0, 2.6), (0.5, 1.0), (0.55, 0.95), 1.0, (60, 170, 500)),
            ),
            wind=(0.0, 0.0, 0.0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.18, 0.12),
            angle_sigma=28.0,
            veil=_VEIL,
        ),
        _Style(
            "bokeh",
            "large soft out-of-focus discs of flakes right in front of the lens, some with a bright rim",
            (
                _Layer("bokeh", "bokeh", (5.0, 22.0), (0.08, 0.35), (0.15, 0.5), 0.3, (10, 28, 70), variants=16),
                _Layer("mid", "disc", (0.6, 1.4), (0.4, 0.7), (0.4, 0.8), 0.5, (120, 350, 1000)),
            ),
            wind=(0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            angle_sigma=15.0,
            veil=_VEIL,
            bursts=(0.35, 2.0, 4.0),
        ),
        _Style(
            "specks",
            "dense fine sub-pixel specks, often under a veil, as in a distant blizzard",
            (
                _Layer("fine", "disc", (0.25, 0.6), (0.3, 0.45), (0.35, 0.8), 0.3, (2500, 7000, 20000)),
                _Layer("dust", "disc", (0.6, 1.1), (0.35, 0.6), (0.3, 0.7), 0.5, (400, 1100, 3200)),
            ),
            wind=(0.3, 0.25, 0.2, 0.15, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0),
            angle_sigma=18.0,
            veil={"S": (0.2, 0.0, 0.03), "M": (0.5, 0.01, 0.07), "L": (0.9, 0.03, 0.15)},
        ),
    )
}

# The style names and their order are declared in synth/names.py (imported without NumPy).
if tuple(_STYLES) != SNOW_STYLES:  # names.py lists them for --help; a style added here must be named there too
    raise RuntimeError(
        f"synth/names.py: SNOW_STYLES {SNOW_STYLES} differ from the styles defined here {tuple(_STYLES)}"
    )
#: One line per style, for ``--help`` and docs.
STYLE_DESCRIPTIONS: dict[str, str] = {name: s.description for name, s in _STYLES.items()}

#: Layer tints: (probability, base colour range, blue-minus-red shift range). Grey flakes are what snow
#: looks like against a bright sky; warm ones under sodium street light.
_TINTS: tuple[tuple[float, tuple[float, float], tuple[float, float]], ...] = (
    (0.55, (0.84, 0.98), (-0.03, 0.03)),  # white
    (0.15, (0.80, 0.95), (0.03, 0.08)),  # cool, bluish
    (0.12, (0.78, 0.95), (-0.12, -0.04)),  # warm, street light
    (0.18, (0.55, 0.82), (-0.03, 0.03)),  # grey, against a bright sky
)


@dataclass(frozen=True)
class SnowSample:
    """A snowy image with the mask and colour that made it, so training can supervise z and a too."""

    snowy: np.ndarray  # HxWx3 float32 [0,1]
    mask: np.ndarray  # HxW float32 [0,1] (z)
    aberration: np.ndarray  # HxWx3 float32 [0,1] (a)


def apply_snow(clean: np.ndarray, mask: np.ndarray, aberration: np.ndarray) -> np.ndarray:
    """Composite snow onto a clean image: ``x = a * z + y * (1 - z)``.

    The single place the image model is written down, so synthesis, the CLI and the tests cannot
    drift apart. ``mask`` may be HxW or HxWx1; the result is float32.
    """
    z = mask if mask.ndim == 3 else mask[..., None]
    z = z.astype(np.float32, copy=False)
    a = aberration.astype(np.float32, copy=False)
    y = clean.astype(np.float32, copy=False)
    return a * z + y * (1 - z)


def check_styles(styles: StyleChoice) -> Styles:
    """The allowed snow styles (None or empty: all of them; a mapping: names with weights, see
    :func:`~weatherclean.synth.common.check_style_names`); an unknown name raises ValueError."""
    return check_style_names("snow", styles, SNOW_STYLES)


# --------------------------------------------------------------------------------------------------
# Sprite banks
# --------------------------------------------------------------------------------------------------


def _profile(dx: np.ndarray, dy: np.ndarray, radius: float, blur: float) -> np.ndarray:
    """Opacity of one round flake at offsets (dx, dy) from its centre, after optical blur.

    Flakes smaller than a pixel become a Gaussian whose integral equals the flake's area, so far specks
    are faint and sub-pixel rather than one-pixel dots; bigger flakes are discs with an erfc edge
    (a disc convolved with a Gaussian), which reads as a soft out-of-focus blob when blur is large.
    """
    d2 = dx * dx + dy * dy
    if radius < 1.2:
        sigma2 = radius * radius / 2.0 + blur * blur
        amp = min(1.0, radius * radius / (2.0 * sigma2))
        return amp * np.exp(-d2 / (2.0 * sigma2))
    d = np.sqrt(d2)
    return 0.5 * erfc((d - radius) / (math.sqrt(2.0) * blur))


def _shape(rng: np.random.Generator, layer: _Layer, radius: float, blur: float):  # noqa: ANN202
    """The still flake as a function of pixel offsets: a disc, a brush of strokes, or a bokeh disc."""
    aspect = float(rng.uniform(*layer.aspect))
    tilt = float(rng.uniform(0, math.pi))
    ct, st = math.cos(tilt), math.sin(tilt)
    if layer.kind == "bokeh":
        rim = float(rng.uniform(0.0, 0.6)) if rng.random() < 0.5 else 0.0

        def bokeh(px: np.ndarray, py: np.ndarray) -> np.ndarray:
            u, v = px * ct + py * st, (-px * st + py * ct) / aspect
            d = np.sqrt(u * u + v * v)
            disc = _profile(u, v, radius, blur)
            return disc * ((1.0 - rim) + rim * np.clip(d / radius, 0.0, 1.0) ** 4)

        return bokeh
    # Discs and brushes: the union of a core and up to ``clumps`` offset blobs or strokes.
    blobs = [(0.0, 0.0, radius, 1.0, 0.0)]
    for _ in range(int(rng.integers(0, layer.clumps))):
        r = radius * float(rng.uniform(0.35, 0.8))
        phi = float(rng.uniform(0, 2 * math.pi))
        dist = radius * float(rng.uniform(0.3, 0.9))
        stroke = float(rng.uniform(0.25, 0.6)) if layer.kind == "brush" else 1.0
        blobs.append((dist * math.cos(phi), dist * math.sin(phi), r, stroke, phi))
    weights = [1.0] + [float(rng.uniform(0.6, 1.0)) for _ in blobs[1:]]

    def union(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        u = px * ct + py * st
        v = (-px * st + py * ct) / aspect
        out = np.zeros_like(px)
        for (bx, by, br, stroke, phi), wgt in zip(blobs, weights, strict=True):
            du, dv = u - bx, v - by
            if stroke < 1.0:  # a stroke: a thin ellipse pointing away from the core
                c, s = math.cos(phi), math.sin(phi)
                du, dv = du * c + dv * s, (-du * s + dv * c) / stroke
            out = np.maximum(out, wgt * _profile(du, dv, br, blur))
        return out

    return union


def _render_sprite(rng: np.random.Generator, layer: _Layer, angle: float, length: float, half: int) -> np.ndarray:
    """One flake, motion-blurred along ``angle`` (radians from vertical) by ``length`` pixels."""
    radius = float(math.exp(rng.uniform(math.log(layer.radius[0]), math.log(layer.radius[1]))))
    blur = float(rng.uniform(*layer.blur))
    if layer.kind == "bokeh":
        blur *= radius  # defocus blur grows with the disc, so big discs stay soft-edged
    ox, oy = rng.uniform(-0.5, 0.5, size=2)
    coords = np.arange(-half, half + 1, dtype=np.float64)
    gy, gx = np.meshgrid(coords - oy, coords - ox, indexing="ij")
    shape_at = _shape(rng, layer, radius, blur)
    n = 1 if length < 0.5 else int(math.ceil(length)) + 1
    steps = np.linspace(-length / 2, length / 2, n) if n > 1 else np.zeros(1)
    sx, sy = math.sin(angle), math.cos(angle)
    still = shape_at(gx, gy)
    acc = np.zeros_like(gx)
    for t in steps:
        acc += shape_at(gx - t * sx, gy - t * sy)
    acc /= n
    peak_still = float(still.max())
    peak = float(acc.max())
    if peak > 0 and peak_still > 0:
        # Physically a smeared flake's peak falls as 1/length; real streaks look brighter than that
        # (flakes are not infinitely thin, sensors saturate), so only fall off with the square root.
        acc *= math.sqrt(peak_still / peak)
    return np.clip(acc, 0.0, 1.0).astype(np.float32)


def _half_size(layer: _Layer, length: float) -> int:
    blur = layer.blur[1] * (layer.radius[1] if layer.kind == "bokeh" else 1.0)
    return int(math.ceil(layer.radius[1] * 1.0 + 3.0 * blur + length * 1.3 / 2 + 1.5))


@lru_cache(maxsize=4096)
def _sprite_bank(style: str, layer_index: int, angle_index: int, wind_index: int) -> np.ndarray:
    """Variants of one layer's flake for one wind; (V, k, k) float32, cached per process."""
    layer = _STYLES[style].layers[layer_index]
    angle = math.radians(-_MAX_ANGLE_DEG + angle_index * _ANGLE_STEP_DEG)
    length = _WIND_LENGTHS[wind_index] * layer.streak
    half = _half_size(layer, length)
    style_seed = SNOW_STYLES.index(style)
    rng = np.random.default_rng([style_seed, layer_index, angle_index, wind_index, 7919])
    sprites = []
    for _ in range(layer.variants):
        jitter = math.radians(float(rng.normal(0.0, 3.0)))
        var_len = length * float(rng.uniform(0.75, 1.25))
        sprites.append(_render_sprite(rng, layer, angle + jitter, var_len, half))
    bank = np.stack(sprites)
    bank.setflags(write=False)
    return bank


# --------------------------------------------------------------------------------------------------
# Masks and colour
# --------------------------------------------------------------------------------------------------


def _tint(rng: np.random.Generator, ambient_chroma: np.ndarray) -> np.ndarray:
    """One layer's snow colour: white, cool, warm or grey, lit a little by the scene's average colour."""
    probs = np.array([t[0] for t in _TINTS])
    _, base_range, shift_range = _TINTS[int(rng.choice(len(_TINTS), p=probs / probs.sum()))]
    base = float(rng.uniform(*base_range))
    shift = float(rng.uniform(*shift_range))  # >0 cool (bluish), <0 warm
    colour = np.array([base - shift, base - 0.3 * shift, base + shift], dtype=np.float32)
    ambient = float(rng.uniform(0.0, 0.08))
    return colour * ((1 - ambient) + ambient * ambient_chroma)


def _vary_colour(rng: np.random.Generator, colour: np.ndarray, h: int, w: int) -> np.ndarray:
    """A colour map that drifts smoothly over the picture in brightness and a little in hue."""
    field = smooth_field(rng, h, w, 3, cell=float(rng.uniform(120, 320)))
    lum = field[..., :1] * float(rng.uniform(0.02, 0.06))
    hue = field[..., 1:] - field[..., :1]  # decorrelated channel drift
    hue = np.concatenate([hue[..., :1], np.zeros_like(hue[..., :1]), hue[..., 1:]], axis=-1) * 0.012
    return colour[None, None, :] + lum + hue


def _splat_layer(
    rng: np.random.Generator,
    depth: np.ndarray,
    pad: int,
    h: int,
    w: int,
    bank: np.ndarray,
    count_per_ref: float,
    opacity: tuple[float, float],
) -> None:
    """Add the optical depth of one layer's flakes into ``depth`` (a padded canvas), in place."""
    _, k, _ = bank.shape
    half = k // 2
    # Flakes centred just outside the image still show their edge; count them too so that density
    # near the border matches the middle, whatever the crop size.
    area = (h + 2 * half) * (w + 2 * half)
    n = int(rng.poisson(count_per_ref * area / REFERENCE_AREA))
    if n == 0:
        return
    cy = rng.integers(-half, h + half, size=n)
    cx = rng.integers(-half, w + half, size=n)
    variant = rng.integers(0, bank.shape[0], size=n)
    alpha = rng.uniform(opacity[0], opacity[1], size=n).astype(np.float32)
    cw = depth.shape[1]
    top = (cy + pad - half).astype(np.intp)
    left = (cx + pad - half).astype(np.intp)
    offs = (np.arange(k, dtype=np.intp)[:, None] * cw + np.arange(k, dtype=np.intp)[None, :]).ravel()
    index = (top * cw + left)[:, None] + offs[None, :]
    values = bank[variant].reshape(n, -1) * np.minimum(alpha, 1.0)[:, None]
    keep = values > 1e-4
    weights = -np.log1p(-np.minimum(values[keep], 0.995))
    depth += np.bincount(index[keep], weights=weights, minlength=depth.size).reshape(depth.shape)


def _style_depths(
    rng: np.random.Generator, style: _Style, level_index: int, h: int, w: int, share: float
) -> list[np.ndarray]:
    """The optical depth of each of ``style``'s layers (HxW float32), with per-layer blur and opacity."""
    angle_index = int(
        np.clip(round(rng.normal(0.0, style.angle_sigma) / _ANGLE_STEP_DEG) + (_N_ANGLES - 1) // 2, 0, _N_ANGLES - 1)
    )
    wind = np.asarray(style.wind, dtype=np.float64)
    wind_index = int(rng.choice(len(_WIND_LENGTHS), p=wind / wind.sum()))
    amount = share * float(rng.uniform(0.6, 1.4))  # images of one level are not all equally snowy
    burst_prob, lo, hi = style.bursts
    if burst_prob > 0:
        amount *= float(rng.uniform(lo, hi)) if rng.random() < burst_prob else float(rng.uniform(0.4, 1.0))
    depths = []
    for i, layer in enumerate(style.layers):
        bank = _sprite_bank(style.name, i, angle_index, wind_index)
        pad = bank.shape[1]
        canvas = np.zeros((h + 2 * pad, w + 2 * pad), dtype=np.float64)
        opacity_scale = float(rng.uniform(0.7, 1.2))
        opacity = (layer.opacity[0] * opacity_scale, layer.opacity[1] * opacity_scale)
        density = layer.density[level_index] * amount * float(rng.uniform(0.75, 1.3))
        _splat_layer(rng, canvas, pad, h, w, bank, density, opacity)
        d = canvas[pad : pad + h, pad : pad + w].astype(np.float32)
        if rng.random() < 0.3:  # this layer is out of the focal plane: extra defocus
            d = gaussian_filter(d, sigma=float(rng.uniform(0.4, 1.6)), mode="nearest")
        depths.append(d)
    return depths


def snow_mask_and_aberration(
    clean: np.ndarray,
    rng: np.random.Generator,
    level: str,
    haze: bool = True,
    styles: StyleChoice = None,
    drawn: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The snow mask z (HxW) and colour a (HxWx3) for ``clean``; the part of synthesis that needs no maths
    on the clean pixels, exposed so callers can composite with :func:`apply_snow` themselves.

    ``drawn``, when given, is filled with what was drawn: ``styles`` (the particle models, in drawing
    order) and ``veil`` (the veil's strength, None without one), which ``synth snow`` keeps per image in
    synth.json. Filling it draws nothing more, so the pictures are those made without it.

    ``styles`` limits the particle models drawn from (None: all of :data:`SNOW_STYLES`); with one name,
    every image has that style alone. ``haze=False`` leaves out the veil of heavy snow: a uniform veil
    cannot be told apart from a bright, low-contrast scene inside a small training crop, and a model
    trained on both learns to hedge with a faint mask everywhere (see docs/models.md)."""
    allowed = check_styles(styles)
    h, w = clean.shape[:2]
    level_index = SNOW_LEVELS.index(level)
    picked = pick_styles(rng, allowed)
    share = 1.0 / math.sqrt(len(picked))  # several styles at once: each a little sparser
    mean = clean.reshape(-1, 3).mean(axis=0).astype(np.float32)
    chroma = mean / max(float(mean.max()), 1e-3)
    total = np.zeros((h, w), dtype=np.float32)
    colour_sum = np.zeros((h, w, 3), dtype=np.float32)
    tints = []
    for name in picked:
        for d in _style_depths(rng, _STYLES[name], level_index, h, w, share):
            tint = _tint(rng, chroma)
            tints.append(tint)
            total += d
            colour_sum += d[..., None] * tint[None, None, :]
    # Where there is no snow the colour is irrelevant (z = 0); the first layer's tint fills it.
    base = tints[0] if tints else _tint(rng, chroma)
    colour = np.where(total[..., None] > 1e-6, colour_sum / np.maximum(total, 1e-6)[..., None], base[None, None, :])
    a = colour + (_vary_colour(rng, base, h, w) - base[None, None, :])
    prob, lo, hi = _STYLES[picked[-1]].veil[level]
    veil: float | None = None
    if haze and prob > 0 and rng.random() < prob:
        veil = float(rng.uniform(lo, hi))
        total += veil * (1.0 + 0.5 * smooth_field(rng, h, w, 1, cell=float(rng.uniform(150, 400)))[..., 0])
    if drawn is not None:
        drawn.update(styles=list(picked), veil=veil)
    mask = (1.0 - np.exp(-np.maximum(total, 0.0))).astype(np.float32)
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask, np.clip(a, 0.0, 1.0).astype(np.float32)


def synthesize_snow(
    clean: np.ndarray,
    rng: np.random.Generator,
    level: str | None = None,
    haze: bool = True,
    styles: StyleChoice = None,
) -> SnowSample:
    """Put synthetic snow on ``clean`` (HxWx3 float in [0, 1]).

    ``level`` is one of :data:`SNOW_LEVELS` (light/medium/heavy like Snow100K-S/M/L) or ``None`` to
    draw one at random; ``styles`` as in :func:`snow_mask_and_aberration`. The result satisfies
    ``snowy == apply_snow(clean, mask, aberration)`` exactly, because it is computed that way.
    """
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"synthesize_snow needs an HxWx3 image, got shape {clean.shape}")
    if level is None:
        level = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))]
    if level not in SNOW_LEVELS:
        raise ValueError(f"unknown snow level {level!r}: use one of {', '.join(SNOW_LEVELS)}")
    clean = clean.astype(np.float32, copy=False)
    mask, aberration = snow_mask_and_aberration(clean, rng, level, haze, styles)
    snowy = apply_snow(clean, mask, aberration)
    return SnowSample(snowy=snowy, mask=mask, aberration=aberration)
