"""Rain training/evaluation data: rain video datasets on disk, frame folders, video files, and rain
synthesised on the fly.

Every reader returns clips as :class:`RainClipPaths`: the rainy frames and (when the dataset has them)
the matching clean frames as paths, read only when asked (:meth:`RainClipPaths.read`), because a video
dataset is far bigger than memory. Single images (the paired ``{rain,gt}/NAME.png`` layout) are clips of
one frame, so image and video data share one code path.

Layouts understood (folder names match without regard to case):

* RainSynLight25 / RainSynComplex25: ``video_rain_{light,heavy}/{train,test}/{input,processed}/CLIP/F.png``
  (``processed`` is the ground truth); :func:`find_rainsyn` accepts any level of it.
* NTURain: ``CLIP_Rain/`` with ``CLIP_GT/`` beside it, frames ``00001.jpg``...; :func:`find_nturain` also
  finds them nested under ``train``/``test`` folders.
* ``weatherclean synth rain``: ``{rain,gt,streak,alpha,reliance}/CLIP/00001.png`` (``--clips``) or
  ``{rain,gt,...}/NAME.png``, which is also the layout of paired image sets; :func:`find_rain_pairs`, which
  also reads the public single-image benchmarks as distributed (:data:`PAIR_FOLDERS`, :data:`STEM_RULES`):
  Rain100L/H's ``rain-001.png`` + ``norain-001.png`` (in one folder, in ``rain/`` + ``norain/``, or PReNet's
  ``rainy/`` with the ground truths beside it), JORDER's ``rain/X2/norain-1x2.png`` + ``norain/norain-1.png``,
  Restormer/MPRNet's ``input/`` + ``target/`` and SPA-style ``N_rain.png`` + ``N_gt.png``.
* A folder of frames without ground truth (one clip), or a folder of such folders; :func:`find_frame_folders`.
* Video files, read with the decoder ``derain`` uses; :func:`iter_video_frames`.

The datasets return dicts of float32 T x C x H x W tensors in [0, 1]; item ``i`` of epoch ``e`` draws its
randomness from ``numpy.random.default_rng([seed, e, i])`` exactly like the snow datasets, so it does not
depend on the number of DataLoader workers and survives resuming a run.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    Spellings,
    StemGroups,
    Unpaired,
    add_note,
    ambiguous_spelling,
    group_names,
    images_by_stem,
    note_respelled,
    note_training_sets,
    one_kind,
    pick_input,
    pick_partner,
    readable,
    refuse_unreadable,
    spelled,
    split_folder,
    unpaired,
)
from weatherclean.data.snow import _EpochMixin, _pad_to, check_clean_fraction
from weatherclean.data.tones import (
    check_tone_fraction,
    check_tone_haze,
    draw_dry_first,
    maybe_retone,
    stays_dry,
    tone_kinds,
)
from weatherclean.errors import DatasetError, InputError
from weatherclean.io import media
from weatherclean.io.media import VIDEO_SUFFIXES, is_video_path, is_visible_image, natural_key
from weatherclean.io.video import iter_frames
from weatherclean.synth.common import StyleChoice
from weatherclean.synth.rain import RAIN_LEVELS, CameraMotion, check_styles, synthesize_rain, synthesize_rain_clip
from weatherclean.synth.snow import SNOW_LEVELS

__all__ = [
    "PAIRED_HELP",
    "VIDEO_SUFFIXES",
    "PairedRainDataset",
    "RainClipPaths",
    "SyntheticRainDataset",
    "clean_candidates",
    "find_frame_folders",
    "find_nturain",
    "find_rain_clips",
    "find_rain_pairs",
    "find_rainsyn",
    "iter_video_frames",
    "list_frames",
    "natural_key",
    "read_video_frames",
]

_RAINSYN_HELP = (
    "expected RainSynLight25/Complex25 layout: video_rain_{light,heavy}/{train,test}/{input,processed}/CLIP/"
    "FRAME.png (processed = ground truth)"
)
_NTURAIN_HELP = "expected NTURain layout: CLIP_Rain/ folders of frames with CLIP_GT/ folders beside them"
_PAIRS_HELP = (
    "expected <root>/rain/NAME.png with <root>/gt/NAME.png (also rain/ or rainy/ with norain/, input/ with "
    "target/ or gt/; names may be rain-N with norain-N, or N_rain with N_gt or N_clean), rain-N.png with "
    "norain-N.png in one folder or rainy/rain-N.png with norain-N.png beside it (Rain100L/H), or clips as "
    "<root>/rain/CLIP/00001.png with <root>/gt/CLIP/00001.png (the layout `weatherclean synth rain` writes)"
)
#: Said once (a note) where pictures have no ground truth, rather than after every one of them.
_NAMING_NOTE = (
    "a rainy picture's ground truth is found by name, never by order: the same file stem, or rain-N with norain-N, "
    "or N_rain with N_gt or N_clean (docs/usage.md lists the layouts)"
)
#: What ``evaluate`` needs, for a folder whose pictures have no ground truth at all.
PAIRED_HELP = (
    "give paired pictures (rain/ + gt/, Rain100L/H, input/ + target/...) or clips with ground truth (RainSyn, "
    "NTURain, synth rain --clips); docs/usage.md lists the layouts"
)
_ANY_HELP = (
    "use a RainSynLight25/Complex25 folder (video_rain_*/{train,test}/{input,processed}), an NTURain folder "
    "(CLIP_Rain with CLIP_GT), paired pictures (rain/ + gt/, Rain100L/H, input/ + target/), or a folder of frames"
)


def list_frames(folder: Path | str) -> list[Path]:
    """Image files directly inside ``folder`` in natural order (hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder of frames")
    return media.list_frames(folder)


def _subdirs(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: natural_key(p.name)
    )


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched without regard to case (mirrors differ: GT vs gt, Input vs input)."""
    exact = folder / name
    if exact.is_dir():
        return exact
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.lower() == name:
            return entry
    return None


def _respelled_name(spellings: Spellings, name: str) -> tuple[str | None, str | None]:
    """The one folder name of ``spellings`` that is ``name`` written in another Unicode normalisation, and None;
    else None and why none is used where several are (None where none is). One step for every folder lookup."""
    found, rivals = spellings.find(name)
    return found, ambiguous_spelling(rivals, "folders") if rivals else None


def _ground_truth_clip(
    gt_dir: Path, name: str, exact: Path | None, cache: dict[Path, Spellings]
) -> tuple[Path | None, str | None, bool]:
    """(ground-truth clip folder, why none is used, whether it was found respelled) for the clip folder ``name``:
    ``exact`` where the caller found it as it is or in another case; else the one sub-folder of ``gt_dir`` whose
    name is ``name`` written in another Unicode normalisation, without regard to case (a copy through macOS,
    :class:`~weatherclean.data.pairing.Spellings`). ``cache`` keeps each folder's spellings, so a folder is listed
    once, not once per unmatched clip."""
    if exact is not None:
        return exact, None, False
    if gt_dir not in cache:
        cache[gt_dir] = Spellings((p.name for p in _subdirs(gt_dir)), str.lower)
    found, ambiguous = _respelled_name(cache[gt_dir], name)
    return (gt_dir / found if found is not None else None), ambiguous, found is not None


@dataclass(frozen=True)
class RainClipPaths:
    """One clip on disk: rainy frames in order and, when the dataset has them, clean frames (and, for our
    own synthetic output, the streak, alpha and reliance maps) in the same order."""

    name: str
    rainy: tuple[Path, ...]
    clean: tuple[Path, ...] | None = None
    streak: tuple[Path, ...] | None = None
    alpha: tuple[Path, ...] | None = None
    reliance: tuple[Path, ...] | None = None
    layout: str = "frames"  # "rainsyn", "nturain", "pairs" (find_rain_pairs: {rain,gt}, Rain100L/H...) or "frames"
    split: str | None = None  # "train" / "test" when the folders at or below the dataset root say so
    level: str | None = None  # "light" / "heavy" when the folders say so
    #: The set (source folder) it comes from, as its name's prefix says; None when the dataset holds one set.
    group: str | None = None

    def __len__(self) -> int:
        return len(self.rainy)

    @property
    def location(self) -> Path:
        """Where the clip is on disk, to name it in a failure: a still's file, a clip's folder of frames."""
        return self.rainy[0] if len(self) == 1 else self.rainy[0].parent

    def frame_key(self, index: int) -> str:
        """Frame ``index``'s name in its folder, as restored copies are named: ``x`` for a still (``derain`` writes
        ``OUT/x.png``), ``CLIP/00001`` for a clip frame (``OUT/CLIP/00001.png``)."""
        frame = self.rainy[index]
        return frame.stem if len(self) == 1 else f"{frame.parent.name}/{frame.stem}"

    def frame_name(self, index: int) -> str:
        """Frame ``index``'s row name in a score table: the clip's name for a still, ``clip/frame`` otherwise."""
        return self.name if len(self) == 1 else f"{self.name}/{self.rainy[index].stem}"

    @property
    def has_gt(self) -> bool:
        return self.clean is not None

    def read_frame(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Rainy and clean (or None) frame ``index`` as HxWx3 float32; sizes are checked."""
        rainy = _read(self.rainy[index])
        if self.clean is None:
            return rainy, None
        clean = _read(self.clean[index])
        if clean.shape != rainy.shape:
            raise DatasetError(
                f"{self.rainy[index]}: size {rainy.shape[1]}x{rainy.shape[0]} differs from its ground truth "
                f"{self.clean[index]} ({clean.shape[1]}x{clean.shape[0]}); the pair must be aligned"
            )
        return rainy, clean

    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Frames ``start:stop`` as TxHxWx3 float32 arrays (rainy, clean or None)."""
        indices = range(len(self))[start:stop]
        pairs = [self.read_frame(i) for i in indices]
        if not pairs:
            raise DatasetError(f"clip {self.name}: no frames in {start}:{stop}")
        shape = pairs[0][0].shape
        for i, (rainy, _) in zip(indices, pairs, strict=True):
            if rainy.shape != shape:
                raise DatasetError(
                    f"{self.rainy[i]}: frame size {rainy.shape[1]}x{rainy.shape[0]} differs from the clip's "
                    f"first frame ({shape[1]}x{shape[0]}); all frames of a clip must have one size"
                )
        rainy = np.stack([p[0] for p in pairs])
        clean = np.stack([p[1] for p in pairs if p[1] is not None]) if self.clean is not None else None
        return rainy, clean


def _read(path: Path) -> np.ndarray:
    """A frame of a pair as float RGB, as stored: both sides stay unturned, so they keep matching (a lone
    clean background is read upright, by :func:`~weatherclean.data.images.read_clean_photo`)."""
    try:
        return read_rgb(path)
    except InputError as exc:
        raise DatasetError(str(exc)) from None


def _refuse_all_unpaired(root: Path, clips: list[RainClipPaths], missing: Unpaired | None) -> None:
    """Where every rainy picture or clip under ``root`` lacks its ground truth, say so (with the first reason,
    and once the layouts), rather than that the folder holds nothing: ``evaluate`` would have nothing to score."""
    if not clips and missing:
        raise DatasetError(
            f"{root}: no rainy picture or clip has its ground truth (e.g. {missing[0][1]}); docs/usage.md lists the "
            "layouts read"
        )


def _clip_frames(
    clip_dir: Path, gt_clip: Path | None, why: str, missing: Unpaired | None, notes: Notes | None
) -> tuple[tuple[Path, ...], tuple[Path, ...]] | None:
    """A clip's rainy and clean frames, paired (:func:`_pair_frames`); None when its ground-truth folder
    ``gt_clip`` is missing (the clip is then named as unpaired, for ``why``) or its frames do not pair."""
    if gt_clip is None:
        unpaired(missing, clip_dir, why)
        return None
    return _pair_frames(clip_dir.name, clip_dir, gt_clip, missing, notes)


def _pair_frames(
    clip: str, rainy_dir: Path, clean_dir: Path, missing: Unpaired | None = None, notes: Notes | None = None
) -> tuple[tuple[Path, ...], tuple[Path, ...]] | None:
    """Rainy and clean frames of one clip, paired by file stem when the names agree, else by order.

    A clip whose ground truth has another number of frames is a clip without its ground truth: an error for
    training, which needs every pair, or a row in ``missing`` for ``evaluate``, which scores the other clips
    and names this one (see :func:`~weatherclean.data.snow.unpaired`); then None. Order pairing where some
    names do agree (rainy 1, 2, 3 against clean 2, 3, 4) is most likely a shifted clip, so ``notes`` says so.
    """
    rainy = list_frames(rainy_dir)
    clean = list_frames(clean_dir)
    if not rainy:
        raise DatasetError(f"{rainy_dir}: clip {clip} holds no frames")
    if len(rainy) != len(clean):
        unpaired(
            missing,
            rainy_dir,
            f"{len(rainy)} rainy frames but {len(clean)} ground-truth frames in {clean_dir}; every rainy frame "
            "needs its clean frame",
        )
        return None
    by_stem = {p.stem: p for p in clean}
    partner = _frame_partners([p.stem for p in rainy], by_stem)
    agree = sum(p.stem in partner for p in rainy)
    if agree == len(rainy):
        return tuple(rainy), tuple(by_stem[partner[p.stem]] for p in rainy)
    if agree:
        shifted = next(f"{r.name} with {c.name}" for r, c in zip(rainy, clean, strict=True) if r.stem != c.stem)
        add_note(
            notes,
            f"{rainy_dir}: clip {clip}: only {agree} of its {len(rainy)} frame names have a ground-truth frame of the "
            f"same name in {clean_dir}, so its frames were paired by order (e.g. {shifted}); check that the clip's "
            "frames line up",
        )
    return tuple(rainy), tuple(clean)


def _frame_partners(stems: list[str], clean: Mapping[str, Path]) -> dict[str, str]:
    """Each rainy frame's stem (of ``stems``) with the clean frame stem of the same name: as it is, else written in
    another Unicode normalisation (a copy through macOS) where one clean frame is and no rainy frame has that name
    as it is; frames with neither are left out.

    Why the second: such a clip was paired by order, and names in the two normalisations need not sort alike
    (``é`` after ``z`` in NFC, before it in NFD), so frames were matched with other frames' ground truths."""
    partner = {stem: stem for stem in stems if stem in clean}
    if len(partner) < len(stems):
        spellings = Spellings(name for name in clean if name not in partner)
        found = {stem: spellings.find(stem)[0] for stem in stems if stem not in partner}
        taken = Counter(found.values())
        partner.update({stem: name for stem, name in found.items() if name is not None and taken[name] == 1})
    return partner


