"""Make the rain pictures in docs/images from scikit-image's bundled photos.

Run from the repository root: ``python scripts/make_rain_samples.py``. Only package-shipped images are
used (never ../shared), so the pictures may be committed. Output (each < 150 KB):

* ``docs/images/rain_light.jpg`` and ``rain_heavy.jpg``: clean | rainy, one photo per level.
* ``docs/images/rain_maps.jpg``: rainy O | streaks S | occlusion alpha | reliance A, what J4R-Net learns.
* ``docs/images/rain_clip.jpg``: four consecutive frames of a synthetic clip (camera panning right),
  rainy frames above their alpha maps, to show the rain falling coherently.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from weatherclean.data.images import skimage_samples  # noqa: E402
from weatherclean.synth.rain import CameraMotion, synthesize_rain, synthesize_rain_clip  # noqa: E402

#: (level, sample photo, seed): chosen so each picture shows a different kind of background.
PICTURES: tuple[tuple[str, str, int], ...] = (("light", "chelsea", 11), ("heavy", "astronaut", 2))
MAX_BYTES = 150_000
#: Photos are shrunk to this width before the rain is added, so the streaks keep their real pixel size.
WIDTH = 384


def _u8(arr: np.ndarray) -> np.ndarray:
    return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)


def _shrink(photo: np.ndarray, width: int = WIDTH) -> np.ndarray:
    h, w = photo.shape[:2]
    size = (width, int(round(h * width / w)))
    return np.asarray(Image.fromarray(_u8(photo)).resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0


def _grey(arr: np.ndarray) -> np.ndarray:
    return np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr


def _sheet(rows: list[list[np.ndarray]], gap: int = 6) -> Image.Image:
    """Panels in a grid with white gaps."""
    h = sum(max(p.shape[0] for p in row) for row in rows) + gap * (len(rows) - 1)
    w = max(sum(p.shape[1] for p in row) + gap * (len(row) - 1) for row in rows)
    sheet = Image.new("RGB", (w, h), (255, 255, 255))
    y = 0
    for row in rows:
        x = 0
        for p in row:
            sheet.paste(Image.fromarray(_u8(_grey(p))), (x, y))
            x += p.shape[1] + gap
        y += max(p.shape[0] for p in row) + gap
    return sheet


def _save_jpeg(image: Image.Image, path: Path) -> None:
    """Save with the best quality that fits MAX_BYTES, shrinking the picture if even q=60 is too big."""
    while True:
        for quality in (90, 85, 80, 75, 70, 65, 60):
            image.save(path, quality=quality, optimize=True, progressive=True)
            if path.stat().st_size <= MAX_BYTES:
                print(f"{path.name}: {image.width}x{image.height}, q={quality}, {path.stat().st_size // 1024} KB")
                return
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = dict(skimage_samples())
    for level, name, seed in PICTURES:
        clean = _shrink(photos[name])
        sample = synthesize_rain(clean, np.random.default_rng(seed), level)
        _save_jpeg(_sheet([[clean, sample.rainy]]), args.out / f"rain_{level}.jpg")

    clean = _shrink(photos["coffee"], 300)
    sample = synthesize_rain(clean, np.random.default_rng(3), "heavy")
    streak = np.clip(sample.streak * 2.0, 0, 1)  # brightened: S is faint on bright backgrounds
    _save_jpeg(_sheet([[sample.rainy, streak], [sample.alpha, sample.reliance]]), args.out / "rain_maps.jpg")

    still = _shrink(photos["rocket"], 320)
    clip = synthesize_rain_clip(
        still,
        np.random.default_rng(5),
        "heavy",
        frames=4,
        size=(160, 200),
        motion=CameraMotion(pan=(6.0, 0.0), shake=0.5),
    )
    _save_jpeg(_sheet([list(clip.rainy), list(clip.alpha)]), args.out / "rain_clip.jpg")


if __name__ == "__main__":
    main()
