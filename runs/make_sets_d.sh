#!/usr/bin/env bash
# Fresh held-out rain sets for round 4 of issue 13 (seed 4049), as make_sets_c.sh; same 12 held-out backgrounds.
set -euo pipefail
for style in lines wide crossing drizzle lens mixed; do
  for level in light heavy; do
    weatherclean synth rain data/snow/heldout_clean data/rain4/photo_${style}_${level} --style $style --level $level --seed 4049 -q
    weatherclean synth rain data/snow/heldout_clean data/rain4/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 4049 -q
  done
done
