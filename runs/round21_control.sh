#!/usr/bin/env bash
# Rain round 21 (runs/round21-rain-control-rule.txt): the control on round 20's sets, beside round 20's scores.
set -euo pipefail
export OMP_NUM_THREADS=1
while [ ! -f runs/r21c/model/config.json ]; do sleep 30; done
python scripts/score_rain_styles.py "r21c=runs/r21c/model@0.03/0.04" --data data/rain22 --with runs/scores/round20-rain.json \
  --json runs/scores/round21-control.json > runs/scores/round21-control.txt 2>&1
tail -4 runs/scores/round21-control.txt
