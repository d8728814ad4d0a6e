#!/usr/bin/env python3
"""Score snow models per snow style and level, on clean photos (no harm), and count new dark pixels.

    python scripts/score_snow_styles.py bundled=src/weatherclean/weights/desnownet-light \\
        new=runs/snow12-all/model --json docs/results/snow_styles.json

Each candidate is LABEL=MODEL (a registered name, a folder or a Hub id). The sets are the issue-12
held-out sets of docs/models.md: ``data/snow/test_{STYLE}_{LEVEL}`` (made by ``weatherclean synth snow
data/snow/heldout_clean ... --style STYLE --level LEVEL --seed 1234``) and the held-out backgrounds
themselves, ``data/snow/heldout_clean``, with no snow at all. For every set it prints the mean PSNR on Y
of the input and of each candidate; on the snow-free photos the PSNR-Y of each output against its input
and the largest mean shift of one colour channel, in grey levels. "dark ‰" counts, per thousand pixels,
those the model made more than 16 grey levels darker than both the snowy input and the clean truth:
the dark dots and rings a desnowing model can leave where a flake was.

Models run whole-image (tiled as ``desnow`` tiles them) in fp32 on the CPU, so numbers do not depend on
the machine's bf16 support. ``--with EARLIER.json`` adds the models of an earlier run over the same sets
as columns (the bundled model scored once, while a candidate still trains); a set missing there, or
whose input scores differently, stops the run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Container, Iterable
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import list_images, read_rgb
from weatherclean.data.snow import find_snow100k
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import load_model
from weatherclean.models.family import with_config
from weatherclean.restore import Restorer, load_restorer
from weatherclean.synth.snow import SNOW_LEVELS, SNOW_STYLES

ROOT = Path(__file__).resolve().parent.parent
DARK = 16.0 / 255.0


def parse_candidate(item: str) -> tuple[str, str, float | None, float | None]:
    """``LABEL=MODEL[@T[/V]]`` → label, model name, the gate threshold ``pass_through`` T and J4R-Net's
    ``veil_threshold`` V (None where not given), which is how thresholds are tuned without editing
    ``config.json``. A tail that is not numbers stays part of the name (a Hub id ``owner/name@revision``).
    Also used by ``score_rain_styles.py``."""
    label, _, spec = item.partition("=")
    spec = spec or label
    name, _, tail = spec.rpartition("@")
    if not name or not re.fullmatch(r"[0-9.]+(/[0-9.]+)?", tail):
        return label, spec, None, None
    t, _, v = tail.partition("/")
    return label, name, float(t), float(v) if v else None


def load_candidates(items: list[str], task: str = "snow") -> dict[str, Restorer]:
    """``LABEL=MODEL[@T[/V]]`` arguments (a registered name, a folder or a Hub id) as label → restorer on the
    CPU, in fp32 so that scores compare across machines. ``@T`` alone is ``--pass-through T`` (``@0`` turns
    the gate off, veil term included); with ``/V`` both are set at once, since a veil term needs a gate."""
    models = {}
    for item in items:
        label, name, t, v = parse_candidate(item)
        net = load_model(name, device="cpu", task=task)
        if v is not None and hasattr(net.config, "veil_threshold"):
            net, t = with_config(net, pass_through=t, veil_threshold=v), None
        elif v:
            raise SystemExit(f"{item}: /V (veil threshold) is a J4R-Net setting; {name} has none")
        models[label] = load_restorer(task, model=net, device="cpu", precision="fp32", pass_through=t)
    return models


def score_set(folder: Path, models: dict[str, Restorer]) -> dict[str, dict[str, float]]:
    """Mean PSNR-Y of the input and of each model, and each model's new dark pixels per thousand."""
    scores: dict[str, list[float]] = {"input": []}
    dark: dict[str, list[float]] = {}
    for triple in find_snow100k(folder):
        snowy, clean = read_rgb(triple.synthetic), read_rgb(triple.gt)
        scores["input"].append(psnr(snowy, clean, y_channel=True))
        floor = np.minimum(snowy, clean).min(axis=2) - DARK
        for label, net in models.items():
            out = net.restore(snowy)
            scores.setdefault(label, []).append(psnr(out, clean, y_channel=True))
            dark.setdefault(label, []).append(1000.0 * float((out.min(axis=2) < floor).mean()))
    result = {label: {"psnr_y": float(np.mean(v))} for label, v in scores.items()}
    for label, v in dark.items():
        result[label]["dark_permille"] = float(np.mean(v))
    return result


def score_clean(folder: Path, models: dict[str, Restorer]) -> dict[str, dict[str, float]]:
    """Photos without weather: PSNR-Y of each output against its input, and the mean channel shifts (also
    used by ``score_rain_styles.py``)."""
    return score_unchanged([read_rgb(p) for p in list_images(folder)], models)


