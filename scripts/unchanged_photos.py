#!/usr/bin/env python3
"""Per photo: what snow or rain models do to pictures without weather (PSNR-Y against the input, mean shift).

    python scripts/unchanged_photos.py snow bundled=desnownet-light --photos data/snow/heldout_clean
    python scripts/unchanged_photos.py rain bundled=j4rnet-wide r20=runs/r20/model@0.03/0.04

``score_snow_styles.py`` and ``score_rain_styles.py`` report the mean and the worst photo; this names
each photo, worst first for the first model, so the docs can say which photo misses issue 12 and 13's
40 dB and by how much. Models as ``LABEL=MODEL[@T[/V]]`` (``score_snow_styles.py``'s syntax), in fp32
on the CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from score_snow_styles import load_candidates, unchanged  # noqa: E402

from weatherclean.data.images import list_images, read_rgb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["snow", "rain"])
    parser.add_argument("models", nargs="+", help="LABEL=MODEL[@T[/V]]")
    parser.add_argument("--photos", type=Path, default=ROOT / "data/snow/heldout_clean")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    paths = list_images(args.photos)
    if not paths:
        raise SystemExit(f"{args.photos}: no pictures found")
    models = load_candidates(args.models, task=args.task)
    rows = []
    for path in paths:
        image = read_rgb(path)
        rows.append((path.name, [unchanged(net, image) for net in models.values()]))
    rows.sort(key=lambda row: row[1][0][0])
    print("| photo | " + " | ".join(f"{m}: PSNR-Y; mean shift R/G/B" for m in models) + " |")
    print("|---|" + "---|" * len(models))
    for name, cells in rows:
        text = [f"{db:.2f} dB; {s[0]:+.2f}/{s[1]:+.2f}/{s[2]:+.2f}" for db, s in cells]
        print(f"| {name} | " + " | ".join(text) + " |")


if __name__ == "__main__":
    main()
