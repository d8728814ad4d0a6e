"""What a batch shows the user: the plan of ``--dry-run`` and the summary at the end, as tables or as
JSON (``--json``, on stdout, for scripts).

The consoles are the caller's (the CLI's are 120 columns wide when piped), so these functions print
the same wherever they are called from.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from weatherclean.batch.inputs import (
    CAMERA_FILES,
    EMPTY_FOLDER,
    NOTHING_TO_DO_HEAD,
    PARTIAL_INPUT,
    camera_file_reason,
    nameless_video_reason,
)
from weatherclean.batch.jobs import (
    OUT_OF_DATE_HEAD,
    DeviceNote,
    Job,
    OutputNames,
    OutputState,
    Plan,
    Record,
    display,
    exists_reason,
    link_reason,
)
from weatherclean.batch.run import BatchSummary, appeared_reason
from weatherclean.io.folders import file_line, printable
from weatherclean.io.folders import shown as shown_path
from weatherclean.tables import print_table

__all__ = [
    "FOLD_OVER", "FOLD_SHOWN", "JOBS_FOLD_OVER", "JOBS_SHOWN", "NEVER_FOLDED", "NOT_DONE_IN_PLACE", "in_place_resume",
    "print_plan",
    "print_summary",
]  # fmt: skip

#: More skips than this of one kind and the table lists only :data:`FOLD_SHOWN` of them, then one line with the
#: count: a rerun over a 300-photo burst printed 300 "output exists" rows, a RAW+JPEG card one "raw (CR2) images are
#: not supported" row per photo on every run, a Google Takeout folder one "not an image or video file (by name)" row
#: per .json, and the failures and notes that matter scrolled away. ``--verbose`` lists each; ``--json`` always does.
FOLD_OVER = 10
#: How many skips of a folded kind the table still lists, as examples, before its "… and N more" line.
FOLD_SHOWN = 3

#: More jobs than this and the ``--dry-run`` table lists only :data:`JOBS_SHOWN` of them, then one ``… and N more``
#: row: a dry run over a 20,000-photo tree printed 20,000 rows (40,000 lines), and its totals scrolled away.
#: ``--verbose`` lists each; ``--json`` always does.
JOBS_FOLD_OVER = 50
#: How many jobs a folded ``--dry-run`` table still lists, as examples, before its ``… and N more`` row.
JOBS_SHOWN = 20

#: Skips never folded, however many, by how their reasons start: an output older than its input (the input was
#: edited since: the one skip a user may need to act on, which a quiet run prints too), a partial result given as an
#: input, and an empty folder (or one holding nothing to do), each given by name: the user typed each, and it does
#: nothing. Failures are never folded either: the dry-run table lists each, and the summary gives each its own
#: ``error:`` line. Each is the constant its module writes the reason with, so a rewording keeps it listed.
#:
#: A link to a file handled under its own name (a "selects" folder of links beside the card it points into) is
#: folded like any other skip: its target is done, under the target's name, and nothing is asked of the user; 300
#: such rows on every run buried the rest.
NEVER_FOLDED = (OUT_OF_DATE_HEAD, PARTIAL_INPUT, EMPTY_FOLDER, NOTHING_TO_DO_HEAD)

#: Stands for the path or name a reason names, in the reasons built by :func:`_templates`.
_SENTINEL = "@@weatherclean-name@@"


@dataclass(frozen=True)
class _Folded:
    """The one row standing for the skips of one kind left out of the table: ``count`` of them, and why."""

    count: int
    reason: str


@cache
def _templates() -> tuple[tuple[str, str, str], ...]:
    """The skip reasons that name a path or a file of their own, each as (head, tail, the text that stands for
    them all), built by the functions that write them, so a reworded reason still folds.

    An output path is left out with the ``: `` before it: ``output exists: out/p02.jpg (use --overwrite to redo)``
    gives ``output exists (use --overwrite to redo)``. An output written by another run after the plan was made is
    skipped by the run with :func:`appeared_reason`'s words, wherever the run finds it. A file's name (a nameless
    video's, the clip beside a camera's proxy, a link's target) becomes ``…``: ``a DJI low-resolution proxy (LRF)
    of …; not processed``. The longest tail is tried first, so that a bare head never takes a longer reason."""
    mark = str(display(Path(_SENTINEL)))
    done = exists_reason(Path(_SENTINEL), OutputState.DONE)
    outputs = [done, exists_reason(Path(_SENTINEL), OutputState.UNKNOWN), appeared_reason(Path(_SENTINEL))]
    named = [
        nameless_video_reason(_SENTINEL),
        *(camera_file_reason(suffix, _SENTINEL) for suffix in CAMERA_FILES),
        link_reason(Path(_SENTINEL)),
    ]
    templates = []
    for reason in outputs:
        head, _, tail = reason.partition(mark)
        templates.append((head, tail, _without_path(head, tail)))
    for reason in named:
        head, _, tail = reason.partition(_SENTINEL)
        templates.append((head, tail, f"{head}…{tail}"))
    return tuple(sorted(templates, key=lambda t: -len(t[1])))


def _without_path(head: str, tail: str) -> str:
    """``head`` and ``tail`` of a reason joined where its path was, less the ``: `` that led to the path."""
    return head.rstrip().removesuffix(":") + tail


def print_plan(
    plan: Plan,
    *,
    verb: str,
    json_out: bool,
    console: Console,
    notes: Sequence[str] = (),
    err_console: Console | None = None,
    quiet: bool = False,
    verbose: bool = False,
) -> None:
    """``--dry-run``: every job, skip and known failure, as a table or JSON (``quiet``: one line of totals, after
    the failures' error lines and the notes, as a quiet run prints; the table of a 3,000-photo card was 3,000
    rows). The table ends with the same totals line. Many skips of one kind are folded as in the summary
    (:func:`print_summary`) unless ``verbose``, and so are the jobs past :data:`JOBS_FOLD_OVER`; failures never; the
    JSON lists each. ``notes`` (about the model, say) are part of the JSON; the caller prints
    them after a table. The plan's own notes (an ``-o`` inside an input folder, a ``--format`` that fits only some
    inputs) and a job's (an out-of-date output redone) are
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
    totals = f"{title}, {len(plan.skipped)} skipped, {len(plan.failed)} failing"
    if quiet:
        _print_quiet_lines(plan.notes, plan.skipped, err_console or console)
        console.print(totals, highlight=False)
        return
    table = Table(title=title, show_lines=False)
    table.add_column("input", overflow="fold")
    table.add_column("output / note", overflow="fold")
    for rec in plan.notes:
        table.add_row(escape(shown_path(rec.path)), f"[cyan]note:[/] {escape(printable(rec.why))}")
    listed = _jobs_listed(plan.jobs, verbose)
    for job in listed:
        after = " (replaced in place)" if job.replaces_input else f" ({job.note})" if job.note else ""
        table.add_row(escape(shown_path(job.source)), escape(shown_path(shown(job)) + after))
    if len(listed) < len(plan.jobs):
        rest = _Folded(len(plan.jobs) - len(listed), f"would be {verb}ed too; --json or --verbose lists each")
        table.add_row(_more(rest), escape(rest.reason))
    for rec in _folded(plan.skipped, verbose):
        if isinstance(rec, _Folded):
            table.add_row(_more(rec), f"[yellow]skip:[/] {escape(printable(rec.reason))}")
        else:
            table.add_row(escape(shown_path(rec.path)), f"[yellow]skip:[/] {escape(printable(rec.why))}")
    for rec in plan.failed:
        table.add_row(escape(shown_path(rec.path)), f"[red]error:[/] {escape(printable(rec.why))}")
    _print_table(console, table)
    if plan.other_shards:
        console.print(f"{plan.other_shards} file(s) belong to other shards", highlight=False)
    console.print(totals, highlight=False)  # last, as a run's totals are: the title scrolled away over a big plan


