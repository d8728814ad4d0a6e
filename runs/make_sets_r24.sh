#!/usr/bin/env bash
# Rain round 24 (runs/round24-rain-rule.txt): fresh held-out sets, seed 36036 (never used before), from the 12
# held-out backgrounds (python scripts/prepare_snow_data.py ../shared/data/clean data/snow), as make_sets_z5.sh.
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain36/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain36/photo_${style}_${level} --style $style --level $level --seed 36036 -q
    [ -f data/rain36/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain36/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 36036 -q
  done
done
