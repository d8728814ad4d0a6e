"""``weatherclean models``: what models exist, what they are, where they come from, and publishing them.

``list`` shows the registry, ``download`` fills the Hub cache ahead of time (before going offline, or to
repair a corrupt download with ``--force``), ``info`` describes one model, with ``--json`` for scripts, and
``push`` publishes a model folder to the Hub (the work is :func:`weatherclean.models.hub.push_folder`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from weatherclean.cli.common import cli_errors, console, json_errors
from weatherclean.errors import ModelError
from weatherclean.tables import print_table

if TYPE_CHECKING:
    from weatherclean.models.hub import PushResult

models_app = typer.Typer(
    help="List, download, inspect and publish models. Exit code 0 on success, 2 when the command could not do what "
    "was asked (an unknown model, no network, a folder that is not a model: the message says which).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


@models_app.command("list")
@cli_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, for scripts."),
) -> None:
    """Registered models, their task, and where their weights come from."""
    models = list_models_data()
    if as_json:
        typer.echo(json.dumps({"models": models}, indent=2))
        return
    table = Table("name", "task", "weights", "description")
    table.columns[0].no_wrap = True  # a name is never cut: the desnownet-… names differ only at their ends
    for row in models:
        default = " (default)" if row["default"] else ""
        table.add_row(row["name"] + default, row["task"], row["weights"], row["description"])
    print_table(console, table)


def list_models_data() -> list[dict[str, Any]]:
    """What ``models list`` shows, as JSON-able data (its ``--json``): for each registered model its ``name``,
    ``task`` (snow, rain), whether it is its task's ``default``, ``weights`` (bundled, on the Hub, or train your
    own, as the table says it), ``bundled`` (weights ship with weatherclean), ``repo_id`` (its Hub repo, or null)
    and ``description``."""
    from weatherclean.models.registry import DEFAULT_MODELS, bundled_weights_dir, describe_weights, list_models

    return [
        {
            "name": spec.name,
            "task": spec.task,
            "default": DEFAULT_MODELS.get(spec.task) == spec.name,
            "weights": describe_weights(spec),
            "bundled": bundled_weights_dir(spec.name) is not None,
            "repo_id": spec.repo_id,
            "description": spec.description,
        }  # fmt: skip
        for spec in list_models()
    ]


@models_app.command("download")
@cli_errors
def download_command(
    name: str = typer.Argument(..., help="Registered name, or a Hub repo id owner/name\\[@revision]."),
    force: bool = typer.Option(False, "--force", help="Download again even if cached (repairs a corrupt download)."),
) -> None:
    """Fetch a model into the Hugging Face Hub cache, so it later works offline (--offline, HF_HUB_OFFLINE)."""
    from weatherclean.models.registry import load_from_folder, locate_model

    source = locate_model(name, force=force)
    # What `models info` checks: the folder loads. A local path that is no model folder (a JPEG, a folder of
    # photos, truncated weights), or a Hub repo whose weights are damaged or whose model_type is unknown,
    # was reported as ready (exit 0), and the first run that used it failed instead.
    load_from_folder(source.folder)
    if source.kind == "bundled":
        console.print(f"{source.name}: weights ship with weatherclean; nothing to download", soft_wrap=True)
    elif source.kind == "folder":
        console.print(f"{source.name}: a local model folder; nothing to download", soft_wrap=True)
    else:
        console.print(f"{source.name}: {source.repo_id} at commit {source.commit}", highlight=False, soft_wrap=True)
        if source.sha256:
            console.print(f"sha256 verified: {', '.join(sorted(source.sha256))}", highlight=False, soft_wrap=True)
    # Whatever the source, the folder comes last, on its own line and never wrapped, so that scripts can
    # take it with `tail -n 1` (docs/hub.md checks the weights that way).
    console.print(str(source.folder), highlight=False, soft_wrap=True, markup=False)


@models_app.command("info")
@cli_errors
def info_command(
    name: str = typer.Argument("default", help="Registered name, folder, or Hub repo id owner/name\\[@revision]."),
    offline: bool = typer.Option(False, "--offline", help="Use the local Hub cache only (as HF_HUB_OFFLINE=1)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, for scripts."),
) -> None:
    """Configuration, size, source and scores of a model (scores come from its model card)."""
    with json_errors(as_json):
        info = model_info(name, offline=offline or None)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    source = info["source"]
    table = Table(show_header=False)
    table.add_column(no_wrap=True)
    # Folded, never cut with "…": the folder and cache paths are there to be copied whole.
    table.add_column(overflow="fold")
    table.add_row("model", info["name"])
    if info["description"]:
        table.add_row("description", info["description"])
    table.add_row("source", _describe_source(source, info["name"]))
    if source["folder"]:
        table.add_row("folder", source["folder"])
    if source["kind"] == "hub":
        table.add_row("cache", source["cache_folder"])
        if source["sha256_verified"]:
            table.add_row("sha256 verified", ", ".join(sorted(source["sha256_verified"])))
    for file, digest in info.get("sha256", {}).items():  # what a run's --json and each output's tag name
        table.add_row(f"sha256 {file}", digest)
    table.add_row("parameters", f"{info['parameters']:,}")
    if info["size_mb"] is not None:
        table.add_row("size on disk", f"{info['size_mb']:.2f} MB (model.safetensors)")
    if info["macs_per_pixel"] is not None:
        table.add_row("multiply-adds/pixel", f"{info['macs_per_pixel']:,.0f}")
    table.add_row("config", json.dumps(info["config"]))
    print_table(console, table)
    if not info["scores"]:  # a configuration without weights has no model card at all
        console.print("scores: no scores in model card" if source["folder"] else "scores: none (no trained weights)")
        return
    # Only the columns some score fills: cards that name no split would show an empty "split" column.
    rows = info["scores"]
    columns = [k for k in ("dataset", "split", "metric", "value") if any(row.get(k) is not None for row in rows)]
    scores = Table(*columns, title="scores (model card)")
    for row in info["scores"]:
        scores.add_row(*(str(row[k]) if row.get(k) is not None else "" for k in columns))
    print_table(console, scores)


@models_app.command("push")
@cli_errors
def push_command(
    folder: Path = typer.Argument(..., help="Model folder: config.json, model.safetensors and a README.md model card."),
    repo: str = typer.Argument(..., help="Hub repo id owner/name\\[@branch]; created if it does not exist."),
    revision: str | None = typer.Option(
        None, "--revision", "--branch", help="Branch to push to (default: main); created if missing."
    ),
    private: bool = typer.Option(False, "--private", help="Create the repo private (no effect on an existing repo)."),
    commit_message: str | None = typer.Option(None, "--commit-message", "-m", help="Commit message."),
    token: str | None = typer.Option(
        None, "--token", help="Hub token with write access (default: HF_TOKEN, else the `hf auth login` one)."
    ),
    write_card: bool = typer.Option(
        False, "--write-card", help="If the folder has no README.md model card, generate a minimal one first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, for scripts."),
) -> None:
    """Publish a trained model folder to the Hugging Face Hub and print what pins it.

    The folder is checked first (config, weights that load, a model card with license, library_name and
    tags); then config.json, model.safetensors and README.md go up in one commit. The output gives the
    commit and the sha256 of each file: load exactly this upload with --model owner/name@COMMIT, or
    register it with a ModelSpec.

    Examples:\n
      weatherclean models push runs/mine/model someone/desnownet-mine\n
      weatherclean models push runs/mine/model someone/desnownet-mine --branch v2 --private --json
    """
    from weatherclean.models.hub import push_folder

    with json_errors(as_json):
        _refuse_registered_name(folder)
        result = push_folder(
            folder,
            repo,
            revision=revision,
            private=private,
            token=token,
            commit_message=commit_message,
            write_card=write_card,
        )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    print_push_result(result)


def print_push_result(result: PushResult) -> None:
    """What a push published, and how to load or pin it (``models push`` and ``train --push-to-hub``)."""

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True, markup=False)

    what = "pushed" if result.changed else "already up to date (no new commit)"
    say(f"{result.folder} {what}: {result.repo_url} (branch {result.branch})")
    say(f"commit  {result.commit}")
    for name, digest in result.sha256.items():
        say(f"sha256  {digest}  {name}")
    if result.skipped:
        say(f"not uploaded (not part of a weatherclean model): {', '.join(result.skipped)}")
    command = _command(result.task)
    if command is not None:
        say(f"load it:  weatherclean {command} ... --model {result.spec}")
    else:  # a plugin's own task: no command runs it
        say(f"load it:  load_restorer({result.task!r}, model={result.spec!r}) in Python")
    # whoever pushed: a plugin registers the spec in its own module; weatherclean's own models are pinned in
    # its registry (a third party was told to edit weatherclean's source)
    say("pin it under a name: pass this ModelSpec to register_model() in your own code (for a model shipped with "
        "weatherclean: in src/weatherclean/models/registry.py):")  # fmt: skip
    say(result.model_spec_code())


def model_info(name: str, *, offline: bool | None = None) -> dict[str, Any]:
    """Everything ``models info`` shows, as plain JSON-able data (the ``--json`` output). ``sha256`` gives the
    digest of ``model.safetensors`` and ``config.json``, the same a run's ``--json`` (``provenance``) and each
    output's ``user.weatherclean`` tag give for the weights (:func:`~weatherclean.provenance.checksums`)."""
    from weatherclean.models.family import config_dict, family_of_model
    from weatherclean.models.registry import (
        bundled_weights_dir,
        card_scores,
        create_model,
        get_spec,
        list_models,
        load_from_folder,
        locate_model,
    )
    from weatherclean.provenance import checksums

    untrained = {s.name: s for s in list_models() if s.build is not None and s.repo_id is None}
    if name in untrained and bundled_weights_dir(name) is None:  # a configuration without shipped weights
        spec, model = untrained[name], create_model(name)
        return {
            "name": name, "task": spec.task, "description": spec.description,
            "source": {"kind": "untrained", "folder": None}, "sha256": {},
            "parameters": sum(p.numel() for p in model.parameters()), "size_mb": None,
            "macs_per_pixel": _macs_per_pixel(model), "config": config_dict(getattr(model, "config", {})),
            "scores": [],
        }  # fmt: skip
    source = locate_model(name, offline=offline)
    model = load_from_folder(source.folder)
    spec = get_spec(source.name) if source.registered else None
    family = family_of_model(model)  # a folder or Hub model's task is its family's, as the commands take it
    weights = Path(source.folder) / "model.safetensors"
    return {
        "name": source.name,
        "task": spec.task if spec is not None else (family.task if family is not None else None),
        "description": spec.description if spec is not None else None,
        "source": source.to_dict(),
        "sha256": checksums(Path(source.folder), known=source.sha256),
        "parameters": sum(p.numel() for p in model.parameters()),
        "size_mb": round(weights.stat().st_size / 1e6, 3),
        "macs_per_pixel": _macs_per_pixel(model),
        "config": json.loads((Path(source.folder) / "config.json").read_text()),
        "scores": card_scores(Path(source.folder)),
    }


