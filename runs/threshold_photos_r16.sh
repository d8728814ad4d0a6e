#!/usr/bin/env bash
# Snow round 16's comparison (docs/model-history.md "Round 16 (snow)"): per snow-free held-out photo, the shipped
# desnownet-light (round 11's weights) at its own pass-through 0.03 and at 0.06 and 0.10, the user's knob, to set
# beside what mined negatives did to the same photos (runs/scores/round14-snowfree-photos.txt).
set -euo pipefail
python scripts/unchanged_photos.py snow t03=runs/desnownet-light-r11@0.03 t06=runs/desnownet-light-r11@0.06 \
  t10=runs/desnownet-light-r11@0.1 --photos data/snow/heldout_clean > runs/scores/round16-threshold-photos.txt
cat runs/scores/round16-threshold-photos.txt
