"""Running a plan: each job through its handler, with a progress bar, into a :class:`BatchSummary`.

Running keeps going past a bad input: one corrupt photo must not cost the other 999. Only Ctrl-C (or
SIGTERM, which the CLI turns into Ctrl-C) stops a batch early, and a full disk, after which every later
job would fail the same way after its compute. After Ctrl-C the jobs left without an outcome (not
started, or stopped part-way, whose partial output is never under the final name) are counted as not
done, apart from the failures; after a full disk they are listed as failed. Either way rerunning the
same command resumes (finished outputs are skipped by the plan). A failed job leaves no empty output
folder behind.

Photos are pipelined (:class:`Pipeline`): worker threads decode the next photos and encode and write
finished ones while the model computes on the main thread, with bounded queues, so memory holds a few
photos at most. The summary, its order, resume, atomic writes and Ctrl-C are the same as one job at a
time, and so are the output bytes (each stage does exactly what the sequential handler does).
``WEATHERCLEAN_PIPELINE=0`` runs one job at a time, every stage in turn, to measure the difference.
Videos and ``--frames`` clips run whole on the main thread: :func:`weatherclean.io.video.process_video`
overlaps decoding and encoding inside each video.
"""

from __future__ import annotations

import os
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

from weatherclean.batch.handlers import StagedHandler, photo_handler, stages_of
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
    exists_reason,
    job_sources,
    output_state,
)
from weatherclean.errors import DiskFullError, WeathercleanError
from weatherclean.io.atomic import missing_folders, remove_empty
from weatherclean.io.images import LoadedImage, Quality
from weatherclean.pipelining import pipeline_enabled

__all__ = ["BatchSummary", "Pipeline", "run_batch", "run_jobs"]


