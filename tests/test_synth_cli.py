"""``synth snow`` and ``synth rain`` as a new user meets them: OUT_DIR holds one run, Ctrl-C resumes, photos
are used upright, hidden folders and earlier outputs are not read, and bad options fail before any work."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import synth_app


def _photo(path: Path, h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 3.0)], axis=-1) * 0.8 + 0.1 * rng.random((h, w, 3))
    pixels = np.round(np.clip(base, 0, 1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


@pytest.fixture()
def clean(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    for i, name in enumerate(("a.png", "b.png", "sub/c.png")):
        _photo(folder / name, seed=i)
    return folder


def _run(*args: str | Path):
    return CliRunner().invoke(synth_app(), ["synth", *map(str, args)])


def _listing(out: Path) -> dict[str, list[str]]:
    """Every folder of OUT_DIR and what is in it (hidden names included: no temporaries may be left)."""
    return {p.name: sorted(q.name for q in p.iterdir()) for p in sorted(out.iterdir()) if p.is_dir()}


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------------
# OUT_DIR holds one run
# --------------------------------------------------------------------------------------------------


def test_snow_refuses_an_earlier_run_and_overwrite_leaves_only_the_new_one(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("snow", clean, out, "--level", "M", "--seed", "1", "-q").exit_code == 0
    before = _files(out)
    again = _run("snow", clean, out, "--level", "L", "--seed", "5", "-q")
    assert again.exit_code == 2 and "Traceback" not in again.output
    assert "--level M" in again.output and "--overwrite" in again.output
    assert _files(out) == before  # nothing touched
    forced = _run("snow", clean, out, "--level", "S", "--seed", "9", "--limit", "1", "-q", "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert _listing(out) == dict.fromkeys(("aberration", "gt", "mask", "synthetic"), ["a.png"])
    meta = json.loads((out / "synth.json").read_text())
    assert meta["count"] == 1 and meta["level"] == "S" and meta["levels"] == {"a": "S"}


def test_rain_run_with_other_photos_is_refused_and_overwrite_removes_the_old_items(clean: Path, tmp_path: Path) -> None:
    out, other = tmp_path / "out", tmp_path / "other"
    _photo(other / "z.png", seed=5)
    assert _run("rain", clean, out, "-q").exit_code == 0
    refused = _run("rain", other, out, "-q")
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert _run("rain", other, out, "-q", "--overwrite").exit_code == 0
    assert _listing(out) == dict.fromkeys(("alpha", "gt", "rain", "reliance", "streak"), ["z.png"])
    assert set(json.loads((out / "synth.json").read_text())["items"]) == {"z"}


def test_rain_overwrite_of_stills_with_clips_leaves_no_stills(clean: Path, tmp_path: Path) -> None:
    from weatherclean.data.rain import find_rain_clips

    out = tmp_path / "out"
    assert _run("rain", clean, out, "-q").exit_code == 0
    result = _run("rain", clean, out, "--clips", "--frames", "2", "--crop", "16", "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    assert _listing(out) == dict.fromkeys(("alpha", "gt", "rain", "reliance", "streak"), ["a", "b", "sub_c"])
    assert [(c.name, len(c)) for c in find_rain_clips(out)] == [("a", 2), ("b", 2), ("sub_c", 2)]


def test_overwrite_touches_only_what_synth_wrote(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("snow", clean, out, "-q").exit_code == 0
    (out / "README.md").write_text("my notes")
    (out / "gt" / "notes.txt").write_text("mine too")
    assert _run("snow", clean, out, "--seed", "3", "--limit", "1", "-q", "--overwrite").exit_code == 0
    assert (out / "README.md").read_text() == "my notes" and (out / "gt" / "notes.txt").is_file()
    # A picture that no synth.json lists is not synth's to remove, even with --overwrite.
    _photo(out / "synthetic" / "holiday.png")
    result = _run("snow", clean, out, "--seed", "4", "-q", "--overwrite")
    assert result.exit_code == 2 and "synthetic/holiday.png" in result.output
    assert (out / "synthetic" / "holiday.png").is_file() and json.loads((out / "synth.json").read_text())["seed"] == 3


@pytest.mark.parametrize("command", ["snow", "rain"])
def test_a_gt_folder_linked_to_the_photos_is_refused_and_the_photos_stay(
    clean: Path, tmp_path: Path, command: str
) -> None:
    """``ds/gt`` a link to CLEAN_DIR (a common dataset layout): synth would have taken the photos for an earlier
    run's outputs, and --overwrite deleted them all. Refused before any work, in one line naming the folder."""
    out = tmp_path / "ds"
    out.mkdir()
    (out / "gt").symlink_to(clean, target_is_directory=True)
    photos = _files(clean)
    for extra in ((), ("--overwrite",)):
        result = _run(command, clean, out, "-q", *extra)
        assert result.exit_code == 2 and "Traceback" not in result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "gt" in lines[0] and "symbolic link" in lines[0], result.output
        assert _files(clean) == photos and os.listdir(out) == ["gt"]


