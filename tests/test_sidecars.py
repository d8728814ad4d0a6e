"""Findings of a ski and wildlife photographer: XMP sidecars (ratings, keywords, edits) were not copied beside the
outputs, and were listed as skipped inputs ("not an image or video file"); ``--dry-run --in-place`` said the videos
the run would refuse to replace (a ProRes 4444 matte, a ProRes master) would be done."""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch import handlers, inputs, plan_media
from weatherclean.batch.handlers import fail_in_place_losses
from weatherclean.cli import desnow
from weatherclean.errors import InputError, OutputError
from weatherclean.io import sidecars
from weatherclean.io.video import VideoOptions, process_video

DARKTABLE = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/><!-- darktable: rating 5, keyword ski --></x:xmpmeta>'
ADOBE = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/><!-- Lightroom: rating 4, label red --></x:xmpmeta>'


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(path, "JPEG")
    return path


def _shoot(folder: Path) -> Path:
    """A card as a photographer keeps it: a darktable sidecar, an Adobe sidecar, and a raw + JPEG pair whose Adobe
    sidecar is the raw's."""
    _photo(folder / "IMG_0001.JPG")
    (folder / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)
    _photo(folder / "IMG_0002.JPG")
    (folder / "IMG_0002.xmp").write_bytes(ADOBE)
    _photo(folder / "IMG_0003.JPG")
    (folder / "IMG_0003.CR2").write_bytes(b"II*\x00raw")
    (folder / "IMG_0003.xmp").write_bytes(ADOBE)
    return folder


def _desnow(*args: str) -> tuple[int, dict, str]:
    code, out, err = invoke_command(desnow, "desnow", *args, "--json", "--device", "cpu", models=StandIn(Inverter))
    return code, json.loads(out), err


def test_sidecars_follow_their_photos_named_after_the_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both conventions are copied, named after the output (which keeps the input's name; ``--format`` changes its
    ending), a raw's Adobe sidecar is not, and the walk lists no sidecar as a skipped input."""
    monkeypatch.chdir(tmp_path)
    _shoot(tmp_path / "card")
    code, report, _ = _desnow("card")
    assert code == 0
    assert all(not row["path"].endswith(".xmp") for row in report["skipped"])  # only the raw is listed
    assert [Path(row["path"]).name for row in report["skipped"]] == ["IMG_0003.CR2"]
    out = tmp_path / "card_desnowed"
    assert (out / "IMG_0001.JPG.xmp").read_bytes() == DARKTABLE
    assert (out / "IMG_0002.xmp").read_bytes() == ADOBE
    assert not (out / "IMG_0003.xmp").exists()  # Adobe's IMG_0003.xmp belongs to IMG_0003.CR2
    code, report, _ = _desnow("card", "-o", "png", "--format", "png")
    assert code == 0
    assert (tmp_path / "png" / "IMG_0001.png.xmp").read_bytes() == DARKTABLE
    assert (tmp_path / "png" / "IMG_0002.xmp").read_bytes() == ADOBE
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "IMG_0001.png", "IMG_0001.png.xmp", "IMG_0002.png", "IMG_0002.xmp", "IMG_0003.png",
    ]  # fmt: skip


def test_a_sidecar_given_by_name_says_what_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _shoot(tmp_path / "card")
    code, report, _ = _desnow("card/IMG_0001.JPG", "card/IMG_0001.JPG.xmp", "-o", "out")
    assert code == 0
    assert [row["reason"] for row in report["skipped"]] == [
        "an XMP sidecar (photo metadata, not a picture), never processed itself; give its photo, whose own sidecars "
        "are copied beside its output (not with --in-place, where they stay as they are)"
    ]  # not "it is copied beside its photo's output": false in place, or for a raw's
    assert (tmp_path / "out" / "IMG_0001.JPG.xmp").read_bytes() == DARKTABLE


def test_a_folder_of_sidecars_only_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "IMG_0001.xmp").write_bytes(ADOBE)
    code, report, _ = _desnow("meta", "--dry-run")
    assert code == 0
    assert [row["reason"] for row in report["skipped"]] == [
        "nothing to do: it holds only XMP sidecars (photo metadata), no photos"
    ]


