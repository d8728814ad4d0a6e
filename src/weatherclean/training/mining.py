"""Hard-negative mining: weather-free crops scored by how much a frozen model would change them.

Why: the fine-detail measure of :mod:`weatherclean.data.negatives` picks busy crops of any kind (foliage
as much as windows), and three snow rounds with it moved the photo it was aimed at little (img_012, lit
office windows: 36.46 → 36.70 dB against its input with 4 candidates, 36.22 with 8; docs/models.md,
snow rounds 11 and 13). What the model gets wrong is narrower: its mask fires on small bright structure
that looks like snow, and on img_012 the harm comes from the translucency stage (y′), not the residual.
Asking the model itself which candidate it would change most finds exactly those crops, whatever they
look like: classic hard-negative mining, against the weights training starts from.

The same works for rain: J4R-Net's ``restore`` is its single-frame path, and for a clip the rating is of
the patch the clip is filmed from.

The model is frozen (the ``--init`` weights), not the one being trained: the samples then depend only on
(seed, epoch, index) and the starting weights, so a resumed run draws the same data, and data-loading
workers need no weights from the training process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from weatherclean.data.negatives import CropScore, luma
from weatherclean.errors import ModelError


class ModelChange:
    """``score(patch)``: the mean squared luma change a frozen model's single-picture ``restore`` makes to an
    H × W × 3 float patch in [0, 1], its own pass-through gate included (what a user would get back).

    Picklable for data-loading workers: it carries the model folder and loads the weights on first use
    in each process."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}

    def _loaded(self) -> Any:
        if self._model is None:
            from weatherclean.models.loading import load_from_folder

            model = load_from_folder(self.folder).eval()
            if not hasattr(model, "restore"):
                raise ModelError(
                    f"{self.folder}: this model has no single-picture restore(), so no crop can be rated by its "
                    "change; use --dry-pick detail"
                )
            self._model = model
        return self._model

    def __call__(self, patch: np.ndarray) -> float:
        x = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1), dtype=np.float32))[None]
        with torch.inference_mode():
            restored = self._loaded().restore(x)[0].float().permute(1, 2, 0).numpy()
        return float(np.square(luma(restored) - luma(patch)).mean())


def dry_score(folder: Path | None) -> CropScore | None:
    """The rating a task gives its dataset's weather-free candidates: the change the model in ``folder``
    makes (``train --dry-pick change``), or None for the datasets' own detail measure."""
    return ModelChange(folder) if folder is not None else None
