#!/usr/bin/env python3
"""What carrying a limited-range clip's luma beyond black and white costs per frame (``io/video/colour.py``).

    python benchmarks/video_headroom.py            # 1280x720 8-bit 4:2:0, median of 9 runs
    python benchmarks/video_headroom.py --runs 15

A frame is read with a share of its luma samples beyond black and white (super-whites at 250), the excess and
the model's input there are kept (``_excess_of``, on the decoding thread) and given back into the frame written
from an unchanged output (``_give_back``, on the encoding one). Both overlap the model, which takes about a second
a frame (``benchmarks/run_all.py --only derain``). Run by hand on an otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse

import av
import numpy as np
from run_all import machine_line
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.io.video.colour import _excess_of, _give_back

SHARES = (0.0, 0.12, 0.33, 0.5, 1.0)


def _frame(width: int, height: int, share: float) -> av.VideoFrame:
    """A grey limited-range 4:2:0 frame whose first ``share`` of luma samples (in raster order) are at 250."""
    frame = av.VideoFrame(width, height, "yuv420p")
    luma = np.full((height, width), 128, np.uint8)
    luma.reshape(-1)[: int(share * luma.size)] = 250
    chroma = np.full((height // 2, width // 2), 128, np.uint8)
    for plane, values in zip(frame.planes, (luma, chroma, chroma), strict=True):
        stride = plane.line_size
        padded = np.zeros((values.shape[0], stride), np.uint8)
        padded[:, : values.shape[1]] = values
        plane.update(padded.tobytes())
    frame.color_range = 1  # limited ("TV") range
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    print(machine_line("cpu"))
    print("| share of luma beyond white | keep (ms) | give back (ms) |")
    print("|---|---|---|")
    for share in SHARES:
        frame = _frame(width, height, share)
        rgb = frame.to_ndarray(format="rgb24")
        keep = median_seconds(lambda f=frame, r=rgb: _excess_of(f, r), args.runs)
        excess = _excess_of(frame, rgb)
        if excess is None:
            back = 0.0
        else:
            written = _frame(width, height, 0.0)
            back = median_seconds(lambda w=written, r=rgb, e=excess: _give_back(w, r, e), args.runs)
        print(f"| {share:.0%} | {keep * 1000:.1f} | {back * 1000:.1f} |")


if __name__ == "__main__":
    main()
