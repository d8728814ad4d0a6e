"""What a batch shows the user: the plan of ``--dry-run`` and the summary at the end, as tables or as
JSON (``--json``, on stdout, for scripts).

The consoles are the caller's (the CLI's are 120 columns wide when piped), so these functions print
the same wherever they are called from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from weatherclean.batch.jobs import Plan
from weatherclean.batch.run import BatchSummary

__all__ = ["print_plan", "print_summary"]


def print_plan(plan: Plan, *, verb: str, json_out: bool, console: Console, notes: Sequence[str] = ()) -> None:
    """``--dry-run``: every job, skip and known failure, as a table or JSON. ``notes`` (about the model, say)
    are part of the JSON; the caller prints them after a table."""
    if json_out:
        data = {
            "jobs": [{"input": str(j.source), "output": str(j.output)} for j in plan.jobs],
            "skipped": [{"path": str(r.path), "reason": r.reason} for r in plan.skipped],
            "failed": [{"path": str(r.path), "reason": r.reason} for r in plan.failed],
            "other_shards": plan.other_shards,
            "notes": list(notes),
            "dry_run": True,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"dry run: {len(plan.jobs)} file(s) would be {verb}ed", show_lines=False)
    table.add_column("input")
    table.add_column("output / note")
    for job in plan.jobs:
        table.add_row(
            escape(str(job.source)), escape(str(job.output)) + (" (replaced in place)" if job.replaces_input else "")
        )
    for rec in plan.skipped:
        table.add_row(escape(str(rec.path)), f"[yellow]skip:[/] {escape(rec.reason)}")
    for rec in plan.failed:
        table.add_row(escape(str(rec.path)), f"[red]error:[/] {escape(rec.reason)}")
    console.print(table)
    if plan.other_shards:
        console.print(f"{plan.other_shards} file(s) belong to other shards", highlight=False)


def print_summary(
    summary: BatchSummary, *, json_out: bool, quiet: bool, console: Console, err_console: Console
) -> None:
    """The end of a run: a table of what was noted, skipped and failed, then the totals line.

    ``quiet`` leaves out the table; notes and failures then go to ``err_console``, one line each.
    """
    if json_out:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    totals = (
        f"[green]{len(summary.done)} done[/], [yellow]{len(summary.skipped)} skipped[/], "
        f"[red]{len(summary.failed)} failed[/] in {summary.seconds:.1f} s"
    )
    if summary.other_shards:
        totals += f" ({summary.other_shards} in other shards)"
    if not quiet and (summary.skipped or summary.failed or summary.notes):
        table = Table(show_header=True, header_style="bold")
        table.add_column("status")
        table.add_column("file")
        table.add_column("reason")
        for status, records in (("[cyan]note[/]", summary.notes), ("[yellow]skipped[/]", summary.skipped),
                                ("[red]failed[/]", summary.failed)):  # fmt: skip
            for rec in records:
                table.add_row(status, escape(str(rec.path)), escape(rec.reason))
        console.print(table)
    elif quiet:
        for rec in summary.notes:
            err_console.print(f"[cyan]note:[/] {escape(f'{rec.path}: {rec.reason}')}", highlight=False, soft_wrap=True)
        for rec in summary.failed:
            message = rec.reason if rec.path.name in rec.reason else f"{rec.path}: {rec.reason}"
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    console.print(totals, highlight=False)
