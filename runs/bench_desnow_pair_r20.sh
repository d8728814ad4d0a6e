#!/bin/bash
# `weatherclean desnow` on one 12-MP JPEG (the benchmarks' astronaut photo), before (a30c15d, in a worktree,
# its own source first on the path) and after the rewrite of desnow's inner paths, whole processes timed in
# turn (before, after, before, ...) after one warm-up each, so that the machine's drift hits both alike.
# Prints each pair's wall seconds and the median after/before ratio into runs/scores/desnow-pair-r20.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=/tmp/wc-a30c15d
[ -d "$OLD" ] || git worktree add -q --detach "$OLD" a30c15d
work=$(mktemp -d)
python - "$work/photo_12mp.jpg" <<'PY'
import sys
sys.path.insert(0, "benchmarks")
from inputs import photo, size_for
from PIL import Image
Image.fromarray((photo(*size_for(12)) * 255).astype("uint8")).save(sys.argv[1], quality=92)
PY
run() {  # $1: before|after; prints wall seconds
  local start end
  start=$(date +%s.%N)
  if [ "$1" = before ]; then
    PYTHONPATH="$OLD/src" weatherclean desnow "$work/photo_12mp.jpg" -o "$work/out" --overwrite -q > /dev/null
  else
    weatherclean desnow "$work/photo_12mp.jpg" -o "$work/out" --overwrite -q > /dev/null
  fi
  end=$(date +%s.%N)
  python -c "print(f'{$end - $start:.2f}')"
}
run before > /dev/null; run after > /dev/null
{
  echo "weatherclean desnow, one 12-MP JPEG ($(python -c 'import sys; sys.path.insert(0, "benchmarks"); from run_all import machine_line; print(machine_line("cpu"))'))"
  echo "| pair | before (s) | after (s) | after / before |"
  echo "|---|---|---|---|"
  ratios=()
  for i in 1 2 3 4 5; do
    b=$(run before); a=$(run after)
    r=$(python -c "print(f'{$a / $b:.3f}')"); ratios+=("$r")
    echo "| $i | $b | $a | $r |"
  done
  echo
  echo "median after / before: $(python -c "import statistics; print(statistics.median([${ratios[*]/%/,}]))")"
} > runs/scores/desnow-pair-r20.txt
cat runs/scores/desnow-pair-r20.txt
