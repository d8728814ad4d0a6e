#!/usr/bin/env python3
"""Make the bundled example photos: scikit-image samples with the project's synthetic snow, plus EXIF.

    python scripts/make_examples.py

writes examples/photos/*.jpg: snowy pictures with EXIF (camera, date, GPS) as a camera would write it,
so `weatherclean desnow examples/photos` shows that metadata survives. The samples used here (chelsea,
coffee, rocket) are never used for training the shipped model (scripts/prepare_snow_data.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import piexif
from PIL import Image

from weatherclean.data.images import skimage_samples
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


if __name__ == "__main__":
    main()
