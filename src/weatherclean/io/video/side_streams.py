"""Every input stream but the video: audio, subtitles and data tracks copied packet for packet where the
output container takes them (:func:`_can_copy` asks FFmpeg), audio re-encoded where it refuses them
(:func:`_add_audio_encoder`), text subtitles converted (:mod:`.subtitles`), and anything else dropped
with a note naming it (:func:`_dropped`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weatherclean.io.video.metadata import _keep_disposition, _stream_tags
from weatherclean.io.video.pyav import _av, _codec_family, _header_accepted, _mux_one_packet, _round_trip
from weatherclean.io.video.subtitles import _add_subtitle_encoder, _Converted, _drops_cue_ends
from weatherclean.io.video.timecode import _is_timecode_track

#: What an audio stream is re-encoded to when the output container cannot hold it as it is.
_FALLBACK_AUDIO = {"webm": "libopus", "mpeg": "mp2", "mxf": "pcm_s24le"}
#: Channels an audio encoder takes at most (others: 8); more are downmixed, with a note.
_MAX_CHANNELS = {"mp2": 2}
#: Audio a container's header takes but whose packets its muxer then refuses: AAC in an MPEG program
#: stream (.mpg) needs ADTS framing, which MP4 and Matroska AAC does not have; PCM in MP4 needs a channel
#: layout that Matroska and AVI often leave unset (the trailer then fails, after the whole clip), and few
#: players read PCM from MP4 at all, so it becomes AAC there.
_PCM = frozenset({"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_s32be", "pcm_f32le",
                  "pcm_f32be", "pcm_f64le", "pcm_f64be", "pcm_u8", "pcm_s8"})  # fmt: skip
_REFUSED_AUDIO: dict[str, frozenset[str]] = {"mpeg": frozenset({"aac"}), "mp4": _PCM}


#: Audio a container takes, where its header cannot be tried without a video stream: MXF's muxer refuses any
#: header whose first stream is not the one video stream, so every sound was re-encoded (as AAC, which MXF
#: cannot hold either, and the clip failed); it holds 16- and 24-bit PCM.
_ACCEPTED_AUDIO: dict[str, frozenset[str]] = {"mxf": frozenset({"pcm_s16le", "pcm_s24le"})}


def _muxer_accepts(fmt: str, template: Any) -> bool:
    """Whether container ``fmt`` can hold ``template``'s codec: try writing a header into memory."""
    if template.type == "audio" and template.codec_context.name in _REFUSED_AUDIO.get(fmt, frozenset()):
        return False
    if fmt in _ACCEPTED_AUDIO and template.type == "audio":
        return template.codec_context.name in _ACCEPTED_AUDIO[fmt]
    return _header_accepted(fmt, lambda probe: probe.add_stream_from_template(template))


@dataclass
class _SideStreams:
    """Where the input's audio and subtitle packets go, by input stream index."""

    #: Copied packet for packet: input index → output stream.
    copies: dict[int, Any] = field(default_factory=dict)
    #: Audio the container cannot hold as it is: input index → (decoder stream, encoder stream).
    reencode: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    #: Text subtitles the container cannot hold as they are, converted: input index → the conversion.
    subtitles: dict[int, _Converted] = field(default_factory=dict)
    #: Copied ``mov_text`` streams whose empty samples (cue ends) are not copied: the muxer writes its own
    #: (:func:`.subtitles._drops_cue_ends`). Input indices, each also in :attr:`copies`.
    cue_ends: set[int] = field(default_factory=set)

    def sound_and_copies(self) -> dict[int, Any]:
        """The output stream of every copied or re-encoded input stream, by input index: those whose packets keep
        their own times (converted subtitles are timed cue by cue)."""
        return {**self.copies, **{i: enc for i, (_dec, enc) in self.reencode.items()}}

    def outputs(self) -> dict[int, Any]:
        """The output stream of every carried input stream, by input index: copied, re-encoded, converted."""
        return {**self.sound_and_copies(), **{i: converted.stream for i, converted in self.subtitles.items()}}


