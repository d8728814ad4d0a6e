#!/usr/bin/env python3
"""Before/after contact sheet and numbers for rain models on real rainy video frames (no ground truth).

    python scripts/real_rain_sheet.py ../shared/data/real/rain_video_frames/frames runs/real_rain.jpg \\
        bundled=src/weatherclean/weights/j4rnet-light new=runs/r13-all-s2/model@0.02

The frames run in order as one clip, each model's memory carried from frame to frame as ``derain``
does. The sheet has one row per shown frame (``--show``, 1-based): the input, then each model's output.
Printed per shown frame and model: the mean change of each colour channel in grey levels (negative:
darker; the blue drop shows as a larger fall in B), the share of fine detail kept (mean gradient
magnitude of the output over the input's), the share of pixels changed by more than 8 grey levels, and
the largest green excess of the change, G minus the mean of R and B (output minus input) at its 99.9th
percentile: the green stripe of docs/models.md reads 20–30 levels there, a clean result a few. The
frames come from ../shared and so does the sheet: it stays out of the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import read_rgb
from weatherclean.io.media import list_frames

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pictures import save_jpeg, sheet, shrink  # noqa: E402
from real_snow_sheet import change_cells  # noqa: E402
from score_snow_styles import load_candidates  # noqa: E402


def green_excess(before: np.ndarray, after: np.ndarray) -> float:
    """99.9th percentile of the change's green excess, in grey levels (the stripe's signature)."""
    change = 255.0 * (after.astype(np.float64) - before)
    excess = change[..., 1] - 0.5 * (change[..., 0] + change[..., 2])
    return float(np.percentile(excess, 99.9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frames", type=Path, help="a folder of frames, in name order")
    parser.add_argument("sheet", type=Path)
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL[@T[/V]]")
    parser.add_argument("--show", type=int, nargs="+", default=[1, 8, 15], help="frames in the sheet (1-based)")
    parser.add_argument("--width", type=int, default=480, help="width of each panel in the sheet")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    frames = [read_rgb(p) for p in list_frames(args.frames)]
    if not any(1 <= i <= len(frames) for i in args.show):
        raise SystemExit(f"{args.frames}: {len(frames)} frames directly inside; --show {args.show} picks none of them")
    runners = {label: r.new_clip() for label, r in load_candidates(args.candidates, task="rain").items()}
    rows = []
    print("| frame | model | mean change R/G/B (levels) | detail kept | pixels changed > 8 levels | green excess |")
    print("|---|---|---|---|---|---|")
    for index, frame in enumerate(frames, start=1):
        outputs = {label: run(frame) for label, run in runners.items()}  # every frame, so memory carries
        if index not in args.show:
            continue
        row = [shrink(frame, args.width)]
        for label, out in outputs.items():
            cells = change_cells(frame, out)
            print(f"| {index} | {label} | {cells} | {green_excess(frame, out):.1f} |", flush=True)
            row.append(shrink(out, args.width))
        rows.append(row)
    save_jpeg(sheet(rows), args.sheet, max_bytes=4_000_000)


if __name__ == "__main__":
    main()
