"""What a dash-cam and surveillance user's tester found: frame times a container stamps in decode order
(H.264 with B-frames in AVI), repeated frame times, MPEG-TS clocks near their wrap and files cut inside a
transport packet, a picture size that changes mid-clip, hidden leftovers of a killed run beside a finished
output, and failures printed with ``--json``."""

from __future__ import annotations

import itertools
import json
import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from synthetic import invoke_command
from weatherclean.cli import derain
from weatherclean.io.video import process_video

av = pytest.importorskip("av")


def _picture(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 3 + i * 9) % 256, (y * 4) % 256, (x + y + 11 * i) % 256], -1).astype(np.uint8)


def _times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [round(float(f.time), 3) for f in c.decode(video=0)]


def _h264(path: Path, frames: int, *, fmt: str | None = None, first: int = 0, rate: int = 25,
          bframes: int = 3) -> None:  # fmt: skip
    """``frames`` frames of H.264 at ``rate`` fps from time ``first`` (in 1/rate s), with B-frames."""
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.max_b_frames = bframes
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = first + i, Fraction(1, rate)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def test_h264_with_b_frames_in_avi_keeps_its_frames_in_time(tmp_path: Path) -> None:
    """FFmpeg stamps AVI packets in decode order, so the frames came out of the decoder with times
    0.04, 0.16, 0.12, ...: into MP4 they kept that order of times (a hole after frame 0, the rest a frame
    late), and into AVI they were moved with a note blaming AVI's constant rate."""
    src = tmp_path / "b.avi"
    _h264(src, 25)
    assert _times(src) != sorted(_times(src))  # what FFmpeg reads: out of order
    as_mp4 = process_video(src, tmp_path / "b.mp4", lambda f: f)
    as_avi = process_video(src, tmp_path / "out.avi", lambda f: f)
    times = _times(tmp_path / "b.mp4")
    assert times == [round(0.04 * (i + 1), 3) for i in range(25)]
    assert _times(tmp_path / "out.avi") == [round(0.04 * i, 3) for i in range(25)]
    assert not any("late" in n for n in as_mp4.notes + as_avi.notes)


def test_a_frame_lost_in_a_b_frame_avi_leaves_a_gap_and_moves_no_other(tmp_path: Path) -> None:
    """A packet missing mid-clip (a recorder that dropped it): timing frames by the earliest time still
    owed left the lost frame's time behind, and every later frame came out a slot early."""
    src = tmp_path / "lost.avi"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.max_b_frames = 3
        packets = []
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            packets += v.encode(frame)
        packets += v.encode(None)
        for n, packet in enumerate(packets):
            if n != 14:
                out.mux(packet)
    process_video(src, tmp_path / "out.mp4", lambda f: f)
    times = _times(tmp_path / "out.mp4")
    assert len(times) == 39 and times == sorted(times) and times[:10] == [round(0.04 * (i + 1), 3) for i in range(10)]
    assert times[-1] == max(_times(src))  # the last frames keep their own time


def test_repeated_frame_times_move_only_those_frames(tmp_path: Path) -> None:
    """A camera that stamps two frames alike: each later frame used to go one frame interval further back,
    the picture drifting behind the sound by a frame per repeat (300 ms after three)."""
    src = tmp_path / "dup.mkv"
    _mjpeg_mkv(src, [0, 100, 200, 200, 300, 400, 400, 400, 500, 600])
    for suffix in (".mkv", ".mp4"):
        result = process_video(src, tmp_path / f"out{suffix}", lambda f: f)
        assert _times(tmp_path / f"out{suffix}") == [0.0, 0.1, 0.2, 0.201, 0.3, 0.4, 0.401, 0.402, 0.5, 0.6]
        assert "3 frame(s) stamped with the time of the frame before: each is shown 1 ms after it" in result.notes


