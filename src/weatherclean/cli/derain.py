"""``weatherclean derain``: remove rain from videos, folders of frames and photos.

Videos go through J4R-Net frame after frame with its memory carried forward (one memory per tile
position), and come back with the same length, timestamps, rotation, audio and subtitles. Photos are
independent pictures (single-frame mode, H = 0), so a folder of unrelated rainy photos never leaks one
photo into the next; ``--frames`` instead treats each folder of images as one clip. Everything else
(where outputs go, skipping, bad files, the summary, exit codes) is shared with ``desnow``.

The command only declares its options; the work is in :mod:`weatherclean.batch` (planning videos and
``--frames`` clips: ``batch/plan.py``; doing them: ``batch/handlers.py``), called through
:func:`weatherclean.cli.batch.run_photo_command` like ``desnow``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from weatherclean.cli import batch
from weatherclean.cli.common import cli_errors, json_errors

if TYPE_CHECKING:  # imported when the command runs: --help must not import PyAV or the batch machinery
    from weatherclean.io.video import VideoOptions

TAG = "derained"


def register(app: typer.Typer) -> None:
    """Add ``derain`` to the root app."""
    app.command("derain")(derain_command)


Paths = Annotated[
    list[str],
    typer.Argument(
        help="Videos (mp4, m4v, mov, mkv, webm, avi, mpg, mpeg, ts, wmv, flv, mts, m2ts, 3gp), photos, folders of "
        "them (searched recursively) or quoted glob patterns like 'trips/**/*.mp4'. With --frames, each folder "
        "of images is one clip.",
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
                 "Default: H.264 (VP9 for WebM, MPEG-4 for AVI, WMV8 for WMV).",
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
            help="Photos: jpeg, png, tiff, webp, avif, bmp, ppm (heic with the heif extra). Videos: mp4, mkv, mov, "
            "webm, avi. Default: as input.",
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
    pass_through: batch.PassThrough = None,
    self_ensemble: batch.SelfEnsemble = None,
    engine: batch.Engine = "local",
    ray_address: batch.RayAddress = None,
    ray_actors: batch.RayActors = None,
    ray_cpus_per_actor: batch.RayCpus = None,
    ray_retries: batch.RayRetries = None,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also write, beside each output, a before | after picture (photos) or a strip of frames "
            "before and after (videos, --frames clips): a.mp4 → a.mp4.compare.jpg.",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Remove rain from videos (mp4, mov, mkv, webm, avi and more), folders of frames (--frames) and photos.

    Videos keep their length, frame timing, rotation, audio and subtitles. Exit code 0 when every file
    was done or skipped, 1 when any failed, 2 when nothing could run, 130 when interrupted (Ctrl-C or SIGTERM; the
    same command resumes).
    """
    cmd = batch.PhotoCommand(
        paths=paths, output=output, model=model, device=device, precision=precision, tile=tile,
        tile_overlap=tile_overlap, format=format, quality=quality, in_place=in_place, overwrite=overwrite,
        shard=shard, offline=offline, dry_run=dry_run, json_out=json_out, quiet=quiet, threads=threads,
        compile=compile, compare=compare, pass_through=pass_through, self_ensemble=self_ensemble, engine=engine,
        ray_address=ray_address, ray_actors=ray_actors, ray_cpus_per_actor=ray_cpus_per_actor, ray_retries=ray_retries,
        models=batch.model_provider(ctx.obj),
    )  # fmt: skip
    with json_errors(json_out):  # from the first import on: an interruption there still answers in JSON
        from weatherclean.io.video import VideoOptions

        run_derain(
            cmd, frames=frames, video=VideoOptions(codec=codec, crf=crf, preset=preset), allow_partial=allow_partial
        )


def run_derain(cmd: batch.PhotoCommand, *, frames: bool, video: VideoOptions, allow_partial: bool = False) -> None:
    """Plan, load J4R-Net, run every video, clip and photo, report (raises ``typer.Exit`` when non-zero).

    A video that decodes only in part is written with every frame that decoded; ``allow_partial`` says
    whether it then counts as done (with a note) or as failed.
    """
    from weatherclean.batch import MediaOptions

    media = MediaOptions(frames=frames, video=video, allow_partial=allow_partial)
    batch.run_photo_command(cmd, task="rain", tag=TAG, verb="derain", media=media)
