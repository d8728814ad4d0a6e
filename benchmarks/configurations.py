#!/usr/bin/env python3
"""One row per registered model configuration: size, cost and CPU throughput (docs/models.md's table).

    python benchmarks/configurations.py              # every registered configuration
    python benchmarks/configurations.py --quick      # the light (default) configurations only
    python benchmarks/configurations.py --quick --folder runs/cap-wide-init   # and a configuration under test

Run by hand on an otherwise idle machine; it is not a test. Each model runs in inference mode with its
weights in the layout the device prefers (channels-last on a CPU, as `desnow` and `derain` run it), at
fp32 and, on CPUs with native bf16, under bf16 autocast (what `--precision auto` picks there). A model is
warmed up once and then timed over ``--repeat`` calls; the median is reported. Throughput is in
megapixels per second of model compute; for the rain models it is also given as frames per second at
1280×720 (one recurrent step per frame, memory carried). The large configurations are timed on smaller
images, since only the throughput per pixel matters and a 1-megapixel input would take minutes.
PSNR/SSIM are not measured here: they come from `weatherclean evaluate` (see docs/models.md).
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path

import torch
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.devices import to_fast_layout
from weatherclean.models.family import ModelFamily, family_of_model
from weatherclean.models.loading import load_from_folder
from weatherclean.models.registry import create_model, list_models
from weatherclean.restore.precision import cpu_has_native_bf16

#: Image size (height, width) each configuration is timed at: large enough to fill the cores.
SIZES = {
    "desnownet-paper": (128, 128),
    "desnownet-half": (192, 192),
    "desnownet-light": (1024, 1024),
    "desnownet-deep": (1024, 1024),
    "desnownet-base": (768, 768),
    "j4rnet-paper": (360, 640),
    "j4rnet-wide": (720, 1280),
    "j4rnet-light": (720, 1280),
}
#: Size a model folder (``--folder``) is timed at, by task: the light configurations' sizes.
FOLDER_SIZES = {"snow": SIZES["desnownet-light"], "rain": SIZES["j4rnet-light"]}
FRAME_720P = 1280 * 720


def runner(model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype | None) -> Callable[[], object]:
    recurrent = hasattr(model, "step")
    state: list[torch.Tensor | None] = [None]

    def run() -> object:
        with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            if recurrent:
                _, state[0] = model.step(x, state[0])  # type: ignore[operator]
                return state[0]
            return model.restore(x)  # type: ignore[operator]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the light configurations")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--folder", type=Path, action="append", default=[], help="also time this model folder (a width under test)"
    )
    args = parser.parse_args()
    precisions: list[tuple[str, torch.dtype | None]] = [("fp32", None)]
    if cpu_has_native_bf16():
        precisions.append(("bf16", torch.bfloat16))

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, native bf16: {cpu_has_native_bf16()}\n"
    )
    head = " | ".join(f"{p} MP/s" for p, _ in precisions)
    print(f"| configuration | task | parameters | multiply-adds / pixel | timed at | {head} | 1280×720 fps (best) |")
    print("|---|---|---|---|---|" + "---|" * len(precisions) + "---|")
    for spec in list_models():
        if spec.build is None or spec.name not in SIZES or (args.quick and not spec.name.endswith("-light")):
            continue
        print(_row(f"`{spec.name}`", spec.task, create_model(spec.name), SIZES[spec.name], precisions, args.repeat))
    for folder in args.folder:
        model = load_from_folder(folder)
        task = _family(model, str(folder)).task
        size = FOLDER_SIZES[task]
        print(_row(f"{folder} (folder)", task, model, size, precisions, args.repeat))


def _family(model: torch.nn.Module, name: str) -> ModelFamily:
    """The model's registered family (its multiply-add counter and task); a bug if there is none."""
    family = family_of_model(model)
    assert family is not None, f"{name} is not a registered model family"
    return family


def _row(
    name: str,
    task: str,
    model: torch.nn.Module,
    size: tuple[int, int],
    precisions: list[tuple[str, torch.dtype | None]],
    repeat: int,
) -> str:
    """One table row: the model timed at ``size`` (height, width) in each precision."""
    model = to_fast_layout(model.eval(), torch.device("cpu"))
    macs = _family(model, name).macs_per_pixel(model)
    h, w = size
    x = torch.rand(1, 3, h, w)
    rates = [h * w / median_seconds(runner(model, x, dtype), repeat) / 1e6 for _, dtype in precisions]
    fps = f"{max(rates) * 1e6 / FRAME_720P:.2f}" if task == "rain" else "–"
    params = sum(p.numel() for p in model.parameters())
    cells = " | ".join(f"{r:.3f}" for r in rates)
    return f"| {name} | {task} | {params / 1e6:.2f} M | {macs:,.0f} | {w}×{h} | {cells} | {fps} |"


if __name__ == "__main__":
    main()
