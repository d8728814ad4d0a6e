#!/usr/bin/env bash
# Rain round 8 candidate, started 2026-12-05 12:25 (session 8) so that it trains early; its rule is to be
# written before it is scored, on data/rain8 (seed 8081, runs/make_sets_i.sh). Resumable: rerun the same command.
# The shipped j4rnet-light (round 6, runs/r13e-s2) fine-tuned with round 6's recipe on all six styles, but with
# downpour given 0.3 of the others' chance (train --style-weight): round 6's leave-downpour-out twin tied the
# bright Rain100L picture's loss to that style, and was better on 11 of 12 non-downpour heavy sets.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 23
        --style-weight downpour=0.3 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13e-s2/model --frames 1 --crop 96 --batch-size 8 --steps 2000 --lr 5e-5 --warmup 50 -o runs/r13g-s1
weatherclean train "${common[@]}" --init runs/r13g-s1/model --frames 9 --crop 64 --batch-size 4 --steps 400 --lr 4e-5 --warmup 20 -o runs/r13g-s2
