"""Model families (one file each), their registry and loading.

The names below are loaded on first use (PEP 562), not on ``import weatherclean.models``: the registry
(``models list``) works without PyTorch, and a family's module, which imports PyTorch, is imported when
a model is built, loaded or its family looked up (see :mod:`weatherclean.models.builtin`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig, DesnowOutput
    from weatherclean.models.family import ModelFamily, RecurrentModel, RestorationModel, families, get_family
    from weatherclean.models.registry import (
        DEFAULT_MODELS,
        ModelSource,
        ModelSpec,
        create_model,
        list_models,
        load_from_folder,
        load_model,
        locate_model,
        register_model,
        unregister_model,
    )

#: Public names, and the module each comes from.
_LAZY = {
    **dict.fromkeys(("DesnowNet", "DesnowNetConfig", "DesnowOutput"), "weatherclean.models.desnownet"),
    **dict.fromkeys(
        ("ModelFamily", "RecurrentModel", "RestorationModel", "families", "get_family"), "weatherclean.models.family"
    ),
    **dict.fromkeys(
        ("DEFAULT_MODELS", "ModelSource", "ModelSpec", "create_model", "list_models", "load_from_folder",
         "load_model", "locate_model", "register_model", "unregister_model"),
        "weatherclean.models.registry",
    ),
}  # fmt: skip

__all__ = [
    "DEFAULT_MODELS", "DesnowNet", "DesnowNetConfig", "DesnowOutput", "ModelFamily", "ModelSource", "ModelSpec",
    "RecurrentModel", "RestorationModel", "create_model", "families", "get_family", "list_models",
    "load_from_folder", "load_model", "locate_model", "register_model", "unregister_model",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    """A public name, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'weatherclean.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
