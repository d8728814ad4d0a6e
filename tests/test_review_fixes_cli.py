"""Review fixes in the commands: ``-o NAME.jpg/`` with a trailing slash asks for a folder and is taken as
one; ``compare`` checks its inputs once (in ``pair_files``), still before its output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import invoke_command
from weatherclean.batch.outputs import check_output_folder
from weatherclean.cli import app, desnow
from weatherclean.errors import InputError
from weatherclean.io import compare as pictures


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)).save(path)
    return path


# -- 3. -o NAME.jpg/ ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["newdir.jpg/", f"newdir.mp4{os.sep}"])
def test_a_trailing_separator_asks_for_a_folder(tmp_path: Path, given: str) -> None:
    """``Path()`` drops the slash, so the check must see the string as given; without one it still refuses."""
    check_output_folder(f"{tmp_path}{os.sep}{given}")
    with pytest.raises(InputError, match="names an output folder, not a file"):
        check_output_folder(f"{tmp_path}{os.sep}{given.rstrip('/' + os.sep)}")
    with pytest.raises(InputError):
        check_output_folder(Path(f"{tmp_path}{os.sep}{given}"))  # a Path has lost the slash: nothing shows it


def test_desnow_takes_o_with_a_trailing_slash_as_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``weatherclean desnow a.jpg -o newdir.jpg/ --dry-run`` exited 2 with "-o names an output folder, not
    a file". Needs the CLI to pass -o on as the string typed (``str | None`` in cli/batch.py output_option)."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("a.jpg"))
    code, stdout, stderr = invoke_command(desnow, "desnow", "a.jpg", "-o", "newdir.jpg/", "--dry-run", "--json")
    assert code == 0, stderr
    outputs = [Path(job["output"]) for job in json.loads(stdout)["jobs"]]
    assert outputs == [Path("newdir.jpg/a.jpg")], stdout


# -- 4. compare checks its inputs once -------------------------------------------------------------------------------


def test_compare_checks_its_pair_once_and_still_before_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, Path]] = []
    real = pictures.check_pair

    def counted(before: Path, after: Path) -> None:
        calls.append((before, after))
        real(before, after)

    monkeypatch.setattr(pictures, "check_pair", counted)
    before, after = _photo(tmp_path / "in" / "a.jpg").parent, _photo(tmp_path / "out" / "a.jpg").parent
    sheet = tmp_path / "s.jpg"
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    assert calls == [(before, after)]
    calls.clear()
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "nothere"), str(after), "-o", str(sheet)])
    assert result.exit_code == 2 and "nothere: file or folder not found" in result.stderr  # not "s.jpg: exists"
    assert len(calls) == 1


def test_pair_files_keeps_its_own_check_for_api_callers(tmp_path: Path) -> None:
    _photo(tmp_path / "a.jpg")
    with pytest.raises(InputError, match="file or folder not found"):
        pictures.pair_files(tmp_path / "missing", tmp_path)
    with pytest.raises(InputError, match="give two folders, or two files"):
        pictures.pair_files(tmp_path / "a.jpg", tmp_path)
