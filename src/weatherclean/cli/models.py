"""``weatherclean models``: what models exist, what they are, and where they come from."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from weatherclean.cli.common import cli_errors, console

models_app = typer.Typer(help="List and inspect models.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


@models_app.command("list")
@cli_errors
def list_command() -> None:
    """Registered models, their task and whether weights ship with the package."""
    from weatherclean.models.registry import DEFAULT_MODELS, bundled_weights_dir, list_models

    table = Table("name", "task", "weights", "description")
    for spec in list_models():
        default = " (default)" if DEFAULT_MODELS.get(spec.task) == spec.name else ""
        weights = "bundled" if bundled_weights_dir(spec.name) else "train your own"
        table.add_row(spec.name + default, spec.task, weights, spec.description)
    console.print(table)


@models_app.command("info")
@cli_errors
def info_command(name: str = typer.Argument("default", help="Registered name, folder or Hub id.")) -> None:
    """Configuration, size and source of a model."""
    from weatherclean.models.desnownet import macs_per_pixel
    from weatherclean.models.registry import bundled_weights_dir, load_model, resolve_model_name

    model = load_model(name, "cpu")
    resolved = resolve_model_name(name)
    source = bundled_weights_dir(resolved) or resolved
    table = Table(show_header=False)
    table.add_row("model", resolved)
    table.add_row("source", str(source))
    table.add_row("parameters", f"{sum(p.numel() for p in model.parameters()):,}")
    table.add_row("multiply-adds per pixel", f"{macs_per_pixel(model):,.0f}")
    table.add_row("config", json.dumps(model.config.to_dict()))
    console.print(table)
