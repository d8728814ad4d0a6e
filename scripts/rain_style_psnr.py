#!/usr/bin/env python3
"""How heavy each synthetic rain style is: PSNR of the rainy picture against its clean one, per level.

    python scripts/rain_style_psnr.py                 # every style
    python scripts/rain_style_psnr.py downpour lines  # some of them

Scikit-image's six bundled photos, each resized to 640×480 (the size the styles' densities are given
for), with rain of one style at seeds 0 and 1: the mean, lowest and highest PSNR over RGB
(``weatherclean.evaluation.metrics.psnr``) of those 12 pictures. docs/synthesis.md's footnote on the
``downpour`` row uses it to set a new style beside the others and the benchmarks' inputs.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from weatherclean.data.images import skimage_samples
from weatherclean.evaluation.metrics import psnr
from weatherclean.synth.rain import RAIN_LEVELS, check_styles, synthesize_rain

SEEDS = (0, 1)
SIZE = (640, 480)


def _photos() -> list[np.ndarray]:
    """The bundled photos at 640×480, float in [0, 1]."""
    out = []
    for _, photo in skimage_samples():
        u8 = photo if photo.dtype == np.uint8 else (np.clip(photo, 0, 1) * 255).round().astype(np.uint8)
        out.append(np.asarray(Image.fromarray(u8).convert("RGB").resize(SIZE, Image.BICUBIC), np.float32) / 255)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("styles", nargs="*", help="rain styles (default: all)")
    args = parser.parse_args()
    try:
        styles = check_styles(args.styles)
    except ValueError as exc:
        parser.error(str(exc))
    photos = _photos()
    print("| style | level | mean PSNR (dB) | lowest | highest |")
    print("|---|---|---|---|---|")
    for style in styles:
        for level in RAIN_LEVELS:
            values = [
                psnr(np.clip(synthesize_rain(p, np.random.default_rng(seed), level, [style]).rainy, 0, 1), p)
                for p in photos
                for seed in SEEDS
            ]
            print(f"| {style} | {level} | {np.mean(values):.1f} | {min(values):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    main()
