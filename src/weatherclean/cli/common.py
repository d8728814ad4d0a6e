"""Small pieces every CLI command shares: the error wrapper, the consoles, and how a command's outcome is
printed and becomes the exit code whatever happens to the streams and signals meanwhile."""

from __future__ import annotations

import atexit
import contextlib
import enum
import errno
import functools
import inspect
import json
import os
import signal
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from weatherclean.cli import usable_columns
from weatherclean.errors import WeathercleanError, memory_limit, one_line
from weatherclean.interrupts import (
    EXIT_INTERRUPTED,
    INTERRUPTS,
    interrupts_blocked,
    interrupts_held,
    until_uninterrupted,
)
from weatherclean.io.folders import printable
from weatherclean.tables import plain_terminal

P = ParamSpec("P")
R = TypeVar("R")


class _ForgivingStream:
    """A standard stream (``fd`` 1 or 2) as a console writes to it: looked up at each write (as Rich does, so that
    a test runner that swaps ``sys.stdout`` is followed, and past Rich's live display, which stands in for both
    while a progress bar runs), and never failing.

    Why: with stderr closed or full (``2>&-``, ``2>/dev/full``, a log disk that filled up) a write of a note or an
    error line raised, and a run whose every file was done exited 1 with no summary; a closed stdout
    (``| head -1``) made Rich exit 1 (``SystemExit``, "a file failed"), a full one printed a traceback. What
    cannot be written is lost, and the exit code stays the command's: stdout's loss is said once on stderr
    (:func:`stdout_lost`), stderr's cannot be. In the ``weatherclean`` process the failed stream is then pointed
    at the null device, so that Python's flush at exit does not fail in turn (which makes the exit code 120).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lost: object = None  # the stream that failed: nothing more is tried on it

    def _stream(self) -> Any:
        stream = sys.stdout if self.fd == 1 else sys.stderr
        return getattr(stream, "rich_proxied_file", stream)  # writing to the stand-in would come back here

    def write(self, text: str) -> int:
        stream = self._stream()
        if stream is not None and stream is not self.lost:
            try:
                stream.write(_encodable(text, getattr(stream, "encoding", None)))
            except (OSError, ValueError) as exc:  # ValueError: a closed file
                self._failed(stream, exc)
        return len(text)

    def flush(self) -> None:
        stream = self._stream()
        if stream is not None and stream is not self.lost:
            try:
                stream.flush()
            except (OSError, ValueError) as exc:
                self._failed(stream, exc)

    def _failed(self, stream: object, exc: Exception) -> None:
        self.lost = stream
        if self.fd == 1:
            stdout_lost(exc if isinstance(exc, OSError) else OSError(errno.EBADF, str(exc)))
        else:
            _lost_stream(2)

    def isatty(self) -> bool:
        try:
            stream = self._stream()
            return stream is not None and stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        stream = self._stream()
        if stream is None:
            raise OSError(errno.EBADF, "closed at start")
        return stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream(), "encoding", None) or "utf-8"


def _encodable(text: str, encoding: object) -> str:
    """``text`` with each character that ``encoding`` (a standard stream's) cannot write as the ``\\xNN`` escapes of
    its bytes (the file system's encoding, as a name is on disk); as it is for ASCII text and UTF-8 streams.

    Why here, at the stream, and not in :func:`~weatherclean.io.folders.printable`: on an ASCII stream
    (``PYTHONIOENCODING=ascii``, an old Windows console) a path inside a reason, ``cannot read in/☃.jpg``, came
    out as ``in/\\u2603.jpg`` while :func:`~weatherclean.io.folders.shown` already wrote the same name as its bytes;
    every line a console writes gets the same treatment here, and ``printable`` stays free of the streams (it also
    labels the pictures ``compare`` draws, where an ASCII console has no say)."""
    if text.isascii() or not isinstance(encoding, str):
        return text
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return "".join(ch if _writes(ch, encoding) else _byte_escapes(ch) for ch in text)
    except LookupError:
        pass
    return text


def _writes(ch: str, encoding: str) -> bool:
    """Whether ``encoding`` can write the character ``ch``."""
    try:
        ch.encode(encoding)
    except UnicodeError:
        return False
    return True


def _byte_escapes(ch: str) -> str:
    """``ch`` as the ``\\xNN`` escapes of its bytes in the file system's encoding (a lone surrogate, an undecodable
    byte of a name, as that byte), else as ``\\uXXXX``."""
    try:
        return "".join(f"\\x{byte:02x}" for byte in os.fsencode(ch))
    except UnicodeError:
        return f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"


def _console(stderr: bool = False) -> Console:
    """A console; when piped or logged (not a terminal, no COLUMNS), 120 columns instead of Rich's 80,
    so that result tables in log files and CI output are not squeezed or cut. Its writes never fail
    (:class:`_ForgivingStream`).

    ``COLUMNS`` counts only as :func:`~weatherclean.cli.usable_columns` reads it: one that is no width (``0``, which
    some CI runners and ``docker exec`` wrappers export) is ignored, and Rich no longer prints every line empty at
    width 0; one under :data:`~weatherclean.cli.NARROWEST` (``1``) is raised to it, where tables still fold into
    readable blocks rather than one letter a line. On a terminal the console reads the environment through
    :class:`_UsableColumns`, so its width follows the window as it is resized whatever ``COLUMNS`` holds (a width
    fixed when the console was made did not)."""
    fd = 2 if stderr else 1

    def make(**options: Any) -> Console:
        return Console(file=_ForgivingStream(fd), emoji=False, **options)  # ":smile:" in a file name stays as it is

    width = usable_columns(os.environ.get("COLUMNS"))
    if width is not None:
        return make(width=width)
    probe = make(width=120)  # a width given: Rich reads no COLUMNS here, which may be 0
    if not probe.is_terminal:
        return probe
    return make(_environ=_UsableColumns())  # the terminal's own width, followed as the window is resized


class _UsableColumns(Mapping[str, str]):
    """The process's environment as it is now, but ``COLUMNS`` as :func:`~weatherclean.cli.usable_columns` reads
    it (absent when it is no width: ``0``, ``abc``), for a console on a terminal: Rich reads ``COLUMNS`` each time
    it asks for the width, and took ``0`` as a width of 0."""

    def __getitem__(self, key: str) -> str:
        if key == "COLUMNS":
            width = usable_columns(os.environ.get("COLUMNS"))
            if width is None:
                raise KeyError(key)
            return str(width)
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in list(os.environ) if key != "COLUMNS" or key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


console = _console()
err_console = _console(stderr=True)


def draws_progress(target: Console | None = None) -> bool:
    """Whether an animated progress bar may be drawn on ``target`` (default: :data:`err_console`): only when its
    stream really is a terminal, and not a dumb one (``TERM=dumb``). ``TTY_INTERACTIVE=0`` or ``1`` decides, as
    Rich reads it.

    Why not Rich's own test: ``FORCE_COLOR=1`` or ``TTY_COMPATIBLE=1``, set in CI to keep the colours, made Rich
    take a log for a terminal, and the bar's redraws filled the log (about 1 KB a second). Those settings still
    give colours; the bar needs a screen that redraws."""
    forced = os.environ.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    stream = (target or err_console).file
    try:
        return bool(stream.isatty()) and not plain_terminal()
    except (OSError, ValueError, AttributeError):
        return False


#: Exit code for "the command could not run at all" (bad arguments, missing model, ...).
EXIT_USAGE = 2
#: Exit code for "the command ran but at least one file failed".
EXIT_SOME_FAILED = 1
# EXIT_INTERRUPTED (after Ctrl-C, SIGTERM or SIGHUP) is weatherclean.interrupts', imported above: one number
#: The message of a command interrupted before it had a summary to print (loading the model, say).
INTERRUPTED_MESSAGE = "interrupted; rerun the same command to resume"
#: The message of a command that keeps nothing to resume from (``evaluate``: its scores are written at the end).
INTERRUPTED_NOTHING_KEPT = "interrupted; nothing was written (scores are kept only at the end): rerun to start over"


class _Process:
    """Whether this process is the ``weatherclean`` command (:func:`own_process`, called by
    :func:`weatherclean.cli.main`), whose signals and standard streams are then the command's to set, and the exit
    code once a command has decided it (:func:`decided`). Under a test runner or a program embedding the CLI
    neither is touched. ``no_temporary_folder``: the error of a process with no usable temporary folder, found as
    the command began (:func:`temporary_folder_error`), or None."""

    owned = False
    outcome: int | None = None
    no_temporary_folder: WeathercleanError | None = None


def own_process() -> None:
    """Set up the process as the ``weatherclean`` command: standard streams that were closed at start are opened
    on the null device, and a signal during the interpreter's teardown is ignored once the outcome is decided.

    Why the streams: with stderr closed (``2>&-``) the first file the run opened took its number, 2, and
    anything a library writes to "stderr" (FFmpeg, PyTorch) would have gone into that file, an output photo
    perhaps. Why the teardown: the summary was printed and the code decided, and a SIGTERM in the 0.6 s that
    Python and PyTorch take to tear down after it killed the process with 143 (:func:`exit_on_interrupt` covers
    the time before; this, the time after Python stops running handlers, which only an ignored signal survives).
    """
    _Process.owned = True
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _point_at_null(fd)
    atexit.register(_ignore_late_interrupts)


def _point_at_null(fd: int) -> None:
    """Point the standard stream ``fd`` (0, 1, 2) at the null device, opened for reading and writing: stdin then
    reads nothing, stdout and stderr write nowhere. Used for a stream closed at start (:func:`own_process`; the
    device may then open as ``fd`` itself) and for one that failed (:func:`_lost_stream`)."""
    null = os.open(os.devnull, os.O_RDWR)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def _ignore_late_interrupts() -> None:
    """At exit, once the outcome is decided: Ctrl-C and SIGTERM are ignored while Python tears down
    (:func:`own_process`)."""
    if _Process.outcome is not None and threading.current_thread() is threading.main_thread():
        for signum in INTERRUPTS:
            signal.signal(signum, signal.SIG_IGN)


def exit_on_interrupt(code: int) -> None:
    """From now on, in the ``weatherclean`` process, Ctrl-C or SIGTERM ends it at once with ``code``, the outcome
    the command has decided and printed, rather than with 130 or 143 and a summary that says otherwise."""
    _Process.outcome = code
    if not _Process.owned or threading.current_thread() is not threading.main_thread():
        return

    def leave(_signum: int, _frame: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        os._exit(code)

    for signum in INTERRUPTS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored at start (nohup, ``cmd &``): it stays so
            signal.signal(signum, leave)


def report_outcome(code: int, show: Callable[[], None]) -> None:
    """Print a command's outcome with ``show``, then end the command with ``code`` (``typer.Exit`` unless 0).

    While ``show`` prints, Ctrl-C and SIGTERM are blocked (:func:`~weatherclean.interrupts.interrupts_blocked`,
    where the system allows) and held (:func:`~weatherclean.interrupts.interrupts_held`): one that cut the summary
    short replaced it with a second answer (a JSON error object after half a summary), exited 143, or (a Python
    handler running during a write to a full pipe) truncated it with exit code 0. One that came meanwhile is
    noted when printing ends, and the command ends with ``code``; afterwards they end the process with ``code``
    (:func:`exit_on_interrupt`). A standard output that
    cannot take the summary does not change ``code`` either (:func:`stdout_lost`): the code says what became of
    the files, and those are done.
    """

    def shown() -> None:  # again if one comes before the hold takes effect: the outcome stands all the same
        with interrupts_held(), interrupts_blocked():
            _print_outcome(show)

    until_uninterrupted(shown)
    exit_on_interrupt(code)
    if code:
        raise typer.Exit(code)


def _print_outcome(show: Callable[[], None]) -> None:
    """``show``, and stdout flushed, with a failure to write stdout handled (:func:`stdout_lost`)."""
    try:
        show()
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:
        stdout_lost(exc)


def stdout_lost(exc: OSError) -> None:
    """Standard output could not take what the command printed: a closed pipe (``| head -1``, ``| true``) says
    nothing, as Unix tools do; anything else (``> /dev/full``, a full disk) gets one line on stderr. The exit code
    stays the command's. In the ``weatherclean`` process stdout is then pointed at the null device, so that
    Python's flush at exit does not fail (exit code 120, "Exception ignored")."""
    _lost_stream(1)
    if exc.errno != errno.EPIPE:
        reason = exc.strerror or str(exc)
        err_console.print(
            f"[bold red]error:[/] {escape(f'standard output: {reason}; the summary could not be written')}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip


def _lost_stream(fd: int) -> None:
    """In the ``weatherclean`` process, point the failed standard stream ``fd`` (1, 2) at the null device."""
    if not _Process.owned:
        return
    with contextlib.suppress(OSError):
        _point_at_null(fd)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print a one-line error and return the ``typer.Exit`` to raise. A file name in ``message`` that holds a
    newline, another control character or bytes that are not UTF-8 is shown with escapes
    (:func:`~weatherclean.io.folders.printable`): the line stays one line, and says which bytes the name holds.
    The outcome is then decided (:func:`decided`)."""
    print_error(printable(message))
    _Process.outcome = code
    return typer.Exit(code)


def print_error(line: str) -> None:
    """``error: LINE`` on stderr, red where colour is shown, ``line`` printed as it is (no Rich markup read in it):
    the one shape of every error line the commands print (:func:`fail`, an option error, a file a command could not
    read). ``line`` is made printable by the caller (:func:`~weatherclean.io.folders.printable`, ``shown``).

    No emoji codes are read (``:smile:`` stays as written; Rich imported its table of them on the first line that
    held a colon), and a process out of memory gets the line written plain: under ``ulimit -v 720000`` that import
    raised ``MemoryError`` while the command was saying why it stopped, and the run ended in a traceback instead."""
    try:
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True, emoji=False)
    except MemoryError:
        err_console.file.write(f"error: {line}\n")


def decided() -> int | None:
    """The exit code the command has answered with (its error line, its JSON object or its summary is out), or
    None while it has not. Why: an interruption that lands after the answer, before the exit, must not add a
    second answer (a second JSON object on stdout, an "interrupted" line under an error) nor change the code:
    it ends the command with this one, silently."""
    return _Process.outcome


def undecided() -> None:
    """A command begins: nothing is answered yet (:func:`decided`); one run before it in this process (a test,
    a program calling ``main`` twice) answered for itself."""
    _Process.outcome = None


def cli_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`WeathercleanError` into a one-line message and exit code 2, never a traceback; so are a working
    directory that is gone (:func:`working_directory_error`, checked first), PyTorch failing to load
    (:func:`torch_load_error`) and a failure in a process with no usable temporary folder
    (:func:`temporary_folder_error`)."""
    return interrupted_says(INTERRUPTED_MESSAGE)(func)


def interrupted_says(message: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """:func:`cli_errors` for a command whose Ctrl-C (exit code 130) says ``message``: a command that keeps
    nothing to resume from must not tell the user a rerun resumes (:data:`INTERRUPTED_NOTHING_KEPT`)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            undecided()
            try:
                if (gone := working_directory_error()) is not None:  # before anything reads a relative path
                    if kwargs.get("json_out") or kwargs.get("as_json"):  # the commands' --json, by either name
                        _echo_json({"ok": False, "error": str(gone), "exit_code": EXIT_USAGE})
                    raise gone
                _Process.no_temporary_folder = temporary_folder_error()  # before PyTorch is touched
                return func(*args, **kwargs)
            except WeathercleanError as exc:
                raise fail(str(exc)) from None
            except Exception as exc:  # PyTorch that cannot be loaded; anything else stays as it was
                if (unloadable := unloadable_error(exc)) is None:
                    raise
                raise fail(str(unloadable)) from None
            except KeyboardInterrupt:
                if decided() is not None:  # after the command's answer: it stands, alone
                    raise typer.Exit(decided()) from None
                raise fail(message, code=EXIT_INTERRUPTED) from None
            finally:
                _Process.no_temporary_folder = None  # this command's finding: not the next one's in this process

        return wrapper

    return decorate


def working_directory_error() -> WeathercleanError | None:
    """The one-line error of a working directory that is gone (``rmdir`` by another shell, a checkout deleted under
    a terminal), or None while it is there: checked as each command starts (:func:`interrupted_says`).

    Why: every relative path is read against it, and the commands failed deep inside with a traceback
    (``FileNotFoundError`` from ``Path.cwd()``) or PyTorch aborting as it loaded ("oneMKL FATAL ERROR"), with no
    ``--json`` answer; absolute paths alone would not have saved the run (PyTorch loads no better)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return WeathercleanError(
            "the working directory no longer exists (removed while this shell was in it); cd to another folder "
            "and rerun"
        )
    except OSError as exc:
        return WeathercleanError(
            f"the working directory cannot be read ({exc.strerror or exc}); cd to another folder and rerun"
        )
    return None


def temporary_folder_error() -> WeathercleanError | None:
    """The one-line error of a process with no usable temporary folder (``TMPDIR``, ``/tmp``, ``/var/tmp``,
    ``/usr/tmp`` and the working folder all unwritable: :func:`tempfile.gettempdir` raises), or None when there is
    one. Checked as each command starts, before PyTorch is touched (:func:`interrupted_says`); Python keeps the
    folder it found, so this costs one probe file per process.

    Why before: ``torch._dynamo`` makes its cache folder there as it is imported; its first import fails, PyTorch
    swallows that half way through, and the next one (``models info`` of a rain model, from ``FlopCounterMode``)
    raised "AssertionError: Artifact of type=precompile already registered": a traceback, exit code 1 and no
    ``--json`` answer, with nothing to say the temporary folder was the cause. Not an error by itself: ``desnow``
    and ``derain`` run without one; a command that fails in such a process gets this line (:func:`unloadable_error`).
    """
    import tempfile

    try:
        tempfile.gettempdir()
    except OSError as exc:  # FileNotFoundError: "No usable temporary directory found in [...]"
        return WeathercleanError(
            f"no usable temporary folder ({exc.strerror or exc}): PyTorch makes its compile cache folder there as it "
            "loads; set TMPDIR (or TORCHINDUCTOR_CACHE_DIR) to a folder you can write, then rerun"
        )
    return None


def unloadable_error(exc: BaseException) -> WeathercleanError | None:
    """The one-line error for ``exc``, raised by a command, when it is PyTorch failing to load
    (:func:`torch_load_error`) or any failure in a process with no usable temporary folder
    (:func:`temporary_folder_error`, found as the command began), the likely cause of whatever PyTorch raised then;
    None for anything else, which keeps its traceback, and for the command's own ends (``typer.Exit``, an option
    error), which are answers, not failures."""
    if isinstance(exc, WeathercleanError | typer.Exit | typer.Abort) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, _click_errors()):
        return None
    if _Process.no_temporary_folder is not None:  # what it hid is said too: a real bug must stay findable
        return WeathercleanError(f"{_Process.no_temporary_folder} (it failed with {one_line(exc)})")
    return torch_load_error(exc)


def torch_load_error(exc: BaseException) -> WeathercleanError | None:
    """The one-line error for ``exc`` when it is PyTorch failing to load (raised while a ``torch`` module was being
    imported, or PyTorch missing), with its likely cause; None for anything else, which keeps its traceback.

    Why: under an address-space limit (``ulimit -v 300000``, a batch system's memory cap) ``import torch`` failed
    with "libtorch_cpu.so: failed to map segment from shared object", and the run ended in a 56-line traceback,
    exit code 1 and no ``--json`` answer. The limit (``RLIMIT_AS``) is blamed only when the failure reads as memory
    (:func:`_out_of_memory`): a 64 GiB limit is a common batch default, and a missing ``libcudnn.so.9`` or ``sympy``
    told to raise it sent the user the wrong way; there the install is what is broken, with the limit said too."""
    if not isinstance(exc, ImportError | OSError | MemoryError):
        return None
    missing = getattr(exc, "name", None) or ""
    if missing.split(".")[0] != "torch" and not _raised_importing("torch", exc):
        return None
    if isinstance(exc, ModuleNotFoundError) and missing == "torch":
        return WeathercleanError(
            "PyTorch is not installed; install it as the README's 'GPU and CPU installs' says (pip install torch), "
            "then rerun"
        )
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = (lines[0] if lines else type(exc).__name__)[:200]
    if _raised_importing("tempfile", exc, anywhere=True):  # torch._dynamo makes its cache folder as it is imported
        return WeathercleanError(
            f"PyTorch could not be loaded ({reason}): it makes its compile cache folder in the temporary folder as it "
            "loads, and no temporary folder can be written; set TMPDIR (or TORCHINDUCTOR_CACHE_DIR) to a folder you "
            "can write, then rerun"
        )
    limit = memory_limit()
    if limit is not None and _out_of_memory(exc):
        return WeathercleanError(
            f"PyTorch could not be loaded ({reason}): this process may use at most {limit // 2**20} MiB of address "
            f"space (ulimit -v {limit // 1024}), too little for PyTorch's libraries; raise the limit (ulimit -v "
            "unlimited, or the memory limit of the batch system), then rerun"
        )
    within = f" (within an address-space limit of {limit // 2**20} MiB, ulimit -v {limit // 1024})" if limit else ""
    return WeathercleanError(
        f"PyTorch could not be loaded ({reason}){within}; its install looks broken: reinstall it (pip install "
        "--force-reinstall torch, as the README's 'GPU and CPU installs' says), then rerun"
    )


#: What a failure to load reads as when memory (an address-space limit) is its cause: the dynamic loader's words
#: for a library it cannot map, and ENOMEM's.
_MEMORY_WORDS = ("failed to map segment", "cannot allocate memory", "out of memory")
#: Loader failures that share those words but are no memory running out: glibc's static TLS block (libgomp on
#: aarch64; LD_PRELOAD or the import order mends it) and a library on a ``noexec`` mount (EPERM).
_NOT_MEMORY_WORDS = ("static tls", "operation not permitted")


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) reads as memory running out: ``MemoryError``,
    ``ENOMEM``, or the loader's "failed to map segment" / "Cannot allocate memory"."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or getattr(exc, "errno", None) == errno.ENOMEM:
            return True
        text = str(exc).lower()
        if any(words in text for words in _MEMORY_WORDS) and not any(words in text for words in _NOT_MEMORY_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _raised_importing(package: str, exc: BaseException, *, anywhere: bool = False) -> bool:
    """Whether ``exc`` was raised while the top level of ``package`` or one of its modules ran: its import (with
    ``anywhere``: while any of its code ran)."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        name = str(frame.f_globals.get("__name__", ""))
        if (anywhere or frame.f_code.co_name == "<module>") and (name == package or name.startswith(package + ".")):
            return True
        tb = tb.tb_next
    return False


@contextlib.contextmanager
def json_errors(json_out: bool, interrupted: str = INTERRUPTED_MESSAGE) -> Iterator[None]:
    """With ``--json``, an error that stops the whole command (exit code 2: no input exists, a missing model,
    an unwritable -o) is also printed on stdout, as ``{"ok": false, "error": ..., "exit_code": 2}``; so is
    Ctrl-C or SIGTERM that comes before the command has a summary to print (while it plans or loads the
    model), as ``{"ok": false, "interrupted": true, "error": ..., "exit_code": 130}``.

    A script reading stdout must never get nothing (``--json > run.json`` under Slurm): the one-line message
    still goes to stderr as always. PyTorch failing to load, and any failure in a process with no usable temporary
    folder (:func:`unloadable_error`), are such errors too.
    """
    try:
        yield
    except WeathercleanError as exc:
        if json_out:
            _echo_json({"ok": False, "error": str(exc), "exit_code": EXIT_USAGE})
        raise
    except Exception as exc:  # PyTorch that cannot be loaded (:func:`unloadable_error`); anything else as it was
        if (unloadable := unloadable_error(exc)) is None:
            raise
        if json_out:
            _echo_json({"ok": False, "error": str(unloadable), "exit_code": EXIT_USAGE})
        raise unloadable from None
    except KeyboardInterrupt:
        if json_out and decided() is None:  # its line on stderr follows (cli_errors), part of the same answer
            _echo_json(interrupted_answer(interrupted), decides=False)
        raise


def interrupted_answer(message: str) -> dict[str, Any]:
    """The ``--json`` object of a command interrupted before it had a summary to print (the documented one)."""
    return {"ok": False, "interrupted": True, "error": message, "exit_code": EXIT_INTERRUPTED}


def _echo_json(answer: dict[str, Any], *, decides: bool = True) -> None:
    """``answer`` (an error object, with its ``exit_code``) as JSON on stdout; a stdout that cannot take it is
    handled as :func:`stdout_lost` says. The outcome is then decided (:func:`decided`), unless ``decides`` is
    False: an interruption's object, whose ``error:`` line is still to come from :func:`interrupted_says` (an
    interruption meanwhile must not cut that line)."""
    if decides:
        _Process.outcome = answer.get("exit_code", EXIT_USAGE)
    try:
        typer.echo(json.dumps(answer, indent=2))
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:
        stdout_lost(exc)


class TidyGroup(TyperGroup):
    """The root command group, whose commands' help pages show a short name for each value, nothing else.

    Typer's help tags every parameter with its Python type (``<bool>`` on flags, ``<list[str]>`` on the
    paths, ``<int range> [x>=64]``) and writes a required argument as ``{paths}...``: noise between an
    option and what it does. Every command under this group (sub-groups included, each command module
    untouched) is tidied once, when the group is built: see :func:`tidy_command`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy_command(self)
        for command in getattr(self, "commands", {}).values():
            tidy_command(command)
            for sub in getattr(command, "commands", {}).values():  # a sub-group's commands (models ...)
                tidy_command(sub)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:  # every sub-command's options are parsed in here
        with one_line_usage_errors():
            return super().invoke(ctx)


