#!/usr/bin/env bash
# Rain round 24 (runs/round24-rain-rule.txt) end to end: the candidate's folder (the shipped weights, config with
# self_ensemble true), the shipped model and the candidate on the fresh sets (seed 36036, runs/make_sets_r24.sh),
# the rule as code, and each dry photo (reported). The speed condition is benchmarks/run_all.py --only derain,
# run on the idle machine with the candidate as the default (runs/round24_speed.sh).
set -euo pipefail
mkdir -p runs/r24/model
cp src/weatherclean/weights/j4rnet-wide/model.safetensors runs/r24/model/
python - <<'PY'
import json
config = json.load(open("src/weatherclean/weights/j4rnet-wide/config.json"))
config["self_ensemble"] = True
json.dump(config, open("runs/r24/model/config.json", "w"), indent=2)
PY
while [ ! -f data/rain36/clip_mixed_heavy/synth.json ]; do sleep 20; done
[ -f runs/scores/round24-rain.json ] || python scripts/score_rain_styles.py bundled=src/weatherclean/weights/j4rnet-wide \
  r24=runs/r24/model --data data/rain36 --json runs/scores/round24-rain.json > runs/scores/round24-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round24-rain.json --candidate r24 > runs/scores/round24-rule.txt || true
cat runs/scores/round24-rule.txt
python scripts/unchanged_photos.py rain j4rnet-wide=src/weatherclean/weights/j4rnet-wide r24=runs/r24/model \
  --photos data/snow/heldout_clean > runs/scores/round24-dry-photos.txt
cat runs/scores/round24-dry-photos.txt
