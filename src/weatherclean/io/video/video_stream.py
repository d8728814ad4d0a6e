"""The output's video stream, set up before any packet is muxed: codec, size, frame rate and time base
(AVI's constant-rate slots: :func:`_slot_rate`), pixel format and chroma, colour tags, pixel aspect,
interlacing, rotation and stream tags. :class:`_VideoOut` hands the transcoder what encoding each frame
needs. What the output cannot keep becomes a note, never a silent change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from weatherclean.errors import OutputError, one_line
from weatherclean.io.video.carries import _Carries, _carries, _say_lost_colour, _untagged_matrix
from weatherclean.io.video.colour import (
    _HDR_TRANSFERS,
    _STATIC_PARAMS,
    _bits,
    _carries_headroom,
    _chroma_of,
    _Colour,
    _HdrStatic,
    _high_bit_depth,
    _static_note,
    _tag_colour,
)
from weatherclean.io.video.encoder import VideoOptions, _configure, _default_codec, encoder_format
from weatherclean.io.video.metadata import _keep_disposition, _stream_tags
from weatherclean.io.video.pyav import _av, _codec_family


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
    #: The display rotation the frames are turned by before encoding (degrees counter-clockwise), where the
    #: output cannot store it (AVI): a phone's portrait clip is then written upright, not shown on its side.
    turn: int = 0
    #: Whether each frame's luma beyond black and white goes round the model with it and back into the output
    #: (:func:`~.colour._carries_headroom`): limited range, with a plain luma plane both ways.
    headroom: bool = False

    def stored_size(self) -> tuple[int, int]:
        """Width and height of the frames the transcoder receives, before :attr:`turn`."""
        w, h = self.stream.width, self.stream.height
        return (h, w) if self.turn % 180 else (w, h)


def _add_video_stream(
    out: Any,
    vin: Any,
    fmt: str,
    opts: VideoOptions,
    rotation: int,
    notes: list[str],
    static: _HdrStatic | None,
    replaces_input: bool,
) -> _VideoOut:
    """Add the encoder stream for ``vin``'s frames: same size, rate, timestamps, colour and rotation.

    Every stream must exist before the first packet is muxed (that writes the header), so this runs
    before any decoding; what the output cannot keep (odd sizes in 4:2:0, more than 8 bits, AVI's lack
    of rotation) becomes a note rather than a silent change. AVI cannot store a rotation, so there the frames
    are written turned upright (:attr:`_VideoOut.turn`): the output is the size the clip is shown at.

    Video above 8 bits is encoded at 10 where the encoder can (:func:`_deep_format`); where no codec was
    asked for and the container is MP4, MOV, Matroska or MPEG-TS (:data:`_HEVC_CONTAINERS`), as 10-bit HEVC
    (libx265, tagged ``hvc1`` in MP4 and MOV by :func:`~.encoder._configure`), which phones, Apple players
    and hardware decoders play, as they do not H.264's High 10. Into FLV, MPEG-PS and 3GP, or without
    libx265, it stays 8-bit H.264, with a note saying why.

    ``static`` is the input's HDR10 static metadata, read from its first frame with the rotation
    (:func:`~.reading._probe`; None where that frame did not decode), written again for a PQ clip where the encoder
    can (:func:`_carry_static`). ``replaces_input`` (``--in-place``) keeps 4:2:2 and 4:4:4 chroma, as a codec named
    in ``opts`` does (:func:`_written_chroma`).
    """
    in_fmt = str(vin.codec_context.pix_fmt or "")
    wide = _high_bit_depth(in_fmt)
    codec, eight_bit_why = _choose_codec(fmt, opts, vin.codec_context.width, wide)
    # AVI has no timestamps of its own, only a frame rate: write constant-rate frames, no B-frames.
    cfr = fmt == "avi"
    rate = _slot_rate(vin) if cfr else _stream_rate(vin)
    vout = _new_stream(out, codec, rate)
    turn = rotation % 360 if cfr and rotation % 90 == 0 else 0  # AVI: quarter turns written upright
    in_h = vin.codec_context.height
    w, h = vin.codec_context.width, in_h
    if turn % 180:
        w, h = h, w
    vout.width, vout.height = w, h
    decoder = _codec_family(vin.codec_context.codec)
    keep_chroma = replaces_input or opts.codec is not None  # in place, or the codec the user asked for
    bits = _set_pixel_format(vout, codec, in_fmt, eight_bit_why, notes, decoder, keep_chroma)
    out_tb = Fraction(1, 1) / Fraction(rate).limit_denominator(100_000) if cfr else vin.time_base
    vout.time_base = out_tb
    vout.codec_context.time_base = out_tb
    if cfr and rotation % 360:
        done = "frames written turned upright" if turn else "the clip will show unrotated"
        notes.append(f"AVI cannot store the {rotation}° rotation; {done}")
    colour = _Colour.of(vin.codec_context, in_h)  # how to read the input: untagged SD is BT.601, HD BT.709
    shown = _Colour.of(vin.codec_context, h, w)  # how players read the output: a turn can move it across SD's line
    carries = _carries(fmt, codec)
    written = shown if carries.full_range or not shown.full_range else shown.limited()
    if written.full_range != colour.full_range:
        notes.append(f"full-range video stored as limited range ({codec} in {fmt} cannot mark full range)")
    clip, written = written, _untagged_matrix(written, w, h, carries)  # players' matrix where its tag is not stored
    pq = _HDR_TRANSFERS.get(written.transfer) == "PQ"
    _tag_colour(vout.codec_context, written, notes, bits, _static_note(static, codec) if pq else None)
    _say_lost_colour(clip, written, (w, h), carries, f"{codec} in {fmt}", notes)
    _keep_aspect(vout, vin, turn, carries, f"{codec} in {fmt}", notes)
    vout.metadata.update(_stream_tags(fmt, vin, notes))
    _keep_disposition(vout, vin)
    _configure(vout, codec, opts, fmt)
    _keep_interlacing(vout, vin, codec, notes)
    if pq and static is not None:
        _carry_static(vout, codec, static)
    if rotation and not cfr:
        vout.set_display_rotation(rotation)
    headroom = _carries_headroom(colour, written, in_fmt, vout.pix_fmt)  # super-whites round the model
    return _VideoOut(vout, rate, out_tb, colour, cfr, wide, written, turn, headroom)


def _stream_rate(vin: Any) -> Fraction:
    """The frame rate a timestamped output declares and is timed by (a frame's length, the encoder's reorder window):
    the input's average, or FFmpeg's guess; measured from the frame times (:func:`_measured_rate`) where neither is
    a camera's (above :data:`_MAX_STREAM_RATE`); 25 where nothing says. Why: an irregularly timed H.264 clip in
    MPEG-TS has no average, and FFmpeg's guess is its 90 kHz clock; taken as 90000 fps, a frame was one tick long,
    every decode time was squeezed into consecutive ticks, and its MP4 played for 222 µs."""
    rate = vin.average_rate or vin.guessed_rate
    if rate and rate <= _MAX_STREAM_RATE:
        return Fraction(rate)
    return _measured_rate(_frame_times(vin)) or Fraction(25)


#: The fastest frame rate taken from a stream's header as it is (slow motion from phones is 240 fps); one above it
#: is a time base's clock (MPEG-TS's 90000, Matroska's 1000) more likely than a camera's, and is measured.
_MAX_STREAM_RATE = 240


def _measured_rate(times: list[Fraction]) -> Fraction | None:
    """Frames a second between the first and the last of ``times`` (seconds from the first, :func:`_frame_times`),
    or None for fewer than two frames."""
    if len(times) < 2 or times[-1] <= 0:
        return None
    return ((len(times) - 1) / times[-1]).limit_denominator(1001)


def _carry_static(vout: Any, codec: str, static: _HdrStatic) -> None:
    """Have x265, x264 or SVT-AV1 write the input's HDR10 static metadata (SEI messages, AV1 metadata OBUs): without
    it an HDR10 player tone-maps by its own guess of the mastering display, and a grade made on a 1000-nit monitor
    shows darker or clipped. Other encoders cannot, and :func:`~.colour._static_note`'s note says so."""
    params = static.params(codec)
    if not params:
        return
    key = _STATIC_PARAMS[codec].option
    options = dict(vout.options)
    extra = ":".join(f"{name}={value}" for name, value in params.items())
    options[key] = f"{options[key]}:{extra}" if options.get(key) else extra
    vout.options = options


