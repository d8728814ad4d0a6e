"""The batch runner behind ``weatherclean desnow`` (and later ``derain``): plan first, then work.

Planning is separate from running so that every problem that can be known up front (two inputs that
would write the same output, an output that would overwrite an input, an unwritable output folder)
stops the command *before* an hour of compute, and so that ``--dry-run`` shows exactly what would
happen. Running keeps going past a bad photo: one corrupt file must not cost the other 999.

Output rule (default, without ``-o``): a folder ``photos/`` goes to the sibling ``photos_desnowed/``
with the same tree; a single file ``dir/a.jpg`` goes to ``dir/desnowed/a.jpg``. Walking a folder skips
sub-folders named ``desnowed`` or ``*_desnowed`` (and the ``-o`` folder), so a later run never reads
earlier outputs as inputs. With ``-o DIR`` each given folder's tree is mirrored under DIR and single
files land directly in DIR. ``in_place`` replaces each input instead (atomically, like every write).

Sharding (``--shard K/N``) assigns each photo to a shard by a hash of its path *as walked from the
command line*, before anything is skipped, so N processes given the same inputs split the batch
without overlap, a rerun of any shard sees the same photos, and photos added later land in some shard
without moving the others.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from weatherclean.errors import DiskFullError, InputError, WeathercleanError, folder_not_file, one_line
from weatherclean.io.compare import COMPARE_SUFFIX
from weatherclean.io.images import LoadedImage, OutputError, is_image_path, load_image, save_image
from weatherclean.io.video import is_partial_path, is_video_path

__all__ = [
    "NOT_FOUND", "NO_MATCH", "BatchSummary", "FrameProgress", "Job", "JobHandler", "Plan", "Record",
    "check_writable_folders", "compare_note", "default_output", "parse_shard", "photo_handler", "plan_clips",
    "plan_jobs", "run_batch", "run_jobs",
]  # fmt: skip

_GLOB_CHARS = frozenset("*?[")
#: The reasons of inputs that are not there at all: when every input fails so, nothing could run.
NOT_FOUND = "file or folder not found"
NO_MATCH = "no files match this pattern"


@dataclass(frozen=True)
class Job:
    """One photo to process and where its result goes."""

    source: Path
    output: Path
    #: ``--in-place``: the output *is* the input (its real path), so "output exists" means nothing.
    replaces_input: bool = False


@dataclass(frozen=True)
class Record:
    """A skipped or failed path with a one-line reason."""

    path: Path
    reason: str


@dataclass
class Plan:
    """What a batch will do: ``jobs`` to run, plus paths already known to be skipped or failed."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    #: Photos that belong to other shards (counted, not listed: with N shards that is most of them).
    other_shards: int = 0

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Any:
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


