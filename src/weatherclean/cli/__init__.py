"""The ``weatherclean`` command line: a thin layer over the library.

Each sub-command lives in its own module with a ``register(app)`` function, so a newcomer finds
``weatherclean desnow`` in ``cli/desnow.py`` and the work it does in the library modules it calls.

This module imports only the standard library: the command's signal handlers are installed before Typer, Rich
and the command modules are imported (:func:`main`), and the app itself (:data:`app`) is built on first use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from weatherclean.interrupts import (  # the standard library alone
    EXIT_INTERRUPTED,
    INTERRUPTS,
    takes_over,
    until_uninterrupted,
)
from weatherclean.io.pillow_warnings import quiet_pillow  # the standard library alone

if TYPE_CHECKING:
    import typer

    #: The root Typer app, built on first use (:func:`_the_app`).
    app: typer.Typer

#: The signals the command takes as Ctrl-C besides SIGINT: SIGTERM (``docker stop``, systemd, a scheduler's
#: pre-emption) and SIGHUP (an SSH connection dropped, a terminal closed, ``tmux kill-session``); those of
#: :data:`weatherclean.interrupts.INTERRUPTS` but Ctrl-C's own, so that the two lists never differ.
STOP_SIGNALS = tuple(s for s in INTERRUPTS if s != signal.SIGINT)


def interrupt_on_signals(signals: Sequence[int] = STOP_SIGNALS) -> None:
    """Handle SIGTERM and SIGHUP as Ctrl-C: the run stops at the next safe point, removes its temporary files,
    prints its summary (or its ``--json`` object) and exits with 130, and a rerun resumes. Without this a
    terminated run, or one whose SSH connection dropped, died on the spot: no summary, an empty ``--json`` file
    and hidden ``*.part`` files that no run removed. A signal ignored by whoever started the command (SIGHUP
    under ``nohup``, SIGTERM under some supervisors) stays ignored."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    handle.interrupts_the_run = True  # type: ignore[attr-defined]  # the Ray driver's relay looks for it
    if sys.platform != "win32" and threading.current_thread() is threading.main_thread():
        for signum in signals:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, handle)


#: The former name of :func:`interrupt_on_signals`, from when SIGTERM was the only such signal.
interrupt_on_sigterm = interrupt_on_signals

#: The narrowest width the command lays its output out for: a smaller ``COLUMNS`` (``COLUMNS=1``) counts as this.
#: At 20 columns every table still folds into readable ``header: value`` blocks; below it Rich drew one letter a
#: line. The terminal wraps the lines of a window that really is narrower. The same number as
#: ``weatherclean.tables.NARROWEST`` (a test holds them equal), kept here rather than imported: that module imports
#: Rich, and this one imports only the standard library until the command's signal handlers are in place.
NARROWEST = 20


def usable_columns(value: str | None) -> int | None:
    """The width that ``COLUMNS`` (``value``) asks for, at least :data:`NARROWEST`; None when it asks for none: unset,
    or not a positive number (``0``, empty, ``abc``), which is then ignored as if unset.

    Why: some CI runners and ``docker exec`` wrappers export ``COLUMNS=0``, and Rich took it as a width of 0 columns:
    every line of output (error lines, the summary, ``--help``) came out empty, with only the exit code left."""
    if value is None:
        return None
    try:
        columns = int(value.strip())
    except ValueError:
        return None
    return max(columns, NARROWEST) if columns > 0 else None


def tidy_columns() -> str | None:
    """Make this process's ``COLUMNS`` one every console reads right (:func:`usable_columns`): removed when it is no
    width, raised to :data:`NARROWEST` when it is smaller; returns the value it had (None: unset). Why the
    environment and not only the command's own consoles: Typer draws help pages and option errors on consoles of
    its own, which read ``COLUMNS`` themselves."""
    given = os.environ.get("COLUMNS")
    width = usable_columns(given)
    if width is None:
        os.environ.pop("COLUMNS", None)
    elif str(width) != given:
        os.environ["COLUMNS"] = str(width)
    return given


def restore_columns(given: str | None) -> None:
    """Put ``COLUMNS`` back as :func:`tidy_columns` found it (``given``; None: unset)."""
    if given is None:
        os.environ.pop("COLUMNS", None)
    else:
        os.environ["COLUMNS"] = given


class _Borrowed:
    """How many commands run now in this (borrowed) process (:func:`_columns_tidied`), the ``COLUMNS`` the first
    of them found, and the one :func:`tidy_columns` left; all under :data:`lock`."""

    lock = threading.Lock()
    depth = 0
    given: str | None = None
    left: str | None = None


