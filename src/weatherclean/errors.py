"""Errors that the CLI turns into one-line messages.

Library code raises these (never ``SystemExit``) so that it stays usable without the CLI; the CLI
catches ``WeathercleanError`` and prints ``error: <message>`` without a traceback. The other thing that stops
a run, an interruption (Ctrl-C, SIGTERM), is held off here too while a run records what it did
(:func:`interrupts_held`): this module needs only the standard library, so the CLI and the batch share it.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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
    """An exception's message on one line (whitespace collapsed, cut at ``limit``), for notes and errors;
    the type's name when the message is empty."""
    return (" ".join(str(exc).split()) or type(exc).__name__)[:limit]


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


#: The signals a run takes as "stop now, keep what is done": Ctrl-C, and SIGTERM, which the CLI turns into Ctrl-C.
INTERRUPTS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """While the block runs, Ctrl-C and SIGTERM are noted (in the list yielded) instead of raising
    ``KeyboardInterrupt``; the handlers are put back after it.

    Why: a run that has stopped, or finished, still has to wait for its writes in flight, record them and print
    its summary; an interruption that lands there (a second Ctrl-C, a ``docker stop`` just as the batch ends)
    lost the whole summary, with exit code 130 over a batch whose files were written. Only handlers that raise
    in Python (Python's own Ctrl-C, the CLI's SIGTERM) are held: a signal left to the system's default (a
    library user's SIGTERM) still ends the process as it would have. Outside the main thread, where Python
    runs no signal handler, nothing changes.
    """
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    held: dict[int, Any] = {}
    try:
        for signum in INTERRUPTS:
            handler = signal.getsignal(signum)
            if callable(handler):
                held[signum] = handler
                signal.signal(signum, lambda number, _frame: came.append(number))
        yield came
    finally:
        for signum, handler in held.items():
            if _Carried.armed:  # a batch's wrap-up asked to carry interruptions to its report: keep noting them
                _Carried.handlers.setdefault(signum, handler)
                signal.signal(signum, _note)
            else:
                signal.signal(signum, handler)


class _Carried:
    """Interruptions carried from a batch's wrap-up to the report that follows (:func:`carry_interrupts`): blocked
    where the system can, and noted by a Python handler in any case (a signal the system hands to another thread,
    torch's or Ray's, is not blocked by the main thread's mask)."""

    wanted = False
    armed = False
    reported = False
    signals: frozenset[int] = frozenset()
    handlers: dict[int, Any] = {}
    noted: list[int] = []


def _note(signum: int, _frame: Any) -> None:
    _Carried.noted.append(signum)


def _can_block() -> bool:
    return hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interrupts_blocked() -> Iterator[None]:
    """While the block runs, Ctrl-C and SIGTERM are blocked by the system (``pthread_sigmask``), where it can; one
    that comes is delivered when the block ends, to whatever handler is set then (use inside
    :func:`interrupts_held` to have it noted). Those blocked since a batch's wrap-up (:func:`carry_interrupts`)
    are unblocked too.

    Why not the hold alone: a Python handler that runs while a write to a blocked pipe waits makes that write
    return short, and the text layer drops the rest: the summary was cut with exit code 0. A blocked signal does
    not interrupt the write. Where signals cannot be blocked (Windows), the hold is all there is."""
    if not _can_block():
        try:
            yield
        finally:
            _Carried.reported = _Carried.armed
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        _Carried.reported = _Carried.armed  # a carried interruption came before a summary that is now out
        carried, _Carried.signals = _Carried.signals, frozenset()
        signal.pthread_sigmask(signal.SIG_SETMASK, set(before) - carried)


def block_for_report() -> None:
    """Called by a batch's wrap-up inside its hold: where :func:`carry_interrupts` asks for it, Ctrl-C and SIGTERM
    stay blocked after the hold, until the report's :func:`interrupts_blocked` ends, so none lands between the two."""
    if not _Carried.wanted or _Carried.armed:
        return
    _Carried.armed = True  # the hold ending now leaves its noting handler in place (interrupts_held)
    if _can_block():
        before = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
        _Carried.signals = frozenset(s for s in INTERRUPTS if s not in before)


@contextlib.contextmanager
def carry_interrupts() -> Iterator[None]:
    """Around a batch and the printing of its summary (the CLI's): interruptions after the batch's wrap-up are
    blocked until the summary is printed (:func:`block_for_report`). If the block ends otherwise (an error before
    the report), they are unblocked here, and one that came is delivered then."""
    _Carried.wanted = True
    try:
        yield
    finally:
        _Carried.wanted = _Carried.armed = False
        carried, _Carried.signals = _Carried.signals, frozenset()
        handlers, _Carried.handlers = _Carried.handlers, {}
        noted, _Carried.noted = _Carried.noted, []
        reported, _Carried.reported = _Carried.reported, False
        for signum, handler in handlers.items():
            if signal.getsignal(signum) is _note:  # else the report put its own in (exit_on_interrupt)
                signal.signal(signum, handler)
        if carried and _can_block():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, carried)
        if noted and not reported:  # an error before the report: the interruption is delivered now
            raise KeyboardInterrupt
