"""Recurrent models over video frames, tile by tile: one memory per tile position.

J4R-Net carries a hidden state from frame to frame. A frame too large for the device is cut into the same
tiles every frame, so each tile position keeps its own memory and a tile only ever remembers its own
part of the scene (with the overlap that the blending needs). A state that is missing, for instance
after an out-of-memory fallback changed the tiling, starts from zero: the model's single-frame mode,
which is always valid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from weatherclean.models.family import RecurrentModel
from weatherclean.restore.pixels import restore_frame
from weatherclean.restore.precision import GuardedPrecision
from weatherclean.restore.tiling import choose_tile, memory_tile_note, run_tiled_array, tile_align

__all__ = ["RecurrentTiles"]

Region = tuple[int, int, int, int]


class RecurrentTiles:
    """Process one clip's frames in order with ``model.step``, tiled, keeping a state per tile.

    Make one per clip: a new clip must not inherit the memory of the previous one. ``tile`` None picks
    a tile size from free memory for the first frame and keeps it for the whole clip (tile positions
    must not change between frames). ``check`` (on unless the frames were checked already) checks each
    frame as :meth:`~weatherclean.restore.Restorer.restore` checks a picture.
    """

    def __init__(
        self,
        model: RecurrentModel,
        *,
        device: torch.device,
        dtype: torch.dtype | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        check: bool = True,
    ) -> None:
        self.model = model
        self.check = check
        self.device = device
        self.tile = tile
        self.overlap = overlap if overlap is not None else int(model.receptive_field)
        self.states: dict[Region, torch.Tensor] = {}
        self.guard = GuardedPrecision(self._step, device, dtype, label=f"{type(model).__name__}.step()")
        self.shrunk = False
        #: The height and width of the frame the tile was chosen from free memory for; None for a ``tile`` given.
        #: For :attr:`notes` (:func:`~weatherclean.restore.tiling.memory_tile_note`).
        self.chosen: tuple[int, int] | None = None

    def _step(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        stepped = self.model.step(x, state)
        pair = isinstance(stepped, tuple) and len(stepped) == 2
        if not pair or not isinstance(getattr(stepped[0], "background", None), torch.Tensor):  # not AttributeError
            raise TypeError(
                f"{type(self.model).__name__}.step() returned {type(stepped).__name__}; it must return (output, "
                "state), the output's .background the restored 1×C×H×W tensor"
            )
        return stepped[0].background.clamp(0, 1), stepped[1]

    def _tile_fn(self) -> Callable[[torch.Tensor, Region], torch.Tensor]:
        def fn(x: torch.Tensor, region: Region) -> torch.Tensor:
            state = self.states.get(region)
            with torch.inference_mode():
                picture, h = self.guard(x, state)
            self.states[region] = h.float() if h.dtype != torch.float32 else h
            return picture

        return fn

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The next frame → its restored version, of the same type; frames must come in order.

        ``frame`` is H×W×C, float in [0, 1] or uint8/uint16 as decoded (see :func:`run_tiled_array`).
        """
        return restore_frame(self._restore, frame, check=self.check)

    def _restore(self, frame: np.ndarray) -> np.ndarray:
        """:meth:`__call__` on a frame already checked."""
        if self.tile is None:
            bpp = self.model.bytes_per_pixel
            self.tile = choose_tile(
                frame.shape[0], frame.shape[1], self.device, bytes_per_pixel=bpp, align=tile_align(self.model)
            )
            self.chosen = (frame.shape[0], frame.shape[1])
        return run_tiled_array(
            self._tile_fn(), frame, tile=self.tile, overlap=self.overlap, device=self.device, positional=True,
            on_tile=self._tile_changed, align=tile_align(self.model),
        )  # fmt: skip

    def _tile_changed(self, tile: int) -> None:
        """Out of memory shrank the tile: keep the smaller one for the rest of the clip.

        Tile positions change with the size, so the memories of the old positions are dropped (and
        free device memory); the new positions start from single-frame mode, which is always valid.
        """
        if tile != self.tile:
            self.tile = tile
            self.states = {}
            self.shrunk = True

    @property
    def notes(self) -> list[str]:
        shrink = [f"ran out of memory; continued with {self.tile}-px tiles"] if self.shrunk else []
        chosen = None
        if self.chosen is not None and self.tile is not None:  # the tile used now, after any shrink
            chosen = memory_tile_note(
                self.tile, *self.chosen, self.device, overlap=self.overlap, align=tile_align(self.model)
            )
        return [*shrink, *([chosen] if chosen is not None else []), *self.guard.fallbacks]
