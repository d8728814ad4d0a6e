#!/usr/bin/env bash
# Rain round 18's sets. Fresh held-out sets (seed 18181; never used before), as make_sets_u.sh (the tuning sets
# are round 12's, kept); and the held-out dry photos once per tone change with this seed (scripts/retone_photos.py),
# a measurement of harm on bright dry photos.
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain18/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain18/photo_${style}_${level} --style $style --level $level --seed 18181 -q
    [ -f data/rain18/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain18/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 18181 -q
  done
done
[ -f data/rain/tune_light/synth.json ] || weatherclean synth rain data/rain/tune_clean data/rain/tune_light --style mixed --level light --seed 99 -q
[ -f data/rain/tune_heavy/synth.json ] || weatherclean synth rain data/rain/tune_clean data/rain/tune_heavy --style mixed --level heavy --seed 98 -q
[ -d data/rain18/bright_clean ] || python scripts/retone_photos.py data/snow/heldout_clean data/rain18/bright_clean --seed 18181
