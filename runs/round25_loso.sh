#!/usr/bin/env bash
# Rain round 25 (runs/round25-rain-loso-rule.txt): j4rnet-wide's leave-downpour-out twin (runs/issue-x.sh, round 19's
# chain, unchanged) scored with the self-ensemble the default ships with, on round 24's sets beside the default (r24);
# then the default with and without the ensemble on the re-toned dry photos. Resumable: rerun.
set -euo pipefail
export OMP_NUM_THREADS=1  # one core each for the chain and the rest of the session
[ -f runs/r19-ndw/model/model.safetensors ] || runs/issue-x.sh
mkdir -p runs/r25-ndw/model
cp runs/r19-ndw/model/model.safetensors runs/r25-ndw/model/
cp src/weatherclean/weights/j4rnet-wide/config.json runs/r25-ndw/model/
grep -q '"self_ensemble": true' runs/r25-ndw/model/config.json
[ -f runs/scores/round25-loso.json ] || python scripts/score_rain_styles.py loso=runs/r25-ndw/model --data data/rain36 \
  --with runs/scores/round24-rain.json --json runs/scores/round25-loso.json > runs/scores/round25-loso.txt 2>&1
[ -d data/rain12/bright_clean ] || python scripts/retone_photos.py data/snow/heldout_clean data/rain12/bright_clean --seed 12119
[ -f runs/scores/round25-retoned.json ] || python scripts/score_rain_styles.py \
  ensemble=src/weatherclean/weights/j4rnet-wide plain=runs/r24/plain --sets --clean data/rain12/bright_clean \
  --json runs/scores/round25-retoned.json > runs/scores/round25-retoned.txt 2>&1