@dataclass(frozen=True)
class Pipeline:
    """How far a batch of photos runs around the model: at most ``ahead`` decoded photos waiting for it
    (read by ``decoders`` threads) and at most ``writers`` results being encoded and written at a time.

    Memory is bounded by ``ahead + 1 + writers`` photos, against 1 one job at a time.
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
    #: Ctrl-C (or SIGTERM) stopped the batch; the jobs it left without an outcome are in :attr:`not_done`.
    interrupted: bool = False
    #: Jobs an interrupted batch did not do: not started, or stopped part-way (no output is left under their
    #: name). Not failures: rerunning the same command does them.
    not_done: list[Record] = field(default_factory=list)
    #: The ``-o`` folder as typed (the plan's): outputs are shown under it (:class:`~.jobs.OutputNames`).
    output_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for ``--json``: ``failed`` holds real failures only; the inputs an interrupted
        run did not do are ``not_done`` (their number is its length), with ``interrupted`` true. Outputs are
        shown as the user's paths were typed, as inputs are (:class:`~weatherclean.batch.jobs.OutputNames`)."""
        shown = OutputNames(self.output_dir)
        return {
            "done": [{"input": str(j.source), "output": str(shown(j))} for j in self.done],
            "skipped": [{"path": str(r.path), "reason": r.reason} for r in self.skipped],
            "failed": [{"path": str(r.path), "reason": r.reason} for r in self.failed],
            "not_done": [{"path": str(r.path)} for r in self.not_done],
            "notes": [{"path": str(r.path), "note": r.reason} for r in self.notes],
            "counts": {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed)},
            "other_shards": self.other_shards,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "ok": self.ok,
        }


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
    progress bar goes to ``console`` (default: stderr) and disappears at the end. Jobs whose handler has
    stages (:class:`~weatherclean.batch.handlers.StagedHandler`: photos) are pipelined as ``pipeline``
    says (True: :meth:`Pipeline.for_machine`; False: one job at a time); others run whole, in order.

    ``overwrite`` and ``update`` must be what the plan was made with (:func:`~weatherclean.batch.plan.plan_batch`):
    just before each job the output is looked at again (:func:`_appeared`), and one that exists by then is
    skipped unless they say to replace it.
    """
    summary = BatchSummary.from_plan(jobs)
    job_list = list(jobs)
    start = time.perf_counter()
    bar = progress_bar(progress, console)
    frames = FrameProgress(bar)
    chosen = Pipeline.for_machine() if pipeline is True else pipeline or None
    with bar:
        task = bar.add_task(description, total=len(job_list))

        def announce(job: Job) -> None:
            bar.update(task, description=f"{description} {job.source.name}")

        def advance() -> None:
            bar.advance(task)

        if chosen is None:
            for index, job in enumerate(job_list):
                announce(job)
                if not _run_one(job, handler, frames, summary, overwrite=overwrite, update=update):
                    # Ctrl-C leaves this job unfinished; a full disk has recorded it as failed already
                    rest = job_list[index:] if summary.interrupted else job_list[index + 1 :]
                    _record_not_done(rest, summary)
                    break
                advance()
        else:
            replace = Replacement(overwrite, update)
            _Pipelined(job_list, handler, frames, summary, chosen, replace, announce, advance).run()
    summary.seconds = time.perf_counter() - start
    return summary


def _appeared(job: Job, overwrite: bool, update: bool = False) -> Record | None:
    """The skip of a job whose output exists just before it runs, or None to run it.

    The plan skipped every output that existed then; one that exists now appeared since (another process, a
    rerun beside this one), or is one the plan found older than its input and was asked to redo (``update``).
    Each is judged as the plan judges (:func:`~weatherclean.batch.plan._resume`): never replaced unless
    ``overwrite``, or ``update`` and it is (still) older than its input. The Ray engine's actors run each job
    through here too, so both engines judge alike.
    """
    if job.replaces_input or overwrite:
        return None
    state = output_state(job.output, lambda: job_sources(job))
    if state is OutputState.MISSING or (update and state is OutputState.OUT_OF_DATE):
        return None
    if state is OutputState.DONE:  # written since the plan was made
        return Record(display(job.source), f"output exists: {display(job.output)}")
    return Record(display(job.source), exists_reason(job.output, state))


def _run_one(
    job: Job, handler: JobHandler, frames: FrameProgress, summary: BatchSummary, *, overwrite: bool, update: bool
) -> bool:
    """Do one job and record what happened; False when the batch must stop (Ctrl-C, a full disk)."""
    skip = _appeared(job, overwrite, update)
    if skip is not None:
        summary.skipped.append(skip)
        return True
    new_folders = missing_folders(job.output.parent)
    try:
        # a job that failed leaves no empty output folder behind
        return _settle(job, lambda: handler(job, frames), summary, on_error=lambda: remove_empty(new_folders))
    finally:
        frames.finish()


def _settle(
    job: Job, call: Callable[[], Sequence[str]], summary: BatchSummary, on_error: Callable[[], None] | None = None
) -> bool:
    """Get one job's notes from ``call`` and record the outcome; False when the batch must stop (Ctrl-C, a
    full disk). ``on_error`` runs first when ``call`` raises anything.

    A failure this file alone causes becomes its one-line reason; anything else is a bug and goes up.
    """
    try:
        try:
            notes = call()
        except BaseException:
            if on_error is not None:
                on_error()
            raise
    except KeyboardInterrupt:
        summary.interrupted = True
        return False
    except DiskFullError as exc:
        summary.failed.append(Record(display(job.source), str(exc)))
        return False
    except WeathercleanError as exc:
        summary.failed.append(Record(display(job.source), str(exc)))
    except MemoryError:
        summary.failed.append(Record(display(job.source), f"{job.source}: out of memory; try a smaller --tile"))
    except (RuntimeError, ValueError, OSError) as exc:
        reason = f"{job.source}: {type(exc).__name__}: {' '.join(str(exc).split())}"
        summary.failed.append(Record(display(job.source), reason))
    else:
        said = [job.note, *notes] if job.note else notes  # the plan's note on this job (redone: input changed)
        summary.notes.extend(Record(display(job.source), note) for note in dict.fromkeys(said))
        summary.done.append(job)
    return True


#: The reason of a job that Ctrl-C left without an outcome, in :attr:`BatchSummary.not_done` (the local and the
#: Ray runner).
INTERRUPTED = "not started or not finished: interrupted; rerun the same command to resume"


def _record_not_done(rest: list[Job], summary: BatchSummary) -> None:
    """Record the jobs a stopped batch leaves without an outcome: not done after Ctrl-C (not failures, and not
    one line each: a batch of 100 000 stopped early would print 100 000), failed after a full disk."""
    if summary.interrupted:
        summary.not_done.extend(Record(display(j.source), INTERRUPTED) for j in rest)
    else:
        reason = "not started: the output disk is full; free space and rerun (finished files are skipped)"
        summary.failed.extend(Record(display(j.source), reason) for j in rest)


def _raise(exc: BaseException) -> Callable[[], list[str]]:
    """A call that raises ``exc``: a stage's failure, settled later, in job order."""

    def call() -> list[str]:
        raise exc

    return call


@dataclass
class _Pending:
    """A job whose outcome is recorded once every job before it is: its write, or what is already known."""

    job: Job
    write: Future[Callable[[], list[str]]] | None = None
    known: Callable[[], list[str]] | None = None
    skip: Record | None = None


