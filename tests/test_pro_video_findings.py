"""Findings of a tester working as a post-production editor: a ProRes 4444 matte dropped without a word and
``--in-place`` replacing it, intra-frame and lossless masters turned into long-GOP HEVC in place, ``--codec
prores_ks`` / ``dnxhd`` refused by the encoder probe, and ``.mxf`` input skipped as "not a video"."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.cli import derain
from weatherclean.errors import InputError
from weatherclean.io.media import is_video_path
from weatherclean.io.video import VideoOptions, check_encoder, process_video


def _clip(path: Path, codec: str, pix_fmt: str, *, options: dict[str, str] | None = None, alpha: bool = False,
          size: tuple[int, int] = (64, 48), fmt: str | None = None, pcm: bool = False) -> Path:  # fmt: skip
    """A tiny 4-frame clip of ``codec`` in ``pix_fmt``; with ``alpha`` a matte opaque in its middle only; with
    ``pcm`` 24-bit stereo PCM sound too."""
    w, h = size
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream(codec, rate=25, options=options or {})
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        if pcm:
            a = out.add_stream("pcm_s24le", rate=48000)
            a.layout = "stereo"
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 7680), np.int32), format="s32", layout="stereo")
            sound.sample_rate, sound.pts = 48000, 0
            out.mux(a.encode(sound))
            out.mux(a.encode(None))
        for i in range(4):
            x = np.full((h, w, 4), 30000, np.uint16)
            x[..., 3] = 65535
            if alpha:
                x[..., 3] = 0
                x[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4, 3] = 65535
            frame = av.VideoFrame.from_ndarray(x, format="rgba64le").reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return path


def _same(frame: np.ndarray) -> np.ndarray:
    return frame


def test_prores_4444_alpha_dropped_is_noted(tmp_path: Path) -> None:
    src = _clip(tmp_path / "alpha.mov", "prores_ks", "yuva444p10le", options={"profile": "4"}, alpha=True)
    result = process_video(src, tmp_path / "out.mov", _same)
    assert any(note.startswith("alpha channel (matte) dropped") for note in result.notes), result.notes


def test_in_place_refuses_alpha_before_any_work(tmp_path: Path) -> None:
    src = _clip(tmp_path / "alpha.mov", "prores_ks", "yuva444p10le", options={"profile": "4"}, alpha=True)
    before = src.read_bytes()
    seen: list[int] = []

    def count(frame: np.ndarray) -> np.ndarray:
        seen.append(1)
        return frame

    with pytest.raises(InputError, match=r"--in-place would lose its alpha channel \(matte.*use -o DIR"):
        process_video(src, src, count, replaces_input=True)
    assert src.read_bytes() == before and not seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha.mov"]  # no temporary left either


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "options", "master"),
    [
        ("prores_ks", "yuv422p10le", {"profile": "2"}, "ProRes 422"),
        ("ffv1", "yuv420p", {}, "FFV1 lossless"),
        ("huffyuv", "yuv422p", {}, "HuffYUV lossless"),
    ],
)
def test_in_place_refuses_master_re_encoded_as_another_codec(
    tmp_path: Path, codec: str, pix_fmt: str, options: dict[str, str], master: str
) -> None:
    name = {"prores_ks": "m.mov", "ffv1": "m.mkv"}.get(codec, "m.avi")
    src = _clip(tmp_path / name, codec, pix_fmt, options=options)
    with pytest.raises(InputError, match=rf"--in-place would lose its {master} master \(re-encoded as "):
        process_video(src, src, _same, replaces_input=True)


def test_in_place_keeps_master_in_its_own_codec_and_delivery_clips(tmp_path: Path) -> None:
    """The same codec family in place is allowed (ProRes 422 → prores_ks), and so is an ordinary H.264 clip."""
    src = _clip(tmp_path / "m.mov", "prores_ks", "yuv422p10le", options={"profile": "2"})
    result = process_video(src, src, _same, options=VideoOptions(codec="prores_aw"), replaces_input=True)
    assert not result.partial
    h264 = _clip(tmp_path / "h.mp4", "libx264", "yuv420p")
    process_video(h264, h264, _same, replaces_input=True)


def test_in_place_takes_422_chroma_that_libx264_keeps(tmp_path: Path) -> None:
    """Since libx264 writes 4:2:2 (High 4:2:2), a 4:2:2 H.264 clip keeps its chroma and may be replaced; what
    would still become 4:2:0 (AVI's mpeg4) is refused in tests/test_video_422_hdr.py."""
    src = _clip(tmp_path / "c.mp4", "libx264", "yuv422p")
    process_video(src, src, _same, replaces_input=True)
    with av.open(str(src)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv422p"


@pytest.mark.parametrize("codec", ["prores_ks", "prores", "prores_aw", "dnxhd"])
def test_mezzanine_encoders_pass_the_encoder_check(codec: str) -> None:
    check_encoder(VideoOptions(codec=codec), ".mov")


def test_prores_output_from_8_bit_input_gets_a_format_it_takes(tmp_path: Path) -> None:
    src = _clip(tmp_path / "in.mp4", "libx264", "yuv420p")
    process_video(src, tmp_path / "out.mov", _same, options=VideoOptions(codec="prores_ks"))
    with av.open(str(tmp_path / "out.mov")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv422p10le"


def test_dnxhr_output_is_written(tmp_path: Path) -> None:
    src = _clip(tmp_path / "in.mov", "libx264", "yuv420p", size=(256, 144))
    process_video(src, tmp_path / "out.mov", _same, options=VideoOptions(codec="dnxhd"))
    with av.open(str(tmp_path / "out.mov")) as c:
        assert c.streams.video[0].codec_context.name == "dnxhd"
        assert c.streams.video[0].frames == 4


def test_mxf_input_is_read_as_a_video(tmp_path: Path) -> None:
    assert is_video_path("CLIP.MXF")
    (tmp_path / "in").mkdir()
    src = _clip(tmp_path / "in" / "a.mxf", "dnxhd", "yuv422p10le", options={"profile": "dnxhr_hqx"}, size=(256, 144),
                fmt="mxf", pcm=True)  # fmt: skip
    code, out, err = invoke_command(
        derain, "derain", str(src.parent), "-o", str(tmp_path / "out"), "--json", models=StandIn(Inverter)
    )
    assert code == 0, err
    assert "not an image or video" not in out + err
    written = tmp_path / "out" / "a.mxf"
    assert written.is_file(), (out, err)
    with av.open(str(written)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["pcm_s24le"]  # MXF's sound, copied as it is
        assert sum(1 for _ in c.decode(video=0)) == 4
    assert json.loads(out), out


# -- a short review's findings ---------------------------------------------------------------------------------------


def test_a_prores_4444_master_stays_4_4_4_with_prores_and_in_place(tmp_path: Path) -> None:
    """``--codec prores_ks`` wrote a 4444 master as 4:2:2 (only H.264 and HEVC were given 4:4:4)."""
    src = _clip(tmp_path / "m.mov", "prores_ks", "yuv444p10le", options={"profile": "4"})
    result = process_video(src, src, _same, options=VideoOptions(codec="prores_ks"), replaces_input=True)
    with av.open(str(result.path)) as c:
        assert "444" in str(c.streams.video[0].codec_context.pix_fmt)


def test_a_dash_cams_4_2_2_mjpeg_is_not_refused_in_place(tmp_path: Path) -> None:
    """A camera original, not a master: it was done in place before, with a chroma note."""
    src = _clip(tmp_path / "cam.avi", "mjpeg", "yuvj422p")
    process_video(src, src, _same, replaces_input=True)


def test_dnxhr_below_its_smallest_frame_says_so(tmp_path: Path) -> None:
    from weatherclean.errors import OutputError

    src = _clip(tmp_path / "small.mov", "libx264", "yuv420p")
    with pytest.raises(OutputError, match=r"DNxHR takes frames of 256×120 and up, this clip's are 64×48"):
        process_video(src, tmp_path / "out.mov", _same, options=VideoOptions(codec="dnxhd"))


def test_an_mxf_keeps_its_timecode_and_prores_into_ts_is_refused(tmp_path: Path) -> None:
    from weatherclean.errors import OutputError

    src = tmp_path / "tc.mxf"
    _clip(src, "dnxhd", "yuv422p10le", options={"profile": "dnxhr_hqx"}, size=(256, 144), fmt="mxf")
    with av.open(str(src)) as c:
        start = c.metadata.get("timecode")
    result = process_video(src, tmp_path / "out.mxf", _same, options=VideoOptions(codec="dnxhd"))
    assert not any("timecode" in note for note in result.notes), result.notes
    with av.open(str(tmp_path / "out.mxf")) as c:
        assert c.metadata.get("timecode", c.streams.video[0].metadata.get("timecode")) == start
    for suffix in (".ts", ".mpg"):  # MPEG-PS reads them back as a video no decoder opens
        for codec in ("prores_ks", "dnxhd"):
            with pytest.raises(OutputError, match="reads back with no video stream"):
                check_encoder(VideoOptions(codec=codec), suffix)
