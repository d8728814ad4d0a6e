"""Snow training/evaluation data: Snow100K folders on disk and snow synthesised on the fly.

Both datasets return dicts of float32 CxHxW tensors in [0, 1] with the keys the DesnowNet losses use:
``x`` (snowy), ``y`` (clean), ``z`` (snow mask) and, for synthetic data, ``a`` (snow colour).

Every random choice for item ``i`` comes from ``numpy.random.default_rng([seed, epoch, i])``, so an
item is a pure function of (seed, epoch, i): the same with 0 or 8 DataLoader workers, and the same
when a run is resumed. The epoch lives in a shared-memory tensor so ``set_epoch`` also reaches
persistent DataLoader workers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from weatherclean.data.images import read_clean_photo, read_rgb
from weatherclean.data.negatives import CropScore, check_dry_crops, detailed_crop
from weatherclean.data.pairing import (
    SPLIT_FOLDERS,
    Inventory,
    Notes,
    Unpaired,
    group_names,
    images_by_stem,
    note_respelled,
    note_training_sets,
    one_kind,
    pick_input,
    pick_partner,
    pictures_in,
    readable,
    refuse_unreadable,
    split_folder,
    unpaired,
)
from weatherclean.data.tones import (
    check_tone_fraction,
    check_tone_haze,
    draw_dry_first,
    maybe_retone,
    stays_dry,
    tone_kinds,
)
from weatherclean.errors import DatasetError, InputError
from weatherclean.io.media import is_visible_image
from weatherclean.synth.common import StyleChoice
from weatherclean.synth.snow import SNOW_LEVELS, SnowSample, check_styles, synthesize_snow

__all__ = [
    "SnowTriple",
    "find_snow100k",
    "Snow100KDataset",
    "SyntheticSnowDataset",
]

_LAYOUT_HELP = (
    "expected Snow100K layout: <root>/synthetic/NAME.jpg with <root>/gt/NAME.jpg (and optional "
    "<root>/mask/NAME.jpg), e.g. Snow100K-training/all/... or a test tarball with "
    ".../test/Snow100K-{S,M,L}/{synthetic,gt,mask}; or CSD's <root>/Snow/NAME.tif with <root>/Gt/NAME.tif "
    "(and optional Mask/), e.g. CSD/Test"
)
#: Splits that are test sets: Snow100K's S/M/L (its test tarball), and a ``test`` folder (CSD's ``Test``).
_TEST_SPLITS = (*SNOW_LEVELS, "test")
#: Splits ``find_snow100k`` can pick: Snow100K's test splits by letter, or a ``train``/``test`` folder (CSD).
SNOW_SPLITS = (*SNOW_LEVELS, "train", "test")


@dataclass(frozen=True)
class SnowTriple:
    """One Snow100K example: snowy image, ground truth, optional mask, and a unique name."""

    synthetic: Path
    gt: Path
    mask: Path | None
    name: str
    split: str | None = None  # "S"/"M"/"L" when the folder says so (Snow100K-S, ...), "train"/"test" (CSD)
    #: The set (source folder) it comes from, as its name's prefix says; None when the dataset holds one set.
    group: str | None = None


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched without regard to case (Snow100K mirrors differ: gt vs GT)."""
    exact = folder / name
    if exact.is_dir():
        return exact
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.lower() == name:
            return entry
    return None


def _split_of(folder: Path, root: Path) -> str | None:
    """The split a set folder belongs to: the nearest ``Snow100K-X`` folder's letter (a name only this dataset
    uses, so it counts wherever it is in the path, as the test tarball nests it), else the nearest ``train``/``test``
    folder at or below the dataset ``root`` (CSD's ``Train``/``Test``; see :func:`split_folder`)."""
    for part in reversed(folder.resolve().parts):
        m = re.fullmatch(r"snow100k[-_ ]?([sml])", part, flags=re.IGNORECASE)
        if m:
            return m.group(1).upper()
    return split_folder(folder, root)


def _holds_pictures(folder: Path) -> bool:
    return any(is_visible_image(p) for p in folder.iterdir())


