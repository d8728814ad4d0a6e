"""Videos in, videos out, in one PyAV pass: the same clip back, only the picture changed.

What users of other tools lose, and we keep: audio and subtitle streams (copied packet for packet, not
re-encoded), every frame (never fewer out than in, no reliance on ``nb_frames``), the frame timestamps
(so variable-frame-rate phone clips stay in sync), and the rotation of portrait phone videos. The result
is written under a hidden temporary name and renamed into place when complete, so an interrupted run
leaves nothing under the final name.

Pixels go to the caller as decoded, H×W×3 RGB uint8 (uint16 for video above 8 bits), as stored (rotation
is metadata, as for EXIF orientation in photos), in presentation order, one call per frame. Integers,
not floats: a float copy of every frame would cost the codec threads two more passes over it, and
those threads share the cores with the model (the tiling engine converts one tile at a time instead).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.errors import InputError, OutputError, folder_not_file, one_line
from weatherclean.io.atomic import atomic_path
from weatherclean.io.media import VIDEO_CONTAINERS, VIDEO_SUFFIXES, is_video_path
from weatherclean.io.orientation import rotation_stored, rotation_upright
from weatherclean.pipelining import pipeline_enabled

__all__ = [
    "CONTAINERS",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "VideoOptions",
    "VideoResult",
    "check_encoder",
    "encoder_options",
    "is_partial_path",
    "is_video_path",
    "iter_frames",
    "partial_path",
    "probe_video",
    "process_video",
]

#: File name endings treated as videos, and the FFmpeg muxer of each (the one list, in io/media.py).
CONTAINERS: dict[str, str] = VIDEO_CONTAINERS
#: Names users may give to ``--format`` for videos, and the suffix each writes.
VIDEO_FORMATS: dict[str, str] = {"mp4": ".mp4", "mov": ".mov", "mkv": ".mkv", "webm": ".webm", "avi": ".avi"}
#: The video codec used when none is asked for: H.264, except VP9 for WebM (which holds only VP8/VP9/AV1)
#: and MPEG-4 Part 2 for AVI, whose index has no timestamps: H.264 read back from AVI comes out a frame late.
_DEFAULT_CODEC = {"webm": "libvpx-vp9", "avi": "mpeg4"}
#: What an audio stream is re-encoded to when the output container cannot hold it as it is.
_FALLBACK_AUDIO = {"webm": "libopus", "mpeg": "mp2"}
#: Channels an audio encoder takes at most (others: 8); more are downmixed, with a note.
_MAX_CHANNELS = {"mp2": 2}
#: Audio a container's header takes but whose packets its muxer then refuses: AAC in an MPEG program
#: stream (.mpg) needs ADTS framing, which MP4 and Matroska AAC does not have; PCM in MP4 needs a channel
#: layout that Matroska and AVI often leave unset (the trailer then fails, after the whole clip), and few
#: players read PCM from MP4 at all, so it becomes AAC there.
_PCM = frozenset({"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_s32be", "pcm_f32le",
                  "pcm_f32be", "pcm_f64le", "pcm_f64be", "pcm_u8", "pcm_s8"})  # fmt: skip
_REFUSED_AUDIO: dict[str, frozenset[str]] = {"mpeg": frozenset({"aac"}), "mp4": _PCM}
#: Muxer options by container. AVI: FFmpeg's default shifts every stream once a packet comes before zero
#: (AAC's encoder delay, -1024 samples), after the first video frame has gone out at slot 0, so the video
#: lost its second slot and drifted a frame; AVI's audio has no timestamps to shift anyway.
_MUXER_OPTIONS: dict[str, dict[str, str]] = {"avi": {"avoid_negative_ts": "disabled"}}
#: Marks the name of a video that decoded only in part (``a.mp4`` → ``a.partial.mp4``), see :func:`partial_path`.
PARTIAL_TAG = ".partial"


def partial_path(output: Path) -> Path:
    """Where a video that decoded only in part is written unless ``--allow-partial``: ``a.mp4`` → ``a.partial.mp4``.

    Not under the output's own name, which a rerun takes as done (the failure would turn into exit 0),
    and never over the input (``--in-place``). The marked name keeps the frames that could be saved
    for a user to look at, and folder walks never read it as an input (:func:`is_partial_path`).
    """
    return output.with_name(f"{output.stem}{PARTIAL_TAG}{output.suffix}")


def is_partial_path(path: Path) -> bool:
    """Whether ``path`` is named like a partial video of ours (``*.partial.mp4``): never an input."""
    return is_video_path(path) and Path(path.stem).suffix.lower() == PARTIAL_TAG


@dataclass(frozen=True)
class VideoOptions:
    """Encoder choices: ``codec`` None picks H.264 (VP9 for WebM); ``crf`` and ``preset`` as in FFmpeg."""

    codec: str | None = None
    crf: int = 18
    preset: str = "medium"


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


@dataclass
class VideoResult:
    """The outcome of :func:`process_video`: frames written (always all that were decoded), and notes.

    ``expected`` is how many frames the input should have held (see :func:`_expected_frames`), and
    ``partial`` says that the file is damaged (a video packet could not be read, or fewer came than the
    container counts): the output then holds every frame that could be decoded, and the caller decides
    whether that counts as done (``--allow-partial``). ``frames`` below ``expected`` alone is no damage:
    an edit list hides some samples of a whole file from every player.
    """

    path: Path
    frames: int = 0
    notes: list[str] = field(default_factory=list)
    expected: int | None = None
    #: ``expected`` is the duration times the frame rate, not a count the container recorded.
    estimated: bool = False
    #: Video packets that were cut short or could not be decoded (or 1 for a demuxer that gave up).
    damaged: int = 0
    partial: bool = False
    #: The display rotation kept on the output (degrees counter-clockwise, as PyAV reports it).
    rotation: int = 0

    def shortfall(self) -> str:
        """The "N of M frames" of messages, with "about" when M is an estimate."""
        about = "about " if self.estimated else ""
        return f"{self.frames} of {about}{self.expected} frames"


def _av() -> Any:
    import av

    return av


@contextlib.contextmanager
def _open_input(path: Path) -> Iterator[Any]:
    av = _av()
    if path.is_dir():
        raise InputError(f"{path}: {folder_not_file('a video file')}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes); re-copy it from the source")
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
            raise InputError(f"{path}: has no video stream (audio only?); nothing to derain")
        yield container
    finally:
        container.close()


def _rotation(stream: Any, frame: Any | None = None) -> int:
    """Display rotation in degrees (counter-clockwise, as PyAV reports it), 0 when none is recorded."""
    value = getattr(frame, "rotation", None) if frame is not None else None
    return int(round(value or 0)) % 360


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame count (if known), rate, duration, rotation and other streams of a video file."""
    p = Path(path)
    with _open_input(p) as container:
        v = container.streams.video[0]
        rotation = _rotation(v)
        with contextlib.suppress(Exception):  # the first frame carries the display matrix in recent FFmpeg
            for frame in container.decode(v):
                rotation = _rotation(v, frame) or rotation
                break
        duration = float(v.duration * v.time_base) if v.duration and v.time_base else None
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        return VideoInfo(
            path=p, width=v.codec_context.width, height=v.codec_context.height, frames=v.frames or None,
            fps=float(v.average_rate) if v.average_rate else None, duration=duration, rotation=rotation,
            pix_fmt=str(v.codec_context.pix_fmt or ""), audio_streams=len(container.streams.audio),
            subtitle_streams=len(container.streams.subtitles),
        )  # fmt: skip


