"""Model families (one file each), their registry and loading."""

from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig, DesnowOutput
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

__all__ = [
    "DEFAULT_MODELS",
    "DesnowNet",
    "DesnowNetConfig",
    "DesnowOutput",
    "ModelSource",
    "ModelSpec",
    "create_model",
    "list_models",
    "load_from_folder",
    "load_model",
    "locate_model",
    "register_model",
    "unregister_model",
]
