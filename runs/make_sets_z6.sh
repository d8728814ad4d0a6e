#!/usr/bin/env bash
# Snow round 15 (runs/round15-snow-rule.txt): fresh held-out sets, seed 25252 (never used before), from the 12
# held-out backgrounds. Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow25/test_${style}_$L/synth.json ] || weatherclean synth snow data/snow/heldout_clean data/snow25/test_${style}_$L --level $L --style $style --seed 25252 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow25/heldout_clean
