#!/usr/bin/env python3
"""Where a snow model's remaining error lives: in the coarse veil, or in the fine flakes.

    python scripts/snow_band_probe.py desnownet-light data/snow_probe/test_mixed_L
    python scripts/snow_band_probe.py runs/snow12f/model data/snow_probe/test_mixed_L --cell 16

For a synthetic set (``synthetic/`` and ``gt/`` as ``weatherclean synth snow`` writes them) it splits the
squared error in Y against the clean picture into a coarse part (the error averaged over a
(2·cell+1)-px box) and the fine rest, for the input, the translucency stage y′, the model without its
pass-through gate and the model as shipped, and prints their means with the mean signed error in grey
levels. Heavy synthetic snow carries a veil; ``synth snow --no-haze`` makes the same flakes without it,
so the two sets side by side say what the veil costs.

``--places`` splits the same squared error by where it is instead: on the snow's own pixels (the input
differs from the clean picture by more than half a grey level in Y), near them (within ``--near`` px)
and far from any. On light snow it separates what a model removes from what it changes in pixels
with no snow at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from weatherclean.data.images import list_images, read_rgb
from weatherclean.evaluation.metrics import rgb_to_y
from weatherclean.models import load_model
from weatherclean.models.family import with_config


def coarse(error: np.ndarray, cell: int) -> np.ndarray:
    """``error`` (H×W) averaged over a (2·cell+1)² box, mirrored at the borders."""
    t = torch.from_numpy(error)[None, None]
    return F.avg_pool2d(F.pad(t, (cell,) * 4, mode="reflect"), 2 * cell + 1, stride=1)[0, 0].numpy()


def places(snow: np.ndarray, near: int) -> dict[str, np.ndarray]:
    """Boolean masks of the snow's pixels, of the others within ``near`` px of one, and of the rest."""
    t = torch.from_numpy(snow.astype(np.float32))[None, None]
    close = F.max_pool2d(t, 2 * near + 1, stride=1, padding=near)[0, 0].numpy() > 0
    return {"snow": snow, "near": close & ~snow, "far": ~close}


def band_parts(error: np.ndarray, cell: int) -> tuple[float, ...]:
    """Mean squared error, its coarse and fine parts, and the mean signed error."""
    low = coarse(error, cell)
    return np.mean(error**2), np.mean(low**2), np.mean((error - low) ** 2), error.mean()


def place_parts(error: np.ndarray, where: dict[str, np.ndarray]) -> tuple[float, ...]:
    """Mean squared error, each place's share of it (summed over the place, per pixel of the picture), and
    each place's share of the pixels."""
    square = error**2
    shares = tuple(np.sum(square[m]) / square.size for m in where.values())
    return np.mean(square), *shares, *(m.mean() for m in where.values())


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.clamp(0, 1)[0].permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name, a folder or a Hub id")
    parser.add_argument("set", type=Path, help="a synthetic snow set (synthetic/, gt/)")
    parser.add_argument("--cell", type=int, default=16, help="half-width of the coarse box in pixels")
    parser.add_argument("--places", action="store_true", help="split by distance to the snow instead")
    parser.add_argument("--near", type=int, default=6, help="with --places: how far (px) 'near' reaches")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    gated = load_model(args.model, device="cpu", task="snow").eval()
    ungated = with_config(gated, pass_through=0.0).eval()
    rows: dict[str, list[tuple[float, ...]]] = {}
    for path in sorted(list_images(args.set / "synthetic")):
        x, gt = read_rgb(path), read_rgb(args.set / "gt" / path.name)
        xt = torch.from_numpy(x).permute(2, 0, 1)[None]
        free = ungated(xt)
        outputs = {"input": x, "y'": _hwc(free.y_prime), "ungated": _hwc(free.y_hat), "model": _hwc(gated(xt).y_hat)}
        truth = np.squeeze(rgb_to_y(gt))  # Y of [0, 1] pictures: the scale cancels in PSNR and is undone below
        where = places(np.abs(np.squeeze(rgb_to_y(x)) - truth) > 0.5 / 255, args.near) if args.places else None
        for label, out in outputs.items():
            error = (np.squeeze(rgb_to_y(out)) - truth).astype(np.float32)
            parts = place_parts(error, where) if where is not None else band_parts(error, args.cell)
            rows.setdefault(label, []).append(tuple(float(p) for p in parts))
    if args.places:
        share = np.array(rows["input"])[:, 4:].mean(axis=0)
        print(f"{args.set} ({len(rows['input'])} pictures), MSE x 1e4 by place: snow ({share[0]:.1%} of the pixels), "
              f"near it, within {args.near} px ({share[1]:.1%}), far from it ({share[2]:.1%})")  # fmt: skip
    else:
        print(f"{args.set} ({len(rows['input'])} pictures), coarse = averaged over {2 * args.cell + 1} px; MSE x 1e4")
    for label, values in rows.items():
        v = np.array(values)
        psnr = float(np.mean(10 * np.log10(1.0 / np.maximum(v[:, 0], 1e-12))))
        mse, *split = (1e4 * v[:, i].mean() for i in range(4))
        if args.places:
            tail = "= snow {:6.2f} + near {:6.2f} + far {:6.2f}".format(*split)
        else:
            tail = "= coarse {:6.2f} + fine {:6.2f} (+ cross) ".format(*split[:2])
            tail += f"mean error {255 * v[:, 3].mean():+6.2f} levels"
        print(f"{label:8s} PSNR-Y {psnr:6.2f} dB  MSE {mse:7.2f} {tail}")


if __name__ == "__main__":
    main()
