"""What a tester found using the commands, each pinned: ``-o`` named like a file, ``evaluate --threads``,
``--json``'s output paths, a file skipped twice, and help paragraphs that keep the source's line breaks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import StandIn, invoke_command, make_video
from weatherclean.cli import app, derain, desnow
from weatherclean.cli.common import flowing_help


class _Same(torch.nn.Module):
    """Stands in for both models: a photo comes back as it went in (J4R-Net's ``step`` too, for derain)."""

    receptive_field = 8
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[object, torch.Tensor | None]:
        from types import SimpleNamespace

        return SimpleNamespace(background=x.clone()), state


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _run(module: object, name: str, *args: str) -> tuple[int, str, str]:
    return invoke_command(module, name, *args, "--device", "cpu", models=StandIn(_Same))


# -- 1. -o names a folder: a new one named like a photo or video is refused ---------------------------------------


@pytest.mark.parametrize(("module", "name", "given", "out"), [
    (derain, "derain", "one.mp4", "newname.mp4"), (desnow, "desnow", "a.jpg", "new.jpg"),
    (derain, "derain", "a.jpg", "out.MOV"),
])  # fmt: skip
def test_a_new_output_folder_named_like_a_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object, name: str, given: str, out: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if given.endswith(".mp4"):
        make_video(Path("in") / given, frames=3, size=(32, 48), audio=None, vfr=False)
    else:
        _photo(Path("in") / given)
    code, stdout, stderr = _run(module, name, f"in/{given}", "-o", out)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith(f"error: -o {out}: -o names an output folder, not a file; give a folder name")
    assert not Path(out).exists() and stdout == ""
    code, stdout, _ = _run(module, name, f"in/{given}", "-o", out, "--json")
    assert code == 2 and json.loads(stdout)["error"].startswith(f"-o {out}: -o names an output folder")


def test_a_photo_name_points_to_the_api_that_names_one_file(tmp_path: Path) -> None:
    _photo(tmp_path / "a.jpg")
    _, _, stderr = _run(desnow, "desnow", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "b.png"))
    assert "Restorer.restore_file" in stderr
    make_video(tmp_path / "c.mp4", frames=3, size=(32, 48), audio=None, vfr=False)
    _, _, stderr = _run(derain, "derain", str(tmp_path / "c.mp4"), "-o", str(tmp_path / "d.mp4"))
    assert "Python API" not in stderr  # nothing writes one named video


