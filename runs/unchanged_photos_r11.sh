#!/usr/bin/env bash
# Per photo, the held-out snow-free / dry photos through round 9's and round 11's snow weights and through the rain
# default and rain round 20's candidate: which photo misses issue 12 and 13's 40 dB.
set -euo pipefail
python scripts/unchanged_photos.py snow round9=runs/desnownet-light-r9 round11=desnownet-light \
  --photos data/snow/heldout_clean > runs/scores/round11-snowfree-photos.txt
python scripts/unchanged_photos.py rain j4rnet-wide=runs/j4rnet-wide-r17 r20=runs/r20/model@0.03/0.04 \
  --photos data/snow/heldout_clean > runs/scores/round20-dry-photos.txt
cat runs/scores/round11-snowfree-photos.txt runs/scores/round20-dry-photos.txt