#: Containers whose H.264 default gives way to 10-bit HEVC for video above 8 bits (:func:`_choose_codec`):
#: those that hold HEVC as a matter of course (FFmpeg's muxer names, as in :data:`~.containers.CONTAINERS`).
_HEVC_CONTAINERS = frozenset({"mp4", "mov", "matroska", "mpegts"})
#: Why the others whose default is H.264 keep it, at 8 bits, for video above 8 bits (the note's reason).
_NO_HEVC_WHY = {
    "flv": "HEVC in FLV is 'enhanced FLV', which older players cannot read; --codec libx265 writes it",
    "mpeg": "HEVC in an MPEG program stream is non-standard; --format mp4 or mkv keeps 10 bits",
    "3gp": "3gp cannot hold HEVC",
}


def _choose_codec(fmt: str, opts: VideoOptions, width: int, wide: bool) -> tuple[str, str | None]:
    """The encoder for container ``fmt``, and why video above 8 bits (``wide``) is encoded at 8 where that is
    already known. No ``--codec`` and a default of H.264 picks 10-bit HEVC for ``wide`` video in
    :data:`_HEVC_CONTAINERS`: H.264's High 10 plays almost nowhere (not in QuickTime, Safari or most hardware
    decoders), HEVC wherever the phone clip it mostly comes from did. Elsewhere (FLV, MPEG-PS, 3GP:
    :data:`_NO_HEVC_WHY`), or without libx265, it stays H.264 at 8 bits, as before."""
    codec = opts.codec or _default_codec(fmt, width)
    if not (wide and opts.codec is None and codec == "libx264"):
        return codec, None
    if fmt not in _HEVC_CONTAINERS:
        return codec, _NO_HEVC_WHY.get(fmt, f"{fmt} is not a usual container for HEVC")
    if _deep_format("libx265", "yuv420p10le"):
        return "libx265", None
    return codec, "libx265, for 10-bit HEVC, is not in this FFmpeg; --codec libx264 writes 10-bit H.264"


