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
import shutil
import stat
import tempfile
import threading
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

    Before it makes any, the links on the way are checked as an output's are (:func:`follow_output_link`): another
    user's link in ``/tmp``, made since the job was planned (``/tmp/job42 -> /etc``), must not get a folder made
    through it.
    """
    missing = missing_folders(folder)
    if missing:
        follow_output_link(folder)
    models: dict[Path, Path] = {}
    if like is not None:
        here, there = folder, Path(os.path.abspath(like))
        for _ in range(mirrored):
            models[here] = there
            here, there = here.parent, there.parent
    for new in reversed(missing):
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


def keep_attributes(tmp: int | str | os.PathLike[str], dest: Path) -> None:
    """Give the file about to replace ``dest`` (its path, or an open descriptor of it) the permissions (and, where
    allowed, the owner) of ``dest``.

    A replaced photo (``--in-place``, ``--overwrite``) must not become readable by others just because it
    was rewritten: private pictures carry GPS. Nor must it stay readable by others when its input no longer
    is: with an input set (:func:`new_files_like`), a permission the input lacks is taken away (the stricter of
    the two; owner read stays), so a photo made private since its output was written gets a private output
    (``--in-place`` replaces the input itself, whose bits are its own). A new file gets its input's
    permissions less the umask (:func:`new_files_like`, as ``cp`` does), or else what the user's umask
    allows, as ``open`` would give it (mkstemp alone makes 0600 files). The file's dates are not copied: it
    gets the time it is written, so a backup tool sees it changed, and a rerun can tell an input edited since
    (docs/usage.md). The replaced file's user extended attributes are copied (:func:`_copy_user_xattrs`).
    """
    try:
        st = os.stat(dest)
    except OSError:
        os.chmod(tmp, new_file_mode())
        return
    _copy_user_xattrs(dest, tmp)  # first: a user may set them only on a file they may write, which 0444 is not
    mode = st.st_mode & 0o7777
    like = _LIKE.get()
    if like is not None:
        mode &= like | 0o400
    os.chmod(tmp, mode)
    if hasattr(os, "chown"):  # not on Windows
        with contextlib.suppress(OSError):  # only root may give a file away; others keep their own files
            os.chown(tmp, st.st_uid, st.st_gid)


def _copy_user_xattrs(source: Path, tmp: int | str | os.PathLike[str]) -> None:
    """Copy ``source``'s ``user.*`` extended attributes onto ``tmp`` (a path or an open descriptor), where Python
    offers them (``os.listxattr``: Linux only); silently nothing where the system or file system has none.

    Why: ``--in-place`` replaced a photo with a new file without them, so the tags and labels a file manager or
    a tagging tool keeps there (``user.xdg.tags``, ``user.xdg.comment``, ...) were gone. Only the ``user``
    namespace: ``security.*`` (an SELinux label) and ``trusted.*`` belong to the system and the new file gets its
    own. macOS keeps Finder tags and labels in extended attributes too, but Python has no API for them there
    (``os.listxattr`` exists on Linux only), so there they are not kept (docs/usage.md says so)."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = [name for name in os.listxattr(source) if name.startswith("user.")]
    except OSError:  # no xattr support on this file system, or the file went meanwhile
        return
    for name in names:
        with contextlib.suppress(OSError):  # one that cannot be read or set (too big, a quota) is left out
            os.setxattr(tmp, name, os.getxattr(source, name))


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


#: What a folder in the way tells the user to do by default: the commands' words (``-o DIR``); the Python API,
#: which has no ``-o``, passes its own (:func:`write_target`).
CHOOSE_ANOTHER_DIR = "choose another -o DIR"


def folder_in_the_way(dest: Path | str, choose: str = CHOOSE_ANOTHER_DIR) -> str:
    """The one line for a folder at the path where a file output goes (``mkdir out/p0.jpg``): the job fails, as
    it cannot be written, rather than being skipped as done. ``choose`` is the way out in the caller's terms."""
    return f"{dest}: output path is a folder; remove it or {choose}"


