#!/usr/bin/env bash
# What --pass-through does to the bundled desnownet-light since snow round 11 (docs/usage.md): its threshold 0.03
# against 0.06 and 0.10, on round 11's held-out snow sets (data/snow22, seed 22222) for the two styles whose light
# level ends below the input (specks, bokeh) and mixed, and on the snow-free held-out photos. A user's knob,
# measured; no model is chosen by it.
set -euo pipefail
python scripts/score_snow_styles.py t03=desnownet-light@0.03 t06=desnownet-light@0.06 t10=desnownet-light@0.1 \
  --data data/snow22 --styles specks bokeh mixed --json runs/scores/passthrough-snow-r11.json > runs/scores/passthrough-snow-r11.txt 2>&1
cat runs/scores/passthrough-snow-r11.txt
