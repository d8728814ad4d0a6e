"""The ``weatherclean`` command line: a thin layer over the library.

Each sub-command lives in its own module with a ``register(app)`` function, so a newcomer finds
``weatherclean desnow`` in ``cli/desnow.py`` and the work it does in the library modules it calls.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from weatherclean import __version__
from weatherclean.cli import compare, derain, desnow, evaluate, models, synth, train
from weatherclean.cli.common import TidyGroup

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

    if sys.platform != "win32":
        signal.signal(signal.SIGTERM, handle)


def print_anything() -> None:
    """Write what the terminal's encoding cannot show as escapes rather than fail: on an ASCII console (an
    old Windows one, ``PYTHONIOENCODING=ascii``) a file name like ``Zürich.jpg`` crashed the summary
    with a traceback after all the work was done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")


def main() -> None:
    interrupt_on_sigterm()
    print_anything()
    app()
