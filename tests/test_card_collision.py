"""A second camera card run into the same ``-o``: its ``IMG_0001.JPG`` maps onto the output the first card's
``IMG_0001.JPG`` wrote. Before, it was skipped as done (exit code 0, the photo never processed), or, being newer,
replaced by ``--update`` (the first card's result lost). Now an existing photo output whose EXIF capture identity
differs from its input's fails the job, in the plan (``--dry-run``, ``--json``) and in the run, and only
``--overwrite`` replaces it. Outputs without that EXIF are judged by their dates, as before. Another camera serial
is another photo; an equal ImageUniqueID that looks unique (32 hex digits, a UUID) is the same photo when its
capture time was shifted since; another ID, or a capture time alone that differs, fails, saying both what it may
be. The EXIF is compared byte for byte, whatever format the output is in. The runner looks again before the model
and replaces only the output it judged (another run's written meanwhile is kept).

Modification times are set with ``os.utime``, never by sleeping.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from synthetic import Inverter, StandIn, invoke_command, make_video
from weatherclean.batch import OutputFormat, Restoration, job_handler, plan_jobs, run_jobs
from weatherclean.batch import jobs as batch_jobs
from weatherclean.batch.jobs import other_photo
from weatherclean.batch.plan import plan_media
from weatherclean.batch.run import Pipeline
from weatherclean.cli import desnow
from weatherclean.errors import InputError, OutputError
from weatherclean.io.images import normalise_format
from weatherclean.io.images.capture import capture_of
from weatherclean.io.images.exif import exif_blob

_FIRST = "2024:01:05 10:00:00"
_SECOND = "2024:02:01 09:30:00"


@pytest.fixture
def loads() -> StandIn:
    return StandIn(Inverter)


def _exif(taken: str, **more: str | bytes) -> bytes:
    """An EXIF block (``Exif\\0\\0`` and a little-endian TIFF structure) whose Exif IFD holds DateTimeOriginal
    ``taken`` and the tags ``more`` (``subsec``, ``serial``, ``unique_id``), each typed ASCII as cameras write
    them, NUL-terminated; bytes go in as they are (a serial with a byte over 0x7F)."""
    tags = {"taken": 0x9003, "subsec": 0x9291, "unique_id": 0xA420, "serial": 0xA431}
    sub = {}
    for name, value in {"taken": taken, **more}.items():
        raw = (value if isinstance(value, bytes) else value.encode()) + b"\x00"
        sub[tags[name]] = (2, len(raw), raw)
    blob = exif_blob("<", {0x8769: (4, 1, sub)})
    assert blob is not None
    return blob


def _photo(path: Path, taken: str | None, seed: int, **more: str | bytes) -> Path:
    """A small JPEG at ``path`` with the EXIF of :func:`_exif` (``taken`` None: no EXIF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (np.random.default_rng(seed).random((24, 32, 3)) * 255).astype(np.uint8)
    if taken is None:
        Image.fromarray(arr).save(path)
        return path
    Image.fromarray(arr).save(path, exif=_exif(taken, **more))
    return path


def _invoke(*args: str, models: StandIn) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=models)


def _taken(path: Path) -> str | None:
    capture = capture_of(path)
    return capture.taken.decode() if capture is not None and capture.taken is not None else None


def _invert(image: object) -> np.ndarray:
    return 1.0 - image.pixels  # type: ignore[attr-defined]


def _newer(path: Path, than: Path) -> None:
    """Date ``path`` a minute after ``than`` (the input edited, or copied in, since its output)."""
    after = os.stat(than).st_mtime + 60
    os.utime(path, (after, after))


def _cards(tmp_path: Path, loads: StandIn) -> tuple[Path, Path, Path]:
    """card1 run into ``out``; card2 holds another photo under the same name: (card1, card2, out)."""
    card1, card2, out = tmp_path / "card1", tmp_path / "card2", tmp_path / "out"
    _photo(card1 / "IMG_0001.JPG", _FIRST, 1)
    _photo(card2 / "IMG_0001.JPG", _SECOND, 2)
    code, _, stderr = _invoke(str(card1), "-o", str(out), models=loads)
    assert code == 0, stderr
    assert _taken(out / "IMG_0001.JPG") == _FIRST  # outputs keep their input's EXIF: what the check relies on
    return card1, card2, out


