"""PSNR and SSIM with the conventions restoration papers report, so our numbers are comparable.

Papers on desnowing/deraining (DesnowNet, JSTASR, the BasicSR code base, the MATLAB scripts that
came before it) do not all say how they measured, and the choices below move PSNR by up to ~1 dB.
We follow the de-facto standard of BasicSR / MATLAB:

* **8-bit quantisation first.** Float images in ``[0, data_range]`` are mapped to ``round(x / data_range
  * 255)`` and clipped to ``[0, 255]``, so the score is the score of the PNG actually written to disk
  (and an output of 1.03 counts as 255, as it would in the file). ``uint8`` inputs are used as they are.
  Pass ``quantize=False`` to skip the rounding (values are still scaled to 0..255 and clipped).
* **Y channel** (``y_channel=True``) is the BT.601 luma of MATLAB's ``rgb2ycbcr`` formula:
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B the quantised image in ``[0, 1]``, so Y lies
  in ``[16, 235]``. Like BasicSR's ``calculate_psnr``/``calculate_ssim`` with ``test_y_channel=True``, Y is
  kept as a float; MATLAB's ``rgb2ycbcr`` on a *uint8* image rounds Y to integers, which the MATLAB
  scripts of several derain papers use. Rounding lowers the scores, by how much depends on the error left
  (measured on scikit-image's photos): up to 0.014 dB PSNR Y / 0.0004 SSIM Y under synthetic snow, for the
  input and desnownet-light's output (``python scripts/y_rounding_probe.py``); up to about 0.09 dB / 0.0013
  for JPEG at quality 30-75, Gaussian noise and a median filter over sparse rain, at 27-40 dB; nothing
  for a ~20 dB rainy input; but about 0.4-1 dB / up to 0.0017 at 45-52 dB (JPEG at quality 95, faint noise),
  where the rounding step is a large part of the error left. The peak value for PSNR and the ``L`` of the SSIM
  constants stay 255 for Y as for RGB.
* **PSNR** = ``10 log10(255² / MSE)`` with the MSE over all pixels and channels, accumulated in float64;
  identical images give ``inf``.
* **SSIM** per Wang et al. 2004: 11×11 Gaussian window with σ = 1.5, ``K1 = 0.01``, ``K2 = 0.03``,
  ``L = 255``, population (not sample) statistics, "valid" filtering (the 5-pixel border where the window
  does not fit is left out of the mean). RGB SSIM is computed per channel and averaged. This equals
  ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=255)`` and BasicSR's ``calculate_ssim``.
* ``crop_border`` pixels are removed from every side before anything is measured (super-resolution
  papers use the scale factor here; desnowing papers use 0); ``evaluate --crop-border N`` passes it, and
  :func:`conventions` says it in a report.

Images are numpy ``HxWxC`` / ``HxW`` arrays or torch tensors ``CxHxW`` / ``1xCxHxW`` (the library's two
layouts); both arguments must have the same shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.ndimage import correlate1d

__all__ = [
    "psnr",
    "ssim",
    "rgb_to_y",
    "seam_excess",
    "to_uint8_scale",
    "CAPTION",
    "CONVENTIONS",
    "caption",
    "conventions",
]

#: How the numbers were made, in full, for JSON reports: enough to reproduce them with another tool.
CONVENTIONS = (
    "images quantised to 8 bit (round, clip to 0-255); data range 255 for RGB and for Y; no border crop; "
    "Y = BT.601 luma 16 + (65.481 R + 128.553 G + 24.966 B)/255 kept as float, not rounded (as BasicSR "
    "calculate_psnr/calculate_ssim with crop_border=0, test_y_channel=True; MATLAB rgb2ycbcr on uint8 rounds "
    "Y); PSNR = 10 log10(255^2/MSE), MSE over all pixels and channels; SSIM (Wang et al. 2004): Gaussian "
    "11x11 window, sigma=1.5, K1=0.01, K2=0.03, population statistics, valid filtering (as skimage "
    "structural_similarity with gaussian_weights=True, use_sample_covariance=False, data_range=255), "
    "SSIM RGB = mean over the 3 channels; means are of per-image values (clips: over all frames); an "
    "infinite PSNR (an exact pair) is left out of the PSNR means"
)
#: The same in a line short enough for a table's caption.
CAPTION = (
    "Images quantised to 8 bit, data range 255, no border crop; Y = BT.601 luma as float (BasicSR "
    "test_y_channel, not MATLAB's rounded uint8 Y); SSIM with Gaussian 11×11 window, σ=1.5 (Wang et al. 2004, "
    "as skimage), RGB = mean over channels; means of per-image values"
)


def conventions(crop_border: int = 0) -> str:
    """:data:`CONVENTIONS` for scores measured with ``crop_border`` pixels cut from each edge (``--crop-border``)."""
    if not crop_border:
        return CONVENTIONS
    cut = f"{crop_border} pixel(s) cut from each edge before scoring"
    return CONVENTIONS.replace("crop_border=0", f"crop_border={crop_border}").replace("no border crop", cut)


def caption(crop_border: int = 0) -> str:
    """:data:`CAPTION` for scores measured with ``crop_border`` pixels cut from each edge."""
    return CAPTION.replace("no border crop", f"{crop_border} px cut from each edge") if crop_border else CAPTION


_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5  # 11 taps, as in Wang et al. 2004
_K1 = 0.01
_K2 = 0.03
_PEAK = 255.0


def _as_hwc(image: Any) -> np.ndarray:
    """Bring numpy HxW(xC) or torch (1x)CxHxW into a numpy HxWxC array without copying needlessly."""
    if isinstance(image, torch.Tensor):
        t = image.detach()
        if t.ndim == 4:
            if t.shape[0] != 1:
                raise ValueError(f"metrics take one image at a time, got a batch of {t.shape[0]}")
            t = t[0]
        if t.ndim == 3:
            t = t.permute(1, 2, 0)
        elif t.ndim != 2:
            raise ValueError(f"expected a CxHxW or 1xCxHxW tensor, got shape {tuple(image.shape)}")
        arr = t.cpu().numpy()
    else:
        arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    return arr


def to_uint8_scale(image: Any, *, data_range: float = 1.0, quantize: bool = True) -> np.ndarray:
    """Return the image as float64 HxWxC on the 0..255 scale, rounded the way a PNG writer would.

    ``uint8`` input is taken as already on that scale (``data_range`` is ignored), because that is what
    a caller reading 8-bit files has in hand.
    """
    arr = _as_hwc(image)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64)
    out = arr.astype(np.float64) * (_PEAK / float(data_range))
    if quantize:
        out = np.round(out)
    return np.clip(out, 0.0, _PEAK)


def rgb_to_y(image_255: np.ndarray) -> np.ndarray:
    """BT.601 luma by MATLAB ``rgb2ycbcr``'s formula (HxWx3 on 0..255 → HxWx1 in [16, 235]): the Y papers report on.

    Not rounded to integers, as in BasicSR (``test_y_channel=True``), whose numbers most recent tables copy;
    MATLAB's ``rgb2ycbcr`` on a uint8 image would round it.
    """
    if image_255.shape[-1] != 3:
        raise ValueError(f"the Y channel needs an RGB image with 3 channels, got {image_255.shape[-1]}")
    rgb = image_255.astype(np.float64) / _PEAK
    y = 16.0 + rgb[..., 0] * 65.481 + rgb[..., 1] * 128.553 + rgb[..., 2] * 24.966
    return y[..., None]


def _prepare(
    pred: Any, target: Any, *, y_channel: bool, data_range: float, crop_border: int, quantize: bool
) -> tuple[np.ndarray, np.ndarray]:
    a = to_uint8_scale(pred, data_range=data_range, quantize=quantize)
    b = to_uint8_scale(target, data_range=data_range, quantize=quantize)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        if min(a.shape[:2]) <= 2 * crop_border:
            raise ValueError(f"crop_border={crop_border} leaves nothing of a {a.shape[0]}x{a.shape[1]} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


def psnr(
    pred: Any,
    target: Any,
    *,
    y_channel: bool = False,
    data_range: float = 1.0,
    crop_border: int = 0,
    quantize: bool = True,
) -> float:
    """PSNR in dB, ``inf`` for identical images; quantised as in the module docstring to match papers."""
    a, b = _prepare(
        pred, target, y_channel=y_channel, data_range=data_range, crop_border=crop_border, quantize=quantize
    )
    mse = float(np.mean((a - b) ** 2, dtype=np.float64))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(_PEAK**2 / mse))


def _gaussian_window() -> np.ndarray:
    x = np.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=np.float64)
    w = np.exp(-(x**2) / (2.0 * _SSIM_SIGMA**2))
    return w / w.sum()


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 2-D Gaussian filtering that keeps only positions where the whole window fits."""
    out = correlate1d(image, window, axis=0, mode="constant")
    out = correlate1d(out, window, axis=1, mode="constant")
    r = _SSIM_RADIUS
    return out[r:-r, r:-r]


