"""Synthetic weather on clean photos, for training and docs: snow (DesnowNet's image model) and rain
(J4R-Net's hybrid rain model, in still images and in clips with camera motion)."""

from weatherclean.synth.rain import (
    LEVEL_PARAMS,
    RAIN_LEVELS,
    CameraMotion,
    CameraPath,
    RainClip,
    RainLevel,
    RainSample,
    apply_rain,
    rain_components,
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

__all__ = [
    "LEVEL_PARAMS",
    "RAIN_LEVELS",
    "SNOW_LEVELS",
    "SNOW_STYLES",
    "CameraMotion",
    "CameraPath",
    "RainClip",
    "RainLevel",
    "RainSample",
    "SnowSample",
    "apply_rain",
    "apply_snow",
    "rain_components",
    "snow_mask_and_aberration",
    "synthesize_rain",
    "synthesize_rain_clip",
    "synthesize_snow",
]
