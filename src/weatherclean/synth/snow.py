"""Synthetic snow that follows DesnowNet's image model ``x = a * z + y * (1 - z)``.

Training waits on this module: it synthesises snow on the fly, on a couple of CPU cores, so the design
is about keeping a 96x96 crop under a few milliseconds while still looking like real snow:

* Snow is rendered as a handful of *depth layers* (far specks, mid flakes, near flakes, out-of-focus
  bokeh discs). Each layer has its own sizes, opacities, defocus blur and motion-blur length.
* Every image gets one wind direction and strength; streak length grows for nearer layers, the way a
  shutter smears close, fast-moving flakes more than distant ones.
* Flake pictures ("sprites") are rendered once per (layer, wind direction, wind strength) into a small
  bank with variants (size, sub-pixel phase, shape, slight angle jitter) and cached; an image then only
  splats sprites at random positions with one ``np.bincount``, which is what makes it fast.
* Overlapping flakes combine like stacked semi-transparent sheets: the splats add *optical depth*
  ``-log(1 - alpha)`` and the mask is ``z = 1 - exp(-depth)``, so the mask never exceeds 1 and a faint
  haze/veil for heavy snow is just extra depth everywhere.
* Sizes are in pixels and counts are per unit area, so a 64x64 crop looks like a piece of a 640x480
  picture with the same snow rather than a miniature of it.

All randomness for an image comes from the caller's ``numpy.random.Generator``; sprite banks use their
own seeds derived from their cache key, so results do not depend on which images were made before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import erfc

__all__ = [
    "SNOW_LEVELS",
    "LEVEL_DENSITIES",
    "SnowSample",
    "apply_snow",
    "snow_mask_and_aberration",
    "synthesize_snow",
]

#: Density levels named after Snow100K-S/M/L (light, medium, heavy snow).
SNOW_LEVELS: tuple[str, ...] = ("S", "M", "L")

#: Image area the layer densities below are counted for (640x480, the size of typical test photos).
REFERENCE_AREA: float = 640.0 * 480.0


@dataclass(frozen=True)
class _Layer:
    """One depth layer of flakes; see docs/synthesis.md for how the numbers were chosen."""

    name: str
    radius: tuple[float, float]  # flake radius in pixels (log-uniform)
    blur: tuple[float, float]  # defocus / optics blur sigma in pixels
    opacity: tuple[float, float]  # peak opacity of one flake
    streak: float  # motion-blur length as a multiple of the image's wind length
    variants: int  # sprites in the bank
    clumps: int  # up to this many sub-blobs per flake (irregular shapes); 1 = round
    aspect: tuple[float, float]  # ellipticity (minor/major axis)


_LAYERS: tuple[_Layer, ...] = (
    _Layer("far", (0.35, 0.8), (0.35, 0.45), (0.30, 0.65), 0.35, 24, 1, (1.0, 1.0)),
    _Layer("mid", (0.8, 1.6), (0.45, 0.7), (0.45, 0.85), 0.6, 24, 1, (0.8, 1.0)),
    _Layer("near", (1.6, 3.4), (0.6, 1.1), (0.55, 0.95), 1.0, 24, 3, (0.7, 1.0)),
    _Layer("bokeh", (5.0, 14.0), (0.18, 0.42), (0.12, 0.40), 1.4, 16, 1, (0.85, 1.0)),
)

#: Snow falling right in front of the lens: in this share of images the bokeh layer is multiplied by
#: ``close`` (real photos of flakes near the camera show dozens of big soft discs), in the others by
#: ``far``. Real snowy photos are either full of bokeh or nearly free of it, rarely in between.
_BOKEH_CLOSE_PROB: float = 0.3
_BOKEH_CLOSE: tuple[float, float] = (3.0, 6.0)
_BOKEH_FAR: tuple[float, float] = (0.4, 1.0)

#: Flakes per layer (far, mid, near, bokeh) per 640x480 image, for each level.
LEVEL_DENSITIES: dict[str, tuple[float, float, float, float]] = {
    "S": (500.0, 170.0, 45.0, 2.0),
    "M": (1400.0, 520.0, 130.0, 6.0),
    "L": (4000.0, 1600.0, 400.0, 18.0),
}

#: Veil (uniform optical depth) range per level; heavy snow scatters light into a faint haze.
_HAZE: dict[str, tuple[float, float, float]] = {
    # (probability, min depth, max depth)
    "S": (0.0, 0.0, 0.0),
    "M": (0.3, 0.0, 0.04),
    "L": (0.8, 0.02, 0.10),
}

_ANGLE_STEP_DEG = 5.0
_MAX_ANGLE_DEG = 45.0
_N_ANGLES = int(round(2 * _MAX_ANGLE_DEG / _ANGLE_STEP_DEG)) + 1
#: Wind streak lengths in pixels (for the "near" layer); a discrete set so sprite banks can be cached.
_WIND_LENGTHS: tuple[float, ...] = (0.0, 1.0, 2.0, 3.5, 5.0, 7.0, 10.0)
_WIND_PROBS: tuple[float, ...] = (0.12, 0.14, 0.18, 0.18, 0.16, 0.13, 0.09)


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


def _render_sprite(rng: np.random.Generator, layer: _Layer, angle: float, length: float, half: int) -> np.ndarray:
    """One flake, motion-blurred along ``angle`` (radians from vertical) by ``length`` pixels."""
    radius = float(math.exp(rng.uniform(math.log(layer.radius[0]), math.log(layer.radius[1]))))
    blur = float(rng.uniform(*layer.blur))
    if layer.name == "bokeh":
        blur *= radius  # defocus blur grows with the disc, so big discs stay soft-edged
    ox, oy = rng.uniform(-0.5, 0.5, size=2)
    aspect = float(rng.uniform(*layer.aspect))
    tilt = float(rng.uniform(0, math.pi))
    coords = np.arange(-half, half + 1, dtype=np.float64)
    gy, gx = np.meshgrid(coords - oy, coords - ox, indexing="ij")
    ct, st = math.cos(tilt), math.sin(tilt)
    blobs = [(0.0, 0.0, radius)]
    for _ in range(int(rng.integers(0, layer.clumps))):
        r = radius * float(rng.uniform(0.45, 0.8))
        phi = float(rng.uniform(0, 2 * math.pi))
        dist = radius * float(rng.uniform(0.4, 0.8))
        blobs.append((dist * math.cos(phi), dist * math.sin(phi), r))

    def shape_at(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        # Ellipse: squash along a random axis, then take the union of the clump's blobs.
        u = px * ct + py * st
        v = (-px * st + py * ct) / aspect
        out = np.zeros_like(px)
        for bx, by, br in blobs:
            out = np.maximum(out, _profile(u - bx, v - by, br, blur))
        return out

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
    blur = layer.blur[1] * (layer.radius[1] if layer.name == "bokeh" else 1.0)
    return int(math.ceil(layer.radius[1] * 1.0 + 3.0 * blur + length * 1.3 / 2 + 1.5))


@lru_cache(maxsize=1024)
def _sprite_bank(layer_index: int, angle_index: int, wind_index: int) -> np.ndarray:
    """Variants of one layer's flake for one wind; (V, k, k) float32, cached per process."""
    layer = _LAYERS[layer_index]
    angle = math.radians(-_MAX_ANGLE_DEG + angle_index * _ANGLE_STEP_DEG)
    length = _WIND_LENGTHS[wind_index] * layer.streak
    half = _half_size(layer, length)
    rng = np.random.default_rng([layer_index, angle_index, wind_index, 7919])
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


