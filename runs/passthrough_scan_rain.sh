#!/usr/bin/env bash
# What --pass-through does to the bundled j4rnet-light (docs/usage.md): its own threshold 0.03 against 0.06 and
# 0.10 (its veil threshold 0.04 kept, as --pass-through keeps it), on rain round 8's held-out light sets
# (data/rain8, seed 8081), the real light pairs and the dry held-out photos. A user's knob, measured; no model
# is chosen by it.
set -euo pipefail
sets=()
for s in lines wide crossing drizzle lens downpour mixed; do sets+=(data/rain8/photo_${s}_light); done
sets+=(data/rain8/clip_mixed_light data/rain8/photo_mixed_heavy ../shared/data/paired/rain_light ../shared/data/paired/rain_heavy)
python scripts/score_rain_styles.py t03=j4rnet-light@0.03/0.04 t06=j4rnet-light@0.06/0.04 t10=j4rnet-light@0.1/0.04 \
  --sets "${sets[@]}" --json runs/scores/passthrough-rain.json
