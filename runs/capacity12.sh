#!/usr/bin/env bash
# Issue 12 capacity test (2026-12-05 session 8; rule in docs/models.md "Capacity (snow): the test and its rule").
# desnownet-light, a deeper and wider light configuration inside the CPU budget (blocks 2/2/1, 20-channel
# pyramid and heads) and a base configuration at ~3.4x the compute (width 0.25, 32-channel pyramid and heads),
# each from fresh weights, trained the same way. Resumable: rerun the same command.
set -euo pipefail
init() {  # NAME SETTINGS...
  local n=$1; shift
  [ -d runs/cap12-$n-init ] || python scripts/capacity_init.py src/weatherclean/weights/desnownet-light \
    -o runs/cap12-$n-init --set pass_through=0.02 "$@"
}
init light
init deep --set 'blocks=[2,2,1]' --set pyramid_channels=20 --set head_channels=20
init base --set width=0.25 --set pyramid_channels=32 --set head_channels=32
common=(--task snow --clean data/snow/train_clean --skimage-samples --pass-through 0.02 --lambda-colour 1
        --clean-fraction 0.2 --no-haze --steps 2500 --batch-size 8 --crop 96 --lr 3e-4 --warmup 100 --seed 0
        --workers 0 --threads 1 --checkpoint-every 200 -q)
one() { weatherclean train "${common[@]}" --init runs/cap12-$1-init -o runs/cap12-$1; }
{ one light; one deep; } > runs/cap12-light-deep.log 2>&1 &
one base > runs/cap12-base.log 2>&1 &
wait
