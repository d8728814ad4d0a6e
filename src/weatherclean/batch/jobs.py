"""What a batch is made of: jobs (an input and where its result goes), records (a path skipped or failed,
with a one-line reason), the plan that holds them, and what a handler of one job is given and returns.

They live apart from the planner, the runner and the handlers so that all three share them without
importing each other.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatherclean.io.folders import display
from weatherclean.io.video import is_video_path

__all__ = [
    "NOT_FOUND", "NO_MATCH", "DeviceNote", "FrameProgress", "Job", "JobHandler", "OutputNames", "Plan", "Record",
    "display", "is_done", "job_kind",
]  # fmt: skip

#: The reasons of inputs that are not there at all: when every input fails so, nothing could run.
NOT_FOUND = "file or folder not found"
NO_MATCH = "no files match this pattern"


@dataclass(frozen=True)
class Job:
    """One input to process and where its result goes.

    ``kind`` picks the handler that does it (:func:`weatherclean.batch.handlers.job_handler`): a
    ``"photo"``, a ``"video"`` file, or ``"frames"``, a folder of frames restored as one clip (``--frames``).
    """

    source: Path
    output: Path
    #: ``--in-place``: the output *is* the input (its real path), so "output exists" means nothing.
    replaces_input: bool = False
    kind: str = "photo"


@dataclass(frozen=True)
class Record:
    """A skipped or failed path with a one-line reason."""

    path: Path
    reason: str


@dataclass(frozen=True)
class DeviceNote(Record):
    """A note about the device a run used, not about a file (a tile too small for the overlap, a
    precision fallback). Its ``path`` reads ``(cpu)``, as ``--json`` has always given it; the summary
    says ``(device: cpu)`` instead, since ``note: (cpu): --tile 64 ...`` read like a file named ``(cpu)``."""

    @classmethod
    def on(cls, device: str, reason: str) -> DeviceNote:
        """The note ``reason`` about ``device`` (``"cpu"``, ``"cuda"``)."""
        return cls(Path(f"({device})"), reason)

    @property
    def device(self) -> str:
        return self.path.name.strip("()")


@dataclass
class Plan:
    """What a batch will do: ``jobs`` to run, plus paths already known to be skipped or failed."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    #: Inputs that belong to other shards (counted, not listed: with N shards that is most of them).
    other_shards: int = 0
    #: The ``-o`` folder as the user typed it (None without one): outputs are shown under it (:class:`OutputNames`).
    output_dir: Path | None = None
    #: Outputs skipped because they exist: a run (not a dry run) removes a killed run's leftovers beside
    #: them (:func:`~weatherclean.io.atomic.remove_stale_parts_beside`).
    done: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def missing_only(self) -> list[Record]:
        """The failures when every input given is missing (nothing found, no pattern matched), else [].

        Then the command could not run at all, which the CLI reports as an error with exit code 2; an
        input that is missing beside others that exist is a failed file of a batch that ran (exit 1).
        """
        if self.jobs or self.skipped or self.other_shards:
            return []
        unique = list(dict.fromkeys(self.failed))
        return unique if unique and all(r.reason in (NOT_FOUND, NO_MATCH) for r in unique) else []


class OutputNames:
    """How a summary, a ``--dry-run`` plan and ``--json`` show where each output went: as the user's own paths
    were typed, the way inputs are shown.

    Jobs hold resolved output paths (the writers need them, and Ray workers run elsewhere), and ``--json``
    printed those: ``"input": "in/clip.mov"`` beside ``"output": "/tmp/.../out2/clip.mov"``, while the text
    summary said ``out2``. An output under the ``-o`` folder is shown under ``-o`` as typed (``out2/clip.mov``,
    ``../out/clip.mov``, ``/data/out/clip.mov``); one beside its input (no ``-o``) is absolute when the input
    was typed absolute, else relative to the working folder, as the input is.
    """

    def __init__(self, output_dir: str | os.PathLike[str] | None) -> None:
        self.given = Path(output_dir) if output_dir is not None else None
        self.root = self.given.resolve() if self.given is not None else None

    def __call__(self, job: Job) -> Path:
        """Where ``job``'s output is shown to be."""
        if self.given is not None and self.root is not None:
            try:
                return self.given / job.output.relative_to(self.root)
            except ValueError:
                pass
        if job.source.is_absolute() or not job.output.is_absolute():
            return job.output
        try:
            return Path(os.path.relpath(job.output))
        except ValueError:  # another drive than the working folder's (Windows): no relative path exists
            return job.output


def is_done(output: Path) -> bool:
    """Whether an output counts as done, so a rerun skips it: it exists, and a file holds something.

    weatherclean writes every output under a temporary name and renames it into place whole, so it never
    leaves an empty file; an empty one is another program's (a copy that ran out of space, a sync client's
    placeholder, a ``touch``) and is redone rather than trusted as a finished photo or video.
    """
    try:
        info = output.stat()
    except OSError:  # not there (or a dangling link): not done
        return False
    return not stat.S_ISREG(info.st_mode) or info.st_size > 0


def job_kind(source: Path) -> str:
    """The kind of a file job, by its name: a video container (``clip.mp4``) or else a photo."""
    return "video" if is_video_path(source) else "photo"


class FrameProgress:
    """Per-frame progress of the current job (videos, frame folders): frames, fps and time left.

    ``bar`` is the run's progress display (a rich ``Progress``, or a silent stand-in); a handler only
    calls :meth:`start` and :meth:`update`, and the runner :meth:`finish` after each job.
    """

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task: Any = None

    def start(self, total: int | None, description: str) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(description, total=total)

    def update(self, done: int, total: int | None = None) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=done, total=total)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None


#: Does one job (load, process, write ``job.output`` atomically) and returns notes for the summary.
JobHandler = Callable[[Job, FrameProgress], Sequence[str]]