def _input_folder(folder: Path) -> Path | None:
    """The snowy-input sub-folder of a dataset folder: Snow100K's ``synthetic``, or CSD's ``Snow`` when a ``Gt``
    folder is beside it and it holds pictures itself: a ``snow/`` folder of sets (``snow/Snow100K-S/...``) with
    an unrelated ``gt/`` beside it is a folder to search, not CSD."""
    synthetic = _child(folder, "synthetic")
    if synthetic is not None:
        return synthetic
    snow = _child(folder, "snow")
    if snow is None or _child(folder, "gt") is None:
        return None
    return snow if _holds_pictures(snow) else None


def _candidate_folders(root: Path) -> list[Path]:
    """Folders holding a ``synthetic`` (or CSD ``Snow`` + ``Gt``) sub-folder, searched recursively (test
    tarballs nest deeply): ``root`` itself when it is a set, else every set below it. A set's own input, gt and
    mask folders are not searched (they hold its pictures); its other sub-folders are."""
    if root.name.lower() in ("synthetic", "snow") and _input_folder(root.parent) == root:
        return [root.parent]
    if _input_folder(root) is not None:
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        dirnames.sort()
        here = Path(dirpath)
        source = _input_folder(here)
        if source is not None:
            found.append(here)
            own = {source.name.lower(), "gt", "mask"}
            dirnames[:] = [d for d in dirnames if d.lower() not in own]
    return found


@readable()
def find_snow100k(
    root: Path | str,
    split: str | None = None,
    *,
    missing: Unpaired | None = None,
    notes: Notes | None = None,
    inventory: Inventory | None = None,
) -> list[SnowTriple]:
    """Find Snow100K (synthetic, gt, mask) triples under ``root``, matched by file stem.

    ``root`` may be the folder holding ``synthetic``/``gt``/``mask``, any folder above it, or the
    ``synthetic`` folder itself; CSD's ``Snow``/``Gt``/``Mask`` folders are read the same way. ``split``
    ("S", "M" or "L") keeps only ``Snow100K-<split>``; "train" or "test" keeps the folders under a
    ``train``/``test`` folder at or below ``root`` (CSD's ``Train``/``Test``). When several folders are found (all
    three test splits), names are prefixed with the folder so they stay unique, e.g.
    ``Snow100K-S_beautiful_smile_00003`` (:func:`group_names`).
    An image without its ground truth is an error, or a row in ``missing`` when given (see :func:`unpaired`).
    Two files of one stem (``x.png``, ``x.jpg``) are resolved as :func:`pick_input` and :func:`pick_partner`
    say, with a line in ``notes`` when given. ``inventory`` receives the name of every input of every folder
    found, before the split is picked (what ``evaluate --outputs`` needs).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; {_LAYOUT_HELP}")
    if split is not None:
        split = split.upper() if split.upper() in SNOW_LEVELS else SPLIT_FOLDERS.get(split.lower(), split)
        if split not in SNOW_SPLITS:
            raise DatasetError(
                f"unknown snow split {split!r}: use one of {', '.join(SNOW_LEVELS)} (Snow100K) or train, test (CSD)"
            )
    folders = _candidate_folders(root)
    if not folders:
        rainy = any(_child(root, name) is not None for name in ("rain", "rainy", "norain"))
        hint = " (it holds rain pictures: for rain, add --task rain)" if rainy else ""
        raise DatasetError(f"{root}: no 'synthetic' folder found{hint}; {_LAYOUT_HELP}")
    base = root.parent if folders == [root.parent] else root  # given the input folder itself: its set is the root
    csd = [f for f in folders if _child(f, "synthetic") is None]
    one_kind(root, {"Snow100K": [f for f in folders if f not in csd], "CSD": csd})
    if inventory is not None:
        inventory.many = inventory.many or len(folders) > 1
        for folder in folders:
            source = _input_folder(folder)
            assert source is not None
            inventory.keys.extend(p.stem for p in pictures_in(source))
    if split is not None:
        available = sorted({s for f in folders if (s := _split_of(f, base)) is not None})
        folders = [f for f in folders if _split_of(f, base) == split]
        if not folders:
            have = ", ".join(available) if available else "none named Snow100K-S/M/L, train or test"
            what = f"Snow100K-{split}" if split in SNOW_LEVELS else f"'{split}'"
            raise DatasetError(f"{root}: no {what} folder found (splits found: {have})")
    groups = group_names(folders, base, lambda f: f.name)
    triples: list[SnowTriple] = []
    for folder in folders:
        synthetic_dir = _input_folder(folder)
        gt_dir = _child(folder, "gt")
        assert synthetic_dir is not None
        if gt_dir is None:
            raise DatasetError(
                f"{folder}: has '{synthetic_dir.name}' but no 'gt' folder next to it; add gt/ with the clean pictures"
            )
        mask_dir = _child(folder, "mask")
        snowy = images_by_stem(pictures_in(synthetic_dir))
        gts = images_by_stem(pictures_in(gt_dir))
        masks = images_by_stem(pictures_in(mask_dir)) if mask_dir is not None else None
        group = groups[folder]
        folder_split = _split_of(folder, base)
        respelled: list[tuple[Path, Path]] = []
        for stem, paths in snowy.items():
            path = pick_input(paths, notes)
            gt, ambiguous = gts.get(stem), None
            if gt is None:  # a copy through macOS: the same name in another Unicode normalisation (NFD, NFC)
                gt, ambiguous = gts.respelled(stem, taken=snowy)
            if gt is None:
                why = f"no ground truth '{stem}.*' in {gt_dir}; " + (
                    ambiguous or f"every {synthetic_dir.name} image needs a gt image with the same name"
                )
                unpaired(missing, path, why)
                continue
            name = f"{group}_{stem}" if group else stem
            mask_group = (masks.get(stem) or masks.respelled(stem, taken=snowy)[0]) if masks else None
            mask = pick_partner(mask_group, path, None) if mask_group else None
            chosen = pick_partner(gt, path, notes)
            if stem not in gts:
                respelled.append((path, chosen))
            triples.append(SnowTriple(path, chosen, mask, name, folder_split, group))
        note_respelled(notes, gt_dir, respelled)
    if not triples and missing:
        raise DatasetError(f"{root}: no synthetic image has its ground truth (e.g. {missing[0][1]})")
    if not triples:
        where = ", ".join(str(_input_folder(f)) for f in folders[:3])
        raise DatasetError(f"{root}: the input folder(s) hold no images ({where}); {_LAYOUT_HELP}")
    return triples


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def _to_chw(arr: np.ndarray) -> torch.Tensor:
    if arr.ndim == 2:
        arr = arr[..., None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32))


def _pad_to(arr: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad H and W up to ``size`` (repeatedly, for images far smaller than the crop)."""
    while arr.shape[0] < size or arr.shape[1] < size:
        ph = min(size - arr.shape[0], arr.shape[0] - 1) if arr.shape[0] < size else 0
        pw = min(size - arr.shape[1], arr.shape[1] - 1) if arr.shape[1] < size else 0
        mode = "reflect" if min(arr.shape[:2]) > 1 else "edge"
        if mode == "edge":
            ph, pw = max(size - arr.shape[0], 0), max(size - arr.shape[1], 0)
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (arr.ndim - 2)
        arr = np.pad(arr, pad, mode=mode)
    return arr


