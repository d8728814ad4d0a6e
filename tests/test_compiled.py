"""``--compile``: the compiled model gives the eager model's pictures, and a compiler failure costs nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import weatherclean.restore.compiled as compiled
from synthetic import StandIn, invoke_command
from weatherclean.cli import desnow
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
from weatherclean.models.j4rnet import J4RNet, J4RNetConfig
from weatherclean.restore.compiled import CompiledCall, compile_model


def _tiny_desnownet() -> DesnowNet:
    torch.manual_seed(0)
    config = DesnowNetConfig(width=0.05, blocks=(0, 0, 0), descriptor_stride=4, head_channels=4, pyramid_channels=4)
    return DesnowNet(config).eval()


def test_compiled_entry_point_matches_eager_for_both_model_kinds() -> None:
    """Dynamo traces the real models (the eager backend keeps the test fast); results must not change."""
    x = torch.rand(1, 3, 32, 48)
    snow = _tiny_desnownet()
    with torch.no_grad():
        expected = snow.restore(x)
        call = compile_model(snow, backend="eager")
        assert snow.restore is call
        assert torch.allclose(snow.restore(x), expected, atol=1e-6)
        assert call.failure is None  # after the call: a failed compile would have fallen back silently
    rain = J4RNet(J4RNetConfig(channels=8, hidden=8, stride=4)).eval()
    with torch.no_grad():
        out, h = rain.step(x)
        expected_next, _ = rain.step(x, h)
        call = compile_model(rain, backend="eager")
        assert rain.step is call  # restore calls step, so photos and videos both run compiled
        got, h2 = rain.step(x)
        got_next, _ = rain.step(x, h2)
        assert call.failure is None
        assert torch.allclose(got.background, out.background, atol=1e-6)
        assert torch.allclose(got_next.background, expected_next.background, atol=1e-6)
        assert torch.allclose(rain.restore(x), out.background.clamp(0, 1), atol=1e-6)


def test_a_compiler_failure_falls_back_to_eager_but_out_of_memory_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("InductorError: no working C++ compiler found")

    def oom(*_a: object, **_k: object) -> object:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(compiled.torch, "compile", lambda fn, **_: broken)
    call = CompiledCall(lambda x: x * 2)
    assert call(torch.ones(2)).tolist() == [2.0, 2.0]
    assert call.failure is not None and "C++ compiler" in call.failure

    def refuses(fn: object, **_: object) -> object:
        raise RuntimeError("Dynamo is not supported on Python 3.12+")

    monkeypatch.setattr(compiled.torch, "compile", refuses)  # refused at once, before any call
    call = CompiledCall(lambda x: x * 2)
    assert call.failure is not None and "Dynamo is not supported" in call.failure
    assert call(torch.ones(2)).tolist() == [2.0, 2.0]
    monkeypatch.setattr(compiled.torch, "compile", lambda fn, **_: oom)
    call = CompiledCall(lambda x: x * 2)
    with pytest.raises(RuntimeError, match="out of memory"):  # the tiling engine halves the tile on this
        call(torch.ones(2))
    assert call.failure is None


def test_desnow_compile_reports_a_failed_compiler_and_still_writes_every_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("backend failed")

    monkeypatch.setattr(compiled.torch, "compile", lambda fn, **_: broken)
    # The stand-in honours the device it is asked for: a CPU model fed CUDA tiles fails every photo.
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        Image.fromarray((np.random.default_rng(i).random((40, 56, 3)) * 255).astype(np.uint8)).save(src / f"{i}.png")
    out = str(tmp_path / "out")
    args = (str(src), "-o", out, "--compile", "--json")  # the default device: CUDA where there is one
    code, stdout, stderr = invoke_command(desnow, "desnow", *args, models=StandIn(_tiny_desnownet))
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["counts"]["done"] == 2
    assert any("torch.compile failed (backend failed)" in n["note"] for n in summary["notes"])
