"""How hard are the snow-free training samples a dry-crop pick chooses? (docs/model-history.md, snow round 14)

Draws items from ``SyntheticSnowDataset`` over training backgrounds three ways: plain random crops,
``--dry-crops K`` by detail, and ``--dry-crops K --dry-pick change`` against MODEL, and reports for each
the snow-free items' mean and median squared luma change by MODEL (with its own pass-through gate) and
their fine detail. A pick that finds what the model gets wrong raises the change.

    python scripts/dry_pick_probe.py src/weatherclean/weights/desnownet-light data/snow/train_clean
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import list_images
from weatherclean.data.negatives import fine_detail
from weatherclean.data.snow import SyntheticSnowDataset
from weatherclean.training.mining import ModelChange


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="model folder whose change rates a crop")
    p.add_argument("clean", type=Path, help="folder of training backgrounds")
    p.add_argument("--photos", type=int, default=120, help="the first N backgrounds (sorted)")
    p.add_argument("--items", type=int, default=300, help="items drawn per pick")
    p.add_argument("--crops", type=int, default=4, help="K, candidates per snow-free item")
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--clean-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    images = list_images(args.clean)[: args.photos]
    change = ModelChange(args.model)
    picks = {"plain": {}, f"detail of {args.crops}": {"dry_crops": args.crops},
             f"change of {args.crops}": {"dry_crops": args.crops, "dry_score": change}}  # fmt: skip
    print("| pick | snow-free items | model's change, mean / median (1e-4) | fine detail |")
    print("|---|---|---|---|")
    for label, options in picks.items():
        ds = SyntheticSnowDataset(
            images, crop=args.crop, length=10**6, seed=args.seed, clean_fraction=args.clean_fraction, **options
        )
        items = [ds[i] for i in range(args.items)]
        dry = [it["y"].permute(1, 2, 0).numpy() for it in items if float(it["z"].abs().max()) == 0.0]
        scores = [change(patch) for patch in dry]
        detail = np.mean([fine_detail(patch) for patch in dry])
        mean, median = np.mean(scores) * 1e4, np.median(scores) * 1e4
        print(f"| {label} | {len(dry)} | {mean:.2f} / {median:.2f} | {detail:.4f} |")


if __name__ == "__main__":
    main()
