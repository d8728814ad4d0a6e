"""Synthetic weather on clean photos, for training and docs: snow (DesnowNet's image model) and rain
(J4R-Net's hybrid rain model, in still images and in clips with camera motion).

The names below are imported on first use (PEP 562): :mod:`.names` (levels and styles, for ``--help``)
is importable without NumPy and SciPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weatherclean._lazy import lazy_exports

if TYPE_CHECKING:
    from weatherclean.synth.rain import (
        LEVEL_PARAMS,
        RAIN_LEVELS,
        RAIN_STYLES,
        CameraMotion,
        CameraPath,
        RainClip,
        RainLevel,
        RainMaps,
        RainSample,
        apply_rain,
        rain_components,
        rain_maps,
        synthesize_rain,
        synthesize_rain_clip,
    )
    from weatherclean.synth.snow import (
        SNOW_LEVELS,
        SNOW_STYLES,
        SnowSample,
        apply_snow,
        snow_mask_and_aberration,
        synthesize_snow,
    )

#: Public names, and the module each comes from.
_LAZY = {
    **dict.fromkeys(
        (
            "LEVEL_PARAMS",
            "RAIN_LEVELS",
            "RAIN_STYLES",
            "CameraMotion",
            "CameraPath",
            "RainClip",
            "RainLevel",
            "RainMaps",
            "RainSample",
            "apply_rain",
            "rain_components",
            "rain_maps",
            "synthesize_rain",
            "synthesize_rain_clip",
        ),
        "weatherclean.synth.rain",
    ),
    **dict.fromkeys(
        ("SNOW_LEVELS", "SNOW_STYLES", "SnowSample", "apply_snow", "snow_mask_and_aberration", "synthesize_snow"),
        "weatherclean.synth.snow",
    ),
}

__all__ = [
    "LEVEL_PARAMS",
    "RAIN_LEVELS",
    "RAIN_STYLES",
    "SNOW_LEVELS",
    "SNOW_STYLES",
    "CameraMotion",
    "CameraPath",
    "RainClip",
    "RainLevel",
    "RainMaps",
    "RainSample",
    "SnowSample",
    "apply_rain",
    "apply_snow",
    "rain_components",
    "rain_maps",
    "snow_mask_and_aberration",
    "synthesize_rain",
    "synthesize_rain_clip",
    "synthesize_snow",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
