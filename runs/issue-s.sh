#!/usr/bin/env bash
# Rain round 16 candidate r16a (docs/model-history.md "Round 16 (rain)", rule written before training and scoring).
# Resumable: rerun. Round 15's candidate (runs/r13n-s2, 64 channels) trained on with half the backgrounds
# re-toned and the haze tone only on crops left dry (--tone-haze dry): 3000 single-frame + 500 clip steps.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
        --tone-fraction 0.5 --tone-haze dry --seed 16161 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13n-s2/model --frames 1 --crop 96 --batch-size 8 --steps 3000 --lr 5e-5 --warmup 50 -o runs/r13o-s1
weatherclean train "${common[@]}" --init runs/r13o-s1/model --frames 9 --crop 64 --batch-size 4 --steps 500 --lr 4e-5 --warmup 20 -o runs/r13o-s2
