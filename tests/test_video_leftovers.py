"""What a camera clip kept or lost on the video path: its start timecode, colour tags in AVI, stream
languages in MOV, H.264 with B-frames into AVI, a gap in re-encoded sound, and the software tag. Each test
makes its own small clip with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.io.video import process_video, transcoder
from weatherclean.io.video.metadata import _recording_metadata
from weatherclean.io.video.outcome import _jump_note


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _picture(i: int) -> np.ndarray:
    """Frame ``i`` of a small clip: a bright box moving right over grey, and a bottom band whose level
    counts the frames, so each frame is told from the others."""
    img = np.full((48, 64, 3), 40, np.uint8)
    img[8:24, i * 4 : i * 4 + 16] = 220
    img[36:, :] = 20 + i * 16
    return img


def _clip(path: Path, count: int = 3, *, rate: int = 25, file_tags: dict[str, str] | None = None,
          video_tags: dict[str, str] | None = None, languages: tuple[str, ...] = (),
          colour: tuple[int, int, int] | None = None, options: dict[str, str] | None = None) -> None:  # fmt: skip
    """A 64×48 H.264 clip at ``rate`` fps with tags on the file and the video, mono AAC tracks in ``languages``
    and the colour tags (primaries, transfer, matrix) ``colour``."""
    with av.open(str(path), "w") as out:
        out.metadata.update(file_tags or {})
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.options = options or {}
        v.metadata.update(video_tags or {})
        if colour is not None:
            ctx = v.codec_context
            ctx.color_primaries, ctx.color_trc, ctx.colorspace = colour
        sounds = []
        for language in languages:
            a = out.add_stream("aac", rate=48000)
            a.layout = "mono"
            a.metadata["language"] = language
            sounds.append(a)
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        for a in sounds:
            silence = av.AudioFrame.from_ndarray(np.zeros((1, 2048), np.float32), format="fltp", layout="mono")
            silence.sample_rate, silence.pts = 48000, 0
            out.mux(a.encode(silence))
            out.mux(a.encode(None))


def _timecodes(path: Path) -> dict[str, str | None]:
    """Where a file's timecode reads back: on the file, on the video stream, on a tmcd (data) track."""

    def tag(metadata: dict[str, str]) -> str | None:
        return next((v for k, v in metadata.items() if k.lower() == "timecode"), None)

    with av.open(str(path)) as c:
        data = [tag(s.metadata) for s in c.streams if s.type == "data"]
        return {"file": tag(c.metadata), "video": tag(c.streams.video[0].metadata), "track": next(iter(data), None)}


@pytest.mark.parametrize(("source", "suffix", "want"), [
    (".mov", ".mov", {"file": None, "video": "01:00:00:00", "track": "01:00:00:00"}),
    (".mov", ".mp4", {"file": None, "video": "01:00:00:00", "track": "01:00:00:00"}),
    (".mov", ".mkv", {"file": None, "video": "01:00:00:00", "track": None}),
    (".mkv", ".mov", {"file": None, "video": "01:00:00:00", "track": "01:00:00:00"}),
    (".mkv", ".mkv", {"file": "01:00:00:00", "video": None, "track": None}),
])  # fmt: skip
def test_a_camera_timecode_is_kept(tmp_path: Path, source: str, suffix: str, want: dict[str, str | None]) -> None:
    """A camera MOV's tmcd track (the timecode on the video), or a Matroska file's TIMECODE tag, came out
    with no timecode at all, and the tmcd track was called "a data stream" in a note. MP4/MOV make a
    timecode track of it again, Matroska keeps it as a tag where it was."""
    on_file = source == ".mkv"
    tag = {"timecode": "01:00:00:00"}
    _clip(tmp_path / f"cam{source}", file_tags=tag if on_file else None, video_tags=None if on_file else tag)
    assert _timecodes(tmp_path / f"cam{source}")["track" if source == ".mov" else "file"] == "01:00:00:00"
    result = process_video(tmp_path / f"cam{source}", tmp_path / f"out{suffix}", _identity)
    assert result.notes == []
    assert _timecodes(tmp_path / f"out{suffix}") == want


def test_a_timecode_is_kept_at_a_high_frame_rate(tmp_path: Path) -> None:
    """At 120 fps the muxer spells the timecode with three frame digits: still the same timecode, kept."""
    _clip(tmp_path / "fast.mkv", rate=120, file_tags={"timecode": "01:00:00:00"})
    assert process_video(tmp_path / "fast.mkv", tmp_path / "out.mov", _identity).notes == []
    assert _timecodes(tmp_path / "out.mov")["track"] == "01:00:00:000"