def _new_stream(out: Any, codec: str, rate: Fraction) -> Any:
    """``out``'s video stream for ``codec``; an encoder that is refused is a one-line error."""
    av = _av()
    try:
        return out.add_stream(codec, rate=rate)
    except (av.error.FFmpegError, ValueError) as exc:
        raise OutputError(f"video codec '{codec}' is not available ({one_line(exc)})") from None


def _set_pixel_format(
    vout: Any,
    codec: str,
    in_fmt: str,
    eight_bit_why: str | None,
    notes: list[str],
    decoder: str,
    keep_chroma: bool,
) -> int:
    """Set the stream's pixel format from the input's ``in_fmt`` and return its bits per sample.

    Chroma (:func:`_written_chroma`): H.264 and HEVC keep 4:2:2 and 4:4:4 from H.264 or HEVC input, in place or
    when named (``keep_chroma``), and write odd sizes, which 4:2:0 cannot hold, as 4:4:4; else 4:2:0, with a note
    that says how to keep it (:func:`_keep_hint`). Others write 4:2:0, or the least their encoder takes. Depth: 10
    bits for input above 8 where the encoder has a 10-bit format (:func:`_deep_format`) and nothing ruled it out
    (``eight_bit_why``), else 8. Each loss is a note.
    """
    w, h = vout.width, vout.height
    odd = bool(w % 2 or h % 2)
    chroma = _chroma_of(in_fmt)
    wide = _high_bit_depth(in_fmt)
    kept, deep, vout.pix_fmt = _format_choice(codec, in_fmt, w, h, eight_bit_why, decoder, keep_chroma)
    written = _chroma_of(vout.pix_fmt) or "4:2:0"
    if _has_alpha(in_fmt):  # frames reach the model as RGB: no encoder here is given a matte to keep
        notes.append(f"alpha channel (matte) dropped: {codec} output keeps no transparency ({in_fmt} input)")
    if odd and kept == "444":
        notes.append(f"odd frame size {w}×{h}: encoded as 4:4:4, which some players cannot show")
    elif (
        chroma in ("4:2:2", "4:4:4")
        and written == chroma
        and codec in _ANY_CHROMA_CODECS
        and (decoder not in _SAME_CHROMA_DECODERS)
    ):
        # kept only because it was asked for (in place, or the codec named): say what it costs, as it is a change
        # of playability from the master's own (a note, since --codec libx264 is often set for playability)
        notes.append(f"{chroma} chroma kept ({_FAMILY_NAMES[codec]} {chroma}), which plays in fewer players than 4:2:0 "
                     "(no browser, no phone's hardware decoder)")  # fmt: skip
    elif chroma in _CHROMA_RANK and _CHROMA_RANK[chroma] > _CHROMA_RANK[written]:
        # written 4:2:0 by choice, for players: say how to keep it (not MJPEG's: JPEG's sampling, no master's)
        chosen = codec in _ANY_CHROMA_CODECS and decoder not in _JPEG_CHROMA_DECODERS
        notes.append(f"{chroma} chroma written as {written} by {codec}" + (_keep_hint(codec, chroma) if chosen else ""))
    bits = _bits(vout.pix_fmt)
    if wide and bits < _bits(in_fmt):
        why = eight_bit_why or (None if deep else f"{codec} offers no 10-bit YUV format here")
        notes.append(f"{in_fmt} video: processed at 16 bits, encoded at {bits} bits" + (f" ({why})" if why else ""))
    return bits


#: Chroma samplings by how much colour they hold: a note says when the output holds less than the input.
_CHROMA_RANK = {"4:4:4": 3, "4:2:2": 2, "4:2:0": 1}


