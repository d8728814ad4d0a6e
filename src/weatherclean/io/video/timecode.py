"""A camera's start timecode: found on the video stream, on a QuickTime timecode (tmcd) track or on the
file, and kept as a timecode track in MP4/MOV or a tag in Matroska, or named in a note.

It is written on the output's video stream once that is set up (:mod:`.video_stream`); the side streams
leave the tmcd track to it (:func:`_is_timecode_track`).
"""

from __future__ import annotations

import functools
import io
from fractions import Fraction
from typing import Any

from weatherclean.io.video.metadata import _tag
from weatherclean.io.video.pyav import _av, _round_trip
from weatherclean.io.video.video_stream import _VideoOut

#: Containers whose FFmpeg muxer makes a timecode (tmcd) track of a video stream's "timecode" tag (3GP's
#: does not).
_TIMECODE_TRACKS = frozenset({"mp4", "mov"})
#: Containers that keep a timecode as a tag (TIMECODE), where FFmpeg's Matroska writer puts it.
_TIMECODE_TAGS = frozenset({"matroska", "webm", "mxf"})  # MXF keeps it as a tag too (read back as one)


def _is_timecode_track(s: Any) -> bool:
    """QuickTime's timecode (tmcd) track, which FFmpeg reads as a data stream tagged with its timecode."""
    return s.type == "data" and _tag(s.metadata, "timecode") is not None


def _source_timecode(inp: Any) -> tuple[str, bool] | None:
    """The clip's start timecode (``01:00:00:00``; ``;`` before the frames when drop-frame) and whether it
    is the file's (Matroska's global tag, MXF's) rather than the video's (QuickTime's tmcd track, whose
    timecode FFmpeg also puts on the video stream)."""
    for s in [inp.streams.video[0], *(s for s in inp.streams if _is_timecode_track(s))]:
        if timecode := _tag(s.metadata, "timecode"):
            return timecode, False
    timecode = _tag(inp.metadata, "timecode")
    return (timecode, True) if timecode else None


def _keep_timecode(inp: Any, out: Any, video: _VideoOut, fmt: str, notes: list[str]) -> None:
    """Keep a camera's start timecode: as a timecode track in MP4/MOV (FFmpeg writes one from the video
    stream's tag) where the muxer takes it at this frame rate, as a tag in Matroska, where it was (on the
    video or on the file); elsewhere, or where refused, a note names it."""
    found = _source_timecode(inp)
    if found is None:
        return
    timecode, of_file = found
    if fmt in _TIMECODE_TAGS:
        (out if of_file else video.stream).metadata["timecode"] = timecode
    elif fmt in _TIMECODE_TRACKS and _timecode_kept(
        fmt, video.stream.codec_context.name, video.rate, video.time_base, timecode
    ):
        video.stream.metadata["timecode"] = timecode
    elif fmt in _TIMECODE_TRACKS:
        notes.append(f"the timecode {timecode} cannot be stored in {fmt} at {float(video.rate):g} fps; dropped")
    else:
        notes.append(f"the timecode {timecode} cannot be stored in {fmt}; dropped")


@functools.cache
def _timecode_kept(fmt: str, codec: str, rate: Fraction, time_base: Fraction, timecode: str) -> bool:
    """Whether ``fmt``'s muxer makes a timecode track of ``timecode`` for a ``codec`` stream at ``rate``: write a
    header into memory and read it back. It refuses a header above 255 fps, and leaves the track out, without an
    error, for a drop-frame timecode at a rate that does not round to a multiple of 30, or one it cannot parse.

    The probe's stream is a copy of an unopened ``codec`` stream, so no encoder is opened: what is asked is what
    the muxer stores, not what an encoder takes. It was an MPEG-4 Part 2 encoder, which refuses a time base whose
    denominator is over 65535, so a drone's 119.88 fps (120000/1001) or a VFR clip's average rate (25.8551 fps)
    had its timecode dropped with a note, where the muxer keeps it with the run's libx264."""
    av = _av()

    def write(probe: Any) -> None:
        with av.open(io.BytesIO(), "w", format=fmt) as model:  # never started: its stream is only a template
            stream = probe.add_stream_from_template(model.add_stream(codec, rate=rate))
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        stream.codec_context.framerate = rate  # the stream's average rate, which the muxer reads
        stream.time_base = stream.codec_context.time_base = time_base
        stream.metadata["timecode"] = timecode
        probe.start_encoding()

    # Any timecode read back counts: the muxer spells it its own way ("01:00:00:0" at 7 fps).
    return _round_trip(fmt, write, lambda back: any(_tag(s.metadata, "timecode") for s in back.streams), False)
