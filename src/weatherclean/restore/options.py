"""The values restoration's options take, kept free of PyTorch so that ``--help`` can name them."""

from __future__ import annotations

__all__ = ["PRECISIONS"]

#: ``--precision`` values; :func:`weatherclean.restore.precision.resolve_precision` says what each means.
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
