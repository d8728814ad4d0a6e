"""The one tiling engine: run an image-to-image function over a large image in overlapping tiles.

Photos are often far larger than what fits through a full-resolution network at once, so the whole
image stays in host memory and only tiles travel to the device. Tiles overlap; each tile's output is
weighted by a ramp that is *zero* over the outer quarter of the overlap (where the tile lacked context
and the output differs from the whole-image output), rises as a raised cosine over the middle half and
is one elsewhere. Weights are normalised per pixel, so overlapping tiles always sum to exactly one
(identity in → identity out) and there is no visible seam.

Memory grows with the tile, not with the image: tiles are processed one row of tiles at a time, each
tile is converted to float on the fly from the caller's array, and the blend is accumulated in a band
of one tile's height. Rows that no later tile touches are normalised and written to the output as
soon as their row of tiles is done, so a 24-megapixel photo needs the input, the output and a band
(a few tens of MB), instead of a float copy of the input plus whole-image accumulators (~1 GB more).
The blending arithmetic is the same, in the same order, so results are bit-for-bit what whole-image
accumulators gave.

Desnow uses it now; derain and evaluation call the same function, so a fix here fixes all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from weatherclean.devices import available_memory
from weatherclean.errors import Cancelled, ModelError, OutOfMemoryError, is_out_of_memory, memory_advice
from weatherclean.restore.protocols import CancelSignal

__all__ = [
    "MIN_TILE", "run_tiled", "run_tiled_array", "choose_tile", "tile_align", "tile_grid", "tile_span", "tile_starts",
    "ramp_weights", "full_scale", "NotEnoughMemory", "TilesOutOfMemory", "check_room", "picture_reserve",
    "standard_tile", "memory_tile_note", "ran_whole", "stop_if_cancelled",
]  # fmt: skip

#: ``read(top, bottom, left, right)`` → that region as a 1×C×h×w float32 CPU tensor (a fresh copy).
ReadTile = Callable[[int, int, int, int], torch.Tensor]
#: ``emit(top, bottom, rows)``: rows [top, bottom) of the result are final; ``rows`` is C'×(bottom-top)×W.
EmitRows = Callable[[int, int, torch.Tensor], None]
#: ``progress(done, total)``: ``done`` of the picture's ``total`` tiles have been through the model.
Progress = Callable[[int, int], object]

#: Smallest tile the out-of-memory fallback goes down to before giving up (on a model's grid, the smallest
#: that keeps aligned tiles overlapping: ``_State.smallest``, 96 px on a 64-px grid).
MIN_TILE = 64
#: Assumed activation memory per pixel when nothing better is known (a full-width DesnowNet at full
#: resolution keeps ~1.5k float32 channels alive plus concatenation copies).
DEFAULT_BYTES_PER_PIXEL = 24 * 1024
#: Fraction of free device memory (CUDA) / available RAM (CPU) a tile may use: other programs and the
#: image itself need the rest, and a CPU OOM usually kills the process instead of raising.
_CUDA_FRACTION = 0.6
_CPU_FRACTION = 0.25
#: On a CPU a bigger tile gains nothing but memory: ``desnownet-light`` runs 1.71–1.80 MP/s on 256- to
#: 768-px tiles but 1.46 on 1024-px ones (bf16, 2-core reference machine), and a smaller tile wastes
#: work on overlaps.
_CPU_TILE_RANGE = (256, 768)
#: On a CPU, the longest side run whole for a model with ``tile_align`` > 1 (1080p fits), memory allowing.
_ALIGNED_WHOLE_MAX = 2048
_PROBE = 128


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis: regular steps of ``tile - overlap``, the last tile flush with the end.

    Flushing the last tile (instead of padding) keeps every tile full-size, so the network never sees
    artificial borders inside the image; its overlap with the previous tile is then ≥ ``overlap``.
    """
    if length <= tile:
        return [0]
    step = max(tile - overlap, 1)
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


#: Balanced tile lengths are rounded up to this (the models' largest internal stride), so a tile needs no
#: padding inside the model.
TILE_MULTIPLE = 16