# --------------------------------------------------------------------------------------------------
# RainSynLight25 / RainSynComplex25
# --------------------------------------------------------------------------------------------------


def _level_of(path: Path) -> str | None:
    for part in reversed(path.parts):
        m = re.fullmatch(r"video_rain_(light|heavy)", part, flags=re.IGNORECASE)
        if m:
            return m.group(1).lower()
        low = part.lower()
        if low.startswith("rainsynlight"):
            return "light"
        if low.startswith("rainsyncomplex"):
            return "heavy"
    return None


def _folders_with(root: Path, first: str, second: str) -> list[Path]:
    """Folders under ``root`` (itself included) that hold both sub-folders ``first`` and ``second``;
    the search does not descend into those two."""
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        dirnames.sort(key=natural_key)
        names = {d.lower() for d in dirnames}
        if first in names and second in names:
            found.append(Path(dirpath))
            dirnames[:] = [d for d in dirnames if d.lower() not in (first, second)]
    return found


def _label(folder: Path, root: Path) -> str:
    """What the folders say about a set: its level and split (``heavy_test``), the first part of its clips'
    names when the dataset holds several sets (:func:`~weatherclean.data.pairing.group_names`)."""
    return "_".join(p for p in (_level_of(folder.resolve()), split_folder(folder, root)) if p)


