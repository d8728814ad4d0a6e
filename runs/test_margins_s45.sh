#!/usr/bin/env bash
# Margins of the slow training and tiling tests under other settings (2026-12-07, session 45): what
# docs/performance.md's last section and the trimmed tests' comments quote. Output: runs/scores/test-margins-s45.txt.
# Each line: the setting, its seconds (this 2-core machine, often with the suite running beside it: not a timing),
# and the test's own figures against its bars. Run from the repository root with the test extra installed.
#   bash runs/test_margins_s45.sh snow  "0,300,32,8,20 1,120,32,8,20"   # no_harm,steps,crop,batch,warmup
#   bash runs/test_margins_s45.sh bf16  "30,24,6,5"                      # steps,crop,batch,warmup
#   bash runs/test_margins_s45.sh tile  "768,192 1024,256"               # size,tile
set -euo pipefail
kind=$1; shift
dir=$(mktemp -d)
# Each part calls the test's own helper (tests/test_training.py, tests/test_tiling.py), so what it measures is what
# the test runs, only under other settings.
cat > "$dir/snow.py" <<'PY'
"""Margins of test_training_learns_to_remove_snow for given no_harm/steps/crop/batch/warmup."""
import sys, tempfile, time
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from test_training import learn_snow
for spec in sys.argv[1:]:
    nh, steps, crop, batch, warm = spec.split(",")
    t0 = time.time()
    losses, gains, clean = learn_snow(Path(tempfile.mkdtemp()), nh == "1", steps=int(steps), crop=int(crop),
                                      batch=int(batch), warmup=int(warm), log_every=max(1, int(steps) // 12))
    ratio = np.mean(losses[-3:]) / np.mean(losses[:2])
    extra = "" if clean is None else f" clean={clean:.2f}"
    print(f"no_harm={nh == '1'} steps={steps} crop={crop} batch={batch}: {time.time()-t0:.1f}s ratio={ratio:.3f} (<0.7) gain={np.mean(gains):.2f} (>1) {extra}", flush=True)
PY
cat > "$dir/bf16.py" <<'PY'
import os, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
os.environ["WEATHERCLEAN_CPU_BF16"] = "1"
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from test_training import learn_snow_in_bf16
for spec in sys.argv[1:]:
    steps, crop, batch, warm = map(int, spec.split(","))
    t0 = time.time()
    losses, _ = learn_snow_in_bf16(Path(tempfile.mkdtemp()), steps=steps, crop=crop, batch=batch, warmup=warm)
    print(f"steps={steps} crop={crop} batch={batch}: {time.time()-t0:.1f}s ratio={np.mean(losses[-2:])/losses[0]:.3f} (<0.8) {len(losses)}", flush=True)
PY
cat > "$dir/tile.py" <<'PY'
import sys, time, torch
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from test_tiling import tiled_against_whole
for size, tile in [tuple(map(int, a.split(","))) for a in sys.argv[1:]]:
    t0 = time.time()
    p, seam, s2 = tiled_against_whole(size, tile)
    print(f"size={size} tile={tile}: {time.time()-t0:.1f}s psnr={p:.2f} (>=45) seam={seam:.3f} (<0.25) ungated={s2:.3f} (>4x seam={4*seam:.3f})", flush=True)
PY
# shellcheck disable=SC2086  # the settings are separate arguments
python "$dir/$kind.py" $1