#: Encoders that write every chroma sampling a clip comes in (4:2:0, 4:2:2, 4:4:4), at 8 and 10 bits: x264 as
#: High 4:2:2 / High 4:4:4, x265 as its Main 4:2:2 10 / Main 4:4:4 range extensions.
_ANY_CHROMA_CODECS = frozenset({"libx264", "libx265"})
#: Decoders whose 4:2:2 and 4:4:4 clips H.264 and HEVC write as they came beside the input: a camera's own H.264
#: or HEVC, which plays where the original does. Any other such clip (a ProRes 422 or 4444 master, DNxHR, FFV1,
#: XDCAM's MPEG-2 4:2:2) is written 4:2:0, which every player plays: H.264 High 4:2:2 / High 4:4:4 and HEVC's
#: 4:2:2 and 4:4:4 range extensions play in no browser, nor phones' hardware decoders, and H.264 beyond 4:2:0 not in
#: QuickTime, so a delivery file made from a master would play almost nowhere. In place, or with the codec named
#: (``--codec libx264``), the clip keeps its chroma all the same (:func:`_written_chroma`).
_SAME_CHROMA_DECODERS = frozenset({"h264", "hevc"})
#: Decoders whose 4:2:2 or 4:4:4 is JPEG's own sampling, not a production choice: a dash cam's or webcam's MJPEG
#: (``yuvj422p``). Their clips are written 4:2:0, in place and with the codec named too (in place not refused: an
#: original, not a master), and their note gives no advice on keeping it.
_JPEG_CHROMA_DECODERS = frozenset({"mjpeg"})
#: What players know H.264's and HEVC's encoders as, for :func:`_keep_hint`.
_FAMILY_NAMES = {"libx264": "H.264", "libx265": "HEVC"}


def _keep_hint(codec: str, chroma: str) -> str:
    """What the note on ``chroma`` (4:2:2 or 4:4:4) written as 4:2:0 by H.264's or HEVC's ``codec`` adds: what the user
    can do to keep it. ProRes only in .mov or .mkv (FFmpeg's MP4 muxer takes no ProRes); the codec named keeps it
    in its own family (:func:`_written_chroma`), at the cost of the players."""
    return (f", which every player plays; to keep {chroma}: --codec prores_ks (in .mov or .mkv), or --codec {codec} "
            f"to keep it in {_FAMILY_NAMES.get(codec, codec)}")  # fmt: skip


def _written_chroma(codec: str, in_fmt: str, width: int, height: int, decoder: str, keep_chroma: bool) -> str:
    """The chroma sampling ``codec`` writes ``in_fmt`` frames in, as a pixel-format tag: "444", "422" or "420".

    H.264 and HEVC write odd sizes, which 4:2:0 cannot hold, as 4:4:4. They keep 4:2:2 and 4:4:4 where that costs
    no playability or the user asked for it: from H.264 or HEVC input (:data:`_SAME_CHROMA_DECODERS`), and with
    ``keep_chroma`` (``--in-place``, which would otherwise refuse the clip, or the codec named with ``--codec``:
    H.264 or HEVC asked for, with the chroma it can hold, and a note on what that costs). Other 4:2:2 and 4:4:4 (a
    master's) is written 4:2:0, with a
    note saying how to keep it, and MJPEG's (JPEG's own sampling) always. A mezzanine encoder that takes 4:4:4
    keeps 4:4:4 (ProRes 4444, DNxHR 444: a 4444 master was written as 4:2:2 by ``--codec prores_ks``), and is
    lifted from 4:2:0 to what it takes by :func:`encoder_format`. Delivery encoders (VP9) write 4:2:0, which every
    player plays."""
    chroma = _chroma_of(in_fmt)
    if codec in _ANY_CHROMA_CODECS:
        if width % 2 or height % 2:
            return "444"
        if chroma not in ("4:2:2", "4:4:4") or decoder in _JPEG_CHROMA_DECODERS:
            return "420"
        return chroma.replace(":", "") if decoder in _SAME_CHROMA_DECODERS or keep_chroma else "420"
    return "444" if chroma == "4:4:4" and _mezzanine_444(codec) else "420"


def _mezzanine_444(codec: str) -> bool:
    """Whether encoder ``codec`` takes 4:4:4 and no 4:2:0 at all (ProRes, DNxHR): a master's encoder."""
    try:
        names = [f.name for f in _av().Codec(codec, "w").video_formats or ()]
    except (ValueError, TypeError):
        return False
    return any(n.startswith("yuv444") for n in names) and not any(n.startswith("yuv420") for n in names)


