#!/usr/bin/env bash
# Rain round 9 candidate, started 2026-12-05 13:06 (session 9) so that it trains early; its rule is to be
# written before it is scored, on fresh sets (seed 9091). Resumable: rerun the same command.
# Round 6's fine-tune redone from round 4's weights (runs/r13c-s2), with downpour given 0.3 of the other
# styles' chance from the start (train --style-weight). Round 8 showed that down-weighting downpour in a
# fine-tune from the shipped round-6 weights does not undo what the style did to the bright Rain100L picture;
# round 6's twin that never saw downpour did not lose there (-0.24 dB).
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 31
        --style-weight downpour=0.3 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13c-s2/model --frames 1 --crop 96 --batch-size 8 --steps 4000 --lr 7.5e-5 --warmup 50 -o runs/r13h-s1
weatherclean train "${common[@]}" --init runs/r13h-s1/model --frames 9 --crop 64 --batch-size 4 --steps 700 --lr 5e-5 --warmup 20 -o runs/r13h-s2
