#!/usr/bin/env bash
# Rain round 21: round 20's fine-tune (runs/issue-b2.sh) without --dry-crops, a control (runs/round21-rain-control-rule.txt).
# Resumable: rerun.
set -euo pipefail
if [ ! -f runs/j4rnet-wide-r17/model.safetensors ]; then  # the weights shipped when this ran, from git
  mkdir -p runs/j4rnet-wide-r17
  for f in README.md config.json model.safetensors; do git show 846fd24:src/weatherclean/weights/j4rnet-wide/$f > runs/j4rnet-wide-r17/$f; done
fi
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
        --tone-fraction 0.3 --seed 20020 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/j4rnet-wide-r17 --frames 1 --crop 96 --batch-size 8 --steps 2000 --lr 5e-5 --warmup 50 -o runs/r21c-s1
weatherclean train "${common[@]}" --init runs/r21c-s1/model --frames 9 --crop 64 --batch-size 4 --steps 400 --lr 5e-5 --warmup 20 -o runs/r21c-s2
mkdir -p runs/r21c/model
cp runs/r21c-s2/model/model.safetensors runs/r21c/model/
cp runs/j4rnet-wide-r17/config.json runs/r21c/model/
