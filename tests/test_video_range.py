"""Limited-range video keeps what it holds beyond black and white, and AVI output keeps its colours untagged.

Limited ("TV") range has codes below black and above white: cameras record super-whites there and HLG's
highlights reach into them. They came back clipped to 16-235 (64-940 at 10 bits) without a word, a clip
without snow losing its highlights. And MPEG-4 Part 2 in AVI stores no colour tags, so players decode it
by convention (BT.601 for SD): a BT.709 clip was written in BT.709's matrix all the same and came back up
to 28 levels off. Each test makes a tiny clip or frame itself; the model is the identity or a stand-in.

The excess beyond white comes back only where the model left the pixel alone (a removed super-white snowflake left a
ghost: 93 % of its excess), travels with its own frame (not a queue beside the pipeline), is stored compactly, and
untagged video is sized as mpv sizes it (1280 wide or more than 576 lines is HD).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.io.orientation import rotation_upright
from weatherclean.io.video import VideoOptions, iter_frames, process_video
from weatherclean.io.video.colour import (
    _Colour,
    _excess_of,
    _frame_to_rgb,
    _give_back,
    _players_assume_hd,
    _rgb_to_frame,
)

H, W = 48, 64
BT709 = _Colour(1, False, 1, 1, 1)
HLG = _Colour(9, False, 9, 9, 18)


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """Plane 0 of a YUV frame as ints, without its line padding."""
    plane = frame.planes[0]
    wide = frame.format.components[0].bits > 8
    rows = np.frombuffer(plane, np.uint16 if wide else np.uint8).reshape(plane.height, -1)
    return rows[:, : plane.width].astype(int)


def _yuv(luma: np.ndarray, pix_fmt: str = "yuv420p", cb: int | None = None, cr: int | None = None) -> av.VideoFrame:
    """A frame of ``pix_fmt`` with luma ``luma`` (codes) and flat chroma (neutral by default)."""
    frame = av.VideoFrame(luma.shape[1], luma.shape[0], pix_fmt)
    bits = frame.format.components[0].bits
    dtype = np.uint16 if bits > 8 else np.uint8
    for i, plane in enumerate(frame.planes):
        rows = np.frombuffer(plane, dtype).reshape(plane.height, -1)
        value = [None, cb, cr][i]
        rows[:] = 1 << (bits - 1) if value is None else value
        if i == 0:
            rows[:, : luma.shape[1]] = luma
    return frame


def _ramp(top: int, h: int = H, w: int = W) -> np.ndarray:
    """A grey ramp over every code from 0 to ``top``, left to right."""
    return np.tile(np.linspace(0, top, w).round().astype(np.uint16 if top > 255 else np.uint8), (h, 1))


def _through(
    frame: av.VideoFrame,
    pix_fmt: str,
    colour: _Colour,
    model: Callable[[np.ndarray], np.ndarray] = _identity,
    turn: int = 0,
) -> av.VideoFrame:
    """``frame`` read, handed to ``model`` and written back as the transcoder does: its excess beyond black and white
    kept when it is read, and given back to the frame written from the model's output (turned upright by ``turn``
    between, as AVI output is)."""
    wide = frame.format.components[0].bits > 8
    rgb = _frame_to_rgb(frame, wide, colour)
    excess = _excess_of(frame, rgb)
    out = rotation_upright(np.asarray(model(rgb)), turn)
    written = _rgb_to_frame(out, pix_fmt, colour)
    if excess is not None:
        _give_back(written, out, excess, turn)
    return written


@pytest.mark.parametrize(("pix_fmt", "top"), [("yuv420p", 255), ("yuv420p10le", 1023), ("yuv444p10le", 1019)])
def test_luma_beyond_black_and_white_goes_round_the_model(pix_fmt: str, top: int) -> None:
    """Super-whites, sub-blacks and HLG's headroom (up to 1019 at 10 bits) come back as they went in: the model
    saw them at white and black and left them there, and the excess is added back."""
    luma = _ramp(top)
    colour = BT709 if top == 255 else HLG
    back = _luma(_through(_yuv(luma, pix_fmt), pix_fmt, colour))
    assert back.min() == 0 and back.max() == top
    assert np.abs(back - luma).max() <= 1, np.abs(back - luma).max()


def test_ten_bit_headroom_written_at_eight_bits_is_scaled() -> None:
    """An HLG clip written at 8 bits (FLV, or no 10-bit encoder) keeps its headroom at 8-bit's codes."""
    back = _luma(_through(_yuv(_ramp(1019), "yuv420p10le"), "yuv420p", HLG))
    assert np.abs(back - np.rint(_ramp(1019) / 4)).max() <= 1
    assert back.max() == 255


