#!/usr/bin/env python3
"""Where a snow model's mask fires: on the snow, or on snow-free scene detail.

    python scripts/snow_mask_probe.py desnownet-light data/snow2/test_specks_S img_012 134035

For each named photo of a synthetic set (``synthetic/``, ``gt/``, ``mask/`` as ``weatherclean synth
snow`` writes them), it prints the share of snow-free pixels (true mask <= 0.02) and of snowy pixels
where the model's mask ẑ exceeds 0.06 (where a t = 0.03 gate is fully open), and how the output's
error on snow-free pixels splits by ẑ: a model that darkens bright scene details it took for snow
shows most of that error at high ẑ, with a large negative mean difference.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from weatherclean.data.images import read_rgb
from weatherclean.models import load_model

FREE = 0.02  # true mask at or below this: no snow
OPEN = 0.06  # ẑ above this: a t = 0.03 gate is fully open


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name, a folder or a Hub id")
    parser.add_argument("set", type=Path, help="a synthetic snow set (synthetic/, gt/, mask/)")
    parser.add_argument("photos", nargs="+", help="photo names without extension")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    model = load_model(args.model, device="cpu", task="snow").eval()
    for stem in args.photos:
        (path,) = (args.set / "synthetic").glob(f"{stem}.*")
        x, gt = read_rgb(path), read_rgb(args.set / "gt" / path.name)
        truth = read_rgb(args.set / "mask" / path.name).mean(axis=2)
        out = model(torch.from_numpy(x).permute(2, 0, 1)[None])
        y = out.y_hat.clamp(0, 1)[0].permute(1, 2, 0).numpy()
        z = out.z_hat[0, 0].numpy()
        free = truth <= FREE
        err = ((y - gt) ** 2).mean(axis=2)
        print(f"{stem}: ẑ > {OPEN} on {100 * (z[free] > OPEN).mean():.2f} % of snow-free pixels, "
              f"{100 * (z[~free] > OPEN).mean():.1f} % of snowy ones")  # fmt: skip
        for lo, hi in ((0, 0.03), (0.03, OPEN), (OPEN, 0.2), (0.2, 1.01)):
            sel = free & (z >= lo) & (z < hi)
            diff = 255 * float((y - gt)[sel].mean()) if sel.any() else 0.0
            share = 100 * err[sel].sum() / err.sum()
            print(f"  snow-free, ẑ in [{lo}, {hi}): {100 * sel.mean():.2f} % of pixels, "
                  f"{share:.1f} % of the error, mean difference {diff:+.2f} levels")  # fmt: skip


if __name__ == "__main__":
    main()
