#!/usr/bin/env python3
"""Write an untrained model folder: a model's configuration with some settings changed (a capacity test).

    python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-light --set pass_through=0
    python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-wide \\
        --set channels=64 --set hidden=64 --set pass_through=0

Why: whether a wider configuration gains is only known by training it and the default the same way from
the same kind of start. ``weatherclean train --init FOLDER`` trains any configuration a folder describes,
so a candidate width is measured before it is registered by name (it is registered only if it earns its
place). Weights are freshly initialised with ``--seed``; ``config.json`` is the source folder's with the
``--set`` values (JSON: numbers, true/false, lists; anything else is text), so the family comes from its
``model_type``. An output folder that already holds files is refused (it may be a trained model).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from weatherclean.models.family import family_of


def _value(text: str) -> object:
    """``64`` → 64, ``0.05`` → 0.05, ``true`` → True, ``[1, 2]`` → a list; anything else stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a model folder whose config.json is the starting point")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the new (untrained) model folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change one setting")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh weights")
    args = parser.parse_args()
    config = json.loads((args.source / "config.json").read_text())
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or key not in config:
            parser.error(f"--set {item}: expected KEY=VALUE with KEY one of {', '.join(sorted(config))}")
        config[key] = _value(text)
    family = family_of(config["model_type"])
    if family is None:
        parser.error(f"{args.source}: unknown model_type {config['model_type']!r}")
    if args.output.exists() and any(args.output.iterdir()):
        parser.error(f"{args.output}: not empty; choose a new folder")
    torch.manual_seed(args.seed)
    try:
        model = family.model_class(**config)
    except (TypeError, ValueError) as exc:
        parser.error(f"{args.source}: with those --set values: {exc}")
    model.save_pretrained(args.output)
    count = sum(p.numel() for p in model.parameters())
    print(f"{args.output}: untrained {config['model_type']}, {count:,} parameters")


if __name__ == "__main__":
    main()