def _rainsyn_root(root: Path) -> Path:
    """The RainSyn folder to search: ``root``, or its parent when ``root`` is an ``input``/``processed`` folder."""
    return root.parent if root.name.lower() in ("input", "processed") else root


@readable()
def find_rainsyn(
    root: Path | str,
    split: str | None = None,
    level: str | None = None,
    *,
    missing: Unpaired | None = None,
    notes: Notes | None = None,
) -> list[RainClipPaths]:
    """Clips of RainSynLight25/RainSynComplex25 under ``root`` (the dataset root, a ``video_rain_*``
    folder, a ``train``/``test`` folder, or its ``input`` folder). ``split`` ("train"/"test") and
    ``level`` ("light"/"heavy") filter by the folder names (a split only by folders at or below ``root``).
    When the tree holds several such folders, clip names are prefixed with their level and split
    (``heavy_test_a1``), filtered or not, so they stay unique and stable."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; {_RAINSYN_HELP}")
    root = _rainsyn_root(root)
    return _rainsyn_clips(root, _folders_with(root, "input", "processed"), split, level, missing, notes)


def _rainsyn_clips(
    root: Path,
    folders: list[Path],
    split: str | None,
    level: str | None,
    missing: Unpaired | None,
    notes: Notes | None,
) -> list[RainClipPaths]:
    """The clips of the RainSyn ``folders`` found under ``root`` (see :func:`find_rainsyn`)."""
    if not folders:
        raise DatasetError(f"{root}: no folder with 'input' and 'processed' sub-folders; {_RAINSYN_HELP}")
    groups = group_names(folders, root, lambda f: _label(f, root))  # before filtering: names do not depend on it
    if split is not None:
        folders = [f for f in folders if split_folder(f, root) == split.lower()]
    if level is not None:
        folders = [f for f in folders if _level_of(f.resolve()) == level.lower()]
    if not folders:
        raise DatasetError(f"{root}: no RainSyn folder for split={split} level={level}; {_RAINSYN_HELP}")
    clips: list[RainClipPaths] = []
    spellings: dict[Path, Spellings] = {}
    for folder in folders:
        input_dir, gt_dir = _child(folder, "input"), _child(folder, "processed")
        assert input_dir is not None and gt_dir is not None
        group = groups[folder]
        respelled: list[tuple[Path, Path]] = []
        for clip_dir in _subdirs(input_dir):
            exact = _child(gt_dir, clip_dir.name.lower())
            gt_clip, ambiguous, by_spelling = _ground_truth_clip(gt_dir, clip_dir.name, exact, spellings)
            why = f"no ground truth {gt_dir / clip_dir.name}; {ambiguous or 'every input clip needs a processed clip'}"
            paired = _clip_frames(clip_dir, gt_clip, why, missing, notes)
            if paired is None:
                continue
            rainy, clean = paired
            name = f"{group}_{clip_dir.name}" if group else clip_dir.name
            where = {"split": split_folder(folder, root), "level": _level_of(folder.resolve()), "group": group}
            clips.append(RainClipPaths(name, rainy, clean, layout="rainsyn", **where))
            if by_spelling and gt_clip is not None:
                respelled.append((clip_dir, gt_clip))
        note_respelled(notes, gt_dir, respelled, "clip(s)")
    _refuse_all_unpaired(root, clips, missing)
    if not clips:
        raise DatasetError(f"{root}: the 'input' folder(s) hold no clip folders; {_RAINSYN_HELP}")
    return clips


# --------------------------------------------------------------------------------------------------
# NTURain
# --------------------------------------------------------------------------------------------------

_NTU_RAIN = re.compile(r"(.+?)[_-]rain", flags=re.IGNORECASE)


@readable()
def find_nturain(
    root: Path | str, *, missing: Unpaired | None = None, notes: Notes | None = None
) -> list[RainClipPaths]:
    """NTURain clips under ``root``: every ``CLIP_Rain`` folder paired with ``CLIP_GT`` beside it (searched
    recursively, so ``train``/``test`` nesting works). Names are prefixed with the split when there are
    clips in more than one folder."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; {_NTURAIN_HELP}")
    pairs: list[tuple[Path, Path, str]] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        dirnames.sort(key=natural_key)
        here = Path(dirpath)
        for d in dirnames:
            match = _NTU_RAIN.fullmatch(d)
            if match is None:
                continue
            clip = match.group(1)
            gt = next((g for g in dirnames if g.lower() in (f"{clip}_gt".lower(), f"{clip}-gt".lower())), None)
            ambiguous: str | None = None
            if gt is None:  # a copy through macOS: the name in another Unicode normalisation (NFD, NFC)
                gt, ambiguous = _nturain_respelled(clip, dirnames)
                if gt is not None:
                    add_note(
                        notes,
                        f"{here}: paired the clip {spelled(d)} with {spelled(gt)}, whose name is written in another "
                        "Unicode normalisation (as a copy through macOS may leave it)",
                    )
            if gt is None:
                why = ambiguous or _NTURAIN_HELP
                unpaired(missing, here / d, f"no ground truth folder {clip}_GT beside it; {why}")
                continue
            pairs.append((here / d, here / gt, clip))
        # Clip folders hold frames, not more clips.
        dirnames[:] = [d for d in dirnames if not _NTU_RAIN.fullmatch(d) and not re.search(r"[_-]gt$", d, re.I)]
    if not pairs:
        raise DatasetError(f"{root}: no CLIP_Rain folders found; {_NTURAIN_HELP}")
    parents = sorted({p[0].parent for p in pairs}, key=lambda f: natural_key(f.as_posix()))
    groups = group_names(parents, root, lambda f: _label(f, root))
    clips = []
    for rain_dir, gt_dir, clip in pairs:
        paired = _pair_frames(clip, rain_dir, gt_dir, missing, notes)
        if paired is None:
            continue
        rainy, clean = paired
        group = groups[rain_dir.parent]
        name = f"{group}_{clip}" if group else clip
        where = {"split": split_folder(rain_dir.parent, root), "group": group}
        clips.append(RainClipPaths(name, rainy, clean, layout="nturain", **where))
    _refuse_all_unpaired(root, clips, missing)
    return clips


def _nturain_respelled(clip: str, dirnames: list[str]) -> tuple[str | None, str | None]:
    """``CLIP_GT`` (or ``CLIP-GT``) among ``dirnames`` written in another Unicode normalisation, for a clip whose
    ground-truth folder is not there as it is: (its name, None); (None, why) where several are; (None, None)."""
    spellings = Spellings(dirnames, str.lower)
    for wanted in (f"{clip}_GT", f"{clip}-GT"):
        found, ambiguous = _respelled_name(spellings, wanted)
        if found is not None or ambiguous is not None:
            return found, ambiguous
    return None, None


