"""``weatherclean derain``: remove rain from videos, folders of frames and photos.

Videos go through J4R-Net frame after frame with its memory carried forward (one memory per tile
position), and come back with the same length, timestamps, rotation, audio and subtitles. Photos are
independent pictures (single-frame mode, H = 0), so a folder of unrelated rainy photos never leaks one
photo into the next; ``--frames`` instead treats each folder of images as one clip. Everything else
(where outputs go, skipping, bad files, the summary, exit codes) is shared with ``desnow``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from weatherclean.cli import batch
from weatherclean.cli.common import cli_errors
from weatherclean.errors import InputError, OutputError
from weatherclean.inference.runner import (
    FrameProgress,
    Job,
    JobHandler,
    Record,
    compare_note,
    output_suffix,
    parse_shard,
    photo_handler,
    plan_clips,
    plan_jobs,
    run_jobs,
)
from weatherclean.io import compare as pictures
from weatherclean.io.images import is_image_path, load_image, normalise_format, save_image
from weatherclean.io.video import (
    VIDEO_FORMATS,
    VideoOptions,
    check_encoder,
    is_video_path,
    partial_path,
    process_video,
)
from weatherclean.restore import Restorer

TAG = "derained"


def register(app: typer.Typer) -> None:
    """Add ``derain`` to the root app."""
    app.command("derain")(derain_command)


Paths = Annotated[
    list[str],
    typer.Argument(
        help="Videos (mp4, mov, mkv, webm, avi), photos, folders of them (searched recursively) or quoted glob "
        "patterns like 'trips/**/*.mp4'. With --frames, each folder of images is one clip.",
        show_default=False,
    ),
]
Output = batch.output_option("derained", "clips", "a.mp4")
InPlace = Annotated[
    bool,
    typer.Option(
        "--in-place", help="Replace each input video or photo with its result (atomically). Cannot undo. "
        "Not with --frames.",
    ),
]  # fmt: skip
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Redo videos, photos and clips (--frames) whose output already exists.")
]
Frames = Annotated[
    bool,
    typer.Option(
        "--frames", help="Treat each folder of images as one clip (natural order) and write a folder of frames."
    ),
]
Crf = Annotated[
    int,
    typer.Option("--crf", min=0, max=51, metavar="0-51", help="Video quality: lower is better and bigger (x264 CRF)."),
]
Codec = Annotated[
    str | None,
    typer.Option("--codec", metavar="ENCODER", help="Video encoder, e.g. libx264, libx265, libvpx-vp9. "
                 "Default: H.264 (VP9 for WebM, MPEG-4 for AVI).",
                 show_default=False),
]  # fmt: skip
AllowPartial = Annotated[
    bool,
    typer.Option(
        "--allow-partial", help="Count a video that decodes only in part (truncated or damaged) as done, written "
        "under its output name (or over the input with --in-place). Without this it counts as failed (exit code 1) "
        "and its decodable frames are derained into NAME.partial.mp4 beside the output, never read as an input.",
    ),
]  # fmt: skip
Preset = Annotated[
    str,
    typer.Option(
        "--preset", metavar="PRESET",
        help="Encoder speed/size trade-off (x264/x265 preset). On a 2- or 4-core machine 'veryfast' leaves more of "
        "the CPU to the model (docs/performance.md).",
    ),
]  # fmt: skip


@cli_errors
def derain_command(
    ctx: typer.Context,
    paths: Paths,
    output: Output = None,
    model: batch.ModelName = "default",
    device: batch.Device = "auto",
    precision: batch.Precision = "auto",
    tile: batch.Tile = None,
    tile_overlap: batch.TileOverlap = None,
    frames: Frames = False,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Photos: jpeg, png, tiff, webp, avif. Videos: mp4, mkv, mov, webm, avi. Default: as input.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    quality: batch.Quality = 95,
    crf: Crf = 18,
    codec: Codec = None,
    preset: Preset = "medium",
    allow_partial: AllowPartial = False,
    in_place: InPlace = False,
    overwrite: Overwrite = False,
    shard: batch.Shard = None,
    offline: batch.Offline = False,
    dry_run: batch.DryRun = False,
    json_out: batch.JsonOut = False,
    quiet: batch.Quiet = False,
    threads: batch.Threads = None,
    compile: batch.Compile = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also write, beside each output, a before | after picture (photos) or a strip of frames "
            "before and after (videos, --frames clips): a.mp4 → a.mp4.compare.jpg.",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Remove rain from videos (mp4, mov, mkv, webm, avi), folders of frames (--frames) and photos.

    Videos keep their length, frame timing, rotation, audio and subtitles. Exit code 0 when every file
    was done or skipped, 1 when any failed, 2 when nothing could run, 130 when interrupted (Ctrl-C; the
    same command resumes).
    """
    cmd = batch.PhotoCommand(
        paths=paths, output=output, model=model, device=device, precision=precision, tile=tile,
        tile_overlap=tile_overlap, format=format, quality=quality, in_place=in_place, overwrite=overwrite,
        shard=shard, offline=offline, dry_run=dry_run, json_out=json_out, quiet=quiet, threads=threads,
        compile=compile, compare=compare, models=batch.model_provider(ctx.obj),
    )  # fmt: skip
    with batch.json_errors(json_out):
        run_derain(
            cmd, frames=frames, video=VideoOptions(codec=codec, crf=crf, preset=preset), allow_partial=allow_partial
        )


