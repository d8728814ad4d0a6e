"""Text subtitles the output container cannot hold as they are, converted to the text format it can:
SRT or ASS from Matroska into MP4, MOV and 3GP as ``mov_text``, into WebM as WebVTT, and ``mov_text``
from an MP4 into Matroska as SRT. Copying packet for packet (:mod:`.side_streams`) stays the first
choice; this is what comes before dropping them with a note. Bitmap subtitles (DVD, Blu-ray) are still
dropped, and so are subtitles into containers without a text format (AVI, FLV, MPEG-TS, MPEG-PS).

Each cue is decoded to its ASS event and encoded again at the input packet's time, for its duration.
``mov_text`` stores only how long each sample lasts, one after the other, so cues shown at the same time
(a sign over dialogue, two speakers) cannot overlap there: for it the cues are cut into pieces that do
not overlap, each with the text of every cue shown then (:class:`_Pieces`). A cue that cannot be read or
encoded is left out and counted, never failing the video (:meth:`_Converted.notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from weatherclean.io.video.pyav import _av, _header_accepted

#: Text subtitle codecs, as FFmpeg's decoders name them, that convert through their ASS events.
_TEXT = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})
#: Codecs whose styling (fonts, colours, positions) a conversion may simplify: ASS styles do not map
#: one to one onto ``mov_text``'s or WebVTT's.
_STYLED = frozenset({"ass", "ssa"})
#: The text subtitle encoder for each output container (FFmpeg's muxer names).
_ENCODER = {"mp4": "mov_text", "mov": "mov_text", "3gp": "mov_text", "webm": "webvtt", "matroska": "subrip"}
#: Encoders whose samples follow one another, so cues must not overlap (:class:`_Pieces`).
_SEQUENTIAL = frozenset({"mov_text"})
#: How notes name the formats.
_SHOWN = {"subrip": "SRT", "srt": "SRT", "ass": "ASS", "ssa": "SSA", "webvtt": "WebVTT", "text": "text"}
_CONTAINER = {"matroska": "mkv"}
#: The ASS header an encoder opens with when the input's decoder has none: one default style.
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
    """One subtitle stream being converted: the input stream (its decoder), the output stream, the cues
    waiting to be cut (``mov_text`` only) and the cues left out, with the first reason."""

    source: Any
    stream: Any
    label: str
    pieces: _Pieces | None = None
    unreadable: int = 0
    unencodable: int = 0
    why: str = ""

    def cue(self, packet: Any) -> list[Any]:
        """The output packets for one input packet (none while :attr:`pieces` waits for later cues)."""
        event = self._read(packet)
        if event is None:
            return []
        start, duration, text = event
        pieces = [(start, duration, text)] if self.pieces is None else self.pieces.add(start, duration, text)
        return [cue for s, d, t in pieces for cue in self._encode(s, d, t, packet.time_base)]

    def flush(self) -> list[Any]:
        """The cues still waiting, once every packet has been read."""
        if self.pieces is None:
            return []
        tb = self.pieces.time_base
        return [p for s, d, t in self.pieces.flush() for p in self._encode(s, d, t, tb)]

    def notes(self) -> list[str]:
        """What was left out, for the clip's notes."""
        lost = []
        if self.unreadable:
            lost.append(f"{self.unreadable} that could not be read")
        if self.unencodable:
            lost.append(f"{self.unencodable} that could not be written ({self.why})")
        return [f"{self.label}: {' and '.join(lost)} left out"] if lost else []

    def _read(self, packet: Any) -> tuple[int, int, bytes] | None:
        """(start, duration in the packet's time base, ASS event) of one input packet; None for an empty one
        (the gaps ``mov_text`` writes between cues) and one that does not decode (counted)."""
        av = _av()
        if packet.pts is None or not packet.size:
            return None
        try:
            decoded = self.source.codec_context.decode2(packet)
        except (av.error.FFmpegError, ValueError, UnicodeError):
            self.unreadable += 1
            return None
        events = [rect.ass for rect in decoded or () if getattr(rect, "ass", None)]
        if not events:
            if decoded is None and packet.size > 2:  # mov_text's empty sample is 2 bytes: not a lost cue
                self.unreadable += 1
            return None
        if self.pieces is not None and self.pieces.time_base is None:
            self.pieces.time_base = packet.time_base
        return int(packet.pts), int(packet.duration or 0), _joined(events)

    def _encode(self, start: int, duration: int, event: bytes, time_base: Fraction | None) -> list[Any]:
        """One cue as an output packet at ``start`` for ``duration``; none, counted, where the encoder refuses
        it (``mov_text`` takes at most 64 KB of text)."""
        av = _av()
        millis = round(duration * time_base * 1000) if time_base else 0
        subtitle = av.subtitles.subtitle.SubtitleSet.create(event, 0, millis, 0)
        try:
            cue = self.stream.codec_context.encode_subtitle(subtitle)
        except (av.error.FFmpegError, ValueError, OverflowError) as exc:
            self.unencodable += 1
            self.why = self.why or str(getattr(exc, "strerror", None) or exc)
            return []
        cue.stream = self.stream
        cue.pts = cue.dts = start
        cue.duration = duration
        cue.time_base = time_base
        return [cue]


