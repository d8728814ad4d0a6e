#!/usr/bin/env python3
"""What a picture gate would do to each photo of a folder: the share of pixels the model darkens strongly,
and the strength each gate floor leaves the model's correction (snow round 20, docs/model-history.md).

    python scripts/picture_gate_probe.py desnownet-light ../shared/data/real/snow_photos/images \\
        --floors 0.0002 0.0003 0.0004 0.0006 0.0008 0.001

The model runs with its own gate off (fp32, CPU, tiled as a user's run would tile it); its joined output
is then compared with the input as :mod:`weatherclean.restore.picture_gate` does (luma darkened by 24
grey levels or more). Strength 1 keeps the whole correction, 0 returns the photo unchanged. Why: a gate that turns the
model off on real snowy photos would make the tool do nothing where users need it, which synthetic
scores cannot show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weatherclean.data.images import list_images, read_rgb
from weatherclean.models.family import with_config
from weatherclean.restore import load_restorer
from weatherclean.restore.picture_gate import STRONG_CHANGE, gate_strength, strong_share

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_snow_styles import load_candidates  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name, a model folder or LABEL=MODEL[@T]")
    parser.add_argument("folder", type=Path, help="photos to probe")
    parser.add_argument("--floors", type=float, nargs="+", required=True, help="picture-gate floors to report")
    args = parser.parse_args()
    net = next(iter(load_candidates([args.model]).values())).model
    if hasattr(net.config, "picture_gate"):
        net = with_config(net, picture_gate=0.0)
    restorer = load_restorer("snow", model=net, device="cpu", precision="fp32")
    print(f"{args.model}, gate off; share: pixels darkened by >= {255 * STRONG_CHANGE:.0f} grey levels")
    print("| photo | share (‰) | " + " | ".join(f"strength at {f:g}" for f in args.floors) + " |")
    print("|---|---|" + "---|" * len(args.floors))
    full = [0] * len(args.floors)
    photos = list_images(args.folder)
    for path in photos:
        image = read_rgb(path)
        share = strong_share(image, restorer.restore(image))
        strengths = [gate_strength(share, f) for f in args.floors]
        full = [n + (s >= 1.0) for n, s in zip(full, strengths, strict=True)]
        print(f"| {path.name} | {1000 * share:.2f} | " + " | ".join(f"{s:.2f}" for s in strengths) + " |", flush=True)
    print("| photos at full strength | | " + " | ".join(f"{n} of {len(photos)}" for n in full) + " |")


if __name__ == "__main__":
    main()
