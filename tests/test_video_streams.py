"""What a video keeps besides its pictures: colour range, tags, extra streams, pixel shape and timing.

Dash-cam, DVR and IP-camera files are where these go wrong: full-range MJPEG in AVI, GPS tracks and a
rear camera in MP4, dropped frames stored as gaps in an AVI index, 8 kHz PCM sound. Each test makes its
own small clip with PyAV and reads the output back as a player would.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.io.video import process_video

_PATCHES = [(20, 20, 20), (235, 235, 235), (128, 128, 128), (200, 40, 40)]


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _mux_frames(out: av.container.OutputContainer, stream: av.VideoStream, picture: np.ndarray, count: int) -> None:
    """``count`` copies of ``picture`` (uint8 RGB, or uint16 for more than 8 bits) at 25 frames a second,
    then the encoder's delayed packets."""
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb48le" if picture.dtype == np.uint16 else "rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _mux_silence(out: av.container.OutputContainer, sound: av.AudioStream, samples: int) -> None:
    """``samples`` of mono silence at 48 kHz from time 0, then the encoder's delayed packets."""
    silence = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32), format="fltp", layout="mono")
    silence.sample_rate, silence.pts = 48000, 0
    out.mux(sound.encode(silence))
    out.mux(sound.encode(None))


class _Seen(list):
    """A ``process`` that passes frames through and keeps what it was given."""

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.append(frame)
        return frame


