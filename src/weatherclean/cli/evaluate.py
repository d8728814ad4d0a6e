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
from weatherclean.cli.batch import MODEL_PANEL, PassThrough, SelfEnsemble, Threads
from weatherclean.cli.common import (
    INTERRUPTED_NOTHING_KEPT,
    console,
    draws_progress,
    err_console,
    interrupted_says,
    json_errors,
    print_error,
    report_outcome,
)
from weatherclean.errors import InputError, OutputError
from weatherclean.io.folders import file_line, printable, shown
from weatherclean.tables import print_table

if TYPE_CHECKING:
    from weatherclean.evaluation.evaluate import EvaluationResult, Scan
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


def _read_snow(dataset: Path, split: str | None) -> Scan:
    from weatherclean.evaluation.evaluate import scan_snow

    return scan_snow(dataset, split)  # pairs without ground truth are reported by the run


def _read_rain(dataset: Path, split: str | None) -> Scan:
    from weatherclean.evaluation.evaluate import scan_rain

    return scan_rain(dataset, split)


def _score_snow(
    restorer: Restorer | None,
    scan: Scan,
    *,
    limit: int | None,
    baselines: list[str],
    label: str | None,
    progress: bool,
    outputs: Path | None,
    crop_border: int = 0,
) -> EvaluationResult:
    """Snow100K-style scoring of each image alone, with the restorer's guard (its precision and fallback)."""
    from weatherclean.evaluation.evaluate import BASELINES, evaluate_snow

    chosen = {BASELINES[b][0]: BASELINES[b][1] for b in baselines}
    run = {} if restorer is None else {
        "device": restorer.device, "tile": restorer.tile, "overlap": restorer.overlap, "finish": restorer.finish
    }  # fmt: skip
    return evaluate_snow(
        scan.root, restorer.guard if restorer else None, split=scan.split, limit=limit, baselines=chosen,
        model_label=label, progress=progress, console=err_console, outputs=outputs, scan=scan,
        crop_border=crop_border, **run,
    )  # fmt: skip


def _score_rain(
    restorer: Restorer | None,
    scan: Scan,
    *,
    limit: int | None,
    baselines: list[str],
    label: str | None,
    progress: bool,
    outputs: Path | None,
    crop_border: int = 0,
) -> EvaluationResult:
    """Clips in order, with J4R-Net's memory carried from frame to frame."""
    from weatherclean.evaluation.evaluate import evaluate_rain

    run = {} if restorer is None else {
        "device": restorer.device, "tile": restorer.tile, "overlap": restorer.overlap, "dtype": restorer.dtype
    }  # fmt: skip
    return evaluate_rain(
        scan.root, restorer.model if restorer else None, split=scan.split, limit=limit, baseline=bool(baselines),
        model_label=label, progress=progress, console=err_console, outputs=outputs, scan=scan,
        crop_border=crop_border, **run,
    )  # fmt: skip


#: Per task: read the dataset folder once (before the model loads, so a bad folder or split fails fast), then
#: score the model on what was read.
_TASKS: dict[Task, tuple[Callable[[Path, str | None], Scan], Callable[..., EvaluationResult]]] = {
    Task.snow: (_read_snow, _score_snow),
    Task.rain: (_read_rain, _score_rain),
}


def _refuse_model_options(given: dict[str, bool]) -> None:
    """``--outputs`` scores pictures restored already: options that only say how to run a model would be
    ignored, and a table that looks like it honoured them is worse than an error."""
    wrong = [option for option, present in given.items() if present]
    if wrong:
        raise InputError(
            f"--outputs scores pictures already restored, so options for running a model cannot apply: "
            f"{', '.join(wrong)}; leave them out, or run evaluate once with --model and once with --outputs"
        )


