#!/usr/bin/env python3
"""Pick a model and its gate thresholds from tuning scores, by the rule written before scoring.

    python scripts/pick_thresholds.py runs/scores/round2-tune-rain.json --light tune_light --heavy tune_heavy
    python scripts/pick_thresholds.py runs/scores/round2-tune-snow.json --light mixed_S --heavy mixed_M

The JSON is what ``score_rain_styles.py`` or ``score_snow_styles.py`` wrote for the tuning sets (made
from training backgrounds). The rule (docs/model-history.md, "Round 2"): among the candidates whose weather-free
PSNR-Y against the input is >= 40 dB, whose largest |mean channel shift| is <= 0.5 grey levels and whose
light-set gain is >= 0, the highest heavy-set gain; if none, among those with light gain >= 0, the
highest weather-free PSNR-Y (ties: the higher heavy gain); if none, nothing.

``--against LABEL`` is snow round 11's pick (runs/round11-snow-rule.txt), round 9's made mechanical:
the reference LABEL (the shipped model, scored in the same run) is not a candidate; among the others
whose weather-free PSNR-Y is at least the reference's, whose largest |mean channel shift| is no larger
and whose light-set gain is >= 0, the highest heavy-set gain; if none, nothing.

    python scripts/pick_thresholds.py runs/scores/round11-tune-snow.json --light mixed_S --heavy mixed_M \
        --against bundled
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CLEAN_DB = 40.0
MAX_SHIFT = 0.5


def _psnr(row: dict, label: str) -> float:
    value = row[label]
    return float(value["psnr_y"] if isinstance(value, dict) else value)


def tuning_numbers(scores: dict, light: str, heavy: str) -> dict[str, dict[str, float]]:
    """Label → clean PSNR-Y, largest |mean channel shift|, light gain and heavy gain."""
    sets = scores.get("sets", scores)  # the rain script nests the sets; the snow script does not
    clean = sets["clean"]
    out = {}
    for label, c in clean.items():
        out[label] = {
            "clean_db": float(c["psnr_y"]),
            "shift": max(abs(s) for s in c["mean_shift_rgb"]),
            "light_gain": _psnr(sets[light], label) - _psnr(sets[light], "input"),
            "heavy_gain": _psnr(sets[heavy], label) - _psnr(sets[heavy], "input"),
        }
    return out


def pick(numbers: dict[str, dict[str, float]]) -> str | None:
    """The rule above; None when no candidate keeps light weather at least as good as the input."""
    safe = [m for m, n in numbers.items() if n["light_gain"] >= 0]
    passing = [m for m in safe if numbers[m]["clean_db"] >= CLEAN_DB and numbers[m]["shift"] <= MAX_SHIFT]
    if passing:
        return max(passing, key=lambda m: numbers[m]["heavy_gain"])
    if safe:
        return max(safe, key=lambda m: (numbers[m]["clean_db"], numbers[m]["heavy_gain"]))
    return None


def pick_against(numbers: dict[str, dict[str, float]], reference: str) -> str | None:
    """``--against``: the highest heavy gain among the candidates at least as close to their weather-free
    input as ``reference``, with no larger shift and light gain >= 0; None when there is none."""
    ref = numbers[reference]
    passing = [m for m, n in numbers.items()
               if m != reference and n["clean_db"] >= ref["clean_db"] and n["shift"] <= ref["shift"]
               and n["light_gain"] >= 0]  # fmt: skip
    return max(passing, key=lambda m: numbers[m]["heavy_gain"]) if passing else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scores", type=Path)
    parser.add_argument("--light", required=True, help="the light tuning set's key in the JSON")
    parser.add_argument("--heavy", required=True, help="the heavy tuning set's key in the JSON")
    parser.add_argument("--against", metavar="LABEL", help="pick against this reference model (see above)")
    args = parser.parse_args()
    numbers = tuning_numbers(json.loads(args.scores.read_text()), args.light, args.heavy)
    if args.against and args.against not in numbers:
        raise SystemExit(f"--against {args.against}: no such label in {args.scores} ({', '.join(numbers)})")
    print("| candidate | clean PSNR-Y | max |shift| | light gain | heavy gain |")
    print("|---|---|---|---|---|")
    for label, n in numbers.items():
        print(f"| {label} | {n['clean_db']:.2f} | {n['shift']:.2f} | {n['light_gain']:+.2f} | {n['heavy_gain']:+.2f} |")
    print(f"\npicked: {pick_against(numbers, args.against) if args.against else pick(numbers)}")


if __name__ == "__main__":
    main()
