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
cat > "$dir/snow.py" <<'PY'
"""Margins of test_training_learns_to_remove_snow for given steps/crop/batch."""
import dataclasses, sys, time, tempfile
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from synthetic import clean_image, write_clean
from weatherclean.evaluation.metrics import psnr
from weatherclean.models import DesnowNet, load_model
from weatherclean.synth.snow import synthesize_snow
from weatherclean.training.losses import DesnowLoss
from weatherclean.training.tasks import SnowTask
from weatherclean.training.trainer import TrainConfig, train
from test_training import TINY, _tiny_model

def run(no_harm, steps, crop, batch, warm):
    tmp = Path(tempfile.mkdtemp())
    t0 = time.time()
    clean = write_clean(tmp / "clean", seed=1, n=6)
    task = SnowTask(clean=[clean], crop=crop, samples=10**6, level="M", seed=0)
    net = _tiny_model()
    if no_harm:
        task.clean_fraction = 0.2
        task.loss_fn = DesnowLoss(lambda_colour=1.0)
        net = DesnowNet(dataclasses.replace(TINY, pass_through=0.02))
        net.load_state_dict(_tiny_model().state_dict())
    cfg = TrainConfig(output=str(tmp / "run"), steps=steps, batch_size=batch, lr=2e-3, warmup_steps=warm,
                      workers=0, progress=False, checkpoint_every=100, log_every=max(1, steps // 12))
    result = train(net, task, cfg)
    losses = [r["loss"] for r in result.history]
    ratio = np.mean(losses[-3:]) / np.mean(losses[:2])
    model = load_model(str(result.final_dir))
    rng = np.random.default_rng(123)
    gains = []
    for _ in range(4):
        y = clean_image(rng)
        x = synthesize_snow(y, rng, level="M").snowy
        out = model.restore(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        gains.append(psnr(out, y) - psnr(x, y))
    extra = ""
    if no_harm:
        y = clean_image(rng)
        out = model.restore(torch.from_numpy(y).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        extra = f" clean={psnr(out, y, y_channel=True):.2f}"
    print(f"no_harm={no_harm} steps={steps} crop={crop} batch={batch}: {time.time()-t0:.1f}s ratio={ratio:.3f} (<0.7) gain={np.mean(gains):.2f} (>1) {extra}", flush=True)

for spec in sys.argv[1:]:
    nh, steps, crop, batch, warm = spec.split(",")
    run(nh == "1", int(steps), int(crop), int(batch), int(warm))
PY
cat > "$dir/bf16.py" <<'PY'
import os, sys, time, tempfile
from pathlib import Path
import numpy as np, torch
os.environ["WEATHERCLEAN_CPU_BF16"] = "1"
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from synthetic import write_clean
from weatherclean.training.tasks import SnowTask
from weatherclean.training.trainer import TrainConfig, train
from test_training import _tiny_model
for spec in sys.argv[1:]:
    steps, crop, batch, warm = map(int, spec.split(","))
    tmp = Path(tempfile.mkdtemp()); t0 = time.time()
    clean = write_clean(tmp / "clean", seed=3, n=4)
    task = SnowTask(clean=[clean], crop=crop, samples=10**6, level="M", seed=0)
    cfg = TrainConfig(output=str(tmp / "run"), steps=steps, batch_size=batch, lr=2e-3, warmup_steps=warm, workers=0,
                      progress=False, checkpoint_every=steps // 2, log_every=max(1, steps // 6), amp=True)
    result = train(_tiny_model(), task, cfg)
    losses = [r["loss"] for r in result.history]
    print(f"steps={steps} crop={crop} batch={batch}: {time.time()-t0:.1f}s ratio={np.mean(losses[-2:])/losses[0]:.3f} (<0.8) {len(losses)}", flush=True)
PY
cat > "$dir/tile.py" <<'PY'
import sys, time, numpy as np, torch
sys.path.insert(0, "tests")
torch.set_num_threads(1)
from skimage import data
from skimage.transform import resize
from weatherclean.models import load_model
from weatherclean.models.family import with_config
from weatherclean.synth.snow import synthesize_snow
from weatherclean.restore.tiling import run_tiled
from weatherclean.evaluation.metrics import seam_excess
from test_tiling import _psnr
for size, tile in [tuple(map(int, a.split(","))) for a in sys.argv[1:]]:
    t0 = time.time()
    photo = resize(data.astronaut(), (size, size), order=1, anti_aliasing=False).astype(np.float32)
    snowy = synthesize_snow(photo, np.random.default_rng(7), level="M").snowy
    model = load_model("default")
    x = torch.from_numpy(np.ascontiguousarray(snowy.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        whole = model.restore(x)[0].permute(1, 2, 0).numpy()
    overlap = model.receptive_field
    tiled = run_tiled(model.restore, x, tile=tile, overlap=overlap)[0].permute(1, 2, 0).numpy()
    p = _psnr(torch.from_numpy(tiled), torch.from_numpy(whole)); seam = seam_excess(tiled, whole)
    ungated = with_config(model, pass_through=0.0).eval()
    with torch.no_grad():
        whole_ungated = ungated.restore(x)[0].permute(1, 2, 0).numpy()
    stitched = run_tiled(ungated.restore, x, tile=tile, overlap=0)[0].permute(1, 2, 0).numpy()
    s2 = seam_excess(stitched, whole_ungated)
    print(f"size={size} tile={tile}: {time.time()-t0:.1f}s psnr={p:.2f} (>=45) seam={seam:.3f} (<0.25) ungated={s2:.3f} (>4x seam={4*seam:.3f})", flush=True)
PY
# shellcheck disable=SC2086  # the settings are separate arguments
python "$dir/$kind.py" $1
