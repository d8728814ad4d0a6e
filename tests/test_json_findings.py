"""What ``--json`` and the summary say about each file, as scripts read them.

- A failure's ``reason`` does not repeat the path its ``path`` field gives (the reader's error names the
  file, as it must when raised alone); the error line on stderr names it once.
- Run from the file system's root (cron, containers), paths are shown as given (``/tmp/a.jpg``), not as
  ``tmp/a.jpg``.
- ``--in-place`` over hard links of one photo counts, in its note, only the links outside the run; ``--compare``
  pictures show a photo as a viewer does; a name with a newline keeps its error line one line.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
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
    assert Record(Path("in/b.jpg"), "in/b.jpg: not an image").why == "not an image"
    # another file of the same name (an output: "out/b.jpg: cannot write") is named, not stripped
    assert Record(Path("x/b.jpg"), "in/b.jpg: not an image").why == "in/b.jpg: not an image"
    assert Record(Path("x/b.jpg"), "c.jpg: not an image").why == "c.jpg: not an image"
    assert Record(Path("b.jpg"), "no colon here").why == "no colon here"


def test_hard_links_replaced_in_the_same_run_are_not_said_to_show_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both links of one photo given to ``--in-place`` are both desnowed; only a link outside the run keeps the
    original picture, and the note counts that one alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "H" / "album").mkdir(parents=True)
    Image.new("RGB", (40, 32), (120, 130, 140)).save("H/a.jpg")
    for i in range(6):  # between the two links: the first is replaced before the second starts
        Image.new("RGB", (40, 32), (i * 30, 130, 140)).save(f"H/b{i}.jpg")
    os.link("H/a.jpg", "H/album/a_hard.jpg")
    os.link("H/a.jpg", "elsewhere.jpg")
    os.link("H/a.jpg", "elsewhere2.jpg")
    code, stdout, _ = invoke_command(
        desnow, "desnow", "H", "--in-place", "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    assert code == 0
    notes = [n["note"] for n in json.loads(stdout)["notes"] if "hard link" in n["note"]]
    assert notes == ["had 2 other hard link(s); they still show the original picture"] * 2, notes


def test_compare_pictures_show_the_photo_through_its_profile_and_over_white(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``desnow --compare`` shows a transparent area as white, as the ``compare`` command's sheets and a viewer do,
    not the colour hidden under it."""
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    pixels = np.zeros((32, 64, 4), np.uint8)
    pixels[..., 0] = 200  # red everywhere, but the right half fully transparent
    pixels[:, :32, 3] = 255
    Image.fromarray(pixels, "RGBA").save("in/a.png")
    code, _, stderr = invoke_command(
        desnow, "desnow", "in", "-o", "out", "--compare", "--device", "cpu", models=StandIn(Inverter)
    )
    assert code == 0, stderr
    sheet = np.asarray(Image.open("out/a.png.compare.jpg").convert("RGB")).astype(int)
    before = sheet[:, : sheet.shape[1] // 2]  # the "before" half of the side by side
    right = before[4:-4, before.shape[1] * 3 // 4 - 2 : before.shape[1] * 3 // 4 + 2]
    assert right.min() > 235, right.mean(axis=(0, 1))  # white, not the red (or black) under the transparency


def test_a_name_with_a_newline_stays_on_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    Path("in/new\nline.jpg").write_bytes(b"not a jpeg")
    code, _, stderr = invoke_command(desnow, "desnow", "in", "--device", "cpu", models=StandIn(Inverter))
    assert code == 1
    (line,) = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: $'in/new\\nline.jpg': not an image"), line


def test_quiet_still_says_an_output_is_older_than_its_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A master edited after its output was written is not redone without ``--update``: ``--quiet`` (cron) must
    still say so, where it leaves out the other skips."""
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    Image.new("RGB", (40, 32), (120, 130, 140)).save("in/a.jpg")
    Image.new("RGB", (40, 32), (120, 130, 140)).save("in/b.jpg")
    args = ("desnow", "in", "-o", "out", "-q", "--device", "cpu")
    assert invoke_command(desnow, *args, models=StandIn(Inverter))[0] == 0
    later = os.stat("out/a.jpg").st_mtime + 60
    os.utime("in/a.jpg", (later, later))
    code, _, stderr = invoke_command(desnow, *args, models=StandIn(Inverter))
    assert code == 0
    assert [line.split(":", 2)[:2] for line in stderr.splitlines()] == [["skip", " in/a.jpg"]], stderr
    assert "older than its input" in stderr and "b.jpg" not in stderr
    code, _, stderr = invoke_command(desnow, *args, "--dry-run", models=StandIn(Inverter))  # a quiet dry run too
    assert code == 0 and "skip: in/a.jpg: output exists but is older than its input" in stderr, stderr


def test_in_place_keeps_a_jpegs_own_quality_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A q100 master replaced in place was re-encoded at 95 for good, with only a note; ``--in-place`` now keeps
    its quantisation tables, and ``--quality 95`` still asks for 95."""
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save("in/a.jpg", quality=100)
    tables = Image.open("in/a.jpg").quantization
    code, _, stderr = invoke_command(desnow, "desnow", "in", "--in-place", "--device", "cpu", models=StandIn(Inverter))
    assert code == 0 and "coarser" not in stderr, stderr
    assert Image.open("in/a.jpg").quantization == tables
    code, stdout, _ = invoke_command(
        desnow, "desnow", "in", "--in-place", "--quality", "95", "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    assert code == 0 and "coarser than the input" in stdout
    assert Image.open("in/a.jpg").quantization != tables


def test_a_dry_run_in_place_fails_what_the_run_would_refuse_to_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archivist checks ``--in-place`` with ``--dry-run`` first: a multi-page TIFF, a CMYK JPEG and a palette
    PNG were listed as jobs with exit code 0, and the run then refused all three."""
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    pages = [Image.new("RGB", (32, 24), (i * 60, 90, 120)) for i in range(3)]
    pages[0].save("in/pages.tif", save_all=True, append_images=pages[1:])
    Image.new("CMYK", (32, 24), (10, 20, 30, 40)).save("in/cmyk.jpg")
    Image.new("P", (32, 24), 3).save("in/palette.png")
    Image.new("RGB", (32, 24), (120, 130, 140)).save("in/plain.png")
    before = {p.name: p.read_bytes() for p in Path("in").iterdir()}
    code, stdout, _ = invoke_command(
        desnow, "desnow", "in", "--in-place", "--dry-run", "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    data = json.loads(stdout)
    assert code == 1 and data["exit_code"] == 1
    failed = {Path(f["path"]).name: f["reason"] for f in data["failed"]}
    assert sorted(failed) == ["cmyk.jpg", "pages.tif", "palette.png"]
    assert all(reason.startswith("--in-place would lose") for reason in failed.values())
    assert [Path(j["input"]).name for j in data["jobs"]] == ["plain.png"]
    assert {p.name: p.read_bytes() for p in Path("in").iterdir()} == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_at_an_outputs_path_fails_at_planning_not_skipped_as_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was skipped as "output exists" without ``--overwrite``, and the advice to pass ``--overwrite`` then
    failed: it fails at once, and is never replaced."""
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    Path("out").mkdir()
    Image.new("RGB", (40, 32), (120, 130, 140)).save("in/a.png")
    Image.new("RGB", (40, 32), (120, 130, 140)).save("in/b.png")
    os.mkfifo("out/a.png")
    for extra in ([], ["--overwrite"]):
        code, stdout, _ = invoke_command(
            desnow, "desnow", "in", "-o", "out", "--json", *extra, "--device", "cpu", models=StandIn(Inverter)
        )
        data = json.loads(stdout)
        assert code == 1, data
        assert [Path(f["path"]).name for f in data["failed"]] == ["a.png"], (extra, data)
        assert "not a regular file (a FIFO)" in data["failed"][0]["reason"]
    assert Path("out/a.png").is_fifo()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a link away")
@pytest.mark.parametrize("where", ["-o", "beside"])
def test_another_users_link_at_the_output_folder_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """``-o /tmp/job42`` with ``/tmp/job42 -> /etc`` planted by another user: the folder was resolved with
    ``realpath`` when planned, so no later check saw the link, and root's run wrote into its target."""
    monkeypatch.chdir(tmp_path)
    shared, victim = Path("shared"), Path("victim")
    shared.mkdir()
    shared.chmod(0o1777)
    victim.mkdir()
    (victim / "a.png").write_bytes(b"precious")
    photos = shared / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 32), (120, 130, 140)).save(photos / "a.png")
    link = shared / ("job42" if where == "-o" else "photos_desnowed")
    link.symlink_to(victim.resolve())
    os.lchown(link, 65534, 65534)
    args = ["-o", str(link), "--overwrite"] if where == "-o" else ["--overwrite"]
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), *args, "--device", "cpu", models=StandIn(Inverter))
    assert code == 2, stderr
    assert "symbolic link owned by another user" in stderr and stderr.count("\n") == 1, stderr
    assert sorted(p.name for p in victim.iterdir()) == ["a.png"] and (victim / "a.png").read_bytes() == b"precious"


