#!/usr/bin/env bash
# Rain round 19 (runs/round19-rain-loso-rule.txt): j4rnet-wide's leave-downpour-out twin on round 17's sets,
# beside the default (r17w there) and the others scored then. Then, on the core that frees, the bundled
# desnownet-light on snow round 7's sets (runs/round7-snow-loso-rule.txt; runs/round7_snow_loso.sh adds the twin).
set -euo pipefail
export OMP_NUM_THREADS=1  # beside a training run on the other core
while [ ! -f runs/r19-ndw/model/config.json ]; do sleep 30; done
[ -f runs/scores/round19-loso.json ] || python scripts/score_rain_styles.py loso=runs/r19-ndw/model --data data/rain17 \
  --with runs/scores/round17-rain.json --json runs/scores/round19-loso.json > runs/scores/round19-loso.txt 2>&1
[ -f runs/scores/round7-snow-bundled.json ] || python scripts/score_snow_styles.py bundled=desnownet-light --data data/snow19 \
  --json runs/scores/round7-snow-bundled.json > runs/scores/round7-snow-bundled.txt 2>&1
