"""The names of the synthesis levels and styles, without NumPy or SciPy, for ``--help`` and option checks.

Each style's parameters live with its generator (:mod:`.snow`, :mod:`.rain`), which takes its names and
their order (the order seeds follow) from here; ``tests/test_startup.py`` checks that the two agree.
"""

from __future__ import annotations

__all__ = ["RAIN_LEVELS", "RAIN_STYLES", "SNOW_LEVELS", "SNOW_STYLES"]

#: Density levels named after Snow100K-S/M/L (light, medium, heavy snow).
SNOW_LEVELS: tuple[str, ...] = ("S", "M", "L")
#: The snow particle models, in the order their seeds are numbered.
SNOW_STYLES: tuple[str, ...] = ("discs", "flakes", "streaks", "bokeh", "specks")
#: Rain levels, named after RainSynLight25 (light) and RainSynComplex25 (heavy).
RAIN_LEVELS: tuple[str, ...] = ("light", "heavy")
#: The rain styles, in the order their seeds are numbered.
RAIN_STYLES: tuple[str, ...] = ("lines", "wide", "crossing", "drizzle", "lens", "downpour")
