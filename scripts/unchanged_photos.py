#!/usr/bin/env python3
"""Per photo: what snow or rain models do to pictures without weather (PSNR-Y against the input, mean shift).

    python scripts/unchanged_photos.py snow bundled=desnownet-light --photos data/snow/heldout_clean
    python scripts/unchanged_photos.py rain bundled=j4rnet-wide r20=runs/r20/model@0.03/0.04
    python scripts/unchanged_photos.py rain bundled=j4rnet-wide --photos data/snow/heldout_clean --changed 8

``score_snow_styles.py`` and ``score_rain_styles.py`` report the mean and the worst photo; this names
each photo, worst first for the first model, so the docs can say which photo misses issue 12 and 13's
40 dB and by how much. Models as ``LABEL=MODEL[@T[/V]]`` (``score_snow_styles.py``'s syntax), in fp32
on the CPU. ``--changed T`` adds where a shift comes from: the share of pixels whose largest channel
change exceeds T grey levels, and their mean change (a shift made there is local, not an offset).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from score_snow_styles import load_candidates, unchanged  # noqa: E402

from weatherclean.data.images import list_images, read_rgb  # noqa: E402
from weatherclean.restore import Restorer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["snow", "rain"])
    parser.add_argument("models", nargs="+", help="LABEL=MODEL[@T[/V]]")
    parser.add_argument("--photos", type=Path, default=ROOT / "data/snow/heldout_clean")
    parser.add_argument("--changed", type=float, default=None, metavar="LEVELS")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    paths = list_images(args.photos)
    if not paths:
        raise SystemExit(f"{args.photos}: no pictures found")
    models = load_candidates(args.models, task=args.task)
    rows = []
    for path in paths:
        image = read_rgb(path)
        rows.append((path.name, [_cells(net, image, args.changed) for net in models.values()]))
    rows.sort(key=lambda row: row[1][0][0])
    what = "PSNR-Y; mean shift R/G/B"
    if args.changed is not None:
        what += f"; pixels changed > {args.changed:g} (their mean change)"
    print("| photo | " + " | ".join(f"{m}: {what}" for m in models) + " |")
    print("|---|" + "---|" * len(models))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells_text for _, cells_text in cells) + " |")


def _cells(net: Restorer, image: np.ndarray, changed: float | None) -> tuple[float, str]:
    """(PSNR-Y, the table cell) for one model on one photo."""
    out = net.restore(image)
    db, s = unchanged(net, image, out)
    text = f"{db:.2f} dB; {s[0]:+.2f}/{s[1]:+.2f}/{s[2]:+.2f}"
    if changed is not None:
        delta = 255.0 * (out.astype(np.float64) - image)
        where = np.abs(delta).max(axis=2) > changed
        mean = delta[where].mean(axis=0) if where.any() else np.zeros(3)
        text += f"; {100 * where.mean():.2f} % ({mean[0]:+.1f}/{mean[1]:+.1f}/{mean[2]:+.1f})"
    return db, text


if __name__ == "__main__":
    main()
