#!/usr/bin/env python3
"""Score model candidates on the held-out sets of docs/models.md, as `weatherclean evaluate` does, in one table.

    python scripts/score_models.py snow stage3=src/weatherclean/weights/desnownet-light s4=runs/desnownet-light-s4/model
    python scripts/score_models.py rain j4rnet-light=src/weatherclean/weights/j4rnet-light --precision bf16

Each candidate is LABEL=MODEL (a registered name, a folder or a Hub id). The sets are the ones the docs
name: snow S/M/L in data/snow/test_{S,M,L}; rain heavy and light clips in data/rain/test_clips_{heavy,light}
and the real pairs in ../shared/data/paired/rain_{heavy,light} (made by the commands in docs/models.md).
Prints one Markdown row per set and method (input, classical baseline, every candidate) with PSNR/SSIM on
RGB and Y, the gain over the input on Y, and each candidate's mean gain over all sets: the number the
shipping rule compares. ``--reports DIR`` also writes per-image CSVs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weatherclean.evaluation.evaluate import BASELINES, evaluate_rain, evaluate_snow, write_report
from weatherclean.restore import Restorer, load_restorer

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "snow": {f"synthetic {lv}": ROOT / f"data/snow/test_{lv}" for lv in ("S", "M", "L")},
    "rain": {
        "synthetic clips, heavy": ROOT / "data/rain/test_clips_heavy",
        "synthetic clips, light": ROOT / "data/rain/test_clips_light",
        "paired rain_heavy": ROOT.parent / "shared/data/paired/rain_heavy",
        "paired rain_light": ROOT.parent / "shared/data/paired/rain_light",
    },
}


def _db(value: float | None) -> str:
    """A PSNR mean in the table; None is a set whose every picture was exact (PSNR = inf)."""
    return "inf" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("snow", "rain"))
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--reports", type=Path, help="write per-image CSVs here")
    args = parser.parse_args()
    cpu = torch.device("cpu")
    models: dict[str, Restorer] = {}
    for item in args.candidates:
        label, _, name = item.partition("=")
        models[label] = load_restorer(args.task, model=name or label, device=cpu, precision=args.precision)

    gains: dict[str, list[float]] = {label: [] for label in models}
    print("| data | method | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y | gain (Y) |\n|---|---|---|---|---|---|---|")
    for set_name, folder in SETS[args.task].items():
        rows = []
        for i, (label, restorer) in enumerate(models.items()):
            if args.task == "snow":
                result = evaluate_snow(
                    folder, restorer.guard, device=cpu, overlap=restorer.overlap,
                    baselines=dict([BASELINES["median"]]) if i == 0 else {}, model_label=label, progress=False,
                    finish=restorer.finish,
                )  # fmt: skip
            else:
                result = evaluate_rain(
                    folder, restorer.model, device=cpu, overlap=restorer.overlap, baseline=i == 0, model_label=label,
                    progress=False, dtype=restorer.dtype,
                )  # fmt: skip
            summary = result.summary()
            if args.reports:
                args.reports.mkdir(parents=True, exist_ok=True)
                write_report(result, args.reports / f"{label}_{folder.name}.csv")
            base = summary[0].psnr_y
            for s in summary if i == 0 else summary[1:]:
                gain = None if s.psnr_y is None or base is None else s.psnr_y - base
                if s.method == label and gain is not None:
                    gains[label].append(gain)
                rows.append((s, gain))
        for s, gain in rows:
            cells = f"{_db(s.psnr_rgb)} | {s.ssim_rgb:.4f} | {_db(s.psnr_y)} | {s.ssim_y:.4f}"
            shown = "" if s.method == rows[0][0].method else "n/a" if gain is None else f"{gain:+.2f}"
            print(f"| {set_name} | {s.method} | {cells} | {shown} |")
    print()
    for label, values in gains.items():
        each = ", ".join(f"{v:+.2f}" for v in values)
        mean = f"{np.mean(values):+.3f} dB" if values else "n/a"
        print(f"{label}: mean gain (Y) {mean} over {len(values)} sets ({each})")


if __name__ == "__main__":
    main()
