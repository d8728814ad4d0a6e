#!/usr/bin/env python3
"""What the picture gate costs on top of the model: measuring the share of strongly darkened pixels over a
whole photo, and blending when the strength falls between 0 and 1.

    python benchmarks/picture_gate.py                   # 12 megapixels (4000 x 3000), float32 and uint8
    python benchmarks/picture_gate.py --size 6000x4000 --runs 9

Times :func:`~weatherclean.restore.picture_gate.strong_share` and
:func:`~weatherclean.restore.picture_gate.apply_picture_gate` on a synthetic picture and a darkened copy
(no model runs: the gate reads only the two arrays), median of ``--runs`` runs after a warm-up, for the
three outcomes: the whole correction kept (measure only), the picture returned unchanged (measure and copy
back) and a blend. Compare with the model's own time on the same photo (``benchmarks/run_all.py --only
desnow``). Run by hand on an otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse

import numpy as np
from run_all import machine_line
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.restore.picture_gate import apply_picture_gate, strong_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT (default: 12 megapixels)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    before = rng.random((height, width, 3), dtype=np.float32)
    after = np.clip(before - 0.1 * rng.random((height, width, 3), dtype=np.float32), 0, 1)
    share = strong_share(before, after)
    print(machine_line("cpu"))
    print(f"{width}x{height} ({width * height / 1e6:.1f} MP); share of strong changes {share:.3f}")
    print("| pixels | outcome | seconds (median) | MP/s |")
    print("|---|---|---|---|")
    for dtype in (np.float32, np.uint8):
        b, a = (before, after) if dtype == np.float32 else (np.rint(x * 255).astype(np.uint8) for x in (before, after))
        s = strong_share(b, a)
        scratch = np.empty_like(a)
        for outcome, floor in (("whole correction", s / 4), ("unchanged", s * 2), ("blend", s / 1.5)):
            # The gate writes over the model's output, so a fresh copy of it goes in before each run, untimed.
            seconds = median_seconds(
                lambda b=b, out=scratch, floor=floor: apply_picture_gate(b, out, floor), args.runs,
                setup=lambda a=a, out=scratch: np.copyto(out, a),
            )  # fmt: skip
            name = np.dtype(dtype).name
            print(f"| {name} | {outcome} | {seconds:.3f} | {width * height / 1e6 / seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
