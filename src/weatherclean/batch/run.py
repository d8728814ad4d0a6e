"""Running a plan: each job through its handler, with a progress bar, into a :class:`BatchSummary`.

Running keeps going past a bad input: one corrupt photo must not cost the other 999. Only Ctrl-C (or
SIGTERM, which the CLI turns into Ctrl-C) stops a batch early, and a failure after which every later job would
fail the same way after its compute: a full output disk, a read-only one that every output left is on, the ``-o``
folder replaced or made unwritable since the start, and photos that run out of memory with none smaller left
(:meth:`_Runner.record`). After
Ctrl-C the jobs left without an outcome (not started, or stopped part-way, whose partial output is never under the
final name) are counted as not done, apart from the failures; after such a stop too (the job that found it is the
one failure). An
output disk already full (under :data:`FULL_DISK_BYTES` free) stops the batch before any work. Either way
rerunning the same command resumes (finished outputs are skipped by the plan). A failed job leaves no empty output
folder behind. Ctrl-C ends in a summary wherever it lands once the batch has started: each job's outcome is
filled into one slot as it is known, and the summary is made from the slots at the end, with further
interruptions held while the writes in flight finish. An output that appears while its job runs (another run
beside this one) is kept and the job skipped, unless ``--overwrite`` asked to replace every output: ``--update``
replaces only the output it judged older than its input, and made from it, just before the model.

Photos are pipelined (:class:`Pipeline`): worker threads decode the next photos and encode and write
finished ones while the model computes on the main thread, with bounded queues, so memory holds a few
photos at most; and only photos that fit comfortably beside the one computed (:meth:`_Pipelined.fits`: the pixel
count from the file's header, against the memory available, as the tile choice reads it) are decoded ahead or
left being written while the next is computed: a folder of 70-megapixel photos on a 4 GB laptop runs one at a
time, as with ``WEATHERCLEAN_PIPELINE=0``. The summary, its order, resume, atomic writes and Ctrl-C are the
same as one job at a time, and so are the output bytes (each stage does exactly what the sequential handler does).
``WEATHERCLEAN_PIPELINE=0`` runs one job at a time, every stage in turn, to measure the difference.
Videos and ``--frames`` clips run whole on the main thread: :func:`weatherclean.io.video.process_video`
overlaps decoding and encoding inside each video.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from weatherclean.batch.handlers import OutOfMemory, PartialVideoError, StagedHandler, photo_handler, staged, stages_of
from weatherclean.batch.jobs import (
    FrameProgress,
    Job,
    JobHandler,
    OutputNames,
    OutputState,
    Plan,
    Record,
    Replacement,
    display,
    job_sources,
    judge_output,
    stat_or_none,
)
from weatherclean.errors import (
    DiskFullError,
    OutputAppeared,
    OutputError,
    WeathercleanError,
    is_out_of_memory,
    memory_advice,
    os_errno,
)
from weatherclean.interrupts import EXIT_INTERRUPTED, block_for_report, interrupts_held
from weatherclean.io.atomic import file_identity, identity_at, keep_existing, tagged
from weatherclean.io.folders import write_probe
from weatherclean.io.images import LoadedImage, Quality
from weatherclean.io.images.opener import header_pixels
from weatherclean.io.output_links import folder_in_the_way, refuse_special
from weatherclean.io.permissions import missing_folders, remove_empty
from weatherclean.pipelining import pipeline_enabled
from weatherclean.provenance import Provenance, read_tag
from weatherclean.provenance import current as current_run

__all__ = ["BatchSummary", "Pipeline", "run_batch", "run_jobs"]

#: Bytes per pixel a photo holds while it waits, decoded, for the model (float32 colour, its alpha).
AHEAD_BYTES_PER_PIXEL = 16
#: Bytes per pixel a finished photo holds while it is encoded and written beside the next one's model: the
#: decoded photo with the result written over it, the integer copy and Pillow's, the encoded file (measured:
#: three 12-megapixel JPEGs pipelined peaked 0.41 GiB above one at a time).
WRITING_BYTES_PER_PIXEL = 30
#: The part of the available memory that photos held beside the one computed may take: the model's tiles and the
#: photo computed need the rest, and on a CPU running out kills the process.
OVERLAP_FRACTION = 0.25
#: An output disk with less free than this is full: the batch stops before any work (a photo's output is
#: rarely under a megabyte, so nothing would be written).
FULL_DISK_BYTES = 1 << 20


@dataclass(frozen=True)
class Pipeline:
    """How far a batch of photos runs around the model: at most ``ahead`` decoded photos waiting for it
    (read by ``decoders`` threads) and at most ``writers`` results being encoded and written at a time.

    Memory is bounded by ``ahead + 1 + writers`` photos, against 1 one job at a time; a photo too big to hold
    comfortably beside the one computed is neither decoded ahead nor left writing behind (:meth:`_Pipelined.fits`).
    """

    decoders: int = 1
    ahead: int = 1
    writers: int = 1

    def __post_init__(self) -> None:
        if min(self.decoders, self.ahead, self.writers) < 1:
            raise ValueError(f"a pipeline needs at least one of each: {self}")

    @classmethod
    def for_machine(cls, cpus: int | None = None) -> Pipeline | None:
        """The pipeline for this machine, or None when ``WEATHERCLEAN_PIPELINE=0`` turns it off.

        Up to 4 cores, one photo decoded ahead and one written behind: the model keeps every core
        busy, and a JPEG codes in a few percent of its compute, so more threads would only compete.
        A bigger machine feeds a fast GPU: two of each (Pillow codes without holding the GIL).
        """
        if not pipeline_enabled():
            return None
        cpus = cpus or os.cpu_count() or 1
        return cls() if cpus <= 4 else cls(decoders=2, ahead=2, writers=2)


@dataclass(frozen=True)
class PartialFailure(Record):
    """A video that failed for decoding only in part, its restored frames kept at ``partial`` (the real path;
    :class:`~weatherclean.batch.handlers.PartialVideoError`); ``source`` is the job's input as it holds it.

    Why a record of its own: ``--json`` gives the kept file in a field (``"partial"``), and both it and the
    reason show that path as the user's paths were typed (:meth:`as_typed`), as outputs are; the reason alone
    named it, resolved (``/home/me/jout/a.partial.mp4`` beside ``"output": "jout/b.mp4"``)."""

    partial: Path = Path()
    source: Path = Path()

    def as_typed(self, names: OutputNames) -> PartialFailure:
        """This failure with :attr:`partial` (in it, and in the reason) shown as ``names`` shows outputs."""
        shown = names(Job(self.source, self.partial))
        return dataclasses.replace(self, reason=self.reason.replace(str(self.partial), str(shown)), partial=shown)


@dataclass
class BatchSummary:
    """Outcome of a batch; ``ok`` is False when anything failed or the batch was interrupted (the CLI then exits
    with 1, or 130 when interrupted)."""

    done: list[Job] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    #: Things a user should know about a photo that was done (format conversions, dropped pages, ...).
    notes: list[Record] = field(default_factory=list)
    other_shards: int = 0
    seconds: float = 0.0
    #: Ctrl-C (or SIGTERM) stopped the batch; the jobs it left without an outcome are in :attr:`not_done` (as are
    #: those a full output disk left unstarted, without this flag).
    interrupted: bool = False
    #: Jobs an interrupted batch did not do: not started, or stopped part-way (no output is left under their
    #: name). Not failures: rerunning the same command does them.
    not_done: list[Record] = field(default_factory=list)
    #: The ``-o`` folder as typed (the plan's): outputs are shown under it (:class:`~.jobs.OutputNames`).
    output_dir: Path | None = None
    #: What made the outputs (the CLI's record of its model and settings), for ``--json`` and the summary's line.
    provenance: Provenance | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    @property
    def exit_code(self) -> int:
        """The exit code the CLI ends this batch with, which ``--json`` gives too (as its error object and the
        ``--dry-run`` JSON do): 130 interrupted (128 + SIGINT, as after Ctrl-C), 1 a file failed, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 0 if self.ok else 1

    @classmethod
    def from_plan(cls, jobs: Plan | Sequence[Job]) -> BatchSummary:
        """An empty summary that starts with what the plan already knows: its skips, its failures and its notes
        about the run as a whole (all listed before the run's own) and how many files other shards have."""
        summary = cls()
        if isinstance(jobs, Plan):
            summary.other_shards, summary.output_dir = jobs.other_shards, jobs.output_dir
            summary.skipped.extend(jobs.skipped)
            summary.failed.extend(jobs.failed)
            summary.notes.extend(jobs.notes)
        return summary

    def add(self, other: BatchSummary) -> None:
        """Append another run's outcomes (one job's, run elsewhere) to this summary."""
        self.done += other.done
        self.skipped += other.skipped
        self.failed += other.failed
        self.notes += other.notes
        self.not_done += other.not_done

    def failures_shown(self) -> list[Record]:
        """:attr:`failed`, each kept partial video's path as the user's paths were typed (:class:`PartialFailure`)."""
        names = OutputNames(self.output_dir)
        return [r.as_typed(names) if isinstance(r, PartialFailure) else r for r in self.failed]

    def partial_outputs(self) -> int:
        """How many failed videos left their decoded frames in a ``.partial`` file."""
        return sum(isinstance(r, PartialFailure) for r in self.failed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for ``--json``: ``failed`` holds real failures only; the inputs an interrupted
        run did not do, or that a full output disk left unstarted, are ``not_done`` (counted in ``counts`` with the
        rest, so a script that reads the counts sees that the run is incomplete), ``interrupted`` true only after
        Ctrl-C, SIGTERM or SIGHUP, and ``exit_code`` the command's (:attr:`exit_code`). Outputs are
        shown as the user's paths were typed, as inputs are (:class:`~weatherclean.batch.jobs.OutputNames`)."""
        shown = OutputNames(self.output_dir)
        return {
            "done": [{"input": str(j.source), "output": str(shown(j))} for j in self.done],
            "skipped": [{"path": str(r.path), "reason": r.why} for r in self.skipped],
            "failed": [_failure_dict(r) for r in self.failures_shown()],
            "not_done": [{"path": str(r.path)} for r in self.not_done],
            "notes": [{"path": str(r.path), "note": r.why} for r in self.notes],
            "counts": {
                "done": len(self.done),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
                "not_done": len(self.not_done),
            },
            "other_shards": self.other_shards,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "ok": self.ok,
            "exit_code": self.exit_code,
            **({"provenance": self.provenance.to_dict()} if self.provenance is not None else {}),
        }


def _failure_dict(record: Record) -> dict[str, str]:
    """One failure in ``--json``: its path and reason, and the ``.partial`` file kept for it, if any."""
    kept = {"partial": str(record.partial)} if isinstance(record, PartialFailure) else {}
    return {"path": str(record.path), "reason": record.why, **kept}


def run_batch(
    jobs: Plan | Sequence[Job],
    process: Callable[[LoadedImage], np.ndarray],
    *,
    quality: Quality = 95,
    format: str | None = None,
    overwrite: bool = False,
    update: bool = False,
    progress: bool = True,
    description: str = "processing",
    console: Console | None = None,
    compare: bool = False,
    pipeline: Pipeline | bool = True,
) -> BatchSummary:
    """Load, ``process`` and save each photo; a failing photo is recorded and the batch goes on.

    ``process`` gets the decoded photo and returns H×W×C float pixels (same C as ``pixels``); the
    result is saved with the input's format (or ``format``), bit depth and metadata. ``compare`` adds a
    before | after picture beside each output. ``overwrite`` and ``update`` are the plan's (:func:`run_jobs`).
    """
    handler = photo_handler(process, quality=quality, format=format, compare=compare)
    return run_jobs(
        jobs, handler, overwrite=overwrite, update=update, progress=progress, description=description,
        console=console, pipeline=pipeline,
    )  # fmt: skip


def run_jobs(
    jobs: Plan | Sequence[Job],
    handler: JobHandler,
    *,
    overwrite: bool = False,
    update: bool = False,
    progress: bool = True,
    description: str = "processing",
    console: Console | None = None,
    pipeline: Pipeline | bool = True,
) -> BatchSummary:
    """Run ``handler`` on each job; a failing job is recorded with its one-line reason and the batch goes on.

    A plan's known skips and failures come first in the summary, then the run's in job order. The
    progress bar goes to ``console`` (default: stderr) when it is a terminal, and disappears at the end. Jobs
    whose handler has stages (:class:`~weatherclean.batch.handlers.StagedHandler`: photos) are pipelined as
    ``pipeline`` says (True: :meth:`Pipeline.for_machine`; False: one job at a time); others run whole, in order.

    ``overwrite`` and ``update`` must be what the plan was made with (:func:`~weatherclean.batch.plan.plan_batch`):
    just before each job the output is looked at again (:func:`_appeared`), and one that exists by then is
    skipped unless they say to replace it; one that appears while the job runs is kept too
    (:func:`~weatherclean.io.atomic.keep_existing`), and the job is skipped.

    Ctrl-C (or SIGTERM, as the CLI raises it) anywhere once the batch has started ends in a summary marked
    interrupted: each job's outcome is one slot, filled in one step as it is known, and the summary is made from
    the slots only after the writes in flight are done, with further interruptions held (:func:`_wrap_up`).
    """
    summary = BatchSummary.from_plan(jobs)
    start = time.perf_counter()
    job_list = list(jobs)
    outcomes: list[_Outcome | None] = [None] * len(job_list)
    runner: _Runner | None = None
    interrupted = False
    full = _full_disk(job_list)
    if full is not None:  # before any work: every job is not done, and the disk is the one failure
        summary.failed.append(full)
        return _wrap_up(summary, job_list, outcomes, None, interrupted=False, start=start)
    try:
        runner = _runner(job_list, handler, outcomes, Replacement(overwrite, update), pipeline, _given_output(jobs))
        with progress_bar(progress, console) as bar:
            runner.run(bar, description)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:  # a bug: its traceback goes up, after the threads are stopped
        if runner is not None:
            runner.close()
        raise
    return _wrap_up(summary, job_list, outcomes, runner, interrupted=interrupted, start=start)


def _free_bytes(folder: Path) -> int | None:
    """Bytes free to this user on ``folder``'s disk (``statvfs``), or None where it cannot be told: a disk that
    reports no size at all (FUSE file systems without statfs), or a read-only one (squashfs, ISO 9660 report 0
    free), whose folders' own write checks say why they fail, folder by folder. Root may also write the blocks
    ext4 keeps for it (``f_bfree``, not ``f_bavail``), as most containers run."""
    try:
        info = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    if info.f_blocks == 0 or info.f_flag & getattr(os, "ST_RDONLY", 1):
        return None
    blocks = info.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else info.f_bavail
    return blocks * info.f_frsize


def _full_disk(job_list: Sequence[Job]) -> Record | None:
    """The failure of a batch whose output disk is already full (under :data:`FULL_DISK_BYTES` free), found before
    any work, or None. One ``statvfs`` per output folder (the nearest that exists), one per disk.

    Why up front: with 0 bytes free the first photo was computed (minutes for a big one) before its write found
    the disk full."""
    seen: set[Path] = set()
    disks: set[int] = set()
    for job in job_list:
        named = folder = job.output.parent
        if folder in seen:
            continue
        seen.add(folder)
        missing = missing_folders(folder)  # an -o not made yet: its disk is its nearest existing parent's
        folder = missing[-1].parent if missing else folder
        try:
            disk = folder.stat().st_dev
        except OSError:
            continue
        if disk in disks:
            continue
        disks.add(disk)
        free = _free_bytes(folder)
        if free is not None and free < FULL_DISK_BYTES:
            return Record(
                display(named),
                f"{display(named)}: the output disk is full ({free} bytes free); nothing was started: free space "
                "and rerun the same command",
            )
    return None


def _wrap_up(
    summary: BatchSummary,
    job_list: list[Job],
    outcomes: list[_Outcome | None],
    runner: _Runner | None,
    *,
    interrupted: bool,
    start: float,
) -> BatchSummary:
    """The batch's summary, once the writes in flight are done and recorded (:meth:`_Runner.finish`), with
    Ctrl-C and SIGTERM held meanwhile (:func:`~weatherclean.interrupts.interrupts_held`): they cannot make it faster
    (a write in flight finishes either way) and must not lose what was done.

    An interruption that lands before the hold takes effect only starts this again: the summary is made anew from
    the slots each time, so nothing is counted twice."""
    made: BatchSummary | None = None
    while made is None:
        try:
            with interrupts_held():
                if runner is not None:
                    runner.finish()
                    runner.recover()
                made = _summarised(summary, job_list, outcomes, interrupted=interrupted)
                made.seconds = time.perf_counter() - start
                block_for_report()  # the CLI's: none lands before its summary is printed
        except KeyboardInterrupt:
            interrupted = True
    return made


def _summarised(
    plan: BatchSummary, job_list: list[Job], outcomes: list[_Outcome | None], *, interrupted: bool
) -> BatchSummary:
    """``plan`` (the plan's part of the summary) with every job's outcome added in job order, as a new summary.

    The jobs without an outcome are not done (not failures, and not one line each: a batch of 100 000 stopped
    early would print 100 000), after Ctrl-C or a full disk; the write that found the disk full is the failure. A
    batch whose every job has an outcome is complete, even if a signal came as it ended."""
    summary = BatchSummary(
        skipped=list(plan.skipped), failed=list(plan.failed), notes=list(plan.notes),
        other_shards=plan.other_shards, output_dir=plan.output_dir,
    )  # fmt: skip
    rest = [job for job, outcome in zip(job_list, outcomes, strict=True) if outcome is None]
    for outcome in outcomes:
        if outcome is not None:
            outcome.add_to(summary)
    summary.interrupted = interrupted and bool(rest)
    if summary.interrupted:
        summary.not_done = [Record(display(j.source), INTERRUPTED) for j in rest]
    else:  # the batch stopped itself (a full or read-only disk, an output folder gone, no memory): the stop says why
        why = next((o.stop for o in outcomes if o is not None and o.stop), None) or DISK_FULL_REST
        summary.not_done = [Record(display(j.source), why) for j in rest]
    return summary


@dataclass(frozen=True)
class _Outcome:
    """What became of one job: done (with its notes), skipped or failed; ``stop`` when the batch must stop after
    it, saying why the jobs left are not done (a full or read-only output disk, an output folder no longer there to
    write in, a process out of memory: every later job would fail the same way, after its compute). ``cause`` is
    what failed it, for the runner to judge whether the batch must stop (:meth:`_Runner.record`): ``("output",
    errno)`` for a write, ``("memory", None)`` for want of memory; None for anything else. Not the exception
    itself: its traceback holds the photo's decoded pixels, and a batch keeps every outcome to its end."""

    done: Job | None = None
    notes: tuple[Record, ...] = ()
    skip: Record | None = None
    failure: Record | None = None
    stop: str | None = None
    cause: tuple[str, int | None] | None = None

    def add_to(self, summary: BatchSummary) -> None:
        """Record this outcome in ``summary``."""
        summary.notes.extend(self.notes)
        if self.done is not None:
            summary.done.append(self.done)
        if self.skip is not None:
            summary.skipped.append(self.skip)
        if self.failure is not None:
            summary.failed.append(self.failure)


@dataclass(frozen=True)
class _Look:
    """One look at a job's output before its model runs (:func:`_appeared`): its ``outcome`` (None: run it), and
    what it judged there (:func:`~weatherclean.io.atomic.file_identity`; None: nothing), which the
    job's write may replace and no other (:func:`_kept`), and which tells whether a later look is still valid."""

    outcome: _Outcome | None = None
    seen: tuple[int, int, int] | None = None


def _appeared(job: Job, replace: Replacement) -> _Look:
    """Look at a job's output just before it runs: its outcome if the output exists (a skip; a failure for a folder
    where a file goes, or for another photo's output), or None to run it; and the file it judged.

    The plan skipped every output that existed then; one that exists now appeared since (another process, a
    rerun beside this one), or is one the plan found older than its input and was asked to redo (``update``). One
    done by now was written meanwhile, and is skipped with the words of one that appears while the job runs
    (:func:`appeared_reason`), not "output exists": a log reader tells a race beside this run from an earlier run.
    Each is judged as the plan judges, by the same rule (:func:`~weatherclean.batch.jobs.judge_output`): never
    replaced unless ``overwrite``, or ``update`` and it is (still) older than its input and made from this input
    (one made from another photo, by its EXIF, fails the job). The Ray engine's actors run each job through here
    too, so both engines judge alike. One ``stat`` of the output, and for one that exists the EXIF of it and of
    its input (a photo's).
    """
    if job.replaces_input:
        return _Look()
    info = stat_or_none(job.output)  # nothing there (the common case: a first run) needs no judging
    if info is None:
        return _Look()
    seen = file_identity(info)
    if job.kind != "frames" and stat.S_ISDIR(info.st_mode):
        return _Look(_Outcome(failure=Record(display(job.source), folder_in_the_way(display(job.output)))))
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):  # a FIFO, a device put there since the plan
        try:  # the planner's words (and a rerun's): it fails, as it would have there; it is no output "appeared"
            refuse_special(display(job.output))
        except OutputError as exc:
            return _Look(_Outcome(failure=Record(display(job.source), str(exc))))
    photo = job.source if job.kind == "photo" else None
    verdict = judge_output(job.output, lambda: job_sources(job), replace, info, photo=photo)
    if verdict.fail is not None:  # another photo's output (another card's IMG_0001.JPG): --update never replaces it
        return _Look(_Outcome(failure=Record(display(job.source), verdict.fail)), seen)
    if verdict.skip is None:
        return _Look(None, seen)
    if verdict.state is OutputState.DONE:  # written since the plan was made (it found none, or an old one): a race
        return _Look(_Outcome(skip=Record(display(job.source), appeared_reason(job.output))), seen)
    return _Look(_Outcome(skip=Record(display(job.source), verdict.skip)), seen)