def test_an_existing_sidecar_that_differs_is_kept_even_under_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewer: ``--overwrite`` replaced the output's sidecar with the input's without a word, wiping the ratings
    and keywords given to the outputs. A differing one is kept, with a note saying how to take the input's."""
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "card" / "IMG_0001.JPG")
    (tmp_path / "card" / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)
    mine = tmp_path / "out" / "IMG_0001.JPG.xmp"
    mine.parent.mkdir()
    mine.write_bytes(b"ratings given to the output")
    code, report, _ = _desnow("card", "-o", "out")
    assert code == 0 and report["counts"]["done"] == 1
    assert mine.read_bytes() == b"ratings given to the output"
    kept = (
        "XMP sidecar IMG_0001.JPG.xmp not copied: IMG_0001.JPG.xmp beside the output differs from it and was kept "
        "(it may hold what was given to the output); to take the input's, copy it over by hand"
    )
    assert [row["note"] for row in report["notes"]] == [kept]
    code, _, _ = _desnow("card", "-o", "out")  # done: skipped, its sidecar left alone
    assert code == 0 and mine.read_bytes() == b"ratings given to the output"
    code, report, _ = _desnow("card", "-o", "out", "--overwrite")  # the output redone: its sidecar kept all the same
    assert code == 0 and report["counts"]["done"] == 1 and mine.read_bytes() == b"ratings given to the output"
    assert [row["note"] for row in report["notes"]] == [kept]


def test_an_identical_existing_sidecar_is_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: a rerun over outputs whose sidecars were copied by the first run said "kept" for each photo, though
    nothing differed."""
    monkeypatch.chdir(tmp_path)
    _shoot(tmp_path / "card")
    assert _desnow("card", "-o", "out")[0] == 0
    for photo in (tmp_path / "out").glob("*.JPG"):  # the outputs made again, beside the sidecars copied before
        photo.unlink()
    for more in ((), ("--overwrite",)):
        code, report, _ = _desnow("card", "-o", "out", *more)
        assert code == 0 and report["counts"]["done"] == 3
        assert [row["note"] for row in report["notes"] if "XMP sidecar IMG_" in row["note"]] == []
    assert (tmp_path / "out" / "IMG_0001.JPG.xmp").read_bytes() == DARKTABLE


def test_in_place_leaves_the_sidecars_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: in place the copy's name is the sidecar itself, so an unchanged sidecar proved nothing; the copy
    must not even be tried (it would rewrite each sidecar onto itself, or note that it "differs")."""
    monkeypatch.chdir(tmp_path)
    card = _shoot(tmp_path / "card")
    tried: list[Path] = []
    monkeypatch.setattr(handlers, "copy_sidecars", lambda source, *_a, **_k: tried.append(source) or [])
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in card.glob("*.xmp")}
    code, report, _ = _desnow("card", "--in-place")
    assert code == 0 and report["counts"]["done"] == 3
    assert tried == [] and [row for row in report["notes"] if row["path"] != "card"] == []  # none but IMG_0003.xmp's
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in card.glob("*.xmp")} == before
    assert sorted(os.listdir(card)) == [
        "IMG_0001.JPG", "IMG_0001.JPG.xmp", "IMG_0002.JPG", "IMG_0002.xmp", "IMG_0003.CR2", "IMG_0003.JPG",
        "IMG_0003.xmp",
    ]  # fmt: skip


def test_a_sidecar_that_cannot_be_written_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "card" / "IMG_0001.JPG")
    (tmp_path / "card" / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)

    def full(dest: Path, _data: bytes) -> None:
        raise OutputError(f"{dest}: cannot write (no space left on device)")

    monkeypatch.setattr(sidecars, "atomic_write", full)
    code, report, _ = _desnow("card", "-o", "out")
    assert code == 0 and report["ok"]
    assert (tmp_path / "out" / "IMG_0001.JPG").is_file()
    [note] = [row["note"] for row in report["notes"]]
    assert note == "XMP sidecar IMG_0001.JPG.xmp not copied: cannot write (no space left on device)"


def test_sidecar_copies_are_atomic_and_as_private_as_the_sidecar(tmp_path: Path) -> None:
    """Through the project's atomic write, with the sidecar's permissions less the umask, as ``cp`` gives."""
    src = _photo(tmp_path / "in" / "a.jpg")
    side = tmp_path / "in" / "a.jpg.xmp"
    side.write_bytes(DARKTABLE)
    side.chmod(0o600)
    out = tmp_path / "out" / "a.jpg"
    out.parent.mkdir()
    assert sidecars.copy_sidecars(src, out) == []
    copy = tmp_path / "out" / "a.jpg.xmp"
    assert copy.read_bytes() == DARKTABLE and copy.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["a.jpg.xmp"]  # no temporary file left


# --- --dry-run --in-place and videos ---------------------------------------------------------------------------


