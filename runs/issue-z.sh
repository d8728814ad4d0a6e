#!/usr/bin/env bash
# Snow round 8 candidate (runs/round8-snow-rule.txt). Resumable: rerun. The bundled weights, round 2's fine-tune
# recipe, with the styles the bundled model hardly removes on light snow (bokeh, specks, streaks) drawn twice as often.
set -euo pipefail
weatherclean train --task snow --clean data/snow/train_clean --skimage-samples --init src/weatherclean/weights/desnownet-light \
  --pass-through 0.02 --lambda-colour 4 --clean-fraction 0.35 --no-haze --steps 1500 --batch-size 8 --crop 96 \
  --lr 1e-4 --warmup 50 --seed 8181 --style-weight bokeh=2 --style-weight specks=2 --style-weight streaks=2 \
  --workers 0 --threads 1 --checkpoint-every 100 -q -o runs/snow8z
