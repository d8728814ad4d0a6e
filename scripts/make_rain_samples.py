"""Make the rain pictures in docs/images from scikit-image's bundled photos.

Run from the repository root: ``python scripts/make_rain_samples.py``. Only package-shipped images are
used (never ../shared), so the pictures may be committed. The level, map and clip pictures show the
``lines`` style, the one docs/synthesis.md describes layer by layer. Output (each < 150 KB, the styles
picture < 200 KB):

* ``docs/images/rain_light.jpg`` and ``rain_heavy.jpg``: clean | rainy, one photo per level.
* ``docs/images/rain_maps.jpg``: rainy O | streaks S | occlusion alpha | reliance A, what J4R-Net learns.
* ``docs/images/rain_clip.jpg``: four consecutive frames of a synthetic clip (camera panning right),
  rainy frames above their alpha maps, to show the rain falling coherently.
* ``docs/images/rain_styles.jpg``: one column per rain style (``synth rain --style NAME``), light rain
  above heavy rain, on the same crop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from weatherclean.data.images import skimage_samples  # noqa: E402
from weatherclean.synth.rain import RAIN_LEVELS, RAIN_STYLES, CameraMotion, synthesize_rain, synthesize_rain_clip  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from pictures import save_jpeg, sheet, shrink  # noqa: E402

#: (level, sample photo, seed): chosen so each picture shows a different kind of background.
PICTURES: tuple[tuple[str, str, int], ...] = (("light", "chelsea", 11), ("heavy", "astronaut", 2))
#: Photos are shrunk to this width before the rain is added, so the streaks keep their real pixel size.
WIDTH = 384
#: The seed of each style's column in rain_styles.jpg.
STYLE_SEEDS: dict[str, int] = {"lines": 3, "wide": 7, "crossing": 4, "drizzle": 3, "lens": 4, "downpour": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = dict(skimage_samples())
    for level, name, seed in PICTURES:
        clean = shrink(photos[name], WIDTH)
        sample = synthesize_rain(clean, np.random.default_rng(seed), level, ["lines"])
        save_jpeg(sheet([[clean, sample.rainy]]), args.out / f"rain_{level}.jpg")

    clean = shrink(photos["coffee"], 300)
    sample = synthesize_rain(clean, np.random.default_rng(3), "heavy", ["lines"])
    streak = np.clip(sample.streak * 2.0, 0, 1)  # brightened: S is faint on bright backgrounds
    save_jpeg(sheet([[sample.rainy, streak], [sample.alpha, sample.reliance]]), args.out / "rain_maps.jpg")

    still = shrink(photos["rocket"], 320)
    clip = synthesize_rain_clip(
        still,
        np.random.default_rng(5),
        "heavy",
        frames=4,
        size=(160, 200),
        motion=CameraMotion(pan=(6.0, 0.0), shake=0.5),
        styles=["lines"],
    )
    save_jpeg(sheet([list(clip.rainy), list(clip.alpha)]), args.out / "rain_clip.jpg")

    # One column per style, the same 256-px crop of the astronaut (a dark suit against a bright wall, so
    # both bright and faint rain show), light over heavy. Seeds chosen so each style shows its features.
    crop = shrink(photos["astronaut"], 384)[40:296, 64:320]
    columns = [
        [
            synthesize_rain(crop, np.random.default_rng(STYLE_SEEDS[style]), level, [style]).rainy
            for level in RAIN_LEVELS
        ]
        for style in RAIN_STYLES
    ]
    save_jpeg(sheet([list(row) for row in zip(*columns, strict=True)]), args.out / "rain_styles.jpg", 200_000)


if __name__ == "__main__":
    main()