def _clip(path: Path, codec: str, pix_fmt: str, options: dict[str, str], *, alpha: bool = False) -> Path:
    """A 2-frame 64×48 clip of ``codec`` in ``pix_fmt`` (with ``alpha`` a matte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=25, options=options)
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        for i in range(2):
            x = np.full((48, 64, 4), 30000, np.uint16)
            x[..., 3] = 0 if alpha else 65535
            frame = av.VideoFrame.from_ndarray(x, format="rgba64le").reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return path


def _clips(folder: Path) -> dict[str, Path]:
    return {
        "matte": _clip(folder / "matte.mov", "prores_ks", "yuva444p10le", {"profile": "4"}, alpha=True),
        "master": _clip(folder / "master.mov", "prores_ks", "yuv422p10le", {"profile": "2"}),
        "delivery": _clip(folder / "delivery.mp4", "libx264", "yuv420p", {}),
    }


def _run_refusal(src: Path, options: VideoOptions | None = None) -> str | None:
    """What the run itself says of ``src`` in place (its reason, without the path), or None: it would be done."""
    try:
        process_video(src, tmp := src.with_name("x" + src.name), lambda f: f, options=options, replaces_input=True)
    except InputError as exc:
        return str(exc).removeprefix(f"{src}: ")
    finally:
        tmp.unlink(missing_ok=True)
    return None


def test_dry_run_in_place_fails_the_videos_the_run_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the run's own reasons (its own test, video_stream.in_place_loss), and exit code 1; an H.264 clip is kept."""
    monkeypatch.chdir(tmp_path)
    clips = _clips(tmp_path / "v")
    code, report, err = _desnow("v", "--in-place", "--dry-run")
    assert code == 1 and report["exit_code"] == 1
    assert [row["input"] for row in report["jobs"]] == ["v/delivery.mp4"]
    failed = {Path(row["path"]).name: row["reason"] for row in report["failed"]}
    assert set(failed) == {"matte.mov", "master.mov"}
    for name in ("matte", "master"):
        reason = _run_refusal(clips[name])
        assert reason is not None and reason.startswith("--in-place would lose its ")
        assert failed[f"{name}.mov"] == reason
    assert "alpha channel" in failed["matte.mov"] and "ProRes 422 master" in failed["master.mov"]
    assert _run_refusal(clips["delivery"]) is None


def test_dry_run_in_place_judges_videos_with_the_runs_codec(tmp_path: Path) -> None:
    """``--codec prores_ks`` keeps a ProRes master in place: the dry run must not fail it then."""
    clips = _clips(tmp_path / "v")
    keep = VideoOptions(codec="prores_ks")
    plan = plan_media([tmp_path / "v"], tag="desnowed", in_place=True)
    fail_in_place_losses(plan, keep)
    assert sorted(job.source.name for job in plan.jobs) == ["delivery.mp4", "master.mov"]
    assert [r.path.name for r in plan.failed] == ["matte.mov"]
    assert _run_refusal(clips["master"], keep) is None


def test_the_dry_run_command_passes_its_codec_to_the_video_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command, not only the library call: ``--dry-run --in-place --codec prores_ks`` judged the videos with
    the default encoders and failed a ProRes master that the run would do."""
    monkeypatch.chdir(tmp_path)
    _clips(tmp_path / "v")["delivery"].unlink()  # an MP4, which --codec prores_ks cannot be written into
    code, report, _err = _desnow("v", "--in-place", "--dry-run", "--codec", "prores_ks")
    assert [Path(row["path"]).name for row in report["failed"]] == ["matte.mov"], report["failed"]
    assert code == 1


def test_dry_run_in_place_fails_an_unreadable_video_as_the_run_does(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    broken = tmp_path / "v" / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\xff" * 200)
    plan = plan_media([tmp_path / "v"], tag="desnowed", in_place=True)
    fail_in_place_losses(plan)
    assert plan.jobs == []
    [record] = plan.failed
    with pytest.raises(InputError) as run:
        process_video(broken, tmp_path / "x.mp4", lambda f: f)
    assert record.why == str(run.value).removeprefix(f"{broken}: ")


# --- review findings: long names, case, unmatched sidecars ----------------------------------------------------------


def test_a_photo_whose_sidecar_name_would_be_too_long_is_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: a 252-byte photo name failed after its output was written: looking for NAME.xmp (256 bytes) raised
    ENAMETOOLONG on Python 3.11. Its Adobe sidecar (the stem's, 252 bytes) is copied."""
    monkeypatch.chdir(tmp_path)
    stem = "s" * 248
    _photo(tmp_path / "card" / f"{stem}.jpg")
    (tmp_path / "card" / f"{stem}.xmp").write_bytes(ADOBE)
    code, report, _ = _desnow("card", "-o", "out")
    assert code == 0 and report["counts"]["done"] == 1, report["failed"]
    assert (tmp_path / "out" / f"{stem}.jpg").is_file()
    assert (tmp_path / "out" / f"{stem}.xmp").read_bytes() == ADOBE


def _with_timeout(call: Callable[[], list[str]], seconds: float = 10) -> list[str]:
    """``call()`` in a thread, failing the test rather than hanging it (a FIFO read blocks until a writer comes)."""
    out: list[list[str]] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, f"still waiting after {seconds} s"
    return out[0]


