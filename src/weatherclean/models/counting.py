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


def count_macs(model: nn.Module, forward: Callable[[torch.Tensor], object], size: int = 64) -> float:
    """Multiply-adds per input pixel of ``forward`` on a ``size``² black picture.

    Every convolution that runs counts output elements × kernel taps × input channels per group, whether
    a ``Conv2d`` module runs it or the model calls ``F.conv2d`` with weights it assembled (DesnowNet's
    heads run several modules' kernels as one convolution). Why PyTorch's ``FlopCounterMode`` and not
    module hooks: it sees the operations that actually run, so a fused or functional convolution is
    counted as it runs and a module whose weights are only read is not counted at all.
    """
    from torch.utils.flop_counter import FlopCounterMode  # only `models info` and the benchmarks count

    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    # no_grad, not inference_mode: under inference_mode the counter sees aten.conv2d, which PyTorch
    # releases older than late 2024 do not count (pyproject allows 2.2). No convolution: no "Global".
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        forward(torch.zeros(1, 3, size, size, device=device))
    counts = counter.get_flop_counts().get("Global", {})
    flops = sum(n for op, n in counts.items() if "convolution" in str(op))
    return flops / 2 / float(size * size)  # the counter counts a multiply-add as two operations
