"""Deprecated: 0.1.0's ``weatherclean.inference``, kept so that scripts written for 0.1.0 still import.

0.1.0 had tiling and the batch runner here; they now live in :mod:`weatherclean.restore.tiling` (``run_tiled``,
``choose_tile``) and :mod:`weatherclean.batch` (``plan_jobs``, ``run_batch``, ``Job``, ``Plan``, ``Record``,
``BatchSummary``, ``default_output``): the functions keep 0.1.0's positional parameters and defaults (new ones
are keyword arguments), and the dataclasses 0.1.0's fields, among new ones: build them with keywords. This
module re-exports 0.1.0's names from there
and warns once (``DeprecationWarning``) naming the new imports. It is a module, not 0.1.0's package:
``weatherclean.inference.runner`` and ``weatherclean.inference.tiling`` are gone (docs/api.md maps every name).

Why lazy (PEP 562): the names are looked up when asked for, so the warning points at the caller's import line
(Python shows a ``DeprecationWarning`` only for code run as ``__main__`` unless asked to), and importing this
module costs nothing until a name is used.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from weatherclean._lazy import lazy_exports

if TYPE_CHECKING:
    from weatherclean.batch import BatchSummary, Job, Plan, Record, default_output, plan_jobs, run_batch
    from weatherclean.restore.tiling import choose_tile, run_tiled

#: 0.1.0's public names, and the module each lives in now.
MOVED: dict[str, str] = {
    "run_tiled": "weatherclean.restore.tiling",
    "choose_tile": "weatherclean.restore.tiling",
    "plan_jobs": "weatherclean.batch",
    "run_batch": "weatherclean.batch",
    "Job": "weatherclean.batch",
    "Plan": "weatherclean.batch",
    "Record": "weatherclean.batch",
    "BatchSummary": "weatherclean.batch",
    "default_output": "weatherclean.batch",
}

#: Written out, not ``sorted(MOVED)``: the package is typed (py.typed), and type checkers (pyright) take a library's
#: exports only from a literal ``__all__``; tests/test_upgrade_findings.py checks that it lists MOVED's names.
__all__ = [
    "BatchSummary",
    "Job",
    "Plan",
    "Record",
    "choose_tile",
    "default_output",
    "plan_jobs",
    "run_batch",
    "run_tiled",
]

_warned = False


def _message(name: str) -> str:
    """One line: the new import of ``name``, then where the others went."""
    homes: dict[str, list[str]] = {}
    for other, module in MOVED.items():
        homes.setdefault(module, []).append(other)
    rest = "; ".join(f"{', '.join(names)} from {module}" for module, names in homes.items())
    return (
        f"weatherclean.inference is deprecated and will be removed: use 'from {MOVED[name]} import {name}' "
        f"(0.1.0's names now: {rest})"
    )


_lookup, _names = lazy_exports(__name__, MOVED, globals())


def __getattr__(name: str) -> Any:
    """0.1.0's name from its new home (:func:`weatherclean._lazy.lazy_exports`, as the packages' own lazy names);
    the first one asked for warns (once per process: one script, one warning, which names every new import)."""
    global _warned
    if name in MOVED and not _warned:
        _warned = True
        warnings.warn(_message(name), DeprecationWarning, stacklevel=2)
    return _lookup(name)


__dir__ = _names