def _jobs_listed(jobs: Sequence[Job], verbose: bool) -> list[Job]:
    """The jobs a ``--dry-run`` table lists: all of them with ``verbose`` or up to :data:`JOBS_FOLD_OVER`, else the
    first :data:`JOBS_SHOWN` and every job with a note, in their order.

    Why every job with a note: a note says something about that one photo (``redone: input changed`` under
    ``--update``, a photo named like a video), as the skips of :data:`NEVER_FOLDED` do, and folded into "… and N
    more" it was said nowhere but in ``--json``."""
    if verbose or len(jobs) <= JOBS_FOLD_OVER:
        return list(jobs)
    listed: list[Job] = []
    plain = 0
    for job in jobs:
        if job.note and not job.replaces_input:  # an in-place row shows "(replaced in place)", not its note
            listed.append(job)
        elif plain < JOBS_SHOWN:
            plain += 1
            listed.append(job)
    return listed


def print_summary(
    summary: BatchSummary,
    *,
    json_out: bool,
    quiet: bool,
    console: Console,
    err_console: Console,
    verbose: bool = False,
    planning_seconds: float | None = None,
    total_seconds: float | None = None,
) -> None:
    """The end of a run: one ``error: FILE: reason`` line per failure on ``err_console``, a table of what was
    noted and skipped, then the totals line with where the outputs went; with ``json_out``, the JSON on
    stdout takes the place of the table and the totals, and the error lines stay.

    More than :data:`FOLD_OVER` skips of one kind (:func:`_fold_key`: "output exists" on a rerun, "raw (CR2)
    images are not supported" on a RAW+JPEG card, "not an image or video file (by name)" beside each photo of a
    Takeout folder) are folded unless ``verbose``: the table lists :data:`FOLD_SHOWN` of them and then one
    ``… and N more`` row with the reason they share, so that the notes and the skips a user may act on are not
    buried under 300 rows saying the same. The kinds of :data:`NEVER_FOLDED` (an output older than its input, an
    empty folder or a partial result given by name) are listed each, and failures are never folded (they are not
    in the table: each has its line on stderr). The totals line and ``--json`` count and list every file.

    Failures go to the error stream, one line each, so that a script or a log reading stderr sees every one
    whether or not the table is printed; a video kept in part (``NAME.partial.mp4``) is named there, as typed,
    and the totals count such files, which "written to" leaves out. ``quiet`` leaves out the table; notes then
    go to ``err_console`` too, one line each, and so do skips of outputs older than their inputs (a photo
    edited since: cron's ``--quiet`` run would otherwise never say it is not redone). The files an interrupted
    run did not do are not failures and get no line each (a batch of 100 000 stopped early would print
    100 000): the totals line counts them and says how to resume. After ``--in-place``, whose rerun must leave out
    the photos replaced already (:func:`in_place_resume`), they are listed too, as skips are folded
    (:func:`_not_done_listed`), in the table or, ``quiet``, one ``not done:`` line each on ``err_console``.

    The run's :attr:`~.run.BatchSummary.provenance` (the model, its weights' sha256, precision, device, threads)
    is one line before the totals, left out by ``quiet`` as the table is; ``--json`` carries it whole.

    ``total_seconds`` (the command's time, planning and model loading included) is the time the totals line
    gives, with ``planning_seconds`` beside it once planning took a second or more; both go into ``--json`` beside
    ``seconds`` (the batch's own time, which the line gave alone: ``in 0.0 s`` for a rerun that planned for 4 s).
    Without them (a program's own batch), the line gives ``seconds``.
    """
    _print_failures(summary.failures_shown(), err_console)
    if json_out:
        typer.echo(json.dumps(_with_times(summary.to_dict(), planning_seconds, total_seconds), indent=2))
        return
    took = f"{summary.seconds if total_seconds is None else total_seconds:.1f} s"
    if planning_seconds is not None and planning_seconds >= _PLANNING_SHOWN:
        took += f" (planning {planning_seconds:.1f} s)"
    totals = (
        f"[green]{len(summary.done)} done[/], [yellow]{len(summary.skipped)} skipped[/], "
        f"[red]{len(summary.failed)} failed[/]"
    )
    if summary.interrupted:
        totals += f", [magenta]{len(summary.not_done)} not done[/]: interrupted after {took}"
    elif summary.not_done:  # the run stopped itself (the output disk is full): its failure line says why
        totals += f", [magenta]{len(summary.not_done)} not done[/] in {took}"
    else:
        totals += f" in {took}"
    if summary.other_shards:
        totals += f" ({summary.other_shards} in other shards)"
    replaced = sum(job.replaces_input for job in summary.done)
    if summary.interrupted:
        totals += f"; {in_place_resume(replaced) if replaced else 'rerun the same command to resume'}"
    elif summary.not_done:
        mend = "rerun the same command once it is mended"
        if replaced:
            mend = f"once it is mended, {in_place_resume(replaced)}"
        totals += f"; they were not started (the error above says why): {mend}"
    where = output_places(summary)
    if where:
        totals += f"; written {escape(where)}"
    if kept := summary.partial_outputs():  # files in the output folder that "written to" did not name
        totals += f"; {kept} partial output{'' if kept == 1 else 's'} kept (see errors)"
    left = _not_done_listed(summary.not_done, verbose) if replaced else []  # what to rerun on, after --in-place
    if not quiet and (summary.skipped or summary.notes or left):
        table = Table(show_header=True, header_style="bold")
        table.add_column("status", overflow="fold")
        table.add_column("file", overflow="fold")  # a file name is never cut short ("mi…"): folded
        table.add_column("reason", overflow="fold")
        rows = (
            ("[cyan]note[/]", summary.notes),
            ("[yellow]skipped[/]", _folded(summary.skipped, verbose)),
            ("[magenta]not done[/]", left),
        )
        for status, records in rows:
            for rec in records:
                if isinstance(rec, _Folded):
                    table.add_row(status, _more(rec), escape(printable(rec.reason)))
                    continue
                where = f"(device: {rec.device})" if isinstance(rec, DeviceNote) else shown_path(rec.path)
                table.add_row(status, escape(where), escape(printable(rec.why)))
        _print_table(console, table)
    elif quiet:
        _print_quiet_lines(summary.notes, summary.skipped, err_console)
        for rec in left:
            text = (
                f"{_more(rec)}: {printable(rec.reason)}"
                if isinstance(rec, _Folded)
                else file_line(rec.path, rec.reason)
            )
            err_console.print(f"[magenta]not done:[/] {escape(text)}", highlight=False, soft_wrap=True)
    if summary.provenance is not None and not quiet:  # what made the outputs, in one line (--json: all of it)
        console.print(escape(summary.provenance.line()), highlight=False, soft_wrap=True)
    console.print(totals, highlight=False, soft_wrap=True)


