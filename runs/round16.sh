#!/usr/bin/env bash
# Rain round 16 (docs/model-history.md "Round 16 (rain)") end to end, as runs/round15.sh for two candidates: the shipped
# model on the fresh sets; then for each candidate tuning on training backgrounds and the mechanical pick; both
# picked candidates on the held-out sets; the rule for each.
set -euo pipefail
while [ ! -d data/rain16/clip_mixed_heavy ] || [ ! -f data/rain16/clip_mixed_heavy/synth.json ]; do sleep 30; done
[ -f runs/scores/round16-bundled.json ] || python scripts/score_rain_styles.py bundled=j4rnet-light --data data/rain16 \
  --json runs/scores/round16-bundled.json > runs/scores/round16-bundled.txt 2>&1
specs=()
for cand in a:r13o b:r13p; do
  name=${cand%%:*}; run=${cand#*:}
  while [ ! -f runs/$run-s2/model/README.md ]; do sleep 30; done
  sleep 10
  c=()
  for t in 0.03 0.05; do for v in 0.04 0.06; do c+=("$name-t${t#0.}v${v#0.}=runs/$run-s2/model@$t/$v"); done; done
  out=runs/scores/round16$name-tune-rain
  python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean \
    --json $out.json > $out.txt 2>&1
  python scripts/pick_thresholds.py $out.json --light tune_light --heavy tune_heavy >> $out.txt
  pick=$(sed -n 's/^picked: //p' $out.txt)
  if [[ -z $pick || $pick == None ]]; then echo "r16$name: tuning picked nothing"; continue; fi
  rest=${pick#*-}
  spec=runs/$run-s2/model@0.${rest:1:2}/0.${rest:4:2}
  echo "r16$name picked $pick = $spec"
  specs+=("r16$name=$spec")
done
[ ${#specs[@]} -gt 0 ] || { echo "tuning picked nothing: nothing ships"; exit 0; }
python scripts/score_rain_styles.py "${specs[@]}" --data data/rain16 --with runs/scores/round16-bundled.json \
  --json runs/scores/round16-rain.json > runs/scores/round16-rain.txt 2>&1
for s in "${specs[@]}"; do
  name=${s%%=*}
  python scripts/check_rule.py rain-pictures runs/scores/round16-rain.json --candidate $name > runs/scores/round16-rule-$name.txt || true
  echo "== $name"; cat runs/scores/round16-rule-$name.txt
done
# Reported, not a condition: the held-out dry photos re-toned (brighter, gamma-lifted, hazy), shipped and candidates.
python scripts/score_rain_styles.py bundled=j4rnet-light "${specs[@]}" --sets --clean data/rain16/bright_clean \
  --json runs/scores/round16-bright.json > runs/scores/round16-bright.txt 2>&1
cat runs/scores/round16-bright.txt
