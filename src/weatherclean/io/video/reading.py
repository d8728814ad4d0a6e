"""Reading a video: opening it (a one-line :class:`InputError` for whatever cannot be used),
:func:`probe_video` (size, rate, rotation and streams, without decoding the whole file), :func:`iter_frames`
(the one frame reader, also for training and evaluation), and :class:`_Health`, which decodes around
damaged packets and counts them for "N of M frames".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.errors import InputError, one_line
from weatherclean.io.folders import check_input_file
from weatherclean.io.video.colour import (
    _HDR_TRANSFERS,
    _Colour,
    _frame_to_rgb,
    _hdr_static,
    _HdrStatic,
    _high_bit_depth,
)
from weatherclean.io.video.pyav import _av


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns from the container without decoding the whole file."""

    path: Path
    width: int
    height: int
    frames: int | None  # from the container; None when it does not say (never relied upon)
    fps: float | None
    duration: float | None
    rotation: int
    pix_fmt: str
    audio_streams: int
    subtitle_streams: int


@contextlib.contextmanager
def _open_input(path: Path) -> Iterator[Any]:
    av = _av()
    check_input_file(path, "a video file")
    try:
        container = av.open(str(path), "r")
    except PermissionError:
        raise InputError(f"{path}: permission denied; check the file's permissions") from None
    except av.error.EOFError:
        raise InputError(f"{path}: no frames; the file ends right after its header (empty or cut short)") from None
    except av.error.InvalidDataError:
        raise InputError(
            f"{path}: not a readable video (unrecognised contents); it may be truncated, corrupt or not a video"
        ) from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or one_line(exc)  # FFmpeg's words, without its errno and path
        raise InputError(f"{path}: not a readable video ({reason}); it may be truncated or corrupt") from None
    try:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream (audio only?); nothing to restore")
        _check_frame_size(path, container.streams.video[0])
        yield container
    finally:
        container.close()


def _check_frame_size(path: Path, stream: Any) -> None:
    """An :class:`InputError` when the video's frames, as its header gives their size, are over the pixel limit
    that photos have (:func:`~weatherclean.io.images.opener.max_pixels`: ``WEATHERCLEAN_MAX_MEGAPIXELS``, a
    restorer's ``max_pixels``), in the photos' words.

    Why: a 14 KB MP4 holding one 8192×8192 frame ran for two minutes and took 1.5 GB with the limit at 10 MP; a
    frame is restored like a photo, and the limit that guards memory and time for one must guard it for the other.
    Checked when the file is opened, so a run, a dry run and the training readers all refuse it before decoding.
    """
    from weatherclean.io.images.opener import over_limit

    context = stream.codec_context
    width, height = int(context.width or 0), int(context.height or 0)
    refusal = over_limit(path, width, height, "video frames are")  # the photos' wording, said of the frames
    if refusal is not None:
        raise InputError(refusal)