@contextlib.contextmanager
def _columns_tidied() -> Iterator[None]:
    """``COLUMNS`` tidied (:func:`tidy_columns`) while one or more commands run in a program's process, and put back
    when the last of them returns, unless the program set it meanwhile.

    Why a count under a lock: two threads calling :func:`main` each saved ``COLUMNS`` and put back what they saved;
    the second saved the value the first had already removed ("unset"), finished last and removed the program's
    ``COLUMNS`` for good. Why "unless set meanwhile": the unconditional write-back overwrote a value the program
    itself had set while the command ran."""
    with _Borrowed.lock:
        if _Borrowed.depth == 0:
            _Borrowed.given = tidy_columns()
            _Borrowed.left = os.environ.get("COLUMNS")
        _Borrowed.depth += 1
    try:
        yield
    finally:
        with _Borrowed.lock:
            _Borrowed.depth -= 1
            if _Borrowed.depth == 0 and os.environ.get("COLUMNS") == _Borrowed.left:
                restore_columns(_Borrowed.given)


def print_anything() -> None:
    """Write what the terminal's encoding cannot show as escapes rather than fail: on an ASCII console (an
    old Windows one, ``PYTHONIOENCODING=ascii``) a file name like ``Zürich.jpg`` crashed the summary
    with a traceback after all the work was done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")


@contextlib.contextmanager
def _borrowed_process() -> Iterator[None]:
    """The command run inside a program's process: SIGTERM is Ctrl-C, SIGHUP too where the program left it at the
    default, and unprintable characters are escaped while it runs, and the program gets its handlers and its
    streams' error handling back when it returns; no signal handler, file descriptor or exit hook of the command's
    stays behind (:func:`main`). ``COLUMNS`` is tidied while it runs (:func:`tidy_columns`) and put back after
    (:func:`_columns_tidied`, which several threads running commands at once share).
    Why SIGHUP only at the default: a daemon's own SIGHUP handler ("reload your configuration") must keep working
    while it runs a batch, and never stop the batch."""
    main_thread = threading.current_thread() is threading.main_thread()
    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS} if main_thread and sys.platform != "win32" else {}
    taken = [s for s, handler in handlers.items() if takes_over(s, handler)]
    errors = [(stream, getattr(stream, "errors", None)) for stream in (sys.stdout, sys.stderr)]
    try:
        with _columns_tidied():
            interrupt_on_signals(taken)
            print_anything()
            yield
    finally:
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)
        for stream, was in errors:
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None and was is not None and getattr(stream, "errors", None) != was:
                with contextlib.suppress(Exception):
                    reconfigure(errors=was)


def main(args: list[str] | None = None, *, obj: object = None, as_command: bool | None = None) -> None:
    """The ``weatherclean`` command (and ``python -m weatherclean``).

    As the command (``as_command``; by default when ``args`` is None, as the console script and ``python -m
    weatherclean`` call it), the signal handlers are installed first, before anything else is imported, then the
    process is set up as the command's (:func:`~weatherclean.cli.common.own_process`), and once a command has
    ended with its exit code, Ctrl-C, SIGTERM or SIGHUP during the exit ends it with that code
    (:func:`~weatherclean.cli.common.exit_on_interrupt`). Called by a program with ``args`` (``main([...])``), the
    process stays the program's: SIGTERM and SIGHUP count as Ctrl-C only while the command runs, and the signal
    handlers it had are back when it returns (or raises ``SystemExit``), with no exit hook or reopened file
    descriptor left.

    An interruption before the command's own handling has begun (while the CLI is imported, its commands built or
    the arguments parsed) ends it as one during planning does: exit code 130, one ``error:`` line, and with
    ``--json`` among the arguments the JSON error object on stdout; never a traceback, nor a silent 130.

    ``args`` (default: the command line) and ``obj`` (Click's context object, such as a
    :data:`~weatherclean.cli.batch.ModelProvider`) let a program, or a test, run the whole command as it runs.
    """
    if as_command is None:
        as_command = args is None
    given = list(sys.argv[1:] if args is None else args)
    if not as_command:
        with _borrowed_process():
            _run(args, obj, given, owned=False)
        return
    interrupt_on_signals()  # first: until now a SIGTERM or SIGHUP killed the process outright
    _run(args, obj, given, owned=True)


def _run(args: list[str] | None, obj: object, given: list[str], *, owned: bool) -> None:
    """Import, build and run the app; an interruption that reaches here is answered by :func:`_say_interrupted`."""
    try:
        if owned:
            tidy_columns()  # before any console is made: ``COLUMNS=0`` printed nothing at all, not even --help
        from weatherclean.cli.common import exit_on_interrupt, own_process, undecided

        undecided()
        if owned:
            own_process()
            print_anything()
            quiet_pillow()
        try:
            _the_app()(args, obj=obj)
        except SystemExit as exc:
            if owned:
                until_uninterrupted(exit_on_interrupt, exit_code_of(exc))
            raise
    except KeyboardInterrupt:
        code = _say_interrupted(given, owned=owned)
        if owned:
            _ignore_stops()
        raise SystemExit(code) from None


def _ignore_stops() -> None:
    """Ignore Ctrl-C, SIGTERM and SIGHUP from now on, once an interruption's answer is out and the exit code
    (130) decided; one that came as this starts is noted and dropped (:func:`until_uninterrupted`)."""

    def ignore() -> None:
        for signum in INTERRUPTS:
            signal.signal(signum, signal.SIG_IGN)

    until_uninterrupted(ignore)


def _say_interrupted(given: Sequence[str], *, owned: bool = False) -> int:
    """Answer an interruption that came outside the command's own handling (before it began, or after its answer)
    and return the exit code to end with. Before: the one-line ``error:`` message on stderr and, when ``--json``
    is among the arguments ``given``, the JSON error object on stdout, as the command gives them when interrupted
    while planning (:func:`~weatherclean.cli.common.json_errors`); 130. After the command has answered (an error
    line, a JSON object, its summary: :func:`~weatherclean.cli.common.decided`): nothing more, and its code,
    so that stdout never holds two JSON answers. ``owned``: this process is the ``weatherclean`` command, whose
    failed standard streams may be pointed at the null device.

    Written with further interruptions held and blocked (:mod:`weatherclean.interrupts`, standard library only):
    a second Ctrl-C must not cut it short. The message is the command's own (``evaluate`` keeps nothing to resume
    from), imported under the hold."""
    from weatherclean.interrupts import interrupts_blocked, interrupts_held

    def answer() -> int:  # again if one comes before the hold takes effect: nothing was written yet
        with interrupts_held(), interrupts_blocked():
            from weatherclean.cli import common

            if owned:
                common._Process.owned = True
            code = common.decided()
            if code is not None:
                return code
            command = next((arg for arg in given if not arg.startswith("-")), None)
            message = common.INTERRUPTED_NOTHING_KEPT if command == "evaluate" else common.INTERRUPTED_MESSAGE
            if _json_asked(given):
                common._echo_json(common.interrupted_answer(message))
            common.fail(message, EXIT_INTERRUPTED)
            return EXIT_INTERRUPTED

    return until_uninterrupted(answer)


def _json_asked(given: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options ``given`` (not a file named so after ``--``)."""
    options = given[: given.index("--")] if "--" in given else given
    return "--json" in options


