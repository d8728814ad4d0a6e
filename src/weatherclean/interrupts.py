"""Ctrl-C, SIGTERM and SIGHUP while a run records what it did: held, blocked, or carried to the summary.

A run that stops, or finishes, still has to wait for its writes in flight, record them and print its summary;
an interruption that lands there lost the summary, with exit code 130 over a batch whose files were written.
Three tools, from the smallest:

- :func:`interrupts_held`: a block where an interruption is noted instead of raised;
- :func:`interrupts_blocked`: a block where the system does not deliver one (so a write to a pipe is not cut);
- :func:`carry_interrupts` around a batch and its summary, with :func:`block_for_report` called by the
  batch's wrap-up: none lands between the end of the batch and the printed summary.

Only the standard library is used, so the CLI and the batch engine share this module without importing each
other.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = [
    "EXIT_INTERRUPTED", "INTERRUPTS", "ONLY_IF_DEFAULT", "block_for_report", "carry_interrupts", "interrupts_blocked",
    "interrupts_held", "takes_over", "until_uninterrupted",
]  # fmt: skip

#: The signals a run takes as "stop now, keep what is done": Ctrl-C, and SIGTERM and SIGHUP (an SSH connection
#: dropped, a terminal closed), which the CLI turns into Ctrl-C: held, blocked and carried alike.
INTERRUPTS = tuple(
    s for s in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None
)

#: Those of :data:`INTERRUPTS` that a program's own handler may take for something else (SIGHUP: a daemon's
#: "reload"): the CLI called as ``main([...])`` takes them, and the Ray driver's relay passes them on, only where
#: the program left them at the default (death) or to the CLI itself.
ONLY_IF_DEFAULT = frozenset(s for s in (getattr(signal, "SIGHUP", None),) if s is not None)


def takes_over(signum: int, handler: Any) -> bool:
    """Whether a run may take the stop signal ``signum`` from ``handler``, the handler it finds: always one that
    is not in :data:`ONLY_IF_DEFAULT`, and those only from the default (death) or from the CLI itself (a handler
    marked ``interrupts_the_run``). One rule for the CLI called as ``main([...])`` and the Ray driver's relay, so
    a daemon's SIGHUP "reload" is left alone by both."""
    if signum not in ONLY_IF_DEFAULT:
        return True
    return handler is signal.SIG_DFL or bool(getattr(handler, "interrupts_the_run", False))


#: The exit code of an interrupted command (128 + SIGINT, as shells report Ctrl-C), whichever of
#: :data:`INTERRUPTS` came; a rerun resumes. Here, with the standard library alone, so that the CLI's entry
#: point (before Typer is imported), its commands and the batch summary's ``exit_code`` share the one number.
EXIT_INTERRUPTED = 130


def until_uninterrupted(call: Callable[..., _T], *args: Any) -> _T:
    """``call(*args)``, again if an interruption lands while it runs: for the steps after an outcome is decided
    (an exit code set, handlers being put in place), where a KeyboardInterrupt became a traceback in its stead."""
    while True:
        try:
            return call(*args)
        except KeyboardInterrupt:
            continue


@dataclass
class _Carry:
    """One batch's interruptions carried from its wrap-up to its report (:func:`carry_interrupts`): blocked where
    the system can, and noted by a Python handler in any case (a signal the system hands to another thread,
    torch's or Ray's, is not blocked by the main thread's mask)."""

    #: The wrap-up has begun (:func:`block_for_report`): holds that end now leave the noting handler in place.
    armed: bool = False
    #: The summary is out: an interruption noted before it was reported by it, not raised afterwards.
    reported: bool = False
    #: Signals this carry blocked (not those blocked before it), unblocked when the report or the carry ends.
    blocked: frozenset[int] = frozenset()
    #: The handlers the holds found, put back when the carry ends.
    handlers: dict[int, Any] = field(default_factory=dict)
    #: Signals that came while carried.
    noted: list[int] = field(default_factory=list)

    def note(self, signum: int, _frame: Any) -> None:
        self.noted.append(signum)


#: The batch's carry while :func:`carry_interrupts` runs; one batch at a time runs in the main thread.
_carry: _Carry | None = None


def _can_block() -> bool:
    return hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """While the block runs, Ctrl-C and SIGTERM are noted (in the list yielded) instead of raising
    ``KeyboardInterrupt``; the handlers are put back after it.

    Why: a second Ctrl-C, or a ``docker stop`` just as the batch ends, must not cost the summary. Only handlers
    that raise in Python (Python's own Ctrl-C, the CLI's SIGTERM) are held: a signal left to the system's default
    (a library user's SIGTERM) still ends the process as it would have. Outside the main thread, where Python
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
        carry = _carry
        for signum, handler in held.items():
            if carry is not None and carry.armed:  # carried to the report: keep noting
                carry.handlers.setdefault(signum, handler)
                signal.signal(signum, carry.note)
            else:
                signal.signal(signum, handler)


@contextlib.contextmanager
def interrupts_blocked() -> Iterator[None]:
    """While the block runs, Ctrl-C and SIGTERM are blocked by the system (``pthread_sigmask``), where it can; one
    that comes is delivered when the block ends, to whatever handler is set then (use inside
    :func:`interrupts_held` to have it noted). Those blocked since a batch's wrap-up (:func:`carry_interrupts`)
    are unblocked too.

    Why not the hold alone: a Python handler that runs while a write to a blocked pipe waits makes that write
    return short, and the text layer drops the rest: the summary was cut with exit code 0. A blocked signal does
    not interrupt the write. Where signals cannot be blocked (Windows), the hold is all there is."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS) if _can_block() else None
    try:
        yield
    finally:
        carry = _carry
        carried: frozenset[int] = frozenset()
        if carry is not None:
            carry.reported = carry.armed  # a carried interruption came before a summary that is now out
            carried, carry.blocked = carry.blocked, frozenset()
        if before is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, set(before) - carried)


def block_for_report() -> None:
    """Called by a batch's wrap-up inside its hold: where :func:`carry_interrupts` asks for it, Ctrl-C and SIGTERM
    stay blocked after the hold, until the report's :func:`interrupts_blocked` ends, so none lands between the two."""
    carry = _carry
    if carry is None or carry.armed:
        return
    carry.armed = True  # the hold ending now leaves its noting handler in place (interrupts_held)
    if _can_block():
        before = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
        carry.blocked = frozenset(s for s in INTERRUPTS if s not in before)


@contextlib.contextmanager
def carry_interrupts() -> Iterator[None]:
    """Around a batch and the printing of its summary (the CLI's): interruptions after the batch's wrap-up are
    blocked until the summary is printed (:func:`block_for_report`). If the block ends otherwise (an error before
    the report), they are unblocked here, and one that came is delivered then."""
    global _carry
    if threading.current_thread() is not threading.main_thread():  # only the main thread's handlers note signals:
        yield  # nothing to carry here (``main([...])`` called from a thread), and the main thread's batch keeps its own
        return
    outer, carry = _carry, _Carry()
    _carry = carry
    try:
        yield
    finally:
        _carry = outer  # a batch run inside another's (a program's own batch around main([...])) gives it back
        for signum, handler in carry.handlers.items():
            if signal.getsignal(signum) == carry.note:  # else the report put its own in (exit_on_interrupt)
                signal.signal(signum, handler)
        if carry.blocked and _can_block():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, carry.blocked)
        if carry.noted and not carry.reported:  # an error before the report: the interruption is delivered now
            raise KeyboardInterrupt
