#!/usr/bin/env bash
# The --strength question (runs/strength-rule.txt): fresh held-out sets, seed 34034 (never used before), from
# the 12 held-out backgrounds (python scripts/prepare_snow_data.py ../shared/data/clean data/snow).
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow34/test_${style}_$L/synth.json ] || weatherclean synth snow data/snow/heldout_clean data/snow34/test_${style}_$L --level $L --style $style --seed 34034 -q
  done
done
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain34/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain34/photo_${style}_${level} --style $style --level $level --seed 34034 -q
  done
done
