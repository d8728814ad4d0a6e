"""The ``weatherclean`` command line: a thin layer over the library.

Each sub-command lives in its own module with a ``register(app)`` function, so a newcomer finds
``weatherclean desnow`` in ``cli/desnow.py`` and the work it does in the library modules it calls.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import typer

from weatherclean import __version__
from weatherclean.cli import compare, derain, desnow, evaluate, models, synth, train
from weatherclean.cli.common import TidyGroup, exit_on_interrupt, own_process

app = typer.Typer(
    name="weatherclean",
    cls=TidyGroup,
    help="Remove snow and rain from photos and videos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"weatherclean {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Remove snow and rain from photos and videos."""


desnow.register(app)
derain.register(app)
synth.register(app)
train.register(app)
evaluate.register(app)
compare.register(app)
models.register(app)


def interrupt_on_sigterm() -> None:
    """Handle SIGTERM (``docker stop``, systemd, a batch scheduler's pre-emption) as Ctrl-C: the run stops
    at the next safe point, removes its temporary files, prints its summary and exits with 130, and a
    rerun resumes. Without this a terminated run left hidden ``*.part`` files that no run removed."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if sys.platform != "win32" and threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:  # ignored by whoever started us: it stays so
            signal.signal(signal.SIGTERM, handle)


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
    """The command run inside a program's process: SIGTERM is Ctrl-C and unprintable characters are escaped while
    it runs, and the program gets its SIGTERM handler and its streams' error handling back when it returns; no
    signal handler, file descriptor or exit hook of the command's stays behind (:func:`main`)."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main_thread and sys.platform != "win32" else None
    errors = [(stream, getattr(stream, "errors", None)) for stream in (sys.stdout, sys.stderr)]
    try:
        interrupt_on_sigterm()
        print_anything()
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
        for stream, was in errors:
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None and was is not None and getattr(stream, "errors", None) != was:
                with contextlib.suppress(Exception):
                    reconfigure(errors=was)


def main(args: list[str] | None = None, *, obj: object = None, as_command: bool | None = None) -> None:
    """The ``weatherclean`` command (and ``python -m weatherclean``).

    As the command (``as_command``; by default when ``args`` is None, as the console script and ``python -m
    weatherclean`` call it), the process is set up as the command's (:func:`~weatherclean.cli.common.own_process`),
    and once a command has ended with its exit code, Ctrl-C or SIGTERM during the exit ends it with that code
    (:func:`~weatherclean.cli.common.exit_on_interrupt`). Called by a program with ``args`` (``main([...])``), the
    process stays the program's: SIGTERM counts as Ctrl-C only while the command runs, and the signal handlers it
    had are back when it returns (or raises ``SystemExit``), with no exit hook or reopened file descriptor left.

    ``args`` (default: the command line) and ``obj`` (Click's context object, such as a
    :data:`~weatherclean.cli.batch.ModelProvider`) let a program, or a test, run the whole command as it runs.
    """
    if as_command is None:
        as_command = args is None
    if not as_command:
        with _borrowed_process():
            app(args, obj=obj)
        return
    own_process()
    interrupt_on_sigterm()
    print_anything()
    try:
        app(args, obj=obj)
    except SystemExit as exc:
        exit_on_interrupt(exit_code_of(exc))
        raise


def exit_code_of(exc: SystemExit) -> int:
    """The status a ``SystemExit`` gives the process: None is 0, a message (printed by Python) is 1."""
    return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
