"""The output's video stream, set up before any packet is muxed: codec, size, frame rate and time base
(AVI's constant-rate slots: :func:`_slot_rate`), pixel format and chroma, colour tags, pixel aspect,
interlacing, rotation and stream tags. :class:`_VideoOut` hands the transcoder what encoding each frame
needs. What the output cannot keep becomes a note, never a silent change.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from weatherclean.errors import OutputError, one_line
from weatherclean.io.video.carries import _Carries, _carries, _say_lost_colour
from weatherclean.io.video.colour import _chroma_of, _Colour, _high_bit_depth, _tag_colour
from weatherclean.io.video.encoder import VideoOptions, _configure, _default_codec
from weatherclean.io.video.metadata import _keep_disposition, _stream_tags
from weatherclean.io.video.pyav import _av


@dataclass(frozen=True)
class _VideoOut:
    """The output video stream and what encoding each frame into it needs, decided once per clip."""

    stream: Any
    #: The input's frame rate (25 when it records none), which the output declares.
    rate: Fraction
    #: The output time base: the input's, or 1/rate for AVI (see :attr:`cfr`).
    time_base: Fraction
    colour: _Colour
    #: Constant frame rate: AVI has no timestamps of its own, only a rate, so frames take the slot of
    #: their time (0, 1, 2... at ``rate``; a skipped slot is an empty index entry, as a DVR writes).
    cfr: bool
    #: Whether the input has more than 8 bits, so frames are decoded to uint16 RGB.
    wide: bool
    #: How frames are encoded: :attr:`colour`, in limited range where the output cannot mark full range.
    written: _Colour


def _add_video_stream(out: Any, vin: Any, fmt: str, opts: VideoOptions, rotation: int, notes: list[str]) -> _VideoOut:
    """Add the encoder stream for ``vin``'s frames: same size, rate, timestamps, colour and rotation.

    Every stream must exist before the first packet is muxed (that writes the header), so this runs
    before any decoding; what the output cannot keep (odd sizes in 4:2:0, more than 8 bits, AVI's lack
    of rotation) becomes a note rather than a silent change.
    """
    av = _av()
    codec = opts.codec or _default_codec(fmt, vin.codec_context.width)
    # AVI has no timestamps of its own, only a frame rate: write constant-rate frames, no B-frames.
    cfr = fmt == "avi"
    rate = _slot_rate(vin) if cfr else vin.average_rate or vin.guessed_rate or Fraction(25)
    try:
        vout = out.add_stream(codec, rate=rate)
    except (av.error.FFmpegError, ValueError) as exc:
        raise OutputError(f"video codec '{codec}' is not available ({one_line(exc)})") from None
    w, h = vin.codec_context.width, vin.codec_context.height
    vout.width, vout.height = w, h
    odd = bool(w % 2 or h % 2)
    chroma = _chroma_of(str(vin.codec_context.pix_fmt or ""))
    full = codec in ("libx264", "libx265") and (odd or chroma == "4:4:4")  # 4:4:4 input stays 4:4:4
    vout.pix_fmt = "yuv444p" if full else "yuv420p"
    if odd and full:
        notes.append(f"odd frame size {w}×{h}: encoded as 4:4:4, which some players cannot show")
    elif chroma in ("4:4:4", "4:2:2") and not full:
        notes.append(f"{chroma} chroma written as 4:2:0 by {codec}")
    wide = _high_bit_depth(str(vin.codec_context.pix_fmt or ""))
    if wide:
        notes.append(f"{vin.codec_context.pix_fmt} video: processed at 16 bits, encoded at 8 bits")
    out_tb = Fraction(1, 1) / Fraction(rate).limit_denominator(100_000) if cfr else vin.time_base
    vout.time_base = out_tb
    vout.codec_context.time_base = out_tb
    if cfr and rotation:
        notes.append(f"AVI cannot store the {rotation}° rotation; the clip will show unrotated")
    colour = _Colour.of(vin.codec_context, h)
    carries = _carries(fmt, codec)
    written = colour if carries.full_range or not colour.full_range else colour.limited()
    if written != colour:
        notes.append(f"full-range video stored as limited range ({codec} in {fmt} cannot mark full range)")
    _tag_colour(vout.codec_context, written, notes)
    _say_lost_colour(written, h, carries, f"{codec} in {fmt}", notes)
    _keep_aspect(vout, vin, carries, f"{codec} in {fmt}", notes)
    vout.metadata.update(_stream_tags(fmt, vin, notes))
    _keep_disposition(vout, vin)
    _configure(vout, codec, opts, fmt)
    _keep_interlacing(vout, vin, codec, notes)
    if rotation and not cfr:
        vout.set_display_rotation(rotation)
    return _VideoOut(vout, rate, out_tb, colour, cfr, wide, written)


def _slot_rate(vin: Any) -> Fraction:
    """The frame rate of constant-rate (AVI) output: the finest grid the input's timestamps lie on (FFmpeg's
    guess, e.g. 60 for a clip with frames 1/60 s and 1/30 s apart) when it is a plausible rate above the
    average, so every frame keeps its time; else the average rate (a constant-rate clip's own). A guess of
    exactly twice the average is an interlaced clip's field rate (AVCHD's 50 for 25 frames a second), not
    a finer grid: it would leave every other slot empty."""
    average = vin.average_rate or vin.guessed_rate or Fraction(25)
    grid = vin.guessed_rate
    finer = grid and average < grid <= _MAX_SLOT_RATE and grid != 2 * average
    return Fraction(grid) if finer else Fraction(average)


#: The highest frame rate AVI output takes to keep variable-rate timing (a grid finer than this is a guess
#: from jittery timestamps, and would fill the index with empty entries).
_MAX_SLOT_RATE = 120


#: FFmpeg's field orders (AVFieldOrder) of interlaced video, and whether the top field comes first.
_FIELD_ORDERS = {2: True, 3: False, 4: True, 5: False, "tt": True, "bb": False, "tb": True, "bt": False}


def _keep_interlacing(vout: Any, vin: Any, codec: str, notes: list[str]) -> None:
    """Encode interlaced input (1080i broadcast, AVCHD) interlaced, in its field order: written as
    progressive, players stop deinterlacing it and every motion shows combing. H.264 can; other encoders
    here get a note."""
    top_first = _FIELD_ORDERS.get(vin.codec_context.field_order)
    if top_first is None:
        return
    if codec != "libx264":
        notes.append(
            f"interlaced video written progressive by {codec}; players will show combing (--codec libx264 keeps it)"
        )
        return
    options = dict(vout.options)
    field = "tff=1" if top_first else "bff=1"
    options["x264-params"] = f"{options['x264-params']}:{field}" if options.get("x264-params") else field
    options["flags"] = "+ildct+ilme"
    vout.options = options


def _keep_aspect(vout: Any, vin: Any, carries: _Carries, encoder: str, notes: list[str]) -> None:
    """Keep non-square pixels (anamorphic SD, 12:11 PAL, DV): without the tag the clip shows stretched."""
    sar = vin.codec_context.sample_aspect_ratio
    if not sar or sar == 1:
        return
    vout.codec_context.sample_aspect_ratio = sar
    if not carries.aspect:
        notes.append(f"pixel aspect ratio {sar.numerator}:{sar.denominator} cannot be stored by {encoder}; "
                     "the clip will show stretched")  # fmt: skip
