#!/usr/bin/env bash
# Snow round 7 probe: where the bundled desnownet-light's error on LIGHT snow is (scripts/snow_band_probe.py --places),
# per style, on sets from TRAINING backgrounds (data/rain/tune_clean, seed 4711; never held-out pictures).
set -euo pipefail
export OMP_NUM_THREADS=1
out=runs/scores/round7-snow-places.txt
: > $out
for style in discs flakes streaks bokeh specks mixed; do
  [ -f data/snow_probe7/${style}_S/synth.json ] || weatherclean synth snow data/rain/tune_clean data/snow_probe7/${style}_S \
    --level S --style $style --seed 4711 -q
  python scripts/snow_band_probe.py desnownet-light data/snow_probe7/${style}_S --places >> $out
done
cat $out
