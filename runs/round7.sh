#!/usr/bin/env bash
# Rain round 7 (docs/model-history.md "Round 7 (rain)") end to end: the shipped model on the fresh sets while the
# candidate trains; then tuning on training backgrounds, the mechanical pick, held-out scoring and the rule.
set -euo pipefail
while [ ! -d data/rain7/clip_mixed_heavy ] || pgrep -f make_sets_h.sh >/dev/null; do sleep 30; done
[ -f runs/scores/round7-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain7 \
  --json runs/scores/round7-bundled.json > runs/scores/round7-bundled.txt 2>&1
while [ ! -f runs/r13f-s2/model/README.md ]; do sleep 30; done
sleep 10
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("f-t${t#0.}v${v#0.}=runs/r13f-s2/model@$t/$v"); done; done
python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
  --json runs/scores/round7-tune-rain.json > runs/scores/round7-tune-rain.txt 2>&1
python scripts/pick_thresholds.py runs/scores/round7-tune-rain.json --light tune_light --heavy tune_heavy >> runs/scores/round7-tune-rain.txt
pick=$(sed -n 's/^picked: //p' runs/scores/round7-tune-rain.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r13f-s2/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
python scripts/score_rain_styles.py "r7=$spec" --data data/rain7 --with runs/scores/round7-bundled.json \
  --json runs/scores/round7-rain.json > runs/scores/round7-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round7-rain.json --candidate r7 > runs/scores/round7-rule.txt || true
cat runs/scores/round7-rule.txt
