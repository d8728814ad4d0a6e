#!/usr/bin/env bash
# After rain round 20's verdict, by hand: its candidate (runs/r20/model) at gate thresholds below the tuning grid, on
# the tuning sets (training backgrounds): does a lower threshold win back the removal the fine-tune lost? No ship.
set -euo pipefail
python scripts/score_rain_styles.py "h-t02v04=runs/r20/model@0.02/0.04" "h-t01v04=runs/r20/model@0.01/0.04" \
  --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
  --json runs/scores/round20-low-tune.json > runs/scores/round20-low-tune.txt 2>&1
cat runs/scores/round20-low-tune.txt
