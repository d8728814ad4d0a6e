#!/usr/bin/env python3
"""Peak memory of ``weatherclean train --clean`` against the number of large clean photos (docs/usage.md):
every ``--clean`` photo is decoded at full size and kept for the whole run.

    python benchmarks/train_memory.py              # 4 and 12 photos of 4000×3000, 2 steps each
    python benchmarks/train_memory.py --counts 2 8 --side 3000

Each run is a fresh ``weatherclean train`` process (2 steps, 32-px crops, no workers); its peak resident
memory is read from the OS after it exits (``resource.getrusage`` of the children, Linux and macOS).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SRC = Path(__file__).resolve().parents[1] / "src"


def _peak_mb(clean: Path, run: Path) -> float:
    """Peak resident memory, in MB, of one short training run on the photos in ``clean``."""
    short = ["--steps", "2", "--crop", "32", "--batch-size", "2", "--workers", "0", "--threads", "1", "-q"]
    command = [sys.executable, "-m", "weatherclean", "train", "--task", "snow", "--clean", str(clean), *short]
    command += ["-o", str(run)]
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise SystemExit("the peak of this run is hidden by an earlier, larger one: run one count per call")
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 12])
    parser.add_argument("--side", type=int, default=4000, help="long side; photos are 4:3")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for count in sorted(args.counts):  # rising, so each run's peak is above the one before
            clean = Path(tmp) / f"clean{count}"
            clean.mkdir()
            for i in range(count):
                pixels = rng.integers(0, 256, (args.side * 3 // 4, args.side, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(clean / f"{i}.jpg", quality=90)
            results.append((count, _peak_mb(clean, Path(tmp) / f"run{count}")))
    megapixels = args.side * (args.side * 3 // 4) / 1e6
    print(f"| photos of {args.side}×{args.side * 3 // 4} ({megapixels:.0f} MP) | peak memory |")
    print("|---|---|")
    for count, mb in results:
        print(f"| {count} | {mb:,.0f} MB |")
    if len(results) > 1:
        (n0, m0), (n1, m1) = results[0], results[-1]
        print(f"\nabout {(m1 - m0) / (n1 - n0):.0f} MB more per photo")


if __name__ == "__main__":
    main()
