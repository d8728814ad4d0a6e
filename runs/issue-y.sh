#!/usr/bin/env bash
# Snow round 7: the bundled desnownet-light's leave-flakes-out twin (runs/round7-snow-loso-rule.txt), a measurement,
# never shipped. Resumable: rerun. Round 1's run without flakes, then round 2's fine-tune without flakes.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init ../shared/candidates/desnownet-light-gpu1 \
  --pass-through 0.02 --lambda-colour 1 --clean-fraction 0.2 --no-haze --steps 3200 --batch-size 8 --crop 96 --lr 2e-4 \
  --warmup 100 --workers 0 --threads 1 --checkpoint-every 200 -q --seed 13 --exclude-style flakes -o runs/r7s-nf1
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/r7s-nf1/model \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --no-haze --steps 1500 --batch-size 8 --crop 96 \
  --lr 1e-4 --warmup 50 --seed 7 --workers 0 --threads 1 --checkpoint-every 100 -q --exclude-style flakes -o runs/r7s-nf2
mkdir -p runs/r7s-nf/model
cp runs/r7s-nf2/model/model.safetensors runs/r7s-nf/model/
cp src/weatherclean/weights/desnownet-light/config.json runs/r7s-nf/model/