def _add_side_streams(inp: Any, out: Any, fmt: str, notes: list[str]) -> _SideStreams:
    """Add an output stream for every input stream but the video, copied when ``fmt`` can hold it as it is,
    with its language and title.

    Copying keeps the sound bit for bit (other tools re-encode or drop it), and a dash cam's GPS track
    with it; audio the muxer refuses is re-encoded, and any other stream the output cannot carry (a
    second camera's video, subtitles or data the container refuses) is dropped with a note naming it,
    never silently.
    """
    side = _SideStreams()
    video = inp.streams.video[0].index
    attachments: list[Any] = []
    for s in inp.streams:
        if s.index == video or getattr(s, "discard", 0) >= _DISCARD_ALL:  # MP4's chapter text: see _keep_chapters
            continue
        if _is_timecode_track(s):  # QuickTime's tmcd track: see _keep_timecode
            continue
        if s.type in _COPIED_TYPES and _can_copy(fmt, s):
            kept = side.copies[s.index] = out.add_stream_from_template(s)
            _unset_block_align(kept, s, fmt)
            if _drops_cue_ends(s, fmt):  # the muxer writes its own empty samples
                side.cue_ends.add(s.index)
        elif s.type == "audio":
            kept = _add_audio_encoder(out, s, fmt, notes)
            side.reencode[s.index] = (s, kept)
        elif s.type == "subtitle" and (converted := _add_subtitle_encoder(out, s, fmt, notes)) is not None:
            kept = converted.stream
            side.subtitles[s.index] = converted
        elif s.type == "attachment":  # one note for them all (:func:`_attachments_dropped`)
            attachments.append(s)
            continue
        else:
            notes.append(_dropped(inp, s, fmt))
            continue
        kept.metadata.update(_stream_tags(fmt, s, notes))
        _keep_disposition(kept, s)
    if attachments:
        notes.append(_attachments_dropped(attachments))
    return side


#: Audio whose block size FFmpeg's own stream copy (``ffmpeg -c copy``) unsets: an AVI reader sets MP3's to a frame's
#: 1152 samples (or 1), and AC3's to its largest frame, where none applies to packets of varying size.
_FRAMED_AUDIO = frozenset({"mp3", "ac3"})


def _unset_block_align(kept: Any, s: Any, fmt: str) -> None:
    """Copied MP3 or AC3 into AVI: the block size unset, as ``ffmpeg -c copy`` does (:data:`_FRAMED_AUDIO`).

    Why: AVI's muxer takes a block size as constant-size samples, and wrote the stream's length in them (an MP3
    copied from an AVI read back as 7 frames of no duration instead of 40). PyAV offers no block size to set but the
    codec options applied when a context opens, so the copy's context is opened, as a decoder, with it unset;
    :meth:`~av.container.OutputContainer.start_encoding` then leaves it open and writes its parameters."""
    if fmt != "avi" or s.type != "audio" or _family(s.codec_context) not in _FRAMED_AUDIO:
        return
    ctx = kept.codec_context
    av = _av()
    try:
        ctx.options = {**dict(ctx.options), "block_align": "0"}
        ctx.open()
    except (av.error.FFmpegError, ValueError):  # as before: the muxer takes it as it came
        return


def _family(ctx: Any) -> str:
    """FFmpeg's name for the codec of decoder context ``ctx`` (``mp3`` for the ``mp3float`` decoder); the
    context's own name where it has no codec."""
    codec = getattr(ctx, "codec", None)
    return _codec_family(codec) if codec is not None else str(ctx.name)


#: How many attachments :func:`_attachments_dropped` names before "…".
_NAMED_ATTACHMENTS = 3


