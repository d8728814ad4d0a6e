#!/bin/bash
# The rewrite of desnow's inner paths changes no score: the shipped desnownet-light before (a30c15d, in a
# worktree, its own source first on the path) and after, on round 6's tuning sets (training backgrounds),
# in fp32 and bf16; per-image PSNR-Y differences into runs/scores/desnow-paths-same-r20.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=/tmp/wc-a30c15d
[ -d "$OLD" ] || git worktree add -q --detach "$OLD" a30c15d
out=$(mktemp -d)
for set in test_mixed_M test_mixed_L; do
  for prec in fp32 bf16; do
    PYTHONPATH="$OLD/src" python -m weatherclean evaluate --dataset "data/snow_tune19/$set" --precision "$prec" \
      --report "$out/before-$set-$prec.json" > /dev/null
    python -m weatherclean evaluate --dataset "data/snow_tune19/$set" --precision "$prec" \
      --report "$out/after-$set-$prec.json" > /dev/null
  done
done
python - "$out" > runs/scores/desnow-paths-same-r20.txt <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
print("| set | precision | model PSNR-Y before | after | largest per-image difference (dB) |")
print("|---|---|---|---|---|")
for run in sorted(out.glob("before-*.json")):
    before, after = json.loads(run.read_text()), json.loads((out / run.name.replace("before", "after")).read_text())
    model = [s for s in before["summary"] if s["method"] != "input (snowy)"][0]["method"]
    mean = [next(s["psnr_y"] for s in r["summary"] if s["method"] == model) for r in (before, after)]
    per = [{i["name"]: i["psnr_y"] for i in r["images"] if i["method"] == model} for r in (before, after)]
    diff = max(abs(per[0][k] - per[1][k]) for k in per[0])
    _, name, prec = run.stem.split("-", 2)[0], *run.stem.split("-", 1)[1].rsplit("-", 1)
    print(f"| {name} | {prec} | {mean[0]:.4f} | {mean[1]:.4f} | {diff:.4f} |")
PY
cat runs/scores/desnow-paths-same-r20.txt
