#!/usr/bin/env bash
# Snow round 14 (runs/round14-snow-rule.txt) end to end: once the candidate has trained, tuning on training backgrounds
# beside the shipped model and the mechanical pick (--against bundled); the shipped model, the pick and the control (at
# the pick's threshold) on the fresh sets; the rule as code; per snow-free photo. "desnownet-light" here means round
# 11's weights, shipped when this ran (runs/desnownet-light-r11).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
while [ ! -f runs/snow14/model/README.md ]; do sleep 30; done
sleep 5
c=(bundled=runs/desnownet-light-r11)
for t in 0.03 0.04 0.05 0.06; do c+=("m-t${t#0.}=runs/snow14/model@$t"); done
out=runs/scores/round14-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M --against bundled >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
t=0.${pick#m-t}
echo "picked $pick = runs/snow14/model@$t"
while [ ! -f runs/snow14d/model/README.md ]; do sleep 30; done
while [ ! -L data/snow24/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round14-snow.json ] || python scripts/score_snow_styles.py bundled=runs/desnownet-light-r11 \
  "r14=runs/snow14/model@$t" "r14-detail=runs/snow14d/model@$t" --data data/snow24 --json runs/scores/round14-snow.json \
  > runs/scores/round14-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round14-snow.json --candidate r14 > runs/scores/round14-snow-rule.txt || true
python scripts/unchanged_photos.py snow round11=runs/desnownet-light-r11 "r14=runs/snow14/model@$t" \
  "r14-detail=runs/snow14d/model@$t" --photos data/snow/heldout_clean > runs/scores/round14-snowfree-photos.txt
cat runs/scores/round14-snow.txt runs/scores/round14-snow-rule.txt runs/scores/round14-snowfree-photos.txt