def iter_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> Iterator[np.ndarray]:
    """The frames of a video as :func:`process_video` hands them over: H×W×3 RGB uint8 (uint16 above 8
    bits), as stored, in presentation order, read with the clip's own colour matrix and range.

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


def _muxer_accepts(fmt: str, template: Any) -> bool:
    """Whether container ``fmt`` can hold ``template``'s codec: try writing a header into memory."""
    av = _av()
    if template.type == "audio" and template.codec_context.name in _REFUSED_AUDIO.get(fmt, frozenset()):
        return False
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as probe:
            probe.add_stream_from_template(template)
            probe.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


def _chroma_of(pix_fmt: str) -> str | None:
    """A YUV pixel format's chroma sampling ("4:4:4", "4:2:2", "4:2:0"), None for others (RGB, grey)."""
    if not pix_fmt.startswith("yuv"):  # yuvj* (full range) too
        return None
    return next((chroma for tag, chroma in _CHROMA if tag in pix_fmt), None)


#: Pixel-format tags of chroma sampling, and how they are written.
_CHROMA = (("444", "4:4:4"), ("422", "4:2:2"), ("420", "4:2:0"), ("411", "4:1:1"))


def _high_bit_depth(pix_fmt: str) -> bool:
    return any(tag in pix_fmt for tag in ("p10", "p12", "p14", "p16", "48", "64"))


#: FFmpeg's AVColorSpace → swscale's matrix (PyAV's ``Colorspace``): BT.709, FCC, BT.601 (two codes),
#: SMPTE 240M, BT.2020 (two codes).
_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
_HDR_TRANSFERS = {16: "PQ", 18: "HLG"}


@dataclass(frozen=True)
class _Colour:
    """How a clip's YUV maps to RGB: read it right, and write the output the same way, tagged."""

    matrix: int  # swscale colour matrix
    full_range: bool
    tag_space: int  # AVColorSpace written on the output
    primaries: int
    transfer: int

    @classmethod
    def of(cls, ctx: Any, first_height: int) -> _Colour:
        space = int(ctx.colorspace or 2)
        if space not in _MATRIX:  # unspecified: what players assume, HD as BT.709 and SD as BT.601
            space = 1 if first_height >= 720 else 6
        full = int(ctx.color_range or 0) == 2 or str(ctx.pix_fmt or "").startswith("yuvj")
        return cls(_MATRIX[space], full, space, int(ctx.color_primaries or 2), int(ctx.color_trc or 2))

    @property
    def range(self) -> int:
        return 2 if self.full_range else 1  # ColorRange.JPEG / MPEG

    def tags(self) -> dict[str, int]:
        """The colour tags written on the output, by name (FFmpeg's codes; 2: unspecified)."""
        return {"primaries": self.primaries, "transfer": self.transfer, "matrix": self.tag_space}

    def limited(self) -> _Colour:
        """The same colours in limited (MPEG) range: what an output that cannot mark full range must hold."""
        return replace(self, full_range=False)


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
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as probe:
            stream = probe.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = _PROBE_SIDE, _PROBE_SIDE, "yuv420p"
            stream.codec_context.color_range = 2
            stream.codec_context.sample_aspect_ratio = Fraction(12, 11)
            _set_colour_tags(stream.codec_context, _PROBE_COLOUR)
            _configure(stream, codec, VideoOptions(), fmt)
            for i in range(2):
                frame = av.VideoFrame(_PROBE_SIDE, _PROBE_SIDE, "yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, 25)
                probe.mux(stream.encode(frame))
            probe.mux(stream.encode(None))
        buf.seek(0)
        with av.open(buf, "r", format=fmt) as back:  # a tiny MPEG-TS is not always told by its content
            ctx = back.streams.video[0].codec_context
            colour = frozenset(k for k, v in _colour_tags(ctx).items() if v == _PROBE_COLOUR[k])
            return _Carries(int(ctx.color_range or 0) == 2, ctx.sample_aspect_ratio == Fraction(12, 11), colour)
    except (av.error.FFmpegError, ValueError, StopIteration):
        return _Carries(False, False)  # the real encoder will fail with its own message


@functools.cache
def _rounding(decode: bool, wide: bool = False) -> Any:
    """swscale's flags for the conversions each way: round to nearest, and on the way back to 8-bit RGB
    interpolate chroma for every pixel.

    Its defaults truncate on the way back to 8-bit RGB: every pass through the video path darkened by about
    one grey level ((18, 20, 18) came back (16, 18, 15)), and a clip processed twice by two. With these
    the round trip's mean shift is under 0.05 levels and chroma edges come back closer (``benchmarks/
    video_colour.py`` times both; the decode side costs a few ms more per 1080p frame). Per-pixel chroma
    does nothing on the way to YUV, so that side only rounds; and on the way to 16-bit RGB (``wide``,
    video above 8 bits) swscale's per-pixel chroma path returns garbage from 4:2:0 (a grey gradient came
    back 30-110 levels off), while rounding alone is already unbiased there.
    """
    interpolation = _av().video.reformatter.Interpolation
    flags = interpolation.BILINEAR | interpolation.ACCURATE_RND
    return flags | interpolation.FULL_CHR_H_INT if decode and not wide else flags


def _frame_to_rgb(frame: Any, wide: bool, colour: _Colour) -> np.ndarray:
    """A decoded frame as H×W×3 RGB: uint8, or uint16 when the video has more than 8 bits."""
    fmt = "rgb48le" if wide else "rgb24"
    return frame.to_ndarray(
        format=fmt, src_colorspace=colour.matrix, src_color_range=colour.range, interpolation=_rounding(True, wide)
    )


def _to_rgb24(rgb: np.ndarray) -> np.ndarray:
    """Any pixels the caller returned (uint8, uint16 or float in [0, 1]) as the encoder's 8-bit RGB."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:  # round to the nearest of 256 levels: 65535 / 255 = 257 exactly
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _rgb_to_frame(rgb: np.ndarray, pix_fmt: str, colour: _Colour) -> Any:
    av = _av()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(_to_rgb24(rgb)), format="rgb24")
    return frame.reformat(
        format=pix_fmt, src_colorspace=colour.matrix, dst_colorspace=colour.matrix, dst_color_range=colour.range,
        interpolation=_rounding(False),
    )  # fmt: skip


def encoder_options(codec: str, opts: VideoOptions, fmt: str) -> dict[str, str]:
    """FFmpeg options for ``codec``: quality (CRF), speed preset, quiet logs, and no B-frames for AVI."""
    if codec in ("libx264", "libx265"):
        options = {"crf": str(opts.crf), "preset": opts.preset}
        if codec == "libx265":
            options["x265-params"] = "log-level=error"  # x265 prints ~20 info lines per file otherwise
        if fmt == "avi":
            options["bf"] = "0"
        return options
    if codec == "libvpx-vp9":
        return {"crf": str(min(63, opts.crf + 13)), "b": "0", "row-mt": "1"}
    if codec == "mpeg4":  # a fixed quantiser from the CRF: 18 → 3, visually lossless for MPEG-4 Part 2
        q = str(max(2, min(31, round(opts.crf / 6))))
        return {"bf": "0", "qmin": q, "qmax": q}
    return {}


def _configure(stream: Any, codec: str, opts: VideoOptions, fmt: str) -> None:
    """Encoder options and codec tag, the same for the real encoder and :func:`check_encoder`'s probe."""
    stream.options = encoder_options(codec, opts, fmt)
    if codec == "libx265" and fmt in ("mp4", "mov"):
        stream.codec_tag = "hvc1"  # the tag Apple players require for HEVC


def check_encoder(opts: VideoOptions, suffix: str) -> None:
    """Open the encoder once on a tiny frame, so a bad --codec or --preset is one error before any work."""
    av = _av()
    fmt = CONTAINERS.get(suffix.lower(), "mp4")
    codec = opts.codec or _DEFAULT_CODEC.get(fmt, "libx264")
    if codec not in av.codecs_available:
        raise OutputError(f"--codec {codec}: no such video encoder in this FFmpeg; try libx264, libx265 or libvpx-vp9")
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as probe:
            stream = probe.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            _configure(stream, codec, opts, fmt)
            for i in range(4):  # a one-frame x265 stream can come out with a garbage dts; real clips do not
                frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 25)  # HEVC in MP4 refuses frames without one
                probe.mux(stream.encode(frame))
            probe.mux(stream.encode(None))
    except (av.error.FFmpegError, ValueError) as exc:
        raise OutputError(
            f"cannot encode {codec} into {suffix} with --preset {opts.preset} --crf {opts.crf} "
            f"({one_line(exc)}); check --codec/--preset, or --format for the container"
        ) from None


