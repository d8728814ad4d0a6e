"""The permissions, owner and extended attributes an output gets: a new file its input's (less the umask), a
replaced file those of the file it replaces, a new folder its mirrored input folder's. Split from
:mod:`weatherclean.io.atomic`, which calls :func:`keep_attributes` on every temporary file before the rename.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from weatherclean.io.output_links import follow_output_link
from weatherclean.provenance import XATTR as PROVENANCE_XATTR


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


def common_mode(sources: Iterable[str | os.PathLike[str]]) -> int:
    """The permission bits all of ``sources`` share (the bitwise AND of their :func:`input_mode`): what a file
    made from several inputs may take, so it is never more open than the most private of them.

    Why: ``weatherclean compare`` put a private 0600 photo on a 0664 sheet that anyone could open. No sources
    count as private (:data:`UNKNOWN_MODE`)."""
    mode: int | None = None
    for source in sources:
        bits = input_mode(source)
        mode = bits if mode is None else mode & bits
    return UNKNOWN_MODE if mode is None else mode


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
    (docs/usage.md). The replaced file's user extended attributes are copied, but for its provenance tag
    (:func:`_copy_user_xattrs`).
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
    (``os.listxattr`` exists on Linux only), so there they are not kept (docs/usage.md says so).

    Never weatherclean's own provenance tag (:data:`~weatherclean.provenance.XATTR`): it says what made the file
    replaced, not the new one. Copied, an output written with no run's record in effect (``--engine ray``'s actors,
    a program's own batch) kept the tag of the run it replaced: ``derain --overwrite`` over ``desnow``'s output
    stayed tagged ``desnow``. The writer sets the new file's own (:func:`~weatherclean.provenance.set_tag`), or
    none."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = [name for name in os.listxattr(source) if name.startswith("user.") and name != PROVENANCE_XATTR]
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


def user_name(uid: int) -> str:
    """The login name of ``uid``, for messages about whose a file is, else the number (a user the system does not
    know, or no ``pwd`` module)."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"
