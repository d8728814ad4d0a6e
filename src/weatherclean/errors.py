"""Errors that the CLI turns into one-line messages.

Library code raises these (never ``SystemExit``) so that it stays usable without the CLI; the CLI
catches ``WeathercleanError`` and prints ``error: <message>`` without a traceback. The other thing that stops
a run, an interruption (Ctrl-C, SIGTERM), has its own module: :mod:`weatherclean.interrupts`.
"""

from __future__ import annotations

import errno
from pathlib import Path


class WeathercleanError(Exception):
    """Base class for errors a user can act on. The message says what went wrong and what to do."""


class InputError(WeathercleanError):
    """An input file or folder cannot be used (missing, unreadable, not an image, ...)."""


class ModelError(WeathercleanError):
    """A model name, folder or checkpoint cannot be resolved or loaded."""


class DatasetError(WeathercleanError):
    """A dataset folder does not have the expected layout."""


class OutputError(WeathercleanError):
    """An output file cannot be written (permission, disk full, unsupported format)."""


class DiskFullError(OutputError):
    """The output disk is full: every later write would fail too, so a batch stops instead of going on."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk, or the user's quota, is full (a :class:`DiskFullError` is due)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception's message on one line (whitespace collapsed, at most ``limit`` characters), for notes and
    errors; the type's name when the message is empty. A longer message loses its middle, not its end: most
    begin with a path and end with the reason ("…/IMG.jpg.compare.jpg: cannot write (File name too long)"),
    and a cut end kept the path and lost the why."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return f"{text[: limit - 1 - tail]}…{text[len(text) - tail :]}"


def folder_not_file(kind: str) -> str:
    """The one wording for a folder where a file was expected ("a folder, not an image file"), so every
    command and every way of reaching it (given, globbed, walked, loaded) reads the same; ``kind`` is
    what the name promised ("an image file", "a video file")."""
    return f"a folder, not {kind}"


class OutputAppeared(OutputError):
    """A file appeared at an output's path while its job ran (another run writing the same outputs, say), and
    the job was not asked to replace one: the job's result is dropped and the file kept
    (:func:`weatherclean.io.atomic.keep_existing`). ``path`` is the output's."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: output appeared meanwhile (another run?); kept, not replaced")
        self.path = path