def process_video(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    process: Callable[[np.ndarray], np.ndarray],
    *,
    options: VideoOptions | None = None,
    on_frame: Callable[[int, int | None], None] | None = None,
    partial_dest: str | os.PathLike[str] | None = None,
    upright: bool = False,
) -> VideoResult:
    """Decode ``source`` frame by frame, pass each through ``process``, encode to ``dest`` atomically.

    With ``upright``, ``process`` sees each frame as a player shows it (the display rotation applied) and
    its result is turned back before encoding, so the output keeps the input's layout and rotation: rain
    falls down the shown picture, and a phone's portrait clip is stored on its side.

    ``process`` receives frames in presentation order (H×W×3 RGB, uint8, or uint16 above 8 bits) and
    must return the same shape, as integers of the same type or floats in [0, 1]; it may keep state
    between calls (J4R-Net carries its memory). Audio and subtitle streams are
    copied without re-encoding when the output container can hold them (else audio is re-encoded, with
    a note, and subtitles are dropped, with a note). ``on_frame(done, total)`` reports progress; total is
    the container's frame count or None. A damaged file is decoded past its bad packets: every frame
    that decodes is processed and written, and the result says ``partial`` with "N of M frames"; such a
    result goes to ``partial_dest`` instead of ``dest`` when one is given (in the same folder, e.g.
    :func:`partial_path`), and ``result.path`` says where it went. Raises :class:`InputError` for
    unusable input and :class:`OutputError` when writing fails; nothing is left under ``dest`` or beside
    it on failure.
    """
    src, dst = Path(source), Path(dest)
    opts = options or VideoOptions()
    fmt = CONTAINERS.get(dst.suffix.lower())
    if fmt is None:
        raise OutputError(f"{dst}: unknown video container; use one of {', '.join(sorted(VIDEO_SUFFIXES))}")
    av = _av()
    rotation = probe_video(src).rotation  # read from the first frame, before the output has any stream
    result = VideoResult(path=dst, rotation=rotation)
    if upright and rotation % 360:
        process = _turned(process, rotation)

    def final() -> Path:
        return Path(partial_dest) if partial_dest is not None and result.partial else dst

    with atomic_path(dst, final=final) as tmp, _open_input(src) as inp:
        try:
            _transcode(inp, tmp, fmt, process, opts, on_frame, result, src, rotation)
        except av.error.FFmpegError as exc:  # mid-stream decode or encode failures: one line, not a traceback
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise InputError(f"{src}: video processing failed ({one_line(exc)})") from None
    result.path = final()
    return result


def _turned(process: Callable[[np.ndarray], np.ndarray], rotation: int) -> Callable[[np.ndarray], np.ndarray]:
    """``process`` applied to frames shown upright under ``rotation``, its results turned back as stored."""

    def turned(frame: np.ndarray) -> np.ndarray:
        return rotation_stored(np.asarray(process(rotation_upright(frame, rotation))), rotation)

    return turned


def _transcode(
    inp: Any,
    tmp: Path,
    fmt: str,
    process: Callable[[np.ndarray], np.ndarray],
    opts: VideoOptions,
    on_frame: Callable[[int, int | None], None] | None,
    result: VideoResult,
    src: Path,
    rotation: int,
) -> None:
    """Write ``inp`` to ``tmp`` with every video frame passed through ``process``, and fill in ``result``.

    The steps live apart so each can be read on its own: the output streams are all set up first
    (:func:`_add_video_stream`, :func:`_add_side_streams`; muxing the first packet writes the header),
    then :class:`_Transcoder` runs decode → process → encode, and :func:`_record_outcome` judges the input.
    """
    av = _av()
    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"  # frame- and slice-threaded decoding
    total = vin.frames or None
    with av.open(str(tmp), "w", format=fmt, options=_muxer_options(fmt, inp)) as out:
        out.metadata.update(_container_tags(fmt, _recording_metadata(inp.metadata), result.notes))
        _keep_chapters(inp, out, result.notes)
        video = _add_video_stream(out, vin, fmt, opts, rotation, result.notes)
        _keep_timecode(inp, out, video, fmt, result.notes)
        side = _add_side_streams(inp, out, fmt, result.notes)
        transcoder = _Transcoder(inp, out, video, side, process, on_frame, total, src)
        transcoder.run()
    _record_outcome(result, transcoder, vin, inp, total)


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
    codec = opts.codec or _DEFAULT_CODEC.get(fmt, "libx264")
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


def _tag_colour(ctx: Any, colour: _Colour, notes: list[str]) -> None:
    """Tag the encoder with the input's colour matrix, range, primaries and transfer, so players show
    the output as they showed the input; HDR is kept as a tag only, and said so in a note."""
    ctx.color_range = colour.range
    _set_colour_tags(ctx, colour.tags())
    if colour.transfer in _HDR_TRANSFERS:
        notes.append(f"HDR ({_HDR_TRANSFERS[colour.transfer]}) video: processed and encoded as 8-bit; "
                     "highlights may look flat")  # fmt: skip


