#!/usr/bin/env python3
"""What a strength S would do: the output moved S times the model's change, y = x + S (model(x) − x).

    python scripts/strength_probe.py --snow data/snow34 --rain data/rain34 --json runs/scores/strength-probe.json

The question and its rule are in ``runs/strength-rule.txt`` (written before the sets were made). Each
picture goes through the bundled default once (``desnownet-light`` for ``test_*`` snow sets,
``j4rnet-wide`` for ``photo_*`` rain sets; fp32 on the CPU, whole picture as the commands tile it), and
every strength is scored from that one output, clipped to [0, 1] and scored in 8 bits (PSNR on Y
against the ground truth, mean over the set), so the strengths differ only in S.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from weatherclean.data.images import read_rgb
from weatherclean.data.rain import find_rain_pairs
from weatherclean.data.snow import find_snow100k
from weatherclean.evaluation.metrics import psnr
from weatherclean.restore import Restorer, load_restorer

STRENGTHS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def pairs(folder: Path, task: str) -> list[tuple[Path, Path]]:
    """(weathered, clean) picture paths of one set."""
    if task == "snow":
        return [(t.synthetic, t.gt) for t in find_snow100k(folder)]
    return [(c.rainy[0], c.clean[0]) for c in find_rain_pairs(folder) if c.clean]


def score_set(folder: Path, task: str, net: Restorer) -> dict[str, float]:
    """Mean PSNR-Y of the input and of each strength's output."""
    scores: dict[str, list[float]] = {"input": [], **{f"{s:g}": [] for s in STRENGTHS}}
    for weathered, clean in pairs(folder, task):
        x, gt = read_rgb(weathered), read_rgb(clean)
        change = net.restore(x).astype(np.float32) - x
        scores["input"].append(psnr(x, gt, y_channel=True))
        for s in STRENGTHS:
            scores[f"{s:g}"].append(psnr(np.clip(x + s * change, 0.0, 1.0), gt, y_channel=True))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snow", type=Path, help="folder of test_STYLE_LEVEL snow sets")
    parser.add_argument("--rain", type=Path, help="folder of photo_STYLE_LEVEL rain sets")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    args = parser.parse_args()
    result: dict[str, dict[str, dict[str, float]]] = {}
    for task, root, glob in (("snow", args.snow, "test_*"), ("rain", args.rain, "photo_*")):
        if root is None:
            continue
        net = load_restorer(task, device="cpu", precision="fp32")
        print(f"\n{task} ({root}): PSNR-Y in dB, gain over the input in brackets")
        print("| set | input | " + " | ".join(f"S={s:g}" for s in STRENGTHS) + " |")
        print("|---|---|" + "---|" * len(STRENGTHS))
        for folder in sorted(root.glob(glob)):
            scores = result.setdefault(task, {})[folder.name] = score_set(folder, task, net)
            cells = [f"{scores[f'{s:g}']:.2f} ({scores[f'{s:g}'] - scores['input']:+.2f})" for s in STRENGTHS]
            print(f"| {folder.name} | {scores['input']:.2f} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
