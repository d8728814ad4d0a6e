"""J4R-Net's ``self_ensemble``: the mean of the outputs for a frame and its 180° turn, at inference only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from weatherclean.models.j4rnet import J4RNet, J4RNetConfig, bytes_per_pixel
from weatherclean.restore import load_restorer

#: A small configuration with every inference option of the shipped rain default on.
SMALL = J4RNetConfig(
    channels=8, hidden=8, stride=4, extractor_layers=1, dnet_layers=2, rnet_blocks=1, cnet_blocks=1, jrc_blocks=1,
    streak_mode="detail", clamp_fill=True, occlusion_floor=0.2, pass_through=0.03, veil_threshold=0.04, veil_cell=16,
)  # fmt: skip


def _pair(seed: int = 0) -> tuple[J4RNet, J4RNet]:
    """The same random weights without and with the ensemble, in eval mode."""
    torch.manual_seed(seed)
    plain = J4RNet(SMALL)
    with torch.no_grad():
        for p in plain.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    ensemble = J4RNet(dataclasses.replace(SMALL, self_ensemble=True))
    ensemble.load_state_dict(plain.state_dict())
    return plain.eval(), ensemble.eval()


def _turn(t: torch.Tensor) -> torch.Tensor:
    return t.flip(-2, -1)


@pytest.mark.parametrize("size", [(48, 64), (45, 70)])  # whole cells, and padded to them
def test_a_step_is_the_mean_of_the_frame_and_its_turn_on_whole_cells(size: tuple[int, int]) -> None:
    plain, ensemble = _pair()
    frame = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1))
    h, w = size
    padded = F.pad(frame, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
    with torch.no_grad():
        out, memory = ensemble.step(frame)
        a, _ = plain.step(padded)
        b, _ = plain.step(_turn(padded))
    expected = ((a.background + _turn(b.background)) / 2)[..., :h, :w]
    assert out.background.shape == frame.shape
    torch.testing.assert_close(out.background, expected, atol=1e-6, rtol=0)
    assert memory.shape[0] == 4  # each copy of each frame keeps its own memory
    assert not torch.allclose(out.background, plain.step(frame)[0].background, atol=1e-4)  # it does something


def test_in_a_clip_each_copy_carries_its_own_memory() -> None:
    plain, ensemble = _pair(2)
    clip = torch.rand(1, 3, 3, 32, 48, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        outs, _ = ensemble(clip)
        ha = hb = None
        for t in range(3):
            a, ha = plain.step(clip[:, t], ha)
            b, hb = plain.step(_turn(clip[:, t]), hb)
            expected = (a.background + _turn(b.background)) / 2
            torch.testing.assert_close(outs.background[:, t], expected, atol=1e-6, rtol=0)


def test_training_is_unchanged_and_memory_is_counted_twice() -> None:
    plain, ensemble = _pair(4)
    frame = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    plain.train(), ensemble.train()
    torch.testing.assert_close(ensemble.step(frame)[0].background, plain.step(frame)[0].background)
    assert bytes_per_pixel(ensemble.config) == 2 * bytes_per_pixel(plain.config)
    with pytest.raises(ValueError, match="self_ensemble must be true or false"):
        J4RNetConfig(self_ensemble="yes")  # type: ignore[arg-type]


def test_a_tiled_frame_agrees_with_the_whole_frame() -> None:
    """The turned copy smooths its veil on the frame's cell grid, so tiles laid on that grid still agree."""
    _, ensemble = _pair(6)
    rng = np.random.default_rng(7)
    frame = np.clip(rng.normal(0.5, 0.2, (150, 230, 3)), 0, 1).astype(np.float32)
    whole = load_restorer("rain", ensemble, device="cpu", precision="fp32").restore(frame)
    tiled = load_restorer("rain", ensemble, device="cpu", precision="fp32", tile=128).restore(frame)
    assert float(np.abs(whole - tiled).max()) < 1 / 255  # 0.68 levels; 1.97 without the padding to whole cells


def test_init_state_and_gate_follow_the_ensemble() -> None:
    """``init_state`` gives the memory ``step`` takes (both copies), and ``gate`` the mean of both copies' gates."""
    plain, ensemble = _pair(8)
    frame = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(9))
    h, w = frame.shape[-2:]
    with torch.no_grad():
        out, memory = ensemble.step(frame, ensemble.init_state(frame))
        torch.testing.assert_close(out.background, ensemble.step(frame)[0].background)
        assert ensemble.init_state(frame).shape == memory.shape
        padded = F.pad(frame, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
        expected = ((plain.gate(padded) + _turn(plain.gate(_turn(padded)))) / 2)[..., :h, :w]
        torch.testing.assert_close(ensemble.gate(frame), expected)
        ensemble.gate(frame, memory)  # the memory of a step is the gate's too
