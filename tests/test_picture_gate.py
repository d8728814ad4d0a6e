"""The picture gate: a picture in which the model darkens too few pixels strongly comes back unchanged,
decided once for the whole picture, however it is tiled and whatever its pixel type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from weatherclean import load_restorer
from weatherclean.evaluation.evaluate import evaluate_snow
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
from weatherclean.restore.picture_gate import (
    STRONG_CHANGE,
    apply_picture_gate,
    blend,
    gate_of,
    gate_strength,
    strong_share,
)


@dataclass
class _Config:
    picture_gate: float


class _DarkenBright(torch.nn.Module):
    """Darkens every pixel brighter than 0.9 by 0.2 (a strong change) and every other pixel by 0.01 (a
    faint one): the share of strong changes is the share of bright pixels, which a test sets."""

    receptive_field = 0
    bytes_per_pixel = None

    def __init__(self, gate: float) -> None:
        super().__init__()
        self.config = _Config(gate)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        bright = x.mean(dim=1, keepdim=True) > 0.9
        return (x - torch.where(bright, 0.2, 0.01)).clamp(0, 1)


def _picture(bright: int, size: tuple[int, int] = (100, 100)) -> np.ndarray:
    """A mid-grey float picture with ``bright`` white pixels along its first rows."""
    image = np.full((*size, 3), 0.5, dtype=np.float32)
    image.reshape(-1, 3)[:bright] = 1.0
    return image


def test_strength_is_zero_below_the_floor_one_from_twice_it_and_linear_between() -> None:
    assert gate_strength(0.0009, 0.001) == 0.0
    assert gate_strength(0.0015, 0.001) == pytest.approx(0.5)
    assert gate_strength(0.002, 0.001) == 1.0
    assert gate_strength(0.0, 0.0) == 1.0  # off


def test_share_counts_strong_darkening_only_the_same_for_every_pixel_type() -> None:
    before = np.full((10, 10, 3), 0.8, dtype=np.float32)
    after = before.copy()
    after[0, :3] -= STRONG_CHANGE + 0.01  # three strong changes
    after[1, :] -= STRONG_CHANGE / 2  # ten faint ones
    after[2, 0] += 0.15  # brightening is not what a snow model is sure of
    assert strong_share(before, after) == pytest.approx(0.03)
    for dtype, scale in ((np.uint8, 255), (np.uint16, 65535)):
        assert strong_share(*(np.rint(a * scale).astype(dtype) for a in (before, after))) == pytest.approx(0.03)
    assert strong_share(before[..., :1], after[..., :1]) == pytest.approx(0.03)  # grey


def test_share_reads_luma_not_one_channel() -> None:
    """Pure blue darkened by 0.8 changes luma by 0.8 x 0.114 (under 24 levels); pure green by 0.8 x 0.587."""
    before = np.zeros((1, 2, 3), dtype=np.float32)
    before[0, 0, 2] = before[0, 1, 1] = 1.0
    after = before.copy()
    after[0, 0, 2] = after[0, 1, 1] = 0.2
    assert strong_share(before, after) == pytest.approx(0.5)


def test_a_blend_rounds_to_the_nearest_level_and_reaches_every_row() -> None:
    """Rows past the first chunk of 512 are blended too, and 149.5 rounds to 150 rather than truncating."""
    before = np.full((600, 2, 3), 200, dtype=np.uint8)
    after = np.full_like(before, 99)
    result = blend(before, after, 0.5)
    assert (result == 150).all()


def test_a_blend_into_another_pixel_type_rescales_the_input() -> None:
    """The tiling engine may write a uint8 picture's result as float32 or uint16: the input is rescaled."""
    before = np.full((4, 4, 3), 128, dtype=np.uint8)
    assert np.allclose(blend(before, np.zeros((4, 4, 3), np.float32), 0.0), 128 / 255)
    assert (blend(before, np.zeros((4, 4, 3), np.uint16), 0.0) == 32896).all()
    assert np.allclose(blend(before.astype(np.float32) / 255, np.zeros((4, 4, 3), np.uint8), 0.0), 128)


def test_apply_returns_the_input_bit_for_bit_below_the_floor_and_the_output_above() -> None:
    before = np.full((20, 20, 3), 200, dtype=np.uint8)
    after = before.copy()
    after[0, 0] = 100  # 1 of 400 pixels: 0.25 %
    assert np.array_equal(apply_picture_gate(before, after.copy(), 0.01), before)
    assert np.array_equal(apply_picture_gate(before, after.copy(), 0.001), after)
    half = apply_picture_gate(before, after.copy(), 0.0025 / 1.5)  # share 1.5 x floor: strength 0.5
    assert half[0, 0].tolist() == [150, 150, 150] and half[1, 1].tolist() == [200, 200, 200]


