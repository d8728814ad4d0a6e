"""Make the snow pictures in docs/images from scikit-image's bundled photos.

Run from the repository root: ``python scripts/make_snow_samples.py``. Only package-shipped images are
used (never ../shared), so the pictures may be committed. Output (each < 150 KB):

* ``docs/images/snow_S.jpg``, ``snow_M.jpg``, ``snow_L.jpg``: one photo per level, clean | snowy.
* ``docs/images/snow_mask.jpg``: snowy | mask z | aberration a, to show what the model learns.
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
from weatherclean.synth.snow import synthesize_snow  # noqa: E402

#: (level, sample photo, seed): chosen so each picture shows a different kind of background.
PICTURES: tuple[tuple[str, str, int], ...] = (("S", "chelsea", 2), ("M", "rocket", 3), ("L", "astronaut", 4))
MAX_BYTES = 150_000


def _u8(arr: np.ndarray) -> np.ndarray:
    return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)


def _side_by_side(panels: list[np.ndarray], gap: int = 6) -> Image.Image:
    h = max(p.shape[0] for p in panels)
    w = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    sheet = Image.new("RGB", (w, h), (255, 255, 255))
    x = 0
    for p in panels:
        sheet.paste(Image.fromarray(_u8(p)), (x, 0))
        x += p.shape[1] + gap
    return sheet


def _save_jpeg(image: Image.Image, path: Path) -> None:
    """Save with the best quality that fits MAX_BYTES, shrinking the picture if even q=60 is too big."""
    while True:
        for quality in (90, 85, 80, 75, 70, 65, 60):
            image.save(path, quality=quality, optimize=True, progressive=True)
            if path.stat().st_size <= MAX_BYTES:
                print(
                    f"{path.relative_to(ROOT)}: {image.width}x{image.height}, q={quality}, "
                    f"{path.stat().st_size // 1024} KB"
                )
                return
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = dict(skimage_samples())
    for level, name, seed in PICTURES:
        clean = photos[name]
        sample = synthesize_snow(clean, np.random.default_rng(seed), level)
        _save_jpeg(_side_by_side([clean, sample.snowy]), args.out / f"snow_{level}.jpg")
    clean = photos["coffee"]
    sample = synthesize_snow(clean, np.random.default_rng(5), "M")
    mask = np.repeat(sample.mask[..., None], 3, axis=2)
    _save_jpeg(_side_by_side([sample.snowy, mask, sample.aberration]), args.out / "snow_mask.jpg")


if __name__ == "__main__":
    main()
