#!/usr/bin/env bash
# Fresh held-out rain sets for rain round 11 (seed 11113; never used before), as make_sets_m.sh.
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain11/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain11/photo_${style}_${level} --style $style --level $level --seed 11113 -q
    [ -f data/rain11/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain11/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 11113 -q
  done
done