def test_a_second_card_into_the_same_output_fails_its_photo_and_keeps_the_first(tmp_path: Path, loads: StandIn) -> None:
    """The tester's finding: the second card's IMG_0001.JPG was skipped as "output exists", exit code 0."""
    _, card2, out = _cards(tmp_path, loads)
    before = (out / "IMG_0001.JPG").read_bytes()
    code, stdout, stderr = _invoke(str(card2), "-o", str(out), models=loads)
    assert code == 1
    assert "0 done, 0 skipped, 1 failed" in stdout
    line = " ".join(stderr.split())
    assert (
        f"has another capture time ({_FIRST}) than this input ({_SECOND}): another card's same-named photo, or "
        "the input's capture time was changed since; --overwrite redoes it, or give another -o DIR" in line
    )
    assert str(out / "IMG_0001.JPG") in line
    assert (out / "IMG_0001.JPG").read_bytes() == before


def test_update_never_replaces_another_photos_output(tmp_path: Path, loads: StandIn) -> None:
    """card2's file is newer than card1's output: it looked "changed since", and ``--update`` replaced it."""
    _, card2, out = _cards(tmp_path, loads)
    _newer(card2 / "IMG_0001.JPG", out / "IMG_0001.JPG")
    code, stdout, _ = _invoke(str(card2), "-o", str(out), "--update", "--json", models=loads)
    assert code == 1
    report = json.loads(stdout)
    assert report["done"] == [] and report["skipped"] == [] and report["ok"] is False
    (failure,) = report["failed"]
    assert failure["path"] == str(card2 / "IMG_0001.JPG")
    assert failure["reason"].startswith(f"output {out / 'IMG_0001.JPG'} has another capture time ({_FIRST}) than")
    assert _taken(out / "IMG_0001.JPG") == _FIRST  # card1's result is still there


def test_dry_run_shows_the_failure_with_its_exit_code(tmp_path: Path, loads: StandIn) -> None:
    """Asserted on ``--json`` and on the one-line error on stderr: the table wraps the reason by the terminal's
    width and the path's length (under xdist, tmp paths are longer), so no test reads it."""
    _, card2, out = _cards(tmp_path, loads)
    _newer(card2 / "IMG_0001.JPG", out / "IMG_0001.JPG")
    code, stdout, _ = _invoke(str(card2), "-o", str(out), "--update", "--dry-run", "--json", models=loads)
    report = json.loads(stdout)
    assert code == 1 and report["exit_code"] == 1 and report["jobs"] == []
    assert "has another capture time" in report["failed"][0]["reason"]
    code, _, stderr = _invoke(str(card2), "-o", str(out), "--dry-run", models=loads)
    assert code == 1
    assert f"error: {card2 / 'IMG_0001.JPG'}: output {out / 'IMG_0001.JPG'} has another capture time" in stderr


def test_overwrite_still_replaces_it(tmp_path: Path, loads: StandIn) -> None:
    """The user asked: ``--overwrite`` redoes every output, another photo's included."""
    _, card2, out = _cards(tmp_path, loads)
    code, stdout, stderr = _invoke(str(card2), "-o", str(out), "--overwrite", models=loads)
    assert code == 0, stderr
    assert "1 done" in stdout
    assert _taken(out / "IMG_0001.JPG") == _SECOND


