#!/usr/bin/env python3
"""How far a DesnowNet's picture context scales and shifts its features, per snow level.

    python scripts/context_probe.py r18=runs/snow18/model r19=runs/snow19c/model --data data/snow29

For each LABEL=MODEL (a model with ``context`` on), every picture of ``DATA/test_mixed_{S,M,L}`` and the
snow-free ``DATA/heldout_clean`` runs whole through the model (fp32, CPU) while a hook reads the context's
excitation: per level, the mean over pictures and channels of the scale (the features are multiplied by
1 + scale), of its absolute value and of the shift's absolute value, and how far the per-channel scales
of light and heavy snow lie apart. Why: a context that scales every picture alike, or by nearly nothing,
has not learned what it was added for, whatever the scores say (snow rounds 18 and 19, docs/model-history.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import list_images, read_rgb
from weatherclean.models import load_model

LEVELS = ("snow-free", "S", "M", "L")


def folders(data: Path) -> dict[str, Path]:
    return {"snow-free": data / "heldout_clean", **{lvl: data / f"test_mixed_{lvl}" / "synthetic" for lvl in "SML"}}


def excitations(model: torch.nn.Module, pictures: list[Path]) -> np.ndarray:
    """Per picture, the context's excitation (scale then shift, 2·C values)."""
    context = model.tr_descriptor.context
    if context is None:
        raise SystemExit('this model has no context (its config.json has no "context": true)')
    seen: list[np.ndarray] = []
    hook = context.excite.register_forward_hook(lambda _m, _i, out: seen.append(out.float().numpy()[0]))
    try:
        with torch.inference_mode():
            for path in pictures:
                model(torch.from_numpy(read_rgb(path)).permute(2, 0, 1)[None].float())
    finally:
        hook.remove()
    return np.stack(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", metavar="LABEL=MODEL")
    parser.add_argument("--data", type=Path, required=True, help="a folder of test_mixed_{S,M,L} and heldout_clean")
    args = parser.parse_args()
    sets = {level: list_images(folder) for level, folder in folders(args.data).items()}
    for item in args.models:
        label, _, name = item.partition("=")
        model = load_model(name or label, device="cpu", task="snow").eval()
        print(f"{label} ({name or label}):")
        means = {}
        for level in LEVELS:
            e = excitations(model, sets[level])
            scale, shift = np.split(e, 2, axis=1)
            means[level] = scale.mean(axis=0)
            print(
                f"  {level:9s} {len(e):3d} pictures: scale mean {scale.mean():+.4f}, "
                f"|scale| {np.abs(scale).mean():.4f}, |shift| {np.abs(shift).mean():.4f}"
            )
        gap = np.abs(means["L"] - means["S"])
        print(f"  light against heavy snow: channel scales differ by {gap.mean():.4f}, {gap.max():.4f} at most")


if __name__ == "__main__":
    main()
