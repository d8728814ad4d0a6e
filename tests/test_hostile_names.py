"""File names that are hard to show: ``compare`` and ``evaluate`` with a newline, an escape sequence, bytes that
are not UTF-8, a bidirectional override or another Unicode normalisation in a name, and ``$'...'`` escapes under a
locale whose file-system encoding is not UTF-8.

Every name here is made by the test (a file system that refuses one, as macOS's does bytes that are not UTF-8,
skips the test that needs it); no model runs: ``evaluate --outputs`` scores copies of the inputs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from synthetic import invoke_command
from weatherclean.cli import compare as compare_cli
from weatherclean.cli import evaluate as evaluate_cli
from weatherclean.data.rain import find_nturain, find_rain_pairs
from weatherclean.data.snow import find_snow100k
from weatherclean.io import compare as pictures
from weatherclean.io.folders import printable, shown

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


def _picture(path: Path | bytes, seed: int = 0) -> None:
    """A tiny PNG-encoded photo at ``path`` (bytes: a name that is not UTF-8); skips where the file system refuses
    the name."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray((rng.random((20, 24, 3)) * 255).astype(np.uint8)).save(buf, format="PNG")
    _write(path, buf.getvalue())


def _write(path: Path | bytes, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:  # e.g. EILSEQ on APFS for bytes that are not UTF-8
        pytest.skip(f"this file system refuses the name {path!r}: {exc}")


def _folders(root: Path, *names: str) -> list[Path]:
    made = [root / name for name in names]
    for folder in made:
        folder.mkdir(parents=True)
    return made


# ------------------------------------------------------------------------------- 1. a newline in a name


def test_compare_writes_its_sheet_for_a_name_with_a_newline(tmp_path: Path) -> None:
    """Pillow refused to measure the label ("can't measure length of multiline text"): a traceback, no sheet."""
    before, after = _folders(tmp_path, "b", "a")
    _picture(before / "new\nline.png")
    _picture(after / "new\nline.png", seed=1)
    sheet = tmp_path / "nl.compare.jpg"
    code, stdout, stderr = invoke_command(compare_cli, "compare", str(before), str(after), "-o", str(sheet))
    assert code == 0, stderr
    assert sheet.is_file()
    assert "1 pair(s)" in stdout


# ------------------------------------------------------------------ 2. a CSV report with a non-UTF-8 name


def _snow_set(root: Path, names: list[str | bytes]) -> tuple[Path, Path]:
    """A CSD-style set (``Snow/`` + ``Gt/``) holding ``names`` on both sides, and an ``--outputs`` folder of copies
    of its inputs; returns (dataset, outputs)."""
    snow, gt, outputs = _folders(root, "ds/Snow", "ds/Gt", "out")
    for i, name in enumerate(names):
        raw = os.fsencode(name)
        _picture(os.fsencode(snow) + b"/" + raw, seed=i)
        _picture(os.fsencode(gt) + b"/" + raw, seed=i + 50)
        _picture(os.fsencode(outputs) + b"/" + raw, seed=i)
    return root / "ds", outputs


def test_a_csv_report_keeps_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    """The write failed after the whole evaluation (UnicodeEncodeError on the surrogate), exit 1 and no report;
    now the name is written as the terminal shows it, quoted with escapes, in a UTF-8 file."""
    dataset, outputs = _snow_set(tmp_path, ["plain.png", b"caf\xe9.png"])
    report = tmp_path / "r.csv"
    code, _, stderr = invoke_command(
        evaluate_cli, "evaluate", "--dataset", str(dataset), "--outputs", str(outputs), "--report", str(report), "-q"
    )
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(report.read_bytes().decode("utf-8"))))
    assert sorted({row["name"] for row in rows}) == ["$'caf\\xe9'", "plain"]


# ---------------------------------------------------------- 3. names printed by compare and evaluate


