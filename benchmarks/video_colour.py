#!/usr/bin/env python3
"""What the video path's rounding conversions cost per frame, against swscale's defaults.

    python benchmarks/video_colour.py                 # 1280x720 and 1920x1080, median of 9 runs
    python benchmarks/video_colour.py --runs 15

Times the two conversions every derained frame goes through (YUV 4:2:0 → RGB after decoding, RGB →
YUV 4:2:0 before encoding) with swscale's default flags and with the ones ``io/video/colour.py`` uses (round to
nearest; per-pixel chroma on the way back to RGB), on a smooth synthetic frame, and prints each one's mean
shift and RMSE over a round trip. The frame goes through lossless H.264 once, so it comes back saying what
a decoded clip says (chroma co-sited with the even columns); the "sited" row reads it there, the others
read it centred, as it was written (``colour._unsited``). The last column is how far the chroma moves
(mean absolute change, 8-bit levels) when the frame read is written again: what every pass through the
video path adds. Compare the times with the model's own per frame (``benchmarks/run_all.py --only
derain``). Run by hand on an otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from run_all import machine_line
from scipy.ndimage import gaussian_filter
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.io.video.colour import _rounding, _unsited

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
    print("| frame | flags | to YUV (ms) | to RGB (ms) | round trip: mean shift R/G/B | RMSE | rewritten: U/V MAE |")
    print("|---|---|---|---|---|---|---|")
    for width, height in SIZES:
        rgb = _frame(width, height)
        source = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        rows = (("default", None, None, True), ("rounding, sited", _rounding(False), _rounding(True), False),
                ("rounding", _rounding(False), _rounding(True), True))  # fmt: skip
        for name, encode, decode, centred in rows:
            print(_row(f"{width}x{height}", name, rgb, source, encode, decode, centred, args.runs))


def _decoded(frame: av.VideoFrame) -> av.VideoFrame:
    """``frame`` through lossless H.264: the same planes, now saying where the decoder places chroma."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt, codec.time_base = frame.width, frame.height, "yuv420p", Fraction(1, 25)
    codec.options = {"qp": "0", "preset": "ultrafast"}
    frame.pts = 0
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for packet in codec.encode(frame) + codec.encode(None) for f in decoder.decode(packet)]
    return (frames + decoder.decode(None))[0]


def _row(
    size: str, name: str, rgb: np.ndarray, source: av.VideoFrame, encode: object, decode: object, centred: bool,
    runs: int,
) -> str:  # fmt: skip
    """One table row: both conversions timed, the round trip's error, and how far the chroma moves rewritten."""
    to_yuv = {"format": "yuv420p", "src_colorspace": 1, "dst_colorspace": 1, "dst_color_range": 1}
    to_rgb = {"format": "rgb24", "src_colorspace": 1, "src_color_range": 1, "interpolation": decode}
    yuv = _decoded(source.reformat(**to_yuv, interpolation=encode))
    there = median_seconds(lambda: source.reformat(**to_yuv, interpolation=encode), runs)

    def read() -> np.ndarray:  # a reformatter of its own, as each new frame of a clip gets
        return VideoReformatter().reformat(_unsited(yuv) if centred else yuv, **to_rgb).to_ndarray()

    back = median_seconds(read, runs)
    seen = read()
    diff = seen.astype(np.float64) - rgb
    shift = " / ".join(f"{v:+.2f}" for v in diff.mean(axis=(0, 1)))
    rmse = float(np.sqrt((diff**2).mean()))
    again = av.VideoFrame.from_ndarray(seen, format="rgb24").reformat(**to_yuv, interpolation=encode)
    moved = " / ".join(f"{np.abs(_chroma(again, i) - _chroma(yuv, i)).mean():.2f}" for i in (1, 2))
    return f"| {size} | {name} | {there * 1000:.1f} | {back * 1000:.1f} | {shift} | {rmse:.2f} | {moved} |"


def _chroma(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width].astype(np.float64)


if __name__ == "__main__":
    main()
