#!/usr/bin/env bash
# Rain round 22 (runs/round22-rain-rule.txt): fresh held-out sets, seed 26262 (never used before), as make_sets_v.sh
# (the tuning sets are round 12's, kept), and the held-out dry photos once per tone change with this seed.
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain26/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain26/photo_${style}_${level} --style $style --level $level --seed 26262 -q
    [ -f data/rain26/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain26/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 26262 -q
  done
done
[ -d data/rain26/bright_clean ] || python scripts/retone_photos.py data/snow/heldout_clean data/rain26/bright_clean --seed 26262