def _is_cue_end(packet: Any) -> bool:
    """Whether a ``mov_text`` sample shows no text (its 16-bit text length is 0): the end of the cue before it."""
    return packet.size < 2 or bytes(packet)[:2] == b"\x00\x00"


def _drops_cue_ends(s: Any, fmt: str) -> bool:
    """Whether subtitle stream ``s``, copied into ``fmt``, goes without its empty samples (:func:`_is_cue_end`):
    ``mov_text`` into the QuickTime family (MP4, MOV, 3GP).

    ``mov_text`` stores a cue's end as an empty sample, and the QuickTime muxer writes one itself wherever a cue
    ends before the next begins. Copying the input's as well made two at each such end, so a drone's telemetry
    track grew at every pass (19, 28, 37 samples for 10 cues, the cues unchanged); left to the muxer, a second pass
    writes what the first did. The cues themselves go as copies do (:meth:`.transcoder._Transcoder._mux_copy`),
    byte for byte, through the clock that moves them with the video where recordings were joined."""
    return s.type == "subtitle" and s.codec_context.name == "mov_text" and _ENCODER.get(fmt) == "mov_text"


@dataclass
class _Pieces:
    """Cues cut where any cue starts or ends, so that no two overlap, each piece with the text of every
    cue shown then, in the order they started. Cues come in the order they start, so everything before a
    new cue's start is final when it comes: only the cues still showing wait. A cue without a duration is
    passed on as it is."""

    time_base: Fraction | None = None
    showing: list[tuple[int, int, bytes]] = field(default_factory=list)  # (start, end, event)

    def add(self, start: int, duration: int, event: bytes) -> list[tuple[int, int, bytes]]:
        ready = self._until(start)
        if duration <= 0:
            return [*ready, (start, duration, event)]
        self.showing.append((start, start + duration, event))
        return ready

    def flush(self) -> list[tuple[int, int, bytes]]:
        return self._until(None)

    def _until(self, limit: int | None) -> list[tuple[int, int, bytes]]:
        """The pieces before ``limit`` (all of them for None) as (start, duration, event); the cues still
        showing at ``limit`` are kept from there."""
        cuts = sorted({t for s, e, _ in self.showing for t in (s, e)})
        if limit is not None:
            cuts = sorted({t for t in cuts if t < limit} | ({limit} if cuts and cuts[0] < limit else set()))
        pieces = []
        for a, b in zip(cuts, cuts[1:], strict=False):
            shown = [ev for s, e, ev in self.showing if s <= a and e >= b]
            if shown:
                pieces.append((a, b - a, _joined(shown)))
        if limit is None:
            self.showing = []
        else:
            self.showing = [(max(s, limit), e, ev) for s, e, ev in self.showing if e > limit]
        return pieces


def _add_subtitle_encoder(out: Any, s: Any, fmt: str, notes: list[str]) -> _Converted | None:
    """An output stream converting text subtitle stream ``s`` for ``fmt``, with a note; None where ``fmt``
    holds no text format (AVI, FLV, MPEG-TS) or ``s`` is not text (a bitmap DVD track)."""
    name = s.codec_context.name
    encoder = _ENCODER.get(fmt)
    if name not in _TEXT or encoder is None:
        return None
    header = _open_decoder(s)
    if header is None or not _header_accepted(fmt, lambda probe: _text_stream(probe, encoder, header)):
        return None
    stream = _text_stream(out, encoder, header)
    stream.time_base = stream.codec_context.time_base = s.time_base or Fraction(1, 1000)
    language = (s.metadata or {}).get("language")
    label = f"{_SHOWN.get(name, name)} subtitles{f' ({language})' if language else ''}"
    styling = ", their styling simplified" if name in _STYLED else ""
    shown_encoder = _SHOWN.get(encoder, encoder)
    notes.append(f"{label} cannot be stored in {_CONTAINER.get(fmt, fmt)}; converted to {shown_encoder}{styling}")
    return _Converted(s, stream, label, _Pieces() if encoder in _SEQUENTIAL else None)


def _text_stream(container: Any, encoder: str, header: bytes) -> Any:
    """A stream of ``encoder`` in ``container``, opened with the ASS ``header`` (the styles it knows)."""
    stream = container.add_stream(encoder)
    stream.codec_context.subtitle_header = header
    return stream


def _open_decoder(s: Any) -> bytes | None:
    """Open ``s``'s decoder (the conversion decodes every cue with it) and return its ASS header (SRT gets
    FFmpeg's default style, ASS its own styles); None where it does not open (a damaged or unknown track:
    dropped with a note, as before)."""
    av = _av()
    ctx = s.codec_context
    try:
        if not ctx.is_open:
            ctx.open()
    except (av.error.FFmpegError, ValueError):
        return None
    return ctx.subtitle_header or _DEFAULT_HEADER


def _joined(events: list[bytes]) -> bytes:
    """One ASS event from several shown at once (two speakers, a sign over dialogue): the first's fields,
    every text on its own line (``\\N``). An event is ``ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,
    Effect,Text``."""
    if len(events) == 1:
        return events[0]
    head = events[0].split(b",", 8)
    texts = [e.split(b",", 8)[-1] for e in events]
    return b",".join([*head[:8], b"\\N".join(texts)])
