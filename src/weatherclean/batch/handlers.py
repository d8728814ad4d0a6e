"""Doing one job, by its kind: a photo, a video file, or a folder of frames (``--frames``) as one clip.

Each handler loads its input, runs the restoration it is given and writes ``job.output`` atomically,
and returns notes for the summary; :func:`job_handler` picks one per job from a table keyed by
:attr:`Job.kind <weatherclean.batch.jobs.Job.kind>`. The model itself is not built here: a
:class:`Restoration` brings the caller's functions, so batch work stays apart from restoration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, NoReturn, ParamSpec, TypeVar

import numpy as np

from weatherclean.batch.jobs import FrameProgress, Job, JobHandler, Plan, Record, display
from weatherclean.batch.outputs import foreign_files, foreign_reason, make_parent, output_suffix
from weatherclean.batch.plan import MediaOptions
from weatherclean.errors import InputError, OutputError, WeathercleanError, is_out_of_memory, one_line
from weatherclean.io import compare as pictures
from weatherclean.io.atomic import make_beside, tag_in_effect, tagged
from weatherclean.io.images import LoadedImage, Quality, load_image, save_image
from weatherclean.io.images.formats import frame_unit
from weatherclean.io.images.opener import limit_refusal
from weatherclean.io.images.tiff import extra_channels_text
from weatherclean.io.leftovers import temp_prefix
from weatherclean.io.media import list_frames
from weatherclean.io.orientation import to_stored, to_upright
from weatherclean.io.permissions import copy_mode, input_mode, keep_setgid, new_files_like, process_umask
from weatherclean.io.sidecars import clear_listings, copy_sidecars, proxies_of
from weatherclean.io.video import VideoOptions, in_place_refusal, partial_path, process_video
from weatherclean.provenance import set_tag
from weatherclean.restore.protocols import ClipRestorer

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "OutOfMemory", "PartialVideoError", "Restoration", "StagedHandler", "clip_handler", "compare_note",
    "fail_in_place_losses", "fail_over_limit", "job_handler", "photo_handler", "staged", "stages_of", "video_handler",
]  # fmt: skip


@dataclass(frozen=True)
class Restoration:
    """The model as the handlers use it: ``photo`` restores one decoded photo (H×W×C float pixels out, and
    may write them over ``image.pixels``); ``clip`` makes a fresh memory for each video or clip (clips
    never share state). Without ``clip`` only photo jobs can run."""

    photo: Callable[[LoadedImage], np.ndarray]
    clip: Callable[[], ClipRestorer] | None = None


@dataclass(frozen=True)
class StagedHandler:
    """A job handler in three stages, so that a runner can overlap them across jobs: ``decode`` (read the
    input; any thread), ``compute`` (the model; the runner's main thread, where Ctrl-C lands) and
    ``encode`` (write ``job.output`` atomically and return the notes; any thread).

    Called as a plain :data:`~weatherclean.batch.jobs.JobHandler` it runs the three in a row: the result is
    the same bytes either way, so a runner that takes one job at a time (a Ray actor, a test) needs
    nothing else. Each stage's value is handed to the next one unchanged.
    """

    decode: Callable[[Job], Any]
    compute: Callable[[Job, Any], Any]
    encode: Callable[[Job, Any], list[str]]

    def __call__(self, job: Job, _frames: FrameProgress) -> list[str]:
        decoded = staged("decode", self.decode, job)
        return staged("encode", self.encode, job, staged("restore", self.compute, job, decoded))


class OutOfMemory(MemoryError):
    """A ``MemoryError`` in one stage of a photo's job (``decode``, ``restore``, ``encode``), so that its reason
    names the stage: "try a smaller --tile" after a photo computed for minutes ran out while being written was
    untrue. Still a ``MemoryError`` to whoever catches those. ``detail`` is what the library said, where it said
    it in words of its own (PyTorch's "could not create a primitive"), else None."""

    def __init__(self, stage: str, detail: str | None = None) -> None:
        super().__init__(stage)
        self.stage = stage
        self.detail = detail


def staged(stage: str, call: Callable[..., _R], *args: Any) -> _R:
    """``call(*args)``, its ``MemoryError`` named with ``stage`` (:class:`OutOfMemory`): one place for the runners
    that overlap the stages and for :class:`StagedHandler` run whole (one job at a time, a Ray actor). A
    ``RuntimeError`` that says memory ran out (:func:`~weatherclean.errors.is_out_of_memory`: PyTorch under a memory
    limit raises those, not ``MemoryError``) is one too: it failed each photo as "RuntimeError: can't allocate
    memory", which a batch could not tell from a bug and the user could not act on."""
    try:
        return call(*args)
    except OutOfMemory:
        raise
    except MemoryError:
        raise OutOfMemory(stage) from None
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        raise OutOfMemory(stage, one_line(exc, 100)) from None


#: Modes whose conversion cannot be undone, so that writing the result over the input loses them: CMYK (or Lab...)
#: is written as RGB, a palette picture as RGB (about 3 to 4 times the file), a 1-bit scan as 8-bit greyscale.
_CONVERTED_MODES = {"CMYK": "its CMYK colours", "LAB": "its Lab colours", "YCbCr": "its YCbCr samples",
                    "HSV": "its HSV samples", "P": "its palette (it would be written as RGB, several times larger)",
                    "PA": "its palette (it would be written as RGBA, several times larger)",
                    "1": "its 1-bit depth (it would be written as 8-bit greyscale, several times larger)"}  # fmt: skip
#: A palette picture with transparency (a ``tRNS`` chunk) is written with its alpha: as RGBA, not RGB.
_CONVERTED_MODES["P+alpha"] = _CONVERTED_MODES["PA"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _like_input(write: Callable[Concatenate[Job, _P], _R]) -> Callable[Concatenate[Job, _P], _R]:
    """``write`` with every new file it makes taking the permissions of the job's input less the umask, as
    ``cp`` gives (:func:`~weatherclean.io.permissions.new_files_like`): a private 0600 photo gets a 0600 output,
    not a world-readable one. A file replaced (``--in-place``, ``--overwrite``) keeps its own permissions."""

    def wrapped(job: Job, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with new_files_like(job.source):  # its bits read now, as the job starts: the input may move meanwhile
            return write(job, *args, **kwargs)

    return wrapped


def in_place_loss(image: LoadedImage) -> str | None:
    """What replacing ``image``'s file with its restored first page would lose, or None.

    Only the first page or frame of a multi-page TIFF or an animation is processed (and of a JPEG with a gain
    map behind it), CMYK (or Lab...) and palette pictures are written as RGB, and 1-bit ones as 8-bit greyscale,
    a 10-bit AVIF is read at 8 bits, a HEIC's or AVIF's auxiliary images (a gain map, mattes, a depth map) are
    not written, a HEIC or AVIF motion photo's video is not kept, nor a JPEG's when its XMP names one that was
    not found in the bytes after its picture (its tags are dropped): fine beside the original, but in place the
    other pages, the colour model, the small file, the bits, those images or the video would be gone for good,
    with only a note to say so. (A 10-bit HEIC keeps its bits, and a JPEG keeps the bytes after its picture, a
    motion photo's video among them. A JPEG whose XMP names a video but with nothing after its picture, as
    earlier weatherclean versions wrote them, has nothing to lose: its stale motion tags are dropped, noted.)
    A TIFF's extra channel that is not its transparency (Photoshop's saved selection "Alpha 1") and its
    Photoshop layers (tag 37724) are not written either: in place they went with only a note, or none. (Its
    Photoshop resources alone, tag 34377, are kept, so they refuse nothing.)
    """
    trailer = image.extra.get("trailer")
    frames = max(image.frames, 1 + getattr(trailer, "pictures", 0))  # a gain map behind the picture
    if frames > 1:
        unit = frame_unit(image.format)[1]
        which = f"{unit} 2" if frames == 2 else f"{unit}s 2–{frames}"
        return f"{which} (only the first is processed)"
    if image.extra.get("motion_lost"):
        return "its motion photo video (kept for JPEG motion photos only)"
    if getattr(trailer, "video_missing", False) and trailer.kept:  # nothing after the picture: nothing to lose
        return "its motion photo video (its XMP names one, but it was not found after the picture)"
    if auxiliary := image.extra.get("heif_auxiliary"):
        return f"its {', '.join(auxiliary)} (weatherclean cannot write auxiliary images)"
    if image.extra.get("photoshop_layers"):
        return "its Photoshop layers (TIFF tag 37724)"
    if channels := image.extra.get("extra_channels"):
        return f"its {extra_channels_text(tuple(channels))}"
    bits = image.extra.get("bits")
    if isinstance(bits, int) and bits > image.bit_depth:  # a 10-bit AVIF, which Pillow reads at 8 bits
        return f"its {bits}-bit depth (it is read and written at {image.bit_depth} bits)"
    mode = "P+alpha" if image.mode == "P" and image.alpha is not None else image.mode
    return _CONVERTED_MODES.get(mode)


def fail_in_place_losses(plan: Plan, video: VideoOptions | None = None) -> None:
    """``--dry-run --in-place``: move to ``plan.failed`` each photo and video job that the run would refuse, with
    the run's reason: a file that cannot be read, or one whose file ``--in-place`` would lose something of: for a
    photo (:func:`in_place_loss`) other pages, CMYK, a palette, a motion photo's video; for a video
    (:func:`weatherclean.io.video.in_place_refusal`, the run's own test, with ``video``: the run's ``--codec``,
    which decides it; None: the default encoders) an alpha matte, an intra-frame or lossless master, its 4:2:2 or
    4:4:4 chroma, its bit depth where the encoder would cut it (a 12-bit clip written at 10 bits by libx265, 10-bit
    into FLV), or a second video stream (a dual-lens or front-and-rear camera's:
    only the first is processed, the others dropped).

    Why: a dry run's exit code is the run's ("1 when an input is already known to fail"), and an archivist checks
    ``--in-place`` there first; it said every multi-page, CMYK and palette master would be done, and the run then
    refused them; an editor's ProRes 4444 masters were said to be done too. Each photo is decoded for this, as the
    run does (no model runs): it takes the time reading them takes. A video is only opened (its headers read, no
    frame decoded), which is all the run's own check looks at."""
    keep: list[Job] = []
    for job in plan.jobs:
        if not job.replaces_input or job.kind not in ("photo", "video"):
            keep.append(job)
            continue
        try:
            if job.kind == "photo":
                lost = in_place_loss(load_image(job.source))
            else:
                lost = in_place_refusal(job.source, job.output, video or VideoOptions())
        except WeathercleanError as exc:
            plan.failed.append(Record(display(job.source), str(exc)))
            continue
        if lost:
            plan.failed.append(Record(display(job.source), _refusal(lost)))
        else:
            keep.append(job)
    plan.jobs[:] = keep


def fail_over_limit(plan: Plan) -> None:
    """``--dry-run``: move to ``plan.failed`` each photo job over the decompression-bomb limit, with the run's reason
    (:func:`~weatherclean.io.images.opener.limit_refusal`, from the header: no pixel is decoded). Why: the dry run
    said such a photo would be done, with exit code 0, and the run then failed it."""
    keep: list[Job] = []
    for job in plan.jobs:
        refused = limit_refusal(job.source) if job.kind == "photo" else None
        if refused:
            plan.failed.append(Record(display(job.source), refused))
        else:
            keep.append(job)
    plan.jobs[:] = keep


def _links_left(job: Job) -> int:
    """How many hard links of ``job``'s input keep showing the original once it is replaced in place: as planned
    (:attr:`~weatherclean.batch.jobs.Job.other_links`), else its link count now, less itself; 0 beside the input."""
    if not job.replaces_input:
        return 0
    return job.other_links if job.other_links is not None else os.stat(job.source).st_nlink - 1


def _refusal(lost: str) -> str:
    return f"--in-place would lose {lost}; use -o DIR to keep the original"


def _comparison(image: LoadedImage, pixels: np.ndarray) -> PILImage:
    """The ``--compare`` picture of ``pixels`` (the photo's, or its result), as a viewer shows the photo: through its
    ICC profile and over white where it is transparent, as the ``compare`` command's sheets show it."""
    return pictures.thumbnail(pixels, pictures.MAX_SIDE, alpha=image.alpha, icc=image.icc_profile)


@dataclass
class _Photo:
    """One photo between the stages: the decoded image, its before-thumbnail, then the restored pixels."""

    image: LoadedImage
    #: Hard links of an input replaced in place that the batch does not replace (:func:`_links_left`).
    other_links: int
    before: PILImage | None
    #: The input's permission bits, read as it was decoded (:func:`~weatherclean.io.permissions.input_mode`).
    mode: int
    result: np.ndarray | None = None


def photo_handler(
    process: Callable[[LoadedImage], np.ndarray],
    *,
    quality: Quality = 95,
    format: str | None = None,
    compare: bool = False,
) -> StagedHandler:
    """The handler for photos: decode with metadata, ``process`` the pixels, save like the input, and copy the
    input's XMP sidecars beside the output (:func:`~weatherclean.io.sidecars.copy_sidecars`): a photographer's
    ratings, keywords and edits live there, and an output without them came back bare into the catalogue.

    ``compare`` also writes a before | after picture beside each output (:mod:`weatherclean.io.compare`).
    Its "before" is taken ahead of ``process``, which may write the result over the decoded pixels.

    Made once per batch (:func:`job_handler`, :func:`~weatherclean.batch.run.run_batch`): the folder listings the
    sidecars are found through are emptied here (:func:`~weatherclean.io.sidecars.clear_listings`), so each batch
    lists each folder once, as it is then, and a process that runs batch after batch never works from an old one.
    """
    clear_listings()

    def decode(job: Job) -> _Photo:
        others = _links_left(job)
        image = load_image(job.source)
        lost = in_place_loss(image) if job.replaces_input else None
        if lost:
            raise InputError(f"{job.source}: {_refusal(lost)}")
        before = _comparison(image, image.pixels) if compare else None
        return _Photo(image, others, before, input_mode(job.source))

    def compute(job: Job, photo: _Photo) -> _Photo:
        shape = photo.image.pixels.shape
        result = np.asarray(process(photo.image), dtype=np.float32)
        if result.shape[:2] != shape[:2]:
            raise OutputError(f"{job.source}: processing changed the size {shape} → {result.shape}")
        photo.result = result
        return photo

    def encode(job: Job, photo: _Photo) -> list[str]:
        result, before = photo.result, photo.before
        assert result is not None
        make_parent(job.output, like=job.source, mirrored=job.mirrored)
        with new_files_like(photo.mode):  # the output (and its --compare picture) as private as the photo
            return write_output(job, photo, result, before)

    def write_output(job: Job, photo: _Photo, result: np.ndarray, before: PILImage | None) -> list[str]:
        image = photo.image
        saved = save_image(job.output, result, image, format=format, quality=quality)
        notes = [*getattr(image, "notes", ()), *getattr(saved, "notes", ())]
        if not job.replaces_input:  # in place, the input's sidecars stand beside the output already
            notes += copy_sidecars(job.source, job.output)  # notes at most: the photo is done
        if photo.other_links:
            notes.append(f"had {photo.other_links} other hard link(s); they still show the original picture")
        if before is not None:
            after = _comparison(image, result)
            notes += compare_note(
                lambda: pictures.write_side_by_side(before, after, job.output, orientation=image.orientation)
            )
        return notes

    return StagedHandler(decode, compute, encode)


def compare_note(write: Callable[[], object]) -> list[str]:
    """Run ``write`` (a comparison picture); a failure is a note, never a failed file: the output is done."""
    try:
        write()
    except (WeathercleanError, OSError, ValueError) as exc:
        return [f"comparison picture not written ({one_line(exc)})"]
    return []


class PartialVideoError(InputError):
    """A video that decoded only in part, run without ``--allow-partial``: a failure whose restored frames were
    kept under the ``.partial`` name :attr:`partial` (the real path), with the run's :attr:`notes`.

    Why not a plain message: a script reading ``--json`` needs the file it can look at in a field of its own
    (the summary shows it as the user's paths were typed, :class:`~weatherclean.batch.run.PartialFailure`), and
    the notes say what the written frames went through (a clock reset, frames put back in order), which a
    failure alone lost."""

    def __init__(self, message: str, partial: Path, notes: list[str]) -> None:
        super().__init__(message)
        self.partial = partial
        self.notes = notes

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (a Ray actor's), with its three arguments
        return (type(self), (str(self), self.partial, self.notes))


def video_handler(
    new_clip: Callable[[], ClipRestorer], options: VideoOptions, *, allow_partial: bool, compare: bool = False
) -> JobHandler:
    """The handler for video files: decode, restore frame after frame with one memory, encode.

    Length, timing, rotation, audio and subtitles are kept (:func:`weatherclean.io.video.process_video`).
    A video that decodes only in part is written with every frame that decoded; ``allow_partial`` says
    whether it then counts as done (with a note) or as failed.
    """

    def handle(job: Job, progress: FrameProgress) -> list[str]:
        make_parent(job.output, like=job.source, mirrored=job.mirrored)
        clip = new_clip()
        sampler = pictures.FrameSampler() if compare else None

        def process(frame: np.ndarray) -> np.ndarray:
            restored = clip(frame)
            if sampler is not None:
                sampler.offer(frame, restored)
            return restored

        progress.start(None, f"  frames of {job.source.name}")
        # Without --allow-partial a partial result is a failure, so it must not take the output's name (a
        # rerun would skip it as done) nor replace the input (--in-place): it goes to NAME.partial.mp4.
        marked = None if allow_partial else partial_path(job.output)
        # upright: the model sees frames as a player shows them (rain falls down the shown picture), and so
        # does the sampler, whose strip then needs no turning.
        result = process_video(
            job.source, job.output, process, options=options, on_frame=progress.update, partial_dest=marked,
            upright=True, replaces_input=job.replaces_input,
        )  # fmt: skip
        notes = [*result.notes, *clip.notes]
        if result.path == job.output:  # finished under its own name (not a .partial.mp4 kept to look at)
            notes += _video_companions(job)
        stale = partial_path(job.output)
        if result.path != stale and stale.is_file():  # an earlier run's partial result, now superseded
            try:
                stale.unlink()
                notes.append(f"removed {stale.name}, an earlier run's partial result")
            except OSError as exc:  # the video itself is done; a leftover is worth a note, not a failure
                notes.append(f"could not remove {stale.name}, an earlier run's partial result ({exc.strerror})")
        if sampler is not None:
            aspect = result.shown_aspect()
            notes += compare_note(lambda: pictures.write_strip(sampler, result.path, pixel_aspect=aspect))
        if result.partial and not allow_partial:
            damage = f"{result.shortfall()} could be decoded"  # the reason says it: not a note as well
            raise PartialVideoError(
                f"{job.source}: only {damage} (truncated or damaged file); those were restored into {result.path}; "
                "--allow-partial counts such videos as done",
                result.path, [note for note in notes if not note.startswith(damage)],
            )  # fmt: skip
        return notes

    return _like_input(handle)


def _video_companions(job: Job) -> list[str]:
    """What a finished video job does with the files beside its input: beside an output elsewhere, its sidecars
    are copied (a DJI drone's flight log ``DJI_0001.SRT``, an ``.xmp``: :func:`~weatherclean.io.sidecars.copy_sidecars`,
    notes at most); in place they stay as they are, and a note names the proxies and thumbnails a camera wrote beside
    it (a GoPro's ``.LRV`` and ``.THM``, a DJI's ``.LRF``), which still show the original clip: a phone app or an
    editor that plays the proxy shows the rain the clip no longer has."""
    if not job.replaces_input:
        return copy_sidecars(job.source, job.output, video=True)
    proxies = proxies_of(job.source)  # never raises: a folder that cannot be listed has none
    if not proxies:
        return []
    names = ", ".join(p.name for p in proxies)
    return [f"{names} beside it still show{'s' if len(proxies) == 1 else ''} the original clip (a camera's proxy "
            "or thumbnail, not processed); delete them, or let the camera's app make them again"]  # fmt: skip


def clip_handler(
    new_clip: Callable[[], ClipRestorer],
    *,
    quality: Quality = 95,
    image_format: str | None = None,
    compare: bool = False,
) -> JobHandler:
    """The handler for ``--frames``: a folder of frames in (natural order), a folder of frames out; the
    output folder appears complete or not at all."""

    def handle(job: Job, progress: FrameProgress) -> list[str]:
        names = list_frames(job.source)
        if not names:
            raise InputError(f"{job.source}: no frames in this folder")
        folder_mode = input_mode(job.source)  # read as the job starts: the clip may be moved meanwhile
        make_parent(job.output, like=job.source, mirrored=job.mirrored)
        prefix = temp_prefix(job.output.name)
        work = Path(make_beside(job.output.parent, lambda at: tempfile.mkdtemp(prefix=prefix, suffix=".part", dir=at)))
        clip = new_clip()
        sampler = pictures.FrameSampler() if compare else None
        notes: list[str] = []
        size: tuple[int, int] | None = None
        tag = tag_in_effect()  # the run's provenance: on each frame and on the clip's folder
        try:
            with tagged(work, tag):
                progress.start(len(names), f"  frames of {job.source.name}")
                for i, frame_path in enumerate(names, start=1):
                    image = load_image(frame_path)
                    shown = to_upright(image.pixels, image.orientation)  # rain falls down the shown frame
                    if size is not None and shown.shape[:2] != size:
                        raise InputError(_size_mismatch(frame_path, shown.shape[:2], names[0], size))
                    size = shown.shape[:2]
                    restored = clip(shown)  # a new array: the frame itself is left as decoded
                    if sampler is not None:
                        sampler.offer(shown, restored)
                    dest = output_suffix(work / frame_path.name, image_format)
                    stored = to_stored(restored, image.orientation)
                    saved = save_image(dest, stored, image, format=image_format, quality=quality)
                    with contextlib.suppress(OSError):  # its frame's permissions, as cp -r; the work folder is 0700
                        os.chmod(dest, copy_mode(frame_path))
                    notes.extend(getattr(saved, "notes", ()))
                    progress.update(i, len(names))
                if tag is not None:  # the clip's folder carries it too: what a rerun reads (other_task)
                    set_tag(work, tag)
                notes += replace_folder(work, job.output, like=folder_mode)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        if sampler is not None:
            with new_files_like(names[0]):
                notes += compare_note(lambda: pictures.write_strip(sampler, job.output))
        return [*dict.fromkeys(notes), *clip.notes]

    return handle


def _size_mismatch(frame: Path, size: tuple[int, ...], first: Path, clip: tuple[int, ...]) -> str:
    """The one line for a ``--frames`` clip whose frame ``frame`` (``size``: height, width as shown) is not the
    size of its first frame ``first`` (``clip``). In W×H, as every other message gives sizes (it read "frame
    size (60, 80) differs from (120, 160)"), and with what to do.

    Why the clip fails rather than the frame being restored at its own size: a clip's frames are one sequence
    (a rain model carries its memory from frame to frame, at one size), and an output folder with one frame of
    another size is rarely what the user meant: most often a stray thumbnail or a frame of another clip."""
    (h, w), (ch, cw) = size[:2], clip[:2]
    return (
        f"{frame}: frame is {w}×{h}, but the clip's frames are {cw}×{ch} (as {first.name}); a clip's frames must "
        "all be one size: resize or remove this one, or move it to a folder of its own"
    )


def replace_folder(new: Path, dest: Path, *, like: Path | int | None = None) -> list[str]:
    """Move a finished folder into place; an older output folder (``--overwrite``, ``update``) goes only afterwards.
    Returns notes for the summary (a replaced folder that could not be removed whole).

    Only a clip's own output folder is ever replaced: one that holds anything but the frame outputs ``new`` holds
    (under any ``--format``; :func:`~weatherclean.batch.outputs.foreign_files`), sub-folders included, may be
    a folder the user made, and is refused rather than deleted. The planner skips such a folder already; this is
    the last look, just before the rename, and the folder is looked at once more after it is moved aside (a file
    dropped in between the look and the rename would otherwise be deleted with it): it is then put back and the
    job fails. The folder moved aside is removed file by file, its own frames only (:func:`_remove_replaced`),
    never as a tree. The new folder keeps the permissions of the one it replaces; a new one takes those of
    ``like`` (the input clip's folder, or its bits read when the job started) less the umask, as ``cp -r`` does,
    else what ``mkdir`` gives; either way it keeps the set-group-ID bit a team folder gave it.
    """
    own = os.listdir(new)
    if os.path.lexists(dest):
        why = foreign_reason(dest, own)
        if why is not None:
            raise OutputError(f"{dest}: {why}")
    if dest.exists():
        mode = dest.stat().st_mode & 0o7777
    else:
        mode = copy_mode(like, folder=True) if like is not None else 0o777 & ~process_umask()
    os.chmod(new, keep_setgid(new, mode))  # mkdtemp makes 0700 folders; one in a set-group-ID folder inherits it
    old: Path | None = None
    try:
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            why = foreign_reason(old, own)  # anything dropped in since the look above came along
            if why is not None:
                _put_back(old, dest, why)
        os.replace(new, dest)
    except OSError as exc:
        if old is not None and not dest.exists():
            with contextlib.suppress(OSError):
                os.replace(old, dest)
        raise OutputError(f"{dest}: cannot move the finished frames into place ({exc.strerror or exc})") from None
    return _remove_replaced(old, dest, own) if old is not None else []


def _put_back(old: Path, dest: Path, why: str) -> NoReturn:
    """Put the output folder moved aside to ``old`` back at ``dest`` (something not the clip's appeared in it) and
    fail the job with ``why``; one that cannot be put back stays at ``old``, and the message says where."""
    try:
        os.replace(old, dest)
    except OSError as exc:
        raise OutputError(
            f"{dest}: {why}; it was moved aside to {old.name} and could not be put back ({exc.strerror or exc}): "
            f"rename it back yourself"
        ) from None
    raise OutputError(f"{dest}: {why}")


def _remove_replaced(old: Path, dest: Path, own: list[str]) -> list[str]:
    """Remove the output folder that ``dest`` replaced, moved aside to ``old``: each of the clip's own files by
    name (:func:`~weatherclean.batch.outputs.foreign_files`), then the folder, if empty. Never as a tree: a file
    dropped in after the last look (or by a program that held the folder open) stays, with a note saying where.
    """
    try:
        entries = os.listdir(old)
        foreign = set(foreign_files(old, own))
    except OSError:
        entries, foreign = [], set()
    for name in entries:
        if name not in foreign and f"{name}/" not in foreign:
            with contextlib.suppress(OSError):
                os.unlink(old / name)
    try:
        os.rmdir(old)
    except FileNotFoundError:
        return []
    except OSError:
        kept = f"the output folder it replaced was kept as {old.name} beside {dest.name}: it still holds files "
        return [kept + "(dropped in as it was replaced?) that are not this clip's frames; look at them, then remove it"]
    return []


def job_handler(
    restoration: Restoration,
    *,
    quality: Quality = 95,
    image_format: str | None = None,
    compare: bool = False,
    media: MediaOptions | None = None,
) -> JobHandler:
    """One handler for a whole plan: each job goes to the handler of its kind (photo; with ``media`` and a
    ``restoration.clip`` also video and frames). A kind without a handler fails that job alone."""
    table: dict[str, JobHandler] = {
        "photo": photo_handler(restoration.photo, quality=quality, format=image_format, compare=compare)
    }
    if media is not None and restoration.clip is not None:
        table["video"] = video_handler(
            restoration.clip, media.video, allow_partial=media.allow_partial, compare=compare
        )
        table["frames"] = clip_handler(restoration.clip, quality=quality, image_format=image_format, compare=compare)
    return dispatch(table)


def dispatch(table: Mapping[str, JobHandler]) -> JobHandler:
    """A handler that passes each job to ``table[job.kind]`` (see :class:`_Dispatch`)."""
    return _Dispatch(dict(table))


@dataclass(frozen=True)
class _Dispatch:
    """Each job to the handler of its kind; :func:`stages_of` finds that handler's stages, if it has any."""

    table: dict[str, JobHandler]

    def handler_for(self, job: Job) -> JobHandler:
        handler = self.table.get(job.kind)
        if handler is None:
            raise InputError(
                f"{job.source}: cannot process a {job.kind} job here (this command takes: {', '.join(self.table)})"
            )
        return handler

    def __call__(self, job: Job, progress: FrameProgress) -> list[str]:
        return list(self.handler_for(job)(job, progress))


def stages_of(handler: JobHandler, job: Job) -> StagedHandler | None:
    """The stages ``handler`` would run ``job`` in, or None when it runs the job whole (videos and clips,
    which overlap decoding and encoding inside their own handler, and any plain function)."""
    if isinstance(handler, _Dispatch):
        handler = handler.table.get(job.kind)  # type: ignore[assignment]
    return handler if isinstance(handler, StagedHandler) else None
