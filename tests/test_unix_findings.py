"""What a Unix power user found at the edges of file names and file types, each pinned: symbolic link loops, names
over 255 bytes, a photo named like a video, FIFOs and broken links known at planning, a file reached twice,
``--in-place`` on hard links, names with control characters or bytes that are not UTF-8, paths over PATH_MAX,
``-`` and ``/dev/stdin``, and a file named like a glob pattern."""

from __future__ import annotations

import inspect
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import weatherclean.batch.inputs as inputs_module
import weatherclean.batch.outputs as outputs_module
import weatherclean.batch.plan as plan_module
from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch.inputs import expand_inputs
from weatherclean.batch.jobs import STDIN
from weatherclean.batch.outputs import _beside
from weatherclean.batch.plan import plan_batch, plan_jobs
from weatherclean.cli import desnow
from weatherclean.errors import InputError
from weatherclean.io import folders, leftovers
from weatherclean.io.folders import check_input_file, printable, shown
from weatherclean.io.media import is_image_path


def _photo(path: Path, *, exif: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "Canon"
        extra["exif"] = tags
    Image.fromarray(pixels).save(path, "JPEG", **extra)
    return path


def _run(*args: str) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=StandIn(Inverter))


def _json(*args: str) -> tuple[int, dict, str]:
    code, stdout, stderr = _run(*args, "--json")
    return code, json.loads(stdout), stderr


def _failed(data: dict) -> dict[str, str]:
    return {f["path"]: f["reason"] for f in data["failed"]}


# -- 1. a symbolic link loop fails alone ---------------------------------------------------------------------------


def test_a_symbolic_link_loop_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("A/a.jpg"))
    os.symlink("self.jpg", "A/self.jpg")
    os.symlink("b2.jpg", "A/b1.jpg")
    os.symlink("b1.jpg", "A/b2.jpg")
    loops = {"A/self.jpg", "A/b1.jpg", "A/b2.jpg"}
    code, data, stderr = _json("A")
    assert code == 1 and data["counts"]["done"] == 1
    assert _failed(data) == dict.fromkeys(loops, "symbolic link loop")
    assert "error: A/self.jpg: symbolic link loop" in stderr
    for given in (["A/self.jpg", "A/a.jpg", "--overwrite"], ["A/*.jpg", "--dry-run"], ["A/*.jpg", "-o", "out"]):
        code, data, _ = _json(*given)
        assert code == 1 and set(_failed(data)) <= loops and _failed(data), given
    code, _, stderr = _run("A/a.jpg", "-o", "A/self.jpg/")  # an -o that is a loop itself: one line, exit 2
    assert code == 2 and "symbolic link loop" in stderr


# -- 2. names over the file system's limit -------------------------------------------------------------------------


def test_a_default_output_folder_name_too_long_stops_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = "L" * 255
    _photo(Path(name) / "a.jpg")
    for extra in ((), ("--dry-run",)):
        code, stdout, stderr = _run(name, *extra)
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1, stderr
        assert "would be 264 bytes, over the file system's 255-byte limit; use -o DIR" in lines[0]
    assert not any(p.name.endswith("_desnowed") for p in tmp_path.iterdir())


@pytest.mark.parametrize("existing", [True, False])
def test_an_output_name_too_long_fails_that_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    long = Path("W") / ("n" * 251 + ".jpg")
    _photo(long)
    _photo(Path("W/ok.jpg"))
    if existing:
        Path("out").mkdir()
    for extra in (("--dry-run",), ()):
        code, data, _ = _json("W", "--format", "webp", "-o", "out", *extra)
        assert code == 1
        assert _failed(data) == {
            str(long): "output name would be 256 bytes, over the file system's 255-byte limit; rename the input "
            "shorter, or leave out --format"
        }
    assert data["counts"]["done"] == 1 and Path("out/ok.webp").is_file()


# -- 3. a photo named like a video is done as a photo --------------------------------------------------------------


def test_a_photo_named_like_a_video_is_done_as_a_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("V/photo.mp4"), exif=True)
    before = Path("V/photo.mp4").read_bytes()
    code, data, stderr = _json("V/photo.mp4", "--in-place")
    assert code == 0, stderr
    assert data["notes"] == [
        {
            "path": "V/photo.mp4",
            "note": "named .mp4 but holds a JPEG image, not a video: done as a photo, written as JPEG under the same "
            "name",
        }
    ]
    after = Path("V/photo.mp4").read_bytes()
    assert after != before
    with Image.open("V/photo.mp4") as im:
        assert im.format == "JPEG" and im.getexif().get(0x010F) == "Canon"
    _photo(Path("V/p2.mp4"))
    code, data, _ = _json("V/p2.mp4", "--format", "webp", "--dry-run")
    assert code == 0 and data["jobs"][0]["output"] == "V/desnowed/p2.webp"


