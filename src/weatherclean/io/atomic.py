"""Atomic file writes: every output of weatherclean (pictures, reports, checkpoints) goes through here.

A temporary file in the destination folder is written, flushed to disk and renamed over the final name,
so an interrupted run (Ctrl-C, a full disk, a crash) never leaves a half-written file under that name. A
batch job that must not replace a file appearing at its output meanwhile links the temporary file there
instead, which fails if the name is taken (:func:`keep_existing`). A device, FIFO or socket at the output's
path is never replaced (:func:`refuse_special`); a link to a file is written through by the callers that
resolve it (:func:`write_target`), except another user's link in a sticky, world-writable folder such as ``/tmp``
(:func:`follow_output_link`), which is never followed, wherever it lies on the path.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from weatherclean.errors import DiskFullError, OutputAppeared, OutputError, is_disk_full
from weatherclean.io.leftovers import remove_stale_parts, temp_prefix
from weatherclean.io.output_links import CHOOSE_ANOTHER_PATH, folder_in_the_way, refuse_special, resolve_output_folder
from weatherclean.io.permissions import keep_attributes
from weatherclean.provenance import set_tag

T = TypeVar("T")


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


def write_error(dest: Path, exc: OSError) -> OutputError:
    """The one-line error for ``exc`` while writing ``dest``: :class:`DiskFullError` for a full disk or quota,
    which stops a batch (every later write would fail too), and the planner's words for a folder in the way."""
    if is_disk_full(exc):
        return DiskFullError(f"{dest}: disk full ({exc.strerror or exc}); nothing was written under this name")
    if exc.errno == errno.EISDIR:
        return OutputError(folder_in_the_way(dest))
    return OutputError(f"{dest}: cannot write ({exc.strerror or exc})")


#: The output path that an atomic write in this context must not replace if a file appears there meanwhile, and the
#: identity of the file there that it may replace (:func:`keep_existing`); None: replace as ``os.replace`` does.
_KEEP: contextvars.ContextVar[tuple[str, tuple[int, int, int] | None] | None] = contextvars.ContextVar(
    "weatherclean_keep_existing", default=None
)


def file_identity(info: os.stat_result) -> tuple[int, int, int]:
    """Which file a ``stat`` saw, as far as telling it from one written since goes: its modification time (ns),
    status-change time (ns) and size. The judged file of :func:`keep_existing`, and what a runner compares before
    the model runs.

    Not the inode: FAT and exFAT cards and SMB mounts without server inode numbers make one up each time a file is
    read into memory again, so an unchanged output could look replaced (and an ``--update`` job be skipped as
    "appeared meanwhile"). Any file written or renamed into place since gets a new status-change time."""
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size)


