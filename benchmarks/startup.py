#!/usr/bin/env python3
"""Start-up time of the commands that should answer at once: ``weatherclean --version``, ``--help`` and
``models list`` (median wall time of several runs, each a fresh interpreter, as a user's shell starts it).

    python benchmarks/startup.py               # 7 runs each, this checkout's src/
    python benchmarks/startup.py --repeat 15

Also called by ``benchmarks/run_all.py`` (its ``startup`` part). The figure includes the interpreter's
own start, shown on its own line for reference; ``python -X importtime -m weatherclean --version``
says where the rest goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
#: The commands measured, as typed after ``weatherclean``; the target is 0.5 s each on 2 cores.
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("--help",), ("models", "list"))
TARGET_S = 0.5


def _wall(argv: list[str], repeat: int) -> float:
    """Median wall seconds of ``argv`` (after one untimed run that fills the OS file cache)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(argv, env=env, capture_output=True, check=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeat: int = 7) -> list[tuple[str, float]]:
    """(command, median seconds) for the bare interpreter and each of :data:`COMMANDS`."""
    rows = [("python -c pass (the interpreter alone)", _wall([sys.executable, "-c", "pass"], repeat))]
    for args in COMMANDS:
        rows.append((f"weatherclean {' '.join(args)}", _wall([sys.executable, "-m", "weatherclean", *args], repeat)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per command (median reported)")
    args = parser.parse_args()
    print("| command | median wall time |")
    print("|---|---|")
    for command, seconds in measure(args.repeat):
        print(f"| `{command}` | {seconds:.2f} s |")


if __name__ == "__main__":
    main()
