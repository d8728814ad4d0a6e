"""``weatherclean evaluate``: paper-style PSNR/SSIM of a model on a paired dataset, with baselines.

All the work is in :mod:`weatherclean.evaluation`; this module only parses options and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from weatherclean import __version__
from weatherclean.cli.batch import PassThrough, SelfEnsemble, Threads
from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console
from weatherclean.errors import InputError, OutputError

if TYPE_CHECKING:
    from weatherclean.evaluation.evaluate import EvaluationResult
    from weatherclean.restore import Restorer


class Task(StrEnum):
    snow = "snow"
    rain = "rain"


class BaselineName(StrEnum):
    median = "median"


def _short_name(resolved: str, given: str) -> str:
    """How the table names a model: a registered name or Hub id as it is, a folder by its name, and a
    folder named ``model`` (what ``train`` writes in every run) with its run's name, ``r22/model``:
    "DesnowNet (model)" told two runs' reports apart by nothing."""
    path = Path(resolved)
    if not path.is_dir():
        return resolved or given
    return f"{path.resolve().parent.name}/{path.name}" if path.name == "model" else path.name or given


def _one_model(given: list[str]) -> str:
    """The one ``--model`` to score (``default`` when none is given).

    Why refuse a second: the option parser kept the last one given and dropped the others without a word, so
    ``--model A --model B`` printed a table of B alone that read like a comparison. Scoring several models in
    one run would also need one report per model; one run per model keeps each table and report whole.
    """
    if len(given) > 1:
        raise InputError(
            f"--model given {len(given)} times ({', '.join(given)}): evaluate scores one model; run it once per "
            "model (with its own --report FILE)"
        )
    return given[0] if given else "default"


def _check_snow(dataset: Path, split: str | None) -> None:
    from weatherclean.data.snow import find_snow100k

    find_snow100k(dataset, split=split, missing=[])  # pairs without ground truth are reported by the run


def _check_rain(dataset: Path, _split: str | None) -> None:
    from weatherclean.data.rain import find_rain_clips

    if not any(c.has_gt for c in find_rain_clips(dataset, missing=[])):
        raise InputError(f"{dataset}: no rainy/clean pairs found; pass rain/ + gt/ folders or clips with gt")


def _score_snow(
    restorer: Restorer,
    dataset: Path,
    *,
    split: str | None,
    limit: int | None,
    baselines: list[str],
    label: str,
    progress: bool,
) -> EvaluationResult:
    """Snow100K-style scoring of each image alone, with the restorer's guard (its precision and fallback)."""
    from weatherclean.evaluation.evaluate import BASELINES, evaluate_snow

    chosen = {BASELINES[b][0]: BASELINES[b][1] for b in baselines}
    return evaluate_snow(
        dataset, restorer.guard, split=split, limit=limit, device=restorer.device, tile=restorer.tile,
        overlap=restorer.overlap, baselines=chosen, model_label=label, progress=progress, finish=restorer.finish,
    )  # fmt: skip


def _score_rain(
    restorer: Restorer,
    dataset: Path,
    *,
    split: str | None,
    limit: int | None,
    baselines: list[str],
    label: str,
    progress: bool,
) -> EvaluationResult:
    """Clips in order, with J4R-Net's memory carried from frame to frame."""
    from weatherclean.evaluation.evaluate import evaluate_rain

    return evaluate_rain(
        dataset, restorer.model, limit=limit, device=restorer.device, tile=restorer.tile, overlap=restorer.overlap,
        baseline=bool(baselines), model_label=label, progress=progress, dtype=restorer.dtype,
    )  # fmt: skip


