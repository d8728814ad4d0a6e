"""Findings of a tester running surveillance and time-lapse footage: damaged H.264 whose decoder hands frames
out of order, KLV metadata in MPEG-TS, a failed partial video in ``--json`` and the summary, and DVR
recordings joined with ``cat``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest
import torch

from synthetic import StandIn, invoke_command
from weatherclean.cli import derain
from weatherclean.io.video import process_video
from weatherclean.io.video.clock import _SharedClock
from weatherclean.io.video.order import _FrameOrder

RATE = 12


def _damaged_b_frames(folder: Path) -> Path:
    """3 s of H.264 with B-frames at 12 fps and 3 s of silent AAC, with 1500 bytes a quarter into the file
    overwritten: FFmpeg's decoder then gives frames 9 and 10 after 29 and 30. Frame i is red i·7."""
    whole, cam = folder / "full.mp4", folder / "cam.mp4"
    with av.open(str(whole), "w") as c:
        v = c.add_stream("libx264", rate=RATE)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        v.options = {"g": "12", "bf": "3"}
        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(36):
            img = np.zeros((120, 160, 3), np.uint8)
            img[..., 0] = i * 7
            img[:, (i * 5) % 160] = 255
            c.mux(v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(v.encode(None))
        for t in range(0, 3 * 48000, 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, t
            c.mux(a.encode(f))
        c.mux(a.encode(None))
    data = bytearray(whole.read_bytes())
    start = int(len(data) * 0.25)
    data[start : start + 1500] = b"\xaa" * 1500
    cam.write_bytes(bytes(data))
    return cam


def _frames(path: Path) -> list[tuple[float, float]]:
    """(time in seconds, red level / 7: the frame's index where it decoded whole) of each frame."""
    out = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for packet in c.demux(stream):
            try:
                for f in packet.decode():
                    out.append((round(float(f.pts * f.time_base), 3), f.to_ndarray(format="rgb24")[60, 2, 0] / 7))
            except av.error.InvalidDataError:
                continue
    return out


def test_frames_decoded_out_of_order_keep_their_own_time(tmp_path: Path) -> None:
    """Taken for a clock reset ("the video's timestamps go back by 1.8 s at 2.5 s (2 times)"), the frames
    decoded late pushed every later one back: the 3 s clip came out 6.5 s long, out of sync with its sound."""
    cam = _damaged_b_frames(tmp_path)
    times = [t for t, _ in _frames(cam)]
    assert times != sorted(times)  # what the decoder gives: 2.417, 0.75, 2.5, 0.833...
    result = process_video(cam, tmp_path / "out.mp4", lambda f: f)
    frames = _frames(tmp_path / "out.mp4")
    times = [t for t, _ in frames]
    assert times == sorted(set(times)) and times[-1] < 3.0, times
    for t, index in frames[:11]:  # the frames that decoded whole, 9 and 10 among them, at their own time
        assert abs(t * RATE - index) < 0.6, frames
    assert result.partial and not any("go back" in note for note in result.notes), result.notes
    assert any("put back at its own time" in note for note in result.notes), result.notes


class _Identity(torch.nn.Module):
    """Stands in for J4R-Net: every frame as it came."""

    receptive_field = 8
    bytes_per_pixel = None

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        return SimpleNamespace(background=x), torch.zeros(1)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _derain(*args: str) -> tuple[int, str, str]:
    return invoke_command(derain, "derain", *args, "--device", "cpu", models=StandIn(_Identity))


def test_a_partial_video_is_named_as_typed_in_its_own_field_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .partial file was named only inside the reason, resolved ("/…/jout/cam.partial.mp4"), its notes
    (the frames put back in order) were lost, and the summary said "written to good.mp4" alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jin").mkdir()
    _damaged_b_frames(tmp_path / "jin")
    (tmp_path / "jin" / "cam.mp4").rename(tmp_path / "jin" / "corrupt_mid.mp4")
    code, stdout, stderr = _derain("jin", "-o", "jout", "--json")
    summary = json.loads(stdout)
    assert code == 1 and [job["output"] for job in summary["done"]] == ["jout/full.mp4"]
    (failure,) = summary["failed"]
    assert failure["partial"] == "jout/corrupt_mid.partial.mp4"
    assert "restored into jout/corrupt_mid.partial.mp4;" in failure["reason"], failure
    assert "restored into jout/corrupt_mid.partial.mp4;" in stderr and str(tmp_path) not in stderr
    notes = [n["note"] for n in summary["notes"] if n["path"] == "jin/corrupt_mid.mp4"]
    assert any("put back at its own time" in n for n in notes) and not any("could be decoded" in n for n in notes)
    times = [t for t, _ in _frames(tmp_path / "jout" / "corrupt_mid.partial.mp4")]
    assert times == sorted(times) and times[-1] < 3.0
    code, stdout, _ = _derain("jin", "-o", "jout", "--overwrite")
    assert code == 1 and "written to jout/full.mp4; 1 partial output kept (see errors)" in " ".join(stdout.split())


def _klv_ts(path: Path) -> list[tuple[int, bytes]]:
    """A TS with H.264 and a KLV stream (a drone's or a CCTV camera's metadata), as FFmpeg's muxer writes it;
    returns the KLV packets as (pts, bytes)."""
    with av.open(str(path), "w", format="mpegts") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        klv = c.add_data_stream("klv")
        for i in range(6):
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), format="rgb24")))
            packet = av.Packet(b"\x06\x0e\x2b\x34" + bytes([i]) * 12)
            packet.stream, packet.pts, packet.dts, packet.time_base = klv, 9000 * i, 9000 * i, Fraction(1, 90000)
            c.mux(packet)
        c.mux(v.encode(None))
    return _klv_packets(path)


