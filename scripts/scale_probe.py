#!/usr/bin/env python3
"""A second pass at half resolution for large flakes, measured on tuning sets (by hand, no rule).

    runs/make_tune35.sh
    OMP_NUM_THREADS=1 python scripts/scale_probe.py data/tune35 > runs/scores/scale-probe-tune35.txt

Why: large out-of-focus flakes (bokeh discs 10–30 px across) stay almost untouched on real photos and
the bokeh sets gain least (docs/models.md), while DesnowNet's effective reach is a few pixels. At half
resolution such a disc is half as wide. The cascade restores the picture as usual (y₁ = f(x)), then
restores y₁ at half resolution and adds only that pass's change, brought back to full size:
ŷ = y₁ + up(f(down(y₁)) − down(y₁)). ``dark`` keeps only the darkening part of that change (snow only
adds light). The half-resolution pass costs a quarter of the first, so about 1.25× the model's time.

Each picture goes through the bundled ``desnownet-light`` (fp32 on the CPU), scored as PSNR on Y against
the ground truth, mean over the set; the snow-free ``clean`` training photos against themselves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from weatherclean.data.images import read_rgb
from weatherclean.evaluation.metrics import psnr
from weatherclean.restore import Restorer, load_restorer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strength_probe import pairs  # noqa: E402


def _resize(a: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(t, size=size, mode=mode, **kw)[0].permute(1, 2, 0).numpy()


def variants(net: Restorer, x: np.ndarray) -> dict[str, np.ndarray]:
    """The plain output and the cascades (see the module's docstring)."""
    h, w = x.shape[:2]
    y1 = np.clip(net.restore(x).astype(np.float32), 0, 1)
    small = _resize(y1, (max(1, h // 2), max(1, w // 2)), "area")
    change = _resize(np.clip(net.restore(small).astype(np.float32), 0, 1) - small, (h, w), "bilinear")
    return {
        "plain": y1,
        "cascade": np.clip(y1 + change, 0, 1),
        "dark": np.clip(y1 + np.minimum(change, 0), 0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="folder made by runs/make_tune35.sh")
    args = parser.parse_args()
    net = load_restorer("snow", device="cpu", precision="fp32")
    names = ("plain", "cascade", "dark")
    print("snow: PSNR-Y of the input in dB, then each output's gain over it")
    print("| set | input | " + " | ".join(names) + " |\n|---|---|" + "---|" * len(names))
    for folder in sorted(args.root.glob("snow_*")):
        scores: dict[str, list[float]] = {k: [] for k in ("input", *names)}
        for weathered, clean in pairs(folder, "snow"):
            x, gt = read_rgb(weathered), read_rgb(clean)
            scores["input"].append(psnr(x, gt, y_channel=True))
            for k, out in variants(net, x).items():
                scores[k].append(psnr(out, gt, y_channel=True))
        base = float(np.mean(scores["input"]))
        cells = " | ".join(f"{np.mean(scores[k]) - base:+.2f}" for k in names)
        print(f"| {folder.name} | {base:.2f} | {cells} |", flush=True)
    dry: dict[str, list[float]] = {k: [] for k in names}
    for f in sorted((args.root / "clean").iterdir()):
        x = read_rgb(f)
        for k, out in variants(net, x).items():
            dry[k].append(psnr(out, x, y_channel=True))
    print("| snow-free photos, worst / median dB against the input | | "
          + " | ".join(f"{min(v):.2f} / {np.median(v):.2f}" for v in dry.values()) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
