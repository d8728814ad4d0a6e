"""Small pieces every CLI command shares: the error wrapper and the consoles."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from weatherclean.errors import WeathercleanError

P = ParamSpec("P")
R = TypeVar("R")


def _console(stderr: bool = False) -> Console:
    """A console; when piped or logged (not a terminal, no COLUMNS), 120 columns instead of Rich's 80,
    so that result tables in log files and CI output are not squeezed or cut."""
    probe = Console(stderr=stderr)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return Console(stderr=stderr, width=120)


console = _console()
err_console = _console(stderr=True)

#: Exit code for "the command could not run at all" (bad arguments, missing model, ...).
EXIT_USAGE = 2
#: Exit code for "the command ran but at least one file failed".
EXIT_SOME_FAILED = 1
#: Exit code after Ctrl-C (128 + SIGINT, as shells report it); a rerun resumes.
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print a one-line error and return the ``typer.Exit`` to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def cli_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`WeathercleanError` into a one-line message and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WeathercleanError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted; rerun the same command to resume", code=EXIT_INTERRUPTED) from None

    return wrapper