# -- 4. what stat() tells is known at planning ---------------------------------------------------------------------


def test_fifos_sockets_empty_files_and_broken_links_fail_at_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("F/ok.jpg"))
    os.mkfifo("F/f.jpg")
    Path("F/z.jpg").write_bytes(b"")
    os.symlink("nowhere.jpg", "F/d.jpg")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("F/s.jpg")
        expected = {
            "F/f.jpg": "not a regular file (a FIFO)",
            "F/s.jpg": "not a regular file (a socket)",
            "F/z.jpg": "empty file (0 bytes)",
            "F/d.jpg": "broken symbolic link to nowhere.jpg",
        }
        code, data, _ = _json("F", "--dry-run")
        assert code == 1 and data["exit_code"] == 1 and [j["input"] for j in data["jobs"]] == ["F/ok.jpg"]
        assert {path: why.split(";")[0] for path, why in _failed(data).items()} == expected
        code, run, _ = _json("F")
        assert code == 1 and run["counts"] == {"done": 1, "skipped": 0, "failed": 4, "not_done": 0}
        assert _failed(run) == _failed(data)  # the dry run and the run say the same
    with pytest.raises(InputError, match="broken symbolic link to nowhere.jpg"):
        check_input_file(Path("F/d.jpg"), "an image file")  # the readers' own look says it too


# -- 5. a file reached twice is listed once ------------------------------------------------------------------------


def test_a_nameless_file_given_and_inside_its_folder_is_listed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("X/scan"))
    _photo(Path("X/a.jpg"))
    code, data, _ = _json("X", "X/scan")
    assert code == 0 and data["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}


# -- 6. --in-place on hard links of one another --------------------------------------------------------------------


def test_in_place_jobs_know_their_hard_links_in_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("H/a.jpg"))
    Path("H/album").mkdir()
    os.link("H/a.jpg", "H/album/a_hard.jpg")
    _photo(Path("H/b.jpg"))
    os.link("H/b.jpg", "b_outside.jpg")  # a link the batch does not reach: it keeps the original
    links = {str(j.source): j.other_links for j in plan_jobs(["H"], in_place=True).jobs}
    assert links == {"H/a.jpg": 0, "H/album/a_hard.jpg": 0, "H/b.jpg": 1}


# -- 7. names that a terminal would not show as they are -----------------------------------------------------------


def test_names_with_control_characters_or_undecodable_bytes_are_shown_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = os.fsdecode(b"bad\xfe.jpg")
    assert shown(Path("N") / bad) == "$'N/bad\\xfe.jpg'"
    assert shown("new\nline's.jpg") == "$'new\\nline\\'s.jpg'"
    assert shown("plain name [1].jpg") == "plain name [1].jpg"
    assert printable(f"error: N/{bad}: new\nline") == "error: N/bad\\xfe.jpg: new\\nline"
    assert printable("C:\\photos\\a.jpg") == "C:\\photos\\a.jpg"
    monkeypatch.chdir(tmp_path)
    _photo(Path("in/a.jpg"))
    code, _, stderr = _run("in", "-o", "new\nname.jpg")  # a one-line error, however the name is made
    assert code == 2 and stderr.count("\n") == 1 and "new\\nname.jpg" in stderr


# -- 8. a path longer than the system takes ------------------------------------------------------------------------


def test_a_path_too_long_to_list_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deep").mkdir()
    monkeypatch.chdir("deep")
    for _ in range(22):  # 22 × 201 bytes: past the 4096 a system call takes
        os.mkdir("d" * 200)
        os.chdir("d" * 200)
    _photo(Path("x.jpg"))
    os.chdir(tmp_path)
    plan = plan_jobs(["deep"], check_writable=False)
    assert not plan.jobs and len(plan.failed) == 1
    reason = plan.failed[0].reason
    assert reason.startswith("path too long (") and "permissions" not in reason, reason


# -- 9. - and /dev/stdin --------------------------------------------------------------------------------------------


def test_standard_input_is_refused_in_words_that_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run("-")
    assert code == 2 and stderr.startswith("error: -: a pipe or open file descriptor (standard input")
    _photo(Path("a.jpg"))
    code, _, stderr = _run("a.jpg", "-o", "-")
    assert code == 2 and stderr.startswith("error: -o -: -o names an output folder") and not Path("-").exists()
    found = expand_inputs(["/dev/stdin", "/dev/fd/0"], accept=is_image_path, kind="an image file", tag="desnowed")
    assert [r.reason for r in found.failed] == [STDIN, STDIN] and not found.skipped
    Path("-").mkdir()  # a folder that is really named "-" keeps working, as ./- or -
    assert plan_batch(["a.jpg"], "-", tag="desnowed").jobs


