#!/usr/bin/env python3
"""Write each photo of a folder once per tone change (brighter, gamma-lifted, hazy), for measuring harm.

    python scripts/retone_photos.py data/snow/heldout_clean data/rain12/bright_clean --seed 12119

The photos carry no weather, so a model should return each one unchanged; ``score_rain_styles.py
--clean OUT`` (or ``score_snow_styles.py --clean OUT``) measures how far it does not. The tone changes
are those of training's ``--tone-fraction`` (weatherclean.data.tones), each photo in each of them,
drawn from (``--seed``, the photo's name, the tone), so adding a photo changes no other; files are
PNG, named ``NAME_TONE.png``.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from weatherclean.data.images import list_images, read_rgb
from weatherclean.data.tones import TONES, retone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = list_images(args.photos)
    for path in paths:
        image = read_rgb(path)
        for index, tone in enumerate(TONES):
            rng = np.random.default_rng([args.seed, zlib.crc32(path.stem.encode()), index])
            out = retone(rng, image, tone)
            Image.fromarray(np.round(out * 255.0).astype(np.uint8)).save(args.out / f"{path.stem}_{tone}.png")
    print(f"{len(paths) * len(TONES)} photos written to {args.out}")


if __name__ == "__main__":
    main()
