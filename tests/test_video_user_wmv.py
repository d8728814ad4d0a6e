"""WMV (ASF) clips, as a user derains them: the frames must keep their times and their order.

H.264 written into ASF reads back with its frames' times shuffled (x264's B-frames) and the last one
repeated, so a ``.wmv`` is written with WMV8 (Microsoft's MPEG-4 v3 for an odd width, which WMV8 refuses),
and an explicit ``--codec`` the container mistimes is refused before any work.
"""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from synthetic import make_video
from weatherclean.errors import OutputError
from weatherclean.io.video import VideoOptions, check_encoder, process_video


def _times_ms(path: Path) -> list[int]:
    """The decoded frames' times in milliseconds, in the order a player gets them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [round(float(f.pts * f.time_base) * 1000) for f in container.decode(stream)]


@pytest.mark.parametrize("size", [(48, 64), (47, 63)])  # even, and odd (WMV8 takes even widths only)
def test_a_wmv_clip_keeps_its_frame_times_and_order(tmp_path: Path, size: tuple[int, int]) -> None:
    stamps = make_video(tmp_path / "cam.wmv", frames=9, size=size, audio=None, codec="msmpeg4", container="asf")
    assert _times_ms(tmp_path / "cam.wmv") == stamps
    result = process_video(tmp_path / "cam.wmv", tmp_path / "out.wmv", lambda f: f)
    assert result.frames == 9 and not result.partial
    assert _times_ms(tmp_path / "out.wmv") == stamps  # H.264 came back shuffled, its last time repeated


def test_an_encoder_whose_frames_a_container_mistimes_is_refused_before_any_work() -> None:
    with pytest.raises(OutputError, match=r"--codec libx264 cannot be written into \.wmv: .*out of order"):
        check_encoder(VideoOptions(codec="libx264"), ".wmv")
    with pytest.raises(OutputError, match="out of order"):
        check_encoder(VideoOptions(codec="libx264", preset="ultrafast"), ".wmv")  # no B-frames: last time repeated
    for suffix in (".wmv", ".mp4", ".mkv", ".avi", ".mpg", ".ts"):  # the defaults, and H.264 where it is the default
        check_encoder(VideoOptions(), suffix)
    check_encoder(VideoOptions(codec="libx264"), ".mkv")


def test_a_bad_preset_is_one_plain_line_without_ffmpegs_call() -> None:
    with pytest.raises(OutputError) as caught:
        check_encoder(VideoOptions(preset="bogus"), ".mp4")
    message = str(caught.value)
    assert message.startswith("--preset bogus: no such preset; use one of ultrafast,")  # refused before FFmpeg
    assert "avcodec_open2" not in message and "\\'" not in message
