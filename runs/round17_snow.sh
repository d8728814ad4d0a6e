#!/usr/bin/env bash
# Snow round 17 (runs/round17-snow-rule.txt) end to end: the three interpolations between the shipped weights and
# round 14's fine-tune of them, tuning on training backgrounds beside the shipped model and the mechanical pick over
# all 12 grid points (--against bundled); the shipped model and the pick on data/snow27; the rule as code; per
# snow-free photo. "desnownet-light" here means
# round 11's weights, shipped when this ran (runs/desnownet-light-r11).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
c=(bundled=runs/desnownet-light-r11)
for a in 25 50 75; do
  [ -f runs/wise17-a$a/model.safetensors ] || python scripts/average_weights.py runs/snow14/model=0.$a \
    runs/desnownet-light-r11=$((100 - a))e-2 --config runs/snow14/model -o runs/wise17-a$a
  for t in 0.03 0.04 0.05 0.06; do c+=("a$a-t${t#0.}=runs/wise17-a$a@$t"); done
done
out=runs/scores/round17-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M --against bundled >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
a=${pick%%-*}; t=0.${pick#*-t}
spec=runs/wise17-${a}@$t
echo "picked $pick = $spec"
while [ ! -L data/snow27/heldout_clean ]; do sleep 15; done
[ -f runs/scores/round17-snow.json ] || python scripts/score_snow_styles.py bundled=runs/desnownet-light-r11 "r17=$spec" \
  --data data/snow27 --json runs/scores/round17-snow.json > runs/scores/round17-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round17-snow.json --candidate r17 > runs/scores/round17-snow-rule.txt || true
python scripts/unchanged_photos.py snow round11=runs/desnownet-light-r11 "r17=$spec" --photos data/snow/heldout_clean \
  > runs/scores/round17-snowfree-photos.txt
cat runs/scores/round17-snow.txt runs/scores/round17-snow-rule.txt runs/scores/round17-snowfree-photos.txt
