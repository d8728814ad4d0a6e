#!/bin/bash
# Training speed before (a30c15d, in a worktree, its own source first on the path) and after the rewrite of
# desnow's inner paths (training runs the layouts and the folded residual head too; the maxima keep their
# old paths under gradients), twice in turn on an idle machine. Rain training is in the same part and
# should not move.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=/tmp/wc-a30c15d
[ -d "$OLD" ] || git worktree add -q --detach "$OLD" a30c15d
for sitting in 1 2; do
  PYTHONPATH="$OLD/src" python benchmarks/run_all.py --only train --output "runs/bench_train_r20_${sitting}_before.md"
  python benchmarks/run_all.py --only train --output "runs/bench_train_r20_${sitting}_after.md"
done
