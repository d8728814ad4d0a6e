"""``--dry-run`` knows a photo over the decompression-bomb limit, as the run does, from its header alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tests.synthetic import Inverter, StandIn, invoke_command


def _photos(folder: Path) -> Path:
    folder.mkdir()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(folder / "big.jpg")
    Image.new("RGB", (40, 40), (90, 90, 90)).save(folder / "small.jpg")
    return folder


def test_a_dry_run_fails_a_photo_over_the_limit_as_the_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.cli import desnow
    from weatherclean.io.images import opener

    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "0.01")
    photos = _photos(tmp_path / "in")
    code, out, err = invoke_command(desnow, "desnow", str(photos), "-o", str(tmp_path / "out"), "--dry-run")
    assert code == 1, out + err
    assert "0.04 megapixels, over the 0.01 MP safety limit" in out + err
    assert "small.jpg" in out and not (tmp_path / "out").exists()
    code, out, err = invoke_command(
        desnow, "desnow", str(photos), "-o", str(tmp_path / "out"), models=StandIn(Inverter)
    )
    assert code == 1 and (tmp_path / "out" / "small.jpg").exists() and not (tmp_path / "out" / "big.jpg").exists()


def test_limit_refusal_reads_no_pixels_and_is_none_under_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.io.images import opener

    photos = _photos(tmp_path / "in")
    assert opener.limit_refusal(photos / "big.jpg") is None
    assert opener.limit_refusal(tmp_path / "missing.jpg") is None  # the run says why, in its own words
    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "0.01")
    refused = opener.limit_refusal(photos / "big.jpg") or ""
    assert "big.jpg: image is" in refused and "0.04 megapixels" in refused


def test_a_limit_that_is_no_number_stops_the_run_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It failed every photo one by one (exit 1, one line each), where a bad setting is the command's error."""
    from weatherclean.cli import desnow
    from weatherclean.io.images import opener

    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "abc")
    photos = _photos(tmp_path / "in")
    code, _, err = invoke_command(desnow, "desnow", str(photos), "-o", str(tmp_path / "out"), models=StandIn(Inverter))
    assert code == 2 and err.count("give a number of megapixels") == 1, err
    assert not (tmp_path / "out").exists()