def test_nothing_in_sidecar_copying_fails_a_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: a FIFO named like a sidecar hung the run forever (read whole in the writer thread); a link to
    /dev/zero, or a huge file, was read whole: out of memory, and the photo already written counted as failed.
    Each is a note now, and every photo is done."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    for i in range(1, 6):
        _photo(card / f"IMG_000{i}.JPG")
    os.mkfifo(card / "IMG_0001.JPG.xmp")
    os.symlink("/dev/zero", card / "IMG_0002.JPG.xmp")
    with open(card / "IMG_0003.JPG.xmp", "wb") as huge:  # sparse: 17 MiB named like a sidecar, nothing on disk
        huge.truncate(17 * 2**20)
    (card / "IMG_0004.JPG.xmp").symlink_to(tmp_path / "gone.xmp")
    unreadable = Path("/proc/self/mem")  # a regular file whose read fails (EIO): root reads a chmod 000 file
    if unreadable.exists():
        (card / "IMG_0005.JPG.xmp").symlink_to(unreadable)
    code, report, _ = _with_timeout(lambda: _desnow("card", "-o", "out"))  # type: ignore[arg-type,return-value]
    assert code == 0 and report["counts"] == {"done": 5, "skipped": 0, "failed": 0, "not_done": 0}, report["failed"]
    notes = {Path(row["path"]).name: row["note"] for row in report["notes"]}
    head = "XMP sidecar IMG_000{}.JPG.xmp not copied: "
    assert notes["IMG_0001.JPG"] == head.format(1) + "not a regular file (a FIFO)"
    assert notes["IMG_0002.JPG"] == head.format(2) + "not a regular file (a character device)"
    assert notes["IMG_0003.JPG"] == head.format(3) + "larger than 16 MiB, more than a sidecar holds; check what it is"
    assert notes["IMG_0004.JPG"] == head.format(4) + f"broken symbolic link to {tmp_path / 'gone.xmp'}"
    if unreadable.exists():
        assert notes["IMG_0005.JPG"] == head.format(5) + "it cannot be read (input/output error)"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"IMG_000{i}.JPG" for i in range(1, 6)]


def test_a_fifo_at_the_copys_name_is_not_waited_on(tmp_path: Path) -> None:
    """The file already at the copy's name is compared with the sidecar: a FIFO there hung the run too."""
    src = _photo(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "a.jpg.xmp").write_bytes(DARKTABLE)
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "a.jpg.xmp")
    assert _with_timeout(lambda: sidecars.copy_sidecars(src, tmp_path / "out" / "a.jpg")) == [
        "XMP sidecar a.jpg.xmp not copied: a.jpg.xmp beside the output was kept (not a regular file (a FIFO))"
    ]


def test_a_grown_sidecar_is_read_no_further_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its size is checked on what was opened, and the read stops past the limit: a file that grows after it was
    looked at (a log written into) is not read whole."""
    monkeypatch.setattr(sidecars, "MOST_SIDECAR_BYTES", 1000)
    side = tmp_path / "a.jpg.xmp"
    side.write_bytes(b"x" * 1001)
    with pytest.raises(sidecars._Unreadable, match="larger than"):
        sidecars._read_small(side)
    monkeypatch.setattr(sidecars, "_refuse", lambda _info: None)  # as if it grew between the look and the read
    with pytest.raises(sidecars._Unreadable, match="larger than"):
        sidecars._read_small(side)


def test_sidecars_are_matched_ignoring_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: ``.Xmp``, ``img_0002.jpg.xmp`` beside ``IMG_0002.JPG``, and ``.xmp`` beside ``.XMP`` were neither
    copied nor mentioned."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    _photo(card / "IMG_0001.JPG")
    (card / "IMG_0001.Xmp").write_bytes(ADOBE)
    _photo(card / "IMG_0002.JPG")
    (card / "img_0002.jpg.xmp").write_bytes(DARKTABLE)
    _photo(card / "IMG_0003.JPG")
    (card / "IMG_0003.JPG.XMP").write_bytes(b"old")  # sorts first ("X" < "x"): the pick is not by name
    (card / "IMG_0003.JPG.xmp").write_bytes(DARKTABLE)
    os.utime(card / "IMG_0003.JPG.XMP", (1_000_000_000, 1_000_000_000))  # the .xmp was changed last
    assert sorted(os.listdir(card))[4:6] == ["IMG_0003.JPG.XMP", "IMG_0003.JPG.xmp"]
    code, report, _ = _desnow("card", "-o", "out")
    assert code == 0
    out = tmp_path / "out"
    assert (out / "IMG_0001.Xmp").read_bytes() == ADOBE
    assert (out / "IMG_0002.JPG.xmp").read_bytes() == DARKTABLE
    assert (out / "IMG_0003.JPG.xmp").read_bytes() == DARKTABLE and not (out / "IMG_0003.JPG.XMP").exists()
    assert [row["note"] for row in report["notes"]] == [
        "XMP sidecars IMG_0003.JPG.xmp, IMG_0003.JPG.XMP differ only in case: copied IMG_0003.JPG.xmp, the one "
        "changed last; merge the others into it by hand"
    ]


def test_an_exact_name_wins_over_a_case_match_on_a_case_sensitive_disk(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    upper, lower = _photo(folder / "IMG_1.JPG"), _photo(folder / "img_1.jpg")
    (folder / "img_1.jpg.xmp").write_bytes(DARKTABLE)
    assert [s.path.name for s in sidecars.sidecars_of(lower)] == ["img_1.jpg.xmp"]
    assert sidecars.sidecars_of(upper) == []


def test_one_note_names_the_sidecars_no_photo_took(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: sidecars the walk passed over and no photo took were silently dropped. One note for the run: an
    orphan and a darktable duplicate's, which name no picture; not a raw's Adobe sidecar (its stem shared with the
    JPEG): it belongs to the raw, and a RAW+JPEG card would get that note on every run."""
    monkeypatch.chdir(tmp_path)
    card = _shoot(tmp_path / "card")
    (card / "deleted.xmp").write_bytes(ADOBE)
    (card / "IMG_0001_01.JPG.xmp").write_bytes(DARKTABLE)
    code, report, _ = _desnow("card", "-o", "out")
    assert code == 0
    assert report["notes"] == [
        {
            "path": "card",
            "note": "2 XMP sidecars matched no photo or video and were not copied: IMG_0001_01.JPG.xmp, deleted.xmp "
            "(a deleted photo's, a darktable duplicate's, or one named unlike its photo: name it IMG.JPG.xmp or "
            "IMG.xmp after its photo)",
        }
    ]
    assert [Path(row["path"]).name for row in report["skipped"]] == ["IMG_0003.CR2"]
    code, report, _ = _desnow("card", "-o", "out")  # done and skipped: their sidecars matched, not named
    assert code == 0 and len(report["notes"]) == 1 and report["notes"][0]["note"].startswith("2 XMP")


