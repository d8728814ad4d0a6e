"""What a batch is made of: jobs (an input and where its result goes), records (a path skipped or failed,
with a one-line reason), the plan that holds them, and what a handler of one job is given and returns.

They live apart from the planner, the runner and the handlers so that all three share them without
importing each other.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from weatherclean.io.folders import display, real_path
from weatherclean.io.images.capture import Capture, capture_of
from weatherclean.io.media import list_frames
from weatherclean.io.video import is_video_path
from weatherclean.provenance import current as current_run
from weatherclean.provenance import read_tag

__all__ = [
    "CHANGED", "NOT_FOUND", "NO_MATCH", "OUT_OF_DATE_HEAD", "OUT_OF_DATE_TAIL", "STDIN", "DeviceNote", "FrameProgress",
    "Job", "JobHandler", "OutputNames", "OutputState", "Plan", "Record", "Replacement", "display", "exists_reason",
    "Verdict", "is_done", "job_kind", "job_sources", "judge_output", "link_reason", "modified_ns",
    "other_model", "other_photo", "other_task", "output_state", "stat_or_none",
]  # fmt: skip

#: The reasons of inputs that are not there at all: when every input fails so, nothing could run.
NOT_FOUND = "file or folder not found"
NO_MATCH = "no files match this pattern"
#: The reason of ``-`` given as an input (Unix tools read standard input there), of ``/dev/stdin`` and of
#: ``/dev/fd/N`` (a shell's process substitution ``<(...)`` is one): weatherclean reads named files only, and
#: writes each output beside its input's name.
STDIN = (
    "a pipe or open file descriptor (standard input, /dev/stdin, /dev/fd/N, <(...)) is not read; save it to a file "
    "first and give that file's name"
)
#: The note of a job whose output was older than its input, redone because the caller asked (``update``).
CHANGED = "input changed since its output was written; redone"
#: The skip reason of a job whose output is older than its input (:attr:`OutputState.OUT_OF_DATE`), without
#: ``update``: head, the output's path, tail (:func:`exists_reason`).
OUT_OF_DATE_HEAD = "output exists but is older than its input (changed since?)"
OUT_OF_DATE_TAIL = "--update redoes such outputs, --overwrite redoes all"


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
    #: A note the summary gives this job once it is done: :data:`CHANGED` for an out-of-date output redone
    #: (``update``).
    note: str | None = None
    #: How many of the output's folders, from its own up, mirror the input's (``out/2019`` and ``out`` for
    #: ``priv/2019/a.jpg``): made new, they take those folders' permissions (:func:`~.outputs.make_parent`).
    mirrored: int = 0
    #: ``--in-place``: how many hard links of the input lie outside this batch, from the ``stat`` taken when it was
    #: planned; they keep showing the original picture, which a note says. None: not planned so (a job made by
    #: hand), read when the job starts. Counted at planning, not then: a link of the same file that the batch
    #: replaced already has left the count, so a count taken when the job starts was short by it.
    other_links: int | None = None


@dataclass(frozen=True)
class Record:
    """A skipped or failed path with a one-line reason."""

    path: Path
    reason: str

    @property
    def why(self) -> str:
        """The reason without the file it may start with (``in/b.jpg: not an image`` gives ``not an image``).

        Why: a reader's error names its file, as it must when raised alone, and ``--json`` and the summary's
        table give the path in a field of its own; a script reading ``reason`` got the path twice. The file
        is recognised as the same path, absolute or relative, since the reason spells it as the user typed it and
        the record as :func:`display` shows it; not by its name alone: a write's error names the output, which
        often has the input's name (``out/b.jpg: cannot write``), and lost its folder, so it read as the input's."""
        head, sep, rest = self.reason.partition(": ")
        return rest if sep and rest and _same_path(head, self.path) else self.reason


def _same_path(text: str, path: Path) -> bool:
    """Whether ``text`` spells ``path`` (``./in/b.jpg``, ``/home/me/in/b.jpg`` or ``~/in/b.jpg`` for ``in/b.jpg``),
    as names only: neither need exist."""
    if text == str(path):
        return True
    if not text or Path(text).name != path.name:  # the usual answer, without asking for the working folder
        return False
    try:
        return os.path.abspath(os.path.expanduser(text)) == os.path.abspath(path)
    except (OSError, ValueError):  # no working folder any more, a NUL in the name
        return False


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
    #: them (:func:`~weatherclean.io.leftovers.remove_stale_parts_beside`).
    done: list[Path] = field(default_factory=list)
    #: Notes about the run as a whole, not one file (an ``-o`` inside an input folder); the summary starts with them.
    notes: list[Record] = field(default_factory=list)
    #: Where every input found would be written, as (input, output), other shards' included and before resume and
    #: collisions are judged: ``--frames`` refuses a video whose output would land in a clip's output folder, which
    #: is replaced as a whole, in every shard alike (:func:`~weatherclean.batch.plan.plan_media`).
    planned: list[tuple[Path, Path]] = field(default_factory=list)

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
        return unique if unique and all(r.reason in (NOT_FOUND, NO_MATCH, STDIN) for r in unique) else []


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
        self.root = real_path(self.given) if self.given is not None else None

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


class Replacement(NamedTuple):
    """Which existing outputs a run may replace, as the plan was told (``--overwrite``, ``--update``): every one
    (``overwrite``), or those older than their input (``update``); neither, none. The runners take it whole to
    look at each output again just before its job (:func:`~weatherclean.batch.run.run_jobs`), so the two cannot
    be passed in the wrong order."""

    overwrite: bool = False
    update: bool = False


def is_done(output: Path, info: os.stat_result | None = None) -> bool:
    """Whether an output counts as done, so a rerun skips it: it exists, and a file holds something.

    weatherclean writes every output under a temporary name and renames it into place whole, so it never
    leaves an empty file; an empty one is another program's (a copy that ran out of space, a sync client's
    placeholder, a ``touch``) and is redone rather than trusted as a finished photo or video. ``info`` is the
    output's ``stat`` when the caller has it already (planning looks at each existing output once).
    """
    if info is None:
        info = stat_or_none(output)
    if info is None:  # not there (or a dangling link): not done
        return False
    return not stat.S_ISREG(info.st_mode) or info.st_size > 0


def stat_or_none(path: Path) -> os.stat_result | None:
    """``path``'s ``stat`` (through links), or None when there is nothing to look at (missing, a dangling link,
    a folder that cannot be searched): the one look planning and resume take at an existing output."""
    try:
        return path.stat()
    except OSError:
        return None


#: How far past the clock a file's modification time may lie and still be believed (a file server's clock a
#: little ahead of ours). Further, it is a wrong date (a camera's clock, a time zone taken twice), not an edit.
FUTURE_SLACK_NS = 60 * 1_000_000_000
#: How much newer than its output an input must be to count as changed since, as ``rsync --modify-window``:
#: FAT and exFAT (memory cards, many USB disks) keep times to 2 s, and a file server's clock may differ a little.
MODIFY_WINDOW_NS = 2 * 1_000_000_000


class OutputState(enum.Enum):
    """What a rerun finds at a job's output path (:func:`output_state`)."""

    #: Nothing, or an empty file (:func:`is_done`): the job is done as new.
    MISSING = "missing"
    #: An output not older than its input: skipped, as done.
    DONE = "done"
    #: An output older than its input (by more than :data:`MODIFY_WINDOW_NS`): the input may have changed since,
    #: or the file is not this input's output at all (a same-named photo from another card, another day's run,
    #: a copy). Kept unless the caller asked for ``update`` (or ``overwrite``).
    OUT_OF_DATE = "out of date"
    #: An output whose age against its input cannot be judged (it or an input is dated in the future): kept.
    UNKNOWN = "unknown"


