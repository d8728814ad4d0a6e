"""What ``--json`` and the summary say about each file, as scripts read them.

- A failure's ``reason`` does not repeat the path its ``path`` field gives (the reader's error names the
  file, as it must when raised alone); the error line on stderr names it once.
- Run from the file system's root (cron, containers), paths are shown as given (``/tmp/a.jpg``), not as
  ``tmp/a.jpg``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch.jobs import Record
from weatherclean.cli import desnow
from weatherclean.io.folders import display


def _folder(root: Path) -> Path:
    root.mkdir(parents=True)
    Image.new("RGB", (40, 32), (120, 130, 140)).save(root / "a.jpg")
    (root / "b.jpg").write_bytes(b"not a jpeg")
    return root


def test_a_failures_reason_does_not_repeat_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _folder(tmp_path / "in")
    code, stdout, stderr = invoke_command(desnow, "desnow", "in", "--json", "--device", "cpu", models=StandIn(Inverter))
    assert code == 1
    (failed,) = json.loads(stdout)["failed"]
    assert failed["path"] == str(Path("in/b.jpg"))
    assert failed["reason"].startswith("not an image"), failed
    assert stderr.count("b.jpg") == 1, stderr


def test_paths_run_from_the_root_keep_their_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _folder(tmp_path / "in")
    monkeypatch.chdir("/")
    code, stdout, _ = invoke_command(
        desnow, "desnow", str(photos), "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    assert code == 1
    data = json.loads(stdout)
    assert data["failed"][0]["path"] == str(photos / "b.jpg")
    assert display(photos / "a.jpg") == photos / "a.jpg"


def test_why_strips_only_the_records_own_file() -> None:
    assert Record(Path("x/b.jpg"), "in/b.jpg: not an image").why == "not an image"
    assert Record(Path("x/b.jpg"), "c.jpg: not an image").why == "c.jpg: not an image"
    assert Record(Path("b.jpg"), "no colon here").why == "no colon here"
