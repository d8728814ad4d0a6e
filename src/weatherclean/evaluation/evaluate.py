"""Score a restoration model (and simple baselines) on a paired dataset, the way papers report it.

Every table row needs a baseline to mean anything: "input (snowy)" (the degraded image itself) shows
how much a method actually gains, and a classical filter shows whether a network beats a 3×3 median.
The result types below are task-neutral (image or clip-frame names, free-form method labels), so a
rain evaluation on video clips can produce the same :class:`EvaluationResult` and reuse
:func:`write_report` and :func:`render_summary`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from scipy.ndimage import median_filter as _ndimage_median

from weatherclean.errors import DatasetError, InputError, ModelError, OutputError
from weatherclean.evaluation.metrics import CONVENTIONS, caption, conventions, psnr, ssim
from weatherclean.io.atomic import atomic_write
from weatherclean.io.folders import printable, shown

if TYPE_CHECKING:  # the dataset modules are imported when a dataset is read, not with this module
    from weatherclean.data.pairing import Inventory, Notes, Unpaired
    from weatherclean.data.rain import RainClipPaths
    from weatherclean.data.snow import SnowTriple

__all__ = [
    "INPUT_METHOD",
    "BASELINES",
    "ImageScore",
    "MethodSummary",
    "EvaluationResult",
    "median_filter",
    "score_pair",
    "evaluate_snow",
    "evaluate_rain",
    "OutputFiles",
    "Scan",
    "scan_rain",
    "scan_snow",
    "temporal_median",
    "write_report",
    "render_summary",
    "render_clip_table",
    "render_set_table",
    "render_split_table",
]

#: Method label of the "do nothing" row: the degraded input scored against the ground truth.
INPUT_METHOD = "input (snowy)"

#: A baseline takes one HxWx3 float32 image in [0, 1] and returns its restoration, same shape.
Baseline = Callable[[np.ndarray], np.ndarray]
#: What a restorer does to a whole picture once its tiles are joined: (input, restored) → restored.
Finish = Callable[[np.ndarray, np.ndarray], np.ndarray]

_METRIC_FIELDS = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")


def median_filter(image: np.ndarray, size: int = 3) -> np.ndarray:
    """Per-channel median: the classic cheap snow/rain remover, the floor any network has to beat."""
    return _ndimage_median(image, size=(size, size, 1), mode="reflect")


#: Baselines the CLI offers by short name: ``--baseline median`` → (row label, function).
BASELINES: dict[str, tuple[str, Baseline]] = {
    "median": ("median filter 3x3", median_filter),
}


@dataclass(frozen=True)
class ImageScore:
    """One method on one image (or one clip frame, named ``clip/frame``)."""

    name: str
    method: str
    psnr_rgb: float
    ssim_rgb: float
    psnr_y: float
    ssim_y: float
    seconds: float


@dataclass(frozen=True)
class MethodSummary:
    """Means over the images of one method.

    A pair restored exactly (or an input equal to its ground truth, as in a dry control set) has an infinite
    PSNR, which would make the mean infinite and hide every other image: PSNR means leave such images out,
    ``infinite_rgb`` and ``infinite_y`` say how many for each (an image can be exact on Y alone), and a PSNR mean
    is None when all of them were exact. SSIM means keep them all. Two rows' PSNR means can therefore cover
    different images (the input's leaves out its exact pairs, a model's does not), which the table marks.
    """

    method: str
    count: int
    psnr_rgb: float | None
    ssim_rgb: float
    psnr_y: float | None
    ssim_y: float
    seconds: float
    infinite_rgb: int = 0
    infinite_y: int = 0


#: Order of split names in tables: Snow100K's by size, then the others by name.
_SPLIT_ORDER = {"S": 0, "M": 1, "L": 2}


def _psnr_mean(values: list[float]) -> tuple[float | None, int]:
    """The mean of the finite PSNRs (None when there are none) and how many were infinite."""
    finite = [v for v in values if math.isfinite(v)]
    return (float(np.mean(finite, dtype=np.float64)) if finite else None), len(values) - len(finite)


@dataclass
class EvaluationResult:
    """Per-image scores plus what was evaluated; ``methods`` keeps the row order of the summary."""

    task: str
    dataset: str
    split: str | None = None
    methods: list[str] = field(default_factory=list)
    rows: list[ImageScore] = field(default_factory=list)
    conventions: str = CONVENTIONS
    #: Pixels cut from each edge before scoring (``--crop-border``), as ``conventions`` says too.
    crop_border: int = 0
    #: Label of the do-nothing row, e.g. "input (rainy)" for a rain evaluation; always listed first.
    input_method: str = INPUT_METHOD
    #: (input, reason) for pairs that could not be scored, the input always as its path (a picture, or a
    #: clip's folder); they are left out of every mean.
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: What was scored, for a report read later: the model as given and as found, device, precision...
    model: dict[str, Any] = field(default_factory=dict)
    #: What a reader of the scores should know: how files were paired, identical pairs, model notes.
    notes: list[str] = field(default_factory=list)
    #: The split (Snow100K-S/M/L, train/test) of each scored row name, where the dataset's folders say it.
    splits: dict[str, str] = field(default_factory=dict)
    #: The set (source folder, e.g. ``test_Rain100H``) of each scored row name, where the dataset holds several.
    sets: dict[str, str] = field(default_factory=dict)

    def add(self, row: ImageScore, split: str | None = None, group: str | None = None) -> None:
        """Record a score, remembering the method order of first appearance (input, baselines, model), and the
        split and set its picture belongs to (for the per-split and per-set tables)."""
        if row.method not in self.methods:
            self.methods.append(row.method)
        self.rows.append(row)
        if split is not None:
            self.splits[row.name] = split
        if group is not None:
            self.sets[row.name] = group

    def fail(self, path: Path | str, reason: str) -> None:
        """Record a pair that could not be scored under its input's path, whatever went wrong, so that every
        ``failed`` entry names the same kind of thing; a reason that starts with that path does not repeat it."""
        where = str(path)
        self.failed.append((where, reason.removeprefix(f"{where}: ")))

    def note(self, text: str) -> None:
        """Add a note for the reader, once: the same pairing decision can be met for many pictures, and a note
        repeated for each would bury the others."""
        if text not in self.notes:
            self.notes.append(text)

    @property
    def image_count(self) -> int:
        return len({row.name for row in self.rows})

    def summary(self, split: str | None = None, *, group: str | None = None) -> list[MethodSummary]:
        """Mean scores per method (of one ``split`` or set ``group`` when given): the input row first, then
        ``methods`` order (empty methods left out). Infinite PSNRs are left out of the PSNR means
        (:class:`MethodSummary`)."""
        out: list[MethodSummary] = []
        order = [m for m in self.methods if m == self.input_method] + [
            m for m in self.methods if m != self.input_method
        ]
        chosen = [
            r
            for r in self.rows
            if (split is None or self.splits.get(r.name) == split) and (group is None or self.sets.get(r.name) == group)
        ]
        for method in order:
            rows = [row for row in chosen if row.method == method]
            if not rows:
                continue
            psnr_rgb, infinite_rgb = _psnr_mean([r.psnr_rgb for r in rows])
            psnr_y, infinite_y = _psnr_mean([r.psnr_y for r in rows])
            out.append(
                MethodSummary(
                    method=method,
                    count=len(rows),
                    psnr_rgb=psnr_rgb,
                    ssim_rgb=float(np.mean([r.ssim_rgb for r in rows], dtype=np.float64)),
                    psnr_y=psnr_y,
                    ssim_y=float(np.mean([r.ssim_y for r in rows], dtype=np.float64)),
                    seconds=float(np.mean([r.seconds for r in rows], dtype=np.float64)),
                    infinite_rgb=infinite_rgb,
                    infinite_y=infinite_y,
                )
            )
        return out

    def split_names(self) -> list[str]:
        """The splits the scored rows come from, in table order (S, M, L, then by name)."""
        return sorted(set(self.splits.values()), key=lambda s: (_SPLIT_ORDER.get(s, 3), s))

    def split_summaries(self) -> dict[str, list[MethodSummary]]:
        """:meth:`summary` per split, when the rows come from more than one (a Snow100K root with S, M and L, a
        RainSyn root with train and test); empty otherwise, since the summary is then that one split's."""
        names = self.split_names()
        return {name: self.summary(name) for name in names} if len(names) > 1 else {}

    def set_names(self) -> list[str]:
        """The sets the scored rows come from, in the order they were scored."""
        return list(dict.fromkeys(self.sets[r.name] for r in self.rows if r.name in self.sets))

    def set_summaries(self) -> dict[str, list[MethodSummary]]:
        """:meth:`summary` per set, when the rows come from more than one (Restormer's ``test/{Rain100H,Rain100L,
        Test100}``), as papers report each benchmark apart; empty when there is one, or when the sets are exactly
        the splits (Snow100K-S, -M, -L), which the per-split table gives already."""
        names = self.set_names()
        pairs = {(self.sets.get(r.name), self.splits.get(r.name)) for r in self.rows}
        same = len(pairs) == len(names) == len(self.split_names()) and all(s for _, s in pairs)
        return {} if len(names) < 2 or same else {name: self.summary(group=name) for name in names}

    def clip_means(self) -> dict[str, dict[str, float]]:
        """Per clip (the part of a row name before ``/``) and method: mean PSNR on Y over the frames whose PSNR
        is finite, for clip tables."""
        sums: dict[str, dict[str, list[float]]] = {}
        for row in self.rows:
            clip = row.name.split("/")[0]
            values = sums.setdefault(clip, {}).setdefault(row.method, [])
            if math.isfinite(row.psnr_y):
                values.append(row.psnr_y)
        return {clip: {m: float(np.mean(v)) if v else math.inf for m, v in per.items()} for clip, per in sums.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. JSON has no infinity, so an infinite PSNR (an exact pair) is null; ``infinite_rgb`` and
        ``infinite_y`` in a summary row count them."""
        images = [_json_safe(asdict(r)) for r in self.rows]
        if self.splits:
            images = [{**image, "split": self.splits.get(image["name"])} for image in images]
        if self.sets:
            images = [{**image, "set": self.sets.get(image["name"])} for image in images]
        out: dict[str, Any] = {
            "task": self.task,
            "dataset": self.dataset,
            "split": self.split,
            "input_method": self.input_method,
            "model": self.model,
            "conventions": self.conventions,
            "crop_border": self.crop_border,
            "summary": [_json_safe(asdict(s)) for s in self.summary()],
        }
        by_split = self.split_summaries()
        if by_split:
            out["by_split"] = {name: [_json_safe(asdict(s)) for s in rows] for name, rows in by_split.items()}
        by_set = self.set_summaries()
        if by_set:
            out["by_set"] = {name: [_json_safe(asdict(s)) for s in rows] for name, rows in by_set.items()}
        out["images"] = images
        out["failed"] = [{"image": name, "reason": reason} for name, reason in self.failed]
        out["notes"] = list(self.notes)
        return out


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _conclude(result: EvaluationResult) -> EvaluationResult:
    """The notes a finished evaluation owes its reader: splits or sets scored together, pictures that belong to
    no split, and exact pairs left out of the PSNR means (how many, per row and metric)."""
    names = result.split_names()
    if result.split is None and len(names) > 1:
        result.note(
            f"{result.dataset}: holds {len(names)} splits ({', '.join(names)}); the summary is over all of them, "
            f"the per-split table gives each apart ('by_split' in a JSON report); pass --split {names[0]} (or "
            "another) to score one alone"
        )
        apart = len({r.name for r in result.rows if r.name not in result.splits})
        if apart:
            result.note(
                f"{result.dataset}: {apart} picture(s) lie in no split folder; they count in the summary but in no "
                "per-split row"
            )
    sets = result.set_summaries()
    if sets:
        result.note(
            f"{result.dataset}: holds {len(sets)} sets ({', '.join(sets)}); the summary pools them, the per-set table "
            "gives each apart ('by_set' in a JSON report; row names start with the set); point --dataset at one "
            "set's folder to score it alone"
        )
    for s in result.summary():
        if not s.infinite_y:  # an identical picture has an identical Y too, so infinite_y >= infinite_rgb
            continue
        exact = []
        if s.infinite_rgb:
            exact.append(f"{s.infinite_rgb} of {s.count} picture(s) are identical to their ground truth")
        if s.infinite_y > s.infinite_rgb:
            exact.append(f"{s.infinite_y - s.infinite_rgb} of {s.count} have an identical Y only")
        left = s.count - s.infinite_y
        cover = (
            f"which then cover {left} of its {s.count} pictures (the table marks it: {left}/{s.count}); compare them "
            "only with rows over the same pictures: a perfect picture left out can put a better method below a "
            "worse one"
            if left
            else "so its PSNR Y mean is inf"
        )
        result.note(
            f"{s.method}: {', '.join(exact)} (PSNR = inf); left out of that row's PSNR means, {cover}; null in a JSON "
            "report, inf in a CSV one; SSIM means keep them"
        )
    return result


def score_pair(
    name: str, method: str, restored: np.ndarray, gt: np.ndarray, seconds: float = 0.0, *, crop_border: int = 0
) -> ImageScore:
    """All four numbers for one restored image against its ground truth, ``crop_border`` pixels cut from each
    edge first (:func:`~weatherclean.evaluation.metrics.psnr`)."""
    return ImageScore(
        name=name,
        method=method,
        psnr_rgb=psnr(restored, gt, crop_border=crop_border),
        ssim_rgb=ssim(restored, gt, crop_border=crop_border),
        psnr_y=psnr(restored, gt, y_channel=True, crop_border=crop_border),
        ssim_y=ssim(restored, gt, y_channel=True, crop_border=crop_border),
        seconds=seconds,
    )


def _progress(enabled: bool, console: Console | None = None) -> Progress:
    """The bar on ``console``: the caller's (the CLI's, whose writes never fail: a full or closed stderr costs
    the bar, not the scores), else a console on stderr, so that a report or table on stdout stays clean when
    piped."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console if console is not None else Console(stderr=True),
        transient=True,
        disable=not enabled,
    )


