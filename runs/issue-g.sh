#!/usr/bin/env bash
# Rain round 5 candidate (2026-12-05 session 5; rule in docs/model-history.md "Round 5 (rain)"). Resumable: rerun the same command.
# The shipped j4rnet-light widened to 64 channels with the same outputs (scripts/widen_j4rnet.py), then round 4's
# no-harm fine-tune (runs/issue-c.sh) on the wider model: half the crops dry, lambda-colour 8, 96-px crops.
set -euo pipefail
[ -d runs/j4r-wide-init ] || python scripts/widen_j4rnet.py src/weatherclean/weights/j4rnet-light --width 64 -o runs/j4r-wide-init
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 11 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/j4r-wide-init --frames 1 --crop 96 --batch-size 8 --steps 6000 --lr 1e-4 --warmup 50 -o runs/r13d-s1
weatherclean train "${common[@]}" --init runs/r13d-s1/model --frames 9 --crop 64 --batch-size 4 --steps 1000 --lr 7.5e-5 --warmup 20 -o runs/r13d-s2
