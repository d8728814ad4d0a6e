"""The one call that rewrites a video, :func:`process_video`: read the rotation, set up every output
stream, run the transcoder and judge the outcome, writing under a hidden temporary name that is renamed
into place when complete.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.errors import InputError, OutputError, is_disk_full, one_line
from weatherclean.io.atomic import atomic_path
from weatherclean.io.media import VIDEO_SUFFIXES
from weatherclean.io.orientation import rotation_stored, rotation_upright
from weatherclean.io.video.colour import _HdrStatic
from weatherclean.io.video.containers import CONTAINERS, _muxer_options
from weatherclean.io.video.encoder import VideoOptions
from weatherclean.io.video.metadata import (
    _container_tags,
    _flags_kept,
    _keep_chapters,
    _recording_metadata,
    _source_writer,
)
from weatherclean.io.video.outcome import VideoResult, _record_outcome
from weatherclean.io.video.pyav import _av
from weatherclean.io.video.reading import _open_input, _probe
from weatherclean.io.video.side_streams import _DISCARD_ALL, _add_side_streams, video_stream_name
from weatherclean.io.video.timecode import _keep_timecode
from weatherclean.io.video.transcoder import _Transcoder
from weatherclean.io.video.video_stream import _add_video_stream, in_place_loss


def process_video(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    process: Callable[[np.ndarray], np.ndarray],
    *,
    options: VideoOptions | None = None,
    on_frame: Callable[[int, int | None], None] | None = None,
    partial_dest: str | os.PathLike[str] | None = None,
    upright: bool = False,
    replaces_input: bool = False,
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

    ``replaces_input`` says the result will replace ``source`` (``--in-place``): a clip that would lose what
    cannot be had back (an alpha matte, an intra-frame or lossless master, its 4:2:2 or 4:4:4 chroma, its bits,
    a second camera's video stream: :func:`in_place_refusal`) is then refused with an :class:`InputError` before
    any work; and 4:2:2 chroma, which H.264 and HEVC otherwise write as 4:2:0 from a master, is kept.
    """
    src, dst = Path(source), Path(dest)
    opts = options or VideoOptions()
    fmt = CONTAINERS.get(dst.suffix.lower())
    if fmt is None:
        raise OutputError(f"{dst}: unknown video container; use one of {', '.join(sorted(VIDEO_SUFFIXES))}")
    av = _av()
    # read from the first frame, before the output has any stream: the encoder takes the HDR10 metadata as options
    info, static = _probe(src)
    rotation = info.rotation
    result = VideoResult(path=dst, rotation=rotation)
    if upright and rotation % 360:
        process = _turned(process, rotation)

    def final() -> Path:
        return Path(partial_dest) if partial_dest is not None and result.partial else dst

    with atomic_path(dst, final=final) as tmp, _open_input(src) as inp:
        # before any frame, on the input the run reads (its temporary output is removed with the refusal)
        if replaces_input and (lost := _in_place_lost(inp, fmt, opts)):
            raise InputError(f"{src}: --in-place would lose {lost}; use -o DIR to keep the original")
        try:
            _transcode(inp, tmp, fmt, process, opts, on_frame, result, src, rotation, static, replaces_input)
        except av.error.FFmpegError as exc:  # mid-stream decode or encode failures: one line, not a traceback
            if is_disk_full(exc) or _writing_failed(exc, tmp):
                raise  # atomic_path names the output, as for photos: "out/a.mp4: cannot write (File too large)"
            raise InputError(f"{src}: video processing failed ({one_line(exc)})") from None
    result.path = final()
    return result


#: The file system's refusals of a write (a file over ``ulimit -f``, a read-only or failing disk, a folder whose
#: permissions changed, or that was removed): the output's fault, not the input's.
_WRITE_ERRNOS = frozenset({
    errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM, errno.ENOENT, errno.ESTALE, errno.ENOSPC,
    errno.EDQUOT, errno.ENAMETOOLONG,
})  # fmt: skip


