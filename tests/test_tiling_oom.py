"""Out of memory on a model's grid (``tile_align``): halving keeps tiles aligned, overlapping and getting smaller.

A 64-px grid (J4R-Net's ``veil_cell``) steps its tiles by multiples of 64 px, so neighbouring tiles overlap
by ``tile - 64`` at most: halving 128-px tiles to 64 px left tiles that overlapped by 0 to 63 px instead of
32 (pixels that no tile weighted came out NaN), and pieces up to 127 px long, which such a grid cannot cut
further: an 86- or 126-px piece that ran out of memory was retried whole, and failed again.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weatherclean.errors import ModelError
from weatherclean.restore import tiling
from weatherclean.restore.tiling import MIN_TILE, run_tiled, tile_grid


class _Oom:
    """An identity model that runs out of memory on pieces longer than ``limit``; it records every call."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.calls: list[tuple[int, int, int, bool]] = []  # (top, left, longest side, ran out of memory)

    def __call__(self, x: torch.Tensor, region: tuple[int, int, int, int]) -> torch.Tensor:
        top, left, h, w = region
        oom = max(h, w) > self.limit
        self.calls.append((top, left, max(h, w), oom))
        if oom:
            raise RuntimeError(f"CUDA out of memory. Tried to allocate 2.00 GiB (simulated, {h}×{w})")
        return x.clone()


def _check_progress(model: _Oom, align: int) -> None:
    """Every tile starts on the grid, and a piece that ran out of memory is only ever retried smaller."""
    assert all(top % align == 0 and left % align == 0 for top, left, _, _ in model.calls)
    failed: dict[tuple[int, int], int] = {}
    for top, left, side, oom in model.calls:
        assert side < failed.get((top, left), side + 1), f"a {side}-px piece at {(top, left)} was retried as long"
        if oom:
            failed[(top, left)] = side


@pytest.mark.parametrize(("shape", "tile", "overlap"), [((300, 333), 128, 64), ((240, 333), 256, 160)])
def test_out_of_memory_on_a_grid_re_tiles_into_smaller_aligned_pieces(
    shape: tuple[int, int], tile: int, overlap: int
) -> None:
    """The reproduction: J4R-Net's 64-px grid and overlap, a device that takes pieces up to 159 px. Halving
    128-px tiles to 64 px made a grid whose neighbours barely overlapped: a NaN band at every seam."""
    model = _Oom(limit=159)
    image = torch.rand(1, 3, *shape)
    out = run_tiled(model, image, tile=tile, overlap=overlap, align=64, positional=True)
    assert bool(torch.isfinite(out).all())
    assert torch.allclose(out, image, atol=1e-5)
    _check_progress(model, 64)
    assert any(oom for *_, oom in model.calls) and max(s for *_, s, oom in model.calls if not oom) <= 159


@pytest.mark.parametrize("shape", [(700, 900), (150, 150), (100, 190)])
@pytest.mark.parametrize(
    ("align", "overlap", "smallest"), [(64, 64, 96), (64, 16, 80), (8, 96, MIN_TILE), (1, 64, MIN_TILE)]
)
def test_out_of_memory_halves_down_to_the_smallest_aligned_tile_then_says_so(
    shape: tuple[int, int], align: int, overlap: int, smallest: int
) -> None:
    """A device that takes nothing: every halving cuts the failing piece into smaller aligned ones, down to
    the smallest tile that still overlaps on the grid (96 px on a 64-px grid), then one clear line. A
    piece the smallest tiles would run whole is not retried (150 × 150 px on a 64-px grid: 86-px tiles
    were, twice)."""
    model = _Oom(limit=0)
    with pytest.raises(ModelError) as caught:
        run_tiled(model, torch.rand(1, 3, *shape), tile=512, overlap=overlap, align=align, positional=True)
    message = str(caught.value)
    assert "\n" not in message and f"even with {smallest}-px tiles" in message
    assert "device='cpu'" in message and "--device cpu" in message
    _check_progress(model, align)
    sides = [side for *_, side, _ in model.calls]
    assert sides == sorted(sides, reverse=True) and len(sides) <= 6  # straight down, no piece tried twice
    assert sides[-1] < smallest + align  # the last piece is one the smallest tiles would run whole


@pytest.mark.parametrize("overlap", [32, 64, 160])
@pytest.mark.parametrize("shape", [(150, 200), (129, 129), (300, 257)])
def test_tiles_too_short_for_the_grid_still_blend_every_pixel(shape: tuple[int, int], overlap: int) -> None:
    """``tile=64`` on a 64-px grid (``derain --tile 64``): the grid's tiles overlapped by 1 px in places,
    where the blend weights were zero on both sides (NaN). Such tiles are lengthened to overlap."""
    seen: list[int] = []
    sizes: list[int] = []

    def identity(x: torch.Tensor) -> torch.Tensor:
        seen.append(max(x.shape[-2:]))
        return x.clone()

    image = torch.rand(1, 3, *shape)
    out = run_tiled(identity, image, tile=64, overlap=overlap, align=64, on_tile=sizes.append)
    assert bool(torch.isfinite(out).all()) and torch.allclose(out, image, atol=1e-5)
    assert max(seen) < 96 + 64  # the lengthened tile, plus what aligned starts add
    assert sizes == [64]  # no out of memory: the caller's tile is reported back unchanged


def test_grids_keep_their_overlap_and_valid_ones_are_unchanged() -> None:
    """For every tile the engine lays: aligned starts, full coverage, neighbours overlapping by at least
    ``min(overlap, tile // 2, MIN_TILE // 2)``, pieces within ``grid_tile + align - 1``; a tile whose grid
    already kept its overlap is laid exactly as before (same tile, same overlap: same pixels)."""
    for align in (1, 8, 64):
        for overlap in (0, 16, 32, 64, 160):
            for tile in (64, 80, 96, 112, 128, 200, 256):
                state = tiling._State(tile, overlap, torch.device("cpu"), None, align=align)
                grid, kept = state.grid_tile, state.grid_overlap
                assert kept >= min(overlap, tile // 2, MIN_TILE // 2)
                if tile - min(overlap, tile // 2) >= align:
                    assert (grid, kept) == (tile, min(overlap, tile // 2))
                for length in range(grid + align, 700, 7):
                    span, starts = tile_grid(length, grid, kept, align)
                    assert all(s % align == 0 for s in starts) and starts[0] == 0 and starts[-1] + span == length
                    assert all(span - (b - a) >= kept for a, b in zip(starts, starts[1:], strict=False))
                    assert span < grid + align


def test_derain_with_64_px_tiles_gives_a_picture() -> None:
    """The bundled derain model (64-px ``veil_cell``) with the smallest ``tile`` it accepts returned NaN
    bands (black in an 8-bit file) on any picture larger than one tile."""
    from weatherclean.restore import load_restorer

    x = np.random.default_rng(1).random((150, 200, 3)).astype(np.float32)
    out = load_restorer("rain", device="cpu", precision="fp32", tile=64).restore(x)
    assert out.shape == x.shape and bool(np.isfinite(out).all())
