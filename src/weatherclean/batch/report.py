"""What a batch shows the user: the plan of ``--dry-run`` and the summary at the end, as tables or as
JSON (``--json``, on stdout, for scripts).

The consoles are the caller's (the CLI's are 120 columns wide when piped), so these functions print
the same wherever they are called from.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from weatherclean.batch.jobs import OUT_OF_DATE_HEAD, DeviceNote, OutputNames, Plan, Record
from weatherclean.batch.run import BatchSummary
from weatherclean.io.folders import printable
from weatherclean.io.folders import shown as shown_path

__all__ = ["print_plan", "print_summary"]


def print_plan(
    plan: Plan,
    *,
    verb: str,
    json_out: bool,
    console: Console,
    notes: Sequence[str] = (),
    err_console: Console | None = None,
    quiet: bool = False,
) -> None:
    """``--dry-run``: every job, skip and known failure, as a table or JSON (``quiet``: one line of totals, after
    the failures' error lines and the notes, as a quiet run prints; the table of a 3,000-photo card was 3,000
    rows). ``notes`` (about the model, say)
    are part of the JSON; the caller prints them after a table. The plan's own notes (an ``-o`` inside an
    input folder, a ``--format`` that fits only some inputs) and a job's (an out-of-date output redone) are
    shown as the run would give them. Each known failure also gets its ``error: FILE: reason`` line on
    ``err_console``, as in a run, and the JSON its ``ok`` and ``exit_code`` (1 when a failure is known), as a
    run's summary has them: a script that reads either finds them where the run puts them."""
    shown = OutputNames(plan.output_dir)  # outputs as the user's paths were typed, as the inputs are
    if err_console is not None:
        _print_failures(plan.failed, err_console)
    if json_out:
        data = {
            "jobs": [
                {"input": str(j.source), "output": str(shown(j)), **({"note": j.note} if j.note else {})}
                for j in plan.jobs
            ],  # fmt: skip
            "skipped": [{"path": str(r.path), "reason": r.why} for r in plan.skipped],
            "failed": [{"path": str(r.path), "reason": r.why} for r in plan.failed],
            "other_shards": plan.other_shards,
            "notes": [*(f"{r.path}: {r.why}" for r in plan.notes), *notes],
            "dry_run": True,
            "ok": not plan.failed,
            "exit_code": 1 if plan.failed else 0,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    title = f"dry run: {len(plan.jobs)} file(s) would be {verb}ed"
    if quiet:
        _print_quiet_lines(plan.notes, plan.skipped, err_console or console)
        console.print(f"{title}, {len(plan.skipped)} skipped, {len(plan.failed)} failing", highlight=False)
        return
    table = Table(title=title, show_lines=False)
    table.add_column("input", overflow="fold")
    table.add_column("output / note", overflow="fold")
    for rec in plan.notes:
        table.add_row(escape(shown_path(rec.path)), f"[cyan]note:[/] {escape(printable(rec.why))}")
    for job in plan.jobs:
        after = " (replaced in place)" if job.replaces_input else f" ({job.note})" if job.note else ""
        table.add_row(escape(shown_path(job.source)), escape(shown_path(shown(job)) + after))
    for rec in plan.skipped:
        table.add_row(escape(shown_path(rec.path)), f"[yellow]skip:[/] {escape(printable(rec.why))}")
    for rec in plan.failed:
        table.add_row(escape(shown_path(rec.path)), f"[red]error:[/] {escape(printable(rec.why))}")
    console.print(table)
    if plan.other_shards:
        console.print(f"{plan.other_shards} file(s) belong to other shards", highlight=False)


def print_summary(
    summary: BatchSummary, *, json_out: bool, quiet: bool, console: Console, err_console: Console
) -> None:
    """The end of a run: one ``error: FILE: reason`` line per failure on ``err_console``, a table of what was
    noted and skipped, then the totals line with where the outputs went; with ``json_out``, the JSON on
    stdout takes the place of the table and the totals, and the error lines stay.

    Failures go to the error stream, one line each, so that a script or a log reading stderr sees every one
    whether or not the table is printed; a video kept in part (``NAME.partial.mp4``) is named there, as typed,
    and the totals count such files, which "written to" leaves out. ``quiet`` leaves out the table; notes then
    go to ``err_console`` too, one line each, and so do skips of outputs older than their inputs (a photo
    edited since: cron's ``--quiet`` run would otherwise never say it is not redone). The files an interrupted
    run did not do are not failures and get no line each (a batch of 100 000 stopped early would print
    100 000): the totals line counts them and says how to resume.
    """
    _print_failures(summary.failures_shown(), err_console)
    if json_out:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    totals = (
        f"[green]{len(summary.done)} done[/], [yellow]{len(summary.skipped)} skipped[/], "
        f"[red]{len(summary.failed)} failed[/]"
    )
    if summary.interrupted:
        totals += f", [magenta]{len(summary.not_done)} not done[/]: interrupted after {summary.seconds:.1f} s"
    else:
        totals += f" in {summary.seconds:.1f} s"
    if summary.other_shards:
        totals += f" ({summary.other_shards} in other shards)"
    if summary.interrupted:
        totals += "; rerun the same command to resume"
    where = output_places(summary)
    if where:
        totals += f"; written {escape(where)}"
    if kept := summary.partial_outputs():  # files in the output folder that "written to" did not name
        totals += f"; {kept} partial output{'' if kept == 1 else 's'} kept (see errors)"
    if not quiet and (summary.skipped or summary.notes):
        table = Table(show_header=True, header_style="bold")
        table.add_column("status", overflow="fold")
        table.add_column("file", overflow="fold")  # a file name is never cut short ("mi…"): folded
        table.add_column("reason", overflow="fold")
        for status, records in (("[cyan]note[/]", summary.notes), ("[yellow]skipped[/]", summary.skipped)):
            for rec in records:
                where = f"(device: {rec.device})" if isinstance(rec, DeviceNote) else shown_path(rec.path)
                table.add_row(status, escape(where), escape(printable(rec.why)))
        console.print(table)
    elif quiet:
        _print_quiet_lines(summary.notes, summary.skipped, err_console)
    console.print(totals, highlight=False, soft_wrap=True)


def _print_quiet_lines(notes: Sequence[Record], skipped: Sequence[Record], err_console: Console) -> None:
    """What a quiet run (or a quiet dry run) still tells, one line each: its notes, and the skips of outputs older
    than their inputs (a photo edited since), the one kind of skip it must not hide."""
    for rec in notes:
        err_console.print(f"[cyan]note:[/] {escape(_one_line(rec))}", highlight=False, soft_wrap=True)
    for rec in skipped:
        if rec.reason.startswith(OUT_OF_DATE_HEAD):
            err_console.print(f"[yellow]skip:[/] {escape(_one_line(rec))}", highlight=False, soft_wrap=True)


def _print_failures(failed: Sequence[Record], err_console: Console) -> None:
    """One ``error: FILE: reason`` line per failure, on the error stream."""
    for rec in failed:
        err_console.print(f"[bold red]error:[/] {escape(_one_line(rec))}", highlight=False, soft_wrap=True)


def _one_line(rec: Record) -> str:
    """``FILE: reason``, the file named once, as every human-facing line names it (:func:`~weatherclean.io.folders.
    shown`: a name with a newline or an undecodable byte quoted, so the line stays one line). A note about the
    device names it after the reason, ``(device: cpu)``, as no file is concerned."""
    if isinstance(rec, DeviceNote):
        return f"{printable(rec.reason)} (device: {rec.device})"
    return f"{shown_path(rec.path)}: {printable(rec.why)}"


def output_places(summary: BatchSummary, most: int = 3) -> str:
    """Where a run wrote, to follow "written ": ``to`` a file's own name when there is only one output, ``to``
    the one folder of them all, ``under FOLDER/`` when they fill a tree (``-o out`` with a sub-folder
    ``d``), else the folders, the most used first (``most`` at most, then a count). Empty when nothing was done.

    Why: outputs go next to their inputs unless ``-o`` says otherwise, and a user who did not pass ``-o``
    should not have to guess where to look. A tree is named once, by its top: listing each folder of it
    read ``written to cleanrec, cleanrec/d``, as if the run had written to two unrelated places."""
    shown = OutputNames(summary.output_dir)  # as the user's paths were typed, as in --json
    if len(summary.done) == 1:
        return f"to {shown_path(shown(summary.done[0]))}"
    if not summary.done:
        return ""
    folders = [shown(job).parent for job in summary.done]
    tops = set(folders) | ({summary.output_dir} if summary.output_dir is not None else set())
    trees = Counter(_top(folder, tops) for folder in folders)
    if len(trees) == 1:
        (top,) = trees
        return f"to {shown_path(top)}" if all(f == top for f in folders) else f"under {shown_path(top)}/"
    deeper = {top for top in trees if any(f != top and top in f.parents for f in folders)}
    names = [shown_path(top) + (" (and subfolders)" if top in deeper else "") for top, _ in trees.most_common(most)]
    rest = len(trees) - len(names)
    return "to " + ", ".join(names) + (f" and {rest} other folder(s)" if rest else "")


def _top(folder: Path, tops: set[Path]) -> Path:
    """The highest of ``tops`` that holds ``folder`` (itself when none does)."""
    return next((p for p in reversed(folder.parents) if p in tops), folder)