# --- drones and action cameras -------------------------------------------------------------------------------------

SRT = b"1\n00:00:00,000 --> 00:00:00,040\n[latitude: 46.5] [altitude: 2100.0] [iso: 100]\n"


def _h264(path: Path) -> Path:
    return _clip(path, "libx264", "yuv420p", {})


def test_a_drones_flight_log_goes_with_its_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DJI writes DJI_0001.MP4 + DJI_0001.SRT (GPS, altitude, exposure per frame): the SRT was skipped as "not an
    image or video file" and the cleaned clip lost its flight log. Its .LRF proxy does not make the stem shared."""
    monkeypatch.chdir(tmp_path)
    _h264(tmp_path / "dji" / "DJI_0001.MP4")
    (tmp_path / "dji" / "DJI_0001.SRT").write_bytes(SRT)
    (tmp_path / "dji" / "DJI_0001.LRF").write_bytes(b"proxy")
    (tmp_path / "dji" / "DJI_0009.SRT").write_bytes(SRT)  # its clip is gone: still a skipped row
    code, report, _ = _desnow("dji", "-o", "out")
    assert code == 0 and report["counts"]["done"] == 1
    assert (tmp_path / "out" / "DJI_0001.SRT").read_bytes() == SRT
    assert not (tmp_path / "out" / "DJI_0001.LRF").exists()
    rows = {Path(row["path"]).name: row["reason"] for row in report["skipped"]}
    assert set(rows) == {"DJI_0001.LRF", "DJI_0009.SRT"}
    assert rows["DJI_0001.LRF"] == "a DJI low-resolution proxy (LRF) of DJI_0001.MP4; not processed"


def test_action_camera_files_say_what_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gopro = tmp_path / "gopro"
    gopro.mkdir()
    for name in ("GX010001.MP4", "GL010001.LRV", "GX010001.THM", "VID_20240101_000001.insv"):
        (gopro / name).write_bytes(b"\x00" * 64)
    code, report, _ = _desnow("gopro", "--dry-run")
    rows = {Path(row["path"]).name: row["reason"] for row in report["skipped"]}
    assert rows == {
        "GL010001.LRV": "a GoPro low-resolution proxy (LRV) of GX010001.MP4; not processed",
        "GX010001.THM": "a camera's thumbnail (THM) of GX010001.MP4; not processed",
        "VID_20240101_000001.insv": "an Insta360 360° video (.insv), not supported; export it to MP4 (Insta360 "
        "Studio) first",
    }


def test_in_place_notes_the_proxies_that_still_show_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = _h264(tmp_path / "gopro" / "GX010001.MP4")
    for name in ("GL010001.LRV", "GX010001.THM", "GX010001.SRT"):
        (clip.parent / name).write_bytes(b"x")
    code, report, _ = _desnow("gopro", "--in-place")
    assert code == 0 and report["counts"]["done"] == 1
    notes = [row["note"] for row in report["notes"] if row["path"] == "gopro/GX010001.MP4"]
    assert (
        "GL010001.LRV, GX010001.THM beside it still show the original clip (a camera's proxy or thumbnail, not "
        "processed); delete them, or let the camera's app make them again"
    ) in notes
    assert sorted(os.listdir(clip.parent)) == ["GL010001.LRV", "GX010001.MP4", "GX010001.SRT", "GX010001.THM"]


