#!/usr/bin/env bash
# Rain round 22 candidate (runs/round22-rain-rule.txt). Resumable: rerun. The shipped j4rnet-wide weights, round 14's
# recipe, and hard negatives mined against the starting weights: of 4 random crops, the one they change most (round 20,
# runs/issue-b2.sh, with --dry-pick change; same seed). The result gets j4rnet-wide's shipped config.json.
set -euo pipefail
if [ ! -f runs/j4rnet-wide-r17/model.safetensors ]; then  # the weights shipped when this ran, from git
  mkdir -p runs/j4rnet-wide-r17
  for f in README.md config.json model.safetensors; do git show 846fd24:src/weatherclean/weights/j4rnet-wide/$f > runs/j4rnet-wide-r17/$f; done
fi
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --dry-crops 4 --dry-pick change --lambda-colour 8
        --tone-fraction 0.3 --seed 20020 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/j4rnet-wide-r17 --frames 1 --crop 96 --batch-size 8 --steps 2000 --lr 5e-5 --warmup 50 -o runs/r22-s1
weatherclean train "${common[@]}" --init runs/r22-s1/model --frames 9 --crop 64 --batch-size 4 --steps 400 --lr 5e-5 --warmup 20 -o runs/r22-s2
mkdir -p runs/r22/model
cp runs/r22-s2/model/model.safetensors runs/r22/model/
cp runs/j4rnet-wide-r17/config.json runs/r22/model/