def _klv_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as c:
        return [(p.pts, bytes(p)) for p in c.demux() if p.size and p.stream.type == "data"]


def test_klv_in_a_transport_stream_is_copied(tmp_path: Path) -> None:
    """KLV was dropped "because it cannot be stored in mpegts", from an MPEG-TS that held it."""
    src = tmp_path / "klv.ts"
    packets = _klv_ts(src)
    result = process_video(src, tmp_path / "out.ts", lambda f: f)
    assert not any("klv" in note for note in result.notes), result.notes
    with av.open(str(tmp_path / "out.ts")) as c:
        assert [s.name for s in c.streams.data] == ["klv"]
    assert [data for _, data in _klv_packets(tmp_path / "out.ts")] == [data for _, data in packets] != []
    # Where the muxer takes the stream but would not keep it (AVI writes an "unknown" one), no claim about AVI.
    result = process_video(src, tmp_path / "out.avi", lambda f: f)
    assert "data stream (klv) dropped: avi would not keep it as it is" in result.notes
    # MOV took KLV as a nameless track, a packet short, without a word: a named data stream must come back named
    result = process_video(src, tmp_path / "out.mov", lambda f: f)
    assert "data stream (klv) dropped: mov would not keep it as it is" in result.notes


def _joined_ts(folder: Path, sound_from: float = 0.0) -> Path:
    """Two 1 s DVR recordings (10 fps H.264 with B-frames, AAC from ``sound_from`` s) joined with ``cat``."""
    one = folder / "one.ts"
    with av.open(str(one), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.max_b_frames = 3
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        for t in range(round(sound_from * 48000), 48000, 1024):
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 48000, t
            out.mux(a.encode(sound))
        out.mux(a.encode(None))
    joined = folder / "joined.ts"
    joined.write_bytes(one.read_bytes() * 2)
    return joined


def test_joined_recordings_with_sound_are_whole_and_in_sync(tmp_path: Path) -> None:
    """The sound's clock going back at the seam failed the whole clip ("Invalid argument"), and without it the
    one frame FFmpeg loses at the seam failed it as partial ("only 19 of about 20 frames")."""
    joined = _joined_ts(tmp_path)
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial and result.frames == 19, result.notes
    assert any("lost where recordings were joined" in note for note in result.notes), result.notes
    with av.open(str(tmp_path / "out.ts")) as c:
        video = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    with av.open(str(tmp_path / "out.ts")) as c:
        sound = [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.size]
    assert video == sorted(video) and sound == sorted(sound) and len(sound) % 2 == 0
    # The second recording (its first frame is the 10th: the seam cost one) starts its sound as the first did.
    first, second = sound[0] - video[0], sound[len(sound) // 2] - video[9]
    assert abs(first - second) < 0.025, (video, sound)


def _ordered(times: list[int | None], frame_ticks: int = 1) -> tuple[list[int | None], int, int]:
    order = _FrameOrder(frame_ticks)
    out = [t for p in times for t, _ in order.push(p, p)] + [t for t, _ in order.flush()]
    return out, order.reordered, order.dropped


def test_frames_out_of_order_are_told_from_a_clock_reset() -> None:
    """Out of order, a frame returns to the timeline it left; after a reset, the frames rise from the jump."""
    assert _ordered([*range(9), 29, 9, 30, 10, 31, 32]) == ([*range(11), 29, 30, 31, 32], 2, 0)
    assert _ordered([*range(10, 20), *range(10)]) == ([*range(10, 20), *range(10)], 0, 0)  # joined: kept as is
    assert _ordered([*range(10, 20), 0, 1]) == ([*range(10, 20), 0, 1], 0, 0)  # a reset just before the end
    assert _ordered([*range(11), 3, 11, 12]) == ([*range(13)], 0, 1)  # too late for its place: dropped
    assert _ordered([0, 1, 2, 2, 3, None, 4]) == ([0, 1, 2, 2, 3, None, 4], 0, 0)  # repeats stay for the nudge


def _starts(path: Path) -> tuple[list[float], list[float]]:
    """The times of the video's frames and of the sound's packets, in seconds."""
    with av.open(str(path)) as c:
        video = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        sound = [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.size]
    return video, sound


def test_joined_recordings_whose_sound_starts_late_keep_it_late(tmp_path: Path) -> None:
    """Each copied stream followed on after its own last packet: DVR sound that starts 0.3 s after its
    picture started the second recording's with its picture (0.28 s off), with two notes of two jumps."""
    joined = _joined_ts(tmp_path, sound_from=0.3)
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial and result.frames == 19, result.notes
    video, sound = _starts(tmp_path / "out.ts")
    assert video == sorted(video) and sound == sorted(sound) and len(sound) % 2 == 0
    first, second = sound[0] - video[0], sound[len(sound) // 2] - video[9]
    assert first > 0.25 and abs(first - second) < 0.025, (video, sound)
    jumps = [note for note in result.notes if "go back" in note]
    assert len(jumps) == 1 and jumps[0].startswith("the video's"), result.notes


def _recording(path: Path, start: int, frames: int, level: int) -> None:
    """A 10 fps MPEG-TS of ``frames`` frames (no B-frames) from frame ``start``, frame i grey ``level`` + 8·i."""
    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.options = {"bf": "0"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level + i * 8, np.uint8), format="rgb24")
            frame.pts, frame.time_base = start + i, Fraction(1, 10)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def test_a_clock_set_back_by_a_few_frames_follows_on(tmp_path: Path) -> None:
    """A second recording that starts 0.3 s before the first ends (fewer frames than are held for ordering)
    was sorted in among the first's frames (alternating, 1 ms apart), blamed on the decoder, and partial."""
    _recording(tmp_path / "a.ts", 0, 12, 0)
    _recording(tmp_path / "b.ts", 8, 12, 128)
    joined = tmp_path / "joined.ts"
    joined.write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial, result.notes
    assert [n for n in result.notes if "go back" in n or "decoder" in n] == [
        "the video's timestamps go back by 0.4 s at 1.2 s; the frames after it follow on, keeping their spacing"
    ], result.notes
    with av.open(str(tmp_path / "out.ts")) as c:
        frames = [(float(f.pts * f.time_base), int(f.to_ndarray(format="rgb24")[5, 5, 0])) for f in c.decode(video=0)]
    times, levels = [t for t, _ in frames], [level for _, level in frames]
    assert times == sorted(set(times)) and levels == sorted(levels) and len(frames) == 23, frames


def test_late_frames_a_clock_reset_and_misplaced_frames_are_told_apart() -> None:
    """Three late frames that rise ([5, 6, 7] after 20) were a clock reset, and every later frame moved back;
    a reset in the last frame was dropped as late; one frame early counted all seven after it."""
    assert _ordered([*range(21), 5, 6, 7, 21, 22, 23]) == ([*range(24)], 0, 3)
    assert _ordered([*range(100, 120), 0]) == ([*range(100, 120), 0], 0, 0)  # a reset: the transcoder notes it
    assert _ordered([10, *range(7)]) == ([*range(7), 10], 1, 0)
    assert _ordered([*range(12), *range(8, 20)]) == ([*range(12), *range(8, 20)], 0, 0)  # set back by 4 frames
    assert _ordered([*range(10), *range(7, 13)]) == ([*range(10), *range(7, 13)], 0, 0)  # and by 3
    assert _ordered([0, 1, 2, 3, 2, 4, 5]) == ([0, 1, 2, 3, 4, 5], 0, 1)  # a time again, then on: out of place
    assert _ordered([*range(5), *range(7, 21), 5, 6]) == ([*range(5), *range(7, 21)], 0, 2)  # late, at the end
    assert _ordered([0, 40, 80, 75, 120], 40) == ([0, 40, 75, 80, 120], 0, 0)  # jitter: sorted, not counted


def _packet(index: int, kind: str, dts: int) -> SimpleNamespace:
    """A stand-in for a copied packet of stream ``index`` at ``dts`` (1/1000 s), 20 ms long."""
    stream = SimpleNamespace(index=index, type=kind)
    return SimpleNamespace(stream=stream, dts=dts, pts=dts, duration=20, time_base=Fraction(1, 1000))


def test_a_copied_stream_whose_clock_goes_back_alone_follows_its_own_last_packet() -> None:
    """What the shared offset leaves to a stream whose clock went back while the video's did not: it waits for
    the video a while, then follows on after its own last packet, with the jump kept for a note."""
    clock = _SharedClock()
    sent = [p.dts for t in range(0, 1000, 20) for p in clock.copied(_packet(1, "audio", t))]
    assert sent == list(range(0, 1000, 20))
    assert [p.dts for p in clock.copied(_packet(1, "audio", 300))] == []  # waits for the video
    assert [p.dts for p in clock.finish()] == [1000] and clock.jumps == {1: [(1.0, 0.7)]}
    # Where the video goes back, the offset is shared: the sound keeps its place after the picture.
    clock = _SharedClock()
    for t in range(300, 1000, 20):
        clock.copied(_packet(1, "audio", t))
    clock.reach(Fraction(1))  # the video's last frame ends at 1.0 s
    assert clock.copied(_packet(1, "audio", 300)) == []
    start = clock.start_for(0, Fraction(1, 1000))  # the second recording's first frame, at 0
    assert start == 1000 and [p.dts for p in clock.start_epoch(Fraction(1))] == [1300] and not clock.jumps


def test_ray_shows_a_partial_output_from_the_source_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without -o, the worker's absolute source showed the .partial file absolute in ``--json`` on Ray, where a
    local run shows it relative."""
    from weatherclean.batch.jobs import Job, display
    from weatherclean.batch.ray_engine import _absolute, _as_typed
    from weatherclean.batch.run import BatchSummary, PartialFailure

    monkeypatch.chdir(tmp_path)
    typed = Job(Path("jin/cam.mp4"), tmp_path / "jin" / "desnowed" / "cam.mp4")
    sent = _absolute(typed, tmp_path)
    partial = sent.output.with_name("cam.partial.mp4")
    reason = f"{sent.source}: only 18 of 36 frames could be decoded; those were restored into {partial}"
    failure = PartialFailure(display(sent.source), reason, partial=partial, source=sent.source)
    summary = _as_typed(BatchSummary(failed=[failure]), sent, typed, tmp_path)
    (shown,) = summary.to_dict()["failed"]
    assert shown["partial"] == "jin/desnowed/cam.partial.mp4", shown
    assert shown["reason"].endswith("restored into jin/desnowed/cam.partial.mp4"), shown


# Second review: CCTV frame rates, fixed-length DVR exports, B-frames at the seam, AVI, spacing wider than declared.


def _dvr_segment(
    path: Path, rate: int, frames: int, *, gop: int | None = None, sound: str | None = "aac", sample_rate: int = 8000
) -> None:
    """One DVR recording as MPEG-TS: ``frames`` frames of 64×48 H.264 with B-frames at ``rate`` fps (a GOP of
    ``gop`` frames), frame i grey 10·i, and ``sound`` (aac or mp2, mono) for as long, from 0."""
    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.max_b_frames = 3
        if gop:
            v.options = {"g": str(gop)}
        a = out.add_stream(sound, rate=sample_rate) if sound else None
        if a is not None:
            a.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 10) % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is not None:
            size = 1152 if sound == "mp2" else 1024
            fmt, dtype = ("s16", np.int16) if sound == "mp2" else ("fltp", np.float32)
            for t in range(0, frames * sample_rate // rate, size):
                chunk = av.AudioFrame.from_ndarray(np.zeros((1, size), dtype), format=fmt, layout="mono")
                chunk.sample_rate, chunk.pts = sample_rate, t
                out.mux(a.encode(chunk))
            out.mux(a.encode(None))


def _joined(folder: Path, segments: int, *args: Any, **kwargs: Any) -> Path:
    """``segments`` copies of one :func:`_dvr_segment` joined with ``cat`` (a DVR's fixed-length exports)."""
    one = folder / "one.ts"
    _dvr_segment(one, *args, **kwargs)
    joined = folder / "joined.ts"
    joined.write_bytes(one.read_bytes() * segments)
    return joined


def _seam_notes(notes: list[str]) -> list[str]:
    return [note for note in notes if "go back" in note or "could be decoded" in note or "lost where" in note]


@pytest.mark.parametrize("rate, threads", [(1, 0), (2, 17)])
def test_joined_cctv_recordings_at_1_or_2_fps_keep_their_sound_with_the_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int, threads: int
) -> None:
    """The video's frames reach the model many frames after their packets are read (17 decoder threads on a
    16-core server), which at 1-2 fps was more than the 5 s of its own time the sound waited: the second
    recording's sound went 8-10 s before its picture, "the audio's timestamps go back ... while the picture's
    do not" beside the video's own jump, and the clip partial."""
    if threads:  # as FFmpeg's automatic count gives on 16 cores: every frame 16 packets late, and more
        from weatherclean.io.video import transcoder

        setup = transcoder._Transcoder.__init__

        def with_threads(self: Any, *args: Any, **kwargs: Any) -> None:
            setup(self, *args, **kwargs)
            self.vin.codec_context.thread_count = threads

        monkeypatch.setattr(transcoder._Transcoder, "__init__", with_threads)
    joined = _joined(tmp_path, 2, rate, 16)
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial and result.frames == 31, result.notes
    jumps = [note for note in result.notes if "go back" in note]
    assert len(jumps) == 1 and jumps[0].startswith("the video's timestamps go back by"), result.notes
    video, sound = _starts(tmp_path / "out.ts")
    assert video == sorted(video) and sound == sorted(sound) and len(sound) % 2 == 0
    first, second = sound[0] - video[0], sound[len(sound) // 2] - video[15]
    assert abs(first - second) < 0.05, (first, second, video)


def test_three_joined_segments_lose_a_frame_at_each_seam_and_are_whole(tmp_path: Path) -> None:
    """Fixed-length DVR exports share their timestamps: the second seam's damaged packet was at a time the first
    seam had already taken, so it was damage ("28 of about 30 frames could be decoded"), and the clip partial."""
    joined = _joined(tmp_path, 3, 10, 10, sound=None)
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial and result.frames == 28, result.notes
    assert _seam_notes(result.notes) == [
        "2 frame(s) lost where recordings were joined (FFmpeg flags the packet at a seam as damaged); the clip is "
        "otherwise whole",
        "the video's timestamps go back by 1.0 s at 1.2 s (2 times); the frames after it follow on, keeping their "
        "spacing",
    ], result.notes


@pytest.mark.parametrize("frames", [9, 16, 20])
def test_joined_recordings_with_a_long_gop_and_b_frames_are_whole(tmp_path: Path, frames: int) -> None:
    """FFmpeg flags the last but one packet in decode order, a P-frame shown 3 frames before the last: measured
    in presentation time, beyond 2 frames, it was damage, and two 2-second recordings made a partial clip."""
    joined = _joined(tmp_path, 2, 10, frames, gop=20, sound=None)
    result = process_video(joined, tmp_path / "out.ts", lambda f: f)
    assert not result.partial and result.frames == 2 * frames - 1, result.notes
    assert any(note.startswith("1 frame(s) lost where recordings were joined") for note in result.notes)


@pytest.mark.parametrize(
    "segments, rate, frames, sample_rate",
    [(2, 10, 10, 32000), (2, 25, 50, 48000), (2, 25, 50, 44100), (3, 10, 10, 48000)],
)
def test_joined_recordings_into_avi_are_whole_and_follow_on(
    tmp_path: Path, segments: int, rate: int, frames: int, sample_rate: int
) -> None:
    """Into AVI the seam's lost frame made the clip partial; the second recording's frames each left their slot
    ("10 frames shown up to 1000 ms late"), and its copied sound was named as going back alone. At 25 fps with
    48 or 44.1 kHz MP2 the second recording's first sound packet overlapped the first's last, both rounded to
    one tick of AVI's sound time base, and the muxer refused the clip ("Invalid argument")."""
    joined = _joined(tmp_path, segments, rate, frames, sound="mp2", sample_rate=sample_rate)
    result = process_video(joined, tmp_path / "out.avi", lambda f: f)
    assert not result.partial and result.frames == segments * frames - (segments - 1), result.notes
    seconds, times = frames / rate, " (2 times)" if segments == 3 else ""
    assert _seam_notes(result.notes) == [
        f"{segments - 1} frame(s) lost where recordings were joined (FFmpeg flags the packet at a seam as damaged); "
        "the clip is otherwise whole",
        f"the video's timestamps go back by {seconds} s at {seconds} s{times}; the frames after it follow on, keeping "
        "their spacing",
    ], result.notes
    assert not any("late" in note for note in result.notes), result.notes
    video, sound = _starts(tmp_path / "out.avi")
    assert video == sorted(set(video)) and sound == sorted(set(sound)), (video, sound)
    # Each recording's picture starts within half a frame of its sound (which, in AVI, plays on without a gap).
    per = len(sound) // segments
    for part in range(1, segments):
        assert abs(video[part * (frames - 1)] - sound[part * per]) <= 0.5 / rate, (video, sound)


def test_a_mux_error_without_the_pipeline_is_not_damage_and_sends_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With WEATHERCLEAN_PIPELINE=0 encoding runs inside the demux loop: a muxer's error was taken for a demuxer
    that cannot go on (counted as damage, the decoders drained into the muxer again), and the copied packets the
    clock let go at the seam were sent a second time."""
    from weatherclean.errors import InputError
    from weatherclean.io.video import transcoder

    monkeypatch.setenv("WEATHERCLEAN_PIPELINE", "0")
    joined = _joined(tmp_path, 2, 10, 10, sound="mp2", sample_rate=32000)
    after: list[str] = []
    real_copy, real_video = transcoder._Transcoder._mux_copy, transcoder._Transcoder._encode_video

    def mux_copy(self: Any, item: tuple[Any, ...]) -> None:
        if after:
            after.append("copy")
        if self.clock_jumps and not after:  # the first packet let go at the seam
            after.append("failed")
            raise av.error.FFmpegError(22, "Invalid argument")
        real_copy(self, item)

    def encode_video(self: Any, item: tuple[Any, ...]) -> None:
        if after:
            after.append("video")
        real_video(self, item)

    monkeypatch.setattr(transcoder._Transcoder, "_mux_copy", mux_copy)
    monkeypatch.setattr(transcoder._Transcoder, "_encode_video", encode_video)
    with pytest.raises(InputError, match="Invalid argument"):
        process_video(joined, tmp_path / "out.avi", lambda f: f)
    assert after == ["failed"], after  # nothing muxed after the error: no drain, no packet sent again


def test_a_reset_in_a_stream_spaced_wider_than_its_declared_rate_keeps_its_frames() -> None:
    """A CCTV stream declares 25 fps and records at 8: its frames 3 ticks apart, set back by 4 of them, rose
    by more than 2.5 declared frames each, and the new recording's first 4 frames were dropped as damage."""
    out, reordered, dropped = _ordered([*range(0, 63, 3), *range(48, 90, 3)])
    assert (out, reordered, dropped) == ([*range(0, 63, 3), *range(48, 90, 3)], 0, 0)
    # Late frames in such a stream are still late.
    assert _ordered([*range(0, 63, 3), 30, 63, 66]) == ([*range(0, 67, 3)], 0, 1)


def test_the_shared_clock_judges_a_copied_stream_by_where_the_video_is_read() -> None:
    """The video's frames come many packets after they are read: a stream that went back waits however much of
    its own time passes while the video, as read, goes back too; it is alone once the video is read 5 s on."""
    from weatherclean.io.video.clock import _Mark

    def sound(clock: _SharedClock, times: range, mark: _Mark) -> list[int]:
        return [p.dts for t in times for p in clock.copied(_packet(1, "audio", t), mark)]

    clock = _SharedClock()
    assert sound(clock, range(0, 20000, 20), _Mark(20, 19.0, None, 0)) == list(range(0, 20000, 20))
    # It goes back; the next video packet read goes back too (a join): 30 s of sound later, it still waits.
    assert sound(clock, range(0, 30000, 20), _Mark(21, 19.0, 21, 1)) == []
    clock.reach(Fraction(20))
    start = clock.start_for(0, Fraction(1, 1000))
    released = clock.start_epoch(Fraction(start, 1000), _Mark(40, 30.0, 21, 1))
    assert [p.dts for p in released][:2] == [20000, 20020] and not clock.jumps
    # It goes back while the video, read 5 s on, does not: alone, after its own last packet.
    clock = _SharedClock()
    sound(clock, range(0, 1000, 20), _Mark(10, 1.0, None, 0))
    assert sound(clock, range(300, 400, 20), _Mark(11, 1.1, None, 0)) == []
    assert sound(clock, range(400, 500, 20), _Mark(60, 6.2, None, 0)) == [1000, *range(1020, 1200, 20)]
    assert clock.jumps == {1: [(1.0, 0.7)]}


def test_a_data_stream_that_goes_back_alone_is_named_as_a_stream(tmp_path: Path) -> None:
    """The note said "the data's timestamps go back", as if of the bytes."""
    parts = []
    for part, first in enumerate((0, 6)):  # the picture runs on into the second file; the KLV starts again
        parts.append(tmp_path / f"{part}.ts")
        with av.open(str(parts[-1]), "w", format="mpegts") as c:
            v = c.add_stream("libx264", rate=10)
            v.width, v.height, v.pix_fmt, v.options = 64, 48, "yuv420p", {"bf": "0"}
            klv = c.add_data_stream("klv")
            for i in range(6):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), format="rgb24")
                frame.pts, frame.time_base = first + i, Fraction(1, 10)
                c.mux(v.encode(frame))
                packet = av.Packet(b"\x06\x0e\x2b\x34" + bytes([i]) * 12)
                packet.stream, packet.pts, packet.dts, packet.time_base = klv, 9000 * i, 9000 * i, Fraction(1, 90000)
                c.mux(packet)
            c.mux(v.encode(None))
    src = tmp_path / "klv.ts"
    src.write_bytes(parts[0].read_bytes() + parts[1].read_bytes())
    result = process_video(src, tmp_path / "out.ts", lambda f: f)
    assert any(note.startswith("the data stream's timestamps go back by 0.5 s") for note in result.notes), result.notes
