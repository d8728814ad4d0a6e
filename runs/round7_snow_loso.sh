#!/usr/bin/env bash
# Snow round 7 (runs/round7-snow-loso-rule.txt): the bundled desnownet-light's leave-flakes-out twin on data/snow19,
# beside the bundled model (scored by runs/round19_loso.sh on the core the rain twin frees).
set -euo pipefail
export OMP_NUM_THREADS=1  # beside a training run on the other core
while [ ! -f runs/r7s-nf/model/config.json ] || [ ! -f runs/scores/round7-snow-bundled.json ]; do sleep 30; done
[ -f runs/scores/round7-snow-loso.json ] || python scripts/score_snow_styles.py loso=runs/r7s-nf/model --data data/snow19 \
  --with runs/scores/round7-snow-bundled.json --json runs/scores/round7-snow-loso.json > runs/scores/round7-snow-loso.txt 2>&1
cat runs/scores/round7-snow-loso.txt
