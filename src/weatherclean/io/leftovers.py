"""Temporary files a killed run left beside its outputs (``.NAME.xxxxxxxx.part``): how they are named
(:func:`temp_prefix`, which :mod:`weatherclean.io.atomic` makes them with) and how they are found and removed once
they are old enough to be no run's in progress (:data:`STALE_SECONDS`). Only names of exactly that form
(:func:`leftover_output_name`) that the running user owns (:func:`~.output_links.is_own`) are ever removed: an
output folder may be shared.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from weatherclean.io.output_links import is_own

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
    """Delete ``.NAME.xxxxxxxx.part`` files (and ``--frames`` work folders) that a killed run of this user left
    beside ``dest`` (Ctrl-C cleans up by itself), before each write to ``dest``.

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


#: The random part ``mkstemp`` and ``mkdtemp`` put between a temporary name's prefix and ``.part``: exactly this many
#: characters of :data:`_RANDOM_CHARACTERS` (``tempfile``'s own length and alphabet, the same in every Python 3).
_RANDOM_LENGTH = 8
_RANDOM_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def leftover_output_name(name: str) -> str | None:
    """The output name (cut as :func:`temp_prefix` cuts it) that a temporary file or work folder named ``name``
    stands for, or None when ``name`` is not one weatherclean makes: ``.NAME.`` + 8 characters of ``tempfile``'s
    alphabet + ``.part``, nothing else.

    Why so strict: the cleanup deletes what it matches, and any ``.NAME.anything.part`` (``.a.jpg.my-thesis.part``,
    a folder of someone's work beside an output of the same name) was matched and removed, folders and all."""
    if not (name.startswith(".") and name.endswith(".part")):
        return None
    output, dot, random = name[1:-5].rpartition(".")
    if not (output and dot and len(random) == _RANDOM_LENGTH and set(random) <= _RANDOM_CHARACTERS):
        return None
    return output


def _leftovers_in(folder: Path) -> dict[str, list[str]]:
    """``folder``'s hidden temporary files and work folders that weatherclean makes (:func:`leftover_output_name`),
    by the output name they stand for. Whose they are is checked at removal (:func:`_remove_if_stale`)."""
    found: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        output = leftover_output_name(entry.name)
        if output is not None:
            found.setdefault(output, []).append(entry.path)
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
    be writing it now); one that cannot be removed stays. False for one too young to remove.

    Only the running user's own (:func:`~.output_links.is_own`) is removed: in a shared output folder (``/tmp``, a
    team's share) another user's file or folder under such a name is theirs, whoever made it, and was deleted with its
    tree. The path is looked at with ``lstat``, never through a link: a link is removed itself (if it is the user's),
    and a folder only if it is one (``rmtree`` refuses a link in its place)."""
    with contextlib.suppress(OSError):
        info = path.lstat()
        if not is_own(info):
            return True  # not ours to remove, now or later
        if now - info.st_mtime <= STALE_SECONDS:
            return False
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    return True