def _colour_tags(ctx: Any) -> dict[str, int]:
    """A codec context's colour tags by name (2: unspecified)."""
    return {"primaries": int(ctx.color_primaries or 2), "transfer": int(ctx.color_trc or 2),
            "matrix": int(ctx.colorspace or 2)}  # fmt: skip


def _set_colour_tags(ctx: Any, tags: dict[str, int]) -> None:
    ctx.color_primaries, ctx.color_trc, ctx.colorspace = tags["primaries"], tags["transfer"], tags["matrix"]


#: What players take untagged video for (FFmpeg's codes), by whether it is HD (720 lines or more): BT.709
#: primaries and matrix for HD, BT.601's (625 or 525 lines) below; the BT.709 transfer curve, which BT.601's
#: and BT.2020's are. A tag among these is lost harmlessly where the output cannot store it.
_UNTAGGED = {
    True: {"primaries": frozenset({1}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({1})},
    False: {"primaries": frozenset({5, 6}), "transfer": frozenset({1, 6, 14, 15}), "matrix": frozenset({5, 6})},
}
#: FFmpeg's names of the colour matrices that are written (see :data:`_MATRIX`).
_MATRIX_NAMES = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}


def _colour_name(kind: str, code: int) -> str:
    """A colour tag as FFmpeg (and ffprobe) names it: ``bt2020``, ``smpte2084``, ``bt2020nc``."""
    reformatter = _av().video.reformatter
    try:
        if kind == "matrix":
            return _MATRIX_NAMES[code]
        enum = reformatter.ColorPrimaries if kind == "primaries" else reformatter.ColorTrc
        return enum(code).name.lower().replace("_", "-")
    except (KeyError, ValueError):
        return str(code)


def _say_lost_colour(colour: _Colour, height: int, carries: _Carries, encoder: str, notes: list[str]) -> None:
    """Name the colour tags the output cannot store (MPEG-4 Part 2 in AVI stores none) where they are not
    what players take untagged video for: BT.2020 or BT.709 colours in SD then show off-colour."""
    assumed = _UNTAGGED[height >= 720]
    lost = [f"{kind} {_colour_name(kind, code)}" for kind, code in colour.tags().items()
            if code != 2 and code not in assumed[kind] and kind not in carries.colour]  # fmt: skip
    if lost:
        notes.append(f"colour tags ({', '.join(lost)}) cannot be stored by {encoder}; the clip will show off-colour")


@dataclass
class _SideStreams:
    """Where the input's audio and subtitle packets go, by input stream index."""

    #: Copied packet for packet: input index → output stream.
    copies: dict[int, Any] = field(default_factory=dict)
    #: Audio the container cannot hold as it is: input index → (decoder stream, encoder stream).
    reencode: dict[int, tuple[Any, Any]] = field(default_factory=dict)


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
    for s in inp.streams:
        if s.index == video or getattr(s, "discard", 0) >= _DISCARD_ALL:  # MP4's chapter text: see _keep_chapters
            continue
        if _is_timecode_track(s):  # QuickTime's tmcd track: see _keep_timecode
            continue
        if s.type in _COPIED_TYPES and _can_copy(fmt, s):
            kept = side.copies[s.index] = out.add_stream_from_template(s)
        elif s.type == "audio":
            kept = _add_audio_encoder(out, s, fmt, notes)
            side.reencode[s.index] = (s, kept)
        else:
            notes.append(_dropped(inp, s, fmt))
            continue
        kept.metadata.update(_stream_tags(fmt, s, notes))
        _keep_disposition(kept, s)
    return side


#: FFmpeg's AVDISCARD_ALL: how its MP4/MOV reader marks a chapter track, which is not a stream to copy.
_DISCARD_ALL = 48


def _keep_disposition(kept: Any, s: Any) -> None:
    """The stream's flags (default, forced, hearing impaired...): a forced subtitle must stay forced, or
    players stop showing it on their own."""
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        kept.disposition = s.disposition


def _keep_chapters(inp: Any, out: Any, notes: list[str]) -> None:
    """Copy the chapters (before the header is written); a container that cannot hold them gets a note."""
    chapters = inp.chapters() if hasattr(inp, "chapters") else []
    if not chapters:
        return
    try:
        out.set_chapters(chapters)
    except (ValueError, TypeError, _av().error.FFmpegError) as exc:
        notes.append(f"{len(chapters)} chapters dropped ({one_line(exc)})")


#: Streams copied packet for packet when the output container takes them.
_COPIED_TYPES = frozenset({"audio", "subtitle", "data"})
#: Containers that carry data tracks (GPS, telemetry) with their codec tag; others lose what they are
#: (AVI writes an "unknown" stream) or refuse them.
_DATA_CONTAINERS = frozenset({"mp4", "mov"})


def _can_copy(fmt: str, s: Any) -> bool:
    """Whether stream ``s`` can go into ``fmt`` packet for packet."""
    if s.type == "data":
        return fmt in _DATA_CONTAINERS and _data_reads_back(fmt, s)
    return _muxer_accepts(fmt, s)


def _data_reads_back(fmt: str, template: Any) -> bool:
    """Whether a data stream like ``template`` written into ``fmt`` (in memory) reads back as one.

    A header alone proves too little here: timed ID3 from a TS passes it and makes an MP4 that no longer
    opens, which would cost the whole clip.
    """
    av = _av()
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as probe:
            stream = probe.add_stream_from_template(template)
            packet = av.Packet(bytes(16))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, 0, 0, Fraction(1, 1000)
            probe.mux(packet)
        buf.seek(0)
        with av.open(buf, "r", format=fmt) as back:  # a tiny MPEG-TS is not always told by its content
            return [s.type for s in back.streams] == ["data"]
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


def _dropped(inp: Any, s: Any, fmt: str) -> str:
    """The note for a stream the output does not carry, naming it (codec, size) and why."""
    name = getattr(s, "name", None) or s.type
    if s.type == "video":
        ctx = s.codec_context
        if s.disposition & _av().stream.Disposition.attached_pic:
            return f"cover picture ({name}) dropped"
        nth = [v.index for v in inp.streams.video].index(s.index)
        which = _ORDINALS[nth] if nth < len(_ORDINALS) else f"video stream {nth + 1}"
        size = f", {ctx.width}x{ctx.height}" if ctx is not None else ""
        return f"{which} video stream ({name}{size}) dropped: only the first is processed"
    if s.type == "subtitle":
        return f"{name} subtitles cannot be stored in {fmt}; dropped"
    if s.type == "data":
        handler = (s.metadata or {}).get("handler_name")
        return f"data stream ({name}{f', {handler}' if handler else ''}) cannot be stored in {fmt}; dropped"
    return f"{s.type} stream ({name}) dropped: only video, audio, subtitles and data are copied"


_ORDINALS = ("first", "second", "third", "fourth")

