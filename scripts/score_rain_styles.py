#!/usr/bin/env python3
"""Score rain models per rain style and level, photos and clips, on the real pairs, and on dry photos (no harm).

    python scripts/score_rain_styles.py bundled=src/weatherclean/weights/j4rnet-light \\
        new=runs/r13-all-s2/model --json runs/scores/issue13.json

Each candidate is LABEL=MODEL (a registered name, a folder or a Hub id); ``LABEL=MODEL@T`` also sets
the model's pass-through threshold to T (``@0`` turns the gate off) and ``@T/V`` its veil threshold
too, which is how thresholds are tuned without editing ``config.json``. The sets are the issue-13
held-out sets of docs/models.md (``runs/make_rain_sets.sh``; ``--data`` picks another folder of them):
``data/rain/photo_{STYLE}_{LEVEL}`` (single photos, each derained alone) and
``data/rain/clip_{STYLE}_{LEVEL}`` (9-frame clips, memory carried frame to frame), then
``../shared/data/paired/{rain_heavy,rain_light,spa_real_vrgnet}``, then the dry held-out backgrounds
(``data/snow/heldout_clean``): for those, the PSNR-Y of each output against its own input and the
largest mean shift of one colour channel, in grey levels (and their median, and how many reach 40 dB).
Every picture's PSNR-Y is kept too (``pictures`` in the JSON), and the real pairs' are printed one by one:
a set's mean can gain while one of its pictures ends below its input.

Every set is scored with :func:`weatherclean.evaluation.evaluate.evaluate_rain`, the code behind
``weatherclean evaluate --task rain``, in fp32 on the CPU, so numbers do not depend on the machine's
bf16 support. ``--sets`` and ``--clean`` point it at other folders (the threshold's tuning sets).
``--with EARLIER.json`` adds the models of an earlier run over the same sets as columns (the bundled
model scored once, while a candidate still trains); a set missing there, or whose input scores
differently, stops the run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from weatherclean.evaluation.evaluate import evaluate_rain
from weatherclean.restore import Restorer
from weatherclean.synth.rain import RAIN_STYLES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_snow_styles import add_with_option, load_candidates, load_earlier, merge_earlier, score_clean  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAIRED = ("rain_heavy", "rain_light", "spa_real_vrgnet")


def _db(value: float) -> str:
    """A PSNR in a table: ``inf`` for a set or picture restored exactly."""
    return "inf" if math.isinf(value) else f"{value:.2f}"


def _gain(value: float, base: float) -> str:
    """A gain over the input in a table; ``n/a`` where either side is infinite (no number says it)."""
    return f"{value - base:+.2f}" if math.isfinite(value) and math.isfinite(base) else "n/a"


def default_sets(data: Path) -> dict[str, Path]:
    """Set name → folder: photos and clips per style and level, then the real pairs, in table order."""
    sets = {}
    for kind in ("photo", "clip"):
        for style in (*RAIN_STYLES, "mixed"):
            for level in ("light", "heavy"):
                sets[f"{kind} {style} {level}"] = data / f"{kind}_{style}_{level}"
    for name in PAIRED:
        sets[f"paired {name}"] = ROOT.parent / "shared/data/paired" / name
    return {name: folder for name, folder in sets.items() if folder.is_dir()}


def score_set(folder: Path, restorers: dict[str, Restorer]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean PSNR-Y of the input and of each model over every frame of the set, run as ``evaluate`` runs it
    (the restorer's tile overlap and precision), and each picture's PSNR-Y (label → frame → dB): a set's
    mean can gain while one of its pictures ends below its input."""
    scores: dict[str, float] = {}
    pictures: dict[str, dict[str, float]] = {}
    for label, r in restorers.items():
        result = evaluate_rain(
            folder, r.model, device=r.device, tile=r.tile, overlap=r.overlap, dtype=r.dtype, progress=False,
            model_label=label,
        )  # fmt: skip
        for summary in result.summary():
            # A mean of None: every picture exact. Kept as inf, as the files written before this said it.
            psnr_y = math.inf if summary.psnr_y is None else summary.psnr_y
            scores[summary.method if summary.method != result.input_method else "input"] = psnr_y
        for row in result.rows:
            pictures.setdefault("input" if row.method == result.input_method else row.method, {})[row.name] = row.psnr_y
    return scores, pictures


