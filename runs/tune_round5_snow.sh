#!/usr/bin/env bash
# Snow round-5 tuning (docs/model-history.md "Round 5 (snow)"), training backgrounds only, as tune_round4_snow.sh.
set -euo pipefail
c=()
for t in 0.01 0.02 0.03 0.04; do c+=("e-t${t#0.}=runs/snow12e/model@$t"); done
python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune --styles mixed --json runs/scores/round5-tune-snow.json
python scripts/pick_thresholds.py runs/scores/round5-tune-snow.json --light mixed_S --heavy mixed_M
