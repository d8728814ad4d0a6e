"""Make docs/images/tiling_seam.png: what blended tiling looks like at a tile boundary, next to plain stitching.

Run from the repository root: ``python scripts/make_tiling_figure.py``. It desnows scikit-image's
astronaut (resized to 1024×1024, synthetic M snow, seed 7 — the image of the tiling test) whole, in
blended 256-px tiles with the model's overlap, and in unblended 256-px tiles, and crops 128×128 around
a point where four tiles meet. Panels: whole | blended tiles | |blended − whole| × 20 | unblended
tiles | |unblended − whole| × 20. It prints PSNR and :func:`seam_excess`, the numbers tests/test_tiling.py asserts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from pictures import u8  # noqa: E402

from weatherclean.evaluation.metrics import seam_excess  # noqa: E402
from weatherclean.models import load_model  # noqa: E402
from weatherclean.restore.tiling import run_tiled, tile_starts  # noqa: E402
from weatherclean.synth.snow import synthesize_snow  # noqa: E402

TILE = 256
CROP = 128


def main() -> None:
    from skimage import data
    from skimage.transform import resize

    photo = resize(data.astronaut(), (1024, 1024), order=1, anti_aliasing=False).astype(np.float32)
    snowy = synthesize_snow(photo, np.random.default_rng(7), level="M").snowy
    model = load_model("default")
    x = torch.from_numpy(np.ascontiguousarray(snowy.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        whole = model.restore(x)[0].permute(1, 2, 0).numpy()
    overlap = model.receptive_field
    blended = run_tiled(model.restore, x, tile=TILE, overlap=overlap)[0].permute(1, 2, 0).numpy()
    stitched = run_tiled(model.restore, x, tile=TILE, overlap=0)[0].permute(1, 2, 0).numpy()

    # centre the crop on a corner where four unblended tiles meet, in a textured part of the picture
    cy = cx = tile_starts(1024, TILE, 0)[2]
    sl = np.s_[cy - CROP // 2 : cy + CROP // 2, cx - CROP // 2 : cx + CROP // 2]
    panels = [whole[sl], blended[sl], np.abs(blended - whole)[sl] * 20, stitched[sl], np.abs(stitched - whole)[sl] * 20]
    gap = 4
    sheet = Image.new("RGB", (CROP * 2 * len(panels) + gap * (len(panels) - 1), CROP * 2), (255, 255, 255))
    for i, panel in enumerate(panels):
        im = Image.fromarray(u8(panel)).resize((CROP * 2, CROP * 2), Image.NEAREST)
        sheet.paste(im, (i * (CROP * 2 + gap), 0))
    out = ROOT / "docs" / "images" / "tiling_seam.png"
    sheet.save(out, optimize=True)

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / np.mean((a - whole) ** 2)))

    print(f"wrote {out.relative_to(ROOT)}")
    print(f"blended,   overlap {overlap}: PSNR {psnr(blended):.1f} dB, seam {seam_excess(blended, whole):.3f} levels")
    print(f"unblended, overlap 0:  PSNR {psnr(stitched):.1f} dB, seam {seam_excess(stitched, whole):.3f} levels")


if __name__ == "__main__":
    main()