def tile_span(length: int, tile: int, overlap: int) -> int:
    """The tile length to use along an axis: as few tiles as ``tile`` allows, each only as long as needed.

    With the full ``tile`` the last tile, flushed with the edge, can overlap its neighbour by almost a
    whole tile: a 1633-px side in 768-px tiles runs 3 × 768 = 2304 px through the model. Spreading the
    same number of tiles evenly shrinks each to what covering the axis needs (here 3 × 624 = 1872 px)
    at the same overlap, which saves model time and changes nothing else (the blend is per pixel).
    """
    if length <= tile:
        return length
    count = math.ceil((length - overlap) / max(tile - overlap, 1))
    need = math.ceil((length - overlap) / count) + overlap
    return min(tile, -(-need // TILE_MULTIPLE) * TILE_MULTIPLE)


def tile_align(model: object) -> int:
    """The multiple a model's tiles must start on (its ``tile_align``; 1 for models without one)."""
    return int(getattr(model, "tile_align", 1) or 1)


def tile_grid(length: int, tile: int, overlap: int, align: int = 1) -> tuple[int, list[int]]:
    """(tile length, start offsets) along one axis: :func:`tile_span`, then :func:`tile_starts`.

    ``align > 1``: every start is a multiple of ``align``, for a model that works on a grid of that many
    pixels counted from its input's corner (J4R-Net's ``veil_cell``, DesnowNet's veil stage): a tile then
    sees the same grid as the whole image. The steps are rounded down to multiples of ``align`` (so
    overlaps only grow), and the tiles are made longer, by less than ``align``, so that the last one,
    starting at a multiple too, reaches the end; where the tile before it can reach the end within
    ``tile``, it does instead. Neighbours overlap by at least ``overlap`` when ``tile - overlap >= align``;
    a shorter tile's step is rounded *up* to ``align``, and the tiling engine never asks for one
    (``_State.grid_tile``).
    """
    span = tile_span(length, tile, overlap)
    if align <= 1 or length <= span:
        return span, tile_starts(length, span, overlap)
    step = max((span - overlap) // align * align, align)
    starts = list(range(0, length - span, step))
    last = (length - span) // align * align
    if last > starts[-1] and length - starts[-1] > tile:  # the tile before cannot reach the end within ``tile``
        starts.append(last)
    return length - starts[-1], starts


def _ramp(n: int, overlap: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Rising edge of length ``n``: 0 for the first overlap/4, raised cosine over overlap/2, then 1."""
    d = torch.arange(n, dtype=torch.float64)
    margin = overlap // 4
    ramp_len = overlap - 2 * margin
    if ramp_len <= 0:
        return torch.ones(n, dtype=dtype)
    theta = ((d - margin + 0.5) / ramp_len).clamp(0.0, 1.0)
    w = 0.5 - 0.5 * torch.cos(math.pi * theta)
    w[d < margin] = 0.0
    return w.to(dtype)


def ramp_weights(start: int, size: int, length: int, overlap: int) -> torch.Tensor:
    """1-D blend weights of one tile: ramps only on sides that have a neighbour, 1 at image borders.

    A tile edge that is the image edge has no neighbour to hand over to, so it keeps weight one; the
    network's own border handling is all anyone can do there.
    """
    w = torch.ones(size, dtype=torch.float32)
    if overlap <= 0:
        return w
    if start > 0:
        w = w * _ramp(size, overlap)
    if start + size < length:
        w = w * _ramp(size, overlap).flip(0)
    return w


def _available_ram() -> int:
    """Bytes of RAM this process could get now: :func:`weatherclean.devices.available_memory` (MemAvailable, and
    the room under a cgroup limit: a container's ``--memory``, systemd's ``MemoryMax``)."""
    return available_memory()


#: Bytes per pixel a picture still needs beside its tiles once they are done: encoding it (a uint8/uint16 copy of
#: the float pixels, Pillow's own copy, the encoded file in memory). Its decoded pixels are already taken (so
#: already out of what is available), and its output too when restored in place; otherwise that comes on top.
AFTER_BYTES_PER_PIXEL = 8


class NotEnoughMemory(ModelError, OutOfMemoryError):
    """A picture that cannot be restored in the memory available even with the smallest tile: refused before any
    work, since on a CPU running out of memory gets the process killed (no error, no summary) rather than
    raising. A :class:`~weatherclean.errors.ModelError`, as the restorer's every want of memory is
    (:class:`TilesOutOfMemory`; docs/api.md), and an :class:`~weatherclean.errors.OutOfMemoryError`: a batch
    counts it with the photos that ran out."""

    #: The message names no file (the engine has pixels, not a path): the batch runner puts the file first.
    names_no_file = True


def picture_reserve(height: int, width: int, channels: int, *, output_bytes: int = 0) -> int:
    """Bytes a ``height``×``width`` picture still needs beside its tiles: ``output_bytes`` (an output array not
    yet written, 0 when restoring in place) and its encoding (:data:`AFTER_BYTES_PER_PIXEL` per pixel)."""
    return output_bytes + height * width * AFTER_BYTES_PER_PIXEL * max(1, channels) // 3


def check_room(
    height: int,
    width: int,
    device: torch.device | str,
    *,
    bytes_per_pixel: float | None,
    reserve: int,
    available: int | None = None,
) -> None:
    """Raise :class:`NotEnoughMemory` when ``reserve`` (the picture's own bytes still to come) plus the smallest
    tile the CPU engine runs (:data:`_CPU_TILE_RANGE`, at the model's ``bytes_per_pixel``; none counted when the
    model gives none: the generous default would refuse what runs) cannot fit in the memory available.

    On CUDA the tiles are on the device and only the picture's own bytes are counted (host RAM)."""
    available = _available_ram() if available is None else available
    side = min(_CPU_TILE_RANGE[0], max(height, width))
    tiles = 0.0 if torch.device(device).type == "cuda" or not bytes_per_pixel else side * side * bytes_per_pixel
    needed = reserve + tiles
    if needed > available:
        raise NotEnoughMemory(
            f"needs about {_gb(needed)} for this {_megapixels(height * width)}-megapixel picture, {_gb(available)} "
            f"available; {_room_advice()}, or downscale it"
        )


def _room_advice() -> str:
    """What frees memory for a picture: the process's own limit where one is set (``ulimit -v``: closing other
    programs frees nothing under it, :func:`~weatherclean.errors.memory_advice`), else other programs, or the
    container's limit."""
    return memory_advice("close other programs (or raise the container's memory limit)")


def _megapixels(pixels: int) -> str:
    """A pixel count in megapixels as a photographer says it: "70", "0.3"."""
    return f"{pixels / 1e6:.0f}" if pixels >= 10_000_000 else f"{pixels / 1e6:.1f}"


def _gb(n: float) -> str:
    """Bytes as a person reads them: "2.4 GB", "350 MB"."""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{max(n, 0) / 1e6:.0f} MB"


def choose_tile(
    height: int,
    width: int,
    device: torch.device | str = "cpu",
    *,
    bytes_per_pixel: float | None = None,
    align: int = 1,
    reserve: float = 0.0,
    available: int | None = None,
) -> int:
    """Pick a square tile edge from free memory; returns ``max(height, width)`` if the whole image fits.

    ``reserve``: bytes of host memory the picture itself still needs beside its tiles (:func:`picture_reserve`:
    its output, its encoding), taken off the available RAM first, so that a 70-megapixel photo gets a tile that
    fits beside it, not one chosen as if the photo took nothing.

    CUDA uses ``torch.cuda.mem_get_info``; CPU/MPS use available RAM with a conservative fraction and
    keep the edge within 256–768 px, because on CPU a Linux OOM kills the process rather than raising an
    error we could recover from, and larger tiles are no faster there. A model that works on a grid
    (``align > 1``: J4R-Net's ``veil_cell``, DesnowNet's veil stage) runs whole images up to 2048 px on a
    side when the memory allows, since its tiles differ a little from the whole image even when they
    start on the grid.
    """
    device = torch.device(device)
    bpp = float(bytes_per_pixel or DEFAULT_BYTES_PER_PIXEL)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        budget = free * _CUDA_FRACTION
    else:
        budget = max((_available_ram() if available is None else available) - reserve, 0) * _CPU_FRACTION
    pixels = max(budget / bpp, 1.0)
    whole_max = _ALIGNED_WHOLE_MAX if align > 1 else _CPU_TILE_RANGE[1]
    whole_ok = device.type == "cuda" or max(height, width) <= whole_max
    if height * width <= pixels and whole_ok:
        return max(height, width)
    tile = int(math.sqrt(pixels)) - (align - 1)  # an aligned grid's tiles are up to align - 1 px longer
    if device.type != "cuda":
        tile = min(max(tile, _CPU_TILE_RANGE[0]), _CPU_TILE_RANGE[1])
    tile = max(MIN_TILE, tile // 16 * 16)
    return min(tile, max(height, width))


#: Bytes of memory that no tile choice is short of: what :func:`standard_tile` chooses with.
_AMPLE = 1 << 62


def standard_tile(height: int, width: int, device: torch.device | str = "cpu", *, align: int = 1) -> int | None:
    """The tile :func:`choose_tile` picks for an ``height``×``width`` picture on ``device`` when memory is ample: the
    whole picture where it fits (up to 768 px a side on a CPU, 2048 for a model with ``align > 1``), else 768-px
    tiles. None on CUDA, where the tile always follows the card's free memory (no one standard)."""
    if torch.device(device).type == "cuda":
        return None
    return choose_tile(height, width, device, align=align, available=_AMPLE)


def memory_tile_note(
    used: int, height: int, width: int, device: torch.device | str, *, overlap: int, align: int = 1
) -> str | None:
    """The note for a picture whose automatic tile (``used``) came out smaller than :func:`standard_tile`, or None:
    one short line, as the batch's summary shows each file's notes. None too where ``used`` still ran the picture
    whole (:func:`ran_whole`: on an aligned grid a tile up to ``align - 1`` px shorter than the picture does), as
    its pixels are then those any memory gives; so the photo path and a clip's frames say the same.

    Why: tiles see less context than the whole picture, so the output's pixels depend on the tile (at flakes and
    streaks, by up to a hundred levels), and the automatic tile follows free memory: the same command gave other
    pixels under a memory limit (a container, ``ulimit -v``) than on a workstation, and said nothing."""
    standard = standard_tile(height, width, device, align=align)
    if standard is None or used >= standard or ran_whole(used, height, width, overlap=overlap, align=align):
        return None
    ample = "whole" if standard >= max(height, width) else f"{standard} px"
    return f"tiles of {used} px for want of free memory (with more: {ample}); --tile {used} gives this output anywhere"


def ran_whole(tile: int, height: int, width: int, *, overlap: int, align: int = 1) -> bool:
    """Whether an ``height``×``width`` picture that finished with ``tile`` (what :func:`run_tiled_array` tells
    ``on_tile``) went through the model whole: a tile at least as long as both sides (a fixed one too), or, on an
    aligned grid, one up to ``align - 1`` px shorter than the longer side (:meth:`_State.fits`)."""
    return _State(tile=tile, overlap=overlap, device=torch.device("cpu"), out_channels=None, align=align).fits(
        height, width
    )


class TilesOutOfMemory(ModelError, OutOfMemoryError):
    """Out of memory even with the smallest tile: a :class:`~weatherclean.errors.ModelError` as before, and an
    :class:`~weatherclean.errors.OutOfMemoryError`, so that a batch under a memory limit counts it with the other
    photos that ran out and stops, rather than failing every photo alike."""


def _free_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        empty = getattr(getattr(torch, "mps", None), "empty_cache", None)
        if empty is not None:
            empty()


def stop_if_cancelled(cancel: CancelSignal | None, when: str, name: str | None = None) -> None:
    """Raise :class:`~weatherclean.errors.Cancelled`, saying ``when`` (after ``name``, a file), if ``cancel`` is set:
    the one check of the caller's ``cancel`` for the tiles here and for :class:`~weatherclean.restore.Restorer`."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{name}: cancelled {when}" if name else f"cancelled {when}")


@dataclass
class _State:
    """Mutable across tiles: once a tile size ran out of memory, later tiles start at the smaller size."""

    tile: int
    overlap: int
    device: torch.device
    out_channels: int | None
    #: Call ``fn(crop, region)`` with the tile's (top, left, height, width) in the image, so a recurrent
    #: model can keep one memory per tile position across video frames.
    positional: bool = False
    #: Tile starts are multiples of this (:func:`tile_grid`).
    align: int = 1
    #: Told ``(done, total)`` after each tile of the picture's grid, ``(1, 1)`` for a picture run whole; tiles that
    #: an out-of-memory tile was cut into count as the one tile they make up.
    progress: Progress | None = None
    #: Asked before every tile: once it is set, :class:`~weatherclean.errors.Cancelled` stops the picture.
    cancel: CancelSignal | None = None
    #: Tiles of the picture's grid done, and how many it has (1 while the picture is tried whole).
    done: int = 0
    total: int = 1

    @property
    def grid_tile(self) -> int:
        """The tile the grid is laid with: ``tile``, lengthened where needed for aligned tiles to overlap.

        Aligned starts step by at least ``align``, so neighbouring tiles overlap by only ``tile - align``: a
        64-px tile on a 64-px grid overlapped by 0 to 63 px and left pixels that no tile weighted (NaN in
        the output). A tile is lengthened to ``align`` plus the overlap it would have had (half the tile,
        at most ``overlap`` and :data:`MIN_TILE` / 2); a tile that leaves that much already stays as it is.
        """
        if self.align <= 1:
            return self.tile
        return max(self.tile, self.align + min(self.overlap, self.tile // 2, MIN_TILE // 2))

    @property
    def grid_overlap(self) -> int:
        """The overlap of the grid: ``overlap``, at most half the tile, and on an aligned grid at most
        ``grid_tile - align`` (what an aligned step leaves; :func:`tile_grid` keeps at least that)."""
        tile = self.grid_tile
        overlap = min(self.overlap, tile // 2)
        return min(overlap, tile - self.align) if self.align > 1 else overlap

    @property
    def smallest(self) -> int:
        """The smallest tile the out-of-memory fallback goes down to: :data:`MIN_TILE`, or on an aligned grid
        the smallest that keeps ``min(overlap, MIN_TILE // 2)`` of overlap between aligned tiles (96 px on a
        64-px grid); such a grid's pieces are up to ``align - 1`` px longer still."""
        if self.align <= 1:
            return MIN_TILE
        return max(MIN_TILE, self.align + min(self.overlap, MIN_TILE // 2))

    def check_cancel(self) -> None:
        """Raise :class:`~weatherclean.errors.Cancelled` when the caller set ``cancel``: asked before every tile, so
        a picture stops within one tile's time, and between tiles, where stopping leaves nothing half done."""
        stop_if_cancelled(self.cancel, f"after {self.done} of {self.total} tiles")

    def tile_done(self) -> None:
        """Count a tile of the grid as done and tell ``progress``; its exception, the caller's own, goes up as it is."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def fits(self, h: int, w: int) -> bool:
        """Whether an h×w picture or tile goes through the model whole at the current tile size: up to
        ``grid_tile`` a side, or up to ``align - 1`` more, which is how much :func:`tile_grid` lengthens its
        tiles so that aligned starts reach the end (a grid tile re-tiled for that was re-tiled forever)."""
        return max(h, w) < self.grid_tile + self.align


def _call(fn: Callable[..., torch.Tensor], crop: torch.Tensor, state: _State, origin: tuple[int, int]) -> torch.Tensor:
    """Run ``fn`` on one CPU crop on the device; validate and bring the result back as CPU float32.

    The crop is copied to the device as it is, synchronously. Pinning it first would not help: pinning
    a pageable tensor is itself a full copy into freshly allocated page-locked memory, and the result
    comes back to the CPU (a synchronising copy) before the next crop goes out, so a non-blocking
    upload would overlap nothing.
    """
    state.check_cancel()
    x = crop.to(state.device)
    out = fn(x, (*origin, *crop.shape[-2:])) if state.positional else fn(x)
    ok = isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[0] == 1
    if not ok or out.shape[-2:] != crop.shape[-2:]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelError(
            f"the model returned {shape} for a {tuple(crop.shape)} tile; it must keep 1×C×H×W spatial size"
        )
    if state.out_channels is not None and out.shape[1] != state.out_channels:
        raise ModelError(f"the model returned {out.shape[1]} channels, expected {state.out_channels}")
    return out.detach().to("cpu", torch.float32)


def _halve_tile(state: _State, h: int, w: int) -> None:
    """After an out-of-memory error on an h×w piece: free the cache and halve the tile, down to ``state.smallest``.

    The new tile always cuts this piece into smaller ones: an aligned grid's pieces are up to ``align - 1``
    px longer than its tile, so the tile is also kept at least ``align`` below the piece (on a 64-px grid,
    halving alone retried a 126-px piece whole, with 64-px tiles, and failed the same way again). Below
    ``state.smallest`` aligned tiles would no longer overlap; once even that tile would run the piece
    whole, the error says so. The exception must already be deleted by the caller, or its traceback keeps
    the failed tensors alive.
    """
    _free_cache(state.device)
    piece = max(h, w)
    smallest = state.smallest
    if piece < smallest + state.align:  # the smallest tiles would hand the model this very piece again
        device = "close other programs using the device, or run on the CPU (device='cpu', --device cpu)"
        advice = memory_advice(device) if state.device.type == "cpu" else device  # the process's own limit, if set
        raise TilesOutOfMemory(f"out of memory on {state.device} even with {smallest}-px tiles; {advice}") from None
    current = min(state.grid_tile, piece)
    state.tile = max(smallest, min(current // 2, piece - state.align))


def _process(
    fn: Callable[..., torch.Tensor], image: torch.Tensor, state: _State, origin: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Tile ``image`` with the current tile size; a tile that runs out of memory is itself re-tiled.

    Re-tiling the failing tile (rather than restarting the whole grid) keeps the finished tiles, and
    because every tile's output is an honest estimate of the same region, the outer blend stays valid.
    """
    _, _, h, w = image.shape
    if state.fits(h, w):
        try:
            return _call(fn, image, state, origin)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            del exc
            _halve_tile(state, h, w)

    tile, overlap = state.grid_tile, state.grid_overlap
    span_y, ys = tile_grid(h, tile, overlap, state.align)
    span_x, xs = tile_grid(w, tile, overlap, state.align)
    acc: torch.Tensor | None = None
    wsum = torch.zeros((h, w), dtype=torch.float32)
    for y0 in ys:
        th = min(span_y, h - y0)
        wy = ramp_weights(y0, th, h, overlap)
        for x0 in xs:
            tw = min(span_x, w - x0)
            wx = ramp_weights(x0, tw, w, overlap)
            out = _process(fn, image[:, :, y0 : y0 + th, x0 : x0 + tw], state, (origin[0] + y0, origin[1] + x0))
            if acc is None:
                acc = torch.zeros((out.shape[1], h, w), dtype=torch.float32)
            weight = wy[:, None] * wx[None, :]
            acc[:, y0 : y0 + th, x0 : x0 + tw] += out[0] * weight
            wsum[y0 : y0 + th, x0 : x0 + tw] += weight
    assert acc is not None
    return (acc / wsum).unsqueeze(0)


def _stream(fn: Callable[..., torch.Tensor], read: ReadTile, h: int, w: int, state: _State, emit: EmitRows) -> None:
    """Tile an H×W image row of tiles by row of tiles, handing finished rows to ``emit`` as they complete.

    Tile rows start at increasing offsets, so once the row of tiles at ``ys[i]`` is blended no later
    tile touches rows above ``ys[i+1]``: those rows are final and leave the band. The band carries the
    still-open rows (the vertical overlap) into the next row of tiles. Per pixel the weighted sum is
    accumulated in float32 in the same order as a whole-image accumulator would, and divided by the same
    weight sum, so the output is bit-identical to that simpler (and image-sized) scheme.
    """
    if state.fits(h, w):
        out = None
        try:
            out = _call(fn, read(0, h, 0, w), state, (0, 0))
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            del exc
            _halve_tile(state, h, w)
        if out is not None:
            emit(0, h, out[0])
            state.tile_done()
            return

    tile, overlap = state.grid_tile, state.grid_overlap
    span_y, ys = tile_grid(h, tile, overlap, state.align)
    span_x, xs = tile_grid(w, tile, overlap, state.align)
    state.total = len(ys) * len(xs)
    acc: torch.Tensor | None = None  # C'×rows×W weighted sums of the band, rows from ``top``
    wsum: torch.Tensor | None = None
    top = 0
    for i, y0 in enumerate(ys):
        th = min(span_y, h - y0)
        wy = ramp_weights(y0, th, h, overlap)
        band_w = torch.zeros((th, w), dtype=torch.float32)
        keep = 0  # rows [y0, y0 + keep) were started by the previous row of tiles
        if wsum is not None:
            keep = top + wsum.shape[0] - y0
            if keep > 0:
                band_w[:keep] = wsum[y0 - top :]
        band: torch.Tensor | None = None
        for x0 in xs:
            tw = min(span_x, w - x0)
            wx = ramp_weights(x0, tw, w, overlap)
            out = _process(fn, read(y0, y0 + th, x0, x0 + tw), state, (y0, x0))
            if band is None:
                band = torch.zeros((out.shape[1], th, w), dtype=torch.float32)
                if acc is not None and keep > 0:
                    band[:, :keep] = acc[:, y0 - top :]
            weight = wy[:, None] * wx[None, :]
            band[:, :, x0 : x0 + tw] += out[0] * weight
            band_w[:, x0 : x0 + tw] += weight
            del out
            state.tile_done()
        assert band is not None
        acc, wsum, top = band, band_w, y0
        done = (ys[i + 1] if i + 1 < len(ys) else h) - y0
        emit(y0, y0 + done, acc[:, :done] / wsum[:done])


def _probe_bytes_per_pixel(
    fn: Callable[[torch.Tensor], torch.Tensor], crop: torch.Tensor, device: torch.device
) -> float:
    """Measure CUDA peak memory of ``fn`` on a small crop; the honest answer beats any constant."""
    ph, pw = crop.shape[-2:]
    crop = crop.to(device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn(crop)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del crop
    return max(peak * 1.3 / (ph * pw), 256.0)


def _resolve_tile(
    fn: Callable[..., torch.Tensor],
    read: ReadTile,
    h: int,
    w: int,
    tile: int | None,
    dev: torch.device,
    bytes_per_pixel: float | None,
    align: int = 1,
    reserve: int = 0,
    available: int | None = None,
) -> int:
    """The tile to start with: the caller's, or one chosen from free memory (measured on CUDA; ``available``: the
    host memory already read) less ``reserve``."""
    if tile is not None:
        return tile
    if dev.type == "cuda" and bytes_per_pixel is None:
        try:
            bytes_per_pixel = _probe_bytes_per_pixel(fn, read(0, min(_PROBE, h), 0, min(_PROBE, w)), dev)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            _free_cache(dev)
            bytes_per_pixel = None
    return choose_tile(h, w, dev, bytes_per_pixel=bytes_per_pixel, align=align, reserve=reserve, available=available)


def _check_args(tile: int | None, overlap: int, positional: bool) -> None:
    if overlap < 0:
        raise ValueError(f"overlap must be ≥ 0, got {overlap}")
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be ≥ 1, got {tile}")
    if positional and tile is None:
        raise ValueError("positional tiling needs a fixed tile size (tile positions key the per-tile state)")


def run_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    *,
    tile: int | None = None,
    overlap: int = 32,
    device: torch.device | str = "cpu",
    out_channels: int | None = None,
    bytes_per_pixel: float | None = None,
    positional: bool = False,
    on_tile: Callable[[int], None] | None = None,
    align: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` (1×C×h×w → 1×C'×h×w on ``device``) to a 1×C×H×W CPU image in blended tiles.

    ``tile=None`` picks the tile from free memory (see :func:`choose_tile`; on CUDA the memory per pixel
    is measured on a 128-px crop unless ``bytes_per_pixel`` is given) and runs the whole image at once
    when it fits. ``overlap`` should be at least the model's ``receptive_field``; it is capped at half
    the tile. On out-of-memory the failing tile is re-run with half the tile size, down to 64 px (96 px on
    a 64-px grid: aligned tiles need ``align`` plus their overlap).
    Runs under ``torch.no_grad`` (not inference mode, so callers may modify the result in place);
    returns 1×C'×H×W float32 on CPU. With ``positional`` the call is ``fn(crop, (top, left, h, w))``.
    ``on_tile(size)`` is told the tile size the image finished with (smaller after an out-of-memory), so
    a caller tiling many frames can start the next one there instead of failing again. ``align``: tile
    starts are multiples of it (a model's ``tile_align``; :func:`tile_grid`).
    """
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"run_tiled expects a 1×C×H×W tensor, got shape {tuple(image.shape)}")
    _check_args(tile, overlap, positional)
    dev = torch.device(device)
    image = image.detach().to("cpu", torch.float32)
    _, _, h, w = image.shape
    result: list[torch.Tensor] = []

    def read(y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
        return image[:, :, y0:y1, x0:x1]

    def emit(y0: int, y1: int, rows: torch.Tensor) -> None:
        if not result:
            if y0 == 0 and y1 == h:  # one tile: the model's output is the result, no copy
                result.append(rows.clone() if rows.is_inference() else rows)
                return
            result.append(torch.empty((rows.shape[0], h, w), dtype=torch.float32))
        result[0][:, y0:y1] = rows

    with torch.no_grad():
        start = _resolve_tile(fn, read, h, w, tile, dev, bytes_per_pixel, align)
        state = _State(
            tile=start, overlap=overlap, device=dev, out_channels=out_channels, positional=positional, align=align
        )
        _stream(fn, read, h, w, state, emit)
        if on_tile is not None:
            on_tile(state.tile)
    return result[0].unsqueeze(0).contiguous()


def full_scale(dtype: np.dtype) -> float | None:
    """What 1.0 is in an integer pixel type (255 for uint8, 65535 for uint16); None for float pixels."""
    if np.issubdtype(dtype, np.floating):
        return None
    if dtype in (np.uint8, np.uint16):
        return float(np.iinfo(dtype).max)
    raise ValueError(f"pixels must be float, uint8 or uint16, got {dtype}")


def run_tiled_array(
    fn: Callable[[torch.Tensor], torch.Tensor],
    pixels: np.ndarray,
    *,
    tile: int | None = None,
    overlap: int = 32,
    device: torch.device | str = "cpu",
    bytes_per_pixel: float | None = None,
    positional: bool = False,
    on_tile: Callable[[int], None] | None = None,
    out: np.ndarray | None = None,
    align: int = 1,
    progress: Progress | None = None,
    cancel: CancelSignal | None = None,
) -> np.ndarray:
    """:func:`run_tiled` for H×W×C numpy images (C = 1 or 3), the form images have everywhere else.

    RGB models get greyscale replicated to three channels going in and averaged back coming out (the
    three outputs of a grey input are near-identical anyway). A model that changes the image size is an
    error, since every caller writes the result over the input's geometry.

    ``pixels`` may be float (values in [0, 1], used as they are) or uint8/uint16 (full scale is 1.0).
    Integer pixels are what decoders hand out: converting only one tile at a time to float, and
    quantising finished rows straight into an integer output, keeps a whole float copy of a video
    frame or photo out of memory and does both conversions in PyTorch's threads instead of in extra
    NumPy passes.

    Returns H×W×C clipped to [0, 1]: float32 for float pixels, the same integer type (rounded) for
    integer pixels; written into ``out`` when given (float32, uint8 or uint16, the shape of ``pixels``).
    ``out`` may be ``pixels`` itself: a row is written only once no later tile reads it, so restoring
    in place is safe and saves a whole-image buffer.

    ``progress(done, total)`` is called after each tile (``total``: the picture's tiles; ``(1, 1)`` for a picture
    run whole); ``cancel`` (a ``threading.Event``) is asked before each one, and once set the call raises
    :class:`~weatherclean.errors.Cancelled`. Either one's exception leaves ``out`` partly written.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"run_tiled_array expects an H×W×1 or H×W×3 array, got shape {pixels.shape}")
    _check_args(tile, overlap, positional)
    h, w, channels = pixels.shape
    grey = channels == 1
    in_scale = full_scale(pixels.dtype)
    # The picture's own bytes still to come (its output, unless written over the input; its encoding), counted
    # before any work: a photo that cannot fit even with the smallest tile fails here, in one line, rather than
    # getting the process killed part-way (a CPU out of memory rarely raises).
    in_place = out is not None and np.may_share_memory(out, pixels)
    out_dtype = out.dtype if out is not None else np.dtype(np.float32 if in_scale is None else pixels.dtype)
    reserve = picture_reserve(h, w, channels, output_bytes=0 if in_place else h * w * channels * out_dtype.itemsize)
    available = _available_ram()  # read once: the refusal and the tile choice agree on one reading
    check_room(h, w, device, bytes_per_pixel=bytes_per_pixel, reserve=reserve, available=available)
    if out is None:
        out = np.empty((h, w, channels), dtype=out_dtype)
    elif out.shape != pixels.shape or out.dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"out must be float32, uint8 or uint16 of shape {pixels.shape}, got {out.dtype} {out.shape}")
    out_scale = full_scale(out.dtype)
    dev = torch.device(device)

    def read(y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
        part = pixels[y0:y1, x0:x1]
        if grey:
            part = np.repeat(part, 3, axis=2)
        if in_scale is not None and part.dtype == np.uint8:  # the float conversion is the fresh copy
            part = np.ascontiguousarray(part) if part.flags.writeable else part.copy()  # torch warns on read-only
            ints = torch.from_numpy(part).permute(2, 0, 1)
            return ints.to(torch.float32, memory_format=torch.contiguous_format).div_(in_scale)[None]
        if in_scale is not None:  # uint16: PyTorch before 2.3 has no uint16 tensors, so NumPy converts
            scaled = part.transpose(2, 0, 1).astype(np.float32, order="C")
            scaled /= in_scale
            return torch.from_numpy(scaled)[None]
        # always a copy: with out=pixels the rows are overwritten later, and the model may keep its input
        return torch.from_numpy(np.array(part.transpose(2, 0, 1), dtype=np.float32, order="C"))[None]

    def emit(y0: int, y1: int, rows: torch.Tensor) -> None:
        block = rows.detach().to("cpu", torch.float32)
        if grey:
            block = block.mean(dim=0, keepdim=True)
        if out_scale is None:
            np.clip(block.numpy().transpose(1, 2, 0), 0.0, 1.0, out=out[y0:y1])
            return
        levels = block.clamp(0.0, 1.0).mul_(out_scale).round_()  # not in place: rows may be the model's output
        if out.dtype == np.uint8:
            out[y0:y1] = levels.permute(1, 2, 0).to(torch.uint8).numpy()
        else:  # uint16 through NumPy, as in read()
            out[y0:y1] = levels.permute(1, 2, 0).numpy()

    with torch.no_grad():
        start = _resolve_tile(fn, read, h, w, tile, dev, bytes_per_pixel, align, reserve, available)
        state = _State(
            tile=start, overlap=overlap, device=dev, out_channels=3, positional=positional, align=align,
            progress=progress, cancel=cancel,
        )  # fmt: skip
        _stream(fn, read, h, w, state, emit)
        if on_tile is not None:
            on_tile(state.tile)
    return out
