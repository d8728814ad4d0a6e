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
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from scipy.ndimage import median_filter as _ndimage_median

from weatherclean.errors import DatasetError, InputError, ModelError, OutputError
from weatherclean.evaluation.metrics import CONVENTIONS, psnr, ssim
from weatherclean.io.atomic import atomic_write

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
    "temporal_median",
    "write_report",
    "render_summary",
    "render_clip_table",
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
    """Means over the images of one method; PSNR is ``inf`` if any image was restored exactly."""

    method: str
    count: int
    psnr_rgb: float
    ssim_rgb: float
    psnr_y: float
    ssim_y: float
    seconds: float


@dataclass
class EvaluationResult:
    """Per-image scores plus what was evaluated; ``methods`` keeps the row order of the summary."""

    task: str
    dataset: str
    split: str | None = None
    methods: list[str] = field(default_factory=list)
    rows: list[ImageScore] = field(default_factory=list)
    conventions: str = CONVENTIONS
    #: Label of the do-nothing row, e.g. "input (rainy)" for a rain evaluation; always listed first.
    input_method: str = INPUT_METHOD
    #: (image, reason) for pairs that could not be scored; they are left out of every mean.
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: What was scored, for a report read later: the model as given and as found, device, precision...
    model: dict[str, Any] = field(default_factory=dict)

    def add(self, row: ImageScore) -> None:
        """Record a score, remembering the method order of first appearance (input, baselines, model)."""
        if row.method not in self.methods:
            self.methods.append(row.method)
        self.rows.append(row)

    @property
    def image_count(self) -> int:
        return len({row.name for row in self.rows})

    def summary(self) -> list[MethodSummary]:
        """Mean scores per method: the input row first, then ``methods`` order (empty methods left out)."""
        out: list[MethodSummary] = []
        order = [m for m in self.methods if m == self.input_method] + [
            m for m in self.methods if m != self.input_method
        ]
        for method in order:
            rows = [row for row in self.rows if row.method == method]
            if not rows:
                continue
            means = {f: float(np.mean([getattr(r, f) for r in rows], dtype=np.float64)) for f in _METRIC_FIELDS}
            seconds = float(np.mean([r.seconds for r in rows], dtype=np.float64))
            out.append(MethodSummary(method=method, count=len(rows), seconds=seconds, **means))
        return out

    def clip_means(self) -> dict[str, dict[str, float]]:
        """Per clip (the part of a row name before ``/``) and method: mean PSNR on Y, for clip tables."""
        sums: dict[str, dict[str, list[float]]] = {}
        for row in self.rows:
            clip = row.name.split("/")[0]
            sums.setdefault(clip, {}).setdefault(row.method, []).append(row.psnr_y)
        return {clip: {m: float(np.mean(v)) for m, v in per.items()} for clip, per in sums.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; infinite PSNR becomes the string ``"inf"`` because JSON has no infinity."""
        return {
            "task": self.task,
            "dataset": self.dataset,
            "split": self.split,
            "input_method": self.input_method,
            "model": self.model,
            "conventions": self.conventions,
            "summary": [_json_safe(asdict(s)) for s in self.summary()],
            "images": [_json_safe(asdict(r)) for r in self.rows],
            "failed": [{"image": name, "reason": reason} for name, reason in self.failed],
        }


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (("inf" if v > 0 else "-inf") if isinstance(v, float) and math.isinf(v) else v) for k, v in d.items()}


def score_pair(name: str, method: str, restored: np.ndarray, gt: np.ndarray, seconds: float = 0.0) -> ImageScore:
    """All four numbers for one restored image against its ground truth."""
    return ImageScore(
        name=name,
        method=method,
        psnr_rgb=psnr(restored, gt),
        ssim_rgb=ssim(restored, gt),
        psnr_y=psnr(restored, gt, y_channel=True),
        ssim_y=ssim(restored, gt, y_channel=True),
        seconds=seconds,
    )


def _progress(enabled: bool) -> Progress:
    # stderr, so that a report or table on stdout stays clean when piped.
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
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
) -> tuple[np.ndarray, float]:
    from weatherclean.restore.tiling import run_tiled_array

    start = time.perf_counter()
    try:
        out = run_tiled_array(restore, image, tile=tile, overlap=overlap, device=device)
        if finish is not None:
            out = finish(image, out)
    except ModelError as exc:
        raise ModelError(f"{name}: {exc}") from None
    seconds = time.perf_counter() - start
    return out, seconds


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
    model_label: str = "model",
    progress: bool = True,
    finish: Finish | None = None,
) -> EvaluationResult:
    """Score ``restore`` (Bx3xHxW → Bx3xHxW in [0, 1]) on Snow100K-style pairs, plus the baselines.

    ``finish(image, restored)`` is applied to each whole restored picture after its tiles are joined
    (:meth:`~weatherclean.restore.Restorer.finish`: a model's picture gate), so that what is scored is
    what ``desnow`` writes.

    ``restore`` may be ``None`` to score only the input and the ``baselines`` (label → function on an
    HxWx3 image). ``limit`` takes the first N pairs in the dataset's (sorted) order so that repeated
    quick runs compare the same images.
    """
    from weatherclean.data.images import read_rgb
    from weatherclean.data.snow import find_snow100k

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    split = split.upper() if split else None
    missing: list[tuple[Path, str]] = []  # left out of the means and reported, as unreadable pairs are
    pairs = list(find_snow100k(Path(dataset_root), split=split, missing=missing))
    if limit is not None:
        pairs = pairs[:limit]
    if not pairs:
        raise DatasetError(
            f"{dataset_root}: no image pairs found"
            + (f" for split {split}" if split else "")
            + "; point --dataset at a Snow100K folder (with synthetic/ and gt/ images)"
        )
    baselines = dict(baselines or {})
    result = EvaluationResult(task="snow", dataset=str(dataset_root), split=split)
    result.failed += [(str(path), why) for path, why in missing]
    result.methods.append(INPUT_METHOD)
    result.methods.extend(baselines)
    if restore is not None:
        result.methods.append(model_label)

    with _progress(progress) as bar:
        task = bar.add_task("evaluating", total=len(pairs))
        for pair in pairs:
            try:
                rows = _evaluate_one(pair, read_rgb, restore, baselines, device, tile, overlap, model_label, finish)
            except (InputError, DatasetError, ValueError) as exc:
                # One bad pair must not cost the scores of the others; all of a pair's rows or none.
                result.failed.append((str(pair.name), str(exc)))
            else:
                for row in rows:
                    result.add(row)
            bar.advance(task)
    return result


def _evaluate_one(
    pair: Any,
    read_rgb: Callable[[Path], np.ndarray],
    restore: Callable[[torch.Tensor], torch.Tensor] | None,
    baselines: Mapping[str, Baseline],
    device: str | torch.device,
    tile: int | None,
    overlap: int,
    model_label: str,
    finish: Finish | None = None,
) -> list[ImageScore]:
    snowy = read_rgb(pair.synthetic)
    gt = read_rgb(pair.gt)
    if snowy.shape != gt.shape:
        raise DatasetError(
            f"{pair.synthetic}: size {snowy.shape[1]}x{snowy.shape[0]} differs from its ground truth "
            f"{pair.gt} ({gt.shape[1]}x{gt.shape[0]}); the dataset pairs are mismatched, re-extract it"
        )
    name = str(pair.name)
    rows = [score_pair(name, INPUT_METHOD, snowy, gt)]
    for label, fn in baselines.items():
        start = time.perf_counter()
        restored = np.asarray(fn(snowy), dtype=np.float32)
        seconds = time.perf_counter() - start
        if restored.shape != snowy.shape:
            raise InputError(f"baseline '{label}' changed the size of {pair.synthetic}; it must keep it")
        rows.append(score_pair(name, label, restored, gt, seconds))
    if restore is not None:
        restored, seconds = _run_model(
            restore, snowy, name=str(pair.synthetic), device=device, tile=tile, overlap=overlap, finish=finish
        )
        rows.append(score_pair(name, model_label, restored, gt, seconds))
    return rows


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
    limit: int | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    overlap: int = 32,
    baseline: bool = False,
    model_label: str = "model",
    progress: bool = True,
    dtype: torch.dtype | None = None,
) -> EvaluationResult:
    """Score a recurrent rain model clip by clip (frames in order, memory carried), plus baselines.

    Any layout :func:`~weatherclean.data.rain.find_rain_clips` reads works: clips (RainSyn, NTURain,
    ``synth rain --clips``) and single pairs (``rain/`` + ``gt/``, where every "clip" is one frame and
    the model runs in single-frame mode). Rows are per frame, named ``clip/frame``; :meth:`clip_means`
    gives per-clip means. ``baseline`` adds the temporal median for clips of 3+ frames and the 3×3
    median filter for single images. ``limit`` keeps the first N clips. ``dtype`` runs the model under
    autocast, guarded as in ``derain``.
    """
    from weatherclean.data.rain import find_rain_clips
    from weatherclean.restore.recurrent import RecurrentTiles

    missing: list[tuple[Path, str]] = []  # left out of the means and reported, as unreadable clips are
    clips = [c for c in find_rain_clips(Path(dataset_root), missing=missing) if c.has_gt]
    if limit is not None:
        clips = clips[:limit]
    if not clips:
        raise DatasetError(f"{dataset_root}: no rainy/clean pairs found; point --dataset at rain/ + gt/ or clips")
    result = EvaluationResult(task="rain", dataset=str(dataset_root), input_method=RAIN_INPUT_METHOD)
    result.failed += [(str(path), why) for path, why in missing]
    result.methods.append(RAIN_INPUT_METHOD)
    dev = torch.device(device)
    with _progress(progress) as bar:
        task = bar.add_task("evaluating", total=sum(len(c) for c in clips))
        for clip in clips:
            try:
                rainy, clean = clip.read()
                assert clean is not None
                rows = [
                    score_pair(_frame_name(clip, i), RAIN_INPUT_METHOD, rainy[i], clean[i]) for i in range(len(clip))
                ]
                if baseline:
                    start = time.perf_counter()
                    if len(clip) >= 3:
                        label, restored = f"temporal median ({2 * TEMPORAL_RADIUS + 1} frames)", temporal_median(rainy)
                    else:
                        label, restored = BASELINES["median"][0], np.stack([median_filter(f) for f in rainy])
                    per = (time.perf_counter() - start) / len(clip)
                    rows += [
                        score_pair(_frame_name(clip, i), label, restored[i], clean[i], per) for i in range(len(clip))
                    ]
                if model is not None:
                    runner = RecurrentTiles(model, device=dev, dtype=dtype, tile=tile, overlap=overlap)
                    for i in range(len(clip)):
                        start = time.perf_counter()
                        out = runner(rainy[i])
                        seconds = time.perf_counter() - start
                        rows.append(score_pair(_frame_name(clip, i), model_label, out, clean[i], seconds))
                        bar.advance(task)
                else:
                    bar.advance(task, len(clip))
            except (InputError, DatasetError, ValueError, OSError) as exc:
                result.failed.append((clip.name, str(exc)))
                continue
            for row in rows:
                result.add(row)
    return result


def _frame_name(clip: Any, index: int) -> str:
    return clip.name if len(clip) == 1 else f"{clip.name}/{Path(clip.rainy[index]).stem}"


# ----------------------------------------------------------------------------------------------- reports


def _csv_text(result: EvaluationResult) -> str:
    buf = io.StringIO()
    fields = ["name", "method", *_METRIC_FIELDS, "seconds"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: _fmt_csv(v) for k, v in asdict(row).items()})
    return buf.getvalue()


def _fmt_csv(value: Any) -> Any:
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
    return path


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


def _fmt(value: float, digits: int) -> str:
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


def render_summary(result: EvaluationResult, *, title: str | None = None) -> Table:
    """Paper-style table: one row per method, input first, so the gain over doing nothing is visible."""
    task_name = {"snow": "Desnowing", "rain": "Deraining"}.get(result.task, result.task)
    split = f" (split {result.split})" if result.split else ""
    table = Table(
        title=title or f"{task_name} on {result.dataset}{split}",
        caption=(
            "Images quantised to 8 bit; Y = BT.601 luma as MATLAB rgb2ycbcr; "
            "SSIM with Gaussian 11×11 window, σ=1.5 (Wang et al. 2004)"
        ),
    )
    table.add_column("method", overflow="fold")  # long labels wrap; the numbers never get cut off
    for header in ("PSNR RGB", "SSIM RGB", "PSNR Y", "SSIM Y", "images", "sec/img"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header.split()[0]) + 2)
    for s in result.summary():
        table.add_row(
            s.method,
            _fmt(s.psnr_rgb, 2),
            _fmt(s.ssim_rgb, 4),
            _fmt(s.psnr_y, 2),
            _fmt(s.ssim_y, 4),
            str(s.count),
            "-" if s.method == result.input_method else f"{s.seconds:.3f}",
        )
    return table


def render_clip_table(result: EvaluationResult, clips: dict[str, dict[str, float]] | None = None) -> Table:
    """Mean PSNR (Y) per clip and method: where a model helps and where it does not."""
    clips = clips if clips is not None else result.clip_means()
    methods = [s.method for s in result.summary()]
    table = Table(title="per clip: mean PSNR (Y), dB", show_lines=False)
    table.add_column("clip")
    for method in methods:
        table.add_column(method, justify="right")
    for clip, per in clips.items():
        table.add_row(clip, *(_fmt(per[m], 2) if m in per else "" for m in methods))
    return table
