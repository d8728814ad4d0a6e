#!/usr/bin/env python3
"""How much the video path (decode → model → encode) shifts a clip's colours, beside the model alone.

    python scripts/video_path_shift.py ../shared/data/real/rain_video_frames/frames

The frames are written as an H.264 MP4 (CRF 18, 4:2:0, as a phone records), then:

* ``frames``: the frames as they are;
* ``model``: the model over the frames as a clip (no codec), as ``derain --frames`` would;
* ``mp4 only``: the MP4 through the video path with nothing changed (the codec and conversions alone);
* ``mp4 + model``: the MP4 through ``derain``'s video path.

Each row is the mean R/G/B over all frames, in grey levels. Outputs are read back with rounding
conversions (swscale's ACCURATE_RND), so the reading adds no bias of its own. Issue 13 saw the real
frames darken about 2 levels more through an MP4 than as photos; the last column is that difference.
"""

from __future__ import annotations

import argparse
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from weatherclean import load_restorer
from weatherclean.io.media import list_frames
from weatherclean.io.video import process_video


def _flags() -> object:
    exact = av.video.reformatter.Interpolation
    return exact.BILINEAR | exact.ACCURATE_RND | exact.FULL_CHR_H_INT


def _write_mp4(frames: list[np.ndarray], path: Path) -> None:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", src_colorspace=5, dst_colorspace=5, dst_color_range=1, interpolation=_flags()
            )
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _read(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [
            f.to_ndarray(format="rgb24", src_colorspace=5, src_color_range=1, interpolation=_flags())
            for f in c.decode(video=0)
        ]


def _mean(frames: list[np.ndarray]) -> np.ndarray:
    return np.mean([f.reshape(-1, 3).astype(np.float64).mean(axis=0) for f in frames], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", type=Path, help="a folder of frames (one clip)")
    parser.add_argument("--model", default="default", help="rain model (default: the bundled default)")
    args = parser.parse_args()
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in list_frames(args.frames)]
    restorer = load_restorer("rain", model=args.model, device="cpu", precision="fp32")
    rows = {"frames": _mean(frames), "model": _mean(list(restorer.restore_clip(frames)))}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        _write_mp4(frames, src)
        process_video(src, Path(tmp) / "same.mp4", lambda f: f, upright=True)
        rows["mp4 only"] = _mean(_read(Path(tmp) / "same.mp4"))
        clip = restorer.new_clip()
        process_video(src, Path(tmp) / "derained.mp4", clip, upright=True)
        rows["mp4 + model"] = _mean(_read(Path(tmp) / "derained.mp4"))
    print("| path | mean R / G / B | shift from the frames | mp4 beyond the model alone |")
    print("|---|---|---|---|")
    for name, mean in rows.items():
        shift = mean - rows["frames"]
        extra = mean - rows["model"] if name == "mp4 + model" else None
        cells = [
            name,
            " / ".join(f"{v:.2f}" for v in mean),
            " / ".join(f"{v:+.2f}" for v in shift),
            " / ".join(f"{v:+.2f}" for v in extra) if extra is not None else "",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
