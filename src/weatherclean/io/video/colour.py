"""Colour: the clip's YUV read as the RGB the model sees, and the model's RGB written back as YUV.

:class:`_Colour` holds a clip's matrix, range, primaries and transfer, read once; :func:`_frame_to_rgb`
and :func:`_rgb_to_frame` convert every frame with them, rounding as :func:`_rounding` sets (swscale's
defaults darkened each pass by about a grey level); :func:`_tag_colour` writes the same tags on the
output, so players show it as they showed the input. Chroma sampling and bit depth
(:func:`_chroma_of`, :func:`_high_bit_depth`) decide what a decoded frame holds; subsampled chroma is read
centred, where it is written (:func:`_unsited`), so a pass leaves colour where it was. Video above 8 bits is
read as 16-bit RGB and written back at 10 bits (:func:`_rgb_to_wide_frame`) to the nearest code, correcting
swscale's 16-bit scale both ways (:func:`_decode_gain`, :func:`_encode_gain`). Limited-range luma beyond
reference black and white (super-whites, sub-blacks, HLG's headroom), which RGB cannot hold, goes round the
model with the frame and back into the output where the model left the pixel alone (:func:`_excess_of`,
:func:`_give_back`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from weatherclean.io.video.pyav import _av


def _chroma_of(pix_fmt: str) -> str | None:
    """A YUV pixel format's chroma sampling ("4:4:4", "4:2:2", "4:2:0"), None for others (RGB, grey)."""
    if not pix_fmt.startswith("yuv"):  # yuvj* (full range) too
        return None
    return next((chroma for tag, chroma in _CHROMA if tag in pix_fmt), None)


#: Pixel-format tags of chroma sampling, and how they are written.
_CHROMA = (("444", "4:4:4"), ("422", "4:2:2"), ("420", "4:2:0"), ("411", "4:1:1"))


def _high_bit_depth(pix_fmt: str) -> bool:
    return any(tag in pix_fmt for tag in ("p10", "p12", "p14", "p16", "48", "64"))


def _players_assume_hd(width: int, height: int) -> bool:
    """Whether players decode untagged video of ``width`` × ``height`` (as shown) as HD, with BT.709's matrix rather
    than BT.601's: mpv's rule, 1280 wide or more than 576 lines. VLC's is more than 576 lines, Kodi's more than 1024
    wide or 600 lines or more. They agree at the standard sizes (720×480, 720×576, 1280×720, 1920×1080) and differ
    between them (1280×544: mpv and Kodi HD, VLC SD). A rule of 720 lines took a 480×640 portrait clip, turned
    upright, for SD, which all three show as HD."""
    return width >= 1280 or height > 576


#: FFmpeg's AVColorSpace → swscale's matrix (PyAV's ``Colorspace``): BT.709, FCC, BT.601 (two codes),
#: SMPTE 240M, BT.2020 (two codes).
_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
#: The matrix a player decodes untagged video with, by whether it is HD (:func:`_players_assume_hd`): FFmpeg's code,
#: and its name in a note.
_UNTAGGED_MATRIX = {True: (1, "BT.709"), False: (6, "BT.601")}
_HDR_TRANSFERS = {16: "PQ", 18: "HLG"}


@dataclass(frozen=True)
class _Colour:
    """How a clip's YUV maps to RGB: read it right, and write the output the same way, tagged."""

    matrix: int  # swscale colour matrix
    full_range: bool
    tag_space: int  # AVColorSpace written on the output
    primaries: int
    transfer: int

    @classmethod
    def of(cls, ctx: Any, height: int, width: int | None = None) -> _Colour:
        """The colour of the frames ``ctx`` decodes, read as players read them where the clip has no matrix tag: by
        its size, ``width`` × ``height`` as shown (``width`` None: the context's), :func:`_players_assume_hd`."""
        space = int(ctx.colorspace or 2)
        if space not in _MATRIX:  # unspecified: what players assume, HD as BT.709 and SD as BT.601
            space = _UNTAGGED_MATRIX[_players_assume_hd(int(ctx.width if width is None else width), height)][0]
        full = int(ctx.color_range or 0) == 2 or str(ctx.pix_fmt or "").startswith("yuvj")
        return cls(_MATRIX[space], full, space, int(ctx.color_primaries or 2), int(ctx.color_trc or 2))

    @property
    def range(self) -> int:
        return 2 if self.full_range else 1  # ColorRange.JPEG / MPEG

    def tags(self) -> dict[str, int]:
        """The colour tags written on the output, by name (FFmpeg's codes; 2: unspecified)."""
        return {"primaries": self.primaries, "transfer": self.transfer, "matrix": self.tag_space}

    def limited(self) -> _Colour:
        """The same colours in limited (MPEG) range: what an output that cannot mark full range must hold."""
        return replace(self, full_range=False)


