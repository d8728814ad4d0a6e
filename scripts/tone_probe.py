#!/usr/bin/env python3
"""How far models move weather-free photos once the photos are brighter or flatter: five fixed tone changes.

    python scripts/tone_probe.py data/rain/tune_clean shipped=j4rnet-light new=runs/r13k-s2/model --task rain

Each photo of the folder is scored as it is and after each change below (fixed amounts, unlike the
random ones of ``--tone-fraction``), and each model's output is compared with its own input: mean and
worst PSNR-Y, the mean shift of R, G and B in grey levels, and the largest one photo has. A model that
takes brightness or low contrast for weather darkens the changed photos. Candidates are
``LABEL=MODEL[@T[/V]]`` as in ``score_rain_styles.py``; fp32 on the CPU.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from weatherclean.data.images import list_images, read_rgb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_snow_styles import load_candidates, score_unchanged  # noqa: E402

#: The changes, each a function of a float picture in [0, 1].
CHANGES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as it is": lambda x: x,
    "exposure x1.35": lambda x: np.clip(x * 1.35, 0.0, 1.0),
    "gamma 0.6": lambda x: x**0.6,
    "30 % haze of 0.9": lambda x: 0.7 * x + 0.3 * 0.9,
    "contrast 0.6 around 0.7": lambda x: np.clip((x - x.mean()) * 0.6 + 0.7, 0.0, 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="weather-free photos")
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL[@T[/V]]")
    parser.add_argument("--task", choices=("snow", "rain"), default="rain")
    args = parser.parse_args()
    photos = [read_rgb(p) for p in list_images(args.photos)]
    print("| model | photos | PSNR-Y mean | worst | mean shift R/G/B | largest shift |")
    print("|---|---|---|---|---|---|")
    for label, net in load_candidates(args.candidates, task=args.task).items():
        for name, change in CHANGES.items():
            row = score_unchanged([change(photo).astype(np.float32) for photo in photos], {label: net})[label]
            r, g, b = row["mean_shift_rgb"]
            print(
                f"| {label} | {name} | {row['psnr_y']:.2f} | {row['worst_psnr_y']:.2f} | "
                f"{r:+.2f} / {g:+.2f} / {b:+.2f} | {row['worst_shift']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