def test_pictures_no_record_lists_are_kept_even_with_overwrite(clean: Path, tmp_path: Path) -> None:
    """Pictures named like this run's outputs in synth's folders, with no synth.json or progress file: nothing
    says synth wrote them, so they are never removed; the refusal names a few of them."""
    out = tmp_path / "out"
    for folder, name in (("gt", "a"), ("gt", "b"), ("synthetic", "a"), ("synthetic", "sub_c")):
        _photo(out / folder / f"{name}.png", seed=7)
    (out / "notes.txt").write_text("mine")
    before = _files(out)
    for extra in ((), ("--overwrite",)):
        result = _run("snow", clean, out, "-q", *extra)
        assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
        assert "gt/a.png, gt/b.png" in result.output and "even with --overwrite" in result.output
        assert _files(out) == before  # nothing removed, nothing written (no progress file either)


def test_a_listed_item_replaced_by_a_link_out_is_not_followed(clean: Path, tmp_path: Path) -> None:
    out, mine = tmp_path / "out", tmp_path / "mine.png"
    assert _run("snow", clean, out, "-q").exit_code == 0
    _photo(mine, seed=9)
    photo = mine.read_bytes()
    (out / "gt" / "a.png").unlink()
    (out / "gt" / "a.png").symlink_to(mine)
    record, listing = (out / "synth.json").read_bytes(), _listing(out)
    result = _run("snow", clean, out, "--seed", "3", "-q", "--overwrite")
    assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
    assert "gt/a.png is a symbolic link" in result.output
    assert (out / "gt" / "a.png").is_symlink() and mine.read_bytes() == photo
    assert (out / "synth.json").read_bytes() == record and _listing(out) == listing  # refused before any work


def test_remove_entry_removes_only_what_lies_in_out_dirs_own_folders(tmp_path: Path) -> None:
    """The last guard, whatever a plan says: a picture reached through a linked folder, or a link pointing out of
    synth's folder, is refused and left as it is (nor does a failed item's cleanup take it)."""
    from weatherclean.errors import OutputError
    from weatherclean.synth.dataset.record import SNOW, remove_entry, remove_item

    photos, out = tmp_path / "photos", tmp_path / "out"
    _photo(photos / "a.png")
    _photo(photos / "b.png")
    (out / "synthetic").mkdir(parents=True)
    (out / "gt").symlink_to(photos, target_is_directory=True)
    (out / "synthetic" / "b.png").symlink_to(photos / "b.png")
    before = _files(photos)
    for entry in (out / "gt" / "a.png", out / "synthetic" / "b.png"):
        with pytest.raises(OutputError, match="symbolic link"):
            remove_entry(out, entry)
    remove_item(out, SNOW, "a")
    remove_item(out, SNOW, "b")
    assert _files(photos) == before and (out / "synthetic" / "b.png").is_symlink()


