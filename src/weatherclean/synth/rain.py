"""Synthetic rain that follows J4R-Net's hybrid rain model ``O = (1 - alpha)(B + S) + alpha * A``, in
several styles.

``B`` is the clean background, ``S`` the additive rain streaks, ``alpha`` a *binary* occlusion map (1 where
rain hides the background completely) and ``A`` the "rain reliance": what the occluding rain looks like
there. J4R-Net learns to subtract ``S`` where ``alpha = 0`` and to fill in from neighbouring frames where
``alpha = 1``, so synthesis must give it both kinds of degradation, in still images (pre-training) and in
short clips with camera motion and coherently falling rain (the recurrent training).

A model trained on one renderer's rain learns that renderer's look and gains far less on rain made any
other way (issue 13). So rain here comes in *styles*, each its own streak model with its own parameters,
and a training sample draws one to three of them at random (:data:`RAIN_STYLES`):

* ``lines``: thin streaks in three depth layers around one wind, a spread of angles, lengths, widths and
  brightness (the model this module had before styles);
* ``wide``: wide, blurred streaks of drops falling close to the lens, out of focus;
* ``crossing``: two or three wind directions at once, as in gusty rain and the heavy benchmark sets;
* ``drizzle``: very many fine, short, faint drops, often in a mist;
* ``lens``: drops on the lens (occluding discs showing a blurred, upside-down view of the scene) and
  splashes where drops hit the ground, over sparse streaks;
* ``downpour``: a cloudburst, long sharp streaks in one or two winds, at the heavy level so dense that
  they veil the scene (the look of the heavy benchmark pairs, added in rain round 6).

Every style has a light and a heavy parameter table (:class:`RainLevel`); accumulation (a smooth veil of
radiance, from a faint mist to a thick haze) is part of each table, so its strength varies by style too.

Training synthesises rain on the fly on a couple of CPU cores, so the design is about speed first:

* A streak picture ("sprite") is a blurred line segment, rendered analytically once per (style, layer,
  angle, length, sharp/soft) into a bank of variants and cached. Banks are stored *sparse* (offsets and
  values of the non-zero pixels only: a long thin streak touches a small part of its bounding box), so an
  image or a whole clip is rendered by one ``np.bincount`` over all drops of all frames.
* Drops add radiance ``R``; the streak opacity is ``s = 1 - exp(-R)`` (overlaps saturate instead of
  exceeding 1), and streaks are screen-blended: ``S = s * colour * (1 - B)``, so ``B + S <= 1`` and the
  model never needs a clip. The veil is extra radiance in ``R``.
* ``alpha = 1`` at the cores of "occluding" near drops, inside drops on the lens and where rain has
  accumulated so densely that nothing of the background survives. ``A`` is bright, blurred, tinted by the
  scene's light (a very coarse average of ``B``), never the background itself, and 0 where ``alpha = 0``.
* Sizes are in pixels and counts per unit area (of a 640x480 reference picture), so a 64x64 crop looks
  like a piece of a big rainy picture rather than a miniature of it.
* Clips: a still image becomes frames through a smooth random camera path (pan, zoom, shake, a little
  roll), bilinearly sampled with every view inside the image. Drops of one layer and length fall at one
  speed along their wind (a few pixels per frame, near drops faster), so each such group is splatted
  once onto a "sheet" that reaches above the first view and slides past the view frame by frame: drops
  persist, leave at the bottom, and new ones enter at the top. Rain follows part of the camera motion;
  drops on the lens stay (some slowly slide down); a splash lasts one frame.

All randomness comes from the caller's ``numpy.random.Generator``; sprite banks use seeds derived from
their cache key, so a result never depends on which images were made before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.special import erf

from weatherclean.synth.common import StyleChoice, Styles, check_style_names, pick_styles, smooth_field
from weatherclean.synth.names import RAIN_LEVELS, RAIN_STYLES

__all__ = [
    "RAIN_LEVELS",
    "RAIN_STYLES",
    "LEVEL_PARAMS",
    "STYLE_DESCRIPTIONS",
    "CameraMotion",
    "CameraPath",
    "RainClip",
    "RainLevel",
    "RainMaps",
    "RainSample",
    "apply_rain",
    "check_styles",
    "rain_components",
    "rain_maps",
    "synthesize_rain",
    "synthesize_rain_clip",
]

#: Image area the drop densities are counted for (640x480).
REFERENCE_AREA: float = 640.0 * 480.0


@dataclass(frozen=True)
class _Layer:
    """One depth layer of rain drops of one style; docs/synthesis.md explains the numbers."""

    name: str
    lengths: tuple[float, ...]  # streak lengths in pixels that drops of this layer can have
    width: tuple[float, float]  # physical streak thickness in pixels
    blur: tuple[float, float]  # optics blur sigma in pixels (sharp); soft banks multiply it
    brightness: tuple[float, float]  # radiance added at the centre of one streak
    speed: tuple[float, float]  # fall speed in clips, pixels per frame
    variants: int  # sprites per bank


@dataclass(frozen=True)
class RainLevel:
    """What makes one style's light rain light and its heavy rain heavy; counts are per 640x480 picture."""

    densities: tuple[float, ...]  # drops per layer of the style (far to near)
    length_center: tuple[float, float]  # range of the per-image preferred length index (0 short .. 3 long)
    brightness: tuple[float, float]  # per-image radiance factor
    occluding: float  # fraction of the nearest layer's drops whose core hides the background (alpha = 1)
    lens_drops: float  # expected drops on the lens (alpha = 1 discs)
    veil: tuple[float, float, float]  # (probability, min, max) radiance of the accumulation haze
    accumulation: float  # radiance above which rain is so dense that alpha = 1 (inf: never)
    soft: float  # probability that an image's streaks are defocused (soft banks)
    splashes: float = 0.0  # splashes (bright crowns lasting one frame) per picture and frame


@dataclass(frozen=True)
class _Style:
    """One streak model: its layers, its winds, and its light and heavy tables."""

    name: str
    description: str
    layers: tuple[_Layer, ...]
    levels: dict[str, RainLevel]
    directions: tuple[int, int] = (1, 1)  # how many wind directions a sample has (min, max)
    angle_sigma: float = 12.0  # spread of the main wind around vertical, degrees
    max_angle: float = 35.0  # winds are clipped to +-this, degrees
    spread: tuple[float, float] = (20.0, 50.0)  # angle between two directions of one sample, degrees
    jitter: float = 3.0  # each streak's own deviation from its wind: Gaussian sigma, degrees ...
    jitter_max: float = 7.0  # ... clipped to +-this
    length_jitter: tuple[float, float] = (0.7, 1.3)  # each streak's length factor
    soft_blur: float = 2.2  # blur multiplier of defocused ("soft") banks
    lens_radius: tuple[float, float] = (4.0, 16.0)  # drops on the lens, pixels (log-uniform)
    # Winds come in steps of this many degrees: each step is a set of sprite banks to render and cache,
    # and a streak's own jitter hides a coarser grid.
    angle_step: float = 5.0


