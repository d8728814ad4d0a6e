"""Video above 8 bits comes back at 10 bits: a phone's 10-bit HEVC (HDR HLG or PQ, BT.2020), 10-bit ProRes or
H.264. It was processed at 16 bits and then encoded at 8, so highlights and smooth skies lost their levels
and HDR looked flat. Each test makes a tiny clip with PyAV and reads the output back as a player would.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.io.video import VideoOptions, process_video
from weatherclean.io.video.colour import _Colour, _frame_to_rgb, _rgb_to_frame

H, W = 48, 64
#: BT.2020 primaries, HLG transfer, BT.2020 non-constant matrix: an iPhone's HDR clip.
HLG = {"primaries": 9, "transfer": 18, "matrix": 9}
PQ = {"primaries": 9, "transfer": 16, "matrix": 9}
#: ITU-R BT.709 and BT.2020 luma weights (Kr, Kb), by swscale matrix code.
_WEIGHTS = {1: (0.2126, 0.0722), 9: (0.2627, 0.0593)}


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """Plane ``index`` of a frame of 16-bit samples without its line padding (a view that writes into it)."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint16).reshape(plane.height, plane.line_size // 2)[:, : plane.width]


def _ramp(h: int = H, w: int = W) -> np.ndarray:
    """A colour ramp in 16-bit RGB, within the gamut so no conversion clips it."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([8000 + x * 700, 10000 + y * 900, 50000 - x * 300 - y * 200], axis=-1).astype(np.uint16)


def _grey(h: int = H, w: int = W) -> np.ndarray:
    x = np.mgrid[0:h, 0:w][1]
    return np.repeat((x * 1040)[..., None], 3, axis=-1).astype(np.uint16)


def _clip(path: Path, *, codec: str = "libx265", pix_fmt: str = "yuv420p10le", tags: dict[str, int] | None = None,
          picture: np.ndarray | None = None, frames: int = 4) -> None:  # fmt: skip
    """A tiny clip of ``picture`` (16-bit RGB, the ramp by default), tagged ``tags`` (HLG by default), coded
    losslessly so that what comes back measures the conversions and the output's encoder alone."""
    tags = HLG if tags is None else tags
    picture = _ramp() if picture is None else picture
    colour = _Colour(tags["matrix"], False, tags["matrix"], tags["primaries"], tags["transfer"])
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=25)
        v.height, v.width = picture.shape[:2]
        v.pix_fmt = pix_fmt
        if codec == "libx265":
            v.options = {"x265-params": "log-level=error:lossless=1"}
        ctx = v.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = (
            tags["primaries"], tags["transfer"], tags["matrix"], 1,
        )  # fmt: skip
        for i in range(frames):
            frame = _rgb_to_frame(picture, pix_fmt, colour)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def _first_planes(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        depth = 2 if frame.format.components[0].bits > 8 else 1
        dtype = np.uint16 if depth == 2 else np.uint8
        return [
            np.frombuffer(p, dtype).reshape(p.height, p.line_size // depth)[:, : p.width].astype(float)
            for p in frame.planes
        ]


def _stream(path: Path) -> dict[str, object]:
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return {
            "codec": ctx.name, "pix_fmt": ctx.pix_fmt, "tag": ctx.codec_tag.strip("\0 "),
            "colour": (ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range),
        }  # fmt: skip


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_ten_bit_hdr_comes_back_ten_bit_hevc_with_its_tags(tmp_path: Path, suffix: str) -> None:
    """An iPhone's 10-bit HLG clip: written as 10-bit HEVC (tagged hvc1 in MP4 and MOV, or Apple players
    refuse it), with BT.2020 and HLG kept, and its levels within a 10-bit level, not 8-bit's 4."""
    _clip(tmp_path / "in.mp4")
    out = tmp_path / f"out{suffix}"
    result = process_video(tmp_path / "in.mp4", out, _identity, options=VideoOptions(crf=0))
    assert result.notes == []  # nothing lost: no "encoded at 8 bits", no "highlights may look flat"
    seen = _stream(out)
    assert seen["codec"] == "hevc" and seen["pix_fmt"] == "yuv420p10le"
    assert seen["tag"] == ("hvc1" if suffix != ".mkv" else "")
    assert seen["colour"] == (9, 18, 9, 1)
    want, got = _first_planes(tmp_path / "in.mp4"), _first_planes(out)
    luma = got[0] - want[0]
    assert np.abs(luma).mean() < 0.75 and abs(luma.mean()) < 0.2, (np.abs(luma).mean(), luma.mean())
    for plane in (1, 2):  # chroma placed where it was: read and written centred (see colour._unsited)
        chroma = got[plane] - want[plane]
        assert np.abs(chroma).mean() < 1.0 and abs(chroma.mean()) < 0.3, (plane, chroma.mean())


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("matrix", [9, 1])
@pytest.mark.parametrize("name", ["grey", "ramp"])
def test_the_ten_bit_round_trip_keeps_every_level(matrix: int, full: bool, name: str) -> None:
    """YUV → 16-bit RGB → YUV at 10 bits, with no encoder between: 4:4:4 exactly to the nearest code, 4:2:0
    luma exactly, chroma within a level but on its first and last rows (the filters' edges: a vertical ramp
    comes back 2-3 levels off there per pass), and no mean shift.

    swscale's 16-bit RGB is 0.4 % short of full scale both ways (limited-range white read as 65283), and
    its full-range 10-bit chroma half a level low: writing 10-bit through it came out up to 4 levels off."""
    colour = _Colour(matrix, full, matrix, 9, 18)
    picture = _grey() if name == "grey" else _ramp()
    kr, kb = _WEIGHTS[matrix]
    rgb = picture / 65535.0
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb, cr = (rgb[..., 2] - y) / (2 * (1 - kb)), (rgb[..., 0] - y) / (2 * (1 - kr))
    exact = [y * 1023, cb * 1023 + 512, cr * 1023 + 512] if full else [64 + 876 * y, 512 + 896 * cb, 512 + 896 * cr]
    written = _rgb_to_frame(picture, "yuv444p10le", colour)
    for i in range(3):
        assert np.abs(_plane(written, i) - exact[i]).max() <= 0.6, i
    back = _rgb_to_frame(_frame_to_rgb(written, True, colour), "yuv444p10le", colour)
    for i in range(3):
        assert np.array_equal(_plane(back, i), _plane(written, i)), i
    first = _rgb_to_frame(picture, "yuv420p10le", colour)
    once = _rgb_to_frame(_frame_to_rgb(first, True, colour), "yuv420p10le", colour)
    thrice = once
    for _ in range(2):  # a clip derained three times
        thrice = _rgb_to_frame(_frame_to_rgb(thrice, True, colour), "yuv420p10le", colour)
    for again in (once, thrice):
        assert np.array_equal(_plane(again, 0), _plane(first, 0))
    for i in (1, 2):
        diff = _plane(once, i).astype(int) - _plane(first, i)
        assert np.abs(diff[1:-1]).max() <= 1 and np.abs(diff).max() <= 3, (i, diff)
        assert abs((_plane(thrice, i).astype(float) - _plane(first, i)).mean()) < 0.1


def test_the_model_sees_the_clips_own_levels() -> None:
    """Limited-range 10-bit white (940) and black (64) reach the model as 65535 and 0, not 65283."""
    frame = av.VideoFrame(16, 16, "yuv420p10le")
    for plane, code in zip(frame.planes, (940, 512, 512), strict=True):
        plane.update(np.full(plane.buffer_size // 2, code, np.uint16).tobytes())
    assert (_frame_to_rgb(frame, True, _Colour(9, False, 9, 9, 18)) == 65535).all()
    _plane(frame, 0)[:] = 64
    assert (_frame_to_rgb(frame, True, _Colour(9, False, 9, 9, 18)) == 0).all()


def test_an_eight_bit_input_stays_eight_bit_h264(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mp4", codec="libx264", pix_fmt="yuv420p", tags={"primaries": 1, "transfer": 1, "matrix": 1})
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", _identity)
    assert result.notes == []
    assert _stream(tmp_path / "out.mp4") == {"codec": "h264", "pix_fmt": "yuv420p", "tag": "avc1",
                                              "colour": (1, 1, 1, 1)}  # fmt: skip


def test_an_asked_for_codec_decides_the_depth(tmp_path: Path) -> None:
    """--codec libx264 gets H.264 High 10; --codec mpeg4 (into AVI) has no 10-bit format: 8 bits, as before,
    with the notes that say so."""
    _clip(tmp_path / "in.mp4")
    process_video(tmp_path / "in.mp4", tmp_path / "h264.mp4", _identity, options=VideoOptions(codec="libx264"))
    seen = _stream(tmp_path / "h264.mp4")
    assert (seen["codec"], seen["pix_fmt"], seen["colour"]) == ("h264", "yuv420p10le", (9, 18, 9, 1))
    result = process_video(tmp_path / "in.mp4", tmp_path / "old.avi", _identity, options=VideoOptions(codec="mpeg4"))
    assert _stream(tmp_path / "old.avi")["pix_fmt"] == "yuv420p"
    assert any("processed at 16 bits, encoded at 8 bits (mpeg4 " in note for note in result.notes), result.notes
    assert any("HDR (HLG) video: processed and encoded as 8-bit" in note for note in result.notes)


def test_crf_and_preset_reach_libx265_when_it_is_chosen(tmp_path: Path) -> None:
    """The default codec changed under the user's --crf and --preset: they must still apply (x265 takes both)."""
    _clip(
        tmp_path / "in.mkv",
        codec="ffv1",
        picture=np.random.default_rng(0).integers(0, 65536, (H, W, 3), dtype=np.uint16),
    )
    sizes = {}
    for crf in (4, 40):
        out = tmp_path / f"crf{crf}.mp4"
        process_video(tmp_path / "in.mkv", out, _identity, options=VideoOptions(crf=crf, preset="ultrafast"))
        assert _stream(out)["codec"] == "hevc"
        sizes[crf] = out.stat().st_size
    assert sizes[40] < sizes[4] * 0.75, sizes


def test_pq_says_what_it_loses_and_no_more(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mkv", codec="ffv1", tags=PQ)
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.mp4", _identity)
    assert _stream(tmp_path / "out.mp4")["colour"] == (9, 16, 9, 1)
    # This PQ clip carries no mastering-display or light-level metadata, so nothing is lost and nothing said
    # (a clip with them keeps them: tests/test_video_422_hdr.py).
    assert result.notes == [], result.notes


@pytest.mark.parametrize(
    ("pix_fmt", "size", "written", "note"),
    [
        ("yuv444p10le", (H, W), "yuv420p10le", "4:4:4 chroma written as 4:2:0 by libx265, which every player plays"),
        ("yuv444p10le", (47, 63), "yuv444p10le", "odd frame size 63×47"),
        ("yuv422p10le", (H, W), "yuv420p10le", "4:2:2 chroma written as 4:2:0 by libx265"),
        ("yuv420p12le", (H, W), "yuv420p10le", "yuv420p12le video: processed at 16 bits, encoded at 10 bits"),
    ],
)
def test_chroma_and_depth_follow_the_input(
    tmp_path: Path, pix_fmt: str, size: tuple[int, int], written: str, note: str | None
) -> None:
    """An FFV1 master's 4:4:4 and 4:2:2 become 4:2:0 (HEVC beyond 4:2:0 plays in few players; H.264 and HEVC input
    keeps it), odd sizes 4:4:4, 12 bits become 10 (12-bit HEVC plays almost nowhere), each said in a note."""
    _clip(tmp_path / "in.mkv", codec="ffv1", pix_fmt=pix_fmt, picture=_ramp(*size), frames=2)
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.mov", _identity)
    seen = _stream(tmp_path / "out.mov")
    assert (seen["codec"], seen["pix_fmt"], seen["tag"]) == ("hevc", written, "hvc1")
    if note is None:
        assert result.notes == []
    else:
        assert any(note in n for n in result.notes), result.notes


def test_without_libx265_a_ten_bit_clip_is_eight_bit_h264_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An FFmpeg without libx265 (or with an 8-bit-only one) still writes the clip, as before, and says why."""
    from weatherclean.io.video import video_stream

    real = video_stream._deep_format
    monkeypatch.setattr(
        video_stream, "_deep_format", lambda codec, fmt: None if codec == "libx265" else real(codec, fmt)
    )
    _clip(tmp_path / "in.mp4")
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", _identity)
    seen = _stream(tmp_path / "out.mp4")
    assert (seen["codec"], seen["pix_fmt"]) == ("h264", "yuv420p")
    assert any("encoded at 8 bits (libx265" in note for note in result.notes), result.notes


def test_a_container_without_hevc_keeps_eight_bit_h264(tmp_path: Path) -> None:
    """3GP holds no HEVC: the default for deep video gives way to H.264 at 8 bits, as before, and says why."""
    _clip(tmp_path / "in.mp4")
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.3gp", _identity)
    seen = _stream(tmp_path / "out.3gp")
    assert (seen["codec"], seen["pix_fmt"]) == ("h264", "yuv420p")
    assert any("encoded at 8 bits (3gp cannot hold HEVC)" in note for note in result.notes), result.notes
