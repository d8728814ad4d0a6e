#!/usr/bin/env bash
# Snow round 10 (runs/round10-snow-loso-rule.txt): the round-9 weights' leave-flakes-out twin on round 9's sets.
set -euo pipefail
while [ ! -f runs/r10s-nf-t04/model/config.json ]; do sleep 20; done
python scripts/score_snow_styles.py loso=runs/r10s-nf-t04/model --data data/snow21 --with runs/scores/round9-snow.json \
  --json runs/scores/round10-snow-loso.json > runs/scores/round10-snow-loso.txt 2>&1
cat runs/scores/round10-snow-loso.txt