def test_a_path_through_a_file_is_not_a_folder(tmp_path: Path) -> None:
    """``notes.txt/../out.bin`` was written as ``out.bin``; the kernel answers "not a directory"."""
    from weatherclean.errors import OutputError
    from weatherclean.io.atomic import atomic_write

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="Not a directory"):
        atomic_write(tmp_path / "notes.txt" / ".." / "out.bin", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_leftovers_are_found_with_one_scan_of_a_folder_for_many_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write scanned its whole folder for a killed run's ``.NAME.*.part``: quadratic in the folder's size."""
    from weatherclean.io import atomic, leftovers

    old = time.time() - 2 * leftovers.STALE_SECONDS
    for name in ("a.png", "b.png"):
        left = tmp_path / f".{name}.x1y2z3w4.part"
        left.write_bytes(b"half")
        os.utime(left, (old, old))
    scans: list[str] = []
    real_scandir = os.scandir
    monkeypatch.setattr(atomic.os, "scandir", lambda path: scans.append(str(path)) or real_scandir(path))
    for i in range(20):
        atomic.atomic_write(tmp_path / f"p{i}.png", b"x")
    atomic.atomic_write(tmp_path / "a.png", b"x")
    atomic.atomic_write(tmp_path / "b.png", b"x")
    assert scans.count(str(tmp_path)) == 1, scans
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # one too young to remove stays in the index, and goes once it is due, without a new scan
    young = tmp_path / ".c.png.x1y2z3w4.part"
    young.write_bytes(b"half")
    monkeypatch.setitem(leftovers._LEFTOVERS, tmp_path, (time.time(), {"c.png": [str(young)]}))
    atomic.atomic_write(tmp_path / "c.png", b"x")
    assert young.exists()
    due = time.time() - 2 * leftovers.STALE_SECONDS
    os.utime(young, (due, due))
    atomic.atomic_write(tmp_path / "c.png", b"y")
    assert not young.exists() and scans.count(str(tmp_path)) == 1


def test_in_place_over_a_library_with_one_read_only_folder_does_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read-only album (an archive, another user's folder on a NAS) stopped the whole ``--in-place`` run before
    any work; its photos now fail with the reason, and the rest are done. None writable still stops it (exit 2)."""
    from weatherclean.io import folders as folders_module

    monkeypatch.chdir(tmp_path)
    for album in ("lib/ok", "lib/ro"):
        Path(album).mkdir(parents=True)
        Image.new("RGB", (40, 32), (120, 130, 140)).save(f"{album}/a.png")
    before = Path("lib/ro/a.png").read_bytes()
    real_mkstemp = folders_module.tempfile.mkstemp
    refused = {str(Path("lib/ro").resolve())}

    def mkstemp(*args: object, dir: object = None, **kwargs: object) -> tuple[int, str]:
        if str(dir) in refused:
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(folders_module.tempfile, "mkstemp", mkstemp)
    code, stdout, _ = invoke_command(
        desnow, "desnow", "lib", "--in-place", "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    data = json.loads(stdout)
    assert code == 1, data
    assert [Path(d["input"]).as_posix() for d in data["done"]] == ["lib/ok/a.png"]
    assert [Path(f["path"]).as_posix() for f in data["failed"]] == ["lib/ro/a.png"]
    assert "permission denied" in data["failed"][0]["reason"].lower()
    assert Path("lib/ro/a.png").read_bytes() == before
    refused.add(str(Path("lib/ok").resolve()))
    code, _, stderr = invoke_command(desnow, "desnow", "lib", "--in-place", "--device", "cpu", models=StandIn(Inverter))
    assert code == 2 and stderr.count("\n") == 1, stderr


def test_a_card_workflow_protected_photos_raw_files_and_a_quiet_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ski photographer's card: a photo locked with the camera's Protect (``0444``) was replaced by ``--in-place``
    (a rename needs only the folder); a Pentax ``.PEF`` was "not an image or video file" where a ``.CR2`` was named
    raw; ``--dry-run -q`` printed the whole plan."""
    monkeypatch.chdir(tmp_path)
    Path("card").mkdir()
    for name in ("a.jpg", "locked.jpg"):
        Image.new("RGB", (40, 32), (120, 130, 140)).save(f"card/{name}")
    Path("card/IMG_1.PEF").write_bytes(b"raw")
    os.chmod("card/locked.jpg", 0o444)
    before = Path("card/locked.jpg").read_bytes()
    code, stdout, _ = invoke_command(desnow, "desnow", "card", "--in-place", "--dry-run", "-q", "--device", "cpu")
    assert code == 1 and stdout.strip().splitlines()[-1] == "dry run: 1 file(s) would be desnowed, 1 skipped, 1 failing"
    code, stdout, _ = invoke_command(
        desnow, "desnow", "card", "--in-place", "--json", "--device", "cpu", models=StandIn(Inverter)
    )
    data = json.loads(stdout)
    assert code == 1 and [Path(d["input"]).name for d in data["done"]] == ["a.jpg"]
    assert data["failed"][0]["reason"].startswith("read-only (write-protected) file, left as it is by --in-place")
    assert data["skipped"][0]["reason"].startswith("raw (PEF) images are not supported")
    assert Path("card/locked.jpg").read_bytes() == before
