#!/usr/bin/env bash
# For a lent GPU (issue 12 items 5-6; never run in CI): train desnownet-base, registered without weights, with the
# shipped light model's no-harm recipe (round 11's: --pass-through 0.02, --lambda-colour 4, --clean-fraction 0.35,
# --dry-crops 4, --no-haze), from scratch, for at most 6 minutes, with 13 data workers (synthesis on the CPU limits
# this model's training on a GPU; ../shared/candidates/README.md). Prepared and tested on the CPU before any GPU:
#
#   python scripts/prepare_snow_data.py ../shared/data/clean .devdata --max-side 512 --jpeg 90   # once, here
#   GPU_SMOKE=1 OUT=/tmp/gpu runs/gpu_base.sh                                                  # here: 2 CPU steps
#   device run: command "bash runs/gpu_base.sh", carry [".devdata"], timeout_s 600
#
# On the machine the repository is not installed: PYTHONPATH=src (PyTorch, Pillow, NumPy, SciPy, scikit-image, typer,
# rich and safetensors are in its image; PyAV and piexif, which training does not import, are not). 6 minutes leave
# room in a 15-minute lease for the machine's start and one rerun. What comes back under $OUT: base/model/{config.json,model.safetensors,README.md} (12 MB),
# base/train_log.jsonl and the run's output. Then score it here, in fp32 on the CPU, by a rule written before.
set -euo pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:?set OUT to the folder that comes back}
PASS=0.02  # the gate threshold trained with; the shipped light model's recipe
mkdir -p "$OUT"
rm -rf /tmp/gpu-base  # a warm machine may hold an earlier run's folder; this run starts fresh
if [[ ${GPU_SMOKE:-0} == 1 ]]; then
  run=(--device cpu --workers 1 --steps 2 --batch-size 2 --crop 32 --time-limit 2)
else
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  run=(--device cuda --workers 13 --steps 12000 --batch-size 32 --crop 128 --time-limit 6)
fi
python3 -m weatherclean train --task snow --arch desnownet-base --clean .devdata/train_clean --skimage-samples \
  --pass-through $PASS --lambda-colour 4 --clean-fraction 0.35 --dry-crops 4 --no-haze --lr 3e-4 --warmup 200 \
  --seed 2222 --checkpoint-every 500 --log-every 50 -q "${run[@]}" -o /tmp/gpu-base 2>&1 | tee "$OUT/train.txt"
mkdir -p "$OUT/base"
cp /tmp/gpu-base/train_log.jsonl "$OUT/base/"
if [[ -d /tmp/gpu-base/model ]]; then
  cp -r /tmp/gpu-base/model "$OUT/base/"
else  # stopped by --time-limit before --steps: the checkpoint's weights, as ../shared/candidates did
  PASS=$PASS python3 - <<'PY'
import os, torch
from weatherclean.models.family import with_config
from weatherclean.models.registry import create_model
state = torch.load("/tmp/gpu-base/checkpoint.pt", map_location="cpu", weights_only=True)
model = with_config(create_model("desnownet-base"), pass_through=float(os.environ["PASS"]))
model.load_state_dict(state["model"])
model.save_pretrained(os.environ["OUT"] + "/base/model")
PY
fi
ls -la "$OUT/base" "$OUT/base/model"
