"""PyAV, imported on first use (:func:`_av`), never at the top of a module.

Runs that touch no video import this package too: a photo batch asks it which files are videos and
what a partial output is named. Loading FFmpeg's libraries is left to the first call that opens a video.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeVar

T = TypeVar("T")


def _av() -> Any:
    import av

    return av


def _codec_family(codec: Any) -> str:
    """FFmpeg's codec name of an encoder or decoder, whichever implementation it is (``prores_ks`` and ``prores_aw``
    are both ``prores``; the ``mp3float`` decoder is ``mp3``)."""
    return str(getattr(codec, "canonical_name", None) or codec.name)


def _round_trip(fmt: str, write: Callable[[Any], None], read: Callable[[Any], T], refused: T) -> T:
    """Write a tiny file of container ``fmt`` into memory (``write`` fills the open container), open it again
    and return what ``read`` finds in it; ``refused`` when FFmpeg refuses either side. This is how the probes
    ask FFmpeg what a container keeps (colour tags, a timecode, a language, a data track), rather than tables
    that go stale."""
    av = _av()
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as out:
            write(out)
        buf.seek(0)
        with av.open(buf, "r", format=fmt) as back:  # format given: a tiny MPEG-TS is not always told by content
            return read(back)
    except (av.error.FFmpegError, ValueError, NotImplementedError, StopIteration, IndexError):
        return refused


def _header_accepted(fmt: str, add: Callable[[Any], Any]) -> bool:
    """Whether container ``fmt`` takes the stream ``add`` puts into it: a header written into memory. Enough
    where the muxer refuses at the header; where it takes a header and then writes what no reader reads
    back (a subtitle track in MPEG-TS), :func:`_round_trip` asks more."""
    av = _av()
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as probe:
            add(probe)
            probe.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


def _mux_one_packet(container: Any, stream: Any, rate: int) -> None:
    """Mux one packet of 16 zero bytes at time 0 into ``stream``, with a time base of 1/``rate``."""
    packet = _av().Packet(bytes(16))
    packet.stream, packet.pts, packet.dts, packet.time_base = stream, 0, 0, Fraction(1, rate)
    container.mux(packet)