def test_a_rerun_of_the_same_card_is_still_skipped_as_done(tmp_path: Path, loads: StandIn) -> None:
    """No false alarm: an output made from its own input (same time, fraction of a second and serial) is done."""
    card, out = tmp_path / "card", tmp_path / "out"
    _photo(card / "IMG_0001.JPG", _FIRST, 1, subsec="25", serial="0123", unique_id="abc")
    _photo(card / "IMG_0002.JPG", _FIRST, 2, subsec="50", serial="0123")  # a burst: the same second
    assert _invoke(str(card), "-o", str(out), models=loads)[0] == 0
    code, stdout, stderr = _invoke(str(card), "-o", str(out), models=loads)
    assert (code, stderr) == (0, "")
    assert "0 done, 2 skipped, 0 failed" in stdout
    _newer(card / "IMG_0002.JPG", out / "IMG_0002.JPG")  # edited since: --update redoes it, as before
    code, stdout, _ = _invoke(str(card), "-o", str(out), "--update", models=loads)
    assert code == 0 and "1 done, 1 skipped, 0 failed" in stdout


@pytest.mark.parametrize(
    ("theirs", "ours", "told"),
    [
        ({"subsec": "25"}, {"subsec": "50"}, f"has another capture time ({_FIRST}.25) than this input ({_FIRST}.50)"),
        ({"serial": "111"}, {"serial": "222"}, "was shot by another camera (serial 111) than this input (serial 222)"),
        (
            {"unique_id": "a1"},
            {"unique_id": "b2"},
            "has another image ID (a1) than this input (b2): another card's same-named photo, or an editor gave the "
            "input a new image ID since; --overwrite redoes it, or give another -o DIR",
        ),
    ],
)
def test_the_same_second_on_another_body_or_frame_is_another_photo(
    tmp_path: Path, theirs: dict[str, str], ours: dict[str, str], told: str
) -> None:
    """Two bodies of one model shoot the same names, at the same second too (a wedding's two shooters); a
    burst's frames share the second and differ in its fraction."""
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1, **theirs)
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _FIRST, 2, **ours)
    reason = other_photo(out, src)
    assert reason is not None and told in reason


def test_fields_only_one_file_holds_are_not_compared(tmp_path: Path) -> None:
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1, subsec="25")
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _FIRST, 2, serial="222")
    assert other_photo(out, src) is None


@pytest.mark.parametrize("which", ["output", "input"])
def test_without_exif_on_either_side_outputs_are_judged_as_before(tmp_path: Path, which: str) -> None:
    """A stripped or edited output, a PNG, an input without EXIF: skipped as done, as before (exit code 0)."""
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", None if which == "input" else _SECOND, 2)
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", None if which == "output" else _FIRST, 1)
    os.utime(src, (os.stat(out).st_mtime - 60,) * 2)
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out")
    assert plan.jobs == [] and plan.failed == []
    assert [r.reason for r in plan.skipped] == [f"output exists: {out} (use --overwrite to redo)"]


def test_the_runner_checks_an_output_that_appeared_after_planning(tmp_path: Path) -> None:
    """The runner looks again just before each job, by the same rule: another card's output written after the
    plan was made (a run beside this one) fails the job; it is not replaced, nor skipped as done."""
    src = _photo(tmp_path / "card2" / "IMG_0001.JPG", _SECOND, 2)
    plan = plan_jobs([src.parent], tmp_path / "out", update=True)
    assert len(plan.jobs) == 1
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1)
    os.utime(out, (os.stat(src).st_mtime - 60,) * 2)  # older than the input: --update would have redone it
    summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), progress=False, update=True)
    assert summary.done == [] and summary.skipped == []
    (failure,) = summary.failed
    assert "has another capture time" in failure.reason
    assert _taken(out) == _FIRST


def test_in_place_reads_no_exif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--in-place``: the output is the input, so neither the plan nor the runner reads any EXIF to compare (a
    rerun of a whole library in place would read every photo's header twice for nothing)."""
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _FIRST, 1)

    def refuse(path: Path) -> None:
        raise AssertionError(f"EXIF read for --in-place: {path}")

    monkeypatch.setattr(batch_jobs, "capture_of", refuse)
    plan = plan_jobs([src.parent], in_place=True)
    assert len(plan.jobs) == 1 and plan.failed == []
    summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), progress=False, pipeline=Pipeline())
    assert len(summary.done) == 1 and summary.failed == []