_NO_VEIL = (0.0, 0.0, 0.0)

#: Before styles this was the whole model; it is the ``lines`` style now, unchanged.
_LAYERS: tuple[_Layer, ...] = (
    _Layer("far", (3.0, 5.0, 8.0, 12.0), (0.25, 0.6), (0.35, 0.5), (0.30, 0.70), (2.0, 4.0), 12),
    _Layer("mid", (8.0, 13.0, 20.0, 30.0), (0.5, 1.0), (0.4, 0.7), (0.35, 0.80), (3.5, 7.0), 12),
    _Layer("near", (20.0, 32.0, 48.0, 70.0), (0.7, 1.7), (0.5, 1.1), (0.45, 0.95), (6.0, 12.0), 16),
)
_FAR, _MID, _NEAR = range(3)

#: The ``lines`` tables, in the spirit of RainSynLight25 (sparse additive streaks) and RainSynComplex25
#: (dense long streaks, haze and occlusion).
LEVEL_PARAMS: dict[str, RainLevel] = {
    "light": RainLevel(
        densities=(3000.0, 1200.0, 130.0),
        length_center=(0.0, 2.5),
        brightness=(0.9, 1.3),
        occluding=0.01,
        lens_drops=0.0,
        veil=_NO_VEIL,  # no haze: light rain does not veil a scene, and the veil must signal heavy rain
        accumulation=math.inf,
        soft=0.3,
    ),
    "heavy": RainLevel(
        densities=(5000.0, 2200.0, 300.0),
        length_center=(1.0, 3.0),
        brightness=(0.9, 1.25),
        occluding=0.15,
        lens_drops=1.5,
        veil=(0.9, 0.12, 0.45),
        accumulation=2.2,
        soft=0.4,
    ),
}

_STYLES: dict[str, _Style] = {
    s.name: s
    for s in (
        _Style(
            "lines",
            "thin streaks in three depth layers around one wind: a spread of angles, lengths, widths, brightness",
            _LAYERS,
            LEVEL_PARAMS,
            angle_step=2.5,
        ),
        _Style(
            "wide",
            "wide, blurred streaks of drops falling close to the lens, out of focus",
            (
                _Layer("soft", (12.0, 20.0, 32.0, 48.0), (1.0, 2.2), (0.8, 1.5), (0.30, 0.65), (4.0, 9.0), 10),
                _Layer("wide", (24.0, 40.0, 64.0, 90.0), (2.0, 4.5), (1.2, 2.4), (0.25, 0.60), (7.0, 14.0), 8),
            ),
            {
                "light": RainLevel((600.0, 80.0), (0.5, 2.5), (0.9, 1.3), 0.0, 0.0, _NO_VEIL, math.inf, 0.4),
                "heavy": RainLevel((1000.0, 140.0), (1.0, 3.0), (0.9, 1.25), 0.08, 0.5, (0.8, 0.08, 0.35), 2.2, 0.5),
            },
            angle_sigma=10.0,
            jitter=2.0,
            jitter_max=5.0,
            soft_blur=1.6,
        ),
        _Style(
            "crossing",
            "two or three wind directions at once, as in gusty rain",
            (
                _Layer("mid", (10.0, 16.0, 26.0), (0.45, 1.0), (0.4, 0.7), (0.35, 0.80), (3.5, 7.0), 10),
                _Layer("near", (24.0, 40.0, 60.0), (0.7, 1.6), (0.5, 1.0), (0.45, 0.95), (6.0, 12.0), 12),
            ),
            {
                "light": RainLevel((1300.0, 120.0), (0.0, 2.0), (0.9, 1.3), 0.0, 0.0, _NO_VEIL, math.inf, 0.25),
                "heavy": RainLevel((2600.0, 300.0), (0.5, 2.0), (0.9, 1.25), 0.1, 0.5, (0.8, 0.1, 0.4), 2.2, 0.35),
            },
            directions=(2, 3),
            angle_sigma=20.0,
            max_angle=45.0,
            spread=(20.0, 55.0),
        ),
        _Style(
            "drizzle",
            "very many fine, short, faint drops, often in a mist",
            (
                _Layer("fine", (2.0, 3.0, 5.0, 7.0), (0.2, 0.45), (0.3, 0.5), (0.20, 0.50), (1.5, 3.0), 12),
                _Layer("dust", (5.0, 8.0, 12.0), (0.3, 0.7), (0.35, 0.6), (0.25, 0.55), (2.5, 4.5), 12),
            ),
            {
                "light": RainLevel(
                    (12000.0, 3000.0), (0.0, 2.5), (0.9, 1.3), 0.0, 0.0, (0.4, 0.02, 0.08), math.inf, 0.2
                ),
                "heavy": RainLevel(
                    (20000.0, 6000.0), (0.5, 3.0), (0.9, 1.3), 0.0, 0.0, (0.9, 0.08, 0.3), math.inf, 0.3
                ),
            },
            angle_sigma=18.0,
            max_angle=45.0,
            jitter=6.0,
            jitter_max=15.0,
            length_jitter=(0.6, 1.4),
        ),
        _Style(
            "lens",
            "drops on the lens (a blurred, upside-down view of the scene) and splashes, over sparse streaks",
            (_Layer("mid", (8.0, 14.0, 24.0, 36.0), (0.45, 1.1), (0.4, 0.8), (0.35, 0.80), (3.5, 8.0), 12),),
            {
                "light": RainLevel((600.0,), (0.0, 3.0), (0.9, 1.3), 0.0, 3.0, _NO_VEIL, math.inf, 0.3, 150.0),
                "heavy": RainLevel((1400.0,), (0.5, 3.0), (0.9, 1.25), 0.0, 8.0, (0.5, 0.05, 0.25), 2.2, 0.4, 400.0),
            },
            lens_radius=(4.0, 28.0),
        ),
        _Style(
            "downpour",
            "a cloudburst: long, sharp, bright streaks in one or two winds, when heavy dense enough to veil the scene",
            (
                _Layer("sheet", (30.0, 50.0, 80.0, 120.0), (0.6, 1.3), (0.3, 0.6), (0.45, 0.95), (12.0, 22.0), 12),
                _Layer("near", (60.0, 100.0, 150.0), (1.2, 2.6), (0.4, 0.9), (0.50, 1.00), (16.0, 28.0), 10),
            ),
            {
                "light": RainLevel((150.0, 10.0), (0.0, 2.0), (0.9, 1.3), 0.0, 0.0, _NO_VEIL, math.inf, 0.2),
                "heavy": RainLevel((1600.0, 130.0), (1.0, 3.0), (0.9, 1.3), 0.0, 0.0, (0.5, 0.05, 0.2), math.inf, 0.2),
            },
            directions=(1, 2),
            angle_sigma=15.0,
            max_angle=40.0,
            spread=(15.0, 40.0),
            jitter=2.0,
            jitter_max=5.0,
        ),
    )
}

