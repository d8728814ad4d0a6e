#!/usr/bin/env bash
# Snow round 5 (docs/model-history.md "Round 5 (snow)") end to end, as runs/round4_snow.sh: the bundled model on the
# fresh sets, then (once the candidate has trained) tuning, the mechanical pick, held-out scoring and the rule.
set -euo pipefail
while [ ! -L data/snow9/heldout_clean ]; do sleep 30; done
[ -f runs/scores/round5-snow-bundled.json ] || python scripts/score_snow_styles.py bundled=desnownet-light \
  --data data/snow9 --json runs/scores/round5-snow-bundled.json > runs/scores/round5-snow-bundled.txt 2>&1
while [ ! -f runs/snow12e/model/README.md ]; do sleep 30; done
sleep 10
bash runs/tune_round5_snow.sh > runs/scores/round5-tune-snow.txt 2>&1
pick=$(sed -n 's/^picked: //p' runs/scores/round5-tune-snow.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
spec=runs/snow12e/model@0.${pick#e-t}
echo "picked $pick = $spec"
python scripts/score_snow_styles.py "r5=$spec" --data data/snow9 --with runs/scores/round5-snow-bundled.json \
  --json runs/scores/round5-snow.json > runs/scores/round5-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round5-snow.json --candidate r5 > runs/scores/round5-snow-rule.txt || true
cat runs/scores/round5-snow-rule.txt
