"""What a docs-accuracy pass found the program doing otherwise than docs/usage.md and docs/formats.md say:
one photo reached twice, the reason given for a name clash, a Deflate 16-bit grey+alpha TIFF, the
``--format`` lists, the summary's notes and output folders, and ``compare``'s order of checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch import plan_jobs
from weatherclean.cli import app, desnow
from weatherclean.errors import InputError
from weatherclean.io.images import load_image, save_image
from weatherclean.io.video import VIDEO_FORMATS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _desnow(*args: str) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=StandIn(Inverter))


def _photo(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(seed).random((12, 16, 3)) * 255).astype(np.uint8)).save(path)
    return path


# ------------------------------------------------------------------------------ one file reached twice


def test_a_photo_named_twice_is_done_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """usage.md: a file reached twice is done once. It was refused as a clash of two names "that differ
    only in the extension, which --format makes the same", with no --format given."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("a.jpg"))
    _photo(Path("holiday/astro.jpg"))
    for inputs, name in ((["a.jpg", "a.jpg"], "a.jpg"), (["holiday", "holiday/astro.jpg"], "astro.jpg"),
                         (["holiday/astro.jpg", "holiday"], "astro.jpg"), (["a.jpg", "./a.jpg"], "a.jpg")):  # fmt: skip
        plan = plan_jobs(inputs, "dup")
        assert [j.output.name for j in plan.jobs] == [name] and not plan.skipped, inputs
    assert len(plan_jobs(["a.jpg", "a.jpg"], in_place=True).jobs) == 1  # replaced once, not twice
    code, stdout, stderr = _desnow("a.jpg", "a.jpg", "-o", "dup", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 1, "skipped": 0, "failed": 0, "not_done": 0}


def test_a_clash_is_told_with_the_reason_that_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("x/a.jpg"))
    _photo(Path("x/a.png"))
    _photo(Path("y/a.jpg"))
    with pytest.raises(InputError, match=r"a\.png would be written here; their names differ only in the extension"):
        plan_jobs(["x/a.jpg", "x/a.png"], "out", format="PNG")
    with pytest.raises(InputError, match=r"\(the same name in different folders\)$") as same:
        plan_jobs(["x/a.jpg", "y/a.jpg"], "out")
    assert "extension" not in str(same.value) and "give each input its own -o folder" in str(same.value)
    with pytest.raises(InputError, match=r"in different folders, once --format gives them the same extension\)$"):
        plan_jobs(["x/a.png", "y/a.jpg"], "out", format="PNG")


# ------------------------------------------------------------------------------ TIFF compression kept


def test_a_deflate_16_bit_grey_alpha_tiff_stays_deflate(tmp_path: Path) -> None:
    """formats.md: a TIFF comes back with its own compression. The 16-bit grey+alpha reader, which Pillow
    cannot stand in for, did not record it, so a Deflate file came back uncompressed without a note."""
    tifffile = pytest.importorskip("tifffile")
    ga16 = (np.random.default_rng(0).random((6, 8, 2)) * 65535).astype(np.uint16)
    for compression, code in (("zlib", 8), (None, 1)):
        src = tmp_path / f"ga16_{compression}.tif"
        tifffile.imwrite(src, ga16, photometric="minisblack", extrasamples=["unassalpha"], compression=compression)
        loaded = load_image(src)
        saved = save_image(tmp_path / f"out_{src.name}", loaded.pixels, loaded)
        with tifffile.TiffFile(saved.path) as out:
            assert out.pages[0].compression.value == code and not saved.notes, compression
            assert np.array_equal(out.asarray(), ga16)


