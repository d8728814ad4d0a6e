#!/usr/bin/env python3
"""Split the clean backgrounds into training and held-out folders for the shipped snow model.

    python scripts/prepare_snow_data.py ../shared/data/clean data/snow

writes data/snow/train_clean/ (training backgrounds) and data/snow/heldout_clean/ (never trained on;
`weatherclean synth snow` turns them into the held-out test sets). The split is fixed here, by name, so
docs/models.md can say exactly which images were held out. The scikit-image samples named in
EXAMPLE_SAMPLES are kept out of training too: the bundled example photos are made from them.

    python scripts/prepare_snow_data.py ../shared/data/clean .devdata --max-side 512 --jpeg 90

writes the same split smaller, for a lent GPU machine: every picture at most 512 px on its longest side,
as JPEG at quality 90, into a folder git ignores, for the device call's ``carry`` (runs/gpu_base.sh
says how it is used).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

#: Kodak24 19-24 and two CBSD68 photos (held out since 0.1.0), and since issue 12 two city scenes of
#: Urban100 and two varied scenes of Sun-Hays 80, which none of the bundled models ever trained on.
HELDOUT = (
    {f"kodim{i:02d}" for i in range(19, 25)}
    | {"130026", "134035"}
    | {"img_005", "img_012"}
    | {"aqueduct_sun_ancegghzusmmvzjn", "barn_sun_btulbiaoilnxcseh"}
)
EXAMPLE_SAMPLES = {"chelsea", "coffee", "rocket"}


def _write_small(picture: Image.Image, dest: Path, max_side: int, quality: int, written: set[Path]) -> None:
    """``picture`` upright (EXIF orientation applied), at most ``max_side`` px a side (0: as it is), as JPEG
    at ``quality`` (0: ``dest``'s own format, JPEG at 95). Two pictures of one run that would land on one
    name (``a.png`` and ``a.jpg`` with ``--jpeg``) stop it rather than one overwriting the other."""
    picture = ImageOps.exif_transpose(picture).convert("RGB")
    if max_side and max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    dest = dest.with_suffix(".jpg") if quality else dest
    if dest in written:
        raise SystemExit(f"{dest}: two pictures would be written here; rename one of them")
    written.add(dest)
    picture.save(dest, quality=quality or 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clean_root", type=Path, help="folder with clean images (searched recursively)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-side", type=int, default=0, help="shrink to at most this many pixels a side (0: keep)")
    parser.add_argument("--jpeg", type=int, default=0, metavar="Q", help="write JPEG at quality Q (0: copy the files)")
    args = parser.parse_args()
    if args.max_side < 0 or not 0 <= args.jpeg <= 100:
        parser.error("--max-side must be >= 0 and --jpeg between 0 and 100")

    from weatherclean.data.images import list_images, skimage_samples

    train, held = args.out / "train_clean", args.out / "heldout_clean"
    for folder in (train, held):
        folder.mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "heldout": 0}
    written: set[Path] = set()  # what this run wrote, so that two pictures never land on one name
    for path in list_images(args.clean_root):
        dest = held if path.stem in HELDOUT else train
        if args.max_side or args.jpeg:
            _write_small(Image.open(path), dest / path.name, args.max_side, args.jpeg, written)
        else:
            shutil.copy2(path, dest / path.name)
        counts["heldout" if dest is held else "train"] += 1
    for name, arr in skimage_samples():
        if name in EXAMPLE_SAMPLES:
            continue
        picture = Image.fromarray(np.round(arr * 255).astype(np.uint8))
        if args.max_side or args.jpeg:
            _write_small(picture, train / f"skimage_{name}.png", args.max_side, args.jpeg, written)
        else:
            picture.save(train / f"skimage_{name}.png")
        counts["train"] += 1
    print(f"{counts['train']} training images in {train}, {counts['heldout']} held out in {held}")


if __name__ == "__main__":
    main()