#: Metadata that describes the file as written rather than the recording, so it is not copied: the brands,
#: the writing application and QuickTime's vendor code (the muxer writes its own), durations and
#: Matroska's statistics (stale once the video is re-encoded), the old rotation tag (the display matrix
#: carries rotation), and a timecode (QuickTime makes a track of it, refused at some frame rates: it goes
#: its own way, see :func:`_keep_timecode`).
_WRITER_KEYS = frozenset({
    "major_brand", "minor_version", "compatible_brands", "encoder", "encoding_tool", "vendor_id", "duration",
    "bps", "number_of_frames", "number_of_bytes", "rotate", "timecode",
})  # fmt: skip
#: QuickTime's language-tagged copy of a key ("location-eng" beside "location"), and Matroska's ("BPS-eng").
_LANGUAGE_SUFFIX = re.compile(r"^(.+)-[a-z]{3}$")


#: The file tags AVI's RIFF INFO list holds (FFmpeg's names); it drops every other tag without a word.
_AVI_TAGS = frozenset({"title", "artist", "comment", "copyright", "date", "genre", "language", "album",
                       "track", "subject", "encoded_by", "keywords", "product", "composer", "source"})  # fmt: skip


def _container_tags(fmt: str, tags: dict[str, str], notes: list[str]) -> dict[str, str]:
    """``tags`` as the output container can hold them. AVI keeps a date but no creation time, so the
    recording day goes there; the tags it cannot hold (a location, the camera) are named in a note."""
    if fmt != "avi":
        return tags
    kept = {k: v for k, v in tags.items() if k in _AVI_TAGS}
    if "creation_time" in tags and "date" not in kept:
        kept["date"] = tags["creation_time"][:10]  # ISO 8601: the day
    dropped = sorted(k for k in tags if k not in _AVI_TAGS and k != "creation_time")
    if dropped:
        notes.append(f"AVI cannot store the tags {', '.join(dropped)}; dropped")
    return kept


def _recording_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """The tags that describe the recording (when and where: ``creation_time``, ``location``; title, make,
    model, comment; a stream's language and title), to be written on the output as they were read.

    MP4 and MOV read a track's title back as ``name``; it goes out as ``title``, the key muxers write.
    """
    tags = dict(metadata or {})
    kept: dict[str, str] = {}
    for key, value in tags.items():
        suffixed = _LANGUAGE_SUFFIX.match(key)
        base = suffixed.group(1) if suffixed else key
        if base.lower() in _WRITER_KEYS or base.lower().startswith("_statistics"):
            continue
        if suffixed and tags.get(base) == value:
            continue  # the same value under its plain key
        kept["title" if key == "name" and "title" not in tags else key] = value
    return kept


#: The QuickTime family, whose muxer stores a language only as a code it knows (see :func:`_language_kept`).
_QUICKTIME = frozenset({"mp4", "mov", "3gp"})
#: Containers whose FFmpeg muxer makes a timecode (tmcd) track of a video stream's "timecode" tag (3GP's
#: does not).
_TIMECODE_TRACKS = frozenset({"mp4", "mov"})
#: Containers that keep a timecode as a tag (TIMECODE), where FFmpeg's Matroska writer puts it.
_TIMECODE_TAGS = frozenset({"matroska", "webm"})


def _tag(metadata: dict[str, str] | None, key: str) -> str | None:
    """A tag's value whatever its case (Matroska's are upper case), None when absent or empty."""
    return next((v for k, v in (metadata or {}).items() if k.lower() == key and v), None)


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
    elif fmt in _TIMECODE_TRACKS and _timecode_kept(fmt, video.rate, timecode):
        video.stream.metadata["timecode"] = timecode
    elif fmt in _TIMECODE_TRACKS:
        notes.append(f"the timecode {timecode} cannot be stored in {fmt} at {float(video.rate):g} fps; dropped")
    else:
        notes.append(f"the timecode {timecode} cannot be stored in {fmt}; dropped")


@functools.cache
def _timecode_kept(fmt: str, rate: Fraction, timecode: str) -> bool:
    """Whether ``fmt``'s muxer makes a timecode track of ``timecode`` at ``rate``: write a header into memory
    and read it back. It refuses a header above 255 fps, and leaves the track out, without an error, for a
    drop-frame timecode at a rate that does not round to a multiple of 30, or one it cannot parse."""
    av = _av()
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as probe:
            stream = probe.add_stream("mpeg4", rate=rate)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            stream.metadata["timecode"] = timecode
            probe.start_encoding()
        buf.seek(0)
        with av.open(buf, "r", format=fmt) as back:  # as the muxer spells it: "01:00:00:0" at 7 fps
            return any(_tag(s.metadata, "timecode") for s in back.streams)
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


#: ISO 639-2's two codes for the languages that have two: terminology (T, from the language's own name:
#: "deu") and bibliographic (B, from its English name: "ger"), each way.
_T_TO_B = {"sqi": "alb", "hye": "arm", "eus": "baq", "mya": "bur", "zho": "chi", "ces": "cze", "nld": "dut",
           "fra": "fre", "kat": "geo", "deu": "ger", "ell": "gre", "isl": "ice", "mkd": "mac", "mri": "mao",
           "msa": "may", "fas": "per", "ron": "rum", "slk": "slo", "bod": "tib", "cym": "wel"}  # fmt: skip
_OTHER_CODE = {**_T_TO_B, **{b: t for t, b in _T_TO_B.items()}}
#: Languages that mean no language, never worth a note.
_NO_LANGUAGE = frozenset({"und", "zxx"})


def _stream_tags(fmt: str, s: Any, notes: list[str]) -> dict[str, str]:
    """A stream's :func:`_recording_metadata` as ``fmt`` can hold them: in MOV, a language under the other
    of its two ISO 639-2 codes where the muxer knows only that one; a language it cannot store is named."""
    tags = _recording_metadata(s.metadata)
    code = tags.get("language")
    if fmt not in _QUICKTIME or not code or code in _NO_LANGUAGE or _language_kept(fmt, code):
        return tags
    other = _OTHER_CODE.get(code.lower())
    if other is not None and _language_kept(fmt, other):
        tags["language"] = other
    else:
        hint = " (--format mp4 keeps it)" if fmt == "mov" and _language_kept("mp4", code) else ""
        notes.append(f"{s.type} language {code} cannot be stored in {fmt}; dropped{hint}")
    return tags


@functools.cache
def _language_kept(fmt: str, code: str) -> bool:
    """Whether ``fmt`` stores language ``code``: write a track with one sample into memory, read it back.

    MP4 stores any three-letter code; MOV only those of QuickTime's old language table, which for some
    languages is the T code ("fra", "ces") and for others the B code ("ger", "chi"): "deu" came back empty.
    """
    av = _av()
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=fmt) as probe:
            stream = probe.add_stream("aac", rate=48000)  # the audio all three take (3GP refuses PCM)
            stream.layout = "mono"
            stream.metadata["language"] = code
            packet = av.Packet(bytes(16))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, 0, 0, Fraction(1, 48000)
            probe.mux(packet)
        buf.seek(0)
        with av.open(buf, "r", format=fmt) as back:
            return _tag(back.streams[0].metadata, "language") == code
    except (av.error.FFmpegError, ValueError, NotImplementedError, IndexError):
        return False


