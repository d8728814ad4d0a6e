"""``weatherclean desnow``: remove snow from photos, files and folders alike.

The command only wires the library together: :func:`plan_jobs` decides what goes where,
:func:`run_tiled` runs the model over each photo in memory-safe tiles, :func:`run_batch` keeps going
past bad files, and the summary decides the exit code (0 all good, 1 some failed, 2 could not run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console
from weatherclean.devices import resolve_device
from weatherclean.inference.runner import BatchSummary, Plan, plan_jobs, run_batch
from weatherclean.inference.tiling import run_tiled_array
from weatherclean.io.images import LoadedImage

TAG = "desnowed"
#: Overlap used when the model does not say how much context it needs.
MIN_OVERLAP = 32


def register(app: typer.Typer) -> None:
    """Add ``desnow`` to the root app."""
    app.command("desnow", no_args_is_help=True)(desnow_command)


@cli_errors
def desnow_command(
    paths: list[str] = typer.Argument(
        ..., help="Photos, folders (searched recursively) or quoted glob patterns like 'trip/*.jpg'."
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Output folder; each input folder's tree is mirrored inside it. Default: a folder 'photos/' "
        "goes to the sibling 'photos_desnowed/', a file 'dir/a.jpg' to 'dir/desnowed/a.jpg' (outputs are "
        "never written inside an input folder, and those folders are never read as inputs).",
        show_default=False,
    ),
    model: str = typer.Option("default", "--model", help="Registered model name or a saved model folder."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:N, mps."),
    tile: int | None = typer.Option(
        None, "--tile", min=64, help="Tile edge in pixels. Default: from free memory.", show_default=False
    ),
    tile_overlap: int | None = typer.Option(
        None, "--tile-overlap", min=0, help="Tile overlap in pixels. Default: the model's suggested overlap (32).",
        show_default=False,
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo photos whose output already exists."),
    quality: int = typer.Option(95, "--quality", min=1, max=100, help="JPEG/WebP quality of the outputs."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be done; write nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print a machine-readable JSON summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only totals and failures."),
) -> None:
    """Remove snow from photos; keeps format, bit depth, alpha and metadata (EXIF, GPS, ICC, XMP)."""
    plan = plan_jobs(paths, output, tag=TAG, overwrite=overwrite)
    if dry_run:
        _print_plan(plan, json_out=json_out)
        if plan.failed:
            raise typer.Exit(EXIT_SOME_FAILED)
        return

    import weatherclean.models as models  # looked up at call time so tests can swap load_model

    summary: BatchSummary
    # Loaded even when every photo is already done, so a mistyped --model is an error, not a silent 0.
    dev = resolve_device(device)
    net = models.load_model(model, device=dev)
    if plan.jobs:
        overlap = tile_overlap if tile_overlap is not None else max(MIN_OVERLAP, int(net.receptive_field))

        bpp = getattr(net, "bytes_per_pixel", None)  # optional model hint for the automatic tile size

        def process(image: LoadedImage) -> np.ndarray:
            return run_tiled_array(
                net.restore, image.pixels, tile=tile, overlap=overlap, device=dev, bytes_per_pixel=bpp
            )

        show = not (quiet or json_out)
        summary = run_batch(
            plan, process, quality=quality, overwrite=overwrite, progress=show, description="desnow"
        )
    else:
        summary = run_batch(plan, lambda image: image.pixels, progress=False)
    _print_summary(summary, json_out=json_out, quiet=quiet)
    if not summary.ok:
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_plan(plan: Plan, *, json_out: bool) -> None:
    if json_out:
        data = {
            "jobs": [{"input": str(j.source), "output": str(j.output)} for j in plan.jobs],
            "skipped": [{"path": str(r.path), "reason": r.reason} for r in plan.skipped],
            "failed": [{"path": str(r.path), "reason": r.reason} for r in plan.failed],
            "dry_run": True,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"dry run: {len(plan.jobs)} photo(s) would be desnowed", show_lines=False)
    table.add_column("input")
    table.add_column("output / note")
    for job in plan.jobs:
        table.add_row(str(job.source), str(job.output))
    for rec in plan.skipped:
        table.add_row(str(rec.path), f"[yellow]skip:[/] {rec.reason}")
    for rec in plan.failed:
        table.add_row(str(rec.path), f"[red]error:[/] {rec.reason}")
    console.print(table)


def _print_summary(summary: BatchSummary, *, json_out: bool, quiet: bool) -> None:
    if json_out:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    totals = (
        f"[green]{len(summary.done)} done[/], [yellow]{len(summary.skipped)} skipped[/], "
        f"[red]{len(summary.failed)} failed[/] in {summary.seconds:.1f} s"
    )
    if not quiet and (summary.skipped or summary.failed):
        table = Table(show_header=True, header_style="bold")
        table.add_column("status")
        table.add_column("file")
        table.add_column("reason")
        for rec in summary.skipped:
            table.add_row("[yellow]skipped[/]", str(rec.path), rec.reason)
        for rec in summary.failed:
            table.add_row("[red]failed[/]", str(rec.path), rec.reason)
        console.print(table)
    elif quiet:
        for rec in summary.failed:
            err_console.print(f"[bold red]error:[/] {rec.reason}", highlight=False, soft_wrap=True)
    console.print(totals, highlight=False)