def test_a_clock_that_goes_back_keeps_the_frames_after_it_a_frame_apart(tmp_path: Path) -> None:
    """Two recordings joined with ``cat`` (or a recorder's clock reset): moving each later frame only 1 ms
    after the one before squeezed the whole second part into a flash of a few milliseconds."""
    _h264(tmp_path / "a.ts", 10, fmt="mpegts", rate=10, bframes=0)
    joined = tmp_path / "joined.ts"
    joined.write_bytes((tmp_path / "a.ts").read_bytes() * 2)
    result = process_video(joined, tmp_path / "out.mp4", lambda f: f)
    times = _times(tmp_path / "out.mp4")
    # (FFmpeg flags the packet at the join as damaged, so one frame there may be lost: the seam is cut.)
    assert len(times) >= 19 and all(b - a > 0.099 for a, b in itertools.pairwise(times)) and times[-1] > 1.85
    assert ("the video's timestamps go back by 1.0 s at 1.0 s; the frames after it follow on, keeping their "
            "spacing") in result.notes  # fmt: skip


def _mjpeg_mkv(path: Path, stamps: list[int]) -> None:
    """An MJPEG Matroska clip whose frames carry ``stamps`` (milliseconds), as a recorder wrote them."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("mjpeg", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        for i, ms in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24").reformat(format="yuvj420p")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in v.encode(frame):
                packet.pts = packet.dts = ms
                packet.time_base = Fraction(1, 1000)
                out.mux(packet)


def test_a_transport_stream_just_before_its_clock_wraps_is_whole(tmp_path: Path) -> None:
    """FFmpeg reads a TS that starts 0.5 s before the 33-bit wrap with a negative start; its length was
    compared with the last frame's time as if it started at zero, and 25 whole frames were "of about 30"."""
    src = tmp_path / "wrap.ts"
    with av.open(str(src), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = 2**33 - 45000 + i * 9000, Fraction(1, 90000)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    with av.open(str(src)) as c:
        assert c.streams.video[0].start_time < 0  # the case: read as starting before zero
    result = process_video(src, tmp_path / "out.ts", lambda f: f)
    assert result.frames == 25 and not result.partial


def test_a_transport_stream_cut_inside_a_packet_is_partial(tmp_path: Path) -> None:
    """A TS records no length: one cut short was derained as whole, exit 0. Cut inside a transport packet
    (a recorder that lost power), it is now partial; cut on a packet's edge, nothing can tell."""
    whole = tmp_path / "whole.ts"
    _h264(whole, 25, fmt="mpegts")
    data = whole.read_bytes()
    assert len(data) % 188 == 0
    (tmp_path / "in").mkdir()
    video = [k for k in range(0, len(data) // 2, 188) if (data[k + 1] & 0x1F) << 8 | data[k + 2] == 256]
    (tmp_path / "in" / "cut.ts").write_bytes(data[: video[-1] + 77])  # 77 bytes into a video packet
    assert process_video(tmp_path / "in" / "cut.ts", tmp_path / "x.ts", lambda f: f).partial
    tables = [k for k in range(0, len(data) // 2, 188) if (data[k + 1] & 0x1F) << 8 | data[k + 2] == 0]
    (tmp_path / "table.ts").write_bytes(data[: tables[-1] + 77])  # inside a table: no frame is lost
    assert not process_video(tmp_path / "table.ts", tmp_path / "z.ts", lambda f: f).partial
    assert not process_video(whole, tmp_path / "y.ts", lambda f: f).partial
    code, _, stderr = invoke_command(derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                     "--model", "j4rnet-light")  # fmt: skip
    assert code == 1 and "cut.ts: only" in stderr and (tmp_path / "out" / "cut.partial.ts").exists()


def test_a_size_change_mid_clip_gets_a_note(tmp_path: Path) -> None:
    """An IP camera that switches profile: the frames of the new size were stretched to the clip's without
    a word."""
    src = tmp_path / "switch.ts"
    with av.open(str(src), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for start, (w, h) in ((0, (64, 48)), (6, (48, 32))):
            enc = av.CodecContext.create("libx264", "w")
            enc.width, enc.height, enc.pix_fmt, enc.time_base = w, h, "yuv420p", Fraction(1, 10)
            enc.options = {"bframes": "0"}
            packets = []
            for i in range(6):
                frame = av.VideoFrame.from_ndarray(_picture(i, w, h), format="rgb24").reformat(format="yuv420p")
                frame.pts, frame.time_base = start + i, Fraction(1, 10)
                packets += enc.encode(frame)
            for packet in packets + enc.encode(None):
                packet.stream, packet.time_base = v, Fraction(1, 10)
                out.mux(packet)
    seen: list[tuple[int, ...]] = []
    result = process_video(src, tmp_path / "out.mp4", lambda f: seen.append(f.shape) or f)
    assert seen[0] == (48, 64, 3) and seen[-1] == (32, 48, 3)  # each derained at its own size
    assert ("the picture size changes mid-clip (48×32 from frame 7): 6 frame(s) were restored at their own "
            "size, then scaled to the clip's 64×48") in result.notes  # fmt: skip


def test_a_rerun_that_skips_a_done_output_removes_a_killed_runs_leftover(tmp_path: Path) -> None:
    """SIGKILL leaves the hidden temporary file (or a ``--frames`` work folder); the rerun finds the output
    done, skips it, and used to leave the leftover for ever (only a write to that name removed it). A dry run
    removes nothing, and each output folder is scanned once (a glob per output made planning quadratic)."""
    from PIL import Image

    from weatherclean.cli import desnow
    from weatherclean.io.leftovers import STALE_SECONDS

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(_picture(0)).save(tmp_path / "in" / name)
        Image.fromarray(_picture(1)).save(tmp_path / "out" / name)
    old, recent = tmp_path / "out" / ".a.png.k1ll3d00.part", tmp_path / "out" / ".a.png.n0wn0w00.part"
    folder, other = tmp_path / "out" / ".b.png.xyzxyz00.part", tmp_path / "out" / ".c.png.abcabc00.part"
    old.write_bytes(b"half")
    recent.write_bytes(b"another run, writing now")
    folder.mkdir()
    (folder / "00001.png").write_bytes(b"a frame")
    other.write_bytes(b"not an output of this batch")
    long_ago = time.time() - STALE_SECONDS - 60
    for path in (old, folder, other):
        os.utime(path, (long_ago, long_ago))
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    code, _, _ = invoke_command(desnow, "desnow", *args, "--dry-run")
    assert code == 0 and old.exists() and folder.exists()  # a dry run changes nothing
    code, stdout, _ = invoke_command(desnow, "desnow", *args)
    assert code == 0 and "2 skipped" in stdout
    assert not old.exists() and not folder.exists() and recent.exists() and other.exists()


def test_json_keeps_the_error_lines_on_stderr(tmp_path: Path) -> None:
    """usage.md: each failed file gets ``error: FILE: reason`` on stderr whatever else the run prints."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.mkv").write_bytes(b"")
    code, stdout, stderr = invoke_command(derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                          "--json", "--model", "j4rnet-light")  # fmt: skip
    assert code == 1 and json.loads(stdout)["counts"]["failed"] == 1
    assert stderr.startswith("error: ") and "empty.mkv" in stderr and stderr.count("\n") == 1


def test_the_compare_strip_shows_anamorphic_video_in_its_shown_shape(tmp_path: Path) -> None:
    """1440×1080 HDV and other anamorphic video: the strip showed the stored 4:3 shape, not the 16:9 a
    player shows."""
    from weatherclean.io.compare import FrameSampler, write_strip

    src = tmp_path / "hdv.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.sample_aspect_ratio = Fraction(4, 3)
        for i in range(2):
            out.mux(v.encode(av.VideoFrame.from_ndarray(_picture(i), format="rgb24")))
        out.mux(v.encode(None))
    sampler = FrameSampler()
    result = process_video(src, tmp_path / "out.mp4", lambda f: sampler.offer(f, f) or f)
    assert result.pixel_aspect == pytest.approx(4 / 3) and result.shown_aspect() == pytest.approx(4 / 3)
    from PIL import Image

    square = Image.open(write_strip(sampler, tmp_path / "square.mp4"))
    shown = Image.open(write_strip(sampler, tmp_path / "shown.mp4", pixel_aspect=result.shown_aspect()))
    assert shown.width == square.width and shown.height < square.height  # 16:9 frames within the same side
