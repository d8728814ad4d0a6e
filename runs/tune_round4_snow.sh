#!/usr/bin/env bash
# Snow round-4 tuning (docs/model-history.md "Round 4 (snow)"), training backgrounds only.
set -euo pipefail
c=()
for t in 0.01 0.02 0.03 0.04; do c+=("d-t${t#0.}=runs/snow12d/model@$t"); done
python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune --styles mixed --json runs/scores/round4-tune-snow.json
python scripts/pick_thresholds.py runs/scores/round4-tune-snow.json --light mixed_S --heavy mixed_M
