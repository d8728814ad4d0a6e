#!/usr/bin/env python3
"""What a rain model does to each picture of real rainy/clean pairs, and how much a global fix would give.

    python scripts/rain_pair_probe.py j4rnet-light ../shared/data/paired/rain_heavy ../shared/data/paired/rain_light

Each FOLDER holds ``rain/NAME`` and ``gt/NAME``. Per picture, PSNR-Y in dB against the clean picture:
the input, the model as shipped (its pass-through gate on) and with the gate off, the share of the
picture where the gate is open, how many grey levels the rain brightens the picture on average (rainy
minus clean) and how many the ungated model takes off (rainy minus output), and an oracle: the single
gain and offset that best map the rainy picture onto the clean one (least squares over every pixel
and channel). The oracle is not a method, it needs the clean picture; it shows how much of a set's
shortfall a global brightness and contrast correction alone would close (rain round 6's rule cites it).
Last, where the model's error lies: the RMS error against the clean picture (grey levels) of its
coarse part (a Gaussian blur of σ = 8 px: brightness and haze over areas) and of the fine rest
(streaks, edges, texture), for the input and for the model as shipped.
The model runs on the whole picture, one frame with empty memory, in fp32 on the CPU.

With ``--stages N`` a second table says which part of J4R-Net makes the change, per picture and per
horizontal band (N of them: sky, buildings and water of a street scene fall in different bands), with
the gate off: on average over the band's pixels, in grey levels of Y (BT.601, 0-255 scale), how much
the rain brightens it (rainy - clean), what each stage adds: R-Net's streak layer (-S), the
occlusion fill (joint - (rainy - S)) and JRC-Net's residual (output - joint), and the output's error
(output - clean), so that the three stages add up to output - rainy (before the output is clipped to
[0, 1]). A band whose output error is far below 0 is over-darkened, and the stage with the large term
is the one that did it.

    python scripts/rain_pair_probe.py j4rnet-light ../shared/data/paired/rain_light --stages 6
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weatherclean.data.images import read_rgb
from weatherclean.evaluation.metrics import psnr, rgb_to_y
from weatherclean.restore.restorer import load_restorer, with_pass_through


def _run(model: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's output for one picture (H×W×3 in [0, 1]) and its pass-through gate (H×W)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float()
    out, _ = model.step(t, None)
    gate = model.gate(t, None)
    return out.background[0].permute(1, 2, 0).clamp(0, 1).numpy(), gate[0, 0].numpy()


def _affine_oracle(x: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """``a * x + b`` with the (a, b) that best fit ``clean`` in least squares, clipped to [0, 1]."""
    design = np.stack([x.ravel(), np.ones(x.size)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, clean.ravel(), rcond=None)
    return np.clip(a * x + b, 0.0, 1.0)


def _coarse_fine(y: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    """RMS error of ``y`` against ``clean`` in grey levels, split into its coarse part (blurred, σ = 8 px)
    and the fine rest."""
    from scipy.ndimage import gaussian_filter

    error = 255 * (y - clean)
    coarse = gaussian_filter(error, sigma=(8, 8, 0))
    return float(np.sqrt((coarse**2).mean())), float(np.sqrt(((error - coarse) ** 2).mean()))


def _stages(model: torch.nn.Module, x: np.ndarray, clean: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel Y differences (grey levels) that say which stage of an ungated J4R-Net changes what:
    the rain itself, R-Net's streak layer, the occlusion fill, JRC-Net's residual, the output's error."""
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float()
    out, _ = model.step(t, None)

    def hwc(v: torch.Tensor) -> np.ndarray:
        return v[0].permute(1, 2, 0).double().numpy()

    alpha = hwc(model.occlusion(out.alpha_logits))  # as the model's own blend uses it
    removed = x - hwc(out.streak)
    joint = (1 - alpha) * removed + alpha * hwc(out.filled)
    background = hwc(out.background)
    y = {name: rgb_to_y(255.0 * picture) for name, picture in (
        ("rainy", x), ("clean", clean), ("removed", removed), ("joint", joint), ("background", background),
        ("output", np.clip(background, 0.0, 1.0)),
    )}  # fmt: skip
    return {
        "rain": y["rainy"] - y["clean"],
        "streak": y["removed"] - y["rainy"],
        "fill": y["joint"] - y["removed"],
        "jrc": y["background"] - y["joint"],
        "error": y["output"] - y["clean"],
    }


def _print_stages(model: torch.nn.Module, folders: list[Path], bands: int) -> None:
    print("\n| pair, picture, rows | rainy − clean | R-Net: −S | C-Net fill | JRC-Net | output − clean |")
    print("|---|---|---|---|---|---|")
    for folder in folders:
        for rainy_path in sorted((folder / "rain").iterdir()):
            terms = _stages(model, read_rgb(rainy_path), read_rgb(folder / "gt" / rainy_path.name))
            height = terms["rain"].shape[0]
            edges = np.linspace(0, height, bands + 1).round().astype(int)
            for top, bottom in [(0, height), *zip(edges[:-1], edges[1:], strict=True)]:
                rows = "all" if (top, bottom) == (0, height) else f"{top}-{bottom}"
                mean = {k: float(v[top:bottom].mean()) for k, v in terms.items()}
                print(
                    f"| {folder.name} {rainy_path.stem} {rows} | {mean['rain']:+.1f} | {mean['streak']:+.1f} | "
                    f"{mean['fill']:+.1f} | {mean['jrc']:+.1f} | {mean['error']:+.1f} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a registered name or a model folder (a J4R-Net)")
    parser.add_argument("folders", nargs="+", type=Path, help="folders with rain/ and gt/ pictures of the same names")
    parser.add_argument(
        "--stages", type=int, default=0, metavar="N", help="also the change per stage, per picture and in N bands"
    )
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    model = load_restorer("rain", args.model, device="cpu", precision="fp32").model
    ungated = with_pass_through(model, 0.0)  # the gate off, veil term included
    print(
        "| pair, picture | input | model | gate off | gate open | brightened | taken off | oracle "
        "| coarse error, input → model | fine error, input → model |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for folder in args.folders:
        for rainy_path in sorted((folder / "rain").iterdir()):
            x, clean = read_rgb(rainy_path), read_rgb(folder / "gt" / rainy_path.name)
            out, gate = _run(model, x)
            raw, _ = _run(ungated, x)
            (coarse_in, fine_in), (coarse_out, fine_out) = _coarse_fine(x, clean), _coarse_fine(out, clean)

            def db(y: np.ndarray, clean: np.ndarray = clean) -> float:
                return psnr(y, clean, y_channel=True)

            print(
                f"| {folder.name} {rainy_path.stem} | {db(x):.2f} | {db(out):.2f} | {db(raw):.2f} | "
                f"{100 * gate.mean():.0f} % | {255 * (x - clean).mean():.1f} | {255 * (x - raw).mean():.1f} | "
                f"{db(_affine_oracle(x, clean)):.2f} | {coarse_in:.1f} → {coarse_out:.1f} | "
                f"{fine_in:.1f} → {fine_out:.1f} |"
            )
    if args.stages > 0:
        _print_stages(ungated, args.folders, args.stages)


if __name__ == "__main__":
    main()