def _split_format(name: str | None) -> tuple[str | None, str | None]:
    """``--format`` → (image format, video suffix): one option, meaning what fits each kind of input."""
    if name is None:
        return None, None
    key = name.lower().lstrip(".")
    if key in VIDEO_FORMATS:
        return None, VIDEO_FORMATS[key]
    return normalise_format(name), None


def run_derain(cmd: batch.PhotoCommand, *, frames: bool, video: VideoOptions, allow_partial: bool = False) -> None:
    """Plan, load J4R-Net, run every video, clip and photo, report (raises ``typer.Exit`` when non-zero).

    A video that decodes only in part is written with every frame that decoded; ``allow_partial`` says
    whether it then counts as done (with a note) or as failed.
    """
    image_fmt, video_suffix = _split_format(cmd.format)
    shard = parse_shard(cmd.shard) if cmd.shard else None
    if frames and cmd.in_place:
        raise InputError("--in-place cannot be used with --frames; write the frames to -o DIR")

    def rename(dest: Path, _fmt: str | None) -> Path:
        if is_video_path(dest):
            return dest.with_suffix(video_suffix) if video_suffix else dest
        return output_suffix(dest, image_fmt)

    # With --frames, image folders are clips and videos are still videos; otherwise every file is a job.
    media = is_video_path if frames else (lambda p: is_image_path(p) or is_video_path(p))
    plan = plan_jobs(
        cmd.paths, cmd.output, tag=TAG, overwrite=cmd.overwrite, in_place=cmd.in_place, shard=shard,
        accept=media, kind="an image or video file", suffix_for=rename,
    )  # fmt: skip
    if frames:
        folders = [p for p in cmd.paths if not Path(p).is_file()]
        clips_plan = plan_clips(folders, cmd.output, tag=TAG, overwrite=cmd.overwrite, shard=shard)
        plan.skipped = [r for r in plan.skipped if not is_image_path(r.path)]  # frames of clips, not skips
        plan.failed += [
            Record(Path(p), "--frames takes folders of frames (and videos), not single images")
            for p in cmd.paths if Path(p).is_file() and is_image_path(Path(p))
        ]  # fmt: skip
        plan.jobs += clips_plan.jobs
        plan.skipped += [r for r in clips_plan.skipped if not is_video_path(r.path)]  # videos are jobs
        plan.failed += clips_plan.failed
        plan.other_shards += clips_plan.other_shards
        plan.failed = list(dict.fromkeys(plan.failed))  # a missing path was tried as a file and as a clip
    for suffix in sorted({j.output.suffix for j in plan.jobs if is_video_path(j.output)}):
        check_encoder(video, suffix)  # a bad --codec/--preset fails once, before any work
    if batch.dry_run_or_none(plan, cmd, "derain"):
        return
    restorer = batch.restorer_for(cmd, "rain")
    photos = photo_handler(restorer.restore_loaded, quality=cmd.quality, format=image_fmt, compare=cmd.compare)
    videos = _video_handler(restorer, video, allow_partial=allow_partial, compare=cmd.compare)
    clips = _clip_handler(restorer, quality=cmd.quality, image_fmt=image_fmt, compare=cmd.compare)

    def handle(job: Job, progress: FrameProgress) -> list[str]:
        if job.source.is_dir():
            return clips(job, progress)
        if is_video_path(job.source):
            return videos(job, progress)
        return list(photos(job, progress))

    show = not (cmd.quiet or cmd.json_out)
    summary = run_jobs(plan, handle, overwrite=cmd.overwrite, progress=show, description="derain")
    batch.finish(summary, cmd, restorer)


