"""The video encoder: which codec (:data:`_DEFAULT_CODEC` by container), the user's choices
(:class:`VideoOptions`), the FFmpeg options they become (:func:`encoder_options`), and
:func:`check_encoder`, which opens it once on a tiny frame so a bad ``--codec`` or ``--preset`` is one
error before any work.

:func:`_configure` serves the real encoder (:mod:`.video_stream`) and the probe of what it keeps
(:mod:`.carries`) alike, so what the probe learns holds for the file then written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from weatherclean.errors import OutputError, one_line
from weatherclean.io.video.containers import CONTAINERS
from weatherclean.io.video.pyav import _av

#: The video codec used when none is asked for: H.264, except VP9 for WebM (which holds only VP8/VP9/AV1)
#: and MPEG-4 Part 2 for AVI, whose index has no timestamps: H.264 read back from AVI comes out a frame late.
_DEFAULT_CODEC = {"webm": "libvpx-vp9", "avi": "mpeg4"}


@dataclass(frozen=True)
class VideoOptions:
    """Encoder choices: ``codec`` None picks H.264 (VP9 for WebM); ``crf`` and ``preset`` as in FFmpeg."""

    codec: str | None = None
    crf: int = 18
    preset: str = "medium"


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
