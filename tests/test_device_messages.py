"""Device and precision errors read right for Python callers and CLI users alike: one line that names the value
as ``load_restorer`` takes it and the CLI option, and says what to do next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import invoke_command
from weatherclean.devices import resolve_device
from weatherclean.errors import WeathercleanError
from weatherclean.restore.precision import resolve_precision


def _no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _message(call: object, *args: object) -> str:
    with pytest.raises(WeathercleanError) as caught:
        call(*args)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_cuda_names_the_argument_and_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cuda(monkeypatch)
    message = _message(resolve_device, "cuda")
    assert message.startswith("device 'cuda': CUDA is not available")
    assert "use device='cpu' (--device cpu)" in message
    assert not message.startswith("--device")  # a Python caller never typed an option


def test_a_cuda_index_past_the_last_gpu_says_which_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    message = _message(resolve_device, "cuda:5")
    assert message.startswith("device 'cuda:5': only 2 CUDA device(s) found")
    assert "device='cuda' (--device cuda)" in message and "index below 2" in message


def test_missing_mps_names_the_argument_and_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    message = _message(resolve_device, "mps")
    assert message.startswith("device 'mps': Apple MPS is not available")
    assert "use device='cpu' (--device cpu)" in message


def test_refused_precision_names_the_argument_and_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "0")
    for name, why in (("bf16", "turned off by WEATHERCLEAN_CPU_BF16=0"), ("fp16", "fp16 is slower than fp32")):
        message = _message(resolve_precision, name, torch.device("cpu"))
        assert message.startswith(f"precision '{name}': ") and why in message
        assert message.endswith("use precision='fp32' or 'auto' (--precision fp32 or auto)")


def test_load_restorer_reports_the_device_as_the_caller_passed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean import load_restorer

    _no_cuda(monkeypatch)
    with pytest.raises(WeathercleanError, match=r"^device 'cuda': .*use device='cpu' \(--device cpu\)"):
        load_restorer("snow", device="cuda")
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "0")
    with pytest.raises(WeathercleanError, match=r"^precision 'fp16': .*use precision='fp32' or 'auto'"):
        load_restorer("snow", device="cpu", precision="fp16")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--device", "cuda"], "error: device 'cuda': CUDA is not available"),
        (["--device", "cpu", "--precision", "fp16"], "error: precision 'fp16': fp16 is slower than fp32"),
    ],
)
def test_the_cli_prints_the_same_one_line_with_the_option_to_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], expected: str
) -> None:
    from weatherclean.cli import desnow

    _no_cuda(monkeypatch)
    photo = tmp_path / "a.jpg"
    Image.fromarray(np.full((40, 56, 3), 128, np.uint8)).save(photo)
    code, _, stderr = invoke_command(desnow, "desnow", str(photo), *options)
    assert code == 2 and stderr.count("\n") == 1
    assert " ".join(stderr.split()).startswith(expected)
    assert "(--device cpu)" in stderr or "(--precision fp32 or auto)" in stderr
    assert not (tmp_path / "a_desnowed.jpg").exists()


def test_a_torch_device_gets_the_checks_and_the_one_line_of_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_restorer`` skipped the checks for a ``torch.device``: ``torch.device("cuda")`` on a CPU-only build
    failed with an AssertionError deep in ``Module.to``, ``"mps"`` with a RuntimeError, and ``"meta"`` was taken
    and failed with NotImplementedError at the first picture."""
    from weatherclean import load_restorer

    _no_cuda(monkeypatch)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    for name in ("cuda", "cuda:1", "mps"):
        assert _message(resolve_device, torch.device(name)) == _message(resolve_device, name)
        with pytest.raises(WeathercleanError, match=rf"^device '{name}': .*use device='cpu' \(--device cpu\)"):
            load_restorer("snow", device=torch.device(name))
    for meta in ("meta", torch.device("meta")):  # PyTorch knows it; nothing here runs on it
        message = _message(load_restorer, "snow", "default", meta)
        assert message == (
            "device 'meta': weatherclean runs on cpu, cuda or mps, not meta; use device='cpu' (--device cpu)"
        )
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(TypeError, match=r"^device must be a str .* or a torch\.device, got 5$"):
        resolve_device(5)  # type: ignore[arg-type]  # torch.device(5) would have been cuda:5
