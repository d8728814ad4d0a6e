#!/usr/bin/env python3
"""Where desnow's CPU time went, and what each rewrite of its inner paths saved: the whole light model with
the paths it ran before, one rewrite at a time, and as it runs now.

    python benchmarks/desnow_paths.py                      # --precision auto (bf16 on CPUs with native bf16)
    python benchmarks/desnow_paths.py --precision fp32     # the path of CPUs without native bf16
    python benchmarks/desnow_paths.py --size 1024 --runs 9

Times ``desnownet-light`` (weights in the fast layout, as ``desnow`` loads it) on one ``--size``² picture,
default 768 (the tile ``desnow`` picks on a 24 GiB machine), in the NCHW layout the tiling engine hands
tiles over in, rotating through the ways below, median of
``--runs`` runs each after a warm-up. Every way computes the same maths; the table gives each one's largest
difference from the current code, in grey levels. The rewrites, each in :mod:`weatherclean.models.desnownet`:

* **fused heads**: the mask and aberration heads (pyramid maxouts) as one full-resolution convolution, the
  maximum over levels as element-wise maxima (``fused_maxout``); before, one convolution per head and an
  ``amax`` over a reshaped axis;
* **matched layouts**: tensors made by ``cat`` or arithmetic put in the channels-last layout of the weights
  before a full-resolution convolution (``devices.like_layout``); before, such inputs arrived NCHW and the
  convolution reordered them on every call;
* **running-max dilation**: the gate's 7 × 7 dilation of the mask as element-wise maxima of shifted views
  (``square_max``); before, two 1-D ``max_pool2d``s, slow on a one-channel map;
* **folded residual head**: the residual head's 7×7 kernel rearranged for the descriptor's folded
  (space-to-depth) features, so it runs at 1/4 resolution and the features are never unfolded
  (``DesnowNet._residual``, ``folded_kernel``); before, at full resolution with 3 outputs.

Run by hand on an otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from run_all import machine_line
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.models import desnownet, load_model
from weatherclean.restore.precision import resolve_precision


def separate_heads(f: torch.Tensor, *heads: desnownet.PyramidMaxout) -> list[torch.Tensor]:
    """The heads as they ran before: one convolution each, the level maximum by ``amax``."""
    outputs = []
    for head in heads:
        weight, bias = desnownet._stacked_kernels(head.convs)
        out = F.conv2d(f, weight, bias, padding=len(head.convs) - 1)
        b, _, h, w = out.shape
        outputs.append(head.act(out.view(b, len(head.convs), -1, h, w).amax(dim=1)))
    return outputs


def unmatched(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Layouts as they were before: nothing converted."""
    return t


def full_resolution_residual(model: desnownet.DesnowNet, inp: torch.Tensor) -> torch.Tensor:
    """The residual head as it ran before: its 7×7 kernel over the unfolded, full-resolution features."""
    return model.residual_head(model._features(model.rg_descriptor, inp))


#: The rewrites, each as (what it replaces, the attribute, the old path).
OLD: dict[str, tuple[object, str, Callable[..., torch.Tensor]]] = {
    "fused heads": (desnownet, "fused_maxout", separate_heads),
    "matched layouts": (desnownet, "like_layout", unmatched),
    "running-max dilation": (desnownet, "square_max", desnownet.pooled_square_max),
    "folded residual head": (desnownet.DesnowNet, "_residual", full_resolution_residual),
}
WAYS: dict[str, list[str]] = {  # a way → the rewrites it runs the old paths of
    "before (all four old paths)": list(OLD),
    **{f"only {name}": [other for other in OLD if other != name] for name in OLD},
    "now (all four)": [],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--residual-head", action="store_true", help="only the residual head alone, both ways")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    if args.residual_head:
        residual_head_alone(args.runs)
        return
    dtype = resolve_precision(args.precision, torch.device("cpu"))
    model = load_model("desnownet-light", device="cpu", task="snow").eval().to(memory_format=torch.channels_last)
    torch.manual_seed(0)
    x = torch.rand(1, 3, args.size, args.size)  # NCHW, as the tiling engine hands tiles over
    current = {name: getattr(owner, attr) for name, (owner, attr, _) in OLD.items()}
    times: dict[str, list[float]] = {name: [] for name in WAYS}
    outputs: dict[str, torch.Tensor] = {}
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        for run in range(args.runs + 1):
            for way, old_paths in WAYS.items():
                for name, (owner, attr, old_path) in OLD.items():
                    setattr(owner, attr, old_path if name in old_paths else current[name])
                start = time.perf_counter()
                outputs[way] = model.restore(x)
                if run:  # the first round is the warm-up
                    times[way].append(time.perf_counter() - start)
    for name, (owner, attr, _) in OLD.items():
        setattr(owner, attr, current[name])
    now = outputs["now (all four)"]
    setting = f"precision: {dtype or 'fp32'}, {args.size}x{args.size}, median of {args.runs}"
    print(f"machine: {machine_line('cpu')}; {setting}")
    print()
    print("| paths | seconds | MP/s | largest difference from now (grey levels) |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        seconds = statistics.median(ts)
        diff = 255 * (outputs[name] - now).abs().max().item()
        print(f"| {name} | {seconds:.3f} | {args.size**2 / 1e6 / seconds:.2f} | {diff:.3f} |")
    print()
    mask = torch.rand(1, 1, 1024, 1024)
    same = torch.equal(desnownet.pooled_square_max(mask, 7), current["running-max dilation"](mask, 7))
    print(f"The gate's 7 x 7 dilation alone on a 1024 x 1024 mask (fp32, median of {args.runs}; identical: {same}):")
    print()
    print("| dilation | ms |")
    print("|---|---|")
    for name, way in (
        ("two 1-D max-pools (before)", desnownet.pooled_square_max),
        ("running maxima (now)", current["running-max dilation"]),
    ):
        print(f"| {name} | {1000 * median_seconds(lambda way=way: way(mask, 7), args.runs):.1f} |")


def residual_head_alone(runs: int) -> None:
    """The residual head alone (23 inputs, 3 outputs, as in ``desnownet-light``) on a 512² picture, bf16
    autocast where the CPU has native bf16, at full resolution and folded, for the strides and kernels a
    configuration can have: the measurement behind ``PyramidSum.folding_pays``."""
    dtype = resolve_precision("auto", torch.device("cpu"))
    setting = f"residual head alone, 512x512, precision {dtype or 'fp32'}, median of {runs}"
    print(f"machine: {machine_line('cpu')}; {setting}")
    print()
    print("| stride | kernel | folded multiply-adds (x full) | full resolution (ms) | folded (ms) | folds |")
    print("|---|---|---|---|---|---|")
    for stride, levels in ((2, 4), (4, 4), (8, 4), (4, 2), (4, 1), (4, 5)):
        head = desnownet.PyramidSum(23, 3, levels).eval().to(memory_format=torch.channels_last)
        f = torch.rand(1, 23, 512, 512).contiguous(memory_format=torch.channels_last)
        folded = F.pixel_unshuffle(f, stride).contiguous(memory_format=torch.channels_last)
        k = 2 * levels - 1
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            full = median_seconds(lambda head=head, f=f: head(f), runs)
            fold = median_seconds(lambda head=head, folded=folded, s=stride: head(folded, s), runs)
        times = f"{1000 * full:.1f} | {1000 * fold:.1f}"
        print(f"| {stride} | {k}x{k} | {head.folding_cost(stride):.1f} | {times} | {head.folding_pays(stride)} |")


if __name__ == "__main__":
    main()
