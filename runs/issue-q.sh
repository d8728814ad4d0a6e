#!/usr/bin/env bash
# Rain round 14 candidate (docs/model-history.md "Round 14 (rain)", rule written before training and scoring).
# Resumable: rerun. The shipped model (round 6) widened to 64 channels with the same outputs
# (scripts/widen_j4rnet.py), then round 12's recipe (30 % of the backgrounds re-toned, all six styles, half the
# crops dry, lambda-colour 8): 3000 single-frame + 500 clip steps.
set -euo pipefail
[ -d runs/r13m-init ] || python scripts/widen_j4rnet.py src/weatherclean/weights/j4rnet-light --width 64 -o runs/r13m-init
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
        --tone-fraction 0.3 --seed 14141 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13m-init --frames 1 --crop 96 --batch-size 8 --steps 3000 --lr 7.5e-5 --warmup 50 -o runs/r13m-s1
weatherclean train "${common[@]}" --init runs/r13m-s1/model --frames 9 --crop 64 --batch-size 4 --steps 500 --lr 5e-5 --warmup 20 -o runs/r13m-s2
