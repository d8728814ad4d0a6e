"""Reduced precision where it is safe and pays: a check on every tile and an fp32 retry.

fp16 roughly doubles GPU throughput, but a network trained in fp32 can overflow in fp16 and return NaN
(which an 8-bit writer turns into black) or collapse to black outright; users of other tools meet this
as "the output is a black picture". So every tile's output is checked, and a bad tile is recomputed in
fp32, after which the rest of the run stays in fp32.

On a CPU, bf16 is used only where the CPU computes it natively (AVX512-BF16 or AMX: Intel Sapphire Rapids
and later, AMD Zen 4 and later). There it is 2-2.5x faster than fp32 for our models, and PSNR against
the ground truth moves by a few hundredths of a dB (docs/performance.md). On other CPUs bf16 is
emulated and slower than fp32, and fp16 is slower everywhere on a CPU, so both are refused there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from weatherclean.errors import ModelError, WeathercleanError
from weatherclean.restore.options import PRECISIONS

__all__ = ["PRECISIONS", "GuardedPrecision", "cpu_has_native_bf16", "looks_broken", "resolve_precision"]

#: Values of ``--precision`` (PRECISIONS): ``auto`` is fp16 on CUDA, bf16 on CPUs with native bf16, fp32 elsewhere.
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
#: An output whose brightest value is below this, for an input that is clearly not black, is "black".
_BLACK_OUT = 1.0 / 255.0
_BLACK_IN = 8.0 / 255.0


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively on this CPU (AVX512-BF16 or AMX), not emulated.

    ``WEATHERCLEAN_CPU_BF16=0`` turns it off (``=1`` forces it on), for comparing or working around a CPU;
    any other value is a one-line error rather than silently ignored (``=false``, ``=off`` read as "on").
    """
    forced = _forced_bf16()
    if forced is not None:
        return forced
    try:
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
    return supported and bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _forced_bf16() -> bool | None:
    """``WEATHERCLEAN_CPU_BF16`` as set (0 or 1), None when unset or empty."""
    forced = os.environ.get("WEATHERCLEAN_CPU_BF16", "").strip()
    if forced in ("", "0", "1"):
        return None if not forced else forced == "1"
    raise WeathercleanError(
        f"WEATHERCLEAN_CPU_BF16={forced!r}: use 0 (no bf16 on this CPU) or 1 (native bf16), or unset it"
    )


def _cpu_flags() -> set[str]:
    """The CPU's feature flags on Linux (empty elsewhere: native bf16 is then assumed absent)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision=`` / ``--precision`` on ``device``; ``None`` means plain fp32.

    Its errors reach Python callers and the CLI alike, so they name the value as the library takes it and
    the CLI option in parentheses.
    """
    if name not in PRECISIONS:
        raise WeathercleanError(f"unknown precision '{name}': use {', '.join(PRECISIONS)}")
    if name == "fp32":
        return None
    if device.type == "cpu":
        native = cpu_has_native_bf16()
        if name == "auto":
            return torch.bfloat16 if native else None
        if name == "bf16" and native:
            return torch.bfloat16
        why = (
            "this CPU has no native bf16 (AVX512-BF16 or AMX), so it would be slower"
            if name == "bf16" and _forced_bf16() is None
            else "bf16 is turned off by WEATHERCLEAN_CPU_BF16=0"
            if name == "bf16"
            else "fp16 is slower than fp32 on a CPU"
        )
        raise WeathercleanError(f"precision '{name}': {why}; use precision='fp32' or 'auto' (--precision fp32 or auto)")
    if name == "auto":
        return torch.float16 if device.type == "cuda" else None
    return _DTYPES[name]


def looks_broken(output: torch.Tensor, inputs: torch.Tensor) -> str | None:
    """Why a half-precision output cannot be trusted (NaN/inf, or black for a non-black input), else None."""
    if not bool(torch.isfinite(output).all()):
        return "NaN or infinite values"
    if float(output.amax()) < _BLACK_OUT and float(inputs.amax()) > _BLACK_IN:
        return "a black picture"
    return None


@dataclass
class GuardedPrecision:
    """Wrap a tile function so it runs under autocast and falls back to fp32 when the result is bad.

    The fallback is sticky: once one tile needed fp32, every later call uses fp32, because the same
    overflow will recur on similar content and paying for two passes per tile would be slower than fp32.
    ``fallbacks`` records why it happened, for the run's notes. ``label`` names ``fn`` (``"MyModel.restore()"``)
    in the ``TypeError`` for a result that is not a tensor: a model of the caller's own that returns, say, a
    NumPy array otherwise failed inside ``torch.isfinite``, nine frames down.
    """

    fn: Callable[..., Any]
    device: torch.device
    dtype: torch.dtype | None
    fallbacks: list[str] = field(default_factory=list)
    label: str = "the model"

    @property
    def active(self) -> bool:
        """Whether calls currently run in reduced precision."""
        return self.dtype is not None

    def __call__(self, x: torch.Tensor, *args: Any) -> Any:
        """``fn(x, *args)``; when ``fn`` returns a tuple (a recurrent step), its first item is checked."""
        if self.dtype is None:
            return self._finite(self._tensor(self.fn(x, *args)))
        with torch.autocast(device_type=self.device.type, dtype=self.dtype):
            out = self._tensor(self.fn(x, *args))
        picture = out[0] if isinstance(out, tuple) else out
        reason = looks_broken(picture, x)
        states = [t for t in out[1:] if isinstance(t, torch.Tensor)] if isinstance(out, tuple) else []
        if reason is None and not all(bool(torch.isfinite(t).all()) for t in states):
            reason = "NaN or infinite values in the recurrent state"  # it would poison every later frame
        if reason is None:
            return (picture.float(), *out[1:]) if isinstance(out, tuple) else out.float()
        self.fallbacks.append(f"{_name(self.dtype)} gave {reason}; recomputed in fp32 and stayed in fp32")
        self.dtype = None
        return self._finite(self._tensor(self.fn(x, *args)))

    def _finite(self, out: Any) -> Any:
        """``out``, once its picture is known to be finite: an fp32 result with NaN or inf has no fallback left.

        Why: an 8-bit writer clips NaN to black, so a model whose weights are NaN (a diverged training run,
        or weights damaged behind an intact header) wrote black pictures and the run reported success. Only
        non-finite values count here, not a black result: a black input legitimately gives a black output.
        """
        picture = out[0] if isinstance(out, tuple) else out
        if not bool(torch.isfinite(picture).all()):
            raise ModelError(
                f"{self.label} gave NaN or infinite values in fp32: the model's weights give NaN/inf (damaged, or "
                "from a diverged training run); retrain the model or download it again"
            )
        return out

    def _tensor(self, out: Any) -> Any:
        """``out``, once its picture (the first item of a tuple) is known to be a tensor."""
        picture = out[0] if isinstance(out, tuple) and out else out
        if not isinstance(picture, torch.Tensor):
            raise TypeError(
                f"{self.label} returned {type(picture).__name__}, not a torch.Tensor; it must return the restored "
                "1×C×H×W tensor"
            )
        return out


def _name(dtype: torch.dtype) -> str:
    return {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, str(dtype))
