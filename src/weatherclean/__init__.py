"""weatherclean: remove snow and rain from photos and videos.

``from weatherclean import load_restorer`` is the Python API (docs/api.md). It is loaded on first use,
not on ``import weatherclean``: the command line imports this package first, and ``weatherclean
--version`` must not pay for importing PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Restorer", "__version__", "load_restorer"]

if TYPE_CHECKING:
    from weatherclean.restore.restorer import Restorer, load_restorer

#: Public names loaded lazily, and the module each comes from.
_LAZY = {"Restorer": "weatherclean.restore.restorer", "load_restorer": "weatherclean.restore.restorer"}


def __getattr__(name: str) -> Any:
    """``weatherclean.load_restorer`` and ``weatherclean.Restorer``, imported when first asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'weatherclean' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
