#!/usr/bin/env bash
# Snow round 9: the real snowy photos with the weights shipped before (round 2, restored from git into
# runs/desnownet-light-r2) and the round-9 weights; the sheet stays out of the repository.
set -euo pipefail
if [ ! -f runs/desnownet-light-r2/model.safetensors ]; then
  mkdir -p runs/desnownet-light-r2
  for f in README.md config.json model.safetensors; do
    git show 19703a6:src/weatherclean/weights/desnownet-light/$f > runs/desnownet-light-r2/$f
  done
fi
python scripts/real_snow_sheet.py ../shared/data/real/snow_photos/images runs/real_snow_r9.jpg \
  round2=runs/desnownet-light-r2 round9=src/weatherclean/weights/desnownet-light > runs/scores/round9-real-snow.txt
cat runs/scores/round9-real-snow.txt
