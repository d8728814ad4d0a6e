"""PSNR/SSIM must agree with scikit-image under the paper conventions, or our tables mean nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from weatherclean.evaluation.metrics import psnr, rgb_to_y, ssim, to_uint8_scale


def _random_pair(seed: int, shape: tuple[int, int, int] = (37, 52, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(shape, dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.1, shape).astype(np.float32), 0, 1)
    return a, b


def _structured_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth image with edges, and a copy with bright blobs: closer to what desnowing produces."""
    rng = np.random.default_rng(seed)
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx + 3 * yy)], axis=-1)
    base[h // 3 : h // 2, w // 4 : w // 2] = [0.9, 0.1, 0.2]
    noisy = base.copy()
    blobs = gaussian_filter((rng.random((h, w)) > 0.97).astype(np.float64), 1.2) * 4
    noisy = np.clip(noisy + blobs[..., None], 0, 1)
    return noisy.astype(np.float32), base.astype(np.float32)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def _sk_y(x: np.ndarray) -> np.ndarray:
    return rgb2ycbcr(_u8(x).astype(np.float64) / 255)[..., 0]


PAIRS = [_random_pair(0), _random_pair(1, (16, 16, 3)), _structured_pair(2), _structured_pair(3)]


@pytest.mark.parametrize("pair", PAIRS)
def test_psnr_matches_skimage(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, target = pair
    expected = peak_signal_noise_ratio(_u8(target), _u8(pred), data_range=255)
    assert psnr(pred, target) == pytest.approx(expected, abs=1e-3)
    expected_y = peak_signal_noise_ratio(_sk_y(target), _sk_y(pred), data_range=255)
    assert psnr(pred, target, y_channel=True) == pytest.approx(expected_y, abs=1e-3)


@pytest.mark.parametrize("pair", PAIRS)
def test_ssim_matches_skimage(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, target = pair
    kw = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 255}
    expected = structural_similarity(_u8(pred), _u8(target), channel_axis=-1, **kw)
    assert ssim(pred, target) == pytest.approx(expected, abs=1e-4)
    expected_y = structural_similarity(_sk_y(pred), _sk_y(target), **kw)
    assert ssim(pred, target, y_channel=True) == pytest.approx(expected_y, abs=1e-4)


def test_identical_images() -> None:
    a, _ = _structured_pair(5)
    assert psnr(a, a) == math.inf
    assert psnr(a, a, y_channel=True) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, y_channel=True) == pytest.approx(1.0, abs=1e-12)


def test_known_mse_gives_known_psnr() -> None:
    target = np.full((20, 30, 3), 100, dtype=np.uint8)
    pred = target + np.uint8(5)  # every pixel off by 5 → MSE 25
    assert psnr(pred, target) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-9)
    # Same through the float path: 100/255 and 105/255 quantise back to 100 and 105.
    assert psnr(pred.astype(np.float32) / 255, target.astype(np.float32) / 255) == pytest.approx(
        10 * math.log10(255**2 / 25), abs=1e-9
    )


def test_quantisation_hides_sub_level_differences() -> None:
    target = np.full((12, 12, 3), 0.5, dtype=np.float32)
    pred = target + 0.0005  # less than half an 8-bit level
    assert psnr(pred, target) == math.inf
    assert psnr(pred, target, quantize=False) < math.inf
    # Out-of-range outputs are clipped as a PNG writer would.
    assert psnr(np.full_like(target, 1.2), np.ones_like(target)) == math.inf


@pytest.mark.parametrize(
    ("rgb", "y"),
    [
        ((0, 0, 0), 16.0),
        ((1, 1, 1), 235.0),
        ((1, 0, 0), 16 + 65.481),
        ((0, 1, 0), 16 + 128.553),
        ((0, 0, 1), 16 + 24.966),
    ],
)
def test_y_of_pure_colours(rgb: tuple[int, int, int], y: float) -> None:
    image = np.ones((2, 2, 3)) * np.array(rgb, dtype=np.float64) * 255
    assert rgb_to_y(image)[..., 0] == pytest.approx(np.full((2, 2), y), abs=1e-9)


def test_torch_layouts_equal_numpy() -> None:
    pred, target = _structured_pair(7)
    tp = torch.from_numpy(pred).permute(2, 0, 1)
    tt = torch.from_numpy(target).permute(2, 0, 1)
    assert psnr(tp[None], tt[None]) == psnr(pred, target)
    assert ssim(tp, tt, y_channel=True) == ssim(pred, target, y_channel=True)


def test_crop_border_ignores_edges() -> None:
    target = np.zeros((30, 30, 3), dtype=np.float32)
    pred = target.copy()
    pred[:4] = 1.0
    assert psnr(pred, target) < 20
    assert psnr(pred, target, crop_border=4) == math.inf


def test_shape_mismatch_and_tiny_images_are_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((10, 10, 3)), np.zeros((10, 11, 3)))
    with pytest.raises(ValueError, match="11x11"):
        ssim(np.zeros((10, 10, 3)), np.zeros((10, 10, 3)))


def test_uint8_input_is_not_rescaled() -> None:
    img = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    assert np.array_equal(to_uint8_scale(img), img.astype(np.float64))
