"""One ``--in-place`` run at a time over an input: advisory locks (``flock``) held for the whole run, in a private
per-user folder, so that two runs never restore the same photos twice and nothing is written into the user's
folders. :func:`inputs_locked` is what the commands use; the rest is how a lock is named, taken and handed back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from weatherclean.batch.jobs import Record
from weatherclean.errors import InputError
from weatherclean.io.folders import expand_home
from weatherclean.io.permissions import user_name

__all__ = ["LOCK_PARENT", "MOST_LOCKS", "inputs_locked", "lock_folder"]


#: The most file descriptors the locks of an ``--in-place`` run hold (:func:`inputs_locked`): each lock keeps one
#: open for the whole run (two with ``--shard``), and the run needs its own. More inputs named than a quarter of
#: this (a shell's ``*.jpg``) are locked by their folders, and ancestors past it go unlocked.
MOST_LOCKS = 256

#: Where the per-user lock folder is made (:func:`lock_folder`); None: ``/tmp`` (else the system's temporary
#: folder). Tests point it elsewhere.
LOCK_PARENT: Path | None = None


@contextlib.contextmanager
def inputs_locked(paths: Sequence[str], shard: tuple[int, int] | None = None) -> Iterator[Record | None]:
    """While the block runs, hold an advisory lock on each input of an ``--in-place`` run: exclusive on each folder
    and file given (a glob pattern's matches; a recursive ``**`` pattern's literal folder), shared on each folder
    above them. A second ``--in-place`` run over the same input, one inside it or one around it is refused before
    any work (:class:`~weatherclean.errors.InputError`, exit code 2), naming the input.

    Why: two ``--in-place`` runs over one folder at once (a cron job started again before the last one ended)
    each replaced every photo with its result, silently: every photo came out desnowed twice, with exit code 0.

    The locks are ``flock`` on files of a private folder of the user's (:func:`lock_folder`), one per input and
    folder above it, named by its (device, inode), a file's by its folder's and its name (:func:`_lock_name`), so
    they are per user and per machine: never on the user's own files, which another program may lock
    for its own ends (``flock -n photos weatherclean desnow photos --in-place``, as usage.md suggests for cron,
    was refused as "another run"), and nothing is written into the user's folders. The system releases them when
    the run ends, however it ends. With ``shard`` (``--shard K/N``) the processes of one split work side by side,
    as usage.md says: each takes the input's lock shared (an unsharded run, which takes it exclusive, still
    conflicts) and an exclusive lock of its own shard, so one shard started twice is refused. Where no private
    folder can be had (one owned by another user, or a link; a read-only ``/tmp`` and no writable ``TMPDIR``), or
    the file system takes no ``flock``, the run goes on without locking. Runs without ``--in-place`` take none: they
    never replace what another run wrote.

    The block is given None, or a note to show once where locking is off because no lock folder can be had: the
    lock folder's name is taken by another user's folder or a link (:func:`_not_yours_note`; such a folder,
    ``mkdir -m 0777 /tmp/weatherclean-UID`` by anyone, switched the user's locking off for good, silently, and two
    runs then each processed every photo with exit code 0), or it cannot be had (:func:`_unmade_note`: a
    read-only ``/tmp``, one open to all without the sticky bit). A file system without ``flock`` gives no note:
    nothing can be done about it, and usage.md says so.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; nothing is locked
        yield
        return
    folder, unlocked = _lock_folder(None)
    if folder is None:
        yield unlocked
        return
    targets = sorted(_lock_targets(paths), key=lambda pair: str(pair[1]))  # one order: `a b` and `b a` never both lose
    if len(targets) > MOST_LOCKS // 4:  # many files named: by their folders
        folders = {(shown if real.is_dir() else shown.parent, real if real.is_dir() else real.parent)
                   for shown, real in targets}  # fmt: skip
        targets = sorted(folders, key=lambda pair: str(pair[1]))[: MOST_LOCKS // 4]
    split = f".shard-{shard[0]}-of-{shard[1]}" if shard else None
    locks = _Locks(folder, fcntl)
    try:
        locks.take_folder()
        for shown, real in targets:
            refused = locks.take(real, "", fcntl.LOCK_SH if split else fcntl.LOCK_EX)
            if split and refused is None:
                refused = locks.take(real, split, fcntl.LOCK_EX)
            if refused is not None:
                inside = " (or on something in it)" if real.is_dir() and refused == 0 else ""
                raise _busy(f"{shown}: another weatherclean --in-place run is working on it{_pid(refused)}{inside}")
        seen: set[Path] = set()
        for shown, real in targets:
            for above in real.parents:
                if above in seen:  # it and the folders above it were taken already
                    break
                seen.add(above)
                if len(locks.held) >= MOST_LOCKS:
                    break
                refused = locks.take(above, "", fcntl.LOCK_SH)
                if split and refused is None:
                    refused = locks.take(above, split, fcntl.LOCK_SH)
                if refused is not None:
                    where = _as_seen_from_here(above)
                    raise _busy(
                        f"{shown}: another weatherclean --in-place run{_pid(refused)} is working on {where}, "
                        "which holds it"
                    )
        yield
    finally:
        locks.release()


def lock_folder(parent: Path | None = None) -> Path | None:
    """The private folder of this user's ``--in-place`` locks, ``weatherclean-UID/locks`` in ``/tmp`` (else the
    system's temporary folder), made ``0700``; None when it cannot be had safely: a folder of that name owned by
    someone else, or a link in its place, a parent writable by others without the sticky bit, or none can be made.

    A folder of the user's own at another mode (``0755``, a umask's, or one the user opened up) is made ``0700``
    again, not given up on: giving up switched locking off for good, silently, for every later run.

    Why not ``$XDG_RUNTIME_DIR`` or ``$TMPDIR`` first: every run of the user must find the same folder, and a cron
    job has no ``XDG_RUNTIME_DIR`` where a login shell has one, while Slurm gives each job a ``TMPDIR`` of its own:
    runs of one user would each look in their own folder and never see the other's lock. ``$TMPDIR`` is tried only
    where ``/tmp`` cannot hold the folder (read-only, or open to all without the sticky bit: :func:`_lock_folder`),
    where every run finds ``/tmp`` the same way and so goes on to the same ``TMPDIR``, given one for all."""
    return _lock_folder(parent)[0]


def _lock_folder(parent: Path | None) -> tuple[Path | None, Record | None]:
    """:func:`lock_folder`, and when it is None, the note that says why (:func:`_not_yours_note`,
    :func:`_unmade_note`); None too when nothing can be said (a file system without ``flock`` is found later).

    The folder is made in ``parent``, else in ``/tmp`` (:data:`LOCK_PARENT` in tests; the system's temporary folder
    where there is no ``/tmp``). Where that parent cannot hold it (read-only, as in a hardened container; open to all
    without the sticky bit, as a Kubernetes ``emptyDir`` is), ``$TMPDIR`` is tried next, so a container can point
    its runs at a writable folder. Not when the name in ``/tmp`` is another user's: that stays a note, whatever
    ``TMPDIR`` says, so that no one can move a user's locks where the user's other runs do not look."""
    import tempfile

    if parent is None:
        parent = LOCK_PARENT
    if parent is None:
        parent = Path("/tmp") if os.path.isdir("/tmp") else Path(tempfile.gettempdir())
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    tried: list[tuple[Path, str]] = []
    for where in _lock_parents(parent):
        locks, note, why = _lock_folder_in(where, uid)
        if locks is not None or note is not None:
            return locks, note
        if why is not None:
            tried.append((where / f"weatherclean-{uid}" / "locks", why))
    return None, _unmade_note(tried)


def _lock_parents(first: Path) -> list[Path]:
    """The folders the lock folder may be made in, in order: ``first``, then ``$TMPDIR`` when it is set to another
    absolute path (:func:`_lock_folder`). Not :func:`tempfile.gettempdir`: with no ``TMPDIR`` and a read-only
    ``/tmp`` it falls back to ``/var/tmp`` and at last to the working folder, which may be the very photos."""
    tmpdir = os.environ.get("TMPDIR", "")
    if not tmpdir or not os.path.isabs(tmpdir) or os.path.realpath(tmpdir) == os.path.realpath(first):
        return [first]
    return [first, Path(tmpdir)]


def _lock_folder_in(parent: Path, uid: int) -> tuple[Path | None, Record | None, str | None]:
    """The lock folder made in ``parent`` (``weatherclean-UID/locks``), or None with the note of a name another
    user's folder (or a link) holds, or else with why that lock folder cannot be had there, said of it (the note
    reads ``FOLDER: reason``: :func:`_unmade_note`); None when nothing need be said (the folder is ours but unusable
    for a reason that :func:`_made_private` saw)."""
    own, locks = parent / f"weatherclean-{uid}", parent / f"weatherclean-{uid}" / "locks"
    if not _shared_parent(parent):
        return None, None, _unshared_reason(parent)
    for folder in (own, locks):  # own first: once it is 0700, no one else can put anything at locks' name
        made: OSError | None = None
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            made = exc
        if not _made_private(folder, uid):
            note = _not_yours_note(folder, uid)
            if note is not None:
                return None, note, None
            if made is not None:
                return None, None, f"cannot be made ({made.strerror or made})"
            return None, None, f"{folder.name} cannot be opened as a folder of yours, nor made private (mode 0700)"
    if not os.access(locks, os.W_OK | os.X_OK):  # an old folder of ours on a file system now read-only
        return None, None, "exists but cannot be written (read-only file system?)"
    return locks, None, None


def _unshared_reason(parent: Path) -> str:
    """Why the lock folder cannot be made in ``parent`` (:func:`_shared_parent` said no), in words that follow the
    lock folder's own path (which names ``parent``) in the note."""
    try:
        info = os.stat(parent)
    except OSError as exc:
        return f"cannot be made ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return "cannot be made (its parent is not a folder)"
    return (
        f"is not made: its parent is open to all without the sticky bit (mode {info.st_mode & 0o7777:04o}, as a "
        "Kubernetes emptyDir is), so another user could move it away"
    )


def _unmade_note(tried: list[tuple[Path, str]]) -> Record | None:
    """The note of a run that is not locked because no lock folder could be had (``tried``: each lock folder tried
    and why it failed; None when there is nothing to tell): ``FOLDER: reason`` for each, one after the other, then
    what it means and what to do.

    Why: a read-only ``/tmp`` (a hardened container with no ``emptyDir`` there) switched locking off silently, and
    two ``--in-place`` runs over one folder each replaced every photo, both with exit code 0. Why one ``FOLDER:
    reason`` each: the note said "cannot make" of a folder that existed, showed its parent rather than the lock
    folder, nested parentheses, and, with ``TMPDIR`` failing too, ran to 500 characters that repeated the path."""
    if not tried:
        return None
    (first, why), rest = tried[0], tried[1:]
    also = "".join(f"; {folder}: {reason}" for folder, reason in rest)
    return Record(
        first,
        f"the --in-place lock folder {why}{also}; so this --in-place run is not locked against another one over the "
        "same photos: set TMPDIR to a folder of your own that you can write (the same for every run), so that "
        "--in-place runs lock",
    )


def _not_yours_note(folder: Path, uid: int) -> Record | None:
    """The note of a lock folder whose name another user's folder (or a link) holds, so the run is not locked:
    who owns it and what to do; None when that is not why (gone, or ours but unusable for another reason).

    Why: the user cannot tell otherwise that their runs no longer exclude each other, and only its owner (or an
    administrator) can remove it from a sticky ``/tmp``."""
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        what = "is a link, not a folder of yours"
    elif info.st_uid != uid:
        what = f"is not yours (owned by {user_name(info.st_uid)}, mode {info.st_mode & 0o7777:04o})"
    elif not stat.S_ISDIR(info.st_mode):
        what = "is not a folder"
    else:
        return None
    return Record(
        folder,
        f"{what}: this --in-place run is not locked against another one over the same photos; remove it (ask its "
        "owner or an administrator) so that --in-place runs lock again",
    )


def _shared_parent(folder: Path) -> bool:
    """Whether ``folder`` (``/tmp``, the system's own, a link on macOS) may hold the user's lock folder: a folder
    not writable by others, or with the sticky bit (no one can remove or rename another's folder in it)."""
    try:
        info = os.stat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and not (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX)


def _made_private(folder: Path, uid: int) -> bool:
    """Whether ``folder`` is the user's own real folder (not a link), made ``0700`` if it was not: through one
    descriptor opened without following a link, so the folder judged is the folder changed."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # gone, a link (ELOOP), not a folder
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            return False
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o700)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


#: How a lock file is opened: never through a link put in its place, nor kept open by a program the run starts.
_LOCK_FILE_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


#: How often a lock another run holds is tried (:meth:`_Locks.take`), and the wait between tries, before the run
#: is refused: a run that is ending holds its locks a moment longer, while it removes its lock files.
_LOCK_TRIES = 6
_LOCK_RETRY_SECONDS = 0.025


class _Locks:
    """The lock files one run holds in ``folder`` (:func:`inputs_locked`), each kept open and locked for the run,
    its descriptor held by name, so that no file is locked twice (a second ``flock`` of one file through another
    descriptor would be refused as another run's); and the names of those held exclusively, the only ones the run
    removes when it ends (:meth:`release`)."""

    def __init__(self, folder: Path, fcntl: Any) -> None:
        self.folder = folder
        self.fcntl = fcntl
        self.held: dict[str, int] = {}
        self.exclusive: set[str] = set()

    def take_folder(self) -> None:
        """A shared lock on the folder itself, for the run: ``systemd-tmpfiles`` leaves a locked folder alone, so
        the files of a run of many days are not cleaned away under it. None of this may fail the run."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        self.held["."] = fd
        with contextlib.suppress(OSError):
            self.fcntl.flock(fd, self.fcntl.LOCK_SH | self.fcntl.LOCK_NB)

    def take(self, path: Path, kind: str, operation: int) -> int | None:
        """Take ``operation`` (``LOCK_EX`` or ``LOCK_SH``) on the lock file of ``path`` (``kind`` names one of
        its shard's; :func:`_lock_name`): None when taken (or already held by this run, or impossible: a path that
        is gone, a file system without ``flock``; the run goes on without it), else the process id recorded by
        the run that holds it (0: none recorded, or the run is gone).

        A lock held by another run is tried again a few times, a moment apart (:data:`_LOCK_TRIES`), before it
        counts: a run that ends holds its exclusive locks while it removes their files, and a run that started
        just then was refused, though the two never worked at once."""
        name = _lock_name(path, kind)
        if name is None or name in self.held:
            return None
        file = self.folder / name
        refused: int | None = None
        for attempt in range(_LOCK_TRIES):
            try:
                fd = os.open(file, _LOCK_FILE_FLAGS, 0o600)
            except OSError:
                return None
            try:
                self.fcntl.flock(fd, operation | self.fcntl.LOCK_NB)
            except BlockingIOError:
                refused = _recorded_pid(fd)
                os.close(fd)
                if attempt < _LOCK_TRIES - 1:
                    time.sleep(_LOCK_RETRY_SECONDS)
                continue  # opened anew: its holder may have removed the file meanwhile
            except OSError:  # this file system takes no flock (ENOLCK, EOPNOTSUPP)
                os.close(fd)
                return None
            except BaseException:  # an interruption before the descriptor is recorded: never left open
                os.close(fd)
                raise
            try:
                if not _same_file(fd, file):  # unlinked by its last holder between our open and our lock
                    os.close(fd)
                    continue
                if operation == self.fcntl.LOCK_EX:  # recorded for the message of a run it refuses
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
                        os.write(fd, f"{os.getpid()}\n".encode())
            except BaseException:
                os.close(fd)
                raise
            self.held[name] = fd
            if operation == self.fcntl.LOCK_EX:
                self.exclusive.add(name)
            return None
        return refused

    def release(self) -> None:
        """Close every lock; the lock files held exclusively are removed first, while still held (a run that
        opened one meanwhile notices, :func:`_same_file`), so the folder does not fill up. A shared lock is never
        turned exclusive to remove its file: another run's shared lock on the same folder above its own input,
        taken at that moment, was refused (two runs over unrelated folders refused each other over ``/tmp``). The
        files of shared locks stay, one per folder."""
        while self.held:
            name, fd = self.held.popitem()
            if name in self.exclusive:
                with contextlib.suppress(OSError):
                    if _same_file(fd, self.folder / name):
                        os.unlink(self.folder / name)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.exclusive.clear()


def _lock_name(path: Path, kind: str) -> str | None:
    """The name of ``path``'s lock file (``kind``: a shard's suffix), None when it is gone: a folder's by its
    (device, inode); a file's by its folder's and its own name (hashed: any bytes, any length), not its inode:
    ``--in-place`` replaces the file with its result, a new inode, and a second run started after that took
    another lock than the first run's and processed the photo again."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return f"{info.st_dev:x}-{info.st_ino:x}{kind}.lock"
        folder = os.stat(path.parent)
    except OSError:
        return None
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:16]
    return f"{folder.st_dev:x}-{folder.st_ino:x}-{digest}{kind}.lock"


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not unlinked, nor replaced)."""
    try:
        opened, named = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _recorded_pid(fd: int) -> int:
    """The process id the run that holds ``fd``'s file exclusively wrote in it, when that process is alive; else 0."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or 0)
        if pid > 0 and pid != os.getpid():
            try:
                os.kill(pid, 0)
            except PermissionError:
                return pid
            except OSError:
                return 0
            return pid
    return 0


def _pid(pid: int) -> str:
    """`` (process PID)`` for the message of a refusal, when the run that holds the lock recorded it."""
    return f" (process {pid})" if pid else ""


def _busy(message: str) -> InputError:
    """The refusal of an input another ``--in-place`` run holds: ``message`` and what to do."""
    return InputError(f"{message}; wait for that run to end (or stop it), then rerun")


def _as_seen_from_here(folder: Path) -> Path:
    """``folder`` (a real path) relative to the working folder when it is inside it (``.`` for itself), as the user
    typed the input it holds; else as it is."""
    with contextlib.suppress(OSError, ValueError):
        return folder.relative_to(Path.cwd().resolve())
    return folder


def _lock_targets(paths: Sequence[str]) -> list[tuple[Path, Path]]:
    """The inputs of :func:`inputs_locked` as (as given, real path): each existing file or folder given; a glob
    pattern's matches (``trip/*.jpg``: each photo, so that a run over ``trip/2019`` beside it is not refused), or
    for a recursive one (``trip/**/*.jpg``) its literal folder; what does not exist is the plan's to report."""
    import glob

    from weatherclean.batch.inputs import GLOB_CHARS, literal_prefix

    targets = []
    for item in paths:
        text = os.fspath(item)
        path = expand_home(text)
        if os.path.exists(path):
            targets.append((path, Path(os.path.realpath(path))))
            continue
        if not GLOB_CHARS & set(text):
            continue
        pattern = os.path.expanduser(text)
        if "**" not in pattern:
            targets.extend((Path(m), Path(os.path.realpath(m))) for m in sorted(glob.glob(pattern)))
            continue
        parts = path.parts
        literal = literal_prefix(parts)
        path = Path(*parts[:literal]) if literal else Path(".")
        targets.append((path, Path(os.path.realpath(path))))
    return targets
