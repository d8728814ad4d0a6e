#!/usr/bin/env bash
# Fresh held-out rain sets for rain round 5 (seed 5051; never used for rain before), as make_sets_d.sh.
set -euo pipefail
for style in lines wide crossing drizzle lens mixed; do
  for level in light heavy; do
    weatherclean synth rain data/snow/heldout_clean data/rain5/photo_${style}_${level} --style $style --level $level --seed 5051 -q
    weatherclean synth rain data/snow/heldout_clean data/rain5/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 5051 -q
  done
done