def _writing_failed(exc: BaseException, tmp: Path) -> bool:
    """Whether FFmpeg's error ``exc`` is the file system refusing to write the output's temporary file ``tmp``.

    Why: every FFmpeg error was "INPUT: video processing failed ([Errno 27] File too large: '.../.a.mp4.x1.part')",
    which blamed the input and named a hidden file the user never sees; photos say "out/a.png: cannot write (File
    too large)". Raised as it is, :func:`~weatherclean.io.atomic.atomic_path` words it so. Only the output's own
    errors count (PyAV names the file whose call failed); a muxer's "Invalid argument" stays processing's."""
    return isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS and str(exc.filename or "") == str(tmp)


def in_place_refusal(src: Path, dest: Path, options: VideoOptions) -> str | None:
    """What writing video ``src`` as ``dest`` in its place (``--in-place``) would lose, or None where nothing: the
    reason :func:`process_video` with ``replaces_input`` refuses it for, as in "--in-place would lose {reason}; use
    -o DIR to keep the original" ("its ProRes 422 master (re-encoded as HEVC)", "its second video stream (h264,
    96x96)"). From the container's headers alone, decided as the run decides it, by the same code
    (:func:`_in_place_lost`): the output's container by ``dest``'s ending (None for one of no container: the run
    says so as it writes), the encoder ``options`` give. For a dry run, which must refuse what the run would.

    Raises the run's :class:`InputError` for a file that cannot be opened as a video.
    """
    fmt = CONTAINERS.get(Path(dest).suffix.lower())
    if fmt is None:
        return None
    with _open_input(Path(src)) as inp:
        return _in_place_lost(inp, fmt, options)


def _in_place_lost(inp: Any, fmt: str, opts: VideoOptions) -> str | None:
    """What the open input ``inp`` written in place into container ``fmt`` would lose: its first video stream's
    loss (:func:`~.video_stream.in_place_loss`), else its other cameras (:func:`_other_cameras`)."""
    return in_place_loss(inp.streams.video[0], fmt, opts) or _other_cameras(inp)


def _other_cameras(inp: Any) -> str | None:
    """The video streams after the first that the run drops ("its second video stream (h264, 96x96)"), or None.

    Why refused in place: only the first video stream is processed, and the others cannot be copied beside it,
    so a dual-lens 360 camera's or a front-and-rear dash cam's second picture is gone once the file is replaced
    (with ``-o`` it is a note). A cover picture (an attached picture: a still, not a camera) is not counted: it is
    dropped with its own note, in place too, as before; nor a stream the demuxer is told to skip (MP4's chapter
    text, see :func:`~.metadata._keep_chapters`).
    """
    attached = _av().stream.Disposition.attached_pic
    first = inp.streams.video[0].index
    names = []
    for s in inp.streams.video:
        if s.index == first or s.disposition & attached or getattr(s, "discard", 0) >= _DISCARD_ALL:
            continue
        names.append(video_stream_name(inp, s))
    if not names:
        return None
    return "its " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


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
    static: _HdrStatic | None,
    replaces_input: bool,
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
        out.metadata.update(
            _container_tags(fmt, _recording_metadata(inp.metadata), result.notes, _source_writer(inp.metadata))
        )
        _keep_chapters(inp, out, result.notes)
        video = _add_video_stream(out, vin, fmt, opts, rotation, result.notes, static, replaces_input)
        _keep_timecode(inp, out, video, fmt, result.notes)
        side = _add_side_streams(inp, out, fmt, result.notes)
        transcoder = _Transcoder(inp, out, video, side, process, on_frame, total, src)
        transcoder.run()
    carried = [(vin.index, video.stream.index)] + [(i, s.index) for i, s in side.outputs().items()]
    _flags_kept(inp, str(tmp), carried, fmt, result.notes)
    _record_outcome(result, transcoder, vin, inp, total)
    for converted in side.subtitles.values():  # cues a conversion had to leave out
        result.notes += converted.notes()
    sar = vin.codec_context.sample_aspect_ratio
    result.pixel_aspect = float(sar) if sar else 1.0
    if video.turn:  # written upright (AVI): no rotation on the output, and a quarter turn swaps the pixel's sides
        result.rotation = 0
        result.pixel_aspect = 1.0 / result.pixel_aspect if video.turn % 180 else result.pixel_aspect
