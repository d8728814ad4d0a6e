#!/usr/bin/env python3
"""How much MATLAB's rounded Y moves PSNR-Y and SSIM-Y against the float Y `evaluate` uses (docs/usage.md).

    python scripts/y_rounding_probe.py

MATLAB's ``rgb2ycbcr`` on a uint8 image returns Y rounded to integers, as several derain papers' scripts
score it; ``evaluate`` keeps Y as a float, as BasicSR does. This scores scikit-image's sample photos under
synthetic snow (level M, seed 0) both ways, the snowy input and the bundled desnow model's output (fp32, CPU)
against the clean photo, and prints each difference and the largest.
"""

from __future__ import annotations

import numpy as np

from weatherclean.data.images import skimage_samples
from weatherclean.evaluation import metrics
from weatherclean.restore import load_restorer
from weatherclean.synth.snow import synthesize_snow


def _scores(pred: np.ndarray, clean: np.ndarray, rounded: bool) -> tuple[float, float]:
    """(PSNR-Y, SSIM-Y) of two 8-bit RGB pictures, with Y rounded to integers or kept as a float."""
    y = metrics.rgb_to_y
    if rounded:
        metrics.rgb_to_y = lambda image: np.round(y(image))  # type: ignore[assignment]
    try:
        return metrics.psnr(pred, clean, y_channel=True, data_range=255), metrics.ssim(
            pred, clean, y_channel=True, data_range=255
        )
    finally:
        metrics.rgb_to_y = y  # type: ignore[assignment]


def main() -> None:
    net = load_restorer("snow", device="cpu", precision="fp32")
    worst = [0.0, 0.0]
    print("| picture | row | PSNR-Y float | rounded | Δ dB | SSIM-Y float | rounded | Δ |")
    print("|---|---|---|---|---|---|---|---|")
    for name, photo in skimage_samples():  # float in [0, 1]
        clean = np.round(photo * 255).astype(np.uint8)
        snowy = synthesize_snow(clean.astype(np.float32) / 255, np.random.default_rng(0), "M").snowy
        snowy8 = np.round(np.clip(snowy, 0, 1) * 255).astype(np.uint8)
        restored = np.round(np.clip(net.restore(snowy8.astype(np.float32) / 255), 0, 1) * 255).astype(np.uint8)
        for row, pred in (("input", snowy8), ("desnownet-light", restored)):
            (pf, sf), (pr, sr) = _scores(pred, clean, False), _scores(pred, clean, True)
            worst = [max(worst[0], abs(pr - pf)), max(worst[1], abs(sr - sf))]
            print(f"| {name} | {row} | {pf:.4f} | {pr:.4f} | {pr - pf:+.4f} | {sf:.5f} | {sr:.5f} | {sr - sf:+.5f} |")
    print(f"\nlargest difference: {worst[0]:.4f} dB PSNR-Y, {worst[1]:.5f} SSIM-Y")


if __name__ == "__main__":
    main()
