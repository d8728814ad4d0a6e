"""A clash of three inputs on one output, one of them by case alone, names all three.

``coll/clip.mp4``, ``coll/clip.mov`` and ``coll/CLIP.MP4`` under ``--format mp4``: the error named ``CLIP.MP4`` and
``clip.mov`` only. ``clip.mov`` clashed with ``CLIP.MP4`` by case and was not recorded as landing there, so
``clip.mp4``, written exactly where ``clip.mov`` would be (and a case variant of ``CLIP.MP4``, no clash by itself),
was not found at all; removing ``CLIP.MP4`` then showed the next clash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command, make_video
from weatherclean.batch import OutputFormat, plan_batch
from weatherclean.cli import desnow
from weatherclean.errors import InputError

CASE_NOTE = "paths that differ only in case, one file on macOS, Windows and exFAT disks"


def _photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "gray").save(path)


def _clash(folder: Path, out: Path, names: list[str], fmt: str) -> str:
    for name in names:
        _photo(folder / name)
    with pytest.raises(InputError) as info:
        plan_batch([folder], out, tag="desnowed", formats=OutputFormat.parse(fmt))
    return str(info.value)


@pytest.mark.parametrize("names", [["CLIP.PNG", "clip.jpg", "clip.png"], ["CLIP.JPG", "clip.jpg", "clip.png"]])
def test_three_inputs_on_one_output_one_by_case_are_all_named(tmp_path: Path, names: list[str]) -> None:
    """The first: the case variant reached first and the exact one last (the video report's order); the second: the
    case variant first and an exact pair after it."""
    folder, out = tmp_path / "coll", tmp_path / "out"
    message = _clash(folder, out, names, "png")
    listed = ", ".join(str(folder / name) for name in names[:-1]) + f" and {folder / names[-1]}"
    assert message.startswith(f"{out}/clip.png: {listed} would all be written here, as {out}/CLIP.")
    assert f"{out}/clip.png: {CASE_NOTE}; " in message
    assert message.endswith("their names differ only in the extension, which --format makes the same; "
                            "rename all but one, or leave out --format")  # fmt: skip
    assert "more output(s)" not in message  # CLIP.png and clip.png are one output, told once


def test_two_inputs_that_clash_by_case_are_told_as_before(tmp_path: Path) -> None:
    folder, out = tmp_path / "coll", tmp_path / "out"
    message = _clash(folder, out, ["CLIP.PNG", "clip.jpg"], "png")
    assert message.startswith(f"{out}/clip.png: both {folder}/CLIP.PNG and {folder}/clip.jpg would be written here, ")
    assert "rename one, or leave out --format" in message


def test_the_reported_video_clash_names_all_three(tmp_path: Path) -> None:
    folder = tmp_path / "coll"
    make_video(folder / "clip.mp4", frames=2, audio=None)
    for name in ("clip.mov", "CLIP.MP4"):
        (folder / name).write_bytes((folder / "clip.mp4").read_bytes())
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(folder), "--format", "mp4", "--dry-run", models=StandIn(Inverter)
    )
    said = " ".join(stderr.split())
    assert code == 2, stdout + stderr
    assert f"{folder}/CLIP.MP4, {folder}/clip.mov and {folder}/clip.mp4 would all be written here" in said
