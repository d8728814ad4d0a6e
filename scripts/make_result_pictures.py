#!/usr/bin/env python3
"""Make the before/after pictures in README.md and docs/models.md with the shipped default models.

Run from the repository root: ``python scripts/make_result_pictures.py``. Only scikit-image's photos are
used (never ../shared), with the project's synthetic weather at fixed seeds. Output (each < 150 KB):

* ``docs/images/result_snow.jpg``: snowy | desnownet-light | clean, for scikit-image's chelsea (M snow).
  chelsea *was* among the snow model's training backgrounds (``--skimage-samples``, with other snow on
  other crops), so this shows what the model does, not how it generalises.
* ``docs/images/result_rain.jpg``: rainy | the default rain model (j4rnet-wide) | clean, for scikit-image's
  coffee (heavy rain, one photo: single-frame mode). coffee *was* among the rain model's training
  backgrounds (with other rain on other crops), so this picture shows what the model does, not how it
  generalises; the held-out numbers are in docs/models.md.
* ``docs/images/result_video.jpg``: frames 1, 4, 7, 10 of a 10-frame rainy clip of scikit-image's
  rocket with a slow pan (light rain), above the same frames derained with the memory carried.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from pictures import save_jpeg, sheet, shrink  # noqa: E402

from weatherclean.data.images import skimage_samples  # noqa: E402
from weatherclean.models import load_model  # noqa: E402
from weatherclean.restore.recurrent import RecurrentTiles  # noqa: E402
from weatherclean.restore.tiling import run_tiled_array  # noqa: E402
from weatherclean.synth.rain import CameraMotion, synthesize_rain, synthesize_rain_clip  # noqa: E402
from weatherclean.synth.snow import synthesize_snow  # noqa: E402

OUT = ROOT / "docs" / "images"
CPU = torch.device("cpu")


def main() -> None:
    photos = dict(skimage_samples())
    snow_model, rain_model = load_model("default", task="snow"), load_model("default", task="rain")

    clean = shrink(photos["chelsea"], 384)
    snowy = synthesize_snow(clean, np.random.default_rng(11), "M").snowy
    restored = run_tiled_array(snow_model.restore, snowy, overlap=snow_model.receptive_field)
    save_jpeg(sheet([[snowy, restored, clean]]), OUT / "result_snow.jpg")

    clean = shrink(photos["coffee"], 384)
    rainy = synthesize_rain(clean, np.random.default_rng(12), "heavy").rainy
    restored = run_tiled_array(rain_model.restore, rainy, overlap=rain_model.receptive_field)
    save_jpeg(sheet([[rainy, restored, clean]]), OUT / "result_rain.jpg")

    rocket = shrink(photos["rocket"], 480)
    motion = CameraMotion(pan=(1.0, 0.0), zoom=0.0, shake=0.3, roll=0.0)
    clip = synthesize_rain_clip(rocket, np.random.default_rng(13), "light", frames=10, size=(192, 256), motion=motion)
    memory = RecurrentTiles(rain_model, device=CPU, tile=512)
    derained = [memory(frame) for frame in clip.rainy]
    picks = (0, 3, 6, 9)
    save_jpeg(sheet([[clip.rainy[i] for i in picks], [derained[i] for i in picks]]), OUT / "result_video.jpg")


if __name__ == "__main__":
    main()
