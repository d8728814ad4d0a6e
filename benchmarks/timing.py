"""Timing helpers shared by the scripts in benchmarks/ (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(
    fn: Callable[[], object], repeat: int, *, warmup: bool = True, setup: Callable[[], object] | None = None
) -> float:
    """Median wall time of ``repeat`` calls; the median shrugs off the odd call another process slowed.

    ``warmup`` runs ``fn`` once first, untimed: oneDNN picks and caches its kernels on the first call.
    ``setup`` runs before every call, untimed: for ``fn`` that writes over its own input.
    """
    if warmup:
        if setup is not None:
            setup()
        fn()
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