def _click_errors() -> tuple[type[BaseException], ...]:
    """The copy of Click's error class a Typer that vendors Click (0.29+) raises, and Click's own where something
    imported it already (an older Typer, which runs on it). Nothing is imported here: this Typer does not require
    Click, and importing it on every ``--help`` cost about 21 ms and failed where it is not installed."""
    vendored = getattr(getattr(getattr(typer, "_click", None), "exceptions", None), "ClickException", None)
    click = sys.modules.get("click")
    found = [vendored, getattr(click, "ClickException", None)]
    return tuple({error for error in found if isinstance(error, type)})


@contextlib.contextmanager
def one_line_usage_errors() -> Iterator[None]:
    """An option error (unknown option, bad value, missing argument) as the usage line and one line
    ``error: MESSAGE; see 'COMMAND --help'``, exit code 2, as the command's own errors are printed.

    Why: Typer drew it in a box titled "Error" (``╭─ Error ─╮``), without the ``error:`` that every other error
    line starts with: ``grep '^error:'`` over a CI log missed it, and a screen reader read the box's border."""
    try:
        yield
    except _click_errors() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help page was the answer
            raise
        ctx = getattr(exc, "ctx", None)
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        if hint := getattr(exc, "hint", None):  # :func:`_parse_with_context`'s, for a file named like an option
            message = f"{message.rstrip('.')}; {hint}"
        if ctx is not None:
            err_console.print(ctx.get_usage(), markup=False, highlight=False, soft_wrap=True)
            if ctx.command.get_help_option(ctx) is not None:
                message = f"{message.rstrip('.')}; see '{ctx.command_path} {ctx.help_option_names[0]}'"
        print_error(printable(message))
        raise typer.Exit(getattr(exc, "exit_code", EXIT_USAGE)) from None