def print_pictures(pictures: dict[str, dict[str, dict[str, float]]], labels: list[str]) -> None:
    """Per picture of the real pairs: the input's PSNR-Y and each model's gain (models of a ``--with``
    file written before pictures were recorded have none, and are left out)."""
    shown = [m for m in labels if all(m in p for p in pictures.values())]
    print("\n| real pair, picture | input | " + " | ".join(f"{m} (gain)" for m in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for name, per_model in pictures.items():
        for picture, before in per_model["input"].items():
            cells = [_gain(per_model[m][picture], before) for m in shown]
            print(f"| {name} {picture} | {_db(before)} | " + " | ".join(cells) + " |")


def summarise(table: dict[str, dict], labels: list[str]) -> dict[str, dict[str, float]]:
    """Per model: mean gain over all sets, over light sets, and how many light sets end below the input (a set
    whose input or output is exact, PSNR = inf, has no gain to count)."""
    out = {}
    for m in labels:
        gains = {k: row[m] - row["input"] for k, row in table.items() if k != "clean"}
        gains = {k: g for k, g in gains.items() if math.isfinite(g)}
        light = {k: g for k, g in gains.items() if "light" in k}
        out[m] = {
            "mean_gain": float(np.mean(list(gains.values()))) if gains else float("nan"),
            "light_mean_gain": float(np.mean(list(light.values()))) if light else float("nan"),
            "light_below_input": sum(g < 0 for g in light.values()),
            "sets": len(gains),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL[@T[/V]]")
    parser.add_argument("--data", type=Path, default=ROOT / "data/rain", help="folder holding the test sets")
    parser.add_argument("--sets", nargs="*", type=Path, help="score these folders instead of the default sets")
    parser.add_argument("--clean", type=Path, default=ROOT / "data/snow/heldout_clean", help="dry photos")
    parser.add_argument("--json", type=Path, help="also write every number here")
    add_with_option(parser)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    restorers = load_candidates(args.candidates, task="rain")
    sets = {p.name: p for p in args.sets} if args.sets is not None else default_sets(args.data)
    earlier, earlier_labels, earlier_pictures = load_earlier(args.earlier, exclude=restorers, names=sets)
    labels = earlier_labels + list(restorers)

    table: dict[str, dict] = {}
    pictures: dict[str, dict[str, dict[str, float]]] = {}
    print("| set | input | " + " | ".join(f"{m} (gain)" for m in labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for name, folder in sets.items():
        scores, pictures[name] = score_set(folder, restorers)
        pictures[name].update({m: p for m, p in earlier_pictures.get(name, {}).items() if m in earlier_labels})
        row = merge_earlier(name, scores, earlier, earlier_labels)
        table[name] = row
        cells = [f"{_db(row[m])} ({_gain(row[m], row['input'])})" for m in labels]
        print(f"| {name} | {_db(row['input'])} | " + " | ".join(cells) + " |", flush=True)
    clean = merge_earlier("clean", score_clean(args.clean, restorers), earlier, earlier_labels)
    table["clean"] = clean
    cells = []
    for m in labels:
        shift = "/".join(f"{s:+.2f}" for s in clean[m]["mean_shift_rgb"])
        median = clean[m].get("median_psnr_y")  # absent from files written before it was recorded
        at_40 = f", median {median:.2f}, {clean[m]['photos_at_40']} of {clean[m]['photos']} >= 40" if median else ""
        cells.append(
            f"{clean[m]['psnr_y']:.2f} dB (worst {clean[m]['worst_psnr_y']:.2f}{at_40}), shift {shift}, "
            f"worst |shift| {clean[m]['worst_shift']:.2f}"
        )
    print("| dry photos | ∞ | " + " | ".join(cells) + " |")
    print_pictures({k: v for k, v in pictures.items() if sets[k].parent.name == "paired"}, labels)
    print()
    summary = summarise(table, labels)
    for m, s in summary.items():
        print(
            f"{m}: mean gain (Y) {s['mean_gain']:+.3f} dB over {s['sets']} sets; "
            f"light sets {s['light_mean_gain']:+.3f} dB, {s['light_below_input']} below the input"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"sets": table, "summary": summary, "pictures": pictures}, indent=1) + "\n")


if __name__ == "__main__":
    main()
