#!/usr/bin/env bash
# Snow round 3 candidate (2026-12-05 02:35; runs/round3-snow-rule.txt). Resumable: rerun the same command.
# The shipped model fires on bright scene details (a probe on the tuning and seen sets: ẑ > 0.06 on
# 1–2.4 % of snow-free pixels, which it darkens by 15–42 levels), which is most of light snow's loss.
# Half the crops snow-free and a doubled mask weight (λ_z 6) push those false detections down.
set -euo pipefail
renice -n 15 -p $$ >/dev/null  # the rain round goes first (all jobs share one autogroup: per-process nice)
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/snow12b/model \
  --pass-through 0.02 --lambda-colour 4 --lambda-z 6 --clean-fraction 0.5 --no-haze --steps 1500 --batch-size 8 \
  --crop 96 --lr 1e-4 --warmup 50 --seed 13 --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/snow12c
