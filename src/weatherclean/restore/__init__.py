"""Restoration: one model over pictures and clips, tiled, in guarded precision, optionally compiled.

:func:`load_restorer` and :class:`Restorer` (:mod:`.restorer`) are the public API; the pieces they put
together each live in their own module: :mod:`.tiling` (the tiling engine), :mod:`.precision` (the
fp16/bf16 guard), :mod:`.recurrent` (memory per tile position across frames), :mod:`.compiled`
(``torch.compile`` with an eager fallback), :mod:`.protocols` (what the batch runner needs of a clip
restorer, torch-free). The public names are imported on first use (PEP 562), so
that :mod:`.options` (what ``--help`` shows) is importable without PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weatherclean._lazy import lazy_exports

if TYPE_CHECKING:
    from weatherclean.restore.protocols import ClipRestorer
    from weatherclean.restore.restorer import (
        MIN_OVERLAP,
        Restorer,
        load_restorer,
        with_pass_through,
        with_self_ensemble,
    )

__all__ = ["MIN_OVERLAP", "ClipRestorer", "Restorer", "load_restorer", "with_pass_through", "with_self_ensemble"]


__getattr__, __dir__ = lazy_exports(
    __name__,
    {**dict.fromkeys(__all__, "weatherclean.restore.restorer"), "ClipRestorer": "weatherclean.restore.protocols"},
    globals(),
)
