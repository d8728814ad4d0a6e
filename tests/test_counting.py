"""Multiply-adds per pixel: the counter every family's ``macs_per_pixel`` uses."""

from __future__ import annotations

import torch
from torch import nn

from weatherclean.models import create_model
from weatherclean.models.counting import count_macs
from weatherclean.models.family import family_of_model


def test_plain_convolutions_count_taps_times_input_channels_per_group() -> None:
    plain = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=4))
    assert count_macs(plain, plain, size=16) == 8 * 9 * 3 + 8 * 9 * 2


def test_a_fused_module_is_counted_by_its_rule_and_its_convolutions_are_not() -> None:
    class Fused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    fused = nn.Sequential(Fused(), nn.Conv2d(4, 2, 1))
    macs = count_macs(fused, fused, size=8, fused=((Fused,), lambda mod, x: 1000 * x.shape[-1] * x.shape[-2]))
    assert macs == 1000 + 2 * 4


def test_the_default_models_cost_what_the_docs_say() -> None:
    # docs/models.md's table: desnownet-light 64.7 k, j4rnet-light 37.2 k multiply-adds per pixel.
    for name, expected in (("desnownet-light", 64_739), ("j4rnet-light", 37_152)):
        model = create_model(name).eval()
        family = family_of_model(model)
        assert family is not None
        assert family.macs_per_pixel(model) == expected, name
