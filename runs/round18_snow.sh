#!/usr/bin/env bash
# Snow round 18 (runs/round18-snow-rule.txt) end to end: once the candidate has trained, tuning on training backgrounds
# beside the shipped model and the mechanical pick (--against bundled); the shipped model, the pick and the control
# (round 14's runs/snow14, at the pick's threshold) on the fresh sets; the rule as code; the tile condition; per
# snow-free photo. "desnownet-light" here means round 11's weights, still shipped (runs/desnownet-light-r11).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
while [ ! -f runs/snow18/model/README.md ]; do sleep 30; done
sleep 5
c=(bundled=runs/desnownet-light-r11)
for t in 0.02 0.03 0.04 0.05 0.06; do c+=("c-t${t#0.}=runs/snow18/model@$t"); done
out=runs/scores/round18-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M --against bundled >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
t=0.${pick#c-t}
echo "picked $pick = runs/snow18/model@$t"
while [ ! -L data/snow28/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round18-snow.json ] || python scripts/score_snow_styles.py bundled=runs/desnownet-light-r11 \
  "r18=runs/snow18/model@$t" "r14=runs/snow14/model@$t" --data data/snow28 --json runs/scores/round18-snow.json \
  > runs/scores/round18-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round18-snow.json --candidate r18 > runs/scores/round18-snow-rule.txt || true
python scripts/tile_agreement.py snow bundled=runs/desnownet-light-r11 "r18=runs/snow18/model@$t" \
  --folder data/snow28/test_mixed_M/synthetic --tile 256 > runs/scores/round18-snow-tiles.txt
python scripts/unchanged_photos.py snow round11=runs/desnownet-light-r11 "r18=runs/snow18/model@$t" \
  "r14=runs/snow14/model@$t" --photos data/snow/heldout_clean > runs/scores/round18-snowfree-photos.txt
cat runs/scores/round18-snow.txt runs/scores/round18-snow-rule.txt runs/scores/round18-snow-tiles.txt \
  runs/scores/round18-snowfree-photos.txt