def exit_code_of(exc: SystemExit) -> int:
    """The status a ``SystemExit`` gives the process: None is 0, a message (printed by Python) is 1."""
    return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1


@functools.cache
def _the_app() -> typer.Typer:
    """The root Typer app, its ``--version`` and each command's module registered on it, built on first use
    (``weatherclean.cli.app``, and :func:`main` once its signal handlers are in place): importing Typer, Rich and
    the command modules takes 0.1-0.3 s, during which a signal used to find no handler of the command's yet."""
    import typer

    from weatherclean import __version__
    from weatherclean.cli import compare, derain, desnow, evaluate, models, synth, train
    from weatherclean.cli.common import TidyGroup, undecided

    class RootGroup(TidyGroup):
        """The root group: an interruption while the arguments are parsed (each command's own handling has not
        begun) is answered as :func:`_say_interrupted` says. Typer turned it into exit code 130 alone: no
        message, and no JSON for ``--json``, which the docs promise."""

        #: The arguments as given to this app's call (:meth:`make_context` consumes its list).
        given: Sequence[str] = ()

        def make_context(self, info_name: str | None, args: list[str], *rest: Any, **kwargs: Any) -> Any:
            self.given = list(args)
            undecided()  # a call of the app begins: an earlier call's answer is not this one's
            with self.answer_interruptions():
                return super().make_context(info_name, args, *rest, **kwargs)

        def invoke(self, ctx: Any) -> Any:  # a command's options are parsed in here, then the command runs
            with self.answer_interruptions():
                return super().invoke(ctx)

        @contextlib.contextmanager
        def answer_interruptions(self) -> Iterator[None]:
            try:
                yield
            except KeyboardInterrupt:  # every command answers its own: this came before it began, or after
                raise typer.Exit(_say_interrupted(self.given)) from None

    def version_and_exit(value: bool) -> None:
        if value:
            typer.echo(f"weatherclean {__version__}")
            raise typer.Exit()

    built = typer.Typer(
        name="weatherclean",
        cls=RootGroup,
        help="Remove snow and rain from photos and videos.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @built.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=version_and_exit, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """Remove snow and rain from photos and videos."""

    for module in (desnow, derain, synth, train, evaluate, compare, models):
        module.register(built)
    return built


def __getattr__(name: str) -> Any:
    """``weatherclean.cli.app``, built when first asked for (:func:`_the_app`)."""
    if name == "app":
        return _the_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
