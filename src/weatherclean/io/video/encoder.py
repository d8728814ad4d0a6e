"""The video encoder: which codec (:data:`_DEFAULT_CODEC` by container), the user's choices
(:class:`VideoOptions`), the FFmpeg options they become (:func:`encoder_options`), and
:func:`check_encoder`, which writes a few tiny frames into memory and reads them back, so a bad ``--codec``
or ``--preset``, or a codec whose frames the container mistimes, is one error before any work.

:func:`_configure` serves the real encoder (:mod:`.video_stream`) and the probe of what it keeps
(:mod:`.carries`) alike, so what the probe learns holds for the file then written.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from weatherclean.errors import OutputError, one_line
from weatherclean.io.video.containers import CONTAINERS
from weatherclean.io.video.pyav import _av, _round_trip

#: The video codec used when none is asked for: H.264, except VP9 for WebM (which holds only VP8/VP9/AV1),
#: MPEG-4 Part 2 for AVI, whose index has no timestamps: H.264 read back from AVI comes out a frame late, and
#: WMV8 for WMV (ASF), which keeps one timestamp a frame as well: H.264 read back from it came out with its
#: frames' times shuffled (0.04, 0.16, 0.12, 0.2, 0.08 s for frames 0.04 s apart) and the last one repeated.
_DEFAULT_CODEC = {"webm": "libvpx-vp9", "avi": "mpeg4", "asf": "wmv2"}
#: The default where the frame width is odd and the default codec refuses it: WMV8 takes only even widths,
#: Microsoft's MPEG-4 v3, which Windows plays too, any.
_ODD_WIDTH_CODEC = {"asf": "msmpeg4"}
#: Encoders of the MPEG-4 Part 2 family, whose quality is a fixed quantiser (see :func:`encoder_options`).
_QUANTISER_CODECS = frozenset({"mpeg4", "wmv2", "msmpeg4", "msmpeg4v2"})
#: Frames the encoder probe writes: enough for a B-frame encoder to reorder (x264's medium preset) and for a
#: container that mistimes them to show it.
_PROBE_FRAMES = 8
#: ``--preset``'s names: x264's, which x265 takes too. They are given to those two encoders only
#: (:func:`encoder_options`); VP9, MPEG-4 Part 2 and WMV have no such setting.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
#: ``--preset`` when none is given.
DEFAULT_PRESET = "medium"
#: The encoders ``--preset`` applies to.
_PRESET_CODECS = frozenset({"libx264", "libx265"})
#: Encoders whose ``--preset`` is checked against x264's names: those given it, and the software encoders this app
#: picks for WebM, AVI and WMV, which take none.
_PRESET_CHECKED = _PRESET_CODECS | _QUANTISER_CODECS | {"libvpx-vp9"}
#: Name endings of FFmpeg's hardware encoders, which fail on a machine without their device or driver.
_HARDWARE_SUFFIXES = ("_nvenc", "_qsv", "_amf", "_vaapi", "_videotoolbox", "_v4l2m2m", "_mf", "_omx")
#: DNxHR profile by pixel format: FFmpeg's default profile is DNxHD's, which takes only a few broadcast frame
#: sizes and bit rates, so ``--codec dnxhd`` failed on every other clip.
#: The smallest frame FFmpeg's DNxHR encoder opens for (width, height).
_DNXHR_MIN = (256, 120)
_DNXHR_PROFILES = {
    "yuv422p": "dnxhr_hq",
    "yuv422p10le": "dnxhr_hqx",
    "yuv444p10le": "dnxhr_444",
    "gbrp10le": "dnxhr_444",
}
#: Frame size of the encoder probe, 64×64 unless the encoder takes none that small (DNxHR: 256×120 at least).
_PROBE_SIZES = {"dnxhd": (256, 144)}
#: Encoders suggested when ``--codec`` cannot be written into a container, each tried there first.
_SUGGESTED_CODECS = ("libx264", "libx265", "libvpx-vp9", "mpeg4")


@dataclass(frozen=True)
class VideoOptions:
    """Encoder choices: ``codec`` None picks H.264 (VP9 for WebM); ``crf`` and ``preset`` as in FFmpeg."""

    codec: str | None = None
    crf: int = 18
    preset: str = DEFAULT_PRESET


def _default_codec(fmt: str, width: int = 64) -> str:
    """The video encoder for container ``fmt`` when ``--codec`` is not given, for frames ``width`` pixels wide."""
    if width % 2 and fmt in _ODD_WIDTH_CODEC:
        return _ODD_WIDTH_CODEC[fmt]
    return _DEFAULT_CODEC.get(fmt, "libx264")


def encoder_options(codec: str, opts: VideoOptions, fmt: str) -> dict[str, str]:
    """FFmpeg options for ``codec``: quality (CRF), speed preset, quiet logs, and no B-frames for AVI."""
    if codec in ("libx264", "libx265"):
        options = {"crf": str(opts.crf), "preset": opts.preset}
        if codec == "libx265":
            options["x265-params"] = "log-level=error"  # x265 prints ~20 info lines per file otherwise
        if fmt in ("avi", "mxf"):  # AVI has no timestamps; MXF one a frame, fewer than B-frames' reordering needs
            options["bf"] = "0"
        return options
    if codec == "libvpx-vp9":
        return {"crf": str(min(63, opts.crf + 13)), "b": "0", "row-mt": "1"}
    if codec in _QUANTISER_CODECS:  # a fixed quantiser from the CRF: 18 → 3, visually lossless for MPEG-4 Part 2
        q = str(max(2, min(31, round(opts.crf / 6))))
        return {"bf": "0", "qmin": q, "qmax": q}
    return {}


def _configure(stream: Any, codec: str, opts: VideoOptions, fmt: str) -> None:
    """Encoder options and codec tag, the same for the real encoder and :func:`check_encoder`'s probe."""
    options = encoder_options(codec, opts, fmt)
    if codec == "dnxhd":  # DNxHR, the resolution-independent profiles, by the stream's pixel format (set before)
        if stream.width < _DNXHR_MIN[0] or stream.height < _DNXHR_MIN[1]:  # else FFmpeg's "avcodec_open2 ... 22"
            raise OutputError(
                f"--codec dnxhd: DNxHR takes frames of {_DNXHR_MIN[0]}×{_DNXHR_MIN[1]} and up, this clip's are "
                f"{stream.width}×{stream.height}; use another --codec (prores_ks takes any size)"
            )
        options["profile"] = _DNXHR_PROFILES.get(str(stream.pix_fmt), "dnxhr_hq")
    stream.options = options
    if codec == "libx265" and fmt in ("mp4", "mov"):
        stream.codec_tag = "hvc1"  # the tag Apple players require for HEVC


