#!/usr/bin/env bash
# Snow round-3 tuning (runs/round3-snow-rule.txt), training backgrounds only.
set -euo pipefail
c=()
for t in 0.02 0.03 0.04 0.05; do c+=("c-t${t#0.}=runs/snow12c/model@$t"); done
python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune --styles mixed --json runs/scores/round3-tune-snow.json
python scripts/pick_thresholds.py runs/scores/round3-tune-snow.json --light mixed_S --heavy mixed_M
