"""A multi-user lab tester's findings, one test (or a few) each.

2. A lock folder another user made (``mkdir -m 0777 /tmp/weatherclean-UID``) switched the victim's ``--in-place``
   locking off for good, silently: the run now says so once, on stderr (``--json``: in its notes).
3. A failed write named the input, not the output: :attr:`Record.why` stripped any leading path with the input's
   file name, the output's too.
5. ``evaluate --report F --overwrite`` computed every score, then failed to write F, another user's file in a
   sticky folder: refused before any work.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch.jobs import Record
from weatherclean.cli import desnow
from weatherclean.errors import OutputError

# --- 2. a lock folder not one's own: the run says it is not locked --------------------------------------------------


@pytest.fixture
def taken_lock_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lock folders under this test's own folder, with ``weatherclean-UID`` already there and another user's: the
    folder is this test's, and the uid the run goes by is another (``os.geteuid`` patched)."""
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir(mode=0o700)
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    other = os.getuid() + 4242
    monkeypatch.setattr(os, "geteuid", lambda: other)
    taken = parent / f"weatherclean-{other}"
    taken.mkdir()
    taken.chmod(0o777)
    return taken


def _photos(folder: Path) -> Path:
    folder.mkdir()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / "a.png")
    return folder


def test_a_lock_folder_of_another_user_is_said_to_switch_locking_off(tmp_path: Path, taken_lock_folder: Path) -> None:
    from weatherclean.batch.locks import inputs_locked

    with inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None and unlocked.path == taken_lock_folder
        assert "is not yours (owned by" in unlocked.why and "mode 0777" in unlocked.why
        assert "not locked" in unlocked.why and "remove it" in unlocked.why


def test_the_cli_says_so_once_on_stderr_and_in_json(tmp_path: Path, taken_lock_folder: Path) -> None:
    photos = _photos(tmp_path / "in")
    args = ("--in-place", "--device", "cpu")
    code, _, err = invoke_command(desnow, "desnow", str(photos), *args, models=StandIn(Inverter))
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:") and "not locked" in line]
    assert len(notes) == 1 and str(taken_lock_folder) in notes[0], err
    code, out, err = invoke_command(desnow, "desnow", str(photos), *args, "--json", models=StandIn(Inverter))
    assert code == 0, err
    notes = [n for n in json.loads(out)["notes"] if "not locked" in n["note"]]
    assert len(notes) == 1 and notes[0]["path"] == str(taken_lock_folder) and "not locked" not in err


def test_locking_off_for_a_tmp_open_to_all_is_said_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent open to all without the sticky bit (a Kubernetes emptyDir) holds no lock folder either: said
    in a note too (it was silent), and a working lock says nothing."""
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir()
    parent.chmod(0o777)  # open to all, no sticky bit: no lock folder, and no folder of another's to remove
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    monkeypatch.delenv("TMPDIR", raising=False)
    with locks.inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None and "without the sticky bit" in unlocked.why, unlocked
    parent.chmod(0o700)
    with locks.inputs_locked([str(tmp_path)]) as unlocked:  # a working lock: nothing to say
        assert unlocked is None


# --- 3. a failed write names the output -----------------------------------------------------------------------------


def test_why_keeps_the_outputs_path_of_the_same_name() -> None:
    record = Record(Path("a/x.jpg"), "out/x.jpg: cannot write (Operation not permitted)")
    assert record.why == "out/x.jpg: cannot write (Operation not permitted)"


def test_why_still_strips_the_inputs_own_path_however_spelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Record(Path("a/x.jpg"), "a/x.jpg: not an image").why == "not an image"
    assert Record(Path("a/x.jpg"), "./a/x.jpg: not an image").why == "not an image"
    assert Record(Path("a/x.jpg"), f"{tmp_path / 'a' / 'x.jpg'}: not an image").why == "not an image"
    assert Record(Path("a/x.jpg"), "x.jpg: not an image").why == "x.jpg: not an image"


# --- 5. evaluate --report over a file that cannot be replaced --------------------------------------------------------


def test_a_report_of_another_user_in_a_sticky_folder_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.evaluation.evaluate import check_report_path

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    report = shared / "scores.csv"
    report.write_text("old\n")
    assert check_report_path(report) == report  # one's own: replaced as asked
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 4242)  # another user, not root, not the folder's owner
    with pytest.raises(OutputError, match=r"scores\.csv: cannot be replaced \(it belongs to .*sticky folder"):
        check_report_path(report)
    shared.chmod(stat.S_IRWXU)  # not sticky: anyone who may write the folder may replace it
    assert check_report_path(report) == report


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes any folder")
def test_a_report_in_a_folder_one_cannot_write_is_refused(tmp_path: Path) -> None:
    from weatherclean.evaluation.evaluate import check_report_path

    folder = tmp_path / "ro"
    folder.mkdir()
    report = folder / "scores.json"
    report.write_text("{}\n")
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"scores\.json: cannot be replaced \(its folder .* is not writable"):
            check_report_path(report)
    finally:
        folder.chmod(0o755)
