#!/usr/bin/env python3
"""Widen a trained J4R-Net (e.g. 48 → 64 channels) so that it computes exactly what it computed before.

    python scripts/widen_j4rnet.py src/weatherclean/weights/j4rnet-light --width 64 -o runs/j4r-wide-init

Why: `j4rnet-wide` earned its name by a capacity test from fresh weights (docs/models.md, "Capacity
(rain)"), but the shipped `j4rnet-light` holds hours of training that a wider model from scratch would
have to redo. Widening keeps every trained weight: the old channels sit in the first places of each
layer, the new ones are freshly initialised, and every weight *from* a new channel *to* an old one is
zero, so the new channels cannot change the output until training moves those weights (Net2Net's
idea, with zeros instead of copies). The script checks that the widened model gives the same output as
the original on a random clip, and refuses to write it otherwise.

``channels`` and ``hidden`` both become ``--width``; the folded image (3 × stride² channels) and the
detection maps keep their sizes. Every other setting (the no-harm options, the gate) is kept.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from weatherclean.models.j4rnet import J4RNet
from weatherclean.models.loading import load_from_folder

#: Kinds of segment along a weight's input or output axis: widened (feature or memory channels) or fixed
#: (the folded image, the detection maps).
WIDE, FIXED = "wide", "fixed"
#: Input segments of the layers whose input is not simply one feature map (order of their torch.cat).
INPUTS = {"extract.0": [FIXED], "dnet.0": [WIDE, WIDE], "cnet.0": [WIDE, WIDE], "jrc.0": [FIXED, WIDE]}
#: Output segments of the layers whose output is not one feature map (the GRU's gates are chunks).
OUTPUTS = {
    "dnet_head": [FIXED], "rnet_head": [FIXED], "cnet_head": [FIXED], "jrc_head": [FIXED],
    "fnet.w": [WIDE, WIDE, WIDE], "fnet.u": [WIDE, WIDE], "fnet.v": [WIDE, WIDE],
}  # fmt: skip


def _places(segments: list[str], old_total: int, old: int, new: int) -> list[tuple[slice, slice]]:
    """(old slice, new slice) of each segment's old channels along one axis."""
    size = old_total // len(segments)
    places, at_old, at_new = [], 0, 0
    for kind in segments:
        places.append((slice(at_old, at_old + size), slice(at_new, at_new + size)))
        at_old += size
        at_new += size if kind == FIXED else size * new // old
    return places


def widen(model: J4RNet, width: int, seed: int = 0) -> J4RNet:
    """A ``width``-channel copy of ``model`` that computes the same outputs (see the module docstring)."""
    cfg = model.config
    if cfg.channels != cfg.hidden or width <= cfg.channels:
        raise ValueError(f"expected channels == hidden < --width, got {cfg.channels}/{cfg.hidden} → {width}")
    torch.manual_seed(seed)
    wide = J4RNet(replace(cfg, channels=width, hidden=width))
    old_state, new_state = model.state_dict(), wide.state_dict()
    for name, new in new_state.items():
        layer = name.rsplit(".", 1)[0]
        old = old_state[name]
        outs = _places(OUTPUTS.get(layer, [WIDE]), old.shape[0], cfg.channels, width)
        if old.dim() == 1:  # a bias: old values in their places, the new channels keep their fresh ones
            for o_old, o_new in outs:
                new[o_new] = old[o_old]
            continue
        ins = _places(INPUTS.get(layer, [WIDE]), old.shape[1], cfg.channels, width)
        for o_old, o_new in outs:
            new[o_new] = 0.0  # old outputs read nothing from new channels...
            for i_old, i_new in ins:
                new[o_new, i_new] = old[o_old, i_old]  # ...and their old weights from old ones
    wide.load_state_dict(new_state)
    return wide


def _same_outputs(a: J4RNet, b: J4RNet, frames: int = 3) -> float:
    """The largest difference between the two models' restored frames over a random clip."""
    torch.manual_seed(1)
    clip = torch.rand(1, frames, 3, 64, 96)
    with torch.no_grad():
        out_a, _ = a.eval()(clip)
        out_b, _ = b.eval()(clip)
    return float((out_a.background - out_b.background).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a trained J4R-Net folder")
    parser.add_argument("--width", type=int, default=64, help="channels and memory width of the copy")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the new channels' weights")
    args = parser.parse_args()
    if args.output.exists() and any(args.output.iterdir()):
        parser.error(f"{args.output}: not empty; choose a new folder")
    model = load_from_folder(args.source)
    if not isinstance(model, J4RNet):
        parser.error(f"{args.source}: not a J4R-Net")
    wide = widen(model, args.width, args.seed)
    gap = _same_outputs(model, wide)
    if gap > 1e-5:
        raise SystemExit(f"error: the widened model differs from {args.source} by {gap:.2e}; nothing written")
    wide.save_pretrained(args.output)
    print(f"{args.output}: {args.width} channels, same outputs as {args.source} (largest difference {gap:.1e})")


if __name__ == "__main__":
    main()