def test_an_existing_folder_named_like_a_file_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("in/a.jpg"))
    Path("old.jpg").mkdir()
    code, stdout, stderr = _run(desnow, "desnow", "in", "-o", "old.jpg", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["done"] == [{"input": "in/a.jpg", "output": "old.jpg/a.jpg"}]
    assert Path("old.jpg/a.jpg").is_file()


def test_train_refuses_a_run_folder_named_like_a_video(tmp_path: Path) -> None:
    args = ["train", "--skimage-samples", "-o", str(tmp_path / "run.mp4"), "--lr", "0"]  # --lr 0: refused later
    result = CliRunner().invoke(app, args)  # so that without the check the test fails fast rather than trains
    assert result.exit_code == 2
    assert "-o names the run folder, not a file" in result.stderr and not (tmp_path / "run.mp4").exists()


# -- 2. evaluate --threads ------------------------------------------------------------------------------------------


def test_evaluate_takes_threads_as_the_other_model_commands_do(tmp_path: Path) -> None:
    root = tmp_path / "Snow100K-S"
    for folder in ("gt", "synthetic", "mask"):
        _photo(root / folder / "a_0001.png")
    before = torch.get_num_threads()
    want = 1 if before > 1 else 2  # differs from the current count, so an ignored option fails the test
    seen: list[int] = []

    class _Counting(_Same):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch.get_num_threads())
            return super().restore(x)

    try:
        args = ["evaluate", "--dataset", str(root), "--device", "cpu", "--quiet", "--threads", str(want)]
        result = CliRunner().invoke(app, args, obj=StandIn(_Counting))
        assert result.exit_code == 0, result.output
        assert seen and set(seen) == {want}
    finally:
        torch.set_num_threads(before)
    result = CliRunner().invoke(app, ["evaluate", "--dataset", str(root), "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.stderr
    flat = " ".join(CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"}).output.split())
    train = " ".join(CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output.split())
    words = "--threads N CPU threads for PyTorch. Default: PyTorch's (one per core)."
    assert words in flat and words in train  # one definition, one help


# -- 3. --json shows outputs as the inputs are shown: as the user typed the paths --------------------------------


def test_json_outputs_are_shown_as_typed_like_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("in/clip.png"))
    for module, name in ((desnow, "desnow"), (derain, "derain")):
        code, stdout, _ = _run(module, name, "in", "-o", f"out_{name}", "--json")
        assert code == 0
        assert json.loads(stdout)["done"] == [{"input": "in/clip.png", "output": f"out_{name}/clip.png"}]
        code, stdout, _ = _run(module, name, "in", "-o", f"dry_{name}", "--json", "--dry-run")
        assert json.loads(stdout)["jobs"] == [{"input": "in/clip.png", "output": f"dry_{name}/clip.png"}]
    code, stdout, _ = _run(desnow, "desnow", "in", "--json")  # no -o: beside the input, as relative as it
    assert json.loads(stdout)["done"][0]["output"] == "in_desnowed/clip.png"
    code, stdout, _ = _run(desnow, "desnow", str(tmp_path / "in"), "-o", str(tmp_path / "abs"), "--json")
    assert json.loads(stdout)["done"][0]["output"] == str(tmp_path / "abs" / "clip.png")  # absolute as typed
    code, stdout, _ = _run(desnow, "desnow", str(tmp_path / "in"), "--json", "--overwrite")
    assert json.loads(stdout)["done"][0]["output"] == str(tmp_path / "in_desnowed" / "clip.png")
    monkeypatch.chdir(tmp_path / "in")
    code, stdout, stderr = _run(desnow, "desnow", ".", "-o", "../up")
    assert code == 0 and "written to ../up/clip.png" in stdout, stderr  # the text summary says the same
    code, stdout, _ = _run(desnow, "desnow", ".", "-o", "../up2", "--json")
    assert json.loads(stdout)["done"] == [{"input": "clip.png", "output": "../up2/clip.png"}]


# -- 4. a file reached twice is skipped once, with the reason that says what to do ---------------------------------


def test_a_file_reached_twice_is_skipped_once_with_the_useful_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_video(Path("upper/clip.mp4"), frames=3, size=(32, 48), audio=None, vfr=False)
    Path("upper/clip.mp4").rename("upper/noext")
    Path("upper/notes.txt").write_text("not a picture\n")
    code, stdout, _ = _run(derain, "derain", "upper", "upper/noext", "--json", "--dry-run")
    skipped = json.loads(stdout)["skipped"]
    assert code == 0 and [s["path"] for s in skipped] == ["upper/noext", "upper/notes.txt"]
    assert skipped[0]["reason"].startswith("a video without a file ending; rename it")
    for extra in ((), ("upper/noext",)):  # --frames walks the folder twice: once for videos, once for clips
        code, stdout, _ = _run(derain, "derain", "upper", *extra, "--frames", "-o", "fr", "--json", "--dry-run")
        skipped = json.loads(stdout)["skipped"]
        assert [s["path"] for s in skipped] == ["upper/noext", "upper/notes.txt"], skipped
        assert skipped[1]["reason"] == "not an image or video file (by name)"


# -- 5. help paragraphs flow; examples stay one a line -------------------------------------------------------------


@pytest.mark.parametrize(("command", "words"), [
    (["derain"], "Exit code 0 when every file was done or skipped, 1 when any failed"),
    (["desnow"], "130 when interrupted (Ctrl-C, SIGTERM or SIGHUP; the same command resumes)"),
    (["synth", "rain"], "1 when any failed (the others are kept), 2 when nothing could run, 130 when interrupted"),
    (["compare"], "1 when some file could not be read (the sheet is still written), 2 when nothing could run"),
])  # fmt: skip
def test_help_paragraphs_are_rewrapped_not_broken_where_the_source_was(command: list[str], words: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert any(words in line for line in result.output.splitlines()), result.output


def test_help_examples_keep_their_lines() -> None:
    lines = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output.splitlines()
    examples = [line.strip() for line in lines if line.strip().startswith(("weatherclean train", "torchrun"))]
    assert len(examples) == 6 and all(e.count("weatherclean train") == 1 for e in examples[:5]), examples
    docstring = "One\n    two\n\n    three\n    four\n\n    \b\n    keep\n    as is\n    "
    assert flowing_help(docstring) == "One two\n\nthree four\n\n\b\nkeep\nas is"
    assert flowing_help("Head.\n\nExamples:\n\n  a --x\n  b --y") == "Head.\n\nExamples:\n\n  a --x\n  b --y"
