#!/usr/bin/env python3
"""Write a model folder to train from: a model's configuration with some settings changed (a capacity test).

    python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-light --set pass_through=0
    python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-wide \\
        --set channels=64 --set hidden=64 --set pass_through=0

Why: whether a wider configuration gains is only known by training it and the default the same way from
the same kind of start. ``weatherclean train --init FOLDER`` trains any configuration a folder describes,
so a candidate width is measured before it is registered by name (it is registered only if it earns its
place). Weights are freshly initialised with ``--seed``; ``config.json`` is the source folder's with the
``--set`` values (JSON: numbers, true/false, lists; anything else is text), so the family comes from its
``model_type``. An output folder that already holds files is refused (it may be a trained model).

``--keep-weights`` grows a trained model instead of starting afresh: every parameter whose name and shape
the source's weights share is copied, and only the new ones are fresh. Where the new parts start at zero
(DesnowNet's ``context``), the grown model computes exactly what the source did, so a fine-tune of it
measures what the new part adds, not a restart:

    python scripts/capacity_init.py src/weatherclean/weights/desnownet-light -o runs/ctx18-init \\
        --set context=true --keep-weights
"""

from __future__ import annotations

import argparse
import dataclasses
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
    parser.add_argument("-o", "--output", type=Path, required=True, help="the new model folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change one setting")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh weights")
    parser.add_argument(
        "--keep-weights", action="store_true", help="copy the source's weights wherever name and shape match"
    )
    args = parser.parse_args()
    config = json.loads((args.source / "config.json").read_text())
    family = family_of(config["model_type"])
    if family is None:
        parser.error(f"{args.source}: unknown model_type {config['model_type']!r}")
    known = {f.name for f in dataclasses.fields(family.config_class)}  # settings newer than the folder too
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or key not in known:
            parser.error(f"--set {item}: expected KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        config[key] = _value(text)
    if args.output.exists() and any(args.output.iterdir()):
        parser.error(f"{args.output}: not empty; choose a new folder")
    torch.manual_seed(args.seed)
    try:
        model = family.model_class(**config)
    except (TypeError, ValueError) as exc:
        parser.error(f"{args.source}: with those --set values: {exc}")
    kept, left = _keep_weights(model, args.source) if args.keep_weights else (0, [])
    if left:  # a grown model that does not compute what its source did must not pass for one
        parser.error(f"{args.source}: {len(left)} of its weights do not fit the new configuration ({left[0]}, ...)")
    model.save_pretrained(args.output)
    count = sum(p.numel() for p in model.parameters())
    state = f"{kept:,} of them from {args.source}" if args.keep_weights else "untrained"
    print(f"{args.output}: {config['model_type']}, {count:,} parameters, {state}")


def _keep_weights(model: torch.nn.Module, source: Path) -> tuple[int, list[str]]:
    """Copy ``source``'s weights into ``model`` wherever name and shape match: the number of values copied and
    the names of the source's weights that found no place (another width, a part the new model lacks)."""
    from safetensors.torch import load_file

    weights = load_file(source / "model.safetensors")
    state = model.state_dict()
    shared = {k: v for k, v in weights.items() if k in state and state[k].shape == v.shape}
    model.load_state_dict(shared, strict=False)
    return sum(v.numel() for v in shared.values()), sorted(set(weights) - set(shared))


if __name__ == "__main__":
    main()
