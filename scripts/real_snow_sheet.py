#!/usr/bin/env python3
"""Before/after contact sheet and numbers for snow models on real snowy photos (which have no ground truth).

    python scripts/real_snow_sheet.py ../shared/data/real/snow_photos/images runs/real_snow.jpg \\
        bundled=src/weatherclean/weights/desnownet-light new=runs/snow12-all/model

Writes one row per photo (input, then each model's output) to the JPEG, and prints per photo and model:
the mean change of each colour channel in grey levels (negative: darker), the share of fine detail kept
(mean gradient magnitude of the output over the input's: below 100 % the picture got softer, which
removing flakes also does a little), and the share of pixels changed by more than 8 grey levels (how
much of the picture the model touched). The photos and the sheet come from ../shared and stay out of
the repository; the sheet is for looking, the numbers go into docs/models.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import list_images, read_rgb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pictures import save_jpeg, sheet, shrink  # noqa: E402
from score_snow_styles import load_candidates  # noqa: E402


def detail(image: np.ndarray) -> float:
    grey = image.mean(axis=2)
    gy, gx = np.gradient(grey)
    return float(np.hypot(gx, gy).mean())


def change_cells(before: np.ndarray, after: np.ndarray) -> str:
    """Table cells for what a model did to a picture without ground truth: the mean change per colour
    channel in grey levels, the share of fine detail kept, and the share of pixels changed by > 8 levels."""
    shift = 255.0 * (after.astype(np.float64) - before).reshape(-1, 3).mean(axis=0)
    kept = 100.0 * detail(after) / max(detail(before), 1e-9)
    touched = 100.0 * float((np.abs(after - before).max(axis=2) > 8 / 255).mean())
    return "/".join(f"{s:+.1f}" for s in shift) + f" | {kept:.1f} % | {touched:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("sheet", type=Path)
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL[@T]")
    parser.add_argument("--width", type=int, default=480, help="width of each panel in the sheet")
    args = parser.parse_args()
    photos = list_images(args.photos)
    if not photos:
        raise SystemExit(f"{args.photos}: no photos in this folder")
    torch.set_grad_enabled(False)
    models = load_candidates(args.candidates)
    rows = []
    print("| photo | model | mean change R/G/B (levels) | detail kept | pixels changed > 8 levels |")
    print("|---|---|---|---|---|")
    for path in photos:
        image = read_rgb(path)
        row = [shrink(image, args.width)]
        for label, restorer in models.items():
            out = restorer.restore(image)
            print(f"| {path.stem} | {label} | {change_cells(image, out)} |", flush=True)
            row.append(shrink(out, args.width))
        rows.append(row)
    save_jpeg(sheet(rows), args.sheet, max_bytes=4_000_000)


if __name__ == "__main__":
    main()
