#!/bin/bash
# Desnow's speed before and after the rewrite of its inner paths (fused heads, matched layouts, running-max
# dilation, folded residual head), on an idle machine. "Before" is the last commit without it, a30c15d,
# checked out in a worktree and run with its own source first on the path; "after" is this checkout.
# run_all's desnow part runs twice in turn (before, after, before, after): single runs on this shared
# machine drift by more than the change. benchmarks/desnow_paths.py alternates the paths inside one
# process; runs/bench_desnow_pair_r20.sh alternates whole `weatherclean desnow` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=/tmp/wc-a30c15d
[ -d "$OLD" ] || git worktree add -q --detach "$OLD" a30c15d
for sitting in 1 2; do
  PYTHONPATH="$OLD/src" python benchmarks/run_all.py --only desnow --output "runs/bench_desnow_r20_${sitting}_before.md"
  python benchmarks/run_all.py --only desnow --output "runs/bench_desnow_r20_${sitting}_after.md"
done
python benchmarks/run_all.py --only tiled --output runs/bench_tiled_r20.md
{ echo '$ python benchmarks/desnow_paths.py'; python benchmarks/desnow_paths.py
  echo; echo '$ python benchmarks/desnow_paths.py --precision fp32'; python benchmarks/desnow_paths.py --precision fp32
} > runs/bench_desnow_paths_r20.md