# --------------------------------------------------------------------------------------------------
# Our own synthetic output and paired image folders
# --------------------------------------------------------------------------------------------------

_MAPS = ("streak", "alpha", "reliance")


def _maps_for(folder: Path, name: str, count: int, single: Path | None) -> dict[str, tuple[Path, ...] | None]:
    """Optional streak/alpha/reliance paths of a clip (or single image), used only when complete."""
    out: dict[str, tuple[Path, ...] | None] = {}
    for kind in _MAPS:
        kind_dir = _child(folder, kind)
        paths: tuple[Path, ...] | None = None
        if kind_dir is not None:
            if single is not None:
                match = [p for p in kind_dir.iterdir() if is_visible_image(p) and p.stem == single.stem]
                paths = (match[0],) if match else None
            elif (kind_dir / name).is_dir():
                frames = list_frames(kind_dir / name)
                paths = tuple(frames) if len(frames) == count else None
        out[kind] = paths
    return out


#: Sibling folders of paired sets, (rainy, ground truth), tried in this order; names match without regard to
#: case. Restormer's and MPRNet's test sets (Rain100L/H, Test100, Test1200, Test2800) use input/ + target/.
PAIR_FOLDERS: tuple[tuple[str, str], ...] = (
    ("rain", "gt"),  # synth rain, ../shared/data/paired
    ("rain", "norain"),  # Rain100L/H as JORDER released them
    ("rainy", "gt"),
    ("rainy", "norain"),
    ("input", "target"),  # Restormer / MPRNet
    ("input", "gt"),
)
#: A rainy folder whose ground truths lie beside it, named as :data:`STEM_RULES` say (PReNet's Rain100L/H:
#: ``rainy/rain-001.png`` with ``norain-001.png`` next to the folder).
BESIDE_FOLDERS = ("rainy", "rain")


@dataclass(frozen=True)
class StemRule:
    """How a rainy picture's stem names its ground truth's: ``rainy`` must match the whole stem, and each
    ``clean`` template (filled with the match's groups) is a ground-truth stem to look for, in order."""

    name: str
    rainy: re.Pattern[str]
    clean: tuple[str, ...]

    def clean_stems(self, stem: str) -> list[str]:
        m = self.rainy.fullmatch(stem)
        return [template.format(**m.groupdict()) for template in self.clean] if m else []


#: The naming rules of public benchmarks, tried after "the same stem". Pairing is always by one of these
#: rules, never by order: a still paired with the wrong ground truth would be scored without a word.
STEM_RULES: tuple[StemRule, ...] = (
    StemRule("rain-N with norain-N", re.compile(r"rain(?P<sep>[-_])(?P<key>.+)", re.I), ("norain{sep}{key}",)),
    StemRule(
        "N_rain with N_gt or N_clean",
        re.compile(r"(?P<key>.+?)(?P<sep>[-_])rain", re.I),
        ("{key}{sep}gt", "{key}{sep}clean"),
    ),
)
#: Ground-truth stems under :data:`STEM_RULES`, which tell them from rainy ones in a folder that holds both.
_CLEAN_NAME = re.compile(r"norain[-_].+|.+[-_](gt|clean)", re.I)
#: JORDER's rainy sub-folder ``rain/X2/``, whose ``norain-1x2.png`` is the rainy version of ``norain/norain-1.png``.
_JORDER_FOLDER = re.compile(r"x(\d+)", re.I)


def _is_rainy_name(stem: str) -> bool:
    """Whether a file stem names a rainy picture by a :data:`STEM_RULES` rule (``rain-001``, ``1_rain``): how the
    rainy pictures are told from the ground truths where both share a folder (Rain100L/H as distributed)."""
    return any(rule.rainy.fullmatch(stem) for rule in STEM_RULES)


@dataclass(frozen=True)
class _PairSource:
    """One paired set: where its rainy pictures (and clip folders) and its ground truths are.

    ``named`` sets share a folder between rainy and clean pictures, so the names tell them apart: only
    :data:`STEM_RULES` names count there (a file called ``x.png`` is neither). ``unused`` are more ground-truth
    folders beside the rainy one (``rain/`` with ``gt/`` and ``norain/``), of which only ``clean`` is read."""

    folder: Path
    rainy: Path
    clean: Path
    named: bool = False
    unused: tuple[Path, ...] = ()

    def own_folders(self) -> set[Path]:
        """The set's own sub-folders (rainy, ground truth, unused ground truths, maps), which hold its pictures and
        clips rather than more sets; every other sub-folder of ``folder`` may hold a set of its own."""
        own = {self.rainy, self.clean, *self.unused} - {self.folder}
        return own | {m for kind in _MAPS if (m := _child(self.folder, kind)) is not None}


def _pair_source(folder: Path) -> _PairSource | None:
    """The paired layout ``folder`` holds, if any: :data:`PAIR_FOLDERS`, then a :data:`BESIDE_FOLDERS` folder
    with ground-truth names beside it, then rainy and ground-truth names side by side in ``folder`` itself."""
    subdirs = {d.name.lower(): d for d in _subdirs(folder)}
    for rainy, clean in PAIR_FOLDERS:
        if rainy in subdirs and clean in subdirs:
            unused = tuple(subdirs[c] for r, c in PAIR_FOLDERS if r == rainy and c != clean and c in subdirs)
            return _PairSource(folder, subdirs[rainy], subdirs[clean], unused=unused)
    pictures = [p for p in folder.iterdir() if is_visible_image(p)]
    if not any(_CLEAN_NAME.fullmatch(p.stem) for p in pictures):
        return None
    beside = next((subdirs[name] for name in BESIDE_FOLDERS if name in subdirs), None)
    if beside is not None:
        return _PairSource(folder, beside, folder, named=True)
    if any(_is_rainy_name(p.stem) for p in pictures):
        return _PairSource(folder, folder, folder, named=True)
    return None


def _pair_sources(root: Path) -> list[_PairSource]:
    """Every paired set under ``root`` (itself included), in natural order. The search goes on below a set's
    folder, but not into the set's own folders (:meth:`_PairSource.own_folders`), so a set kept inside another
    one's folder (``A/{rain,gt}`` with ``A/more/{rain,gt}``, Rain100L's pictures with a ``Rain100H/`` folder beside
    them) is found too, as it was before the public layouts were read."""
    found: list[_PairSource] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")), key=natural_key)
        source = _pair_source(Path(dirpath))
        if source is not None:
            found.append(source)
            own = source.own_folders()
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in own]
    return found


def _pair_root(root: Path) -> Path:
    """``root``, or its parent when ``root`` is the rainy folder of a set (``--dataset Rain100L/rainy``)."""
    if _pair_source(root) is None and root.parent != root:
        parent = _pair_source(root.parent)
        if parent is not None and parent.rainy == root:
            return root.parent
    return root


def clean_candidates(stem: str) -> list[str]:
    """Ground-truth stems for a rainy stem, in the order they are tried: the same stem, then :data:`STEM_RULES`."""
    out = [stem]
    for rule in STEM_RULES:
        out += [c for c in rule.clean_stems(stem) if c not in out]
    return out


def _stripped(stem: str, strip: str | None) -> str:
    """``stem`` without JORDER's ``strip`` suffix (``x2``) where it ends in it, else as it is."""
    if strip is not None and stem.lower().endswith(strip) and len(stem) > len(strip):
        return stem[: -len(strip)]
    return stem


