#!/usr/bin/env bash
# Snow round 4 candidate (2026-12-05 05:09; docs/model-history.md "Round 4 (snow)"). Resumable: rerun the same command.
# Round 3's candidate (runs/snow12c) left snow-free photos and light snow alone better but removed less
# M/L snow; back towards removal: 30 % snow-free crops and the paper's lambda_z 3.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/snow12c/model \
  --pass-through 0.02 --lambda-colour 4 --lambda-z 3 --clean-fraction 0.3 --no-haze --steps 1500 --batch-size 8 \
  --crop 96 --lr 1e-4 --warmup 50 --seed 17 --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/snow12d