def test_the_restorer_leaves_a_picture_with_too_few_strong_changes_unchanged() -> None:
    gate = 0.001
    restorer = load_restorer("snow", model=_DarkenBright(gate), device="cpu", precision="fp32")
    quiet = _picture(bright=5)  # 0.05 % strongly changed: below the floor
    assert np.array_equal(restorer.restore(quiet), quiet)
    snowy = _picture(bright=50)  # 0.5 %: from twice the floor, the model's whole correction
    ungated = load_restorer("snow", model=_DarkenBright(0.0), device="cpu", precision="fp32").restore(snowy)
    assert not np.array_equal(ungated, snowy)
    np.testing.assert_array_equal(restorer.restore(snowy), ungated)


def test_tiles_get_the_decision_of_the_whole_picture() -> None:
    """The bright pixels fill one 64-px tile's share well above the floor but the whole picture's below it:
    tile by tile the gate would open there; on the whole picture it stays shut everywhere."""
    picture = _picture(bright=0, size=(256, 256))
    picture[:8, :8] = 1.0  # 64 of 65536 pixels: 0.1 %, but 1.6 % of the first 64-px tile
    for tile in (None, 64):
        restorer = load_restorer("snow", model=_DarkenBright(0.002), device="cpu", precision="fp32", tile=tile)
        assert np.array_equal(restorer.restore(picture), picture), tile


def test_a_decoded_photo_is_gated_against_its_own_pixels() -> None:
    """``restore_loaded`` normally writes the result over the decoded pixels; the gate needs them to the end."""

    @dataclass
    class _Loaded:
        pixels: np.ndarray

    picture = _picture(bright=5)
    restorer = load_restorer("snow", model=_DarkenBright(0.001), device="cpu", precision="fp32")
    result = restorer.restore_loaded(_Loaded(picture.copy()))  # type: ignore[arg-type]
    assert np.array_equal(result, picture)


def test_restoring_into_the_input_array_gates_against_the_input() -> None:
    picture = _picture(bright=5)
    expected = picture.copy()
    restorer = load_restorer("snow", model=_DarkenBright(0.001), device="cpu", precision="fp32")
    restorer._restore_array(picture, out=picture)  # the in-place path restore_loaded takes
    assert np.array_equal(picture, expected)  # below the floor: written back unchanged, into ``out``
    snowy = _picture(bright=50)
    ungated = load_restorer("snow", model=_DarkenBright(0.0), device="cpu", precision="fp32").restore(snowy)
    restorer._restore_array(snowy, out=snowy)
    np.testing.assert_array_equal(snowy, ungated)


def test_evaluate_scores_what_desnow_writes(tmp_path) -> None:
    """``evaluate`` joins the tiles itself; with the restorer's finish the gate is scored too."""
    from PIL import Image

    root = tmp_path / "Snow100K-S"
    for sub in ("gt", "synthetic"):
        (root / sub).mkdir(parents=True)
        Image.fromarray((_picture(bright=5) * 255).astype(np.uint8)).save(root / sub / "a.png")
    restorer = load_restorer("snow", model=_DarkenBright(0.001), device="cpu", precision="fp32")
    gated = evaluate_snow(root, restorer.guard, progress=False, finish=restorer.finish)
    ungated = evaluate_snow(root, restorer.guard, progress=False)
    assert gated.rows[-1].method == ungated.rows[-1].method == "model"
    assert gated.rows[-1].psnr_y == float("inf")  # the picture came back as it went in
    assert ungated.rows[-1].psnr_y < 45


def test_desnownet_carries_its_gate_in_its_config(tmp_path) -> None:
    light = dict(width=0.125, blocks=(1, 1, 1), descriptor_stride=4, head_channels=16, pyramid_channels=16)
    model = DesnowNet(DesnowNetConfig(**light, picture_gate=0.0006))
    model.save_pretrained(tmp_path)
    assert gate_of(DesnowNet.from_pretrained(tmp_path)) == 0.0006
    assert gate_of(DesnowNet(DesnowNetConfig(**light))) == 0.0  # off unless a config asks
    for bad in (-0.1, 0.5):
        with pytest.raises(ValueError, match="picture_gate"):
            DesnowNetConfig(**light, picture_gate=bad)
