#!/usr/bin/env bash
# Issue 13 capacity test, scoring (docs/models.md "Capacity (rain)"): both runs on data/rain4, ungated, then the rule.
set -euo pipefail
while [ ! -f runs/cap-light-s2/model/README.md ] || [ ! -f runs/cap-wide-s2/model/README.md ]; do sleep 30; done
python scripts/score_rain_styles.py cap-light=runs/cap-light-s2/model cap-wide=runs/cap-wide-s2/model --data data/rain4 \
  --json runs/scores/capacity13.json > runs/scores/capacity13.txt 2>&1
python scripts/check_rule.py rain-capacity runs/scores/capacity13.json --candidate cap-wide --bundled cap-light \
  > runs/scores/capacity13-rule.txt || true
cat runs/scores/capacity13-rule.txt
