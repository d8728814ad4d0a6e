#!/usr/bin/env bash
# Rain round 7 candidate (2026-12-05 session 6; rule in docs/model-history.md "Round 7 (rain)"). Resumable: rerun the same command.
# Round 6's leave-downpour-out twin (better than the shipped model on 11 of 12 non-downpour heavy sets, and
# harmless on Rain100L's bright picture) fine-tuned briefly on all six styles, so downpour is a smaller share
# of the whole fine-tune: 1500 single-frame steps then 300 clip steps, same recipe otherwise.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 19 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13e-nd-s2/model --frames 1 --crop 96 --batch-size 8 --steps 1500 --lr 5e-5 --warmup 50 -o runs/r13f-s1
weatherclean train "${common[@]}" --init runs/r13f-s1/model --frames 9 --crop 64 --batch-size 4 --steps 300 --lr 4e-5 --warmup 20 -o runs/r13f-s2