def output_state(
    output: Path, sources: Callable[[], Iterable[Path]], info: os.stat_result | None = None
) -> OutputState:
    """What lies at ``output``, judged against ``sources()`` (its input; a clip's frames), as ``make`` judges a
    target, with ``rsync``'s caution: the output is out of date when a source was modified more than
    :data:`MODIFY_WINDOW_NS` after it. ``sources`` is called only for an output that exists, so planning a first
    run of 20,000 photos looks at no input's time; ``info`` is the output's ``stat`` when the caller has it.

    A source's time is the later of its own and, for a symbolic link, the link's (``make -L``): a link pointed at
    another photo is a changed input even though both photos are old. A date beyond now (plus
    :data:`FUTURE_SLACK_NS`), on the output or on a source, is a wrong clock (a camera's, a server's), not an
    edit: the output is :attr:`OutputState.UNKNOWN`, kept as done rather than redone on every rerun. A source
    that cannot be read is passed over here: the job that reads it says why. The rule assumes that the inputs and
    outputs are dated by one clock (one machine, or servers whose clocks agree).
    """
    if info is None:
        info = stat_or_none(output)
    if info is None or not is_done(output, info):
        return OutputState.MISSING
    latest = time.time_ns() + FUTURE_SLACK_NS
    written = info.st_mtime_ns
    if written > latest:
        return OutputState.UNKNOWN
    future = False
    for source in sources():
        changed = modified_ns(source)
        if changed is None:
            continue
        if changed > latest:
            future = True
        elif changed > written + MODIFY_WINDOW_NS:
            return OutputState.OUT_OF_DATE
    return OutputState.UNKNOWN if future else OutputState.DONE


