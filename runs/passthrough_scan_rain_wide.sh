#!/usr/bin/env bash
# What --pass-through does to the rain default j4rnet-wide (docs/usage.md): its own threshold 0.03 against 0.06 and
# 0.10 (its veil threshold 0.04 kept, as --pass-through keeps it), on rain round 20's held-out sets (data/rain22,
# seed 22022): the seven light photo sets, light clips and heavy photos in mixed styles, the real light and heavy
# pairs, and the dry held-out photos. A user's knob, measured; no model is chosen by it.
set -euo pipefail
sets=()
for s in lines wide crossing drizzle lens downpour mixed; do sets+=(data/rain22/photo_${s}_light); done
sets+=(data/rain22/clip_mixed_light data/rain22/photo_mixed_heavy ../shared/data/paired/rain_light ../shared/data/paired/rain_heavy)
python scripts/score_rain_styles.py t03=j4rnet-wide@0.03/0.04 t06=j4rnet-wide@0.06/0.04 t10=j4rnet-wide@0.1/0.04 \
  --sets "${sets[@]}" --json runs/scores/passthrough-rain-wide.json > runs/scores/passthrough-rain-wide.txt 2>&1
cat runs/scores/passthrough-rain-wide.txt
