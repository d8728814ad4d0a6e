"""The Ray driver in a child process, for ``--engine ray`` (:mod:`.ray_engine`): Ray ends its driver process at
once, from its C++ core, when the Ray node it runs on stops (``ray stop``, a lost head): no exception, no
``finally``, no summary. So on Linux the command forks a child that connects to Ray and drives the batch, and
the parent, which never connects to Ray, hears each job's summary as it comes back (over a pipe) and reports
what was done either way, the rest failed as :data:`CLUSTER_GONE`. Nothing here imports Ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from weatherclean.batch.jobs import Job, Record, display
from weatherclean.batch.run import INTERRUPTED, BatchSummary
from weatherclean.errors import WeathercleanError, one_line
from weatherclean.interrupts import INTERRUPTS, interrupts_held, takes_over


class RayError(WeathercleanError):
    """Ray is missing, the cluster cannot be reached, or no worker could start (the CLI's exit code 2)."""


#: The reason of a file left without a result because this run's Ray driver ended: Ray ends it when the
#: cluster, or the Ray node it runs on, goes away (``ray stop``, a lost head).
CLUSTER_GONE = "not done: the Ray cluster went away ({how}); rerun the same command to resume"


@dataclass
class _Results:
    per_job: list[BatchSummary | None]
    #: Jobs never run because every worker was lost, or the cluster went away: failures (exit code 1).
    lost: list[Record] = field(default_factory=list)
    #: Jobs Ctrl-C left without an outcome (:attr:`BatchSummary.not_done`).
    not_done: list[Record] = field(default_factory=list)
    worker_notes: list[Record] = field(default_factory=list)
    interrupted: bool = False
    #: Told each job's summary as it comes back: a driver in a child process sends it on to its parent at once.
    on_result: Callable[[int, BatchSummary], None] | None = field(default=None, repr=False, compare=False)

    def put(self, index: int, summary: BatchSummary) -> None:
        """Record the summary of the job at plan index ``index``."""
        self.per_job[index] = summary
        if self.on_result is not None:
            self.on_result(index, summary)


# The driver in a child process. Ray ends its driver process at once, from its C++ core, when the Ray node
# it runs on stops (``ray stop``, a lost head): no exception, no ``finally``, no summary. The parent, which
# never connects to Ray, hears each job's summary as it comes back and reports what was done either way.

#: The driver's work: it fills the results given (telling each job's as it comes back), calls the second
#: argument once connected, and returns them.
_Drive = Callable[["_Results", Callable[[], None]], "_Results"]

#: Seconds the parent waits for a child that has sent its results to exit (it disconnects from Ray) before
#: it is killed.
CHILD_EXIT_S = 30.0


def _drive_apart(drive: _Drive, jobs: Sequence[Job], disconnect: Callable[[], Any] = lambda: None) -> _Results:
    """``drive`` run in a forked child that reports each job's summary as it comes back; its results, or, when the
    child ended without them, what it reported with the rest failed as :data:`CLUSTER_GONE`.

    Ctrl-C, SIGTERM and SIGHUP (:data:`~weatherclean.interrupts.INTERRUPTS`) reach the child once, through this
    process (:class:`_Relay`): the child ignores its own, so that one from the terminal or from Slurm (which
    signals both) is not taken twice.
    """
    import multiprocessing

    reader, writer = multiprocessing.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    parent = os.getpid()
    with _Relay() as relay:
        # SIGUSR1 held across the fork: one relayed before the child has its handler waits for it
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        pid = os.fork()
        if pid == 0:  # the child: never returns
            reader.close()
            _child(drive, writer, parent, len(jobs), disconnect, held)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        writer.close()
        relay.started(pid)
        connected, received, last = _receive(reader)
    reader.close()
    if last is not None:  # the results are in: a Ctrl-C while the child disconnects from Ray (30 s at most)
        with interrupts_held():  # must not lose them
            status = _reap(pid, CHILD_EXIT_S)
    else:
        status = _reap(pid, None)
    if last is not None and last[0] == "end":
        return last[1]
    if last is not None:  # ("raise", exception)
        if relay.stopped and isinstance(last[1], (KeyboardInterrupt, SystemExit)):  # stopped where it could not
            return _left_by(jobs, received, status, interrupted=True)  # say more: what came back is known
        raise last[1]
    if not connected:
        raise RayError(f"Ray ended this run before it connected ({_ended(status)}); see Ray's message above")
    return _left_by(jobs, received, status, interrupted=relay.stopped)


def _child(
    drive: _Drive, writer: Any, parent: int, count: int, disconnect: Callable[[], Any], held: set[signal.Signals]
) -> NoReturn:
    """The child's life: drive, send the outcome, disconnect, exit without running the parent's cleanup.
    ``held`` is the signal mask to go back to once the child's handlers are in place."""
    code = 0

    def send(*message: Any) -> None:
        with contextlib.suppress(OSError):  # the parent is gone: its death signal stops the batch
            writer.send(message)

    try:
        _child_signals(parent, held)
        results = _Results(per_job=[None] * count, on_result=lambda index, summary: send("job", index, summary))
        results = drive(results, lambda: send("connected"))
        send("end", dataclasses.replace(results, on_result=None))
    except BaseException as exc:
        code = 1
        if not isinstance(exc, (WeathercleanError, KeyboardInterrupt, SystemExit)):
            traceback.print_exc()  # a bug: its traceback where it happened
        send("raise", _portable(exc))
    finally:
        with contextlib.suppress(BaseException):
            writer.close()
        with contextlib.suppress(BaseException):
            disconnect()
        os._exit(code)


def _portable(exc: BaseException) -> BaseException:
    """``exc``, or a RuntimeError that says what it was when it does not pickle."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {one_line(exc)} (in the Ray driver process)")
    return exc


def _child_signals(parent: int, held: set[signal.Signals]) -> None:
    """In the child: SIGUSR1 (the parent's relay of an interruption, or the parent's death) is Ctrl-C, each
    time; the interruptions themselves (:data:`~weatherclean.interrupts.INTERRUPTS`: SIGINT, SIGTERM, SIGHUP) are
    left to the parent, which relays each once: a terminal that closes sends SIGHUP to the whole process group.
    Handlers, not SIG_IGN: the processes Ray starts get defaults. Then the signal mask goes back to ``held``, and
    a SIGUSR1 sent meanwhile arrives."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGUSR1, stop)
    for signum in INTERRUPTS:
        signal.signal(signum, lambda signum, frame: None)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGUSR1)  # PR_SET_PDEATHSIG: the parent killed, the child stops
    if os.getppid() != parent:  # it died before that
        os.kill(os.getpid(), signal.SIGUSR1)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _relayed(signum: int) -> bool:
    """Whether the interruption ``signum`` is relayed to the child (:class:`_Relay`): not when it is ignored (SIGHUP
    under ``nohup``), nor a SIGHUP that a program calling ``main([...])`` handles itself (a daemon's "reload",
    which the CLI leaves it: :func:`weatherclean.cli._borrowed_process`); SIGINT and SIGTERM otherwise always."""
    handler = signal.getsignal(signum)
    return handler is not signal.SIG_IGN and takes_over(signum, handler)


