"""Files and folders checked before any work: output folders that must be writable, an input file that must
be there, and paths as messages name them.

Every command that writes (desnow, derain, compare, evaluate, synth) checks its output folders here first, so
a folder that cannot be made or written fails in one line before a picture is read; the photo and video
readers check each input file here before their decoders see it. Like :mod:`.atomic`, this
module needs neither NumPy nor Pillow.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from weatherclean.errors import InputError, OutputError, folder_not_file
from weatherclean.io.leftovers import NAME_MAX
from weatherclean.io.output_links import special_kind

__all__ = [
    "LINK_LOOP", "NAME_MAX", "check_input_file", "check_writable_folders", "display", "expand_home",
    "expand_home_text", "file_line", "input_problem", "name_limit", "name_over_limit", "name_size", "nfc",
    "path_max", "printable", "real_path", "shown", "too_long", "under", "write_probe",
]  # fmt: skip

#: Whether file systems count a name's length in UTF-16 code units, not bytes: NTFS (Windows), APFS and HFS+
#: (macOS) take 255 of them, so a name of 90 CJK characters (270 UTF-8 bytes) is fine there. Also wherever
#: ``os.pathconf`` is missing, which is Windows. Elsewhere (Linux, the BSDs) the limit is in bytes.
UTF16_NAMES = sys.platform in ("win32", "darwin") or not hasattr(os, "pathconf")
#: The reason of an input that is a symbolic link loop (``ln -s self.jpg self.jpg``).
LINK_LOOP = "symbolic link loop"


def expand_home(text: str | os.PathLike[str]) -> Path:
    """``text`` with a leading ``~`` or ``~user`` made the home folder, as a shell would have done: for paths that
    reach the commands unexpanded (a Kubernetes ``args:`` list, ``subprocess`` without a shell, a quoted ``'~/x'``),
    inputs, ``-o``, ``--model`` and training folders alike (:func:`expand_home_text` keeps a trailing slash).

    Why not ``Path.expanduser``: with no ``HOME`` and a user id the system does not know (a container run as an
    arbitrary uid) it raised ``RuntimeError`` and the run ended in a traceback. Here such a ``~`` is refused in
    one line that says what to do, unless a file or folder of that very name exists (it is then taken as it is).
    """
    return Path(expand_home_text(text))


def expand_home_text(text: str | os.PathLike[str]) -> str:
    """:func:`expand_home` as text, as typed otherwise: a trailing slash (``-o out.jpg/``, which says "a folder")
    is kept, where a :class:`~pathlib.Path` drops it."""
    raw = os.fspath(text)
    expanded = os.path.expanduser(raw)
    if expanded == raw and raw[:1] == "~" and raw.split(os.sep, 1)[0] == "~" and not os.path.lexists(raw):
        raise InputError(
            f"{raw}: cannot expand ~, no home folder is known (HOME is unset and this user id has no account "
            "entry); give the full path, or set HOME"
        )
    return expanded


def display(path: Path, cwd: Path | None = None) -> Path:
    """Paths relative to the working directory (``cwd``, default the process's) when possible: shorter
    messages, same meaning.

    Not when the working directory is the file system's root (a cron job, a container): ``/tmp/a.jpg``
    shown as ``tmp/a.jpg`` reads as a different file to anyone not in ``/``. ``cwd`` is given where the
    paths are shown for another process's folder (a Ray worker's summary, shown as the user's run).

    A working directory that no longer exists (removed while the shell was in it) shows ``path`` as it is: it is
    only a message's path, and ``Path.cwd()``'s ``FileNotFoundError`` ended the command in a traceback."""
    if cwd is None:
        try:
            cwd = Path.cwd()
        except OSError:
            return path
    if cwd == Path(cwd.anchor):
        return path
    try:
        return path.relative_to(cwd)
    except ValueError:
        return path


def real_path(path: Path) -> Path:
    """``path`` absolute with every symbolic link followed, as ``Path.resolve()`` gives it, but never raising.

    Why: on Python 3.11 ``Path.resolve()`` raises ``RuntimeError`` on a symbolic link loop (``ln -s self.jpg
    self.jpg``), and one such file in a folder ended the whole batch in a traceback; ``os.path.realpath`` leaves
    the loop's last link as it is, and the file then fails alone when it is looked at (:func:`input_problem`)."""
    return Path(os.path.realpath(path))


def printable(text: str) -> str:
    """``text`` with each character that would not show as itself, or would garble the line, written as a
    backslash escape: control characters (``\\n``, ``\\t``, ``\\x1b``), the line and paragraph separators, the
    bidirectional overrides and isolates (``\\u202e`` would show the rest of the line reversed), and the bytes of a
    name that is not valid UTF-8 (Python's surrogateescape keeps them as ``\\udcXX``), shown as ``\\xXX``, the
    byte itself (:data:`_HIDDEN`).

    Why: a file name may hold any byte but ``/`` and NUL. Printed as it is, a newline in a name split an
    ``error: FILE: reason`` line in two, and an undecodable byte came out as ``\\udcfe`` or a replacement
    character. Everything else is left as it is, as ``ls`` shows it: an ideographic space, a no-break space, the
    zero-width joiner of an emoji sequence (``str.isprintable`` says no to those, and they were escaped), a
    backslash (so Windows paths read as they are). For a whole path that must also read back unambiguously, use
    :func:`shown`."""
    if text.isprintable() or _HIDDEN.search(text) is None:
        return text
    return _HIDDEN.sub(lambda match: _escape(match.group()), text)


def shown(path: Path | str) -> str:
    """A path as every human-facing line shows it: as it is unless it holds a character :func:`printable`
    escapes, else quoted the way ``ls`` and ``bash`` do, ``$'bad\\xfe.jpg'`` (each such character an escape),
    which is faithful, one line, and pastes into a shell as the very same name.

    ``--json`` keeps the name itself (:mod:`json` writes an undecodable byte as ``\\udcXX``, and
    ``os.fsencode`` gives the bytes back), so scripts get the file's real name; docs/usage.md says so."""
    text = str(path)
    if text.isprintable() or _HIDDEN.search(text) is None:
        return text
    body = _QUOTED.sub(lambda match: _QUOTES.get(match.group()) or _escape(match.group()), text)
    return f"$'{body}'"


def file_line(path: Path | str, reason: str) -> str:
    """``FILE: reason`` as every human-facing line about one file reads: the path :func:`shown`, the reason
    :func:`printable`, so a name's newline or escape sequence neither splits the line nor reaches the terminal."""
    return f"{shown(path)}: {printable(reason)}"


#: The characters :func:`printable` and :func:`shown` escape: control characters (Unicode's Cc), the line and
#: paragraph separators (U+2028, U+2029), the bidirectional embeddings, overrides and isolates (U+202A..U+202E,
#: U+2066..U+2069), and lone surrogates (a name's bytes that are not UTF-8, as surrogateescape decodes them).
_HIDDEN_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_HIDDEN = re.compile(f"[{_HIDDEN_CLASS}]")
#: What :func:`shown` writes as an escape inside ``$'...'``: the hidden characters, and the backslash and the quote.
_QUOTED = re.compile(rf"[\\'{_HIDDEN_CLASS}]")
_QUOTES = {"\\": "\\\\", "'": "\\'"}
#: The short escapes that a shell's ``$'...'`` and Python both read.
_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _escape(ch: str) -> str:
    """One hidden character (:data:`_HIDDEN`) as an escape: an undecodable byte (a lone surrogate U+DC80..U+DCFF)
    as ``\\xXX``, a control character by its short name, anything else as the ``\\xXX`` of each of its bytes in the
    file system's encoding (``os.fsencode``: what ``$'...'`` reads back into the same name).

    Why the file system's encoding, not UTF-8: under a Latin-1 locale the name's bytes were decoded as Latin-1, so
    the C1 control U+0081 is the byte 0x81 on disk; its UTF-8 bytes ``\\xc2\\x81`` named another file. A character
    that encoding cannot write (none that a file name decoded in it holds) is ``\\uXXXX``, which bash's ``$'...'``
    and Python both read."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    try:
        encoded = os.fsencode(ch)
    except UnicodeError:
        return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return "".join(f"\\x{byte:02x}" for byte in encoded)


def nfc(name: str) -> str:
    """``name`` in Unicode's composed form (NFC): how names that look the same are compared when they are not the
    same string. Why: a Mac's disk, or a copy through one, may hand back ``café`` as ``e`` + a combining accent
    (NFD) where the name was typed with ``é`` (NFC); the two look identical but are different names to Python and
    to Linux. One function, so that sidecars, ``compare`` and the dataset readers agree on what "the same" is."""
    return unicodedata.normalize("NFC", name)


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
        if given is not None and under(folder, real_path(Path(given))):
            name = Path(given)
        if not probe.is_dir():
            raise OutputError(f"{name}: cannot create output folder because {display(probe)} is a file; {hint}")
        refused = write_probe(probe)
        if refused is not None:
            raise OutputError(_unwritable(name, probe, folder, refused, hint)) from None


def write_probe(folder: Path) -> OSError | None:
    """Why a file cannot be made in ``folder`` (the system's error), or None where one can: really tried, with a
    hidden file made and removed at once, since ``os.access`` says yes to root and is wrong on some network file
    systems. The planner asks it of each output folder, the runner of the ``-o`` folder when a write fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".weatherclean-probe-", dir=folder)
    except OSError as exc:
        return exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return None


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
    target, best, kind = real_path(path), -1, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = Path(fields[1].replace("\\040", " "))
        if under(target, mount) and len(mount.parts) > best:
            best, kind = len(mount.parts), fields[2]
    return kind


def check_input_file(path: Path, kind: str) -> None:
    """Refuse a folder, a missing or unreadable file, one that is not a regular file (a FIFO, a device) and an
    empty one in one line naming ``path``, before a decoder sees it (Pillow and FFmpeg say less clearly what is
    wrong). ``kind`` names what was expected (``an image file``, ``a video file``) for a folder given in its
    place. The reasons are :func:`input_problem`'s, which the planner gives too, so a ``--dry-run`` and a run
    say the same."""
    info, problem = input_problem(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: {folder_not_file(kind)}")
    if problem is not None:
        raise InputError(f"{path}: {problem}")


def input_problem(path: Path) -> tuple[os.stat_result | None, str | None]:
    """One ``stat`` of an input (through links) and, when that alone shows it cannot be read, why: a broken
    symbolic link (to what), a link loop, not a regular file (a FIFO, a socket, a device: each read as
    "0 bytes" before), an empty file, a path that cannot be looked at. A folder has no problem here (the
    callers say what a folder is in their place). Nothing is opened, so planning 20,000 files stays quick.

    Returns the ``stat`` (None when it failed) and the reason (None when the file may be read)."""
    try:
        info = Path(path).stat()
    except OSError as exc:
        return None, _unstatable(path, exc)
    if stat.S_ISDIR(info.st_mode):
        return info, None
    if not stat.S_ISREG(info.st_mode):
        return info, (
            f"not a regular file ({special_kind(info.st_mode)}); photos and videos are read from files only: save "
            "what it gives to a file first"
        )
    if info.st_size == 0:
        return info, "empty file (0 bytes); re-copy it from the source"
    return info, None


def _unstatable(path: Path, exc: OSError) -> str:
    """Why ``stat`` of the input ``path`` failed with ``exc``, in words that fit (a dangling link is there to
    ``ls``, so "file not found" read as a mistake)."""
    if exc.errno == errno.ELOOP:
        return LINK_LOOP
    if exc.errno == errno.ENOENT and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            return "broken symbolic link"
        return f"broken symbolic link to {target}"
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (check the permissions of the file and its folder)"
    if exc.errno == errno.ENAMETOOLONG:
        return too_long(path)
    return f"cannot read ({(exc.strerror or str(exc)).lower()})"


def too_long(path: Path) -> str:
    """The reason of a path that the system refuses as too long (``ENAMETOOLONG``): which limit it passes, and what
    to do. Not "check its permissions", which is the advice for the other reasons a folder cannot be listed.

    The advice for a whole path names ``-o DIR``: without it each output lies beside its input, and is checked by
    its absolute path (:func:`path_max`), so changing folder alone would not do."""
    longest = max((name_size(part) for part in path.parts), default=0)
    if longest > NAME_MAX:
        return f"file name too long (a name of {longest} {_units()[0]}; file systems take at most {NAME_MAX})"
    size, limit = len(os.fsencode(path)), path_max()
    most = f"; the system takes at most {limit - 1}" if limit is not None else ""
    return (
        f"path too long ({size} bytes{most}): run from a folder nearer to it (cd there and give the rest of the "
        "path) with a short -o DIR, or move it higher up"
    )


def name_size(name: str) -> int:
    """The length of the file name ``name`` as file systems count it against their limit (:func:`name_limit`):
    UTF-16 code units on Windows and macOS (:data:`UTF16_NAMES`), bytes elsewhere."""
    if UTF16_NAMES:
        return len(name.encode("utf-16-le", "surrogatepass")) // 2
    return len(os.fsencode(name))


def _units() -> tuple[str, str]:
    """What :func:`name_size` counts, in words: a count of them, and a limit in them (``"bytes"``, ``"byte"``)."""
    return ("UTF-16 units", "unit") if UTF16_NAMES else ("bytes", "byte")


def name_over_limit(name: str, folder: Path) -> str | None:
    """Why the name ``name`` cannot be made in ``folder`` (``"264 bytes, over the file system's 255-byte limit"``),
    or None when it fits: :func:`name_size` against :func:`name_limit`. A name up to 143 (eCryptfs' limit, the
    shortest in use) fits everywhere, and the file system is not asked."""
    size = name_size(name)
    if size <= 143:
        return None
    limit = name_limit(folder)
    if size <= limit:
        return None
    many, one = _units()
    return f"{size} {many}, over the file system's {limit}-{one} limit"


def name_limit(folder: Path) -> int:
    """The longest file name that the file system holding ``folder`` takes, in :func:`name_size`'s unit
    (``os.pathconf``'s ``PC_NAME_MAX``; :data:`NAME_MAX` where it does not say, as on Windows, where NTFS takes 255
    UTF-16 units). ``folder`` need not exist yet: its nearest ancestor that does is asked, the folder a new one
    would be made in."""
    return _name_limit_of(os.fspath(_nearest_existing(Path(os.path.abspath(folder)))))


@functools.lru_cache(maxsize=256)
def _name_limit_of(folder: str) -> int:
    """:func:`name_limit` of an existing folder, looked up once per folder: planning asks it of each output."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or the folder went away
        return NAME_MAX
    return limit if limit > 0 else NAME_MAX


@functools.cache
def path_max() -> int | None:
    """The longest path, in bytes with its closing NUL, that a system call takes (``PATH_MAX``: 4096 on Linux,
    1024 on macOS), as ``os.pathconf('/', 'PC_PATH_MAX')`` says; None where it does not (Windows, whose limit
    depends on the system's settings): a path is then not checked, and the write itself says."""
    try:
        limit = os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return None
    return limit if limit > 0 else None