def identity_at(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """:func:`file_identity` of what lies at ``path``, or None when nothing can be looked at there."""
    try:
        return file_identity(os.stat(path))
    except OSError:
        return None


@contextlib.contextmanager
def keep_existing(dest: str | os.PathLike[str] | None, judged: tuple[int, int, int] | None = None) -> Iterator[None]:
    """While the block runs (in this thread), an atomic write to ``dest`` does not replace a file that appeared
    there meanwhile: it raises :class:`~weatherclean.errors.OutputAppeared` and leaves that file as it is. Other
    files (a ``--compare`` picture, a partial video) are written as usual. None: no output is kept. ``judged``
    (:func:`file_identity`) is the file at ``dest`` the caller judged it may replace (``--update``, an output
    older than its input and made from it): that file is replaced, any other found there instead is kept.

    Why: two runs over the same photos at once (an overlapping cron job) both found every output missing,
    both processed nearly every file, and the second one's rename replaced outputs the first had just written,
    against the rule that a run never replaces a non-empty file it was not asked to. And ``--update`` judges an
    output (by its dates and its EXIF) before the model runs, seconds before the write: another run's output
    written there meanwhile (another card's photo) was replaced unguarded. The batch sets this around each job not
    asked to replace every output (``--overwrite`` and ``--in-place`` are). The file at ``dest`` is looked at once
    more just before the rename, so a file written in that instant can still be replaced.
    """
    token = _KEEP.set(None if dest is None else (os.path.abspath(dest), judged))
    try:
        yield
    finally:
        _KEEP.reset(token)


#: The output whose atomic writes in this context get a provenance tag, and the tag (:func:`tagged`); None: no tag.
_TAG: contextvars.ContextVar[tuple[str, bytes] | None] = contextvars.ContextVar("weatherclean_tag", default=None)


@contextlib.contextmanager
def tagged(dest: str | os.PathLike[str] | None, tag: bytes | None) -> Iterator[None]:
    """While the block runs (in this thread), an atomic write to ``dest``, or of a file directly inside the folder
    ``dest`` (a ``--frames`` clip's frames, written into its work folder), gives the new file ``tag`` as its
    ``user.weatherclean`` extended attribute (:func:`~weatherclean.provenance.set_tag`), before it is renamed into
    place: the record lands with the output, ``--in-place`` too, and a file that could not be tagged is written
    all the same. None (either): nothing is tagged. Other files (a ``--compare`` picture, a copied sidecar) are not.
    """
    token = _TAG.set(None if dest is None or tag is None else (os.path.abspath(dest), tag))
    try:
        yield
    finally:
        _TAG.reset(token)


def tag_in_effect() -> bytes | None:
    """The tag :func:`tagged` gives in this context, or None: for a writer that makes its output's files elsewhere
    first (a ``--frames`` clip's work folder) to tag them too."""
    wanted = _TAG.get()
    return None if wanted is None else wanted[1]


def _tag_of(dest: Path) -> bytes | None:
    """The tag an atomic write to ``dest`` gives its file (:func:`tagged`), or None."""
    wanted = _TAG.get()
    if wanted is None:
        return None
    path = os.path.abspath(dest)
    return wanted[1] if wanted[0] in (path, os.path.dirname(path)) else None


#: ``os.link`` errors that are the write's own (the disk or file system is in trouble, or the folder went), raised as
#: they are. Any other link error (EPERM on FAT/exFAT and some FUSE systems, EINVAL that CPython makes of Windows'
#: ERROR_INVALID_FUNCTION on FAT/exFAT and ERROR_NOT_SUPPORTED on SMB shares, EXDEV, EMLINK, ...) says the file
#: system cannot make a hard link here: the commit then renames, as before. EEXIST means the name is taken.
_LINK_FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOENT}


def _commit(tmp: Path, dest: Path) -> None:
    """Put the finished ``tmp`` at ``dest``: renamed over it, or, where ``dest`` is kept (:func:`keep_existing`),
    linked there only if nothing is there yet, which the file system decides in one step, as it does a rename.
    A device, FIFO or socket that appeared at ``dest`` since the write began is never renamed over
    (:func:`refuse_special`); where ``dest`` is kept, it is a file that appeared (:class:`OutputAppeared`).

    ``tmp`` lies in the real folder :func:`atomic_path` checked, and the new name is made there too (``dest``
    names the output in messages and for :func:`keep_existing`), once the folder is checked again
    (:func:`_same_folder`)."""
    target = tmp.parent / dest.name
    _same_folder(tmp, dest)
    kept = _KEEP.get()
    if kept is None or kept[0] != os.path.abspath(dest) or (kept[1] is not None and identity_at(target) == kept[1]):
        refuse_special(target, label=os.fspath(dest))  # not kept, or still the file judged replaceable
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        if _is_taken(target, dest):
            raise OutputAppeared(dest) from None
        os.replace(tmp, target)  # an empty file or a dangling link: never an output (the plan redoes those)
        return
    except OSError as exc:
        if exc.errno in _LINK_FATAL:
            raise
        refuse_special(target, label=os.fspath(dest))
        os.replace(tmp, target)
        return
    with contextlib.suppress(OSError):  # the output is in place; a leftover link goes as a killed run's would
        os.unlink(tmp)