def _display(path: Path) -> Path:
    """Paths relative to the working directory when possible: shorter messages, same meaning."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _is_output_folder(name: str, tag: str) -> bool:
    return name == tag or name.endswith(f"_{tag}")


def _relative_in(path: Path, folder: Path) -> Path:
    """``path`` relative to ``folder`` as walked, *not* resolved: a symlink inside the folder that
    points elsewhere keeps its place in the tree (resolving it would leave the folder)."""
    for a, b in ((path, folder), (Path(os.path.abspath(path)), Path(os.path.abspath(folder)))):
        try:
            return a.relative_to(b)
        except ValueError:
            pass
    try:
        return path.resolve().relative_to(folder.resolve())
    except ValueError:
        raise InputError(f"{_display(path)}: not inside {_display(folder)}") from None


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _in_output_tree(match: Path, base_parts: int, out_root: Path | None, tag: str) -> bool:
    """Whether a glob match lies in an output folder, so that re-running a pattern never reads earlier
    outputs: the folder walk's rule applied to the folders the wildcards matched (not to the
    pattern's literal prefix, which the user typed), or under the ``-o`` root when that root lies
    below the literal prefix."""
    parts = match.parts[base_parts:] if match.is_dir() else match.parts[base_parts:-1]
    if any(_is_output_folder(d, tag) for d in parts):
        return True
    if out_root is None:
        return False
    base = Path(*match.parts[:base_parts]).resolve() if base_parts else Path.cwd()
    return not _under(base, out_root) and _under(match.resolve(), out_root)


#: Image formats people try that weatherclean cannot write back faithfully: say so instead of "not an image".
_UNSUPPORTED_IMAGES = {
    ".gif": "GIF", ".bmp": "BMP", ".ico": "ICO", ".psd": "Photoshop", ".jp2": "JPEG 2000", ".jxl": "JPEG XL",
    ".tga": "TGA", ".ppm": "PPM", ".pgm": "PGM", ".pbm": "PBM", ".pnm": "PNM", ".dng": "raw (DNG)",
    ".cr2": "raw (CR2)", ".cr3": "raw (CR3)", ".nef": "raw (NEF)", ".arw": "raw (ARW)", ".raf": "raw (RAF)",
    ".orf": "raw (ORF)", ".rw2": "raw (RW2)",
}  # fmt: skip


def _skip_reason(path: Path, kind: str) -> str:
    name = _UNSUPPORTED_IMAGES.get(path.suffix.lower())
    if name:
        return f"{name} images are not supported; convert to PNG, JPEG or TIFF first"
    return f"not {kind} (by name)"


def default_output(source: Path, *, folder: Path | None, tag: str = "desnowed") -> Path:
    """Where a file goes without ``-o``: beside the input tree, never inside it (see module docstring)."""
    if folder is not None:
        given, folder = folder, folder.resolve()
        rel = _relative_in(source, given)
        if folder.parent == folder:
            raise InputError(f"{folder}: cannot put outputs next to the file-system root; pass -o DIR")
        return folder.parent / f"{folder.name}_{tag}" / rel
    source = source.resolve()
    return source.parent / tag / source.name


def _walk(
    folder: Path,
    skip_dirs: set[Path],
    tag: str,
    *,
    named_like_file: Callable[[Path], bool] | None = None,
    misnamed: list[Path] | None = None,
) -> Iterable[Path]:
    """All files under ``folder`` (sorted, no hidden files), not descending into output folders.

    Sub-folders that ``named_like_file`` says are named like an input (``x.jpg``, ``clip.mp4``) and that
    hold no file are appended to ``misnamed``: nothing else would show them, and a user who sees
    ``x.jpg`` in a file manager expects it to be a photo.
    """
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not _is_output_folder(d, tag) and (root_path / d).resolve() not in skip_dirs
        )
        if named_like_file is not None and misnamed is not None:
            for d in dirs:
                sub = root_path / d
                if named_like_file(sub) and next(iter(_walk(sub, skip_dirs, tag)), None) is None:
                    misnamed.append(sub)
        for name in sorted(files):
            if not name.startswith(".") and not _ours(name):
                yield root_path / name


def _ours(name: str) -> bool:
    """Whether a file name marks something weatherclean wrote beside its outputs, never an input:
    a ``--compare`` picture (``*.compare.jpg``) or a video that decoded in part (``*.partial.mp4``)."""
    return name.lower().endswith(COMPARE_SUFFIX) or is_partial_path(Path(name))


#: The skip reason of a ``*.partial.mp4`` given by name: a failed derain's frames, kept to look at.
_PARTIAL_INPUT = (
    "a partial result of derain (a video that decoded in part), never read as an input; rename it to use it"
)


def _kind_by_name(path: Path) -> str:
    """What a name promises, for "a folder, not ...": a video file (``clip.mp4``) or an image file."""
    return "a video file" if is_video_path(path) else "an image file"


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 ≤ K ≤ N (shards count from 1, like job-array task ids)."""
    k, sep, n = text.partition("/")
    try:
        kk, nn = int(k), int(n)
    except ValueError:
        kk = nn = 0
    if not sep or not 1 <= kk <= nn:
        raise InputError(f"--shard '{text}': expected K/N with 1 ≤ K ≤ N, e.g. --shard 2/8")
    return kk, nn


