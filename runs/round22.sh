#!/usr/bin/env bash
# Rain round 22 (runs/round22-rain-rule.txt) end to end: once the candidate has trained, tuning on training backgrounds
# and round 4's pick; the shipped model, the pick and the control (round 20's model at the pick's thresholds) on the
# fresh sets (seed 26262); the rule as code; the re-toned and the plain dry photos, reported. "j4rnet-wide"
# here means round 17's weights, shipped when this ran (runs/j4rnet-wide-r17).
set -euo pipefail
export OMP_NUM_THREADS=1  # beside other runs on the other core
while [ ! -f runs/r22/model/config.json ]; do sleep 30; done
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("h-t${t#0.}v${v#0.}=runs/r22/model@$t/$v"); done; done
out=runs/scores/round22-tune-rain
[ -f $out.json ] || python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
  --clean data/rain/tune_clean --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light tune_light --heavy tune_heavy >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r22/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
while [ ! -d data/rain26/bright_clean ]; do sleep 30; done
[ -f runs/scores/round22-rain.json ] || python scripts/score_rain_styles.py bundled=runs/j4rnet-wide-r17 "r22=$spec" "r20=runs/r20/model@${spec#*@}" \
  --data data/rain26 --json runs/scores/round22-rain.json > runs/scores/round22-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round22-rain.json --candidate r22 > runs/scores/round22-rule.txt || true
cat runs/scores/round22-rule.txt
python scripts/score_rain_styles.py bundled=runs/j4rnet-wide-r17 "r22=$spec" "r20=runs/r20/model@${spec#*@}" --sets --clean data/rain26/bright_clean \
  --json runs/scores/round22-bright.json > runs/scores/round22-bright.txt 2>&1
cat runs/scores/round22-bright.txt
python scripts/unchanged_photos.py rain j4rnet-wide=runs/j4rnet-wide-r17 "r22=$spec" "r20=runs/r20/model@${spec#*@}" \
  --photos data/snow/heldout_clean > runs/scores/round22-dry-photos.txt
cat runs/scores/round22-dry-photos.txt