def test_compare_prints_names_as_desnow_does(tmp_path: Path) -> None:
    """Notes and error lines printed names raw: the escape sequence reached the terminal, a newline split the note,
    a byte that is not UTF-8 came out as \\udcXX."""
    before, after = _folders(tmp_path, "b", "a")
    _picture(before / "ok.png")
    _picture(after / "ok.png")
    for name in (b"bad\xe9.png", b"esc\x1b[31m.png"):
        _write(os.fsencode(before) + b"/" + name, b"junk")
        _picture(os.fsencode(after) + b"/" + name)
    for name in (b"only\nbefore.png", b"only\x1b[2Jclear.png"):
        _picture(os.fsencode(before) + b"/" + name)
    sheet = tmp_path / "s.compare.jpg"
    code, _, stderr = invoke_command(compare_cli, "compare", str(before), str(after), "-o", str(sheet))
    assert code == 1, stderr  # the sheet is written, two files could not be read
    assert sheet.is_file()
    assert "\x1b" not in stderr and "\\udc" not in stderr
    lines = stderr.splitlines()
    assert any(line.startswith("note: 2 file(s) only in") for line in lines), stderr
    assert "$'only\\nbefore.png'" in stderr and "$'only\\x1b[2Jclear.png'" in stderr
    for name, escaped in ((b"bad\xe9.png", "bad\\xe9.png"), (b"esc\x1b[31m.png", "esc\\x1b[31m.png")):
        path = shown(os.fsdecode(os.fsencode(before) + b"/" + name))
        assert path.startswith("$'") and path.endswith(f"{escaped}'")
        assert f"error: {path}: not an image" in stderr, stderr


def test_evaluate_prints_names_as_desnow_does(tmp_path: Path) -> None:
    """Error lines printed a name's OSC sequence raw (it set the terminal's title), its undecodable byte as
    \\udcff, and a newline split "no ground truth 'nogt\\n.*'" in two."""
    dataset, outputs = _snow_set(tmp_path, ["x.png"])
    snow = os.fsencode(dataset / "Snow")
    for name in (b"e\x1b]0;pwned\x07.png", b"j\xff.png"):
        _write(snow + b"/" + name, b"junk")
        _picture(os.fsencode(dataset / "Gt") + b"/" + name)
    _picture(snow + b"/nogt\n.png")
    code, _, stderr = invoke_command(
        evaluate_cli, "evaluate", "--dataset", str(dataset), "--outputs", str(outputs), "-q"
    )
    assert code == 1, stderr
    assert "\x1b" not in stderr and "\x07" not in stderr and "\\udc" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, stderr
    assert any("Snow/e\\x1b]0;pwned\\a.png': not an image" in line for line in errors), errors
    assert any("Snow/j\\xff.png': not an image" in line for line in errors), errors
    assert any("Snow/nogt\\n.png': no ground truth 'nogt\\n.*'" in line for line in errors), errors


# ------------------------------------------------------------------- 4. escapes in the locale's encoding