def modified_ns(path: Path) -> int | None:
    """When ``path`` last changed: its modification time, or its link's when that is later (``make -L``), or
    None when neither can be read."""
    times = []
    for look in (os.lstat, os.stat):
        with contextlib.suppress(OSError):
            times.append(look(path).st_mtime_ns)
    return max(times) if times else None


def job_sources(job: Job) -> list[Path]:
    """What ``job``'s output is made from, for :func:`output_state`: its input file, or a clip's frames.

    A clip (``--frames``) is judged by its frames, not by its folder's own time: browsing a folder adds
    hidden files to it (``.DS_Store``, ``Thumbs.db``) and would make whole clips look changed.
    """
    if job.kind != "frames":
        return [job.source]
    try:
        return list_frames(job.source)
    except OSError:  # the folder is gone or unreadable: the job says so when it runs
        return []


def link_reason(target: Path) -> str:
    """The skip reason of a link to a file the batch handles under its own name (``target``, as shown): one row per
    link, folded in the summary by these words (:mod:`weatherclean.batch.report`), so built in one place."""
    return f"a link to {target}, which is handled under its own name"


def exists_reason(output: Path, state: OutputState, made: str | None = None) -> str:
    """Why a job whose output exists is skipped (``state`` is not :attr:`OutputState.MISSING`), on one line; ``made``
    says, after the output's name, that another model made it (:func:`other_model`)."""
    shown = f"{display(output)}, {made}" if made else f"{display(output)}"
    if state is OutputState.OUT_OF_DATE:
        return f"{OUT_OF_DATE_HEAD}: {shown}; {OUT_OF_DATE_TAIL}"
    reason = f"output exists: {shown} (use --overwrite to redo"
    if state is OutputState.UNKNOWN:
        reason += "; it or its input is dated in the future, so whether the input changed since cannot be told"
    return reason + ")"