#: ``stat`` tests for what may lie at a path and is no file, folder or link, in words (:func:`special_kind`).
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str | None:
    """What a ``stat`` mode that is not a regular file, a folder or a symbolic link is, in words (``a FIFO``, ``a
    character device``, ``a special file`` for the rarer kinds); None for those three.

    One table for the readers, which refuse such an input (:mod:`weatherclean.io.folders`), and the writers, which
    never replace such an output (:func:`refuse_special`), so that both name a thing alike."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return None
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return kind
    return "a special file"


#: What a device, FIFO or socket at an output's path tells the user to do by default (:func:`refuse_special`).
CHOOSE_ANOTHER_PATH = "choose another output path"


def refuse_special(
    dest: str | os.PathLike[str], *, label: str | None = None, choose: str = CHOOSE_ANOTHER_PATH
) -> os.stat_result | None:
    """Raise a one-line :class:`OutputError` when ``dest`` is (or links to) a device, a FIFO or a socket, else give
    back its ``stat`` (None where there is nothing to look at), for a caller that asks more of it. ``label``
    names it in the message (``DST → TARGET`` for a link's target, :func:`write_target`); default ``dest``.
    ``choose`` ends it: the way out in the caller's terms (``choose another dst`` in the Python API).

    The message says what is wrong about the output (``out/a.png: output path is not a regular file (a FIFO)``),
    as :func:`folder_in_the_way` does: a batch gives the reason beside its input's name, and "in/a.png: not a
    regular file (a FIFO)" said that of the input, which was a plain photo.

    Why: an atomic write renames a new file over the old name, and a rename replaces whatever the name is. As
    root, ``restore_file("in.png", "/dev/full")`` and ``--overwrite`` over a FIFO at an output's path replaced
    the device node or pipe itself with a PNG (other programs then wrote into a plain file, or /dev/full was
    gone). ``open`` would at least have written into the device; neither is what anyone asks of a picture
    output, so it is refused before the temporary file is made, and again just before the rename. A link to
    such a thing is refused too: replacing the user's link would be no better. Missing paths, files and
    folders pass (a folder has its own line, :func:`folder_in_the_way`)."""
    try:
        info = os.stat(dest)
    except (OSError, ValueError):  # missing, a dangling link, a name the system refuses: the write says why
        return None
    kind = special_kind(info.st_mode)
    if kind is None:
        return info
    if label is None:
        label = os.fspath(dest)
        if os.path.islink(dest):
            label = f"{label} → {os.path.realpath(dest)}"
    raise OutputError(f"{label}: output path is not a regular file ({kind}); {choose}")


#: The most symbolic links one path may pass through, as Linux's ``MAXSYMLINKS``: it refuses more (``ELOOP``).
MAX_LINKS = 40

#: Permission bits that make a folder shared, as ``/tmp`` is: anyone may add a name, only its owner remove it.
_SHARED = stat.S_ISVTX | stat.S_IWOTH


def follow_output_link(
    dest: str | os.PathLike[str],
    *,
    choose: str = CHOOSE_ANOTHER_DIR,
    output: str | os.PathLike[str] | None = None,
) -> Path:
    """Where a write to ``dest`` lands: the real path of what exists there, through any symbolic links (as
    ``os.path.realpath``, which the commands' planner and :func:`write_target` use it for), or ``dest`` as given
    when nothing exists there (a missing path, a link to nothing: the write makes, or replaces, that name).

    A link is followed only if it is the process's own (its owner is ``os.geteuid()``), or its folder is not both
    sticky and world-writable, or the link's owner owns that folder too. Any other link is refused with a one-line
    :class:`OutputError` (``choose`` is the way out, in the caller's terms), as are more than :data:`MAX_LINKS`
    links in a row (a loop, or a chain that long) and a NUL character, which no file name holds. ``output`` is the
    output the messages name when ``dest`` is its folder (:func:`atomic_path` checks the folder); default ``dest``.

    Why: an atomic write never opens the output through the link: it renames a new file over the path found here.
    So ``realpath`` let any user's link in ``/tmp`` (``/tmp/out.png -> /etc/passwd``) make a root or service process
    replace the file it pointed to. The owner rule is that of Linux's ``fs.protected_symlinks``, applied more
    strictly than the kernel applies it: the kernel checks only the last component of a path it opens, and only when
    that setting is on; this checks every link on the way (``/tmp/dir -> /etc`` in ``/tmp/dir/out.png``), whatever
    the setting says. It protects only sticky, world-writable folders: another user's link in a folder of theirs
    (a root service writing ``/home/alice/out.png``) is followed, as the kernel follows it, since that user could
    as well have put any file there.

    The answer holds when it is given: a link made afterwards is not seen. So :func:`atomic_path` asks again just
    before it makes its temporary file, and checks just before the rename that the folder is still the one it
    checked (see there for the window that remains).

    On Windows there is no such owner rule to follow (files have no ``st_uid`` there): links are followed as
    ``os.path.realpath`` follows them, and only loops it reports are refused by the write."""
    given = os.fspath(dest)
    real = _resolve(given, choose, given if output is None else os.fspath(output))
    return Path(given) if real is None else Path(real)


def _resolve(given: str, choose: str, named: str) -> str | None:
    """:func:`follow_output_link`'s walk: the real path of ``given``, or None when something on the way is missing
    (or cannot be looked at); messages name ``named``."""
    if "\0" in given:  # os.lstat would raise ValueError ("embedded null byte"): a traceback, not a reason
        shown = named.replace("\0", "\\0")
        raise OutputError(f"{shown}: output path holds a NUL character, which no file name can; {choose}")
    if os.name == "nt":
        return os.path.realpath(given) if os.path.exists(given) else None
    pending = given.split("/")[::-1]  # the components still to walk, the next one last
    try:
        real = "/" if given.startswith("/") else os.getcwd()
    except OSError:  # the working folder was removed: the write says so
        return None
    links = 0
    folder = True  # whether ``real`` is a folder: after a file, ``..`` or a name is "not a directory", as the kernel
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if not folder:  # ``notes.txt/../x`` was taken for ``x``: the kernel answers ENOTDIR, and the write says so
            return None
        if name == "..":
            real = os.path.dirname(real)  # of a path free of links: the folder the kernel goes up to
            continue
        here = os.path.join(real, name)
        try:
            info = os.lstat(here)
        except OSError:  # nothing there (or not reachable): the write makes it, or says why it cannot
            return None
        if not stat.S_ISLNK(info.st_mode):
            real = here
            folder = stat.S_ISDIR(info.st_mode)
            continue
        links += 1
        if links > MAX_LINKS:
            too_many = f"too many levels of symbolic links (a loop, or more than {MAX_LINKS})"
            raise OutputError(f"{named}: {too_many}; {choose}")
        if not _may_follow(info, real):
            which = "output path" if here == os.path.abspath(named) else here
            raise OutputError(
                f"{named}: {which} is a symbolic link owned by another user in a shared folder (sticky, "
                f"world-writable); not followed; {choose}"
            )
        try:
            target = os.readlink(here)
        except OSError:
            return None
        if target.startswith("/"):
            real = "/"
        pending.extend(target.split("/")[::-1])
    return real


def _may_follow(link: os.stat_result, folder: str) -> bool:
    """Whether :func:`follow_output_link` follows the link whose ``lstat`` is ``link``, in the folder ``folder``: the
    owner rule of Linux's ``fs.protected_symlinks``. A folder that cannot be looked at counts as shared."""
    if not hasattr(os, "geteuid") or link.st_uid == os.geteuid():
        return True
    try:
        info = os.stat(folder)
    except OSError:
        return False
    return info.st_mode & _SHARED != _SHARED or info.st_uid == link.st_uid


def through_link(dest: str | os.PathLike[str], target: Path) -> str:
    """How a message names an output written at ``target`` for ``dest``: ``DST → TARGET`` where a link led there
    (the user named one path, and the error is about another), else ``dest`` as given."""
    given = os.fspath(dest)
    return given if os.path.abspath(given) == os.fspath(target) or Path(given) == target else f"{given} → {target}"


def write_target(dest: Path, *, choose: str = CHOOSE_ANOTHER_DIR) -> Path:
    """The path a write to ``dest`` puts its file at: ``dest``, or for a link to an existing file, that file's
    real path, so the file is replaced and the link kept (as ``cp`` and a shell's ``>`` write through a link,
    and as the batch planner resolves an output that exists). A link to nothing is replaced, as the planner
    does. Refuses, as one-line :class:`OutputError`\\ s in ``choose``'s words, another user's link in a sticky,
    world-writable folder and too many links in a row (:func:`follow_output_link`), a folder and a device, FIFO or
    socket (:func:`refuse_special`), each named ``DST → TARGET`` when a link led there, so that a caller can check
    before it does any work. What it finds may change before the write: :func:`atomic_path` checks again."""
    target = follow_output_link(dest, choose=choose)
    label = through_link(dest, target)
    info = refuse_special(target, label=label, choose=choose)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(folder_in_the_way(label, choose))
    return target


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
    folder = _resolve(os.fspath(tmp.parent), CHOOSE_ANOTHER_PATH, os.fspath(dest))
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
    (Ctrl-C cleans up by itself), before each write to ``dest``.

    The folder is scanned once and its leftovers indexed by the output they name (:data:`_LEFTOVERS`), then
    looked up at each write: a scan per write made a batch quadratic in its folder's size (of 6.7 s for 4,000
    tiny photos, 3.7 s went to scanning). The index is made again once it is :data:`STALE_SECONDS` old, so a
    process that runs for days still finds what runs killed meanwhile left: a leftover is only removed once its
    time is that old, and one written after the scan was not due then (a leftover moved in with an old time,
    ``cp -p``, waits for the next scan)."""
    folder, key, now = dest.parent, temp_prefix(dest.name)[1:-1], time.time()
    with _LEFTOVERS_LOCK:
        scanned, found = _LEFTOVERS.get(folder, (0.0, {}))
        if now - scanned > STALE_SECONDS:
            found = _leftovers_in(folder)
            if len(_LEFTOVERS) >= _LEFTOVERS_KEPT:  # a service writing a new folder per job: forget the old scans
                for old in [f for f, (when, _) in _LEFTOVERS.items() if now - when > STALE_SECONDS]:
                    del _LEFTOVERS[old]
            _LEFTOVERS[folder] = (now, found)
        paths = found.pop(key, [])
    young = [path for path in paths if not _remove_if_stale(Path(path), now)]
    if young:  # not due yet: looked at again by a later write of the same output
        with _LEFTOVERS_LOCK:
            found.setdefault(key, []).extend(young)


#: Each folder written to: when it was scanned, and its leftovers (``.NAME.*.part``) by the ``NAME`` they name
#: (cut as :func:`temp_prefix` cuts it), each entry dropped once looked at (:func:`remove_stale_parts`).
_LEFTOVERS: dict[Path, tuple[float, dict[str, list[str]]]] = {}
_LEFTOVERS_LOCK = threading.Lock()  # the pipeline's writer threads write side by side
#: Folders indexed before scans older than :data:`STALE_SECONDS` are dropped (a long-lived service).
_LEFTOVERS_KEPT = 256


def _leftovers_in(folder: Path) -> dict[str, list[str]]:
    """``folder``'s hidden temporary files and work folders, by the output name they stand for."""
    found: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        name = entry.name  # mkstemp's random part holds no dot: ".NAME.x1y2z3.part" names NAME
        if name.startswith(".") and name.endswith(".part"):
            found.setdefault(name[1:-5].rpartition(".")[0], []).append(entry.path)
    return found


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
        for name, paths in _leftovers_in(folder).items():
            if name in names:
                for path in paths:
                    _remove_if_stale(Path(path), now)


def _remove_if_stale(path: Path, now: float) -> bool:
    """Remove a temporary file or work folder not touched for :data:`STALE_SECONDS` (younger, another run may
    be writing it now); one that cannot be removed stays. False for one too young to remove."""
    with contextlib.suppress(OSError):
        if now - path.lstat().st_mtime <= STALE_SECONDS:
            return False
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    return True


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
    real = _resolve(os.fspath(folder), CHOOSE_ANOTHER_PATH, os.fspath(dest))
    if real is None and os.path.lexists(folder):  # made meanwhile: look again
        real = _resolve(os.fspath(folder), CHOOSE_ANOTHER_PATH, os.fspath(dest))
    if real is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(folder))
    return tempfile.mkstemp(prefix=temp_prefix(dest.name), suffix=".part", dir=real)


def atomic_write(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically, with the permissions a plain ``open`` would give."""
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
