#!/usr/bin/env bash
# Round 4 of issue 13 (runs/round4-rain-rule.txt), end to end once runs/r13c-s2 exists: tuning on
# training backgrounds, the mechanical pick, held-out scoring on data/rain4 beside the bundled model's
# earlier run, and the shipping rule as code. Nothing here ships anything.
set -euo pipefail
while [ ! -f runs/r13c-s2/model/README.md ] || [ ! -f runs/scores/round4-tune-b.json ]; do sleep 30; done
sleep 10
bash runs/tune_round4.sh c > runs/scores/round4-tune-rain.txt 2>&1
pick=$(sed -n 's/^picked: //p' runs/scores/round4-tune-rain.txt)
if [[ -z $pick || $pick == None ]]; then echo "tuning picked nothing: nothing ships"; exit 0; fi
part=${pick%%-*}; rest=${pick#*-}
model=runs/r13${part}-s2/model
if [[ $rest == off ]]; then spec=$model@0; else spec=$model@0.${rest:1:2}/0.${rest:4:2}; fi
echo "picked $pick = $spec"
python scripts/score_rain_styles.py "r4=$spec" --data data/rain4 --with runs/scores/round4-bundled.json \
  --json runs/scores/round4-rain.json > runs/scores/round4-rain.txt 2>&1
python scripts/check_rule.py rain runs/scores/round4-rain.json --candidate r4 > runs/scores/round4-rule.txt || true
cat runs/scores/round4-rule.txt