def test_gopro_pairs_are_made_in_one_place(tmp_path: Path) -> None:
    """Reviewer: the GL ↔ GX/GH pairing was written twice (the skip reason's clip, the in-place proxies note)."""
    gopro = tmp_path / "gopro"
    gopro.mkdir()
    for name in ("GH010002.MP4", "gl010002.lrv", "GX010001.MP4", "GL010001.LRV", "GX010001.THM", "GOPR0003.LRV"):
        (gopro / name).write_bytes(b"x")
    assert sidecars.clip_of_proxy(gopro / "GL010001.LRV") == "GX010001.MP4"
    assert sidecars.clip_of_proxy(gopro / "gl010002.lrv") == "GH010002.MP4"
    assert sidecars.clip_of_proxy(gopro / "GX010001.THM") == "GX010001.MP4"
    assert sidecars.clip_of_proxy(gopro / "GOPR0003.LRV") is None
    assert [p.name for p in sidecars.proxies_of(gopro / "GX010001.MP4")] == ["GL010001.LRV", "GX010001.THM"]
    assert [p.name for p in sidecars.proxies_of(gopro / "GH010002.MP4")] == ["gl010002.lrv"]


# --- second review: listings, names, reasons -------------------------------------------------------------------------


def test_outputs_written_into_the_input_folder_do_not_relist_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewer: the listing was taken again whenever the folder's time changed, so ``-o`` into the input folder (or
    a sync client writing there) listed the whole folder once per photo: 10,000 photos took 6 minutes to list."""
    sidecars.clear_listings()
    card = tmp_path / "card"
    card.mkdir()
    for i in range(40):
        (card / f"IMG_{i:04d}.JPG").write_bytes(b"x")
        (card / f"IMG_{i:04d}.JPG.xmp").write_bytes(DARKTABLE)
    listed: list[str] = []
    listing = sidecars._Listing
    monkeypatch.setattr(sidecars, "_Listing", lambda *a: listed.append(os.fspath(card)) or listing(*a))
    for i in range(40):
        out = card / f"IMG_{i:04d}.png"
        out.write_bytes(b"y")  # the folder's time moves with each output
        assert sidecars.copy_sidecars(card / f"IMG_{i:04d}.JPG", out) == []
        assert (card / f"IMG_{i:04d}.png.xmp").read_bytes() == DARKTABLE
    assert listed == [os.fspath(card)]


def test_two_folders_of_one_name_are_two_listings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: listings were kept by the path as given, so ``card`` from two working folders was one listing (on
    a disk that keeps whole seconds, the first one's was used for the second)."""
    sidecars.clear_listings()
    a, b = tmp_path / "x" / "card", tmp_path / "y" / "card"
    _photo(a / "IMG.JPG")
    _photo(b / "IMG.JPG")
    (b / "IMG.JPG.xmp").write_bytes(DARKTABLE)
    os.utime(a, ns=(0, os.stat(b).st_mtime_ns))
    monkeypatch.chdir(a.parent)
    assert sidecars.sidecars_of(Path("card/IMG.JPG")) == []
    monkeypatch.chdir(b.parent)
    assert [s.path.name for s in sidecars.sidecars_of(Path("card/IMG.JPG"))] == ["IMG.JPG.xmp"]


