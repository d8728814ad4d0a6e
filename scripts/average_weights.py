"""Average the weights of fine-tunes that started from the same weights (a "model soup").

Why: two fine-tunes of one model that pull in opposite directions (snow rounds 14 and 15: one leaves
snow-free photos closer to their input and removes less, the other removes more and changes more) can be
averaged parameter by parameter; a weighted mean walks between them without training. So can a fine-tune
and the weights it started from (WiSE-FT). Only meaningful for runs of one lineage and one architecture:
the parameters must match in name and shape, and the configs must match unless ``--config`` names the
folder whose config.json the result takes (a fine-tune may have been trained at another pass-through).

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
    p.add_argument("--config", type=Path, help="take config.json from this folder (default: the first; all must match)")
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
    if args.config is None and any(c != configs[0] for c in configs[1:]):
        p.error("the folders' config.json differ: pass --config FOLDER to say whose the result takes")
    states = [load_file(f / "model.safetensors") for f in folders]
    if any(s.keys() != states[0].keys() for s in states[1:]):
        p.error("the folders hold different parameters")
    if any(s[k].shape != states[0][k].shape for s in states[1:] for k in s):
        p.error("the folders' parameters differ in shape: not one architecture")
    mean = {
        key: sum(w / total * s[key].double() for w, s in zip(weights, states, strict=True)).to(states[0][key].dtype)
        for key in states[0]
    }
    args.output.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in mean.items()}, args.output / "model.safetensors")
    shutil.copy((args.config or folders[0]) / "config.json", args.output / "config.json")
    print(f"{args.output}: " + " + ".join(f"{w / total:g} x {f}" for w, f in zip(weights, folders, strict=True)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