def _muxer_options(fmt: str, inp: Any) -> dict[str, str]:
    """Options for the output muxer: :data:`_MUXER_OPTIONS`, and for MP4/MOV an iPhone's QuickTime keys
    (``com.apple.quicktime.location.ISO6709``, ``...make``) kept as such: FFmpeg writes them only on request;
    and an index at the front (``faststart``) when the input had one: a web-ready clip, which starts
    playing before it has downloaded, came back with its index at the end."""
    options = dict(_MUXER_OPTIONS.get(fmt, {}))
    if fmt in ("mp4", "mov"):
        flags = [flag for flag, wanted in (
            ("use_metadata_tags", any(k.startswith("com.apple.quicktime.") for k in inp.metadata or {})),
            ("faststart", _index_first(Path(inp.name))),
        ) if wanted]  # fmt: skip
        if flags:
            options["movflags"] = "+".join(flags)
    return options


def _index_first(path: Path) -> bool:
    """Whether an MP4/MOV file's index (``moov``) comes before its media data (``mdat``): its top-level
    boxes read from the start, a few bytes each. False for anything else."""
    try:
        with open(path, "rb") as fh:
            for _ in range(64):  # ftyp, free, wide, moov, mdat...: the first few boxes decide
                head = fh.read(8)
                if len(head) < 8:
                    return False
                size, kind = int.from_bytes(head[:4], "big"), head[4:]
                if kind == b"moov" or kind == b"mdat":
                    return kind == b"moov"
                if size == 1:
                    size = int.from_bytes(fh.read(8), "big") - 8
                if size < 8:
                    return False
                fh.seek(size - 8, os.SEEK_CUR)
    except OSError:
        return False
    return False


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


class _Transcoder:
    """Decode → process → encode for one clip, over output streams already set up.

    Three steps, each a method: :meth:`decode` (demux order, video frames already RGB), :meth:`handle`
    (the model, on the calling thread) and :meth:`encode` (the one thread that muxes). :meth:`run` chains
    them through a :class:`_Pipeline` so the codecs overlap the model, or in turn on one thread when
    ``WEATHERCLEAN_PIPELINE=0``; the muxing order, and so the output bytes, is the same either way.
    """

    def __init__(
        self,
        inp: Any,
        out: Any,
        video: _VideoOut,
        side: _SideStreams,
        process: Callable[[np.ndarray], np.ndarray],
        on_frame: Callable[[int, int | None], None] | None,
        total: int | None,
        src: Path,
    ) -> None:
        self.inp, self.out, self.video, self.side = inp, out, video, side
        self.process, self.on_frame, self.total, self.src = process, on_frame, total, src
        self.vin = inp.streams.video[0]
        rate = video.rate
        self.frame_ticks = max(1, round(1 / (rate * self.vin.time_base))) if self.vin.time_base else 1
        self.dts = _DtsGuard(max(1, round(1 / (rate * video.time_base))))
        self.health = _Health()
        self.frames_in = 0
        self.last_pts: int | None = None
        #: AVI output: the first frame's input timestamp (slot 0), and the frames that had to leave their
        #: own slot (taken by the frame before) with the most any moved, in seconds.
        self.first_pts: int | None = None
        self.moved, self.most_moved = 0, 0.0
        #: Re-encoded audio: the next frame's timestamp (in samples), by input stream index.
        self._audio_next: dict[int, int] = {}
        #: AVI output: how long the sound starts before zero (an encoder delay that AVI plays, late), seconds.
        self.sound_late = 0.0
        #: What :meth:`encode` does with each kind of item, instead of a ladder of ifs.
        self._encoders: dict[str, Callable[[tuple[Any, ...]], None]] = {
            "copy": self._mux_copy, "audio": self._encode_audio, "video": self._encode_video, "flush": self._flush,
        }  # fmt: skip

    def run(self) -> None:
        """Every item decoded, handled and encoded, then the encoders flushed; no frame at all is an error."""
        if pipeline_enabled():
            with _Pipeline(self.decode, self.encode) as pipe:
                for item in pipe.items():
                    self.handle(item, pipe.send)
                self._require_frames()
                pipe.send(("flush",))
                pipe.finish()
        else:  # WEATHERCLEAN_PIPELINE=0: decode, model and encode in turn, on this thread
            self.decode(lambda item: self.handle(item, self.encode))
            self._require_frames()
            self.encode(("flush",))

    def _require_frames(self) -> None:
        """Checked before the flush: an output with no video frame is no video, so nothing is written."""
        if self.frames_in == 0:
            raise InputError(f"{self.src}: no frames could be decoded; the file is empty or corrupt")

    def decode(self, put: Callable[[tuple[Any, ...]], None]) -> None:
        """Demux and decode in demux order; the main thread sees video frames already as RGB.

        Damage costs only the frames it touches: a packet cut short (the demuxer flags it corrupt) is
        never given to the decoder, because with frame threading one bad packet made the final drain
        drop every frame still in flight (a truncated clip lost 2 of its last 3 decodable frames),
        and a packet that fails to decode is skipped. A demuxer that gives up mid-file ends the input
        there, and the decoders are still drained, so the frames before it are kept.
        """
        av = _av()
        try:
            for packet in self.inp.demux():
                self._demux_one(packet, put)
        except av.error.FFmpegError as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.health.damaged += 1  # the demuxer cannot go on: keep what came before, drain the decoders
            for frame in self.health.drain(self.vin):
                put(("video", _frame_to_rgb(frame, self.video.wide, self.video.colour), frame.pts))

    def _demux_one(self, packet: Any, put: Callable[[tuple[Any, ...]], None]) -> None:
        """Route one packet: copied streams as packets, re-encoded audio and the video as frames; packets
        of streams the output does not carry (a second video, data tracks) go nowhere."""
        idx = packet.stream.index
        if idx in self.side.copies:
            if packet.dts is not None:  # else a demuxer flush marker, not data
                put(("copy", packet))
        elif idx in self.side.reencode:
            for frame in _safe_decode(packet, self.src):
                put(("audio", idx, frame))
        elif idx == self.vin.index:
            for frame in self.health.decode_video(packet, self.src):
                put(("video", _frame_to_rgb(frame, self.video.wide, self.video.colour), frame.pts))

    def handle(self, item: tuple[Any, ...], send: Callable[[tuple[Any, ...]], None]) -> None:
        """Restore one decoded video frame and send it on; audio and subtitles go on in demux order."""
        if item[0] != "video":
            send(item)
            return
        _, rgb, pts = item
        if pts is not None:
            self.health.last_pts = pts if self.health.last_pts is None else max(pts, self.health.last_pts)
        restored = np.asarray(self.process(rgb))
        if restored.shape != rgb.shape:
            raise OutputError(f"{self.src}: processing changed the frame size {rgb.shape} → {restored.shape}")
        pts = self._output_pts(pts)
        self.last_pts = pts
        send(("video", restored, pts))
        self.frames_in += 1
        if self.on_frame is not None:
            self.on_frame(self.frames_in, self.total)

    def _output_pts(self, pts: int | None) -> int:
        """The frame's output timestamp: its own (variable frame rate stays in sync), its slot for AVI, or one
        frame after the last when it has none or comes out of order (muxers refuse both)."""
        if self.video.cfr:
            return self._slot(pts)
        if pts is None or (self.last_pts is not None and pts <= self.last_pts):
            return self.last_pts + self.frame_ticks if self.last_pts is not None else 0
        return pts

    def _slot(self, pts: int | None) -> int:
        """AVI: the frame's slot at the output rate, counted from the first frame. Slots left out stay empty
        index entries, which players show as the frame before (how DVRs store dropped frames), so the clip
        keeps its length and its sync with the sound instead of closing up. A frame whose slot is taken
        moves to the next free one (counted for the note in :func:`_record_outcome`)."""
        following = 0 if self.last_pts is None else self.last_pts + 1
        if pts is None or not self.vin.time_base:
            return following
        if self.first_pts is None:
            self.first_pts = pts
        exact = float((pts - self.first_pts) * self.vin.time_base * self.video.rate)
        slot = max(round(exact), following)
        if slot - exact > 0.5:
            self.moved += 1
            self.most_moved = max(self.most_moved, (slot - exact) / float(self.video.rate))
        return slot

    def encode(self, item: tuple[Any, ...]) -> None:
        """Encode and mux one item, in the order the main thread handed them over (one muxer thread)."""
        self._encoders[item[0]](item)

    def _mux_copy(self, item: tuple[Any, ...]) -> None:
        """Mux an audio or subtitle packet as it came, retargeted at its output stream."""
        packet = item[1]
        packet.stream = self.side.copies[packet.stream.index]
        self._mux_sound([packet])

    def _mux_sound(self, packets: list[Any]) -> None:
        """Mux audio (or subtitle) packets; for AVI, note how far the sound starts before zero: AVI has no
        edit list to skip an encoder's delay (AAC's 1024 samples), so players start the sound that much late."""
        for packet in packets:
            if self.video.cfr and packet.pts is not None and packet.pts < 0 and packet.time_base:
                self.sound_late = max(self.sound_late, -float(packet.pts * packet.time_base))
        self.out.mux(packets)

    def _encode_audio(self, item: tuple[Any, ...]) -> None:
        """Re-encode one decoded audio frame, timed in samples from where the input's sound starts.

        A timestamp must reach the encoder: without one, AAC's priming (1024 samples the encoder puts first)
        counts as sound, and everything after it plays late (128 ms at 8 kHz). With one, the first packet
        starts before zero and the muxer's edit list skips the priming. Frames follow on sample for sample
        from the first one's time (PyAV's frame queue refuses a timestamp off by the rounding of a
        millisecond time base).
        """
        idx, frame = item[1], item[2]
        rate = frame.sample_rate
        start = self._audio_next.get(idx)
        if start is None:
            known = frame.pts is not None and frame.time_base is not None
            start = round(frame.pts * frame.time_base * rate) if known else 0
        frame.pts, frame.time_base = start, Fraction(1, rate)
        self._audio_next[idx] = start + frame.samples
        self._mux_sound(self.side.reencode[idx][1].encode(frame))

    def _encode_video(self, item: tuple[Any, ...]) -> None:
        """Encode one restored frame, converted back with the input's colour matrix and range."""
        new = _rgb_to_frame(item[1], self.video.stream.pix_fmt, self.video.written)
        new.pts, new.time_base = item[2], self.video.time_base
        self.dts.mux(self.out, self.video.stream.encode(new))

    def _flush(self, item: tuple[Any, ...]) -> None:
        """The encoders' delayed packets, once every frame has been sent."""
        self.dts.mux(self.out, self.video.stream.encode(None))
        for _dec, enc in self.side.reencode.values():
            self._mux_sound(enc.encode(None))


