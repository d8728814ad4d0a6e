"""Named model configurations and the single entry point to get a model: :func:`load_model`.

A model is named in one of four ways, tried in this order:

1. ``default`` (or ``default-snow``): the default model of the task.
2. A registered name (``desnownet-light``): bundled weights if the package ships them, or a Hub repo pinned
   to a full commit and the sha256 of its files.
3. A local folder written by ``save_pretrained`` (``config.json`` + ``model.safetensors``).
4. A Hugging Face Hub repo id, ``owner/name`` or ``owner/name@revision``.

The registry knows no family by name: the shipped families' names come from their torch-free listing
(:mod:`~weatherclean.models.builtin`), and any other family's from :func:`register_family_models`, which a
plugin's module calls when it is imported (installed plugins are imported the first time a name is looked
up, and only when one is installed, so ``models list`` needs no PyTorch otherwise).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from weatherclean.errors import ModelError
from weatherclean.io.folders import expand_home
from weatherclean.models import hub
from weatherclean.models.builtin import BUILTIN_FAMILIES
from weatherclean.models.family import (
    ModelFamily,
    caller_module,
    family_for_task,
    family_of,
    family_of_model,
    get_family,
    is_registered,
    load_plugin_families,
    pass_through_changes,
    task_command,
    undo_if_import_fails,
)
from weatherclean.models.loading import check_fits, load_from_folder, read_folder  # noqa: F401 (load_from_folder re-exported)

if TYPE_CHECKING:  # the registry is listed without PyTorch (``models list``); models are built lazily
    import torch
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: what it is for, how to build it, and where trained weights come from.

    Weights come from the package (``weights/<name>/``, found by name) or, with ``repo_id``, from the Hub.
    A Hub model is pinned to a full commit and to the sha256 of its files (``model.safetensors`` at least),
    so a registered name means the same bytes for every user, forever: a branch or tag could move, and a
    file could be corrupted in the cache or on a mirror; both are caught instead of silently loaded.
    """

    name: str
    task: str  # "snow" or "rain"
    description: str
    build: Callable[[], nn.Module] | None = None  # an untrained instance (for `train --arch`)
    repo_id: str | None = None
    revision: str | None = None  # a full 40-hex commit; required with repo_id
    sha256: Mapping[str, str] = field(default_factory=dict, hash=False)
    family: str | None = None  # the model_type whose named configuration this is (a clash names it)

    def __post_init__(self) -> None:
        if self.repo_id is None:
            if self.revision is not None or self.sha256:
                raise ValueError(f"model {self.name!r}: revision and sha256 pin a Hub repo; set repo_id too")
            if self.build is None:
                raise ValueError(f"model {self.name!r}: needs a build function, a Hub repo, or both")
            return
        try:
            hub.parse_repo_spec(self.repo_id)
        except ModelError as exc:
            raise ValueError(f"model {self.name!r}: {exc}") from None
        if "@" in self.repo_id:
            raise ValueError(f"model {self.name!r}: give the revision in `revision`, not in repo_id")
        if not hub.is_commit(self.revision):
            raise ValueError(
                f"model {self.name!r}: revision must be a full 40-hex commit, got {self.revision!r}; "
                "a branch, tag or short hash can point elsewhere later, and the pinned sha256 would then fail"
            )
        digests = {str(k): str(v).lower() for k, v in self.sha256.items()}
        if "model.safetensors" not in digests:
            raise ValueError(f"model {self.name!r}: pin the sha256 of model.safetensors (and ideally config.json)")
        bad = [k for k, v in digests.items() if not hub.is_sha256(v)]
        if bad:
            raise ValueError(f"model {self.name!r}: sha256 of {', '.join(bad)} is not 64 hex digits")
        object.__setattr__(self, "sha256", MappingProxyType(digests))

    @property
    def hub_spec(self) -> str | None:
        """``owner/name@commit`` for Hub models, ``None`` otherwise."""
        return f"{self.repo_id}@{self.revision}" if self.repo_id else None


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are and how they got there: what ``models info`` shows and scripts rely on."""

    name: str  # the registered name, folder or Hub spec that was resolved
    kind: Literal["bundled", "folder", "hub"]
    folder: Path  # config.json + model.safetensors (+ README.md model card) live here
    registered: bool = False
    repo_id: str | None = None
    revision: str | None = None  # as requested (None: the default branch)
    commit: str | None = None  # what the revision resolved to
    sha256: Mapping[str, str] = field(default_factory=dict, hash=False)  # pins verified on this load

    @property
    def cache_folder(self) -> Path | None:
        """The repo's folder in the Hub cache (delete it to drop every cached revision), for Hub models."""
        return hub.repo_cache_folder(self.folder) if self.kind == "hub" else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "folder": str(self.folder),
            "registered": self.registered,
        }
        if self.kind == "hub":
            data.update(
                repo_id=self.repo_id,
                revision=self.revision,
                commit=self.commit,
                cache_folder=str(self.cache_folder),
                sha256_verified=dict(self.sha256),
            )
        return data


