#!/usr/bin/env bash
# Snow round 5, for information only (tuning picked no threshold, so by the rule nothing ships and nothing is
# scored for a verdict): the candidate at the grid's highest threshold, 0.04, on the fresh sets beside the bundled model.
set -euo pipefail
python scripts/score_snow_styles.py "r5-t04=runs/snow12e/model@0.04" --data data/snow9 --with runs/scores/round5-snow-bundled.json \
  --json runs/scores/round5-snow-info.json > runs/scores/round5-snow-info.txt 2>&1
