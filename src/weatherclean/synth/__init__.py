"""Synthetic weather: snow (DesnowNet's image model) on clean photos, for training and docs."""

from weatherclean.synth.snow import (
    LEVEL_DENSITIES,
    SNOW_LEVELS,
    SnowSample,
    apply_snow,
    snow_mask_and_aberration,
    synthesize_snow,
)

__all__ = [
    "LEVEL_DENSITIES",
    "SNOW_LEVELS",
    "SnowSample",
    "apply_snow",
    "snow_mask_and_aberration",
    "synthesize_snow",
]
