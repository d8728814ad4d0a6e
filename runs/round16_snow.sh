#!/usr/bin/env bash
# Snow round 16 (runs/round16-snow-rule.txt) end to end: the three soups of rounds 14 and 15, tuning on training
# backgrounds beside the shipped model and the mechanical pick over all 12 grid points (--against bundled); the
# shipped model and the pick on data/snow25; the rule as code; per snow-free photo. "desnownet-light" here means
# round 11's weights, shipped when this ran (runs/desnownet-light-r11).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
c=(bundled=runs/desnownet-light-r11)
for a in 25 50 75; do
  [ -f runs/soup16-a$a/model.safetensors ] || python scripts/average_weights.py runs/snow14/model=0.$a \
    runs/snow15/model=$((100 - a))e-2 -o runs/soup16-a$a
  for t in 0.03 0.04 0.05 0.06; do c+=("a$a-t${t#0.}=runs/soup16-a$a@$t"); done
done
out=runs/scores/round16-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M --against bundled >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
a=${pick%%-*}; t=0.${pick#*-t}
spec=runs/soup16-${a}@$t
echo "picked $pick = $spec"
[ -f runs/scores/round16-snow.json ] || python scripts/score_snow_styles.py bundled=runs/desnownet-light-r11 "r16=$spec" \
  --data data/snow25 --json runs/scores/round16-snow.json > runs/scores/round16-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round16-snow.json --candidate r16 > runs/scores/round16-snow-rule.txt || true
python scripts/unchanged_photos.py snow round11=runs/desnownet-light-r11 "r16=$spec" --photos data/snow/heldout_clean \
  > runs/scores/round16-snowfree-photos.txt
cat runs/scores/round16-snow.txt runs/scores/round16-snow-rule.txt runs/scores/round16-snowfree-photos.txt
