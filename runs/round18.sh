#!/usr/bin/env bash
# Rain round 18 (docs/model-history.md "Round 18 (rain)"): runs/r17l/model (j4rnet-light's weights with veil_cell 64) at round
# 17's tuning pick for it, and j4rnet-light as it ships, on fresh sets (seed 18181); the rule.
set -euo pipefail
while [ ! -d data/rain18/bright_clean ]; do sleep 30; done
[ -f runs/scores/round18-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain18 \
  --json runs/scores/round18-bundled.json > runs/scores/round18-bundled.txt 2>&1
python scripts/score_rain_styles.py "r18l=runs/r17l/model@0.03/0.04" --data data/rain18 --with runs/scores/round18-bundled.json \
  --json runs/scores/round18-rain.json > runs/scores/round18-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round18-rain.json --candidate r18l > runs/scores/round18-rule.txt || true
cat runs/scores/round18-rule.txt
python scripts/score_rain_styles.py bundled=j4rnet-light "r18l=runs/r17l/model@0.03/0.04" --sets --clean data/rain18/bright_clean \
  --json runs/scores/round18-bright.json > runs/scores/round18-bright.txt 2>&1
cat runs/scores/round18-bright.txt