def _pair_stills(
    images: list[Path],
    clean: StemGroups,
    clean_dir: Path,
    *,
    strip: str | None,
    missing: Unpaired | None,
    notes: Notes | None,
) -> list[tuple[Path, Path]]:
    """(rainy, clean) pictures paired by name: the same stem or a :data:`STEM_RULES` rule, looked up exactly and
    then without regard to case, and only then, each name in that order, written in another Unicode normalisation
    (:meth:`~weatherclean.data.pairing.StemGroups.respelled`: a copy through macOS; a name two ground truths have
    in their NFC form pairs with neither). ``strip`` is a suffix taken off each rainy stem first (JORDER's ``x2``).
    A picture without its ground truth is named with the names looked for; how names pair is said once, in
    ``notes``."""
    by_lower = {stem.lower(): group for stem, group in reversed(list(clean.items()))}
    pairs: list[tuple[Path, Path]] = []
    respelled: list[tuple[Path, Path]] = []
    groups = images_by_stem(images)

    def by_name(candidates: list[str]) -> list[Path] | None:
        """The ground truths of the first of ``candidates`` that names one, exactly or in another case."""
        return next((g for c in candidates if (g := clean.get(c) or by_lower.get(c.lower()))), None)

    # The ground truths some input has by name: never another input's as well, by a name in another normalisation.
    # Looked up once: the exact names decide both what is taken and what each picture pairs with.
    exact = {stem: by_name(clean_candidates(_stripped(stem, strip))) for stem in groups}
    taken = {g[0].stem for g in exact.values() if g}
    for group in sorted(groups.values(), key=lambda g: natural_key(g[0].name)):
        image = pick_input(group, notes)
        stem = _stripped(image.stem, strip)
        if strip is not None and stem == image.stem:  # not stripped: it does not end in it, or is nothing else
            why = f"its name does not end in '{strip}', as the others in {image.parent} do; rename it NAME{strip}"
            unpaired(missing, image, why)
            continue
        tried = clean_candidates(stem)
        found = exact[image.stem]
        ambiguous: str | None = None
        respelling = not found
        if respelling:  # a copy through macOS: a name in another Unicode normalisation (NFD, NFC)
            for candidate in tried:
                found, ambiguous = clean.respelled(candidate, str.lower, taken)
                if found or ambiguous:
                    break
        if not found:
            names = " or ".join(f"'{c}.*'" for c in tried)
            why = ambiguous or "add it, or move the picture out"
            unpaired(missing, image, f"no ground truth {names} in {clean_dir}; {why}")
            add_note(notes, f"{clean_dir}: {_NAMING_NOTE}")
            continue
        pairs.append((image, pick_partner(found, image, notes)))
        if respelling:
            respelled.append(pairs[-1])
    note_respelled(notes, clean_dir, respelled)
    return pairs


def _source_clips(
    source: _PairSource, root: Path, group: str | None, missing: Unpaired | None, notes: Notes | None
) -> list[RainClipPaths]:
    """The clips and one-frame clips of one paired set, their names prefixed with ``group`` when given."""
    split = split_folder(source.folder, root)
    where = {"layout": "pairs", "split": split, "group": group}

    def named(stem: str) -> str:
        return f"{group}_{stem}" if group else stem

    if source.unused:
        left = ", ".join(f"{p.name}/" for p in source.unused)
        add_note(
            notes,
            f"{source.folder}: holds several ground-truth folders beside {source.rainy.name}/; used "
            f"{source.clean.name}/ and left out {left}; move the one not meant out of the set",
        )
    pictures = [p for p in source.rainy.iterdir() if is_visible_image(p)]
    if source.named:
        clean_pics = [p for p in source.clean.iterdir() if is_visible_image(p) and _CLEAN_NAME.fullmatch(p.stem)]
        rainy_pics = [p for p in pictures if _is_rainy_name(p.stem) and not _CLEAN_NAME.fullmatch(p.stem)]
        known = {*rainy_pics, *clean_pics}
        other = [p for p in sorted(pictures) if p not in known]
        if other:
            add_note(
                notes,
                f"{source.rainy}: left out {len(other)} picture(s) named neither as rainy nor as ground truth "
                f"(e.g. {other[0].name}); in this layout a rainy picture is rain-N or N_rain, its ground truth "
                "norain-N, N_gt or N_clean",
            )
        pictures = rainy_pics
    else:
        clean_pics = [p for p in source.clean.iterdir() if is_visible_image(p)]
    clean = images_by_stem(clean_pics)
    clips: list[RainClipPaths] = []
    for image, gt in _pair_stills(pictures, clean, source.clean, strip=None, missing=missing, notes=notes):
        maps = _maps_for(source.folder, image.stem, 1, image)
        clips.append(RainClipPaths(named(image.stem), (image,), (gt,), **maps, **where))
    if source.named:
        return clips
    respelled: list[tuple[Path, Path]] = []
    spellings: dict[Path, Spellings] = {}
    for clip_dir in _subdirs(source.rainy):
        exact = _child(source.clean, clip_dir.name) or _child(source.clean, clip_dir.name.lower())
        gt_clip, ambiguous, by_spelling = _ground_truth_clip(source.clean, clip_dir.name, exact, spellings)
        jorder = _JORDER_FOLDER.fullmatch(clip_dir.name)
        if gt_clip is None and jorder is not None:  # JORDER: rain/X2/NAMEx2.png with norain/NAME.png
            strip = f"x{jorder.group(1)}"
            stills = [p for p in clip_dir.iterdir() if is_visible_image(p)]
            for image, gt in _pair_stills(stills, clean, source.clean, strip=strip, missing=missing, notes=notes):
                clips.append(RainClipPaths(named(image.stem), (image,), (gt,), **where))
            continue
        why = f"no ground truth folder {source.clean / clip_dir.name}; " + (
            ambiguous or "every clip needs its clean frames"
        )
        paired = _clip_frames(clip_dir, gt_clip, why, missing, notes)
        if paired is None:
            continue
        rainy, frames = paired
        maps = _maps_for(source.folder, clip_dir.name, len(rainy), None)
        clips.append(RainClipPaths(named(clip_dir.name), rainy, frames, **maps, **where))
        if by_spelling and gt_clip is not None:
            respelled.append((clip_dir, gt_clip))
    note_respelled(notes, source.clean, respelled, "clip(s)")
    return clips


