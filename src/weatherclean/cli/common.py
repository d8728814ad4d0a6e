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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from weatherclean.errors import WeathercleanError
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
                stream.write(text)
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


def _console(stderr: bool = False) -> Console:
    """A console; when piped or logged (not a terminal, no COLUMNS), 120 columns instead of Rich's 80,
    so that result tables in log files and CI output are not squeezed or cut. Its writes never fail
    (:class:`_ForgivingStream`)."""

    def make(**options: Any) -> Console:
        return Console(file=_ForgivingStream(2 if stderr else 1), **options)

    probe = make()
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return make(width=120)


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
    neither is touched."""

    owned = False
    outcome: int | None = None


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
    read). ``line`` is made printable by the caller (:func:`~weatherclean.io.folders.printable`, ``shown``)."""
    err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)


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
    """Turn :class:`WeathercleanError` into a one-line message and exit code 2, never a traceback."""
    return interrupted_says(INTERRUPTED_MESSAGE)(func)


def interrupted_says(message: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """:func:`cli_errors` for a command whose Ctrl-C (exit code 130) says ``message``: a command that keeps
    nothing to resume from must not tell the user a rerun resumes (:data:`INTERRUPTED_NOTHING_KEPT`)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            undecided()
            try:
                return func(*args, **kwargs)
            except WeathercleanError as exc:
                raise fail(str(exc)) from None
            except KeyboardInterrupt:
                if decided() is not None:  # after the command's answer: it stands, alone
                    raise typer.Exit(decided()) from None
                raise fail(message, code=EXIT_INTERRUPTED) from None

        return wrapper

    return decorate


@contextlib.contextmanager
def json_errors(json_out: bool, interrupted: str = INTERRUPTED_MESSAGE) -> Iterator[None]:
    """With ``--json``, an error that stops the whole command (exit code 2: no input exists, a missing model,
    an unwritable -o) is also printed on stdout, as ``{"ok": false, "error": ..., "exit_code": 2}``; so is
    Ctrl-C or SIGTERM that comes before the command has a summary to print (while it plans or loads the
    model), as ``{"ok": false, "interrupted": true, "error": ..., "exit_code": 130}``.

    A script reading stdout must never get nothing (``--json > run.json`` under Slurm): the one-line message
    still goes to stderr as always.
    """
    try:
        yield
    except WeathercleanError as exc:
        if json_out:
            _echo_json({"ok": False, "error": str(exc), "exit_code": EXIT_USAGE})
        raise
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
