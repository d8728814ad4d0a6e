#!/usr/bin/env bash
# Rain round 19: j4rnet-wide's leave-downpour-out twin (runs/round19-rain-loso-rule.txt), a measurement, never shipped.
# Resumable: rerun. Round 6's chain without downpour (runs/issue-h-nd.sh), widened, then round 14's (runs/issue-q.sh)
# without downpour; the result gets j4rnet-wide's shipped config.json.
set -euo pipefail
if [ ! -f runs/r13c-s2/model/model.safetensors ]; then
  mkdir -p runs/r13c-s2/model
  for f in README.md config.json model.safetensors; do
    git show dab6218:src/weatherclean/weights/j4rnet-light/$f > runs/r13c-s2/model/$f
  done
fi
six=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 13
     --workers 0 --threads 1 --checkpoint-every 200 -q --exclude-style downpour)
weatherclean train "${six[@]}" --init runs/r13c-s2/model --frames 1 --crop 96 --batch-size 8 --steps 4000 --lr 7.5e-5 --warmup 50 -o runs/r19-nd-s1
weatherclean train "${six[@]}" --init runs/r19-nd-s1/model --frames 9 --crop 64 --batch-size 4 --steps 700 --lr 5e-5 --warmup 20 -o runs/r19-nd-s2
[ -d runs/r19-ndw-init ] || python scripts/widen_j4rnet.py runs/r19-nd-s2/model --width 64 -o runs/r19-ndw-init
wide=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8
      --tone-fraction 0.3 --seed 14141 --workers 0 --threads 1 --checkpoint-every 200 -q --exclude-style downpour)
weatherclean train "${wide[@]}" --init runs/r19-ndw-init --frames 1 --crop 96 --batch-size 8 --steps 3000 --lr 7.5e-5 --warmup 50 -o runs/r19-ndw-s1
weatherclean train "${wide[@]}" --init runs/r19-ndw-s1/model --frames 9 --crop 64 --batch-size 4 --steps 500 --lr 5e-5 --warmup 20 -o runs/r19-ndw-s2
mkdir -p runs/r19-ndw/model
cp runs/r19-ndw-s2/model/model.safetensors runs/r19-ndw/model/
cp src/weatherclean/weights/j4rnet-wide/config.json runs/r19-ndw/model/
