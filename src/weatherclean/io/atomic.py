"""Atomic file writes: every output of weatherclean (pictures, reports, checkpoints) goes through here.

A temporary file in the destination folder is written, flushed to disk and renamed over the final name,
so an interrupted run (Ctrl-C, a full disk, a crash) never leaves a half-written file under that name. A
batch job that must not replace a file appearing at its output meanwhile links the temporary file there
instead, which fails if the name is taken (:func:`keep_existing`).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from weatherclean.errors import DiskFullError, OutputAppeared, OutputError, is_disk_full

T = TypeVar("T")


def missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet (deepest first): what a write may create, and
    so what :func:`remove_empty` takes away again when it fails (no empty folders left behind)."""
    missing: list[Path] = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty(folders: Sequence[Path]) -> None:
    """Remove those of ``folders`` (deepest first) that exist and are empty; a folder with anything in
    it, another process's output included, stays."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


#: How many times a temporary file is tried when its folder vanished under it (see :func:`make_beside`).
FOLDER_ATTEMPTS = 5


def make_beside(folder: Path, make: Callable[[Path], T]) -> T:
    """``make(folder)`` (a ``mkstemp`` or ``mkdtemp`` there), creating ``folder`` again if it vanished.

    Jobs that share an output tree (Ray actors, two runs side by side) each create the folders they
    need and remove them again, if empty, when their job fails. One job's cleanup can thus remove a
    folder that another has just created and is about to write in; once a temporary file is inside, no
    cleanup can remove the folder. So the folder is made again (as each job's own ``mkdir`` would) and
    the temporary tried again. A folder that still exists and refuses the file with "No such file" (a
    virtual file system such as ``/proc``) is not retried: that error is the answer.
    """
    for _ in range(FOLDER_ATTEMPTS - 1):
        try:
            return make(folder)
        except FileNotFoundError:
            if os.path.lexists(folder):
                raise
        with contextlib.suppress(FileNotFoundError):  # another cleanup mid-way: the next attempt tells
            folder.mkdir(parents=True, exist_ok=True)
    return make(folder)


#: The permission bits of the input a new output is made from (:func:`new_files_like`); None: a plain new file's.
_LIKE: contextvars.ContextVar[int | None] = contextvars.ContextVar("weatherclean_new_files_like", default=None)

#: What an input's permission bits count as when they cannot be read (it was moved or removed meanwhile): private.
#: Falling back to what ``open`` gives would make a private photo's output world-readable.
UNKNOWN_MODE = 0o600


def input_mode(source: str | os.PathLike[str]) -> int:
    """``source``'s permission bits (``st_mode & 0o7777``), or :data:`UNKNOWN_MODE` when they cannot be read.

    Read once, when a job starts (:func:`new_files_like`): a video written an hour later must not take
    permissive defaults because its input was moved meanwhile."""
    try:
        return os.stat(source).st_mode & 0o7777
    except OSError:
        return UNKNOWN_MODE


@contextlib.contextmanager
def new_files_like(like: str | os.PathLike[str] | int | None) -> Iterator[None]:
    """While the block runs (in this thread), files written here take their permissions from an input: ``like``
    is its path (its bits are read now, :func:`input_mode`) or its bits read earlier; None: what ``open`` gives.

    A new file gets the input's bits less the umask (:func:`copy_mode`), as ``cp`` gives its copies. A file
    replaced (``--overwrite``, ``update``) keeps its own bits, less any the input lacks (:func:`keep_attributes`):
    a photo made private since its output was written must not be redone into a world-readable file.

    Why: a photo made private (0600: it carries GPS coordinates) got a world-readable 0644 output, while
    ``--in-place`` kept its 0600. The writers (:func:`weatherclean.io.images.save_image`, the video muxer,
    comparison pictures) need not know the input: the batch handler that knows it sets it around them. A
    context variable rather than a global: a batch writes photos from several threads at once.
    """
    mode = like if isinstance(like, int) or like is None else input_mode(like)
    token = _LIKE.set(mode)
    try:
        yield
    finally:
        _LIKE.reset(token)


def copy_mode(source: str | os.PathLike[str] | int, *, folder: bool = False) -> int:
    """The permission bits ``cp`` gives a new copy of ``source`` (a path, or bits read already), less the umask.

    Read, write and execute for others and the group come from the source; set-user-ID, set-group-ID and
    sticky never do, and a file is never made executable (photos from a FAT or NTFS disk show as 0777). The
    owner keeps read access at least (read, write and enter for a ``folder``): an output its owner could not
    read back would be useless, and a folder it could not write could not be replaced by a rerun. A read-only
    file (0444) stays read-only, as with ``cp``; ``--overwrite`` still replaces it, since a rename needs only the
    folder to be writable. A source whose bits cannot be read counts as private (:data:`UNKNOWN_MODE`).
    """
    bits = source if isinstance(source, int) else input_mode(source)
    if folder:
        return (bits & 0o777 & ~process_umask()) | 0o700
    return (bits & 0o666 & ~process_umask()) | 0o400


def new_file_mode() -> int:
    """The permissions of a new file written now: its input's (:func:`new_files_like`), else the umask's."""
    like = _LIKE.get()
    return copy_mode(like) if like is not None else 0o666 & ~process_umask()


def make_folders(folder: Path, like: str | os.PathLike[str] | None = None, *, mirrored: int = 0) -> None:
    """Create ``folder`` and its missing parents, as ``mkdir -p``; the new ones that mirror an input folder take
    its permissions less the umask (:func:`copy_mode`), as ``cp -r`` gives them.

    ``like`` is the input folder that ``folder`` mirrors, and ``mirrored`` how many folders, from ``folder`` up,
    mirror ``like`` and its parents (``out/2019`` and ``out`` mirror ``priv/2019`` and ``priv``: 2). Why: a
    private 0700 folder of photos got a 0755 ``priv_desnowed/`` that anyone could list. Other new folders get
    exactly what ``mkdir`` gives (no ``chmod``: a default ACL's mask stays as the system set it); a folder that
    exists already (another job's, another run's, the user's) is never changed.

    A new folder in a set-group-ID folder keeps the set-group-ID bit the system gave it (:func:`keep_setgid`):
    in a team's ``chmod 2770`` folder, outputs must belong to the team's group, or its members are locked out.
    """
    models: dict[Path, Path] = {}
    if like is not None:
        here, there = folder, Path(os.path.abspath(like))
        for _ in range(mirrored):
            models[here] = there
            here, there = here.parent, there.parent
    for new in reversed(missing_folders(folder)):
        model = models.get(new)
        try:
            if model is None:
                os.mkdir(new)  # what mkdir(1) gives: the umask, a default ACL, the parent's set-group-ID
                continue
            os.mkdir(new, 0o700)  # never more open than meant, even for an instant
        except FileExistsError:
            continue  # made meanwhile by another job or run: not ours to change
        os.chmod(new, keep_setgid(new, copy_mode(model, folder=True)))


def keep_setgid(folder: str | os.PathLike[str], mode: int) -> int:
    """``mode`` for the new ``folder``, plus the set-group-ID bit the system gave it (made in a set-group-ID folder).

    Why: ``chmod`` with bits from :func:`copy_mode` (which never copies set-group-ID from an input) cleared the bit
    a new folder inherits, so the files written below it took the user's own group instead of the team folder's,
    and the team could no longer read them."""
    return mode | (os.lstat(folder).st_mode & stat.S_ISGID)


def keep_attributes(tmp: str | os.PathLike[str], dest: Path) -> None:
    """Give the file about to replace ``dest`` the permissions (and, where allowed, the owner) of ``dest``.

    A replaced photo (``--in-place``, ``--overwrite``) must not become readable by others just because it
    was rewritten: private pictures carry GPS. Nor must it stay readable by others when its input no longer
    is: with an input set (:func:`new_files_like`), a permission the input lacks is taken away (the stricter of
    the two; owner read stays), so a photo made private since its output was written gets a private output
    (``--in-place`` replaces the input itself, whose bits are its own). A new file gets its input's
    permissions less the umask (:func:`new_files_like`, as ``cp`` does), or else what the user's umask
    allows, as ``open`` would give it (mkstemp alone makes 0600 files). The file's dates are not copied: it
    gets the time it is written, so a backup tool sees it changed, and a rerun can tell an input edited since
    (docs/usage.md).
    """
    try:
        st = os.stat(dest)
    except OSError:
        os.chmod(tmp, new_file_mode())
        return
    mode = st.st_mode & 0o7777
    like = _LIKE.get()
    if like is not None:
        mode &= like | 0o400
    os.chmod(tmp, mode)
    with contextlib.suppress(OSError):  # only root may give a file away; others keep their own files
        os.chown(tmp, st.st_uid, st.st_gid)


def process_umask() -> int:
    """The process's umask, read where the system shows it (Linux) rather than by setting it: setting it
    to read it races with other threads creating files meanwhile (a batch writes from several)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_error(dest: Path, exc: OSError) -> OutputError:
    """The one-line error for ``exc`` while writing ``dest``: :class:`DiskFullError` for a full disk or quota,
    which stops a batch (every later write would fail too), and the planner's words for a folder in the way."""
    if is_disk_full(exc):
        return DiskFullError(f"{dest}: disk full ({exc.strerror or exc}); nothing was written under this name")
    if exc.errno == errno.EISDIR:
        return OutputError(folder_in_the_way(dest))
    return OutputError(f"{dest}: cannot write ({exc.strerror or exc})")


def folder_in_the_way(dest: Path) -> str:
    """The one line for a folder at the path where a file output goes (``mkdir out/p0.jpg``): the job fails, as
    it cannot be written, rather than being skipped as done."""
    return f"{dest}: output path is a folder; remove it or choose another -o DIR"


#: The output path that an atomic write in this context must not replace if a file appears there meanwhile
#: (:func:`keep_existing`); None: replace as ``os.replace`` does.
_KEEP: contextvars.ContextVar[str | None] = contextvars.ContextVar("weatherclean_keep_existing", default=None)


@contextlib.contextmanager
def keep_existing(dest: str | os.PathLike[str] | None) -> Iterator[None]:
    """While the block runs (in this thread), an atomic write to ``dest`` does not replace a file that appeared
    there meanwhile: it raises :class:`~weatherclean.errors.OutputAppeared` and leaves that file as it is. Other
    files (a ``--compare`` picture, a partial video) are written as usual. None: no output is kept.

    Why: two runs over the same photos at once (an overlapping cron job) both found every output missing,
    both processed nearly every file, and the second one's rename replaced outputs the first had just written,
    against the rule that a run never replaces a non-empty file it was not asked to. The batch sets this around
    each job not asked to replace its output (``--overwrite``, ``--update``, ``--in-place`` are).
    """
    token = _KEEP.set(None if dest is None else os.path.abspath(dest))
    try:
        yield
    finally:
        _KEEP.reset(token)


#: ``os.link`` errors that are the write's own (the disk or file system is in trouble, or the folder went), raised as
#: they are. Any other link error (EPERM on FAT/exFAT and some FUSE systems, EINVAL that CPython makes of Windows'
#: ERROR_INVALID_FUNCTION on FAT/exFAT and ERROR_NOT_SUPPORTED on SMB shares, EXDEV, EMLINK, ...) says the file
#: system cannot make a hard link here: the commit then renames, as before. EEXIST means the name is taken.
_LINK_FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOENT}


def _commit(tmp: Path, dest: Path) -> None:
    """Put the finished ``tmp`` at ``dest``: renamed over it, or, where ``dest`` is kept (:func:`keep_existing`),
    linked there only if nothing is there yet, which the file system decides in one step, as it does a rename."""
    if _KEEP.get() != os.path.abspath(dest):
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)
    except FileExistsError:
        if _is_taken(dest):
            raise OutputAppeared(dest) from None
        os.replace(tmp, dest)  # an empty file or a dangling link: never an output (the plan redoes those)
        return
    except OSError as exc:
        if exc.errno in _LINK_FATAL:
            raise
        os.replace(tmp, dest)
        return
    with contextlib.suppress(OSError):  # the output is in place; a leftover link goes as a killed run's would
        os.unlink(tmp)


def _is_taken(dest: Path) -> bool:
    """Whether what lies at ``dest`` is someone's file or folder: not nothing, an empty file or a dangling link,
    which a run redoes (weatherclean never writes an empty file). A folder raises the folder's one line."""
    try:
        info = os.stat(dest)
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(folder_in_the_way(dest))
    return info.st_size > 0 or not stat.S_ISREG(info.st_mode)


#: A temporary file this old was left by a run that was killed (SIGKILL, power cut), not one in progress.
STALE_SECONDS = 600


#: The longest file name most file systems take, in bytes.
NAME_MAX = 255


def temp_prefix(name: str) -> str:
    """``.NAME.``, the start of a temporary file's name beside ``NAME`` (``mkstemp`` adds 8 characters and
    ``.part``): cut to fit :data:`NAME_MAX` bytes, since a photo named with 241 to 255 bytes (80 CJK
    characters) was read and desnowed, and then its temporary file could not be made ("File name too
    long"). The cleanups match leftovers by this prefix too, so a killed run's leftover of such a file
    goes as any other."""
    room = NAME_MAX - len(".") - len(".") - 8 - len(".part")
    encoded = os.fsencode(name)
    if len(encoded) > room:
        name = encoded[:room].decode("utf-8", "ignore") or os.fsdecode(encoded[:room])
    return f".{name}."


def remove_stale_parts(dest: Path) -> None:
    """Delete ``.NAME.*.part`` files (and ``--frames`` work folders) that a killed run left beside ``dest``
    (Ctrl-C cleans up by itself), before each write to ``dest``: :func:`remove_stale_parts_beside` for one."""
    remove_stale_parts_beside([dest])


def remove_stale_parts_beside(outputs: Iterable[Path]) -> None:
    """:func:`remove_stale_parts` for many outputs, one scan of each folder: what a rerun does for the
    outputs it skips as done, since none of them is written again and a file finished after a kill would
    otherwise keep its hidden leftover for ever. One glob per output made a rerun of a batch of thousands
    quadratic in the folder's size (35 s to plan 8,000 outputs)."""
    by_folder: dict[Path, set[str]] = {}
    for output in outputs:
        by_folder.setdefault(output.parent, set()).add(temp_prefix(output.name)[1:-1])  # a long name, cut
    now = time.time()
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            # mkstemp's random part holds no dot: ".NAME.x1y2z3.part" names NAME
            if name.startswith(".") and name.endswith(".part") and name[1:-5].rpartition(".")[0] in names:
                _remove_if_stale(Path(entry.path), now)


def _remove_if_stale(path: Path, now: float) -> None:
    """Remove a temporary file or work folder not touched for :data:`STALE_SECONDS` (younger, another run may
    be writing it now); one that cannot be removed stays."""
    with contextlib.suppress(OSError):
        if now - path.lstat().st_mtime <= STALE_SECONDS:
            return
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


@contextlib.contextmanager
def atomic_path(dest: Path, *, final: Callable[[], Path] | None = None) -> Iterator[Path]:
    """A hidden temporary path beside ``dest`` to write to; renamed over ``dest`` only if the block ends.

    For writers that need a file name rather than bytes (video muxers). On success the file is
    fsynced, given ``dest``'s permissions (see :func:`keep_attributes`) and renamed into place (linked, where
    :func:`keep_existing` keeps ``dest``); on any exception it is removed. A full disk becomes
    :class:`DiskFullError`, other OS errors :class:`OutputError`. ``final``, called when the block has ended,
    may name another file in the same folder to rename to instead: a writer that learns only at the end that
    its result is not the one asked for (a video that decoded in part) must not put it under the name a rerun
    takes as done.
    """
    dest = Path(dest)
    remove_stale_parts(dest)
    tmp: Path | None = None
    try:
        fd, name = make_beside(
            dest.parent, lambda folder: tempfile.mkstemp(prefix=temp_prefix(dest.name), suffix=".part", dir=folder)
        )
        os.close(fd)
        tmp = Path(name)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if final is not None:
            dest = final()
        keep_attributes(tmp, dest)
        _commit(tmp, dest)
        tmp = None
    except OSError as exc:
        raise write_error(dest, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    with contextlib.suppress(OSError):  # make the rename itself durable; not all systems allow this
        dfd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def atomic_write(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically, with the permissions a plain ``open`` would give."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
