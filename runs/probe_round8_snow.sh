#!/usr/bin/env bash
# Snow round 8 (runs/round8-snow-rule.txt, "reported"): round 7's probe (runs/probe_round7_snow.sh, same sets from
# training backgrounds) for round 8's candidate at its picked threshold, 0.03: runs/snow8z/model's weights with
# pass_through 0.03 in config.json, in runs/snow8z-t03/model.
set -euo pipefail
export OMP_NUM_THREADS=1
mkdir -p runs/snow8z-t03/model
cp runs/snow8z/model/model.safetensors runs/snow8z-t03/model/
python -c "import json; c = json.load(open('runs/snow8z/model/config.json')); c['pass_through'] = 0.03; json.dump(c, open('runs/snow8z-t03/model/config.json', 'w'), indent=2)"
out=runs/scores/round8-snow-places.txt
: > $out
for style in discs flakes streaks bokeh specks mixed; do
  python scripts/snow_band_probe.py runs/snow8z-t03/model data/snow_probe7/${style}_S --places >> $out
done
cat $out