class _EpochMixin:
    """Epoch counter in shared memory so that persistent DataLoader workers see ``set_epoch``."""

    def _init_epoch(self) -> None:
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    def set_epoch(self, epoch: int) -> None:
        """Change the random crops/snow for a new epoch; item i stays a function of (seed, epoch, i)."""
        self._epoch[0] = int(epoch)

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def __getitem__(self, index: int) -> dict:
        return self.item(index, self.epoch)

    def item(self, index: int, epoch: int) -> dict:
        """Item ``index`` of ``epoch``: a pure function of (seed, epoch, index), with no shared state,
        which is what the trainer calls so that workers never race on the epoch counter."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------
# Snow100K on disk
# --------------------------------------------------------------------------------------------------


class Snow100KDataset(_EpochMixin, Dataset):
    """Snow100K triples as tensors; random crops and flips for training, full images for evaluation.

    Items: ``{"x", "y": 3xHxW, "z": 1xHxW, "has_mask": bool tensor, "name": str}``. When a mask file is
    missing ``z`` is zeros and ``has_mask`` is False, so a loss can skip the mask term for that item.
    """

    def __init__(
        self,
        root: Path | str,
        crop: int | None = None,
        augment: bool = False,
        split: str | None = None,
        seed: int = 0,
        notes: Notes | None = None,
    ) -> None:
        self.triples = find_snow100k(root, split=split, notes=notes)
        tests = [t.synthetic for t in self.triples if t.split in _TEST_SPLITS]
        note_training_sets(notes, Path(root), [t.group for t in self.triples], tests)
        self.crop = crop
        self.augment = augment
        self.seed = int(seed)
        self._init_epoch()

    def __len__(self) -> int:
        return len(self.triples)

    def _read(self, triple: SnowTriple) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        try:
            x = read_rgb(triple.synthetic)
            y = read_rgb(triple.gt)
            z = read_rgb(triple.mask).mean(axis=2, keepdims=True) if triple.mask is not None else None
        except InputError as exc:
            raise DatasetError(str(exc)) from None
        if x.shape != y.shape:
            raise DatasetError(
                f"{triple.synthetic}: size {x.shape[1]}x{x.shape[0]} differs from its gt {triple.gt} "
                f"({y.shape[1]}x{y.shape[0]}); the pair must be aligned"
            )
        if z is not None and z.shape[:2] != x.shape[:2]:
            raise DatasetError(f"{triple.mask}: mask size differs from {triple.synthetic}")
        return x, y, z

    def item(self, index: int, epoch: int) -> dict[str, torch.Tensor | str]:
        triple = self.triples[index]
        x, y, z = self._read(triple)
        has_mask = z is not None
        if z is None:
            z = np.zeros(x.shape[:2] + (1,), dtype=np.float32)
        stack = np.concatenate([x, y, z], axis=2)
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.crop is not None:
            stack = _pad_to(stack, self.crop)
            top = int(rng.integers(0, stack.shape[0] - self.crop + 1))
            left = int(rng.integers(0, stack.shape[1] - self.crop + 1))
            stack = stack[top : top + self.crop, left : left + self.crop]
        if self.augment:
            if rng.random() < 0.5:
                stack = stack[:, ::-1]
            if rng.random() < 0.5:
                stack = stack[::-1]
        return {
            "x": _to_chw(stack[..., 0:3]),
            "y": _to_chw(stack[..., 3:6]),
            "z": _to_chw(stack[..., 6:7]),
            "has_mask": torch.tensor(has_mask),
            "name": triple.name,
        }


# --------------------------------------------------------------------------------------------------
# Snow synthesised on the fly
# --------------------------------------------------------------------------------------------------


def check_clean_fraction(value: float) -> None:
    """``clean_fraction`` is a probability."""
    if not 0.0 <= value < 1.0:
        raise DatasetError(f"clean fraction {value} must be at least 0 and below 1")


class SyntheticSnowDataset(_EpochMixin, Dataset):
    """Random crops of a few clean images with freshly synthesised snow: unlimited paired data.

    ``styles`` limits the snow styles drawn from (None: all; docs/synthesis.md), which is how a model is
    trained without one style to test it on that style.

    ``clean_fraction`` of the items carry no weather at all (input = ground truth, empty mask). Without
    them a model never sees a snow-free picture in training, and it learns to "remove" a little snow
    everywhere, which darkens and flattens lightly snowed or snow-free photos.

    ``tone_fraction`` of the clean backgrounds are re-toned (brighter, lifted or flatter;
    :mod:`weatherclean.data.tones`) before the snow is added, and the re-toned picture is the ground truth;
    ``tone_haze="dry"`` keeps the haze tone off the backgrounds that get snow.

    ``dry_crops`` K > 1 takes each snow-free item's crop as the most detailed of K random crops (hard
    negatives, :mod:`weatherclean.data.negatives`); snowy items are cropped as before. ``dry_score``
    replaces the detail measure that picks among them, e.g. with the change a frozen model would make
    (``train --dry-pick change``).

    Items: ``{"x": snowy, "y": clean, "a": snow colour (3xHxW), "z": mask (1xHxW)}``, crop x crop.
    ``length`` is the nominal epoch size; the data never repeats exactly because snow, crop and
    jitter all change with (seed, epoch, index).
    """

    def __init__(
        self,
        clean_images: Sequence[Path | str | np.ndarray],
        crop: int = 64,
        length: int = 1000,
        level: str | None = None,
        seed: int = 0,
        augment: bool = True,
        haze: bool = True,
        clean_fraction: float = 0.0,
        styles: StyleChoice = None,
        tone_fraction: float = 0.0,
        tone_haze: str = "all",
        dry_crops: int = 1,
        dry_score: CropScore | None = None,
    ) -> None:
        if len(clean_images) == 0:
            raise DatasetError("SyntheticSnowDataset: no clean images given; pass image paths or arrays")
        check_clean_fraction(clean_fraction)
        check_tone_fraction(tone_fraction)
        check_tone_haze(tone_haze)
        check_dry_crops(dry_crops)
        if level is not None and level not in SNOW_LEVELS:
            raise DatasetError(f"unknown snow level {level!r}: use one of {', '.join(SNOW_LEVELS)} or None")
        if crop < 8:
            raise DatasetError(f"crop {crop} is too small; use at least 8 pixels")
        try:
            self.styles = check_styles(styles)
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        self.crop = int(crop)
        self.length = int(length)
        self.level = level
        self.seed = int(seed)
        self.augment = augment
        self.haze = haze
        self.clean_fraction = float(clean_fraction)
        self.tone_fraction = float(tone_fraction)
        self.tone_haze = tone_haze
        self.dry_crops = dry_crops
        self.dry_score = dry_score
        # Loaded once: there are few clean images and decoding them per item would dominate the time.
        # Files are kept as uint8 (exact for 8-bit images, a quarter of the memory of float32).
        self.images: list[np.ndarray] = [self._load(item) for item in clean_images]
        self._init_epoch()

    @staticmethod
    def _load(item: Path | str | np.ndarray) -> np.ndarray:
        if isinstance(item, np.ndarray):
            arr = item
            if arr.ndim != 3 or arr.shape[2] != 3:
                raise DatasetError(f"clean image array must be HxWx3, got shape {arr.shape}")
            if arr.dtype == np.uint8:
                return arr
            return np.clip(arr.astype(np.float32), 0.0, 1.0)
        rgb = read_clean_photo(item)  # upright: a clean background alone, the weather falls down the view
        return np.round(rgb * 255.0).astype(np.uint8)

    def __len__(self) -> int:
        return self.length

    def _crop(self, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
        """A crop x crop float32 patch, with scale jitter (0.5-1x, i.e. zooming out up to 2x)."""
        c = self.crop
        h, w = image.shape[:2]
        scale = float(rng.uniform(0.5, 1.0)) if self.augment else 1.0
        src = int(round(c / scale))
        src = max(1, min(src, h, w))
        top = int(rng.integers(0, h - src + 1))
        left = int(rng.integers(0, w - src + 1))
        patch = image[top : top + src, left : left + src]
        patch = patch.astype(np.float32) / 255.0 if patch.dtype == np.uint8 else patch.astype(np.float32)
        if src != c:
            if src < c and min(h, w) < c and not self.augment:
                return _pad_to(patch, c)[:c, :c]
            t = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))[None]
            t = F.interpolate(t, size=(c, c), mode="bilinear", align_corners=False, antialias=src > c)
            patch = t[0].permute(1, 2, 0).clamp_(0.0, 1.0).numpy()
        return np.ascontiguousarray(patch)

    @staticmethod
    def _jitter(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray:
        """Flips, 90-degree turns and mild colour changes, applied to the clean image before snow so
        that the snow still falls down and keeps its own colour."""
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        patch = np.rot90(patch, k=int(rng.integers(0, 4)))
        brightness = float(rng.uniform(0.85, 1.15))
        contrast = float(rng.uniform(0.85, 1.15))
        saturation = float(rng.uniform(0.85, 1.15))
        grey = patch.mean(axis=2, keepdims=True)
        patch = grey + (patch - grey) * saturation
        mean = float(patch.mean())
        patch = (patch - mean) * contrast + mean
        patch = patch * brightness
        return np.clip(patch, 0.0, 1.0).astype(np.float32)

    def item(self, index: int, epoch: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, epoch, index])
        image = self.images[int(rng.integers(0, len(self.images)))]
        dry = draw_dry_first(rng, self.clean_fraction, self.tone_haze, early=self.dry_crops > 1)
        patch = detailed_crop(lambda r: self._crop(r, image), rng, self.dry_crops if dry else 1, self.dry_score)
        if self.augment:
            patch = self._jitter(rng, patch)
        patch = maybe_retone(rng, patch, self.tone_fraction, tone_kinds(self.tone_haze, dry))
        sample = synthesize_snow(patch, rng, self.level, self.haze, self.styles)
        if stays_dry(rng, self.clean_fraction, dry):  # a snow-free picture: the model must leave it alone
            sample = SnowSample(patch, np.zeros_like(sample.mask), sample.aberration)
        return {
            "x": _to_chw(sample.snowy),
            "y": _to_chw(patch),
            "z": _to_chw(sample.mask),
            "a": _to_chw(sample.aberration),
        }
