#!/usr/bin/env bash
# Rain round 11 candidate (docs/model-history.md "Round 11 (rain)", rule written before scoring). Resumable: rerun.
# Round 10's candidate (runs/r13i-s2: the wider model fine-tuned without downpour) given a small dose of
# downpour in a short fine-tune: 0.1 of the other styles' chance (rounds 8 and 9 used 0.3 and lost the bright
# Rain100L picture), 1000 single-frame + 300 clip steps.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 11113
        --style-weight downpour=0.1 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13i-s2/model --frames 1 --crop 96 --batch-size 8 --steps 1000 --lr 5e-5 --warmup 50 -o runs/r13j-s1
weatherclean train "${common[@]}" --init runs/r13j-s1/model --frames 9 --crop 64 --batch-size 4 --steps 300 --lr 4e-5 --warmup 20 -o runs/r13j-s2
