#!/usr/bin/env bash
# Leave-drizzle-out twin of the shipped rain model (round 4): the same b and c fine-tunes as
# runs/issue-b.sh rain and runs/issue-c.sh, from round 1's leave-drizzle-out model, without drizzle.
# A measurement only, never shipped. Resumable: rerun the same command.
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --exclude-style drizzle --workers 0 --threads 2 -q)
b=(--clean-fraction 0.35 --lambda-colour 4 --seed 7 --checkpoint-every 250)
c=(--clean-fraction 0.5 --lambda-colour 8 --seed 11 --checkpoint-every 200)
weatherclean train "${common[@]}" "${b[@]}" --init runs/r13-no-drizzle-s2/model --frames 1 --crop 64 --batch-size 8 --steps 3000 --lr 1e-4 --warmup 50 -o runs/r13b-nd-s1
weatherclean train "${common[@]}" "${b[@]}" --init runs/r13b-nd-s1/model --frames 9 --crop 64 --batch-size 4 --steps 600 --lr 7.5e-5 --warmup 20 -o runs/r13b-nd-s2
weatherclean train "${common[@]}" "${c[@]}" --init runs/r13b-nd-s2/model --frames 1 --crop 96 --batch-size 8 --steps 6000 --lr 1e-4 --warmup 50 -o runs/r13c-nd-s1
weatherclean train "${common[@]}" "${c[@]}" --init runs/r13c-nd-s1/model --frames 9 --crop 64 --batch-size 4 --steps 1000 --lr 7.5e-5 --warmup 20 -o runs/r13c-nd-s2
python scripts/score_rain_styles.py loso=runs/r13c-nd-s2/model@0.05/0.04 --data data/rain4 \
  --with runs/scores/round4-rain.json --json runs/scores/round4-loso.json > runs/scores/round4-loso.txt 2>&1
