#!/usr/bin/env bash
# Rain round 12 candidate (docs/model-history.md "Round 12 (rain)", rule written before training and scoring).
# Resumable: rerun. The shipped model (round 6) fine-tuned with round 6's recipe on all six styles, with 30 % of
# the clean backgrounds re-toned (brighter, gamma-lifted or hazy; weatherclean.data.tones) before the rain is
# added, so that brightness and low contrast alone are never rain.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
        --tone-fraction 0.3 --seed 12119 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init src/weatherclean/weights/j4rnet-light --frames 1 --crop 96 --batch-size 8 --steps 4000 --lr 7.5e-5 --warmup 50 -o runs/r13k-s1
weatherclean train "${common[@]}" --init runs/r13k-s1/model --frames 9 --crop 64 --batch-size 4 --steps 700 --lr 5e-5 --warmup 20 -o runs/r13k-s2