def _describe_source(source: dict[str, Any], name: str) -> str:
    if source["kind"] == "untrained":
        from weatherclean.models.registry import get_spec, train_hint

        return f"no weights ship with weatherclean: {train_hint(get_spec(name))}"
    if source["kind"] == "bundled":
        return "bundled with weatherclean"
    if source["kind"] == "folder":
        return "local folder"
    revision = source["revision"] or "default branch"
    pinned = ", pinned" if source["registered"] else ""
    return f"Hugging Face Hub: {source['repo_id']} @ {revision} (commit {source['commit']}{pinned})"


def _macs_per_pixel(model: object) -> float | None:
    """Multiply-adds per pixel, counted by the model family's own counter (None for unknown families)."""
    from weatherclean.models.family import family_of_model

    family = family_of_model(model)
    return family.macs_per_pixel(model) if family is not None else None  # type: ignore[arg-type]


def _command(task: str | None) -> str | None:
    """The command that runs models of ``task`` (``desnow`` when the pushed folder did not say), or None for
    a plugin's own task, which no command runs."""
    from weatherclean.models.family import task_command

    return task_command(task or "snow")


def _refuse_registered_name(folder: Path) -> None:
    """A registered model's name given to ``push`` where a folder is wanted: say which folder it stands for
    (the one ``models info`` shows), or that it ships no weights to push."""
    from weatherclean.models.registry import bundled_weights_dir, list_models

    if folder.exists() or str(folder) not in {spec.name for spec in list_models()}:
        return
    bundled = bundled_weights_dir(str(folder))
    if bundled is None:
        raise ModelError(f"'{folder}' is a registered model name, not a folder, and ships no weights to push; pass a "
                         "model folder")  # fmt: skip
    raise ModelError(f"'{folder}' is a registered model name, not a folder; its folder is {bundled} (as `weatherclean "
                     "models info` shows): pass that")  # fmt: skip
