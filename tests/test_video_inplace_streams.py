"""A drone videographer's finding: ``--in-place`` on an MP4 with two video streams (a dual-lens 360 file, a front
and rear dash cam in one MP4) dropped the second camera for good, with only a note and exit code 0. In place it is
refused now, as other losses are; with ``-o`` the note stays; a cover picture is no second camera.
``in_place_refusal`` is the one decision, for the run and a dry run alike."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.cli import derain
from weatherclean.errors import InputError
from weatherclean.io.video import VideoOptions, in_place_refusal, process_video

SECOND = "its second video stream (h264, 96x96)"


def _frame(value: int, size: int) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.full((size, size, 3), value, np.uint8), format="rgb24")


def _cameras(path: Path, count: int = 2) -> Path:
    """An MP4 of ``count`` 96×96 H.264 streams of 3 frames each, as a dual-lens camera writes them."""
    with av.open(str(path), "w") as out:
        streams = [out.add_stream("libx264", rate=25) for _ in range(count)]
        for s in streams:
            s.width = s.height = 96
            s.pix_fmt = "yuv420p"
        for i in range(3):
            for s in streams:
                frame = _frame(40 * i + 20, 96)
                frame.pts, frame.time_base = i, Fraction(1, 25)
                out.mux(s.encode(frame))
        for s in streams:
            out.mux(s.encode(None))
    return path


def _with_cover(path: Path) -> Path:
    """An MP4 with one H.264 stream and a cover picture (an attached picture: MP4's ``covr``)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width = v.height = 96
        v.pix_fmt = "yuv420p"
        cover = out.add_stream("mjpeg", rate=1)
        cover.width = cover.height = 32
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = [*cover.encode(_frame(90, 32).reformat(format="yuvj420p")), *cover.encode(None)]
        for i in range(3):
            frame = _frame(40 * i + 20, 96)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        for packet in picture:
            packet.stream = cover
            out.mux(packet)
    return path


def _same(frame: np.ndarray) -> np.ndarray:
    return frame


def test_in_place_refuses_a_clip_whose_second_camera_would_be_dropped(tmp_path: Path) -> None:
    """Refused before any work, the file as it was and nothing left beside it."""
    src = _cameras(tmp_path / "360.mp4")
    before = src.read_bytes()
    with pytest.raises(InputError, match=re.escape(f"--in-place would lose {SECOND}; use -o DIR to keep the original")):
        process_video(src, src, _same, replaces_input=True)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["360.mp4"]


def test_the_command_refuses_it_too(tmp_path: Path) -> None:
    """The tester's reproduction: ``weatherclean derain FILE --in-place`` exited 0 with both cameras in, one out."""
    src = _cameras(tmp_path / "dashcam.mp4")
    before = src.read_bytes()
    code, _out, err = invoke_command(derain, "derain", str(src), "--in-place", "--device", "cpu",
                                     models=StandIn(Inverter))  # fmt: skip
    assert code != 0
    assert f"--in-place would lose {SECOND}" in err, err
    assert src.read_bytes() == before


def test_beside_the_input_the_second_camera_is_a_note(tmp_path: Path) -> None:
    src = _cameras(tmp_path / "360.mp4")
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert "second video stream (h264, 96x96) dropped: only the first is processed" in result.notes


def test_every_extra_camera_is_named(tmp_path: Path) -> None:
    src = _cameras(tmp_path / "rig.mp4", count=3)
    expected = "its second video stream (h264, 96x96) and third video stream (h264, 96x96)"
    assert in_place_refusal(src, src, VideoOptions()) == expected


def test_a_cover_picture_is_no_second_camera(tmp_path: Path) -> None:
    """Dropped with its own note, in place too, as before: a still, not a recording."""
    src = _with_cover(tmp_path / "clip.mp4")
    assert in_place_refusal(src, src, VideoOptions()) is None
    result = process_video(src, src, _same, replaces_input=True)
    assert result.notes == ["cover picture (mjpeg) dropped"], result.notes


def test_in_place_refusal_decides_as_the_run_does(tmp_path: Path) -> None:
    """The public helper (for a dry run): the run's reason, the output's container by its ending, the run's options,
    and the run's one-line error for a file that is no video."""
    src = _cameras(tmp_path / "360.mp4")
    assert in_place_refusal(src, src, VideoOptions()) == SECOND
    assert in_place_refusal(src, tmp_path / "360.unknown", VideoOptions()) is None  # the run says so as it writes
    master = tmp_path / "m.mov"
    with av.open(str(master), "w") as out:
        v = out.add_stream("prores_ks", rate=25, options={"profile": "2"})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv422p10le"
        for i in range(2):
            frame = _frame(100, 64).reformat(width=64, height=48, format="yuv422p10le")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    assert in_place_refusal(master, master, VideoOptions()) == "its ProRes 422 master (re-encoded as HEVC)"
    assert in_place_refusal(master, master, VideoOptions(codec="prores_ks")) is None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\xff" * 200)
    with pytest.raises(InputError) as helper:
        in_place_refusal(broken, broken, VideoOptions())
    with pytest.raises(InputError) as run:
        process_video(broken, broken, _same, replaces_input=True)
    assert str(helper.value) == str(run.value)
