"""Restoration: one model over pictures and clips, tiled, in guarded precision, optionally compiled.

:func:`load_restorer` and :class:`Restorer` (:mod:`.restorer`) are the public API; the pieces they put
together each live in their own module: :mod:`.tiling` (the tiling engine), :mod:`.precision` (the
fp16/bf16 guard), :mod:`.recurrent` (memory per tile position across frames), :mod:`.compiled`
(``torch.compile`` with an eager fallback). The public names are imported on first use (PEP 562), so
that :mod:`.options` (what ``--help`` shows) is importable without PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weatherclean.restore.restorer import MIN_OVERLAP, ClipRestorer, Restorer, load_restorer

__all__ = ["MIN_OVERLAP", "ClipRestorer", "Restorer", "load_restorer"]


def __getattr__(name: str) -> Any:
    """A public name from :mod:`.restorer`, imported when first asked for."""
    if name not in __all__:
        raise AttributeError(f"module 'weatherclean.restore' has no attribute {name!r}")
    value = getattr(importlib.import_module("weatherclean.restore.restorer"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
