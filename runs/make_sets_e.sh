#!/usr/bin/env bash
# Fresh held-out snow sets for snow round 4 (seed 5051; never used before), as make_sets_c.sh. Same 12 held-out backgrounds.
set -euo pipefail
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    weatherclean synth snow data/snow/heldout_clean data/snow5/test_${style}_$L --level $L --style $style --seed 5051 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow5/heldout_clean