def _kept(job: Job, replace: Replacement, look: _Look) -> tuple[Path | None, tuple[int, int, int] | None]:
    """What ``job``'s write must keep (:func:`~weatherclean.io.atomic.keep_existing`): its output, unless the job
    was asked to replace whatever is there (``--in-place``, ``--overwrite``; a ``--frames`` clip's folder is
    replaced by its handler, which looks at it itself), and the file ``look`` judged it may replace, the one an
    ``--update`` job redoes. Any other file found there at the write (another run's, written since the look) is
    kept, and the job skipped (before, ``--update`` replaced it unguarded)."""
    if job.replaces_input or replace.overwrite or job.kind == "frames":
        return None, None
    return job.output, look.seen


def _tag_of(job: Job, record: Provenance | None) -> bytes | None:
    """The tag ``job``'s output gets (:func:`~weatherclean.io.atomic.tagged`): ``record``'s, after the runs its input's
    own tag lists (an input restored before: ``desnow --in-place`` then ``derain --in-place`` keeps both); None
    without a record (a program's own batch): the output then carries none."""
    return None if record is None else record.tag(after=read_tag(job.source))


def _run_one(
    job: Job, handler: JobHandler, frames: FrameProgress, replace: Replacement, record: Provenance | None = None
) -> _Outcome:
    """Do one job; its outcome. Ctrl-C goes up (the job is then not done, and leaves no output). Its output gets
    ``record``'s tag (:func:`_tag_of`)."""
    look = _appeared(job, replace)
    if look.outcome is not None:
        return look.outcome
    new_folders = missing_folders(job.output.parent)
    try:
        with keep_existing(*_kept(job, replace, look)), tagged(job.output, _tag_of(job, record)):
            # a job that failed leaves no empty output folder behind; a staged handler names the stage that ran
            # out of memory (handlers.staged)
            return _settle(job, lambda: handler(job, frames), on_error=lambda: remove_empty(new_folders))
    finally:
        frames.finish()


