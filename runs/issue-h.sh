#!/usr/bin/env bash
# Rain round 6 candidate (2026-12-05 session 6; rule in docs/model-history.md "Round 6 (rain)"). Resumable: rerun the same command.
# The shipped j4rnet-light (runs/r13c-s2) fine-tuned with round 4's no-harm recipe (half the crops dry,
# lambda-colour 8, 96-px crops) on all six styles: the new "downpour" style (dense long streaks over a
# strong haze) is the only change of data. Shorter than round 4: 4000 + 700 steps.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 13 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13c-s2/model --frames 1 --crop 96 --batch-size 8 --steps 4000 --lr 7.5e-5 --warmup 50 -o runs/r13e-s1
weatherclean train "${common[@]}" --init runs/r13e-s1/model --frames 9 --crop 64 --batch-size 4 --steps 700 --lr 5e-5 --warmup 20 -o runs/r13e-s2
