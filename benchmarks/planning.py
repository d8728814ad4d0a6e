#!/usr/bin/env python3
"""Planning time of one shard of a large batch: ``plan_jobs`` over a folder of one-byte files named like photos.

    python benchmarks/planning.py                       # 20,000 files in 20 folders, --shard 1/8, 5 runs
    python benchmarks/planning.py --files 100000 --shard 1/16
    python benchmarks/planning.py --files 5000 --shard 1/1 --pattern   # the quoted 'in/**/*.jpg' beside the folder

Every shard walks and plans the whole tree (so that a photo reached by two paths goes to one shard only),
then keeps its own share; this is what a task of a Slurm array pays before its first photo. The files are
made once in a temporary folder on this machine's disk; network file systems are slower. Run by hand on an
otherwise idle machine; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.batch import parse_shard, plan_jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--folders", type=int, default=20)
    parser.add_argument("--shard", default="1/8")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pattern", action="store_true", help="also plan the quoted pattern 'in/**/*.jpg'")
    args = parser.parse_args()
    shard = parse_shard(args.shard)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(args.files):
            folder = root / "in" / f"d{i % args.folders:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"p{i:07d}.jpg").write_bytes(b"\xff")  # not empty: an empty file fails at planning
        os.chdir(root)
        for given in ["in", "in/**/*.jpg"] if args.pattern else ["in"]:
            jobs = len(plan_jobs([given], "out", shard=shard).jobs)
            seconds = median_seconds(lambda given=given: plan_jobs([given], "out", shard=shard), args.repeat)
            where = f"`{given}`: {args.files:,} files in {args.folders} folders, --shard {args.shard}"
            print(f"| {where} | {jobs:,} jobs | {seconds:.2f} s (median of {args.repeat}) |")


if __name__ == "__main__":
    main()