def unchanged(net: Restorer, image: np.ndarray, out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """What ``net`` does to a picture it should leave alone: the PSNR-Y of its output against the picture,
    and the mean change per channel in grey levels (also used by ``unchanged_photos.py``, which passes
    the ``out`` it has already computed)."""
    out = net.restore(image) if out is None else out
    return psnr(out, image, y_channel=True), 255.0 * (out.astype(np.float64) - image).reshape(-1, 3).mean(axis=0)


def score_unchanged(images: list[np.ndarray], models: dict[str, Restorer]) -> dict[str, dict[str, float]]:
    """:func:`score_clean` on pictures already in hand (float in [0, 1]; ``tone_probe.py`` changes them
    first): what each model should return unchanged, scored against itself."""
    result = {}
    for label, net in models.items():
        values, shifts = zip(*(unchanged(net, image) for image in images), strict=True)
        mean_shift = np.mean(shifts, axis=0)
        # One PSNR of the mean squared change over all photos: finite when some photos come back unchanged
        # (infinite dB each, e.g. under a picture gate), where the mean of per-photo PSNRs is not.
        pooled = -10.0 * np.log10(max(float(np.mean([10.0 ** (-v / 10.0) for v in values])), 1e-30))
        result[label] = {
            "psnr_y": float(np.mean(values)),
            "pooled_psnr_y": float(pooled),
            "unchanged": int(sum(np.isinf(v) for v in values)),
            "worst_psnr_y": float(np.min(values)),
            "median_psnr_y": float(np.median(values)),
            "photos_at_40": int(sum(v >= 40.0 for v in values)),  # issue 12 and 13's pass-through bar
            "photos": len(values),
            "mean_shift_rgb": [float(s) for s in mean_shift],
            "worst_shift": float(np.max(np.abs(shifts))),
        }
    return result


def load_earlier(
    path: Path | None, exclude: Container[str], names: Iterable[str]
) -> tuple[dict[str, dict], list[str], dict[str, dict]]:
    """An earlier ``--json`` run's sets, the labels of its models that are not run again (``--with``), and its
    per-picture scores (``pictures``; empty for a file without them).

    Every set about to be scored (``names``) must be in it, checked before anything runs, so that a
    mismatch costs seconds, not a scoring run. The weather-free photos' columns are taken as they are:
    an unchanged input scores ∞ there, so no input score can tell two folders apart.
    """
    if path is None:
        return {}, [], {}
    data = json.loads(path.read_text())
    sets = data.get("sets", data)  # the rain script nests the sets; this one does not
    missing = [n for n in names if n not in sets]
    if missing:
        sys.exit(f"error: {path} has no scores for {', '.join(missing)}; score them again with every model")
    return sets, [m for m in sets.get("clean", {}) if m not in exclude], data.get("pictures", {})


def merge_earlier(name: str, row: dict, earlier: dict[str, dict], labels: list[str]) -> dict:
    """``row`` with the earlier run's models added; the input's score must match, or the sets differ.

    The weather-free photos' row (``clean``) has no input score to compare (see :func:`load_earlier`).
    """
    if not labels:
        return row
    if "input" in row:
        before, now = (v["psnr_y"] if isinstance(v, dict) else v for v in (earlier[name]["input"], row["input"]))
        if abs(before - now) > 1e-6:
            sys.exit(f"error: set {name!r}: the input scored {before:.4f} before and {now:.4f} now: not the same set")
    return {**row, **{m: earlier[name][m] for m in labels}}


def add_with_option(parser: argparse.ArgumentParser) -> None:
    """``--with EARLIER.json``, the same in both score scripts."""
    parser.add_argument(
        "--with", dest="earlier", type=Path, metavar="JSON",
        help="an earlier --json of the same sets: its models become columns too, without running them again",
    )  # fmt: skip


def _cell(score: dict[str, float], base: float) -> str:
    return f"{score['psnr_y']:.2f} ({score['psnr_y'] - base:+.2f}, {score['dark_permille']:.2f})"


def _clean_cell(score: dict) -> str:
    shift = "/".join(f"{s:+.2f}" for s in score["mean_shift_rgb"])
    return f"{score['psnr_y']:.2f} dB (worst {score['worst_psnr_y']:.2f}), mean shift RGB {shift}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="+", help="LABEL=MODEL[@T[/V]] (/V: J4R-Net only)")
    parser.add_argument("--data", type=Path, default=ROOT / "data/snow", help="folder holding the test sets")
    parser.add_argument("--clean", type=Path, help="snow-free photos (default: DATA/heldout_clean)")
    parser.add_argument("--styles", nargs="+", default=[*SNOW_STYLES, "mixed"])
    parser.add_argument("--json", type=Path, help="also write every number here")
    add_with_option(parser)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    models = load_candidates(args.candidates)
    # The sets that were made, in table order; --styles none scores the snow-free photos alone.
    sets = {
        (style, level): folder
        for style in args.styles
        for level in SNOW_LEVELS
        if (folder := args.data / f"test_{style}_{level}").is_dir()
    }
    earlier, earlier_labels, _ = load_earlier(args.earlier, exclude=models, names=[f"{s}_{lv}" for s, lv in sets])

    table: dict[str, dict] = {}
    labels = earlier_labels + list(models)
    print("| style | level | input | " + " | ".join(f"{m} (gain, dark ‰)" for m in labels) + " |")
    print("|---|---|---|" + "---|" * len(labels))
    for (style, level), folder in sets.items():
        row = merge_earlier(f"{style}_{level}", score_set(folder, models), earlier, earlier_labels)
        table[f"{style}_{level}"] = row
        base = row["input"]["psnr_y"]
        cells = [_cell(row[m], base) for m in labels]
        print(f"| {style} | {level} | {base:.2f} | " + " | ".join(cells) + " |", flush=True)
    clean = score_clean(args.clean or args.data / "heldout_clean", models)
    clean = merge_earlier("clean", clean, earlier, earlier_labels)
    table["clean"] = clean
    cells = [_clean_cell(clean[m]) for m in labels]
    print("| no snow | – | ∞ | " + " | ".join(cells) + " |")
    print()
    for m in labels:
        gains = [row[m]["psnr_y"] - row["input"]["psnr_y"] for key, row in table.items() if key != "clean"]
        if gains:
            print(f"{m}: mean gain (Y) {np.mean(gains):+.3f} dB over {len(gains)} sets")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