class _Relay:
    """While a child drives: each Ctrl-C, SIGTERM or SIGHUP here (:data:`~weatherclean.interrupts.INTERRUPTS`;
    one ignored, as SIGHUP under ``nohup``, stays ignored) is sent on to it, as SIGUSR1 (:attr:`stopped` says one
    came): the first stops the batch, the second ends the grace given to files in flight
    (:meth:`.ray_engine._Pool.interrupt`). A third kills the child, which no longer answers (stuck inside
    Ray): what it reported stands and the rest is not done. The program's own handlers are back afterwards.
    In force from before the fork, so that none is lost: one that comes first is sent as soon as the child is
    :meth:`started`."""

    #: The stop that kills the child instead of relaying.
    KILL_AT = 3

    def __init__(self) -> None:
        self.stopped = False
        self.presses = 0
        self._pid: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Relay:
        self._previous = {signum: signal.signal(signum, self._relay) for signum in INTERRUPTS if _relayed(signum)}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def started(self, pid: int) -> None:
        """The child is ``pid``: a stop that came before goes to it now."""
        self._pid = pid
        if self.stopped:
            self._send()

    def _relay(self, signum: int, frame: Any) -> None:
        self.stopped = True
        self.presses += 1
        self._send()

    def _send(self) -> None:
        if self._pid is not None and self._pid != os.getpid():  # never from the child, before its own handlers
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL if self.presses >= self.KILL_AT else signal.SIGUSR1)


def _receive(reader: Any) -> tuple[bool, dict[int, BatchSummary], tuple[Any, ...] | None]:
    """Read the child's messages, ``("connected",)``, ``("job", index, summary)`` and, last, ``("end", results)``
    or ``("raise", exception)``, until that last one or the child's end: whether it connected, the summaries
    it sent by plan index, and its last message (None when it ended without one)."""
    connected = False
    received: dict[int, BatchSummary] = {}
    while True:
        try:
            message = reader.recv()
        except (EOFError, OSError, pickle.UnpicklingError, ValueError, TypeError, IndexError):
            # a child gone, or a message cut short (a signal in the middle of its send): as if it ended here
            return connected, received, None
        if message[0] == "connected":
            connected = True
        elif message[0] == "job":
            received[message[1]] = message[2]
        else:
            return connected, received, message


def _reap(pid: int, timeout: float | None) -> int:
    """The child's wait status, once it has exited; killed after ``timeout`` seconds (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if done:
            return status
        if deadline is not None and time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            deadline = None
        else:
            time.sleep(0.05)


def _ended(status: int) -> str:
    """How a child process ended, from its wait status: ``exit status 1``, ``killed by signal 9``."""
    code = os.waitstatus_to_exitcode(status)
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def _left_by(jobs: Sequence[Job], received: dict[int, BatchSummary], status: int, *, interrupted: bool) -> _Results:
    """The results of a driver that ended without its own: the summaries it sent, and each job it did not report
    failed as :data:`CLUSTER_GONE` (exit code 1; a rerun resumes), or not done when a stop was asked for."""
    results = _Results(per_job=[received.get(index) for index in range(len(jobs))])
    left = [Record(display(job.source), INTERRUPTED) for i, job in enumerate(jobs) if i not in received]
    if interrupted:
        results.interrupted = True
        results.not_done = left
    else:
        how = f"Ray ended this run's driver, {_ended(status)}"
        results.lost = [Record(r.path, CLUSTER_GONE.format(how=how)) for r in left]
    return results
