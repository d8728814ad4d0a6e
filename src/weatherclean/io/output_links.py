"""What may stand at an output's path: a device, FIFO or socket is never replaced (:func:`refuse_special`); a link to
a file is written through (:func:`write_target`), except another user's link in a sticky, world-writable folder such
as ``/tmp`` (:func:`follow_output_link`), never followed wherever it lies on the path; a folder in the way says what
to do (:func:`folder_in_the_way`). Split from :mod:`weatherclean.io.atomic`, which asks here before each write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from weatherclean.errors import OutputError

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
    real = resolve_output_folder(given, choose, given if output is None else os.fspath(output))
    return Path(given) if real is None else Path(real)


def resolve_output_folder(given: str, choose: str, named: str) -> str | None:
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


def is_own(info: os.stat_result) -> bool:
    """Whether ``info`` (an ``lstat``) is of a file the running user owns, as everything weatherclean makes is. On
    Windows, which has no ``st_uid`` to compare, every file counts as the user's: the pattern alone decides. One
    test for the link rule here (:func:`_may_follow`) and the leftovers' cleanup (:mod:`.leftovers`), which removes
    only the user's own."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is None or info.st_uid == geteuid()


def _may_follow(link: os.stat_result, folder: str) -> bool:
    """Whether :func:`follow_output_link` follows the link whose ``lstat`` is ``link``, in the folder ``folder``: the
    owner rule of Linux's ``fs.protected_symlinks``. A folder that cannot be looked at counts as shared."""
    if is_own(link):
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