#: Planning time the totals line names (``in 4.6 s (planning 4.4 s)``) from this many seconds on; shorter, it is
#: only counted in the time given.
_PLANNING_SHOWN = 1.0


def in_place_resume(replaced: int) -> str:
    """How to resume an ``--in-place`` run that stopped after replacing ``replaced`` inputs with their results.

    Why: the totals line said "rerun the same command to resume", as it does for a run that writes beside its
    inputs, whose rerun skips the outputs already there; an ``--in-place`` output is its input, so the same
    command took the replaced photos for new ones and ran the model over them a second time."""
    return (
        "rerun on the files not done only (listed above): "
        f"the {replaced} done were replaced in place, and a rerun over all would restore them a second time"
    )


#: The reason a summary gives each file an ``--in-place`` run did not do: the runner's own (``INTERRUPTED``) says to
#: rerun the same command, which would restore the replaced photos a second time (:func:`in_place_resume`).
NOT_DONE_IN_PLACE = "not started or not finished (not replaced): rerun on this file"


def _not_done_listed(not_done: Sequence[Record], verbose: bool) -> list[Record | _Folded]:
    """The files an ``--in-place`` run did not do, as its summary lists them: each (``verbose``, or up to
    :data:`JOBS_FOLD_OVER`), else the first :data:`JOBS_SHOWN` and one ``… and N more`` row.

    Why: after an ``--in-place`` run stopped part-way, the advice was to rerun on the files not done only, and the
    text summary named none of them (a rerun over all restores the replaced photos a second time)."""
    rows: list[Record | _Folded] = [Record(rec.path, NOT_DONE_IN_PLACE) for rec in not_done]
    if verbose or len(rows) <= JOBS_FOLD_OVER:
        return rows
    rest = _Folded(len(rows) - JOBS_SHOWN, "not done either; a run with --verbose lists each, as --json does")
    return [*rows[:JOBS_SHOWN], rest]