def check_encoder(opts: VideoOptions, suffix: str, *, suggest: bool = True) -> None:
    """Open the encoder once on a few tiny frames, so a bad --codec or --preset is one error before any work.

    The frames are read back too (:func:`~.pyav._round_trip`): a container that cannot keep the codec's frame
    times is refused here, rather than after a whole clip was derained into a file that plays wrong: H.264 in
    WMV came back shuffled, and H.264 in AVI a frame late (see :func:`_mistimed`).

    What it covers, precisely: one encoder per output suffix, ``--codec`` or else the container's default for
    an even width (:func:`_default_codec`), on 8 frames of 64×64 8-bit ``yuv420p``, with the user's
    ``--preset`` and ``--crf``. Two encoders a clip may switch to at run time are not tried, as the planner
    does not open the inputs to know: video above 8 bits without ``--codec`` into MP4, MOV, MKV or MPEG-TS
    is written as 10-bit HEVC (libx265, :func:`~.video_stream._choose_codec`), and a frame of odd width into
    WMV with Microsoft's MPEG-4 v3 (``msmpeg4``, :data:`_ODD_WIDTH_CODEC`). x265 takes the same presets and
    CRF range as x264, and MPEG-4 v3 is timed in ASF as WMV8 is, so neither is expected to fail; one that
    did would fail that clip alone, with a one-line error, and the batch would go on.

    An encoder FFmpeg refuses is told in one line with what is likely wrong (:func:`_refusal`); with ``suggest``
    it names the encoders that do work in that container, each tried the same way.
    """
    av = _av()
    fmt = CONTAINERS.get(suffix.lower(), "mp4")
    codec = opts.codec or _default_codec(fmt)
    if codec not in av.codecs_available:
        raise OutputError(f"--codec {codec}: no such video encoder in this FFmpeg; try libx264, libx265 or libvpx-vp9")
    check_preset(opts.preset, codec)
    refused: list[BaseException] = []  # the encoder's own refusal; one of the reader's is left to the real run

    def write(probe: Any) -> None:
        try:
            _write_probe(probe, codec, opts, fmt)
        except (av.error.FFmpegError, ValueError) as exc:
            refused.append(exc)
            raise

    problem = _round_trip(fmt, write, _mistimed, None)
    if refused:
        raise OutputError(_refusal(codec, suffix, opts, refused[0], suggest=suggest))
    if problem is not None:
        default = _default_codec(fmt)
        instead = f"use the default ({default}) or --format mp4" if codec != default else "use --format mp4"
        raise OutputError(f"--codec {codec} cannot be written into {suffix}: {problem}; {instead}")


