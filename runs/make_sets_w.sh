#!/usr/bin/env bash
# Snow round 6 (docs/model-history.md "Round 6 (snow)"): tuning sets from TRAINING backgrounds (data/rain/tune_clean;
# seeds 99, 97, 96 as earlier rounds' tune_S/tune_M, and L) and fresh held-out sets (seed 19191, never used
# before) from the 12 held-out backgrounds. Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for pair in S:99 M:97 L:96; do
  L=${pair%%:*}; seed=${pair##*:}
  [ -f data/snow_tune19/test_mixed_$L/synth.json ] || weatherclean synth snow data/rain/tune_clean data/snow_tune19/test_mixed_$L --level $L --style mixed --seed $seed -q
done
ln -sfn ../rain/tune_clean data/snow_tune19/heldout_clean
[ "${1:-}" = "tune-only" ] && exit 0
for style in discs flakes streaks bokeh specks mixed; do
  for L in S M L; do
    [ -f data/snow19/test_${style}_$L/synth.json ] || weatherclean synth snow data/snow/heldout_clean data/snow19/test_${style}_$L --level $L --style $style --seed 19191 -q
  done
done
ln -sfn ../snow/heldout_clean data/snow19/heldout_clean
