"""``weatherclean evaluate``: paper-style PSNR/SSIM of a model on a paired dataset, with baselines.

All the work is in :mod:`weatherclean.evaluation`; this module only parses options and prints.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.markup import escape

from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console
from weatherclean.errors import InputError


class Task(StrEnum):
    snow = "snow"
    rain = "rain"


class BaselineName(StrEnum):
    median = "median"


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the root app."""
    app.command("evaluate")(evaluate_command)


@cli_errors
def evaluate_command(
    dataset: Path = typer.Option(
        ...,
        "--dataset",
        help="snow: a Snow100K test set or split. rain: rain/ + gt/ pairs, or clips (RainSyn, NTURain, synth rain).",
        show_default=False,
    ),
    task: Task = typer.Option(Task.snow, "--task", help="snow (DesnowNet) or rain (J4R-Net, clips in order)."),
    model: str = typer.Option("default", "--model", help="Registered model name or a saved model folder."),
    split: str | None = typer.Option(None, "--split", help="Snow100K split S, M or L (default: all found)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N image pairs (rain: clips)."),
    report: Path | None = typer.Option(
        None, "--report", help="Write per-image scores to FILE.csv or FILE.json.", show_default=False
    ),
    baseline: list[BaselineName] = typer.Option(
        [], "--baseline", help="Also score a classical baseline (repeatable).", show_default=False
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    precision: str = typer.Option(
        "fp32", "--precision", help="fp32 (scores comparable across machines), or auto, bf16, fp16 as in desnow/derain."
    ),
    tile: int | None = typer.Option(
        None, "--tile", min=64, help="Tile size in pixels (default: chosen from free memory)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary table."),
) -> None:
    """Score a model against ground truth (PSNR/SSIM on RGB and Y, 8-bit), next to the degraded input.

    --baseline median adds a 3×3 median filter for images and a 5-frame temporal median for clips.
    """
    from weatherclean.devices import resolve_device, to_fast_layout
    from weatherclean.evaluation.evaluate import (
        BASELINES,
        check_report_path,
        evaluate_rain,
        evaluate_snow,
        render_clip_table,
        render_summary,
        write_report,
    )
    from weatherclean.inference.precision import GuardedPrecision, resolve_precision

    if report is not None:
        check_report_path(report)
    if not dataset.is_dir():
        raise InputError(f"{dataset}: dataset folder not found")
    from weatherclean.models import load_model
    from weatherclean.models.registry import check_task

    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    label = f"{'J4R-Net' if task is Task.rain else 'DesnowNet'} ({Path(model).name or model})"
    if task is Task.rain:
        from weatherclean.data.rain import find_rain_clips

        if not any(c.has_gt for c in find_rain_clips(dataset)):  # fail before a slow model load
            raise InputError(f"{dataset}: no rainy/clean pairs found; pass rain/ + gt/ folders or clips with gt")
        check_task(model, "rain")
        net = to_fast_layout(load_model(model, device=dev, task="rain"), dev)
        check_task(net, "rain")
        result = evaluate_rain(
            dataset, net, limit=limit, device=dev, tile=tile, overlap=int(net.receptive_field),
            baseline=bool(baseline), model_label=label, progress=not quiet, dtype=dtype,
        )  # fmt: skip
    else:
        from weatherclean.data.snow import find_snow100k

        find_snow100k(dataset, split=split)  # fail on a bad folder or split before a slow model load
        check_task(model, "snow")
        net = to_fast_layout(load_model(model, device=dev), dev)
        check_task(net, "snow")
        guard = GuardedPrecision(net.restore, dev, dtype)
        chosen = {BASELINES[b.value][0]: BASELINES[b.value][1] for b in baseline}
        result = evaluate_snow(
            dataset, guard, split=split, limit=limit, device=dev, tile=tile,
            overlap=int(net.receptive_field), baselines=chosen, model_label=label, progress=not quiet,
        )  # fmt: skip
    clips = result.clip_means()
    if task is Task.rain and any("/" in row.name for row in result.rows):
        console.print(render_clip_table(result, clips))
    console.print(render_summary(result))
    if report is not None:
        written = write_report(result, report)
        if not quiet:
            err_console.print(f"wrote {written}", highlight=False)
    for name, reason in result.failed:
        err_console.print(f"[bold red]error:[/] {escape(f'{name}: {reason}')}", highlight=False, soft_wrap=True)
    if result.failed:
        err_console.print(f"{len(result.failed)} image pair(s) could not be scored and are left out of the means")
        raise typer.Exit(EXIT_SOME_FAILED)
