#!/usr/bin/env bash
# Issue 12 capacity test, scoring (rule: docs/models.md "Capacity (snow)", written 10:20 before any score).
# Each model is scored as soon as it has trained, the next one merged with --with; then the speed
# benchmark on the idle machine, then the rule.
set -euo pipefail
wait_for() { while [ ! -f runs/cap12-$1/model/README.md ]; do sleep 30; done; sleep 5; }
S=runs/scores
wait_for light
OMP_NUM_THREADS=1 python scripts/score_snow_styles.py cap12-light=runs/cap12-light/model --data data/snow5 \
  --with $S/round4-snow-bundled.json --json $S/capacity12-light.json > $S/capacity12-light.txt 2>&1
wait_for deep
OMP_NUM_THREADS=1 python scripts/score_snow_styles.py cap12-deep=runs/cap12-deep/model --data data/snow5 \
  --with $S/capacity12-light.json --json $S/capacity12-ld.json > $S/capacity12-ld.txt 2>&1
wait_for base
python benchmarks/configurations.py --quick --folder runs/cap12-light/model --folder runs/cap12-deep/model \
  --folder runs/cap12-base/model > $S/capacity12-speed.txt 2>&1
python scripts/score_snow_styles.py cap12-base=runs/cap12-base/model --data data/snow5 \
  --with $S/capacity12-ld.json --json $S/capacity12.json > $S/capacity12.txt 2>&1
for m in deep base; do
  python scripts/check_rule.py snow-capacity $S/capacity12.json --candidate cap12-$m --bundled cap12-light \
    > $S/capacity12-rule-$m.txt || true
done
cat $S/capacity12-speed.txt $S/capacity12.txt $S/capacity12-rule-*.txt