def _ssim_channel(a: np.ndarray, b: np.ndarray, window: np.ndarray) -> float:
    c1 = (_K1 * _PEAK) ** 2
    c2 = (_K2 * _PEAK) ** 2
    mu_a = _filter_valid(a, window)
    mu_b = _filter_valid(b, window)
    var_a = _filter_valid(a * a, window) - mu_a**2
    var_b = _filter_valid(b * b, window) - mu_b**2
    cov = _filter_valid(a * b, window) - mu_a * mu_b
    num = (2.0 * mu_a * mu_b + c1) * (2.0 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den, dtype=np.float64))


def ssim(
    pred: Any,
    target: Any,
    *,
    y_channel: bool = False,
    data_range: float = 1.0,
    crop_border: int = 0,
    quantize: bool = True,
) -> float:
    """SSIM (Wang et al. 2004), mean over channels; window and constants as in papers (module docstring)."""
    a, b = _prepare(
        pred, target, y_channel=y_channel, data_range=data_range, crop_border=crop_border, quantize=quantize
    )
    if min(a.shape[:2]) < 2 * _SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {a.shape[0]}x{a.shape[1]}")
    window = _gaussian_window()
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], window) for c in range(a.shape[-1])]))


def seam_excess(tiled: Any, whole: Any) -> float:
    """How visible tile seams are: extra edge strength along any column or row, in 8-bit grey levels.

    PSNR averages over the whole picture, so a thin seam barely moves it; the eye, though, catches a
    straight line of contrast at once. This measures exactly that: the mean absolute step between
    neighbouring columns (rows) of the tiled output minus the same for the whole-image output,
    maximised over all columns and rows. Well under one grey level is invisible. Inputs are H×W×C
    floats in [0, 1].
    """
    t, w = _as_hwc(tiled).astype(np.float64), _as_hwc(whole).astype(np.float64)
    excess = 0.0
    for axis, mean_over in ((1, (0, 2)), (0, (1, 2))):
        step_t = np.abs(np.diff(t, axis=axis)).mean(axis=mean_over)
        step_w = np.abs(np.diff(w, axis=axis)).mean(axis=mean_over)
        excess = max(excess, float(np.abs(step_t - step_w).max()))
    return excess * 255.0
