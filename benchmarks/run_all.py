#!/usr/bin/env python3
"""Every speed and memory figure in docs/performance.md, measured in one run and printed as one table.

    python benchmarks/run_all.py                       # the full suite (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick               # smallest sizes only: a smoke run, ~2 minutes
    python benchmarks/run_all.py --output perf.md      # also write the table (and machine line) to a file
    python benchmarks/run_all.py --device cuda         # the same figures on a GPU
    python benchmarks/run_all.py --only derain         # one part (desnow, tiled, derain, efficiency, ...)
    python benchmarks/run_all.py --only startup --only pipeline   # start-up; pipeline on vs off (issue 15)

Run by hand on an otherwise idle machine; it is not a test. Every measurement runs in its own child
process (``python benchmarks/run_all.py --one NAME ...`` prints one JSON line), because peak resident
memory (``ru_maxrss``) is a maximum over a process's whole life: a child measures one thing only.

Everything goes through the code users run: ``load_restorer`` (device, ``--precision auto``, weights in
the fast layout) and ``Restorer.restore_loaded`` (the tiling engine with the automatic tile size) for
desnow; ``Restorer.new_clip`` (``RecurrentTiles``) for derain compute; the ``desnow``/``derain`` command functions for
file-to-file runs; ``weatherclean.training.trainer.train`` for training. Inputs are made here from
scikit-image's astronaut (tiled up to size) and a PyAV-encoded H.264 clip with an AAC track; nothing is
read from outside the repository.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from inputs import clip_frames, make_clip, photo, size_for

HERE = Path(__file__).resolve()
#: Photo sizes (megapixels) for desnow; the 24-MP one carries the memory target.
DESNOW_MP = (1, 12, 24)
QUICK_DESNOW_MP = (1,)
#: Video frame sizes (width, height) for derain.
DERAIN_SIZES = ((640, 360), (1280, 720))
QUICK_DERAIN_SIZES = ((640, 360),)
#: The suite's parts, for ``--only``.
SECTIONS = ("startup", "desnow", "tiled", "derain", "pipeline", "efficiency", "precision", "train")
#: x264 presets for the end-to-end derain runs: ``derain``'s default, and the fast one for 2-core machines.
E2E_PRESETS = ("medium", "veryfast")
#: Targets from issue 6, on the 2-core CPU reference machine with the default models.
TARGETS = {
    "desnow_mps": 1.0,
    "desnow_24mp_gib": 1.5,
    "derain_fps": {(640, 360): 3.0, (1280, 720): 1.0},
    "e2e_ratio": 0.90,
    "tiled_ratio": 0.85,
    "efficiency": 0.50,
    "startup_s": 0.5,
}


# ----------------------------------------------------------------------------------------------- helpers


def _peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _runtime(task: str, device: str, tile: int | None = None, precision: str = "auto") -> Any:
    """The loaded model exactly as ``desnow``/``derain`` load it (device, precision, layout, overlap): the
    library's :func:`~weatherclean.restore.load_restorer`, which the commands call too."""
    from weatherclean.restore import load_restorer

    return load_restorer(task, device=device, precision=precision, tile=tile)


def _loaded(pixels: np.ndarray) -> Any:
    from weatherclean.io.images import LoadedImage

    return LoadedImage(path=Path("bench.jpg"), pixels=pixels, bit_depth=8, format="JPEG", mode="RGB")


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: Any) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------- one measurement


