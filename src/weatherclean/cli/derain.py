"""``weatherclean derain``: remove rain from videos, folders of frames and photos.

Videos go through J4R-Net frame after frame with its memory carried forward (one memory per tile
position), and come back with the same length, timestamps, rotation, audio and subtitles. Photos are
independent pictures (single-frame mode, H = 0), so a folder of unrelated rainy photos never leaks one
photo into the next; ``--frames`` instead treats each folder of images as one clip. Everything else
(the options, where outputs go, skipping, bad files, the summary, exit codes) is shared with ``desnow``.

The command only declares itself; the options and the run are in :mod:`weatherclean.cli.batch`
(:func:`~weatherclean.cli.batch.run_media_command`), the work in :mod:`weatherclean.batch` (planning
videos and ``--frames`` clips: ``batch/plan.py``; doing them: ``batch/handlers.py``).
"""

from __future__ import annotations

import typer

from weatherclean.cli import batch
from weatherclean.cli.common import cli_errors, json_errors

TAG = "derained"
Output = batch.output_option(TAG, "clips", "a.mp4")


def register(app: typer.Typer) -> None:
    """Add ``derain`` to the root app."""
    app.command("derain")(derain_command)


@cli_errors
def derain_command(
    ctx: typer.Context,
    paths: batch.Paths,
    output: Output = None,
    model: batch.ModelName = "default",
    device: batch.Device = "auto",
    precision: batch.Precision = "auto",
    tile: batch.Tile = None,
    tile_overlap: batch.TileOverlap = None,
    frames: batch.Frames = False,
    format: batch.Format = None,
    quality: batch.Quality = None,
    crf: batch.Crf = 18,
    codec: batch.Codec = None,
    preset: batch.Preset = "medium",
    allow_partial: batch.AllowPartial = False,
    in_place: batch.InPlace = False,
    overwrite: batch.Overwrite = False,
    update: batch.Update = False,
    shard: batch.Shard = None,
    offline: batch.Offline = False,
    dry_run: batch.DryRun = False,
    json_out: batch.JsonOut = False,
    quiet: batch.Quiet = False,
    verbose: batch.Verbose = False,
    threads: batch.Threads = None,
    compile: batch.Compile = False,
    pass_through: batch.PassThrough = None,
    self_ensemble: batch.SelfEnsemble = None,
    engine: batch.Engine = "local",
    ray_address: batch.RayAddress = None,
    ray_actors: batch.RayActors = None,
    ray_cpus_per_actor: batch.RayCpus = None,
    ray_retries: batch.RayRetries = None,
    compare: batch.Compare = False,
) -> None:
    """Remove rain from videos (mp4, mov, mkv, webm, avi and more), folders of frames (--frames) and photos.

    Videos keep their length, frame timing, rotation, audio and subtitles. Exit code 0 when every file
    was done or skipped, 1 when any failed, 2 when nothing could run, 130 when interrupted (Ctrl-C, SIGTERM or
    SIGHUP; the same command resumes).
    """
    cmd = batch.PhotoCommand(
        paths=paths, output=output, model=model, device=device, precision=precision, tile=tile,
        tile_overlap=tile_overlap, format=format, quality=quality, in_place=in_place, overwrite=overwrite,
        update=update, shard=shard, offline=offline, dry_run=dry_run, json_out=json_out, quiet=quiet,
        verbose=verbose, threads=threads,
        compile=compile, compare=compare, pass_through=pass_through, self_ensemble=self_ensemble, engine=engine,
        ray_address=ray_address, ray_actors=ray_actors, ray_cpus_per_actor=ray_cpus_per_actor, ray_retries=ray_retries,
        models=batch.model_provider(ctx.obj),
    )  # fmt: skip
    with json_errors(json_out):  # from the first import on: an interruption there still answers in JSON
        from weatherclean.io.video import VideoOptions

        batch.run_media_command(
            cmd, task="rain", tag=TAG, verb="derain", frames=frames,
            video=VideoOptions(codec=codec, crf=crf, preset=preset), allow_partial=allow_partial,
        )  # fmt: skip