def _smooth_field(rng: np.random.Generator, h: int, w: int, channels: int, cell: float) -> np.ndarray:
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


def _aberration(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """Snow colour: near white, slightly cool or warm, lit a little by the scene, varying smoothly."""
    h, w = clean.shape[:2]
    base = float(rng.uniform(0.84, 0.97))
    tint = float(rng.uniform(-0.035, 0.035))  # >0 cool (bluish), <0 warm
    colour = np.array([base - tint, base - 0.3 * tint, base + tint], dtype=np.float32)
    # Ambient light: flakes pick up a little of the scene's average chroma.
    mean = clean.reshape(-1, 3).mean(axis=0).astype(np.float32)
    chroma = mean / max(float(mean.max()), 1e-3)
    ambient = float(rng.uniform(0.0, 0.06))
    colour = colour * ((1 - ambient) + ambient * chroma)
    field = _smooth_field(rng, h, w, 3, cell=float(rng.uniform(120, 320)))
    lum = field[..., :1] * float(rng.uniform(0.02, 0.06))
    hue = field[..., 1:] - field[..., :1]  # decorrelated channel drift
    hue = np.concatenate([hue[..., :1], np.zeros_like(hue[..., :1]), hue[..., 1:]], axis=-1) * 0.012
    a = colour[None, None, :] + lum + hue
    return np.clip(a, 0.0, 1.0).astype(np.float32)


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
    values = bank[variant].reshape(n, -1) * alpha[:, None]
    keep = values > 1e-4
    weights = -np.log1p(-np.minimum(values[keep], 0.995))
    depth += np.bincount(index[keep], weights=weights, minlength=depth.size).reshape(depth.shape)


def snow_mask_and_aberration(
    clean: np.ndarray, rng: np.random.Generator, level: str, haze: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The snow mask z (HxW) and colour a (HxWx3) for ``clean``; the part of synthesis that needs no maths
    on the clean pixels, exposed so callers can composite with :func:`apply_snow` themselves.

    ``haze=False`` leaves out the veil of heavy snow: a uniform veil cannot be told apart from a bright,
    low-contrast scene inside a small training crop, and a model trained on both learns to hedge with a
    faint mask everywhere (see docs/models.md)."""
    h, w = clean.shape[:2]
    densities = LEVEL_DENSITIES[level]
    angle_index = int(
        np.clip(
            round(rng.normal(0.0, 18.0) / _ANGLE_STEP_DEG) + (_N_ANGLES - 1) // 2,
            0,
            _N_ANGLES - 1,
        )
    )
    wind_index = int(rng.choice(len(_WIND_LENGTHS), p=np.asarray(_WIND_PROBS)))
    banks = [_sprite_bank(i, angle_index, wind_index) for i in range(len(_LAYERS))]
    pad = max(b.shape[1] for b in banks)  # a flake centred half a sprite outside still fits
    depth = np.zeros((h + 2 * pad, w + 2 * pad), dtype=np.float64)
    amount = float(rng.uniform(0.7, 1.35))  # images of one level are not all equally snowy
    close = _BOKEH_CLOSE if rng.random() < _BOKEH_CLOSE_PROB else _BOKEH_FAR
    bokeh_amount = float(rng.uniform(*close))
    for layer, bank, density in zip(_LAYERS, banks, densities, strict=True):
        layer_amount = amount * float(rng.uniform(0.8, 1.25))
        if layer.name == "bokeh":
            layer_amount *= bokeh_amount
        _splat_layer(rng, depth, pad, h, w, bank, density * layer_amount, layer.opacity)
    d = depth[pad : pad + h, pad : pad + w].astype(np.float32)
    prob, lo, hi = _HAZE[level]
    if haze and prob > 0 and rng.random() < prob:
        veil = float(rng.uniform(lo, hi))
        d += veil * (1.0 + 0.35 * _smooth_field(rng, h, w, 1, cell=float(rng.uniform(150, 400)))[..., 0])
    mask = (1.0 - np.exp(-d)).astype(np.float32)
    np.clip(mask, 0.0, 1.0, out=mask)
    return mask, _aberration(rng, clean)


def synthesize_snow(
    clean: np.ndarray, rng: np.random.Generator, level: str | None = None, haze: bool = True
) -> SnowSample:
    """Put synthetic snow on ``clean`` (HxWx3 float in [0, 1]).

    ``level`` is one of :data:`SNOW_LEVELS` (light/medium/heavy like Snow100K-S/M/L) or ``None`` to
    draw one at random. The result satisfies ``snowy == apply_snow(clean, mask, aberration)`` exactly,
    because it is computed that way.
    """
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"synthesize_snow needs an HxWx3 image, got shape {clean.shape}")
    if level is None:
        level = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))]
    if level not in LEVEL_DENSITIES:
        raise ValueError(f"unknown snow level {level!r}: use one of {', '.join(SNOW_LEVELS)}")
    clean = clean.astype(np.float32, copy=False)
    mask, aberration = snow_mask_and_aberration(clean, rng, level, haze)
    snowy = apply_snow(clean, mask, aberration)
    return SnowSample(snowy=snowy, mask=mask, aberration=aberration)