# The style names and their order are declared in synth/names.py (imported without NumPy).
if tuple(_STYLES) != RAIN_STYLES:  # names.py lists them for --help; a style added here must be named there too
    raise RuntimeError(
        f"synth/names.py: RAIN_STYLES {RAIN_STYLES} differ from the styles defined here {tuple(_STYLES)}"
    )
#: One line per style, for ``--help`` and docs.
STYLE_DESCRIPTIONS: dict[str, str] = {name: s.description for name, s in _STYLES.items()}

_ANGLE_STEP_DEG = 2.5
_MAX_ANGLE_DEG = 45.0  # the widest any style allows; banks exist for every step in between
_N_ANGLES = int(round(2 * _MAX_ANGLE_DEG / _ANGLE_STEP_DEG)) + 1
_LENGTH_SPREAD = 1.2  # sigma, in length indices, of how an image weights its layers' lengths
_OCCLUDING_CORE = 0.6  # an occluding drop hides the background where its sprite exceeds this share of its peak


def check_styles(styles: StyleChoice) -> Styles:
    """The allowed rain styles (None or empty: all of them; a mapping: names with weights, see
    :func:`~weatherclean.synth.common.check_style_names`); an unknown name raises ValueError."""
    return check_style_names("rain", styles, RAIN_STYLES)


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def apply_rain(clean: np.ndarray, streak: np.ndarray, alpha: np.ndarray, reliance: np.ndarray) -> np.ndarray:
    """Composite rain: ``O = (1 - alpha) * (B + S) + alpha * A``.

    The single place the hybrid model is written down, so synthesis, the CLI and the tests cannot drift
    apart. Works on one image (HxWxC) or a clip (TxHxWxC); ``alpha`` may lack the channel axis and
    ``streak`` may have one channel. The result is float32.
    """
    b = clean.astype(np.float32, copy=False)
    a = alpha.astype(np.float32, copy=False)
    if a.ndim == b.ndim - 1:
        a = a[..., None]
    s = streak.astype(np.float32, copy=False)
    r = reliance.astype(np.float32, copy=False)
    return (1 - a) * (b + s) + a * r


@dataclass(frozen=True)
class RainSample:
    """A rainy image with every map that made it, so training can supervise S, alpha and A as well."""

    rainy: np.ndarray  # O, HxWx3 float32 in [0, 1]
    clean: np.ndarray  # B, HxWx3 float32 in [0, 1]
    streak: np.ndarray  # S, HxWx3 float32 >= 0, B + S <= 1
    alpha: np.ndarray  # HxW float32 in {0, 1}
    reliance: np.ndarray  # A, HxWx3 float32 in [0, 1], 0 where alpha = 0
    level: str
    angle: float  # main streak angle in degrees from vertical; > 0 falls towards the right
    styles: tuple[str, ...] = ()  # the styles this sample was drawn with


@dataclass(frozen=True)
class CameraMotion:
    """How the camera moves while a clip is filmed; all per frame, in output pixels.

    ``pan`` is a steady drift (dx, dy), ``zoom`` the log change of magnification per frame (> 0 zooms
    in), ``shake`` the standard deviation of a smooth hand-held wobble and ``roll`` that of a small
    rotation in degrees. Motion that would take the view outside the still image is scaled down.
    """

    pan: tuple[float, float] = (0.0, 0.0)
    zoom: float = 0.0
    shake: float = 0.0
    roll: float = 0.0

    @classmethod
    def random(cls, rng: np.random.Generator) -> CameraMotion:
        """A plausible hand-held or slowly panning camera: pan 0-2.5 px/frame in any direction (none
        in a fifth of clips), zoom in or out up to 1.5 %/frame in half of them, shake up to 1.2 px and
        roll up to 0.3 degrees."""
        speed = 0.0 if rng.random() < 0.2 else float(rng.uniform(0.0, 2.5))
        heading = float(rng.uniform(0.0, 2 * math.pi))
        zoom = float(rng.uniform(-0.015, 0.015)) if rng.random() < 0.5 else 0.0
        return cls(
            pan=(speed * math.cos(heading), speed * math.sin(heading)),
            zoom=zoom,
            shake=float(rng.uniform(0.0, 1.2)),
            roll=float(rng.uniform(0.0, 0.3)),
        )


#: A camera that does not move: every frame shows the same view.
STATIC = CameraMotion()


@dataclass(frozen=True)
class CameraPath:
    """Where each frame of a clip looks in the still image: the centre (x, y), the scale (still pixels
    per output pixel) and the roll (radians) of every frame."""

    center: np.ndarray  # Tx2 float64 (x, y) in still-image pixels
    scale: np.ndarray  # T float64
    roll: np.ndarray  # T float64

    def shifts(self) -> np.ndarray:
        """Tx2 displacement of the view relative to frame 0, in output pixels (content moves by minus it)."""
        return (self.center - self.center[:1]) / self.scale[:1, None]


@dataclass(frozen=True)
class RainClip:
    """A rainy clip made from one still image, with its ground truth and maps for every frame."""

    rainy: np.ndarray  # TxHxWx3 float32
    clean: np.ndarray  # TxHxWx3 float32
    streak: np.ndarray  # TxHxWx3 float32
    alpha: np.ndarray  # TxHxW float32 in {0, 1}
    reliance: np.ndarray  # TxHxWx3 float32
    level: str
    angle: float
    motion: CameraMotion
    path: CameraPath = field(repr=False)
    styles: tuple[str, ...] = ()

    @property
    def frames(self) -> int:
        return int(self.rainy.shape[0])


# --------------------------------------------------------------------------------------------------
# Sprite banks
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bank:
    """Variants of one streak as sparse pixel lists: pixel ``m`` of variant ``v`` sits at
    ``(dy[v, m], dx[v, m])`` from the drop's position with value ``val[v, m]`` (0 for padding)."""

    dy: np.ndarray  # V x M int16 (small offsets: the whole cache of every style stays under 100 MB)
    dx: np.ndarray  # V x M int16
    val: np.ndarray  # V x M float32
    peak: np.ndarray  # V float32
    half_y: int
    half_x: int


def _angle_of(index: int) -> float:
    return -_MAX_ANGLE_DEG + index * _ANGLE_STEP_DEG


def _angle_index(degrees: float, limit: float, step: float = _ANGLE_STEP_DEG) -> int:
    """The bank angle nearest ``degrees`` on a grid of ``step`` degrees (a multiple of the bank step),
    clipped to +-``limit``."""
    clipped = float(np.clip(degrees, -limit, limit))
    ratio = int(round(step / _ANGLE_STEP_DEG))
    return ratio * int(round((clipped + _MAX_ANGLE_DEG) / (ratio * _ANGLE_STEP_DEG)))


