#!/usr/bin/env bash
# Snow round 13: per photo, the held-out snow-free photos through round 11's weights (shipped) and round 13's
# candidate at its pick.
set -euo pipefail
python scripts/unchanged_photos.py snow round11=runs/desnownet-light-r11 "r13=runs/snow13/model@0.06" \
  --photos data/snow/heldout_clean > runs/scores/round13-snowfree-photos.txt
cat runs/scores/round13-snowfree-photos.txt