def _shard_of(key: str, count: int) -> int:
    """Stable shard (1..count) of a path key: the same on every machine and every Python run."""
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def output_suffix(dest: Path, fmt: str | None) -> Path:
    """Give ``dest`` the suffix of ``fmt`` unless its suffix already means that format (a.jpeg stays)."""
    if fmt is None:
        return dest
    from weatherclean.io.images import normalise_format, suffix_for_format

    try:
        same = normalise_format(dest.suffix.lstrip(".")) == fmt
    except WeathercleanError:
        same = False
    return dest if same else dest.with_suffix(suffix_for_format(fmt))


def plan_jobs(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str = "desnowed",
    overwrite: bool = False,
    check_writable: bool = True,
    in_place: bool = False,
    format: str | None = None,
    shard: tuple[int, int] | None = None,
    accept: Callable[[Path], bool] = is_image_path,
    kind: str = "an image file",
    suffix_for: Callable[[Path, str | None], Path] | None = None,
) -> Plan:
    """Expand files, folders (recursively) and globs into jobs and check them before any work.

    Non-image files are skipped with a note; existing outputs are skipped unless ``overwrite``;
    missing paths fail. Raises :class:`InputError` if two inputs would write the same output or an
    output would replace an input (unless ``in_place``), and :class:`OutputError` if an output folder
    cannot be written. ``format`` (a Pillow format name such as ``"PNG"``) changes output suffixes;
    ``shard=(K, N)`` keeps only the K-th of N deterministic parts of the batch. ``accept`` says which
    files are inputs (``kind`` names them in skip notes); ``suffix_for(dest, format)`` overrides how
    ``format`` renames outputs (derain maps video containers and image formats differently).
    """
    rename = suffix_for or output_suffix

    def skipped(path: Path) -> None:
        plan.skipped.append(Record(_display(path), _skip_reason(path, kind)))

    if in_place and output_dir is not None:
        raise InputError("--in-place replaces the inputs, so it cannot be combined with -o/--output")
    out_root = Path(output_dir).resolve() if output_dir is not None else None
    plan = Plan()
    candidates: list[tuple[Path, Path]] = []  # (source, planned output)
    skip_dirs = {out_root} if out_root is not None else set()

    def add_file(path: Path, folder: Path | None) -> None:
        if shard is not None and _shard_of(path.as_posix(), shard[1]) != shard[0]:
            plan.other_shards += 1
            return
        if in_place:
            dest = path
        elif out_root is None:
            dest = default_output(path, folder=folder, tag=tag)
        elif folder is not None:
            dest = out_root / _relative_in(path, folder)
        else:
            dest = out_root / path.name
        if not in_place:
            dest = rename(dest, format)
        elif rename(dest, format) != dest:
            raise InputError(f"--in-place cannot change a photo's format ({_display(path)}); use -o DIR with --format")
        candidates.append((path, dest))

    def add_folder(path: Path) -> None:
        """A folder, given or matched by a glob (the same either way): every file under it, with a row for
        each folder named like an input (``x.jpg``, ``clip.mp4``) that holds no file, itself included."""
        seen = 0
        misnamed: list[Path] = []
        for f in _walk(path, skip_dirs, tag, named_like_file=accept, misnamed=misnamed):
            seen += 1
            if accept(f):
                add_file(f, path)
            else:
                skipped(f)
        if seen == 0 and accept(Path(path.name)):
            misnamed.insert(0, path)
        plan.failed += [
            Record(_display(d), f"{folder_not_file(_kind_by_name(d))}; it holds no files") for d in misnamed
        ]
        if seen == 0 and not misnamed:
            plan.skipped.append(Record(_display(path), "empty folder: nothing to do"))

    for item in inputs:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if path.is_dir():
            add_folder(path)
        elif is_partial_path(path) and path.exists():
            plan.skipped.append(Record(_display(path), _PARTIAL_INPUT))
        elif path.exists() or path.is_symlink():
            if accept(path):
                add_file(path, None)
            else:
                skipped(path)
        elif _GLOB_CHARS & set(text):
            pattern = os.path.expanduser(text)
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                plan.failed.append(Record(Path(text), NO_MATCH))
            base_parts = 0  # leading components of the pattern without wildcards
            for part in Path(pattern).parts:
                if _GLOB_CHARS & set(part):
                    break
                base_parts += 1
            for m in matches:
                mp = Path(m)
                if _in_output_tree(mp, base_parts, out_root, tag) or _ours(mp.name):
                    continue  # an earlier run's output, comparison picture or partial video, as walks skip them
                if mp.is_dir():
                    add_folder(mp)
                elif accept(mp):
                    add_file(mp, None)
                else:
                    skipped(mp)
        else:
            plan.failed.append(Record(path, NOT_FOUND))
    # A recursive glob ('in/**') reaches a folder both as a match and inside its parent: one row each.
    plan.skipped, plan.failed = list(dict.fromkeys(plan.skipped)), list(dict.fromkeys(plan.failed))

    seen_sources: set[Path] = set()
    by_output: dict[Path, Path] = {}
    all_sources = {src.resolve() for src, _ in candidates}
    for src, dest in candidates:
        real = src.resolve()
        if real in seen_sources:
            continue  # the same photo reached twice (folder and file): do it once
        seen_sources.add(real)
        if in_place:  # write to the real file, so a symlinked photo is updated rather than replaced by a copy
            plan.jobs.append(Job(src, real, replaces_input=True))
            continue
        dest = dest.resolve() if dest.exists() else dest
        if dest in all_sources or dest == real:
            raise InputError(f"{_display(dest)}: output would overwrite an input photo; pass another -o DIR")
        if dest in by_output:
            other = by_output[dest]
            why = (
                "their names differ only in the extension, which --format makes the same"
                if other.stem == src.stem and other.parent == src.parent
                else "give each input its own -o folder, or pass their common parent folder instead"
            )
            both = f"both {_display(other)} and {_display(src)}"
            raise InputError(f"{_display(dest)}: {both} would be written here; {why}")
        by_output[dest] = src
        if dest.exists() and not overwrite:
            reason = f"output exists: {_display(dest)} (use --overwrite to redo)"
            plan.skipped.append(Record(_display(src), reason))
            continue
        if dest.is_dir():
            raise InputError(f"{_display(dest)}: output path is a folder; remove it or choose another -o DIR")
        plan.jobs.append(Job(src, dest))

    if check_writable:
        check_writable_folders({j.output.parent for j in plan.jobs}, given=output_dir)
    return plan


