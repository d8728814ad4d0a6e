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


def test_functional_convolutions_count_and_unused_modules_do_not() -> None:
    class Fused(nn.Module):
        """Runs its two convolutions' kernels as one functional call, as DesnowNet's heads do."""

        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            weight = torch.cat([torch.nn.functional.pad(self.a.weight, [1, 1, 1, 1]), self.b.weight])
            return torch.nn.functional.conv2d(x, weight, torch.cat([self.a.bias, self.b.bias]), padding=1)

    fused = nn.Sequential(Fused(), nn.Conv2d(6, 2, 1))
    # 6 outputs x 9 taps x 3 inputs for the fused call (zero taps included: they run), 2 x 6 for the last.
    assert count_macs(fused, fused, size=8) == 6 * 9 * 3 + 2 * 6


def test_the_default_models_cost_what_the_docs_say() -> None:
    # docs/models.md's table: desnownet-light 71.3 k, j4rnet-light 37.2 k multiply-adds per pixel.
    for name, expected in (("desnownet-light", 71_294), ("j4rnet-light", 37_152)):
        model = create_model(name).eval()
        family = family_of_model(model)
        assert family is not None
        assert family.macs_per_pixel(model) == expected, name