def _render_streak(
    rng: np.random.Generator,
    layer: _Layer,
    angle: float,
    length: float,
    blur_factor: float,
    grid: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """One streak on ``grid`` (pixel offsets y, x of a bank): a blurred bar of ``length`` along ``angle``.

    The cross-section is a bar of the drop's thickness blurred by the optics; thin far streaks therefore
    have a peak below 1 (they cover part of a pixel) instead of being one-pixel bright lines. Ends are soft
    (the drop enters and leaves the exposure smoothly) and brightness drifts a little along the streak.
    """
    width = float(rng.uniform(*layer.width))
    blur = float(rng.uniform(*layer.blur)) * blur_factor
    sigma = math.sqrt(width * width / 12.0 + blur * blur)
    peak = float(erf(width / (2.0 * math.sqrt(2.0) * blur)))
    oy, ox = rng.uniform(-0.5, 0.5, size=2)
    gy, gx = grid[0] - oy, grid[1] - ox
    sa, ca = math.sin(angle), math.cos(angle)
    along = gx * sa + gy * ca
    across = gx * ca - gy * sa
    end = max(sigma, 0.6) + 0.04 * length
    half = length / 2.0
    profile = 0.5 * (erf((half - along) / (math.sqrt(2.0) * end)) + erf((half + along) / (math.sqrt(2.0) * end)))
    gradient = 1.0 + float(rng.uniform(-0.35, 0.35)) * along / max(length, 1.0)
    out = peak * profile * gradient * np.exp(-(across * across) / (2.0 * sigma * sigma))
    return np.clip(out, 0.0, None).astype(np.float32)


def _sparse(sprites: list[np.ndarray], half_y: int, half_x: int) -> _Bank:
    """Pack sprites into a read-only sparse bank (pixels below 0.2 % of a sprite's peak are dropped)."""
    peaks = np.array([float(s.max()) for s in sprites], dtype=np.float32)
    keep = [np.nonzero(s > 2e-3 * max(p, 1e-6)) for s, p in zip(sprites, peaks, strict=True)]
    m = max(len(k[0]) for k in keep)
    dy = np.zeros((len(sprites), m), dtype=np.int16)
    dx = np.zeros((len(sprites), m), dtype=np.int16)
    val = np.zeros((len(sprites), m), dtype=np.float32)
    for v, (sprite, (ys, xs)) in enumerate(zip(sprites, keep, strict=True)):
        dy[v, : len(ys)] = ys - half_y
        dx[v, : len(xs)] = xs - half_x
        val[v, : len(ys)] = sprite[ys, xs]
    for arr in (dy, dx, val, peaks):
        arr.setflags(write=False)
    return _Bank(dy, dx, val, peaks, half_y, half_x)


@lru_cache(maxsize=4096)
def _bank(layer_index: int, angle_index: int, length_index: int, soft: bool, style: str = "lines") -> _Bank:
    """The cached sparse bank for one (layer, angle, length, sharpness) of ``style``; a few hundred KB at
    most. ``lines`` keeps the seeds its banks had before there were styles."""
    st = _STYLES[style]
    layer = st.layers[layer_index]
    angle = math.radians(_angle_of(angle_index))
    length = layer.lengths[length_index]
    seed = [layer_index, angle_index, length_index, int(soft), 104729]
    if style != "lines":
        seed.append(RAIN_STYLES.index(style))
    rng = np.random.default_rng(seed)
    factor = st.soft_blur if soft else 1.0
    blur = layer.blur[1] * factor
    reach = 3.0 * math.sqrt(layer.width[1] ** 2 / 12.0 + blur * blur) + 2.0
    longest = length * st.length_jitter[1]
    max_len = longest + 2.0 * (0.6 + blur + 0.04 * longest)
    max_angle = abs(angle) + math.radians(st.jitter_max)
    half_y = int(math.ceil(max_len / 2 * math.cos(min(max_angle, math.pi / 2)) + reach))
    half_x = int(math.ceil(max_len / 2 * math.sin(max_angle) + reach))
    grid = (
        np.arange(-half_y, half_y + 1, dtype=np.float64)[:, None],
        np.arange(-half_x, half_x + 1, dtype=np.float64)[None, :],
    )
    sprites = []
    for _ in range(layer.variants):
        jitter = float(np.clip(rng.normal(0.0, st.jitter), -st.jitter_max, st.jitter_max))
        var_len = length * float(rng.uniform(*st.length_jitter))
        sprites.append(_render_streak(rng, layer, angle + math.radians(jitter), var_len, factor, grid))
    return _sparse(sprites, half_y, half_x)


@lru_cache(maxsize=1)
def _splash_bank() -> _Bank:
    """Splashes seen from the side: a small bright base where the drop hit, and a crown of 3-7 droplets
    thrown up and outwards, 2-6 px across, slightly blurred."""
    rng = np.random.default_rng([31, 104729])
    half = 7
    gy, gx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    sprites = []
    for _ in range(16):
        size = float(rng.uniform(2.0, 5.5))
        base_w = size * float(rng.uniform(0.35, 0.6))
        out = 0.8 * np.exp(-0.5 * ((gx / base_w) ** 2 + (gy / 0.6) ** 2))
        for _ in range(int(rng.integers(3, 8))):
            phi = math.radians(float(rng.uniform(-80.0, 80.0)))
            dist = size * float(rng.uniform(0.5, 1.0))
            py, px = -dist * math.cos(phi), dist * math.sin(phi)
            r = float(rng.uniform(0.35, 0.8))
            out = np.maximum(
                out, float(rng.uniform(0.5, 1.0)) * np.exp(-0.5 * ((gx - px) ** 2 + (gy - py) ** 2) / r**2)
            )
        sprites.append(out.astype(np.float32))
    return _sparse(sprites, half, half)


# --------------------------------------------------------------------------------------------------
# Drops and their rendering
# --------------------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Drops that share one bank and one fall speed, splatted once onto a "sheet" of rain that slides
    past the view: frame t shows ``sheet[row[t] : row[t] + h, col[t] : col[t] + w]``.

    Drops falling at one speed keep their place relative to each other, so the whole group moves as one
    sheet; rendering it once instead of once per frame is what makes a 9-frame clip cheap. The sheet
    reaches far enough above the first view that drops entering during the clip are already on it.
    """

    bank: _Bank
    rows: int
    cols: int
    origin: np.ndarray  # T x 2 (row, col) of the view's top-left corner in the sheet, per frame
    cy: np.ndarray  # drop centres in sheet pixels
    cx: np.ndarray
    variant: np.ndarray
    amp: np.ndarray  # float64 radiance per drop
    occluding: np.ndarray  # bool per drop


@dataclass
class _LensDrop:
    x: float
    y: float
    radius: float
    slide: float  # pixels per frame down the lens
    zoom: float  # how much wider than the drop the (upside-down) view through it is


@dataclass
class _Splashes:
    """Splashes of one frame, in view pixels (each lasts one frame, so it never moves)."""

    y: np.ndarray
    x: np.ndarray
    variant: np.ndarray
    amp: np.ndarray


@dataclass
class _Scene:
    """Everything random about one image's or clip's rain, drawn once so frames stay coherent."""

    level: str
    styles: tuple[str, ...]
    angle_index: int
    groups: list[_Group]
    lens: list[_LensDrop]
    splashes: list[_Splashes]  # one entry per frame, or empty
    veil: np.ndarray | None  # HxW radiance, or None
    colour: np.ndarray  # 3, streak colour (<= 1)
    reliance_gain: float
    reliance_light: float
    accumulation: float

    @property
    def angle(self) -> float:
        return _angle_of(self.angle_index)


def _make_group(
    rng: np.random.Generator,
    bank: _Bank,
    h: int,
    w: int,
    moves: np.ndarray,
    count_per_ref: float,
    amp: tuple[float, float],
    occluding: float,
) -> _Group | None:
    """Place a group's drops on a sheet covering every view of the clip; ``moves`` (Tx2 int, x and y)
    is how far the rain has moved in the view at each frame. None when no drop falls in it."""
    hy, hx = bank.half_y, bank.half_x
    # The view at frame t covers sheet-independent "rain coordinates" [-move, -move + size).
    ax, bx = int((-moves[:, 0]).min()), int((-moves[:, 0]).max()) + w
    ay, by = int((-moves[:, 1]).min()), int((-moves[:, 1]).max()) + h
    area = (bx - ax + 2 * hx) * (by - ay + 2 * hy)
    n = int(rng.poisson(count_per_ref * area / REFERENCE_AREA))
    if n == 0:
        return None
    # Drops centred up to half a sprite outside the views still show; the sheet has another half sprite
    # of margin so no splat leaves it.
    x0, y0 = ax - 2 * hx - 1, ay - 2 * hy - 1
    cols, rows = bx + 2 * hx + 2 - x0, by + 2 * hy + 2 - y0
    cx = rng.integers(ax - hx, bx + hx, size=n) - x0
    cy = rng.integers(ay - hy, by + hy, size=n) - y0
    variant = rng.integers(0, bank.val.shape[0], size=n)
    amps = rng.uniform(amp[0], amp[1], size=n)
    occ = np.zeros(n, dtype=bool)
    if occluding > 0:
        occ = rng.random(n) < occluding
        amps = np.where(occ, np.maximum(amps, 0.85 * amp[1]), amps)  # occluding drops are the bright ones
    origin = np.stack([-moves[:, 1] - y0, -moves[:, 0] - x0], axis=1).astype(np.intp)
    return _Group(bank, rows, cols, origin, cy, cx, variant, amps, occ)


def _winds(rng: np.random.Generator, style: _Style) -> list[int]:
    """Bank angle indices of a sample's wind directions: the main one around vertical, any others
    ``style.spread`` degrees away from it, to either side."""
    main = float(rng.normal(0.0, style.angle_sigma))
    count = int(rng.integers(style.directions[0], style.directions[1] + 1))
    angles = [main]
    for _ in range(count - 1):
        other = main + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(*style.spread))
        if abs(other) > style.max_angle:  # no room on that side: go to the other
            other = 2 * main - other
        angles.append(other)
    return [_angle_index(a, style.max_angle, style.angle_step) for a in angles]


def _style_groups(
    rng: np.random.Generator,
    style: _Style,
    params: RainLevel,
    angles: list[int],
    h: int,
    w: int,
    shifts: np.ndarray,
    share: float,
) -> list[_Group]:
    """The drop groups of one style: per wind direction, layer and length, drops that fall together."""
    frames = shifts.shape[0]
    steps = np.arange(frames, dtype=np.float64)[:, None]
    soft = bool(rng.random() < params.soft)
    amount = share * float(rng.uniform(0.6, 1.5))  # images of one level are not all equally rainy
    bright = float(rng.uniform(*params.brightness))
    center = float(rng.uniform(*params.length_center))
    groups: list[_Group] = []
    nearest = len(style.layers) - 1
    for angle_index in angles:
        angle = math.radians(_angle_of(angle_index))
        fall = np.array([math.sin(angle), math.cos(angle)])
        direction_amount = amount / len(angles) * (float(rng.uniform(0.7, 1.3)) if len(angles) > 1 else 1.0)
        for li, (layer, density) in enumerate(zip(style.layers, params.densities, strict=True)):
            n_len = len(layer.lengths)
            weights = np.exp(-0.5 * ((np.arange(n_len) - center) / _LENGTH_SPREAD) ** 2)
            weights /= weights.sum()
            layer_amount = direction_amount * float(rng.uniform(0.8, 1.25))
            for ki in range(n_len):
                bank = _bank(li, angle_index, ki, soft, style.name)
                # Longer streaks of a layer are faster drops (length is speed times exposure).
                speed = float(rng.uniform(*layer.speed)) * (1.0 + 0.1 * ki)
                moves = np.rint(speed * steps * fall[None, :] + shifts).astype(np.int64)
                group = _make_group(
                    rng,
                    bank,
                    h,
                    w,
                    moves,
                    density * layer_amount * weights[ki],
                    (layer.brightness[0] * bright, layer.brightness[1] * bright),
                    params.occluding if li == nearest else 0.0,
                )
                if group is not None:
                    groups.append(group)
    return groups


def _make_scene(
    rng: np.random.Generator,
    level: str,
    h: int,
    w: int,
    light: np.ndarray,
    shifts: np.ndarray,
    styles: Styles = RAIN_STYLES,
) -> _Scene:
    """Draw the rain for an h x w view seen for ``len(shifts)`` frames; ``shifts`` (Tx2, x and y) is
    how the camera moves the rain in the view, ``light`` the scene's mean colour (tints S and A), and
    ``styles`` the styles to draw one to three from."""
    frames = shifts.shape[0]
    picked = pick_styles(rng, styles)
    share = 1.0 / math.sqrt(len(picked))  # several styles at once: each a little sparser
    groups: list[_Group] = []
    lens: list[_LensDrop] = []
    splashes: list[_Splashes] = []
    main_angle: int | None = None
    veil_strength = 0.0
    accumulation = math.inf
    for name in picked:
        style = _STYLES[name]
        params = style.levels[level]
        angles = _winds(rng, style)
        main_angle = angles[0] if main_angle is None else main_angle
        groups += _style_groups(rng, style, params, angles, h, w, shifts, share)
        if params.lens_drops > 0:
            lo, hi = (math.log(r) for r in style.lens_radius)
            for _ in range(int(rng.poisson(params.lens_drops * h * w / REFERENCE_AREA))):
                radius = float(math.exp(rng.uniform(lo, hi)))
                slide = float(rng.uniform(0.0, 0.6)) if rng.random() < 0.5 else 0.0
                zoom = float(rng.uniform(1.5, 3.0))
                lens.append(_LensDrop(float(rng.uniform(0, w)), float(rng.uniform(0, h)), radius, slide, zoom))
        if params.splashes > 0:
            bank = _splash_bank()
            rate = params.splashes * share * (h + 2 * bank.half_y) * (w + 2 * bank.half_x) / REFERENCE_AREA
            for _ in range(frames):
                n = int(rng.poisson(rate))
                splashes.append(
                    _Splashes(
                        rng.integers(-bank.half_y, h + bank.half_y, size=n),
                        rng.integers(-bank.half_x, w + bank.half_x, size=n),
                        rng.integers(0, bank.val.shape[0], size=n),
                        rng.uniform(0.3, 0.8, size=n),
                    )
                )
        prob, lo_v, hi_v = params.veil
        if prob > 0 and rng.random() < prob:
            veil_strength = max(veil_strength, float(rng.uniform(lo_v, hi_v)))
        accumulation = min(accumulation, params.accumulation)
    if splashes and len(splashes) > frames:  # two styles with splashes: merge them frame by frame
        merged = []
        for t in range(frames):
            parts = splashes[t::frames]
            merged.append(
                _Splashes(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("y", "x", "variant", "amp")))
            )
        splashes = merged
    veil = None
    if veil_strength > 0:
        field_ = smooth_field(rng, h, w, 1, cell=float(rng.uniform(150, 400)))[..., 0]
        veil = (veil_strength * (1.0 + 0.3 * field_)).astype(np.float32)
    chroma = light / max(float(light.max()), 1e-3)
    tint = float(rng.uniform(0.0, 0.2))
    colour = ((1.0 - tint) + tint * chroma) * float(rng.uniform(0.88, 1.0))
    assert main_angle is not None
    return _Scene(
        level=level,
        styles=tuple(picked),
        angle_index=main_angle,
        groups=groups,
        lens=lens,
        splashes=splashes,
        veil=veil,
        colour=np.clip(colour, 0.0, 1.0).astype(np.float32),
        reliance_gain=float(rng.uniform(0.7, 0.9)),
        reliance_light=float(rng.uniform(0.15, 0.3)),
        accumulation=accumulation,
    )


def _render(scene: _Scene, h: int, w: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Radiance R (TxHxW float32) and occlusion by streaks (TxHxW bool) of ``scene``.

    One ``np.bincount`` splats every drop of every group onto its sheet (sheets laid end to end in one
    flat array); a second one, over the occluding drops only, finds their cores. Frames are then sums of
    shifted windows of the sheets. Splashes, which never move, are splatted straight into the frames.
    """
    starts: list[int] = []
    total = 0
    for g in scene.groups:
        starts.append(total)
        total += g.rows * g.cols
    indices: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    occ_indices: list[np.ndarray] = []
    occ_weights: list[np.ndarray] = []
    for g, start in zip(scene.groups, starts, strict=True):
        base = start + g.cy * g.cols + g.cx
        offs = g.bank.dy[g.variant].astype(np.int64) * g.cols + g.bank.dx[g.variant]
        indices.append((base[:, None] + offs).ravel())
        weights.append((g.bank.val[g.variant] * g.amp[:, None]).ravel())
        if g.occluding.any():
            sel = g.occluding
            occ_indices.append((base[sel][:, None] + offs[sel]).ravel())
            occ_weights.append((g.bank.val[g.variant[sel]] / g.bank.peak[g.variant[sel]][:, None]).ravel())
    radiance = np.zeros((frames, h, w), dtype=np.float64)
    if indices:
        flat = np.bincount(np.concatenate(indices), weights=np.concatenate(weights), minlength=total)
        _accumulate(scene.groups, starts, flat, radiance)
    if scene.splashes:
        radiance += _splash_radiance(scene.splashes, h, w)
    radiance = radiance.astype(np.float32)
    if scene.veil is not None:
        radiance += scene.veil[None]
    occluded = radiance > scene.accumulation
    if occ_indices:
        flat = np.bincount(np.concatenate(occ_indices), weights=np.concatenate(occ_weights), minlength=total)
        cores = np.zeros((frames, h, w), dtype=np.float64)
        _accumulate(scene.groups, starts, flat, cores, only_occluding=True)
        occluded |= cores > _OCCLUDING_CORE
    return radiance, occluded


def _splash_radiance(splashes: list[_Splashes], h: int, w: int) -> np.ndarray:
    """TxHxW radiance of each frame's splashes (sprites cut at the frame's border)."""
    bank = _splash_bank()
    indices, weights = [], []
    for t, s in enumerate(splashes):
        yy = s.y[:, None] + bank.dy[s.variant].astype(np.int64)
        xx = s.x[:, None] + bank.dx[s.variant].astype(np.int64)
        val = bank.val[s.variant] * s.amp[:, None]
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w) & (val > 0)
        indices.append((t * h * w + yy * w + xx)[inside])
        weights.append(val[inside])
    flat = np.bincount(np.concatenate(indices), weights=np.concatenate(weights), minlength=len(splashes) * h * w)
    return flat.reshape(len(splashes), h, w)


