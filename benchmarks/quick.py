#!/usr/bin/env python3
"""Quick figures quoted in docs/models.md and docs/synthesis.md, measured in one run.

    python benchmarks/quick.py            # prints a Markdown table

Run by hand on an otherwise idle machine; it is not a test. It measures:
- the default model's whole-image time on a 500×500 image (median of 3 runs after a warm-up);
- tiled (256-px tiles, 32-px overlap) against whole-image output, as PSNR in dB on float outputs;
- snow synthesis time for a 96×96 crop and a 640×480 image (median of 20 / 5 runs, after 300 crops
  have filled the sprite-bank cache, as in a long training run).
"""

from __future__ import annotations

import os
import platform

import numpy as np
import torch
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.data.images import skimage_samples
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import load_model
from weatherclean.restore.tiling import run_tiled
from weatherclean.synth.snow import synthesize_snow


def main() -> None:
    rng = np.random.default_rng(0)
    photo = dict(skimage_samples())["chelsea"]
    big = np.pad(photo, ((0, 500 - photo.shape[0]), (0, 500 - photo.shape[1]), (0, 0)), mode="reflect")[:500, :500]
    snowy = synthesize_snow(big, rng, level="M").snowy
    x = torch.from_numpy(np.ascontiguousarray(snowy.transpose(2, 0, 1)))[None]
    model = load_model("default")
    model.restore(x)  # warm-up
    whole_s = median_seconds(lambda: model.restore(x), 3, warmup=False)
    whole = model.restore(x)[0].permute(1, 2, 0).numpy()
    tiled = run_tiled(model.restore, x, tile=256, overlap=32)[0].permute(1, 2, 0).numpy()
    tile_psnr = psnr(tiled, whole, quantize=False)

    crop, frame = big[:96, :96], np.pad(big, ((0, 0), (0, 140), (0, 0)), mode="reflect")[:480]
    for _ in range(300):  # fill the sprite-bank cache (one bank per wind direction and strength)
        synthesize_snow(crop, rng, "M")
    crop_ms = 1000 * median_seconds(lambda: synthesize_snow(crop, rng, "M"), 20, warmup=False)
    frame_ms = 1000 * median_seconds(lambda: synthesize_snow(frame, rng, "M"), 5, warmup=False)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads\n"
    )
    print("| figure | value |\n|---|---|")
    print(f"| desnownet-light, whole 500×500 image | {whole_s:.2f} s ({0.25 / whole_s:.2f} megapixels/s) |")
    print(f"| tiled (256/32) vs whole output, PSNR | {tile_psnr:.1f} dB |")
    print(f"| snow synthesis, 96×96 crop | {crop_ms:.1f} ms |")
    print(f"| snow synthesis, 640×480 image | {frame_ms:.0f} ms |")


if __name__ == "__main__":
    main()