def test_16_bit_grey_alpha_written_with_deflate_instead_of_lzw_says_so(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    src = tmp_path / "ga16.tif"
    ga16 = (np.random.default_rng(1).random((6, 8, 2)) * 65535).astype(np.uint16)
    tifffile.imwrite(src, ga16, photometric="minisblack", extrasamples=["unassalpha"])
    loaded = load_image(src)
    loaded.extra["compression"] = "tiff_lzw"  # what our reader cannot take back, so never written
    saved = save_image(tmp_path / "out.tif", loaded.pixels, loaded)
    assert saved.notes == ["TIFF lzw compression not kept for 16-bit grey+alpha: written with Deflate (lossless)"]


# ------------------------------------------------------------------------------ docs


def test_usage_lists_every_format_the_help_lists() -> None:
    usage = (DOCS / "usage.md").read_text(encoding="utf-8")
    listed = re.search(r"--format ([a-z|]+)`", usage)
    assert listed is not None
    assert set(listed.group(1).split("|")) == {"jpeg", "png", "tiff", "webp", "avif", "bmp", "ppm"}
    phrase = "written in the input's container, or as mp4, mkv, mov, webm or avi with `--format`"
    assert phrase in " ".join(usage.split())  # not "written as mp4, ...": a .wmv comes back a .wmv
    assert set(re.findall(r"[a-z0-9]+", phrase.split("or as ")[1])) >= set(VIDEO_FORMATS)


def test_formats_known_gaps_name_the_containers_that_move_timestamps() -> None:
    text = (DOCS / "formats.md").read_text(encoding="utf-8")
    gaps = " ".join(text.split("## Known gaps", 1)[1].split())
    for word in ("FLV", "MPEG-TS", "MPEG-PS", "0.54 s comes back at 0.58 s", "--format mp4"):
        assert word in gaps, word


# ------------------------------------------------------------------------------ the summary


def test_a_note_about_the_device_does_not_read_like_a_file(tmp_path: Path) -> None:
    _photo(tmp_path / "a.jpg")
    code, _, stderr = _desnow(str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), "--tile", "64",
                              "--tile-overlap", "40", "--quiet")  # fmt: skip
    notes = [line for line in stderr.splitlines() if line.startswith("note:")]
    assert code == 0 and len(notes) == 1, stderr
    assert notes[0].startswith("note: tile_overlap=40 (--tile-overlap) is more than tile=64 (--tile) leaves"), stderr
    assert notes[0].endswith("(device: cpu)") and "(cpu):" not in stderr
    code, stdout, _ = _desnow(str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out2"), "--tile", "64",
                              "--tile-overlap", "40", "--json")  # fmt: skip
    assert json.loads(stdout)["notes"][0]["path"] == "(cpu)"  # what scripts read stays as it was


def test_the_summary_names_an_output_tree_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``written to cleanrec, cleanrec/d`` read as two unrelated places."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("rec/a.jpg"))
    _photo(Path("rec/d/b.jpg"))
    code, stdout, _ = _desnow("rec", "-o", "cleanrec")
    assert code == 0 and stdout.rstrip().endswith("written under cleanrec/"), stdout
    code, stdout, _ = _desnow("rec")
    assert code == 0 and stdout.rstrip().endswith("written under rec_desnowed/"), stdout
    code, stdout, _ = _desnow("rec/d", "-o", "flat")
    assert code == 0 and stdout.rstrip().endswith("written to flat/b.jpg"), stdout


def test_compare_checks_its_inputs_before_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet left from an earlier run was reported ("exists") instead of the folder that is not there."""
    monkeypatch.chdir(tmp_path)
    Path("sheet.compare.jpg").write_bytes(b"an earlier sheet")
    Path("after").mkdir()
    result = CliRunner().invoke(app, ["compare", "nothere/", "after"])
    assert result.exit_code == 2 and "nothere: file or folder not found" in result.output, result.output
    assert Path("sheet.compare.jpg").read_bytes() == b"an earlier sheet"


# ------------------------------------------------------------------------------ a second docs pass


def test_a_video_format_it_only_reads_names_the_video_formats_it_writes(tmp_path: Path) -> None:
    """``--format flv`` (a container weatherclean reads) was told to use png: the photo list only."""
    _photo(tmp_path / "a.jpg")
    code, _, stderr = _desnow(str(tmp_path / "a.jpg"), "--format", "flv")
    flat = " ".join(stderr.split())
    assert code == 2 and f"for videos use {', '.join(list(VIDEO_FORMATS)[:-1])} or avi, for photos jpeg" in flat


def test_a_format_that_fits_only_some_inputs_gets_a_note(tmp_path: Path) -> None:
    """``--format mp4`` over photos wrote them in their own format without a word (also in ``--dry-run``)."""
    _photo(tmp_path / "in" / "a.png")
    code, stdout, _ = _desnow(str(tmp_path / "in"), "--format", "mp4", "--json")
    summary = json.loads(stdout)
    assert code == 0 and (tmp_path / "in_desnowed" / "a.png").is_file()
    assert {"path": "--format mp4", "note": "applies to videos only; the 1 photo(s) among the inputs keep their own "
            "format"} in summary["notes"]  # fmt: skip
    code, stdout, _ = _desnow(str(tmp_path / "in"), "--format", "mp4", "--json", "--dry-run", "--overwrite")
    assert code == 0 and any(n.startswith("--format mp4: applies to videos") for n in json.loads(stdout)["notes"])


def test_a_folder_of_earlier_results_only_is_not_called_empty(tmp_path: Path) -> None:
    (tmp_path / "left").mkdir()
    (tmp_path / "left" / "clip.partial.mp4").write_bytes(b"\x00" * 16)
    code, stdout, _ = _desnow(str(tmp_path / "left"), "--json")
    (record,) = json.loads(stdout)["skipped"]
    assert code == 0 and "holds only results of earlier runs" in record["reason"]