def one_desnow(args: argparse.Namespace) -> dict[str, Any]:
    """Model-only desnow of a ``--megapixels`` photo through ``Restorer.restore_loaded`` (automatic tile)."""
    from weatherclean.restore.tiling import choose_tile

    h, w = size_for(args.megapixels)
    rt = _runtime("snow", args.device, tile=args.tile)
    tile = args.tile or choose_tile(h, w, rt.device, bytes_per_pixel=rt.model.bytes_per_pixel)
    process = rt.restore_loaded
    warm = min(tile, h), min(tile, w)
    process(_loaded(photo(*warm)))  # warm-up: oneDNN/cuDNN choose kernels for the tile shape once
    pixels = photo(h, w)
    best = min(_timed(lambda: process(_loaded(pixels.copy() if args.repeat > 1 else pixels)), rt.device)
               for _ in range(args.repeat))  # fmt: skip
    return {"megapixels": h * w / 1e6, "size": f"{w}×{h}", "tile": tile, "seconds": best,
            "mps": h * w / 1e6 / best, "peak_mib": _peak_rss_mib(), "dtype": str(rt.dtype)}  # fmt: skip


def one_desnow_file(args: argparse.Namespace) -> dict[str, Any]:
    """JPEG file in → JPEG file out with the ``desnow`` command's own function (decode, model, encode)."""
    from weatherclean.cli import batch

    src = Path(args.input)
    out = Path(tempfile.mkdtemp(prefix="wc-bench-"))
    cmd = batch.PhotoCommand(paths=[str(src)], output=out, device=args.device, quiet=True, overwrite=True)
    start = time.perf_counter()
    batch.run_photo_command(cmd, task="snow", tag="desnowed", verb="desnow")
    seconds = time.perf_counter() - start
    made = sorted(out.rglob("*.jpg"))
    shutil.rmtree(out, ignore_errors=True)
    from PIL import Image

    with Image.open(src) as im:
        w, h = im.size
    return {"megapixels": h * w / 1e6, "size": f"{w}×{h}", "seconds": seconds, "mps": h * w / 1e6 / seconds,
            "peak_mib": _peak_rss_mib(), "written": len(made)}  # fmt: skip


def one_tiled(args: argparse.Namespace) -> dict[str, Any]:
    """The same image untiled (one call) and tiled with the tile ``desnow`` picks for a 24-MP photo."""
    from weatherclean.restore.tiling import choose_tile, run_tiled_array

    h, w = size_for(args.megapixels)
    rt = _runtime("snow", args.device)
    bpp = rt.model.bytes_per_pixel
    big = size_for(24)
    tile = args.tile or choose_tile(*big, rt.device, bytes_per_pixel=bpp)
    pixels = photo(h, w)

    def run(t: int) -> float:
        run_tiled_array(rt.guard, pixels, tile=t, overlap=rt.overlap, device=rt.device)  # warm-up
        return min(_timed(lambda: run_tiled_array(rt.guard, pixels, tile=t, overlap=rt.overlap, device=rt.device),
                          rt.device) for _ in range(args.repeat))  # fmt: skip

    whole = run(max(h, w))
    tiled = run(tile)
    return {"megapixels": h * w / 1e6, "size": f"{w}×{h}", "tile": tile, "overlap": rt.overlap,
            "untiled_mps": h * w / 1e6 / whole, "tiled_mps": h * w / 1e6 / tiled, "ratio": whole / tiled}  # fmt: skip


def one_derain(args: argparse.Namespace) -> dict[str, Any]:
    """Compute only: J4R-Net over a clip's frames with its memory, tiled as ``derain`` tiles videos.

    Frames are 8-bit, as the decoder hands them to the model, so the conversion to float and back
    (which ``derain`` does in the model's thread) is part of compute, and end to end adds only the codecs.
    """
    width, height = args.width, args.height
    rt = _runtime("rain", args.device)
    frames = [np.rint(f * 255).astype(np.uint8) for f in clip_frames(width, height, args.frames + 1)]
    clip = rt.new_clip()
    clip(frames[0])  # warm-up frame (also the clip's first, memory-less step)
    seconds = _timed(lambda: [clip(f) for f in frames[1:]], rt.device)
    return {"size": f"{width}×{height}", "frames": args.frames, "fps": args.frames / seconds, "tile": clip.tile,
            "peak_mib": _peak_rss_mib()}  # fmt: skip


