"""What an encoder in a container keeps of the picture's tags (full range, pixel aspect, colour tags),
and the note that names the colour tags an output loses (:func:`_say_lost_colour`).

:func:`_carries` finds out by writing two small frames into memory and reading them back, once per codec
and container: a table would go stale. It encodes with the encoder's own settings (:mod:`.encoder`),
which is why it stands apart from :mod:`.colour`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from weatherclean.io.video.colour import _Colour, _colour_name, _colour_tags, _set_colour_tags
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


#: What players take untagged video for (FFmpeg's codes), by whether it is HD (720 lines or more): BT.709
#: primaries and matrix for HD, BT.601's (625 or 525 lines) below; the BT.709 transfer curve, which BT.601's
#: and BT.2020's are. A tag among these is lost harmlessly where the output cannot store it.
_UNTAGGED = {
    True: {"primaries": frozenset({1}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({1})},
    False: {"primaries": frozenset({5, 6}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({5, 6})},
}


def _say_lost_colour(colour: _Colour, height: int, carries: _Carries, encoder: str, notes: list[str]) -> None:
    """Name the colour tags the output cannot store (MPEG-4 Part 2 in AVI stores none) where they are not
    what players take untagged video for: BT.2020 or BT.709 colours in SD then show off-colour."""
    assumed = _UNTAGGED[height >= 720]
    lost = [f"{kind} {_colour_name(kind, code)}" for kind, code in colour.tags().items()
            if code != 2 and code not in assumed[kind] and kind not in carries.colour]  # fmt: skip
    if lost:
        notes.append(f"colour tags ({', '.join(lost)}) cannot be stored by {encoder}; the clip will show off-colour")
