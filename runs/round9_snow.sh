#!/usr/bin/env bash
# Snow round 9 (runs/round9-snow-rule.txt) end to end: the fresh sets, the bundled model and the candidate on them,
# and the rule as code. "desnownet-light" here meant round 2's weights, bundled when it ran; since round 9 shipped,
# rerun it with bundled=runs/desnownet-light-r2 (round 2's weights, restored by runs/real_snow_r9.sh).
set -euo pipefail
runs/make_sets_y.sh
[ -f runs/scores/round9-snow.json ] || python scripts/score_snow_styles.py bundled=desnownet-light r9=runs/snow8z/model@0.04 \
  --data data/snow21 --json runs/scores/round9-snow.json > runs/scores/round9-snow.txt 2>&1
python scripts/check_rule.py snow runs/scores/round9-snow.json --candidate r9 > runs/scores/round9-snow-rule.txt || true
cat runs/scores/round9-snow-rule.txt