def _format_choice(
    codec: str,
    in_fmt: str,
    width: int,
    height: int,
    eight_bit_why: str | None,
    decoder: str,
    keep_chroma: bool,
) -> tuple[str, str | None, str]:
    """The chroma ``codec`` writes ``in_fmt`` frames in ("444", "422", "420": :func:`_written_chroma`), its 10-bit
    format for them (None: 8 bits), and the pixel format it encodes them in (see :func:`_set_pixel_format`), one
    the encoder takes: ProRes and DNxHR take no 4:2:0 at all, and were handed yuv420p for 8-bit input, which
    they refuse; such an encoder gets its first format that holds at least the chroma and bits chosen
    (:func:`encoder_format`). One place for the run and :func:`in_place_loss`, which must decide alike.
    ``decoder`` is the input's decoder (FFmpeg's name) and ``keep_chroma`` says ``--in-place`` or a codec named:
    both decide whether 4:2:2 and 4:4:4 are kept."""
    chroma = _written_chroma(codec, in_fmt, width, height, decoder, keep_chroma)
    wide = _high_bit_depth(in_fmt)
    deep = _deep_format(codec, f"yuv{chroma}p10le") if wide and not eight_bit_why else None
    return chroma, deep, encoder_format(codec, deep or f"yuv{chroma}p")


def _has_alpha(pix_fmt: str) -> bool:
    """Whether frames in ``pix_fmt`` carry an alpha channel (ProRes 4444's ``yuva444p12le``, ``rgba``...)."""
    try:
        return any(c.is_alpha for c in _av().video.format.VideoFormat(pix_fmt).components)
    except (ValueError, TypeError):  # a format this FFmpeg does not know: it decoded none of it either
        return False


def _deep_format(codec: str, wanted: str) -> str | None:
    """The 10-bit format that encoder ``codec`` takes for ``wanted`` (yuv420p10le, yuv422p10le or yuv444p10le):
    that one, else the nearest that holds at least its chroma (ProRes takes only 4:2:2 and 4:4:4); None where the
    encoder has none in this FFmpeg (MPEG-4 Part 2, VP9 built without high bit depth) or is missing.

    Ten bits, not more, even from 12-bit input: 12-bit HEVC or H.264 plays almost nowhere.
    """
    try:
        formats = {f.name for f in _av().Codec(codec, "w").video_formats or ()}
    except (ValueError, TypeError):  # no such encoder: add_stream says so
        return None
    order = ("yuv420p10le", "yuv422p10le", "yuv444p10le")
    order = order[order.index(wanted) :] if wanted in order else order
    return next((name for name in order if name in formats), None)


def _slot_rate(vin: Any) -> Fraction:
    """The frame rate of constant-rate (AVI) output, whose grid starts at the first frame: the clip's own rate where
    its frames lie on it, else the finest grid they need, so every frame keeps its time and stays with the sound
    (which moves with the first frame: :func:`.transcoder._avi_start`).

    Judged on the frame times actually seen (:func:`_frame_times`), from the first frame:
    1. The first rate of :func:`_candidate_rates` (FFmpeg's guess first) on which every frame lies within a quarter
       of a slot of its own (:data:`_GRID_SLACK`), one frame a slot. Why: FFmpeg's guess alone is often the average
       of an irregular clip (12.2 fps for frames 17 ms to 400 ms apart), which moved 9 of 12 frames up to 207 ms.
    2. Where none does (jittery timestamps), FFmpeg's guess where every frame still rounds to a slot of its own,
       each within half a slot of its time (a webcam's, a DVR's, a 144 fps game capture's: as before).
    3. Else (frames closer together than the guess's slot: a mixed grid, or jitter beyond a quarter slot either
       way), :data:`_MAX_SLOT_RATE`, or the clip's own rate where it is higher (the guess, or the frames a second
       measured, rounded up): a grid coarser than the clip pushed its frames later and later (a 144 fps clip's
       last frame 0.8 s late after 4 s); at 120 fps every frame lies within 1/240 s of its time. Why not the guess
       anyway, as before: a frame pushed into the next slot pushes every frame after it (a 5 fps DVR clip with
       ±60 ms whose first frame came 54 ms early: most frames 200 ms late).
    FFmpeg's guess is its guessed rate, its finest grid (60 for frames 1/60 s and 1/30 s apart), where at most
    :data:`_MAX_SLOT_RATE`, not below the average less :data:`_SAME_RATE` (an MP4 of a 5 fps DVR's 20 jittery frames
    averages 500/99, guessed 5), and not twice the average, an interlaced clip's field rate (AVCHD's 50 for 25 frames
    a second), not a finer grid: it would leave every other slot empty; else the average. Without frame times (none
    read, or one frame) the guess decides. Every rate is one MPEG-4 Part 2 can store (:func:`_storable`).

    Why so plain: round 2 laid the grid where the frames lay as a whole and took the slowest rate within half a
    slot, which gave jittery clips odd rates (760/151 for 5 fps) from seed to seed and shifted the picture against
    the sound by up to half a slot."""
    average = Fraction(vin.average_rate or vin.guessed_rate or Fraction(25))
    grid = vin.guessed_rate
    finer = grid and average / _SAME_RATE <= grid <= _MAX_SLOT_RATE and grid != 2 * average
    guess = _storable(Fraction(grid) if finer else average)
    times = _frame_times(vin)
    if len(times) < 2:
        return guess
    seconds = np.array([float(t) for t in times])
    measured = _measured_rate(times) or guess
    for rate in _candidate_rates(guess, average, measured):
        if _fits(seconds, rate, _GRID_SLACK):
            return _usual_twin(seconds, rate)
    if _fits(seconds, guess, Fraction(1, 2)):
        return guess
    return _storable(max(guess, Fraction(math.ceil(measured)), Fraction(_MAX_SLOT_RATE)))