def plan_clips(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    overwrite: bool = False,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """``--frames``: every folder that directly holds frames is one clip, written as a folder of frames.

    Built on :func:`plan_jobs` (so outputs land where the photos of those folders would, with the same
    safety checks), then grouped by folder: a job's ``source`` is the clip folder, its ``output`` the
    output folder. A clip given directly with ``-o DIR`` goes to ``DIR/<clip name>``, never to DIR
    itself: a clip's output folder is replaced as a whole, and the folder a user names must never be.
    A clip whose output folder exists is skipped unless ``overwrite``.
    """
    bad = [Record(_display(Path(i)), "--frames takes folders of frames, not files") for i in inputs
           if Path(i).is_file()]  # fmt: skip
    folders = [i for i in inputs if not Path(i).is_file()]
    frames = plan_jobs(folders, output_dir, tag=tag, overwrite=True, check_writable=False)
    plan = Plan(skipped=frames.skipped, failed=[*frames.failed, *bad])
    out_root = Path(output_dir).resolve() if output_dir is not None else None
    clips: dict[Path, Path] = {}
    for job in frames.jobs:
        out = job.output.parent
        if out_root is not None and out.resolve() == out_root:
            out = out / job.source.parent.resolve().name
        clips.setdefault(job.source.parent, out)
    owners: dict[Path, Path] = {}
    for folder, out in clips.items():
        if out in owners:
            raise InputError(
                f"{_display(out)}: both clips {_display(owners[out])} and {_display(folder)} would be written "
                "here; give the loose frames their own folder, or run the clips with different -o folders"
            )
        owners[out] = folder
    for folder, out in clips.items():
        if shard is not None and _shard_of(folder.as_posix(), shard[1]) != shard[0]:
            plan.other_shards += 1
        elif out.exists() and not overwrite:
            plan.skipped.append(Record(_display(folder), f"output exists: {_display(out)} (use --overwrite to redo)"))
        else:
            plan.jobs.append(Job(folder, out))
    check_writable_folders({j.output.parent for j in plan.jobs}, given=output_dir)
    return plan


def check_writable_folders(
    folders: Iterable[Path], given: str | os.PathLike[str] | None = None, *, hint: str = "choose another -o DIR"
) -> None:
    """Fail before any work when an output folder cannot be created or written; creates nothing.

    The message names the folder as the user gave it (``given``, the ``-o`` value, when the folder lies
    in it) and the real reason: a folder that exists but refuses new files says "No such file or
    directory" on Linux's virtual file systems (``/proc``, ``/sys``), which is not what happened.
    ``hint`` ends the message (what to do; ``compare`` writes a file, not a folder).
    """
    checked: set[Path] = set()
    for folder in sorted(folders):
        probe = folder
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if probe in checked:
            continue
        checked.add(probe)
        name = _display(folder)
        if given is not None and _under(folder, Path(given).resolve()):
            name = Path(given)
        if not probe.is_dir():
            raise OutputError(f"{name}: cannot create output folder because {_display(probe)} is a file; {hint}")
        try:  # really try: os.access says yes to root, and is wrong on some network file systems
            fd, tmp = tempfile.mkstemp(prefix=".weatherclean-probe-", dir=probe)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise OutputError(_unwritable(name, probe, folder, exc, hint)) from None


def _unwritable(name: Path, probe: Path, folder: Path, exc: OSError, hint: str) -> str:
    """One line for an output folder that cannot be written: the path given, where it failed, and why."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT:  # the folder exists, so "not found" means it takes no new files
        kind = _file_system_type(probe)
        reason = "it does not accept new files" + (f" (a '{kind}' file system)" if kind else "")
    if probe == folder:
        return f"{name}: output folder is not writable: {reason}; {hint}"
    where = _display(probe)
    return f"{name}: cannot create the output folder: {where} is not writable: {reason}; {hint}"


def _file_system_type(path: Path) -> str | None:
    """The type of the file system holding ``path`` (``proc``, ``sysfs``, ``nfs``...), where Linux says."""
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target, best, kind = path.resolve(), -1, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = Path(fields[1].replace("\\040", " "))
        if _under(target, mount) and len(mount.parts) > best:
            best, kind = len(mount.parts), fields[2]
    return kind


class FrameProgress:
    """Per-frame progress of the current job (videos, frame folders): frames, fps and time left."""

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


def photo_handler(
    process: Callable[[LoadedImage], np.ndarray],
    *,
    quality: int = 95,
    format: str | None = None,
    compare: bool = False,
) -> JobHandler:
    """The handler for photos: decode with metadata, ``process`` the pixels, save like the input.

    ``compare`` also writes a before | after picture beside each output (:mod:`weatherclean.io.compare`).
    Its "before" is taken ahead of ``process``, which may write the result over the decoded pixels.
    """
    from weatherclean.io import compare as pictures

    def handle(job: Job, _frames: FrameProgress) -> list[str]:
        links = os.stat(job.source).st_nlink if job.replaces_input else 1
        image = load_image(job.source)
        before = pictures.thumbnail(image.pixels, pictures.MAX_SIDE) if compare else None
        result = np.asarray(process(image), dtype=np.float32)
        if result.shape[:2] != image.pixels.shape[:2]:
            raise OutputError(f"{job.source}: processing changed the size {image.pixels.shape} → {result.shape}")
        _make_parent(job.output)
        saved = save_image(job.output, result, image, format=format, quality=quality)
        notes = [*getattr(image, "notes", ()), *getattr(saved, "notes", ())]
        if links > 1:
            notes.append(f"had {links - 1} other hard link(s); they still show the original picture")
        if before is not None:
            after = pictures.thumbnail(result, pictures.MAX_SIDE)
            orientation = pictures.exif_orientation(image.exif)
            notes += compare_note(
                lambda: pictures.write_side_by_side(before, after, job.output, orientation=orientation)
            )
        return notes

    return handle


def compare_note(write: Callable[[], object]) -> list[str]:
    """Run ``write`` (a comparison picture); a failure is a note, never a failed file: the output is done."""
    try:
        write()
    except (WeathercleanError, OSError, ValueError) as exc:
        return [f"comparison picture not written ({one_line(exc)})"]
    return []


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{path.parent}: cannot create output folder ({reason})") from None


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

    Only :class:`KeyboardInterrupt` stops the batch early, and a full disk, after which every later
    job would fail the same way after its compute. The progress bar goes to ``console`` (default:
    stderr) and disappears at the end.
    """
    summary = BatchSummary()
    if isinstance(jobs, Plan):
        summary.other_shards = jobs.other_shards
        summary.skipped.extend(jobs.skipped)
        summary.failed.extend(jobs.failed)
        job_list = list(jobs.jobs)
    else:
        job_list = list(jobs)
    start = time.perf_counter()
    bar = _progress(progress, console)
    frames = FrameProgress(bar)
    with bar:
        task = bar.add_task(description, total=len(job_list))
        for index, job in enumerate(job_list):
            bar.update(task, description=f"{description} {job.source.name}")
            if not job.replaces_input and job.output.exists() and not overwrite:  # appeared since planning
                summary.skipped.append(Record(_display(job.source), f"output exists: {_display(job.output)}"))
                bar.advance(task)
                continue
            new_folders = _missing_folders(job.output.parent)
            try:
                try:
                    notes = handler(job, frames)
                except BaseException:
                    _remove_empty(new_folders)  # a job that failed leaves no empty output folder behind
                    raise
            except KeyboardInterrupt:
                summary.interrupted = True
                reason = "not started or not finished: interrupted; rerun the same command to resume"
                summary.failed.extend(Record(_display(j.source), reason) for j in job_list[index:])
                break
            except DiskFullError as exc:
                summary.failed.append(Record(_display(job.source), str(exc)))
                reason = "not started: the output disk is full; free space and rerun (finished files are skipped)"
                summary.failed.extend(Record(_display(j.source), reason) for j in job_list[index + 1 :])
                break
            except WeathercleanError as exc:
                reason = str(exc)
            except MemoryError:
                reason = f"{job.source}: out of memory; try a smaller --tile"
            except (RuntimeError, ValueError, OSError) as exc:
                reason = f"{job.source}: {type(exc).__name__}: {' '.join(str(exc).split())}"
            else:
                reason = None
                summary.notes.extend(Record(_display(job.source), note) for note in dict.fromkeys(notes))
                summary.done.append(job)
            finally:
                frames.finish()
            if reason is not None:
                summary.failed.append(Record(_display(job.source), reason))
            bar.advance(task)
    summary.seconds = time.perf_counter() - start
    return summary


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
