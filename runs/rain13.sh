#!/usr/bin/env bash
# Issue 13 rain candidate: stage 1 (single frames) then stage 2 (9-frame clips). $1 = run name, rest = extra flags.
set -euo pipefail
name=$1; shift
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.15 --lambda-colour 1 --workers 0 --threads 1 --checkpoint-every 250 -q)
weatherclean train "${common[@]}" "$@" --init runs/j4r13-init --frames 1 --crop 64 --batch-size 8 --steps 8000 --lr 3e-4 --warmup 200 -o runs/$name-s1
weatherclean train "${common[@]}" "$@" --init runs/$name-s1/model --frames 9 --crop 64 --batch-size 4 --steps 2000 --lr 1.5e-4 --warmup 20 -o runs/$name-s2
