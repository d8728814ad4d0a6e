"""What a photographer running desnow over a large NAS library found: a folder the run may not list was
passed over without a word (exit 0), a folder listed but not entered (``chmod -R 644``) ended the batch in a
traceback, and a photo named with 241-255 bytes could never be written (its temporary name was too long).
This machine's tests run as root, which ignores permissions, so the refusals are made by patching."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import invoke_command
from weatherclean.cli import desnow


def _photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(path)


def _refuse_listing(monkeypatch: pytest.MonkeyPatch, ending: str) -> None:
    """Listing a folder whose path ends with ``ending`` is refused, as for a user without read permission."""
    scandir = os.scandir

    def refuse(path: object = ".") -> object:
        if os.fspath(path).endswith(ending):  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[call-overload]
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refuse)


def test_a_folder_that_cannot_be_listed_fails_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photo(tmp_path / "lib" / "ok" / "a.jpg")
    _photo(tmp_path / "lib" / "locked" / "b.jpg")
    _refuse_listing(monkeypatch, "locked")
    code, stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "lib"), "-o", str(tmp_path / "out"))
    assert code == 1 and "1 done" in stdout and "1 failed" in stdout
    assert "locked: permission denied; this folder's files cannot be listed (check its permissions)" in stderr


def test_a_folder_listed_but_not_entered_fails_its_files_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photo(tmp_path / "lib" / "a.jpg")
    _photo(tmp_path / "lib" / "noexec" / "c.jpg")
    _photo(tmp_path / "lib" / "noexec" / "sub" / "e.jpg")  # chmod -R 644 reaches sub-folders too
    lstat, stat = Path.lstat, Path.stat

    def refuse_lstat(self: Path) -> os.stat_result:
        if self.parent.name == "noexec" and self.parent.parent.name == "lib":
            raise PermissionError(13, "Permission denied", str(self))
        return lstat(self)

    def refuse_stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.parent.name == "noexec" and self.parent.parent.name == "lib":
            raise PermissionError(13, "Permission denied", str(self))
        return stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "lstat", refuse_lstat)
    monkeypatch.setattr(Path, "stat", refuse_stat)
    _refuse_listing(monkeypatch, os.path.join("noexec", "sub"))  # the sub-folder cannot be entered, so not listed
    code, stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "lib"), "-o", str(tmp_path / "out"))
    assert code == 1 and "1 done" in stdout, stderr
    assert "c.jpg: permission denied (check the permissions of the file and its folder)" in stderr
    assert "sub: permission denied; this folder's files cannot be listed" in stderr
    assert "Traceback" not in stderr


def test_a_folder_named_like_a_photo_that_cannot_be_listed_fails_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It also failed as "a folder, not an image file; it holds no files", which it may well not be."""
    _photo(tmp_path / "lib" / "a.jpg")
    _photo(tmp_path / "lib" / "x.jpg" / "b.jpg")
    _refuse_listing(monkeypatch, "x.jpg")
    code, stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "lib"), "-o", str(tmp_path / "out"))
    assert code == 1 and "1 failed" in stdout and "holds no files" not in stderr, stderr


def test_a_photo_with_a_name_of_255_bytes_is_written(tmp_path: Path) -> None:
    name = "雪" * 83 + ".jpg"  # 253 bytes
    _photo(tmp_path / "lib" / name)
    code, stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "lib"), "-o", str(tmp_path / "out"))
    assert code == 0, stderr
    assert (tmp_path / "out" / name).is_file() and not [p for p in (tmp_path / "out").iterdir() if p.name != name]


def test_an_output_folder_under_a_folder_that_cannot_be_searched_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-o locked/o`` under a folder without search permission ended in a traceback: ``Path.exists`` raises
    there (Python 3.11). The check walks up to ``locked`` instead, whose write probe says why (as root, which
    the tests run as, the probe passes: what matters is that nothing raises)."""
    from weatherclean.io.folders import check_writable_folders

    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).startswith(str(locked) + os.sep):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
    check_writable_folders([locked / "o"], given=locked / "o")