#: What running out of memory while a photo is decoded or encoded means (after "FILE: "); :func:`_memory_reason` adds
#: what to do. Running out while the model runs (a photo's restore stage, a video or a clip) is the tile's to mend.
_MEMORY_STAGE = {"decode": "not enough memory to decode this image", "encode": "not enough memory to encode the output"}


def _memory_reason(stage: str | None, detail: str | None) -> str:
    """The reason of a job that ran out of memory in ``stage`` (None: a video or a clip, run whole), with what the
    library said (``detail``, where it said more than "no memory") and what to do: raise the process's own limit
    where one is set (:func:`~weatherclean.errors.memory_advice`), else close other programs."""
    said = f" ({detail})" if detail else ""
    advice = memory_advice()
    if stage in _MEMORY_STAGE:
        return f"{_MEMORY_STAGE[stage]}{said}; {advice} (finished files are skipped)"
    what = "out of memory while restoring" if stage == "restore" else "out of memory"
    return f"{what}{said}; try a smaller --tile (e.g. --tile 256), or {advice}"


def _settle(job: Job, call: Callable[[], Sequence[str]], on_error: Callable[[], None] | None = None) -> _Outcome:
    """Get one job's notes from ``call`` and say what became of it. ``on_error`` runs first when ``call`` raises
    anything; Ctrl-C then goes up.

    A failure this file alone causes becomes its one-line reason; anything else is a bug and goes up. An output
    that appeared while the job ran is kept, and the job skipped (:class:`~weatherclean.errors.OutputAppeared`).
    """
    try:
        try:
            notes = call()
        except BaseException:
            if on_error is not None:
                on_error()
            raise
    except DiskFullError as exc:
        return _Outcome(failure=Record(display(job.source), str(exc)), stop=DISK_FULL_REST)
    except OutputAppeared as exc:
        return _Outcome(skip=Record(display(job.source), appeared_reason(exc.path)))
    except PartialVideoError as exc:  # a failure, with the notes on the frames it kept
        failure = PartialFailure(display(job.source), str(exc), partial=exc.partial, source=job.source)
        return _Outcome(failure=failure, notes=tuple(Record(display(job.source), n) for n in dict.fromkeys(exc.notes)))
    except WeathercleanError as exc:  # a picture refused for memory names no file (restore.tiling.check_room)
        reason = f"{job.source}: {exc}" if getattr(exc, "names_no_file", False) else str(exc)
        return _Outcome(failure=Record(display(job.source), reason), cause=_cause(exc))
    except OutOfMemory as exc:
        reason = f"{job.source}: {_memory_reason(exc.stage, exc.detail)}"
        return _Outcome(failure=Record(display(job.source), reason), cause=MEMORY)
    except MemoryError:  # a video or a clip, run whole
        return _Outcome(
            failure=Record(display(job.source), f"{job.source}: {_memory_reason(None, None)}"), cause=MEMORY
        )
    except (RuntimeError, ValueError, OSError) as exc:
        text = " ".join(str(exc).split())
        if is_out_of_memory(exc):  # PyTorch's words under a memory limit, in a video or a clip
            reason = f"{job.source}: {_memory_reason(None, text[:100])}"
        else:
            reason = f"{job.source}: {type(exc).__name__}: {text}"
        return _Outcome(failure=Record(display(job.source), reason), cause=_cause(exc))
    said = [job.note, *notes] if job.note else notes  # the plan's note on this job (redone: input changed)
    return _Outcome(done=job, notes=tuple(Record(display(job.source), note) for note in dict.fromkeys(said)))


