"""Public names a package imports on first use (PEP 562).

The command line imports ``weatherclean`` and its subpackages to build its help, and ``weatherclean
--version`` must not pay seconds for PyTorch, NumPy or SciPy: the packages that re-export heavy modules
(``weatherclean``, ``models``, ``restore``, ``synth``) name them here and import them when first asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, sources: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__``: ``sources`` maps each public name to its module.

    The first lookup imports the module and stores the value in ``namespace`` (the package's
    ``globals()``), so later lookups never come back here.
    """

    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *sources})  # a name already loaded is in both: listed once

    return __getattr__, __dir__
