"""Text subtitles the output container cannot hold as they are, converted to the text format it can:
SRT or ASS from Matroska into MP4 and MOV as ``mov_text``, into WebM as WebVTT, and ``mov_text`` from an
MP4 into Matroska as SRT. Copying packet for packet (:mod:`.side_streams`) stays the first choice; this
is what comes before dropping them with a note. Bitmap subtitles (DVD, Blu-ray) are still dropped.

Each cue is decoded to its ASS event and encoded again with the same start and duration, taken from
the input packet, so the cues keep their times exactly as copied subtitles do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from weatherclean.io.video.pyav import _av

#: Text subtitle codecs, as FFmpeg's decoders name them, that convert through their ASS events.
_TEXT = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})
#: Codecs whose styling (fonts, colours, positions) a conversion may simplify: ASS styles do not map
#: one to one onto ``mov_text``'s or WebVTT's.
_STYLED = frozenset({"ass", "ssa"})
#: The text subtitle encoder for each output container (FFmpeg's muxer names).
_ENCODER = {"mp4": "mov_text", "mov": "mov_text", "3gp": "mov_text", "webm": "webvtt", "matroska": "subrip"}
#: The ASS header an encoder opens with when the input's decoder has none (plain SRT): one default style.
_DEFAULT_HEADER = (
    b"[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n[V4+ Styles]\r\n"
    b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    b"Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    b"MarginR, MarginV, Encoding\r\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n\r\n"
    b"[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n"
)


@dataclass
class _Converted:
    """One subtitle stream being converted: the input stream (its decoder) and the output stream."""

    source: Any
    stream: Any


def _add_subtitle_encoder(out: Any, s: Any, fmt: str, notes: list[str]) -> _Converted | None:
    """An output stream converting text subtitle stream ``s`` for ``fmt``, with a note; None where there is
    no text format ``fmt`` holds (AVI, FLV, MPEG-TS) or ``s`` is not text (a bitmap DVD track)."""
    name = s.codec_context.name
    encoder = _ENCODER.get(fmt)
    if name not in _TEXT or encoder is None:
        return None
    header = _header(s)
    if header is None or not _muxer_takes(fmt, encoder, header):
        return None
    stream = out.add_stream(encoder)
    stream.codec_context.subtitle_header = header  # the encoder opens with the header: the styles it knows
    stream.time_base = stream.codec_context.time_base = s.time_base or Fraction(1, 1000)
    styling = ", its styling simplified" if name in _STYLED else ""
    notes.append(f"{name} subtitles cannot be stored in {fmt}; converted to {encoder}{styling}")
    return _Converted(s, stream)


def _header(s: Any) -> bytes | None:
    """The ASS header of ``s``'s decoder (SRT gets FFmpeg's default style, ASS its own styles), which it
    has once open; None where the decoder does not open (a damaged or unknown track: dropped as before)."""
    av = _av()
    ctx = s.codec_context
    try:
        if not ctx.is_open:
            ctx.open()
    except (av.error.FFmpegError, ValueError):
        return None
    return ctx.subtitle_header or _DEFAULT_HEADER


def _muxer_takes(fmt: str, encoder: str, header: bytes) -> bool:
    """Whether container ``fmt`` takes a stream of ``encoder`` opened with ``header``: written into memory."""
    av = _av()
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as probe:
            probe.add_stream(encoder).codec_context.subtitle_header = header
            probe.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


def _cues(converted: _Converted, packet: Any) -> list[Any]:
    """The output packets for one input subtitle packet: its events in one cue, at the packet's time and
    for its duration; none for an empty packet (the gaps ``mov_text`` writes between cues) or one that
    does not decode."""
    av = _av()
    try:
        decoded = converted.source.codec_context.decode2(packet)
    except (av.error.FFmpegError, ValueError):
        return []
    events = [rect.ass for rect in decoded or () if getattr(rect, "ass", None)]
    if not events or packet.pts is None:
        return []
    ctx = converted.stream.codec_context
    duration = packet.duration or 0
    millis = round(duration * packet.time_base * 1000) if packet.time_base else 0
    cue = ctx.encode_subtitle(av.subtitles.subtitle.SubtitleSet.create(_joined(events), 0, millis, 0))
    cue.stream = converted.stream
    cue.pts = cue.dts = packet.pts
    cue.duration = duration
    cue.time_base = packet.time_base
    return [cue]


def _joined(events: list[bytes]) -> bytes:
    """One ASS event from several shown at once (two speakers): the first's fields, every text on its own
    line (``\\N``). An event is ``ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text``."""
    if len(events) == 1:
        return events[0]
    head = events[0].split(b",", 8)
    texts = [e.split(b",", 8)[-1] for e in events]
    return b",".join([*head[:8], b"\\N".join(texts)])
