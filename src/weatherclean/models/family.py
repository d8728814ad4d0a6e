"""What a model family is, in one record, and what restoration needs of a model, as a Protocol.

Each family (DesnowNet, J4R-Net) declares one :class:`ModelFamily` beside its model class and registers it
with :func:`register_family`; the registry, the loader, the model cards and the commands look families up
here instead of naming them, so a third family is one new file that registers itself.

Restoration (:mod:`weatherclean.restore`) never asks "is this a DesnowNet?": it needs a
:class:`RestorationModel` (``restore``, ``receptive_field``, ``bytes_per_pixel``), and carries memory from
frame to frame only for a :class:`RecurrentModel` (one with ``step``), checked with ``isinstance`` on the
runtime-checkable protocol. A stand-in model in a test or a plugin's own network qualifies by having
those members, with no registration and no base class.

This module imports nothing of weatherclean's, so every model module can import it without a cycle, and
not PyTorch: the shipped families (:mod:`~weatherclean.models.builtin`) are imported, and so registered,
the first time any family is looked up here, so ``models list`` and ``--help`` never pay for PyTorch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from weatherclean.errors import ModelError
from weatherclean.models.builtin import BUILTIN_FAMILIES, NamedConfiguration

if TYPE_CHECKING:  # annotations only: importing this module must not import PyTorch (see models/builtin.py)
    import torch
    from torch import nn

__all__ = [
    "FrameOutput",
    "ModelFamily",
    "NamedConfiguration",
    "RecurrentModel",
    "RestorationModel",
    "bounded_count",
    "families",
    "family_for_task",
    "family_of",
    "family_of_model",
    "get_family",
    "register_family",
    "self_ensemble_changes",
    "tasks",
]


@runtime_checkable
class RestorationModel(Protocol):
    """What the tiling engine, the precision guard and :class:`~weatherclean.restore.Restorer` use.

    ``restore`` maps an N×3×H×W batch in [0, 1] to the restored batch (same size, clamped to [0, 1]).
    ``receptive_field`` is the context, in pixels per side, that tiles should overlap by.
    ``bytes_per_pixel`` is the memory a tile needs per pixel on a CPU, for the automatic tile size; None
    lets the engine assume its generous default.
    """

    @property
    def receptive_field(self) -> int: ...

    @property
    def bytes_per_pixel(self) -> float | None: ...

    def restore(self, x: torch.Tensor) -> torch.Tensor: ...


class FrameOutput(Protocol):
    """What one recurrent step returns besides the new memory: at least the restored frame."""

    @property
    def background(self) -> torch.Tensor: ...


@runtime_checkable
class RecurrentModel(RestorationModel, Protocol):
    """A model that carries memory from frame to frame: ``step(frame, state) → (output, new state)``.

    ``state=None`` is single-frame mode (no memory), which ``restore`` uses for photos.
    """

    def step(self, frame: torch.Tensor, state: torch.Tensor | None = None) -> tuple[FrameOutput, torch.Tensor]: ...


@dataclass(frozen=True)
class ModelFamily:
    """Everything the rest of weatherclean needs to know about one model family.

    ``model_type`` is the key in ``config.json``; ``task`` (``snow``, ``rain``) is what it removes and
    ``command`` the ``weatherclean`` command that runs it; ``config_class``/``model_class`` build it
    (``model_class(config)``); ``loss`` makes its training loss from keyword options (the loss classes
    live in :mod:`weatherclean.training.losses`, imported when a loss is made, so loading a model for
    inference never imports the trainer); ``macs_per_pixel`` counts a model's multiply-adds;
    ``tags`` go on its model cards; ``configurations`` are its registered names, ``default_model`` the
    one each command uses when none is given.
    """

    model_type: str
    task: str
    command: str
    title: str
    paper: str
    inputs: str  # what it restores, in words, for model cards ("photos", "videos and photos")
    example_input: str  # what a card's example command is run on ("photos/", "clip.mp4")
    config_class: type
    model_class: type[nn.Module]
    loss: Callable[..., Any]
    macs_per_pixel: Callable[[nn.Module], float]
    tags: tuple[str, ...]
    configurations: tuple[NamedConfiguration, ...]
    default_model: str

    def __post_init__(self) -> None:
        names = [c.name for c in self.configurations]
        if self.default_model not in names:
            raise ValueError(f"family {self.model_type!r}: default {self.default_model!r} is not one of {names}")

    def build(self, settings: Mapping[str, Any] | None = None) -> nn.Module:
        """An untrained model of this family with ``settings`` (config fields; the rest at their defaults)."""
        return self.model_class(self.config_class(**dict(settings or {})))


_FAMILIES: dict[str, ModelFamily] = {}
_BUILTINS_LOADED = False


def bounded_count(name: str, value: object, low: int, high: int, usual: str = "") -> int:
    """``value`` as an int when it is a whole number from ``low`` to ``high``, else a one-line ``ValueError`` that
    names the config field, its bounds and ``usual`` (what the registered models use), for a config's checks.

    Why every size field has an upper bound: a model's size follows from its config.json, which arrives with a
    downloaded model and is read before its weights can be matched against it; an unbounded count
    (``dilation_levels: 100000000`` in a 300-byte file) made building the network take all the memory before
    anything could say the weights do not fit. The bounds are many times what any registered model uses.
    """
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not low <= value <= high:  # type: ignore[operator]
        usual = f" ({usual})" if usual else ""
        raise ValueError(f"{name} must be a whole number from {low} to {high}{usual}, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def loss_from_options(loss_class: type, options: Mapping[str, object]) -> object:
    """``loss_class`` built from the ``options`` it has: ``train`` passes every loss option it knows (λ_z,
    λ_w, ``lambda_colour``...) to every family's ``loss``, and each loss takes only its own."""
    known = {f.name for f in fields(loss_class)}
    return loss_class(**{k: v for k, v in options.items() if k in known})


