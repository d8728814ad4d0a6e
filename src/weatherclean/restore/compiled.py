"""Opt-in ``torch.compile`` for long runs: faster per tile, after a compile that costs up to a minute.

On the 2-core reference CPU, inductor runs ``j4rnet-light`` 1.34–1.49× faster than eager mode and
``desnownet-light`` about 1.05× (``python benchmarks/ways.py``), but compiling takes about 10 s and
35–50 s the first time a picture shape is seen, so it pays off only on long videos: ``--compile`` asks
for it, nothing turns it on by itself. Compiling needs a working C++ compiler
and a backend that supports the device; when it fails (no compiler on a laptop, an operator inductor
cannot handle) the run goes on eagerly, with a note, rather than stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from weatherclean.errors import one_line
from weatherclean.models.family import RecurrentModel, RestorationModel
from weatherclean.restore.tiling import is_out_of_memory

__all__ = ["CompiledCall", "compile_model"]


class CompiledCall:
    """``fn`` compiled, falling back to ``fn`` itself for good if compiling or running it compiled fails.

    Out-of-memory errors are not failures of the compiler: they propagate, so the tiling engine can
    halve the tile as it does in eager mode. Any other exception from the compiled path switches to
    eager mode; if the cause was the model itself, the eager call raises it again, unchanged.
    """

    def __init__(self, fn: Callable[..., Any], *, backend: str = "inductor") -> None:
        self.eager = fn
        self.compiled: Callable[..., Any] = fn
        self.failure: str | None = None
        try:  # some Python/PyTorch pairs refuse at once ("Dynamo is not supported on Python 3.12+")
            self.compiled = torch.compile(fn, backend=backend)
        except Exception as exc:  # noqa: BLE001 - the run goes on uncompiled
            self.failure = one_line(exc)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.failure is None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - compiler errors have no common type
                if is_out_of_memory(exc):
                    raise
                self.failure = one_line(exc)
        return self.eager(*args, **kwargs)


def compile_model(model: RestorationModel, *, backend: str = "inductor") -> CompiledCall:
    """Compile the model's entry point in place and return the wrapper (its ``failure`` is for notes).

    Recurrent models (with ``step``) get ``step`` compiled, which their ``restore`` calls too; others get
    ``restore``. Only one entry point is compiled, so a compiled function never calls another one.
    """
    if isinstance(model, RecurrentModel):
        call = CompiledCall(model.step, backend=backend)
        model.step = call  # type: ignore[method-assign]  # an instance attribute: shadows the method here only
    else:
        call = CompiledCall(model.restore, backend=backend)
        model.restore = call  # type: ignore[method-assign]
    return call
