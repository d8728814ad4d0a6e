#!/usr/bin/env bash
# Snow round 4 (docs/model-history.md "Round 4 (snow)") end to end: the bundled model on the fresh sets, then
# (once the candidate has trained) tuning, the mechanical pick, held-out scoring and the rule as code.
set -euo pipefail
while [ ! -L data/snow5/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round4-snow-bundled.json ] || python scripts/score_snow_styles.py bundled=desnownet-light \
  --data data/snow5 --json runs/scores/round4-snow-bundled.json > runs/scores/round4-snow-bundled.txt 2>&1
while [ ! -f runs/snow12d/model/README.md ]; do sleep 30; done
sleep 10
bash runs/tune_round4_snow.sh > runs/scores/round4-tune-snow.txt 2>&1
pick=$(sed -n 's/^picked: //p' runs/scores/round4-tune-snow.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
spec=runs/snow12d/model@0.${pick#d-t}
echo "picked $pick = $spec"
python scripts/score_snow_styles.py "r4=$spec" --data data/snow5 --with runs/scores/round4-snow-bundled.json \
  --json runs/scores/round4-snow.json > runs/scores/round4-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round4-snow.json --candidate r4 > runs/scores/round4-snow-rule.txt || true
cat runs/scores/round4-snow-rule.txt
