"""One item of a synth dataset, as 8-bit arrays whose weather model holds on disk: a snowy picture with its
ground truth, mask and aberration, or a rainy picture (or clip) with its ground truth and maps.

:func:`snow_maker` and :func:`rain_maker` turn a command's options into what makes each item from its
photo and its own random generator (:mod:`.write` runs them and writes what they make).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weatherclean.synth.dataset.inputs import BYTES_PER_PIXEL, PHOTO_BYTES, check_fits, rain_bytes
from weatherclean.synth.names import RAIN_LEVELS, SNOW_LEVELS

# NumPy, Pillow and the weather models are imported inside the functions that use them.
if TYPE_CHECKING:
    import numpy as np

    from weatherclean.synth.common import StyleChoice

__all__ = ["Maker", "make_rain_arrays", "make_snow_pair", "rain_maker", "snow_maker"]

#: Makes one item from its photo with its own generator: the arrays by folder, and what synth.json says of it.
Maker = Callable[["np.random.Generator", Path], tuple[dict[str, "np.ndarray"], Any]]


def _to_u8(arr: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def make_snow_pair(
    clean: np.ndarray,
    rng: np.random.Generator,
    level: str,
    styles: StyleChoice = None,
    haze: bool = True,
    drawn: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """8-bit snowy/gt/mask/aberration arrays whose equation holds after quantisation.

    z, a and y are rounded to 8 bits *first* and x is composited from the rounded values, so the files
    on disk satisfy ``x = a*z + y*(1-z)`` to within half a grey level (the rounding of x itself).
    ``drawn`` is filled with the styles and veil drawn (:func:`~weatherclean.synth.snow.snow_mask_and_aberration`).
    """
    import numpy as np

    from weatherclean.synth.snow import apply_snow, snow_mask_and_aberration

    y8 = _to_u8(clean)
    y = y8.astype(np.float32) / 255.0
    mask, aberration = snow_mask_and_aberration(y, rng, level, haze, styles, drawn)
    z8 = _to_u8(mask)
    a8 = _to_u8(aberration)
    x = apply_snow(y, z8.astype(np.float32) / 255.0, a8.astype(np.float32) / 255.0)
    return {"synthetic": _to_u8(x), "gt": y8, "mask": z8, "aberration": a8}


def make_rain_arrays(
    clean: np.ndarray, streak: np.ndarray, alpha: np.ndarray, reliance: np.ndarray
) -> dict[str, np.ndarray]:
    """8-bit rain/gt/streak/alpha/reliance arrays (one image or a TxHxW... clip) whose model holds on disk.

    B, S, alpha and A are rounded to 8 bits *first* (S is kept at most 255 - B so B + S never exceeds
    white) and O is composited from the rounded values, so the files satisfy
    ``O = (1 - alpha)(B + S) + alpha * A`` to within half a grey level (the rounding of O itself).
    """
    import numpy as np

    from weatherclean.synth.rain import apply_rain

    b8 = _to_u8(clean)
    s8 = np.minimum(_to_u8(streak), 255 - b8)
    a8 = np.where(alpha > 0.5, 255, 0).astype(np.uint8)
    r8 = _to_u8(reliance)
    o = apply_rain(b8 / np.float32(255), s8 / np.float32(255), a8 / np.float32(255), r8 / np.float32(255))
    return {"rain": _to_u8(o), "gt": b8, "streak": s8, "alpha": a8, "reliance": r8}


def snow_maker(level: str, styles: Sequence[str] | None, haze: bool) -> Maker:
    """Each item: the photo (upright) under snow of ``level`` (``mixed``: S, M or L drawn per item); synth.json
    keeps the level, the styles drawn and the veil's strength (None: no veil)."""
    from weatherclean.io.images import read_rgb

    def make(rng: np.random.Generator, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        image_level = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))] if level == "mixed" else level
        clean = read_rgb(path, upright=True)
        h, w = clean.shape[:2]
        check_fits(path, 1, (h, w), h * w * BYTES_PER_PIXEL, "use a smaller copy of the photo")
        drawn: dict[str, Any] = {}
        arrays = make_snow_pair(clean, rng, image_level, styles, haze, drawn)
        return arrays, {"level": image_level, **drawn}

    return make


def rain_maker(
    level: str, styles: Sequence[str] | None, *, clips: bool, frames: int, view: tuple[int, int] | None
) -> Maker:
    """Each item: a rainy picture of the photo (upright), or with ``clips`` a clip of ``frames`` frames filmed
    from it with a moving camera; ``view`` is the output size (None: the whole photo, or 85% of it for clips).
    synth.json keeps the level, the styles drawn and the angle of the rain."""
    import numpy as np

    from weatherclean.io.images import read_rgb
    from weatherclean.synth.rain import rain_maps, synthesize_rain_clip

    def make(rng: np.random.Generator, path: Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        image_level = RAIN_LEVELS[int(rng.integers(0, len(RAIN_LEVELS)))] if level == "mixed" else level
        clean = read_rgb(path, upright=True)
        h, w = clean.shape[:2]
        out_size = view or ((max(1, int(h * 0.85)), max(1, int(w * 0.85))) if clips else (h, w))
        need = rain_bytes(frames, out_size[0] * out_size[1]) + (h * w * PHOTO_BYTES if out_size != (h, w) else 0)
        check_fits(path, frames, out_size, need, "pass a smaller --size or fewer --frames")
        if clips or view is not None:
            clip = synthesize_rain_clip(
                clean, rng, image_level, frames=frames, size=view,
                motion="random" if clips else "static", styles=styles,
            )  # fmt: skip
            maps = (clip.clean, clip.streak, clip.alpha, clip.reliance)
            if not clips:
                maps = tuple(m[0] for m in maps)
            angle, drawn = clip.angle, clip.styles
        else:
            y = _to_u8(clean).astype(np.float32) / 255.0
            found = rain_maps(y, rng, image_level, styles)
            maps = (y, found.streak, found.alpha, found.reliance)
            angle, drawn = found.angle, found.styles
        return make_rain_arrays(*maps), {"level": image_level, "styles": list(drawn), "angle_deg": angle}

    return make
