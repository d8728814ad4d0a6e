#!/usr/bin/env bash
# Snow round 5 candidate, started 2026-12-05 13:06 (session 9); its rule is to be written before it is
# scored, on fresh sets. Resumable: rerun the same command.
# desnownet-deep (registered by the snow capacity test) trained on from its capacity run (runs/cap12-deep,
# 2500 steps from fresh weights) with the same recipe for 5000 more steps: the capacity test found the deeper
# configuration harming less (light snow, snow-free photos, new dark pixels) than the light one trained alike.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --pass-through 0.02 --lambda-colour 1 \
  --clean-fraction 0.2 --no-haze --steps 5000 --batch-size 8 --crop 96 --lr 2e-4 --warmup 100 --seed 50 \
  --workers 0 --threads 1 --checkpoint-every 200 -q --init runs/cap12-deep/model -o runs/snow12e
