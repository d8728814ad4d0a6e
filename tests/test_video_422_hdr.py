"""Findings of a post-production editor: 4:2:2 clips written 4:2:0 by H.264 and HEVC (which write 4:2:2) and so
refused under ``--in-place``; HDR10's mastering-display and light-level metadata dropped; and a bit-depth cut
(12-bit written at 10) not refused under ``--in-place``. Then a review of those fixes: a 4:2:2 master became a
delivery file few players play, with no note; the HDR10 metadata cost a third opening of the file and a second
decode, was lost to a damaged first keyframe, and was not written by SVT-AV1, which can."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.errors import InputError
from weatherclean.io.video import VideoOptions, in_place_refusal, process_video
from weatherclean.io.video import reading as video_reading
from weatherclean.io.video.colour import _hdr_static, _HdrStatic, _static_note, side_data_entries

#: An HDR10 grade: BT.2020 primaries, D65, a 1000-nit mastering display, MaxCLL 1000 and MaxFALL 400.
HDR10 = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400"
#: BT.2020 primaries, PQ transfer, BT.2020 non-constant matrix.
PQ = (9, 16, 9)


def _clip(path: Path, codec: str, pix_fmt: str, *, params: str | None = None, tags: tuple[int, int, int] | None = None,
          frames: int = 3, options: dict[str, str] | None = None) -> Path:  # fmt: skip
    """A tiny clip of ``codec`` in ``pix_fmt``; ``params`` go to x265 (quiet either way); ``tags`` are its colour
    primaries, transfer and matrix."""
    options = dict(options or {})
    if codec == "libx265":
        options["x265-params"] = ":".join(filter(None, ("log-level=error", params)))
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=25, options=options)
        v.width, v.height, v.pix_fmt = 64, 48, pix_fmt
        if tags:
            v.codec_context.color_primaries, v.codec_context.color_trc, v.codec_context.colorspace = tags
        y, x = np.mgrid[0:48, 0:64]
        picture = np.stack([x * 3, y * 4 + 20, np.full_like(x, 60)], axis=-1).astype(np.uint8)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return path


def _same(frame: np.ndarray) -> np.ndarray:
    return frame


def _written(path: Path) -> tuple[str, str, dict[str, bytes]]:
    """The output's codec, pixel format and its first frame's HDR side data (raw bytes, by type)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frame = next(c.decode(stream))
        hdr = {d.type.name: bytes(d) for d in side_data_entries(frame) if d.type.name != "SEI_UNREGISTERED"}
        return stream.codec_context.name, str(stream.codec_context.pix_fmt), hdr


# -- 1. 4:2:2 kept by H.264 and HEVC --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pix_fmt", "suffix", "codec", "written"),
    [
        ("yuv422p", ".mp4", None, ("h264", "yuv422p")),  # a camera's 4:2:2 H.264: x264's High 4:2:2
        ("yuv422p10le", ".mkv", None, ("hevc", "yuv422p10le")),  # above 8 bits the default is HEVC: Main 4:2:2 10
        ("yuv422p10le", ".mov", "libx264", ("h264", "yuv422p10le")),
        ("yuv422p", ".mkv", "libx265", ("hevc", "yuv422p")),
    ],
)
def test_a_4_2_2_clip_stays_4_2_2_with_h264_and_hevc(
    tmp_path: Path, pix_fmt: str, suffix: str, codec: str | None, written: tuple[str, str]
) -> None:
    """Both encoders write 4:2:2, but a camera's 4:2:2 H.264 came out 4:2:0 with a note (it plays where it did)."""
    src = _clip(tmp_path / "in.mkv", "libx264", pix_fmt)
    result = process_video(src, tmp_path / f"out{suffix}", _same, options=VideoOptions(codec=codec))
    assert _written(tmp_path / f"out{suffix}")[:2] == written
    assert not any("chroma" in note for note in result.notes), result.notes


def test_in_place_takes_a_4_2_2_clip_whose_chroma_is_kept(tmp_path: Path) -> None:
    """Refused before ("--in-place would lose its 4:2:2 chroma"), though nothing need be lost."""
    src = _clip(tmp_path / "c.mp4", "libx264", "yuv422p")
    result = process_video(src, src, _same, replaces_input=True)
    assert not result.partial
    assert _written(src)[:2] == ("h264", "yuv422p")