def _audio_packets(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.audio[0]) if p.dts is not None)


#: The command each task's video runs through: its output tag and its name.
VIDEO_COMMANDS = {"rain": ("derained", "derain"), "snow": ("desnowed", "desnow")}


def one_video_file(args: argparse.Namespace) -> dict[str, Any]:
    """End to end: the ``derain`` (or, with ``--task snow``, ``desnow``) command's function on a clip (decode +
    model + encode, audio copied)."""
    from weatherclean.cli import batch
    from weatherclean.io.video import VideoOptions, probe_video

    src = Path(args.input)
    info = probe_video(src)
    out = Path(tempfile.mkdtemp(prefix="wc-bench-"))
    task = args.task or "rain"
    tag, verb = VIDEO_COMMANDS[task]

    def run(path: Path) -> float:
        cmd = batch.PhotoCommand(paths=[str(path)], output=out, device=args.device, quiet=True, overwrite=True)
        start = time.perf_counter()
        batch.run_media_command(
            cmd, task=task, tag=tag, verb=verb, frames=False, video=VideoOptions(preset=args.preset)
        )
        return time.perf_counter() - start

    if args.warmup:
        run(Path(args.warmup))  # model load, kernel choice and encoder start-up on a 2-frame clip
    seconds = run(src)
    result = out / src.name
    copied = _audio_packets(result) == _audio_packets(src)
    frames = probe_video(result).frames or 0
    shutil.rmtree(out, ignore_errors=True)
    return {"size": f"{info.width}×{info.height}", "frames": frames, "fps": frames / seconds,
            "audio_copied": copied, "preset": args.preset, "peak_mib": _peak_rss_mib()}  # fmt: skip


def one_train(args: argparse.Namespace) -> dict[str, Any]:
    """``train`` for a few dozen steps with the defaults' crop and batch, on synthetic weather."""
    import torch

    from weatherclean.models.registry import DEFAULT_MODELS, create_model
    from weatherclean.training.tasks import RainTask, SnowTask
    from weatherclean.training.trainer import TrainConfig, train

    torch.manual_seed(0)
    model = create_model(DEFAULT_MODELS[args.task]).train()
    task: SnowTask | RainTask
    if args.task == "snow":
        batch_size = 8
        task = SnowTask(include_skimage=True, crop=96, samples=args.steps * batch_size * 4)
    else:
        batch_size = 4
        task = RainTask(include_skimage=True, frames=9, crop=48, samples=args.steps * batch_size * 4)
    with tempfile.TemporaryDirectory(prefix="wc-bench-") as tmp:
        cfg = TrainConfig(
            output=tmp, steps=args.steps, batch_size=batch_size, device=args.device, amp=args.amp, warmup_steps=1,
            checkpoint_every=10**9, log_every=5, progress=False, resume=False,
        )  # fmt: skip
        result = train(model, task, cfg)
    first, last = result.history[0], result.history[-1]  # from step 5 on: start-up is not throughput
    rate = (last["step"] - first["step"]) * batch_size / (last["seconds"] - first["seconds"])
    return {"task": args.task, "amp": bool(args.amp), "batch": batch_size, "steps": result.steps,
            "samples_per_s": rate, "peak_mib": _peak_rss_mib()}  # fmt: skip