def test_escapes_are_the_bytes_of_the_file_system_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a Latin-1 locale the name's bytes e2 80 ae were shown as \\xc2\\x80 (the UTF-8 of U+0080): pasted into
    the shell, the name named no file. A C1 control decoded from Latin-1 is its one byte."""
    assert printable("\x81") == "\\xc2\\x81"  # UTF-8 (this process's): U+0081 is two bytes on disk
    latin1 = b"bad/\xe2\x80\xaeevil.jpg".decode("latin-1")  # what Python decodes that name to under Latin-1
    monkeypatch.setattr(os, "fsencode", lambda text: text.encode("latin-1", "surrogateescape"))
    assert printable("\x81") == "\\x81"
    assert shown(latin1) == "$'bad/\u00e2\\x80\u00aeevil.jpg'"
    assert shown("bad/cafe\u00cc\x81.jpg") == "$'bad/cafe\u00cc\\x81.jpg'"  # on disk: cafe cc 81
    assert shown("tab\there.jpg") == "$'tab\\there.jpg'"
    assert shown("\u202eevil.jpg") == "$'\\u202eevil.jpg'"  # not in Latin-1: no name decoded from it holds it


# ----------------------------------------------------------------------- 6. Unicode normalisation


def test_compare_pairs_names_in_another_normalisation(tmp_path: Path) -> None:
    """ "only in b: café.png" beside "only in a: café.png" (NFC and NFD) read as a bug; they pair now, and an exact
    match goes first."""
    before, after = _folders(tmp_path, "b", "a")
    _picture(before / f"{NFC}.png")
    _picture(after / f"{NFD}.png")
    pairs, only_before, only_after = pictures.pair_files(before, after)
    assert [(name, b.name, a.name) for name, b, a in pairs] == [(f"{NFC}.png", f"{NFC}.png", f"{NFD}.png")]
    assert only_before == only_after == []
    _picture(after / f"{NFC}.jpg")  # the exact name (any extension) wins over the same-looking one
    pairs, only_before, only_after = pictures.pair_files(before, after)
    assert [a.name for _, _, a in pairs] == [f"{NFC}.jpg"] and only_after == [f"{NFD}.png"]


def test_compare_prefers_the_same_extension_among_names_in_another_normalisation(tmp_path: Path) -> None:
    """The NFC pass ignored the same-extension rule (no path there equals the original's): café.png took café.jpg,
    the first by name, and left café.png "only in a"."""
    before, after = _folders(tmp_path, "b", "a")
    _picture(before / f"{NFC}.png")
    _picture(after / f"{NFD}.jpg")
    _picture(after / f"{NFD}.png")
    pairs, only_before, only_after = pictures.pair_files(before, after)
    assert [(b.name, a.name) for _, b, a in pairs] == [(f"{NFC}.png", f"{NFD}.png")]
    assert only_before == [] and only_after == [f"{NFD}.jpg"]


# ------------------------------------------- 6b. datasets: a ground truth's name in another normalisation


def test_evaluate_pairs_a_ground_truth_named_in_another_normalisation(tmp_path: Path) -> None:
    """ "no ground truth 'café.*'" beside a Gt/café.png (NFD) looked wrong; the dataset reader pairs the two now,
    and says so in a note, instead of naming the one to rename (by looking in folders beside the input's)."""
    dataset, outputs = _snow_set(tmp_path, ["x.png"])
    _picture(dataset / "Snow" / f"{NFC}.png")
    _picture(dataset / "Gt" / f"{NFD}.png", seed=3)
    _picture(outputs / f"{NFC}.png")
    report = tmp_path / "r.json"
    code, _, stderr = invoke_command(
        evaluate_cli, "evaluate", "--dataset", str(dataset), "--outputs", str(outputs), "--report", str(report), "-q"
    )
    assert code == 0, stderr
    assert "error:" not in stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert sorted({image["name"] for image in data["images"]}) == sorted([NFC, "x"])
    assert any("another Unicode normalisation" in note and f"{NFD}.png (NFD)" in note for note in data["notes"])


def test_snow_pairing_in_another_normalisation(tmp_path: Path) -> None:
    """Exact names win; a name in another normalisation pairs (for training too, which passes no sinks); a name
    that two ground truths share in NFC pairs with neither, nor with a ground truth another input has by its exact
    name, and the reasons say so."""
    snow, gt, mask = _folders(tmp_path, "ds/synthetic", "ds/gt", "ds/mask")
    uber, n_nfc, n_nfd = (
        unicodedata.normalize(form, text) for form, text in (("NFD", "über"), ("NFC", "ñ"), ("NFD", "ñ"))
    )
    both = "\u1eb9\u0301"  # NFC of e + dot below + acute; NFD puts the dot first, and a third spelling does not
    for name in (NFC, NFD, uber, n_nfd, "plain", both):
        _picture(snow / f"{name}.png")
    for name in (NFC, "über", n_nfc, n_nfd, "plain", "e\u0323\u0301", "e\u0301\u0323"):
        _picture(gt / f"{name}.png")
    _picture(mask / f"{NFD}.png")  # the mask of the café input written so, not the other's
    _picture(mask / "über.png")
    missing: list[tuple[Path, str]] = []
    notes: list[str] = []
    triples = {t.synthetic.stem: t for t in find_snow100k(tmp_path / "ds", missing=missing, notes=notes)}
    assert {stem: t.gt.stem for stem, t in triples.items()} == {NFC: NFC, uber: "über", n_nfd: n_nfd, "plain": "plain"}
    assert triples[uber].mask is not None and triples[uber].mask.stem == "über"
    assert triples[NFC].mask is None and triples["plain"].mask is None
    why = {path.stem: reason for path, reason in missing}
    assert set(why) == {NFD, both}
    assert f"{NFC}.png (NFC) there has its name in another Unicode normalisation, but is the ground truth" in why[NFD]
    assert "2 files there have its name written in other Unicode normalisations" in why[both]
    assert "(NFD)" in why[both] and "(neither NFC nor NFD)" in why[both] and "so none is used" in why[both]
    assert any("paired 1 picture(s)" in note and f"{uber}.png (NFD) with über.png (NFC)" in note for note in notes)
    (gt / "e\u0301\u0323.png").unlink()
    (snow / f"{NFD}.png").unlink()
    assert len(find_snow100k(tmp_path / "ds")) == 5  # no sinks, as training reads it: every input must pair


def test_rain_stills_pair_in_another_normalisation(tmp_path: Path) -> None:
    """Rain100L-style rain-N with norain-N in one folder, and rain/ + norain/ folders: a ground truth written in
    another normalisation was missed (the old hint did not look in the input's own folder, nor found norain-N)."""
    one = tmp_path / "one"
    one.mkdir()
    _picture(one / f"rain-{NFC}.png")
    _picture(one / f"norain-{NFD}.png", seed=2)
    _picture(one / "rain-1.png")
    _picture(one / "norain-1.png", seed=2)
    notes: list[str] = []
    clips = {c.name: c for c in find_rain_pairs(one, notes=notes)}
    assert clips[f"rain-{NFC}"].clean is not None and clips[f"rain-{NFC}"].clean[0].name == f"norain-{NFD}.png"
    assert any("another Unicode normalisation" in note for note in notes), notes
    two = tmp_path / "two"
    _folders(two, "rain", "norain")
    _picture(two / "rain" / f"rain-{NFD}.png")
    _picture(two / "norain" / f"norain-{NFC}.png", seed=2)
    (clip,) = find_rain_pairs(two)  # training: no sinks
    assert clip.clean is not None and clip.clean[0].name == f"norain-{NFC}.png"
    _picture(two / "rain" / f"rain-{NFC}.png")  # now norain-café is this one's by its exact name, not the other's
    missing: list[tuple[Path, str]] = []
    (clip,) = find_rain_pairs(two, missing=missing)
    assert clip.rainy[0].name == f"rain-{NFC}.png"
    ((path, why),) = missing
    assert path.name == f"rain-{NFD}.png" and "but is the ground truth of another input" in why


def test_rain_clips_pair_in_another_normalisation(tmp_path: Path) -> None:
    """Clip folders (rain/CLIP with gt/CLIP, NTURain's CLIP_Rain with CLIP_GT) whose names differ in normalisation
    pair; and frames named so pair by name, not by order (in NFC é sorts after z, in NFD before it)."""
    synth = tmp_path / "synth"
    rain_clip, gt_clip, rain_named, gt_named = _folders(synth, "rain/c", "gt/c", f"rain/{NFC}", f"gt/{NFD}")
    for i, (rainy, clean) in enumerate((("a", "a"), ("\u00e9", "e\u0301"), ("z", "z"))):
        _picture(rain_clip / f"{rainy}.png", seed=i)
        _picture(gt_clip / f"{clean}.png", seed=i + 10)
    _picture(rain_named / "1.png")
    _picture(gt_named / "1.png", seed=1)
    notes: list[str] = []
    clips = {clip.name: clip for clip in find_rain_pairs(synth, notes=notes)}
    frames = clips["c"]
    assert frames.clean is not None
    assert {r.name: c.name for r, c in zip(frames.rainy, frames.clean, strict=True)} == {
        "a.png": "a.png", "\u00e9.png": "e\u0301.png", "z.png": "z.png"
    }  # fmt: skip
    assert not any("paired by order" in note for note in notes), notes
    named = clips[NFC]
    assert named.clean is not None and named.clean[0].parent.name == NFD
    assert any("paired 1 clip(s)" in note for note in notes), notes
    ntu = tmp_path / "ntu"
    _folders(ntu, f"{NFC}_Rain", f"{NFD}_GT")
    for side in (f"{NFC}_Rain", f"{NFD}_GT"):
        _picture(ntu / side / "1.png")
    (clip,) = find_nturain(ntu)
    assert clip.clean is not None and clip.clean[0].parent.name == f"{NFD}_GT"


# -------------------------------------------------------------------------------- 7. sheet labels


def test_sheet_labels_are_drawn_as_the_terminal_shows_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """caf\\xe9 and caf\\xe8 were both drawn 'caf\ufffd.jpg', U+202E drew the name reversed and a tab drew a box."""
    drawn: list[str] = []
    real = ImageDraw.ImageDraw.text

    def record(self: ImageDraw.ImageDraw, xy: object, text: str, *args: object, **kwargs: object) -> None:
        drawn.append(text)
        real(self, xy, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", record)
    thumb = Image.new("RGB", (16, 12), (90, 120, 150))
    names = [os.fsdecode(b"caf\xe9.jpg"), os.fsdecode(b"caf\xe8.jpg"), "\u202eevil.jpg", "tab\there.jpg"]
    pictures.contact_sheet([(name, thumb, thumb) for name in names])
    for name, label in zip(names, ("$'caf\\xe9.jpg'", "$'caf\\xe8.jpg'", "$'\\xe2\\x80\\xaeevil.jpg'",
                                   "$'tab\\there.jpg'"), strict=True):  # fmt: skip
        assert shown(name) == label
        assert label in drawn, drawn


# ------------------------------------------------------------------ 8. CSV names as they are, where they can be


def test_a_csv_report_writes_utf8_names_as_they_are(tmp_path: Path) -> None:
    """The CSV report rewrote every name with a tab, a newline or U+202E as the terminal shows it ($'...'), though
    csv quotes such names and a reader gets them back: rows no longer joined with the JSON report's. Only a name
    that UTF-8 cannot write, or one with a carriage return (which this writer leaves unquoted), is rewritten."""
    names = ["tab\there.png", "new\nline.png", "\u202eevil.png", f"{NFD}.png", b"caf\xe9.png", "cr\rhere.png"]
    dataset, outputs = _snow_set(tmp_path, names)
    csv_report, json_report = tmp_path / "r.csv", tmp_path / "r.json"
    for report in (csv_report, json_report):
        code, _, stderr = invoke_command(
            evaluate_cli, "evaluate", "--dataset", str(dataset), "--outputs", str(outputs), "--report", str(report),
            "-q",
        )  # fmt: skip
        assert code == 0, stderr
    with open(csv_report, encoding="utf-8", newline="") as f:
        in_csv = {row["name"] for row in csv.DictReader(f)}
    in_json = {image["name"] for image in json.loads(json_report.read_text(encoding="utf-8"))["images"]}
    kept = {"tab\there", "new\nline", "\u202eevil", NFD}
    assert kept <= in_csv and kept <= in_json
    assert in_csv - kept == {"$'caf\\xe9'", "$'cr\\rhere'"}
    assert in_json - kept == {os.fsdecode(b"caf\xe9"), "cr\rhere"}


# --------------------------------------------------------------- 9. a video's error names its path once


def test_compare_video_error_names_the_path_once(tmp_path: Path) -> None:
    """PyAV's message embeds the path as Python quotes it ('b/v\\udce9\\n.mp4'); the line named the file twice, the
    second time garbled. Now the reason is FFmpeg's words alone."""
    before, after = _folders(tmp_path, "b", "a")
    _picture(before / "ok.png")
    _picture(after / "ok.png")
    name = b"v\xe9\n.mp4"
    for side in (before, after):
        _write(os.fsencode(side) + b"/" + name, b"not a video" * 64)
    code, _, stderr = invoke_command(compare_cli, "compare", str(before), str(after), "-o", str(tmp_path / "s.jpg"))
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, stderr
    for line in errors:
        assert line.count("v\\xe9\\n.mp4") == 1, line
        assert "not a readable video (" in line and "Errno" not in line and "\\udc" not in line, line


# ------------------------------------------------------------------------ 10. one NFC helper, shared


def test_names_are_compared_in_nfc_by_one_shared_helper() -> None:
    """compare, sidecars and the dataset readers each had their own copy of the NFC step; now they share one."""
    from weatherclean.data import pairing
    from weatherclean.io import folders, sidecars

    assert folders.nfc(NFD) == NFC
    assert pictures.nfc is folders.nfc and sidecars.nfc is folders.nfc and pairing.nfc is folders.nfc
    assert not hasattr(pictures, "_nfc") and not hasattr(sidecars, "_nfc")
    assert sidecars.name_key(NFD.upper()) == NFC
