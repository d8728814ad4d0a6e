#!/usr/bin/env bash
# Rain round 15 (docs/model-history.md "Round 15 (rain)") end to end, as runs/round14.sh: the shipped model on the fresh
# sets; then tuning on training backgrounds, the mechanical pick, held-out scoring and the rule.
set -euo pipefail
while [ ! -d data/rain15/clip_mixed_heavy ] || [ ! -f data/rain15/clip_mixed_heavy/synth.json ]; do sleep 30; done
[ -f runs/scores/round15-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain15 \
  --json runs/scores/round15-bundled.json > runs/scores/round15-bundled.txt 2>&1
while [ ! -f runs/r13n-s2/model/README.md ]; do sleep 30; done
sleep 10
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("n-t${t#0.}v${v#0.}=runs/r13n-s2/model@$t/$v"); done; done
python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
  --json runs/scores/round15-tune-rain.json > runs/scores/round15-tune-rain.txt 2>&1
python scripts/pick_thresholds.py runs/scores/round15-tune-rain.json --light tune_light --heavy tune_heavy >> runs/scores/round15-tune-rain.txt
pick=$(sed -n 's/^picked: //p' runs/scores/round15-tune-rain.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r13n-s2/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
python scripts/score_rain_styles.py "r15=$spec" --data data/rain15 --with runs/scores/round15-bundled.json \
  --json runs/scores/round15-rain.json > runs/scores/round15-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round15-rain.json --candidate r15 > runs/scores/round15-rule.txt || true
cat runs/scores/round15-rule.txt
# Reported, not a condition: the held-out dry photos re-toned (brighter, gamma-lifted, hazy), shipped and candidate.
python scripts/score_rain_styles.py bundled=j4rnet-light "r15=$spec" --sets --clean data/rain15/bright_clean \
  --json runs/scores/round15-bright.json > runs/scores/round15-bright.txt 2>&1
cat runs/scores/round15-bright.txt
