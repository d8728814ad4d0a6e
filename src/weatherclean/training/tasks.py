"""The task adapters the trainer runs: where the data comes from and which loss applies."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from weatherclean.errors import DatasetError, ModelError
from weatherclean.synth.common import Styles
from weatherclean.training.losses import DerainLoss, DesnowLoss
from weatherclean.training.mining import dry_score

T = TypeVar("T", bound=tuple)


def check_clean_sources(folders: list[Path]) -> None:
    """Refuse a clean-photo source that does not exist, by name. ``train`` calls it before it touches the run
    folder or loads a model, and the tasks call it again for library callers, so both say the same thing."""
    for folder in folders:
        if not Path(folder).exists():
            raise DatasetError(f"{folder}: --clean folder not found; pass a folder of clean photos")


def _clean_images(
    folders: list[Path], include_skimage: bool, note: Callable[[str], None] | None = None
) -> list[Path | np.ndarray]:
    """Clean training backgrounds: every photo in ``folders`` (a photo given by itself too) plus, optionally,
    scikit-image's samples. Folders are read as ``synth`` reads CLEAN_DIR (:func:`list_clean_photos`), so an
    earlier synth output among the photos is passed over, with a note, not trained on as clean."""
    from weatherclean.data.images import list_clean_photos, skimage_samples

    check_clean_sources(folders)
    images: list[Path | np.ndarray] = []
    for folder in folders:
        found = list_clean_photos(folder, note) if Path(folder).is_dir() else [Path(folder)]
        if not found:
            raise DatasetError(f"{folder}: no images found (looked for PNG/JPEG/TIFF/WebP files)")
        images.extend(found)
    if include_skimage:
        images.extend(arr for _, arr in skimage_samples())
    return images


@dataclass
class SnowTask:
    """DesnowNet on a Snow100K-layout folder, or on snow synthesised on the fly over clean images."""

    dataset: Path | None = None
    clean: list[Path] = field(default_factory=list)
    include_skimage: bool = False
    crop: int = 64
    samples: int = 1_000_000  # virtual length of the synthetic dataset (the sampler picks indices)
    level: str | None = None
    haze: bool = True
    clean_fraction: float = 0.0  # share of synthetic samples without snow
    styles: Styles | None = None  # snow styles to synthesise, names or names with weights (None: all)
    seed: int = 0
    tone_fraction: float = 0.0  # share of synthetic backgrounds re-toned before the snow (data.tones)
    tone_haze: str = "all"  # "dry": the haze tone only on backgrounds left without snow (data.tones)
    dry_crops: int = 1  # snow-free crops: the most detailed of this many (data.negatives)
    dry_model: Path | None = None  # pick them by the change this model folder makes instead (training.mining)
    loss_fn: DesnowLoss = field(default_factory=DesnowLoss)
    note: Callable[[str], None] | None = None  # told what the clean folders held that is not trained on
    name: str = "snow"

    @property
    def finite(self) -> bool:
        return self.dataset is not None

    def clean_images(self) -> list[Path | np.ndarray]:
        return _clean_images(self.clean, self.include_skimage, self.note)

    def build_dataset(self) -> Dataset:
        from weatherclean.data.snow import Snow100KDataset, SyntheticSnowDataset

        if self.dataset is not None:
            notes: list[str] = []
            found = Snow100KDataset(self.dataset, crop=self.crop, augment=True, seed=self.seed, notes=notes)
            _tell(notes, self.note)
            return found
        images = self.clean_images()
        if not images:
            raise DatasetError("no training data: pass --dataset DIR (Snow100K layout) or --clean DIR")
        return SyntheticSnowDataset(
            images, crop=self.crop, length=self.samples, level=self.level, seed=self.seed, augment=True,
            haze=self.haze, clean_fraction=self.clean_fraction, styles=self.styles, tone_fraction=self.tone_fraction,
            tone_haze=self.tone_haze, dry_crops=self.dry_crops,
            dry_score=dry_score(self.dry_model),
        )  # fmt: skip

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["x"])
        with _loss_precision(batch["x"]):
            return self.loss_fn(model, _as_float(out, model), batch)


@dataclass
class RainTask:
    """J4R-Net on rainy/clean pairs from disk, or on rain synthesised on the fly over clean images.

    ``frames=1`` is the paper's first stage (the single-frame path, H = 0); ``frames > 1`` the second
    (the whole recurrent network on short clips filmed with simulated camera motion).
    """

    dataset: Path | None = None
    clean: list[Path] = field(default_factory=list)
    include_skimage: bool = False
    frames: int = 1
    crop: int = 64
    samples: int = 1_000_000
    level: str | None = None
    seed: int = 0
    clean_fraction: float = 0.0  # share of synthetic clips without rain
    styles: Styles | None = None  # rain styles to synthesise, names or names with weights (None: all)
    tone_fraction: float = 0.0  # share of synthetic backgrounds re-toned before the rain (data.tones)
    tone_haze: str = "all"  # "dry": the haze tone only on backgrounds left without rain (data.tones)
    dry_crops: int = 1  # rain-free crops: the most detailed of this many (data.negatives)
    dry_model: Path | None = None  # pick them by the change this model folder makes instead (training.mining)
    loss_fn: DerainLoss = field(default_factory=DerainLoss)
    note: Callable[[str], None] | None = None  # told what the clean folders held that is not trained on
    name: str = "rain"

    @property
    def finite(self) -> bool:
        return self.dataset is not None

    def build_dataset(self) -> Dataset:
        from weatherclean.data.rain import PairedRainDataset, SyntheticRainDataset

        if self.dataset is not None:
            notes: list[str] = []
            found = PairedRainDataset(
                self.dataset, frames=self.frames, crop=self.crop, augment=True, seed=self.seed, notes=notes
            )
            _tell(notes, self.note)
            return found
        images = _clean_images(self.clean, self.include_skimage, self.note)
        if not images:
            raise DatasetError("no training data: pass --dataset DIR (rain/ + gt/ pairs or clips) or --clean DIR")
        return SyntheticRainDataset(
            images, frames=self.frames, crop=self.crop, length=self.samples, level=self.level, seed=self.seed,
            clean_fraction=self.clean_fraction, styles=self.styles, tone_fraction=self.tone_fraction,
            tone_haze=self.tone_haze, dry_crops=self.dry_crops,
            dry_score=dry_score(self.dry_model),
        )  # fmt: skip

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        result = model(batch["rainy"])
        if not isinstance(result, tuple) or len(result) != 2:  # a plugin's model unpacked into a traceback
            raise ModelError(
                f"{_name(model)}.forward returned {type(result).__name__}; training a rain model needs (outputs, "
                "state), outputs a NamedTuple (or tuple) of tensors (docs/api.md, Model families)"
            )
        out, _state = result
        # A model whose streak output is not S itself (J4R-Net's "detail" mode) says what it should be.
        target = getattr(getattr(model, "module", model), "streak_target", None)
        if target is not None and "streak" in batch:
            batch = {**batch, "streak": target(batch["streak"])}
        with _loss_precision(batch["rainy"]):
            return self.loss_fn(_as_float(out, model), batch)


def _tell(notes: list[str], note: Callable[[str], None] | None) -> None:
    """Hand the dataset finders' notes (the sets found, a test split trained on, how names paired) to ``note``:
    training pairs by the same rules as ``evaluate``, and what it had to decide must not stay silent there."""
    if note is not None:
        for text in notes:
            note(text)


def _as_float(out: T, model: nn.Module) -> T:
    """A model's outputs in fp32: under autocast they come out bf16/fp16, too coarse for a loss.

    A NamedTuple comes back as the same NamedTuple, so that a loss reads its fields by name; a plain tuple as a
    plain tuple (``type(out)(*...)`` on one was a ``TypeError`` traceback: a tuple takes one iterable).
    Outputs that are not a tuple of tensors are one line naming the model and what training needs (a plugin
    family's forward may return a single tensor, which is enough to restore pictures but not to train with).
    """
    if not isinstance(out, tuple) or not all(isinstance(t, torch.Tensor) for t in out):
        raise ModelError(
            f"{_name(model)}.forward returned {type(out).__name__}; training needs a NamedTuple (or tuple) of "
            "tensors, as its family's loss reads them (docs/api.md, Model families)"
        )
    floats = (t.float() for t in out)
    return type(out)(*floats) if hasattr(out, "_fields") else tuple(floats)  # type: ignore[return-value]


def _name(model: nn.Module) -> str:
    """The class name of the model being trained (under DistributedDataParallel, of the model it wraps)."""
    return type(getattr(model, "module", model)).__name__


def _loss_precision(x: torch.Tensor) -> contextlib.AbstractContextManager[object]:
    """The loss runs in fp32 even when the forward pass ran under autocast (its filters are convolutions)."""
    return torch.autocast(x.device.type, enabled=False)