def _run_model(
    restore: Callable[[torch.Tensor], torch.Tensor],
    image: np.ndarray,
    *,
    name: str,
    device: str | torch.device,
    tile: int | None,
    overlap: int,
    finish: Finish | None = None,
    on_tile: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, float]:
    from weatherclean.restore.tiling import run_tiled_array

    start = time.perf_counter()
    try:
        out = run_tiled_array(restore, image, tile=tile, overlap=overlap, device=device, on_tile=on_tile)
        if finish is not None:
            out = finish(image, out)
    except ModelError as exc:
        raise ModelError(f"{name}: {exc}") from None
    seconds = time.perf_counter() - start
    return out, seconds


# ------------------------------------------------------------------------------------- pictures on disk

#: PIL modes without colour: a ground truth in one of these beside a colour input is worth a note.
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def _is_grey_file(path: Path) -> bool | None:
    """Whether the file stores one grey channel (its header only; None when Pillow cannot tell)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.mode in _GREY_MODES
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def _check_colour(result: EvaluationResult, name: str, source: Path, gt: Path) -> None:
    """Note a grey ground truth beside a colour input. It is scored (grey copied to R, G and B, as every reader
    here does), since its Y scores are sound; but its RGB scores count the input's colour as error, and a
    dataset that pairs them is most likely broken, which the mean alone would never show."""
    if _is_grey_file(gt) and _is_grey_file(source) is False:
        result.note(
            f"{name}: the ground truth {gt} is greyscale but the input {source} is in colour; scored with the grey "
            "copied to R, G and B, so its RGB scores count the colour as error (Y is comparable); check the pair"
        )


T = TypeVar("T")


@dataclass
class Scan(Generic[T]):
    """A dataset as its finder read it, once: the CLI reads it to refuse a bad folder or split before a slow model
    load, and hands it to the evaluation, which scores these pairs without walking the tree again."""

    #: ``--dataset`` as given: where mirrored outputs are looked up, and what the report names.
    root: Path
    #: The split picked, as the finder names it (``S``, ``M``, ``L``, ``train``, ``test``); None: all of them.
    split: str | None
    #: The pairs to score (:class:`~weatherclean.data.snow.SnowTriple`, or
    #: :class:`~weatherclean.data.rain.RainClipPaths` with ground truth).
    items: list[T]
    #: Inputs without their ground truth, (input, reason): reported and left out of the means.
    missing: Unpaired
    #: What pairing had to decide, for the report's notes.
    notes: Notes
    #: Every input of the dataset, before the split was picked (for ``--outputs``).
    inventory: Inventory


def _snow_split(split: str | None) -> str | None:
    """``--split`` as :func:`~weatherclean.data.snow.find_snow100k` reads it: S/M/L by letter, train/test by name."""
    from weatherclean.data.pairing import SPLIT_FOLDERS
    from weatherclean.synth.snow import SNOW_LEVELS

    if not split:
        return None
    return split.upper() if split.upper() in SNOW_LEVELS else SPLIT_FOLDERS.get(split.lower(), split)


def scan_snow(dataset_root: Path, split: str | None = None) -> Scan[SnowTriple]:
    """Read a Snow100K or CSD folder for scoring (see :func:`~weatherclean.data.snow.find_snow100k`); a folder
    where nothing can be paired raises :class:`DatasetError`."""
    from weatherclean.data.pairing import Inventory, PairingLog
    from weatherclean.data.snow import find_snow100k

    split = _snow_split(split)
    missing: Unpaired = []
    notes = PairingLog()
    inventory = Inventory()
    items = find_snow100k(Path(dataset_root), split, missing=missing, notes=notes, inventory=inventory)
    missing += notes.unscored  # a second picture of one name: a pair not scored (exit code 1)
    for path in notes.left_out:  # a name once, as the rain finder counts it: not shared with its own left-out copy
        inventory.keys.remove(path.stem)
    return Scan(Path(dataset_root), split, items, missing, notes, inventory)


def scan_rain(dataset_root: Path, split: str | None = None) -> Scan[RainClipPaths]:
    """Read a rain folder for scoring (any layout :func:`~weatherclean.data.rain.find_rain_clips` reads); a folder
    where nothing can be paired, or whose frames have no ground truth at all, raises :class:`DatasetError`."""
    from weatherclean.data.pairing import SPLIT_FOLDERS, Inventory, PairingLog
    from weatherclean.data.rain import PAIRED_HELP, find_rain_clips

    missing: Unpaired = []
    notes = PairingLog()
    inventory = Inventory()
    found = find_rain_clips(Path(dataset_root), split, missing=missing, notes=notes, inventory=inventory)
    missing += notes.unscored
    clips = [c for c in found if c.has_gt]
    if not clips:
        raise DatasetError(f"{dataset_root}: no picture has a ground truth, nothing to score; {PAIRED_HELP}")
    split_name = SPLIT_FOLDERS.get(split.lower(), split.lower()) if split else None
    return Scan(Path(dataset_root), split_name, clips, missing, notes, inventory)


class OutputFiles:
    """Pictures restored elsewhere (another method's released results, ``desnow``/``derain`` outputs), found for
    each input of a dataset so that ``evaluate --outputs`` scores them without running a model.

    The output of an input is looked for by its own name first: at the input's path relative to the dataset
    root (``OUT/synthetic/x.*`` for ``DATA/synthetic/x.jpg``: a mirror of the dataset), then by its name alone
    (``OUT/x.*``; for a clip frame ``OUT/CLIP/00001.*``: what ``desnow DATA/synthetic -o OUT`` writes); the first
    found wins. Where neither is there, a picture (not a clip frame) is also found in its set's folder
    (``OUT/Rain100H/x.*`` for ``DATA/Rain100H/input/x.png``, as Restormer and MPRNet write results), and by its
    ground truth's name or its pair's number in those folders (``1.*`` or ``1_gt.*`` for ``1_rain.png`` with
    ``1_gt.png``, ``norain-001.*`` for ``rain-001.png``), but only where exactly one of these is there: several
    (results ``1.*`` beside copies of the ground truths ``1_gt.*``) fail the input, naming them, since taking the
    first would score the wrong one without a word. Any picture type matches (an output need not keep the
    input's); of several of one name, the first by :data:`~weatherclean.data.pairing.PICK_RULE`. Every name but
    the input's own at its own path is used only where no other input of the dataset (scored now or not: a split
    or ``--limit`` leaves them in the ``inventory``) could have it there; by name alone, never when the dataset
    holds several sets (Snow100K-S and -M, Rain100H and Rain100L). Nothing is ever paired by order. ``pairs`` are
    the dataset's pictures with their ground truths (None: none), for those names.
    """

    def __init__(
        self,
        folder: Path,
        dataset_root: Path,
        inventory: Inventory,
        pairs: Iterable[tuple[Path, Path | None]] = (),
    ) -> None:
        from weatherclean.io.media import is_visible_image

        self.folder = Path(folder)
        self.root = Path(dataset_root)
        self.files: dict[str, list[Path]] = {}
        #: The files by their name alone, wherever they lie: the near misses an error names.
        self.by_name: dict[str, list[Path]] = {}
        for dirpath, dirnames, filenames in os.walk(self.folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath, filename)
                if is_visible_image(path):
                    key = path.relative_to(self.folder).with_suffix("").as_posix()
                    self.files.setdefault(key, []).append(path)
                    self.by_name.setdefault(path.stem, []).append(path)
        self.shared = {key for key, n in Counter(inventory.keys).items() if n > 1}
        self.many = inventory.many
        #: Outputs that are greyscale beside a colour ground truth, and fully transparent ones (:meth:`check_colour`).
        self.grey: list[Path] = []
        self.clear: list[Path] = []
        #: How many of the dataset's inputs could each name by name alone (own, ground truth's, pair's number),
        #: and each key below the top folder: a name two could have is no one's.
        self.claims: Counter[str] = Counter(name for key in inventory.keys for name in _pair_names(key))
        for source, gt in pairs:
            self.claims.update({key for _, key in self._places(source, gt) if "/" in key})
            if gt is not None and gt.stem not in _pair_names(source.stem):
                self.claims[gt.stem] += 1  # a ground truth named otherwise (another Unicode normalisation)

    def _mirror(self, source: Path) -> str | None:
        """The input's path below the dataset root, without its type: where a mirror holds its output."""
        return source.relative_to(self.root).with_suffix("").as_posix() if source.is_relative_to(self.root) else None

    def _places(self, source: Path, gt: Path | None) -> list[tuple[str, str]]:
        """Where a picture's output may lie, as (how it is found, key), in the order looked: its own name at its
        mirror, in its set's folder (the folder holding its input and ground-truth folders) and at the top, then
        its ground truth's name and its pair's number in the same folders."""
        names = {source.stem: "its name"}
        for name, how in (
            (gt.stem if gt else None, "its ground truth's name"),
            (_number(source.stem), "its pair's number"),
        ):
            if name is not None:
                names.setdefault(name, how)
        folders = {".": ""}
        if source.is_relative_to(self.root):
            home = _set_folder(source, gt)
            sets = (
                {home.relative_to(self.root).as_posix(): " in its set's folder"}
                if home.is_relative_to(self.root)
                else {}
            )
            folders = {source.parent.relative_to(self.root).as_posix(): "", **sets, **folders}
        return [
            (how + where, _joined(folder, name)) for name, how in names.items() for folder, where in folders.items()
        ]

    def _usable(self, key: str, source: Path, flat_key: str) -> bool:
        """Whether ``key`` can only be ``source``'s output (the rules in the class docstring)."""
        if key == self._mirror(source):
            return True
        if "/" in key:
            return self.claims[key] == 1
        if self.many:
            return False
        return flat_key not in self.shared if key == flat_key else self.claims[key] == 1

    def find(self, source: Path, flat_key: str, notes: list[str] | None = None, gt: Path | None = None) -> Path:
        """The output of input ``source`` (whose name in its folder is ``flat_key``; ``gt`` its ground truth);
        :class:`DatasetError` naming where it was looked for, and files of its names found elsewhere, when there
        is none."""
        mirror = self._mirror(source)
        if "/" in flat_key:  # a clip frame: at the mirror of its path, or as CLIP/FRAME
            places = [("its name", key) for key in ([mirror] if mirror is not None else []) + [flat_key]]
        else:
            places = self._places(source, gt)
        looked: list[str] = []
        others: list[tuple[str, str]] = []
        for how, key in places:
            if key in looked or not self._usable(key, source, flat_key):
                continue
            looked.append(key)
            if key in self.files:
                if key in (mirror, flat_key):  # its own name at its mirror or in its folder: the first rules win
                    return self._picked(key, source, how, notes)
                others.append((how, key))
        own = [(how, key) for how, key in others if key.rpartition("/")[2] == source.stem]
        if len(own) == 1:  # its own name in its set's folder, beside files of other names (a ground truth's copy)
            return self._picked(own[0][1], source, own[0][0], notes)
        if len(others) == 1:  # by another name (set folder, ground truth's, pair's number) only where one is there
            return self._picked(others[0][1], source, others[0][0], notes)
        if others:
            raise DatasetError(self._several(source, others))
        if notes is not None and (self.many or flat_key in self.shared):
            self._mirror_only(flat_key, notes)
        near = self._near(source, gt, [key.rpartition("/")[2] for _, key in places])
        looked_for = self._shown(looked)
        raise DatasetError(f"{source}: no restored picture for it in --outputs (looked for {looked_for}){near}")

    def _several(self, source: Path, found: list[tuple[str, str]]) -> str:
        """Why ``source`` is not scored where several files, none of its own name, could be its output (results
        with copies of the ground truths beside them: ``1.png`` and ``1_gt.png``); taking the first would score
        the wrong one without a word."""
        files = ", ".join(f"{p} (by {how})" for how, key in found for p in self.files[key])
        return (
            f"{source}: several pictures in --outputs could be its output: {files}; none is named as the input "
            f"({source.stem}.*), so none is scored: name its output {source.stem}.* or move the others out of --outputs"
        )

    def _picked(self, key: str, source: Path, how: str, notes: list[str] | None) -> Path:
        """The file of ``key`` (by :data:`~weatherclean.data.pairing.PICK_RULE` where several share it), with a
        note, once per way, where it was found otherwise than by the input's own name."""
        from weatherclean.data.pairing import add_note, pick_partner

        chosen = pick_partner(self.files[key], source, notes, role="output")
        if notes is None:
            return chosen
        head = f"{self.folder}: outputs found by {how}"
        if how != "its name" and not any(n.startswith(head + ",") for n in notes):
            add_note(notes, f"{head}, e.g. {chosen} for {source}; no other input of the dataset could have it there")
        return chosen

    def _shown(self, keys: list[str]) -> str:
        """The keys looked for, by folder: ``OUT/rain/{1_rain,1_gt,1}.*``."""
        by_folder: dict[str, list[str]] = {}
        for key in keys:
            folder, _, name = key.rpartition("/")
            by_folder.setdefault(folder, []).append(name)
        return " or ".join(
            f"{self.folder / folder}/{names[0] if len(names) == 1 else '{' + ','.join(names) + '}'}.*"
            for folder, names in by_folder.items()
        )

    def _near(self, source: Path, gt: Path | None, names: list[str]) -> str:
        """The files named as the input's output may be that lie elsewhere in --outputs (or where another input
        could have them), and how to score them: one set at a time, ``--dataset SET --outputs RESULTS/SET``, where
        its set is a folder below the dataset's (the dataset's own would score the same again)."""
        home = _set_folder(source, gt)
        near = [p for name in dict.fromkeys(names) for p in self.by_name.get(name, [])]
        near = sorted(near, key=lambda p: p.parent.name != home.name)[:3]  # its set's name first (stable)
        if near:
            where = near[0].parent
            found = f"; found {', '.join(str(p) for p in near)}, not where its output is looked for or where another "
            found += "input could have it"
            if home.resolve() == self.root.resolve() or not home.is_relative_to(self.root):  # no set to score apart
                return found
            return (
                f"{found}; if {where} holds the outputs of {home} alone, score that set apart: --dataset {home} "
                f"--outputs {where}"
            )
        if self.many:
            return f"; results laid out by set are scored one set at a time: --dataset {home} --outputs RESULTS/SET"
        return ""

    def check_colour(self, path: Path, grey: bool, alpha: np.ndarray | None, gt: Path) -> None:
        """Remember an output that is greyscale beside a colour ground truth, or transparent all over, for
        :meth:`colour_notes`: both are scored (grey copied to R, G and B; colour channels as if opaque), as a grey
        ground truth is, and said as a grey ground truth is, since the mean alone would never show them."""
        if alpha is not None and not alpha.any():
            self.clear.append(path)
        if grey and _is_grey_file(gt) is False:
            self.grey.append(path)

    def colour_notes(self) -> list[str]:
        """One note per kind of output :meth:`check_colour` found (how many, the first as example)."""
        out = []
        if self.grey:
            out.append(
                f"{self.folder}: {len(self.grey)} output(s) are greyscale but their ground truth is in colour (e.g. "
                f"{self.grey[0]}); scored with the grey copied to R, G and B, so their RGB scores count the colour as "
                "error (Y is comparable); check that the method wrote colour pictures"
            )
        if self.clear:
            out.append(
                f"{self.folder}: {len(self.clear)} output(s) are fully transparent (alpha 0 everywhere, e.g. "
                f"{self.clear[0]}); scored by their colour channels as if opaque, though a viewer shows nothing there; "
                "check the outputs"
            )
        return out

    def _mirror_only(self, flat_key: str, notes: list[str]) -> None:
        """Say once, not after every input without its output, why only the mirror of ``--dataset`` and the set
        folders were looked in."""
        head = f"{self.folder}: the outputs of some inputs were looked up only as a mirror of --dataset or by set"
        if any(n.startswith(head) for n in notes):
            return
        why = "it holds several sets" if self.many else f"several of its inputs share a name, e.g. {flat_key}"
        notes.append(
            f"{head} ({self.folder}/PATH/NAME.* or {self.folder}/SET/NAME.*), not by name alone, which could be "
            f"another input's ({why})"
        )


def _joined(folder: str, name: str) -> str:
    """An output key: ``name`` in ``folder`` below --outputs (``.``: its top)."""
    return name if folder == "." else f"{folder}/{name}"


def _set_folder(source: Path, gt: Path | None) -> Path:
    """The folder of a picture's set: the one holding its input and its ground truth (``DATA/Rain100H`` for
    ``input/1.png`` and ``target/1.png`` in it; Rain100L's one folder), else its input folder's parent."""
    return Path(os.path.commonpath([source.parent, gt.parent])) if gt is not None else source.parent.parent


def _number(stem: str) -> str:
    """A rain pair's number, ``1`` for ``1_rain`` (and ``1_gt``), ``001`` for ``rain-001``; else the stem itself."""
    from weatherclean.data.rain import STEM_RULES

    return next((m.group("key") for rule in STEM_RULES if (m := rule.rainy.fullmatch(stem))), stem)


def _pair_names(stem: str) -> set[str]:
    """Every name an input ``stem`` may give its output by: its own, its pair's number, its ground truth's by the
    rain naming rules (``norain-001`` for ``rain-001``)."""
    from weatherclean.data.rain import clean_candidates

    return {*clean_candidates(stem), _number(stem)}


def _read_output(
    outputs: OutputFiles, source: Path, flat_key: str, gt_path: Path, gt: np.ndarray, notes: list[str]
) -> np.ndarray:
    """An output picture for ``source``, checked against its ground truth's size, and refused where it is the
    dataset's own input or ground truth (an ``--outputs`` folder that holds the dataset's pictures)."""
    from weatherclean.io.images import load_image
    from weatherclean.io.images.load import three_channels

    path = outputs.find(source, flat_key, notes, gt_path)
    if path.resolve() in (source.resolve(), gt_path.resolve()):
        side = "input itself" if path.resolve() == source.resolve() else "ground truth"
        raise DatasetError(
            f"{source}: its output {path} is its {side}; give --outputs the folder the restored pictures were "
            "written to"
        )
    try:
        loaded = load_image(path)
    except InputError as exc:
        raise DatasetError(f"{source}: its output {exc}") from None
    out = three_channels(loaded.pixels)  # as read_rgb
    if out.shape != gt.shape:
        raise DatasetError(
            f"{source}: its output {path} is {out.shape[1]}x{out.shape[0]} but the ground truth is "
            f"{gt.shape[1]}x{gt.shape[0]}; an output must keep its input's size"
        )
    outputs.check_colour(path, loaded.pixels.shape[2] == 1, loaded.alpha, gt_path)
    return out


def _picture_folders(pairs: list[tuple[tuple[Path, ...], tuple[Path, ...]]]) -> dict[Path, tuple[str, bool]]:
    """The folders holding a dataset's inputs or ground truths (resolved), each with what it holds and whether it
    holds that side alone (``gt/``, ``processed/``), or the other side too (Rain100L's one folder, PReNet's set
    folder with ``rainy/`` in it, NTURain's folder of ``CLIP_Rain`` and ``CLIP_GT``). A clip's folder and the one
    above it (``gt/CLIP`` and ``gt/``) both count."""
    found: dict[Path, tuple[set[str], bool]] = {}
    for inputs, gts in pairs:
        for side, own, other in (("input", inputs, gts), ("ground-truth", gts, inputs)):
            folder = own[0].parent
            for f in (folder, folder.parent) if len(own) > 1 else (folder,):
                sides, alone = found.get(f, (set(), True))
                found[f] = (sides | {side}, alone and not other[0].is_relative_to(f))
    return {f.resolve(): (" and ".join(sorted(sides, reverse=True)), alone) for f, (sides, alone) in found.items()}


def _outputs_of(
    outputs: Path | None, scan: Scan[Any], sides: list[tuple[tuple[Path, ...], tuple[Path, ...]]]
) -> OutputFiles | None:
    """``--outputs``' pictures for a dataset as ``scan`` read it (None without ``--outputs``): the folder is
    checked against every input's and ground truth's (``sides``) before anything is scored."""
    if outputs is None:
        return None
    stills = [(inputs[0], gts[0]) for inputs, gts in sides if len(inputs) == 1]
    unpaired = [(path, None) for path, _ in scan.missing if path.is_file()]
    return OutputFiles(_check_outputs(outputs, scan.root, sides), scan.root, scan.inventory, [*stills, *unpaired])


def _check_outputs(outputs: Path, dataset_root: Path, pairs: list[tuple[tuple[Path, ...], tuple[Path, ...]]]) -> Path:
    """Refuse an ``--outputs`` folder that holds the dataset's own pictures rather than restored ones: the dataset
    folder itself, a folder of its inputs or ground truths, or a folder inside one of those that holds one side
    alone (``DATA/gt/walk``). Scoring ground truths as outputs gives PSNR = inf and SSIM 1.0, and scoring inputs
    repeats the input row, both with exit code 0: numbers that look like a result."""
    outputs = Path(outputs)
    if not outputs.is_dir():
        raise InputError(f"{outputs}: --outputs folder not found; give the folder of restored pictures to score")
    if outputs.resolve() == Path(dataset_root).resolve():
        raise InputError(
            f"{outputs}: --outputs is the --dataset folder itself, whose pictures are the inputs; give the folder "
            "the restored pictures were written to"
        )
    out = outputs.resolve()
    for folder, (holds, alone) in _picture_folders(pairs).items():
        if out == folder or (alone and out.is_relative_to(folder)):
            where = "" if out == folder else f"inside {folder}, "
            raise InputError(
                f"{outputs}: --outputs is {where}a folder of the dataset's {holds} pictures; give the folder the "
                "restored pictures were written to"
            )
    return outputs


def outputs_label(outputs: Path) -> str:
    """The table row of scored outputs: ``outputs (FOLDER)``."""
    return f"outputs ({Path(outputs).resolve().name})"


def _start(task: str, scan: Scan[Any], input_method: str, crop_border: int = 0) -> EvaluationResult:
    """A result for ``scan``, with its unpaired inputs as failures and its pairing notes; scores cut
    ``crop_border`` pixels from each edge, as its conventions say."""
    if crop_border < 0:
        raise InputError(f"--crop-border must be 0 or more, got {crop_border}")
    result = EvaluationResult(
        task=task, dataset=str(scan.root), split=scan.split, input_method=input_method,
        conventions=conventions(crop_border), crop_border=crop_border,
    )  # fmt: skip
    for path, why in scan.missing:
        result.fail(path, why)
    for text in scan.notes:
        result.note(text)
    result.methods.append(input_method)
    return result


# ------------------------------------------------------------------------------------------------ snow


def evaluate_snow(
    dataset_root: Path,
    restore: Callable[[torch.Tensor], torch.Tensor] | None,
    *,
    split: str | None = None,
    limit: int | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    overlap: int = 32,
    baselines: Mapping[str, Baseline] | None = None,
    model_label: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    finish: Finish | None = None,
    outputs: Path | None = None,
    scan: Scan[SnowTriple] | None = None,
    crop_border: int = 0,
) -> EvaluationResult:
    """Score ``restore`` (Bx3xHxW → Bx3xHxW in [0, 1]) on Snow100K-style pairs, plus the baselines.

    ``finish(image, restored)`` is applied to each whole restored picture after its tiles are joined
    (:meth:`~weatherclean.restore.Restorer.finish`: a model's picture gate), so that what is scored is
    what ``desnow`` writes.

    ``restore`` may be ``None`` to score only the input and the ``baselines`` (label → function on an
    HxWx3 image). ``outputs`` (with ``restore`` None) scores pictures already restored, found as
    :class:`OutputFiles` says, in a row labelled ``model_label`` (default ``outputs (FOLDER)``). ``limit``
    takes the first N pairs in the dataset's (sorted) order so that repeated quick runs compare the same images.
    ``scan`` is the dataset as :func:`scan_snow` read it for ``dataset_root`` and ``split`` (the CLI reads it
    before loading the model); by default it is read here. The ``progress`` bar goes to ``console`` (default: a
    console on stderr).
    """
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if restore is not None and outputs is not None:
        raise InputError("give a model to run or --outputs to score, not both")
    scan = scan if scan is not None else scan_snow(Path(dataset_root), split)
    pairs = scan.items[:limit] if limit is not None else list(scan.items)
    found = _outputs_of(outputs, scan, [((t.synthetic,), (t.gt,)) for t in scan.items])
    label = model_label or (outputs_label(outputs) if outputs is not None else "model")
    baselines = dict(baselines or {})
    result = _start("snow", scan, INPUT_METHOD, crop_border)
    result.methods.extend(baselines)
    if restore is not None or outputs is not None:
        result.methods.append(label)
    run = _SnowRun(restore, baselines, device, tile, overlap, label, finish, found, crop_border)

    with _progress(progress, console) as bar:
        task = bar.add_task("evaluating", total=len(pairs))
        for pair in pairs:
            try:
                rows = run.score(pair, result)
            except (InputError, DatasetError, ValueError) as exc:
                # One bad pair must not cost the scores of the others; all of a pair's rows or none.
                result.fail(pair.synthetic, str(exc))
            else:
                for row in rows:
                    result.add(row, pair.split, pair.group)
            bar.advance(task)
    if restore is not None:
        result.model["tiles_used"] = sorted(run.tiles)
    for text in found.colour_notes() if found is not None else []:
        result.note(text)
    return _conclude(result)


def _tiled(tile: int, image: np.ndarray, tiles: set[int]) -> None:
    """Remember ``tile`` where it split the picture: the engine reports the picture's own size for one that ran
    whole, which says nothing about tiling (an empty set: every picture ran whole)."""
    if tile < max(image.shape[:2]):
        tiles.add(tile)


@dataclass
class _SnowRun:
    """What scores one Snow100K pair: the input row, the baselines, then the model or the given outputs."""

    restore: Callable[[torch.Tensor], torch.Tensor] | None
    baselines: Mapping[str, Baseline]
    device: str | torch.device
    tile: int | None
    overlap: int
    label: str
    finish: Finish | None
    outputs: OutputFiles | None
    crop_border: int = 0
    #: The tile sizes that split a picture (see :func:`_tiled`), for the report's model block.
    tiles: set[int] = field(default_factory=set)

    def score(self, pair: SnowTriple, result: EvaluationResult) -> list[ImageScore]:
        """Every row of one pair (input, baselines, model or output), or an exception and none: a pair is scored
        whole or left out whole, so every method's mean covers the same pairs. Notes go to ``result``."""
        from weatherclean.data.images import read_rgb

        snowy = read_rgb(pair.synthetic)
        gt = read_rgb(pair.gt)
        if snowy.shape != gt.shape:
            raise DatasetError(
                f"{pair.synthetic}: size {snowy.shape[1]}x{snowy.shape[0]} differs from its ground truth "
                f"{pair.gt} ({gt.shape[1]}x{gt.shape[0]}); the dataset pairs are mismatched, re-extract it"
            )
        name = pair.name
        scored = partial(score_pair, crop_border=self.crop_border)
        rows = [scored(name, INPUT_METHOD, snowy, gt)]
        for label, fn in self.baselines.items():
            start = time.perf_counter()
            restored = np.asarray(fn(snowy), dtype=np.float32)
            seconds = time.perf_counter() - start
            if restored.shape != snowy.shape:
                raise InputError(f"baseline '{label}' changed the size of {pair.synthetic}; it must keep it")
            rows.append(scored(name, label, restored, gt, seconds))
        if self.outputs is not None:
            restored = _read_output(self.outputs, pair.synthetic, pair.synthetic.stem, pair.gt, gt, result.notes)
            rows.append(scored(name, self.label, restored, gt))
        elif self.restore is not None:
            restored, seconds = _run_model(
                self.restore, snowy, name=str(pair.synthetic), device=self.device, tile=self.tile,
                overlap=self.overlap, finish=self.finish, on_tile=lambda t: _tiled(t, snowy, self.tiles),
            )  # fmt: skip
            rows.append(scored(name, self.label, restored, gt, seconds))
        _check_colour(result, name, pair.synthetic, pair.gt)
        return rows


# ------------------------------------------------------------------------------------------------ rain

RAIN_INPUT_METHOD = "input (rainy)"
#: Frames on each side of the temporal-median baseline's window (5 frames in all).
TEMPORAL_RADIUS = 2


def temporal_median(frames: np.ndarray, radius: int = TEMPORAL_RADIUS) -> np.ndarray:
    """Per-pixel median over a sliding window of frames (T×H×W×C): the classic video rain remover.

    Rain streaks are brief and the background steady, so the median over a few frames removes most
    rain on a static camera (and smears anything that moves); the floor a video model must beat.
    """
    t = frames.shape[0]
    out = np.empty_like(frames)
    for i in range(t):
        lo, hi = max(0, i - radius), min(t, i + radius + 1)
        out[i] = np.median(frames[lo:hi], axis=0)
    return out


def evaluate_rain(
    dataset_root: Path,
    model: torch.nn.Module | None,
    *,
    split: str | None = None,
    limit: int | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    overlap: int = 32,
    baseline: bool = False,
    model_label: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    dtype: torch.dtype | None = None,
    outputs: Path | None = None,
    scan: Scan[RainClipPaths] | None = None,
    crop_border: int = 0,
) -> EvaluationResult:
    """Score a recurrent rain model clip by clip (frames in order, memory carried), plus baselines.

    Any layout :func:`~weatherclean.data.rain.find_rain_clips` reads works: clips (RainSyn, NTURain,
    ``synth rain --clips``) and single pairs (``rain/`` + ``gt/``, Rain100L/H, ``input/`` + ``target/``, where
    every "clip" is one frame and the model runs in single-frame mode). ``split`` ("train"/"test") keeps one
    split of a set that has them and is refused for one that has not. Rows are per frame, named
    ``clip/frame``; :meth:`clip_means` gives per-clip means. ``baseline`` adds the temporal median for clips
    of 3+ frames and the 3×3 median filter for single images. ``limit`` keeps the first N clips. ``dtype``
    runs the model under autocast, guarded as in ``derain``. ``outputs`` (with ``model`` None) scores pictures
    already restored, found as :class:`OutputFiles` says. ``scan`` is the dataset as :func:`scan_rain` read it
    for ``dataset_root`` and ``split`` (the CLI reads it before loading the model); by default it is read here.
    The ``progress`` bar goes to ``console`` (default: a console on stderr).
    """
    from weatherclean.restore.recurrent import RecurrentTiles

    if model is not None and outputs is not None:
        raise InputError("give a model to run or --outputs to score, not both")
    scan = scan if scan is not None else scan_rain(Path(dataset_root), split)
    clips = scan.items[:limit] if limit is not None else list(scan.items)
    found = _outputs_of(outputs, scan, [(c.rainy, c.clean) for c in scan.items if c.clean is not None])
    label = model_label or (outputs_label(outputs) if outputs is not None else "model")
    result = _start("rain", scan, RAIN_INPUT_METHOD, crop_border)
    scored = partial(score_pair, crop_border=crop_border)
    dev = torch.device(device)
    tiles: set[int] = set()
    with _progress(progress, console) as bar:
        task = bar.add_task("evaluating", total=sum(len(c) for c in clips))
        for clip in clips:
            try:
                rainy, clean = clip.read()
                assert clean is not None and clip.clean is not None
                _check_colour(result, clip.name, clip.rainy[0], clip.clean[0])
                frames = range(len(clip))
                rows = [scored(clip.frame_name(i), RAIN_INPUT_METHOD, rainy[i], clean[i]) for i in frames]
                if baseline:
                    start = time.perf_counter()
                    if len(clip) >= 3:
                        base, restored = f"temporal median ({2 * TEMPORAL_RADIUS + 1} frames)", temporal_median(rainy)
                    else:
                        base, restored = BASELINES["median"][0], np.stack([median_filter(f) for f in rainy])
                    per = (time.perf_counter() - start) / len(clip)
                    rows += [scored(clip.frame_name(i), base, restored[i], clean[i], per) for i in frames]
                if found is not None:
                    for i in frames:
                        out = _read_output(
                            found, clip.rainy[i], clip.frame_key(i), clip.clean[i], clean[i], result.notes
                        )
                        rows.append(scored(clip.frame_name(i), label, out, clean[i]))
                    bar.advance(task, len(clip))
                elif model is not None:
                    runner = RecurrentTiles(model, device=dev, dtype=dtype, tile=tile, overlap=overlap)
                    for i in frames:
                        start = time.perf_counter()
                        out = runner(rainy[i])
                        seconds = time.perf_counter() - start
                        rows.append(scored(clip.frame_name(i), label, out, clean[i], seconds))
                        bar.advance(task)
                    if runner.tile is not None:
                        _tiled(runner.tile, rainy[0], tiles)
                    for text in runner.notes:
                        result.note(f"{clip.name}: {text}")
                else:
                    bar.advance(task, len(clip))
            except (InputError, DatasetError, ValueError, OSError) as exc:
                result.fail(clip.location, str(exc))
                continue
            for row in rows:
                result.add(row, clip.split, clip.group)
    if model is not None:
        result.model["tiles_used"] = sorted(tiles)
    for text in found.colour_notes() if found is not None else []:
        result.note(text)
    return _conclude(result)


# ----------------------------------------------------------------------------------------------- reports


def _csv_text(result: EvaluationResult) -> str:
    """One line per image and method, with the image's split and set (empty where the dataset has none), so a
    spreadsheet can group the rows as the per-split and per-set tables do, and the pixels cut from each edge
    (``--crop-border``), since a score file read alone must say it; last, so the columns that were there before
    keep their places.

    The file is UTF-8. Each name is written as it is, as the JSON report has it, so the two join on it; only a name
    that UTF-8 cannot write (or one with a carriage return) is written as the terminal shows it (:func:`_csv_name`):
    its bytes that are not UTF-8 made the write fail with a traceback after the whole evaluation."""
    buf = io.StringIO()
    fields = ["name", "method", *_METRIC_FIELDS, "seconds", "split", "set", "crop_border"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        where = {"split": _csv_name(result.splits.get(row.name, "")), "set": _csv_name(result.sets.get(row.name, ""))}
        cells = {k: _fmt_csv(v) for k, v in asdict(row).items()}
        writer.writerow(
            {**cells, **where, "name": _csv_name(row.name), "method": _csv_name(row.method, printable),
             "crop_border": result.crop_border}
        )  # fmt: skip
    return buf.getvalue()


def _csv_name(name: str, escaped: Callable[[str], str] = shown) -> str:
    """A name (a row's, a split's, a set's, or a method's label, which may name a folder) as a CSV report writes
    it: as it is, a tab, a newline or U+202E included (csv quotes what it must, and a reader gets back the name the
    JSON report holds, so the two join on it); ``escaped(name)`` only where that cannot work, by default as the
    terminal shows a path (:func:`shown`, ``$'caf\\xe9'``; a method's label is given :func:`printable`).

    Where it cannot: a name with bytes that are not UTF-8 (each a lone surrogate ``\\udcXX`` here), which made the
    write fail with ``UnicodeEncodeError`` after the whole evaluation, and a name with a carriage return, which
    this writer (rows end in ``\\n``) does not quote, so a CSV reader split the row there. Such a name differs
    from the JSON report's, which keeps ``\\udcXX`` (``os.fsencode`` of it gives the file's bytes)."""
    if "\r" in name:
        return escaped(name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return escaped(name)
    return name


def _fmt_csv(value: Any) -> Any:
    """Six decimals; an infinite PSNR (an exact pair) as ``inf``, which csv readers, pandas included, take as a
    float, and which a spreadsheet shows as what it is."""
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.6f}"
    return value


def check_report_path(path: Path) -> Path:
    """Reject a report name we cannot write *before* a long evaluation, not after it."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".json"):
        raise InputError(f"{path}: unknown report format '{path.suffix}'; name the report *.csv or *.json")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name ending in .csv or .json")
    why = _unreplaceable(path)
    if why:
        raise OutputError(f"{path}: cannot be replaced ({why}); choose another --report FILE")
    return path


def _unreplaceable(path: Path) -> str | None:
    """Why an existing report at ``path`` cannot be replaced by the rename that writes it, else None: its folder is
    not writable, or is sticky (``/tmp``) and the file another user's. Checked before the evaluation, since
    ``--overwrite`` over a colleague's report in ``/tmp`` computed every score, then failed to write them."""
    import stat

    from weatherclean.io.permissions import user_name

    try:
        info = os.lstat(path)
    except OSError:  # none there (or unreadable: the write says why)
        return None
    folder = path.parent
    try:
        above = os.stat(folder)
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable by you"
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    if above.st_mode & stat.S_ISVTX and uid not in (0, info.st_uid, above.st_uid):
        return (
            f"it belongs to {user_name(info.st_uid)}, and only its owner may replace it in the sticky folder {folder}"
        )
    return None


def write_report(result: EvaluationResult, path: Path) -> Path:
    """Write per-image scores as ``.csv`` (one row per image and method) or ``.json`` (with the means).

    The file is written to a temporary name and renamed, so an interrupted run never leaves a
    half-written report that a later script would read as complete.
    """
    path = check_report_path(path)
    if path.suffix.lower() == ".csv":
        text = _csv_text(result)
    else:
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the report folder ({exc.strerror or exc})") from None
    atomic_write(path, text.encode("utf-8"))
    return path


def _fmt(value: float | None, digits: int) -> str:
    """A table cell; a PSNR mean of None (every image exact) and an infinite PSNR show as ``inf``."""
    return "inf" if value is None or math.isinf(value) else f"{value:.{digits}f}"


def _psnr_cell(mean: float | None, infinite: int, count: int) -> str:
    """A PSNR mean, marked ``23.72 (2/6)`` where it covers only some of the row's pictures (the others were exact,
    PSNR = inf): the rows' means may then be over different pictures, which a bare number would hide."""
    return _fmt(mean, 2) if mean is None or not infinite else f"{mean:.2f} ({count - infinite}/{count})"


def _summary_cells(s: MethodSummary, input_method: str) -> list[str]:
    # The input is not restored at all, and outputs scored from disk (--outputs) were not timed here.
    seconds = "-" if s.method == input_method or s.seconds == 0.0 else f"{s.seconds:.3f}"
    psnr_rgb = _psnr_cell(s.psnr_rgb, s.infinite_rgb, s.count)
    psnr_y = _psnr_cell(s.psnr_y, s.infinite_y, s.count)
    return [psnr_rgb, _fmt(s.ssim_rgb, 4), psnr_y, _fmt(s.ssim_y, 4), str(s.count), seconds]


_SUMMARY_HEADERS = ("PSNR RGB", "SSIM RGB", "PSNR Y", "SSIM Y", "images", "sec/img")


def render_summary(result: EvaluationResult, *, title: str | None = None) -> Table:
    """Paper-style table: one row per method, input first, so the gain over doing nothing is visible."""
    task_name = {"snow": "Desnowing", "rain": "Deraining"}.get(result.task, result.task)
    split = f" (split {result.split})" if result.split else ""
    where = escape(shown(result.dataset))
    title = title or f"{task_name} on {where}{escape(printable(split))}"
    table = Table(title=title, caption=caption(result.crop_border))
    table.add_column("method", overflow="fold")  # long labels wrap; the numbers never get cut off
    for header in _SUMMARY_HEADERS:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header.split()[0]) + 2)
    for s in result.summary():
        table.add_row(_label(s.method), *_summary_cells(s, result.input_method))
    return table


