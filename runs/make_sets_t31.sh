#!/usr/bin/env bash
# Snow calibration study (docs/models.md "Calibration (snow)"): per-style tuning sets from TRAINING
# backgrounds (data/rain/tune_clean), seed 31313, for choosing post-hoc settings. Resumable.
set -euo pipefail
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow_tune31/test_${style}_$L/synth.json ] || weatherclean synth snow data/rain/tune_clean data/snow_tune31/test_${style}_$L --level $L --style $style --seed 31313 -q
  done
done
ln -sfn ../rain/tune_clean data/snow_tune31/heldout_clean
