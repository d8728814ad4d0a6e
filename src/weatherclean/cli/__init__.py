"""The ``weatherclean`` command line: a thin layer over the library.

Each sub-command lives in its own module with a ``register(app)`` function, so a newcomer finds
``weatherclean desnow`` in ``cli/desnow.py`` and the work it does in the library modules it calls.
"""

from __future__ import annotations

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


def main() -> None:
    app()