def test_a_synth_folder_that_is_clean_dir_or_holds_it_is_refused(tmp_path: Path) -> None:
    from weatherclean.errors import InputError
    from weatherclean.synth.dataset.record import check_folders

    out = tmp_path / "ds"
    _photo(out / "gt" / "photos" / "a.png")
    for clean_dir in (out / "gt", out / "gt" / "photos"):
        with pytest.raises(InputError, match="gt: is CLEAN_DIR"):
            check_folders(out, clean_dir)
    check_folders(tmp_path / "elsewhere" / "ds", out / "gt")  # OUT_DIR's own folders, apart from the photos
    check_folders(out / "gt" / "photos" / "test_M", out / "gt" / "photos")  # OUT_DIR inside CLEAN_DIR is fine


# --------------------------------------------------------------------------------------------------
# Ctrl-C: whole items only, and the same command resumes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stop_at"),
    [(("snow",), 6), (("rain", "--clips", "--frames", "2", "--crop", "16"), 17)],
    ids=["snow", "rain-clips"],
)
def test_interrupted_run_keeps_whole_items_and_resumes_to_the_same_files(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], stop_at: int
) -> None:
    """Ctrl-C inside the second item (snow: its second file; a clip: its fourth folder) leaves the first item
    whole and nothing of the second; the same command then makes exactly what one uninterrupted run makes."""
    from weatherclean.synth.dataset import write

    command, *options = args
    assert _run(command, clean, tmp_path / "whole", *options, "-q").exit_code == 0
    real, calls = write._png, []

    def interrupted(arr: np.ndarray) -> bytes:
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(arr)

    out = tmp_path / "out"
    monkeypatch.setattr(write, "_png", interrupted)
    stopped = _run(command, clean, out, *options, "-q")
    assert stopped.exit_code == 130 and "rerun the same command to resume" in stopped.output
    folders = _listing(out)
    assert all(names == [names[0]] and names[0].startswith("a") for names in folders.values()), folders
    assert not (out / "synth.json").exists() and (out / "synth.progress.jsonl").is_file()
    monkeypatch.setattr(write, "_png", real)
    resumed = _run(command, clean, out, *options, "-q")
    assert resumed.exit_code == 0 and "kept 1" in resumed.output, resumed.output
    assert _files(out) == _files(tmp_path / "whole")