class _Pipelined:
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
        frames: FrameProgress,
        summary: BatchSummary,
        pipeline: Pipeline,
        replace: Replacement,
        announce: Callable[[Job], None],
        advance: Callable[[], None],
    ) -> None:
        self.jobs, self.handler, self.frames, self.summary = job_list, handler, frames, summary
        self.pipeline, self.announce, self.advance = pipeline, announce, advance
        self.overwrite, self.update = replace  # run_jobs's: what existing outputs may be replaced
        self.decoding: dict[int, Future[Any]] = {}
        self.next_decode = 0
        self.pending: deque[_Pending] = deque()
        self.recorded = 0  # jobs whose outcome is in the summary (always a prefix of the job list)
        self.stopped = False
        self.cleanup: list[list[Path]] = []  # new folders of failed writes (list.append is thread-safe)
        self.decoders = ThreadPoolExecutor(pipeline.decoders, thread_name_prefix="weatherclean-decode")
        self.writers = ThreadPoolExecutor(pipeline.writers, thread_name_prefix="weatherclean-write")

    def run(self) -> None:
        try:
            self._walk()
            self._collect(0)
        finally:
            # Writes in flight finish (each is atomic: complete, or nothing under the output's name);
            # decodes not started are dropped. Then the failed writes' empty new folders go.
            self.decoders.shutdown(wait=True, cancel_futures=True)
            self.writers.shutdown(wait=True)
            for folders in self.cleanup:
                remove_empty(folders)
        if self.stopped:
            _record_not_done(self.jobs[self.recorded :], self.summary)

    def _walk(self) -> None:
        for index, job in enumerate(self.jobs):
            self.announce(job)
            self._decode_ahead(index)
            stages = stages_of(self.handler, job)
            if stages is None:  # a video or a clip: whole, once every earlier outcome is recorded
                if not self._collect(0):
                    return
                done = _run_one(
                    job, self.handler, self.frames, self.summary, overwrite=self.overwrite, update=self.update
                )
                if not done:
                    self.stopped = True
                    self.recorded += 0 if self.summary.interrupted else 1  # a full disk recorded it
                    return
                self.recorded += 1
                self.advance()
                continue
            skip = _appeared(job, self.overwrite, self.update)
            if skip is not None:
                self._drop_decode(index)
                self.pending.append(_Pending(job, skip=skip))
                continue
            try:
                value = stages.compute(job, self._decoded(index, stages, job))
            except KeyboardInterrupt:  # Ctrl-C lands here, in the model, almost always
                self.summary.interrupted = self.stopped = True
                self._collect(0)  # the photos before this one are being written: record them
                return
            except Exception as exc:  # noqa: BLE001 - settled (classified) in job order, like a write's
                self.pending.append(_Pending(job, known=_raise(exc)))
                continue
            if not self._collect(self.pipeline.writers - 1):  # room for one more write
                return
            self.pending.append(_Pending(job, write=self.writers.submit(self._write, stages, job, value)))

    def _decode_ahead(self, index: int) -> None:
        """Start decoding the staged jobs from ``index`` up to ``ahead`` past it, stopping at a video."""
        self.next_decode = max(self.next_decode, index)
        while self.next_decode < len(self.jobs) and self.next_decode <= index + self.pipeline.ahead:
            job = self.jobs[self.next_decode]
            stages = stages_of(self.handler, job)
            if stages is None:
                if self.next_decode > index:  # photos past a video wait until it is done
                    return
            elif _appeared(job, self.overwrite, self.update) is None:
                self.decoding[self.next_decode] = self.decoders.submit(stages.decode, job)
            self.next_decode += 1

    def _decoded(self, index: int, stages: StagedHandler, job: Job) -> Any:
        future = self.decoding.pop(index, None)
        return stages.decode(job) if future is None else future.result()

    def _drop_decode(self, index: int) -> None:
        future = self.decoding.pop(index, None)
        if future is not None:
            future.cancel()

    def _write(self, stages: StagedHandler, job: Job, value: Any) -> Callable[[], list[str]]:
        """In a writer thread: encode and write one job; returns its notes, or its error, as a call."""
        new_folders = missing_folders(job.output.parent)
        try:
            notes = stages.encode(job, value)
        except BaseException as exc:  # noqa: BLE001 - settled in the main thread, in job order
            self.cleanup.append(new_folders)
            return _raise(exc)
        return lambda: notes

    def _collect(self, keep: int) -> bool:
        """Record outcomes in job order until at most ``keep`` jobs are pending; False once the batch must
        stop (Ctrl-C while waiting, a full disk). After a stop the rest are still recorded as they come:
        their writes ran, and what they did is the truth."""
        while len(self.pending) > keep:
            entry = self.pending[0]
            if entry.skip is not None:
                self.summary.skipped.append(entry.skip)
                ok = True
            else:
                write, known = entry.write, entry.known
                call = known if write is None else (lambda w=write: w.result()())  # type: ignore[misc]
                ok = _settle(entry.job, call, self.summary)  # type: ignore[arg-type]
                if not ok and self.summary.interrupted:
                    self.stopped = True  # Ctrl-C while waiting for this write: it is not recorded
                    return False
            self.pending.popleft()
            self.recorded += 1
            self.advance()
            if not ok:
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
    stand-in when hidden; the Ray engine shows the same bar (its actors' frames are not shown)."""
    if not enabled:
        return _NoProgress()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
