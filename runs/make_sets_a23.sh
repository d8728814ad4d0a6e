#!/usr/bin/env bash
# Rain round 23 (runs/round23-rain-rule.txt): fresh held-out sets, seed 33033 (never used before), as make_sets_z5.sh
# without the re-toned photos. Resumable: a set whose synth.json exists is kept.
set -euo pipefail
for style in lines wide crossing drizzle lens downpour mixed; do
  for level in light heavy; do
    [ -f data/rain33/photo_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain33/photo_${style}_${level} --style $style --level $level --seed 33033 -q
    [ -f data/rain33/clip_${style}_${level}/synth.json ] || weatherclean synth rain data/snow/heldout_clean data/rain33/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 33033 -q
  done
done
