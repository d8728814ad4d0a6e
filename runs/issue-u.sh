#!/usr/bin/env bash
# Kept as it ran. Its --stage veil and --veil-channels were removed with the learned veil stage in a560482
# (docs/model-history.md "Round 6 (snow)"), so it no longer runs.
# Snow round 6 (docs/model-history.md "Round 6 (snow)"): a veil stage added to the shipped desnownet-light and trained
# alone, the rest frozen. Resumable: rerun the same command.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init desnownet-light \
  --stage veil --veil-channels 24 --crop 256 --batch-size 8 --steps 4000 --lr 1e-3 --warmup 100 \
  --clean-fraction 0.25 --tone-fraction 0.3 --tone-haze dry --seed 61 --workers 1 --threads 1 \
  --checkpoint-every 200 -q -o runs/snow12f