def _print_notes(notes: list[str]) -> None:
    """Each note on one line, a name in it escaped as desnow's notes are (:func:`~weatherclean.io.folders.printable`):
    notes name the dataset's files, and a name's newline or escape sequence reached the terminal as it was."""
    for text in notes:
        err_console.print(f"[cyan]note:[/] {escape(printable(text))}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the root app."""
    app.command("evaluate")(evaluate_command)


@interrupted_says(INTERRUPTED_NOTHING_KEPT)  # the scores are written at the end: nothing to resume from
def evaluate_command(
    ctx: typer.Context,
    dataset: Path = typer.Option(
        ...,
        "--dataset",
        help="snow: a Snow100K test set or split, or CSD (Snow/ + Gt/). rain: paired pictures (rain/ + gt/, "
        "Rain100L/H, input/ + target/ ...) or clips (RainSyn, NTURain, synth rain).",
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
        rich_help_panel=MODEL_PANEL,
    ),
    outputs: Path | None = typer.Option(
        None,
        "--outputs",
        metavar="DIR",
        show_default=False,
        help="Score the restored pictures in DIR (another method's results, desnow/derain outputs) instead of "
        "running a model: DIR mirrors --dataset (DIR/synthetic/x.png), holds them by set (DIR/Rain100H/x.png) or "
        "by name (DIR/x.png; also the ground truth's name or the pair's number, where no other input has it).",
    ),
    split: str | None = typer.Option(
        None,
        "--split",
        help="One split: Snow100K S, M or L; train or test (CSD, RainSyn, NTURain). Default: all found, each "
        "also apart.",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N image pairs (rain: clips)."),
    report: Path | None = typer.Option(
        None, "--report", help="Write per-image scores to FILE.csv or FILE.json.", show_default=False
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --report FILE if it exists."),
    baseline: list[BaselineName] = typer.Option(
        [], "--baseline", help="Also score a classical baseline (repeatable).", show_default=False
    ),
    crop_border: int = typer.Option(
        0,
        "--crop-border",
        min=0,
        metavar="N",
        help="Cut N pixels from each edge before scoring (super-resolution papers cut their scale factor; "
        "deraining and desnowing papers 0); recorded as crop_border in a JSON report (beside conventions) and a CSV "
        "report's last column.",
    ),
    device: str = typer.Option(
        "auto", "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=MODEL_PANEL
    ),
    precision: str = typer.Option(
        "fp32",
        "--precision",
        metavar="PRECISION",
        help="fp32 (scores comparable across machines), or auto, bf16, fp16 as in desnow/derain.",
        rich_help_panel=MODEL_PANEL,
    ),
    tile: int | None = typer.Option(
        None,
        "--tile",
        min=64,
        help="Tile size in pixels (default: chosen from free memory).",
        rich_help_panel=MODEL_PANEL,
    ),
    pass_through: PassThrough = None,
    self_ensemble: SelfEnsemble = None,
    threads: Threads = None,
    json_out: bool = typer.Option(
        False,
        "--json",
        help="Print the report (what --report FILE.json writes, with ok and exit_code) on stdout instead of the "
        "tables; an error object when the command cannot run.",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar; only the summary tables (rain: no table per clip)."
    ),
) -> None:
    """Score a model, or pictures restored already (--outputs), against ground truth (PSNR/SSIM on RGB and Y,
    8-bit), next to the degraded input.

    --baseline median adds a 3×3 median filter for images and a 5-frame temporal median for clips. Exit code
    0 when every pair was scored, 1 when some could not be (left out of the means), 2 when the dataset, the
    model or an option cannot be used or no pair could be scored, 130 when interrupted (Ctrl-C, SIGTERM or
    SIGHUP; nothing is written then).
    """
    from weatherclean.cli.batch import model_provider, provided_model
    from weatherclean.evaluation.evaluate import check_report_path, outputs_label
    from weatherclean.models.family import family_for_task, family_of_model
    from weatherclean.models.registry import resolve_model_name
    from weatherclean.restore import load_restorer

    with json_errors(json_out, INTERRUPTED_NOTHING_KEPT):  # --json answers in JSON even when the command cannot run
        if outputs is not None:
            _refuse_model_options(
                {
                    "--model": bool(models), "--tile": tile is not None, "--pass-through": pass_through is not None,
                    "--self-ensemble/--no-self-ensemble": self_ensemble is not None, "--precision": precision != "fp32",
                }
            )  # fmt: skip
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
        if outputs is not None and not outputs.is_dir():
            raise InputError(f"{outputs}: --outputs folder not found; give the folder of restored pictures to score")
        read_dataset, score = _TASKS[task]
        scan = read_dataset(dataset, split)  # fail on a bad folder or split before a slow model load
        if threads:
            import torch

            torch.set_num_threads(threads)
        restorer: Restorer | None = None
        if outputs is None:
            at = "" if pass_through is None else f" @ pass-through {pass_through:g}"
            resolved = resolve_model_name(model, task.value)
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
            # What ran, not what was typed: the rain default has self-ensemble on by its config, and every model its own
            # pass-through threshold, so a score file says so (None: a model without the gate).
            config = getattr(restorer.model, "config", None)
            ensembled = bool(getattr(config, "self_ensemble", False))
            gate = getattr(config, "pass_through", None)
            # the model's own family (a plugin's model for the task is not the task's DesnowNet); a model of no
            # family (a program's stand-in for the task's model) by the task's
            family = family_of_model(restorer.model) or family_for_task(task.value)
            label = f"{family.title} ({_short_name(resolved, model)}{at}{' @ self-ensemble' if ensembled else ''})"
            block = {
                "given": model, "resolved": str(resolved), "pass_through": gate, "self_ensemble": ensembled,
                "device": str(restorer.device),
                "precision": {"torch.float16": "fp16", "torch.bfloat16": "bf16"}.get(str(restorer.dtype), "fp32"),
                # The tile moves scores slightly where a picture is larger than one tile: --tile as given (None:
                # chosen from free memory, so it depends on the machine), and below the sizes the run used.
                "tile": restorer.tile, "overlap": restorer.overlap,
            }  # fmt: skip
        else:
            label = outputs_label(outputs)
            block = {"outputs": str(outputs)}
        result = score(
            restorer, scan, limit=limit, baselines=[b.value for b in baseline], label=label,
            progress=not quiet and not json_out and draws_progress(), outputs=outputs, crop_border=crop_border,
        )  # fmt: skip
        if restorer is not None:
            block["tiles_used"] = result.model.get("tiles_used", [])
            for text in restorer.notes:  # e.g. a --tile too small for the model's overlap, an fp32 fallback
                result.note(text)
        result.model = {**block, "weatherclean": __version__}
        _finish(result, task, report, quiet=quiet, json_out=json_out)


def _finish(result: EvaluationResult, task: Task, report: Path | None, *, quiet: bool, json_out: bool) -> None:
    """Print the tables (or the JSON), write the report, then the notes and failures, and exit with the code
    that says how it went: 1 when some pairs could not be scored, 2 when none could
    (:func:`~weatherclean.cli.common.report_outcome`: a signal or a failing stdout does not change it)."""
    if not result.rows:
        # Nothing scored is a dataset that cannot be used (2), not a partial result (1) that a script would read.
        code, error = 2, f"{result.dataset}: none of its pairs could be scored (reasons above); no report written"
    else:
        code, error = (1 if result.failed else 0), None
    report = report if result.rows else None
    report_outcome(code, lambda: _show(result, task, report, quiet=quiet, json_out=json_out, code=code, error=error))


def _show(
    result: EvaluationResult, task: Task, report: Path | None, *, quiet: bool, json_out: bool, code: int,
    error: str | None,
) -> None:  # fmt: skip
    """What :func:`_finish` prints for the outcome ``code`` (with ``error`` when nothing was scored), with the
    ``report`` written after the tables (or the JSON): a report that cannot be written (a full disk) raises its
    one-line error (exit code 2) once the results are on the screen, not instead of them."""
    from weatherclean.evaluation.evaluate import render_clip_table, render_set_table, render_split_table, render_summary

    if json_out:
        import json

        answer = {**result.to_dict(), "ok": code == 0, "exit_code": code}
        if error:
            answer["error"] = error
        typer.echo(json.dumps(answer, indent=2, allow_nan=False))
    elif result.rows:
        if task is Task.rain and not quiet and any("/" in row.name for row in result.rows):
            print_table(console, render_clip_table(result))
        if result.split_summaries():
            print_table(console, render_split_table(result))
        if result.set_summaries():
            print_table(console, render_set_table(result))
        print_table(console, render_summary(result))
    if report is not None:
        from weatherclean.evaluation.evaluate import write_report

        written = write_report(result, report)
        if not quiet and not json_out:
            err_console.print(f"wrote {escape(shown(written))}", highlight=False)
    _print_notes(result.notes)
    # As desnow's error lines: the path shown (quoted where it must be), the reason escaped.
    for name, reason in result.failed:
        print_error(file_line(name, reason))
    if error:
        print_error(printable(error))
    elif result.failed:
        what = "clip(s) or image pair(s)" if task is Task.rain else "image pair(s)"
        err_console.print(f"{len(result.failed)} {what} could not be scored and are left out of the means")