# -- 10. a file named like a glob pattern --------------------------------------------------------------------------


def test_a_file_named_like_a_pattern_is_taken_literally_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("G/*.jpg"))
    _photo(Path("G/b.jpg"))
    code, data, _ = _json("G/*.jpg", "--dry-run")
    assert code == 0 and [j["input"] for j in data["jobs"]] == ["G/*.jpg"]
    assert any("taken as that one, not as a pattern" in note for note in data["notes"]), data["notes"]
    code, data, _ = _json("G/*.jpg", "G/b.jpg", "--dry-run")  # both given: nothing was left out, no note
    assert code == 0 and len(data["jobs"]) == 2 and not data["notes"]


# -- review 1: a name like a pattern, given among thousands, is checked without listing its folder each time --------


def test_names_like_patterns_given_by_the_shell_list_their_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    names = [f"B/IMG [1] {i:05d}.jpg" for i in range(40)]
    for name in names:
        Path(name).parent.mkdir(exist_ok=True)
        Path(name).write_bytes(b"x")
    calls: list[str] = []
    real_glob = inputs_module.glob.glob
    monkeypatch.setattr(inputs_module.glob, "glob", lambda *a, **k: calls.append(a[0]) or real_glob(*a, **k))
    plan = plan_jobs(names, check_writable=False)
    assert len(plan.jobs) == 40 and not plan.notes and not calls  # a glob per name listed the folder 40 times


def test_a_literal_pattern_name_is_compared_as_one_path_on_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    _photo(Path("G/*.jpg"))
    assert not plan_jobs(["~/G/*.jpg"], check_writable=False).notes  # it matches itself only, "such as home/G/*.jpg"
    _photo(Path("G/b.jpg"))
    assert not plan_jobs(["./G/*.jpg", "G/b.jpg"], check_writable=False).notes  # G/b.jpg was given
    assert not plan_jobs(["G/*.jpg", str(tmp_path / "G/b.jpg")], check_writable=False).notes
    notes = plan_jobs(["~/G/*.jpg"], check_writable=False).notes
    assert len(notes) == 1 and "(which would also match 1 other path(s), such as G/b.jpg)" in notes[0].reason


# -- review 2: an input emptied or a link broken after a complete run is still done, not a failure ------------------


def test_an_emptied_input_or_a_broken_link_after_a_complete_run_stays_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("in/a.jpg"))
    _photo(Path("in/b.jpg"))
    _photo(Path("nas/c.jpg"))
    os.symlink("../nas/c.jpg", "in/c.jpg")
    code, data, _ = _json("in")
    assert code == 0 and data["counts"]["done"] == 3
    Path("in/b.jpg").write_bytes(b"")  # ": > in/b.jpg"
    Path("nas/c.jpg").unlink()  # the NAS is not mounted
    code, data, stderr = _json("in")  # the nightly rerun: done already, as before
    assert code == 0 and data["counts"] == {"done": 0, "skipped": 3, "failed": 0, "not_done": 0}, stderr
    code, data, _ = _json("in", "--dry-run")
    assert code == 0 and not data["failed"]
    code, data, _ = _json("in", "--overwrite", "--dry-run")  # but a job that would run fails, as it will
    assert code == 1 and _failed(data) == {
        "in/b.jpg": "empty file (0 bytes); re-copy it from the source",
        "in/c.jpg": "broken symbolic link to ../nas/c.jpg",
    }
    os.utime("in_desnowed/b.jpg", (1e9, 1e9))  # b.jpg is newer than its output: redone, and so it fails
    code, data, _ = _json("in", "--update")
    assert code == 1 and list(_failed(data)) == ["in/b.jpg"]
    os.mkfifo("in/f.jpg")  # what would hang fails whatever lies at its output
    Path("in_desnowed/f.jpg").write_bytes(Path("in_desnowed/a.jpg").read_bytes())
    code, data, _ = _json("in")
    assert code == 1 and _failed(data) == {"in/f.jpg": _failed(data)["in/f.jpg"]}
    assert _failed(data)["in/f.jpg"].startswith("not a regular file (a FIFO)")


# -- review 3: name limits in the file system's own unit; PATH_MAX as the system says ------------------------------


def test_name_limits_count_utf16_units_where_the_file_system_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cjk = "雪" * 90  # 270 UTF-8 bytes, 90 UTF-16 units: fine on NTFS, APFS and HFS+
    monkeypatch.setattr(folders, "UTF16_NAMES", True)
    assert folders.name_size(cjk) == 90 and folders.name_size("😀") == 2
    assert _beside(tmp_path / cjk, "desnowed") == tmp_path / f"{cjk}_desnowed"
    assert folders.name_over_limit("雪" * 251 + ".webp", tmp_path) == (
        "256 UTF-16 units, over the file system's 255-unit limit"
    )
    monkeypatch.setattr(folders, "UTF16_NAMES", False)
    with pytest.raises(InputError, match="would be 279 bytes, over the file system's 255-byte limit"):
        _beside(tmp_path / cjk, "desnowed")


