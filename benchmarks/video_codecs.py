#!/usr/bin/env python3
"""What decoding and encoding cost per frame, without the model: the CPU the codec threads take from it.

    python benchmarks/video_codecs.py

Run by hand on an otherwise idle machine; it is not a test. For 640×360 and 1280×720 clips made as
``benchmarks/run_all.py`` makes them (H.264, 100 frames), it times ``derain``'s own decode path (PyAV
decode + conversion to RGB, as the decoder thread does it) and its encode path (RGB → YUV + libx264 at
CRF 18, as the encoder thread does it) for several presets, and reports CPU milliseconds per frame of
the whole process (all of FFmpeg's threads) next to wall milliseconds. On a machine whose cores the model
already fills, the CPU figure is what end to end loses against compute-only.
"""

from __future__ import annotations

import io
import resource
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
from inputs import make_clip  # benchmarks/inputs.py, beside this script: the clips run_all times

from weatherclean.io import video
from weatherclean.io.video.colour import _Colour, _frame_to_rgb, _rgb_to_frame

PRESETS = ("medium", "faster", "veryfast", "superfast")
FRAMES = 100


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    print("| frame size | stage | CPU ms/frame | wall ms/frame |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in ((640, 360), (1280, 720)):
            clip = Path(tmp) / f"clip_{width}.mp4"
            make_clip(clip, width, height, FRAMES)
            cpu, wall = _cpu(), time.perf_counter()
            with av.open(str(clip)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"  # as derain decodes
                colour = _Colour.of(stream.codec_context, height)
                frames = [_frame_to_rgb(f, False, colour) for f in container.decode(stream)]
            n = len(frames)
            print(f"| {width}×{height} | decode + RGB | {1000 * (_cpu() - cpu) / n:.1f} | "
                  f"{1000 * (time.perf_counter() - wall) / n:.1f} |")  # fmt: skip
            for preset in PRESETS:
                cpu, wall = _cpu(), time.perf_counter()
                with av.open(io.BytesIO(), "w", format="mp4") as out:
                    stream = out.add_stream("libx264", rate=25)
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.options = video.encoder_options("libx264", video.VideoOptions(preset=preset), "mp4")
                    for i, rgb in enumerate(frames):
                        frame = _rgb_to_frame(rgb, "yuv420p", colour)
                        frame.pts, frame.time_base = i, Fraction(1, 25)
                        out.mux(stream.encode(frame))
                    out.mux(stream.encode(None))
                print(f"| {width}×{height} | YUV + encode, `--preset {preset}` | {1000 * (_cpu() - cpu) / n:.1f} | "
                      f"{1000 * (time.perf_counter() - wall) / n:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
