#!/usr/bin/env bash
# What --pass-through does to the bundled desnownet-light (docs/usage.md): the bundled threshold 0.03 against
# 0.06 and 0.10, on round 4's held-out snow sets (data/snow5, seed 5051) for the two styles whose light level
# ends below the input (specks, bokeh) and mixed, and on the snow-free held-out photos. A user's knob, measured;
# no model is chosen by it.
set -euo pipefail
python scripts/score_snow_styles.py t03=desnownet-light@0.03 t06=desnownet-light@0.06 t10=desnownet-light@0.1 \
  --data data/snow5 --styles specks bokeh mixed --json runs/scores/passthrough-snow.json