def test_in_place_still_refuses_4_2_2_that_would_be_written_4_2_0(tmp_path: Path) -> None:
    """AVI's MPEG-4 Part 2 has only 4:2:0: that loss is still refused, before any work."""
    src = _clip(tmp_path / "c.avi", "libx264", "yuv422p")
    before = src.read_bytes()
    with pytest.raises(InputError, match=r"--in-place would lose its 4:2:2 chroma \(written as 4:2:0 by mpeg4\)"):
        process_video(src, src, _same, replaces_input=True)
    assert src.read_bytes() == before


def test_a_4_2_2_mjpeg_is_still_written_4_2_0(tmp_path: Path) -> None:
    """A webcam's 4:2:2 is JPEG's: written 4:2:0, which players play (High 4:2:2 H.264 plays in few)."""
    src = _clip(tmp_path / "cam.mov", "mjpeg", "yuvj422p")
    process_video(src, tmp_path / "out.mp4", _same)
    codec, pix_fmt, _ = _written(tmp_path / "out.mp4")
    assert codec == "h264" and "420p" in pix_fmt, pix_fmt  # full range: FFmpeg names it yuvj420p


# -- 2. HDR10 static metadata -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "codec", "name"), [(".mp4", None, "hevc"), (".mkv", "libx264", "h264")])
def test_hdr10_mastering_display_and_light_levels_are_carried(
    tmp_path: Path, suffix: str, codec: str | None, name: str
) -> None:
    """They were dropped, with a note: players then tone-map the grade by their own guess."""
    src = _clip(tmp_path / "hdr.mp4", "libx265", "yuv420p10le", params=HDR10, tags=PQ)
    expected = _written(src)[2]
    assert set(expected) == {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"}
    result = process_video(src, tmp_path / f"out{suffix}", _same, options=VideoOptions(codec=codec))
    got = _written(tmp_path / f"out{suffix}")
    assert got[:2] == (name, "yuv420p10le")
    assert got[2] == expected  # the same values, byte for byte
    assert not any("mastering-display" in note for note in result.notes), result.notes


def test_hdr10_metadata_an_encoder_cannot_write_is_noted(tmp_path: Path) -> None:
    """ProRes (in FFmpeg) writes no mastering display: the note stays, and names what is lost."""
    src = _clip(tmp_path / "hdr.mp4", "libx265", "yuv420p10le", params=HDR10, tags=PQ)
    result = process_video(src, tmp_path / "out.mov", _same, options=VideoOptions(codec="prores_ks"))
    assert any("without its mastering-display and light-level metadata" in note for note in result.notes)


def test_a_pq_clip_with_light_levels_only_carries_them(tmp_path: Path) -> None:
    """Only what the input has is written, and nothing is said lost."""
    src = _clip(tmp_path / "hdr.mp4", "libx265", "yuv420p10le", params="max-cll=600,200", tags=PQ)
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert _written(tmp_path / "out.mp4")[2] == {"CONTENT_LIGHT_LEVEL": _written(src)[2]["CONTENT_LIGHT_LEVEL"]}
    assert not any("mastering-display" in note for note in result.notes), result.notes


# -- 3. --in-place and bit depth ---------------------------------------------------------------------------------------


def test_in_place_refuses_12_bit_video_written_at_10(tmp_path: Path) -> None:
    """12-bit HEVC is written at 10 bits (12-bit plays almost nowhere): beside the original a note, in place a loss."""
    src = _clip(tmp_path / "deep.mp4", "libx265", "yuv420p12le")
    before = src.read_bytes()
    with pytest.raises(InputError, match=r"--in-place would lose its 12-bit depth \(written at 10 bits by libx265\)"):
        process_video(src, src, _same, replaces_input=True)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.mp4"]


def test_in_place_refuses_10_bit_video_a_container_takes_at_8(tmp_path: Path) -> None:
    """FLV's default stays 8-bit H.264: in place, the reason comes with the refusal."""
    src = _clip(tmp_path / "deep.flv", "libx264", "yuv420p10le")
    with pytest.raises(InputError, match=r"--in-place would lose its 10-bit depth \(written at 8 bits by libx264; "):
        process_video(src, src, _same, replaces_input=True)


def test_in_place_keeps_10_bit_video_written_at_10(tmp_path: Path) -> None:
    src = _clip(tmp_path / "phone.mp4", "libx265", "yuv420p10le", tags=PQ)
    process_video(src, src, _same, replaces_input=True)
    assert _written(src)[:2] == ("hevc", "yuv420p10le")


# -- 4. review: a 4:2:2 master is written 4:2:0 for delivery, beside the input ----------------------------------------


#: How the note on a master's 4:2:2 written as 4:2:0 by H.264 or HEVC begins, and what it adds: how to keep it.
KEEP_422 = "which every player plays; to keep 4:2:2: --codec prores_ks (in .mov or .mkv), or --codec"


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "options", "written", "encoder"),
    [
        ("prores_ks", "yuv422p10le", {"profile": "2"}, ("hevc", "yuv420p10le"), "libx265"),  # a ProRes 422 master
        ("mpeg2video", "yuv422p", {}, ("h264", "yuv420p"), "libx264"),  # XDCAM HD422's MPEG-2 4:2:2
    ],
)
def test_a_4_2_2_master_is_written_4_2_0_with_a_note_saying_how_to_keep_it(
    tmp_path: Path, codec: str, pix_fmt: str, options: dict[str, str], written: tuple[str, str], encoder: str
) -> None:
    """It became HEVC Main 4:2:2 10 or H.264 High 4:2:2, which no browser, phone or (for H.264) QuickTime plays,
    with no note: a playable delivery file could no longer be had from a master."""
    src = _clip(tmp_path / "master.mov", codec, pix_fmt, options=options)
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert _written(tmp_path / "out.mp4")[:2] == written
    assert any(note.startswith(f"4:2:2 chroma written as 4:2:0 by {encoder}, {KEEP_422}") for note in result.notes), (
        result.notes
    )


