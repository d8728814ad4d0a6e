#!/usr/bin/env python3
"""How far a model's output on a frame cut into 768-px tiles is from the same frame run whole.

    python scripts/tiled_vs_whole.py j4rnet-wide j4rnet-light --sizes 1280x720 1920x1080

On a CPU, `derain` and `desnow` cut large frames into 768-px tiles that overlap by the model's
``receptive_field`` and blend them (a model with a ``tile_align``, J4R-Net with ``veil_cell``, runs
frames up to 2048 px whole when memory allows; this script forces the tiles). A model whose output at
a pixel depends on more than the overlap, or on a grid anchored at its input's corner, differs from
its whole-frame output near the seams; tiles start on multiples of ``tile_align`` for that. The frame
is scikit-image's astronaut and rocket side by side, resized to each of ``--sizes`` (default
1280x720), with the project's synthetic heavy and light rain at fixed seeds. Printed per model, size
and rain level: the tile and overlap, the PSNR-Y of the tiled output against the whole one (after
rounding both to 8 bits), and the largest difference in grey levels of Y. fp32 on the CPU.
"""

from __future__ import annotations

import argparse

import numpy as np
from skimage import data, transform

from weatherclean.evaluation.metrics import psnr, rgb_to_y
from weatherclean.restore.restorer import load_restorer
from weatherclean.synth.rain import synthesize_rain


def _frame(width: int, height: int) -> np.ndarray:
    """A float picture in [0, 1] of this size from two scikit-image photos."""
    rocket = transform.resize(data.rocket(), (512, 512), anti_aliasing=True)
    pair = np.concatenate([data.astronaut() / 255.0, rocket], axis=1)
    return np.clip(transform.resize(pair, (height, width), anti_aliasing=True), 0.0, 1.0).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="registered names or model folders (rain models)")
    parser.add_argument("--sizes", nargs="+", default=["1280x720"], help="frame sizes, WIDTHxHEIGHT")
    args = parser.parse_args()
    print("| model | frame | rain | tile, overlap (px) | PSNR-Y tiled vs whole | largest difference (levels of Y) |")
    print("|---|---|---|---|---|---|")
    for name, size in [(name, size) for name in args.models for size in args.sizes]:
        width, height = (int(v) for v in size.lower().split("x"))
        clean = _frame(width, height)
        tiled = load_restorer("rain", name, device="cpu", precision="fp32", tile=768)  # derain's CPU tile
        whole = load_restorer("rain", name, device="cpu", precision="fp32", tile=max(width, height))
        for level, seed in (("heavy", 1), ("light", 2)):
            rainy = synthesize_rain(clean, np.random.default_rng(seed), level, None).rainy
            a, b = tiled.restore(rainy), whole.restore(rainy)
            worst = float(np.abs(rgb_to_y(a * 255.0) - rgb_to_y(b * 255.0)).max())
            db = psnr(a, b, y_channel=True)
            print(f"| {name} | {size} | {level} | {tiled.tile}, {tiled.overlap} | {db:.1f} dB | {worst:.2f} |")


if __name__ == "__main__":
    main()