def test_a_png_output_is_compared_through_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs written as PNG (``--format png``) keep their EXIF too; it is read before the pixels, never past them
    (decoding them raises here)."""
    out = tmp_path / "out" / "IMG_0001.png"
    out.parent.mkdir()
    Image.new("RGB", (8, 8)).save(out, exif=_exif(_FIRST))
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _SECOND, 2)
    same = _photo(tmp_path / "same" / "IMG_0001.JPG", _FIRST, 3)

    def no_pixels(self: Image.Image) -> None:
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_pixels)
    monkeypatch.setattr(Image.Image, "load", no_pixels)
    reason = other_photo(out, src)
    assert reason is not None and f"has another capture time ({_FIRST}) than this input ({_SECOND})" in reason
    assert other_photo(out, same) is None


# ------------------------------------------------------- a capture time shifted since the output was made

_SHIFTED = "2024:01:05 11:00:00"  # exiftool -AllDates+=1:00 (a time zone fixed) over the card's photo


def _shift(photo: Path, out: Path, **more: str) -> None:
    """The card's photo with its capture time an hour later (its pixels as they were), dated after its output."""
    _photo(photo, _SHIFTED, 1, **more)
    _newer(photo, out)


def test_a_shifted_capture_time_fails_saying_both_what_it_may_be(tmp_path: Path, loads: StandIn) -> None:
    """The reviewer's finding: a rerun after ``exiftool -AllDates+=1:00`` failed blaming "another card or folder".
    No file can tell that from another card's photo, so it still fails (nothing lost), saying both; ``--update``
    does not replace it either, ``--overwrite`` redoes it."""
    card, out = tmp_path / "card", tmp_path / "out"
    _photo(card / "IMG_0001.JPG", _FIRST, 1, subsec="25")
    assert _invoke(str(card), "-o", str(out), models=loads)[0] == 0
    _shift(card / "IMG_0001.JPG", out / "IMG_0001.JPG", subsec="25")
    before = (out / "IMG_0001.JPG").read_bytes()
    for more in ((), ("--update",)):
        code, stdout, stderr = _invoke(str(card), "-o", str(out), *more, models=loads)
        assert code == 1 and "0 done, 0 skipped, 1 failed" in stdout
        line = " ".join(stderr.split())
        assert (
            f"output {out / 'IMG_0001.JPG'} has another capture time ({_FIRST}.25) than this input ({_SHIFTED}.25): "
            "another card's same-named photo, or the input's capture time was changed since; --overwrite redoes it, "
            "or give another -o DIR"
        ) in line
        assert "another card or folder" not in line
        assert (out / "IMG_0001.JPG").read_bytes() == before
    code, stdout, _ = _invoke(str(card), "-o", str(out), "--overwrite", models=loads)
    assert code == 0 and "1 done" in stdout and _taken(out / "IMG_0001.JPG") == _SHIFTED


#: An ImageUniqueID as cameras write it (32 hex digits), and as phones do (a UUID).
_ID = "4f1c2a0b9e8d7c6b5a4f3e2d1c0b9a88"
_UUID = "1F0C2A3B-4D5E-6F70-8192-A3B4C5D6E7F8"


@pytest.mark.parametrize("unique_id", [_ID, _UUID])
def test_the_same_image_id_is_the_same_photo_whatever_its_times_say(
    tmp_path: Path, loads: StandIn, unique_id: str
) -> None:
    """A camera's or phone's ImageUniqueID outlives a shifted capture time: the rerun skips the photo as done, and
    ``--update`` redoes it (its input changed since), as for any edited input."""
    card, out = tmp_path / "card", tmp_path / "out"
    _photo(card / "IMG_0001.JPG", _FIRST, 1, unique_id=unique_id, serial="0123")
    assert _invoke(str(card), "-o", str(out), models=loads)[0] == 0
    _shift(card / "IMG_0001.JPG", out / "IMG_0001.JPG", unique_id=unique_id, serial="0123")
    code, stdout, stderr = _invoke(str(card), "-o", str(out), models=loads)
    assert code == 0 and "0 done, 1 skipped, 0 failed" in stdout, stderr
    code, stdout, stderr = _invoke(str(card), "-o", str(out), "--update", models=loads)
    assert code == 0 and "1 done, 0 skipped, 0 failed" in stdout, stderr
    assert _taken(out / "IMG_0001.JPG") == _SHIFTED


