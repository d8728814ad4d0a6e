"""Restoration: one model over pictures and clips, tiled, in guarded precision, optionally compiled.

:func:`load_restorer` and :class:`Restorer` (:mod:`.restorer`) are the public API; the pieces they put
together each live in their own module: :mod:`.tiling` (the tiling engine), :mod:`.precision` (the
fp16/bf16 guard), :mod:`.recurrent` (memory per tile position across frames), :mod:`.compiled`
(``torch.compile`` with an eager fallback).
"""

from weatherclean.restore.restorer import MIN_OVERLAP, ClipRestorer, Restorer, load_restorer

__all__ = ["MIN_OVERLAP", "ClipRestorer", "Restorer", "load_restorer"]