@readable()
def find_rain_pairs(
    root: Path | str, *, missing: Unpaired | None = None, notes: Notes | None = None
) -> list[RainClipPaths]:
    """Paired stills and clips under ``root`` (the set's folder, its rainy folder, or any folder above sets).

    Layouts (:data:`PAIR_FOLDERS`): ``rain/`` + ``gt/`` as ``synth rain`` writes them (``rain/CLIP/`` folders
    are clips paired with ``gt/CLIP/``; the streak/alpha/reliance maps beside them are attached when
    present), ``rain/`` or ``rainy/`` + ``norain/``, ``input/`` + ``target/`` or ``gt/``; a ``rainy/`` (or
    ``rain/``) folder with its ground truths beside it (PReNet); rainy and ground-truth pictures in one
    folder (Rain100L/H as distributed); JORDER's ``rain/X2/NAMEx2.png`` with ``norain/NAME.png``. Every set
    under ``root`` is read, also one inside another's folder; with several, names are prefixed with the set
    (:func:`~weatherclean.data.pairing.group_names`: ``Rain100H_rain-001``, ``test_Rain100H_1``).

    Stills are paired by name, never by order: the same stem, or a :data:`STEM_RULES` rule (``rain-001`` with
    ``norain-001``, ``1_rain`` with ``1_gt`` or ``1_clean``). A picture without its ground truth is an error,
    or a row in ``missing`` when given; two files of one stem are resolved with a line in ``notes``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; {_PAIRS_HELP}")
    root = _pair_root(root)
    return _pairs_clips(root, _pair_sources(root), missing, notes)


def _pairs_clips(
    root: Path, sources: list[_PairSource], missing: Unpaired | None, notes: Notes | None
) -> list[RainClipPaths]:
    """The clips of the paired ``sources`` found under ``root`` (see :func:`find_rain_pairs`)."""
    if not sources:
        raise DatasetError(
            f"{root}: no paired rain pictures found (no folder with 'rain' and 'gt' sub-folders, nor another "
            f"layout below); {_PAIRS_HELP}"
        )
    groups = group_names([s.folder for s in sources], root, lambda f: _label(f, root))
    clips: list[RainClipPaths] = []
    for source in sources:
        clips += _source_clips(source, root, groups[source.folder], missing, notes)
    _refuse_all_unpaired(root, clips, missing)
    if not clips:
        raise DatasetError(f"{root}: the rainy folder(s) hold no images or clip folders; {_PAIRS_HELP}")
    return clips


# --------------------------------------------------------------------------------------------------
# Frame folders and videos (no ground truth)
# --------------------------------------------------------------------------------------------------


@readable()
def find_frame_folders(root: Path | str) -> list[RainClipPaths]:
    """Clips without ground truth: ``root`` itself when it holds frames, else each sub-folder (searched
    recursively) that holds frames. Frames are in natural order, so ``2.png`` comes before ``10.png``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass a folder of frames")
    clips: list[RainClipPaths] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        dirnames.sort(key=natural_key)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        frames = list_frames(dirpath)
        if frames:
            rel = Path(dirpath).relative_to(root).as_posix()
            name = root.name if rel == "." else rel.replace("/", "_")
            clips.append(RainClipPaths(name, tuple(frames), layout="frames"))
    if not clips:
        raise DatasetError(f"{root}: no frames found (looked for PNG/JPEG/... images in it and its sub-folders)")
    return clips


def _rainsyn_folders(root: Path) -> list[Path]:
    """The RainSyn ``input`` + ``processed`` folders under ``root`` (``root`` may be one of those two), found in one
    walk whose result :func:`_find_any` hands on, rather than walking the tree again to read them."""
    base = _rainsyn_root(root)
    if base is not root:
        return [base] if _child(base, "input") is not None and _child(base, "processed") is not None else []
    return _folders_with(root, "input", "processed")


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


def _nturain_clips(root: Path, skip: set[Path]) -> list[Path]:
    """The NTURain ``CLIP_Rain`` folders under ``root`` that have their ``CLIP_GT`` beside them, not searching
    ``skip`` (other kinds' picture folders). Stricter than :func:`find_nturain`'s search (the partner is required,
    and a paired set's own folder is not a clip), so a set of pictures named ``light_rain/`` is not NTURain."""
    clips: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        here = Path(dirpath)
        dirnames[:] = sorted((d for d in dirnames if here / d not in skip), key=natural_key)
        names = {d.lower() for d in dirnames}
        for d in dirnames:
            match = _NTU_RAIN.fullmatch(d)
            if match and {f"{match.group(1)}_gt".lower(), f"{match.group(1)}-gt".lower()} & names:
                clips.append(here / d)
        dirnames[:] = [d for d in dirnames if not _NTU_RAIN.fullmatch(d) and not re.search(r"[_-]gt$", d, re.I)]
    return clips


def _one_rain_kind(root: Path, rainsyn: list[Path], sources: list[_PairSource]) -> list[_PairSource]:
    """The paired ``sources`` that are sets of their own (not pictures inside a RainSyn or NTURain clip), after
    refusing a ``root`` that holds more than one kind of rain dataset (:func:`~weatherclean.data.pairing.one_kind`
    says why)."""
    rainsyn_own = {c for f in rainsyn for name in ("input", "processed") if (c := _child(f, name)) is not None}
    sources = [s for s in sources if not _inside(s.folder, rainsyn_own)]
    skip = rainsyn_own | {own for s in sources for own in s.own_folders()}
    nturain = _nturain_clips(root, skip)
    gt_dirs = {c.parent / g.name for c in nturain for g in _subdirs(c.parent) if re.search(r"[_-]gt$", g.name, re.I)}
    sources = [s for s in sources if not _inside(s.folder, {*nturain, *gt_dirs})]
    kinds = {"RainSyn": rainsyn, "paired pictures": [s.folder for s in sources], "NTURain": [c.parent for c in nturain]}
    one_kind(root, kinds)
    return sources


def _find_any(root: Path, missing: Unpaired | None, notes: Notes | None) -> tuple[list[RainClipPaths], Path]:
    """Clips in whichever layout ``root`` holds (see :func:`find_rain_clips`), and the dataset's root as the
    finder took it (the set, where ``root`` is its rainy or ``input`` folder), below which splits are read."""
    if root.is_file():
        kind = "a video file; read it with iter_video_frames" if is_video_path(root) else "a file"
        raise DatasetError(f"{root}: is {kind}, not a dataset folder; {_ANY_HELP}")
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; {_ANY_HELP}")
    rainsyn = _rainsyn_folders(root)
    base = _pair_root(root)
    sources = _pair_sources(base)
    sources = _one_rain_kind(root, rainsyn, sources)
    if rainsyn:
        base = _rainsyn_root(root)
        return _rainsyn_clips(base, rainsyn, None, None, missing, notes), base
    if sources:
        return _pairs_clips(base, sources, missing, notes), base
    for _, dirnames, _ in os.walk(root, onerror=refuse_unreadable):
        if any(_NTU_RAIN.fullmatch(d) for d in dirnames):
            return find_nturain(root, missing=missing, notes=notes), root
    snowy = _child(root, "synthetic") or _child(root, "snow")
    if snowy is not None and _child(root, "gt") is not None:  # not four clips without gt
        raise DatasetError(f"{root}: a snow dataset ({snowy.name}/ and gt/ images); for snow, use --task snow")
    try:
        return find_frame_folders(root), root
    except DatasetError:
        raise DatasetError(f"{root}: no rain dataset or frames found; {_ANY_HELP}") from None


def _pick_split(
    root: Path, clips: list[RainClipPaths], missing: Unpaired, split: str
) -> tuple[list[RainClipPaths], Unpaired]:
    """The clips (and unpaired inputs) of one split. A set without train/test folders has nothing to pick,
    which is an error rather than the whole set: ``evaluate --split test`` must never score training clips."""
    want = SPLIT_FOLDERS.get(split.lower(), split.lower())
    have = sorted({c.split for c in clips if c.split} | {s for p, _ in missing if (s := split_folder(p, root))})
    snow = " (S, M and L are Snow100K's splits: for snow, use --task snow)" if split.upper() in SNOW_LEVELS else ""
    if not have:
        raise DatasetError(
            f"{root}: --split {split}: this rain set has no train/test folders, so there is no split to pick{snow}; "
            "leave --split out (for rain it picks the train or test clips of RainSyn, NTURain or a set kept in "
            "train/ and test/ folders)"
        )
    if want not in have:
        raise DatasetError(
            f"{root}: no '{want}' clips (splits found: {', '.join(have)}){snow}; pass one of those to --split"
        )
    keep = [c for c in clips if c.split == want]
    return keep, [(p, why) for p, why in missing if split_folder(p, root) == want]


