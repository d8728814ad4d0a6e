"""Loading a model folder by its ``model_type``: what the registry and the Hub code both need.

Kept apart from :mod:`~weatherclean.models.registry` (which knows the named models and downloads
through :mod:`~weatherclean.models.hub`) so that the Hub code can check a folder before it is pushed
without importing the registry back: no import circle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weatherclean.errors import ModelError
from weatherclean.models.family import families, family_of

if TYPE_CHECKING:
    from torch import nn

    from weatherclean.models.family import ModelFamily

__all__ = ["load_from_folder", "read_folder"]

#: The family of a config.json without ``model_type``: only DesnowNets were saved before it existed.
LEGACY_MODEL_TYPE = "desnownet"


def read_folder(folder: Path) -> tuple[ModelFamily, Any]:
    """The family and config (its ``config_class``, validated) of a ``save_pretrained`` folder, loading no
    weights: what ``--dry-run`` checks, and the first half of :func:`load_from_folder`.

    A folder without the two files, an unreadable config, an unknown ``model_type`` or a config its family
    refuses is a one-line :class:`ModelError`.
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
    model_type = config.get("model_type", LEGACY_MODEL_TYPE) if isinstance(config, dict) else None
    family = family_of(model_type) if isinstance(model_type, str) else None
    if family is None:
        raise ModelError(f"{config_path}: unknown model_type {model_type!r}; known: {', '.join(families())}")
    try:
        return family, family.config_class(**config)
    except (TypeError, ValueError) as exc:
        raise _invalid_config(config_path, exc) from None


def _invalid_config(config_path: Path, exc: Exception) -> ModelError:
    """A config the model class refuses; a setting it does not know most likely comes from a newer release
    (each adds settings, such as DesnowNet's ``context``), so say how to get one."""
    hint = ""
    if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
        hint = "; it may have been saved by a newer weatherclean: pip install -U weatherclean"
    return ModelError(f"{config_path}: invalid model config ({exc}){hint}")


def load_from_folder(folder: Path) -> nn.Module:
    """Load a ``save_pretrained`` folder strictly: a mismatched checkpoint is an error, not garbage.

    This reads the same two files as ``PyTorchModelHubMixin.from_pretrained`` but picks the class from
    ``model_type`` in config.json (the registered :class:`~weatherclean.models.family.ModelFamily`), so one
    loader serves every model family.
    """
    family, config = read_folder(folder)
    weights = folder / "model.safetensors"
    try:  # the config is valid; a family may still refuse a combination only its model checks
        model = family.model_class(config)
    except (TypeError, ValueError) as exc:
        raise _invalid_config(folder / "config.json", exc) from None
    from safetensors.torch import load_model as load_safetensors  # with PyTorch: only when a model loads

    try:
        load_safetensors(model, str(weights), strict=True)
    except (RuntimeError, ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{folder}: checkpoint does not match its config ({first[:200]})") from None
    return model
