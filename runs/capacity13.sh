#!/usr/bin/env bash
# Issue 13 capacity test (2026-12-05 session 5; rule in docs/models.md "Capacity (rain): the test and its rule").
# The light configuration and a wider one (64/64 channels at stride 4) from fresh weights, trained the same
# way, side by side, one thread each. Resumable: rerun the same command.
set -euo pipefail
[ -d runs/cap-light-init ] || python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-light-init \
  --set pass_through=0 --set veil_threshold=0
[ -d runs/cap-wide-init ] || python scripts/capacity_init.py src/weatherclean/weights/j4rnet-light -o runs/cap-wide-init \
  --set channels=64 --set hidden=64 --set pass_through=0 --set veil_threshold=0
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.15 --lambda-colour 1 --seed 0
        --workers 0 --threads 1 --checkpoint-every 250 -q)
one() {
  weatherclean train "${common[@]}" --init runs/cap-$1-init --frames 1 --crop 64 --batch-size 8 --steps 8000 --lr 3e-4 --warmup 200 -o runs/cap-$1-s1
  weatherclean train "${common[@]}" --init runs/cap-$1-s1/model --frames 9 --crop 64 --batch-size 4 --steps 500 --lr 1.5e-4 --warmup 20 -o runs/cap-$1-s2
}
one light > runs/cap-light.log 2>&1 &
one wide > runs/cap-wide.log 2>&1 &
wait
