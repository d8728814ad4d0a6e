#!/usr/bin/env python3
"""What each speed-up is worth: the default models with one setting changed at a time.

    python benchmarks/ways.py                 # both tasks, torch.compile included (~10 minutes on 2 cores)
    python benchmarks/ways.py --no-compile    # skip torch.compile (its compile alone takes minutes)
    python benchmarks/ways.py --output F.md   # also write the table to a file

Run by hand on an otherwise idle machine; it is not a test. The "shipped" row is how ``desnow`` and
``derain`` run the model on this machine: weights channels-last, ``--precision auto`` (bf16 autocast on
a CPU with native bf16, fp32 otherwise), PyTorch's default thread count, one tile per call, eager mode;
photos run under ``torch.no_grad`` (the tiling engine's), video steps under ``torch.inference_mode``.
Every other row changes exactly one of those. Snow is timed on four 496×496 tiles of a photo (the tile
the command picks for photos on a 2-core machine, about one megapixel in all); rain on a 640×360 clip,
one recurrent step per frame with the memory carried. Each figure is the median of ``--repeat`` timed
passes after one untimed warm-up pass (kernel selection), in megapixels of input per second.

Conv + norm folding is reported as what there is to fold: neither model has normalisation layers.
Quality is not measured here: bf16's effect on PSNR is a row of ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from inputs import clip_frames, photo  # benchmarks/inputs.py, beside this script: the inputs run_all times
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.devices import to_fast_layout, to_standard_layout
from weatherclean.models.registry import DEFAULT_MODELS
from weatherclean.restore.precision import cpu_has_native_bf16

TILE = 496
TILES = 4
FRAME = (360, 640)
FRAMES = 8
_NORMS = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)


@dataclass
class Setting:
    """One way of running the model; the shipped one has every field at its default."""

    label: str
    dtype: torch.dtype | None
    channels_last: bool = True
    inference_mode: bool | None = None  # None: what the command uses for the task
    threads: int | None = None
    batch: int = 1
    compiled: bool = False
    cast_weights: bool = False  # weights and input in bf16 outright, instead of autocast around fp32 weights


def _model(task: str, channels_last: bool) -> torch.nn.Module:
    from weatherclean.models import load_model

    model = load_model(DEFAULT_MODELS[task]).eval()
    return to_fast_layout(model, torch.device("cpu")) if channels_last else to_standard_layout(model)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _grad_mode(inference: bool) -> contextlib.AbstractContextManager[Any]:
    return torch.inference_mode() if inference else torch.no_grad()


def snow_pass(model: Any, tiles: list[torch.Tensor], s: Setting) -> Callable[[], object]:
    fn = torch.compile(model.restore, dynamic=False) if s.compiled else model.restore
    batches = [torch.cat(tiles[i : i + s.batch]) for i in range(0, len(tiles), s.batch)]
    inference = bool(s.inference_mode)  # photos: the tiling engine's no_grad unless asked

    def run() -> object:
        with _grad_mode(inference), torch.autocast("cpu", dtype=s.dtype or torch.bfloat16, enabled=s.dtype is not None):
            return [fn(b) for b in batches]

    return run


def rain_pass(model: Any, frames: list[torch.Tensor], s: Setting) -> Callable[[], object]:
    step = torch.compile(model.step, dynamic=False) if s.compiled else model.step
    inference = s.inference_mode is None or s.inference_mode  # videos: RecurrentTiles' inference mode

    def run() -> object:
        state = None
        with _grad_mode(inference), torch.autocast("cpu", dtype=s.dtype or torch.bfloat16, enabled=s.dtype is not None):
            for f in frames:
                _, state = step(f, state)
        return state

    return run


def measure(task: str, s: Setting, repeat: int) -> dict[str, float]:
    """Megapixels/s for one setting; for compiled ones also the compile time (the first call)."""
    model = _model(task, s.channels_last)
    if s.cast_weights:
        model = model.to(torch.bfloat16)
    if task == "snow":
        picture = torch.from_numpy(photo(2 * TILE, 2 * TILE)).permute(2, 0, 1)[None]
        inputs = [picture[..., y : y + TILE, x : x + TILE].contiguous() for y in (0, TILE) for x in (0, TILE)]
        make = snow_pass
    else:
        h, w = FRAME
        inputs = [torch.from_numpy(f).permute(2, 0, 1)[None].contiguous() for f in clip_frames(w, h, FRAMES)]
        make = rain_pass
    if s.cast_weights:
        inputs = [x.to(torch.bfloat16) for x in inputs]
    pixels = sum(x.shape[-1] * x.shape[-2] for x in inputs)
    with _threads(s.threads):
        run = make(model, inputs, s)
        first = time.perf_counter()
        run()  # the warm-up pass; for torch.compile this is where it compiles
        first_s = time.perf_counter() - first
        seconds = median_seconds(run, repeat, warmup=False)
    return {"mps": pixels / seconds / 1e6, "first_s": first_s, "pass_s": seconds}


def settings(task: str, auto: torch.dtype | None, compile_too: bool) -> list[Setting]:
    other_dtype = ("fp32", None) if auto is not None else ("bf16 autocast", torch.bfloat16)
    grad = "torch.inference_mode" if task == "snow" else "torch.no_grad"
    rows = [
        Setting("shipped", auto),
        Setting(f"precision: {other_dtype[0]}", other_dtype[1]),
        Setting("weights contiguous (NCHW) instead of channels-last", auto, channels_last=False),
        Setting(
            f"{grad} instead of {'no_grad' if task == 'snow' else 'inference_mode'}",
            auto,
            inference_mode=task == "snow",
        ),  # fmt: skip
        Setting("1 thread", auto, threads=1),
    ]
    if auto is torch.bfloat16:
        rows.append(Setting("bf16 weights and input, not autocast (quality unchecked)", None, cast_weights=True))
    if task == "snow":
        rows += [Setting("2 tiles per call", auto, batch=2), Setting("4 tiles per call", auto, batch=4)]
    if compile_too:
        rows.append(Setting("torch.compile (inductor)", auto, compiled=True))
    return rows


def table(task: str, repeat: int, compile_too: bool) -> list[str]:
    auto = torch.bfloat16 if cpu_has_native_bf16() else None
    model = _model(task, True)
    norms = sum(isinstance(m, _NORMS) for m in model.modules())
    what = f"{TILES} tiles of {TILE}×{TILE}" if task == "snow" else f"{FRAMES} frames of {FRAME[1]}×{FRAME[0]}"
    lines = [f"### {DEFAULT_MODELS[task]} ({task}), {what}", "",
             "| setting | MP/s | vs shipped | first pass (s) |", "|---|---|---|---|"]  # fmt: skip
    base: float | None = None
    for s in settings(task, auto, compile_too):
        try:
            r = measure(task, s, repeat)
        except Exception as exc:  # noqa: BLE001 - a setting this machine cannot run is a row, not a crash
            lines.append(f"| {s.label} | failed: {' '.join(str(exc).split())[:120]} | | |")
            continue
        base = base or r["mps"]
        extra = ""
        if s.compiled and r["mps"] > base:  # passes needed before compiling has paid for itself
            saved = r["pass_s"] * (r["mps"] / base - 1)
            extra = f" (pays off after {r['first_s'] / saved:.0f} passes)"
        lines.append(f"| {s.label} | {r['mps']:.3f} | {100 * r['mps'] / base:.0f} % | {r['first_s']:.1f}{extra} |")
        print(f"  {task}: {s.label}: {r['mps']:.3f} MP/s", file=sys.stderr, flush=True)
    lines.append(f"| conv + norm folding | {norms} normalisation layers: nothing to fold | | |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--task", choices=("snow", "rain"), action="append", help="one task only (repeatable)")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    head = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, native bf16: {cpu_has_native_bf16()}",
        "",
        f"command: `python benchmarks/ways.py{''.join(' ' + a for a in sys.argv[1:])}`",
        "",
    ]
    lines = head
    for task in args.task or ("snow", "rain"):
        lines += table(task, args.repeat, not args.no_compile)
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