def _with_times(data: dict[str, Any], planning: float | None, total: float | None) -> dict[str, Any]:
    """A summary's JSON with ``planning_seconds`` and ``total_seconds`` (when known) after its ``seconds``."""
    times = {"planning_seconds": planning, "total_seconds": total}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value
        if key == "seconds":
            out.update({name: round(t, 3) for name, t in times.items() if t is not None})
    return out


def _print_table(console: Console, table: Table) -> None:
    """``table`` laid out for the console's width and terminal (:func:`weatherclean.tables.print_table`: plain
    under ``TERM=dumb``, and names escaped before the widths are computed where the output's encoding cannot show
    them, ``PYTHONIOENCODING=ascii``, so that the columns stay aligned)."""
    print_table(console, table, fold=False)  # every column folds: Rich keeps each name whole in its column


def _fold_key(rec: Record) -> str | None:
    """The kind of skip ``rec`` is, for folding: its reason as a row prints it (:func:`~weatherclean.io.folders.
    printable`: a control character in a name is escaped, and the folded row prints this text), with the path or
    name it holds of its own left out (:func:`_templates`: an "output exists" skip's output, a nameless video's name,
    the clip a camera's proxy lies beside, a link's target). So the skips of one kind group together (each "output
    exists", each "raw (CR2) images are not supported", apart from "raw (NEF) ..."). None for a skip never folded
    (:data:`NEVER_FOLDED`).

    Only these builders' reasons hold a name: any other reason is its own key, as it is (a name searched for in
    every reason replaced the words "it" or "file" in reasons of files so named, and cost 9 s for 100 000 skips)."""
    why = printable(rec.why)
    if why.startswith(NEVER_FOLDED):
        return None
    for head, tail, text in _templates():
        if why.startswith(head) and why.endswith(tail) and len(why) > len(head) + len(tail):
            return text
    return why


