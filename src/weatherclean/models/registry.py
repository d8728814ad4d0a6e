"""Named model configurations and the single entry point to get a model: :func:`load_model`.

A model is named in one of four ways, tried in this order:

1. ``default`` (or ``default-snow``): the bundled default model of the task.
2. A registered name (``desnownet-light``): bundled weights if the package ships them.
3. A local folder written by ``save_pretrained`` (``config.json`` + ``model.safetensors``).
4. A Hugging Face Hub repo id, ``owner/name`` or ``owner/name@revision``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_model as load_safetensors
from torch import nn

from weatherclean.errors import ModelError
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig


@dataclass(frozen=True)
class ModelSpec:
    """One registered configuration: what it is for and how to build it."""

    name: str
    task: str  # "snow" or "rain"
    description: str
    build: Callable[[], nn.Module]


#: model_type in config.json → class. New families add themselves here.
MODEL_CLASSES: dict[str, type[nn.Module]] = {"desnownet": DesnowNet}

_REGISTRY: dict[str, ModelSpec] = {}

#: The model each task uses when the user does not name one.
DEFAULT_MODELS: dict[str, str] = {"snow": "desnownet-light"}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model name {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _desnownet(name: str, description: str, **cfg: object) -> ModelSpec:
    return register_model(
        ModelSpec(name, "snow", description, lambda: DesnowNet(DesnowNetConfig(**cfg)))  # type: ignore[arg-type]
    )


_desnownet("desnownet-paper", "DesnowNet at the paper's full Inception-V4 width, stride 1 (GPU only)")
_desnownet("desnownet-half", "DesnowNet at half width, as the public re-implementations train it (GPU)",
           width=0.5)
_desnownet(
    "desnownet-light",
    "light DesnowNet for CPUs: 1/8 width, one block per Inception stage, descriptor at stride 4",
    width=0.125, blocks=(1, 1, 1), descriptor_stride=4, head_channels=16, pyramid_channels=16,
)


def list_models(task: str | None = None) -> list[ModelSpec]:
    return [s for s in _REGISTRY.values() if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"unknown model '{name}'; registered models: {known}") from None


def create_model(name: str) -> nn.Module:
    """A freshly initialised (untrained) model of a registered configuration."""
    return get_spec(name).build()


def bundled_weights_dir(name: str) -> Path | None:
    """The folder of weights shipped inside the package for ``name``, if any."""
    folder = Path(str(resources.files("weatherclean") / "weights" / name))
    return folder if (folder / "model.safetensors").is_file() else None


def load_from_folder(folder: Path) -> nn.Module:
    """Load a ``save_pretrained`` folder strictly: a mismatched checkpoint is an error, not garbage.

    This reads the same two files as ``PyTorchModelHubMixin.from_pretrained`` but picks the class from
    ``model_type`` in config.json, so one loader serves every model family.
    """
    config_path, weights = folder / "config.json", folder / "model.safetensors"
    if not config_path.is_file() or not weights.is_file():
        raise ModelError(
            f"{folder}: not a model folder (expected config.json and model.safetensors, "
            "as written by `weatherclean train` or save_pretrained)"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config_path}: cannot read the model config ({exc})") from None
    model_type = config.get("model_type", "desnownet") if isinstance(config, dict) else None
    if model_type not in MODEL_CLASSES:
        raise ModelError(f"{config_path}: unknown model_type {model_type!r}; known: {', '.join(MODEL_CLASSES)}")
    try:
        model = MODEL_CLASSES[model_type](**config)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{config_path}: invalid model config ({exc})") from None
    try:
        load_safetensors(model, str(weights), strict=True)
    except (RuntimeError, ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{folder}: checkpoint does not match its config ({first[:200]})") from None
    return model


def resolve_model_name(spec: str, task: str = "snow") -> str:
    return DEFAULT_MODELS[task] if spec in ("default", f"default-{task}") else spec


def load_model(spec: str = "default", device: torch.device | str = "cpu", task: str = "snow") -> nn.Module:
    """Get a ready-to-run model (eval mode, on ``device``) from a name, a folder or a Hub repo id."""
    name = resolve_model_name(spec, task)
    if name in _REGISTRY:
        folder = bundled_weights_dir(name)
        if folder is None:
            raise ModelError(
                f"model '{name}' has no bundled weights; train one with `weatherclean train --arch "
                f"{name} ...` and pass its output folder to --model"
            )
        model = load_from_folder(folder)
    elif Path(name).expanduser().exists():
        model = load_from_folder(Path(name).expanduser())
    elif name.count("/") == 1 and not name.startswith((".", "/", "~")):
        from weatherclean.models.hub import download

        model = load_from_folder(download(name))
    elif "/" in name or "\\" in name:
        raise ModelError(f"model folder '{spec}' not found; check the path (a trained run keeps it in RUN/model)")
    else:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(
            f"model '{spec}' not found: not a registered name ({known}), not an existing folder, "
            "and not a Hub repo id (owner/name[@revision])"
        )
    return model.to(device).eval()