def _attachments_dropped(attachments: list[Any]) -> str:
    """The one note for a Matroska file's attachments, none of which are copied: their count and the first few
    names, with what they are where all are fonts (what an ASS subtitle track needs). Why one: an anime release
    with 900 fonts attached printed 900 lines (110 KB of ``--json``) that buried every other note."""
    names = [str(getattr(s, "name", None) or f"stream {s.index}") for s in attachments]
    shown = ", ".join(names[:_NAMED_ATTACHMENTS]) + (", …" if len(names) > _NAMED_ATTACHMENTS else "")
    fonts = all(_is_font(s) for s in attachments)
    count = "1 attachment" if len(names) == 1 else f"{len(names)} attachments"
    kind = ("font " if len(names) == 1 else "fonts ") if fonts else ""
    return f"{count} ({kind}{shown}) dropped: only video, audio, subtitles and data are copied"


#: Endings and MIME types of font attachments (Matroska's, as mkvmerge and FFmpeg write them).
_FONT_ENDINGS = (".ttf", ".otf", ".ttc", ".woff", ".woff2")


def _is_font(s: Any) -> bool:
    """Whether attachment stream ``s`` is a font, by its MIME type or its file name's ending."""
    mimetype = str(getattr(s, "mimetype", None) or "").lower()
    name = str(getattr(s, "name", None) or "").lower()
    return "font" in mimetype or name.endswith(_FONT_ENDINGS)


#: FFmpeg's AVDISCARD_ALL: how its MP4/MOV reader marks a chapter track, which is not a stream to copy.
_DISCARD_ALL = 48


#: Streams copied packet for packet when the output container takes them.
_COPIED_TYPES = frozenset({"audio", "subtitle", "data"})
#: Containers that carry data tracks (GPS, telemetry) with their codec tag, which FFmpeg reads back as a data
#: stream of no codec it names (the handler tag says what it is). Into others a data stream is copied where it
#: reads back as its own codec (:func:`_data_reads_back`): MPEG-TS keeps KLV, timed ID3 and SMPTE 2038; AVI
#: writes an "unknown" stream, Matroska, WebM, FLV and MPEG-PS refuse them.
_DATA_CONTAINERS = frozenset({"mp4", "mov"})
#: Data codecs that carry no name of their own (an MP4's GPS or telemetry track reads back as ``bin_data``): into
#: MP4 and MOV these are copied when they read back as data at all. A named one (KLV) must come back named: KLV
#: from a TS into MOV read back as a nameless track, one packet short, with no note.
_UNLABELLED = frozenset({None, "", "none", "bin_data"})


def _can_copy(fmt: str, s: Any) -> bool:
    """Whether stream ``s`` can go into ``fmt`` packet for packet."""
    if s.type == "data":
        return _data_reads_back(fmt, s)
    if s.type == "subtitle":
        return _muxer_accepts(fmt, s) and _reads_back_as(fmt, s, ("subtitle", s.codec_context.name))
    return _muxer_accepts(fmt, s)


def _data_reads_back(fmt: str, template: Any) -> bool:
    """Whether a data stream like ``template`` written into ``fmt`` (in memory) reads back as one.

    A header alone proves too little here: timed ID3 from a TS passes it and makes an MP4 that no longer
    opens, which would cost the whole clip. Unless it is a nameless track going into MP4 or MOV
    (:data:`_DATA_CONTAINERS`, :data:`_UNLABELLED`), it must come back as its own codec: a drone's KLV
    metadata stays KLV from TS to TS (it was dropped, with a note that TS could not hold what the input, a TS,
    held), where SCTE-35 cues come back as unlabelled ``bin_data``, and KLV into MOV as a nameless track.
    """
    codec = getattr(template, "name", None)
    if fmt in _DATA_CONTAINERS and codec in _UNLABELLED:  # a camera's own track (GoPro's GPS): kept as before
        return _reads_back_as(fmt, template, ("data", None))
    return bool(codec) and _reads_back_as(fmt, template, ("data", codec))


def _reads_back_as(fmt: str, template: Any, expected: tuple[str, str | None]) -> bool:
    """Whether a stream like ``template`` written into ``fmt`` (in memory) reads back as the one stream
    ``expected`` (type, and codec where not None). Subtitles need it: MPEG-TS takes SRT's header and writes
    an unlabelled data stream, MPEG-PS one that reads back as DVD subtitles."""

    def write(probe: Any) -> None:
        _mux_one_packet(probe, probe.add_stream_from_template(template), 1000)

    def read(back: Any) -> bool:
        found = [(s.type, _codec_name(s) if expected[1] else None) for s in back.streams]
        return found == [expected]

    return _round_trip(fmt, write, read, False)


