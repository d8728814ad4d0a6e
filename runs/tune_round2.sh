#!/usr/bin/env bash
# Round-2 tuning (runs/round2-selection-rule.txt): every grid point on tuning sets from TRAINING backgrounds.
set -euo pipefail
case $1 in
rain)
  c=()
  for m in a=runs/r13-all-s2/model b=runs/r13b-s2/model; do
    l=${m%%=*}; p=${m#*=}
    c+=("${l}-off=$p@0" "${l}-t02=$p@0.02" "${l}-t05=$p@0.05" "${l}-t02v03=$p@0.02/0.03" "${l}-t02v06=$p@0.02/0.06"
        "${l}-t05v03=$p@0.05/0.03" "${l}-t05v06=$p@0.05/0.06")
  done
  python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
    --clean data/rain/tune_clean --json runs/scores/round2-tune-rain.json
  python scripts/pick_thresholds.py runs/scores/round2-tune-rain.json --light tune_light --heavy tune_heavy ;;
snow)
  mkdir -p data/snow_tune
  ln -sfn ../snow/tune_S data/snow_tune/test_mixed_S
  ln -sfn ../snow/tune_M data/snow_tune/test_mixed_M
  ln -sfn ../rain/tune_clean data/snow_tune/heldout_clean
  c=()
  for m in a=runs/snow12-all/model b=runs/snow12b/model; do
    l=${m%%=*}; p=${m#*=}
    for t in 0.02 0.03 0.04 0.05 0.08; do c+=("${l}-t${t#0.}=$p@$t"); done
  done
  python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune --styles mixed --json runs/scores/round2-tune-snow.json
  python scripts/pick_thresholds.py runs/scores/round2-tune-snow.json --light mixed_S --heavy mixed_M ;;
esac
