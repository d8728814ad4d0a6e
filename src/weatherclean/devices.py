"""Device selection: CUDA, then Apple MPS, then CPU, unless the user names one.

Errors here reach Python callers (``load_restorer(device=...)``) and the CLI, which prints them as they
are, so each names the value as the library takes it and the CLI option in parentheses:
``device 'cuda': ...; use device='cpu' (--device cpu)``.
"""

from __future__ import annotations

import torch

from weatherclean.errors import WeathercleanError

#: Device types weatherclean runs on; PyTorch knows more (``meta``, ``xpu``, ...), on which nothing here is tested.
DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:1``/``mps``, or a :class:`torch.device`, into a usable device.

    Asking for a device that is not there is an error rather than a silent CPU fallback, because a
    user who typed ``--device cuda`` (or passed ``device="cuda"``) expects the GPU and would otherwise
    wait hours without knowing. A :class:`torch.device` gets the same checks as its name: unchecked,
    ``torch.device("cuda")`` on a CPU-only build failed with an AssertionError deep in ``Module.to``, and
    ``torch.device("meta")`` only at the first picture.
    """
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(name, torch.device):
        device = name
    elif isinstance(name, str):
        try:
            device = torch.device(name)
        except RuntimeError as exc:
            raise WeathercleanError(f"unknown device '{name}': use auto, cpu, cuda, cuda:N or mps") from exc
    else:
        raise TypeError(
            f"device must be a str ('auto', 'cpu', 'cuda', 'cuda:N', 'mps') or a torch.device, got {name!r}"
        )
    if device.type not in DEVICE_TYPES:
        raise WeathercleanError(
            f"device '{name}': weatherclean runs on cpu, cuda or mps, not {device.type}; "
            "use device='cpu' (--device cpu)"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise WeathercleanError(
                f"device '{name}': CUDA is not available in this PyTorch build or on this machine; "
                "use device='cpu' (--device cpu), or install a CUDA build of PyTorch (see README)"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise WeathercleanError(
                f"device '{name}': only {count} CUDA device(s) found; use device='cuda' (--device cuda) "
                f"or an index below {count}"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise WeathercleanError(
                f"device '{name}': Apple MPS is not available on this machine; use device='cpu' (--device cpu)"
            )
    return device


def prefers_channels_last(device: torch.device) -> bool:
    """Whether convolutions on ``device`` run faster with channels-last (NHWC) tensors.

    On CPU (oneDNN) our models run 1.7x faster in fp32 and 2.3x in bf16 with NHWC, because the
    NCHW path reorders every activation before and after each convolution; on CUDA, tensor cores want
    NHWC too. MPS support for NHWC is patchy, so it keeps the default layout.
    """
    return device.type in ("cpu", "cuda")


def to_fast_layout(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Put ``model``'s 4-D weights in the layout ``device`` convolves fastest (in place; returned for chaining).

    Inputs need no conversion: a convolution with channels-last weights runs channels-last. Convert
    back with :func:`to_standard_layout` before ``save_pretrained``, since safetensors stores only
    contiguous tensors.
    """
    if prefers_channels_last(device) and isinstance(model, torch.nn.Module):
        model.to(memory_format=torch.channels_last)
    return model


def like_layout(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` in the memory layout of ``like``, a 4-D convolution weight or activation (channels-last or not).

    Why: a convolution whose input and weights differ in layout reorders one of them on every call, and
    tensors made by ``cat``, ``pixel_unshuffle`` or arithmetic on mixed layouts come out NCHW
    (``benchmarks/desnow_paths.py`` times DesnowNet with and without this). A no-op when the layouts match.
    """
    if like.dim() == 4 and like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous():
        return t.contiguous(memory_format=torch.channels_last)
    return t


def to_standard_layout(model: torch.nn.Module) -> torch.nn.Module:
    """Back to contiguous (NCHW) weights, as saving and most tools expect."""
    return model.to(memory_format=torch.contiguous_format)
