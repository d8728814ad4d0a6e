"""What a winter video user found running ``desnow`` on clips: a variable-frame-rate MP4 came back with every frame's
time right but its last frame stretched to the average frame's length (77 ms for 32 ms), so the clip grew by 37 ms
(1.573 s → 1.610 s), where a constant-rate clip kept its length exactly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from weatherclean.io.video import process_video

av = pytest.importorskip("av")

#: The tester's clip: 20 frames, unevenly spaced, in milliseconds (the MP4 muxer stores them at 1/16000).
_UNEVEN = [0, 33, 66, 100, 200, 233, 300, 310, 320, 500, 533, 566, 1000, 1033, 1066, 1400, 1433, 1466, 1500, 1533]


def _clip(path: Path, times: list[int], base: Fraction) -> None:
    """64×48 H.264 frames of noise at ``times`` (ticks of ``base``), the stream declaring 30 fps."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.time_base = video.codec_context.time_base = base
        for i, t in enumerate(times):
            picture = np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = t, base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def _timing(path: Path) -> tuple[float, list[float], float]:
    """The file's duration, each frame's time and where the last frame ends, in seconds."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        packets = sorted((p.pts, p.duration) for p in c.demux(stream) if p.size)
        base = stream.time_base
        last, length = packets[-1]
        return c.duration / 1_000_000, [float(t * base) for t, _ in packets], float((last + length) * base)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_a_variable_rate_clip_keeps_its_length_and_its_last_frame_s(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "vfr.mp4"
    _clip(src, _UNEVEN, Fraction(1, 1000))
    out = tmp_path / f"out{suffix}"
    process_video(src, out, lambda f: f)
    length, times, end = _timing(src)
    got_length, got_times, got_end = _timing(out)
    assert got_times == pytest.approx(times, abs=0.0005)  # (Matroska counts in milliseconds)
    assert got_end == pytest.approx(end, abs=0.0011), (got_end, end)  # the last frame lasts 33 ms, not 78
    assert got_length == pytest.approx(length, abs=0.0011), (got_length, length)
    if suffix != ".mkv":  # to the tick: the frames' span and the last one's 33 ms (FFmpeg's own MP4 said 1 ms less)
        assert got_length == pytest.approx(times[-1] - times[0] + 0.033, abs=0.0005), got_length


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_a_constant_rate_clip_keeps_its_length(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "cfr.mp4"
    _clip(src, [i * 1001 for i in range(15)], Fraction(1, 30000))
    out = tmp_path / f"out{suffix}"
    process_video(src, out, lambda f: f)
    length, times, end = _timing(src)
    got_length, got_times, got_end = _timing(out)
    assert got_times == pytest.approx(times, abs=0.0005)
    assert got_end == pytest.approx(end, abs=0.0011)
    assert got_length == pytest.approx(length, abs=0.0011)


def test_a_variable_rate_clip_keeps_its_length_without_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding, the model and encoding in turn on one thread hold the last frame back as the pipeline does."""
    monkeypatch.setenv("WEATHERCLEAN_PIPELINE", "0")
    src = tmp_path / "vfr.mp4"
    _clip(src, _UNEVEN, Fraction(1, 1000))
    process_video(src, tmp_path / "out.mp4", lambda f: f)
    length, times, end = _timing(tmp_path / "out.mp4")
    assert (times, end) == _timing(src)[1:]
    assert length == pytest.approx(times[-1] - times[0] + 0.033, abs=0.0005)


# Second round: an irregularly timed clip in MPEG-TS has no average rate, and FFmpeg's guess is its 90 kHz clock. Taken
# as 90000 fps, its MP4 played for 222 µs: every decode time squeezed into consecutive ticks, the frame times right.


def _packets(path: Path) -> tuple[Any, list[tuple[int, int, int]]]:
    """The video stream and its packets' (pts, dts, duration), in decode order."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        # read while the file is open: PyAV 18.1.1 refuses a closed container's stream attributes
        read = SimpleNamespace(average_rate=stream.average_rate, time_base=stream.time_base, duration=stream.duration)
        return read, [(p.pts, p.dts, p.duration) for p in c.demux(stream) if p.size]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".ts"])
def test_an_irregular_mpeg_ts_clip_keeps_its_frame_times_and_length(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "vfr.ts"
    _clip(src, [t * 90 for t in _UNEVEN], Fraction(1, 90000))
    out = tmp_path / f"out{suffix}"
    process_video(src, out, lambda f: f)
    length, times, _ = _timing(src)
    got_length, got_times, _ = _timing(out)
    assert got_times == pytest.approx(times, abs=0.0005)
    # MPEG-TS stores no frame's length: its clips end where the last frame starts; the others show it as long as the
    # frame before it (33 ms), as FFmpeg's own encoding does. Matroska's length counts from 0, the first frame's 66 ms
    last = 0 if suffix == ".ts" else 0.033
    start = 0 if suffix == ".mkv" else times[0]
    assert got_length == pytest.approx(times[-1] - start + last, abs=0.0011), (got_length, length)
    stream, packets = _packets(out)
    assert stream.average_rate is None or stream.average_rate < 100  # not 90000 fps
    assert [p for p, d, _ in packets if d is not None and d > p] == []


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_a_last_frame_after_a_gap_keeps_the_mp4_s_length(tmp_path: Path, suffix: str) -> None:
    """30 fps, then the last frame 5 s on (a recorder that stops): the encoder's decode times lag the frames by their
    own spacing, the last by the gap, and the MP4 said 1.02 s for a 5.03 s clip."""
    src = tmp_path / "gap.mkv"
    _clip(src, [i * 33 for i in range(30)] + [5000], Fraction(1, 1000))
    out = tmp_path / f"out{suffix}"
    process_video(src, out, lambda f: f)
    length, times, _ = _timing(src)
    got_length, got_times, _ = _timing(out)
    assert length == pytest.approx(5.033)
    assert got_times == pytest.approx(times, abs=0.0005)
    assert got_length == pytest.approx(length, abs=0.0005)
    stream, _ = _packets(out)
    assert float(stream.duration * stream.time_base) == pytest.approx(length, abs=0.0005)


def test_frames_seconds_apart_in_a_clip_that_says_30_fps_keep_their_decode_times(tmp_path: Path) -> None:
    """A time-lapse (a frame a second) in Matroska that declares 30 fps: the encoder's decode times lag the frames by
    2 s, far more than 16 frames of 30 fps, and were taken as absurd and squeezed one tick apart."""
    src = tmp_path / "lapse.mkv"
    _clip(src, [i * 1000 for i in range(8)], Fraction(1, 1000))
    out = tmp_path / "out.mp4"
    process_video(src, out, lambda f: f)
    stream, packets = _packets(out)
    steps = [b - a for (_, a, _), (_, b, _) in zip(packets[2:], packets[3:], strict=False)]
    assert min(steps) * stream.time_base >= Fraction(1, 2), packets  # a frame a second: decoded a second apart
    assert _timing(out)[0] == pytest.approx(_timing(src)[0], abs=0.0011)
