"""Small pieces every CLI command shares: the error wrapper and the consoles."""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
import json
import os
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

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
#: The message of a command interrupted before it had a summary to print (loading the model, say).
INTERRUPTED_MESSAGE = "interrupted; rerun the same command to resume"


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
            raise fail(INTERRUPTED_MESSAGE, code=EXIT_INTERRUPTED) from None

    return wrapper


@contextlib.contextmanager
def json_errors(json_out: bool) -> Iterator[None]:
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
            typer.echo(json.dumps({"ok": False, "error": str(exc), "exit_code": EXIT_USAGE}, indent=2))
        raise
    except KeyboardInterrupt:
        if json_out:
            answer = {"ok": False, "interrupted": True, "error": INTERRUPTED_MESSAGE, "exit_code": EXIT_INTERRUPTED}
            typer.echo(json.dumps(answer, indent=2))
        raise


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


def tidy_command(command: Any) -> None:
    """Let the command's help text flow (:func:`flowing_help`), and give each parameter a plain metavar
    (``PATHS...``, ``DIR``, ``N``, ``TEXT``, ``snow|rain``) and no type tag or range tag; flags show
    nothing. A metavar set by the command itself is kept. Ranges
    are still enforced, and an out-of-range value's error states them. ``--help``, made only when a
    page is shown, is tidied then."""
    if isinstance(getattr(command, "help", None), str):
        command.help = flowing_help(command.help)
    for param in getattr(command, "params", []):
        _tidy_param(param)
    make_help = getattr(command, "get_help_option", None)
    if make_help is not None:
        command.get_help_option = lambda ctx: _tidy_param(make_help(ctx))


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
