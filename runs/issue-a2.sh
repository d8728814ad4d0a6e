#!/usr/bin/env bash
# Snow round 11 candidate (runs/round11-snow-rule.txt). Resumable: rerun. The shipped (round 9) weights, round 2's
# fine-tune recipe as round 8 ran it, no style weights, and hard negatives: each snow-free sample is the most
# detailed of 4 random crops (--dry-crops 4).
set -euo pipefail
if [ ! -f runs/desnownet-light-r9/model.safetensors ]; then  # the weights shipped when this ran, from git
  mkdir -p runs/desnownet-light-r9
  for f in README.md config.json model.safetensors; do git show 846fd24:src/weatherclean/weights/desnownet-light/$f > runs/desnownet-light-r9/$f; done
fi
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/desnownet-light-r9 \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --dry-crops 4 --no-haze --steps 1500 --batch-size 8 \
  --crop 96 --lr 1e-4 --warmup 50 --seed 11011 --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/snow11
