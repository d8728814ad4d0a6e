#!/usr/bin/env python3
"""The pass-through gate's dilation as one k × k max-pool or as two 1-D passes, inside desnownet-light.

    python benchmarks/gate_pool.py

Times ``desnownet-light`` on a 1024 × 1024 picture with ``--precision auto``, alternating the two ways
of dilating the mask (``desnownet.square_max`` and the single ``max_pool2d`` it replaced), median of 7
runs each after a warm-up, and the dilation alone on a 1 MP mask. The outputs are checked identical.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from weatherclean.models import desnownet, load_model
from weatherclean.restore.precision import cpu_has_native_bf16


def one_pool(x: torch.Tensor, k: int) -> torch.Tensor:
    return F.max_pool2d(x, k, stride=1, padding=k // 2)


def main() -> None:
    torch.set_grad_enabled(False)
    model = load_model("desnownet-light", device="cpu", task="snow").eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 1024, 1024).contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_native_bf16())
    ways = {"two 1-D passes": desnownet.square_max, "one k × k max-pool": one_pool}
    times: dict[str, list[float]] = {name: [] for name in ways}
    outputs = {}
    with autocast:
        for _ in range(8):
            for name, way in ways.items():
                desnownet.square_max = way
                start = time.perf_counter()
                outputs[name] = model.restore(x)
                times[name].append(time.perf_counter() - start)
    desnownet.square_max = ways["two 1-D passes"]
    same = torch.equal(*outputs.values())
    mask = torch.rand(1, 1, 1024, 1024)
    for name, way in ways.items():
        way(mask, 7)
        start = time.perf_counter()
        for _ in range(10):
            way(mask, 7)
        alone = (time.perf_counter() - start) / 10
        print(f"{name}: model {statistics.median(times[name][1:]):.3f} s (median of 7), the 7 x 7 dilation alone "
              f"{1000 * alone:.0f} ms")  # fmt: skip
    print(f"outputs identical: {same}; bf16: {cpu_has_native_bf16()}")


if __name__ == "__main__":
    main()
