#!/usr/bin/env bash
# Round-3 rain tuning (runs/round3-rain-rule.txt), training backgrounds only.
set -euo pipefail
c=()
for m in a=runs/r13-all-s2/model b=runs/r13b-s2/model; do
  l=${m%%=*}; p=${m#*=}
  for t in 0.03 0.05; do for v in 0.06 0.08 0.10 0.12; do c+=("${l}-t${t#0.}v${v#0.}=$p@$t/$v"); done; done
done
python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
  --clean data/rain/tune_clean --json runs/scores/round3-tune-rain.json
python scripts/pick_thresholds.py runs/scores/round3-tune-rain.json --light tune_light --heavy tune_heavy
