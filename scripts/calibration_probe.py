#!/usr/bin/env python3
"""How much a snow or rain model darkens a pixel against how much it should have, per level of weather.

    python scripts/calibration_probe.py desnownet-light --data data/snow_tune31 \\
        > runs/scores/round18-calibration-probe.txt
    python scripts/calibration_probe.py j4rnet-wide --task rain --data data/rain \\
        > runs/scores/round18-calibration-probe-rain.txt

For every pixel of every picture in ``DATA/test_{STYLE}_{LEVEL}`` (sets made by ``weatherclean synth snow``
from TRAINING backgrounds, so no held-out picture is looked at; with ``--task rain``, rain's tuning photos
``DATA/tune_light`` and ``DATA/tune_heavy``, ``rain/`` beside ``gt/``), the change the model made to its
luma, d = Y(out) − Y(in), is binned, and in each bin the mean true change, E[t | d] with t = Y(clean) −
Y(in), is printed per level, in grey levels. The output is first clipped to the input (a snow model only
darkens), which is what the bins read.

Why: a model whose answer depends only on a neighbourhood gives the same d for the same local pattern,
whatever the level. Where E[t | d] differs by level for the same d, no threshold or strength applied to
the model's output can be right for all levels; the model needs to know how snowy the picture is (snow
round 18, docs/model-history.md). ``--per-set N`` reads the first N pictures of each set (all by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from weatherclean.data.images import list_images, read_rgb
from weatherclean.data.snow import find_snow100k
from weatherclean.synth.snow import SNOW_LEVELS, SNOW_STYLES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_snow_styles import load_candidates  # noqa: E402

#: Bin edges of the model's change, in grey levels (0 and darker).
EDGES = np.array([0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256], dtype=np.float64)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in grey levels, in float64: :func:`weatherclean.data.negatives.luma` has the same weights
    in float32, which moves a few pixels across the bins' edges (runs/scores/round18-calibration-probe*.txt
    were made with this one)."""
    return 255.0 * (0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2])


def snow_pairs(data: Path, per_set: int | None) -> dict[str, list[tuple[Path, Path]]]:
    """Level → (snowy, clean) paths over every style's set of that level (the first ``per_set`` of each)."""
    pairs: dict[str, list[tuple[Path, Path]]] = {}
    for level in SNOW_LEVELS:
        for style in SNOW_STYLES:
            folder = data / f"test_{style}_{level}"
            if not folder.is_dir():
                raise SystemExit(f"{folder}: no such set (make it with weatherclean synth snow --style {style})")
            pairs.setdefault(level, []).extend((t.synthetic, t.gt) for t in list(find_snow100k(folder))[:per_set])
    return pairs


def rain_pairs(data: Path) -> dict[str, list[tuple[Path, Path]]]:
    """Level → (rainy, clean) paths of rain's tuning photos."""
    pairs = {}
    for level in ("light", "heavy"):
        folder = data / f"tune_{level}"
        if not (folder / "rain").is_dir():
            raise SystemExit(f"{folder}: no rain/ folder (rain's tuning photos, weatherclean synth rain)")
        pairs[level] = [(p, folder / "gt" / p.name) for p in list_images(folder / "rain")]
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name, a model folder or LABEL=MODEL[@T]")
    parser.add_argument("--task", choices=["snow", "rain"], default="snow")
    parser.add_argument("--data", type=Path, required=True, help="folder of the sets")
    parser.add_argument("--per-set", type=int, default=None, help="pictures per set (default: all)")
    args = parser.parse_args()
    net = next(iter(load_candidates([args.model], task=args.task).values()))
    if args.task == "snow":
        pairs = snow_pairs(args.data, args.per_set)
    else:
        pairs = {k: v[: args.per_set] for k, v in rain_pairs(args.data).items()}
    bins = len(EDGES) - 1
    count, change, truth = (np.zeros((len(pairs), bins)) for _ in range(3))
    for li, level in enumerate(pairs):
        for weathered, clean_path in pairs[level]:
            x, clean = read_rgb(weathered), read_rgb(clean_path)
            out = np.minimum(net.restore(x), x)
            d = (luma(out) - luma(x)).ravel()
            t = (luma(clean) - luma(x)).ravel()
            index = np.clip(np.searchsorted(EDGES, -d, side="right") - 1, 0, bins - 1)
            count[li] += np.bincount(index, minlength=bins)
            change[li] += np.bincount(index, d, minlength=bins)
            truth[li] += np.bincount(index, t, minlength=bins)
    print(f"{args.model} on {args.data} ({args.per_set or 'all'} pictures per set)")
    print("model's change d (grey levels) | per level: pixels, mean d, mean true change E[t | d]")
    for i in range(bins):
        cells = []
        for li, level in enumerate(pairs):
            n = max(count[li, i], 1.0)
            cells.append(f"{level} {count[li, i]:9.0f} {change[li, i] / n:8.2f} {truth[li, i] / n:8.2f}")
        print(f"[{-EDGES[i + 1]:7.1f}, {-EDGES[i]:5.1f}] | " + " | ".join(cells))


if __name__ == "__main__":
    main()
