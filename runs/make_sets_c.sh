#!/usr/bin/env bash
# Fresh held-out sets for round 3 of issues 12 and 13 (seed 3031), as make_sets_b.sh.
# and its numbers were seen while the second candidates were designed). Same 12 held-out backgrounds.
set -euo pipefail
for style in lines wide crossing drizzle lens mixed; do
  for level in light heavy; do
    weatherclean synth rain data/snow/heldout_clean data/rain3/photo_${style}_${level} --style $style --level $level --seed 3031 -q
    weatherclean synth rain data/snow/heldout_clean data/rain3/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 3031 -q
  done
done
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    weatherclean synth snow data/snow/heldout_clean data/snow3/test_${style}_$L --level $L --style $style --seed 3031 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow3/heldout_clean
