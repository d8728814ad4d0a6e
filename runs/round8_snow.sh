#!/usr/bin/env bash
# Snow round 8 (runs/round8-snow-rule.txt) end to end: the bundled model on the fresh sets, then (once the candidate
# has trained) tuning on training backgrounds, the mechanical pick, held-out scoring and the rule as code.
set -euo pipefail
export OMP_NUM_THREADS=1  # beside the training run on the other core
while [ ! -L data/snow20/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round8-snow-bundled.json ] || python scripts/score_snow_styles.py bundled=desnownet-light \
  --data data/snow20 --json runs/scores/round8-snow-bundled.json > runs/scores/round8-snow-bundled.txt 2>&1
while [ ! -f runs/snow8z/model/README.md ]; do sleep 30; done
sleep 5
c=()
for t in 0.02 0.03 0.04; do c+=("z-t${t#0.}=runs/snow8z/model@$t"); done
out=runs/scores/round8-tune-snow
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune19 --styles mixed --json $out.json > $out.txt 2>&1
grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light mixed_S --heavy mixed_M >> $out.txt
pick=$(sed -n 's/^picked: //p' $out.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
spec=runs/snow8z/model@0.${pick#z-t}
echo "picked $pick = $spec"
python scripts/score_snow_styles.py "r8=$spec" --data data/snow20 --with runs/scores/round8-snow-bundled.json \
  --json runs/scores/round8-snow.json > runs/scores/round8-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round8-snow.json --candidate r8 > runs/scores/round8-snow-rule.txt || true
cat runs/scores/round8-snow-rule.txt