def _load_builtins() -> dict[str, ModelFamily]:
    """Import the shipped family modules once (each registers itself); returns the registry."""
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        # The model modules import huggingface_hub, whose import fails on a malformed HF_ENDPOINT: say so in
        # one line, before the flag is set (a lazy import: this module imports nothing of weatherclean's at
        # load, so that every model module can import it without a cycle).
        from weatherclean.models.endpoint import check_hub_endpoint

        check_hub_endpoint()
        _BUILTINS_LOADED = True  # first: the modules call register_family while they are imported
        for listing in BUILTIN_FAMILIES.values():
            importlib.import_module(listing.module)
    return _FAMILIES


def register_family(family: ModelFamily, *, replace: bool = False) -> ModelFamily:
    """Make a family known by its ``model_type`` (each model module does this for its own family)."""
    if family.model_type in _FAMILIES and not replace:
        raise ValueError(f"model family {family.model_type!r} is already registered")
    _FAMILIES[family.model_type] = family
    return family


def families() -> Mapping[str, ModelFamily]:
    """Every registered family by ``model_type`` (a read-only view)."""
    return MappingProxyType(_load_builtins())


def family_of(model_type: str) -> ModelFamily | None:
    """The family of a ``model_type``, or None for one nobody registered."""
    return _load_builtins().get(model_type)


def get_family(model_type: str) -> ModelFamily:
    """The family of a ``model_type``; :class:`ModelError` naming the known ones otherwise."""
    family = _load_builtins().get(model_type)
    if family is None:
        raise ModelError(f"unknown model_type {model_type!r}; known: {', '.join(_FAMILIES)}")
    return family


def family_of_model(model: object) -> ModelFamily | None:
    """The family of a loaded model, found from its class (a stand-in or a foreign model has none)."""
    for family in _load_builtins().values():
        if isinstance(model, family.model_class):
            return family
    return None


def with_config(model: Any, *, weights: Mapping[str, Any] | None = None, **changes: object) -> Any:
    """A new model with ``model``'s weights and its config with ``changes`` (e.g. the pass-through gate).

    Rebuilt rather than edited in place: the caller's model stays as it was, a family that derives
    anything from its config when built derives it again, and ``save_pretrained`` writes the new
    ``config.json``. The copy is on ``model``'s device and in its train/eval mode. A value the config
    refuses raises its ``ValueError``. ``weights`` adds or replaces tensors by name, for a change that
    gives the model new parameters (DesnowNet's veil stage); every parameter must still be accounted for.
    """
    from dataclasses import replace

    rebuilt = type(model)(replace(model.config, **changes))
    rebuilt.load_state_dict({**model.state_dict(), **(weights or {})})
    first = next(model.parameters(), None)
    if first is not None:
        rebuilt = rebuilt.to(first.device)
    return rebuilt.train(model.training)


def pass_through_changes(config: Any, value: object, *, label: str) -> dict[str, float]:
    """The config changes that ``--pass-through value`` makes to a model with ``config``, checked by the config
    itself without building a model (``--dry-run`` checks a folder's config this way, before any weights).

    A non-number (a bool included), a config without the gate, or a value the config refuses is a one-line
    :class:`ModelError` naming the value as ``load_restorer(pass_through=...)`` takes it and the option in
    parentheses (Python callers and the commands share these messages). 0 also turns a rain model's veil
    term off: that term only widens the gate, and a gate that is off has nothing to widen.
    """
    from dataclasses import replace

    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ModelError(f"pass_through={value!r} (--pass-through): not a number") from None
    if not hasattr(config, "pass_through"):
        raise ModelError(
            f"pass_through={number:g} (--pass-through): the model ({label}) has no pass-through gate; leave it out"
        )
    changes = {"pass_through": number}
    if number == 0 and getattr(config, "veil_threshold", 0):
        changes["veil_threshold"] = 0.0
    try:
        replace(config, **changes)
    except (TypeError, ValueError) as exc:
        reason = str(exc).removeprefix("pass_through ")  # "must be in [0, 0.5), got 0.7": the value is named first
        raise ModelError(f"pass_through={number:g} (--pass-through {number:g}): {reason}") from None
    return changes


def self_ensemble_changes(config: Any, on: object, *, label: str) -> dict[str, bool]:
    """The config change that ``--self-ensemble`` / ``--no-self-ensemble`` makes to a model with ``config``.

    A model whose family has no self-ensemble setting (DesnowNet) is a one-line :class:`ModelError` naming
    the option, rather than a flag that silently does nothing.
    """
    if not isinstance(on, bool):
        raise ModelError(f"self_ensemble={on!r}: True or False (--self-ensemble / --no-self-ensemble)")
    if not hasattr(config, "self_ensemble"):
        flag = "--self-ensemble" if on else "--no-self-ensemble"
        raise ModelError(f"self_ensemble={on} ({flag}): the model {label} has no self-ensemble setting; leave it out")
    return {"self_ensemble": on}


def tasks() -> list[str]:
    """The tasks some family serves (``snow``, ``rain``), in registration order."""
    return list(dict.fromkeys(f.task for f in _load_builtins().values()))


def family_for_task(task: str) -> ModelFamily:
    """The family that serves ``task`` (the first registered); :class:`ModelError` for an unknown task."""
    for family in _load_builtins().values():
        if family.task == task:
            return family
    raise ModelError(f"unknown task {task!r}; use {' or '.join(tasks())}")
