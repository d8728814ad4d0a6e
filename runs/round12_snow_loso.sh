#!/usr/bin/env bash
# Snow round 12 (runs/round12-snow-loso-rule.txt): the round-11 weights' leave-flakes-out twin on round 11's sets.
set -euo pipefail
while [ ! -f runs/r12s-nf-t03/model/config.json ]; do sleep 20; done
python scripts/score_snow_styles.py loso=runs/r12s-nf-t03/model --data data/snow22 --with runs/scores/round11-snow.json \
  --json runs/scores/round12-snow-loso.json > runs/scores/round12-snow-loso.txt 2>&1
cat runs/scores/round12-snow-loso.txt