def test_each_batch_lists_its_folders_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listings are kept for a run, not forever: a process that runs batch after batch (a server, these tests)
    sees a sidecar added between them, and one added while a batch runs waits for the next listing."""
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "card" / "IMG_0001.JPG")
    assert _desnow("card", "-o", "out")[0] == 0
    assert not (tmp_path / "out" / "IMG_0001.JPG.xmp").exists()
    (tmp_path / "card" / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)  # rated in darktable since
    code, report, _ = _desnow("card", "-o", "out", "--overwrite")
    assert code == 0 and report["counts"]["done"] == 1
    assert (tmp_path / "out" / "IMG_0001.JPG.xmp").read_bytes() == DARKTABLE
    (tmp_path / "card" / "IMG_0002.JPG.xmp").write_bytes(DARKTABLE)
    _photo(tmp_path / "card" / "IMG_0002.JPG")
    assert sidecars.sidecars_of(tmp_path / "card" / "IMG_0002.JPG") == []  # the listing of the batch before
    monkeypatch.setattr(sidecars, "_LISTING_SECONDS", 0.0)  # a long-lived caller outside a batch: taken again
    assert [s.path.name for s in sidecars.sidecars_of(tmp_path / "card" / "IMG_0002.JPG")] == ["IMG_0002.JPG.xmp"]


def test_a_copy_name_too_long_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: the note began with the copy's full path and was cut at 160 characters, so a long name lost its
    reason; the note gives the reason alone. Written through a failing write too (whatever the write says)."""
    monkeypatch.chdir(tmp_path)
    stem = "s" * 247
    _photo(tmp_path / "card" / f"{stem}.jpg")
    (tmp_path / "card" / f"{stem}.jpg.xmp").write_bytes(DARKTABLE)  # 255 bytes: the longest name
    code, report, _ = _desnow("card", "-o", "out", "--format", "webp")  # its copy: {stem}.webp.xmp, 256 bytes
    assert code == 0 and report["counts"]["done"] == 1
    [note] = [row["note"] for row in report["notes"]]
    assert note == (
        f"XMP sidecar {stem}.jpg.xmp not copied: its copy's name would be too long (256 bytes, over the file "
        "system's 255-byte limit); shorten the photo's name"
    )
    dest = tmp_path / "deep" / ("d" * 200) / "a.jpg"
    src = _photo(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "a.jpg.xmp").write_bytes(DARKTABLE)

    def full(path: Path, _data: bytes) -> None:
        raise OutputError(f"{path}: cannot write (no space left on device)")

    monkeypatch.setattr(sidecars, "atomic_write", full)
    assert sidecars.copy_sidecars(src, dest) == [
        "XMP sidecar a.jpg.xmp not copied: cannot write (no space left on device)"
    ]


def test_a_hidden_photo_given_by_name_keeps_its_sidecar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: every name starting with "." was left out of the listing, so ``card/.IMG_0001.JPG`` given by name
    lost its sidecar without a word. Only macOS's AppleDouble files (``._*``) are left out."""
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "card" / ".IMG_0001.JPG")
    (tmp_path / "card" / ".IMG_0001.JPG.xmp").write_bytes(DARKTABLE)
    (tmp_path / "card" / "._.IMG_0001.JPG.xmp").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    code, report, _ = _desnow("card/.IMG_0001.JPG", "-o", "out")
    assert code == 0 and report["counts"]["done"] == 1 and report["notes"] == []
    assert (tmp_path / "out" / ".IMG_0001.JPG.xmp").read_bytes() == DARKTABLE
    assert sorted(os.listdir(tmp_path / "out")) == [".IMG_0001.JPG", ".IMG_0001.JPG.xmp"]


def test_only_pictures_make_a_stem_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: an iPhone's edit list (``IMG_0001.AAE``), a camera's voice memo (``IMG_0002.WAV``) or a folder named
    like the stem kept the Adobe sidecar from its photo, and the note called it "matched no photo". A raw, another
    format of the photo, or a video still do."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    for i, other in enumerate(("IMG_0001.AAE", "IMG_0002.WAV", "IMG_0003", "IMG_0004.NEF", "IMG_0005.MOV"), 1):
        _photo(card / f"IMG_000{i}.JPG")
        (card / f"IMG_000{i}.xmp").write_bytes(ADOBE)
        if "." in other:
            (card / other).write_bytes(b"x")
        else:
            (card / other).mkdir()
    code, report, _ = _desnow("card", "-o", "out")
    assert report["counts"]["done"] == 5, report["failed"]
    for i in (1, 2, 3):
        assert (tmp_path / "out" / f"IMG_000{i}.xmp").read_bytes() == ADOBE
    assert not (tmp_path / "out" / "IMG_0004.xmp").exists() and not (tmp_path / "out" / "IMG_0005.xmp").exists()
    # the raw's Adobe sidecar belongs to it: not copied beside the JPEG, and not named; one a JPEG and a clip share
    # (a Live Photo's pair) is neither's alone: not copied, and named
    [note] = [row["note"] for row in report["notes"] if "matched no photo" in row["note"]]
    assert note.startswith("1 XMP sidecar matched no photo or video and was not copied: IMG_0005.xmp"), note
    assert sidecars.is_picture_name("IMG_0001.CR3") and not sidecars.is_picture_name("IMG_0001.AAE")


def test_names_are_matched_in_either_unicode_form(tmp_path: Path) -> None:
    """Reviewer: a Mac's disk hands back decomposed names (``e`` + U+0301), while a name typed or made elsewhere is
    composed: the keys are NFC-normalised before they are casefolded."""
    sidecars.clear_listings()
    folder = tmp_path / "in"
    nfc, nfd = unicodedata.normalize("NFC", "Été"), unicodedata.normalize("NFD", "Été")
    assert nfc != nfd
    src = _photo(folder / f"{nfc}.jpg")
    (folder / f"{nfd}.jpg.xmp").write_bytes(DARKTABLE)
    (folder / f"{nfd}.xmp").write_bytes(ADOBE)
    assert sorted(s.path.name for s in sidecars.sidecars_of(src)) == sorted([f"{nfd}.jpg.xmp", f"{nfd}.xmp"])


