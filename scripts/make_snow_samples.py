"""Make the snow pictures in docs/images from scikit-image's bundled photos.

Run from the repository root: ``python scripts/make_snow_samples.py``. Only package-shipped images are
used (never ../shared), so the pictures may be committed. Output (each < 150 KB):

* ``docs/images/snow_S.jpg``, ``snow_M.jpg``, ``snow_L.jpg``: one photo per level, clean | snowy.
* ``docs/images/snow_mask.jpg``: snowy | mask z | aberration a, to show what the model learns.
* ``docs/images/snow_styles.jpg``: one crop per snow style (``synth snow --style NAME``) at levels M and L.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from weatherclean.data.images import skimage_samples  # noqa: E402
from weatherclean.synth.snow import SNOW_STYLES, synthesize_snow  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from pictures import save_jpeg, sheet  # noqa: E402

#: (level, sample photo, seed): chosen so each picture shows a different kind of background.
PICTURES: tuple[tuple[str, str, int], ...] = (("S", "chelsea", 2), ("M", "rocket", 3), ("L", "astronaut", 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = dict(skimage_samples())
    for level, name, seed in PICTURES:
        clean = photos[name]
        sample = synthesize_snow(clean, np.random.default_rng(seed), level)
        save_jpeg(sheet([[clean, sample.snowy]]), args.out / f"snow_{level}.jpg")
    clean = photos["coffee"]
    sample = synthesize_snow(clean, np.random.default_rng(5), "M")
    mask = np.repeat(sample.mask[..., None], 3, axis=2)
    save_jpeg(sheet([[sample.snowy, mask, sample.aberration]]), args.out / "snow_mask.jpg")
    # One column per style, the same 256-px crop of the astronaut (dark and bright areas), M over L.
    crop = photos["astronaut"][40:296, 120:376]
    columns = [
        [synthesize_snow(crop, np.random.default_rng(seed), level, styles=[style]).snowy for level in ("M", "L")]
        for seed, style in enumerate(SNOW_STYLES)
    ]
    save_jpeg(sheet([list(row) for row in zip(*columns, strict=True)]), args.out / "snow_styles.jpg", 200_000)


if __name__ == "__main__":
    main()