def _rotation(stream: Any, frame: Any | None = None) -> int:
    """Display rotation in degrees (counter-clockwise, as PyAV reports it), 0 when none is recorded."""
    value = getattr(frame, "rotation", None) if frame is not None else None
    return int(round(value or 0)) % 360


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame count (if known), rate, duration, rotation and other streams of a video file."""
    return _probe(Path(path))[0]


def _probe(p: Path) -> tuple[VideoInfo, _HdrStatic | None]:
    """:func:`probe_video`'s facts, and the HDR10 static metadata (mastering display, light levels) its first
    frame carries: None where no frame decodes in the first :data:`_FIRST_PACKETS`, and none at all (read from no
    side data) for a clip whose transfer is not PQ, which has none to carry. Both come from one decoded
    frame (:func:`_first_frame`), before the run's output has any stream: the encoder takes them as options,
    set before its header is written."""
    with _open_input(p) as container:
        v = container.streams.video[0]
        frame = _first_frame(container, v)
        rotation = _rotation(v, frame)  # the first frame carries the display matrix in recent FFmpeg
        duration = float(v.duration * v.time_base) if v.duration and v.time_base else None
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        info = VideoInfo(
            path=p, width=v.codec_context.width, height=v.codec_context.height, frames=v.frames or None,
            fps=float(v.average_rate) if v.average_rate else None, duration=duration, rotation=rotation,
            pix_fmt=str(v.codec_context.pix_fmt or ""), audio_streams=len(container.streams.audio),
            subtitle_streams=len(container.streams.subtitles),
        )  # fmt: skip
        # only a PQ (HDR10) clip has static metadata to carry: no other clip's side data is read
        pq = _HDR_TRANSFERS.get(int(v.codec_context.color_trc or 0)) == "PQ"
        return info, _hdr_static(frame) if frame is not None and pq else (None if pq else _HdrStatic())


#: How many of its packets :func:`_first_frame` reads for a frame that decodes: past a damaged first keyframe
#: to the next where keyframes come often (every second or two, as cameras and phones write them), and well
#: past any decoder's reordering delay (B-frames).
_FIRST_PACKETS = 64


def _first_frame(container: Any, stream: Any) -> Any | None:
    """The first frame of ``stream`` that decodes, or None: each packet that fails to decode (a damaged first
    keyframe) is skipped, and the reading stops at the first frame or after :data:`_FIRST_PACKETS` packets.
    What the first frame carries (rotation, HDR10 metadata) is then not lost to one bad packet, as it was when
    the first decode error ended the reading."""
    av = _av()
    try:
        for count, packet in enumerate(container.demux(stream), 1):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:  # this packet's damage: the next one may decode
                frames = []
            if frames:
                return frames[0]
            if count >= _FIRST_PACKETS:
                break
        return next(iter(stream.codec_context.decode(None)), None)  # what the decoder still holds
    except av.error.FFmpegError:  # the demuxer gave up, or the drain failed: no frame to be had
        return None


def iter_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> Iterator[np.ndarray]:
    """The frames of a video as the decoder gives them: H×W×3 RGB uint8 (uint16 above 8 bits), as stored,
    read with the clip's own colour matrix and range, as :func:`process_video` reads them. In presentation
    order for a whole file; after damage a decoder can give a few out of order, which :func:`process_video`
    puts back (:class:`.order._FrameOrder`) and this reader, for training clips, does not.

    The one video decoder: training and evaluation (``weatherclean.data``) read clips through it, so a
    model learns on the colours it will later be given. Damaged packets are skipped, as in derain; a
    file that cannot be opened is a one-line :class:`InputError`.
    """
    src = Path(path)
    av = _av()
    with _open_input(src) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        wide = _high_bit_depth(str(vin.codec_context.pix_fmt or ""))
        colour = _Colour.of(vin.codec_context, vin.codec_context.height)
        health, count = _Health(), 0
        try:
            for packet in inp.demux(vin):
                for frame in health.decode_video(packet, src):
                    if max_frames is not None and count >= max_frames:
                        return
                    count += 1
                    yield _frame_to_rgb(frame, wide, colour)
        except av.error.FFmpegError as exc:
            if count == 0:
                raise InputError(f"{src}: cannot decode ({one_line(exc)}); the file may be truncated") from None
            for frame in health.drain(vin):  # the demuxer gave up: the frames still in the decoder
                if max_frames is None or count < max_frames:
                    count += 1
                    yield _frame_to_rgb(frame, wide, colour)


class _Health:
    """Counts the video packets read and the damaged ones, and decodes around the damage.

    With ``reorder`` (AVI with B-frames) it also times the frames (:meth:`time_of`): AVI's index stores
    no presentation times, and FFmpeg stamps its packets in decode order, so H.264 with B-frames came out
    of the decoder with its times shuffled (0.04, 0.16, 0.12, ...) and the output's frames moved with them.
    """

    def __init__(self, reorder: bool = False) -> None:
        self.packets = 0
        self.damaged = 0
        #: The latest presentation time of a decoded video frame (stream time base), for the expected count.
        self.last_pts: int | None = None
        #: The latest decode time of a video packet with data: in AVI, its slot in the index.
        self.last_dts: int | None = None
        #: The smallest step between two packets' decode times: in AVI, how many index slots a frame takes
        #: (1 on a frame-rate grid; 40 for 25 fps written on a 1/1000 s grid, whose last frame ends 40 on).
        self.step: int | None = None
        self.reorder = reorder
        #: With ``reorder``: how far the decoder's output lags its input (the first frame's decode time less
        #: its own), and the last time given, for the frames a flush hands out without a decode time.
        self._delay: int | None = None
        self._last_time: int | None = None

    def decode_video(self, packet: Any, src: Path) -> list[Any]:
        """The frames of one video packet; a corrupt or undecodable packet is counted and skipped."""
        av = _av()
        if packet.size:
            self.packets += 1
            if packet.dts is not None:
                if self.last_dts is not None and packet.dts > self.last_dts:
                    gap = packet.dts - self.last_dts
                    self.step = gap if self.step is None else min(self.step, gap)
                self.last_dts = packet.dts if self.last_dts is None else max(packet.dts, self.last_dts)
            if packet.is_corrupt:
                self.damaged += 1
                return []
        try:
            return list(packet.decode())
        except av.error.InvalidDataError:
            self.damaged += 1
            return []
        except av.error.FFmpegError as exc:
            raise InputError(f"{src}: cannot decode ({one_line(exc)})") from None

    def time_of(self, frame: Any) -> int | None:
        """The presentation time of a frame just decoded: its own, or with ``reorder`` the decode time of
        the packet that brought it out, less the decoder's lag, as FFmpeg's players time such a file.

        Frames come out in display order, one per packet fed once the decoder's lag is filled, so those
        decode times run in order on the frame grid; a frame the decoder drops (a placeholder packet for a
        dropped frame, a damaged one, the frames before a clip's first keyframe) leaves its slot empty
        rather than moving every later frame, as an earliest-time-owed rule did. The frames a flush
        hands out carry no decode time and follow on, a slot apart."""
        if not self.reorder:
            return frame.pts
        if frame.dts is None:
            time = frame.pts if self._last_time is None else self._last_time + (self.step or 1)
        else:
            if self._delay is None:
                self._delay = frame.dts - frame.pts if frame.pts is not None else 0
            time = frame.dts - self._delay
        self._last_time = time
        return time

    def drain(self, stream: Any) -> list[Any]:
        """The frames still inside the decoder, after the demuxer stopped early (a drain that fails
        keeps none: the file is already known to be damaged)."""
        av = _av()
        try:
            return list(stream.codec_context.decode(None))
        except av.error.FFmpegError:
            return []


def _safe_decode(packet: Any, src: Path) -> list[Any]:
    """Decode one packet; a corrupt packet mid-stream costs its frames, not the whole video."""
    av = _av()
    try:
        return list(packet.decode())
    except av.error.InvalidDataError:
        return []
    except av.error.FFmpegError as exc:
        raise InputError(f"{src}: cannot decode ({one_line(exc)})") from None


def _tagged_seconds(stream: Any) -> float | None:
    """A track's length from Matroska's DURATION tag (``00:00:02.000000000``; FFmpeg's muxer writes the
    track's end there, from zero), None without one: the track's own, where Matroska's reader gives every
    stream the file's duration."""
    tag = (stream.metadata or {}).get("DURATION") or (stream.metadata or {}).get("duration")
    if tag:
        with contextlib.suppress(ValueError):
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def _video_end(vin: Any, inp: Any | None = None) -> float | None:
    """Where video stream ``vin`` ends, in seconds of the input's time: Matroska's DURATION tag for the
    track (FFmpeg's muxer writes the end there, from zero), or the stream's start plus its duration; then,
    given the file ``inp`` whose only stream the video is, the file's start plus its duration; None when
    nothing says. Not the container's duration otherwise: that is the longest stream's, the sound's included.

    An end, not a length: a stream's duration counts from its own start, which an MPEG-TS recorder's clock
    puts anywhere (just before its 33-bit wrap, FFmpeg reads it as negative), so a length compared with
    the last frame's time took a whole clip for one cut short.
    """
    tagged = _tagged_seconds(vin)
    if tagged is not None:
        return tagged
    if vin.duration and vin.time_base:
        return float(((vin.start_time or 0) + vin.duration) * vin.time_base)
    if inp is not None and len(inp.streams) == 1 and inp.duration:
        return ((inp.start_time or 0) + inp.duration) / 1_000_000
    return None


#: The sizes of an MPEG transport stream's packets: plain, with Blu-ray's 4-byte timecode (.m2ts, .mts),
#: and with 16 bytes of error correction.
_TS_PACKET_SIZES = (188, 192, 204)


def _ends_mid_packet(path: Path, container: Any) -> bool:
    """Whether an MPEG-TS file stops inside one of its video stream's transport packets: cut short (a
    recorder that lost power, a copy that stopped), since a whole file is whole packets. A transport
    stream records no length, so this is the one sign of a cut that FFmpeg may not report (where the muxer
    left the video's packet lengths out, as FFmpeg's own does); a cut on a packet's edge leaves none at all,
    and one inside a sound or table packet costs no frame."""
    if container.format.name != "mpegts":
        return False
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            for packet in _TS_PACKET_SIZES:
                cut = size % packet
                if not cut:
                    return False  # whole packets of this size
                # the incomplete packet's header: 0x47, then the PID (after Blu-ray's 4-byte timecode)
                f.seek(size - cut + (4 if packet == 192 else 0))
                head = f.read(3)
                if len(head) == 3 and head[0] == 0x47:
                    return ((head[1] & 0x1F) << 8 | head[2]) == container.streams.video[0].id
    except OSError:
        return False
    return False
