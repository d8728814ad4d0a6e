#!/usr/bin/env python3
"""How closely a model's output in tiles agrees with its output on whole pictures.

    python scripts/tile_agreement.py snow bundled=desnownet-light new=runs/snow18/model@0.03 \\
        --folder data/snow28/test_mixed_M/synthetic --tile 256

For every picture in ``--folder``, each LABEL=MODEL[@T] restores it whole and in ``--tile``-px tiles (the
tiling engine's default overlap, the model's receptive field), fp32 on the CPU; it prints the mean and the
worst PSNR-Y of the tiled output against the whole one, and the largest mean channel difference in grey
levels. Why: a model whose answer depends on the whole picture (DesnowNet's ``context``) sees each tile as
a picture of its own, so large photos, which ``desnow`` tiles, can come out otherwise than small ones; snow
round 18's rule asks for at least 45 dB at 256-px tiles (docs/model-history.md). ``tiled_vs_whole.py`` does the same
for rain models on generated frames of given sizes in derain's 768-px tiles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from weatherclean.data.images import list_images, read_rgb
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import load_model
from weatherclean.restore import load_restorer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_snow_styles import parse_candidate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["snow", "rain"])
    parser.add_argument("models", nargs="+", metavar="LABEL=MODEL[@T]")
    parser.add_argument("--folder", type=Path, required=True, help="pictures to restore")
    parser.add_argument("--tile", type=int, default=256, help="tile edge in pixels (default 256)")
    args = parser.parse_args()
    pictures = [read_rgb(p) for p in list_images(args.folder)]
    if not pictures:
        raise SystemExit(f"{args.folder}: no pictures")
    size = max(max(p.shape[:2]) for p in pictures)
    print(f"{len(pictures)} pictures from {args.folder}, {args.tile}-px tiles against whole ({size}-px tiles)")
    for item in args.models:
        label, name, t, _ = parse_candidate(item)
        net = load_model(name, device="cpu", task=args.task)
        whole = load_restorer(args.task, model=net, device="cpu", precision="fp32", tile=size, pass_through=t)
        tiled = load_restorer(args.task, model=net, device="cpu", precision="fp32", tile=args.tile, pass_through=t)
        values, shifts = [], []
        for picture in pictures:
            a, b = whole.restore(picture), tiled.restore(picture)
            values.append(psnr(b, a, y_channel=True))
            shifts.append(float(np.abs(255.0 * (b.astype(np.float64) - a).reshape(-1, 3).mean(axis=0)).max()))
        print(
            f"{label}: tiled against whole, mean {np.mean(values):.2f} dB, worst {np.min(values):.2f} dB, "
            f"largest mean channel difference {max(shifts):.2f} grey levels"
        )


if __name__ == "__main__":
    main()
