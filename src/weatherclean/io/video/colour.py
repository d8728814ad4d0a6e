"""Colour: the clip's YUV read as the RGB the model sees, and the model's RGB written back as YUV.

:class:`_Colour` holds a clip's matrix, range, primaries and transfer, read once; :func:`_frame_to_rgb`
and :func:`_rgb_to_frame` convert every frame with them, rounding as :func:`_rounding` sets (swscale's
defaults darkened each pass by about a grey level); :func:`_tag_colour` writes the same tags on the
output, so players show it as they showed the input. Chroma sampling and bit depth
(:func:`_chroma_of`, :func:`_high_bit_depth`) decide what a decoded frame holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

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


#: FFmpeg's AVColorSpace → swscale's matrix (PyAV's ``Colorspace``): BT.709, FCC, BT.601 (two codes),
#: SMPTE 240M, BT.2020 (two codes).
_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
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
    def of(cls, ctx: Any, first_height: int) -> _Colour:
        space = int(ctx.colorspace or 2)
        if space not in _MATRIX:  # unspecified: what players assume, HD as BT.709 and SD as BT.601
            space = 1 if first_height >= 720 else 6
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
    """A decoded frame as H×W×3 RGB: uint8, or uint16 when the video has more than 8 bits."""
    fmt = "rgb48le" if wide else "rgb24"
    return frame.to_ndarray(
        format=fmt, src_colorspace=colour.matrix, src_color_range=colour.range, interpolation=_rounding(True, wide)
    )


def _to_rgb24(rgb: np.ndarray) -> np.ndarray:
    """Any pixels the caller returned (uint8, uint16 or float in [0, 1]) as the encoder's 8-bit RGB."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:  # round to the nearest of 256 levels: 65535 / 255 = 257 exactly
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _rgb_to_frame(rgb: np.ndarray, pix_fmt: str, colour: _Colour) -> Any:
    av = _av()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(_to_rgb24(rgb)), format="rgb24")
    return frame.reformat(
        format=pix_fmt, src_colorspace=colour.matrix, dst_colorspace=colour.matrix, dst_color_range=colour.range,
        interpolation=_rounding(False),
    )  # fmt: skip


def _tag_colour(ctx: Any, colour: _Colour, notes: list[str]) -> None:
    """Tag the encoder with the input's colour matrix, range, primaries and transfer, so players show
    the output as they showed the input; HDR is kept as a tag only, and said so in a note."""
    ctx.color_range = colour.range
    _set_colour_tags(ctx, colour.tags())
    if colour.transfer in _HDR_TRANSFERS:
        notes.append(f"HDR ({_HDR_TRANSFERS[colour.transfer]}) video: processed and encoded as 8-bit; "
                     "highlights may look flat")  # fmt: skip


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
