"""A review of the 4:2:2, HDR10, encoder-tag and ``mov_text`` fixes: an MJPEG clip with EXIF in its frames failed
(PyAV's side-data enum lacks FFmpeg's EXIF type); cat-joined recordings with ``mov_text`` failed where they had been
done with a note; 4:4:4 masters still became H.264/HEVC 4:4:4, which plays almost nowhere, without a note; any
program's encoder tag (HandBrake, GPAC) was written back as the output's, or named in a note on every clip."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.subtitles.subtitle import SubtitleSet
from PIL import Image

from weatherclean.io.video import VideoOptions, process_video
from weatherclean.io.video.colour import _hdr_static, _static_note
from weatherclean.io.video.subtitles import _DEFAULT_HEADER


def _same(frame: np.ndarray) -> np.ndarray:
    return frame


def _stream(path: Path) -> tuple[str, str]:
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return ctx.name, str(ctx.pix_fmt)


# -- 1. side data PyAV cannot name -------------------------------------------------------------------------------------


def _exif_mjpeg(path: Path) -> Path:
    """A compact camera's or dash cam's MJPEG: each frame a JPEG with an EXIF APP1 segment (FFmpeg 8 puts it on
    the decoded frame as side data of type 31, which PyAV's enum does not know)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "PowerShot"
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 100, np.uint8)).save(buf, "JPEG", exif=exif.tobytes(), subsampling=1)
    with av.open(str(path), "w") as out:
        s = out.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj422p"
        for i in range(3):
            packet = av.Packet(buf.getvalue())
            packet.stream, packet.pts, packet.dts, packet.time_base = s, i, i, Fraction(1, 25)
            packet.is_keyframe = True
            out.mux(packet)
    return path


@pytest.mark.parametrize("suffix", [".avi", ".mov"])
def test_an_mjpeg_with_exif_in_its_frames_is_processed(tmp_path: Path, suffix: str) -> None:
    """It failed with "ValueError: 31 is not a valid Type"; its JPEG 4:2:2 note gives no ProRes advice."""
    src = _exif_mjpeg(tmp_path / f"cam{suffix}")
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert _stream(tmp_path / "out.mp4")[0] == "h264"
    assert result.notes == ["4:2:2 chroma written as 4:2:0 by libx264"]


class _UnknownSideData:
    """A decoded frame whose side data PyAV cannot list (a type its enum lacks)."""

    @property
    def side_data(self) -> list[object]:
        raise ValueError("31 is not a valid Type")


def test_unreadable_side_data_on_a_pq_clip_is_said_not_read() -> None:
    """For PQ the metadata is unknown, not lost: the note says it could not be read, and no encoder is given any."""
    static = _hdr_static(_UnknownSideData())
    assert static.unread and static.params("libx265") == {}
    note = _static_note(static, "libx265")
    assert note is not None and "light-level metadata, if any, could not be read (its first frame" in note


# -- 2. mov_text in cat-joined recordings ------------------------------------------------------------------------------


def _fragment(path: Path, n: int) -> None:
    """A fragmented MP4 recording (H.264 + AAC + mov_text), as a camera writes one file of a series."""
    with av.open(
        str(path), "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    ) as out:
        v = out.add_stream("libx264", rate=10, options={"g": "5"})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=8000)
        a.layout = "mono"
        s = out.add_stream("mov_text")
        s.codec_context.subtitle_header = _DEFAULT_HEADER
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        subs = []
        for i in range(4):
            cue = SubtitleSet.create(b"%d,0,Default,,0,0,0,,part%d cue%d" % (i, n, i), 0, 150, 0)
            p = s.codec_context.encode_subtitle(cue)
            p.stream, p.pts, p.dts, p.duration, p.time_base = s, i * 400, i * 400, 150, Fraction(1, 1000)
            subs.append(p)
        apts = 0
        for i in range(20):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
            while apts < (i + 1) * 800:
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 8000, apts
                out.mux(a.encode(af))
                apts += 1024
            while subs and subs[0].pts <= i * 100:
                out.mux(subs.pop(0))
        out.mux(v.encode(None))
        out.mux(a.encode(None))


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_cat_joined_recordings_with_mov_text_are_done(tmp_path: Path, suffix: str) -> None:
    """Copied past the shared clock, the second recording's cues went back in time and the muxer refused the whole
    clip ("Invalid argument"); through it they move on with the video, each cue once, with one end each."""
    _fragment(tmp_path / "a.mp4", 1)
    _fragment(tmp_path / "b.mp4", 2)
    joined = tmp_path / "joined.mp4"
    joined.write_bytes((tmp_path / "a.mp4").read_bytes() + (tmp_path / "b.mp4").read_bytes())
    result = process_video(joined, tmp_path / f"out{suffix}", _same)
    assert any("timestamps go back" in note for note in result.notes), result.notes
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        samples = [(p.pts, bytes(p)) for p in c.demux(c.streams.subtitles[0]) if p.dts is not None]
    texts = [data for _, data in samples if data[:2] != b"\x00\x00"]
    assert len(texts) == 8 and len(set(texts)) == 8
    times = [pts for pts, _ in samples]
    assert times == sorted(times) and len(times) == len(set(times))  # no doubled cue ends, nothing going back


