#!/usr/bin/env bash
# Tuning sets for the by-hand flip-ensemble and never-brighter probes (scripts/ensemble_probe.py):
# 12 TRAINING backgrounds (every 45th of data/snow/train_clean from the 8th, sorted by name; made by
# python scripts/prepare_snow_data.py ../shared/data/clean data/snow), seed 35035, never a held-out picture.
# Resumable: a set whose synth.json exists is kept.
set -euo pipefail
mkdir -p data/tune35/clean
python - <<'PY'
import shutil
from pathlib import Path
for f in sorted(Path("data/snow/train_clean").iterdir())[7::45]:
    shutil.copy(f, Path("data/tune35/clean") / f.name)
PY
for st in mixed bokeh specks; do
  for L in S M L; do
    [ -f data/tune35/snow_${st}_$L/synth.json ] || weatherclean synth snow data/tune35/clean data/tune35/snow_${st}_$L --level $L --style $st --seed 35035 -q
  done
done
for st in mixed downpour; do
  for lv in light heavy; do
    [ -f data/tune35/rain_${st}_$lv/synth.json ] || weatherclean synth rain data/tune35/clean data/tune35/rain_${st}_$lv --style $st --level $lv --seed 35035 -q
  done
done