def _identity(path: Path) -> tuple[int, ...] | None:
    """What is at ``path``, as far as telling a newly written file goes: a regular file's device, inode, time and
    size (the size last), or None for nothing, a folder or anything else."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def appeared_reason(output: Path) -> str:
    """The skip reason of a job whose output another run wrote after the plan was made, and that was kept: found
    done just before the job ran (:func:`_appeared`), or at its write (:func:`_settle`). One wording for both, and
    for an ``--update`` whose old output was there all along: a file written meanwhile appeared, whatever was there
    before, and it need not be this photo's (another card's photo of the same name, a rerun beside this one)."""
    return f"output appeared meanwhile (another run?): {display(output)}; kept, not replaced (--overwrite redoes it)"


#: The reason of a job that Ctrl-C left without an outcome, in :attr:`BatchSummary.not_done` (the local and the
#: Ray runner).
INTERRUPTED = "not started or not finished: interrupted; rerun the same command to resume"
#: The reason of each job a full disk left without an outcome (in :attr:`BatchSummary.not_done`).
DISK_FULL_REST = "not started: the output disk is full; free space and rerun (finished files are skipped)"
#: How many photos in a row (none done between) must run out of memory before a batch stops (:meth:`_Runner.record`).
MEMORY_STOP_AFTER = 2


#: The :attr:`_Outcome.cause` of a job that failed for want of memory.
MEMORY: tuple[str, int | None] = ("memory", None)


def _cause(exc: BaseException) -> tuple[str, int | None] | None:
    """:attr:`_Outcome.cause` of a job that ``exc`` failed: a write's failure with its ``errno`` (where the
    ``OSError`` under it tells), a want of memory, or None."""
    # a picture refused for memory too (tiling's NotEnoughMemory), and before a write's: an output that could not
    # be encoded for memory is both
    if is_out_of_memory(exc):
        return MEMORY
    return ("output", os_errno(exc)) if isinstance(exc, OutputError) else None


def _given_output(jobs: Plan | Sequence[Job]) -> bool | None:
    """Whether the batch's outputs go under one ``-o`` folder: True for a plan made with one, False for a plan made
    without (``--in-place``, or each output beside its input), None for jobs made by hand (whose outputs' shared
    folder still stops the batch, where it changes: :class:`_Root`)."""
    return None if not isinstance(jobs, Plan) else jobs.output_dir is not None


def _shared_folder(job_list: Sequence[Job]) -> Path | None:
    """The deepest folder that every output of the batch goes under (the ``-o`` folder, or a folder in it), or None
    where they share none but the root (or a drive)."""
    try:
        common = Path(os.path.commonpath([os.path.abspath(job.output.parent) for job in job_list]))
    except ValueError:  # no jobs, or outputs on two Windows drives
        return None
    return None if common.parent == common else common


def _existing(folder: Path) -> Path:
    """``folder`` or the nearest folder above it that exists (a name that is there, even as a file or a link)."""
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    return folder


def _read_only(folder: Path) -> bool:
    """Whether ``folder`` (or, where it is not there, the nearest folder above it) is on a file system mounted
    read-only, where ``statvfs`` tells."""
    return _read_only_at(_existing(folder))


def _read_only_at(at: Path) -> bool:
    """:func:`_read_only` of a path that is there (:func:`_existing`'s)."""
    try:
        info = os.statvfs(at)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return bool(info.f_flag & getattr(os, "ST_RDONLY", 0))


def _disk(folder: Path) -> tuple[int, bool] | None:
    """The file system an output in ``folder`` is written to, as far as a read-only one can be told apart: the
    device of ``folder`` (or the nearest folder above it that exists) and whether it is mounted read-only; None
    where it cannot be reached. The flag too: a read-only bind mount (a container's ``-v /data:/data:ro``) has the
    same device as a writable one of the same disk."""
    at = _existing(folder)
    try:
        device = os.stat(at).st_dev
    except OSError:
        return None
    return device, _read_only_at(at)


def _cannot_write(folder: Path) -> str | None:
    """Why a file cannot be made in ``folder`` (the system's words: "Permission denied"), or None where it can, or
    where the failure says nothing of the folder's permissions (tried, as the planner tries: ``os.access`` is wrong
    for root and on some network file systems)."""
    refused = write_probe(folder)
    if refused is not None and refused.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return str(refused.strerror or refused)
    return None


@dataclass(frozen=True)
class _Root:
    """The folder every output of a batch goes under (the ``-o`` folder, or a folder in it), as it was when the
    batch started: whether it (or, where it was not there yet, the nearest folder above it) was a folder, and
    whether a file could be made in it. A failed write stops the batch only where this has changed since
    (:meth:`changed`).

    Why then, not at the failure: with outputs over folders in several places the folder they share may be
    ``/data`` or ``/home``, root's and never writable; tested only at a failure, any photo's failed write stopped
    the batch there, with a false reason, and the photos in other, writable folders were not done."""

    path: Path
    folder: bool
    writable: bool

    @classmethod
    def now(cls, path: Path) -> _Root:
        """``path`` as it is now (one ``stat``, and one file made and removed in it)."""
        at = _existing(path)
        try:
            folder = stat.S_ISDIR(os.stat(at).st_mode)
        except OSError:
            folder = False
        return cls(path, folder, folder and _cannot_write(at) is None)

    def changed(self) -> str | None:
        """Why no output can be written under the folder any more, where one could when the batch started, or None:
        it (or, where it is gone, the nearest folder above it, where the writes would make it again) can no longer
        be reached, is no folder, or can no longer be written in. One that was none of these at the start (never
        writable, as ``/home`` to its users) stops nothing: its writes' own failures say why, photo by photo."""
        if not self.folder:
            return None
        at = _existing(self.path)
        try:
            info = os.stat(at)
        except OSError as exc:  # a link to nothing, a folder above that may no longer be searched
            return f"the output folder {display(at)} cannot be reached ({exc.strerror or exc})"
        if not stat.S_ISDIR(info.st_mode):
            return f"the output folder {display(at)} is no longer a folder (a file is there)"
        why = _cannot_write(at) if self.writable else None
        if why is None:
            return None
        if at != self.path:  # gone (rm -r out meanwhile), and the folder above no longer lets the writes make it
            return f"the output folder {display(self.path)} is not there and cannot be made in {display(at)} ({why})"
        return f"the output folder {display(at)} can no longer be written in ({why})"


def _raise(exc: BaseException) -> Callable[[], list[str]]:
    """A call that raises ``exc``: a stage's failure, settled later, in job order."""

    def call() -> list[str]:
        raise exc

    return call


class _Runner:
    """Runs a batch's jobs, filling ``outcomes`` (one slot per job, in plan order) as each is known.

    :meth:`run` walks the jobs with the progress bar shown (Ctrl-C goes up from anywhere in it); :meth:`finish`
    records what is still in flight and stops the runner's threads, and is called whatever happened, with
    interruptions held, possibly more than once; :meth:`close` only stops the threads (after a bug)."""

    def __init__(
        self,
        job_list: list[Job],
        handler: JobHandler,
        outcomes: list[_Outcome | None],
        replace: Replacement,
        given: bool | None = None,
    ) -> None:
        self.jobs, self.handler, self.outcomes, self.replace = job_list, handler, outcomes, replace
        #: What each output's tag records (the run's :func:`~weatherclean.provenance.current`), taken here: the
        #: writer threads do not see the context it was set in.
        self.provenance = current_run()
        #: Whether the outputs go under one ``-o`` folder (:func:`_given_output`): what the stops' advice names.
        self.given = given
        #: The folder every output goes under, as it was at the start, whose change stops the batch (:class:`_Root`).
        #: None for a plan without ``-o`` (``--in-place``, outputs beside their inputs): its outputs share no folder
        #: of the user's (only ``/data``, ``/home``), and each folder's trouble is its own photos'. Nor for one job (a
        #: Ray actor's): no job is left to stop, and its look would cost a file made and removed per photo.
        top = _shared_folder(job_list) if given is not False and len(job_list) > 1 else None
        self.root = _Root.now(top) if top is not None else None
        self.advance: Callable[[], None] = lambda: None
        #: What was at each started job's output when it started (:func:`_identity`), for :meth:`recover`.
        self.started: dict[int, tuple[int, ...] | None] = {}
        self.pixels: dict[int, int | None] = {}  # each job's pixel count, from its file's header (:meth:`size`)
        #: The jobs that ran out of memory since the last one done, in order (:meth:`_memory_stop`).
        self.short: list[int] = []
        self.halted = False  # an outcome stopped the batch: those recorded after it (writes in flight) stop nothing

    def size(self, index: int) -> int | None:
        """Job ``index``'s pixel count from its photo's header (:func:`~.opener.header_pixels`), read once; None for a
        video or a clip, or a header that tells nothing."""
        if index not in self.pixels:
            job = self.jobs[index]
            self.pixels[index] = header_pixels(job.source) if job.kind == "photo" else None
        return self.pixels[index]

    def record(self, index: int, outcome: _Outcome) -> _Outcome:
        """Record job ``index``'s ``outcome`` in its slot, first made to stop the batch where its failure is one that
        every job left would meet too (:meth:`_output_stop`, :meth:`_memory_stop`); the outcome recorded. A slot
        already filled keeps its outcome (Ctrl-C between the record and its queue's ``popleft`` records it again:
        counted twice, one photo out of memory would have stopped the batch)."""
        recorded = self.outcomes[index]
        if recorded is not None:
            return recorded
        if outcome.done is not None:
            self.short.clear()
        cause = outcome.cause
        if outcome.failure is not None and not outcome.stop and cause is not None and not self.halted:
            stop = self._output_stop(index, cause[1]) if cause[0] == "output" else None
            if cause == MEMORY:
                stop = self._memory_stop(index)
            if stop is not None:
                said, rest = stop
                failure = dataclasses.replace(outcome.failure, reason=f"{outcome.failure.reason}; {said}")
                outcome = dataclasses.replace(outcome, failure=failure, stop=rest)
        self.halted = self.halted or bool(outcome.stop)
        self.outcomes[index] = outcome
        return outcome

    def _output_stop(self, index: int, code: int | None) -> tuple[str, str] | None:
        """(What the failure line adds, the reason of each job left) when job ``index``'s failed write (``code``: its
        errno, None where unknown) is one that every later write of the batch would meet too, else None: a read-only
        output disk (``EROFS``) that every output left is on (:meth:`_other_disk_left`), or the folder every output
        goes under changed since the start so that it can no longer be written in (:meth:`_Root.changed`).

        Only that one folder stops the batch: a sub-folder of a tree that cannot be written fails its own photos, and
        the others go on. A folder that is merely gone (``rm -r out`` meanwhile) stops nothing either: each write makes
        the folders it needs again. Why: a read-only remount, or ``-o`` replaced by a file, went on computing every
        photo left, each then failing with "cannot write"; a full disk already stopped the batch."""
        job = self.jobs[index]
        if code == errno.EROFS or (code is None and _read_only(job.output.parent)):
            if self._other_disk_left(index):  # --in-place over a read-only folder and a writable one: its own fail
                return None
            return "the output disk is read-only: the batch stopped", self._rest("the output disk is read-only", job)
        why = self.root.changed() if self.root is not None else None
        if why is None:
            return None
        return f"{why}: the batch stopped", self._rest(why, job)

    def _rest(self, why: str, job: Job) -> str:
        """The reason of each job a stop for ``why`` leaves, saying what to do: another ``-o`` only where the user
        gave one, and after ``--in-place`` to rerun on the files not done only (a rerun over all restores the
        replaced photos a second time)."""
        mend = "make it writable" if why == "the output disk is read-only" else "mend it"
        if job.replaces_input:
            return f"not started: {why}; {mend}, then rerun on the files not done only (--json lists them)"
        choose = " (or choose another -o)" if self.given else ""
        return f"not started: {why}; {mend}{choose} and rerun (finished files are skipped)"

    def _other_disk_left(self, index: int) -> bool:
        """Whether a job left without an outcome writes to another file system than job ``index``'s
        (:func:`_disk`): then a read-only one fails its own photos and the others go on. One ``stat`` and
        ``statvfs`` per output folder, looked at from the last job back (where a folder on another disk usually is).

        Why: ``--in-place ro/B A`` with ``ro`` remounted read-only mid-run stopped the batch, and A's photos, on a
        writable disk, were not done."""
        disks: dict[Path, tuple[int, bool] | None] = {}

        def disk(job: Job) -> tuple[int, bool] | None:
            folder = job.output.parent
            if folder not in disks:
                disks[folder] = _disk(folder)
            return disks[folder]

        mine = disk(self.jobs[index])
        for later in reversed(range(len(self.jobs))):
            if later != index and self.outcomes[later] is None and disk(self.jobs[later]) != mine:
                return True
        return False

    def _memory_stop(self, index: int) -> tuple[str, str] | None:
        """Stop the batch once :data:`MEMORY_STOP_AFTER` jobs in a row (none done between) ran out of memory and no
        job left is smaller than the smallest of them (by its header's pixel count; a video, a clip or a photo whose
        header tells nothing may be: the batch goes on): (what the failure line adds, the rest's reason), or None.

        Why: under a memory limit too low for the model (``ulimit -v``) all 40 photos of a folder failed alike, one
        after the other. Not at the first: one photo too big for the memory left is that photo's failure, and the
        small photos after it still run. Not while a smaller photo is left, either: a rerun does the jobs in the same
        order, and stopping at two big panoramas would never reach the small photos behind them."""
        self.short.append(index)
        if len(self.short) < MEMORY_STOP_AFTER:
            return None
        sizes = [size for size in map(self.size, self.short) if size is not None]
        if not sizes:
            return None
        smallest = min(sizes)
        for later in range(index + 1, len(self.jobs)):
            if self.outcomes[later] is None and ((size := self.size(later)) is None or size < smallest):
                return None
        said = f"{len(self.short)} photos in a row could not get the memory they need, and none left is smaller: the "
        return said + "batch stopped", f"not started: not enough memory; {memory_advice()} (finished files are skipped)"

    def start(self, index: int) -> None:
        """Note what is at job ``index``'s output as it starts (:meth:`recover`)."""
        self.started[index] = _identity(self.jobs[index].output)

    def recover(self) -> None:
        """Record as done each started job left without an outcome whose output is now a file it was not when the
        job started: an interruption that landed after the job's commit (the rename), before its slot was filled
        (one job at a time, videos, the writer's ``submit``). A rerun skips such an output as existing, so without
        this it was never listed as done. Its notes are lost; the file is the job's, whole (writes are atomic)."""
        for index, before in self.started.items():
            job = self.jobs[index]
            if self.outcomes[index] is not None or job.kind == "frames":
                continue
            now = _identity(job.output)
            if now is not None and now != before and now[-1] > 0:
                self.outcomes[index] = _Outcome(done=job)

    def run(self, bar: Any, description: str) -> None:
        """Walk the jobs with ``bar`` counting them and naming each as it starts."""
        task = bar.add_task(description, total=len(self.jobs))
        self.advance = lambda: bar.advance(task)

        def announce(job: Job) -> None:
            bar.update(task, description=f"{description} {job.source.name}")

        self.walk(FrameProgress(bar), announce)

    def walk(self, frames: FrameProgress, announce: Callable[[Job], None]) -> None:
        """Each job in turn, whole, until one says stop (a full disk)."""
        for index, job in enumerate(self.jobs):
            announce(job)
            self.start(index)
            outcome = self.record(index, _run_one(job, self.handler, frames, self.replace, self.provenance))
            if outcome.stop:
                return
            self.advance()

    def finish(self) -> None:
        """Nothing is in flight once :meth:`walk` has ended, or been stopped."""

    def close(self) -> None:
        """No threads to stop."""


def _runner(
    job_list: list[Job],
    handler: JobHandler,
    outcomes: list[_Outcome | None],
    replace: Replacement,
    pipeline: Pipeline | bool,
    given: bool | None = None,
) -> _Runner:
    """The runner ``pipeline`` asks for (:func:`run_jobs`); ``given``: :func:`_given_output`."""
    chosen = Pipeline.for_machine() if pipeline is True else pipeline or None
    if chosen is None:
        return _Runner(job_list, handler, outcomes, replace, given)
    return _Pipelined(job_list, handler, outcomes, replace, chosen, given)


@dataclass
class _Pending:
    """A job whose outcome is recorded once every job before it is: its write, or what is already known."""

    index: int
    job: Job
    write: Future[Callable[[], list[str]]] | None = None
    known: Callable[[], list[str]] | None = None
    outcome: _Outcome | None = None


class _Pipelined(_Runner):
    """Runs a batch with photos decoded ahead and written behind the model (see :class:`Pipeline`).

    The main thread walks the jobs in order: it takes the job's decoded photo (decoded in a worker, or
    now), runs the model on it, and hands the result to a writer thread. Outcomes are recorded strictly
    in job order, so the summary and progress read as one job at a time. A job that is not staged (a
    video, a clip) runs whole after every earlier write has finished. A failed write's new folders are
    removed once no write is in flight, so one job's cleanup never races another's ``mkdir``.
    """

    def __init__(
        self,
        job_list: list[Job],
        handler: JobHandler,
        outcomes: list[_Outcome | None],
        replace: Replacement,
        pipeline: Pipeline,
        given: bool | None = None,
    ) -> None:
        super().__init__(job_list, handler, outcomes, replace, given)
        self.pipeline = pipeline
        self.decoding: dict[int, Future[Any]] = {}
        #: Each staged job's look at its output (:func:`_appeared`), taken when its decode is started (up to
        #: ``ahead`` jobs before its model). It reads the EXIF of the output and the input (another card's photo),
        #: so just before the model only one ``stat`` checks that the same file is there
        #: (:func:`~weatherclean.io.atomic.identity_at`): if it changed (another run wrote it meanwhile), the output
        #: is judged again. The write then replaces only the file judged (:func:`_kept`).
        self.looked: dict[int, _Look] = {}
        self.next_decode = 0
        self.pending: deque[_Pending] = deque()
        self.stopped = False  # a full disk: the writes in flight are recorded, nothing more is started
        self.cleanup: list[list[Path]] = []  # new folders of failed writes (list.append is thread-safe)
        self.decoders = ThreadPoolExecutor(pipeline.decoders, thread_name_prefix="weatherclean-decode")
        self.writers = ThreadPoolExecutor(pipeline.writers, thread_name_prefix="weatherclean-write")

    def walk(self, frames: FrameProgress, announce: Callable[[Job], None]) -> None:
        for index, job in enumerate(self.jobs):
            announce(job)
            self._decode_ahead(index)
            stages = stages_of(self.handler, job)
            if stages is None:  # a video or a clip: whole, once every earlier outcome is recorded
                if not self._collect(0):
                    return
                self.start(index)
                outcome = self.record(index, _run_one(job, self.handler, frames, self.replace, self.provenance))
                if outcome.stop:
                    self.stopped = True
                    return
                self.advance()
                continue
            look = self._look(index, job)
            if look.outcome is not None:
                self._drop_decode(index)
                self.pending.append(_Pending(index, job, outcome=look.outcome))
                continue
            try:
                value = staged("restore", stages.compute, job, self._decoded(index, stages, job))
            except Exception as exc:  # noqa: BLE001 - settled (classified) in job order, like a write's
                self.pending.append(_Pending(index, job, known=_raise(exc)))
                if not self._collect(0):  # recorded now, before the next photo's compute: it may stop the batch
                    return
                continue
            if not self._collect(self.pipeline.writers - 1):  # room for one more write
                return
            self.start(index)
            self.pending.append(_Pending(index, job, write=self.writers.submit(self._write, stages, job, value, look)))
            if not self.fits(index, WRITING_BYTES_PER_PIXEL) and not self._collect(0):  # written before the next
                return

    def finish(self) -> None:
        """Record the writes in flight (each is atomic: complete, or nothing under the output's name), then stop
        the threads: decodes not started are dropped, and the failed writes' empty new folders go."""
        try:
            self._collect(0)
        finally:
            self.close()

    def close(self) -> None:
        self.decoders.shutdown(wait=True, cancel_futures=True)
        self.writers.shutdown(wait=True)
        for folders in self.cleanup:
            remove_empty(folders)

    def fits(self, index: int, bytes_per_pixel: float) -> bool:
        """Whether job ``index``'s photo, at ``bytes_per_pixel``, fits comfortably (:data:`OVERLAP_FRACTION`) in the
        memory available now (:func:`weatherclean.devices.available_memory`, as the tile choice reads it) beside
        the one computed. Its pixel count comes from the file's header (:func:`~.opener.header_pixels`), read once;
        a file whose header tells nothing is taken to fit (it fails at its decode anyway).

        Why: a decoded photo waiting, or a finished one being written, beside the one computed doubled the peak
        memory of a folder of big photos (three 70-megapixel JPEGs: 3.7 GiB against 1.8 for one), for no speed on
        a small machine; small photos keep the overlap."""
        pixels = self.size(index)
        if pixels is None:
            return True
        from weatherclean import devices  # torch is loaded by now (the model); not at the batch's import

        return pixels * bytes_per_pixel <= devices.available_memory() * OVERLAP_FRACTION

    def _decode_ahead(self, index: int) -> None:
        """Start decoding the staged jobs from ``index`` up to ``ahead`` past it, stopping at a video, and at a photo
        too big to hold waiting (:meth:`fits`): that one is decoded when its turn comes."""
        self.next_decode = max(self.next_decode, index)
        while self.next_decode < len(self.jobs) and self.next_decode <= index + self.pipeline.ahead:
            job = self.jobs[self.next_decode]
            stages = stages_of(self.handler, job)
            if stages is None:
                if self.next_decode > index:  # photos past a video wait until it is done
                    return
            else:
                if self.next_decode > index and not self.fits(self.next_decode, AHEAD_BYTES_PER_PIXEL):
                    return
                look = self.looked[self.next_decode] = _appeared(job, self.replace)
                if look.outcome is None:
                    self.decoding[self.next_decode] = self.decoders.submit(staged, "decode", stages.decode, job)
            self.next_decode += 1

    def _look(self, index: int, job: Job) -> _Look:
        """Job ``index``'s look at its output just before its model: the one taken when its decode started, if
        the same file (or nothing) is still there by one ``stat``; else a new one (:func:`_appeared`)."""
        look = self.looked.pop(index, None)
        if look is None or (not job.replaces_input and identity_at(job.output) != look.seen):
            return _appeared(job, self.replace)
        return look

    def _decoded(self, index: int, stages: StagedHandler, job: Job) -> Any:
        future = self.decoding.pop(index, None)
        return staged("decode", stages.decode, job) if future is None else future.result()

    def _drop_decode(self, index: int) -> None:
        future = self.decoding.pop(index, None)
        if future is not None:
            future.cancel()

    def _write(self, stages: StagedHandler, job: Job, value: Any, look: _Look) -> Callable[[], list[str]]:
        """In a writer thread: encode and write one job, replacing no output but the one ``look`` judged; returns
        its notes, or its error, as a call."""
        new_folders = missing_folders(job.output.parent)
        try:
            with keep_existing(*_kept(job, self.replace, look)), tagged(job.output, _tag_of(job, self.provenance)):
                notes = staged("encode", stages.encode, job, value)
        except BaseException as exc:  # noqa: BLE001 - settled in the main thread, in job order
            self.cleanup.append(new_folders)
            return _raise(exc)
        return lambda: notes

    def _collect(self, keep: int) -> bool:
        """Record outcomes in job order until at most ``keep`` jobs are pending; False once the batch must stop
        (a full disk). After a stop the rest are still recorded as they come (their writes ran, and what they
        did is the truth). Ctrl-C while waiting goes up with the entry still pending: recording it again later
        (from :meth:`finish`) fills the same slot with the same outcome."""
        while len(self.pending) > keep:
            entry = self.pending[0]
            outcome = entry.outcome
            if outcome is None:
                write, known = entry.write, entry.known
                call = known if write is None else (lambda w=write: w.result()())  # type: ignore[misc]
                outcome = _settle(entry.job, call)  # type: ignore[arg-type]
            outcome = self.record(entry.index, outcome)
            self.pending.popleft()
            self.advance()
            if outcome.stop:
                self.stopped = True
                keep = 0  # a full disk: record the writes already in flight, then stop
        return not self.stopped


class _NoProgress:
    """Stand-in for rich's Progress when it is hidden (``--quiet``, ``--json``, library use)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: object, **kwargs: object) -> int:
        return 0

    def update(self, *args: object, **kwargs: object) -> None:
        return None

    def advance(self, *args: object, **kwargs: object) -> None:
        return None

    def remove_task(self, *args: object, **kwargs: object) -> None:
        return None


class _RateColumn(ProgressColumn):
    """Frames per second of a frame task (empty for the file task, whose total is the file count)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} fps" if speed and task.id != 0 else "", style="cyan")


def progress_bar(enabled: bool, console: Console | None) -> Any:
    """The files bar (and, for videos and clips, a frames bar with its rate) on stderr, or a silent
    stand-in when hidden; the Ray engine shows the same bar (its actors' frames are not shown).

    Hidden too when ``console`` is not an interactive terminal (a log, cron, a pipe, ``2>/dev/full``): Rich
    draws nothing there until the bar stops, and then writes one blank line, which cron mailed after every run,
    and which, written to a closed or full stderr, failed a run whose every file was done."""
    console = console or Console(stderr=True)
    if not enabled or not console.is_interactive:
        return _NoProgress()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
