#!/usr/bin/env bash
# Rain round 10 candidate, started 2026-12-05 (session 10); its rule (docs/model-history.md "Round 10 (rain)") is
# written before anything of it is scored. Resumable: rerun the same command.
# Round 5's wider candidate (runs/r13d-s2: the round-4 weights widened to 64 channels, then round 4's
# fine-tune) fine-tuned with round 6's recipe (half the crops dry, lambda-colour 8, 4000 + 700 steps) without
# the downpour style: round 6's leave-downpour-out twin matched the shipped model's all-set mean (+2.40 vs
# +2.41 dB) and left the bright Rain100L picture at -0.24 dB (shipped -1.60), and the wider model was
# ahead of round 4's on every rule condition but the worst dry photo (round 5).
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 10103
        --workers 0 --threads 1 --checkpoint-every 200 -q --exclude-style downpour)
weatherclean train "${common[@]}" --init runs/r13d-s2/model --frames 1 --crop 96 --batch-size 8 --steps 4000 --lr 7.5e-5 --warmup 50 -o runs/r13i-s1
weatherclean train "${common[@]}" --init runs/r13i-s1/model --frames 9 --crop 64 --batch-size 4 --steps 700 --lr 5e-5 --warmup 20 -o runs/r13i-s2
