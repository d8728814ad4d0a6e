"""Resuming training reads ``OUTPUT/checkpoint.pt`` with ``weights_only=True``: a run folder from someone
else can hold a checkpoint that names code to run, and that file must be an error, never code."""

from __future__ import annotations

import pathlib
from pathlib import Path
from typing import Any

import pytest
import torch

from weatherclean.errors import WeathercleanError
from weatherclean.training.trainer import CHECKPOINT_NAME, TrainConfig, train


class _RunsCode:
    """Unpickled without restriction, this touches a file: a stand-in for any code an attacker names."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (self.marker,))


class _NeverRuns:
    """A task the refused checkpoint stops before: training must not start."""

    def build_dataset(self) -> Any:
        raise AssertionError("training started")

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        raise AssertionError("training started")


def _resume(folder: Path) -> None:
    train(torch.nn.Linear(2, 2), _NeverRuns(), TrainConfig(output=str(folder), steps=4, device="cpu", progress=False))


def test_a_checkpoint_that_names_code_is_refused_and_the_code_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    run = tmp_path / "run"
    run.mkdir()
    model = torch.nn.Linear(2, 2)
    torch.save({"model": model.state_dict(), "step": 1, "evil": _RunsCode(marker)}, run / CHECKPOINT_NAME)
    with pytest.raises(WeathercleanError, match="could run code") as caught:
        _resume(run)
    assert not marker.exists() and "--no-resume" in str(caught.value) and "\n" not in str(caught.value)


def _corrupted_pickle() -> bytes:
    """A real checkpoint with one byte of its pickle changed into an opcode that does not exist, as a bad
    disk or copy does: PyTorch wraps this in the same "Weights only load failed" text as a refusal."""
    import io
    import struct
    import zipfile

    buffer = io.BytesIO()
    torch.save({"model": torch.nn.Linear(2, 2).state_dict(), "step": 1}, buffer)
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        entry = next(i for i in archive.infolist() if i.filename.endswith("data.pkl"))
    name_len, extra_len = struct.unpack("<HH", data[entry.header_offset + 26 : entry.header_offset + 30])
    start = entry.header_offset + 30 + name_len + extra_len  # the pickle itself: stored, not compressed
    data[start + 2] = 0xFE
    return bytes(data)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a checkpoint at all", "damaged"),
        (_corrupted_pickle, "damaged"),
        (None, "not a weatherclean training checkpoint"),
    ],
)
def test_damaged_or_foreign_checkpoints_are_one_line_errors(tmp_path: Path, content: Any, words: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    if content is None:
        torch.save({"weights": torch.zeros(2)}, run / CHECKPOINT_NAME)  # loadable, but not ours
    else:
        (run / CHECKPOINT_NAME).write_bytes(content() if callable(content) else content)
    with pytest.raises(WeathercleanError, match=words) as caught:
        _resume(run)
    assert "could run code" not in str(caught.value) and "\n" not in str(caught.value)
