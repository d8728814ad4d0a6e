#!/usr/bin/env bash
# Fresh held-out sets for rain round 9 and snow round 5 (seed 9091; never used before), as make_sets_i.sh
# (rain) and make_sets_e.sh (snow). Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain9/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain9/photo_${style}_${level} --style $style --level $level --seed 9091 -q
    [ -f data/rain9/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain9/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 9091 -q
  done
done
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow9/test_${style}_$L/synth.json ] || weatherclean synth snow data/snow/heldout_clean data/snow9/test_${style}_$L --level $L --style $style --seed 9091 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow9/heldout_clean
