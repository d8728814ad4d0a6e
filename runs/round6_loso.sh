#!/usr/bin/env bash
# Round 6's leave-downpour-out twin (runs/issue-h-nd.sh) scored with the shipped thresholds on the same fresh sets.
set -euo pipefail
while [ ! -f runs/r13e-nd-s2/model/README.md ]; do sleep 20; done
sleep 5
python scripts/score_rain_styles.py loso=runs/r13e-nd-s2/model@0.03/0.04 --data data/rain6 --with runs/scores/round6-rain.json \
  --json runs/scores/round6-loso.json > runs/scores/round6-loso.txt 2>&1
