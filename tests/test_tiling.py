"""The tiling engine must be invisible: tiled output ≈ whole-image output, and weights sum to one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from weatherclean.errors import ModelError
from weatherclean.evaluation.metrics import seam_excess
from weatherclean.restore import tiling
from weatherclean.restore.tiling import choose_tile, ramp_weights, run_tiled, run_tiled_array, tile_starts


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def _small_net() -> nn.Module:
    torch.manual_seed(0)
    # three 3×3 convs + one 5×5: receptive field 13 px (radius 6) — well inside a 32-px overlap
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 5, padding=2),
        nn.ReLU(),
        nn.Conv2d(8, 3, 3, padding=1),
        nn.Sigmoid(),
    )
    return net.eval()


def test_tiled_matches_whole_image() -> None:
    net = _small_net()
    image = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = net(image)
        whole_crop = net(image[:, :, :200, :237])
    tiled = run_tiled(net, image, tile=96, overlap=32)
    assert tiled.shape == whole.shape and tiled.dtype == torch.float32 and tiled.device.type == "cpu"
    assert _psnr(tiled, whole) >= 45.0
    # a tile that does not divide the image evenly (last tile flush with the border)
    assert _psnr(run_tiled(net, image[:, :, :200, :237], tile=80, overlap=32), whole_crop) >= 45.0


def test_identity_is_reproduced_exactly() -> None:
    image = torch.rand(1, 3, 131, 260, generator=torch.Generator().manual_seed(2))
    out = run_tiled(lambda t: t.clone(), image, tile=64, overlap=24)
    assert torch.allclose(out, image, atol=1e-6, rtol=0)


def test_ramp_weights_of_neighbours_sum_to_one() -> None:
    # two tiles of 64 overlapping by exactly 32 in a 96-px axis
    left = ramp_weights(0, 64, 96, 32)
    right = ramp_weights(32, 64, 96, 32)
    total = torch.zeros(96)
    total[:64] += left
    total[32:] += right
    assert torch.allclose(total, torch.ones(96), atol=1e-6)
    # image borders keep full weight; the outer quarter of the overlap is discarded
    assert left[0] == 1 and right[-1] == 1 and left[-1] == 0 and right[0] == 0


def test_balanced_tiles_are_as_few_and_no_longer_than_needed() -> None:
    """The same number of tiles as the full tile size needs, but no tile longer than covering needs."""
    assert tiling.tile_span(1633, 768, 96) == 624  # 3 tiles either way: 3 × 624 px through the model, not 3 × 768
    assert tiling.tile_span(500, 768, 96) == 500 and tiling.tile_span(768, 768, 96) == 768
    for length in range(97, 3000, 37):
        for tile, overlap in [(496, 96), (768, 96), (256, 32), (100, 40)]:
            span, starts = tiling.tile_grid(length, tile, overlap)
            assert len(starts) == len(tile_starts(length, tile, overlap))  # never more tiles
            assert span <= min(tile, length) and (span in (length, tile) or span % 16 == 0)
            assert starts[0] == 0 and starts[-1] + span == length
            assert all(0 < b - a <= span - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_tile_starts_cover_the_axis() -> None:
    for length, tile, overlap in [(256, 96, 32), (97, 96, 32), (50, 96, 32), (1000, 128, 40)]:
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and min(length, starts[-1] + tile) == length
        assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_out_of_memory_halves_the_tile_and_retries() -> None:
    calls: list[int] = []

    def picky(t: torch.Tensor) -> torch.Tensor:
        calls.append(max(t.shape[-2:]))
        if max(t.shape[-2:]) > 64:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")
        return t * 2

    image = torch.rand(1, 1, 200, 150)
    out = run_tiled(picky, image, tile=256, overlap=16, out_channels=1)
    assert torch.allclose(out, image * 2, atol=1e-6)
    assert calls[0] == 200 and max(calls[-5:]) <= 64


def test_out_of_memory_below_minimum_is_a_clear_error() -> None:
    def hopeless(t: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(ModelError, match="out of memory"):
        run_tiled(hopeless, torch.rand(1, 3, 300, 300), tile=128, overlap=16)


def test_other_errors_are_not_swallowed_and_shapes_are_checked() -> None:
    def broken(t: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="mat1"):
        run_tiled(broken, torch.rand(1, 3, 64, 64), tile=64)
    with pytest.raises(ModelError, match="spatial size"):
        run_tiled(lambda t: t[..., :-1], torch.rand(1, 3, 64, 64), tile=64)


def test_auto_tile_runs_whole_small_image_and_caps_on_cpu() -> None:
    assert choose_tile(100, 120, "cpu") == 120
    big = choose_tile(20000, 30000, "cpu")
    assert 64 <= big <= 1024
    seen: list[tuple[int, int]] = []
    image = torch.rand(1, 3, 40, 50)
    out = run_tiled(lambda t: seen.append(tuple(t.shape[-2:])) or t, image)
    assert seen == [(40, 50)] and torch.equal(out, image)


def tiled_against_whole(size: int, tile: int) -> tuple[float, float, float]:
    """What :func:`test_bundled_model_tiled_matches_whole_on_a_768_image` measures on a ``size``-px snowy astronaut in
    ``tile``-px tiles: the PSNR between the tiled and the whole output, the seam (grey levels of extra edge along a
    tile line) and the seam of the ungated model stitched without blending. ``runs/test_margins_s45.sh`` calls it
    with other sizes to measure the test's margins."""
    from skimage import data
    from skimage.transform import resize

    from weatherclean.models import load_model
    from weatherclean.models.family import with_config
    from weatherclean.synth.snow import synthesize_snow

    photo = resize(data.astronaut(), (size, size), order=1, anti_aliasing=False).astype(np.float32)
    snowy = synthesize_snow(photo, np.random.default_rng(7), level="M").snowy
    model = load_model("default")
    x = torch.from_numpy(np.ascontiguousarray(snowy.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        whole = model.restore(x)[0].permute(1, 2, 0).numpy()
    overlap = model.receptive_field  # what `weatherclean desnow` uses
    tiled = run_tiled(model.restore, x, tile=tile, overlap=overlap)[0].permute(1, 2, 0).numpy()
    # The metric does see the seams of unblended stitching. Checked with the gate off: the gated model passes
    # most pixels through untouched, so its unblended tiles differ from the whole picture only near snow.
    ungated = with_config(model, pass_through=0.0).eval()
    with torch.no_grad():
        whole_ungated = ungated.restore(x)[0].permute(1, 2, 0).numpy()
    stitched = run_tiled(ungated.restore, x, tile=tile, overlap=0)[0].permute(1, 2, 0).numpy()  # no blending
    seam = seam_excess(tiled, whole)
    return _psnr(torch.from_numpy(tiled), torch.from_numpy(whole)), seam, seam_excess(stitched, whole_ungated)


@pytest.mark.slow
def test_bundled_model_tiled_matches_whole_on_a_768_image() -> None:
    """The issue's acceptance numbers: ≥ 45 dB between tiled and whole output, and no visible seam.

    768 px in 192-px tiles rather than the issue's 1024 in 256: as many tile lines to look at, in less than half
    the time; measured when chosen, 58.0 dB and a seam of 0.14 grey levels (1024 in 256: 59.1 dB, 0.13).
    """
    tiled_psnr, seam, stitched_seam = tiled_against_whole(768, 192)
    assert tiled_psnr >= 45.0
    assert seam < 0.25, f"seam: {seam:.3f} grey levels of extra edge along a tile line"
    assert stitched_seam > 4 * seam  # the metric sees the seams of unblended stitching


def _whole_image_reference(fn: nn.Module, pixels: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """The engine before it streamed rows: whole-image float32 accumulators, divided at the end.

    Kept here as the specification of the blend, so the memory-saving engine is checked against it.
    """
    grey = pixels.shape[2] == 1
    rgb = np.repeat(pixels, 3, axis=2) if grey else pixels
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32))[None]
    _, _, h, w = x.shape
    acc = torch.zeros((3, h, w))
    wsum = torch.zeros((h, w))
    with torch.no_grad():
        span_y, ys = tiling.tile_grid(h, tile, overlap)
        span_x, xs = tiling.tile_grid(w, tile, overlap)
        for y0 in ys:
            th = min(span_y, h - y0)
            wy = ramp_weights(y0, th, h, overlap)
            for x0 in xs:
                tw = min(span_x, w - x0)
                weight = wy[:, None] * ramp_weights(x0, tw, w, overlap)[None, :]
                acc[:, y0 : y0 + th, x0 : x0 + tw] += fn(x[:, :, y0 : y0 + th, x0 : x0 + tw])[0] * weight
                wsum[y0 : y0 + th, x0 : x0 + tw] += weight
    out = (acc / wsum).numpy().transpose(1, 2, 0)
    if grey:
        out = out.mean(axis=2, keepdims=True)
    return np.clip(out, 0.0, 1.0)


@pytest.mark.parametrize("channels", [3, 1])
def test_streamed_rows_match_whole_image_accumulators(channels: int) -> None:
    """Row-band blending changes memory, not results: float output within 1e-6, 8-bit output exact."""
    net = _small_net()
    pixels = np.random.default_rng(3).random((203, 261, channels), dtype=np.float32)
    expected = _whole_image_reference(net, pixels, tile=64, overlap=24)
    got = run_tiled_array(net, pixels, tile=64, overlap=24)
    assert got.shape == pixels.shape and got.dtype == np.float32
    assert float(np.abs(got - expected).max()) <= 1e-6
    assert np.array_equal(np.rint(got * 255).astype(np.uint8), np.rint(expected * 255).astype(np.uint8))


def test_restoring_in_place_is_safe() -> None:
    """``out=pixels``: a row is overwritten only after the last tile that reads it, so nothing changes."""
    net = _small_net()
    pixels = np.random.default_rng(4).random((190, 150, 3), dtype=np.float32)
    expected = run_tiled_array(net, pixels, tile=64, overlap=32)
    same = pixels.copy()
    got = run_tiled_array(net, same, tile=64, overlap=32, out=same)
    assert got is same and np.array_equal(got, expected)
    with pytest.raises(ValueError, match="out must be float32, uint8 or uint16"):
        run_tiled_array(net, pixels, tile=64, out=np.empty((190, 150, 3), np.float64))


@pytest.mark.parametrize(("dtype", "channels"), [(np.uint8, 3), (np.uint16, 3), (np.uint8, 1)])
def test_integer_pixels_in_give_the_float_result_quantised(dtype: type, channels: int) -> None:
    """Decoded frames come as integers: the result must be the float path's, rounded to the same type."""
    net = _small_net()
    top = np.iinfo(dtype).max
    pixels = np.random.default_rng(6).integers(0, top + 1, (150, 170, channels)).astype(dtype)
    expected = run_tiled_array(net, pixels.astype(np.float32) / top, tile=64, overlap=24)
    got = run_tiled_array(net, pixels, tile=64, overlap=24)
    assert got.dtype == dtype and got.shape == pixels.shape
    assert np.array_equal(got, np.rint(expected * top).astype(dtype))
    as_float = run_tiled_array(net, pixels, tile=64, overlap=24, out=np.empty(pixels.shape, np.float32))
    assert float(np.abs(as_float - expected).max()) <= 1e-6
    with pytest.raises(ValueError, match="float, uint8 or uint16"):
        run_tiled_array(net, pixels.astype(np.int32), tile=64)


def test_bundled_model_streamed_equals_whole_image_accumulators() -> None:
    from weatherclean.models import load_model

    model = load_model("default")
    pixels = np.random.default_rng(5).random((300, 420, 3), dtype=np.float32)
    overlap = model.receptive_field  # the engine caps the overlap at half a tile; the reference does not
    assert overlap <= 200 // 2
    expected = _whole_image_reference(model.restore, pixels, tile=200, overlap=overlap)
    got = run_tiled_array(model.restore, pixels, tile=200, overlap=overlap)
    assert float(np.abs(got - expected).max()) <= 1e-6
    assert np.array_equal(np.rint(got * 255).astype(np.uint8), np.rint(expected * 255).astype(np.uint8))


def test_cpu_tiles_stay_within_768_px_and_a_stated_need_raises_the_tile_to_that_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a CPU larger tiles run slower per pixel (DesnowNet: 1.46 MP/s at 1024² vs 1.71–1.80 at 256–768),
    so the edge stays ≤ 768 px; a model that states a small memory need gets the cap rather than the
    conservative default's smaller tile, and a 1280×720 frame runs as two balanced 672×720 tiles."""
    monkeypatch.setattr(tiling, "_available_ram", lambda: 8 << 30)  # a small CI runner must not change this
    assert choose_tile(512, 700, "cpu", bytes_per_pixel=600.0) == 700  # fits under the cap: whole
    assert choose_tile(720, 1280, "cpu", bytes_per_pixel=600.0) == 768
    assert choose_tile(4000, 6000, "cpu", bytes_per_pixel=600.0) == 768
    assert choose_tile(4000, 6000, "cpu") <= 768
    assert choose_tile(4000, 6000, "cpu", bytes_per_pixel=1e12) == 256  # nothing fits: the smallest CPU tile
    assert tiling.tile_grid(1280, 768, 64) == (672, [0, 608]) and tiling.tile_grid(720, 768, 64) == (720, [0])


@pytest.mark.parametrize("length", [700, 1080, 1280, 1500, 1920, 2000, 3840])
def test_aligned_tiles_start_on_the_grid_cover_the_axis_and_keep_the_overlap(length: int) -> None:
    tile, overlap, align = 768, 244, 64
    span, starts = tiling.tile_grid(length, tile, overlap, align)
    assert all(s % align == 0 for s in starts) and starts[0] == 0
    assert starts[-1] + span == length  # the last tile reaches the end
    assert span < tiling.tile_span(length, tile, overlap) + align or span <= tile
    assert all(span - (b - a) >= overlap for a, b in zip(starts, starts[1:], strict=False))
    assert tiling.tile_grid(length, tile, overlap, 1) == tiling.tile_grid(length, tile, overlap)  # align 1: as before


def test_j4rnet_veil_cell_tiles_like_the_whole_frame_only_on_its_grid() -> None:
    """J4R-Net's veil smoothing counts its cells from the input's corner: tiles that start off that grid
    smooth on another one and leave seams; aligned tiles (its ``tile_align``) come out like the whole."""
    import dataclasses

    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    torch.manual_seed(3)
    cfg = J4RNetConfig(channels=8, hidden=8, stride=2, extractor_layers=1, dnet_layers=2, rnet_blocks=1,
                       cnet_blocks=1, jrc_blocks=1, veil_cell=16)  # fmt: skip
    model = J4RNet(cfg).eval()
    with torch.no_grad():
        model.jrc_head.weight.normal_(0.0, 0.3)  # a residual with spatial structure, so the smoothing matters
    assert model.tile_align == 16 and J4RNet(dataclasses.replace(cfg, veil_cell=0)).tile_align == 1
    x = np.random.default_rng(4).random((150, 330, 3)).astype(np.float32)
    whole = run_tiled_array(model.restore, x, tile=512, overlap=model.receptive_field)
    overlap = model.receptive_field
    aligned = run_tiled_array(model.restore, x, tile=2 * overlap, overlap=overlap, align=model.tile_align)
    off_grid = run_tiled_array(model.restore, x, tile=2 * overlap + 4, overlap=overlap)
    for stat in (np.max, np.mean):  # on noise through random weights: 0.05 against 0.22 at most, 0.003 against 0.013
        assert float(stat(np.abs(off_grid - whole))) > 3 * float(stat(np.abs(aligned - whole)))


@pytest.mark.parametrize("shape", [(150, 200), (150, 130), (700, 1100)])
@pytest.mark.parametrize("positional", [False, True])
def test_aligned_tiles_longer_than_the_tile_go_through_whole(shape: tuple[int, int], positional: bool) -> None:
    """An aligned grid lengthens its tiles by less than ``align`` (200 px in 128-px tiles on a 64-px grid:
    136-px tiles); each such tile was tiled again, which made the same tile, until a RecursionError, so
    J4R-Net (``veil_cell`` 64) failed on every picture larger than its tile: ``derain --tile 128``, and
    automatic 512-px tiles on photos over 2048 px on a CPU."""
    seen: list[tuple[int, int]] = []

    def identity(x: torch.Tensor, *region: object) -> torch.Tensor:
        seen.append((x.shape[-2], x.shape[-1]))
        return x.clone()

    x = np.random.default_rng(0).random((*shape, 3)).astype(np.float32)
    out = run_tiled_array(identity, x, tile=128, overlap=64, align=64, positional=positional)
    np.testing.assert_allclose(out, x, atol=1e-6)
    assert max(max(s) for s in seen) < 128 + 64


def test_j4rnet_runs_pictures_larger_than_its_tile() -> None:
    """The reproduction: the bundled derain model with 128-px tiles on a 150×200 picture."""
    from weatherclean.restore import load_restorer

    x = np.random.default_rng(1).random((150, 200, 3)).astype(np.float32)
    restorer = load_restorer("rain", device="cpu", precision="fp32", tile=128)
    assert restorer.restore(x).shape == x.shape
    assert len(list(restorer.restore_clip([x, x]))) == 2


def test_a_model_on_a_grid_runs_frames_up_to_2048_px_whole_on_a_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 64 * 1024**3)
    assert choose_tile(1080, 1920, "cpu", bytes_per_pixel=800) == 768  # other models: 768-px tiles
    assert choose_tile(1080, 1920, "cpu", bytes_per_pixel=800, align=64) == 1920  # whole: no seams at all
    assert choose_tile(2160, 3840, "cpu", bytes_per_pixel=800, align=64) == 768  # 4K: aligned tiles
    monkeypatch.setattr(tiling, "_available_ram", lambda: 1024**3)  # memory still decides
    assert choose_tile(1080, 1920, "cpu", bytes_per_pixel=800, align=64) < 1920
    for ram in (1024**3, 2 * 1024**3):  # the longest tile of an aligned grid stays within the budget
        monkeypatch.setattr(tiling, "_available_ram", lambda ram=ram: ram)
        budget = ram * tiling._CPU_FRACTION / 800
        tile = choose_tile(4000, 6000, "cpu", bytes_per_pixel=800, align=64)
        assert (tile + 63) ** 2 <= budget or tile == tiling._CPU_TILE_RANGE[0]