def _mjpeg_avi(path: Path, stamps: list[int]) -> None:
    """An IP camera's clip: full-range MJPEG (yuvj420p) in AVI, one frame per 1/25 s slot in ``stamps``;
    slots left out are empty index entries, as a DVR writes dropped frames."""
    img = np.zeros((48, 64, 3), np.uint8)
    for i, colour in enumerate(_PATCHES):
        img[:, i * 16 : (i + 1) * 16] = colour
    with av.open(str(path), "w") as out:
        v = out.add_stream("mjpeg", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        for pts in stamps:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def _patches(path: Path) -> np.ndarray:
    """The four patches of the first frame, as a player shows them (the file's own range tag)."""
    with av.open(str(path)) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    return np.array([rgb[24, i * 16 + 8] for i in range(4)], int)


def _times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [round(float(f.pts * f.time_base), 3) for f in c.decode(video=0)]


@pytest.mark.parametrize("suffix", [".avi", ".mp4", ".mkv"])
def test_full_range_camera_video_keeps_its_blacks_and_whites(tmp_path: Path, suffix: str) -> None:
    """MPEG-4 Part 2 in AVI cannot mark full range: converted to limited range (it came out as (0, 4, 0)
    for (18, 20, 18) when written full and read limited); H.264 in MP4/MKV is tagged full range."""
    _mjpeg_avi(tmp_path / "cam.avi", list(range(3)))
    result = process_video(tmp_path / "cam.avi", tmp_path / f"out{suffix}", _identity)
    got, want = _patches(tmp_path / f"out{suffix}"), _patches(tmp_path / "cam.avi")
    assert np.abs(got - want).max() <= 4, (got, want)
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        tagged_full = int(c.streams.video[0].codec_context.color_range) == 2
    assert tagged_full == (suffix != ".avi")
    assert any("stored as limited range" in n for n in result.notes) == (suffix == ".avi")


def _tagged_mp4(path: Path) -> None:
    with av.open(str(path), "w") as out:
        out.metadata.update({"title": "Cam 3 north gate", "creation_time": "2024-01-02T03:04:05.000000Z",
                             "location": "+52.3700+004.8900/", "comment": "gate"})  # fmt: skip
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        a.metadata.update({"language": "fra", "title": "street mic"})
        for i in range(3):
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")))
        out.mux(v.encode(None))
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        sound.sample_rate, sound.pts = 48000, 0
        out.mux(a.encode(sound))
        out.mux(a.encode(None))


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_when_where_and_track_tags_are_kept(tmp_path: Path, suffix: str) -> None:
    _tagged_mp4(tmp_path / "cam.mp4")
    process_video(tmp_path / "cam.mp4", tmp_path / f"out{suffix}", _identity)
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
        audio = {k.lower(): v for k, v in c.streams.audio[0].metadata.items()}
    assert tags["creation_time"] == "2024-01-02T03:04:05.000000Z"
    assert tags["location"] == "+52.3700+004.8900/"  # ©xyz in MP4/MOV, LOCATION in Matroska
    assert tags["title"] == "Cam 3 north gate" and tags["comment"] == "gate"
    assert audio.get("title", audio.get("name")) == "street mic"  # MP4/MOV read a track title as "name"
    assert audio["language"] == "fra"
    assert "lavf" in tags.get("encoder", "lavf").lower()  # the writer is ours, not copied from the input


def _dual_camera(path: Path) -> None:
    """A dash cam's file: front camera, a smaller rear camera, a GPS track ("GoPro MET" data)."""
    with av.open(str(path), "w") as out:
        front, rear = out.add_stream("libx264", rate=25), out.add_stream("libx264", rate=25)
        front.width, front.height, front.pix_fmt = 64, 48, "yuv420p"
        rear.width, rear.height, rear.pix_fmt = 32, 16, "yuv420p"
        gps = out.add_data_stream("bin_data")
        for i in range(4):
            out.mux(front.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")))
            out.mux(rear.encode(av.VideoFrame.from_ndarray(np.full((16, 32, 3), i, np.uint8), format="rgb24")))
        out.mux(front.encode(None))
        out.mux(rear.encode(None))
        for j in range(3):
            packet = av.Packet(b"GPS,52.1,4.3,%d" % j)
            packet.stream, packet.pts, packet.dts, packet.time_base = gps, j * 40, j * 40, Fraction(1, 1000)
            out.mux(packet)


def _data_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux() if p.size and p.stream.type == "data"]


def test_extra_streams_are_copied_or_named_in_a_note(tmp_path: Path) -> None:
    _dual_camera(tmp_path / "dual.mp4")
    result = process_video(tmp_path / "dual.mp4", tmp_path / "out.mp4", _identity)
    assert result.notes == ["second video stream (h264, 32x16) dropped: only the first is processed"]
    assert _data_packets(tmp_path / "out.mp4") == _data_packets(tmp_path / "dual.mp4") != []  # GPS copied as is
    result = process_video(tmp_path / "dual.mp4", tmp_path / "out.mkv", _identity)
    assert result.notes[1] == "data stream (bin_data, GoPro MET) cannot be stored in matroska; dropped"


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_non_square_pixels_are_kept(tmp_path: Path, suffix: str) -> None:
    with av.open(str(tmp_path / "pal.mp4"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.sample_aspect_ratio = Fraction(12, 11)
        for i in range(2):
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")))
        out.mux(v.encode(None))
    process_video(tmp_path / "pal.mp4", tmp_path / f"out{suffix}", _identity)
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.streams.video[0].codec_context.sample_aspect_ratio == Fraction(12, 11)


def test_dropped_frames_in_an_avi_index_are_no_damage_and_keep_their_time(tmp_path: Path) -> None:
    """A DVR's AVI counts 22 slots for 12 frames: it was "only 12 of 22 frames ... truncated or damaged",
    and AVI output closed the gaps up (0, 0.04, ... 0.44 s), drifting from the sound."""
    slots = [0, 1, 2, 5, 6, 7, 10, 11, 12, 13, 20, 21]
    _mjpeg_avi(tmp_path / "dvr.avi", slots)
    for suffix in (".avi", ".mp4"):
        result = process_video(tmp_path / "dvr.avi", tmp_path / f"out{suffix}", _identity)
        assert not result.partial and result.frames == 12
        assert _times(tmp_path / f"out{suffix}") == [round(s * 0.04, 3) for s in slots]
    with open(tmp_path / "dvr.avi", "rb") as whole:  # a copy cut short still counts as partial
        data = whole.read()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    assert process_video(tmp_path / "cut.avi", tmp_path / "cut-out.avi", _identity).partial


def test_an_avi_on_a_millisecond_grid_is_whole(tmp_path: Path) -> None:
    """FFmpeg writes AVI from a 1/1000 s time base as 40 index slots a frame at 25 fps: 12 frames made 480
    slots, and the last frame's 39 empty ones after it read as "only 12 of 480 frames ... damaged"."""
    with av.open(str(tmp_path / "ms.avi"), "w") as out:
        v = out.add_stream("mjpeg", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuvj420p"
        v.time_base = Fraction(1, 1000)
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i * 40, Fraction(1, 1000)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    with av.open(str(tmp_path / "ms.avi")) as c:
        assert c.streams.video[0].frames > 12  # the index counts slots, not frames
    result = process_video(tmp_path / "ms.avi", tmp_path / "out.mp4", _identity)
    assert not result.partial and result.frames == 12


def test_avi_output_keeps_variable_frame_rate_timing(tmp_path: Path) -> None:
    """Frames 1/60 s and 1/30 s apart: AVI output runs at 60 fps with empty slots between, so every frame
    keeps its time (it was renumbered at the 22 fps average: 0.167 s came out at 0.225 s)."""
    stamps = [0, 3000, 6000, 12000, 13500, 15000, 30000, 33000]
    tb = Fraction(1, 90000)
    with av.open(str(tmp_path / "vfr.mp4"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.time_base = v.codec_context.time_base = tb
        for i, pts in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, tb
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    result = process_video(tmp_path / "vfr.mp4", tmp_path / "out.avi", _identity)
    assert _times(tmp_path / "out.avi") == _times(tmp_path / "vfr.mp4")
    assert result.notes == []


def test_avi_output_with_aac_sound_keeps_every_frame_slot(tmp_path: Path) -> None:
    """AAC's encoder delay (a packet before zero) made FFmpeg shift the video a slot after its first frame."""
    _tagged_mp4(tmp_path / "cam.mp4")
    result = process_video(tmp_path / "cam.mp4", tmp_path / "out.avi", _identity)
    assert _times(tmp_path / "out.avi") == [0.0, 0.04, 0.08]
    assert "the sound starts 21 ms late" in " ".join(result.notes)


def _click(path: Path) -> float:
    """When the loudest sound starts, in seconds."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
        rate = c.streams.audio[0].codec_context.sample_rate
    start = float(frames[0].pts * frames[0].time_base)
    x = np.abs(np.concatenate([f.to_ndarray().reshape(-1).astype(float) for f in frames]))
    return start + int(np.argmax(x > x.max() / 2)) / rate


def test_pcm_sound_reencoded_to_aac_stays_in_sync(tmp_path: Path) -> None:
    """8 kHz PCM from a camera's MP4 becomes AAC: the click at 0.400 s came out at 0.528 s (AAC's 1024
    priming samples played as sound), and the note said PCM "cannot be stored in mp4" of an MP4 holding it."""
    with av.open(str(tmp_path / "cam.mp4"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=8000)
        a.layout = "mono"
        for i in range(25):
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")))
        out.mux(v.encode(None))
        sound = np.zeros(8000, np.int16)
        sound[3200:3280] = 20000
        for t in range(0, 8000, 1000):
            chunk = av.AudioFrame.from_ndarray(sound[None, t : t + 1000].copy(), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = 8000, t
            out.mux(a.encode(chunk))
    result = process_video(tmp_path / "cam.mp4", tmp_path / "out.mp4", _identity)
    assert abs(_click(tmp_path / "cam.mp4") - 0.4) < 0.001
    assert abs(_click(tmp_path / "out.mp4") - 0.4) < 0.005
    assert result.notes == ["audio pcm_s16le re-encoded as aac: few players play PCM from mp4"]


def test_the_video_path_neither_darkens_nor_brightens(tmp_path: Path) -> None:
    """swscale's default conversion back to RGB truncates: a clip passed through unchanged came back about
    one grey level darker ((18, 20, 18) as (16, 18, 15)), and two levels after a second pass."""
    y, x = np.mgrid[0:96, 0:128]
    picture = np.stack([x * 2, y * 2 + 20, np.full_like(x, 60)], axis=-1).astype(np.uint8)
    picture[:, :32] = (18, 20, 18)  # a dark patch, where truncation shows most
    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25, options={"crf": "0"})  # lossless: only the conversions remain
        v.width, v.height, v.pix_fmt = 128, 96, "yuv444p"
        _mux_frames(out, v, picture, 3)
    seen = _Seen()
    process_video(tmp_path / "in.mkv", tmp_path / "once.mkv", seen)
    process_video(tmp_path / "once.mkv", tmp_path / "twice.mkv", _identity)
    assert abs(float(seen[0].astype(float).mean() - picture.mean())) < 0.2  # what the model is given
    exact = av.video.reformatter.Interpolation
    flags = exact.BILINEAR | exact.ACCURATE_RND | exact.FULL_CHR_H_INT  # read back without the bias itself
    with av.open(str(tmp_path / "twice.mkv")) as c:
        back = next(c.decode(video=0)).to_ndarray(format="rgb24", interpolation=flags)
    assert abs(float(back.astype(float).mean() - picture.mean())) < 0.4


def test_what_an_output_keeps_is_read_back_reliably_for_mpeg_ts() -> None:
    """A 2 KB MPEG-TS in memory was often not recognised when read back unnamed, so the probe said "cannot
    keep full range or pixel shape" at random, and .ts/.mts outputs got false notes and a needless
    conversion to limited range."""
    from weatherclean.io.video.carries import _carries

    for _ in range(6):
        _carries.cache_clear()
        kept = _carries("mpegts", "libx264")
        assert kept.full_range and kept.aspect


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv422p10le", "yuv444p10le"])
def test_video_above_8_bits_keeps_its_colours(tmp_path: Path, pix_fmt: str) -> None:
    """swscale's per-pixel chroma path returns garbage when converting 4:2:0 above 8 bits to 16-bit RGB:
    every 10-bit phone or camera clip came out with wrong colours (a gradient 30-110 levels off)."""
    y, x = np.mgrid[0:48, 0:64]
    picture = np.stack([x * 3, y * 4 + 20, np.full_like(x, 60)], axis=-1).astype(np.uint8)
    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        v = out.add_stream("ffv1", rate=25)  # lossless: what comes back is the conversions alone
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        _mux_frames(out, v, picture.astype(np.uint16) * 257, 2)
    seen = _Seen()
    process_video(tmp_path / "in.mkv", tmp_path / "out.mkv", seen)
    assert seen[0].dtype == np.uint16
    assert np.abs(seen[0].astype(float) / 257 - picture).mean() < 1.5  # what the model is given
    with av.open(str(tmp_path / "out.mkv")) as c:
        back = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    assert np.abs(back - picture).mean() < 3


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_chapters_and_stream_flags_are_kept(tmp_path: Path, suffix: str) -> None:
    """Chapters were dropped without a word (MP4's chapter track was even called a data stream that
    "cannot be stored"), and every stream flag was reset: a forced subtitle stopped showing by itself."""
    src = tmp_path / f"in{suffix}"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        sound.disposition = av.stream.Disposition.default
        out.set_chapters([
            {"id": 1, "start": 0, "end": 200, "time_base": Fraction(1, 1000), "metadata": {"title": "Intro"}},
            {"id": 2, "start": 200, "end": 400, "time_base": Fraction(1, 1000), "metadata": {"title": "Rain"}},
        ])  # fmt: skip
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 10)
        _mux_silence(out, sound, 19200)
    result = process_video(src, tmp_path / f"out{suffix}", _identity)
    assert not any("data stream" in note for note in result.notes), result.notes
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert [ch["metadata"].get("title") for ch in c.chapters()] == ["Intro", "Rain"]
        assert c.streams.audio[0].disposition & av.stream.Disposition.default


def test_a_web_ready_mp4_stays_web_ready(tmp_path: Path) -> None:
    """An MP4 with its index first (faststart: it plays while it downloads) came back with it at the end."""
    from synthetic import make_video
    from weatherclean.io.video.containers import _index_first

    make_video(tmp_path / "web.mp4", frames=4, audio=None, container_options={"movflags": "faststart"})
    make_video(tmp_path / "plain.mp4", frames=4, audio=None)
    assert _index_first(tmp_path / "web.mp4") and not _index_first(tmp_path / "plain.mp4")
    for name in ("web", "plain"):
        process_video(tmp_path / f"{name}.mp4", tmp_path / f"out-{name}.mp4", _identity)
    assert _index_first(tmp_path / "out-web.mp4") and not _index_first(tmp_path / "out-plain.mp4")


def test_interlaced_video_stays_interlaced(tmp_path: Path) -> None:
    """1080i broadcast and AVCHD came back flagged progressive: players stop deinterlacing, and every
    motion shows combing."""
    with av.open(str(tmp_path / "i.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.options = {"x264-params": "tff=1", "flags": "+ildct+ilme"}
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 4)
    for suffix in (".mkv", ".avi"):
        result = process_video(tmp_path / "i.mkv", tmp_path / f"out{suffix}", _identity)
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            interlaced = [f.interlaced_frame for f in c.decode(video=0)]
        if suffix == ".mkv":
            assert all(interlaced) and len(interlaced) == 4
        else:  # MPEG-4 Part 2, AVI's default, writes it progressive: said, not silent
            assert any("interlaced video written progressive by mpeg4" in note for note in result.notes)


def test_a_short_clip_over_longer_sound_is_whole(tmp_path: Path) -> None:
    """A 3-frame title card over 2 s of narration in MKV: the reader gives the video the file's length, so
    it read as "only 3 of about 50 frames" (exit 1, a .partial file)."""
    with av.open(str(tmp_path / "card.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 3)
        _mux_silence(out, sound, 96000)
    result = process_video(tmp_path / "card.mkv", tmp_path / "out.mkv", _identity)
    assert not result.partial and result.frames == 3


def test_avi_output_says_when_sound_and_picture_lose_their_offset(tmp_path: Path) -> None:
    """AVI starts every stream at zero: sound starting 1 s after the picture came out 1 s early, unsaid."""
    with av.open(str(tmp_path / "late.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 50)
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 48000), np.float32), format="fltp", layout="mono")
        silence.sample_rate, silence.pts = 48000, 48000  # from 1 s on
        out.mux(sound.encode(silence))
        out.mux(sound.encode(None))
    notes = process_video(tmp_path / "late.mkv", tmp_path / "out.avi", _identity).notes
    assert any(note.startswith("AVI cannot keep the sound starting") for note in notes), notes
    kept = process_video(tmp_path / "late.mkv", tmp_path / "o.mkv", _identity).notes  # Matroska keeps it
    assert not any("cannot keep" in note for note in kept)


@pytest.mark.parametrize(("pix_fmt", "codec", "kept", "note"), [
    ("yuv444p", "libx264", "yuv444p", None),
    ("yuv444p", "libvpx-vp9", "yuv420p", "4:4:4 chroma written as 4:2:0 by libvpx-vp9"),
    ("yuv422p", "libx264", "yuv422p", None),
    ("yuv422p", "libvpx-vp9", "yuv420p", "4:2:2 chroma written as 4:2:0 by libvpx-vp9"),
])  # fmt: skip
def test_full_chroma_is_kept_or_said(tmp_path: Path, pix_fmt: str, codec: str, kept: str, note: str | None) -> None:
    """4:4:4 and 4:2:2 input became 4:2:0 without a word: colour edges soften. H.264 keeps 4:4:4 and 4:2:2."""
    from weatherclean.io.video import VideoOptions

    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 2)
    suffix = ".webm" if codec == "libvpx-vp9" else ".mkv"
    result = process_video(tmp_path / "in.mkv", tmp_path / f"out{suffix}", _identity, options=VideoOptions(codec=codec))
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == kept
    assert (note in result.notes) if note else not any("chroma" in n for n in result.notes), result.notes


def test_avi_output_keeps_the_recording_day_and_names_the_tags_it_drops(tmp_path: Path) -> None:
    """AVI's tag list has no creation time or location: both vanished without a word."""
    with av.open(str(tmp_path / "in.mp4"), "w") as out:
        out.metadata.update({"creation_time": "2024-01-02T03:04:05.000000Z", "location": "+52.37+004.89/",
                             "title": "Dash"})  # fmt: skip
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 2)
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.avi", _identity)
    with av.open(str(tmp_path / "out.avi")) as c:
        tags = dict(c.metadata)
    assert tags["title"] == "Dash" and tags["date"] == "2024-01-02"
    assert "AVI cannot store the tags location; dropped" in result.notes


def test_matroska_tags_go_into_avi_whatever_their_case(tmp_path: Path) -> None:
    """Matroska's tags come upper-case (ARTIST, COMMENT, COPYRIGHT): AVI's INFO list holds them, yet they were
    dropped with a note saying AVI cannot store them (a format conformance tester's finding)."""
    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        out.metadata.update({"artist": "Tester", "comment": "a comment", "copyright": "(c) me", "location": "x"})
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        _mux_frames(out, v, np.full((48, 64, 3), 100, np.uint8), 2)
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.avi", _identity)
    with av.open(str(tmp_path / "out.avi")) as c:
        tags = dict(c.metadata)
    assert (tags["artist"], tags["comment"], tags["copyright"]) == ("Tester", "a comment", "(c) me")
    assert "AVI cannot store the tags LOCATION; dropped" in result.notes, result.notes
