#!/usr/bin/env bash
# Snow round 12: the leave-flakes-out twin of desnownet-light as shipped in round 11 (runs/round12-snow-loso-rule.txt),
# a measurement, never shipped. Round 10's twin, then round 11's fine-tune (runs/issue-a2.sh) without flakes. Resumable.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/r10s-nf/model \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --dry-crops 4 --no-haze --steps 1500 --batch-size 8 \
  --crop 96 --lr 1e-4 --warmup 50 --seed 11011 --exclude-style flakes --workers 0 --threads 1 --checkpoint-every 100 \
  -q -o runs/r12s-nf
mkdir -p runs/r12s-nf-t03/model
cp runs/r12s-nf/model/model.safetensors runs/r12s-nf-t03/model/
cp src/weatherclean/weights/desnownet-light/config.json runs/r12s-nf-t03/model/