def check_preset(preset: str, codec: str) -> None:
    """Refuse a ``--preset`` that x264 and x265 do not know, in one line naming the ones they do (FFmpeg's own
    refusal is a paragraph), for those encoders and for the software ones that take no preset (VP9, MPEG-4
    Part 2, WMV), where ``--preset ludicrous`` passed without a word while MP4 refused it. Any other encoder
    (``h264_nvenc``, whose presets are ``p1``-``p7``) is left alone: this app gives it no preset, and
    :func:`preset_note` says so. As x264 does, any case is taken, and x264's numbers 0-9."""
    if codec not in _PRESET_CHECKED:
        return
    if preset.lower() not in PRESETS and not (preset.isascii() and preset.isdigit() and int(preset) <= 9):
        raise OutputError(f"--preset {preset}: no such preset; use one of {', '.join(PRESETS)}")


def preset_note(opts: VideoOptions, suffixes: list[str]) -> str | None:
    """A note when ``--preset`` (other than the default) is given and an output suffix's encoder takes none: VP9
    (WebM), MPEG-4 Part 2 (AVI) and WMV have no preset, and a user who followed the docs' ``--preset veryfast``
    tip for a slow machine got no speed-up and no word. None when the preset applies to every output.

    ``--preset medium`` given by hand cannot be told from the default, and changes nothing, so it gets none.
    """
    if opts.preset == DEFAULT_PRESET:
        return None
    ignored = {}
    for suffix in suffixes:
        codec = opts.codec or _default_codec(CONTAINERS.get(suffix.lower(), "mp4"))
        if codec not in _PRESET_CODECS:
            ignored.setdefault(codec, []).append(suffix)
    if not ignored:
        return None
    where = ", ".join(f"{codec} ({', '.join(found)})" for codec, found in ignored.items())
    crf = [codec for codec in ignored if "crf" in encoder_options(codec, opts, "mp4") or codec in _QUANTISER_CODECS]
    also = f" (--crf still applies to {', '.join(crf)})" if crf else ""
    return f"applies to libx264 and libx265 only; ignored for {where}{also}"


def _refusal(codec: str, suffix: str, opts: VideoOptions, exc: BaseException, *, suggest: bool) -> str:
    """The one line for an encoder that FFmpeg refused on the probe: what is likely wrong, and what works.

    ``--codec mjpeg`` into MP4 read "cannot encode mjpeg into .mp4 with --preset medium --crf 18 (Invalid
    argument)", though MJPEG takes neither option: what it refuses is the limited-range ``yuv420p`` frames
    written (it wants full-range ``yuvj420p``), as PNG refuses anything but RGB. So the options are named only
    for an encoder that takes them, else its pixel formats; and the encoders that do work in that container are
    listed, each tried there first (only now, on the way to an error)."""
    fmt = CONTAINERS.get(suffix.lower(), "mp4")
    reason = _reason(exc)
    taken = [f"--{key} {getattr(opts, key)}" for key in ("preset", "crf") if key in encoder_options(codec, opts, fmt)]
    if taken and "does not support" not in reason:  # the container's refusal names the codec; options are not it
        likely = f"with {' '.join(taken)} ({reason}); check --codec and those options, or --format for the container"
    elif taken:
        likely = f"({reason})"
    elif codec.endswith(_HARDWARE_SUFFIXES):
        likely = f"({reason}); a hardware encoder needs its device and driver on this machine"
    else:
        likely = f"({reason})"
        formats = _pixel_formats(codec)
        if formats and "yuvj" in formats and "Invalid argument" in reason:  # a full-range-only encoder (MJPEG)
            likely += f"; most likely it refuses the limited-range yuv420p frames written (it takes {formats})"
    working = [c for c in _SUGGESTED_CODECS if suggest and c != codec and _encodes(c, suffix, opts)]
    listed = ", ".join(working[:-1]) + f" or {working[-1]}" if len(working) > 1 else "".join(working)
    instead = f"use --codec {listed}, or leave out --codec" if working else "leave out --codec"
    return f"cannot encode {codec} into {suffix} {likely}; {instead}"


