"""weatherclean: remove snow and rain from photos and videos.

``from weatherclean import load_restorer`` is the Python API (docs/api.md). It is loaded on first use,
not on ``import weatherclean``: the command line imports this package first, and ``weatherclean
--version`` must not pay for importing PyTorch. The errors it raises (``WeathercleanError`` and its
subclasses) come from :mod:`weatherclean.errors`, which needs nothing but the standard library, so a
caller's ``except weatherclean.ModelError`` never loads a model stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weatherclean._lazy import lazy_exports

__version__ = "0.2.0.dev0"

_ERRORS = (
    "Cancelled", "DatasetError", "DiskFullError", "InputError", "ModelError", "OutOfMemoryError", "OutputError",
    "WeathercleanError",
)  # fmt: skip
__all__ = [*_ERRORS, "Restorer", "__version__", "load_restorer"]

if TYPE_CHECKING:
    from weatherclean.errors import (  # noqa: F401
        Cancelled,
        DatasetError,
        DiskFullError,
        InputError,
        ModelError,
        OutOfMemoryError,
        OutputError,
        WeathercleanError,
    )
    from weatherclean.restore.restorer import Restorer, load_restorer

#: Public names loaded lazily, and the module each comes from.
_LAZY = {"Restorer": "weatherclean.restore.restorer", "load_restorer": "weatherclean.restore.restorer"}
_LAZY.update(dict.fromkeys(_ERRORS, "weatherclean.errors"))

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