#: The highest frame rate AVI output takes to keep variable-rate timing, unless the clip's own is higher (a grid
#: finer than this is a guess from jittery timestamps, and would fill the index with empty entries).
_MAX_SLOT_RATE = 120
#: Frame rates cameras, recorders and editors use, tried as grids for AVI output (:func:`_candidate_rates`), each
#: whole rate before its 1000/1001 twin (a short 30 fps clip lies on 30000/1001 too); the low ones are security
#: recorders'.
_USUAL_RATES = tuple(
    Fraction(r)
    for r in (
        "1", "2", "3", "4", "5", "6", "7", "15/2", "8", "9", "10", "11", "12", "25/2", "13", "14", "15", "15000/1001",
        "24", "24000/1001", "25", "30", "30000/1001", "48", "48000/1001", "50", "60", "60000/1001", "72", "90", "100",
        "120",
    )
)  # fmt: skip
#: How many video packets :func:`_frame_times` reads at most: a few minutes of video tell the grid, and a
#: two-hour recording is not read through twice.
_SCAN_PACKETS = 5000
#: How far from its slot a frame may lie on a grid that fits (:func:`_fits`), in slots: recorders' timestamps
#: jitter by a few milliseconds; beyond a quarter, the frame lies between slots.
_GRID_SLACK = Fraction(1, 4)
#: Rates closer than this ratio are one rate told two ways: 19001/317 and 60000/1001 (:func:`_usual_twin`), a
#: jittery clip's average and its rate (5.05 for a 5 fps DVR whose frames end early: a candidate may lie this far
#: below the average, :func:`_candidate_rates`). No two usual rates but 1000/1001 twins are as close.
_SAME_RATE = Fraction(102, 100)
#: The largest time-base denominator MPEG-4 Part 2 (AVI's default encoder) takes: its header stores it in 16 bits.
_MAX_TIME_BASE = 65535


def _candidate_rates(guess: Fraction, average: Fraction, measured: Fraction) -> list[Fraction]:
    """The rates :func:`_slot_rate` tries, in this order of preference: FFmpeg's ``guess``, the usual rates
    (:data:`_USUAL_RATES`, from the slowest up), the stream's ``average``, the ``measured`` average (frames a second
    between the first and last read: the stream's may be wrong, a 5 fps DVR clip in a Matroska file that says 25),
    and whole multiples of the guess up to :data:`_MAX_SLOT_RATE`; each but the guess no slower than the lower
    average (less :data:`_SAME_RATE`), the usual ones and the multiples no faster than
    :data:`_MAX_SLOT_RATE`. A rate MPEG-4 Part 2 cannot store (a phone's average of 750000/25117) is tried as the
    nearest it can (:func:`_storable`)."""
    low = min(average, measured) / _SAME_RATE
    usual = [r for r in _USUAL_RATES if low <= r <= _MAX_SLOT_RATE]
    multiples = [guess * k for k in range(2, int(_MAX_SLOT_RATE / guess) + 1)] if guess else []
    rates = [guess, *usual, *(r for r in (average, measured) if r >= low), *multiples]
    return list(dict.fromkeys(_storable(r) for r in rates))


def _usual_twin(seconds: np.ndarray, rate: Fraction) -> Fraction:
    """``rate``, or where it is none of :data:`_USUAL_RATES`, the usual rate nearest it (within :data:`_SAME_RATE`)
    on which the frames at ``seconds`` lie as well (:func:`_fits`). Why: a Matroska file stores 59.94 fps to the
    millisecond, and FFmpeg's guess from it is 19001/317, which the frames fit as well as 60000/1001."""
    if rate in _USUAL_RATES:
        return rate
    near = [r for r in _USUAL_RATES if rate / _SAME_RATE <= r <= rate * _SAME_RATE and _fits(seconds, r, _GRID_SLACK)]
    return min(near, key=lambda r: abs(r - rate), default=rate)


def _storable(rate: Fraction) -> Fraction:
    """``rate``, or the nearest rate whose time base (1/rate) has a denominator MPEG-4 Part 2 can store
    (:data:`_MAX_TIME_BASE`). Why: ``avcodec_open2('mpeg4') returned 22`` for a phone clip averaging 750000/25117 fps;
    the nearest (16453/551) is 0.0000001 fps away, a slot's drift in three days."""
    if rate.numerator <= _MAX_TIME_BASE:
        return rate
    return 1 / (1 / rate).limit_denominator(_MAX_TIME_BASE)


