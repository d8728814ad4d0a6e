#!/usr/bin/env bash
# Rain round 17 (docs/model-history.md "Round 17 (rain)") end to end, as runs/round16.sh: no training; two candidates with
# veil_cell 64 (runs/r17l/model: the shipped j4rnet-light weights; runs/r17w/model: round 14's wide candidate
# runs/r13m-s2), each its source's weights and config.json with "veil_cell": 64 added. For each: tuning on training
# backgrounds and the mechanical pick; then the shipped model and both picked candidates on the fresh sets; the rule.
set -euo pipefail
specs=()
for name in l w; do
  c=()
  for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("$name-t${t#0.}v${v#0.}=runs/r17$name/model@$t/$v"); done; done
  out=runs/scores/round17$name-tune-rain
  [ -f $out.json ] || python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
    --clean data/rain/tune_clean --json $out.json > $out.txt 2>&1
  grep -q '^picked: ' $out.txt || python scripts/pick_thresholds.py $out.json --light tune_light --heavy tune_heavy >> $out.txt
  pick=$(sed -n 's/^picked: //p' $out.txt)
  if [[ -z $pick || $pick == None ]]; then echo "r17$name: tuning picked nothing"; continue; fi
  rest=${pick#*-}
  spec=runs/r17$name/model@0.${rest:1:2}/0.${rest:4:2}
  echo "r17$name picked $pick = $spec"
  specs+=("r17$name=$spec")
done
[ ${#specs[@]} -gt 0 ] || { echo "tuning picked nothing: nothing ships"; exit 0; }
while [ ! -d data/rain17/bright_clean ]; do sleep 30; done
[ -f runs/scores/round17-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain17 \
  --json runs/scores/round17-bundled.json > runs/scores/round17-bundled.txt 2>&1
python scripts/score_rain_styles.py "${specs[@]}" --data data/rain17 --with runs/scores/round17-bundled.json \
  --json runs/scores/round17-rain.json > runs/scores/round17-rain.txt 2>&1
for s in "${specs[@]}"; do
  name=${s%%=*}
  python scripts/check_rule.py rain-pictures runs/scores/round17-rain.json --candidate $name > runs/scores/round17-rule-$name.txt || true
  echo "== $name"; cat runs/scores/round17-rule-$name.txt
done
# Reported, not a condition: the held-out dry photos re-toned (brighter, gamma-lifted, hazy), shipped and candidates.
python scripts/score_rain_styles.py bundled=j4rnet-light "${specs[@]}" --sets --clean data/rain17/bright_clean \
  --json runs/scores/round17-bright.json > runs/scores/round17-bright.txt 2>&1
cat runs/scores/round17-bright.txt
