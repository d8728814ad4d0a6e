"""Model families (one file each), their registry and loading.

Importing the package imports each family's module, which registers its
:class:`~weatherclean.models.family.ModelFamily`: the registry and the loader find families there.
"""

from weatherclean.models import desnownet, j4rnet  # noqa: F401 (each registers its family)
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

__all__ = [
    "DEFAULT_MODELS",
    "DesnowNet",
    "DesnowNetConfig",
    "DesnowOutput",
    "ModelFamily",
    "RecurrentModel",
    "RestorationModel",
    "ModelSource",
    "ModelSpec",
    "create_model",
    "families",
    "get_family",
    "list_models",
    "load_from_folder",
    "load_model",
    "locate_model",
    "register_model",
    "unregister_model",
]
