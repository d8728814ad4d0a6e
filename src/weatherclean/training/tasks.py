"""The task adapters the trainer runs: where the data comes from and which loss applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from weatherclean.errors import DatasetError
from weatherclean.training.losses import DesnowLoss


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
    seed: int = 0
    loss_fn: DesnowLoss = field(default_factory=DesnowLoss)
    name: str = "snow"

    @property
    def finite(self) -> bool:
        return self.dataset is not None

    def clean_images(self) -> list[Path | np.ndarray]:
        from weatherclean.data.images import list_images, skimage_samples

        images: list[Path | np.ndarray] = []
        for folder in self.clean:
            found = list_images(folder) if Path(folder).is_dir() else [Path(folder)]
            if not found:
                raise DatasetError(f"{folder}: no images found (looked for PNG/JPEG/TIFF/WebP files)")
            images.extend(found)
        if self.include_skimage:
            images.extend(arr for _, arr in skimage_samples())
        return images

    def build_dataset(self) -> Dataset:
        from weatherclean.data.snow import Snow100KDataset, SyntheticSnowDataset

        if self.dataset is not None:
            return Snow100KDataset(self.dataset, crop=self.crop, augment=True, seed=self.seed)
        images = self.clean_images()
        if not images:
            raise DatasetError("no training data: pass --dataset DIR (Snow100K layout) or --clean DIR")
        return SyntheticSnowDataset(images, crop=self.crop, length=self.samples, level=self.level,
                                    seed=self.seed, augment=True, haze=self.haze)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return self.loss_fn(model, model(batch["x"]), batch)
