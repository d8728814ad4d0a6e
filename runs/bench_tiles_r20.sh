#!/bin/bash
# Which CPU tile edge desnow runs fastest at on this machine, after the rewrite of its inner paths: model
# compute through the tiling engine (benchmarks/run_all.py --one desnow) at 1, 12 and 24 MP with 768-,
# 1024- and 1280-px tiles, every combination twice in turn. Before it, the automatic tile on a CPU was at
# most 768 px (chosen on the Xeon with AMX, with the old paths).
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/scores/desnow-tiles-r20.txt
echo "| run | tile | megapixels | MP/s | peak MiB |" > "$out"
echo "|---|---|---|---|---|" >> "$out"
for run in 1 2; do
  for tile in 768 1024 1280; do
    for mp in 1 12 24; do
      python benchmarks/run_all.py --one desnow --device cpu --megapixels "$mp" --tile "$tile" 2>/dev/null | tail -1 |
        python -c "import json, sys; r = json.loads(sys.stdin.read()); print(f'| $run | $tile | $mp | {r[\"mps\"]:.3f} | {r[\"peak_mib\"]:.0f} |')" >> "$out"
    done
  done
done
cat "$out"
