"""Files and folders checked before any work: output folders that must be writable, an input file that must
be there, and paths as messages name them.

Every command that writes (desnow, derain, compare, evaluate, synth) checks its output folders here first, so
a folder that cannot be made or written fails in one line before a picture is read; the photo and video
readers check each input file here before their decoders see it. Like :mod:`.atomic`, this
module needs neither NumPy nor Pillow.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from weatherclean.errors import InputError, OutputError, folder_not_file

__all__ = ["check_input_file", "check_writable_folders", "display", "under"]


def display(path: Path) -> Path:
    """Paths relative to the working directory when possible: shorter messages, same meaning.

    Not when the working directory is the file system's root (a cron job, a container): ``/tmp/a.jpg``
    shown as ``tmp/a.jpg`` reads as a different file to anyone not in ``/``."""
    cwd = Path.cwd()
    if cwd == Path(cwd.anchor):
        return path
    try:
        return path.relative_to(cwd)
    except ValueError:
        return path


def under(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies inside it (no resolving: callers pass resolved paths)."""
    return path == root or root in path.parents


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
    """``folder`` or its nearest ancestor that exists: where a new output folder would be made. ``os.path.exists``,
    not ``Path.exists``: under a folder that cannot be searched the latter raises (Python 3.11), and the
    search must go on up to that folder, whose write probe then says "permission denied"."""
    probe = folder
    while not os.path.exists(probe) and probe.parent != probe:
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


def check_input_file(path: Path, kind: str) -> None:
    """Refuse a folder, a missing or unreadable file and an empty one in one line naming ``path``, before a
    decoder sees it (Pillow and FFmpeg say less clearly what is wrong). ``kind`` names what was expected
    (``an image file``, ``a video file``) for a folder given in its place."""
    try:
        st = path.stat()  # one look, which can fail itself: a folder listed but not entered (chmod 644)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied (check the permissions of the file and its folder)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: {folder_not_file(kind)}")
    size = st.st_size
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes); re-copy it from the source")