def test_another_image_id_at_the_same_moment_is_another_photo(tmp_path: Path) -> None:
    """Two phones' shots at the same second and fraction, and of one serial, still differ by their IDs."""
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1, subsec="25", serial="7", unique_id="a1")
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _FIRST, 2, subsec="25", serial="7", unique_id="b2")
    reason = other_photo(out, src)
    assert reason is not None and "has another image ID (a1) than this input (b2)" in reason


def test_another_serial_is_another_photo_even_with_the_same_image_id(tmp_path: Path) -> None:
    """The reviewer's finding: an equal ImageUniqueID overrode a different BodySerialNumber. Two bodies never shoot
    one photo; an ID two files share is a copied or constant one (see the next test)."""
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1, serial="111", unique_id=_ID)
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _FIRST, 2, serial="222", unique_id=_ID)
    reason = other_photo(out, src)
    assert reason is not None and "was shot by another camera (serial 111) than this input (serial 222)" in reason


@pytest.mark.parametrize("code", ["F16QLHF01VB", "00000000000000000000000000000000", "4f1c2a"])
def test_an_image_id_that_is_no_unique_id_excuses_no_other_time(tmp_path: Path, code: str) -> None:
    """Some phones write their model or firmware code as ImageUniqueID (``F16QLHF01VB``), the same on every shot;
    others zeros. Equal, it told the second card's photo, shot at another time, for the first's: skipped as done.
    Only an ID that looks unique (32 hex digits, a UUID) excuses another capture time."""
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1, unique_id=code)
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _SECOND, 2, unique_id=code)
    reason = other_photo(out, src)
    assert reason is not None and f"has another capture time ({_FIRST}) than this input ({_SECOND})" in reason
    same = _photo(tmp_path / "same" / "IMG_0001.JPG", _FIRST, 3, unique_id=code)
    assert other_photo(out, same) is None


# ------------------------------------------------------- outputs in another format, compared byte for byte

#: A serial number with a byte over 0x7F (Latin-1 é), as some writers leave them: JPEG's was read as ASCII with
#: replacement and the other formats' through Pillow as Latin-1, so it never equalled itself.
_ODD_SERIAL = b"SN\xe9-0042"


@pytest.mark.parametrize("fmt", ["png", "webp", "tiff", "jpg", "heic", "avif"])
def test_an_output_written_in_another_format_is_the_same_photo_on_rerun(
    tmp_path: Path, loads: StandIn, fmt: str
) -> None:
    """The project's own writers keep the EXIF (``--format png``, ``webp``, ``tiff``, ``heic``): the rerun skips
    the photo as done, exit code 0, instead of failing every time."""
    try:
        normalise_format(fmt)
    except OutputError as exc:  # HEIC without the heif extra, AVIF without Pillow's AVIF
        pytest.skip(str(exc))
    card, out = tmp_path / "card", tmp_path / "out"
    _photo(card / "IMG_0001.JPG", _FIRST, 1, subsec="25", serial=_ODD_SERIAL, unique_id="abc")
    _photo(card / "IMG_0002.JPG", _FIRST, 2, subsec="50", serial=_ODD_SERIAL)  # no ID: its serial and time decide
    code, _, stderr = _invoke(str(card), "-o", str(out), "--format", fmt, models=loads)
    assert code == 0, stderr
    (written,) = [p for p in out.iterdir() if p.stem == "IMG_0002"]
    capture = capture_of(written)
    assert capture is not None and capture.serial == _ODD_SERIAL and capture.subsec == b"50"
    code, stdout, stderr = _invoke(str(card), "-o", str(out), "--format", fmt, models=loads)
    assert (code, stderr) == (0, "")
    assert "0 done, 2 skipped, 0 failed" in stdout
    other = _photo(tmp_path / "card2" / "IMG_0002.JPG", _SECOND, 3, serial=_ODD_SERIAL)
    reason = other_photo(written, other)
    assert reason is not None and f"({_FIRST}) than this input ({_SECOND})" in reason


