#!/usr/bin/env bash
# Rain round 15 candidate (docs/model-history.md "Round 15 (rain)", rule written before training and scoring).
# Resumable: rerun. Round 14's candidate (runs/r13m-s2: the shipped model widened to 64 channels, 30 % of the
# backgrounds re-toned) trained on with half of them re-toned, as round 13 did for the light model: 2000
# single-frame + 400 clip steps.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
        --tone-fraction 0.5 --seed 15151 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13m-s2/model --frames 1 --crop 96 --batch-size 8 --steps 2000 --lr 5e-5 --warmup 50 -o runs/r13n-s1
weatherclean train "${common[@]}" --init runs/r13n-s1/model --frames 9 --crop 64 --batch-size 4 --steps 400 --lr 4e-5 --warmup 20 -o runs/r13n-s2
