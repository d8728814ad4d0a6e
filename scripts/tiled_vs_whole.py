#!/usr/bin/env python3
"""How far a model's output on a tiled 1280x720 frame is from the same frame run whole.

    python scripts/tiled_vs_whole.py j4rnet-wide j4rnet-light

On a CPU, `derain` and `desnow` cut a 1280x720 frame into 768-px tiles that overlap by the model's
``receptive_field`` and blend them. A model whose output at a pixel depends on more than that overlap
(or, like J4R-Net's ``veil_cell`` smoothing, on a grid anchored at the tile's corner) differs from its
whole-frame output near the seams. The frame is scikit-image's astronaut and rocket side by side,
resized to 1280x720, with the project's synthetic heavy and light rain at fixed seeds. Printed per
model and rain level: the tile and overlap chosen, the PSNR-Y of the tiled output against the whole
one, and the largest difference in grey levels of Y. fp32 on the CPU.
"""

from __future__ import annotations

import argparse

import numpy as np
from skimage import data, transform

from weatherclean.evaluation.metrics import psnr, rgb_to_y
from weatherclean.restore.restorer import load_restorer
from weatherclean.synth.rain import synthesize_rain


def _frame() -> np.ndarray:
    """A 1280x720 float picture in [0, 1] from two scikit-image photos."""
    rocket = transform.resize(data.rocket(), (512, 512), anti_aliasing=True)
    pair = np.concatenate([data.astronaut() / 255.0, rocket], axis=1)
    return np.clip(transform.resize(pair, (720, 1280), anti_aliasing=True), 0.0, 1.0).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="registered names or model folders (rain models)")
    args = parser.parse_args()
    clean = _frame()
    print("| model | rain | tile, overlap (px) | PSNR-Y tiled vs whole | largest difference (levels of Y) |")
    print("|---|---|---|---|---|")
    for name in args.models:
        tiled = load_restorer("rain", name, device="cpu", precision="fp32", tile=768)  # derain's CPU tile at 720p
        whole = load_restorer("rain", name, device="cpu", precision="fp32", tile=1280)
        for level, seed in (("heavy", 1), ("light", 2)):
            rainy = synthesize_rain(clean, np.random.default_rng(seed), level, None).rainy
            a, b = tiled.restore(rainy), whole.restore(rainy)
            worst = float(np.abs(rgb_to_y(a * 255.0) - rgb_to_y(b * 255.0)).max())
            db = psnr(a, b, y_channel=True)
            print(f"| {name} | {level} | {tiled.tile}, {tiled.overlap} | {db:.1f} dB | {worst:.2f} |")


if __name__ == "__main__":
    main()
