#!/usr/bin/env python3
"""Give a DesnowNet a veil stage fitted on synthetic snow over clean training pictures (snow round 6).

    python scripts/fit_veil_stage.py desnownet-light -o runs/snow12g --clean data/snow/train_clean --count 538

It draws snow at a random level and style on each picture (a centre crop of at most 512 px), twice with
the same seed, with and without its veil, and fits :class:`~weatherclean.models.desnownet.VeilStage` by
least squares (:func:`weatherclean.training.veil.fit_veil`); the last fifth of the pictures is held back
and the R² of the veil's mask on it printed. The output folder is the model's weights and config plus
the stage, with ``veil_floor`` from ``--threshold`` (tune it on other pictures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from weatherclean.data.images import list_images
from weatherclean.errors import WeathercleanError
from weatherclean.models import DesnowNetConfig, load_model
from weatherclean.training.veil import fit_veil, with_veil_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a DesnowNet: registered name, folder or Hub id")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--clean", type=Path, action="append", required=True, help="folder of clean training pictures")
    parser.add_argument("--count", type=int, default=None, help="use the first N pictures (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.0, help="veil_floor written into the config")
    args = parser.parse_args()
    if args.output.exists() and any(args.output.iterdir()):
        parser.error(f"{args.output}: not empty; choose a new folder")
    if args.count is not None and args.count < 2:
        parser.error("--count: at least 2 pictures (one fifth is held back)")
    try:  # a wrong name fails here, before the fit
        model = load_model(args.model, device="cpu", task="snow")
    except WeathercleanError as exc:
        parser.error(str(exc))
    try:
        DesnowNetConfig(**{**model.config.to_dict(), "veil_floor": args.threshold})
    except ValueError as exc:
        parser.error(f"--threshold {args.threshold}: {exc}")
    images = [p for folder in args.clean for p in sorted(list_images(folder))][: args.count]
    fit = fit_veil(images, seed=args.seed)
    with_veil_stage(model, fit, args.threshold).save_pretrained(args.output)
    print(f"{args.output}: veil stage fitted on {fit.pictures} pictures ({fit.cells} cells); held-back fifth: R² "
          f"{fit.r2:.2f}, predicted veil where there is none {fit.none_mean:.4f}, where it is over 0.05 "
          f"{fit.heavy_mean:.3f} (true {fit.heavy_true:.3f}); snow colour {fit.colour.round(3).tolist()}")  # fmt: skip


if __name__ == "__main__":
    main()
