#!/usr/bin/env bash
# Snow round 10: the leave-flakes-out twin of desnownet-light as shipped in round 9 (runs/round10-snow-loso-rule.txt),
# a measurement, never shipped. Round 7's twin, then round 8's fine-tune (runs/issue-z.sh) without flakes. Resumable.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/r7s-nf/model \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --no-haze --steps 1500 --batch-size 8 --crop 96 \
  --lr 1e-4 --warmup 50 --seed 8181 --style-weight bokeh=2 --style-weight specks=2 --style-weight streaks=2 \
  --exclude-style flakes --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/r10s-nf
mkdir -p runs/r10s-nf-t04/model
cp runs/r10s-nf/model/model.safetensors runs/r10s-nf-t04/model/
cp src/weatherclean/weights/desnownet-light/config.json runs/r10s-nf-t04/model/