def _same_folder(tmp: Path, dest: Path) -> None:
    """Raise a one-line :class:`OutputError` unless the path of ``tmp``'s folder, walked again now, still leads to
    that folder through links :func:`follow_output_link` follows: just before the rename, not only before the model
    ran and before ``tmp`` was made, since the write may have taken minutes (a video)."""
    folder = resolve_output_folder(os.fspath(tmp.parent), CHOOSE_ANOTHER_PATH, os.fspath(dest))
    if folder is None or Path(folder) != tmp.parent:
        now = "is gone" if folder is None else f"now leads to {folder}"
        raise OutputError(
            f"{dest}: its folder {tmp.parent} {now} (replaced while the output was written); nothing was written "
            f"under this name; check that folder and try again"
        )


def _is_taken(target: Path, dest: Path) -> bool:
    """Whether what lies at ``target`` (``dest``'s place in its real folder) is someone's file or folder: not
    nothing, an empty file or a dangling link, which a run redoes (weatherclean never writes an empty file). A
    folder raises the folder's one line, naming ``dest``."""
    try:
        info = os.stat(target)
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(folder_in_the_way(dest))
    return info.st_size > 0 or not stat.S_ISREG(info.st_mode)


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

    The links on the way to ``dest``'s folder are checked (:func:`follow_output_link`) just before the temporary
    file is made, which goes into the real folder found rather than through the path as given, and again just
    before the rename. Why: the callers check before the model runs, and a path that did not exist yet then
    (``/tmp/job42/out.png``) may meanwhile have got another user's link (``/tmp/job42 -> /etc``), which the
    rename would have gone through. What remains is a window of microseconds between each check and the step
    after it, in which the kernel walks the path again; and a folder on the real path that another user owns
    (one they made under the name in ``/tmp`` first) is theirs to change, as its links are theirs to make.
    Closing that would take every write through folder descriptors (``openat``), which the writers (PIL,
    FFmpeg) do not take. The checks cost a walk of the path twice per file, microseconds beside its ``fsync``.
    """
    dest = Path(dest)
    refuse_special(dest)  # before a temporary file, or a video, is made for nothing
    tag = _tag_of(dest)  # as asked: a partial video (``final``) carries it too
    tmp: Path | None = None
    try:
        fd, name = make_beside(dest.parent, lambda folder: _make_temporary(folder, dest))
        os.close(fd)
        tmp = Path(name)
        remove_stale_parts(tmp.parent / dest.name)
        yield tmp
        if final is not None:
            dest = final()
        try:  # the file itself, not a link put in its place, is flushed and given its permissions
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            _same_folder(tmp, dest)  # gone because its folder was replaced: say so
            raise
        try:
            os.fsync(fd)
            # through the descriptor where POSIX allows it; on Windows a read-only handle cannot set attributes
            by_fd = os.chmod in os.supports_fd and os.name != "nt"
            keep_attributes(fd if by_fd else tmp, tmp.parent / dest.name)
            if tag is not None:  # the replaced file's tag is never copied: the new file has ours or none
                set_tag(fd if by_fd else tmp, tag)
        finally:
            os.close(fd)
        _commit(tmp, dest)
        tmp = None
    except OSError as exc:
        raise write_error(dest, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    with contextlib.suppress(OSError):  # make the rename itself durable; not all systems allow this
        dfd = os.open(Path(name).parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _make_temporary(folder: Path, dest: Path) -> tuple[int, str]:
    """``mkstemp`` for ``dest`` in the real path of ``folder``, its links checked just now (:func:`atomic_path`). A
    folder missing on the way is "No such file", for :func:`make_beside` to make, unless another job made it
    meanwhile: never a temporary file made through a path whose links were not checked."""
    real = resolve_output_folder(os.fspath(folder), CHOOSE_ANOTHER_PATH, os.fspath(dest))
    if real is None and os.path.lexists(folder):  # made meanwhile: look again
        real = resolve_output_folder(os.fspath(folder), CHOOSE_ANOTHER_PATH, os.fspath(dest))
    if real is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(folder))
    return tempfile.mkstemp(prefix=temp_prefix(dest.name), suffix=".part", dir=real)


def atomic_write(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically, with the permissions a plain ``open`` would give."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