def test_prores_keeps_a_masters_4_2_2(tmp_path: Path) -> None:
    """What the note says to do."""
    src = _clip(tmp_path / "master.mov", "prores_ks", "yuv422p10le", options={"profile": "2"})
    result = process_video(src, tmp_path / "out.mov", _same, options=VideoOptions(codec="prores_ks"))
    assert _written(tmp_path / "out.mov")[:2] == ("prores", "yuv422p10le")
    assert not any("chroma" in note for note in result.notes), result.notes


def test_in_place_keeps_an_xdcam_clips_4_2_2(tmp_path: Path) -> None:
    """In place 4:2:2 would be lost for good (and the clip refused): H.264 keeps it there, as in_place_refusal says."""
    src = _clip(tmp_path / "xdcam.mov", "mpeg2video", "yuv422p")
    assert in_place_refusal(src, src, VideoOptions()) is None
    result = process_video(src, src, _same, replaces_input=True)
    assert _written(src)[:2] == ("h264", "yuv422p")
    assert [note for note in result.notes if "chroma" in note] == [
        "4:2:2 chroma kept (H.264 4:2:2), which plays in fewer players than 4:2:0 (no browser, no phone's hardware "
        "decoder)"
    ], result.notes


# -- 5. review: the HDR10 metadata read with the rotation, past a damaged first keyframe -------------------------------


