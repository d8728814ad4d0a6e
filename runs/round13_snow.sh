#!/usr/bin/env bash
# Snow round 13 (runs/round13-snow-rule.txt) end to end: once the candidate has trained, tuning on training backgrounds
# beside the shipped model and the mechanical pick (--against bundled); the shipped model and the pick on the fresh
# sets; the rule as code. "desnownet-light" here means round 11's weights, shipped when this ran (runs/desnownet-light-r11).
set -euo pipefail
export OMP_NUM_THREADS=1  # beside a training run on the other core
while [ ! -f runs/snow13/model/README.md ]; do sleep 30; done
sleep 5
c=(bundled=runs/desnownet-light-r11)
for t in 0.03 0.04 0.05 0.06; do c+=("h-t${t#0.}=runs/snow13/model@$t"); done
out=runs/scores/round13-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M --against bundled >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
spec=runs/snow13/model@0.${pick#h-t}
echo "picked $pick = $spec"
while [ ! -L data/snow23/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round13-snow.json ] || python scripts/score_snow_styles.py bundled=runs/desnownet-light-r11 "r13=$spec" \
  --data data/snow23 --json runs/scores/round13-snow.json > runs/scores/round13-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round13-snow.json --candidate r13 > runs/scores/round13-snow-rule.txt || true
cat runs/scores/round13-snow-rule.txt