def _folded(skipped: Sequence[Record], verbose: bool) -> list[Record | _Folded]:
    """``skipped`` as the table lists them: each kind (:func:`_fold_key`) with more than :data:`FOLD_OVER` skips
    (unless ``verbose``) cut to its first :data:`FOLD_SHOWN`, followed at once by one :class:`_Folded` row counting
    the rest, with the reason they share; the other skips as they are, in their order."""
    if verbose or len(skipped) <= FOLD_OVER:
        return list(skipped)
    keys = [_fold_key(rec) for rec in skipped]
    counts = Counter(key for key in keys if key is not None)
    folding = {key for key, n in counts.items() if n > FOLD_OVER}
    rows: list[Record | _Folded] = []
    listed: Counter[str] = Counter()
    for rec, key in zip(skipped, keys, strict=True):
        if key not in folding:
            rows.append(rec)
            continue
        listed[key] += 1
        if listed[key] <= FOLD_SHOWN:
            rows.append(rec)
        if listed[key] == FOLD_SHOWN:
            rows.append(_Folded(counts[key] - FOLD_SHOWN, f"{key}; --verbose lists each"))
    return rows


def _more(row: _Folded) -> str:
    """The file column of a folded row."""
    return f"… and {row.count} more"


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
    return file_line(rec.path, rec.why)


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
