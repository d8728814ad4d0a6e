#!/usr/bin/env python3
"""The pipelined runner against one job at a time, in one run: a folder of JPEGs through ``desnow`` and a
720p clip through ``derain``, each with ``WEATHERCLEAN_PIPELINE=1`` (the default) and ``=0``.

    python benchmarks/pipeline.py                      # 8 photos of 2-4 MP, a 24-frame 720p clip
    python benchmarks/pipeline.py --photos 4 --frames 12 --repeat 1
    python benchmarks/pipeline.py --device cuda        # the same on a GPU

Each measurement is a fresh interpreter (``--one ...``) that runs the command's own function
(``run_photo_command``, ``run_media_command``) and times it, model load included (the same in both modes).
The two modes alternate (on, off, on, off, ...) so that a machine whose load drifts (training jobs in
the background) biases neither; the median of each is reported. Also called by ``run_all.py``
(its ``pipeline`` part).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"
#: Photo sizes in megapixels, cycled over the folder: the 2-4 MP of phone snapshots and web photos.
PHOTO_MP = (2.0, 3.0, 4.0, 2.5)


def make_photos(folder: Path, count: int) -> float:
    """``count`` JPEGs of 2-4 MP (scikit-image's astronaut, tiled up to size); returns their megapixels."""
    from PIL import Image

    sys.path.insert(0, str(HERE.parent))
    from inputs import photo, size_for

    folder.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for i in range(count):
        h, w = size_for(PHOTO_MP[i % len(PHOTO_MP)])
        Image.fromarray((photo(h, w) * 255).astype(np.uint8)).save(folder / f"photo_{i:02d}.jpg", quality=92)
        total += h * w / 1e6
    return total


def one(kind: str, source: Path, device: str) -> dict[str, Any]:
    """In a child: run the command's function once on ``source``; seconds and what it wrote."""
    from weatherclean.cli import batch
    from weatherclean.io.video import VideoOptions

    out = Path(tempfile.mkdtemp(prefix="wc-bench-pipe-"))
    cmd = batch.PhotoCommand(paths=[str(source)], output=out, device=device, quiet=True, overwrite=True)
    start = time.perf_counter()
    if kind == "photos":
        batch.run_photo_command(cmd, task="snow", tag="desnowed", verb="desnow")
    else:
        batch.run_media_command(cmd, task="rain", tag="derained", verb="derain", frames=False, video=VideoOptions())
    seconds = time.perf_counter() - start
    written = sum(1 for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "written": written}


def _child(kind: str, source: Path, device: str, pipeline: bool) -> float:
    env = {**os.environ, "WEATHERCLEAN_PIPELINE": "1" if pipeline else "0",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    argv = [sys.executable, str(HERE), "--one", kind, "--input", str(source), "--device", device]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} (pipeline {pipeline}) failed: {proc.stderr.strip()[-500:]}")
    return float(json.loads(lines[-1])["seconds"])


def compare(kind: str, source: Path, device: str, repeat: int) -> dict[str, float]:
    """Median seconds with the pipeline on and off, alternating."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeat):
        for pipeline in (True, False):
            times[pipeline].append(_child(kind, source, device, pipeline))
            print(f"  {kind} pipeline={'on' if pipeline else 'off'}: {times[pipeline][-1]:.1f} s", file=sys.stderr)
    return {"on": statistics.median(times[True]), "off": statistics.median(times[False])}


def measure(device: str = "cpu", photos: int = 8, frames: int = 24, repeat: int = 2) -> list[str]:
    """Markdown rows: desnow of a photo folder and derain of a 720p clip, pipeline on and off."""
    sys.path.insert(0, str(HERE.parent))
    from inputs import make_clip

    work = Path(tempfile.mkdtemp(prefix="wc-bench-pipe-in-"))
    try:
        megapixels = make_photos(work / "photos", photos)
        clip = work / "clip_1280x720.mp4"
        make_clip(clip, 1280, 720, frames)
        rows = []
        p = compare("photos", work / "photos", device, repeat)
        rows.append(
            f"| desnow, {photos} JPEGs of 2-4 MP ({megapixels:.1f} MP) | {p['on']:.1f} s ({megapixels / p['on']:.2f}"
            f" MP/s) | {p['off']:.1f} s ({megapixels / p['off']:.2f} MP/s) | {100 * (p['off'] / p['on'] - 1):+.1f} % |"
        )
        v = compare("video", clip, device, repeat)
        rows.append(
            f"| derain, 1280×720 H.264 + AAC, {frames} frames | {v['on']:.1f} s ({frames / v['on']:.2f} frames/s)"
            f" | {v['off']:.1f} s ({frames / v['off']:.2f} frames/s) | {100 * (v['off'] / v['on'] - 1):+.1f} % |"
        )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


HEADER = ["| run (model load included) | pipeline on | pipeline off | on is faster by |", "|---|---|---|---|"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--photos", type=int, default=8, help="photos in the folder")
    parser.add_argument("--frames", type=int, default=24, help="frames in the 720p clip")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode (median reported)")
    parser.add_argument("--one", choices=("photos", "video"), help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.input, args.device)))
        return
    print("\n".join(HEADER + measure(args.device, args.photos, args.frames, args.repeat)))


if __name__ == "__main__":
    main()