def test_a_clip_within_range_is_written_bit_for_bit_as_before() -> None:
    """Nothing beyond black and white: the frame comes out exactly as it did without the headroom carried."""
    rng = np.random.default_rng(1)
    luma = rng.integers(16, 236, (H, W)).astype(np.uint8)
    frame = _yuv(luma, cb=90, cr=170)
    plain = _rgb_to_frame(_frame_to_rgb(frame, False, BT709), "yuv420p", BT709)
    carried = _through(frame, "yuv420p", BT709)
    # the pictures, not the planes' buffers: their row padding is not the frame's (PyAV 18.1.1 leaves it unset)
    assert np.array_equal(plain.to_ndarray(), carried.to_ndarray())


def test_a_highlight_the_model_takes_away_leaves_nothing_behind() -> None:
    """A super-white the model darkens (a bright snowflake removed) gets none of its excess back, so no trace of
    it shows; one the model leaves at white gets it all back."""
    luma = np.full((H, W), 250, np.uint8)

    def remove_left_half(rgb: np.ndarray) -> np.ndarray:
        out = rgb.copy()
        out[:, : W // 2] = 0
        return out

    back = _luma(_through(_yuv(luma), "yuv420p", BT709, remove_left_half))
    assert (back[:, : W // 2 - 2] == 16).all()  # (the chroma filters blur the two columns at the edge)
    assert (back[:, W // 2 + 2 :] == 250).all()


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_the_headroom_turns_with_the_frame(turn: int) -> None:
    """AVI output writes a portrait clip turned upright: the excess lands where its pixels went."""
    rng = np.random.default_rng(2)
    luma = rng.integers(0, 256, (H, W)).astype(np.uint8)
    back = _luma(_through(_yuv(luma, "yuv444p"), "yuv444p", BT709, turn=turn))
    assert np.abs(back - rotation_upright(luma.astype(int), turn)).max() <= 1


def test_packed_yuv_keeps_its_headroom() -> None:
    """A webcam's raw YUYV (packed) is read through its planar twin: its super-whites come back too."""
    frame = _yuv(_ramp(255), "yuv422p").reformat(format="yuyv422")
    back = _luma(_through(frame, "yuv420p", BT709))
    assert np.abs(back - _ramp(255)).max() <= 1


def _clip(path: Path, luma: np.ndarray, tags: tuple[int, int, int], cb: int | None = None, cr: int | None = None,
          frames: int = 3) -> None:  # fmt: skip
    """A lossless H.264 clip of one limited-range frame repeated, tagged ``tags`` (primaries, transfer, matrix)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.height, v.width, v.pix_fmt = luma.shape[0], luma.shape[1], "yuv420p"
        v.options = {"qp": "0"}
        ctx = v.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = (*tags, 1)
        for i in range(frames):
            frame = _yuv(luma, "yuv420p", cb, cr)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))


def test_a_clip_with_super_whites_comes_back_with_them(tmp_path: Path) -> None:
    """The tester's clip: an 8-bit BT.709 ramp over every code 0-255, processed unchanged, came back 16-235."""
    _clip(tmp_path / "in.mp4", _ramp(255), (1, 1, 1))
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", _identity, options=VideoOptions(crf=0))
    assert result.notes == []
    with av.open(str(tmp_path / "out.mp4")) as c:
        back = _luma(next(c.decode(video=0)))
    assert back.min() == 0 and back.max() == 255
    assert np.abs(back - _ramp(255)).max() <= 1


def _patches() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Luma, Cb and Cr (4:2:0) of four saturated patches side by side (red, green, blue, orange in BT.709's
    matrix)."""
    codes = [(63, 102, 240), (173, 42, 26), (32, 240, 118), (120, 80, 200)]
    y = np.repeat(np.array([c[0] for c in codes], np.uint8), W // 4)[None].repeat(H, 0)
    cb, cr = (np.repeat(np.array([c[i] for c in codes], np.uint8), W // 8)[None].repeat(H // 2, 0) for i in (1, 2))
    return y, cb, cr


def _first_rgb(path: Path) -> np.ndarray:
    """The first frame as the project's reader (and a player) sees it: untagged SD as BT.601."""
    return next(iter(iter_frames(path, max_frames=1))).astype(float)


@pytest.mark.parametrize(("tags", "note"), [
    ((1, 1, 1), "colour tags (matrix bt709) cannot be stored by mpeg4 in avi; encoded with the BT.601 matrix "
                "players assume for untagged SD video, so its colours are kept"),
    ((9, 1, 9), "colour tags (primaries bt2020, matrix bt2020nc) cannot be stored by mpeg4 in avi; encoded with the "
                "BT.601 matrix players assume for untagged SD video, but the clip will show off-colour (primaries "
                "bt2020 not converted)"),
])  # fmt: skip
def test_avi_output_is_encoded_in_the_matrix_players_assume(tmp_path: Path, tags: tuple[int, ...], note: str) -> None:
    """MPEG-4 Part 2 in AVI stores no colour tags and players decode it as BT.601 (SD): the frames are encoded so,
    and read back as a player reads them they are the input's colours, not up to 28 levels off."""
    y, cb, cr = _patches()
    with av.open(str(tmp_path / "in.mp4"), "w") as out:  # chroma per patch: _clip's flat chroma will not do
        v = out.add_stream("libx264", rate=25)
        v.height, v.width, v.pix_fmt, v.options = H, W, "yuv420p", {"qp": "0"}
        ctx = v.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = (*tags, 1)
        for i in range(3):
            frame = av.VideoFrame(W, H, "yuv420p")
            for plane, values in zip(frame.planes, (y, cb, cr), strict=True):
                rows = np.frombuffer(plane, np.uint8).reshape(plane.height, -1)
                rows[:, : values.shape[1]] = values
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.avi", _identity)
    assert result.notes == [note]
    want, got = _first_rgb(tmp_path / "in.mp4"), _first_rgb(tmp_path / "out.avi")
    inner = (slice(4, -4), np.r_[4:12, 20:28, 36:44, 52:60])  # inside each patch, away from MPEG-4's block edges
    assert np.abs(got[inner] - want[inner]).mean() < 3, np.abs(got[inner] - want[inner]).mean()


def test_an_hd_bt709_clip_in_avi_needs_no_note(tmp_path: Path) -> None:
    """BT.709 is what players take untagged HD for: nothing converted, nothing said."""
    _clip(tmp_path / "hd.mp4", np.full((720, 1280), 120, np.uint8), (1, 1, 1), frames=1)
    assert process_video(tmp_path / "hd.mp4", tmp_path / "hd.avi", _identity).notes == []


def _flakes(bg: int, flake: int, alone: int, dtype: type) -> np.ndarray:
    """Luma ``bg`` with a super-white snowflake (``flake``) at rows/cols 8-24 and a highlight (``alone``) the model
    will leave alone at rows 30-40, cols 40-56."""
    luma = np.full((H, W), bg, dtype)
    luma[8:24, 8:24] = flake
    luma[30:40, 40:56] = alone
    return luma


def _remove_flake(rgb: np.ndarray) -> np.ndarray:
    """A stand-in snow remover: the flake painted over with the background beside it, the rest left as it was."""
    out = rgb.copy()
    out[8:24, 8:24] = rgb[2, 2]
    return out


@pytest.mark.parametrize(("pix_fmt", "colour", "bg", "flake", "alone"), [
    ("yuv420p", BT709, 220, 255, 250),
    ("yuv420p10le", HLG, 900, 1019, 1000),
])  # fmt: skip
def test_a_removed_super_white_snowflake_leaves_no_ghost(
    pix_fmt: str, colour: _Colour, bg: int, flake: int, alone: int
) -> None:
    """A super-white flake the model paints over with a bright background got its excess back in proportion to how
    near white the model left it: 93 % (220 came back 239, HLG's 900 came back 975). Only a pixel the model left
    alone gets it back now: the flake comes back at the background, the untouched highlight exactly."""
    luma = _flakes(bg, flake, alone, np.uint16 if bg > 255 else np.uint8)
    back = _luma(_through(_yuv(luma, pix_fmt), pix_fmt, colour, _remove_flake))
    assert np.abs(back[8:24, 8:24] - bg).max() <= 1, np.unique(back[8:24, 8:24])
    assert (back[30:40, 40:56] == alone).all(), np.unique(back[30:40, 40:56])
    assert (back[:6] == bg).all()


def test_a_removed_snowflake_leaves_no_ghost_in_the_clip(tmp_path: Path) -> None:
    """The same through the whole transcoder (its pipeline carries each frame's excess in the frame's own item)."""
    _clip(tmp_path / "in.mp4", _flakes(220, 255, 250, np.uint8), (1, 1, 1))
    process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", _remove_flake, options=VideoOptions(crf=0))
    with av.open(str(tmp_path / "out.mp4")) as c:
        for frame in c.decode(video=0):
            back = _luma(frame)
            assert np.abs(back[8:24, 8:24] - 220).max() <= 1, np.unique(back[8:24, 8:24])
            assert (back[30:40, 40:56] == 250).all()


def test_a_model_that_nudges_a_highlight_by_a_level_keeps_it() -> None:
    """A float model's rounding (a level off) is a pixel left alone; three levels off is a pixel changed."""
    luma = np.full((H, W), 250, np.uint8)

    def nudge(rgb: np.ndarray) -> np.ndarray:
        out = rgb.astype(np.float32) / 255
        out[:, : W // 2] -= 1 / 255  # a level
        out[:, W // 2 :] -= 3 / 255  # three: changed
        return out

    back = _luma(_through(_yuv(luma, "yuv444p"), "yuv444p", BT709, nudge))
    assert np.abs(back[:, : W // 2 - 1] - 250).max() <= 1
    assert back[:, W // 2 + 1 :].max() <= 235


def test_the_excess_is_stored_compactly() -> None:
    """Sparse: int32 positions, int16 excess and 8-bit RGB, 9 bytes a sample beyond (int64 rows and columns with
    int32 values took 20). Past 5/9 of the frame beyond: dense planes, 5 bytes a pixel however many."""
    rng = np.random.default_rng(3)
    few = np.full((H, W), 120, np.uint16)
    few[::8, ::8] = 1000
    frame = _yuv(few, "yuv420p10le")
    excess = _excess_of(frame, _frame_to_rgb(frame, True, HLG))
    assert excess is not None and excess.where is not None
    assert (excess.where.dtype, excess.excess.dtype, excess.rgb.dtype) == (np.int32, np.int16, np.uint8)
    count = (few > 940).sum()
    assert sum(a.nbytes for a in (excess.where, excess.excess, excess.rgb)) == 9 * count
    every = np.where(rng.random((H, W)) < 0.5, rng.integers(941, 1024, (H, W)), rng.integers(0, 64, (H, W)))
    frame = _yuv(every.astype(np.uint16), "yuv444p10le")
    excess = _excess_of(frame, _frame_to_rgb(frame, True, HLG))
    assert excess is not None and excess.where is None
    assert excess.excess.nbytes + excess.rgb.nbytes == 5 * H * W
    back = _luma(_through(frame, "yuv444p10le", HLG))
    assert np.abs(back - every).max() <= 1


def test_each_frame_gets_its_own_excess_whatever_was_not_written() -> None:
    """The excess travels with its frame: a frame read and never written (dropped on the way) shifts nothing. Kept in
    a queue beside the pipeline, the next frame written would have taken the dropped one's."""
    first, second = np.full((H, W), 120, np.uint8), np.full((H, W), 120, np.uint8)
    first[:, :8], second[:, -8:] = 250, 250
    frames = [_yuv(luma, "yuv444p") for luma in (first, second)]
    read = [(rgb := _frame_to_rgb(f, False, BT709), _excess_of(f, rgb)) for f in frames]
    rgb, excess = read[1]  # the first is dropped
    written = _rgb_to_frame(rgb, "yuv444p", BT709)
    assert excess is not None
    _give_back(written, rgb, excess)
    assert np.abs(_luma(written) - second).max() <= 1


@pytest.mark.parametrize("pipeline", ["1", "0"])
def test_excess_stays_paired_with_reordered_and_repeated_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipeline: str
) -> None:
    """B-frames decoded out of order and timestamps that repeat (frames retimed): each frame written has its own
    super-white band back, threaded or not (``WEATHERCLEAN_PIPELINE``)."""
    monkeypatch.setenv("WEATHERCLEAN_PIPELINE", pipeline)
    count, times = 8, [0, 40, 80, 80, 120, 130, 300, 300]
    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt, v.time_base = W, H, "yuv420p", Fraction(1, 1000)
        v.options = {"qp": "0", "bf": "3", "g": "4"}
        ctx = v.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = 1, 1, 1, 1
        for i, ms in enumerate(times):
            luma = np.full((H, W), 120, np.uint8)
            luma[:, i * 8 : i * 8 + 8] = 250
            frame = _yuv(luma)
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    process_video(tmp_path / "in.mkv", tmp_path / "out.mkv", _identity, options=VideoOptions(crf=0))
    with av.open(str(tmp_path / "out.mkv")) as c:
        bands = [
            [int(np.median(_luma(f)[4:-4, b * 8 + 2 : b * 8 + 6])) for b in range(count)] for f in c.decode(video=0)
        ]
    assert len(bands) == count
    for i, band in enumerate(bands):
        assert band[i] == 250 and all(v == 120 for b, v in enumerate(band) if b != i), (i, band)


@pytest.mark.parametrize(("size", "hd"), [
    ((720, 480), False), ((720, 576), False), ((1280, 720), True), ((1920, 1080), True),
    ((480, 640), True), ((1280, 544), True), ((1024, 576), False), ((736, 400), False),
])  # fmt: skip
def test_untagged_video_is_sized_as_mpv_sizes_it(size: tuple[int, int], hd: bool) -> None:
    """mpv's rule: 1280 wide or more than 576 lines is HD (BT.709); a rule of 720 lines took a 480×640 portrait clip
    and a 1280×544 film for SD. The reading side follows it too."""
    from types import SimpleNamespace

    assert _players_assume_hd(*size) is hd
    ctx = SimpleNamespace(colorspace=2, color_range=1, pix_fmt="yuv420p", color_primaries=2, color_trc=2, width=size[0])
    assert _Colour.of(ctx, size[1]).tag_space == (1 if hd else 6)


def test_a_portrait_sd_clip_turned_into_avi_is_encoded_as_players_read_it(tmp_path: Path) -> None:
    """A 640×480 BT.709 clip shown turned a quarter is written upright into AVI at 480×640: 640 lines, which mpv (and
    VLC, and Kodi) decode untagged as BT.709. It was encoded in BT.601's matrix, for SD by a rule of 720 lines, and
    showed off-colour, with a note that said its colours were kept."""
    y, cb, cr = 63, 102, 240  # a saturated red in BT.709's matrix
    with av.open(str(tmp_path / "in.mp4"), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt, v.options = 640, 480, "yuv420p", {"qp": "0"}
        ctx = v.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = 1, 1, 1, 1
        v.set_display_rotation(90)
        for i in range(2):
            frame = _yuv(np.full((480, 640), y, np.uint8), cb=cb, cr=cr)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    result = process_video(tmp_path / "in.mp4", tmp_path / "out.avi", _identity)
    assert result.notes == ["AVI cannot store the 90° rotation; frames written turned upright"]
    with av.open(str(tmp_path / "in.mp4")) as c:
        want = _frame_to_rgb(next(c.decode(video=0)), False, BT709).reshape(-1, 3).mean(axis=0)
    with av.open(str(tmp_path / "out.avi")) as c:
        frame = next(c.decode(video=0))
        shown = _frame_to_rgb(frame, False, _Colour.of(c.streams.video[0].codec_context, frame.height))
    assert (frame.width, frame.height) == (480, 640)
    assert np.abs(shown.reshape(-1, 3).mean(axis=0) - want).max() < 3, (shown.reshape(-1, 3).mean(axis=0), want)
