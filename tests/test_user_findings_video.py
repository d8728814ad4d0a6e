"""An explicit ``--codec`` whose frames a container reads back shifted (H.264 in AVI: a frame late) is refused
before any work, as one whose frames it shuffles is; a container that moves the whole file is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import invoke_command, make_video
from weatherclean.cli import derain
from weatherclean.errors import OutputError
from weatherclean.io.video import VideoOptions, check_encoder


def test_h264_into_avi_is_refused_naming_the_default() -> None:
    with pytest.raises(OutputError) as caught:
        check_encoder(VideoOptions(codec="libx264"), ".avi")
    message = str(caught.value)
    assert message.startswith("--codec libx264 cannot be written into .avi: its frames would come back shifted, 0.04")
    assert "use the default (mpeg4) or --format mp4" in message and "\n" not in message


@pytest.mark.parametrize("suffix", [".avi", ".mp4", ".mkv", ".mov", ".webm", ".ts", ".flv", ".mpg", ".wmv", ".3gp"])
def test_the_defaults_pass(suffix: str) -> None:
    check_encoder(VideoOptions(), suffix)


@pytest.mark.parametrize("suffix", [".ts", ".flv", ".m2ts"])
def test_a_container_that_starts_the_whole_file_later_is_not_shifted(suffix: str) -> None:
    """MPEG-TS and FLV start the file at x264's first frame time (0.08 s), the sound with it: nothing moves."""
    check_encoder(VideoOptions(codec="libx264"), suffix)


def test_derain_refuses_it_before_any_work(tmp_path: Path) -> None:
    make_video(tmp_path / "in" / "a.mp4", frames=3, size=(32, 48), audio=None, vfr=False)
    code, _, stderr = invoke_command(
        derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "avi", "--codec", "libx264"
    )
    assert code == 2 and stderr.count("\n") == 1 and "0.04 s late" in stderr
    assert not (tmp_path / "out").exists()
