"""Shared helpers of the scripts that draw the pictures in docs/images (grids of panels, size-capped JPEGs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
#: Every docs picture stays below this size, so the repository stays small.
MAX_BYTES = 150_000


def u8(arr: np.ndarray) -> np.ndarray:
    return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)


def shrink(photo: np.ndarray, width: int) -> np.ndarray:
    """Resize an H×W×3 float photo to ``width`` (aspect kept), before synthetic weather is added, so
    flakes and streaks keep their real pixel size in the picture."""
    h, w = photo.shape[:2]
    size = (width, int(round(h * width / w)))
    return np.asarray(Image.fromarray(u8(photo)).resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0


def sheet(rows: list[list[np.ndarray]], gap: int = 6) -> Image.Image:
    """Panels (H×W×3 or H×W floats in [0, 1]) in a grid with white gaps."""
    rows = [[np.repeat(p[..., None], 3, axis=2) if p.ndim == 2 else p for p in row] for row in rows]
    h = sum(max(p.shape[0] for p in row) for row in rows) + gap * (len(rows) - 1)
    w = max(sum(p.shape[1] for p in row) + gap * (len(row) - 1) for row in rows)
    picture = Image.new("RGB", (w, h), (255, 255, 255))
    y = 0
    for row in rows:
        x = 0
        for p in row:
            picture.paste(Image.fromarray(u8(p)), (x, y))
            x += p.shape[1] + gap
        y += max(p.shape[0] for p in row) + gap
    return picture


def save_jpeg(image: Image.Image, path: Path, max_bytes: int = MAX_BYTES) -> None:
    """Save with the best quality that fits ``max_bytes``, shrinking the picture if even q=60 is too big;
    the folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        for quality in (90, 85, 80, 75, 70, 65, 60):
            image.save(path, quality=quality, optimize=True, progressive=True)
            if path.stat().st_size <= max_bytes:
                print(f"{path.name}: {image.width}x{image.height}, q={quality}, {path.stat().st_size // 1024} KB")
                return
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.LANCZOS)