#: Per task: check the dataset folder (before the model loads), then score the model on it.
_TASKS: dict[Task, tuple[Callable[[Path, str | None], None], Callable[..., EvaluationResult]]] = {
    Task.snow: (_check_snow, _score_snow),
    Task.rain: (_check_rain, _score_rain),
}


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the root app."""
    app.command("evaluate")(evaluate_command)


@cli_errors
def evaluate_command(
    ctx: typer.Context,
    dataset: Path = typer.Option(
        ...,
        "--dataset",
        help="snow: a Snow100K test set or split. rain: rain/ + gt/ pairs, or clips (RainSyn, NTURain, synth rain).",
        show_default=False,
    ),
    task: Task = typer.Option(Task.snow, "--task", help="snow (DesnowNet) or rain (J4R-Net, clips in order)."),
    models: list[str] = typer.Option(
        [],
        "--model",
        metavar="MODEL",
        show_default=False,
        help="Registered model name, a saved model folder, or a Hub repo owner/name\\[@revision]; one per run "
        "(default: the task's default model).",
    ),
    split: str | None = typer.Option(None, "--split", help="Snow100K split S, M or L (default: all found)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N image pairs (rain: clips)."),
    report: Path | None = typer.Option(
        None, "--report", help="Write per-image scores to FILE.csv or FILE.json.", show_default=False
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --report FILE if it exists."),
    baseline: list[BaselineName] = typer.Option(
        [], "--baseline", help="Also score a classical baseline (repeatable).", show_default=False
    ),
    device: str = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps."),
    precision: str = typer.Option(
        "fp32",
        "--precision",
        metavar="PRECISION",
        help="fp32 (scores comparable across machines), or auto, bf16, fp16 as in desnow/derain.",
    ),
    tile: int | None = typer.Option(
        None, "--tile", min=64, help="Tile size in pixels (default: chosen from free memory)."
    ),
    pass_through: PassThrough = None,
    self_ensemble: SelfEnsemble = None,
    threads: Threads = None,
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar; only the summary table (rain: no table per clip)."
    ),
) -> None:
    """Score a model against ground truth (PSNR/SSIM on RGB and Y, 8-bit), next to the degraded input.

    --baseline median adds a 3×3 median filter for images and a 5-frame temporal median for clips. Exit code
    0 when every pair was scored, 1 when some could not be (left out of the means), 2 when the dataset, the
    model or an option cannot be used, 130 when interrupted (Ctrl-C or SIGTERM).
    """
    from weatherclean.cli.batch import model_provider, provided_model
    from weatherclean.evaluation.evaluate import check_report_path, render_clip_table, render_summary, write_report
    from weatherclean.models.family import family_for_task
    from weatherclean.models.registry import resolve_model_name
    from weatherclean.restore import load_restorer

    model = _one_model(models)
    if report is not None:
        from weatherclean.io.folders import check_writable_folders

        check_report_path(report)
        if report.exists() and not overwrite:  # an earlier evaluation's scores, as compare keeps its sheets
            raise OutputError(f"{report}: exists; pass --overwrite to replace it, or choose another --report FILE")
        # Before the evaluation, which can take hours, not after it.
        check_writable_folders([report.resolve().parent], hint="choose another --report FILE")
    if not dataset.is_dir():
        raise InputError(f"{dataset}: dataset folder not found")
    family = family_for_task(task.value)
    at = "" if pass_through is None else f" @ pass-through {pass_through:g}"
    resolved = resolve_model_name(model, task.value)
    check_dataset, score = _TASKS[task]
    check_dataset(dataset, split)  # fail on a bad folder or split before a slow model load
    if threads:
        import torch

        torch.set_num_threads(threads)
    net = provided_model(model, task.value, model_provider(ctx.obj))
    restorer = load_restorer(
        task.value,
        model=net,
        device=device,
        precision=precision,
        tile=tile,
        pass_through=pass_through,
        self_ensemble=self_ensemble,
    )
    # What ran, not what was typed: the rain default has it on by its config, so a score file says so.
    ensembled = bool(getattr(getattr(restorer.model, "config", None), "self_ensemble", False))
    label = f"{family.title} ({_short_name(resolved, model)}{at}{' @ self-ensemble' if ensembled else ''})"
    result = score(
        restorer, dataset, split=split, limit=limit, baselines=[b.value for b in baseline], label=label,
        progress=not quiet,
    )  # fmt: skip
    result.model = {
        "given": model, "resolved": str(resolved), "pass_through": pass_through, "self_ensemble": ensembled,
        "device": str(restorer.device),
        "precision": {"torch.float16": "fp16", "torch.bfloat16": "bf16"}.get(str(restorer.dtype), "fp32"),
        "weatherclean": __version__,
    }  # fmt: skip
    clips = result.clip_means()
    if task is Task.rain and not quiet and any("/" in row.name for row in result.rows):
        console.print(render_clip_table(result, clips))
    console.print(render_summary(result))
    if report is not None:
        written = write_report(result, report)
        if not quiet:
            err_console.print(f"wrote {written}", highlight=False)
    for name, reason in result.failed:
        err_console.print(f"[bold red]error:[/] {escape(f'{name}: {reason}')}", highlight=False, soft_wrap=True)
    if result.failed:
        what = "clip(s) or image pair(s)" if task is Task.rain else "image pair(s)"
        err_console.print(f"{len(result.failed)} {what} could not be scored and are left out of the means")
        raise typer.Exit(EXIT_SOME_FAILED)
