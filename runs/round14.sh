#!/usr/bin/env bash
# Rain round 14 (docs/model-history.md "Round 14 (rain)") end to end, as runs/round13.sh: the shipped model on the fresh
# sets; then tuning on training backgrounds, the mechanical pick, held-out scoring and the rule.
set -euo pipefail
while [ ! -d data/rain14/clip_mixed_heavy ] || [ ! -f data/rain14/clip_mixed_heavy/synth.json ]; do sleep 30; done
[ -f runs/scores/round14-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain14 \
  --json runs/scores/round14-bundled.json > runs/scores/round14-bundled.txt 2>&1
while [ ! -f runs/r13m-s2/model/README.md ]; do sleep 30; done
sleep 10
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("m-t${t#0.}v${v#0.}=runs/r13m-s2/model@$t/$v"); done; done
python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
  --json runs/scores/round14-tune-rain.json > runs/scores/round14-tune-rain.txt 2>&1
python scripts/pick_thresholds.py runs/scores/round14-tune-rain.json --light tune_light --heavy tune_heavy >> runs/scores/round14-tune-rain.txt
pick=$(sed -n 's/^picked: //p' runs/scores/round14-tune-rain.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r13m-s2/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
python scripts/score_rain_styles.py "r14=$spec" --data data/rain14 --with runs/scores/round14-bundled.json \
  --json runs/scores/round14-rain.json > runs/scores/round14-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round14-rain.json --candidate r14 > runs/scores/round14-rule.txt || true
cat runs/scores/round14-rule.txt
# Reported, not a condition: the held-out dry photos re-toned (brighter, gamma-lifted, hazy), shipped and candidate.
python scripts/score_rain_styles.py bundled=j4rnet-light "r14=$spec" --sets --clean data/rain14/bright_clean \
  --json runs/scores/round14-bright.json > runs/scores/round14-bright.txt 2>&1
cat runs/scores/round14-bright.txt