def test_interrupted_overwrite_says_how_to_resume(clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.synth.dataset import items

    out = tmp_path / "out"
    assert _run("snow", clean, out, "-q").exit_code == 0

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(items, "make_snow_pair", stop)
    result = _run("snow", clean, out, "--seed", "2", "-q", "--overwrite")
    assert result.exit_code == 130 and "without --overwrite to resume" in result.output


def test_a_full_disk_stops_the_run_and_the_same_command_resumes(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.errors import DiskFullError
    from weatherclean.synth.dataset import write

    real, calls = write._png, []

    def full(arr: np.ndarray) -> bytes:
        calls.append(1)
        if len(calls) == 6:
            raise DiskFullError(
                "out/gt/b.png: disk full (No space left on device); nothing was written under this name"
            )
        return real(arr)

    out = tmp_path / "out"
    monkeypatch.setattr(write, "_png", full)
    result = _run("snow", clean, out, "-q")
    assert result.exit_code == 2 and "disk full" in result.output and result.output.count("error:") == 1
    assert all(names == ["a.png"] for names in _listing(out).values())
    monkeypatch.setattr(write, "_png", real)
    assert _run("snow", clean, out, "-q").exit_code == 0 and json.loads((out / "synth.json").read_text())["count"] == 3


def test_a_full_disk_while_recording_an_item_stops_the_run(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC from the progress journal stops the run (exit 2, resumable), as a full disk does anywhere else,
    instead of failing every later item."""
    import errno

    from weatherclean.synth.dataset import record

    class FullJournal:
        def __init__(self, fh: object) -> None:
            self.fh, self.lines = fh, 0

        def write(self, text: str) -> int:
            self.lines += 1
            if self.lines == 2:  # the second item's line
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(text)  # type: ignore[attr-defined]

        def __getattr__(self, name: str) -> object:
            return getattr(self.fh, name)

    real_init = record.Journal.__init__

    def init(self: record.Journal, *args: object) -> None:
        real_init(self, *args)  # type: ignore[arg-type]
        self._fh = FullJournal(self._fh)  # type: ignore[assignment]

    out = tmp_path / "out"
    monkeypatch.setattr(record.Journal, "__init__", init)
    result = _run("snow", clean, out, "-q")
    assert result.exit_code == 2 and "disk full" in result.output and result.output.count("error:") == 1, result.output
    assert all(names == ["a.png"] for names in _listing(out).values())
    monkeypatch.setattr(record.Journal, "__init__", real_init)
    resumed = _run("snow", clean, out, "-q")
    assert resumed.exit_code == 0 and "kept 1" in resumed.output, resumed.output
    assert json.loads((out / "synth.json").read_text())["count"] == 3


@pytest.mark.parametrize("call", ["mkdtemp", "replace"])
def test_a_full_quota_while_making_a_clip_folder_stops_the_run(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """EDQUOT while a clip's temporary folder is made, or moved into place, stops the run (exit 2, resumable)."""
    import errno
    import tempfile

    module = tempfile if call == "mkdtemp" else os
    real, calls = getattr(module, call), []

    def full(*args: object, **kwargs: object) -> object:
        if call == "replace" and not Path(str(args[0])).is_dir():  # only the clip folders' renames count
            return real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 7:  # the second clip's second folder
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        return real(*args, **kwargs)

    out, options = tmp_path / "out", ("--clips", "--frames", "2", "--crop", "16", "-q")
    monkeypatch.setattr(module, call, full)
    result = _run("rain", clean, out, *options)
    assert result.exit_code == 2 and "disk full" in result.output and result.output.count("error:") == 1, result.output
    assert _listing(out) == dict.fromkeys(("alpha", "gt", "rain", "reliance", "streak"), ["a"])
    monkeypatch.setattr(module, call, real)
    resumed = _run("rain", clean, out, *options)
    assert resumed.exit_code == 0 and "kept 1" in resumed.output, resumed.output


def test_ctrl_c_while_an_item_is_moved_into_place_waits_for_it() -> None:
    from weatherclean.synth.dataset.write import _interrupt_after

    # Python's own Ctrl-C handler, as in a terminal: a test run started in the background by a shell inherits
    # SIGINT ignored, and _interrupt_after rightly leaves an ignored or foreign handler alone.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    finished = []
    try:
        with pytest.raises(KeyboardInterrupt), _interrupt_after():
            # raise_signal, not os.kill: kill may hand the signal to another of the process's threads
            signal.raise_signal(signal.SIGINT)
            finished.append("renames")
        assert finished == ["renames"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------------------------------
# What is read as a clean photo, and how
# --------------------------------------------------------------------------------------------------


def test_a_second_synth_inside_clean_dir_does_not_read_the_first_ones_output(clean: Path) -> None:
    assert _run("snow", clean, clean / "test_M", "--level", "M", "-q").exit_code == 0
    second = _run("snow", clean, clean / "test_L", "--level", "L", "-q")
    assert second.exit_code == 0, second.output
    assert "skipped 1 folder(s)" in second.output and "test_M" in second.output
    assert sorted(p.name for p in (clean / "test_L" / "synthetic").iterdir()) == ["a.png", "b.png", "sub_c.png"]
    as_clean = _run("rain", clean / "test_M", clean.parent / "r")
    assert as_clean.exit_code == 2 and "output of an earlier synth" in as_clean.output


def test_hidden_folders_are_not_searched(tmp_path: Path) -> None:
    from weatherclean.data.images import list_images

    _photo(tmp_path / "hid" / ".thumbnails" / "t1.png")
    _photo(tmp_path / "hid" / "b.png")
    assert [p.name for p in list_images(tmp_path / "hid")] == ["b.png"]
    result = _run("snow", tmp_path / "hid", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path / "out" / "synthetic") == ["b.png"]


@pytest.mark.parametrize("command", ["snow", "rain"])
def test_exif_rotated_photos_are_used_upright(tmp_path: Path, command: str) -> None:
    """A phone portrait stored on its side (Orientation 6): weather falls down the picture a viewer shows,
    and the outputs are that upright picture, with no tag to turn them again."""
    from weatherclean.data.images import read_rgb

    stored = np.random.default_rng(1).integers(0, 256, (16, 28, 3), dtype=np.uint8)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    (tmp_path / "clean").mkdir()
    image.save(tmp_path / "clean" / "portrait.png", exif=exif.tobytes())
    upright = np.rot90(stored, -1)  # what a viewer shows: 28 high, 16 wide
    assert read_rgb(tmp_path / "clean" / "portrait.png").shape == stored.shape  # pairs: read as stored
    assert _run(command, tmp_path / "clean", tmp_path / "out", "-q").exit_code == 0
    gt = Image.open(tmp_path / "out" / "gt" / "portrait.png")
    assert gt.getexif().get(0x0112) is None
    np.testing.assert_array_equal(np.asarray(gt), upright)


# --------------------------------------------------------------------------------------------------
# Refused before any work
# --------------------------------------------------------------------------------------------------


def test_sizes_that_cannot_fit_are_refused_before_any_work(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.synth.dataset import inputs

    result = _run("rain", clean, tmp_path / "o", "--size", "100000x100000")
    assert result.exit_code == 2 and "megapixels" in result.output and "Traceback" not in result.output
    monkeypatch.setattr(inputs, "_physical_memory", lambda: 2**30)
    result = _run("rain", clean, tmp_path / "o", "--clips", "--crop", "2000", "--frames", "100")
    assert result.exit_code == 2 and "--frames 100" in result.output and "GiB" in result.output
    assert not (tmp_path / "o").exists()
    # Without --size, each photo is checked as it is read: a clip too long for memory fails alone.
    result = _run("rain", clean, tmp_path / "o", "--clips", "--frames", "100000", "-q")
    assert result.exit_code == 1 and "a.png: a clip of 100000 frames" in result.output
    assert "3 failed" in result.output and "Traceback" not in result.output


def test_out_of_memory_is_a_one_line_error_naming_the_photo(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.synth.dataset import items

    real = items.make_snow_pair

    def short_of_memory(clean_image: np.ndarray, *args: object, **kwargs: object) -> dict[str, np.ndarray]:
        if clean_image.shape[:2] == (24, 32) and not hasattr(short_of_memory, "done"):
            short_of_memory.done = True  # type: ignore[attr-defined]
            raise MemoryError("Unable to allocate 11.2 TiB for an array with shape (1000000, 1000000, 3)")
        return real(clean_image, *args, **kwargs)

    monkeypatch.setattr(items, "make_snow_pair", short_of_memory)
    result = _run("snow", clean, tmp_path / "o", "-q")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "a.png: not enough memory" in result.output and "1 failed" in result.output
    assert sorted(os.listdir(tmp_path / "o" / "gt")) == ["b.png", "sub_c.png"]


def test_read_only_out_dir_is_found_before_any_work(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from weatherclean.synth.dataset import items

    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the OS say what it says to a user
        real = tempfile.mkstemp

        def refused(*args: object, dir: object = None, **kwargs: object) -> tuple[int, str]:  # noqa: A002
            if dir is not None and Path(str(dir)) == out.resolve():
                raise PermissionError(13, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(tempfile, "mkstemp", refused)
    made = []
    monkeypatch.setattr(items, "make_snow_pair", lambda *a, **k: made.append(1))
    try:
        result = _run("snow", clean, out)
    finally:
        out.chmod(0o755)
    assert result.exit_code == 2 and "not writable" in result.output and str(out.name) in result.output
    assert made == [] and os.listdir(out) == []


def test_file_in_the_way_is_named(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "o3"
    out.mkdir()
    (out / "rain").write_text("")
    result = _run("rain", clean, out)
    assert result.exit_code == 2 and "o3/rain is a file" in result.output


def test_style_is_repeatable_and_draws_only_those_given(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weatherclean.synth.snow as snow

    drawn: list[str] = []
    real = snow._style_depths
    monkeypatch.setattr(snow, "_style_depths", lambda rng, style, *a: drawn.append(style.name) or real(rng, style, *a))
    result = _run("snow", clean, tmp_path / "s", "--style", "discs", "--style", "bokeh", "-q")
    assert result.exit_code == 0 and "style discs,bokeh" in result.output
    assert json.loads((tmp_path / "s" / "synth.json").read_text())["style"] == "discs,bokeh"
    assert drawn and set(drawn) <= {"discs", "bokeh"}
    result = _run("rain", clean, tmp_path / "r", "--style", "lens", "--style", "drizzle", "-q")
    assert result.exit_code == 0
    items = json.loads((tmp_path / "r" / "synth.json").read_text())["items"].values()
    assert all(set(item["styles"]) <= {"lens", "drizzle"} for item in items)
    result = _run("snow", clean, tmp_path / "m", "--style", "mixed", "--style", "discs")
    assert result.exit_code == 2 and "mixed" in result.output and not (tmp_path / "m").exists()


def test_smaller_mistakes_say_what_is_wrong(clean: Path, tmp_path: Path) -> None:
    result = _run("rain", clean, tmp_path / "o", "--frames", "4")
    assert result.exit_code == 2 and "--clips" in result.output and not (tmp_path / "o").exists()
    result = _run("snow", clean, clean)
    assert result.exit_code == 2 and "OUT_DIR is CLEAN_DIR" in result.output
    result = _run("snow", tmp_path / "nonexist", tmp_path / "o")
    assert result.exit_code == 2 and "nonexist: not found" in result.output


def test_pictures_too_small_to_score_are_named(tmp_path: Path) -> None:
    _photo(tmp_path / "clean" / "dot.png", 1, 1)
    _photo(tmp_path / "clean" / "thin.png", 3, 20)
    _photo(tmp_path / "clean" / "ok.png", 16, 16)
    result = _run("snow", tmp_path / "clean", tmp_path / "o", "-q")
    assert result.exit_code == 0, result.output
    assert "2 item(s) are smaller than 11x11" in result.output and "dot" in result.output


def test_an_unknown_level_is_named_as_the_help_writes_the_levels(clean: Path, tmp_path: Path) -> None:
    """The parser's case-insensitive choice listed 's', 'm', 'l' while the help and the docs say S|M|L."""
    bad = _run("snow", clean, tmp_path / "out", "--level", "Q", "-q")
    assert bad.exit_code == 2 and "error: --level Q: use S, M, L or mixed" in bad.output, bad.output
    assert "'s'" not in bad.output and not (tmp_path / "out").exists()
    rain = _run("rain", clean, tmp_path / "out", "--level", "drizzly", "-q")
    assert rain.exit_code == 2 and "error: --level drizzly: use light, heavy or mixed" in rain.output
    made = _run("snow", clean, tmp_path / "out", "--level", "m", "--limit", "1", "-q")  # any case, as before
    assert made.exit_code == 0 and "(level M," in made.output, made.output


def test_snow_records_each_images_level_styles_and_veil(clean: Path, tmp_path: Path) -> None:
    """synth.json said which level each snowy image got but not which styles or veil (rain's says its
    styles): a mixed set could not be split by style afterwards. ``levels`` stays as it was for its readers."""
    from weatherclean.synth.names import SNOW_STYLES

    out = tmp_path / "out"
    assert _run("snow", clean, out, "--level", "mixed", "--seed", "3", "--limit", "1", "-q").exit_code == 0
    assert _run("snow", clean, out, "--level", "mixed", "--seed", "3", "-q").exit_code == 0  # resumes the first
    meta = json.loads((out / "synth.json").read_text())
    items = meta["items"]
    assert sorted(items) == ["a", "b", "sub_c"] and meta["levels"] == {n: i["level"] for n, i in items.items()}
    assert all(i["styles"] and set(i["styles"]) <= set(SNOW_STYLES) for i in items.values()), items
    assert all(i["veil"] is None or 0 < i["veil"] < 1 for i in items.values()), items
    one = tmp_path / "one"
    assert _run("snow", clean, one, "--level", "L", "--style", "specks", "--no-haze", "-q").exit_code == 0
    assert {i["veil"] for i in json.loads((one / "synth.json").read_text())["items"].values()} == {None}
    assert all(i["styles"] == ["specks"] for i in json.loads((one / "synth.json").read_text())["items"].values())
