"""Pictures to compare: ``desnow``/``derain --compare`` beside each output, and ``weatherclean compare``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import piexif
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import StandIn, invoke_command, make_video
from weatherclean.cli import app, derain, desnow
from weatherclean.io.compare import FrameSampler, compare_path

RED = (200, 60, 30)


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        return SimpleNamespace(background=1.0 - x), torch.zeros(1)


def _flat(path: Path, size: tuple[int, int] = (30, 40), colour: tuple[int, int, int] = RED, **save: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(path, **save)


def _colour_at(image: Image.Image, x: float, y: float) -> np.ndarray:
    return np.asarray(image.convert("RGB"))[int(y * image.height), int(x * image.width)].astype(int)


def test_desnow_compare_writes_before_and_after_beside_each_output(tmp_path: Path) -> None:
    _flat(tmp_path / "in" / "a.png")
    _flat(tmp_path / "in" / "a.jpg", size=(30, 60), exif=piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}}))
    out = tmp_path / "out"
    code, stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "in"), "-o", str(out), "--compare",
                                          "--json", "--device", "cpu", models=StandIn(_Inverter))  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["counts"]["done"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a.jpg.compare.jpg", "a.png", "a.png.compare.jpg"]
    with Image.open(compare_path(out / "a.png")) as side:
        assert side.width > 2 * 40 and side.height > 30
        assert np.abs(_colour_at(side, 0.25, 0.6) - RED).max() < 12  # before on the left
        assert np.abs(_colour_at(side, 0.75, 0.6) - (255 - np.array(RED))).max() < 12  # after on the right
    with Image.open(compare_path(out / "a.jpg")) as turned:  # shown upright: orientation 6 turns 60×30 to 30×60
        assert turned.height > turned.width
    # A later run over the output folder never takes the comparison pictures for photos.
    code, stdout, _ = invoke_command(
        desnow, "desnow", str(out), "--dry-run", "--json", "--device", "cpu", models=StandIn(_Inverter)
    )
    assert code == 0 and {Path(j["input"]).name for j in json.loads(stdout)["jobs"]} == {"a.jpg", "a.png"}


def test_derain_compare_writes_a_strip_of_frames_for_a_video(tmp_path: Path) -> None:
    make_video(tmp_path / "clip.mp4", frames=10, audio=None)
    code, _, stderr = invoke_command(derain, "derain", str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out"),
                                     "--compare", "--device", "cpu", "-q", models=StandIn(_Inverter))  # fmt: skip
    assert code == 0, stderr
    with Image.open(tmp_path / "out" / "clip.mp4.compare.jpg") as strip:
        assert strip.width > 4 * 64 and 2 * 48 < strip.height < 3 * 48 + 100  # 4 frames, before above after


def test_the_sampler_spreads_its_frames_over_any_length() -> None:
    for length in (3, 10, 1000):
        sampler = FrameSampler(count=4, side=8)
        for i in range(length):
            frame = np.full((4, 4, 3), i % 256, np.uint8)
            sampler.offer(frame, frame)
        picks = [p[0] for p in sampler.pairs()]
        assert picks[0] == 0 and len(picks) == min(4, length) and picks == sorted(picks)
        assert picks[-1] >= length - 1 - length // 8 and len(sampler.kept) < 16


def test_compare_command_makes_a_contact_sheet_of_two_folders(tmp_path: Path) -> None:
    before, after = tmp_path / "photos", tmp_path / "photos_desnowed"
    for name in ("a", "b", "sub/c"):
        _flat(before / f"{name}.jpg")
    _flat(after / "a.jpg", colour=(55, 195, 225))
    _flat(after / "b.png", colour=(55, 195, 225))  # written with --format png: still b's result
    (after / "sub").mkdir()
    (after / "sub" / "c.jpg").write_text("not a picture")
    _flat(after / "extra.jpg")
    sheet = tmp_path / "sheet.jpg"
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", str(sheet)])
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text  # the sheet is written; one result could not be read
    assert "3 pair(s)" in text and "only in" in text and "extra.jpg" in text and "c.jpg" in text
    with Image.open(sheet) as image:
        assert image.height > 3 * 30 and image.width > 2 * 40
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", str(sheet)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = CliRunner().invoke(app, ["compare", str(before / "a.jpg"), str(after / "a.jpg"), "-o", str(sheet),
                                      "--overwrite"])  # fmt: skip
    assert result.exit_code == 0 and "1 pair(s)" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["compare", str(before), str(tmp_path / "empty"), "-o", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2 and "holds no result" in " ".join(result.output.split())
    assert not (tmp_path / "x.jpg").exists()


def test_derain_compare_for_a_folder_of_frames_goes_beside_the_output_folder(tmp_path: Path) -> None:
    for i in range(3):
        _flat(tmp_path / "clip" / f"{i}.png", size=(16, 20))
    out = tmp_path / "out"
    code, _, stderr = invoke_command(derain, "derain", str(tmp_path / "clip"), "--frames", "-o", str(out),
                                     "--compare", "--device", "cpu", "-q", models=StandIn(_Inverter))  # fmt: skip
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip", "clip.compare.jpg"]
    assert sorted(p.name for p in (out / "clip").iterdir()) == ["0.png", "1.png", "2.png"]


def _pairs(tmp_path: Path, count: int, size: tuple[int, int] = (6, 8)) -> tuple[Path, Path]:
    before, after = tmp_path / "b", tmp_path / "a"
    for i in range(count):
        _flat(before / f"{i:03}.png", size=size)
        _flat(after / f"{i:03}.png", size=size, colour=(55, 195, 225))
    return before, after


def test_a_sheet_stays_within_its_format_and_an_encoder_refusal_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WebP holds at most 16383 px: 48 pairs (under the default --limit) make a sheet of the rows that fit,
    with a note; an encoder that still refuses is one line naming the file, and leaves no folder behind."""
    from weatherclean.io import compare as pictures

    before, after = _pairs(tmp_path, 48, size=(400, 8))  # tall: each row takes the sheet's full row height
    sheet = tmp_path / "new" / "deep" / "s.webp"
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", str(sheet)])
    room = pictures.rows_that_fit(sheet)
    assert result.exit_code == 0, result.output
    assert f"{48 - room} more pair(s) not shown" in " ".join(result.output.split())
    with Image.open(sheet) as image:
        assert image.height <= 16383
    monkeypatch.setitem(pictures.MAX_HEIGHT, "WEBP", 100_000)  # as if the bound were wrong: WebP refuses
    other = tmp_path / "other" / "s.webp"
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", str(other)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert len(lines) == 1 and str(other) in lines[0] and "WEBP" in lines[0], result.output
    assert not (tmp_path / "other").exists()  # no empty folder


