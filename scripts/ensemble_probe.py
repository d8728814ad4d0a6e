#!/usr/bin/env python3
"""Two output-side ideas, measured on tuning sets: a flip self-ensemble, and "never brighter than the input".

    runs/make_tune35.sh
    python scripts/ensemble_probe.py data/tune35 > runs/scores/ensemble-probe-tune35.txt
    python scripts/ensemble_probe.py data/tune35 --rain-pairs > runs/scores/ensemble-pairs-tune35.txt

- **Flip self-ensemble**: the mean of the model's outputs for the picture and its mirror images, each
  mirrored back (``h2``: as is and left-right; ``v4``: also upside down and both). Training mirrors and
  turns the backgrounds but always lets the weather fall down, so only mirrors are tried. It costs 2× or
  4× the model's time.
- **Never brighter** (``clamp``): min(output, input) per channel. Snow (x = a⊙z + y⊙(1−z) with a near
  white) and rain (O = (1−α)(B + S) + α·A, with S ≥ 0 and A bright) almost only add light, so a correct
  output is almost never brighter than its input; the clamp removes any brightening the model does.

Each picture goes through the bundled default (``desnownet-light`` for ``snow_*`` sets, ``j4rnet-wide``
for ``rain_*`` photo sets; fp32 on the CPU), scored as PSNR on Y against the ground truth, mean over the
set; the rain-free ``clean`` pictures are scored against themselves with the rain model. By-hand
exploration, no rule: neither idea was kept (docs/model-history.md, "Output-side ideas").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from weatherclean.data.images import read_rgb
from weatherclean.evaluation.metrics import psnr
from weatherclean.restore import Restorer, load_restorer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strength_probe import pairs  # noqa: E402

Flip = Callable[[np.ndarray], np.ndarray]
FLIPS: dict[str, Flip] = {
    "id": lambda a: a,
    "h": lambda a: a[:, ::-1],
    "v": lambda a: a[::-1],
    "hv": lambda a: a[::-1, ::-1],
}
ENSEMBLES = {"plain": ("id",), "h2": ("id", "h"), "v4": ("id", "h", "v", "hv")}
#: ``--rain-pairs``: every two-member ensemble (the picture and one mirror image), beside the plain model and v4.
PAIRS = {"plain": ("id",), "h": ("id", "h"), "v": ("id", "v"), "hv": ("id", "hv"), "v4": ("id", "h", "v", "hv")}


def outputs(net: Restorer, x: np.ndarray) -> dict[str, np.ndarray]:
    """The model's output for each mirror image of ``x``, mirrored back (each flip is its own inverse)."""
    return {k: f(net.restore(np.ascontiguousarray(f(x))).astype(np.float32)) for k, f in FLIPS.items()}


def score_set(folder: Path, task: str, net: Restorer) -> dict[str, float]:
    """Mean PSNR-Y of the input, each ensemble and the clamped plain output."""
    scores: dict[str, list[float]] = {"input": [], **{e: [] for e in ENSEMBLES}, "clamp": []}
    for weathered, clean in pairs(folder, task):
        x, gt = read_rgb(weathered), read_rgb(clean)
        outs = outputs(net, x)
        scores["input"].append(psnr(x, gt, y_channel=True))
        for name, keys in ENSEMBLES.items():
            scores[name].append(psnr(np.clip(np.mean([outs[k] for k in keys], axis=0), 0, 1), gt, y_channel=True))
        scores["clamp"].append(psnr(np.minimum(np.clip(outs["id"], 0, 1), x), gt, y_channel=True))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def mean_of(outs: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    """The ensemble of ``keys``: the mean of those outputs, clipped to [0, 1]."""
    return np.clip(np.mean([outs[k] for k in keys], axis=0), 0, 1)


def rain_pairs(root: Path) -> None:
    """Which mirror image to pair the picture with (rain round 24's pick): each pair's gain on the rain sets,
    and the worst and median PSNR-Y against the input of the rain-free photos."""
    net = load_restorer("rain", device="cpu", precision="fp32")
    print("rain: gain over the input in dB, per two-member ensemble ('hv': the 180-degree turn)")
    print("| set | " + " | ".join(PAIRS) + " |\n|---|" + "---|" * len(PAIRS))
    for folder in sorted(root.glob("rain_*")):
        scores: dict[str, list[float]] = {k: [] for k in ("input", *PAIRS)}
        for weathered, clean in pairs(folder, "rain"):
            x, gt = read_rgb(weathered), read_rgb(clean)
            outs = outputs(net, x)
            scores["input"].append(psnr(x, gt, y_channel=True))
            for name, keys in PAIRS.items():
                scores[name].append(psnr(mean_of(outs, keys), gt, y_channel=True))
        base = float(np.mean(scores["input"]))
        print(f"| {folder.name} | " + " | ".join(f"{np.mean(scores[k]) - base:+.2f}" for k in PAIRS) + " |", flush=True)
    dry: dict[str, list[float]] = {k: [] for k in PAIRS}
    for f in sorted((root / "clean").iterdir()):
        x = read_rgb(f)
        outs = outputs(net, x)
        for name, keys in PAIRS.items():
            dry[name].append(psnr(mean_of(outs, keys), x, y_channel=True))
    print("| rain-free photos, worst / median dB against the input | "
          + " | ".join(f"{min(v):.2f} / {np.median(v):.2f}" for v in dry.values()) + " |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="folder made by runs/make_tune35.sh")
    parser.add_argument("--rain-pairs", action="store_true", help="only the rain model's two-member ensembles")
    args = parser.parse_args()
    if args.rain_pairs:
        rain_pairs(args.root)
        return
    for task in ("snow", "rain"):
        net = load_restorer(task, device="cpu", precision="fp32")
        print(f"\n{task}: PSNR-Y of the input in dB, then each output's gain over it")
        print("| set | input | plain | h2 | v4 | clamp |\n|---|---|---|---|---|---|")
        for folder in sorted(args.root.glob(f"{task}_*")):
            s = score_set(folder, task, net)
            cells = " | ".join(f"{s[k] - s['input']:+.2f}" for k in (*ENSEMBLES, "clamp"))
            print(f"| {folder.name} | {s['input']:.2f} | {cells} |", flush=True)
    net = load_restorer("rain", device="cpu", precision="fp32")
    print("\nrain-free training photos through the rain model: PSNR-Y against the input, plain / clamp")
    for f in sorted((args.root / "clean").iterdir()):
        x = read_rgb(f)
        y = np.clip(net.restore(x).astype(np.float32), 0, 1)
        plain, clamp = psnr(y, x, y_channel=True), psnr(np.minimum(y, x), x, y_channel=True)
        print(f"- {f.name}: {plain:.2f} / {clamp:.2f}", flush=True)


if __name__ == "__main__":
    main()
