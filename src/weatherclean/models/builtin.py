"""The model families that ship with weatherclean, as plain data: their names, tasks and configurations.

``weatherclean models list`` and ``--help`` must not import PyTorch (1.5 s on a small machine), yet the
registry has to know every registered name up front. So what a listing needs lives here, free of torch:
each family's module (:mod:`~weatherclean.models.desnownet`, :mod:`~weatherclean.models.j4rnet`) takes its
task, named configurations and default from its entry below, and is imported, registering its full
:class:`~weatherclean.models.family.ModelFamily`, only when a model is built or a family looked up.

A new shipped family needs its entry here as well as its module: this listing is what tells the registry
its names and the family registry which module to import (a family from another package needs none: it
is found through its entry point, see :data:`~weatherclean.models.family.PLUGIN_GROUP`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUILTIN_FAMILIES", "BuiltinFamily", "NamedConfiguration"]


@dataclass(frozen=True)
class NamedConfiguration:
    """A registered configuration of a family: ``desnownet-light`` is DesnowNet with these settings.

    Defined here, in the torch-free listing, which imports nothing of weatherclean's: the family module
    (:mod:`~weatherclean.models.family`, which re-exports it) imports this one, never the other way round.
    """

    name: str
    description: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltinFamily:
    """What is known of a shipped family without importing it: where it lives and what it registers.

    ``command`` is the ``weatherclean`` command that runs its task: hints and model cards name a command
    only for a task one of these serves, so that they never name one that does not exist.
    """

    model_type: str
    task: str
    command: str
    module: str  # imported on first use; importing it registers the family
    configurations: tuple[NamedConfiguration, ...]
    default_model: str


#: The shipped families by ``model_type``, in registration order (the first of a task serves it).
BUILTIN_FAMILIES: dict[str, BuiltinFamily] = {
    f.model_type: f
    for f in (
        BuiltinFamily(
            model_type="desnownet",
            task="snow",
            command="desnow",
            module="weatherclean.models.desnownet",
            configurations=(
                NamedConfiguration(
                    "desnownet-paper", "DesnowNet at the paper's full Inception-V4 width, stride 1 (GPU only)"
                ),
                NamedConfiguration(
                    "desnownet-half",
                    "DesnowNet at half width, as the public re-implementations train it (GPU)",
                    {"width": 0.5},
                ),
                NamedConfiguration(
                    "desnownet-light",
                    "light DesnowNet for CPUs: 1/8 width, one block per Inception stage, descriptor at stride 4",
                    {"width": 0.125, "blocks": (1, 1, 1), "descriptor_stride": 4, "head_channels": 16,
                     "pyramid_channels": 16},
                ),
                NamedConfiguration(
                    "desnownet-deep",
                    "desnownet-light with two blocks in the first two Inception stages and 20-channel heads "
                    "(1.24x the compute, inside the CPU budget)",
                    {"width": 0.125, "blocks": (2, 2, 1), "descriptor_stride": 4, "head_channels": 20,
                     "pyramid_channels": 20},
                ),
                NamedConfiguration(
                    "desnownet-base",
                    "DesnowNet at 1/4 width with 32-channel heads, descriptor at stride 4 (3.2x the light "
                    "compute)",
                    {"width": 0.25, "blocks": (1, 1, 1), "descriptor_stride": 4, "head_channels": 32,
                     "pyramid_channels": 32},
                ),
            ),
            default_model="desnownet-light",
        ),
        BuiltinFamily(
            model_type="j4rnet",
            task="rain",
            command="derain",
            module="weatherclean.models.j4rnet",
            configurations=(
                NamedConfiguration(
                    "j4rnet-paper",
                    "J4R-Net at the widths of the authors' release: 64 channels, 64-channel memory (GPU)",
                ),
                NamedConfiguration(
                    "j4rnet-wide",
                    "J4R-Net for CPUs with more capacity: the authors' 64 channels at the light model's stride 4",
                    {"channels": 64, "hidden": 64, "stride": 4, "extractor_layers": 1, "dnet_layers": 3,
                     "rnet_blocks": 1, "cnet_blocks": 1, "jrc_blocks": 1},
                ),
                NamedConfiguration(
                    "j4rnet-light",
                    "light J4R-Net for CPUs: 48 channels at stride 4, one residual block per branch",
                    {"channels": 48, "hidden": 48, "stride": 4, "extractor_layers": 1, "dnet_layers": 3,
                     "rnet_blocks": 1, "cnet_blocks": 1, "jrc_blocks": 1},
                ),
            ),
            default_model="j4rnet-wide",
        ),
    )
}  # fmt: skip