def other_photo(output: Path, source: Path) -> str | None:
    """Why the photo at ``output`` was not made from ``source`` (one line, naming the output, what differs and what
    to do), or None when it may have been, by the EXIF capture identity of both
    (:func:`~weatherclean.io.images.capture.capture_of`).

    Why: outputs keep their input's EXIF, and a second memory card into the same ``-o`` maps its ``IMG_0001.JPG``
    onto the output of the first card's ``IMG_0001.JPG``; without this, it was skipped as done (exit code 0, the
    photo never processed), or replaced by ``--update`` when the new card's file was newer (the first card's
    result lost). Only what both files hold is compared, in this order. Another camera body (BodySerialNumber) is
    another photo, whatever else is equal. Another ImageUniqueID is another card's photo, or the input given a new
    ID by an editor since: no file tells which, so it fails (nothing is lost), saying both. An equal ID excuses a
    capture time that differs (times are shifted afterwards: ``exiftool -AllDates+=1``, a time zone fixed,
    Lightroom's Edit Capture Time), but only an ID that looks unique (:func:`_unique_id`): some phones write their
    model or firmware code there (``F16QLHF01VB``), equal on all their shots. Else another capture time (its
    fraction of a second counted where both hold one) is another card's photo or the input's time shifted since,
    which no file can tell apart: it fails too, saying both. An output without EXIF (a PNG, a BMP, an edited or
    stripped file) is judged by its dates alone.
    """
    if is_video_path(source) or is_video_path(output):  # a video holds no EXIF (see docs/usage.md on reruns)
        return None
    ours = capture_of(source)
    theirs = capture_of(output) if ours is not None else None
    if ours is None or theirs is None:
        return None
    where = f"output {display(output)}"
    if ours.serial is not None and theirs.serial is not None and ours.serial != theirs.serial:
        return (
            f"{where} was shot by another camera (serial {_shown(theirs.serial)}) than this input (serial "
            f"{_shown(ours.serial)}): another card's or folder's same-named photo; --overwrite replaces it, or give "
            "another -o DIR"
        )
    if ours.unique_id is not None and theirs.unique_id is not None:
        if ours.unique_id != theirs.unique_id:
            return (
                f"{where} has another image ID ({_shown(theirs.unique_id)}) than this input "
                f"({_shown(ours.unique_id)}): another card's same-named photo, or an editor gave the input a new "
                "image ID since; --overwrite redoes it, or give another -o DIR"
            )
        if _unique_id(ours.unique_id):  # the same shot, whatever its times say
            return None
    if ours.taken is None or theirs.taken is None:
        return None
    both_subsec = ours.subsec is not None and theirs.subsec is not None
    mine, other = _moment(ours, both_subsec), _moment(theirs, both_subsec)
    if mine == other:
        return None
    return (
        f"{where} has another capture time ({_shown(other)}) than this input ({_shown(mine)}): another card's "
        "same-named photo, or the input's capture time was changed since; --overwrite redoes it, or give another "
        "-o DIR"
    )


