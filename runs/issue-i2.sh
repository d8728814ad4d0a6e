#!/usr/bin/env bash
# Snow round 15 candidate (runs/round15-snow-rule.txt). Resumable: rerun. The shipped (round 11) weights, round 11's
# recipe with 20 % snow-free samples (35 % in round 14), and hard negatives mined against those weights: each snow-free
# sample is, of 4 random crops, the one the starting model would change most (--dry-crops 4 --dry-pick change).
set -euo pipefail
if [ ! -f runs/desnownet-light-r11/model.safetensors ]; then  # the weights shipped when this ran, from git
  mkdir -p runs/desnownet-light-r11
  for f in README.md config.json model.safetensors; do git show a7cb6ae:src/weatherclean/weights/desnownet-light/$f > runs/desnownet-light-r11/$f; done
fi
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/desnownet-light-r11 \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.2 --dry-crops 4 --dry-pick change --no-haze --steps 1500 \
  --batch-size 8 --crop 96 --lr 1e-4 --warmup 50 --seed 15015 --workers 0 --threads 1 --checkpoint-every 100 -q \
  -o runs/snow15