def test_the_path_limit_is_the_systems_and_unknown_means_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = Path("/", *(["d" * 200] * 25), "a.jpg")
    assert folders.path_max() == os.pathconf("/", "PC_PATH_MAX")
    assert plan_module._too_long(deep) is not None
    monkeypatch.setattr(plan_module, "path_max", lambda: None)  # Windows: the write itself says
    assert plan_module._too_long(deep) is None


# -- review 4: the path-too-long advice names -o DIR -----------------------------------------------------------------


def test_path_too_long_advice_names_a_short_output_folder() -> None:
    reason = folders.too_long(Path("/", *(["d" * 200] * 25)))
    assert reason.startswith("path too long (") and "with a short -o DIR" in reason
    usage = (Path(__file__).parents[1] / "docs" / "usage.md").read_text(encoding="utf-8")
    assert "(no file is opened)" not in usage  # files named like videos are read for their first bytes
    assert all(len(line) <= 120 for line in usage.splitlines() if "Links to folders outside" in line)


# -- review 5: only what garbles a line is escaped -------------------------------------------------------------------


def test_names_ls_shows_as_they_are_are_not_escaped() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji sequence joined by ZWJ
    for name in ("写真\u3000雪.jpg", "a\u00a0b.jpg", f"{family}.jpg", "plain.jpg"):
        assert shown(name) == name and printable(name) == name
    assert shown("evil\u202egpj.exe") == "$'evil\\xe2\\x80\\xaegpj.exe'"
    assert printable("a\u2028b\u2066c") == "a\\xe2\\x80\\xa8b\\xe2\\x81\\xa6c"
    assert printable("tab\there") == "tab\\there"


# -- review 6: planning looks up each input folder once and keeps no whole stat per file ----------------------------


def test_planning_resolves_each_folder_once_and_keeps_inodes_of_hard_links_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for i in range(30):
        Path("P").mkdir(exist_ok=True)
        Path(f"P/{i:02d}.jpg").write_bytes(b"x")
    os.link("P/00.jpg", "P/hard.jpg")
    resolved: list[Path] = []
    real = outputs_module.real_path
    monkeypatch.setattr(outputs_module, "real_path", lambda p: resolved.append(p) or real(p))
    plan = plan_jobs(["P"], check_writable=False)
    assert len(plan.jobs) == 31 and resolved.count(Path("P")) == 1  # once per file before
    found = expand_inputs(["P"], accept=is_image_path, kind="an image file", tag="desnowed", look=True).files
    inodes = {f.path.name: f.inode for f in found}
    assert inodes["01.jpg"] is None and inodes["00.jpg"] == inodes["hard.jpg"] is not None
    assert not hasattr(found[0], "__dict__") and not hasattr(found[0], "info")


# -- review 7: an -o below a link loop is refused in one line --------------------------------------------------------


def test_an_output_folder_below_a_link_loop_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("in/a.jpg"))
    _photo(Path("in/b.jpg"))
    os.symlink("loop", "loop")
    code, stdout, stderr = _run("in", "-o", "loop/sub")
    assert code == 2 and stderr.count("\n") == 1 and "-o loop/sub: symbolic link loop" in stderr, stderr


# -- review 8: --format advice only with --format; one NAME_MAX; pipes named as such ---------------------------------


def test_a_too_long_name_without_format_is_not_told_to_leave_out_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("W") / ("n" * 200 + ".jpg"))
    monkeypatch.setattr(folders, "name_limit", lambda _folder: 150)  # an -o on eCryptfs-like limits
    plan = plan_jobs(["W"], "out", check_writable=False)
    assert [r.reason for r in plan.failed] == [
        "output name would be 204 bytes, over the file system's 150-byte limit; rename the input shorter"
    ]
    plan = plan_jobs(["W"], "out", check_writable=False, format="WEBP")
    assert plan.failed[0].reason.endswith("rename the input shorter, or leave out --format")
    assert folders.NAME_MAX == leftovers.NAME_MAX and "NAME_MAX = " not in inspect.getsource(folders)
    read, write = os.pipe()
    try:
        found = expand_inputs([f"/dev/fd/{read}"], accept=is_image_path, kind="an image file", tag="desnowed")
    finally:
        os.close(read)
        os.close(write)
    assert [r.reason for r in found.failed] == [STDIN]
    assert STDIN.startswith("a pipe or open file descriptor (standard input") and "<(...)" in STDIN
