"""Every exit code the help documents, through the real ``weatherclean`` app: 0, 1, 2 and 130.

0: every file done or skipped; 1: the command ran and some file failed; 2: nothing could run (a bad
option, no input that exists, a missing model, an output folder that cannot be written); 130: Ctrl-C.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import StandIn
from weatherclean.cli import app


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def _run(*args: str, models: StandIn | None = None) -> tuple[int, str]:
    """The real app on ``args``, its models from ``models`` (an inverter by default; see StandIn)."""
    result = CliRunner().invoke(app, list(args), obj=models or StandIn(_Inverter))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def _photo(path: Path, height: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, 16, 3), 90, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("command", ["desnow", "derain"])
def test_the_help_states_the_codes(command: str) -> None:
    code, text = _run(command, "--help")
    flat = " ".join(text.split())
    assert code == 0 and "Exit code 0" in flat and "1 when any failed" in flat and "2 when nothing could run" in flat
    assert "130 when interrupted" in flat


def test_0_when_every_file_is_done_or_skipped(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.png")
    (tmp_path / "in" / "notes.txt").write_text("skipped, not failed")
    assert _run("desnow", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu", "-q")[0] == 0
    assert _run("desnow", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu", "-q")[0] == 0


def test_1_when_the_command_ran_and_a_file_failed(tmp_path: Path) -> None:
    _photo(tmp_path / "a.png")
    (tmp_path / "bad.png").write_text("not a picture")
    code, text = _run("desnow", str(tmp_path / "a.png"), str(tmp_path / "bad.png"), "--device", "cpu", "-q")
    assert code == 1 and "bad.png" in text and (tmp_path / "desnowed" / "a.png").is_file()
    code, text = _run("desnow", str(tmp_path / "a.png"), str(tmp_path / "gone.png"), "--device", "cpu", "-q",
                      "--overwrite")  # fmt: skip
    assert code == 1 and "gone.png" in text and "not found" in text  # missing beside one that ran


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["desnow", "{tmp}/gone.jpg"], "gone.jpg: file or folder not found"),
        (["derain", "{tmp}/gone.mp4", "{tmp}/also_gone"], "none of the 2 inputs"),
        (["derain", "{tmp}/gone", "--frames"], "gone: file or folder not found"),
        (["desnow", "{tmp}/*.jpg"], "no files match"),
        (["desnow", "{tmp}/a.png", "--tile", "10"], "--tile"),
        (["desnow", "{tmp}/a.png", "--no-such-option"], "--no-such-option"),
        (["desnow"], "Missing argument"),
        (["desnow", "{tmp}/a.png", "--model", "no-such-model"], "no-such-model"),
        (["desnow", "{tmp}/a.png", "-o", "{tmp}/a.png/out"], "is a file"),
    ],
)
def test_2_when_nothing_could_run(tmp_path: Path, args: list[str], words: str) -> None:
    _photo(tmp_path / "a.png")
    before = sorted(tmp_path.rglob("*"))
    real_loader = "no-such-model" in args  # the registry knows no such model
    result = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args], obj=None if real_loader
                                else StandIn(_Inverter))  # fmt: skip
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    code, text = result.exit_code, result.stdout + result.stderr
    assert code == 2 and words in " ".join(text.split()), text
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_130_after_ctrl_c(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.png", height=12)
    _photo(tmp_path / "in" / "b.png", height=14)

    class _Interrupted(_Inverter):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2] == 14:  # photo b, however many calls a device makes per photo
                raise KeyboardInterrupt
            return super().restore(x)

    code, text = _run("desnow", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu",
                      models=StandIn(_Interrupted))  # fmt: skip
    assert code == 130 and re.search(r"1 done", text) and "rerun" in text


@pytest.mark.parametrize("command", ["desnow", "derain"])
def test_json_gets_an_error_object_when_nothing_could_run(tmp_path: Path, command: str) -> None:
    """A script that reads --json from stdout gets an answer, not nothing, when no input exists."""
    result = CliRunner().invoke(app, [command, str(tmp_path / "gone.jpg"), "--json"])
    answer = json.loads(result.stdout)
    assert result.exit_code == 2 and answer["ok"] is False and answer["exit_code"] == 2
    assert "gone.jpg: file or folder not found" in answer["error"] and "gone.jpg" in result.stderr
