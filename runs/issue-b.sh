#!/usr/bin/env bash
# Second candidates for issues 12 and 13 (2026-12-05): fine-tune the first ones with more rain/snow-free
# samples and a 4x stronger brightness-and-colour term, so the network itself leaves dry content alone.
set -euo pipefail
case $1 in
snow)
  weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init runs/snow12-all/model \
    --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --no-haze --steps 1500 --batch-size 8 --crop 96 \
    --lr 1e-4 --warmup 50 --seed 7 --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/snow12b ;;
rain)
  common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.35 --lambda-colour 4 --seed 7 --workers 0 --threads 1 --checkpoint-every 250 -q)
  weatherclean train "${common[@]}" --init runs/r13-all-s2/model --frames 1 --crop 64 --batch-size 8 --steps 3000 --lr 1e-4 --warmup 50 -o runs/r13b-s1
  weatherclean train "${common[@]}" --init runs/r13b-s1/model --frames 9 --crop 64 --batch-size 4 --steps 600 --lr 7.5e-5 --warmup 20 -o runs/r13b-s2 ;;
esac
