"""A photo named with a leading ``-`` is taken for options; the error says how to name it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner


def test_a_file_named_like_an_option_gets_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import app

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (32, 32), (80, 80, 80)).save("-lead.jpg")
    result = CliRunner().invoke(app, ["desnow", "-lead.jpg", "-o", "out"])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: No such option: -l; to name the file -lead.jpg, write ./-lead.jpg or put -- before the file names; "
        "see 'weatherclean desnow --help'"
    ], result.stderr
    result = CliRunner().invoke(app, ["desnow", "-x", "-o", "out"])
    assert result.exit_code == 2 and "to name the file" not in result.stderr  # no such file: Click's words alone
