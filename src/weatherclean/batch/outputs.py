"""The output-naming rule, and the check that every output folder can be written before any work.

Default (without ``-o``): a folder ``photos/`` goes to the sibling ``photos_desnowed/`` with the same
tree; a single file ``dir/a.jpg`` goes to ``dir/desnowed/a.jpg`` (the tag is the command's: ``desnowed``,
``derained``). Such folders, named ``TAG`` or ``*_TAG``, are never walked as inputs, so a later run never
reads earlier outputs. With ``-o DIR`` each given folder's tree is mirrored under DIR and single files land
directly in DIR. ``--in-place`` replaces each input instead (atomically, like every write). ``--format``
changes only the suffix (:class:`OutputFormat`).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from weatherclean.batch.jobs import display
from weatherclean.errors import InputError, WeathercleanError
from weatherclean.io.images import OutputError, normalise_format, suffix_for_format
from weatherclean.io.video import VIDEO_FORMATS, is_video_path

__all__ = [
    "OutputFormat", "check_writable_folders", "default_output", "destination", "is_output_folder", "make_parent",
    "output_suffix", "under",
]  # fmt: skip


def is_output_folder(name: str, tag: str) -> bool:
    """Whether a folder name is one the naming rule makes (``TAG`` or ``*_TAG``): never walked as input."""
    return name == tag or name.endswith(f"_{tag}")


def under(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies inside it (no resolving: callers pass resolved paths)."""
    return path == root or root in path.parents


def default_output(source: Path, *, folder: Path | None, tag: str = "desnowed") -> Path:
    """Where a file goes without ``-o``: beside the input tree, never inside it (see the module docstring)."""
    if folder is not None:
        given, folder = folder, folder.resolve()
        rel = _relative_in(source, given)
        if folder.parent == folder:
            raise InputError(f"{folder}: cannot put outputs next to the file-system root; pass -o DIR")
        return folder.parent / f"{folder.name}_{tag}" / rel
    source = source.resolve()
    return source.parent / tag / source.name


def destination(
    source: Path, folder: Path | None, *, out_root: Path | None, tag: str, pattern_base: Path | None = None
) -> Path:
    """Where ``source`` (found in ``folder``, or given by itself when None) goes, before ``--format``;
    one a pattern matched mirrors the tree below the pattern's literal start (``pattern_base``) in ``-o``."""
    if out_root is None:
        return default_output(source, folder=folder, tag=tag)
    if folder is not None:
        return out_root / _relative_in(source, folder)
    if pattern_base is not None:
        return out_root / _relative_in(source, pattern_base)
    return out_root / source.name


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
        raise InputError(f"{display(path)}: not inside {display(folder)}") from None


def output_suffix(dest: Path, fmt: str | None) -> Path:
    """Give ``dest`` the suffix of ``fmt`` unless its suffix already means that format (a.jpeg stays)."""
    if fmt is None:
        return dest
    try:
        same = normalise_format(dest.suffix.lstrip(".")) == fmt
    except WeathercleanError:
        same = False
    return dest if same else dest.with_suffix(suffix_for_format(fmt))


@dataclass(frozen=True)
class OutputFormat:
    """``--format``: one option, meaning what fits each kind of input.

    ``image`` is a Pillow format name (``"PNG"``) for photos and frames; ``video`` a container suffix
    (``".mkv"``) for videos. Either is None to keep the input's own.
    """

    image: str | None = None
    video: str | None = None

    @classmethod
    def parse(cls, name: str | None, *, videos: bool = False) -> OutputFormat:
        """Read ``--format``; with ``videos`` (derain) a container name (mp4, mkv, ...) is a video format."""
        if not videos:
            return cls(image=normalise_format(name) if name else None)
        if name is None:
            return cls()
        key = name.lower().lstrip(".")
        if key in VIDEO_FORMATS:
            return cls(video=VIDEO_FORMATS[key])
        return cls(image=normalise_format(name))

    def rename(self, dest: Path) -> Path:
        """``dest`` with the suffix of the format it will be written in."""
        if is_video_path(dest):
            return dest.with_suffix(self.video) if self.video else dest
        return output_suffix(dest, self.image)


def make_parent(path: Path) -> None:
    """Create the folder ``path`` goes in; a failure is one line naming the folder and the reason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{path.parent}: cannot create output folder ({reason})") from None


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
        probe = _nearest_existing(folder)
        if probe in checked:
            continue
        checked.add(probe)
        name = display(folder)
        if given is not None and under(folder, Path(given).resolve()):
            name = Path(given)
        if not probe.is_dir():
            raise OutputError(f"{name}: cannot create output folder because {display(probe)} is a file; {hint}")
        try:  # really try: os.access says yes to root, and is wrong on some network file systems
            fd, tmp = tempfile.mkstemp(prefix=".weatherclean-probe-", dir=probe)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise OutputError(_unwritable(name, probe, folder, exc, hint)) from None


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists: where a new output folder would be made."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def _unwritable(name: Path, probe: Path, folder: Path, exc: OSError, hint: str) -> str:
    """One line for an output folder that cannot be written: the path given, where it failed, and why."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT:  # the folder exists, so "not found" means it takes no new files
        kind = _file_system_type(probe)
        reason = "it does not accept new files" + (f" (a '{kind}' file system)" if kind else "")
    if probe == folder:
        return f"{name}: output folder is not writable: {reason}; {hint}"
    return f"{name}: cannot create the output folder: {display(probe)} is not writable: {reason}; {hint}"


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
        if under(target, mount) and len(mount.parts) > best:
            best, kind = len(mount.parts), fields[2]
    return kind
