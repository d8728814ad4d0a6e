"""A drone and action-camera videographer's findings: a 119.88 fps or VFR clip's timecode said to be
unstorable and dropped (the muxer was asked through an MPEG-4 Part 2 encoder, which refuses such time bases),
a DJI clip's ``encoder`` tag (the drone's name) replaced by FFmpeg's without a word, and a ``mov_text``
telemetry track that grew empty samples at every pass."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.subtitles.subtitle import SubtitleSet

from weatherclean.io.video import process_video
from weatherclean.io.video.subtitles import _DEFAULT_HEADER
from weatherclean.io.video.timecode import _timecode_kept


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _clip(
    path: Path,
    *,
    rate: Fraction = Fraction(25),
    pts: list[int] | None = None,
    timecode: str | None = None,
    cues: list[tuple[int, int, bytes]] | None = None,
) -> None:
    """A tiny 64×48 H.264 clip: 10 frames at ``rate`` (or at ``pts``, in 1/90000 s), a start timecode on the
    video (a tmcd track in MP4 and MOV), and a ``mov_text`` track with ``cues`` (start, end in ms, text)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        if pts is not None:
            video.time_base = video.codec_context.time_base = Fraction(1, 90000)
        if timecode:
            video.metadata["timecode"] = timecode
        packets = []
        if cues:
            sub = out.add_stream("mov_text")
            sub.codec_context.subtitle_header = _DEFAULT_HEADER
            sub.time_base = sub.codec_context.time_base = Fraction(1, 1000)
            for i, (start, end, text) in enumerate(cues):
                packet = sub.codec_context.encode_subtitle(
                    SubtitleSet.create(b"%d,0,Default,,0,0,0,,%s" % (i, text), 0, end - start, 0)
                )
                packet.stream, packet.pts, packet.dts = sub, start, start
                packet.duration, packet.time_base = end - start, Fraction(1, 1000)
                packets.append(packet)
        for i, at in enumerate(pts if pts is not None else range(10)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts = at
            out.mux(video.encode(frame))
            if i == 0 and packets:
                out.mux(packets)
        out.mux(video.encode(None))


def _timecodes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.metadata["timecode"] for s in c.streams if "timecode" in s.metadata]


@pytest.mark.parametrize("timecode", ["10:00:00:00", "10:00:00;00"])
def test_a_119_88_fps_timecode_is_kept(tmp_path: Path, timecode: str) -> None:
    """A GoPro's 119.88 fps clip (120000/1001) lost its timecode with "cannot be stored in mp4 at 119.88 fps":
    the probe opened an MPEG-4 Part 2 encoder, which refuses a time base denominator over 65535, where the
    muxer keeps the timecode with the run's libx264."""
    _clip(tmp_path / "GX010099.MP4", rate=Fraction(120000, 1001), timecode=timecode)
    kept = _timecodes(tmp_path / "GX010099.MP4")
    assert kept
    result = process_video(tmp_path / "GX010099.MP4", tmp_path / "out.mp4", _identity)
    assert not any("timecode" in n for n in result.notes), result.notes
    assert _timecodes(tmp_path / "out.mp4") == kept


def test_a_vfr_movs_timecode_is_kept(tmp_path: Path) -> None:
    """A VFR MOV's average rate (25.8551 fps for the tester's) is a fraction no MPEG-4 Part 2 encoder takes:
    the timecode went with a note, though MOV keeps it."""
    pts = [0, 3600, 6751, 10800, 13500, 18000, 21240, 25200, 27900, 31500]
    _clip(tmp_path / "in.mov", pts=pts, timecode="01:00:00:00")
    with av.open(str(tmp_path / "in.mov")) as c:
        rate = c.streams.video[0].average_rate
    assert rate is not None and (1 / rate).denominator > 65535  # a time base MPEG-4 Part 2 refuses
    result = process_video(tmp_path / "in.mov", tmp_path / "out.mov", _identity)
    assert not any("timecode" in n for n in result.notes), result.notes
    assert _timecodes(tmp_path / "out.mov") == ["01:00:00:00"] * 2  # the video's tag and the tmcd track's