def _accumulate(
    groups: list[_Group], starts: list[int], flat: np.ndarray, out: np.ndarray, only_occluding: bool = False
) -> None:
    """Add each group's sheet window for every frame into ``out`` (TxHxW), in place."""
    frames, h, w = out.shape
    for g, start in zip(groups, starts, strict=True):
        if only_occluding and not g.occluding.any():
            continue
        sheet = flat[start : start + g.rows * g.cols].reshape(g.rows, g.cols)
        for t in range(frames):
            r, c = g.origin[t]
            out[t] += sheet[r : r + h, c : c + w]


def _lens_view(scene: _Scene, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where drops on the lens are (TxHxW bool) and what they show (TxHxWx3).

    A drop on the lens is a tiny fish-eye lens far out of focus: it shows a wider, upside-down and
    blurred view of the scene around it, a little brightened, darker towards its rim, with a small
    highlight near the top. Drops are a little taller than wide (they sag under gravity).
    """
    frames, h, w = clean.shape[:3]
    mask = np.zeros((frames, h, w), dtype=bool)
    view = np.zeros((frames, h, w, 3), dtype=np.float32)
    for t in range(frames):
        for drop in scene.lens:
            cy, r = drop.y + drop.slide * t, drop.radius
            y0, y1 = max(int(cy - 1.15 * r) - 1, 0), min(int(cy + 1.15 * r) + 2, h)
            x0, x1 = max(int(drop.x - r) - 1, 0), min(int(drop.x + r) + 2, w)
            if y0 >= y1 or x0 >= x1:
                continue
            v = (np.arange(y0, y1, dtype=np.float32)[:, None] - cy) / (1.15 * r)
            u = (np.arange(x0, x1, dtype=np.float32)[None, :] - drop.x) / r
            rho2 = u * u + v * v
            inside = rho2 <= 1.0
            if not inside.any():
                continue
            sy = np.clip(np.rint(cy - drop.zoom * v * 1.15 * r), 0, h - 1).astype(np.intp)
            sx = np.clip(np.rint(drop.x - drop.zoom * u * r), 0, w - 1).astype(np.intp)
            seen = uniform_filter(clean[t][sy, sx], size=(max(3, int(r / 2)), max(3, int(r / 2)), 1), mode="nearest")
            rim = np.clip((np.sqrt(rho2) - 0.7) / 0.3, 0.0, 1.0)[..., None]
            spot = 0.6 * np.exp(-((u + 0.3) ** 2 + (v + 0.45) ** 2) / (2 * 0.12**2))[..., None]
            a = np.clip(0.1 + 0.85 * seen * (1.0 - 0.35 * rim) + spot, 0.0, 1.0)
            region = view[t, y0:y1, x0:x1]
            region[inside] = a[inside]
            mask[t, y0:y1, x0:x1] |= inside
    return mask, view


def _scene_light(clean: np.ndarray) -> np.ndarray:
    """A very coarse version of the background (means over about 4x4 cells, linearly interpolated): the
    light falling on the rain, which tints occluding rain without showing the scene. Done with small
    averaging and interpolation matrices per axis, far cheaper than a blur."""
    h, w = clean.shape[-3:-1]
    down_y, up_y = _light_matrices(h)
    down_x, up_x = _light_matrices(w)
    planes = np.moveaxis(clean, -1, -3)  # ... x C x H x W
    grid = down_y @ planes @ down_x.T
    light = up_y @ grid @ up_x.T
    return np.moveaxis(light, -3, -1).astype(np.float32, copy=False)


@lru_cache(maxsize=64)
def _light_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells x n) averaging and (n x cells) interpolation matrices for about n/4-pixel cells."""
    cells = max(1, min(4, n // 8))
    edges = np.linspace(0, n, cells + 1)
    down = np.zeros((cells, n), dtype=np.float32)
    for k in range(cells):
        lo, hi = int(round(edges[k])), max(int(round(edges[k + 1])), int(round(edges[k])) + 1)
        down[k, lo:hi] = 1.0 / (hi - lo)
    centres = (edges[:-1] + edges[1:]) / 2 - 0.5
    up = np.zeros((n, cells), dtype=np.float32)
    for i in range(n):
        if cells == 1 or i <= centres[0]:
            up[i, 0] = 1.0
        elif i >= centres[-1]:
            up[i, -1] = 1.0
        else:
            k = int(np.searchsorted(centres, i) - 1)
            f = (i - centres[k]) / (centres[k + 1] - centres[k])
            up[i, k], up[i, k + 1] = 1.0 - f, f
    down.setflags(write=False)
    up.setflags(write=False)
    return down, up


def _compose_maps(
    scene: _Scene, clean: np.ndarray, radiance: np.ndarray, occluded: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S, alpha and A for clean frames (TxHxWx3) from the rendered radiance and occlusion."""
    s = (1.0 - np.exp(-radiance))[..., None]
    streak = s * scene.colour * (1.0 - clean)
    lens = None
    if occluded.any() or scene.lens:
        light = _scene_light(clean)
        if scene.lens:
            lens, lens_view = _lens_view(scene, clean)
            occluded = occluded | lens
    alpha = occluded.astype(np.float32)
    if occluded.any():
        reliance = scene.reliance_gain * scene.colour * (0.85 + 0.15 * s) + scene.reliance_light * light
        if lens is not None:
            reliance = np.where(lens[..., None], lens_view, reliance)
        reliance = np.clip(reliance, 0.0, 1.0) * alpha[..., None]
    else:
        reliance = np.zeros_like(clean)
    return streak.astype(np.float32, copy=False), alpha, reliance.astype(np.float32, copy=False)


def _check(clean: np.ndarray, level: str | None, rng: np.random.Generator, what: str) -> str:
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"{what} needs an HxWx3 image, got shape {clean.shape}")
    if level is None:
        return RAIN_LEVELS[int(rng.integers(0, len(RAIN_LEVELS)))]
    if level not in LEVEL_PARAMS:
        raise ValueError(f"unknown rain level {level!r}: use one of {', '.join(RAIN_LEVELS)}")
    return level


def _as_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return image.astype(np.float32, copy=False)


class RainMaps(NamedTuple):
    """What :func:`rain_maps` draws for one image: every map of the hybrid model but ``O`` itself."""

    streak: np.ndarray  # S, HxWx3
    alpha: np.ndarray  # HxW in {0, 1}
    reliance: np.ndarray  # A, HxWx3
    angle: float  # main wind, degrees from vertical
    styles: tuple[str, ...]  # the styles drawn


def rain_maps(clean: np.ndarray, rng: np.random.Generator, level: str, styles: StyleChoice = None) -> RainMaps:
    """Streak S, occlusion alpha, reliance A, the angle and the styles drawn for ``clean`` (HxWx3).

    The part of synthesis that does not composite, exposed so the CLI can round the maps to 8 bits
    first and composite the file it writes from the rounded values with :func:`apply_rain`. ``styles``
    limits the styles drawn from (None: all of :data:`RAIN_STYLES`); with one name, that style alone.
    """
    allowed = check_styles(styles)
    clean = _as_float(clean)
    h, w = clean.shape[:2]
    scene = _make_scene(rng, level, h, w, clean.reshape(-1, 3).mean(axis=0), np.zeros((1, 2)), allowed)
    radiance, occluded = _render(scene, h, w, 1)
    streak, alpha, reliance = _compose_maps(scene, clean[None], radiance, occluded)
    return RainMaps(streak[0], alpha[0], reliance[0], scene.angle, scene.styles)


def rain_components(
    clean: np.ndarray, rng: np.random.Generator, level: str, styles: StyleChoice = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Streak S (HxWx3), occlusion alpha (HxW), reliance A (HxWx3) and the angle for ``clean``: the
    first four fields of :func:`rain_maps`, for callers written before styles."""
    maps = rain_maps(clean, rng, level, styles)
    return maps.streak, maps.alpha, maps.reliance, maps.angle


def synthesize_rain(
    clean: np.ndarray, rng: np.random.Generator, level: str | None = None, styles: StyleChoice = None
) -> RainSample:
    """Put synthetic rain on ``clean`` (HxWx3 float in [0, 1], or uint8).

    ``level`` is one of :data:`RAIN_LEVELS` or ``None`` to draw one; ``styles`` limits the styles drawn
    from (None: all). ``rainy`` equals ``apply_rain(clean, streak, alpha, reliance)`` exactly, because it
    is computed that way.
    """
    level = _check(clean, level, rng, "synthesize_rain")
    clean = _as_float(clean)
    maps = rain_maps(clean, rng, level, styles)
    rainy = apply_rain(clean, maps.streak, maps.alpha, maps.reliance)
    return RainSample(rainy, clean, maps.streak, maps.alpha, maps.reliance, level, maps.angle, maps.styles)


# --------------------------------------------------------------------------------------------------
# Clips: camera motion over a still image
# --------------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, frames: int, dims: int) -> np.ndarray:
    """Frames x dims of smooth zero-mean noise with unit standard deviation (a hand's slow wobble)."""
    kernel = np.array([1.0, 3.0, 5.0, 3.0, 1.0])
    raw = rng.normal(size=(frames + len(kernel) - 1, dims))
    out = np.stack([np.convolve(raw[:, d], kernel, mode="valid") for d in range(dims)], axis=1)
    out -= out.mean(axis=0, keepdims=True)
    std = out.std(axis=0, keepdims=True)
    return out / np.where(std > 1e-9, std, 1.0) if frames > 1 else np.zeros((frames, dims))


def _camera_path(
    rng: np.random.Generator, image_hw: tuple[int, int], size: tuple[int, int], frames: int, motion: CameraMotion
) -> CameraPath:
    """A path of views of ``size`` inside an image of ``image_hw``, following ``motion``.

    Views are at the image's own scale when it is big enough (sharp ground truth), magnified when the
    image is smaller than the view. The largest view fits; pan and shake are scaled down if the whole
    path would not fit, and the path is placed at a random position where every view is inside.
    """
    big_h, big_w = image_hw
    h, w = size
    roll = np.radians(motion.roll) * _smooth_noise(rng, frames, 1)[:, 0]
    cos_r, sin_r = np.abs(np.cos(roll)), np.abs(np.sin(roll))
    unit_x = cos_r * (w - 1) / 2 + sin_r * (h - 1) / 2  # half-extent of each view at scale 1
    unit_y = sin_r * (w - 1) / 2 + cos_r * (h - 1) / 2
    s0 = min(1.0, (big_w - 1) / 2 / max(float(unit_x.max()), 0.5), (big_h - 1) / 2 / max(float(unit_y.max()), 0.5))
    steps = np.arange(frames, dtype=np.float64)
    zoom_steps = steps if motion.zoom >= 0 else steps[::-1]  # the first (zoom in) or last view is the widest
    scale = s0 * np.exp(-abs(motion.zoom) * zoom_steps)
    ext_x, ext_y = scale * unit_x, scale * unit_y
    tau = steps - (frames - 1) / 2
    move = s0 * (np.asarray(motion.pan, dtype=np.float64)[None, :] * tau[:, None])
    move = move + s0 * motion.shake * _smooth_noise(rng, frames, 2)
    factor = 1.0
    for _ in range(30):
        dx, dy = factor * move[:, 0], factor * move[:, 1]
        fits_x = (dx + ext_x).max() - (dx - ext_x).min() <= big_w - 1
        fits_y = (dy + ext_y).max() - (dy - ext_y).min() <= big_h - 1
        if fits_x and fits_y:
            break
        factor *= 0.8
    else:
        factor = 0.0
    move = move * factor
    lo_x, hi_x = -(move[:, 0] - ext_x).min(), big_w - 1 - (move[:, 0] + ext_x).max()
    lo_y, hi_y = -(move[:, 1] - ext_y).min(), big_h - 1 - (move[:, 1] + ext_y).max()
    cx = float(rng.uniform(lo_x, max(hi_x, lo_x)))
    cy = float(rng.uniform(lo_y, max(hi_y, lo_y)))
    center = np.stack([cx + move[:, 0], cy + move[:, 1]], axis=1)
    return CameraPath(center=center, scale=scale, roll=roll)


def _film(image: np.ndarray, path: CameraPath, size: tuple[int, int]) -> np.ndarray:
    """Sample the views of ``path`` from ``image`` bilinearly: TxHxWx3 float32, all frames at once."""
    h, w = size
    big_h, big_w = image.shape[:2]
    u = np.arange(w, dtype=np.float64)[None, None, :] - (w - 1) / 2
    v = np.arange(h, dtype=np.float64)[None, :, None] - (h - 1) / 2
    c = (np.cos(path.roll) * path.scale)[:, None, None]
    sn = (np.sin(path.roll) * path.scale)[:, None, None]
    x = np.clip(path.center[:, 0, None, None] + c * u - sn * v, 0, big_w - 1)
    y = np.clip(path.center[:, 1, None, None] + sn * u + c * v, 0, big_h - 1)
    x0 = np.minimum(x.astype(np.intp), max(big_w - 2, 0))
    y0 = np.minimum(y.astype(np.intp), max(big_h - 2, 0))
    fx = (x - x0).astype(np.float32)[..., None]
    fy = (y - y0).astype(np.float32)[..., None]
    dx = 1 if big_w > 1 else 0
    dy = big_w if big_h > 1 else 0
    flat = image.reshape(-1, image.shape[2]).astype(np.float32, copy=False)
    i00 = y0 * big_w + x0
    # np.take is several times faster than fancy indexing for row gathers like these.
    top = np.take(flat, i00, axis=0)
    top += (np.take(flat, i00 + dx, axis=0) - top) * fx
    bottom = np.take(flat, i00 + dy, axis=0)
    bottom += (np.take(flat, i00 + dy + dx, axis=0) - bottom) * fx
    top += (bottom - top) * fy
    return np.clip(top, 0.0, 1.0, out=top)


def synthesize_rain_clip(
    clean: np.ndarray,
    rng: np.random.Generator,
    level: str | None = None,
    frames: int = 9,
    size: tuple[int, int] | None = None,
    motion: CameraMotion | str = "random",
    camera_coupling: float = 0.5,
    styles: StyleChoice = None,
) -> RainClip:
    """Make a rainy clip of ``frames`` frames from one still image (HxWx3 float in [0, 1], or uint8).

    ``size`` is the (height, width) of the frames; ``None`` uses 85 % of the still's height and width,
    which leaves room for the camera to move at the still's own scale. ``motion`` is a
    :class:`CameraMotion`, ``"random"`` (draw one with :meth:`CameraMotion.random`) or ``"static"``.
    ``camera_coupling`` is how much of the camera's pan and shake the rain follows (0: rain falls
    straight down the frame whatever the camera does; 1: it moves with the scene as for a pure
    rotation). ``styles`` limits the styles drawn from (None: all of :data:`RAIN_STYLES`). Every frame
    satisfies the hybrid model exactly, like :func:`synthesize_rain`.
    """
    level = _check(clean, level, rng, "synthesize_rain_clip")
    allowed = check_styles(styles)
    if frames < 1:
        raise ValueError(f"a clip needs at least 1 frame, got {frames}")
    image = _as_float(clean)
    if size is None:
        size = (max(1, int(image.shape[0] * 0.85)), max(1, int(image.shape[1] * 0.85)))
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"clip frames need a positive size, got {size}")
    if min(image.shape[:2]) < 2:  # the camera's path needs room to look into; 1 px left it none (NaN moves)
        grow = [(0, max(0, 2 - n)) for n in image.shape[:2]] + [(0, 0)] * (image.ndim - 2)
        image = np.pad(image, grow, mode="edge")
    if isinstance(motion, str):
        if motion == "random":
            motion = CameraMotion.random(rng)
        elif motion == "static":
            motion = STATIC
        else:
            raise ValueError(f"unknown camera motion {motion!r}: use 'random', 'static' or a CameraMotion")
    path = _camera_path(rng, image.shape[:2], (h, w), frames, motion)
    backgrounds = _film(image, path, (h, w))
    # Content moves opposite to the view; rain near the lens follows part of that.
    shifts = -camera_coupling * path.shifts()
    scene = _make_scene(rng, level, h, w, backgrounds[0].reshape(-1, 3).mean(axis=0), shifts, allowed)
    radiance, occluded = _render(scene, h, w, frames)
    streak, alpha, reliance = _compose_maps(scene, backgrounds, radiance, occluded)
    rainy = apply_rain(backgrounds, streak, alpha, reliance)
    return RainClip(rainy, backgrounds, streak, alpha, reliance, level, scene.angle, motion, path, scene.styles)
