"""Reduced precision only where it pays, and guarded: a NaN or black tile is recomputed in fp32, then fp32 sticks."""

from __future__ import annotations

import pytest
import torch

from weatherclean.errors import WeathercleanError
from weatherclean.restore.precision import GuardedPrecision, looks_broken, resolve_precision
from weatherclean.restore.tiling import run_tiled

CPU = torch.device("cpu")


def test_cpu_without_native_bf16_runs_fp32_and_refuses_half(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "0")
    assert resolve_precision("auto", CPU) is None
    assert resolve_precision("fp32", CPU) is None
    assert resolve_precision("auto", torch.device("cuda")) is torch.float16  # no GPU needed to decide
    assert resolve_precision("bf16", torch.device("cuda")) is torch.bfloat16
    with pytest.raises(WeathercleanError, match="bf16 is turned off by WEATHERCLEAN_CPU_BF16=0"):
        resolve_precision("bf16", CPU)  # it said "this CPU has no native bf16" of a CPU that has it
    monkeypatch.delenv("WEATHERCLEAN_CPU_BF16")
    monkeypatch.setattr("weatherclean.restore.precision._cpu_flags", set)
    with pytest.raises(WeathercleanError, match="no native bf16"):
        resolve_precision("bf16", CPU)
    with pytest.raises(WeathercleanError, match="fp16 is slower"):
        resolve_precision("fp16", CPU)
    with pytest.raises(WeathercleanError, match="unknown precision"):
        resolve_precision("fp8", CPU)


@pytest.mark.parametrize("value", ["off", "false", "yes", "2"])
def test_an_unknown_bf16_override_is_an_error_not_ignored(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """``WEATHERCLEAN_CPU_BF16=off`` was silently ignored: bf16 stayed on where the user meant it off."""
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", value)
    with pytest.raises(WeathercleanError, match=f"WEATHERCLEAN_CPU_BF16='{value}': use 0 .* or 1"):
        resolve_precision("auto", CPU)


def test_cpu_with_native_bf16_uses_it_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "1")
    assert resolve_precision("auto", CPU) is torch.bfloat16
    assert resolve_precision("bf16", CPU) is torch.bfloat16
    assert resolve_precision("fp32", CPU) is None
    with pytest.raises(WeathercleanError, match="fp16 is slower"):
        resolve_precision("fp16", CPU)


def test_looks_broken() -> None:
    x = torch.full((1, 3, 4, 4), 0.5)
    assert looks_broken(x, x) is None
    assert looks_broken(torch.zeros_like(x), x) == "a black picture"
    assert looks_broken(torch.zeros_like(x), torch.zeros_like(x)) is None  # black in, black out is fine
    nan = x.clone()
    nan[0, 1, 2, 3] = float("nan")
    assert "NaN" in (looks_broken(nan, x) or "")


class _OverflowsInHalf:
    """Like a network whose activations overflow fp16: broken under autocast, right in fp32."""

    def __init__(self, broken: str) -> None:
        self.broken = broken
        self.calls: list[bool] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        half = torch.is_autocast_enabled("cpu")
        self.calls.append(half)
        if half:
            return torch.full_like(x, float("nan")) if self.broken == "nan" else torch.zeros_like(x)
        return 1.0 - x


@pytest.mark.parametrize("broken", ["nan", "black"])
def test_broken_half_tile_is_recomputed_in_fp32_and_fp32_sticks(broken: str) -> None:
    fn = _OverflowsInHalf(broken)
    guard = GuardedPrecision(fn, CPU, torch.bfloat16)  # CPU autocast stands in for the GPU here
    image = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
    out = run_tiled(guard, image, tile=48, overlap=16)
    assert torch.allclose(out, 1.0 - image, atol=1e-6) and bool(torch.isfinite(out).all())
    assert fn.calls[:2] == [True, False] and not any(fn.calls[2:])  # one retry, then fp32 for the rest
    assert not guard.active and len(guard.fallbacks) == 1 and "fp32" in guard.fallbacks[0]


def test_good_half_output_is_kept_and_returned_as_float32() -> None:
    guard = GuardedPrecision(lambda x: x * 0.5, CPU, torch.bfloat16)
    x = torch.rand(1, 3, 8, 8)
    out = guard(x)
    assert out.dtype == torch.float32 and guard.active and guard.fallbacks == []


def test_a_recurrent_state_that_overflows_in_half_is_recomputed() -> None:
    def step(x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.full((1,), float("inf")) if torch.is_autocast_enabled("cpu") else torch.ones(1)
        return x * 0.5, h

    guard = GuardedPrecision(step, CPU, torch.bfloat16)
    picture, h = guard(torch.rand(1, 3, 4, 4) + 0.1, None)
    assert bool(torch.isfinite(h).all()) and not guard.active and "recurrent state" in guard.fallbacks[0]