def _label(text: str) -> str:
    """A method's label as a table cell: escaped (:func:`~weatherclean.io.folders.printable`) and as plain text, not
    Rich markup. Why: ``outputs (FOLDER)`` names a folder, and a folder name's escape sequence or ``[red]`` reached
    the terminal or was read as markup."""
    return escape(printable(text))


def _name_cell(name: str) -> str:
    """A clip's, a set's or a split's name as a table cell: as the terminal shows a path
    (:func:`~weatherclean.io.folders.shown`), and as plain text, not Rich markup."""
    return escape(shown(name))


def _grouped_table(result: EvaluationResult, what: str, groups: dict[str, list[MethodSummary]]) -> Table:
    """A summary per group (split or set), the group's name on its first row."""
    table = Table(title=f"per {what}")
    table.add_column(what)
    table.add_column("method", overflow="fold")
    for header in _SUMMARY_HEADERS:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header.split()[0]) + 2)
    for name, rows in groups.items():
        for i, s in enumerate(rows):
            table.add_row(_name_cell(name) if i == 0 else "", _label(s.method), *_summary_cells(s, result.input_method))
    return table


def render_split_table(result: EvaluationResult) -> Table:
    """The summary of each split apart (Snow100K-S/M/L, train/test), as papers report them; empty when the
    rows come from one split only."""
    return _grouped_table(result, "split", result.split_summaries())


def render_set_table(result: EvaluationResult) -> Table:
    """The summary of each set apart (Restormer's Rain100H, Rain100L and Test100 under one ``test`` folder), as
    papers report each benchmark; empty when the rows come from one set, or the sets are the splits."""
    return _grouped_table(result, "set", result.set_summaries())


def render_clip_table(result: EvaluationResult, clips: dict[str, dict[str, float]] | None = None) -> Table:
    """Mean PSNR (Y) per clip and method: where a model helps and where it does not."""
    clips = clips if clips is not None else result.clip_means()
    methods = [s.method for s in result.summary()]
    table = Table(title="per clip: mean PSNR (Y), dB", show_lines=False)
    table.add_column("clip")
    for method in methods:
        table.add_column(_label(method), justify="right")
    for clip, per in clips.items():
        table.add_row(_name_cell(clip), *(_fmt(per[m], 2) if m in per else "" for m in methods))
    return table