def side_data_entries(frame: Any) -> list[Any]:
    """A decoded frame's side data entries (each with ``.type`` and its bytes), whichever PyAV: its container is a
    mapping by type, which PyAV 18.1.0 iterates over its entries and 18.1.1 over its types (the keys), so
    ``data.type`` failed for every HDR clip under 18.1.1 and ``.values()`` fails under 18.1.0."""
    container = frame.side_data
    return [key if hasattr(key, "type") else container[key] for key in list(container)]


@functools.cache
def _rounding(decode: bool, wide: bool = False) -> Any:
    """swscale's flags for the conversions each way: round to nearest, and on the way back to 8-bit RGB
    interpolate chroma for every pixel.

    Its defaults truncate on the way back to 8-bit RGB: every pass through the video path darkened by about
    one grey level ((18, 20, 18) came back (16, 18, 15)), and a clip processed twice by two. With these
    the round trip's mean shift is under 0.05 levels and chroma edges come back closer (``benchmarks/
    video_colour.py`` times both; the decode side costs a few ms more per 1080p frame). Per-pixel chroma
    does nothing on the way to YUV, so that side only rounds; and on the way to 16-bit RGB (``wide``,
    video above 8 bits) swscale's per-pixel chroma path returns garbage from 4:2:0 (a grey gradient came
    back 30-110 levels off), while rounding alone is already unbiased there.
    """
    interpolation = _av().video.reformatter.Interpolation
    flags = interpolation.BILINEAR | interpolation.ACCURATE_RND
    return flags | interpolation.FULL_CHR_H_INT if decode and not wide else flags


def _frame_to_rgb(frame: Any, wide: bool, colour: _Colour) -> np.ndarray:
    """A decoded frame as H×W×3 RGB: uint8, or uint16 when the video has more than 8 bits.

    Subsampled chroma is read centred, as :func:`_rgb_to_frame` writes it (:func:`_unsited`), at every bit
    depth. Above 8 bits swscale's 16-bit RGB falls short of full scale (see :func:`_decode_gain`); it is
    scaled back up, so the model sees the clip's own levels and :func:`_rgb_to_frame` can write them back
    exactly.
    """
    fmt = "rgb48le" if wide else "rgb24"
    source = _unsited(frame)
    rgb = source.to_ndarray(
        format=fmt, src_colorspace=colour.matrix, src_color_range=colour.range, interpolation=_rounding(True, wide)
    )
    gain = _decode_gain(frame.format.name, colour.full_range) if wide else 1.0
    return rgb if gain == 1.0 else _scaled(rgb, gain)


def _unsited(frame: Any) -> Any:
    """A decoded frame of subsampled chroma (4:2:0, 4:2:2) copied into a new frame, which carries no chroma
    location; others as they are.

    swscale places chroma where the frame says (H.264 and HEVC: left, co-sited with the even columns), but a
    frame made from RGB says nothing, and is written centred: every pass through the video moved colour
    half a pixel sideways, which on a colour ramp came back 2 10-bit levels off (PyAV cannot set a frame's
    chroma location). 8-bit video drifted the same way: a ramp through lossless H.264 lost 0.14 levels of
    blue a pass (0.36 after three), and red/blue stripes blurred twice as fast at their edges (mean error
    24 levels after three passes, 11 read centred). Read centred too, the round trip is exact; what the
    model sees is off by a quarter of a chroma sample at most, far under what it can tell. The copy costs
    about 0.2 ms a 1080p frame (``benchmarks/video_colour.py``).
    """
    name = frame.format.name
    if not name.startswith("yuv") or "444" in name or not frame.format.is_planar:
        return frame
    fresh = _av().VideoFrame(frame.width, frame.height, name)
    for src, dst in zip(frame.planes, fresh.planes, strict=True):
        rows = np.frombuffer(src, np.uint8).reshape(src.height, src.line_size)
        width = min(src.line_size, dst.line_size)
        np.frombuffer(dst, np.uint8).reshape(dst.height, dst.line_size)[:, :width] = rows[:, :width]
    return fresh


def _scaled(rgb: np.ndarray, gain: float) -> np.ndarray:
    """16-bit ``rgb`` times ``gain`` (within 1 %), to the nearest level and kept within 16 bits; in 32-bit
    integers with 15 fractional bits, within a level of the exact product."""
    k = round(gain * 32768)
    product = rgb.astype(np.uint32)
    product *= k
    product += 16384
    product >>= 15
    return np.minimum(product, 65535).astype(np.uint16)