def _codec_name(s: Any) -> str | None:
    """Stream ``s``'s codec: its decoder's name, or for a data stream (which has no decoder) the codec's."""
    return getattr(s.codec_context, "name", None) or getattr(s, "name", None)


def video_stream_name(inp: Any, s: Any) -> str:
    """A video stream after the first as notes and refusals name it: "second video stream (h264, 96x96)"."""
    nth = [v.index for v in inp.streams.video].index(s.index)
    which = _ORDINALS[nth] if nth < len(_ORDINALS) else f"video stream {nth + 1}"
    ctx = s.codec_context
    size = f", {ctx.width}x{ctx.height}" if ctx is not None else ""
    return f"{which} video stream ({getattr(s, 'name', None) or s.type}{size})"


def _dropped(inp: Any, s: Any, fmt: str) -> str:
    """The note for a stream the output does not carry, naming it (codec, size) and why."""
    name = getattr(s, "name", None) or s.type
    if s.type == "video":
        if s.disposition & _av().stream.Disposition.attached_pic:
            return f"cover picture ({name}) dropped"
        return f"{video_stream_name(inp, s)} dropped: only the first is processed"
    if s.type == "subtitle":
        return f"{name} subtitles cannot be stored in {fmt}; dropped"
    if s.type == "data":
        handler = (s.metadata or {}).get("handler_name")
        what = f"data stream ({name}{f', {handler}' if handler else ''})"
        if _header_accepted(fmt, lambda probe: probe.add_stream_from_template(s)):  # the muxer takes it, but it
            return f"{what} dropped: {fmt} would not keep it as it is"  # reads back as another stream, or none
        return f"{what} cannot be stored in {fmt}; dropped"
    return f"{s.type} stream ({name}) dropped: only video, audio, subtitles and data are copied"


_ORDINALS = ("first", "second", "third", "fourth")


def _add_audio_encoder(out: Any, s: Any, fmt: str, notes: list[str]) -> Any:
    """An encoder for audio stream ``s`` in the codec ``fmt`` takes (Opus for WebM, else AAC or MP2), at the
    input's sample rate where the codec takes it (Opus takes 48 kHz but not 44.1: the nearest rate above);
    PyAV resamples the decoded frames to the encoder's rate, format and layout."""
    av = _av()
    codec = _FALLBACK_AUDIO.get(fmt, "aac")
    rate = s.codec_context.sample_rate or 48000
    rates = sorted(av.codec.Codec(codec, "w").audio_rates or ())
    encode_rate = rate if not rates or rate in rates else next((r for r in rates if r > rate), rates[-1])
    enc = out.add_stream(codec, rate=encode_rate)
    # The usual layout for the channel count ("6c" is 5.1): an unset one ("2 channels", common in
    # Matroska and AVI) or a variant the encoder refuses ("5.1(side)" for Opus) would fail it or, left to
    # the encoder's default, silently become stereo.
    channels = s.codec_context.layout.nb_channels or 2
    most = _MAX_CHANNELS.get(codec, 8)
    changes = [f"resampled from {rate} to {encode_rate} Hz"] if encode_rate != rate else []
    if channels > most:
        changes.append(f"downmixed from {channels} channels to {most}")
        channels = most
    enc.layout = av.AudioLayout(f"{channels}c")
    done = "".join(f", {c}" for c in changes)
    name = s.codec_context.name
    if fmt == "mp4" and name in _PCM:  # MP4 can hold PCM (the input may be one): players are what refuse it
        notes.append(f"audio {name} re-encoded as {codec}{done}: few players play PCM from mp4")
    else:
        notes.append(f"audio {name} cannot be stored in {fmt}; re-encoded as {codec}{done}")
    return enc
