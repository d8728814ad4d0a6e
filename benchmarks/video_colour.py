#!/usr/bin/env python3
"""What the video path's rounding conversions cost per frame, against swscale's defaults.

    python benchmarks/video_colour.py                 # 1280x720 and 1920x1080, median of 9 runs
    python benchmarks/video_colour.py --runs 15

Times the two conversions every derained frame goes through (YUV 4:2:0 → RGB after decoding, RGB →
YUV 4:2:0 before encoding) with swscale's default flags and with the ones ``io/video/colour.py`` uses (round to
nearest; per-pixel chroma on the way back to RGB), on a smooth synthetic frame, and prints each one's mean
shift and RMSE over a round trip. Compare the times with the model's own per frame (``benchmarks/run_all.py
--only derain``). Run by hand on an otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse

import av
import numpy as np
from run_all import machine_line
from scipy.ndimage import gaussian_filter
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.io.video.colour import _rounding

SIZES = ((1280, 720), (1920, 1080))


def _frame(width: int, height: int) -> np.ndarray:
    """Smooth colour with edges, like a photographed scene (noise would hide a bias in its spread)."""
    noise = np.random.default_rng(0).random((height, width, 3))
    return np.clip(gaussian_filter(noise, (2, 2, 0)) * 765 - 200, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(machine_line("cpu"))
    print("| frame | flags | to YUV (ms) | to RGB (ms) | round trip: mean shift R/G/B | RMSE |")
    print("|---|---|---|---|---|---|")
    for width, height in SIZES:
        rgb = _frame(width, height)
        source = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for name, encode, decode in (("default", None, None), ("rounding", _rounding(False), _rounding(True))):
            print(_row(f"{width}x{height}", name, rgb, source, encode, decode, args.runs))


def _row(
    size: str, name: str, rgb: np.ndarray, source: av.VideoFrame, encode: object, decode: object, runs: int
) -> str:
    """One table row: both conversions timed, and the round trip's error."""
    to_yuv = {"format": "yuv420p", "src_colorspace": 1, "dst_colorspace": 1, "dst_color_range": 1}
    to_rgb = {"format": "rgb24", "src_colorspace": 1, "src_color_range": 1, "interpolation": decode}
    yuv = source.reformat(**to_yuv, interpolation=encode)
    there = median_seconds(lambda: source.reformat(**to_yuv, interpolation=encode), runs)
    back = median_seconds(lambda: yuv.reformat(**to_rgb).to_ndarray(), runs)
    diff = yuv.reformat(**to_rgb).to_ndarray().astype(np.float64) - rgb
    shift = " / ".join(f"{v:+.2f}" for v in diff.mean(axis=(0, 1)))
    rmse = float(np.sqrt((diff**2).mean()))
    return f"| {size} | {name} | {there * 1000:.1f} | {back * 1000:.1f} | {shift} | {rmse:.2f} |"


if __name__ == "__main__":
    main()