def tidy_command(command: Any) -> None:
    """Let the command's help text flow (:func:`flowing_help`), and give each parameter a plain metavar
    (``PATHS...``, ``DIR``, ``N``, ``TEXT``, ``snow|rain``) and no type tag or range tag; flags show
    nothing. A metavar set by the command itself is kept. Ranges
    are still enforced, and an out-of-range value's error states them. ``--help``, made only when a
    page is shown, is tidied then."""
    if isinstance(getattr(command, "help", None), str):
        command.help = flowing_help(command.help)
    if plain_terminal():  # TERM=dumb: a screen reader read the help panels' box borders, as it did the tables'
        _plain_page(command)
    for param in getattr(command, "params", []):
        _tidy_param(param)
    make_help = getattr(command, "get_help_option", None)
    if make_help is not None:
        command.get_help_option = lambda ctx: _tidy_param(make_help(ctx))
    parse = getattr(command, "parse_args", None)
    if parse is not None:
        command.parse_args = functools.partial(_parse_with_context, parse)


def _parse_with_context(parse: Callable[[Any, list[str]], Any], ctx: Any, args: list[str]) -> Any:
    """A command's own ``parse_args``, with its context on the error it raises: Click leaves it off some ("Option
    '--format' requires an argument."), and :func:`one_line_usage_errors` needs it for the usage line and the
    ``see 'weatherclean desnow --help'`` its other option errors end with."""
    given = list(args)  # Click's parser consumes the list it is handed
    try:
        return parse(ctx, args)
    except _click_errors() as exc:
        if getattr(exc, "ctx", None) is None:
            exc.ctx = ctx  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoSuchOption" and (named := _file_like_option(given)):
            exc.hint = f"to name the file {named}, write ./{named} or put -- before the file names"  # type: ignore[attr-defined]
        raise