def test_sidecars_of_pictures_the_run_does_not_take_are_not_called_unmatched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewer: the note called a sidecar "matched no photo" when its photo failed at planning (a FIFO named like
    it) or when a quoted pattern of sidecars alone matched no photo, although each photo lay beside its sidecar."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    _photo(card / "IMG_0001.JPG")
    os.mkfifo(card / "IMG_0002.JPG")
    for name in ("IMG_0001.JPG.xmp", "IMG_0002.JPG.xmp"):
        (card / name).write_bytes(DARKTABLE)
    _code, report, _ = _desnow("card", "-o", "out")
    assert [Path(r["path"]).name for r in report["failed"]] == ["IMG_0002.JPG"]
    assert not [n for n in report["notes"] if "matched no photo" in n["note"]], report["notes"]
    _code, report, _ = _desnow("card/*.xmp", "-o", "out2")
    assert not [n for n in report["notes"] if "matched no photo" in n["note"]], report["notes"]
    assert [r["reason"] for r in report["skipped"]] == [inputs.ONLY_SIDECARS_MATCHED]


def test_each_plan_lists_its_folders_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that plans batch after batch in one process (a server): a photo and its sidecar added between two
    plans were seen through the first plan's listing, and the new sidecar named as matching no photo."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    _photo(card / "IMG_0001.JPG")
    (card / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)
    _desnow("card", "-o", "out", "--dry-run")  # lists card/ (a sidecar was passed over)
    _photo(card / "IMG_0002.JPG")
    (card / "IMG_0002.JPG.xmp").write_bytes(DARKTABLE)
    plan = plan_media([card], tag="desnowed")
    assert not [n for n in plan.notes if "matched no photo" in n.reason], plan.notes


def test_a_quoted_pattern_of_sidecars_alone_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: ``'card/*.xmp'`` printed "0 done, 0 skipped, 0 failed" and nothing else."""
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "card" / "IMG_0001.JPG")
    (tmp_path / "card" / "IMG_0001.JPG.xmp").write_bytes(DARKTABLE)
    code, report, _ = _desnow("card/*.xmp", "-o", "out")
    assert code == 0 and [(r["path"], r["reason"]) for r in report["skipped"]] == [
        ("card/*.xmp", inputs.ONLY_SIDECARS_MATCHED)
    ]


def test_an_adobe_sidecar_two_photos_share_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: ``IMG_0001.JPG`` and ``IMG_0001.png`` beside ``IMG_0001.xmp``: it is neither's alone, so it is not
    copied, and it was not named either; a raw's stays unnamed (it is the raw's)."""
    monkeypatch.chdir(tmp_path)
    card = tmp_path / "card"
    _photo(card / "IMG_0001.JPG")
    Image.open(card / "IMG_0001.JPG").save(card / "IMG_0001.png")
    (card / "IMG_0001.xmp").write_bytes(ADOBE)
    _code, report, _ = _desnow("card", "-o", "out")
    [note] = [n["note"] for n in report["notes"] if "matched no photo" in n["note"]]
    assert note.startswith("1 XMP sidecar matched no photo or video and was not copied: IMG_0001.xmp"), note


def test_a_still_beside_a_clip_leaves_it_its_flight_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: ``DJI_0002.JPG`` (a still exported under the clip's name) kept ``DJI_0002.SRT`` from
    ``DJI_0002.MP4``: a photo never owns an SRT."""
    monkeypatch.chdir(tmp_path)
    _h264(tmp_path / "dji" / "DJI_0002.MP4")
    (tmp_path / "dji" / "DJI_0002.SRT").write_bytes(SRT)
    _photo(tmp_path / "dji" / "DJI_0002.JPG")
    code, report, _ = _desnow("dji", "-o", "out")
    assert code == 0 and (tmp_path / "out" / "DJI_0002.SRT").read_bytes() == SRT
    assert not report["skipped"], report["skipped"]


def test_matching_sidecars_costs_a_lookup_each_not_a_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: each sidecar walked its whole folder's listing: 5,000 photos with 5,000 sidecars took three minutes
    to plan. Counted in calls of the name key: a few per sidecar, not the folder's size."""
    card = tmp_path / "card"
    card.mkdir()
    n = 300
    for i in range(n):
        (card / f"IMG_{i:04d}.JPG").write_bytes(b"\xff\xd8")
        (card / f"IMG_{i:04d}.JPG.xmp").write_bytes(DARKTABLE)
    calls = [0]
    real = inputs.name_key

    def counted(name: str) -> str:
        calls[0] += 1
        return real(name)

    monkeypatch.setattr(inputs, "name_key", counted)
    inputs.expand_inputs([card], accept=lambda p: p.suffix == ".JPG", kind="an image file", tag="desnowed")
    assert calls[0] < 10 * n, calls[0]
