"""Re-toned backgrounds: bright, lifted and flat scenes that carry no weather.

Why: heavy rain's accumulation brightens a picture and flattens its contrast, and a model trained on
ordinary backgrounds learns the shortcut "bright and flat means rain": the rain model shipped in
round 6 darkened dry photos by up to 23 grey levels once they were brighter or flatter than the
training photos (a probe on the tuning photos, docs/model-history.md "Round 12 (rain)"). Re-toning a share
of the clean backgrounds *before* the weather is added removes the shortcut: the re-toned picture is
the ground truth, so brightness and flatness alone are never weather, and the model has to find
rain in the streaks and snow in the flakes.

Three tone changes, one drawn per picture, each a look real photos have:

- *exposure*: brighter by 1.1-1.6x, clipped (over-exposed skies and snowfields);
- *gamma*: shadows lifted by a gamma of 0.45-0.85 (phone pictures, HDR tone mapping);
- *lift*: a scene haze, mixed towards a light grey of 0.6-1.0 by 10-40 % (mist, overcast distance),
  tinted a little, as a veil of the weather would be, but here it is the scene.

Where the haze may go (``tone_haze``): on any re-toned background (``"all"``, rounds 12-15), or only
on the backgrounds that stay without weather (``"dry"``). A haze towards light grey is exactly the
accumulation term of both models (the veil alpha*A of rain's hybrid model, snow's veil), so a hazed
ground truth *under* rain tells the model to leave part of the accumulation it is asked to remove
elsewhere: the same pixels with two answers. With ``"dry"`` the haze teaches "a hazy scene without
weather stays", and exposure and gamma, which no weather term looks like, still go under the weather.
"""

from __future__ import annotations

import numpy as np

from weatherclean.errors import DatasetError

#: The tone changes; a random draw picks one by its index, so the order is part of every seed's samples.
TONES = ("exposure", "gamma", "lift")
#: The tone changes a background that gets weather may have with ``tone_haze="dry"``: all but the haze.
WEATHER_TONES = ("exposure", "gamma")
#: Where the haze ("lift") tone may go: on any re-toned background, or only on those left dry.
TONE_HAZE = ("all", "dry")


def check_tone_fraction(value: float) -> None:
    """``tone_fraction`` is a probability (1 allowed: every background re-toned)."""
    if not 0.0 <= value <= 1.0:
        raise DatasetError(f"tone fraction {value} must be between 0 and 1")


def check_tone_haze(value: str) -> None:
    """``tone_haze`` is one of :data:`TONE_HAZE`."""
    if value not in TONE_HAZE:
        raise DatasetError(f"unknown tone haze {value!r}: use one of {', '.join(TONE_HAZE)}")


def tone_kinds(tone_haze: str, dry: bool | None) -> tuple[str, ...]:
    """The tone changes an item may get: all of them, unless ``tone_haze`` is ``"dry"`` and the item
    gets weather (``dry`` False)."""
    return WEATHER_TONES if tone_haze == "dry" and dry is False else TONES


def draw_dry_first(
    rng: np.random.Generator, clean_fraction: float, tone_haze: str, *, early: bool = False
) -> bool | None:
    """Whether an item stays without weather, drawn *before* its tone and crop when either depends on it
    (``tone_haze="dry"``, or ``early``: hard-negative crops, :mod:`weatherclean.data.negatives`, which
    depend on it only when some items stay dry); None otherwise, and the datasets draw it after the
    weather as before, so runs with neither keep their samples for the same seed."""
    if tone_haze == "dry" or (early and clean_fraction > 0):
        return bool(rng.random() < clean_fraction)
    return None


def stays_dry(rng: np.random.Generator, clean_fraction: float, drawn: bool | None) -> bool:
    """Whether an item stays without weather: as :func:`draw_dry_first` drew it, or drawn now, after the
    weather (the order of the draws before ``tone_haze`` existed)."""
    return drawn if drawn is not None else bool(rng.random() < clean_fraction)


def retone(
    rng: np.random.Generator, patch: np.ndarray, kind: str | None = None, kinds: tuple[str, ...] = TONES
) -> np.ndarray:
    """``patch`` (H x W x 3 float in [0, 1]) with one tone change, float32 in [0, 1]: ``kind`` (one of
    :data:`TONES`), or one drawn at random from ``kinds``."""
    if not np.issubdtype(patch.dtype, np.floating):  # uint8 times 1.3 would wrap, and clip to white
        raise DatasetError(f"retone needs a float picture in [0, 1], got {patch.dtype}")
    if kind is None:
        kind = kinds[int(rng.integers(0, len(kinds)))]
    elif kind not in TONES:
        raise DatasetError(f"unknown tone {kind!r}: use one of {', '.join(TONES)}")
    if kind == "exposure":
        out = patch * float(rng.uniform(1.1, 1.6))
    elif kind == "gamma":
        out = np.power(np.clip(patch, 0.0, 1.0), float(rng.uniform(0.45, 0.85)))
    else:
        share = float(rng.uniform(0.1, 0.4))
        grey = float(rng.uniform(0.6, 1.0)) * (1.0 + rng.uniform(-0.04, 0.04, size=3))
        out = (1.0 - share) * patch + share * grey
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


def maybe_retone(
    rng: np.random.Generator, patch: np.ndarray, fraction: float, kinds: tuple[str, ...] = TONES
) -> np.ndarray:
    """``patch`` re-toned with probability ``fraction``, by one of ``kinds``. With 0 no random number is
    drawn, so datasets made before this option existed give the same samples for the same seed; any
    fraction above 0 takes one more draw per item, so the weather drawn after it differs from a
    fraction-0 run's, for items left as they are too."""
    if fraction <= 0.0 or rng.random() >= fraction:
        return patch
    return retone(rng, patch, kinds=kinds)