def test_a_timecode_the_output_cannot_hold_is_named(tmp_path: Path) -> None:
    """AVI has no timecode, and QuickTime's muxer leaves a drop-frame timecode out at 25 fps: a note names
    the timecode (not "a data stream"), and the clip is still written."""
    _clip(tmp_path / "cam.mov", video_tags={"timecode": "10:20:30:12"})
    notes = process_video(tmp_path / "cam.mov", tmp_path / "out.avi", _identity).notes
    assert notes == ["the timecode 10:20:30:12 cannot be stored in avi; dropped"]
    _clip(tmp_path / "drop.mkv", file_tags={"timecode": "01:00:00;00"})
    result = process_video(tmp_path / "drop.mkv", tmp_path / "out.mov", _identity)
    assert result.notes == ["the timecode 01:00:00;00 cannot be stored in mov at 25 fps; dropped"]
    assert result.frames == 3 and _timecodes(tmp_path / "out.mov")["video"] is None


def _colour_tags(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return int(ctx.color_primaries), int(ctx.color_trc), int(ctx.colorspace)


def test_avi_output_names_the_colour_tags_it_cannot_store(tmp_path: Path) -> None:
    """MPEG-4 Part 2 in AVI stores no colour tags: BT.2020 colours came out untagged, shown as BT.601 by
    players, without a word. Tags that are what players assume anyway (BT.601 for SD) need no note."""
    _clip(tmp_path / "wide.mp4", colour=(9, 1, 9))  # BT.2020 primaries and matrix, BT.709 transfer
    notes = process_video(tmp_path / "wide.mp4", tmp_path / "out.avi", _identity).notes
    lost = "colour tags (primaries bt2020, matrix bt2020nc) cannot be stored by mpeg4 in avi"
    assert notes == [
        f"{lost}; encoded with the BT.601 matrix players assume for untagged SD video, but the clip will show "
        "off-colour (primaries bt2020 not converted)"
    ]
    assert _colour_tags(tmp_path / "out.avi") == (2, 2, 2)  # what the note is about: nothing left
    assert process_video(tmp_path / "wide.mp4", tmp_path / "out.mkv", _identity).notes == []
    assert _colour_tags(tmp_path / "out.mkv") == (9, 1, 9)
    _clip(tmp_path / "sd.mp4", colour=(6, 6, 6))  # BT.601 525-line: what an untagged SD clip is taken for
    assert process_video(tmp_path / "sd.mp4", tmp_path / "sd.avi", _identity).notes == []


def _languages(path: Path) -> list[str | None]:
    with av.open(str(path)) as c:
        return [s.metadata.get("language") for s in c.streams.audio]


def test_stream_languages_survive_mov(tmp_path: Path) -> None:
    """FFmpeg's MOV muxer stores a language only as a code of QuickTime's old table, which has "ger" and
    "chi" (ISO 639-2/B) but "fra" (T): a "deu" track came back with no language. It now goes under its
    other code; MP4 takes ISO 639-2/T codes as they are; a language MOV cannot store is named."""
    _clip(tmp_path / "talk.mkv", languages=("deu", "fra", "zho", "fre", "swe"))
    result = process_video(tmp_path / "talk.mkv", tmp_path / "out.mov", _identity)
    assert _languages(tmp_path / "out.mov") == ["ger", "fra", "chi", "fra", None]
    assert result.notes == ["audio language swe cannot be stored in mov; dropped (--format mp4 keeps it)"]
    assert process_video(tmp_path / "talk.mkv", tmp_path / "out.mp4", _identity).notes == []
    assert _languages(tmp_path / "out.mp4") == ["deu", "fra", "zho", "fre", "swe"]


def test_upper_case_languages_survive_mov(tmp_path: Path) -> None:
    """A language tagged in upper case ("DEU", as some tools write it) was probed as given: QuickTime's muxers
    store only lower-case codes, so MOV dropped "DEU" (its other code found it) but "ENG" with a note, and
    MP4 dropped "ENG" and wrote "FRA" as "fre". ISO 639-2 codes are lower case: each goes out so."""
    _clip(tmp_path / "talk.mkv", languages=("DEU", "ENG", "Fra", "SWE"))
    result = process_video(tmp_path / "talk.mkv", tmp_path / "out.mov", _identity)
    assert _languages(tmp_path / "out.mov") == ["ger", "eng", "fra", None]
    assert result.notes == ["audio language swe cannot be stored in mov; dropped (--format mp4 keeps it)"]
    for suffix in (".mp4", ".mkv"):
        assert process_video(tmp_path / "talk.mkv", tmp_path / f"out{suffix}", _identity).notes == []
        assert _languages(tmp_path / f"out{suffix}") == ["deu", "eng", "fra", "swe"]


def _decoded(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(round(float(f.pts * f.time_base), 3), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def test_h264_with_b_frames_into_avi_keeps_every_frame_in_place(tmp_path: Path) -> None:
    """Checks the report "H.264 with B-frames into AVI stutters after the first frame": from an MP4 coded
    with B-frames (decoded out of order, with negative decode times), every frame comes out of the AVI
    once, at its own time, in its own order."""
    _clip(tmp_path / "b.mp4", count=10, options={"bf": "3"})
    with av.open(str(tmp_path / "b.mp4")) as c:
        assert any(p.pts != p.dts for p in c.demux(video=0) if p.size)  # really reordered
    result = process_video(tmp_path / "b.mp4", tmp_path / "out.avi", _identity)
    source, output = _decoded(tmp_path / "b.mp4"), _decoded(tmp_path / "out.avi")
    assert result.frames == len(output) == len(source) == 10 and result.notes == []
    assert [t for t, _ in output] == [t for t, _ in source] == [i / 25 for i in range(10)]
    for i, (_, frame) in enumerate(output):  # each frame nearest its own source frame, and close to it
        errors = [np.abs(frame.astype(int) - s.astype(int)).mean() for _, s in source]
        assert int(np.argmin(errors)) == i and errors[i] < 3, (i, errors)


def _clicks(path: Path) -> list[float]:
    """When each click in a file's sound starts, in seconds, its samples played one after the other from
    the first one's time (as the sample count times an encoder's output)."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
        rate = c.streams.audio[0].codec_context.sample_rate
    start = float(frames[0].pts * frames[0].time_base)
    x = np.abs(np.concatenate([f.to_ndarray()[0].astype(float) for f in frames]))
    loud = x > x.max() / 2
    onsets = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    return [start + int(i) / rate for i in onsets if not loud[max(0, i - rate // 20) : i].any()]


#: Where each 0.1 s packet of a recorder's sound starts in it, in samples at 8 kHz.
_PACKETS = range(0, 16000, 800)


def _dvr(path: Path, stamps: dict[int, int]) -> None:
    """A 2 s MKV as a surveillance recorder writes it: 25 fps H.264, and 8 kHz PCM with clicks at 0.300 and
    1.400 s into its sound, in 0.1 s packets: the one starting at sample ``t`` stamped ``stamps[t]``
    (samples), those not in ``stamps`` left out."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=8000)
        a.layout = "mono"
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(_picture(i % 10), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        sound = np.zeros(16000, np.int16)
        sound[2400:2480] = sound[11200:11280] = 20000  # clicks at 0.300 and 1.400 s
        for t, pts in stamps.items():
            chunk = av.AudioFrame.from_ndarray(sound[None, t : t + 800].copy(), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 8000, pts, Fraction(1, 8000)
            out.mux(a.encode(chunk))


def _sound_end(path: Path) -> float:
    with av.open(str(path)) as c:
        sound = c.streams.audio[0]
        return float((sound.start_time + sound.duration) * sound.time_base)


_PCM_NOTE = "audio pcm_s16le re-encoded as aac: few players play PCM from mp4"


def test_a_gap_in_reencoded_sound_stays_a_gap(tmp_path: Path) -> None:
    """A recorder that drops audio packets leaves a gap in their timestamps. Re-encoded (PCM into MP4
    becomes AAC), the sound was timed by its sample count: the gap closed up, and the click after it at
    1.400 s came out at 0.900 s, out of sync with the picture. Silence now fills the gap."""
    _dvr(tmp_path / "dvr.mkv", {t: t for t in _PACKETS if not 6400 <= t < 10400})  # none from 0.8 to 1.3 s
    assert np.allclose(_clicks(tmp_path / "dvr.mkv"), [0.3, 0.9], atol=0.001)  # only the timestamps hold the gap
    with av.open(str(tmp_path / "dvr.mkv")) as c:
        assert [round(float(p.pts * p.time_base), 3) for p in c.demux(audio=0) if p.size][7:9] == [0.7, 1.3]
    result = process_video(tmp_path / "dvr.mkv", tmp_path / "out.mp4", _identity)
    assert result.notes == [_PCM_NOTE]
    clicks = _clicks(tmp_path / "out.mp4")
    assert len(clicks) == 2 and abs(clicks[0] - 0.3) < 0.03 and abs(clicks[1] - 1.4) < 0.03, clicks
    assert _sound_end(tmp_path / "out.mp4") == pytest.approx(2.0, abs=0.03)


def test_a_jump_in_the_sounds_clock_is_not_filled(tmp_path: Path) -> None:
    """A recorder whose clock jumps an hour ahead at 0.8 s: the gap fill made an hour of silence after 2 s of
    video (12 s to encode). A gap that ends beyond the video's end is no gap: the sound after it follows on,
    as before the gap fill, with a note, and the sound stays as long as the video."""
    hour = 3600 * 8000
    _dvr(tmp_path / "clock.mkv", {t: t + (hour if t >= 6400 else 0) for t in _PACKETS})
    with av.open(str(tmp_path / "clock.mkv")) as c:
        assert [round(float(p.pts * p.time_base), 3) for p in c.demux(audio=0) if p.size][7:9] == [0.7, 3600.8]
    result = process_video(tmp_path / "clock.mkv", tmp_path / "out.mp4", _identity)
    jump = "audio timestamps jump by 1:00:00 at 0.8 s; the sound after it follows on without the gap"
    assert result.notes == [_PCM_NOTE, jump]
    assert _sound_end(tmp_path / "out.mp4") == pytest.approx(2.0, abs=0.03)
    clicks = _clicks(tmp_path / "out.mp4")
    assert len(clicks) == 2 and abs(clicks[0] - 0.3) < 0.03 and abs(clicks[1] - 1.4) < 0.03, clicks


def test_without_the_videos_end_only_a_short_gap_is_filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the input does not say where its video ends, silence fills a gap of 10 s at most: the 0.5 s
    dropout still, a 15 s jump not (its sound follows on, with a note)."""
    monkeypatch.setattr(transcoder, "_video_end", lambda vin: None)
    _dvr(tmp_path / "drop.mkv", {t: t for t in _PACKETS if not 6400 <= t < 10400})
    assert process_video(tmp_path / "drop.mkv", tmp_path / "drop.mp4", _identity).notes == [_PCM_NOTE]
    assert np.allclose(_clicks(tmp_path / "drop.mp4"), [0.3, 1.4], atol=0.03)
    _dvr(tmp_path / "jump.mkv", {t: t + (15 * 8000 if t >= 6400 else 0) for t in _PACKETS})
    jump = "audio timestamps jump by 15.0 s at 0.8 s; the sound after it follows on without the gap"
    assert process_video(tmp_path / "jump.mkv", tmp_path / "jump.mp4", _identity).notes == [_PCM_NOTE, jump]
    assert _sound_end(tmp_path / "jump.mp4") == pytest.approx(2.0, abs=0.03)
    assert _jump_note("audio stream 2", [(0.8, 3600.0), (1.5, 75.2)]) == (
        "audio stream 2 timestamps jump 2 times, first by 1:00:00 at 0.8 s; the sound after each follows on "
        "without the gap"
    )


def _avi(path: Path, tags: dict[str, str] | None = None) -> None:
    """A 2-frame AVI as a DVR writes it, with ``tags`` (FFmpeg's RIFF names: ``ISFT`` is the software)."""
    with av.open(str(path), "w") as out:
        out.metadata.update(tags or {})
        v = out.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def _software(path: Path) -> str | None:
    with av.open(str(path)) as c:
        return next((v for k, v in c.metadata.items() if k.lower() == "software"), None)


def test_ffmpegs_own_software_tag_is_not_copied(tmp_path: Path) -> None:
    """AVI's software tag (RIFF ISFT) names the program that wrote the file, Lavf for FFmpeg: AVI to AVI
    said "AVI cannot store the tags software; dropped" of it, and AVI to MKV copied it as the source's."""
    _avi(tmp_path / "in.avi")
    writer = _software(tmp_path / "in.avi")
    assert writer is not None and writer.startswith("Lavf")
    assert process_video(tmp_path / "in.avi", tmp_path / "out.avi", _identity).notes == []
    assert _software(tmp_path / "out.avi") == writer  # the muxer's own
    assert process_video(tmp_path / "in.avi", tmp_path / "out.mkv", _identity).notes == []
    assert _software(tmp_path / "out.mkv") is None
    assert process_video(tmp_path / "in.avi", tmp_path / "out.mp4", _identity).notes == []
    for software in (writer, "Lavc62.28.102 libx264", "HandBrake 1.7.0"):  # FFmpeg, or the encoder tag again
        tags = {"software": software, "encoder": "HandBrake 1.7.0", "title": "Gate"}
        assert _recording_metadata(tags) == {"title": "Gate"}
        assert _recording_metadata({k.upper(): v for k, v in tags.items()}) == {"TITLE": "Gate"}


def test_a_cameras_software_tag_is_kept(tmp_path: Path) -> None:
    """A DVR puts its firmware in the software tag: that describes the recording, and is kept."""
    _avi(tmp_path / "in.avi", {"ISFT": "DVR-7 FW 2.1.3"})
    assert _software(tmp_path / "in.avi") == "DVR-7 FW 2.1.3"
    for suffix in (".avi", ".mkv"):
        assert process_video(tmp_path / "in.avi", tmp_path / f"out{suffix}", _identity).notes == []
        assert _software(tmp_path / f"out{suffix}") == "DVR-7 FW 2.1.3"
    assert _recording_metadata({"software": "DVR-7 FW 2.1.3"}) == {"software": "DVR-7 FW 2.1.3"}