def _bits(pix_fmt: str) -> int:
    """The bits per sample of a pixel format (8 for yuv420p, 10 for yuv420p10le), 8 for one FFmpeg lacks."""
    try:
        return max(c.bits for c in _av().video.format.VideoFormat(pix_fmt).components)
    except (ValueError, TypeError):
        return 8


def _yuv_levels(bits: int, full: bool) -> tuple[int, int, int]:
    """Black, white and neutral-chroma codes of YUV at ``bits`` per sample (ITU-T H.273): limited range is
    8-bit's 16-235 shifted up, full range 0 to 2^bits - 1."""
    if full:
        return 0, (1 << bits) - 1, 1 << (bits - 1)
    return 16 << (bits - 8), 235 << (bits - 8), 1 << (bits - 1)


@functools.cache
def _decode_gain(pix_fmt: str, full: bool) -> float:
    """What swscale's 16-bit RGB from YUV above 8 bits must be multiplied by to reach the exact levels.

    Measured, not assumed, once per format and range: a mid grey of ``pix_fmt`` converted as
    :func:`_frame_to_rgb` does. FFmpeg 8's swscale maps limited-range white to 65283 of 65535 (0.4 % short:
    10-bit video read up to 4 levels dark) and full-range 10-bit code c to c × 64 rather than c × 65535 / 1023.
    The model saw such clips that much dark, their 8-bit output lost a level at white (254), and 10-bit
    output through its way back (:func:`_encode_gain`), which errs the other way, drifted 1.5 levels a pass
    in full range. 1.0 for formats it cannot measure (not planar YUV of 16-bit samples) and for a
    measurement that is not a small correction.
    """
    av = _av()
    try:
        fmt = av.video.format.VideoFormat(pix_fmt)
    except (ValueError, TypeError):
        return 1.0
    bits = _bits(pix_fmt)
    if not (pix_fmt.startswith("yuv") and fmt.is_planar and pix_fmt.endswith("le") and 8 < bits <= 16):
        return 1.0
    black, white, neutral = _yuv_levels(bits, full)
    grey = (black + white) // 2
    frame = av.VideoFrame(16, 16, pix_fmt)
    for i, plane in enumerate(frame.planes):
        code = grey if i == 0 else neutral if i < 3 else (1 << bits) - 1  # a fourth plane is alpha: opaque
        plane.update(np.full(plane.buffer_size // 2, code, np.uint16).tobytes())
    rgb = frame.to_ndarray(format="rgb48le", src_colorspace=1, src_color_range=2 if full else 1,
                           interpolation=_rounding(True, True))  # fmt: skip
    return _gain((grey - black) / (white - black) * 65535, float(rgb.mean()))


@functools.cache
def _encode_gain(pix_fmt: str, full: bool) -> float:
    """What 16-bit RGB must be multiplied by before swscale converts it to ``pix_fmt`` (16-bit YUV) so the
    YUV comes out exact: FFmpeg 8's swscale reads 16-bit RGB as though white were 65280, so 10-bit video
    written from it came out up to 4 levels too bright (mean +1.7). Measured as :func:`_decode_gain` is."""
    av = _av()
    grey = np.full((16, 16, 3), 32768, np.uint16)
    frame = av.VideoFrame.from_ndarray(grey, format="rgb48le").reformat(
        format=pix_fmt, src_colorspace=1, dst_colorspace=1, dst_color_range=2 if full else 1,
        interpolation=_rounding(False),
    )  # fmt: skip
    black, white, _ = _yuv_levels(16, full)
    measured = float(_plane(frame, 0).mean())
    return _gain(32768 / 65535 * (white - black), measured - black)


def _gain(want: float, got: float) -> float:
    """``want / got`` where that is a correction of under 1 %, else 1.0 (a measurement gone wrong)."""
    gain = want / got if got > 0 else 1.0
    return gain if abs(gain - 1.0) < 0.01 else 1.0


def _plane(frame: Any, index: int, dtype: Any = np.uint16) -> np.ndarray:
    """Plane ``index`` of a frame of ``dtype`` samples (16-bit unless told), as an array without its line padding (a
    view, which writes into the frame)."""
    plane = frame.planes[index]
    rows = np.frombuffer(plane, dtype).reshape(plane.height, plane.line_size // np.dtype(dtype).itemsize)
    return rows[:, : plane.width]


class _Excess(NamedTuple):
    """One frame's luma beyond limited range's black and white, and the RGB the model was given there
    (:func:`_excess_of`), carried with the frame through the pipeline to :func:`_give_back`.

    Compact, since a few frames wait in the pipeline's queues: sparse, flat int32 positions with int16 excess and
    8-bit RGB (9 bytes a sample), where few samples are beyond; dense planes (5 bytes a pixel: int16 excess, 0 where
    within range, and 8-bit RGB) past :data:`_DENSE_SHARE` of them. (Rows and columns as int64 with int32 values
    took 20 bytes a sample: 166 MB for a 4K frame all beyond, with about ten such frames alive.)"""

    #: Height and width of the frame read (the model's input), before any turn the writer applies.
    shape: tuple[int, int]
    #: Flat positions in that frame (int32), or None for a dense :attr:`excess`.
    where: np.ndarray | None
    #: Codes beyond white (positive) or below black (negative), at :attr:`bits` per sample (int16): one a position,
    #: or a plane of the frame's shape with 0 within range.
    excess: np.ndarray
    #: The model's input RGB at those positions, to 8 bits (uint8, N×3 or H×W×3): where the model's output is still
    #: this, it left the pixel alone.
    rgb: np.ndarray
    bits: int


#: Past this share of a frame's samples beyond black and white, :class:`_Excess` holds dense planes (5 bytes a
#: pixel) rather than sparse samples (9 bytes each): about where the two take as long (measured by hand at 1280×720),
#: well before sparse costs more memory (past 5/9).
_DENSE_SHARE = 1 / 3
#: How far (in 8-bit RGB levels, the largest of the three) the model's output may be from its input at a sample
#: beyond black and white and still count as left alone, so that the sample gets all its excess back (a float
#: model's rounding); from :data:`_CHANGED_LEVELS` on it gets none, and in between a share.
_ALONE_LEVELS, _CHANGED_LEVELS = 1.0, 3.0


def _excess_of(frame: Any, rgb: np.ndarray) -> _Excess | None:
    """What limited-range ``frame``'s luma holds beyond black and white (super-whites, sub-blacks, HLG's headroom),
    with ``rgb`` there (the RGB read from it, as the model gets it); None for nothing, or a format without a plain
    luma plane (:func:`_luma`).

    RGB has no room for such codes: the model sees them at white and black and they came back clipped, a clip
    without snow losing its highlights without a word. :func:`_give_back` adds them back to the written frame.
    ``rgb`` is copied at those samples now, before the model runs: a model may change its input in place. A frame
    within range costs two reductions of its luma."""
    luma = _luma(frame)
    if luma is None:
        return None
    bits = _bits(frame.format.name)
    black, white, _ = _yuv_levels(bits, False)
    if luma.min() >= black and luma.max() <= white:
        return None
    beyond = np.flatnonzero((luma < black) | (luma > white)).astype(np.int32)  # flat: 2-D np.nonzero took 4x longer
    values = luma.reshape(-1)[beyond].astype(np.int32)
    excess = (values - np.clip(values, black, white)).astype(np.int16)
    # RGB kept at 8 bits (uint16 above 8 bits, to the nearest level): enough to tell a pixel the model left alone
    # (_ALONE_LEVELS), at half a wide sample's bytes
    if beyond.size <= _DENSE_SHARE * luma.size:
        return _Excess(luma.shape, beyond, excess, _to_rgb24(np.take(rgb.reshape(-1, 3), beyond, axis=0)), bits)
    plane = np.zeros(luma.shape, np.int16)
    plane.reshape(-1)[beyond] = excess
    was = _to_rgb24(rgb)
    return _Excess(luma.shape, None, plane, was.copy() if was is rgb else was, bits)


def _levels(rgb: np.ndarray) -> np.ndarray:
    """Samples of the model's output (uint8, uint16 or float in [0, 1], as :func:`_to_rgb24` takes them) in 8-bit
    levels, as float32."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / np.float32(257)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32) * np.float32(255)


def _give_back(frame: Any, rgb: np.ndarray, excess: _Excess, turn: int = 0) -> None:
    """Add ``excess`` to ``frame``'s luma (written from the model's output ``rgb``, turned upright by ``turn``
    degrees as the writer turns it: :attr:`.video_stream._VideoOut.turn`), scaled to the frame's bits, where the
    model left the pixel alone.

    Only there: a super-white snowflake the model paints over with the bright sky behind it (RGB 220) must not come
    back. Weighed by how near white the model left the pixel, it did (93 % of its excess: luma 220 + 19, a ghost);
    weighed by how far the output's RGB is from the input's at that pixel (:data:`_ALONE_LEVELS`,
    :data:`_CHANGED_LEVELS`) it comes back at 220 and a highlight left alone comes back exactly. Frames of another
    size than the one read (scaled on the way) get nothing: nothing lines up."""
    luma = _luma(frame, writable=True)
    if luma is None:
        return
    turns = (turn // 90) % 4
    if excess.where is None:  # dense: the planes, turned as the frame was (np.rot90, as rotation_upright), whole
        extra, was = np.rot90(excess.excess, turns), np.rot90(excess.rgb, turns)
        if luma.shape != extra.shape or rgb.shape[:2] != extra.shape:
            return
        luma[:] = _with_excess(luma, extra, excess.bits, _kept(rgb, was), _bits(frame.format.name))
        return
    (height, width), (rows, cols) = excess.shape, np.divmod(excess.where, np.int32(excess.shape[1]))
    if turns == 1:
        rows, cols, height, width = width - 1 - cols, rows, width, height
    elif turns == 2:
        rows, cols = height - 1 - rows, width - 1 - cols
    elif turns == 3:
        rows, cols, height, width = cols, height - 1 - rows, width, height
    if luma.shape != (height, width) or rgb.shape[:2] != (height, width):
        return
    kept = _kept(np.take(rgb.reshape(-1, 3), rows * width + cols, axis=0), excess.rgb)  # take: 5x fancy indexing's
    luma[rows, cols] = _with_excess(luma[rows, cols], excess.excess, excess.bits, kept, _bits(frame.format.name))


def _kept(out: np.ndarray, was: np.ndarray) -> np.ndarray:
    """The share of its excess each sample gets back (float32, 0 to 1): all where the model's output ``out`` is
    within :data:`_ALONE_LEVELS` of the 8-bit RGB it was given (``was``) in each of red, green and blue, none from
    :data:`_CHANGED_LEVELS` on."""
    diff = np.abs(out.astype(np.int16) - was) if out.dtype == np.uint8 else np.abs(_levels(out) - was)
    change = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2]).astype(np.float32)
    span = np.float32(_CHANGED_LEVELS - _ALONE_LEVELS)
    return np.clip((np.float32(_CHANGED_LEVELS) - change) / span, 0, 1)


def _with_excess(now: np.ndarray, extra: np.ndarray, bits: int, kept: np.ndarray, out_bits: int) -> np.ndarray:
    """Luma codes ``now`` (at ``out_bits``) with ``kept`` of ``extra`` (codes at ``bits``) added, to the nearest and
    within the format's codes."""
    scale = np.float32(2.0 ** (out_bits - bits))
    codes = np.rint(now.astype(np.float32) + extra.astype(np.float32) * scale * kept)
    return np.clip(codes, 0, (1 << out_bits) - 1).astype(now.dtype)


#: Packed YUV (webcams' raw YUYV) and the planar format its luma is read from: swscale copies luma between the
#: two as it is, codes beyond black and white included.
_PACKED_LUMA = {"yuyv422": "yuv422p", "uyvy422": "yuv422p", "yvyu422": "yuv422p"}


def _luma(frame: Any, writable: bool = False) -> np.ndarray | None:
    """``frame``'s luma plane as codes (uint8, or uint16 above 8 bits) without its line padding: a view that
    writes into the frame, or for packed YUV (``writable`` False only) a copy from its planar twin. None for
    formats without a plain luma plane (RGB, P010's high-bit samples, full range)."""
    name = frame.format.name
    if not writable and name in _PACKED_LUMA:
        frame, name = frame.reformat(format=_PACKED_LUMA[name]), _PACKED_LUMA[name]
    plain = (name.startswith("yuv") and not name.startswith("yuvj")) or name in ("nv12", "nv21", "nv16", "nv24")
    if not plain or not frame.format.is_planar:
        return None
    wide = _bits(name) > 8
    if wide and not name.endswith("le"):
        return None
    return _plane(frame, 0, np.uint16 if wide else np.uint8)


def _carries_headroom(colour: _Colour, written: _Colour, in_fmt: str, out_fmt: str) -> bool:
    """Whether a clip read with ``colour`` from ``in_fmt`` frames and written with ``written`` in ``out_fmt`` carries
    its luma beyond black and white round the model (:func:`_excess_of`, :func:`_give_back`): limited range both ways,
    read from a format with a plain luma plane and written to one whose luma plane takes it (:func:`_luma`). Others
    (P010, grey, full range) clip it, as before."""
    if colour.full_range or written.full_range:
        return False
    return _has_luma(in_fmt) and _has_luma(out_fmt, writable=True)


def _has_luma(pix_fmt: str, writable: bool = False) -> bool:
    """Whether :func:`_luma` reads (or with ``writable``, writes) the luma of frames in ``pix_fmt``: a blank frame
    of it, asked, so that the answer is the one each frame will get."""
    try:
        frame = _av().VideoFrame(16, 16, pix_fmt)
    except (ValueError, TypeError):
        return False
    return _luma(frame, writable) is not None


def _to_rgb24(rgb: np.ndarray) -> np.ndarray:
    """Any pixels the caller returned (uint8, uint16 or float in [0, 1]) as the encoder's 8-bit RGB."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:  # round to the nearest of 256 levels: 65535 / 255 = 257 exactly
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _to_rgb48(rgb: np.ndarray) -> np.ndarray:
    """Any pixels the caller returned (uint8, uint16 or float in [0, 1]) as 16-bit RGB."""
    if rgb.dtype == np.uint16:
        return rgb
    if rgb.dtype == np.uint8:
        return rgb.astype(np.uint16) * 257
    return np.rint(np.clip(rgb, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _rgb_to_frame(rgb: np.ndarray, pix_fmt: str, colour: _Colour) -> Any:
    """The model's RGB as a frame of the encoder's ``pix_fmt``, in the clip's matrix and range: from 8-bit RGB
    for an 8-bit format, from 16-bit RGB for one above 8 bits (:func:`_rgb_to_wide_frame`). The luma the clip held
    beyond black and white is the caller's to give back (:func:`_give_back`)."""
    if _bits(pix_fmt) > 8:
        return _rgb_to_wide_frame(_to_rgb48(np.asarray(rgb)), pix_fmt, colour)
    frame = _av().VideoFrame.from_ndarray(np.ascontiguousarray(_to_rgb24(rgb)), format="rgb24")
    return frame.reformat(
        format=pix_fmt, src_colorspace=colour.matrix, dst_colorspace=colour.matrix, dst_color_range=colour.range,
        interpolation=_rounding(False),
    )  # fmt: skip


def _rgb_to_wide_frame(rgb: np.ndarray, pix_fmt: str, colour: _Colour) -> Any:
    """16-bit RGB as a frame of ``pix_fmt`` (10 or 12 bits, planar YUV), to the nearest code.

    swscale converts to the 16-bit YUV of the same chroma (from RGB scaled by :func:`_encode_gain`), which is
    exact to a few hundredths of a 10-bit level; the last step to ``pix_fmt`` is done here, because
    swscale's own rounds full-range chroma half a level low (neutral grey written 511, not 512).
    """
    av = _av()
    bits = _bits(pix_fmt)
    deep = _sixteen_bit(pix_fmt)
    gain = _encode_gain(deep, colour.full_range)
    scaled = rgb if gain == 1.0 else _scaled(rgb, gain)
    yuv = av.VideoFrame.from_ndarray(np.ascontiguousarray(scaled), format="rgb48le").reformat(
        format=deep, src_colorspace=colour.matrix, dst_colorspace=colour.matrix, dst_color_range=colour.range,
        interpolation=_rounding(False),
    )  # fmt: skip
    out = av.VideoFrame(yuv.width, yuv.height, pix_fmt)
    for i in range(len(out.planes)):
        _plane(out, i)[:] = _narrowed(_plane(yuv, i), bits, colour.full_range, chroma=i > 0)
    return out


def _sixteen_bit(pix_fmt: str) -> str:
    """The 16-bit format of ``pix_fmt``'s chroma (yuv420p10le → yuv420p16le)."""
    chroma = next((tag for tag, _ in _CHROMA if tag in pix_fmt), "420")
    return f"yuv{chroma}p16le"


def _narrowed(plane: np.ndarray, bits: int, full: bool, chroma: bool) -> np.ndarray:
    """A plane of 16-bit YUV as ``bits``-bit codes, to the nearest. Limited range scales by a power of two
    (10-bit 64-940 is 16-bit 4096-60160 shifted); full range by (2^bits - 1) / 65535 about neutral chroma."""
    top = (1 << bits) - 1
    if not full:
        shift = 16 - bits
        return np.minimum((plane.astype(np.uint32) + (1 << (shift - 1))) >> shift, top).astype(np.uint16)
    values = plane.astype(np.float32)
    if chroma:
        codes = (values - 32768) * np.float32(top / 65535) + np.float32(1 << (bits - 1))
    else:
        codes = values * np.float32(top / 65535)
    return np.clip(np.rint(codes), 0, top).astype(np.uint16)


def _tag_colour(ctx: Any, colour: _Colour, notes: list[str], bits: int = 8, static_note: str | None = None) -> None:
    """Tag the encoder with the input's colour matrix, range, primaries and transfer, so players show
    the output as they showed the input. HDR encoded at ``bits`` 8 gets a note that its highlights may
    look flat; at 10, PQ (HDR10) gets ``static_note`` (:func:`_static_note`) where the static metadata that comes
    beside the tags (mastering display, light levels) is not written. HLG needs none."""
    ctx.color_range = colour.range
    _set_colour_tags(ctx, colour.tags())
    hdr = _HDR_TRANSFERS.get(colour.transfer)
    if hdr and bits <= 8:
        notes.append(f"HDR ({hdr}) video: processed and encoded as 8-bit; highlights may look flat")
    elif static_note:  # given for PQ clips only (video_stream)
        notes.append(static_note)


class _StaticSyntax(NamedTuple):
    """How an encoder takes HDR10's static metadata: its ``*-params`` option, the keys in it for the mastering
    display and the content light levels, and how it writes a mastering display's values."""

    option: str
    display_key: str
    light_key: str
    display: Callable[[tuple[Fraction, ...]], str]


def _in_units(display: tuple[Fraction, ...]) -> str:
    """A mastering display in x265's and x264's syntax: HEVC's SEI units, chromaticities in 1/50000 and luminance in
    1/10000 cd/m², as integers, green first:
    ``G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)``."""
    units = [_CHROMA_UNIT] * 8 + [_LUMINANCE_UNIT] * 2
    rx, ry, gx, gy, bx, by, wx, wy, low, high = (round(v * unit) for v, unit in zip(display, units, strict=True))
    return f"G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})L({high},{low})"


def _in_decimals(display: tuple[Fraction, ...]) -> str:
    """A mastering display in SVT-AV1's syntax: the same order, chromaticities and cd/m² as decimals
    (``G(0.265,0.69)B(...)R(...)WP(...)L(1000,0.0001)``); SVT-AV1 rounds them to AV1's own units."""
    rx, ry, gx, gy, bx, by, wx, wy, low, high = (f"{float(v):.6f}".rstrip("0").rstrip(".") for v in display)
    return f"G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})L({high},{low})"


#: The encoders that write HDR10's static metadata in the stream (HEVC's and H.264's SEI messages, AV1's metadata
#: OBUs), where every player and muxer reads it, and how each takes it.
_STATIC_PARAMS = {
    "libx265": _StaticSyntax("x265-params", "master-display", "max-cll", _in_units),
    "libx264": _StaticSyntax("x264-params", "mastering-display", "cll", _in_units),
    "libsvtav1": _StaticSyntax("svtav1-params", "mastering-display", "content-light", _in_decimals),
}


@dataclass(frozen=True)
class _HdrStatic:
    """HDR10's static metadata as the input's first frame carries it (FFmpeg puts there what the stream's SEI
    messages or AV1 metadata say, and what of the container's it passes on to frames); None for what the clip
    has not. Kept as exact values, so each encoder gets them in its own syntax (:data:`_STATIC_PARAMS`)."""

    #: The mastering display: red, green, blue and white point chromaticities (x, y each), then its minimum
    #: and maximum luminance in cd/m².
    display: tuple[Fraction, ...] | None = None
    #: The content light levels: MaxCLL and MaxFALL, in cd/m².
    light: tuple[int, int] | None = None
    #: The input has a mastering display without its primaries or luminance, which no encoder can be given.
    incomplete: bool = False
    #: Why the first frame's side data could not be read ("a kind of side data this PyAV does not know"), so
    #: whether the clip has any of it is not known; None where it was read.
    unread: str | None = None

    def params(self, codec: str) -> dict[str, str]:
        """``*-params`` entries that make ``codec`` write this metadata; {} for an encoder that cannot."""
        syntax = _STATIC_PARAMS.get(codec)
        if syntax is None:  # (an unread instance holds no values either: its entries come out empty below)
            return {}
        entries = {}
        if self.display:
            entries[syntax.display_key] = syntax.display(self.display)
        if self.light:
            entries[syntax.light_key] = f"{self.light[0]},{self.light[1]}"
        return entries

    def missing(self, codec: str) -> str | None:
        """What of it ``codec``'s output goes without, as the note says it ("its mastering-display and light-level
        metadata (prores_ks cannot write them)"); None for nothing."""
        parts = []
        if codec not in _STATIC_PARAMS:
            held = [name for name, value in (("mastering-display", self.display), ("light-level", self.light)) if value]
            if held:
                parts.append(
                    f"its {' and '.join(held)} metadata ({codec} cannot write {'them' if len(held) > 1 else 'it'})"
                )
        if self.incomplete:
            parts.append("its mastering-display metadata (incomplete in the input, so not written)")
        return " and ".join(parts) or None


def _static_note(static: _HdrStatic | None, codec: str) -> str | None:
    """The note for a PQ (HDR10) clip encoded at 10 bits by ``codec`` whose static metadata is not all written, or
    None. ``static`` None: the input's first frames did not decode; :attr:`_HdrStatic.unread`: its side data could
    not be read. Either way whether it had any is not known, and the note says so rather than naming a loss."""
    unread = "first frame undecodable" if static is None else static.unread
    if unread:
        return ("HDR (PQ) video: encoded at 10 bits with its colour tags, but its mastering-display and light-level "
                f"metadata, if any, could not be read ({unread}); players tone-map it by their own "
                "defaults")  # fmt: skip
    assert static is not None
    missing = static.missing(codec)
    if missing is None:
        return None
    return (f"HDR (PQ) video: encoded at 10 bits with its colour tags, but without {missing}; players tone-map it "
            "by their own defaults")  # fmt: skip


#: Chromaticity and luminance units of HEVC's mastering-display SEI message (and x265's syntax): 1/50000,
#: and 1/10000 cd/m².
_CHROMA_UNIT, _LUMINANCE_UNIT = 50000, 10000
#: Sizes of FFmpeg's AVMasteringDisplayMetadata (10 rationals of two ints, then two int flags) and
#: AVContentLightMetadata (two unsigned ints), as a frame's side data holds them.
_DISPLAY_BYTES, _LIGHT_BYTES = 88, 8


def _hdr_static(frame: Any) -> _HdrStatic:
    """The HDR10 static metadata on a decoded ``frame``'s side data (PyAV gives its raw bytes: FFmpeg's
    AVMasteringDisplayMetadata, 3 primaries R, G, B, white point and min and max luminance as rationals, then
    two flags; AVContentLightMetadata, MaxCLL and MaxFALL as unsigned ints).

    PyAV builds the whole list at once, naming each entry's type by its own enum, which lags FFmpeg's: one kind it
    does not know (FFmpeg 8's EXIF, type 31, on an MJPEG frame with an APP1 segment) raises ``ValueError`` for
    the frame. That is :attr:`_HdrStatic.unread`, a note at most, not the clip's failure."""
    display: tuple[Fraction, ...] | None = None
    light: tuple[int, int] | None = None
    incomplete = False
    try:
        entries = side_data_entries(frame)
    except ValueError:  # "31 is not a valid Type"
        return _HdrStatic(unread="its first frame carries side data this PyAV cannot read")
    for data in entries:
        name = data.type.name
        if name == "MASTERING_DISPLAY_METADATA":
            ints = np.frombuffer(bytes(data)[:_DISPLAY_BYTES], dtype=np.int32)
            values, has_primaries, has_luminance = ints[:20].reshape(10, 2).tolist(), ints[20], ints[21]
            if has_primaries and has_luminance and all(d for _, d in values):
                display = tuple(Fraction(n, d) for n, d in values)
            else:  # an encoder takes all of it or none: a guess for the missing half would misstate the grade
                incomplete = True
        elif name == "CONTENT_LIGHT_LEVEL":
            max_cll, max_fall = np.frombuffer(bytes(data)[:_LIGHT_BYTES], dtype=np.uint32).tolist()
            light = (max_cll, max_fall)
    return _HdrStatic(display, light, incomplete)


def _colour_tags(ctx: Any) -> dict[str, int]:
    """A codec context's colour tags by name (2: unspecified)."""
    return {"primaries": int(ctx.color_primaries or 2), "transfer": int(ctx.color_trc or 2),
            "matrix": int(ctx.colorspace or 2)}  # fmt: skip


def _set_colour_tags(ctx: Any, tags: dict[str, int]) -> None:
    ctx.color_primaries, ctx.color_trc, ctx.colorspace = tags["primaries"], tags["transfer"], tags["matrix"]


#: FFmpeg's names of the colour matrices that are written (see :data:`_MATRIX`).
_MATRIX_NAMES = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}


def _colour_name(kind: str, code: int) -> str:
    """A colour tag as FFmpeg (and ffprobe) names it: ``bt2020``, ``smpte2084``, ``bt2020nc``."""
    reformatter = _av().video.reformatter
    try:
        if kind == "matrix":
            return _MATRIX_NAMES[code]
        enum = reformatter.ColorPrimaries if kind == "primaries" else reformatter.ColorTrc
        return enum(code).name.lower().replace("_", "-")
    except (KeyError, ValueError):
        return str(code)