def _record_outcome(result: VideoResult, transcoder: _Transcoder, vin: Any, inp: Any, total: int | None) -> None:
    """Fill in frames, damage and the expected count, and decide whether the input was only partly read."""
    health = transcoder.health
    result.frames = transcoder.frames_in
    result.damaged = health.damaged
    result.expected, result.estimated = _expected_frames(total, vin, inp, transcoder.frames_in, health)
    # A recorded count may exceed the packets by one (AVI indexes often count an empty chunk as a frame).
    slack = 1 if not result.estimated else 0
    # Packets, not frames: a whole clip with an edit list (an `ffmpeg -ss ... -c copy` trim) records every
    # sample, and the decoder drops those before the edit's start by design, so N < M proves no damage.
    # A file is partial when a packet was damaged, or when fewer packets came than the count recorded.
    # AVI's count is of index entries, and a frame the recorder dropped is an empty one (how DVRs store
    # variable frame rate): there the packets' slot numbers (their dts) show how far the file was read.
    read = health.packets
    if inp.format.name == "avi" and health.last_dts is not None:
        read = max(read, health.last_dts + (health.step or 1))
    result.partial = health.damaged > 0 or read < result.expected - slack
    if result.partial:
        result.notes.append(
            f"{result.shortfall()} could be decoded (the file is truncated or damaged); all of them were kept"
        )
    if transcoder.moved:
        result.notes.append(
            f"AVI holds a constant frame rate ({float(transcoder.video.rate):g} fps): {transcoder.moved} frames "
            f"shown up to {transcoder.most_moved * 1000:.0f} ms late"
        )
    if transcoder.sound_late >= 0.001:
        result.notes.append(f"AVI cannot skip the audio encoder's delay: the sound starts "
                            f"{transcoder.sound_late * 1000:.0f} ms late")  # fmt: skip
    offset = _sound_offset(vin, inp) if transcoder.video.cfr else None
    if offset is not None and abs(offset) * float(transcoder.video.rate) > 1:  # more than a frame apart
        which = "sound" if offset > 0 else "picture"
        result.notes.append(
            f"AVI cannot keep the {which} starting {abs(offset) * 1000:.0f} ms after the other: both start together"
        )


def _sound_offset(vin: Any, inp: Any) -> float | None:
    """How many seconds the first sound starts after the picture (negative: before); None without sound.
    AVI output starts both at zero, so an offset larger than a frame is lost there."""
    sound = next((s for s in inp.streams.audio if s.start_time is not None and s.time_base), None)
    if sound is None or vin.start_time is None or not vin.time_base:
        return None
    return float(sound.start_time * sound.time_base - vin.start_time * vin.time_base)


