"""Synthetic inputs the benchmarks time: photo-like images of any size and an H.264 clip with audio.

Made from scikit-image's astronaut, so no benchmark needs a download or the project's data.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def photo(height: int, width: int) -> np.ndarray:
    """A photo-like H×W×3 float32 image: the astronaut mirrored and tiled up to size (no flat areas)."""
    from skimage import data

    base = data.astronaut()
    tile = np.concatenate([base, base[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    image = np.tile(tile, reps)[:height, :width].astype(np.float32)
    image /= 255.0  # in place: a second float copy would raise the peak memory that the suite measures
    return image


def size_for(megapixels: float) -> tuple[int, int]:
    """A 3:2 (height, width) of about ``megapixels``: the shape of most camera photos."""
    height = int(round((megapixels * 1e6 / 1.5) ** 0.5))
    return height, int(round(height * 1.5))


def clip_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` frames of a slow pan over the tiled astronaut, so consecutive frames are related."""
    canvas = photo(height + 4 * count, width + 8 * count)
    return [np.ascontiguousarray(canvas[4 * i : 4 * i + height, 8 * i : 8 * i + width]) for i in range(count)]


def make_clip(path: Path, width: int, height: int, count: int) -> None:
    """An H.264 clip at 25 fps with a 48 kHz stereo AAC track, the kind of file users derain."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "20", "preset": "veryfast"}
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "stereo"
        for i, rgb in enumerate(clip_frames(width, height, count)):
            frame = av.VideoFrame.from_ndarray((rgb * 255).astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        t = np.arange(int(48000 * count / 25)) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        samples = np.stack([tone, tone])
        for start in range(0, samples.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start : start + 1024]),
                                               format="fltp", layout="stereo")  # fmt: skip
            chunk.sample_rate, chunk.pts = 48000, start
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