_REGISTRY: dict[str, ModelSpec] = {}
#: Guards changes to ``_REGISTRY`` and ``DEFAULT_MODELS``: two plugins imported by two threads at once must not
#: both find a name free. Never held while importing (nothing under it imports).
_LOCK = threading.RLock()

#: The model each task uses when the user does not name one (each family's ``default_model``).
DEFAULT_MODELS: dict[str, str] = {}


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add a named model; ``replace=True`` overwrites an existing name (plugins, tests).

    Registered from a plugin whose import then fails, the name is taken back with the rest of the plugin (the
    name belongs to the module that calls this).
    """
    module = caller_module()
    with _LOCK:
        before = _REGISTRY.get(spec.name)
        if before is not None and not replace:
            raise ValueError(
                f"model name {spec.name!r} is already registered ({_owner(before)}); pick another name, "
                "or pass replace=True to replace it on purpose"
            )
        _REGISTRY[spec.name] = spec
    undo_if_import_fails(lambda: _put_back(spec.name, spec, before), module=module)
    return spec


def _put_back(name: str, spec: ModelSpec, before: ModelSpec | None) -> None:
    """Undo registering ``spec``: what was there before, if ``spec`` is still what is there."""
    with _LOCK:
        if _REGISTRY.get(name) is not spec:
            return
        if before is None:
            del _REGISTRY[name]
        else:
            _REGISTRY[name] = before


def _owner(spec: ModelSpec) -> str:
    """Who holds a registered name, for a clash: its family, or a plain ``register_model``."""
    return f"a configuration of family {spec.family!r}" if spec.family else "by register_model"


def unregister_model(name: str) -> ModelSpec | None:
    """Remove a named model and return it (``None`` if it was not registered)."""
    with _LOCK:
        return _REGISTRY.pop(name, None)


def register_family_models(family: ModelFamily) -> None:
    """Register the named configurations a family declares, and its default if its task has none yet.

    Register the family first (:func:`~weatherclean.models.family.register_family`): a name must build,
    and its folders load, with the family registered under its ``model_type``. All or nothing: every name
    is checked before any is registered, so a clash on the second name no longer leaves the first behind,
    and the error names the family that holds it. Names already held by this ``model_type`` (its module
    imported again: ``importlib.reload``, a notebook's autoreload, an edited plugin) are replaced quietly, and
    those its new declaration no longer has are taken out; the task's default follows the family's when it was
    one of this family's names. A shipped task keeps its shipped default. Imports nothing: a plugin calls it
    while it is being imported. From a plugin whose import then fails, all of it is taken back.
    """
    model_type = family.model_type
    module = caller_module()
    if not is_registered(family, by=module):
        whose = "is not registered" if family_of(model_type) is None else "is registered as another definition"
        raise ValueError(
            f"family {model_type!r} {whose}; call register_family(family) first, then "
            "register_family_models(family) with the same family"
        )
    with _LOCK:
        held = {name: spec for name, spec in _REGISTRY.items() if spec.family == model_type}
        taken = [
            f"{named.name!r} ({_owner(_REGISTRY[named.name])})"
            for named in family.configurations
            if named.name in _REGISTRY and named.name not in held
        ]
        if taken:
            raise ValueError(
                f"family {model_type!r}: model name {', '.join(taken)} is already registered; rename the "
                "configuration (nothing of this family was registered)"
            )
        default_before = DEFAULT_MODELS.get(family.task)
        names = {named.name for named in family.configurations}
        for name in held.keys() - names:  # dropped from the family's new declaration
            del _REGISTRY[name]
        for named in family.configurations:
            build = functools.partial(family.build, named.settings)
            _REGISTRY[named.name] = ModelSpec(named.name, family.task, named.description, build, family=model_type)
        if default_before is None or default_before in held:
            DEFAULT_MODELS[family.task] = family.default_model
        default_after = DEFAULT_MODELS[family.task]
        mine = {name: _REGISTRY[name] for name in names}
    undo_if_import_fails(lambda: _take_back(family.task, held, mine, (default_before, default_after)), module=module)


def _take_back(
    task: str, held: dict[str, ModelSpec], mine: dict[str, ModelSpec], default: tuple[str | None, str]
) -> None:
    """Undo ``register_family_models``: the names as they were (``held``) where they are still the ones it
    registered (``mine``), and the task's default as it was (``default``: before, after) if it is still the one
    this registration left (another family's default set since stays)."""
    before, after = default
    with _LOCK:
        for name, spec in mine.items():
            if _REGISTRY.get(name) is spec:
                del _REGISTRY[name]
        for name, spec in held.items():
            _REGISTRY.setdefault(name, spec)
        if DEFAULT_MODELS.get(task) != after:
            return
        if before is None:
            DEFAULT_MODELS.pop(task, None)
        else:
            DEFAULT_MODELS[task] = before


def _build_builtin(model_type: str, settings: Mapping[str, Any]) -> nn.Module:
    """An untrained model of a shipped family; its module (and PyTorch) is imported here, on first build."""
    return get_family(model_type).build(settings)


# The shipped families' names are registered from their torch-free listing, so listing them imports nothing. Put
# in directly, never through register_model: this module may first be imported from inside a plugin's import, and
# the names are weatherclean's whatever becomes of that plugin (journaled, a failing plugin once took them all back).
for _listing in BUILTIN_FAMILIES.values():
    for _named in _listing.configurations:
        _build = functools.partial(_build_builtin, _listing.model_type, _named.settings)
        _REGISTRY[_named.name] = ModelSpec(
            _named.name, _listing.task, _named.description, _build, family=_listing.model_type
        )
    DEFAULT_MODELS.setdefault(_listing.task, _listing.default_model)


def list_models(task: str | None = None) -> list[ModelSpec]:
    """The registered models (of ``task``), an installed plugin's included."""
    load_plugin_families()
    return [s for s in list(_REGISTRY.values()) if task is None or s.task == task]  # list(): one whole state


def get_spec(name: str) -> ModelSpec:
    load_plugin_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"unknown model '{name}'; registered models: {known}") from None


def create_model(name: str) -> nn.Module:
    """A freshly initialised (untrained) model of a registered configuration."""
    spec = get_spec(name)
    if spec.build is None:
        raise ModelError(
            f"model '{name}' is a trained model from the Hub, not an architecture; fine-tune it with "
            f"`weatherclean train --init {name}` or run it with --model {name}"
        )
    return spec.build()


def bundled_weights_dir(name: str) -> Path | None:
    """The folder of weights shipped inside the package for ``name``, if any."""
    folder = Path(str(resources.files("weatherclean") / "weights" / name))
    return folder if (folder / "model.safetensors").is_file() else None


def resolve_model_name(spec: str, task: str = "snow") -> str:
    """``default`` (or ``default-<task>``) → the task's default model; any other name as it is."""
    if spec not in ("default", f"default-{task}"):
        return spec
    load_plugin_families()  # a plugin's own task has its default once the plugin is imported
    return DEFAULT_MODELS.get(task) or family_for_task(task).default_model


def describe_weights(spec: ModelSpec) -> str:
    """Where the weights of a registered model come from, in a few words (``models list``)."""
    if spec.repo_id is not None:
        return f"Hub {spec.repo_id}@{(spec.revision or '')[:8]}"
    return "bundled" if bundled_weights_dir(spec.name) else "train your own"


def train_hint(spec: ModelSpec) -> str:
    """How to get weights for a registered configuration that ships none: a command to copy."""
    out = f"runs/{spec.name}"
    if task_command(spec.task) is None:  # a plugin's own task: `train` has no data for it
        return (
            f"train them with your own loop (`weatherclean train` has data for snow and rain only), save them with "
            f"save_pretrained, then use load_restorer('{spec.task}', model=FOLDER)"
        )
    return (
        f"train them with `weatherclean train --task {spec.task} --arch {spec.name} --clean PHOTOS -o {out}` "
        f"(PHOTOS: a folder of clean pictures), then use `--model {out}/model`"
    )


def locate_model(
    spec: str | os.PathLike[str] = "default", task: str = "snow", *, offline: bool | None = None, force: bool = False
) -> ModelSource:
    """Find (downloading if needed) the folder of a model named any of the four ways; load nothing.

    ``offline``: ``True`` uses the Hub cache only, ``None`` follows ``HF_HUB_OFFLINE``. ``force`` downloads
    Hub files again even if cached (it repairs a corrupt cache entry).

    A :class:`~pathlib.Path` (any ``os.PathLike``) is always a folder: whoever made one meant a path, so it
    is never taken for a registered name or looked up on the Hub (``Path("runs/mine")``, missing, was
    asked of the Hub and, offline, reported as a connection problem). A ``str`` shaped like a Hub id that
    is no local folder either is looked up on the Hub, and its error says that no such folder exists,
    so that a mistyped path is recognisable.
    """
    if isinstance(spec, os.PathLike):
        folder = expand_home(spec)
        if not folder.exists():
            raise ModelError(
                f"model folder '{os.fspath(spec)}' not found; check the path (a trained run keeps it in RUN/model)"
            )
        return ModelSource(os.fspath(spec), "folder", folder)
    name = resolve_model_name(spec, task)
    load_plugin_families()
    if name in _REGISTRY:
        registered = _REGISTRY[name]
        if registered.hub_spec is not None:
            folder = hub.download(
                registered.hub_spec, offline=offline, sha256=registered.sha256, force=force, name=name
            )
            return ModelSource(
                name,
                "hub",
                folder,
                registered=True,
                repo_id=registered.repo_id,
                revision=registered.revision,
                commit=hub.snapshot_commit(folder),
                sha256=registered.sha256,
            )
        folder = bundled_weights_dir(name)
        if folder is None:
            raise ModelError(f"model '{name}' has no bundled weights; {train_hint(registered)}")
        return ModelSource(name, "bundled", folder, registered=True)
    if expand_home(name).exists():
        return ModelSource(name, "folder", expand_home(name))
    if _looks_like_repo_id(name):
        with _no_folder_either(name):
            repo_id, revision = hub.parse_repo_spec(name)
            folder = hub.download(name, offline=offline, force=force)
        return ModelSource(name, "hub", folder, repo_id=repo_id, revision=revision, commit=hub.snapshot_commit(folder))
    if "/" in name or "\\" in name:
        raise ModelError(f"model folder '{spec}' not found; check the path (a trained run keeps it in RUN/model)")
    known = ", ".join(sorted(_REGISTRY))
    raise ModelError(
        f"model '{spec}' not found: not a registered name ({known}), not an existing folder, "
        "and not a Hub repo id (owner/name[@revision])"
    )


def _looks_like_repo_id(name: str) -> bool:
    """``owner/name[@revision]``: what :func:`locate_model` asks the Hub for when no folder has that name."""
    return name.count("/") == 1 and not name.startswith((".", "/", "~"))


@contextlib.contextmanager
def _no_folder_either(name: str) -> Iterator[None]:
    """Around the Hub lookup of an unregistered ``name`` that no local folder has: a failure also says that
    there is no such folder, since ``runs/mine`` is a Hub id and a path alike and a user who meant the path
    would otherwise read only about the Hub ("check your connection")."""
    try:
        yield
    except ModelError as exc:
        raise ModelError(
            f"'{name}' is neither a local model folder (check the path) nor loadable from the Hub: {exc}"
        ) from None


def check_model_spec(
    spec: str = "default", task: str = "snow", *, offline: bool | None = None, pass_through: float | None = None
) -> str | None:
    """What ``--dry-run`` can check of ``--model`` without loading it or going online.

    Whatever the run would refuse before any work, this refuses with the same :class:`ModelError`: an unknown
    name, a missing or incomplete folder, a registered name without weights, a malformed Hub id, a model of
    the other task (by name, or by the ``model_type`` of a folder or a cached Hub download), a cached
    download whose pinned checksums fail, a Hub model missing from the cache in offline mode, and a
    ``pass_through`` its config refuses (checked on the config, no model built). Only whether an uncached
    Hub repo exists needs the network, so for it this returns a note that the run will download it (and
    ``pass_through`` waits for the run); otherwise None.
    """
    name = resolve_model_name(spec, task)
    check_task(name, task)
    registered = _REGISTRY.get(name)  # check_task has imported the installed plugins
    from_hub = registered.hub_spec if registered is not None else None
    if registered is None and not expand_home(name).exists() and _looks_like_repo_id(name):
        from_hub = name
    if from_hub is None:  # bundled weights or a local folder: locating them never touches the network
        source = locate_model(name, task, offline=True)
        folder = source.folder
    else:
        with _no_folder_either(name) if registered is None else contextlib.nullcontext():
            cached = hub.cached_snapshot(from_hub, label=name)
            if cached is None and hub.offline_mode(offline):
                hub.download(from_hub, offline=True, name=name)  # raises the run's "not in the cache" error
        if cached is None:
            folder_like = name.split("/")[0]
            if registered is None and expand_home(folder_like).is_dir():
                return f"no folder '{name}' here: the run will look for Hub repo '{name}' and download it"
            return f"model '{spec}' is not in the local Hub cache: the run will download it"
        sha256 = registered.sha256 if registered is not None else None
        folder = hub.download(from_hub, offline=True, sha256=sha256, name=name)  # cached: checks the pins
    family, config = read_folder(folder)
    _refuse_other_task(name, family.task, task)
    if pass_through is not None:
        pass_through_changes(config, pass_through, label=name)
    # a config that does not fit its weights (names and shapes, from the file's header; the model built on the
    # meta device, no data): the run refuses it before any work, so the dry run must too. Not for weights bundled
    # with the package, which the test suite loads: the check imports PyTorch, a second on every dry run
    if registered is None or from_hub is not None:
        check_fits(family, config, folder)
    return None


def _refuse_other_task(label: str, other: str | None, task: str) -> None:
    """:class:`ModelError` when a model labelled ``label`` serves ``other``, not ``task`` (None: unknown)."""
    if other is not None and other != task:
        command = task_command(other)  # only a command that exists: a plugin's own task has none
        use = (
            f"use it with `weatherclean {command}` or `evaluate --task {other}` (load_restorer('{other}', ...) in "
            "Python)"
            if command
            else f"no weatherclean command runs {other} models: use it from Python, load_restorer('{other}', model=...)"
        )
        raise ModelError(f"'{label}' is a {other} model; {use}, or pick a {task} model (`weatherclean models list`)")


def check_task(name_or_model: str | nn.Module | None, task: str, *, label: str | None = None) -> None:
    """Raise :class:`ModelError` when a registered name or a loaded model belongs to the other task; ``label``
    names a loaded model in the message (the folder it came from) instead of its class."""
    if name_or_model is not None and not isinstance(name_or_model, str):  # a loaded model
        family = family_of_model(name_or_model)
        other = family.task if family is not None else None
        label = label or type(name_or_model).__name__
    else:
        load_plugin_families()
        other = _REGISTRY[name_or_model].task if name_or_model in _REGISTRY else None
        label = str(name_or_model)
    _refuse_other_task(label, other, task)


def load_model(
    spec: str | os.PathLike[str] = "default",
    device: torch.device | str = "cpu",
    task: str = "snow",
    *,
    offline: bool | None = None,
) -> nn.Module:
    """Get a ready-to-run model (eval mode, on ``device``) from a name, a folder or a Hub repo id (a
    :class:`~pathlib.Path` is always a folder, see :func:`locate_model`).

    ``offline=True`` (``--offline``) never touches the network and uses the Hub cache only; ``None`` follows
    ``HF_HUB_OFFLINE``.
    """
    source = locate_model(spec, task, offline=offline)
    return load_from_folder(source.folder).to(device).eval()


def card_scores(folder: Path) -> list[dict[str, Any]]:
    """Scores from the ``model-index`` of the model card (``README.md`` front matter), one row per metric.

    The Hub shows these on the model page; reading them back here means ``models info`` shows the same
    numbers offline. Missing or malformed cards give no rows rather than an error: scores are informative.
    """
    from weatherclean.models.cards import read_card_metadata

    card = folder / "README.md"
    if not card.is_file():
        return []
    try:
        meta = read_card_metadata(card)
    except ModelError:
        return []
    rows: list[dict[str, Any]] = []
    entries = meta.get("model-index")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        for result in entry.get("results") or []:
            if not isinstance(result, dict):
                continue
            task = result.get("task") if isinstance(result.get("task"), dict) else {}
            dataset = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
            for metric in result.get("metrics") or []:
                if not isinstance(metric, dict) or "value" not in metric:
                    continue
                rows.append(
                    {
                        "model": entry.get("name"),
                        "task": task.get("name") or task.get("type"),
                        "dataset": dataset.get("name") or dataset.get("type"),
                        "split": dataset.get("split"),
                        "metric": metric.get("name") or metric.get("type"),
                        "type": metric.get("type"),
                        "value": metric.get("value"),
                    }
                )
    return rows
