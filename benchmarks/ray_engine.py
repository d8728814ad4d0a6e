#!/usr/bin/env python3
"""Throughput of ``weatherclean desnow --engine ray`` with 1 and 2 actors, beside ``--engine local``.

    python benchmarks/ray_engine.py                     # 8 photos of 1224×816, CPU, a local Ray per run
    python benchmarks/ray_engine.py --photos 16 --device cuda --ray-address HOST:6379

Run by hand; it is not a test (docs/scale.md quotes it). Each configuration runs the real command in a
child process (``python -m weatherclean desnow ... --json``) on the same folder of JPEGs, written here
from scikit-image's astronaut, into a fresh output folder. It prints, per configuration, the whole
command's wall time (Python start-up, model load, a local Ray's start and its actors' start included)
and the batch's own time (``seconds`` in the JSON summary: for Ray from connecting to the last file),
and the megapixels per second of each. Each Ray configuration's outputs are compared byte for byte
with the local run whose model had as many threads (PyTorch's CPU convolutions round differently with
another thread count, so that is the pair that must match).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _photos(folder: Path, count: int, height: int, width: int) -> float:
    """``count`` JPEGs of the astronaut tiled to height×width, each shifted; their megapixels in all."""
    from skimage import data

    base = data.astronaut()
    reps = (-(-height // base.shape[0]) + 1, -(-width // base.shape[1]) + 1, 1)
    tiled = np.tile(base, reps)
    folder.mkdir(parents=True)
    for i in range(count):
        shift = 37 * i
        Image.fromarray(tiled[shift : shift + height, shift : shift + width]).save(folder / f"p{i:02d}.jpg", quality=92)
    return count * height * width / 1e6


def _run(photos: Path, out: Path, extra: list[str], device: str) -> tuple[float, dict[str, object]]:
    """One command in a child process: (wall seconds, JSON summary)."""
    command = [sys.executable, "-m", "weatherclean", "desnow", str(photos), "-o", str(out), "--device", device]
    start = time.perf_counter()
    done = subprocess.run([*command, *extra, "--json"], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(extra) or 'local'} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--size", default="816x1224", help="HxW of each photo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ray-address", default=None, help="a cluster to use instead of a local Ray per run")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    cores = os.cpu_count() or 1
    address = ["--ray-address", args.ray_address] if args.ray_address else []
    half = max(1, cores // 2)
    # name → (extra arguments, threads per model)
    configs: dict[str, tuple[list[str], int]] = {
        f"local, {cores} threads": ([], cores),
        f"local, {half} thread(s) (--threads {half})": (["--threads", str(half)], half),
        f"ray, 1 actor × {cores} CPUs": (["--engine", "ray", "--ray-actors", "1", "--ray-cpus-per-actor", str(cores)],
                                         cores),
        f"ray, 2 actors × {half} CPU(s)": (["--engine", "ray", "--ray-actors", "2", "--ray-cpus-per-actor", str(half)],
                                           half),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        megapixels = _photos(root / "photos", args.photos, height, width)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"machine: {platform.processor() or platform.machine()}, {cores} cores, load average {load:.1f} at "
            f"start; {args.photos} photos of {width}×{height} ({megapixels:.1f} MP), --device {args.device}\n"
        )
        print("| configuration | command wall | batch time | MP/s (batch) | same bytes as local, same threads |")
        print("|---|---|---|---|---|")
        local: dict[int, dict[str, bytes]] = {}
        for n, (name, (extra, threads)) in enumerate(configs.items()):
            out = root / f"out{n}"
            on_ray = "--engine" in extra
            wall, summary = _run(root / "photos", out, [*extra, *address] if on_ray else extra, args.device)
            files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
            same = "(reference)" if not on_ray else ("yes" if files == local.get(threads) else "NO")
            local.setdefault(threads, files)
            seconds = float(summary["seconds"])  # type: ignore[arg-type]
            print(f"| {name} | {wall:.1f} s | {seconds:.1f} s | {megapixels / seconds:.2f} | {same} |")


if __name__ == "__main__":
    main()