def _video_handler(
    restorer: Restorer, options: VideoOptions, *, allow_partial: bool, compare: bool = False
) -> JobHandler:
    def handle(job: Job, progress: FrameProgress) -> list[str]:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        clip = restorer.new_clip()  # a fresh memory for each video: clips never share state
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
        result = process_video(
            job.source, job.output, process, options=options, on_frame=progress.update, partial_dest=marked
        )
        notes = [*result.notes, *clip.notes]
        if sampler is not None:
            notes += compare_note(lambda: pictures.write_strip(sampler, result.path, rotation=result.rotation))
        if result.partial and not allow_partial:
            raise InputError(
                f"{job.source}: only {result.shortfall()} could be decoded (truncated or damaged file); those were "
                f"derained into {result.path}; --allow-partial counts such videos as done"
            )
        return notes

    return handle


def _clip_handler(restorer: Restorer, *, quality: int, image_fmt: str | None, compare: bool = False) -> JobHandler:
    """A folder of frames in, a folder of frames out; the folder appears complete or not at all."""
    from weatherclean.data.rain import list_frames

    def handle(job: Job, progress: FrameProgress) -> list[str]:
        names = list_frames(job.source)
        if not names:
            raise InputError(f"{job.source}: no frames in this folder")
        job.output.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{job.output.name}.", suffix=".part", dir=job.output.parent))
        clip = restorer.new_clip()
        sampler = pictures.FrameSampler() if compare else None
        notes: list[str] = []
        size: tuple[int, int] | None = None
        try:
            progress.start(len(names), f"  frames of {job.source.name}")
            for i, frame_path in enumerate(names, start=1):
                image = load_image(frame_path)
                if size is not None and image.pixels.shape[:2] != size:
                    raise InputError(f"{frame_path}: frame size {image.pixels.shape[:2]} differs from {size}")
                size = image.pixels.shape[:2]
                restored = clip(image.pixels)  # a new array: the frame itself is left as decoded
                if sampler is not None:
                    sampler.offer(image.pixels, restored)
                dest = output_suffix(work / frame_path.name, image_fmt)
                saved = save_image(dest, restored, image, format=image_fmt, quality=quality)
                notes.extend(getattr(saved, "notes", ()))
                progress.update(i, len(names))
            _replace_folder(work, job.output)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        if sampler is not None:
            notes += compare_note(lambda: pictures.write_strip(sampler, job.output))
        return [*dict.fromkeys(notes), *clip.notes]

    return handle


def _replace_folder(new: Path, dest: Path) -> None:
    """Move a finished folder into place; an older output folder (``--overwrite``) goes only afterwards.

    Only a folder of frames is ever replaced: one that holds sub-folders is not a clip output of ours
    (it may be a folder the user made), so it is refused rather than deleted.
    """
    if dest.is_dir() and any(p.is_dir() for p in dest.iterdir()):
        raise OutputError(f"{dest}: holds other folders, so it is not replaced; move it away or choose another -o")
    umask = os.umask(0)
    os.umask(umask)
    mode = dest.stat().st_mode & 0o7777 if dest.exists() else 0o777 & ~umask
    os.chmod(new, mode)  # mkdtemp makes 0700 folders
    old: Path | None = None
    try:
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(new, dest)
    except OSError as exc:
        if old is not None and not dest.exists():
            with contextlib.suppress(OSError):
                os.replace(old, dest)
        raise OutputError(f"{dest}: cannot move the finished frames into place ({exc.strerror or exc})") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
