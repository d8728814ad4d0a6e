"""The threaded video pipeline: decode ahead and encode behind the model, with nothing else changed.

Decoding runs in one worker thread, encoding and muxing in another; the model stays in the calling
thread. These tests check that the work really is spread over those threads, that the output is the
same clip (frames, timestamps, audio), and that a failure in any thread reaches the caller with its own
type and message, leaves no file behind, and stops every worker.
"""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

import weatherclean.io.video.transcoder as transcoder
from synthetic import make_video
from weatherclean.errors import DiskFullError, InputError, OutputError
from weatherclean.io.video import process_video


def _workers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("weatherclean-")]


def _pts_ms(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [round(float(f.pts * f.time_base) * 1000) for f in c.decode(c.streams.video[0])]


def _audio_packets(path: Path) -> list[tuple[int | None, int]]:
    with av.open(str(path)) as c:
        return [(p.pts, p.size) for p in c.demux(c.streams.audio[0]) if p.dts is not None]


def test_decode_and_encode_run_beside_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamps = make_video(tmp_path / "in.mp4", frames=16)
    threads: dict[str, set[str]] = {"decode": set(), "model": set(), "encode": set()}
    decoded: list[int] = []
    ahead: list[int] = []
    to_rgb, to_frame = transcoder._frame_to_rgb, transcoder._rgb_to_frame

    def spy_decode(*args: object) -> np.ndarray:
        threads["decode"].add(threading.current_thread().name)
        decoded.append(1)
        return to_rgb(*args)  # type: ignore[arg-type]

    def spy_encode(*args: object) -> object:
        threads["encode"].add(threading.current_thread().name)
        return to_frame(*args)  # type: ignore[arg-type]

    def slow_model(frame: np.ndarray) -> np.ndarray:
        threads["model"].add(threading.current_thread().name)
        time.sleep(0.03)  # a model slower than the codec: the decoder should run ahead meanwhile
        ahead.append(len(decoded) - len(ahead) - 1)
        return frame

    monkeypatch.setattr(transcoder, "_frame_to_rgb", spy_decode)
    monkeypatch.setattr(transcoder, "_rgb_to_frame", spy_encode)
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", slow_model)
    assert result.frames == 16
    assert threads == {"decode": {"weatherclean-decode"}, "model": {"MainThread"}, "encode": {"weatherclean-encode"}}
    assert max(ahead) >= 2  # frames were decoded while the model worked on an earlier one
    assert _pts_ms(tmp_path / "out.mp4") == stamps  # every frame, variable frame rate kept
    assert _audio_packets(tmp_path / "out.mp4") == _audio_packets(tmp_path / "in.mp4")  # copied as is
    assert not _workers()


def test_an_encoder_failure_reaches_the_caller_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_video(tmp_path / "in.mp4", frames=12)
    calls: list[int] = []
    to_frame = transcoder._rgb_to_frame

    def full_disk(*args: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return to_frame(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(transcoder, "_rgb_to_frame", full_disk)
    with pytest.raises(DiskFullError, match="disk full"):  # what a full disk always became, threads or not
        process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", lambda f: f)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert not _workers()

    monkeypatch.setattr(transcoder, "_rgb_to_frame", lambda *a: (_ for _ in ()).throw(OutputError("out.mp4: boom")))
    with pytest.raises(OutputError, match="^out.mp4: boom$"):
        process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", lambda f: f)
    assert not _workers()


def test_a_decoder_failure_reaches_the_caller_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_video(tmp_path / "in.mp4", frames=12)
    to_rgb = transcoder._frame_to_rgb
    seen: list[int] = []

    def corrupt(*args: object) -> np.ndarray:
        seen.append(1)
        if len(seen) == 5:
            raise InputError("in.mp4: cannot decode (Invalid data found when processing input)")
        return to_rgb(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(transcoder, "_frame_to_rgb", corrupt)
    with pytest.raises(InputError, match=r"^in.mp4: cannot decode \(Invalid data"):
        process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", lambda f: f)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert not _workers()


def test_model_errors_and_ctrl_c_stop_every_worker(tmp_path: Path) -> None:
    make_video(tmp_path / "in.mp4", frames=30, audio=None)

    def bad_size(frame: np.ndarray) -> np.ndarray:
        return frame[:-2]

    with pytest.raises(OutputError, match="changed the frame size"):
        process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", bad_size)
    assert not _workers()

    count: list[int] = []

    def interrupted(frame: np.ndarray) -> np.ndarray:
        count.append(1)
        if len(count) == 2:
            raise KeyboardInterrupt
        return frame

    with pytest.raises(KeyboardInterrupt):
        process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", interrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert not _workers()


@pytest.mark.parametrize(("pix_fmt", "dtype"), [("yuv420p", np.uint8), ("yuv420p10le", np.uint16)])
def test_the_model_gets_frames_as_decoded_and_may_answer_in_floats(tmp_path: Path, pix_fmt: str, dtype: type) -> None:
    """Frames reach the model as integers (no float copy in the codec threads); a float answer is encoded too."""
    make_video(tmp_path / "in.mkv", frames=4, audio=None, pix_fmt=pix_fmt, container="matroska")
    seen: list[np.dtype] = []

    def as_float(frame: np.ndarray) -> np.ndarray:
        seen.append(frame.dtype)
        return frame.astype(np.float32) / np.iinfo(frame.dtype).max

    process_video(tmp_path / "in.mkv", tmp_path / "float.mkv", as_float)
    process_video(tmp_path / "in.mkv", tmp_path / "same.mkv", lambda f: f)
    assert seen == [np.dtype(dtype)] * 4
    with av.open(str(tmp_path / "float.mkv")) as a, av.open(str(tmp_path / "same.mkv")) as b:
        for fa, fb in zip(a.decode(video=0), b.decode(video=0), strict=True):
            assert np.abs(fa.to_ndarray(format="rgb24").astype(int) - fb.to_ndarray(format="rgb24")).max() <= 1