def test_one_reader_for_every_format(tmp_path: Path) -> None:
    """The same EXIF block in a JPEG, PNG and WebP header gives the same capture, bytes and all. (Pillow's TIFF
    writer re-encodes EXIF text, bytes over 0x7F as ``?``; the project's own, which copies it raw, is tested by
    the ``--format tiff`` rerun above.)"""
    blob = _exif(_FIRST, serial=_ODD_SERIAL, unique_id=b"id\xff1")
    found = set()
    for suffix in ("jpg", "png", "webp"):
        path = tmp_path / f"x.{suffix}"
        Image.new("RGB", (8, 8)).save(path, exif=blob)
        found.add(capture_of(path))
    assert found == {capture_of(tmp_path / "x.jpg")} and None not in found
    (capture,) = found
    assert capture.serial == _ODD_SERIAL and capture.unique_id == b"id\xff1" and capture.taken == _FIRST.encode()


# ------------------------------------------------------- the pipelined runner reads the EXIF once per job


def test_the_runner_reads_each_jobs_exif_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--update`` over outputs older than their inputs: the runner looked at each output twice (when its decode
    started, and again before the model), reading the input's and the output's EXIF each time."""
    card, out = tmp_path / "card", tmp_path / "out"
    for i in range(3):
        _photo(card / f"IMG_000{i}.JPG", _FIRST, i, subsec=str(10 + i))
    assert len(run_jobs(plan_jobs([card], out), job_handler(Restoration(photo=_invert)), progress=False).done) == 3
    for i in range(3):
        _newer(card / f"IMG_000{i}.JPG", out / f"IMG_000{i}.JPG")
    plan = plan_jobs([card], out, update=True)
    assert len(plan.jobs) == 3
    read: list[Path] = []
    real = batch_jobs.capture_of

    def counted(path: Path) -> object:
        read.append(path)
        return real(path)

    monkeypatch.setattr(batch_jobs, "capture_of", counted)
    summary = run_jobs(
        plan, job_handler(Restoration(photo=_invert)), progress=False, update=True, pipeline=Pipeline(ahead=2)
    )
    assert len(summary.done) == 3 and summary.failed == []
    assert sorted(read) == sorted([*card.iterdir(), *out.iterdir()])  # each input and output once


# ------------------------------------------------------- --in-place with a --format naming the file's own


@pytest.mark.parametrize(("name", "fmt"), [("DJI_0001.MP4", "mp4"), ("clip.m4v", "mp4"), ("IMG_0001.JPG", "jpeg")])
def test_in_place_takes_a_format_naming_the_files_own(tmp_path: Path, name: str, fmt: str) -> None:
    """``derain DJI_0001.MP4 --format mp4 --in-place`` was refused as a change of format: ``.MP4`` is not
    ``.mp4`` by name. The file keeps its name; a --format that changes the format is still refused."""
    path = tmp_path / name
    if name.endswith("JPG"):
        _photo(path, _FIRST, 1)
    else:
        make_video(path, frames=2, audio=None, vfr=False)
    plan = plan_media([path], tag="x", formats=OutputFormat.parse(fmt, videos=True), in_place=True)
    assert [(j.source, j.output) for j in plan.jobs] == [(path, path)] and plan.failed == []
    with pytest.raises(InputError, match="--in-place cannot change a"):
        plan_media([path], tag="x", formats=OutputFormat.parse("mkv" if fmt == "mp4" else "png", videos=True),
                   in_place=True)  # fmt: skip


# ------------------------------------------------------- JPEG headers as libjpeg reads them


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


@pytest.mark.parametrize("between", [b"\xff\xff\xff", b"\x00\x12junk", b"XMP"])
def test_the_exif_of_a_jpeg_with_fill_junk_or_xmp_before_it_is_found(tmp_path: Path, between: bytes) -> None:
    """Fill bytes (0xFF) and junk between segments, which libjpeg and Pillow skip, and an XMP APP1 before the EXIF
    one: the capture is found as in a plain file (else the output counted as one without EXIF, judged by dates)."""
    plain = _photo(tmp_path / "plain.jpg", _FIRST, 1, serial="S1")
    data = plain.read_bytes()
    exif_at = data.index(b"\xff\xe1")  # Pillow writes APP0 (JFIF), then the EXIF's APP1
    extra = _app1(b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>") if between == b"XMP" else between
    odd = tmp_path / "odd.jpg"
    odd.write_bytes(data[:exif_at] + extra + data[exif_at:])
    with Image.open(odd) as im:  # still a JPEG Pillow reads, with its EXIF
        assert im.getexif() is not None
    capture = capture_of(odd)
    assert capture is not None and capture == capture_of(plain)
    assert capture.serial == b"S1" and capture.taken == _FIRST.encode()


# ------------------------------------------------------- another run writes an output while this one runs


def _foreign(path: Path, seconds_ago: float = 60) -> None:
    """Another run's output at ``path``: another card's photo (8x8, another capture time), dated ``seconds_ago``."""
    path.parent.mkdir(exist_ok=True)  # a first run makes its output folder with its first write
    other = path.parent.parent / "other.jpg"
    Image.new("RGB", (8, 8), "red").save(other, "JPEG", exif=_exif("2030:01:01 00:00:00"))
    os.replace(other, path)
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


def _race_card(tmp_path: Path, *, update: bool) -> tuple[Path, Path]:
    """Four photos; with ``update``, run once and then dated after their outputs (each redone by ``--update``)."""
    card, out = tmp_path / "card", tmp_path / "out"
    for i in range(4):
        _photo(card / f"IMG_000{i}.JPG", f"2024:01:05 10:00:0{i}", i)
    if update:
        assert len(run_jobs(plan_jobs([card], out), job_handler(Restoration(photo=_invert)), progress=False).done) == 4
        now = time.time()
        for photo in card.iterdir():
            os.utime(out / photo.name, (now - 3600, now - 3600))
            os.utime(photo, (now - 1800, now - 1800))
    return card, out


@pytest.mark.parametrize("update", [True, False])
def test_an_output_another_run_writes_before_the_model_is_judged_again(tmp_path: Path, update: bool) -> None:
    """The reviewer's finding: the pipelined runner looked at job 2's output once, when its decode started (while
    job 0 was still in the model), and ``--update`` then replaced what another run wrote there meanwhile, unguarded
    (another card's photo lost). One ``stat`` before each model sees the file changed, and judges it again."""
    card, out = _race_card(tmp_path, update=update)
    plan = plan_jobs([card], out, update=update)
    assert len(plan.jobs) == 4
    target = out / "IMG_0002.JPG"
    calls: list[int] = []

    def model(image: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 1:  # job 0 in the model: jobs 1 and 2 were looked at already
            _foreign(target)
        return _invert(image)

    summary = run_jobs(
        plan, job_handler(Restoration(photo=model)), progress=False, update=update, pipeline=Pipeline(ahead=2)
    )
    assert [j.source.name for j in summary.done] == ["IMG_0000.JPG", "IMG_0001.JPG", "IMG_0003.JPG"]
    (failure,) = summary.failed
    assert failure.path == card / "IMG_0002.JPG" and "has another capture time (2030:01:01 00:00:00)" in failure.reason
    assert _taken(target) == "2030:01:01 00:00:00"  # the other run's file, kept
    assert len(calls) == 3  # job 2's model never ran


@pytest.mark.parametrize("pipeline", [Pipeline(ahead=2), False], ids=["pipelined", "one-at-a-time"])
def test_update_replaces_only_the_output_it_judged(tmp_path: Path, pipeline: Pipeline | bool) -> None:
    """Another run's output written while the job's own model runs (after the last look): ``--update``'s write
    replaced it, as it was asked to replace the old one. It replaces only the file it judged; this one is kept and
    the job skipped, in both runners (the Ray engine's actors run one job at a time)."""
    card, out = _race_card(tmp_path, update=True)
    plan = plan_jobs([card], out, update=True)
    target = out / "IMG_0001.JPG"
    calls: list[int] = []

    def model(image: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 2:  # job 1's own model: its output was judged (old, its own) just before
            _foreign(target)
        return _invert(image)

    summary = run_jobs(plan, job_handler(Restoration(photo=model)), progress=False, update=True, pipeline=pipeline)
    assert len(summary.done) == 3 and summary.failed == []
    (skip,) = summary.skipped
    assert skip.path == card / "IMG_0001.JPG" and "output appeared meanwhile" in skip.reason
    assert _taken(target) == "2030:01:01 00:00:00"
    assert all(_taken(out / f"IMG_000{i}.JPG") == f"2024:01:05 10:00:0{i}" for i in (0, 2, 3))


@pytest.mark.parametrize("pipeline", [Pipeline(ahead=2), False], ids=["pipelined", "one-at-a-time"])
def test_update_writes_an_output_deleted_after_it_was_judged(tmp_path: Path, pipeline: Pipeline | bool) -> None:
    """The judged output gone by the write (someone cleared the folder): nothing is there to keep, so it is
    written, and the job is done."""
    card, out = _race_card(tmp_path, update=True)
    plan = plan_jobs([card], out, update=True)
    target = out / "IMG_0001.JPG"
    calls: list[int] = []

    def model(image: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 2:
            target.unlink()
        return _invert(image)

    summary = run_jobs(plan, job_handler(Restoration(photo=model)), progress=False, update=True, pipeline=pipeline)
    assert len(summary.done) == 4 and summary.failed == [] and summary.skipped == []
    assert _taken(target) == "2024:01:05 10:00:01"


# ------------------------------------------------------- where the rule and the reader live


def test_the_photo_to_compare_is_named_not_guessed(tmp_path: Path) -> None:
    """``judge_output`` compares EXIF with the ``photo`` it is given, and with nothing for a video or a clip: it
    guessed a photo from a job having one source (a clip of one frame has one too)."""
    out = _photo(tmp_path / "out" / "IMG_0001.JPG", _FIRST, 1)
    src = _photo(tmp_path / "in" / "IMG_0001.JPG", _SECOND, 2)
    os.utime(src, (os.stat(out).st_mtime - 60,) * 2)
    verdict = batch_jobs.judge_output(out, lambda: [src], batch_jobs.Replacement(), photo=src)
    assert verdict.fail is not None and "has another capture time" in verdict.fail
    by_dates = batch_jobs.judge_output(out, lambda: [src], batch_jobs.Replacement())
    assert by_dates.fail is None and by_dates.skip == f"output exists: {out} (use --overwrite to redo)"


def test_the_capture_reader_is_apart_from_the_exif_parser() -> None:
    """The capture identity needs every format's header reader (JPEG markers, TIFF, Pillow's): it lives in its own
    module, and the low-level EXIF parser, which those readers import, exports none of it; the JPEG marker walker
    lives with the other JPEG structure code, where the trailer finder takes it from."""
    from weatherclean.io.images import capture, exif, jpegsegments, trailer

    assert not {"Capture", "capture_of", "capture_in", "file_exif"} & set(exif.__all__)
    assert capture.capture_of is capture_of
    assert trailer.jpeg_segments is jpegsegments.jpeg_segments and "jpeg_segments" not in trailer.__all__