@pytest.mark.skipif(not Path("/proc/self/mounts").is_file(), reason="Linux's /proc")
def test_compare_names_an_unwritable_output_as_given_and_why(tmp_path: Path) -> None:
    before, after = _pairs(tmp_path, 1)
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "-o", "/proc/wc_sheet/s.jpg"])
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2 and message.startswith("error: /proc/wc_sheet: ")
    assert "does not accept new files" in message and "No such file" not in message


def test_the_default_sheet_is_never_read_back_as_a_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _pairs(tmp_path, 1)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(before), str(after)])
    assert result.exit_code == 0 and (tmp_path / "sheet.compare.jpg").is_file(), result.output
    code, stdout, _ = invoke_command(
        desnow, "desnow", str(tmp_path), "--dry-run", "--json", "--device", "cpu", models=StandIn(_Inverter)
    )
    assert code == 0 and not any("sheet" in Path(j["input"]).name for j in json.loads(stdout)["jobs"])
    help_text = " ".join(CliRunner().invoke(app, ["compare", "--help"]).output.split())
    assert "sheet.compare.jpg" in help_text and "pairs left off it are counted" in help_text


def test_a_preview_of_a_big_float_photo_needs_no_whole_picture_temporary() -> None:
    """A 12-MP float photo previewed at 2048 px: a few MB of bands, not copies of its 144 MB."""
    import tracemalloc

    from weatherclean.io.compare import thumbnail

    photo = np.zeros((3000, 4000, 3), np.float32)
    photo[:, 2000:] = 1.0
    tracemalloc.start()
    try:
        image = thumbnail(photo, 2048)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert image.size == (2048, 1536) and peak < photo.nbytes / 8, peak
    assert np.asarray(image)[700, 100].max() == 0 and np.asarray(image)[700, 2000].min() == 255
