#!/usr/bin/env bash
# Snow round 3 (runs/round3-snow-rule.txt) end to end: the bundled model on data/snow3 while the
# candidate trains, then tuning, the mechanical pick, held-out scoring and the rule as code.
set -euo pipefail
renice -n 15 -p $$ >/dev/null  # the rain round goes first (all jobs share one autogroup: per-process nice)
while [ ! -f runs/scores/round4-tune-b.json ]; do sleep 30; done
[ -f runs/scores/round3-snow-bundled.json ] || python scripts/score_snow_styles.py bundled=desnownet-light \
  --data data/snow3 --json runs/scores/round3-snow-bundled.json > runs/scores/round3-snow-bundled.txt 2>&1
while [ ! -f runs/snow12c/model/README.md ]; do sleep 30; done
sleep 10
bash runs/tune_round3_snow.sh > runs/scores/round3-tune-snow.txt 2>&1
pick=$(sed -n 's/^picked: //p' runs/scores/round3-tune-snow.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
spec=runs/snow12c/model@0.${pick#c-t}
echo "picked $pick = $spec"
python scripts/score_snow_styles.py "r3=$spec" --data data/snow3 --with runs/scores/round3-snow-bundled.json \
  --json runs/scores/round3-snow.json > runs/scores/round3-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round3-snow.json --candidate r3 > runs/scores/round3-snow-rule.txt || true
cat runs/scores/round3-snow-rule.txt
