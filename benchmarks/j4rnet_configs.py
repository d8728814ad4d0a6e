#!/usr/bin/env python3
"""Time one recurrent J4R-Net step at 1280×720 for the light-configuration candidates (docs/models.md).

    python benchmarks/j4rnet_configs.py

Run by hand on an otherwise idle machine; it is not a test. Each configuration is warmed up with one
step, then timed over three steps with the memory carried, in inference mode with PyTorch's default
thread count.
"""

from __future__ import annotations

import time

import torch

from weatherclean.models.j4rnet import J4RNet, J4RNetConfig, macs_per_pixel

CANDIDATES = {
    "24 channels, stride 2": dict(channels=24, hidden=24, stride=2, extractor_layers=1, dnet_layers=3,
                                  rnet_blocks=1, cnet_blocks=1, jrc_blocks=0),
    "32 channels, stride 2": dict(channels=32, hidden=32, stride=2, extractor_layers=1, dnet_layers=3,
                                  rnet_blocks=1, cnet_blocks=1, jrc_blocks=0),
    "48 channels, stride 4 (j4rnet-light)": dict(channels=48, hidden=48, stride=4, extractor_layers=1,
                                                 dnet_layers=3, rnet_blocks=1, cnet_blocks=1, jrc_blocks=1),
}  # fmt: skip


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| candidate | parameters | multiply-adds per pixel | 1280×720 step |\n|---|---|---|---|")
    for name, cfg in CANDIDATES.items():
        model = J4RNet(J4RNetConfig(**cfg)).eval()
        frame = torch.rand(1, 3, 720, 1280)
        with torch.inference_mode():
            _, state = model.step(frame)
            start = time.perf_counter()
            for _ in range(3):
                _, state = model.step(frame, state)
            seconds = (time.perf_counter() - start) / 3
        print(f"| {name} | {model.num_parameters():,} | {macs_per_pixel(model):,.0f} | {seconds:.2f} s |")


if __name__ == "__main__":
    main()
