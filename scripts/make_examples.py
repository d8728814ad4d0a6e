#!/usr/bin/env python3
"""Make the bundled example photos: scikit-image samples with the project's synthetic snow, plus EXIF.

    python scripts/make_examples.py

writes examples/photos/*.jpg: snowy pictures with EXIF (camera, date, GPS) as a camera would write it,
so `weatherclean desnow examples/photos` shows that metadata survives. The samples used here (chelsea,
coffee, rocket) are never used for training the shipped snow model (scripts/prepare_snow_data.py).

It also writes examples/clips/rocket_rain.mp4: two seconds of synthetic rain over a slow camera pan
across scikit-image's rocket, 25 fps, with a quiet audio tone, so `weatherclean derain examples/clips`
shows a clip coming back with its frames, timing and audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import piexif
from PIL import Image

from weatherclean.data.images import skimage_samples
from weatherclean.synth.rain import CameraMotion, synthesize_rain_clip
from weatherclean.synth.snow import synthesize_snow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {"chelsea": "M", "coffee": "S", "rocket": "L"}


def _exif(name: str) -> bytes:
    zeroth = {
        piexif.ImageIFD.Make: b"weatherclean",
        piexif.ImageIFD.Model: b"synthetic snow example",
        piexif.ImageIFD.ImageDescription: f"scikit-image '{name}' with synthetic snow".encode(),
        piexif.ImageIFD.Artist: b"weatherclean developers",
        piexif.ImageIFD.Orientation: 1,
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2026:01:15 09:30:00",
        piexif.ExifIFD.ExposureTime: (1, 250),
        piexif.ExifIFD.FNumber: (28, 10),
        piexif.ExifIFD.ISOSpeedRatings: 200,
    }
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((47, 1), (22, 1), (0, 1)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((8, 1), (32, 1), (0, 1)),
    }
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps})


def main() -> None:
    photos = ROOT / "examples" / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for i, (name, arr) in enumerate(s for s in skimage_samples() if s[0] in EXAMPLES):
        rng = np.random.default_rng(2026 + i)
        sample = synthesize_snow(arr, rng, level=EXAMPLES[name])
        snowy = Image.fromarray(np.round(sample.snowy * 255).astype(np.uint8))
        snowy.save(photos / f"{name}_snow.jpg", quality=92, exif=_exif(name))
        print(f"wrote {photos / f'{name}_snow.jpg'} (level {EXAMPLES[name]})")
    _rain_clip(ROOT / "examples" / "clips" / "rocket_rain.mp4")


def _rain_clip(dest: Path, frames: int = 50, fps: int = 25) -> None:
    """A short H.264 clip with AAC audio: rain falling coherently while the camera pans."""
    from fractions import Fraction

    import av

    rocket = dict(skimage_samples())["rocket"]  # 427×640
    rng = np.random.default_rng(7)
    motion = CameraMotion(pan=(0.8, 0.0), zoom=0.0, shake=0.3, roll=0.0)
    clip = synthesize_rain_clip(rocket, rng, level="light", frames=frames, size=(288, 384), motion=motion)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dest), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"crf": "23"})
        video.width, video.height, video.pix_fmt = 384, 288, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        for i, picture in enumerate(clip.rainy):
            frame = av.VideoFrame.from_ndarray(np.round(picture * 255).astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        t = np.arange(48000 * frames // fps) / 48000
        tone = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[None]
        sound = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
        sound.sample_rate, sound.pts = 48000, 0
        out.mux(audio.encode(sound))
        out.mux(audio.encode(None))
    print(f"wrote {dest} ({frames} frames, {dest.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