def encoder_format(codec: str, wanted: str) -> str:
    """``wanted`` if encoder ``codec`` takes it, else the first format it lists without alpha that holds at least
    ``wanted``'s chroma and bits, else its first; ``wanted`` where FFmpeg does not say (the encoder then decides).

    Why: ProRes takes only 4:2:2 and 4:4:4 at 10 bits and DNxHR starts at 8-bit 4:2:2, so a 4:2:0 frame is refused
    ("Invalid argument"): a supported mezzanine encoder must get a format it takes, in the probe and the run alike.
    """
    av = _av()
    try:
        formats = [f for f in av.Codec(codec, "w").video_formats or ()]
    except (ValueError, TypeError):  # no such encoder: the caller says so
        return wanted
    if not formats or wanted in {f.name for f in formats}:
        return wanted
    want = av.video.format.VideoFormat(wanted)
    bits, sub = max(c.bits for c in want.components), (want.chroma_width(64), want.chroma_height(64))

    def holds(f: Any) -> bool:
        if any(c.is_alpha for c in f.components) or not f.name.startswith("yuv"):
            return False
        deep_enough = max(c.bits for c in f.components) >= bits
        return deep_enough and f.chroma_width(64) >= sub[0] and f.chroma_height(64) >= sub[1]

    return next((f.name for f in formats if holds(f)), formats[0].name)


def _pixel_formats(codec: str) -> str:
    """The pixel formats ``codec`` encodes, the first few named ("" when FFmpeg does not say)."""
    try:
        names = [f.name for f in (_av().codec.Codec(codec, "w").video_formats or ())]
    except Exception:  # noqa: BLE001 - a hint only: an FFmpeg that cannot say leaves it out
        return ""
    return ", ".join(names[:4]) + (" ..." if len(names) > 4 else "")


def _encodes(codec: str, suffix: str, opts: VideoOptions) -> bool:
    """Whether ``codec`` passes :func:`check_encoder` into ``suffix`` with the user's ``--crf`` and ``--preset``."""
    if codec not in _av().codecs_available:
        return False
    try:
        check_encoder(VideoOptions(codec=codec, crf=opts.crf, preset=opts.preset), suffix, suggest=False)
    except OutputError:
        return False
    return True


def _write_probe(probe: Any, codec: str, opts: VideoOptions, fmt: str) -> None:
    """Encode :data:`_PROBE_FRAMES` black 64×64 frames at 25 fps, 0 s first, into the open container ``probe``,
    set up as the real stream is, and close it (its trailer is written here, so a refusal there is the
    encoder's too)."""
    av = _av()
    stream = probe.add_stream(codec, rate=25)
    width, height = _PROBE_SIZES.get(codec, (64, 64))
    stream.width, stream.height, stream.pix_fmt = width, height, encoder_format(codec, "yuv420p")
    if fmt != "avi":  # as the real stream: the input's time base (1/1000 in WMV and Matroska); AVI's is 1/rate
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
    _configure(stream, codec, opts, fmt)
    for i in range(_PROBE_FRAMES):  # a one-frame x265 stream can come out with a garbage dts; real clips do not
        frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)  # HEVC in MP4 refuses frames without one
        probe.mux(stream.encode(frame))
    probe.mux(stream.encode(None))
    probe.close()


def _reason(exc: BaseException) -> str:
    """Why FFmpeg refused the encoder, in its own words but without the call that failed: a bad --preset
    read "Invalid argument: 'avcodec_open2(...)' returned 22", with every option quoted and escaped."""
    strerror = getattr(exc, "strerror", None)
    return strerror if isinstance(strerror, str) and strerror else one_line(exc)


def _mistimed(back: Any) -> str | None:
    """What is wrong with the times of the probe's frames read back from the container ``back``, or None.

    Out of order, or two frames at one time: H.264 in WMV (ASF keeps one timestamp a frame, which B-frames'
    reordering needs more of). Shifted: the first frame not at the start of the stream, though it was written
    first at 0 s: H.264 in AVI, whose index holds no timestamps, read back a frame late (0.04 s, 0.08 s ...
    for 0 s, 0.04 s ...), so the video came a frame after its sound. A container that moves the whole file
    (MPEG-TS and FLV start it at the first frame's time, 0.08 s after x264's reordering delay, and the sound
    with it) keeps the frames where they were against the start, and is not shifted. Frames without a
    timestamp (MPEG program streams give only some frames one) are left out.
    """
    if not back.streams.video or back.streams.video[0].codec_context is None:  # read back as data (ProRes in
        # MPEG-TS), or as a video no decoder opens (ProRes or DNxHR in MPEG-PS): a file without a picture
        return "it reads back with no video stream (the container does not carry this codec as video)"
    video = back.streams.video[0]
    times = [f.pts * f.time_base for f in back.decode(video) if f.pts is not None]
    if any(a >= b for a, b in zip(times, times[1:], strict=False)):
        return "its frames would play out of order (the container keeps one timestamp a frame)"
    start = video.start_time * video.time_base if video.start_time is not None else Fraction(0)
    if times and times[0] != start:
        late = float(times[0] - start)
        return f"its frames would come back shifted, {abs(late):g} s {'late' if late > 0 else 'early'}"
    return None
