"""A multi-user lab's findings: ``compare`` sheets and ``synth`` outputs of private photos were readable by all.

Each output must be no more open than the photos it shows or copies: a sheet takes the permissions all its
pictures share, and each file of a synth item its clean photo's, both less the umask (as ``cp`` gives them).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import synth_app
from weatherclean.cli import app
from weatherclean.io.permissions import common_mode


@pytest.fixture
def lab_umask() -> Iterator[None]:
    """A shared lab's umask (002: group-writable files), put back afterwards."""
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _photo(path: Path, mode: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    path.chmod(mode)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_sheet_is_no_more_open_than_its_most_private_picture(tmp_path: Path, lab_umask: None) -> None:
    _photo(tmp_path / "before" / "a.png", 0o600)
    _photo(tmp_path / "after" / "a.png", 0o644)
    _photo(tmp_path / "before" / "b.png", 0o644, seed=1)
    _photo(tmp_path / "after" / "b.png", 0o644, seed=1)
    sheet = tmp_path / "drop" / "sheet.compare.jpg"
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "before"), str(tmp_path / "after"), "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    assert _mode(sheet) == 0o600


def test_a_sheet_of_open_pictures_takes_their_bits_less_the_umask(tmp_path: Path, lab_umask: None) -> None:
    _photo(tmp_path / "before.png", 0o640)
    _photo(tmp_path / "after.png", 0o664)
    sheet = tmp_path / "sheet.compare.png"
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "before.png"), str(tmp_path / "after.png"),
                                      "-o", str(sheet)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _mode(sheet) == 0o640


def test_common_mode_is_the_and_of_its_sources(tmp_path: Path) -> None:
    a, b = _photo(tmp_path / "a.png", 0o640), _photo(tmp_path / "b.png", 0o604)
    assert common_mode([a, b]) == 0o600
    assert common_mode([a, tmp_path / "gone.png"]) == 0o600  # unreadable bits count as private
    assert common_mode([]) == 0o600


def test_synth_snow_items_take_their_clean_photos_permissions(tmp_path: Path, lab_umask: None) -> None:
    _photo(tmp_path / "priv" / "p.png", 0o600)
    _photo(tmp_path / "priv" / "g.png", 0o640, seed=1)
    out = tmp_path / "drop" / "x"
    result = CliRunner().invoke(synth_app(), ["synth", "snow", str(tmp_path / "priv"), str(out)])
    assert result.exit_code == 0, result.output
    for folder in ("synthetic", "gt", "mask", "aberration"):
        assert _mode(out / folder / "p.png") == 0o600, folder
        assert _mode(out / folder / "g.png") == 0o640, folder


def test_synth_rain_clips_take_their_clean_photos_permissions(tmp_path: Path, lab_umask: None) -> None:
    _photo(tmp_path / "priv" / "p.png", 0o600)
    out = tmp_path / "x"
    result = CliRunner().invoke(synth_app(), ["synth", "rain", str(tmp_path / "priv"), str(out), "--clips",
                                              "--frames", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    frames = sorted((out / "gt" / "p").iterdir())
    assert frames and all(_mode(frame) == 0o600 for frame in frames)
    assert _mode(next((out / "rain" / "p").iterdir())) == 0o600
