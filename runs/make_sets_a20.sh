#!/usr/bin/env bash
# Snow round 20 (runs/round20-snow-rule.txt): fresh held-out sets, seed 32323 (never used before), from the 12
# held-out backgrounds. Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow32/test_${style}_$L/synth.json ] || weatherclean synth snow data/snow/heldout_clean data/snow32/test_${style}_$L --level $L --style $style --seed 32323 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow32/heldout_clean