def _take_stock(inventory: Inventory, clips: list[RainClipPaths], missing: Unpaired) -> None:
    """Record every input found, paired or not, before a split is picked (see :class:`Inventory`)."""
    inventory.many = inventory.many or any(c.group is not None for c in clips)
    for clip in clips:
        inventory.keys.extend(clip.frame_key(i) for i in range(len(clip)))
    for path, _ in missing:
        if path.is_dir():  # a clip without its ground truth: its frames
            inventory.keys.extend(f"{path.name}/{frame.stem}" for frame in list_frames(path))
        else:
            inventory.keys.append(path.stem)


@readable()
def find_rain_clips(
    root: Path | str,
    split: str | None = None,
    *,
    missing: Unpaired | None = None,
    notes: Notes | None = None,
    inventory: Inventory | None = None,
) -> list[RainClipPaths]:
    """Clips under ``root`` in whichever layout it has: RainSyn, paired pictures or clips
    (:func:`find_rain_pairs`), NTURain, else frame folders without ground truth. Raises :class:`DatasetError`
    when the folder holds none of these. An input without its ground truth is an error too, or a row in
    ``missing`` when given (:func:`~weatherclean.data.pairing.unpaired`); ``notes`` gets what pairing had to
    decide (two files of one name, clip frames paired by order although some names agree).

    ``split`` ("train", "test") keeps the clips under a folder of that name at or below ``root`` (RainSyn,
    NTURain, or paired sets in ``train/`` and ``test/``); a set without such folders is then an error, not
    silently the whole set. ``inventory`` receives every input found, before the split is picked (what
    ``evaluate --outputs`` needs)."""
    root = Path(root)
    found: Unpaired = []
    try:
        clips, base = _find_any(root, found if missing is not None else None, notes)
        if inventory is not None:
            _take_stock(inventory, clips, found)
        if split is not None:
            clips, found = _pick_split(base, clips, found, split)
    finally:  # a set where nothing pairs is refused, and the caller still learns which inputs had no partner
        if missing is not None:
            missing.extend(found)
    if missing is not None:
        _refuse_all_unpaired(root, clips, found)
    return clips


