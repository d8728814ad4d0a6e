"""Running a plan: each job through its handler, with a progress bar, into a :class:`BatchSummary`.

Running keeps going past a bad input: one corrupt photo must not cost the other 999. Only Ctrl-C stops
a batch early, and a full disk, after which every later job would fail the same way after its compute;
either way the jobs not done are listed, and rerunning the same command resumes (finished outputs are
skipped by the plan). A failed job leaves no empty output folder behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from weatherclean.batch.handlers import photo_handler
from weatherclean.batch.jobs import FrameProgress, Job, JobHandler, Plan, Record, display
from weatherclean.errors import DiskFullError, WeathercleanError
from weatherclean.io.images import LoadedImage

__all__ = ["BatchSummary", "run_batch", "run_jobs"]


@dataclass
class BatchSummary:
    """Outcome of a batch; ``ok`` is False when anything failed (the CLI then exits with 1)."""

    done: list[Job] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    #: Things a user should know about a photo that was done (format conversions, dropped pages, ...).
    notes: list[Record] = field(default_factory=list)
    other_shards: int = 0
    seconds: float = 0.0
    #: Ctrl-C stopped the batch; the jobs not done are listed as failed with a note to rerun.
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for ``--json``."""
        return {
            "done": [{"input": str(j.source), "output": str(j.output)} for j in self.done],
            "skipped": [{"path": str(r.path), "reason": r.reason} for r in self.skipped],
            "failed": [{"path": str(r.path), "reason": r.reason} for r in self.failed],
            "notes": [{"path": str(r.path), "note": r.reason} for r in self.notes],
            "counts": {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed)},
            "other_shards": self.other_shards,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
        }


def run_batch(
    jobs: Plan | Sequence[Job],
    process: Callable[[LoadedImage], np.ndarray],
    *,
    quality: int = 95,
    format: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    description: str = "processing",
    console: Console | None = None,
    compare: bool = False,
) -> BatchSummary:
    """Load, ``process`` and save each photo; a failing photo is recorded and the batch goes on.

    ``process`` gets the decoded photo and returns H×W×C float pixels (same C as ``pixels``); the
    result is saved with the input's format (or ``format``), bit depth and metadata. ``compare`` adds a
    before | after picture beside each output.
    """
    handler = photo_handler(process, quality=quality, format=format, compare=compare)
    return run_jobs(jobs, handler, overwrite=overwrite, progress=progress, description=description, console=console)


def run_jobs(
    jobs: Plan | Sequence[Job],
    handler: JobHandler,
    *,
    overwrite: bool = False,
    progress: bool = True,
    description: str = "processing",
    console: Console | None = None,
) -> BatchSummary:
    """Run ``handler`` on each job; a failing job is recorded with its one-line reason and the batch goes on.

    A plan's known skips and failures come first in the summary, then the run's in job order. The
    progress bar goes to ``console`` (default: stderr) and disappears at the end.
    """
    summary = BatchSummary()
    if isinstance(jobs, Plan):
        summary.other_shards = jobs.other_shards
        summary.skipped.extend(jobs.skipped)
        summary.failed.extend(jobs.failed)
    job_list = list(jobs)
    start = time.perf_counter()
    bar = _progress(progress, console)
    frames = FrameProgress(bar)
    with bar:
        task = bar.add_task(description, total=len(job_list))
        for index, job in enumerate(job_list):
            bar.update(task, description=f"{description} {job.source.name}")
            if not _run_one(job, handler, frames, summary, overwrite=overwrite):
                summary.failed.extend(_not_done(job_list, index, summary))
                break
            bar.advance(task)
    summary.seconds = time.perf_counter() - start
    return summary


def _run_one(job: Job, handler: JobHandler, frames: FrameProgress, summary: BatchSummary, *, overwrite: bool) -> bool:
    """Do one job and record what happened; False when the batch must stop (Ctrl-C, a full disk).

    A failure this file alone causes becomes its one-line reason; anything else is a bug and goes up.
    """
    if not job.replaces_input and job.output.exists() and not overwrite:  # appeared since planning
        summary.skipped.append(Record(display(job.source), f"output exists: {display(job.output)}"))
        return True
    new_folders = _missing_folders(job.output.parent)
    try:
        try:
            notes = handler(job, frames)
        except BaseException:
            _remove_empty(new_folders)  # a job that failed leaves no empty output folder behind
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
        summary.notes.extend(Record(display(job.source), note) for note in dict.fromkeys(notes))
        summary.done.append(job)
    finally:
        frames.finish()
    return True


def _not_done(job_list: list[Job], index: int, summary: BatchSummary) -> list[Record]:
    """The jobs a stopped batch leaves, from ``index`` on (Ctrl-C) or after it (a full disk, recorded already)."""
    if summary.interrupted:
        reason = "not started or not finished: interrupted; rerun the same command to resume"
        return [Record(display(j.source), reason) for j in job_list[index:]]
    reason = "not started: the output disk is full; free space and rerun (finished files are skipped)"
    return [Record(display(j.source), reason) for j in job_list[index + 1 :]]


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet (deepest first): what a job may create."""
    missing: list[Path] = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove those of ``folders`` (deepest first) that exist and are empty; a folder with anything in
    it, another process's output included, stays."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


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


def _progress(enabled: bool, console: Console | None) -> Any:
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