def _fits(seconds: np.ndarray, rate: Fraction, slack: Fraction) -> bool:
    """Whether frame times ``seconds`` (from the first frame) lie on a grid at ``rate`` that starts at the first
    frame, as AVI output places them (:meth:`.transcoder._Transcoder._slot`): each frame within ``slack`` slots of
    the slot nearest its time, no two frames in one slot (the second would be pushed to the next, and every frame
    after it with it)."""
    exact = seconds * float(rate)
    slots = np.round(exact)
    return bool(np.all(np.abs(exact - slots) <= float(slack) + 1e-9) and np.all(np.diff(slots) >= 1))


def _frame_times(vin: Any) -> list[Fraction]:
    """The input video's frame times (each once, in order), in seconds from the first, from the first
    :data:`_SCAN_PACKETS`; empty where they cannot be read.

    From the container's index where it holds every frame and the stream has no B-frames (MP4, MOV, AVI: read when
    the file was opened), else from the packets' presentation times, read from the file opened again (the output's
    rate must be set before any frame is decoded, and the run's own reading must start at the start; Matroska's
    index holds only keyframes). Why not the index with B-frames: its times are decode times, which an irregular
    clip's reordered frames do not share. A read that fails partway keeps the times read before it."""
    base = vin.time_base
    if not base:
        return []
    stamps = _indexed_stamps(vin)
    if stamps is None:
        stamps = _demuxed_stamps(vin)
    ordered = sorted(set(stamps))
    return [(t - ordered[0]) * Fraction(base) for t in ordered] if ordered else []


def _indexed_stamps(vin: Any) -> list[int] | None:
    """The frame times in the container's index (ticks of the stream's time base), None where they may not be every
    frame's presentation time: only a stream without B-frames (the index holds decode times), and only MP4 and MOV
    (whose index is every sample: checked against the frame count, which a fragmented MP4 does not give) and AVI
    (whose index is every chunk)."""
    formats = set(str(getattr(getattr(vin.container, "format", None), "name", "") or "").split(","))
    if not formats & {"mov", "avi"} or getattr(getattr(vin, "codec_context", None), "has_b_frames", True):
        return None
    try:
        entries = vin.index_entries
        if "mov" in formats and (not vin.frames or len(entries) != vin.frames):
            return None
        stamps = [e.timestamp for e in entries[:_SCAN_PACKETS] if e.size]
    except (AttributeError, TypeError, ValueError):  # a PyAV without index_entries: read the packets
        return None
    return stamps if len(stamps) > 1 else None


def _demuxed_stamps(vin: Any) -> list[int]:
    """The video's packet times (ticks of its time base) from the first :data:`_SCAN_PACKETS` packets of the file
    opened again; those read before a read that fails."""
    av = _av()
    name = getattr(vin.container, "name", None)
    stamps: list[int] = []
    if not name:
        return stamps
    try:
        with av.open(str(name), "r") as probe:
            stream = probe.streams[vin.index]
            for count, packet in enumerate(probe.demux(stream)):
                if count >= _SCAN_PACKETS:
                    break
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is not None and packet.size:
                    stamps.append(stamp)
    except (av.error.FFmpegError, OSError, ValueError, IndexError):  # a damaged tail: the grid from what was read
        pass
    return stamps


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


def _keep_aspect(vout: Any, vin: Any, turn: int, carries: _Carries, encoder: str, notes: list[str]) -> None:
    """Keep non-square pixels (anamorphic SD, 12:11 PAL, DV): without the tag the clip shows stretched.
    Frames turned a quarter (``turn``) swap a pixel's width and height."""
    sar = vin.codec_context.sample_aspect_ratio
    if not sar or sar == 1:
        return
    if turn % 180:
        sar = 1 / sar
    vout.codec_context.sample_aspect_ratio = sar
    if not carries.aspect:
        notes.append(f"pixel aspect ratio {sar.numerator}:{sar.denominator} cannot be stored by {encoder}; "
                     "the clip will show stretched")  # fmt: skip