def _file_like_option(args: list[str]) -> str | None:
    """The first of ``args`` that looks like an option but is an existing file or folder (``-lead.jpg``): Click
    said only "No such option: -l", and the user saw no reason their photo was taken for options."""
    for arg in args:
        if arg == "--":
            return None
        if arg.startswith("-") and len(arg) > 1 and os.path.lexists(arg):
            return arg
    return None


def _plain_page(command: Any) -> None:
    """``command``'s help page as plain text (Click's own layout), its Rich escapes (``owner/name\\[@revision]``)
    read as the brackets they stand for."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for param in getattr(command, "params", []):
        if isinstance(getattr(param, "help", None), str):
            param.help = param.help.replace("\\[", "[")


def flowing_help(text: str) -> str:
    """A command's help (its docstring) with each paragraph's lines joined, for the help page to wrap.

    Typer's Rich help keeps a docstring's single line breaks as they are in the source, so a page wider or
    narrower than the source's 120 columns broke sentences mid-line ("...Exit code 0 when every file" and then
    "was done or skipped..." on a line of its own). Paragraphs (split by a blank line) are joined into one line
    each; one whose lines are indented, or that starts with Click's ``\\b``, is left as written: examples and
    commands to copy (train's), one a line.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") or any(line[:1].isspace() for line in p.splitlines()) else " ".join(p.split("\n"))
        for p in paragraphs
    )


def _tidy_param(param: Any) -> Any:
    """One parameter, as :func:`tidy_command` says; returns it (None stays None)."""
    if param is None:
        return None
    if getattr(param, "param_type_name", "") == "argument":
        name = param.metavar or param.name.upper() + ("..." if param.nargs != 1 else "")
        usage = name if param.required else f"[{name}]"
        param.metavar = name
        param.get_usage_pieces = lambda ctx: [usage]
        if hasattr(param, "display_type_rich"):
            param.display_type_rich = lambda ctx: None
    elif getattr(param, "is_flag", False) and not getattr(param, "count", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = _metavar(param)
    if hasattr(param, "_get_number_range_help_str"):
        param._get_number_range_help_str = lambda: None
    return param


def _metavar(param: Any) -> str:
    """A value's short name from its annotation (Typer ≥ 0.20 keeps it) or Click type (earlier Typers)."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(member.value) for member in annotation)
    if annotation is None:
        choices = getattr(getattr(param, "type", None), "choices", None)
        if choices:
            return "|".join(str(c) for c in choices)
        return str(getattr(getattr(param, "type", None), "name", "value")).upper()
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "PATH"
    return {int: "N", float: "X"}.get(annotation, "TEXT")
