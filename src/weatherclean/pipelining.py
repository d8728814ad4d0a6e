"""The one switch for overlapping decoding, the model and encoding in threads (on unless turned off).

Photos in a batch (:mod:`weatherclean.batch.run`) and frames in a video (:mod:`weatherclean.io.video`)
are decoded and encoded in worker threads while the model computes; the output bytes are the same
either way. ``WEATHERCLEAN_PIPELINE=0`` runs everything in turn on one thread: for measuring what the
overlap buys (``benchmarks/pipeline.py``) and for ruling it out when chasing a problem.
"""

from __future__ import annotations

import os

__all__ = ["PIPELINE_ENV", "pipeline_enabled"]

#: Set to 0 (or off, false, no) to run decode, model and encode in turn on one thread.
PIPELINE_ENV = "WEATHERCLEAN_PIPELINE"


def pipeline_enabled() -> bool:
    """Whether to overlap decode, model and encode in threads (read at each batch or video, not at import)."""
    return os.environ.get(PIPELINE_ENV, "1").strip().lower() not in ("0", "off", "false", "no")