def test_the_timecode_probe_asks_the_muxer_not_an_encoder() -> None:
    """What the muxer refuses is still told: above 255 fps, and drop-frame at 25 fps."""
    for fmt in ("mp4", "mov"):
        assert _timecode_kept(fmt, "libx264", Fraction(120000, 1001), Fraction(1, 120000), "10:00:00;00")
        assert _timecode_kept(fmt, "libx264", Fraction(1234567, 47749), Fraction(1, 90000), "10:00:00:00")
        assert not _timecode_kept(fmt, "libx264", Fraction(300), Fraction(1, 300), "10:00:00:00")
        assert not _timecode_kept(fmt, "libx264", Fraction(25), Fraction(1, 25), "10:00:00;00")


def _dji(path: Path) -> None:
    """An MP4 whose encoder tag names the drone, as DJI writes it (its MP4s carry no make or model): FFmpeg's
    own name in a freshly written file, replaced by one of the same length."""
    _clip(path)
    with av.open(str(path)) as c:
        ours = c.metadata["encoder"].encode()
    data = path.read_bytes()
    assert data.count(ours) == 1 and len(ours) == len(b"DJIMavic3Pro1")
    path.write_bytes(data.replace(ours, b"DJIMavic3Pro1"))


def _encoder(path: Path) -> str | None:
    with av.open(str(path)) as c:
        return next((v for k, v in c.metadata.items() if k.lower() == "encoder"), None)


def test_a_drones_encoder_tag_is_kept_in_mp4(tmp_path: Path) -> None:
    """The drone's name was replaced by "Lavf62..." without a word; MP4 keeps it (as ``©too``), pass after pass."""
    _dji(tmp_path / "DJI_0001.MP4")
    assert _encoder(tmp_path / "DJI_0001.MP4") == "DJIMavic3Pro1"
    result = process_video(tmp_path / "DJI_0001.MP4", tmp_path / "out.mp4", _identity)
    assert result.notes == []
    assert _encoder(tmp_path / "out.mp4") == "DJIMavic3Pro1"
    process_video(tmp_path / "out.mp4", tmp_path / "again.mp4", _identity)
    assert _encoder(tmp_path / "again.mp4") == "DJIMavic3Pro1"


@pytest.mark.parametrize(
    ("suffix", "why"),
    [(".mov", " (MOV keeps only its writer's own name)"), (".ts", " (MPEG-TS keeps no file tags)"), (".avi", "")],
)
def test_a_drones_encoder_tag_that_cannot_be_kept_is_named(tmp_path: Path, suffix: str, why: str) -> None:
    """MOV writes only FFmpeg's name (``©swr``), MPEG-TS no file tags, AVI's INFO list has no place: a note, worded
    for the container (it said "FFmpeg writes its own there" of MPEG-TS, which has no writer tag at all)."""
    _dji(tmp_path / "DJI_0001.MP4")
    result = process_video(tmp_path / "DJI_0001.MP4", tmp_path / f"out{suffix}", _identity)
    name = {".mov": "MOV", ".ts": "MPEG-TS", ".avi": "AVI"}[suffix]
    assert result.notes == [
        f"the encoder tag DJIMavic3Pro1 (the camera that recorded it) cannot be stored in {name}; dropped{why}"
    ]


def test_ffmpegs_own_encoder_tag_gets_no_note(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mp4")
    assert (_encoder(tmp_path / "in.mp4") or "").startswith("Lavf")
    assert process_video(tmp_path / "in.mp4", tmp_path / "out.mov", _identity).notes == []


def _subtitle_samples(path: Path) -> list[tuple[int, int, bytes]]:
    with av.open(str(path)) as c:
        sub = c.streams.subtitles[0]
        return [(p.pts, p.duration, bytes(p)) for p in c.demux(sub) if p.dts is not None]


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_a_mov_text_track_keeps_its_samples_pass_after_pass(tmp_path: Path, suffix: str) -> None:
    """A DJI-like telemetry track of 10 cues (19 samples: each gap an empty one) grew at every pass, one empty
    sample more at each cue's end (the input's copied, and the muxer's own); now a second pass is the first."""
    cues = [(i * 200, i * 200 + 150, b"F/2.8 ISO 100 %d" % i) for i in range(10)]
    _clip(tmp_path / "in.mp4", cues=cues)
    samples = _subtitle_samples(tmp_path / "in.mp4")
    assert len(samples) == 19
    source = tmp_path / "in.mp4"
    for n in range(1, 3):
        result = process_video(source, tmp_path / f"pass{n}{suffix}", _identity)
        assert not any("subtitle" in note for note in result.notes), result.notes
        source = tmp_path / f"pass{n}{suffix}"
        assert _subtitle_samples(source) == samples
