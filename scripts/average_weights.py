"""Average the weights of fine-tunes that started from the same weights (a "model soup").

Why: two fine-tunes of one model that pull in opposite directions (snow rounds 14 and 15: one leaves
snow-free photos closer to their input and removes less, the other removes more and changes more) can be
averaged parameter by parameter; a weighted mean walks between them without training. Only meaningful for
runs from the same starting weights and the same configuration, which is checked.

    python scripts/average_weights.py runs/snow14/model=0.5 runs/snow15/model=0.5 -o runs/soup
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("parts", nargs="+", help="FOLDER=WEIGHT (the weights are normalised to sum to 1)")
    p.add_argument("-o", "--output", type=Path, required=True)
    args = p.parse_args()
    folders, weights = [], []
    for part in args.parts:
        folder, _, weight = part.rpartition("=")
        if not folder:
            p.error(f"{part}: use FOLDER=WEIGHT")
        folders.append(Path(folder))
        weights.append(float(weight))
    total = sum(weights)
    if total <= 0:
        p.error("the weights must sum to more than 0")
    configs = [json.loads((f / "config.json").read_text()) for f in folders]
    if any(c != configs[0] for c in configs[1:]):
        p.error("the folders' config.json differ: only runs of one configuration can be averaged")
    states = [load_file(f / "model.safetensors") for f in folders]
    if any(s.keys() != states[0].keys() for s in states[1:]):
        p.error("the folders hold different parameters")
    mean = {
        key: sum(w / total * s[key].double() for w, s in zip(weights, states, strict=True)).to(states[0][key].dtype)
        for key in states[0]
    }
    args.output.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in mean.items()}, args.output / "model.safetensors")
    shutil.copy(folders[0] / "config.json", args.output / "config.json")
    print(f"{args.output}: " + " + ".join(f"{w / total:g} x {f}" for w, f in zip(weights, folders, strict=True)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
