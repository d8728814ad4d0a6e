#!/usr/bin/env bash
# Round-4 rain tuning (runs/round4-rain-rule.txt), training backgrounds only.
# `tune_round4.sh b` scores round 3's model's grid points (while r13c trains); `tune_round4.sh c` then
# scores the new candidate's, adds b's columns (--with) and picks among all of them.
set -euo pipefail
part=${1:?b or c}
declare -A model=([b]=runs/r13b-s2/model [c]=runs/r13c-s2/model)
p=${model[$part]}
c=()
[[ $part == c ]] && c+=(c-off=$p@0)
for t in 0.03 0.05; do for v in 0.04 0.06 0.08; do c+=("${part}-t${t#0.}v${v#0.}=$p@$t/$v"); done; done
sets=(--sets data/rain/tune_light data/rain/tune_heavy --clean data/rain/tune_clean)
if [[ $part == b ]]; then
  python scripts/score_rain_styles.py "${c[@]}" "${sets[@]}" --json runs/scores/round4-tune-b.json
else
  python scripts/score_rain_styles.py "${c[@]}" "${sets[@]}" --with runs/scores/round4-tune-b.json \
    --json runs/scores/round4-tune-rain.json
  python scripts/pick_thresholds.py runs/scores/round4-tune-rain.json --light tune_light --heavy tune_heavy
fi
