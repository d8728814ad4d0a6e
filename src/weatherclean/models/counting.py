"""Multiply-adds per pixel, counted from the convolutions a model actually runs.

Each family's ``macs_per_pixel`` (see :class:`~weatherclean.models.family.ModelFamily`) is this counter
with the forward call that family runs per picture, so ``models info``, the benchmarks and the
configuration tables count every family the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["count_macs"]

FusedCounter = Callable[[nn.Module, torch.Tensor], int]


def count_macs(
    model: nn.Module,
    forward: Callable[[torch.Tensor], object],
    size: int = 64,
    fused: tuple[tuple[type[nn.Module], ...], FusedCounter] | None = None,
) -> float:
    """Multiply-adds per input pixel of ``forward`` on a ``size``² black picture.

    Every ``nn.Conv2d`` that runs counts output elements × kernel taps × input channels per group.
    ``fused`` = (types, counter) is for modules that run their own convolutions' weights as one fused
    call (DesnowNet's pyramid heads): their ``Conv2d`` children never run, so such a module is counted
    by ``counter(module, its input)`` instead, and its children are skipped.
    """
    total = 0
    fused_types, fused_counter = fused if fused is not None else ((), None)
    skipped = {id(c) for m in model.modules() if isinstance(m, fused_types) for c in m.modules() if c is not m}

    def conv_hook(mod: nn.Module, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(mod, nn.Conv2d)
        kh, kw = mod.kernel_size
        total += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def fused_hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], _out: object) -> None:
        nonlocal total
        assert fused_counter is not None
        total += fused_counter(mod, inp[0])

    handles = [
        m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d) and id(m) not in skipped
    ]
    handles += [
        m.register_forward_hook(fused_hook)
        for m in model.modules()
        if isinstance(m, fused_types) and id(m) not in skipped  # a fused module inside another is its part
    ]
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    try:
        with torch.inference_mode():
            forward(torch.zeros(1, 3, size, size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total / float(size * size)