#: AVCodecDescriptor's property bits: every frame a keyframe, lossy compression, lossless compression.
_INTRA_ONLY, _LOSSY, _LOSSLESS = 1, 2, 4
#: Intra-frame mezzanine codecs an editor masters in, by FFmpeg's name, and how a note names them. Other
#: intra-only lossy codecs (MJPEG from dashcams and old cameras) are camera originals, not masters: left out.
_MASTER_NAMES = {
    "prores": "ProRes", "dnxhd": "DNxHD", "cfhd": "CineForm", "ffv1": "FFV1", "huffyuv": "HuffYUV",
    "ffvhuff": "HuffYUV", "utvideo": "Ut Video", "magicyuv": "MagicYUV", "rawvideo": "uncompressed",
    "v210": "uncompressed 10-bit (v210)", "v410": "uncompressed (v410)", "r210": "uncompressed (r210)",
}  # fmt: skip
#: FFmpeg's ProRes profile names as Apple names them.
_PRORES_PROFILES = {"Proxy": "422 Proxy", "LT": "422 LT", "Standard": "422", "HQ": "422 HQ"}
#: How the refusal names the codec a master would be re-encoded as.
_CODEC_NAMES = {"hevc": "HEVC", "h264": "H.264", "vp9": "VP9", "mpeg4": "MPEG-4 Part 2", "wmv2": "WMV8",
                "prores": "ProRes", "dnxhd": "DNxHD/DNxHR"}  # fmt: skip


def _master(ctx: Any) -> str | None:
    """How a refusal names the intra-frame or lossless master ``ctx`` decodes ("ProRes 422", "DNxHR HQX",
    "FFV1 lossless"), or None for a delivery codec (H.264, HEVC, VP9, MJPEG...)."""
    family = _codec_family(ctx.codec)
    props = int(getattr(ctx.codec, "properties", 0) or 0)
    lossless = bool(props & _LOSSLESS) and not props & _LOSSY
    if family not in _MASTER_NAMES and not lossless:
        return None
    name = _MASTER_NAMES.get(family, family)
    profile = str(ctx.profile or "")
    if family == "prores" and profile:
        name = f"ProRes {_PRORES_PROFILES.get(profile, profile)}"
    elif family == "dnxhd" and profile.upper().startswith("DNXHR"):
        name = "DNxHR" + profile[5:]
    return f"{name} lossless" if lossless and family in ("ffv1", "huffyuv", "ffvhuff", "utvideo", "magicyuv") else name


def in_place_loss(vin: Any, fmt: str, opts: VideoOptions) -> str | None:
    """What writing ``vin``'s clip over its own file (``--in-place``) into container ``fmt`` would lose, or None.

    Why: beside the original a note is enough, but in place an editor's master is gone for good. Refused: an alpha
    channel (frames reach the model as RGB, so no output keeps a matte); an intra-frame or lossless master (ProRes,
    DNxHD/DNxHR, FFV1, HuffYUV, uncompressed...) re-encoded by another codec family, lossy and long-GOP; chroma
    written thinner than it was read (4:2:2 as 4:2:0 by VP9 or MPEG-4 Part 2; H.264 and HEVC keep it in place);
    and fewer bits than were read (12-bit video at 10, 10-bit at 8 into FLV or by an encoder without 10 bits).
    Decided as :func:`_add_video_stream` decides, before any work. A second camera's video stream is the
    caller's to check (:func:`~.process.in_place_refusal`): this judges one stream.

    A ProRes master re-encoded as ProRes is not held to its depth: FFmpeg decodes every ProRes 4444 at 12 bits,
    whatever depth it was made from (the stream does not say), and its ProRes encoders write 10 bits at most, so
    the same-family re-encode that keeps such a master (``--codec prores_ks``) would always be refused.
    """
    ctx = vin.codec_context
    in_fmt = str(ctx.pix_fmt or "")
    codec, eight_bit_why = _choose_codec(fmt, opts, ctx.width, _high_bit_depth(in_fmt))
    if _has_alpha(in_fmt):
        return "its alpha channel (matte; the output codec keeps no transparency)"
    master = _master(ctx)
    try:
        out_family = _codec_family(_av().Codec(codec, "w"))
    except (ValueError, TypeError):  # no such encoder: the run says so
        out_family = codec
    if master and out_family != _codec_family(ctx.codec):
        return f"its {master} master (re-encoded as {_CODEC_NAMES.get(out_family, codec)})"
    chroma = _chroma_of(in_fmt)
    decoder = _codec_family(ctx.codec)
    pix_fmt = _format_choice(codec, in_fmt, ctx.width, ctx.height, eight_bit_why, decoder, keep_chroma=True)[2]
    written = _chroma_of(pix_fmt) or "4:2:0"
    camera_jpeg = decoder in _JPEG_CHROMA_DECODERS  # a dash cam's or webcam's 4:2:2 MJPEG: an original, not a master
    if not camera_jpeg and chroma in _CHROMA_RANK and _CHROMA_RANK[chroma] > _CHROMA_RANK[written]:
        return f"its {chroma} chroma (written as {written} by {codec})"
    bits, out_bits = _bits(in_fmt), _bits(pix_fmt)
    if out_bits < bits and decoder != "prores":  # FFmpeg decodes all ProRes 4444 at 12 bits: see the docstring
        why = f"; {eight_bit_why}" if eight_bit_why else ""
        return f"its {bits}-bit depth (written at {out_bits} bits by {codec}{why})"
    return None
