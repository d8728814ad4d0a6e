"""Model families (one file each), their registry and loading.

The names below are loaded on first use (PEP 562), not on ``import weatherclean.models``: the registry
(``models list``) works without PyTorch, and a family's module, which imports PyTorch, is imported when
a model is built, loaded or its family looked up (see :mod:`weatherclean.models.builtin`).

A family of your own needs four of them: :class:`ModelFamily` and :class:`NamedConfiguration` to declare it,
:func:`register_family` and :func:`register_family_models` to register it and its names (docs/api.md,
"Model families").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weatherclean._lazy import lazy_exports

if TYPE_CHECKING:
    from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig, DesnowOutput
    from weatherclean.models.family import (
        ModelFamily,
        NamedConfiguration,
        RecurrentModel,
        RestorationModel,
        families,
        get_family,
        register_family,
    )
    from weatherclean.models.registry import (
        DEFAULT_MODELS,
        ModelSource,
        ModelSpec,
        create_model,
        list_models,
        load_from_folder,
        load_model,
        locate_model,
        register_family_models,
        register_model,
        unregister_model,
    )

#: Public names, and the module each comes from.
_LAZY = {
    **dict.fromkeys(("DesnowNet", "DesnowNetConfig", "DesnowOutput"), "weatherclean.models.desnownet"),
    **dict.fromkeys(
        ("ModelFamily", "NamedConfiguration", "RecurrentModel", "RestorationModel", "families", "get_family",
         "register_family"),
        "weatherclean.models.family",
    ),
    **dict.fromkeys(
        ("DEFAULT_MODELS", "ModelSource", "ModelSpec", "create_model", "list_models", "load_from_folder",
         "load_model", "locate_model", "register_family_models", "register_model", "unregister_model"),
        "weatherclean.models.registry",
    ),
}  # fmt: skip

__all__ = [
    "DEFAULT_MODELS", "DesnowNet", "DesnowNetConfig", "DesnowOutput", "ModelFamily", "ModelSource", "ModelSpec",
    "NamedConfiguration", "RecurrentModel", "RestorationModel", "create_model", "families", "get_family",
    "list_models", "load_from_folder", "load_model", "locate_model", "register_family", "register_family_models",
    "register_model", "unregister_model",
]  # fmt: skip


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
