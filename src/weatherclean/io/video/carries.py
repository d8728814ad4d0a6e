"""What an encoder in a container keeps of the picture's tags (full range, pixel aspect, colour tags), the
matrix to encode with where it keeps none (:func:`_untagged_matrix`), and the note that names the colour tags
an output loses (:func:`_say_lost_colour`).

:func:`_carries` finds out by writing two small frames into memory and reading them back, once per codec
and container: a table would go stale. It encodes with the encoder's own settings (:mod:`.encoder`),
which is why it stands apart from :mod:`.colour`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from weatherclean.io.video.colour import (
    _MATRIX,
    _UNTAGGED_MATRIX,
    _Colour,
    _colour_name,
    _colour_tags,
    _players_assume_hd,
    _set_colour_tags,
)
from weatherclean.io.video.encoder import VideoOptions, _configure, encoder_format
from weatherclean.io.video.pyav import _av, _round_trip


@dataclass(frozen=True)
class _Carries:
    """Which picture tags an encoder and container keep, as a player reading the file back sees them."""

    full_range: bool
    aspect: bool
    #: Which colour tags read back ("primaries", "transfer", "matrix"): MPEG-4 Part 2 in AVI keeps none.
    colour: frozenset[str] = frozenset()


#: The colour tags the probe writes (BT.2020 primaries, BT.2020 10-bit transfer, BT.2020 matrix): none is
#: anyone's default, so a tag read back was stored, not assumed.
_PROBE_COLOUR = {"primaries": 9, "transfer": 14, "matrix": 9}


#: The side of the probe's frames: small, but above every encoder's minimum (hardware encoders refuse 16).
_PROBE_SIDE = 256


@functools.cache
def _carries(fmt: str, codec: str) -> _Carries:
    """Write two small frames tagged full range, BT.2020 and 12:11 pixels into memory and read the tags back.

    Where a tag lives differs by codec and container (H.264's VUI in any container, Matroska's Colour
    element for any codec, nothing at all for MPEG-4 Part 2 in AVI or MP4, nor pixel shape for VP9 in
    WebM), so asking FFmpeg beats a table that goes stale. An untagged full-range output is shown with
    crushed blacks and blown whites, so what cannot be tagged is converted instead (see :class:`_Colour`).
    """
    av = _av()

    def write(probe: Any) -> None:
        stream = probe.add_stream(codec, rate=25)
        pix_fmt = encoder_format(codec, "yuv420p")  # one it takes: ProRes and DNxHR refuse 4:2:0, and tags went unseen
        stream.width, stream.height, stream.pix_fmt = _PROBE_SIDE, _PROBE_SIDE, pix_fmt
        stream.codec_context.color_range = 2
        stream.codec_context.sample_aspect_ratio = Fraction(12, 11)
        _set_colour_tags(stream.codec_context, _PROBE_COLOUR)
        _configure(stream, codec, VideoOptions(), fmt)
        for i in range(4):  # x265 gives a 2-frame stream a garbage dts, which MP4 and MOV refuse (0 of 15 probes)
            frame = av.VideoFrame(_PROBE_SIDE, _PROBE_SIDE, pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            probe.mux(stream.encode(frame))
        probe.mux(stream.encode(None))

    def read(back: Any) -> _Carries:
        ctx = back.streams.video[0].codec_context
        if ctx is None:  # read back with no decoder (DNxHR in MPEG-PS): nothing kept; the encoder check refuses it
            return _Carries(False, False)
        colour = frozenset(k for k, v in _colour_tags(ctx).items() if v == _PROBE_COLOUR[k])
        return _Carries(int(ctx.color_range or 0) == 2, ctx.sample_aspect_ratio == Fraction(12, 11), colour)

    return _round_trip(fmt, write, read, _Carries(False, False))  # refused: the real encoder says why itself


#: What players take untagged video for (FFmpeg's codes), by whether they take it for HD (:func:`_players_assume_hd`,
#: mpv's rule: 1280 wide or more than 576 lines): BT.709's matrix for HD, BT.601's (625 or 525 lines) below (VLC and
#: Kodi draw the line elsewhere between the standard sizes, where they agree); the BT.709 transfer curve, which
#: BT.601's and BT.2020's are. A tag among these is lost harmlessly where the output cannot store it. BT.709
#: primaries in SD too: they are BT.601 625-line's but for green's x (0.30 for 0.29), what mpv assumes at SD sizes
#: other than 480 and 576 lines, and what players without colour management (most) show any SDR clip in.
_UNTAGGED = {
    True: {"primaries": frozenset({1}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({1})},
    False: {"primaries": frozenset({1, 5, 6}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({5, 6})},
}


def _untagged_matrix(colour: _Colour, width: int, height: int, carries: _Carries) -> _Colour:
    """``colour`` to encode with where the output cannot store the matrix tag (MPEG-4 Part 2 in AVI): the matrix
    players decode untagged video of ``width`` × ``height`` with (:data:`_UNTAGGED`), where the clip's is another.

    The frames are RGB by then, so the matrix is free to choose: a BT.709 SD clip written with its own matrix
    and no tag was decoded as BT.601, colours off by up to 28 levels. As full range is converted to limited
    where it cannot be marked. Primaries and transfer are not a matrix's to convert (:func:`_say_lost_colour`)."""
    hd = _players_assume_hd(width, height)
    if "matrix" in carries.colour or colour.tag_space in _UNTAGGED[hd]["matrix"]:
        return colour
    space = _UNTAGGED_MATRIX[hd][0]
    return replace(colour, matrix=_MATRIX[space], tag_space=space)


def _say_lost_colour(
    clip: _Colour, written: _Colour, size: tuple[int, int], carries: _Carries, encoder: str, notes: list[str]
) -> None:
    """Name the clip's colour tags the output cannot store (MPEG-4 Part 2 in AVI stores none) where they are not
    what players take untagged video for, and what was done: a matrix converted to the one players assume
    (:func:`_untagged_matrix`) keeps the colours; BT.2020 primaries or an HDR transfer cannot be converted so,
    and the clip shows off-colour. ``size``: the output's width and height, as players size it."""
    hd = _players_assume_hd(*size)
    assumed = _UNTAGGED[hd]
    lost = {kind: f"{kind} {_colour_name(kind, code)}" for kind, code in clip.tags().items()
            if code != 2 and code not in assumed[kind] and kind not in carries.colour}  # fmt: skip
    if not lost:
        return
    said = f"colour tags ({', '.join(lost.values())}) cannot be stored by {encoder}"
    uncorrected = [name for kind, name in lost.items() if kind != "matrix"]
    if written.tag_space == clip.tag_space:
        notes.append(f"{said}; the clip will show off-colour")
        return
    matrix, kind = _UNTAGGED_MATRIX[hd][1], "HD" if hd else "SD"
    converted = f"encoded with the {matrix} matrix players assume for untagged {kind} video"
    if uncorrected:
        notes.append(f"{said}; {converted}, but the clip will show off-colour ({', '.join(uncorrected)} not converted)")
    else:
        notes.append(f"{said}; {converted}, so its colours are kept")