def _opens(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    """Every opening of ``path`` for reading, from now on."""
    seen: list[str] = []
    real = av.open

    def counted(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if str(file) == str(path) and mode == "r":
            seen.append(mode)
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(av, "open", counted)
    return seen


def test_a_pq_clip_is_opened_twice_and_its_first_frame_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third opening, and a second decode of the first frame, read the metadata apart from the rotation."""
    src = _clip(tmp_path / "hdr.mkv", "libx265", "yuv420p10le", params=HDR10, tags=PQ)
    opened = _opens(monkeypatch, src)
    process_video(src, tmp_path / "out.mp4", _same)
    assert len(opened) == 2  # the first frame's facts, then the run
    assert set(_written(tmp_path / "out.mp4")[2]) == {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"}


def _damaged_first_keyframe(tmp_path: Path) -> Path:
    """An all-keyframe HDR10 HEVC clip whose first packet is noise: that frame does not decode, the others do."""
    good = _clip(tmp_path / "good.mkv", "libx265", "yuv420p10le", params=f"keyint=1:{HDR10}", tags=PQ, frames=4)
    bad = tmp_path / "bad.mkv"
    with av.open(str(good)) as inp, av.open(str(bad), "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for n, packet in enumerate(p for p in inp.demux(stream) if p.size):
            if n == 0:
                noise = av.Packet(np.random.default_rng(0).integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                noise.pts, noise.dts, noise.time_base, noise.is_keyframe = (
                    packet.pts,
                    packet.dts,
                    packet.time_base,
                    True,
                )
                packet = noise
            packet.stream = copy
            out.mux(packet)
    return bad


def test_a_damaged_first_keyframe_does_not_lose_the_metadata(tmp_path: Path) -> None:
    """The first decode error ended the reading: the metadata went, with a note claiming it lost."""
    src = _damaged_first_keyframe(tmp_path)
    result = process_video(src, tmp_path / "out.mp4", _same)
    assert _written(tmp_path / "out.mp4")[2] == _written(tmp_path / "good.mkv")[2]
    assert not any("mastering-display" in note for note in result.notes), result.notes


def test_metadata_that_could_not_be_read_is_not_said_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no frame decodes in the packets read, the note says so rather than naming a loss it cannot know."""
    monkeypatch.setattr(video_reading, "_FIRST_PACKETS", 1)
    src = _damaged_first_keyframe(tmp_path)
    result = process_video(src, tmp_path / "out.mp4", _same)
    [note] = [note for note in result.notes if "mastering-display" in note]
    assert "mastering-display and light-level metadata, if any, could not be read (first frame undecodable)" in note
    assert "without" not in note


class _SideData:
    """A frame's side data as PyAV gives it: a type with a name, and its raw bytes."""

    def __init__(self, name: str, raw: bytes) -> None:
        self.type = type("Type", (), {"name": name})()
        self.raw = raw

    def __bytes__(self) -> bytes:
        return self.raw


def test_an_incomplete_mastering_display_is_named_as_such() -> None:
    """A mastering display without its luminance: not written (an encoder takes all of it), and said so plainly;
    the light levels beside it are written."""
    display = np.array([34000, 50000, 16000, 50000] + [1, 1] * 8 + [1, 0], dtype=np.int32).tobytes()  # no luminance
    light = np.array([1000, 400], dtype=np.uint32).tobytes()
    frame = type("Frame", (), {})()
    frame.side_data = {
        "display": _SideData("MASTERING_DISPLAY_METADATA", display),
        "light": _SideData("CONTENT_LIGHT_LEVEL", light),
    }  # a mapping, as PyAV gives  # noqa: E501
    static = _hdr_static(frame)
    assert static == _HdrStatic(None, (1000, 400), incomplete=True)
    assert static.params("libx265") == {"max-cll": "1000,400"}
    assert _static_note(static, "libx265") == (
        "HDR (PQ) video: encoded at 10 bits with its colour tags, but without its mastering-display metadata "
        "(incomplete in the input, so not written); players tone-map it by their own defaults"
    )


# -- 6. review: SVT-AV1 writes HDR10's metadata too -------------------------------------------------------------------


def _hdr_values(path: Path) -> tuple[list[float], list[int]]:
    """The output's first frame's mastering display (R, G, B, white point x and y, min and max cd/m²) and light
    levels, as numbers: AV1 stores them in other units than HEVC, so its bytes differ."""
    with av.open(str(path)) as c:
        frame = next(c.decode(c.streams.video[0]))
        data = {d.type.name: bytes(d) for d in side_data_entries(frame)}
    pairs = np.frombuffer(data["MASTERING_DISPLAY_METADATA"][:80], dtype=np.int32).reshape(10, 2)
    return [n / d for n, d in pairs.tolist()], np.frombuffer(data["CONTENT_LIGHT_LEVEL"][:8], np.uint32).tolist()


def test_svt_av1_writes_the_hdr10_metadata(tmp_path: Path) -> None:
    """It can (``svtav1-params`` mastering-display and content-light); it was dropped, with a note."""
    src = _clip(tmp_path / "hdr.mp4", "libx265", "yuv420p10le", params=HDR10, tags=PQ)
    result = process_video(src, tmp_path / "out.mkv", _same, options=VideoOptions(codec="libsvtav1"))
    display, light = _hdr_values(tmp_path / "out.mkv")
    assert light == [1000, 400]
    expected = [0.68, 0.32, 0.265, 0.69, 0.15, 0.06, 0.3127, 0.329, 0.0001, 1000.0]
    assert display == pytest.approx(expected, abs=1e-4)  # AV1's units: 1/65536, luminance 1/256 and 1/16384
    assert not any("mastering-display" in note for note in result.notes), result.notes