def _dominant_conv(model: Any, size: int = 64) -> tuple[tuple[int, int, int, int], int]:
    """The conv shape (in, out, kh, kw) with the most multiply-adds, and the stride it runs at."""
    import torch

    totals: dict[tuple[int, int, int, int], float] = {}
    scale: dict[tuple[int, int, int, int], int] = {}

    def hook(mod: torch.nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        key = (mod.in_channels, mod.out_channels, *mod.kernel_size)
        per_pixel = mod.in_channels * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1] / mod.groups
        totals[key] = totals.get(key, 0.0) + per_pixel * out.shape[-2] * out.shape[-1]
        scale[key] = max(1, size // out.shape[-1])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            x = torch.rand(1, 3, size, size, device=next(model.parameters()).device)
            model.step(x) if hasattr(model, "step") else model.restore(x)
    finally:
        for h in handles:
            h.remove()
    key = max(totals, key=lambda k: totals[k])
    return key, scale[key]


def one_efficiency(args: argparse.Namespace) -> dict[str, Any]:
    """Achieved multiply-adds/s of the model ÷ a plain conv of its dominant shape, same process and settings."""
    import torch

    from weatherclean.models.family import family_of_model

    rt = _runtime(args.task, args.device)
    net, dev = rt.model, rt.device
    h, w = (1024, 1024) if args.task == "snow" else (720, 1280)
    family = family_of_model(net)
    assert family is not None, f"{type(net).__name__} is not a registered model family"
    macs = family.macs_per_pixel(net) * h * w
    x = torch.rand(1, 3, h, w, device=dev)
    autocast = dict(device_type=dev.type, dtype=rt.dtype or torch.float32, enabled=rt.dtype is not None)

    def model_call() -> object:
        with torch.inference_mode(), torch.autocast(**autocast):  # type: ignore[arg-type]
            return net.step(x, None) if args.task == "rain" else net.restore(x)

    model_call()
    model_s = min(_timed(model_call, dev) for _ in range(args.repeat))
    (cin, cout, kh, kw), stride = _dominant_conv(net)
    conv = torch.nn.Conv2d(cin, cout, (kh, kw), padding=(kh // 2, kw // 2), bias=True).to(dev).eval()
    if dev.type in ("cpu", "cuda"):
        conv = conv.to(memory_format=torch.channels_last)
    y = torch.rand(1, cin, max(8, h // stride), max(8, w // stride), device=dev)
    reps = 4

    def conv_call() -> object:
        with torch.inference_mode(), torch.autocast(**autocast):  # type: ignore[arg-type]
            for _ in range(reps):
                out = conv(y)
            return out

    conv_call()
    conv_s = min(_timed(conv_call, dev) for _ in range(args.repeat))
    conv_macs = reps * y.shape[-2] * y.shape[-1] * cin * cout * kh * kw
    achieved, reference = macs / model_s, conv_macs / conv_s
    return {"task": args.task, "gmacs_per_s": achieved / 1e9, "conv_gmacs_per_s": reference / 1e9,
            "conv": f"{cin}→{cout} {kh}×{kw} at 1/{stride}", "efficiency": achieved / reference}  # fmt: skip


def one_precision(args: argparse.Namespace) -> dict[str, Any]:
    """PSNR against the clean picture, fp32 vs ``--precision auto``: the reduced precision must not cost quality.

    Synthetic snow (level M, fixed seed) over scikit-image's colour samples, desnowed whole at each
    precision through the same guard the command uses; the figure is the mean PSNR change in dB.
    """
    from weatherclean.data.images import skimage_samples
    from weatherclean.evaluation.metrics import psnr
    from weatherclean.synth.snow import synthesize_snow

    auto = _runtime("snow", args.device)
    fp32 = _runtime("snow", args.device, precision="fp32")
    rng = np.random.default_rng(1)
    scores: dict[str, list[float]] = {"auto": [], "fp32": []}
    for _name, clean in skimage_samples():
        snowy = synthesize_snow(clean, rng, level="M").snowy
        for key, rt in (("auto", auto), ("fp32", fp32)):
            restored = rt.restore_loaded(_loaded(np.array(snowy, dtype=np.float32)))
            scores[key].append(float(psnr(restored, clean)))
    delta = float(np.mean(scores["auto"]) - np.mean(scores["fp32"]))
    return {"auto_dtype": str(auto.dtype), "fp32_db": float(np.mean(scores["fp32"])),
            "auto_db": float(np.mean(scores["auto"])), "delta_db": delta, "images": len(scores["fp32"])}  # fmt: skip


ONE: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "desnow": one_desnow,
    "desnow-file": one_desnow_file,
    "tiled": one_tiled,
    "derain": one_derain,
    "video-file": one_video_file,
    "train": one_train,
    "efficiency": one_efficiency,
    "precision": one_precision,
}


# ------------------------------------------------------------------------------------------ the parent


def machine_line(device: str) -> str:
    """CPU model, cores, torch, threads, native bf16 and the date: what a reader needs to compare."""
    import torch

    from weatherclean.restore.precision import cpu_has_native_bf16

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = ""
    if device != "cpu" and torch.cuda.is_available():
        gpu = f", GPU {torch.cuda.get_device_name(0)}"
    return (f"{cpu}, {usable} usable cores ({os.cpu_count()} in all), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
            f"native bf16: {cpu_has_native_bf16()}{gpu}, {datetime.date.today().isoformat()}")  # fmt: skip


def child(name: str, device: str, **params: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON (an ``error`` key if it failed)."""
    argv = [sys.executable, str(HERE), "--one", name, "--device", device]
    for key, value in params.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  {name} {params}: FAILED ({tail})", file=sys.stderr)
        return {"error": tail}
    data: dict[str, Any] = json.loads(lines[-1])
    print(f"  {name} {params}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return data


def _seconds(cell: str) -> float:
    """The seconds at the start of a pipeline table cell ("12.3 s (1.95 MP/s)")."""
    return float(cell.split()[0])


def _mark(value: float, target: float, higher: bool = True) -> str:
    ok = value >= target if higher else value <= target
    return "✅" if ok else "❌"


def _row(rows: list[str], figure: str, value: str, target: str = "", mark: str = "") -> None:
    rows.append(f"| {figure} | {value} | {target} | {mark} |")


def run_suite(args: argparse.Namespace) -> str:
    """Every measurement, each in a child, as Markdown (machine line, command, table)."""
    from weatherclean.restore.precision import cpu_has_native_bf16

    quick = args.quick
    sections = set(args.only or SECTIONS)
    dev = args.device
    rows = ["| figure | value | target | |", "|---|---|---|---|"]
    work = Path(tempfile.mkdtemp(prefix="wc-bench-inputs-"))
    sys.path.insert(0, str(HERE.parent))  # the sibling scripts below

    if "startup" in sections:
        # start-up of the commands that must answer at once (each run a fresh interpreter; benchmarks/startup.py)
        import startup

        for command, seconds in startup.measure(repeat=3 if quick else 7):
            target = f"≤ {TARGETS['startup_s']:g} s" if command.startswith("weatherclean") else ""
            mark = _mark(seconds, TARGETS["startup_s"], higher=False) if target else ""
            _row(rows, f"start-up: `{command}` (median)", f"{seconds:.2f} s", target, mark)

    if "desnow" in sections:
        # desnow, model only: throughput and peak memory per size
        for mp in QUICK_DESNOW_MP if quick else DESNOW_MP:
            r = child("desnow", dev, megapixels=mp, repeat=1)
            if "error" in r:
                _row(rows, f"desnow {mp} MP, model only", f"failed: {r['error']}")
                continue
            _row(
                rows,
                f"desnow throughput, {r['size']} ({r['megapixels']:.1f} MP), tile {r['tile']}",
                f"{r['mps']:.2f} MP/s ({r['seconds']:.1f} s)",
                "≥ 1 MP/s",
                _mark(r["mps"], TARGETS["desnow_mps"]),
            )
            gib = r["peak_mib"] / 1024
            target = "≤ 1.5 GiB" if mp == 24 else ""
            _row(rows, f"desnow peak resident memory, {r['megapixels']:.1f} MP, model only", f"{r['peak_mib']:.0f} MiB",
                 target, _mark(gib, TARGETS["desnow_24mp_gib"], higher=False) if mp == 24 else "")  # fmt: skip

    if "desnow" in sections:
        # desnow, JPEG file to JPEG file (decode, model, encode as the command does)
        mp_file = 1 if quick else 24
        h, w = size_for(mp_file)
        jpeg = work / f"photo_{mp_file}mp.jpg"
        from PIL import Image

        Image.fromarray((photo(h, w) * 255).astype(np.uint8)).save(jpeg, quality=92)
        r = child("desnow-file", dev, input=jpeg)
        if "error" not in r:
            target = "≤ 1.5 GiB" if mp_file == 24 else ""
            mark = _mark(r["peak_mib"] / 1024, TARGETS["desnow_24mp_gib"], higher=False) if mp_file == 24 else ""
            _row(rows, f"desnow JPEG → JPEG, {r['megapixels']:.1f} MP (`weatherclean desnow`)",
                 f"{r['mps']:.2f} MP/s, peak {r['peak_mib']:.0f} MiB", target, mark)  # fmt: skip

    if "desnow" in sections:
        # desnow on a video, end to end: every frame alone through DesnowNet (decode + model + encode); no target
        width, height = (640, 360) if quick else (1280, 720)
        clip, warm = work / f"snow_{width}x{height}.mp4", work / f"snow_warm_{width}x{height}.mp4"
        make_clip(clip, width, height, 6 if quick else 24)
        make_clip(warm, width, height, 2)
        r = child("video-file", dev, input=clip, warmup=warm, preset="medium", task="snow")
        if "error" not in r:
            megapixels = width * height / 1e6
            _row(rows, f"desnow video end to end (decode + model + encode `--preset medium`, audio copied: "
                 f"{r['audio_copied']}), {r['size']}, {r['frames']} frames",
                 f"{r['fps']:.2f} frames/s ({r['fps'] * megapixels:.2f} MP/s)")  # fmt: skip

    if "tiled" in sections:
        # tiled against untiled at one image size
        r = child("tiled", dev, megapixels=1 if quick else 2, repeat=1 if quick else 2)
        if "error" not in r:
            _row(rows, f"tiled ({r['tile']}-px tiles, {r['overlap']}-px overlap) vs untiled, {r['size']}",
                 f"{r['tiled_mps']:.2f} vs {r['untiled_mps']:.2f} MP/s = {100 * r['ratio']:.0f} %", "≥ 85 %",
                 _mark(r["ratio"], TARGETS["tiled_ratio"]))  # fmt: skip

    if "derain" in sections:
        # derain: compute only and end to end (a 4-second clip, so start-up and the encoder's final flush
        # weigh as they do on a short real clip; with the default preset and with a fast one)
        for width, height in QUICK_DERAIN_SIZES if quick else DERAIN_SIZES:
            target = TARGETS["derain_fps"][(width, height)]
            comp = child("derain", dev, width=width, height=height, frames=4 if quick else 24)
            if "error" not in comp:
                _row(rows, f"derain compute only, {comp['size']}, tile {comp['tile']}", f"{comp['fps']:.2f} frames/s",
                     f"≥ {target:g} frames/s", _mark(comp["fps"], target))  # fmt: skip
            clip = work / f"clip_{width}x{height}.mp4"
            warm = work / f"warm_{width}x{height}.mp4"
            make_clip(clip, width, height, 24 if quick else 100)
            make_clip(warm, width, height, 2)
            for preset in E2E_PRESETS:
                e2e = child("video-file", dev, input=clip, warmup=warm, preset=preset)
                if "error" in e2e:
                    continue
                ratio = e2e["fps"] / comp["fps"] if "error" not in comp else float("nan")
                figure = (f"derain end to end (decode + model + encode `--preset {preset}`, audio copied: "
                          f"{e2e['audio_copied']}), {e2e['size']}, {e2e['frames']} frames")  # fmt: skip
                value = f"{e2e['fps']:.2f} frames/s = {100 * ratio:.0f} % of compute"
                _row(rows, figure, value, "≥ 90 % of compute", _mark(ratio, TARGETS["e2e_ratio"]))

    if "pipeline" in sections:
        # the pipelined runner on and off, alternating (benchmarks/pipeline.py)
        import pipeline

        try:
            got = pipeline.measure(dev, photos=2 if quick else 8, frames=6 if quick else 24, repeat=1 if quick else 2)
        except RuntimeError as exc:
            _row(rows, "pipeline on vs off", f"failed: {exc}")
            got = []
        for line in got:  # | run | on | off | gain |  →  one row of this table
            run, on, off, gain = (cell.strip() for cell in line.strip("|").split("|"))
            _row(rows, f"{run}: pipeline on vs off (`WEATHERCLEAN_PIPELINE=0`)", f"{on} vs {off} ({gain})",
                 "not slower", _mark(_seconds(off) / _seconds(on), 0.98))  # fmt: skip

    if "efficiency" in sections:
        # efficiency against a plain convolution
        for task in ("snow", "rain"):
            r = child("efficiency", dev, task=task, repeat=5)
            if "error" not in r:
                _row(rows, f"{task} model efficiency (dominant conv {r['conv']})",
                     f"{r['gmacs_per_s']:.1f} of {r['conv_gmacs_per_s']:.1f} GMAC/s = {100 * r['efficiency']:.0f} %",
                     "≥ 50 %", _mark(r["efficiency"], TARGETS["efficiency"]))  # fmt: skip

    if "precision" in sections:
        # reduced precision must not move quality
        r = child("precision", dev)
        if "error" not in r and r["auto_dtype"] != "None":
            dtype = r["auto_dtype"].replace("torch.", "")
            value = f"{r['auto_db']:.3f} vs {r['fp32_db']:.3f} dB ({r['delta_db']:+.3f})"
            _row(rows, f"desnow PSNR, `--precision auto` ({dtype}) vs fp32, {r['images']} photos with snow M", value,
                 "within ± 0.05 dB", _mark(-abs(r["delta_db"]), -0.05))  # fmt: skip

    if "train" in sections:
        # training samples/s
        amps = [False] + ([True] if dev == "cuda" or cpu_has_native_bf16() else [])
        for task in ("snow", "rain"):
            for amp in amps:
                r = child("train", dev, task=task, amp=amp, steps=15 if quick else 40)
                if "error" not in r:
                    what = "crop 96, batch 8" if task == "snow" else "9-frame clips, crop 48, batch 4"
                    _row(rows, f"training {task} ({what}), {'bf16/fp16 autocast' if amp else 'fp32'}",
                         f"{r['samples_per_s']:.1f} samples/s")  # fmt: skip

    shutil.rmtree(work, ignore_errors=True)
    command = "python benchmarks/run_all.py" + "".join(f" {a}" for a in sys.argv[1:])
    env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
    head = [
        f"machine: {machine_line(dev)}",
        "",
        f"command: `{env}{shlex.join(shlex.split(command))}`" + (" (smoke run: smallest sizes only)" if quick else ""),
        "",
    ]
    return "\n".join(head + rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only (a smoke run)")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--one", choices=sorted(ONE), help=argparse.SUPPRESS)
    for flag, kind in (("--megapixels", float), ("--tile", int), ("--repeat", int), ("--width", int),
                       ("--height", int), ("--frames", int), ("--steps", int), ("--task", str), ("--input", str),
                       ("--warmup", str), ("--preset", str)):  # fmt: skip
        parser.add_argument(flag, type=kind, help=argparse.SUPPRESS)
    parser.add_argument("--amp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.repeat = args.repeat or 1
        print(json.dumps(ONE[args.one](args)))
        return
    text = run_suite(args)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
