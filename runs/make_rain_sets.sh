#!/usr/bin/env bash
# Issue 13 held-out and tuning sets (git-ignored data/rain). Photos at full held-out size, clips 9x192x256.
set -euo pipefail
for style in lines wide crossing drizzle lens mixed; do
  for level in light heavy; do
    weatherclean synth rain data/snow/heldout_clean data/rain/photo_${style}_${level} --style $style --level $level --seed 1234 -q
    weatherclean synth rain data/snow/heldout_clean data/rain/clip_${style}_${level} --clips --frames 9 --size 192x256 --style $style --level $level --seed 1234 -q
  done
done
mkdir -p data/rain/tune_clean
ls data/snow/train_clean | awk 'NR % 45 == 1' | head -12 | while read f; do cp data/snow/train_clean/$f data/rain/tune_clean/; done
weatherclean synth rain data/rain/tune_clean data/rain/tune_light --style mixed --level light --seed 99 -q