#: An ImageUniqueID that names one shot: 32 hex digits (EXIF's own form, a 128-bit number) or a UUID's
#: 8-4-4-4-12 form, which phones write. Anything else (a model or firmware code such as ``F16QLHF01VB``, which a
#: phone writes on every shot) tells no two shots apart.
_UNIQUE_ID = re.compile(rb"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _unique_id(value: bytes) -> bool:
    """Whether the ImageUniqueID ``value`` looks like one that names a single shot (:data:`_UNIQUE_ID`), and is not
    all zeros (a placeholder some writers leave)."""
    return _UNIQUE_ID.fullmatch(value) is not None and bool(value.strip(b"0-"))


def _moment(capture: Capture, subsec: bool) -> bytes:
    """When ``capture`` was taken (``2024:01:05 10:00:00``), with its fraction of a second (``.25``) if ``subsec``."""
    taken = capture.taken or b""
    return taken + b"." + capture.subsec if subsec and capture.subsec is not None else taken


def _shown(value: bytes) -> str:
    """An EXIF value for a message: its text, a byte that is not UTF-8 as ``\\xNN``."""
    return value.decode("utf-8", "backslashreplace")


def other_task(output: Path, made: Mapping[str, Any] | None) -> str | None:
    """Why the output at ``output`` is not this run's (one line, naming the output, the command and model that made
    it, and what to do), or None when it may be: by ``made``, the tag it carries (:func:`~weatherclean.provenance.
    read_tag`), against the run under way (:func:`~weatherclean.provenance.current`).

    Why: ``derain`` into a ``-o`` folder that ``desnow`` had filled skipped each output as its own finished work
    (exit code 0, the rain left in). An output made by the other command fails the job, as another photo's does
    (:func:`other_photo`): nothing is lost, and the exit code and ``--json`` say that not everything was done. An
    output without the tag (an older run's, a file system without extended attributes) is judged as before."""
    run = current_run()
    if run is None or made is None or made["task"] == run.task:
        return None
    return (
        f"output {display(output)} was made by {made['task']} ({made['model']}), not {run.task}: --overwrite to "
        "replace it, or give another -o DIR"
    )


def other_model(made: Mapping[str, Any] | None) -> str | None:
    """Words for a skip's reason when an output's tag ``made`` says this run's command made it with another model
    (``made with desnownet-wide, not desnownet-light``); else None. Such an output is still skipped as done (it is
    this task's work): the reason only says which model made it, for ``--overwrite`` to redo it.

    The same model is the same weights (their sha256) where both the tag and the run know them, so that
    ``runs/mine`` and ``./runs/mine`` are one model and a folder retrained since is another; else the same name."""
    run = current_run()
    if run is None or made is None or made["task"] != run.task:
        return None
    theirs = made.get("weights_sha256")
    if isinstance(theirs, str) and run.weights_sha256 is not None:
        if theirs == run.weights_sha256:
            return None
        if made["model"] == run.model:
            return f"made with other weights of {run.model} (sha256 {theirs[:8]}…, not {run.weights_sha256[:8]}…)"
    elif made["model"] == run.model:
        return None
    return f"made with {made['model']}, not {run.model}"


class Verdict(NamedTuple):
    """What a run does with a job by what lies at its output (:func:`judge_output`): do it (``skip`` and ``fail``
    None; ``note`` when it redoes an out-of-date output), skip it (``skip``: why), or fail it (``fail``: why)."""

    state: OutputState | None = None
    skip: str | None = None
    fail: str | None = None
    note: str | None = None


def judge_output(
    output: Path,
    sources: Callable[[], Iterable[Path]],
    replace: Replacement,
    info: os.stat_result | None = None,
    *,
    photo: Path | None = None,
) -> Verdict:
    """Whether a job is done, skipped, failed or redone by what lies at ``output`` (``info``: its ``stat``, when the
    caller has it): the one rule of the planner (:func:`~weatherclean.batch.plan.plan_jobs`, ``plan_clips``) and of
    the runner, which looks again before the model runs (:func:`~weatherclean.batch.run._appeared`).

    Nothing there (or an empty file): done as new. Otherwise the output is never replaced unless the caller
    asks: ``overwrite`` redoes every output, without looking at it; ``update`` redoes one older than its input
    (:func:`output_state`, by more than :data:`MODIFY_WINDOW_NS`), with the note :data:`CHANGED`, as ``cp -u`` and
    ``rsync -u`` do. Why not by default, as ``make`` would: a file at an output's path is not always this input's
    output (a photo of another card with the same camera name, another day's run into the same ``-o``, a
    hand-retouched result, a copy whose dates ``cp -r`` made new), and replacing it loses the user's file; an older
    output is skipped with a reason saying so.

    ``photo`` is the job's input when the job is a photo (None for a video or a ``--frames`` clip, judged by dates
    alone): before an existing output file is taken as its (skipped as done, kept, or redone by ``update``), its
    EXIF capture identity is compared with the input's (:func:`other_photo`), and one made from another photo, or
    with another capture time, fails the job, with or without ``update``. So does an output that another command
    made (:func:`other_task`: ``desnow``'s, met by ``derain``), by the tag it carries; one made by another model of
    this command is skipped, its reason naming that model (:func:`other_model`). ``sources`` (its input; a clip's
    frames) is called only for an output that exists.
    """
    if replace.overwrite:
        return Verdict()
    if info is None:
        info = stat_or_none(output)
    state = output_state(output, sources, info)
    if state is OutputState.MISSING:
        return Verdict(state)
    made = read_tag(output) if current_run() is not None else None  # what made it, read once
    task_clash = other_task(output, made)  # desnow's output met by derain: never this run's finished work
    if task_clash is not None:
        return Verdict(state, fail=task_clash)
    if photo is not None and info is not None and stat.S_ISREG(info.st_mode):
        clash = other_photo(output, photo)
        if clash is not None:
            return Verdict(state, fail=clash)
    if state is OutputState.OUT_OF_DATE and replace.update:
        return Verdict(state, note=CHANGED)
    return Verdict(state, skip=exists_reason(output, state, other_model(made)))


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
