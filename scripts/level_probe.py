#!/usr/bin/env python3
"""How well a DesnowNet's pooled descriptor features tell the snow level of a crop: a linear probe.

    python scripts/level_probe.py desnownet-light --data data/snow_tune31 --crop 96

From each picture of ``DATA/heldout_clean`` (level 0, no snow) and of the first ``--per-set`` pictures of
``DATA/test_{STYLE}_{S,M,L}`` (levels 1-3; sets from TRAINING backgrounds), ``--crops`` random crops of
``--crop`` px (0: the whole picture) go through the translucency descriptor; each crop's features are
pooled (their mean over the crop, what DesnowNet's ``context`` reads, and optionally their spread), the
pooled values are standardised, and a ridge regression fitted on three quarters of the crops predicts
the level of the other quarter. Printed: the correlation of prediction and level on that quarter.

Why: a picture-level context can only correct for the snow level if the level can be read from what it
pools, at the crop size it trains on (snow rounds 18 and 19, docs/model-history.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import list_images, read_rgb
from weatherclean.data.snow import find_snow100k
from weatherclean.models import load_model
from weatherclean.synth.snow import SNOW_LEVELS, SNOW_STYLES


def pooled(model: torch.nn.Module, picture: np.ndarray) -> np.ndarray:
    """The translucency descriptor's features before any context, their mean then spread over the picture."""
    d = model.tr_descriptor
    h, w = (n - n % d.stride for n in picture.shape[:2])
    x = torch.from_numpy(np.ascontiguousarray(picture[:h, :w])).permute(2, 0, 1)[None].float()
    with torch.inference_mode():
        f = d.local_features(d.fold(x))
        return torch.cat([f.mean(dim=(-2, -1)), f.std(dim=(-2, -1))], dim=1)[0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name or a model folder (DesnowNet)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--crop", type=int, default=96, help="crop edge in pixels; 0 for whole pictures")
    parser.add_argument("--crops", type=int, default=4, help="crops per picture (1 with --crop 0)")
    parser.add_argument("--per-set", type=int, default=4, help="pictures per snowy set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = load_model(args.model, device="cpu", task="snow").eval()
    rng = np.random.default_rng(args.seed)
    sets = [(0, list_images(args.data / "heldout_clean"))]
    for level, name in enumerate(SNOW_LEVELS, start=1):
        paths = [
            t.synthetic
            for s in (*SNOW_STYLES, "mixed")
            for t in find_snow100k(args.data / f"test_{s}_{name}")[: args.per_set]
        ]
        sets.append((level, paths))
    features, levels = [], []
    for level, paths in sets:
        for path in paths:
            picture = read_rgb(path)
            for _ in range(args.crops if args.crop else 1):
                if args.crop:
                    i = rng.integers(0, picture.shape[0] - args.crop + 1)
                    j = rng.integers(0, picture.shape[1] - args.crop + 1)
                    crop = picture[i : i + args.crop, j : j + args.crop]
                else:
                    crop = picture
                features.append(pooled(model, crop))
                levels.append(level)
    x, y = np.array(features), np.array(levels, dtype=np.float64)
    half = x.shape[1] // 2
    what = f"crops of {args.crop} px" if args.crop else "whole pictures"
    print(f"{args.model}: {len(y)} {what}, levels 0 (no snow) to 3 (L)")
    for label, z in (("mean", x[:, :half]), ("mean and spread", x)):
        z = (z - z.mean(axis=0)) / (z.std(axis=0) + 1e-6)
        a = np.c_[z, np.ones(len(y))]
        order = rng.permutation(len(y))
        fit, test = order[: 3 * len(y) // 4], order[3 * len(y) // 4 :]
        w = np.linalg.solve(a[fit].T @ a[fit] + 10.0 * np.eye(a.shape[1]), a[fit].T @ y[fit])
        r = np.corrcoef(a[test] @ w, y[test])[0, 1]
        print(f"  pooled {label}: correlation with the level on held-back crops {r:.3f}")


if __name__ == "__main__":
    main()
