#!/usr/bin/env bash
# bf16 against fp32 for the rain default j4rnet-wide over one round's held-out rain sets and the three real paired
# sets: `weatherclean evaluate --precision bf16` against `--precision fp32` (docs/models.md, "Choosing the defaults").
# This CPU (2-core AMD EPYC) has native bf16, so `--precision auto` runs bf16 here.
#
#   runs/precision_rain.sh NAME DATA     # DATA/photo_* and DATA/clip_*; reports in runs/scores/NAME/, NAME.txt
#
# Resumable: a set whose two reports exist is not evaluated again.
set -euo pipefail
name_out=$1 data=$2
out=runs/scores/$name_out
mkdir -p "$out"
sets=("$data"/photo_* "$data"/clip_* ../shared/data/paired/rain_heavy ../shared/data/paired/rain_light
      ../shared/data/paired/spa_real_vrgnet)
for s in "${sets[@]}"; do
  name=$(basename "$s")
  for p in fp32 bf16; do
    [ -f "$out/$name-$p.json" ] || weatherclean evaluate --task rain --dataset "$s" --model j4rnet-wide --precision $p \
      -q --report "$out/$name-$p.json" > /dev/null
  done
done
python - "$out" <<'PY' | tee "runs/scores/$name_out.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = []
for fp32 in sorted(out.glob("*-fp32.json")):
    bf16 = fp32.with_name(fp32.name.replace("-fp32", "-bf16"))
    a, b = (json.loads(p.read_text())["summary"][-1] for p in (fp32, bf16))
    rows.append((fp32.name[: -len("-fp32.json")], a["psnr_y"], b["psnr_y"]))
for name, a, b in rows:
    print(f"{name:24s} fp32 {a:6.2f}  bf16 {b:6.2f}  difference {b - a:+.3f} dB")
worst = max(rows, key=lambda r: abs(r[2] - r[1]))
print(f"{len(rows)} sets; largest |difference| {abs(worst[2] - worst[1]):.3f} dB ({worst[0]})")
PY