def iter_video_frames(path: Path | str, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video file frame by frame as HxWx3 float32 RGB in [0, 1].

    Frames are yielded one at a time so a long video never has to fit in memory. They come from the
    decoder ``derain`` uses (:func:`weatherclean.io.video.iter_frames`): the clip's own colour matrix and
    range, more than 8 bits kept when the video has them, damaged packets skipped instead of ending the clip.
    """
    for frame in iter_frames(Path(path), max_frames):
        scale = 65535.0 if frame.dtype == np.uint16 else 255.0
        out = frame.astype(np.float32)
        out /= scale
        yield out


def read_video_frames(path: Path | str, max_frames: int | None = None) -> np.ndarray:
    """The first ``max_frames`` (default: all) frames of a video as a TxHxWx3 float32 array."""
    frames = list(iter_video_frames(path, max_frames))
    if not frames:
        raise InputError(f"{path}: the video has no frames")
    return np.stack(frames)


# --------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------


def _to_tchw(arr: np.ndarray) -> torch.Tensor:
    """T x H x W (x C) array to a float32 T x C x H x W tensor."""
    if arr.ndim == 3:
        arr = arr[..., None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32))


class SyntheticRainDataset(_EpochMixin, Dataset):
    """Random crops of a few clean images with freshly synthesised rain: unlimited paired clips.

    ``clean_fraction`` of the items have no rain (input = ground truth), as in the snow dataset: a
    model that never sees a dry frame learns to subtract a little "rain" from every frame.

    ``styles`` limits the rain styles drawn from (None: all; docs/synthesis.md), which is how a model is
    trained without one style to test it on that style (leave-one-style-out).

    ``tone_fraction`` of the clean backgrounds are re-toned (brighter, lifted or flatter;
    :mod:`weatherclean.data.tones`) before the rain is added, and the re-toned picture is the ground
    truth: a model must not take brightness or low contrast for rain's accumulation. ``tone_haze="dry"``
    keeps the haze tone off the backgrounds that get rain (:mod:`weatherclean.data.tones` says why).
    ``dry_crops`` K > 1 takes each rain-free item's patch as the most detailed of K random patches (hard
    negatives, :mod:`weatherclean.data.negatives`); rainy items are cropped as before. ``dry_score``
    replaces the detail measure that picks among them (the change a frozen model makes, ``train
    --dry-pick change``; for clips, to the whole patch the clip is filmed from).

    Items: ``{"rainy", "clean", "streak", "reliance": T x 3 x crop x crop, "alpha": T x 1 x crop x crop}``.
    ``frames=1`` gives single-frame samples (a crop of a still, for J4R-Net's pre-training); more frames
    give a clip filmed from a larger patch with camera motion and coherently falling rain. The API is that
    of :class:`~weatherclean.data.snow.SyntheticSnowDataset` (``item(index, epoch)``, ``set_epoch``).
    """

    def __init__(
        self,
        clean_images: Sequence[Path | str | np.ndarray],
        frames: int = 9,
        crop: int = 64,
        length: int = 1000,
        level: str | None = None,
        seed: int = 0,
        augment: bool = True,
        motion: CameraMotion | str = "random",
        clean_fraction: float = 0.0,
        styles: StyleChoice = None,
        tone_fraction: float = 0.0,
        tone_haze: str = "all",
        dry_crops: int = 1,
        dry_score: CropScore | None = None,
    ) -> None:
        if len(clean_images) == 0:
            raise DatasetError("SyntheticRainDataset: no clean images given; pass image paths or arrays")
        try:
            self.styles = check_styles(styles)
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        check_clean_fraction(clean_fraction)
        check_tone_fraction(tone_fraction)
        check_tone_haze(tone_haze)
        check_dry_crops(dry_crops)
        if level is not None and level not in RAIN_LEVELS:
            raise DatasetError(f"unknown rain level {level!r}: use one of {', '.join(RAIN_LEVELS)} or None")
        if crop < 8:
            raise DatasetError(f"crop {crop} is too small; use at least 8 pixels")
        if frames < 1:
            raise DatasetError(f"frames must be at least 1, got {frames}")
        self.frames = int(frames)
        self.crop = int(crop)
        self.length = int(length)
        self.level = level
        self.seed = int(seed)
        self.augment = augment
        self.motion = motion
        self.clean_fraction = float(clean_fraction)
        self.tone_fraction = float(tone_fraction)
        self.tone_haze = tone_haze
        self.dry_crops = dry_crops
        self.dry_score = dry_score
        # Decoded once and kept as uint8: few images, and decoding per item would dominate the time.
        self.images: list[np.ndarray] = [self._load(item) for item in clean_images]
        self._init_epoch()

    @staticmethod
    def _load(item: Path | str | np.ndarray) -> np.ndarray:
        if isinstance(item, np.ndarray):
            if item.ndim != 3 or item.shape[2] != 3:
                raise DatasetError(f"clean image array must be HxWx3, got shape {item.shape}")
            if item.dtype == np.uint8:
                return item
            return np.round(np.clip(item.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
        return np.round(read_clean_photo(item) * 255.0).astype(np.uint8)

    def __len__(self) -> int:
        return self.length

    def _patch(self, rng: np.random.Generator, image: np.ndarray, side: int) -> np.ndarray:
        """A side x side float32 patch with scale jitter (0.5-1x: up to 2x zoomed out) when augmenting."""
        h, w = image.shape[:2]
        scale = float(rng.uniform(0.5, 1.0)) if self.augment else 1.0
        src = max(1, min(int(round(side / scale)), h, w))
        top = int(rng.integers(0, h - src + 1))
        left = int(rng.integers(0, w - src + 1))
        patch = image[top : top + src, left : left + src].astype(np.float32) / 255.0
        if src > side or (src < side and self.augment):
            t = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))[None]
            t = F.interpolate(t, size=(side, side), mode="bilinear", align_corners=False, antialias=src > side)
            patch = t[0].permute(1, 2, 0).clamp_(0.0, 1.0).numpy()
        return np.ascontiguousarray(patch)

    @staticmethod
    def _jitter(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray:
        """Flips, 90-degree turns and mild colour changes of the clean image, before the rain is added,
        so the rain still falls down and keeps its own colour."""
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        patch = np.rot90(patch, k=int(rng.integers(0, 4)))
        brightness, contrast, saturation = rng.uniform(0.85, 1.15, size=3)
        grey = patch.mean(axis=2, keepdims=True)
        patch = grey + (patch - grey) * saturation
        mean = float(patch.mean())
        patch = ((patch - mean) * contrast + mean) * brightness
        return np.ascontiguousarray(np.clip(patch, 0.0, 1.0), dtype=np.float32)

    def item(self, index: int, epoch: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, epoch, index])
        image = self.images[int(rng.integers(0, len(self.images)))]
        dry = draw_dry_first(rng, self.clean_fraction, self.tone_haze, early=self.dry_crops > 1)
        kinds = tone_kinds(self.tone_haze, dry)
        tries = self.dry_crops if dry else 1
        if self.frames == 1:
            patch = detailed_crop(lambda r: self._patch(r, image, self.crop), rng, tries, self.dry_score)
            if self.augment:
                patch = self._jitter(rng, patch)
            patch = maybe_retone(rng, patch, self.tone_fraction, kinds)
            s = synthesize_rain(patch, rng, self.level, self.styles)
            arrays = (s.rainy[None], s.clean[None], s.streak[None], s.alpha[None], s.reliance[None])
        else:
            # Room for the camera to pan and shake at the patch's own scale: 3/8 of the crop on each side.
            side = int(round(self.crop * 1.75))
            patch = detailed_crop(lambda r: self._patch(r, image, side), rng, tries, self.dry_score)
            if self.augment:
                patch = self._jitter(rng, patch)
            patch = maybe_retone(rng, patch, self.tone_fraction, kinds)
            c = synthesize_rain_clip(
                patch, rng, self.level, self.frames, (self.crop, self.crop), self.motion, styles=self.styles
            )
            arrays = (c.rainy, c.clean, c.streak, c.alpha, c.reliance)
        if stays_dry(rng, self.clean_fraction, dry):  # no rain at all: the model must return the frames as they are
            rainy, clean, streak, alpha, reliance = arrays
            arrays = (clean, clean, np.zeros_like(streak), np.zeros_like(alpha), np.zeros_like(reliance))
        keys = ("rainy", "clean", "streak", "alpha", "reliance")
        return {key: _to_tchw(arr) for key, arr in zip(keys, arrays, strict=True)}


class PairedRainDataset(_EpochMixin, Dataset):
    """Rainy/clean pairs from disk (any layout :func:`find_rain_clips` reads that has ground truth) as
    windows of ``frames`` consecutive frames, for training and evaluation.

    Items: ``{"rainy", "clean": T x 3 x H x W, "streak": T x 3 x H x W, "alpha": T x 1 x H x W,
    "has_maps": bool tensor, "name": str, "start": int}``. ``frames=None`` makes each item a whole clip.
    Windows start every ``stride`` frames (default: ``frames``); a clip shorter than a window repeats its
    last frame. ``streak``/``alpha`` are zeros and ``has_maps`` False unless the folder has our synthetic
    maps. ``crop`` takes the same random crop from every frame; ``augment`` adds a random horizontal flip.
    """

    def __init__(
        self,
        root: Path | str | Sequence[RainClipPaths],
        frames: int | None = 1,
        crop: int | None = None,
        augment: bool = False,
        seed: int = 0,
        stride: int | None = None,
        notes: Notes | None = None,
    ) -> None:
        self.clips = list(root) if not isinstance(root, str | Path) else find_rain_clips(root, notes=notes)
        if isinstance(root, str | Path):
            note_training_sets(
                notes, Path(root), [c.group for c in self.clips], [c.location for c in self.clips if c.split == "test"]
            )
        missing = [c.name for c in self.clips if not c.has_gt]
        if missing:
            raise DatasetError(
                f"{len(missing)} clip(s) have no ground truth (e.g. {missing[0]}); PairedRainDataset needs "
                "rainy/clean pairs"
            )
        if frames is not None and frames < 1:
            raise DatasetError(f"frames must be at least 1 or None, got {frames}")
        self.frames = frames
        self.crop = crop
        self.augment = augment
        self.seed = int(seed)
        step = stride or frames
        self.windows: list[tuple[int, int]] = []
        for ci, clip in enumerate(self.clips):
            if frames is None:
                self.windows.append((ci, 0))
                continue
            starts = range(0, max(len(clip) - frames, 0) + 1, step or 1)
            self.windows.extend((ci, s) for s in starts)
        if not self.windows:
            raise DatasetError("PairedRainDataset: no clips found")
        self._init_epoch()

    def __len__(self) -> int:
        return len(self.windows)

    def item(self, index: int, epoch: int) -> dict[str, torch.Tensor | str | int]:
        ci, start = self.windows[index]
        clip = self.clips[ci]
        count = len(clip) if self.frames is None else self.frames
        indices = [min(start + k, len(clip) - 1) for k in range(count)]
        pairs = [clip.read_frame(i) for i in indices]
        streaks, alphas = clip.streak, clip.alpha
        has_maps = streaks is not None and alphas is not None
        layers = []
        for i, (rainy, clean) in zip(indices, pairs, strict=True):
            assert clean is not None  # checked in __init__: every clip has ground truth
            if rainy.shape != pairs[0][0].shape:
                raise DatasetError(f"{clip.rainy[i]}: frame size differs from the clip's first frame")
            if streaks is not None and alphas is not None:
                streak = _read(streaks[i])
                alpha = _read(alphas[i])[..., :1]
            else:
                streak = np.zeros_like(rainy)
                alpha = np.zeros(rainy.shape[:2] + (1,), dtype=np.float32)
            layers.append(np.concatenate([rainy, clean, streak, alpha], axis=2))
        stack = np.stack(layers)
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.crop is not None:
            padded = np.stack([_pad_to(f, self.crop) for f in stack]) if min(stack.shape[1:3]) < self.crop else stack
            top = int(rng.integers(0, padded.shape[1] - self.crop + 1))
            left = int(rng.integers(0, padded.shape[2] - self.crop + 1))
            stack = padded[:, top : top + self.crop, left : left + self.crop]
        if self.augment and rng.random() < 0.5:
            stack = stack[:, :, ::-1]
        return {
            "rainy": _to_tchw(stack[..., 0:3]),
            "clean": _to_tchw(stack[..., 3:6]),
            "streak": _to_tchw(stack[..., 6:9]),
            "alpha": _to_tchw(stack[..., 9:10]),
            "has_maps": torch.tensor(has_maps),
            "name": clip.name,
            "start": start,
        }
