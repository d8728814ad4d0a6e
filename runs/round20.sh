#!/usr/bin/env bash
# Rain round 20 (runs/round20-rain-rule.txt) end to end: once the candidate has trained, tuning on training backgrounds
# and round 4's pick; the shipped model and the pick on the fresh sets (seed 22022); the rule as code; the re-toned dry
# photos, reported. "j4rnet-wide" here means round 17's weights, shipped when this ran (runs/j4rnet-wide-r17).
set -euo pipefail
export OMP_NUM_THREADS=1  # beside other runs on the other core
while [ ! -f runs/r20/model/config.json ]; do sleep 30; done
c=()
for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("h-t${t#0.}v${v#0.}=runs/r20/model@$t/$v"); done; done
out=runs/scores/round20-tune-rain
[ -f $out.json ] || python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
  --clean data/rain/tune_clean --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light tune_light --heavy tune_heavy >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
rest=${pick#*-}
spec=runs/r20/model@0.${rest:1:2}/0.${rest:4:2}
echo "picked $pick = $spec"
while [ ! -d data/rain22/bright_clean ]; do sleep 30; done
[ -f runs/scores/round20-rain.json ] || python scripts/score_rain_styles.py bundled=runs/j4rnet-wide-r17 "r20=$spec" \
  --data data/rain22 --json runs/scores/round20-rain.json > runs/scores/round20-rain.txt 2>&1
python scripts/check_rule.py rain-pictures runs/scores/round20-rain.json --candidate r20 > runs/scores/round20-rule.txt || true
cat runs/scores/round20-rule.txt
python scripts/score_rain_styles.py bundled=runs/j4rnet-wide-r17 "r20=$spec" --sets --clean data/rain22/bright_clean \
  --json runs/scores/round20-bright.json > runs/scores/round20-bright.txt 2>&1
cat runs/scores/round20-bright.txt
