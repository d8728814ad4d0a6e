#!/usr/bin/env bash
# Rain round 13 (docs/model-history.md "Round 13 (rain)") end to end, as runs/round12.sh: the shipped model on the fresh
# sets; then tuning on training backgrounds, the mechanical pick, held-out scoring and the rule.
set -euo pipefail
while [ ! -d data/rain13/clip_mixed_heavy ] || [ ! -f data/rain13/clip_mixed_heavy/synth.json ]; do sleep 30; done
[ -f runs/scores/round13-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain13 \
  --json runs/scores/round13-bundled.json > runs/scores/round13-bundled.txt 2>&1
while [ ! -f runs/r13l-s2/model/README.md ]; do sleep 30; done
sleep 10
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("l-t${t#0.}v${v#0.}=runs/r13l-s2/model@$t/$v"); done; done
python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
  --json runs/scores/round13-tune-rain.json > runs/scores/round13-tune-rain.txt 2>&1
python scripts/pick_thresholds.py runs/scores/round13-tune-rain.json --light tune_light --heavy tune_heavy >> runs/scores/round13-tune-rain.txt
pick=$(sed -n 's/^picked: //p' runs/scores/round13-tune-rain.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r13l-s2/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
python scripts/score_rain_styles.py "r13=$spec" --data data/rain13 --with runs/scores/round13-bundled.json \
  --json runs/scores/round13-rain.json > runs/scores/round13-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round13-rain.json --candidate r13 > runs/scores/round13-rule.txt || true
cat runs/scores/round13-rule.txt
# Reported, not a condition: the held-out dry photos re-toned (brighter, gamma-lifted, hazy), shipped and candidate.
python scripts/score_rain_styles.py bundled=j4rnet-light "r13=$spec" --sets --clean data/rain13/bright_clean \
  --json runs/scores/round13-bright.json > runs/scores/round13-bright.txt 2>&1
cat runs/scores/round13-bright.txt
