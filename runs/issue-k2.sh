#!/usr/bin/env bash
# Snow round 19 candidate (runs/round19-snow-rule.txt). Resumable: rerun. Round 14's run (runs/issue-f2.sh) exactly,
# from the shipped (round 11) weights grown by a context module that starts at zero (DesnowNet "context"), so it
# starts as exactly the shipped model; round 14's runs/snow14 is the same run without it. As round 18's run
# (runs/issue-j2.sh), with the context learning at 10x the rate (Context.lr_scale, training.trainer.param_groups).
set -euo pipefail
if [ ! -f runs/desnownet-light-r11/model.safetensors ]; then  # the weights shipped when this ran, from git
  mkdir -p runs/desnownet-light-r11
  for f in README.md config.json model.safetensors; do git show a7cb6ae:src/weatherclean/weights/desnownet-light/$f > runs/desnownet-light-r11/$f; done
fi
[ -f runs/ctx18-init/model.safetensors ] || python scripts/capacity_init.py runs/desnownet-light-r11 -o runs/ctx18-init \
  --set context=true --keep-weights
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/ctx18-init \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --dry-crops 4 --dry-pick change --no-haze --steps 1500 \
  --batch-size 8 --crop 96 --lr 1e-4 --warmup 50 --seed 14014 --workers 0 --threads 1 --checkpoint-every 100 -q \
  -o runs/snow19c
