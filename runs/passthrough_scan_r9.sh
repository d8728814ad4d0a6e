#!/usr/bin/env bash
# What --pass-through does to the bundled desnownet-light since snow round 9 (docs/usage.md): its threshold 0.04
# against 0.06 and 0.10, on round 9's held-out snow sets (data/snow21, seed 21212) for the two styles whose light level
# ends below the input (specks, bokeh) and mixed, and on the snow-free held-out photos. A user's knob, measured;
# no model is chosen by it.
set -euo pipefail
python scripts/score_snow_styles.py t04=desnownet-light@0.04 t06=desnownet-light@0.06 t10=desnownet-light@0.1 \
  --data data/snow21 --styles specks bokeh mixed --json runs/scores/passthrough-snow-r9.json > runs/scores/passthrough-snow-r9.txt 2>&1
cat runs/scores/passthrough-snow-r9.txt