def _expected_frames(recorded: int | None, vin: Any, inp: Any, decoded: int, health: _Health) -> tuple[int, bool]:
    """(M, estimated): how many frames the input should hold, for "N of M frames".

    M is the frame count the container records (``recorded``, read before decoding: MP4, MOV and AVI
    record one; it counts samples, so frames an edit list hides are in it). MKV and WebM record none; then M
    is an estimate: the frames decoded plus the time the video stream says it lasts beyond the last
    decoded frame, times the frame rate (so a cut-off clip shows its loss, and a whole one, variable
    frame rate included, gives M = N). Where damaged packets cost frames, M is at least the frames
    decoded plus those packets.
    """
    if recorded:
        return int(recorded), False
    floor = decoded + health.damaged
    rate = vin.average_rate or vin.guessed_rate
    length = _stream_seconds(vin, inp)
    if length is None or not rate or health.last_pts is None or not vin.time_base:
        return floor, True
    interval = 1 / float(rate)
    gap = length - (float(health.last_pts * vin.time_base) + interval)
    missing = round(gap / interval) if gap > 1.5 * interval else 0
    return max(floor, decoded + missing), True


def _stream_seconds(vin: Any, inp: Any) -> float | None:
    """How long the video stream lasts: Matroska's DURATION tag for the track, its own duration, or (when
    the video is the file's only stream) the container's duration; None when nothing says.

    The tag first: Matroska's reader gives every stream the file's duration, so a 3-frame title card
    over 2 s of narration read as "only 1 of about 61 frames"; the tag is the track's own."""
    tag = (vin.metadata or {}).get("DURATION") or (vin.metadata or {}).get("duration")
    if tag:
        with contextlib.suppress(ValueError):
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if vin.duration and vin.time_base:
        return float(vin.duration * vin.time_base)
    if len(inp.streams) == 1 and inp.duration:
        return inp.duration / 1_000_000
    return None


#: Frames (or other items) that may wait between threads: enough to ride out a slow frame, small
#: enough that 1280×720 frames cost ~11 MB at most (uint8; twice that above 8 bits).
_QUEUE_FRAMES = 4
#: How often a blocked thread looks up to see whether the others have failed or stopped (seconds).
_POLL = 0.05


class _Pipeline:
    """Decode ahead in one thread and encode + mux in another, so the model runs while the codecs work.

    The main thread takes items from :meth:`items` (decoded in demux order), processes video frames and
    hands everything on with :meth:`send`, in order; the encoder thread is the only one that touches the
    output container, so muxing happens in exactly the order it did without threads. PyAV releases the
    GIL inside FFmpeg and PyTorch inside its kernels, so decode, model and encode genuinely overlap.

    Errors keep their type and message: an exception in a worker is raised again in the main thread at
    its next :meth:`items`/:meth:`send`/:meth:`finish`. Leaving the ``with`` block for any reason
    (an error, Ctrl-C) stops both workers and waits for them, so nothing touches the containers after
    the caller closes them. Queues are bounded, so memory stays at a few frames however long the clip.
    """

    _END = ("end",)

    def __init__(
        self, decode: Callable[[Callable[[tuple[Any, ...]], None]], None], encode: Callable[[tuple[Any, ...]], None]
    ) -> None:
        self._decode, self._encode = decode, encode
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue(_QUEUE_FRAMES)
        self._outbox: queue.Queue[tuple[Any, ...]] = queue.Queue(_QUEUE_FRAMES)
        self._stop = threading.Event()
        self._error: list[BaseException] = []  # from the encoder thread; the decoder's travel in the inbox
        self._decoder = threading.Thread(target=self._run_decoder, name="weatherclean-decode", daemon=True)
        self._encoder = threading.Thread(target=self._run_encoder, name="weatherclean-encode", daemon=True)

    def __enter__(self) -> _Pipeline:
        self._decoder.start()
        self._encoder.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in (self._decoder, self._encoder):
            thread.join()

    def _put(self, box: queue.Queue[tuple[Any, ...]], item: tuple[Any, ...]) -> bool:
        """Blocking put that gives up (False) once the pipeline is stopping."""
        while not self._stop.is_set():
            try:
                box.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _run_decoder(self) -> None:
        def put(item: tuple[Any, ...]) -> None:
            if not self._put(self._inbox, item):
                raise _Stopped

        try:
            self._decode(put)
            put(self._END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the main thread
            self._put(self._inbox, ("error", exc))

    def _run_encoder(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._outbox.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if item is self._END:
                    return
                self._encode(item)
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread
            self._error.append(exc)

    def _raise_encoder_error(self) -> None:
        if self._error:
            raise self._error[0]

    def items(self) -> Iterator[tuple[Any, ...]]:
        """Decoded items in demux order, until the input ends; a decoder error is raised here."""
        while True:
            self._raise_encoder_error()
            try:
                item = self._inbox.get(timeout=_POLL)
            except queue.Empty:
                if not self._decoder.is_alive() and self._inbox.empty():
                    raise RuntimeError("the video decoder thread stopped without a result") from None
                continue
            if item is self._END:
                return
            if item[0] == "error":
                raise item[1]
            yield item

    def send(self, item: tuple[Any, ...]) -> None:
        """Hand an item to the encoder thread (blocks while it is ``_QUEUE_FRAMES`` behind)."""
        while True:
            self._raise_encoder_error()
            if not self._encoder.is_alive():
                raise RuntimeError("the video encoder thread stopped without a result")
            try:
                self._outbox.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every item sent has been encoded and muxed; raise the encoder's error if any."""
        self.send(self._END)
        self._encoder.join()
        self._raise_encoder_error()


class _Stopped(Exception):
    """The pipeline is shutting down; a worker unwinds quietly."""


class _DtsGuard:
    """Muxes encoder packets, repairing a decode timestamp the encoder got wrong.

    libx265 sometimes hands out an absurd dts for the first packet of a very short stream (seen: −8.7e15),
    which the MP4 muxer rejects. A dts must be at most the pts, a few frames below it at most, and
    increasing; an implausible one is replaced by the nearest value that keeps those rules.
    """

    def __init__(self, frame_ticks: int) -> None:
        self.frame_ticks = frame_ticks
        self.last: int | None = None

    def mux(self, out: Any, packets: list[Any]) -> None:
        for packet in packets:
            if packet.pts is not None and packet.dts is not None:
                reorder = 16 * self.frame_ticks  # far more than any encoder's B-frame delay
                if not packet.pts - reorder <= packet.dts <= packet.pts:
                    packet.dts = packet.pts - 2 * self.frame_ticks if self.last is None else self.last + 1
                if self.last is not None and packet.dts <= self.last:
                    packet.dts = self.last + 1
                packet.dts = min(packet.dts, packet.pts)
                self.last = packet.dts
            out.mux(packet)


class _Health:
    """Counts the video packets read and the damaged ones, and decodes around the damage."""

    def __init__(self) -> None:
        self.packets = 0
        self.damaged = 0
        #: The latest presentation time of a decoded video frame (stream time base), for the expected count.
        self.last_pts: int | None = None
        #: The latest decode time of a video packet with data: in AVI, its slot in the index.
        self.last_dts: int | None = None
        #: The smallest step between two packets' decode times: in AVI, how many index slots a frame takes
        #: (1 on a frame-rate grid; 40 for 25 fps written on a 1/1000 s grid, whose last frame ends 40 on).
        self.step: int | None = None

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
