"""Fitting DesnowNet's veil stage: least squares on synthetic snow drawn with and without its veil.

The stage (:class:`~weatherclean.models.desnownet.VeilStage`) is a quadratic regression of the veil's
mask on per-cell statistics, and one snow colour. Both have a closed-form fit: draw snow on clean
pictures twice with the same seed, with the veil and without (the flakes are the same, the veil is drawn
last), so the veil's own share of the mask is known exactly, z_v = 1 − (1 − z)/(1 − z_p), and solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from weatherclean.data.images import read_rgb
from weatherclean.models.desnownet import DesnowNet, veil_features, veil_terms
from weatherclean.models.family import with_config
from weatherclean.synth.snow import SNOW_LEVELS, apply_snow, snow_mask_and_aberration

__all__ = ["VeilFit", "fit_veil", "veil_samples", "with_veil_stage"]

#: Ridge term of the least-squares fit, relative to the mean diagonal of the normal equations.
_RIDGE = 1e-6


@dataclass
class VeilFit:
    """What a fit found: the coefficients, the snow colour and how well the held-back fifth is explained."""

    coef: np.ndarray
    colour: np.ndarray
    cell: int  # the cell the statistics were taken over: the model's veil_stride
    r2: float  # on the held-back pictures' cells (nan when they have no veil to explain)
    none_mean: float  # mean predicted veil where there is none (held back)
    heavy_mean: float  # mean predicted veil where it is over 0.05 (held back)
    heavy_true: float  # the true mean there
    pictures: int
    cells: int


def _centre_crop(image: np.ndarray, crop: int, cell: int) -> np.ndarray:
    h, w = (min(s, crop) // cell * cell for s in image.shape[:2])
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return np.ascontiguousarray(image[top : top + h, left : left + w])


def veil_samples(
    images: Sequence[Path | np.ndarray], cell: int, crop: int, seed: int, snow_free: float
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per picture: the regression terms of its snowy version (cells × terms), the veil's share per cell, and
    the colour of the snow where it has a veil (summed, weighted by z_v, as one row of ``colours``).

    ``snow_free`` of the pictures get no snow at all, so the fit also learns where to find none."""
    rng = np.random.default_rng(seed)
    terms, targets, colours = [], [], np.zeros(4)
    for item in images:
        y = _centre_crop(read_rgb(item, upright=True) if not isinstance(item, np.ndarray) else item, crop, cell)
        level, draw = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))], int(rng.integers(0, 2**31))
        if rng.random() < snow_free:
            x, z_v = y, np.zeros(y.shape[:2], np.float32)
        else:
            z, a = snow_mask_and_aberration(y, np.random.default_rng(draw), level, haze=True)
            z_p, _ = snow_mask_and_aberration(y, np.random.default_rng(draw), level, haze=False)
            z_v = (1.0 - (1.0 - z) / np.maximum(1.0 - z_p, 1e-3)).astype(np.float32)
            x = apply_snow(y, z, a)
            colours += np.r_[(a * z_v[..., None]).reshape(-1, 3).sum(axis=0), z_v.sum()]
        t = torch.from_numpy(x).permute(2, 0, 1)[None].float()
        found = veil_terms(veil_features(t, cell))[0]
        terms.append(found.reshape(found.shape[0], -1).T.double().numpy())
        targets.append(F.avg_pool2d(torch.from_numpy(z_v)[None, None], cell).reshape(-1).double().numpy())
    return terms, targets, colours[:3] / max(colours[3], 1e-9)


def fit_veil(
    images: Sequence[Path | np.ndarray], cell: int = 8, crop: int = 512, seed: int = 0, snow_free: float = 0.2
) -> VeilFit:
    """Fit the veil stage on ``images`` (clean training pictures, centre crops of at most ``crop`` px), with
    snow at a random level and style per picture; the last fifth of the pictures is held back to report R²."""
    if len(images) < 2:
        raise ValueError(f"fit_veil needs at least 2 pictures (one fifth is held back), got {len(images)}")
    if crop < cell:
        raise ValueError(f"crop {crop} is smaller than one cell ({cell} px)")
    terms, targets, colour = veil_samples(images, cell, crop, seed, snow_free)
    if not any(t.any() for t in targets):
        raise ValueError(f"no veil on any of the {len(images)} pictures: use more pictures or a lower snow_free")
    split = min(len(terms) - 1, max(1, int(0.8 * len(terms))))
    a, b = np.concatenate(terms[:split]), np.concatenate(targets[:split])
    normal = a.T @ a
    normal += _RIDGE * np.trace(normal) / len(normal) * np.eye(len(normal))
    coef = np.linalg.solve(normal, a.T @ b)
    held_a, held_b = np.concatenate(terms[split:]), np.concatenate(targets[split:])
    pred = np.clip(held_a @ coef, 0.0, 0.5)
    spread = float(np.var(held_b))
    none, heavy = pred[held_b < 1e-4], held_b > 0.05
    return VeilFit(
        coef=coef, colour=colour, cell=cell,
        r2=1.0 - float(np.mean((held_b - pred) ** 2)) / spread if spread > 0 else float("nan"),
        none_mean=float(none.mean()) if none.size else 0.0,
        heavy_mean=float(pred[heavy].mean()) if heavy.any() else 0.0,
        heavy_true=float(held_b[heavy].mean()) if heavy.any() else 0.0, pictures=len(terms), cells=len(a),
    )  # fmt: skip


def with_veil_stage(model: DesnowNet, fit: VeilFit, threshold: float = 0.0) -> DesnowNet:
    """``model`` with a veil stage holding ``fit`` (every other weight kept), removing veils above ``threshold``."""
    stage = {"veil_stage.coef": torch.from_numpy(fit.coef).float(),
             "veil_stage.colour": torch.from_numpy(np.asarray(fit.colour)).float()}  # fmt: skip
    return with_config(model, weights=stage, veil=True, veil_stride=fit.cell, veil_floor=threshold)