# -- 3. 4:4:4 as 4:2:2 -------------------------------------------------------------------------------------------------


def _prores(path: Path, pix_fmt: str, profile: str) -> Path:
    with av.open(str(path), "w") as out:
        v = out.add_stream("prores_ks", rate=25, options={"profile": profile})
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i + 30, np.uint8), format="rgb24")
            frame = frame.reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return path


def test_a_4444_master_is_written_4_2_0_with_a_note_saying_how_to_keep_it(tmp_path: Path) -> None:
    """It became HEVC 4:4:4 (a range extension few players play) without a note, unlike a 4:2:2 master."""
    src = _prores(tmp_path / "m.mov", "yuv444p10le", "4")
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert _stream(tmp_path / "out.mp4") == ("hevc", "yuv420p10le")
    assert (
        "4:4:4 chroma written as 4:2:0 by libx265, which every player plays; to keep 4:4:4: --codec prores_ks "
        "(in .mov or .mkv), or --codec libx265 to keep it in HEVC"
    ) in result.notes, result.notes


@pytest.mark.parametrize(
    ("pix_fmt", "profile", "codec", "written"),
    [
        ("yuv444p10le", "4", "libx265", ("hevc", "yuv444p10le")),
        ("yuv422p10le", "2", "libx264", ("h264", "yuv422p10le")),
    ],
)
def test_a_codec_named_keeps_the_chroma_it_can_hold(
    tmp_path: Path, pix_fmt: str, profile: str, codec: str, written: tuple[str, str]
) -> None:
    """``--codec libx265`` (what the note offers) keeps a master's chroma: the codec asked for, with a note on what
    it costs, since many name ``--codec libx264`` for playability."""
    src = _prores(tmp_path / "m.mov", pix_fmt, profile)
    result = process_video(src, tmp_path / "out.mkv", _same, options=VideoOptions(codec=codec))
    assert _stream(tmp_path / "out.mkv") == written
    chroma = f"4:{profile}:{profile}" if profile == "4" else "4:2:2"
    assert [n for n in result.notes if "chroma" in n] == [
        f"{chroma} chroma kept ({'HEVC' if codec == 'libx265' else 'H.264'} {chroma}), which plays in fewer players "
        "than 4:2:0 (no browser, no phone's hardware decoder)"
    ], result.notes


def test_in_place_keeps_a_4_4_4_clips_chroma(tmp_path: Path) -> None:
    """A VP9 4:4:4 clip written as H.264 in place (into MP4) keeps 4:4:4 rather than being refused."""
    src = tmp_path / "c.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libvpx-vp9", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv444p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24").reformat(
                format="yuv444p"
            )
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    beside = process_video(src, tmp_path / "beside.mp4", _same)
    assert _stream(tmp_path / "beside.mp4")[1] == "yuv420p" and any("4:4:4 chroma" in n for n in beside.notes)
    process_video(src, src, _same, replaces_input=True)
    assert _stream(src) == ("h264", "yuv444p")


# -- 4. a program's encoder tag ----------------------------------------------------------------------------------------


def _tagged(path: Path, tool: str) -> Path:
    """An MP4 whose ``©too`` names ``tool``, as HandBrake, GPAC or a DJI drone write it."""
    with av.open(str(path), "w") as out:
        out.metadata["encoding_tool"] = tool
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(2):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    return path


def _encoder(path: Path) -> str | None:
    with av.open(str(path)) as c:
        return next((v for k, v in c.metadata.items() if k.lower() == "encoder"), None)


@pytest.mark.parametrize(
    "tool", ["HandBrake 1.7.2 2024011900", "Adobe Media Encoder 2024", "GPAC-2.2", "Google", "CapCut", "GoPro Quik"]
)
def test_a_programs_encoder_tag_is_replaced_silently(tmp_path: Path, tool: str) -> None:
    """Into MP4 it was written back as ``©too``, claiming that program wrote the output; into MOV, a note on every
    clip of a HandBrake or YouTube batch. An editor missing from any list of programs (CapCut) is not a camera
    either: only drone and action-camera makers' names are carried."""
    src = _tagged(tmp_path / "in.mp4", tool)
    assert _encoder(src) == tool
    for suffix in (".mp4", ".mov", ".ts"):
        result = process_video(src, tmp_path / f"out{suffix}", _same)
        assert result.notes == [], result.notes
    assert (_encoder(tmp_path / "out.mp4") or "").startswith("Lavf")


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
@pytest.mark.parametrize("camera", ["DJIMavic3Pro1", "HERO11 Black v2.10"])
def test_a_cameras_encoder_tag_is_kept_in_matroska(tmp_path: Path, suffix: str, camera: str) -> None:
    """Matroska and WebM keep it under a tag of its own, read back on the next pass; a camera's firmware version in
    it ("v2.10") does not make it a program's."""
    src = _tagged(tmp_path / "in.mp4", camera)
    result = process_video(src, tmp_path / f"out{suffix}", _same)
    assert result.notes == [], result.notes
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.metadata.get("ORIGINAL_ENCODER") == camera
    process_video(tmp_path / f"out{suffix}", tmp_path / "again.mp4", _same)
    assert _encoder(tmp_path / "again.mp4") == camera
