"""What a model family is, in one record, and what restoration needs of a model, as a Protocol.

Each family declares one :class:`ModelFamily` beside its model class and registers it with
:func:`register_family`; the registry, the loader, the model cards and the commands look families up here
instead of naming them. A shipped family (DesnowNet, J4R-Net) is two edits: its module, which registers
itself when imported, and its torch-free listing in :mod:`~weatherclean.models.builtin` (task, command,
named configurations, default), which is what ``models list`` shows and what tells this module to import it.
A family from another package is a module of that package that registers itself, named in the entry point
group ``weatherclean.families`` (:data:`PLUGIN_GROUP`) so that the ``weatherclean`` command imports it too.

Restoration (:mod:`weatherclean.restore`) never asks "is this a DesnowNet?": it needs a
:class:`RestorationModel` (``restore``, ``receptive_field``, ``bytes_per_pixel``), and carries memory from
frame to frame only for a :class:`RecurrentModel` (one with ``step``), checked with ``isinstance`` on the
runtime-checkable protocol. A stand-in model in a test or a plugin's own network qualifies by having
those members, with no registration and no base class.

At load this module imports no other module of weatherclean's but the torch-free listing,
:mod:`~weatherclean.models.builtin` (plain data, which imports nothing of weatherclean's; the few others it needs
are imported inside the functions that use them), so every model module can import it without a cycle, and not
PyTorch: the
shipped families are imported, and so registered, the first time any family is looked up or registered
here, and installed plugins the first time one is looked up, so ``models list`` and ``--help`` never pay
for PyTorch.

Lookups and registrations may come from several threads at once (a web service warming up its models in
parallel): the registry is swapped whole under a lock, never changed in place, and the family modules are
imported under Python's own import locks only (``_LOCK`` says why).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from weatherclean.models.builtin import BUILTIN_FAMILIES, NamedConfiguration

if TYPE_CHECKING:  # annotations only: importing this module must not import PyTorch (see models/builtin.py)
    from importlib.metadata import EntryPoint

    import torch
    from torch import nn


__all__ = [
    "PLUGIN_GROUP",
    "FrameOutput",
    "ModelFamily",
    "NamedConfiguration",
    "PluginWarning",
    "RecurrentModel",
    "RestorationModel",
    "bounded_count",
    "caller_module",
    "config_dict",
    "families",
    "family_for_task",
    "family_of",
    "family_of_model",
    "get_family",
    "is_registered",
    "is_shipped",
    "load_plugin_families",
    "plugin_entry_points",
    "plugin_problems",
    "register_family",
    "self_ensemble_changes",
    "task_command",
    "tasks",
    "undo_if_import_fails",
    "unknown_model_type",
]

#: The entry point group a package names its family modules in; each entry is a module that, imported,
#: registers its family (``register_family``) and its names (``register_family_models``).
PLUGIN_GROUP = "weatherclean.families"


class PluginWarning(UserWarning):
    """A plugin family that could not be imported: said in one line, and the other families go on working."""


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

    ``model_type`` is the key in ``config.json`` (the loader picks the family by it); ``task`` (``snow``,
    ``rain``, or a task of your own) is what it removes, and ``command`` the ``weatherclean`` command that
    runs that task (``desnow``, ``derain``; ``""`` for a task of your own, which no command runs: the hints
    then point to ``load_restorer(task, model=...)``). ``command`` may be left out (a keyword only): it is then
    the task's. Given, it is checked against the shipped listing, so that a family cannot promise a command that
    does not run it (``dehaze``): the commands and hints take it from the task. ``title`` and ``paper`` name it
    on model cards and in ``evaluate``'s scores (as "title (paper)": ``paper="no paper"``, not in parentheses);
    ``inputs`` and ``example_input`` fill its cards.

    What each member must be (the commands rely on it; a plugin that differs fails where it is used):

    - ``config_class``: a dataclass (or a class with ``to_dict()``) whose fields are ``config.json``, with a
      ``model_type`` field that defaults to the family's ``model_type``; ``config_class(**settings)`` builds it
      and raises ``ValueError`` for a value it refuses.
    - ``model_class``: ``model_class(config)`` builds an ``nn.Module`` that keeps ``config`` as ``.config`` and
      has ``save_pretrained`` (``huggingface_hub.PyTorchModelHubMixin``), ``restore``, ``receptive_field``
      and ``bytes_per_pixel`` (:class:`RestorationModel`; ``step`` too for a video model).
    - ``forward`` (training only): a NamedTuple (or a plain tuple) of tensors for snow (the DesnowNet loss
      reads its first three: ŷ, y′, ẑ); for rain, ``(NamedTuple or tuple of tensors, state)``.
    - ``loss(**options)``: the training loss, given every loss option ``train`` has (``lambda_z``,
      ``lambda_colour``...; :func:`loss_from_options` keeps the ones a loss dataclass takes). It is called as
      ``loss_fn(model, outputs, batch)`` for snow, with ``batch`` holding ``x`` (snowy), ``y`` (clean), ``z``
      (snow mask, 1 channel) and ``a`` (snow colour) for synthetic snow, and as ``loss_fn(outputs, batch)`` for
      rain, with ``rainy``, ``clean``, ``streak``, ``alpha`` and ``reliance`` (T frames each); it returns
      ``(total, {"part": float, ...})``. ``train`` has data for snow and rain only. The loss classes of the
      shipped families live in :mod:`weatherclean.training.losses`, imported when a loss is made, so loading a
      model for inference never imports the trainer.
    - ``macs_per_pixel(model)``: a model's multiply-adds per pixel (``models info``).
    - ``tags``: its model cards' tags, a tuple of strings; ``configurations``: its registered names
      (each a :class:`NamedConfiguration`), ``default_model`` the one of
      them the task uses when none is given (for a shipped task the shipped family's default stays the
      task's default whatever else registers for it).
    """

    model_type: str
    task: str
    #: None (leave it out): the task's command, ``""`` for a task of your own; given, it is checked against that.
    command: str | None = field(default=None, kw_only=True)
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
        """Refuse, when the family is declared, what would otherwise fail as a traceback deep in a command."""
        label = f"family {self.model_type!r}"
        for name in ("model_type", "task"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{label}: {name} must be a non-empty string, got {getattr(self, name)!r}")
        for name in ("config_class", "model_class"):
            if not isinstance(getattr(self, name), type):
                raise ValueError(f"{label}: {name} must be a class, got {getattr(self, name)!r}")
        for name in ("loss", "macs_per_pixel"):
            if not callable(getattr(self, name)):
                raise ValueError(f"{label}: {name} must be callable, got {getattr(self, name)!r}")
        command = task_command(self.task) or ""
        if self.command is None:
            object.__setattr__(self, "command", command)  # frozen
        elif self.command != command:
            runs = f"the command that runs task {self.task!r}" if command else "no weatherclean command runs its task"
            raise ValueError(f"{label}: command must be {command!r} ({runs}), got {self.command!r}")
        _check_config_class(label, self.model_type, self.config_class)
        # a str is iterable too: tags="snow" once gave the cards one tag per letter
        if not isinstance(self.tags, tuple | list) or not all(isinstance(t, str) for t in self.tags):
            raise ValueError(f"{label}: tags must be a tuple of strings, got {self.tags!r}")
        configs = self.configurations
        named = isinstance(configs, tuple | list) and all(isinstance(c, NamedConfiguration) for c in configs)
        if not named:
            raise ValueError(f"{label}: configurations must be a tuple of NamedConfiguration, got {configs!r}")
        object.__setattr__(self, "tags", tuple(self.tags))  # frozen; a list given is kept as the tuple it stands for
        object.__setattr__(self, "configurations", tuple(self.configurations))
        names = [c.name for c in self.configurations]
        if len(set(names)) != len(names):
            raise ValueError(f"{label}: configuration names must differ, got {names}")
        if self.default_model not in names:
            raise ValueError(f"{label}: default {self.default_model!r} is not one of {names}")

    def build(self, settings: Mapping[str, Any] | None = None) -> nn.Module:
        """An untrained model of this family with ``settings`` (config fields; the rest at their defaults)."""
        return self.model_class(self.config_class(**dict(settings or {})))


def _check_config_class(label: str, model_type: str, config_class: type) -> None:
    """A config class that ``config.json`` cannot be written from, or whose file would name another family.

    A dataclass is checked whether or not it has ``to_dict()``: a family declared with another family's config
    class (``config_class=DesnowNetConfig``) wrote ``model_type: desnownet``, and its saved models came back as
    DesnowNets. A class that is no dataclass is checked by its ``model_type`` class attribute, when it has one.
    """
    needs = (f"{label}: config_class {config_class.__name__} needs a field model_type: str = {model_type!r} "
             "(config.json must name the family it loads with)")  # fmt: skip
    if is_dataclass(config_class):
        declared = {f.name: f for f in fields(config_class)}.get("model_type")
        if declared is None or declared.default is MISSING or declared.default != model_type:
            raise ValueError(needs)
        return
    if not callable(getattr(config_class, "to_dict", None)):
        raise ValueError(f"{label}: config_class must be a dataclass or have a to_dict() method (config.json is "
                         "written from it)")  # fmt: skip
    declared_type = getattr(config_class, "model_type", model_type)
    if isinstance(declared_type, str) and declared_type != model_type:
        raise ValueError(needs)


def config_dict(config: Any) -> dict[str, Any]:
    """A model config as the plain dict ``config.json`` holds: its ``to_dict()``, else its dataclass fields.

    Why: ``to_dict`` is what the shipped configs have, but a plugin's dataclass config need not define it,
    and ``models info`` failed with an ``AttributeError`` on one.
    """
    to_dict = getattr(config, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if is_dataclass(config) and not isinstance(config, type):
        return asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    return dict(vars(config)) if hasattr(config, "__dict__") else {}


#: Guards every change to the family registry (``registry.py`` has its own for the model names). Never held
#: while a module is imported: a thread importing a family's module holds that module's import lock and then
#: waits for this one, so a thread holding this one must never wait for an import (each would wait for the other
#: forever, and Python detects such cycles only between its own import locks).
#: Imports are left to Python's own per-module import locks, which make a second thread wait until the first
#: has finished importing the module, so no thread sees a family module half-run.
_LOCK = threading.RLock()
#: The families by ``model_type``. Replaced whole under ``_LOCK``, never changed in place: a thread reading it
#: (``families()``, ``tasks()``) while another registers sees one whole state, never an emptied dict (a
#: ``clear()`` then ``update()`` once made a second thread see "known: " with nothing in it).
_FAMILIES: dict[str, ModelFamily] = {}
_BUILTINS_LOADED = False  # every shipped family registered (set only once they all are)
_PLUGINS_LOADED = False  # every installed plugin imported, or found broken (set only once they all are)
_ENTRY_POINTS: tuple[EntryPoint, ...] | None = None  # the plugin entry points, read once per process
_PLUGIN_PROBLEMS: dict[str, str] = {}  # entry point name → why it could not be imported, in one line
#: Per thread: ``loading_plugins`` (this thread is importing the plugins: a lookup a plugin makes meanwhile gets
#: what is registered so far instead of starting over) and ``journals`` (how to take back what the imports this
#: thread is running registered, should one fail, each undo with the module that registered).
_THREAD = threading.local()
#: ``id(family)`` → (the family, the module that registered it: the caller of ``register_family``). Who registered a
#: family, not where its classes live, is its owner: two plugins built on one shared library's classes are two
#: owners (comparing the classes' modules let each silently replace the other). The family is kept alongside so
#: that the id stays its own; changed in place under ``_LOCK``, never emptied.
_REGISTERED_BY: dict[int, tuple[ModelFamily, str]] = {}


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


def is_shipped(family: ModelFamily) -> bool:
    """Whether ``family`` is one weatherclean ships: its ``model_type`` is in the shipped listing and its model
    class is defined in the module that listing names (a plugin's family, even one whose model subclasses a
    shipped model, is not). Clashes, model cards and error messages all ask this one question."""
    listing = BUILTIN_FAMILIES.get(family.model_type)
    return listing is not None and getattr(family.model_class, "__module__", None) == listing.module


def _owner(family: ModelFamily) -> str:
    """Who registered ``family``, for a clash: weatherclean itself or the module that registered it."""
    if is_shipped(family):
        return f"weatherclean's built-in {family.title} ({family.model_class.__module__})"
    return f"{family.title} from {_registrant(family)}"


def _registrant(family: ModelFamily) -> str:
    """The module that registered ``family`` (its model class's module for one registered before this was
    recorded, as a test that puts a saved registry back leaves it)."""
    entry = _REGISTERED_BY.get(id(family))
    if entry is not None and entry[0] is family:
        return entry[1]
    return str(getattr(family.model_class, "__module__", "?"))


def caller_module(depth: int = 2) -> str:
    """The ``__name__`` of the module whose code called the function that calls this (``depth`` frames up): the
    module a registration belongs to, for the clash check and for taking it back when that module fails."""
    return str(sys._getframe(depth).f_globals.get("__name__", "?"))  # noqa: SLF001  # no public way to the caller


def is_registered(family: ModelFamily, *, by: str | None = None) -> bool:
    """Whether ``family``, or a later declaration of its ``model_type`` by the module that registers it (``by``; by
    default the caller's module), is what is registered under its ``model_type``. Imports nothing
    (``register_family_models`` asks it from inside a plugin's import)."""
    registered = _FAMILIES.get(family.model_type)
    if registered is None:
        return False
    return registered is family or _registrant(registered) == (by if by is not None else caller_module())


def undo_if_import_fails(undo: Callable[[], None], *, module: str | None = None) -> None:
    """Remember ``undo``, which takes back one registration made by ``module`` (by default the caller's module),
    while this thread imports a shipped family's module or a plugin: if that import fails and ``module`` is one
    that failed with it, what it registered is taken back (the registry's names and defaults included), so that a
    plugin documented as left out is left out, names and all. Outside such an import (a plugin imported by the
    program's own ``import``) there is nothing to take back into, and ``undo`` is dropped.
    """
    journals = getattr(_THREAD, "journals", None)
    if journals:
        journals[-1].append((module if module is not None else caller_module(), undo))


@contextlib.contextmanager
def _taken_back_on_failure() -> Iterator[None]:
    """Run an import; if it raises, take back, newest first, what this thread registered during it from modules
    that are no longer imported (Python takes a module whose import failed out of ``sys.modules``).

    Only those: a module that imported fine along the way (weatherclean's own registry, first imported from inside
    a plugin; a healthy plugin that a broken one imports) stays in ``sys.modules``, so it would never run, and
    register, again; taking its registrations back once lost every shipped model name ("model 'default' not
    found") or the healthy plugin for the rest of the process. Per thread: another thread's registrations
    meanwhile are its own and stay."""
    journals: list[list[tuple[str, Callable[[], None]]]] = _THREAD.__dict__.setdefault("journals", [])
    undo: list[tuple[str, Callable[[], None]]] = []
    journals.append(undo)
    try:
        yield
    except BaseException:
        for module, step in reversed(undo):
            if module not in sys.modules:
                step()
        raise
    finally:
        journals.pop()


def _put(model_type: str, family: ModelFamily | None, *, only_if: ModelFamily | None = None) -> None:
    """Register ``family`` under ``model_type`` (None: take it out), by swapping in a new dict under the lock,
    the shipped families first in their listing's order (the order ``families()`` and ``tasks()`` give must not
    depend on which module a program happened to import first). ``only_if``: only when that is still what is
    registered there (an undo never takes out what another thread registered since)."""
    global _FAMILIES
    shipped = list(BUILTIN_FAMILIES)
    with _LOCK:
        known = dict(_FAMILIES)
        if only_if is not None and known.get(model_type) is not only_if:
            return
        known.pop(model_type, None)
        if family is not None:
            known[model_type] = family
        first = [t for t in shipped if t in known]
        _FAMILIES = {t: known[t] for t in first} | {t: f for t, f in known.items() if t not in first}


def _load_builtins() -> dict[str, ModelFamily]:
    """Import the shipped family modules (each registers itself); returns the registry.

    No lock of ours is held while importing (see ``_LOCK``): two threads that look a family up at once both
    import the modules, and Python's import lock makes the second wait until the first has run each module, so
    both find every shipped family (a flag set before the imports once sent the second thread back with half a
    registry: "unknown task 'snow'"). A module that fails to import is not remembered as loaded: what it
    registered on the way is taken back and the error raised, so the next lookup tries again instead of going
    on without it (a run once went on with no rain family, "unknown task 'rain'", for the rest of the process).
    Looked up from inside a shipped module's own import, that module is half-run and not yet registered: the
    lookup gets what is registered so far, and the shipped families count as loaded only once all are.
    """
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return _FAMILIES
    # The model modules import huggingface_hub, whose import fails on a malformed HF_ENDPOINT: say so in one
    # line, before anything is imported.
    from weatherclean.models.endpoint import check_hub_endpoint

    check_hub_endpoint()
    listings = BUILTIN_FAMILIES
    for listing in listings.values():
        with _taken_back_on_failure():
            importlib.import_module(listing.module)
    known = _FAMILIES
    if all(model_type in known for model_type in listings):
        _BUILTINS_LOADED = True
    return known


def plugin_entry_points() -> tuple[EntryPoint, ...]:
    """The installed packages' entry points in :data:`PLUGIN_GROUP`, read once per process (a few ms, with no
    import of the plugins themselves: ``models list`` asks whether there are any before it imports PyTorch)."""
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        from importlib.metadata import entry_points

        _ENTRY_POINTS = tuple(entry_points(group=PLUGIN_GROUP))
    return _ENTRY_POINTS


def _load_plugins() -> None:
    """Import every plugin module; one that fails is said in one line (a :class:`PluginWarning`) and left out,
    with all it registered, and the shipped families and the other plugins work as before.

    Every entry point is imported before any problem is said: under warnings-as-errors (``-W error``,
    ``PYTHONWARNINGS=error``, a test suite's ``filterwarnings = error``) the warning raises, and raised inside
    the loop it once stopped the loop, so the plugins after a broken one were never imported. A warning that
    raises is printed as one plain line on stderr instead. As with the shipped modules, no lock of ours is held
    while importing, and the plugins count as loaded only once none of their modules is still being imported.

    The model-name registry may be first imported from inside a plugin's (its ``from weatherclean.models import
    register_family_models`` in a program whose first call was ``families()``): it stays weatherclean's whatever
    happens to the plugin, since only a module whose own import failed is taken back. A plugin whose import
    Python broke off to end an import-lock cycle (``_DeadlockError``: two plugins importing each other while a
    program thread imports one of them) is not broken: it is tried again on the next lookup, and nothing is said.
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED or getattr(_THREAD, "loading_plugins", False) or not _BUILTINS_LOADED:
        return
    entries = plugin_entry_points()
    problems: dict[str, str] = {}
    deadlocked = False
    _THREAD.loading_plugins = True
    try:
        for entry in entries:
            try:
                with _taken_back_on_failure():
                    entry.load()
            except Exception as exc:  # noqa: BLE001  # whatever a third party's import raises, the built-ins go on
                if type(exc).__name__ == "_DeadlockError":  # importlib's private class: matched by its name
                    deadlocked = True
                    continue
                reason = " ".join(str(exc).split()) or type(exc).__name__
                problems[entry.name] = (
                    f"weatherclean plugin {entry.name!r} ({entry.value}, entry point group {PLUGIN_GROUP}) could not "
                    f"be imported and is left out: {type(exc).__name__}: {reason}; reinstall or update the package "
                    "that provides it, or uninstall it"
                )
    finally:
        _THREAD.loading_plugins = False
    half_run = any(_being_imported(entry.module) for entry in entries)
    with _LOCK:
        new = {name: problem for name, problem in problems.items() if name not in _PLUGIN_PROBLEMS}
        _PLUGIN_PROBLEMS.update(problems)
        _PLUGINS_LOADED = _PLUGINS_LOADED or not (half_run or deadlocked)
    for name, problem in new.items():  # each said once per process, whichever thread found it
        _say_plugin_problem(name, problem)


def _being_imported(module: str) -> bool:
    """Whether ``module`` is being imported now (by this thread, which is inside it, or by another)."""
    return bool(getattr(getattr(sys.modules.get(module), "__spec__", None), "_initializing", False))


def _say_plugin_problem(name: str, problem: str) -> None:
    """Warn ``problem`` (a :class:`PluginWarning`) in one line; where warnings are errors, print it instead: one
    broken plugin must not stop the program, nor the loading of the others."""
    try:
        # warn_explicit with a location that has no source: one line, not the file:line and source line
        warnings.warn_explicit(problem, PluginWarning, f"<weatherclean plugin {name}>", 0)
    except Warning:
        print(f"warning: {problem}", file=sys.stderr)


def _load_families() -> dict[str, ModelFamily]:
    """The shipped families, then the installed plugins' (each loaded once): what every lookup sees."""
    _load_builtins()
    _load_plugins()
    return _FAMILIES


def load_plugin_families() -> None:
    """Import the installed plugins (and so the shipped families and PyTorch) only when there are any.

    The model-name registry calls this before it answers: a plugin's names exist only once its module has
    run, and without a plugin nothing is imported, so ``models list`` stays free of PyTorch.
    """
    if not _PLUGINS_LOADED and plugin_entry_points():
        _load_families()


def plugin_problems() -> list[str]:
    """Why each plugin that could not be imported was left out, one line each (empty when all loaded)."""
    return list(_PLUGIN_PROBLEMS.values())


def register_family(family: ModelFamily, *, replace: bool = False) -> ModelFamily:
    """Make a family known by its ``model_type`` (each model module does this for its own family).

    A shipped ``model_type`` is refused whatever was imported first: the shipped listing says which they are
    without importing them (registering imports no family module, so a module registering itself while another
    thread imports the shipped ones never waits for that thread). A family belongs to the module that calls this
    (two plugins built on one library's classes are two owners): a ``model_type`` another module has registered
    is a ``ValueError`` naming who has it. The same module registering it again (``importlib.reload``, a
    notebook's autoreload, a plugin edited and imported again) replaces its earlier declaration quietly.
    ``replace=True`` replaces whatever is there, on purpose (a test, a patched family).
    """
    if not isinstance(family, ModelFamily):
        raise TypeError(f"register_family takes a ModelFamily, got {type(family).__name__}")
    model_type = family.model_type
    shipped = BUILTIN_FAMILIES.get(model_type)
    if shipped is not None and not is_shipped(family):
        if not replace:
            raise ValueError(
                f"model family {model_type!r} is weatherclean's built-in ({shipped.module}); give yours another "
                "model_type (or pass replace=True to replace the built-in on purpose)"
            )
        _load_builtins()  # the built-in registered first, or its own registration would later clash with yours
    module = caller_module()
    with _LOCK:
        existing = _FAMILIES.get(model_type)
        mine = existing is None or existing is family or _registrant(existing) == module
        if not replace and not mine:
            raise ValueError(
                f"model family {model_type!r} is already registered by {_owner(existing)}; give yours another "
                "model_type (or pass replace=True to replace it on purpose)"
            )
        _REGISTERED_BY[id(family)] = (family, module)
        _put(model_type, family)
    undo_if_import_fails(lambda: _put(model_type, existing, only_if=family), module=module)
    return family


def families() -> Mapping[str, ModelFamily]:
    """Every registered family by ``model_type`` (a read-only snapshot), the shipped ones first."""
    return MappingProxyType(_load_families())


def family_of(model_type: str) -> ModelFamily | None:
    """The family of a ``model_type``, or None for one nobody registered."""
    return _load_families().get(model_type)


def unknown_model_type(model_type: object) -> str:
    """Why a ``model_type`` has no family, in one line: most often the package that provides it is not
    installed here (a plugin reaches the ``weatherclean`` command only through its entry point)."""
    known = ", ".join(_load_families())
    text = (
        f"unknown model_type {model_type!r} (known: {known}); the package that provides it may not be installed "
        f"here: install it (plugin families register through the entry point group {PLUGIN_GROUP})"
    )
    if _PLUGIN_PROBLEMS:
        text += f"; plugins that failed to import: {', '.join(_PLUGIN_PROBLEMS)}"
    return text


def get_family(model_type: str) -> ModelFamily:
    """The family of a ``model_type``; :class:`ModelError` naming the known ones otherwise."""
    family = _load_families().get(model_type)
    if family is None:
        from weatherclean.errors import ModelError

        raise ModelError(unknown_model_type(model_type))
    return family


def family_of_model(model: object) -> ModelFamily | None:
    """The family of a loaded model (a stand-in or a foreign model has none).

    The family its config names (``model.config.model_type``, what its folder was loaded by, which tells apart
    two families of one model class) when the model is of that family's class and no family is of exactly its
    class; else the family of exactly its class, then that of its nearest base class: a family whose model
    subclasses another family's (``HazeNet(DesnowNet)``) is its own, not its base's, whatever the order of
    registration.
    """
    known = _load_families()
    cls = type(model)
    exact = [f for f in known.values() if f.model_class is cls]
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    named = known.get(model_type) if isinstance(model_type, str) else None
    if named is not None and isinstance(model, named.model_class) and (not exact or named in exact):
        return named
    if exact:
        return exact[0]
    mro = cls.__mro__
    matches = [f for f in known.values() if f.model_class in mro]
    return min(matches, key=lambda f: mro.index(f.model_class), default=None)


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

    from weatherclean.errors import ModelError

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
    from weatherclean.errors import ModelError

    if not isinstance(on, bool):
        raise ModelError(f"self_ensemble={on!r}: True or False (--self-ensemble / --no-self-ensemble)")
    if not hasattr(config, "self_ensemble"):
        flag = "--self-ensemble" if on else "--no-self-ensemble"
        raise ModelError(f"self_ensemble={on} ({flag}): the model {label} has no self-ensemble setting; leave it out")
    return {"self_ensemble": on}


def tasks() -> list[str]:
    """The tasks some family serves (``snow``, ``rain``, then a plugin's), the shipped ones first."""
    return list(dict.fromkeys(f.task for f in _load_families().values()))


def task_command(task: str) -> str | None:
    """The ``weatherclean`` command that runs models of ``task`` (``desnow``, ``derain``), or None for a task
    no command runs (a plugin's own): hints name only commands that exist."""
    for listing in BUILTIN_FAMILIES.values():
        if listing.task == task:
            return listing.command
    return None


def family_for_task(task: str) -> ModelFamily:
    """The family that serves ``task``: the shipped one for a shipped task, whatever else registered for it
    and in whatever order, else the first registered; :class:`ModelError` for an unknown task."""
    known = _load_families()
    for listing in BUILTIN_FAMILIES.values():
        if listing.task == task and listing.model_type in known:
            return known[listing.model_type]
    for family in known.values():
        if family.task == task:
            return family
    from weatherclean.errors import ModelError

    raise ModelError(f"unknown task {task!r}; use {' or '.join(tasks())}")
