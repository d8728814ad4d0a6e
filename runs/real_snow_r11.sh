#!/usr/bin/env bash
# Snow round 11: the real snowy photos with the weights shipped before (round 9, runs/desnownet-light-r9, restored from git by
# runs/issue-a2.sh) and the round-11 weights; the sheet stays out of the repository.
set -euo pipefail
python scripts/real_snow_sheet.py ../shared/data/real/snow_photos/images runs/real_snow_r11.jpg \
  round9=runs/desnownet-light-r9 round11=src/weatherclean/weights/desnownet-light > runs/scores/round11-real-snow.txt
cat runs/scores/round11-real-snow.txt
