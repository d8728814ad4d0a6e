"""What every photo-restoring command shares: its options, the model-over-a-batch loop, the report.

``desnow`` and ``derain`` differ in the task and the model, not in how a user points them at photos,
so the options are declared once here (as ``Annotated`` types) and :func:`run_photo_command` does the
work: plan → load the model as a :class:`~weatherclean.restore.Restorer` (the same call as the Python
API) → restore each photo → print the summary and pick the exit code (0 all good, 1 some photo failed,
2 the command could not run).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from weatherclean.cli.common import (
    EXIT_SOME_FAILED,
    console,
    draws_progress,
    err_console,
    report_outcome,
)
from weatherclean.errors import InputError
from weatherclean.interrupts import carry_interrupts
from weatherclean.io.media import VIDEO_CONTAINERS
from weatherclean.restore.options import PRECISIONS

# Building the CLI (``--help``, ``--version``) must not import PyTorch, PyAV or the image stack: the batch
# machinery and the model are imported inside the functions that run a command.
if TYPE_CHECKING:
    from torch import nn

    from weatherclean.batch import BatchSummary, MediaOptions, Plan, Record, Restoration
    from weatherclean.io.video import VideoOptions
    from weatherclean.restore import Restorer

#: What a program that embeds the CLI (or a test) may pass as Click's ``obj`` (``CliRunner.invoke(app,
#: args, obj=...)``) to supply the models itself: called with the ``--model`` value and the task, it
#: returns the model to run in its place. The commands pass it on as ``PhotoCommand.models``.
ModelProvider = Callable[[str, str], "nn.Module"]

#: The help panels of desnow and derain (evaluate uses the model ones too), by what a user scans for: where the
#: outputs go and what is redone stay under "Options"; the model and what it runs on, the video encoder, and the
#: Ray cluster each get a panel. Each panel is a table of its own, sized by its own longest names, so a long
#: name squeezes only its panel: in one table ``--self-ensemble/--no-self-ensemble`` and ``--ray-cpus-per-actor``
#: left derain's help 18 characters of description at 80 columns. For the same reason a ``--x/--no-x`` flag, whose
#: second name takes a column of its own, is kept apart from long single names with a value (at 60 columns
#: ``--ray-cpus-per-actor`` beside ``local|ray`` came out "--ray-cpus-per-ac…").
MODEL_PANEL = "Model and device"
#: ``--self-ensemble/--no-self-ensemble`` alone: its two names fill a panel's name columns by themselves.
ENSEMBLE_PANEL = "Rain models (J4R-Net)"
VIDEO_PANEL = "Videos"
#: ``--engine`` (first: it picks local or Ray, its default local) and ``--ray-address``; not "Ray cluster (--engine
#: ray)", a title that read as if ``--engine`` itself applied only with ``--engine ray``.
RAY_PANEL = "Ray cluster"
#: ``--ray-actors``, ``--ray-cpus-per-actor``, ``--ray-retries``: long names with a short value (N), apart from
#: ``--engine local|ray`` and ``--ray-address HOST:PORT``, whose wide values left the names too little room. These
#: apply only with ``--engine ray``, and the title says so.
RAY_WORKERS_PANEL = "Ray workers (with --engine ray)"

Paths = Annotated[
    list[str],
    typer.Argument(
        help=f"Videos ({', '.join(suffix.lstrip('.') for suffix in VIDEO_CONTAINERS)}), photos, folders of them "
        "(searched recursively) or quoted glob patterns like 'trip/**/*.jpg'. With --frames, each folder of images "
        "is one clip.",
        show_default=False,
    ),
]


def output_option(tag: str, folder: str, file: str) -> Any:
    """The ``-o`` option of a command whose default outputs are tagged ``tag`` (its help names its own
    folders: ``photos_desnowed/`` under desnow, ``clips_derained/`` under derain)."""
    return Annotated[
        str | None,  # as typed: a trailing "/" says "a folder" (Path would drop it; check_output_folder reads it)
        typer.Option(
            "-o", "--output", metavar="DIR",
            help=f"Output folder; each input folder's tree is mirrored inside it. Default: a folder '{folder}/' goes "
            f"to the sibling '{folder}_{tag}/', a file 'dir/{file}' to 'dir/{tag}/{file}' (never inside an input "
            "folder, and such folders are never read as inputs).",
            show_default=False,
        ),
    ]  # fmt: skip


Output = output_option("desnowed", "photos", "a.jpg")
ModelName = Annotated[
    str,
    typer.Option(
        "--model",
        metavar="NAME",
        help="Registered name, a saved model folder, or a Hub repo owner/name\\[@revision].",
        rich_help_panel=MODEL_PANEL,
    ),
]
Device = Annotated[
    str,
    typer.Option(
        "--device", metavar="DEVICE", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.",
        rich_help_panel=MODEL_PANEL,
    ),
]  # fmt: skip
Precision = Annotated[
    str,
    typer.Option(
        "--precision",
        metavar="PRECISION",
        help=f"{', '.join(PRECISIONS)}. auto: fp16 on CUDA, bf16 on CPUs with native bf16 (AMX, AVX512-BF16), else "
        "fp32; each tile is checked and redone in fp32 on NaN/black.",
        rich_help_panel=MODEL_PANEL,
    ),
]
Tile = Annotated[
    int | None,
    typer.Option(
        "--tile",
        min=64,
        metavar="PX",
        help="Tile edge in pixels, at least 64. Default: from free memory.",
        show_default=False,
        rich_help_panel=MODEL_PANEL,
    ),
]
TileOverlap = Annotated[
    int | None,
    typer.Option(
        "--tile-overlap", min=0, metavar="PX",
        help="Tile overlap in pixels. Default: the model's receptive field (≥ 32).",
        show_default=False, rich_help_panel=MODEL_PANEL,
    ),
]  # fmt: skip
Format = Annotated[
    str | None,
    typer.Option(
        "--format", metavar="FORMAT",
        help="Photos: jpeg, png, tiff, webp, avif, bmp, ppm (heic with the heif extra). Videos: mp4, mkv, mov, webm, "
        "avi. Default: as input.",
        show_default=False,
    ),
]  # fmt: skip


def parse_quality(value: object) -> int | Literal["keep"]:
    """``--quality``: a whole number 1-100, or ``keep`` (a JPEG written as JPEG keeps its own quantisation
    tables), by :func:`weatherclean.io.quality.check_quality`, which needs no image stack, so ``--help`` and a
    mistyped option stay light. Anything else is one line, exit 2, as Click reports any bad option value."""
    from weatherclean.io.quality import check_quality

    try:
        return check_quality(value) if isinstance(value, int) else check_quality(value, typed=str(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# Any: Typer takes no ``int | str`` annotation; parse_quality gives an int 1-100 or "keep".
Quality = Annotated[
    Any,
    typer.Option(
        "--quality", parser=parse_quality, metavar="1-100|keep",
        help="JPEG/WebP/AVIF/HEIC quality of the outputs. keep: a JPEG written as JPEG keeps its own quality "
        "(quantisation tables and subsampling); other photos get 95. Default: 95, or keep with --in-place.",
        show_default=False,
    ),
]  # fmt: skip
InPlace = Annotated[
    bool,
    typer.Option(
        "--in-place", help="Replace each input photo or video with its result (atomically). Cannot undo. "
        "Not with --frames.",
    ),
]  # fmt: skip
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Redo photos, videos and clips (--frames) whose output already exists.")
]
Update = Annotated[
    bool,
    typer.Option(
        "--update", help="Redo the outputs older than their input (by more than 2 s: an input edited since), as cp -u "
        "does; without it they are skipped with a note. --overwrite redoes all.",
    ),
]  # fmt: skip
Frames = Annotated[
    bool,
    typer.Option(
        "--frames",
        help="Treat each folder of images as one clip (natural order) and write a folder of frames.",
        rich_help_panel=VIDEO_PANEL,
    ),
]
Crf = Annotated[
    int,
    typer.Option(
        "--crf",
        min=0,
        max=51,
        metavar="0-51",
        help="Video quality: lower is better and bigger (x264 CRF).",
        rich_help_panel=VIDEO_PANEL,
    ),
]
Codec = Annotated[
    str | None,
    typer.Option("--codec", metavar="ENCODER", help="Video encoder, e.g. libx264, libx265, libvpx-vp9. "
                 "Default: H.264 (VP9 for WebM, MPEG-4 for AVI, WMV8 for WMV).",
                 show_default=False, rich_help_panel=VIDEO_PANEL),
]  # fmt: skip
AllowPartial = Annotated[
    bool,
    typer.Option(
        "--allow-partial", help="Count a video that decodes only in part (truncated or damaged) as done, written "
        "under its output name (or over the input with --in-place). Without this it counts as failed (exit code 1) "
        "and its decodable frames are restored into NAME.partial.EXT (clip.partial.mp4) beside the output, never "
        "read as an input.", rich_help_panel=VIDEO_PANEL,
    ),
]  # fmt: skip
Preset = Annotated[
    str,
    typer.Option(
        "--preset", metavar="PRESET",
        help="Encoder speed/size trade-off (x264/x265 preset). On a 2- or 4-core machine 'veryfast' leaves more of "
        "the CPU to the model (docs/performance.md).", rich_help_panel=VIDEO_PANEL,
    ),
]  # fmt: skip


def check_shard(value: str | None) -> str | None:
    """``--shard``, checked by the option parser as every other option value is (one line on stderr, exit code 2,
    before the command starts; docs/usage.md), not later by the command, which also answered it in JSON on
    stdout under ``--json``; the value stays as typed."""
    if value is None:
        return None
    from weatherclean.batch.plan import parse_shard

    try:
        parse_shard(value)
    except InputError:
        raise typer.BadParameter(f"'{value}': expected K/N with 1 ≤ K ≤ N, e.g. 2/8") from None
    return value


Shard = Annotated[
    str | None,
    typer.Option(
        "--shard", metavar="K/N", callback=check_shard,
        help="Do only the K-th of N deterministic parts, e.g. one per machine or GPU in a job array.",
        show_default=False,
    ),
]  # fmt: skip
Offline = Annotated[
    bool,
    typer.Option(
        "--offline", help="Use only models already in the Hub cache (as HF_HUB_OFFLINE=1).", rich_help_panel=MODEL_PANEL
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be done; write nothing. Checks --model, loads no model.")
]
JsonOut = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print a machine-readable JSON summary on stdout (an error object when nothing could run, or when "
        "interrupted before there is a summary).",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress bar; only totals, notes, failures and skips of outputs older than their input.",
    ),
]
#: The numbers --verbose's help gives: :data:`weatherclean.batch.report.FOLD_OVER` and ``FOLD_SHOWN``, copied since
#: importing the report here would load NumPy and the image stack for ``--help`` (0.2 s); tests/test_report_help.py
#: checks that they agree.
_FOLD_OVER, _FOLD_SHOWN = 10, 3
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v",
        help="List every skipped file in the summary (and the --dry-run table); without it, more than "
        f"{_FOLD_OVER} skips for one reason (outputs that exist, raw files) show as {_FOLD_SHOWN} and a count. "
        "Not with --quiet.",
    ),
]  # fmt: skip
Compile = Annotated[
    bool,
    typer.Option(
        "--compile", help="Compile the model with torch.compile: derain 1.3–1.5× faster on a CPU (desnow ~1.05×), "
        "after a compile of 10–50 s per picture size. For long videos; needs a C++ compiler "
        "(without one the run goes on uncompiled, with a note).", rich_help_panel=MODEL_PANEL,
    ),
]  # fmt: skip
SelfEnsemble = Annotated[
    bool | None,
    typer.Option(
        "--self-ensemble/--no-self-ensemble",
        help="Run each frame and its 180° turn through the model and keep their mean: a little more rain "
        "removed and dry pictures changed less, at twice the time. Default: the model's own (on for j4rnet-wide; "
        "models info shows it). --no-self-ensemble for full speed. J4R-Net models only.", show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]  # fmt: skip
PassThrough = Annotated[
    float | None,
    typer.Option(
        "--pass-through", metavar="T",
        help="Weather evidence a pixel needs before the model may change it; below it the model leaves the pixel as "
        "it was. Higher leaves more alone and removes less, lower removes more, 0: every pixel is the model's output. "
        "Default: the model's own (0.03 for desnownet-light and for j4rnet-wide; models info shows it). DesnowNet "
        "takes 0 to below 0.5, J4R-Net 0 to below 1.", show_default=False, rich_help_panel=MODEL_PANEL,
    ),
]  # fmt: skip
Compare = Annotated[
    bool,
    typer.Option(
        "--compare", help="Also write, beside each output, a before | after picture (photos) or a strip of frames "
        "before and after (videos, --frames clips): a.jpg → a.jpg.compare.jpg, a.mp4 → a.mp4.compare.jpg.",
    ),
]  # fmt: skip
Engine = Annotated[
    str,
    typer.Option(
        "--engine", metavar="local|ray",
        help="local: this process. ray: spread the files over a Ray cluster, one model per GPU (or per "
        "--ray-cpus-per-actor CPUs); inputs and outputs must be on storage every node sees (docs/scale.md). "
        "Needs pip install 'weatherclean\\[ray]'.", rich_help_panel=RAY_PANEL,
    ),
]  # fmt: skip
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address", metavar="HOST:PORT",
        help="The Ray cluster to use (as RAY_ADDRESS, which is read when this is not given). Default: a local Ray "
        "started for the run.", show_default=False, rich_help_panel=RAY_PANEL,
    ),
]  # fmt: skip
RayActors = Annotated[
    int | None,
    typer.Option(
        "--ray-actors", min=1, metavar="N",
        help="Ray actors (model copies) to run. Default: one per GPU, else one per --ray-cpus-per-actor CPUs.",
        show_default=False, rich_help_panel=RAY_WORKERS_PANEL,
    ),
]  # fmt: skip
RayCpus = Annotated[
    float | None,
    typer.Option(
        "--ray-cpus-per-actor", min=0.01, metavar="N",
        help="CPUs each Ray actor reserves (its PyTorch threads, unless --threads says otherwise). Default: 1.",
        show_default=False, rich_help_panel=RAY_WORKERS_PANEL,
    ),
]  # fmt: skip
RayRetries = Annotated[
    int | None,
    typer.Option(
        "--ray-retries", min=0, metavar="N",
        help="Times a file is retried on a restarted Ray worker after its worker died (a crash, a lost node). "
        "Default: 2.", show_default=False, rich_help_panel=RAY_WORKERS_PANEL,
    ),
]  # fmt: skip


def threads_option(panel: str) -> Any:
    """``--threads``, one definition for every command that runs a model, shown in ``panel``: beside the model
    and device in desnow, derain and evaluate (:data:`Threads`), with the hardware in train."""
    return Annotated[
        int | None,
        typer.Option(
            "--threads", min=1, metavar="N",
            help="CPU threads for PyTorch. Default: PyTorch's (one per core). Lower it when running several jobs side "
            "by side on one machine.", show_default=False, rich_help_panel=panel,
        ),
    ]  # fmt: skip


Threads = threads_option(MODEL_PANEL)


@dataclass(frozen=True)
class PhotoCommand:
    """One invocation's choices, gathered so commands pass one object instead of fifteen arguments."""

    paths: list[str]
    output: str | None = None
    model: str = "default"
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    tile_overlap: int | None = None
    format: str | None = None
    #: 1-100 or "keep" (parse_quality); None, not given: "keep" with --in-place, else 95 (see __post_init__).
    quality: int | str | None = None
    in_place: bool = False
    overwrite: bool = False
    update: bool = False
    shard: str | None = None
    offline: bool = False
    dry_run: bool = False
    json_out: bool = False
    quiet: bool = False
    #: Every skip listed in the summary and the --dry-run table, none folded into a count.
    verbose: bool = False
    threads: int | None = None
    compile: bool = False
    compare: bool = False
    pass_through: float | None = None
    self_ensemble: bool | None = None
    engine: str = "local"
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: float | None = None
    ray_retries: int | None = None
    models: ModelProvider | None = None  # the context's obj, when a program embedding the CLI supplies models

    def __post_init__(self) -> None:
        """``--in-place`` without ``--quality`` writes a JPEG with its own quantisation tables (``keep``): the
        original is replaced, so re-encoding a q98 master at 95 would lose quality for good, where beside the
        input (``-o``) a smaller file at 95 is the better default."""
        if self.quality is None:
            object.__setattr__(self, "quality", "keep" if self.in_place else 95)


def model_provider(obj: object) -> ModelProvider | None:
    """The :data:`ModelProvider` in a command context's ``obj``, if one was given."""
    return obj if callable(obj) else None


def provided_model(name: str, task: str, provider: ModelProvider | None) -> str | nn.Module:
    """``--model`` as given, or the model ``provider`` supplies for it.

    A registered name of the other task is refused first either way, so the message is the same.
    """
    if provider is None:
        return name
    from weatherclean.models.registry import check_task

    check_task(name, task)
    return provider(name, task)


def restorer_for(cmd: PhotoCommand, task: str) -> Restorer:
    """The command's model as a :class:`Restorer` (device, precision, layout, compile, overlap), loaded even
    when every file is done, so a mistyped --model is an error rather than a silent success."""
    import torch

    from weatherclean.restore import load_restorer

    if cmd.threads:
        torch.set_num_threads(cmd.threads)
    return load_restorer(
        task, model=provided_model(cmd.model, task, cmd.models), device=cmd.device, precision=cmd.precision,
        tile=cmd.tile, tile_overlap=cmd.tile_overlap, compile=cmd.compile, offline=cmd.offline or None,
        pass_through=cmd.pass_through, self_ensemble=cmd.self_ensemble,
    )  # fmt: skip


def restorer_notes(restorer: Restorer) -> list[Record]:
    """The restorer's notes as summary rows, under the device they concern."""
    from weatherclean.batch.jobs import DeviceNote

    return [DeviceNote.on(restorer.device.type, reason) for reason in restorer.notes]


def dry_run_or_none(plan: Plan, cmd: PhotoCommand, verb: str, task: str, media: MediaOptions | None = None) -> bool:
    """Print the plan for ``--dry-run`` (exit 1 if some input is already known to fail); True if it did. With
    ``--in-place``, each photo is read, and each video opened, to say which the run would refuse to replace;
    a video is judged with ``media``'s encoder settings (``--codec`` decides whether a master keeps its codec).

    An input list of which nothing exists stops here first, with exit code 2 (see :func:`require_an_input`).
    A dry run loads no model, but what the run would refuse of ``--model`` before any work fails it the
    same way (exit code 2; :func:`~weatherclean.models.registry.check_model_spec`). When a program supplies
    the models (``cmd.models``), only the task of a registered name is checked, as the run does first.
    """
    from weatherclean.batch import print_plan, require_an_input
    from weatherclean.models.registry import check_model_spec, check_task

    require_an_input(plan)
    if not cmd.dry_run:
        return False
    if cmd.models is None:
        note = check_model_spec(cmd.model, task, offline=cmd.offline or None, pass_through=cmd.pass_through)
    else:
        note = None
        check_task(cmd.model, task)
    from weatherclean.batch.handlers import fail_in_place_losses, fail_over_limit

    fail_over_limit(plan)  # after --model's check: a typo must not wait for every photo's header
    if cmd.in_place:  # what the run would refuse
        files = sum(job.kind in ("photo", "video") for job in plan.jobs)
        if files and not cmd.quiet:
            err_console.print(f"reading {files} file(s) to see what --in-place would lose...", highlight=False)
        fail_in_place_losses(plan, media.video if media else None)

    def show() -> None:
        notes = [note] if note else []
        print_plan(
            plan, verb=verb, json_out=cmd.json_out, console=console, notes=notes, err_console=err_console,
            quiet=cmd.quiet, verbose=cmd.verbose,
        )  # fmt: skip
        if note and not cmd.json_out:
            err_console.print(f"[cyan]note:[/] {escape(note)}", highlight=False, soft_wrap=True)

    report_outcome(EXIT_SOME_FAILED if plan.failed else 0, show)
    return True


def finish(summary: BatchSummary, cmd: PhotoCommand, notes: Callable[[], list[Record]] = list) -> None:
    """Print the summary, with the model's ``notes()`` at the end, and exit with 1 if anything failed, 130 if
    interrupted (:func:`~weatherclean.cli.common.report_outcome`: neither a signal nor a failing stdout or stderr
    changes that code)."""
    from weatherclean.batch import print_summary

    def show() -> None:
        summary.notes.extend(notes())
        print_summary(
            summary, json_out=cmd.json_out, quiet=cmd.quiet, console=console, err_console=err_console,
            verbose=cmd.verbose,
        )  # fmt: skip

    report_outcome(summary.exit_code, show)  # the code its --json gives too


def restoration(restorer: Restorer) -> Restoration:
    """The restorer as the batch handlers use it: photos in place, and a fresh recurrent memory per clip."""
    from weatherclean.batch import Restoration

    return Restoration(photo=restorer.restore_loaded, clip=restorer.new_clip)


def run_media_command(
    cmd: PhotoCommand, *, task: str, tag: str, verb: str, frames: bool, video: VideoOptions, allow_partial: bool = False
) -> None:
    """What ``desnow`` and ``derain`` run: :func:`run_photo_command` over photos, videos and (``frames``) folders
    of frames as clips. A video that decodes only in part is written with every frame that decoded;
    ``allow_partial`` says whether it then counts as done (with a note) or as failed."""
    from weatherclean.batch import MediaOptions

    media = MediaOptions(frames=frames, video=video, allow_partial=allow_partial)
    run_photo_command(cmd, task=task, tag=tag, verb=verb, media=media)


def run_photo_command(cmd: PhotoCommand, *, task: str, tag: str, verb: str, media: MediaOptions | None = None) -> None:
    """Plan, run the ``task``'s model over every input, report; raises ``typer.Exit`` for a non-zero code.

    Photos only without ``media``; with it videos too, or folders of frames (the commands'
    :func:`run_media_command`).
    """
    from weatherclean.batch import OutputFormat, job_handler, parse_shard, plan_batch, run_jobs
    from weatherclean.io.images.opener import max_pixels
    from weatherclean.io.leftovers import remove_stale_parts_beside

    refuse_quiet_with_verbose(cmd)
    check_engine(cmd)
    max_pixels()  # WEATHERCLEAN_MAX_MEGAPIXELS that is no number: one line before any work, not a failure per file
    formats = OutputFormat.parse(cmd.format, videos=media is not None)
    shard = parse_shard(cmd.shard) if cmd.shard else None
    # --in-place: one run at a time over an input, for the whole run (planned, done and reported); a dry run
    # changes nothing and takes no lock
    with inputs_locked(cmd.paths, shard) if cmd.in_place and not cmd.dry_run else contextlib.nullcontext():
        plan = plan_batch(
            cmd.paths, cmd.output, tag=tag, formats=formats, media=media, overwrite=cmd.overwrite,
            update=cmd.update, in_place=cmd.in_place, shard=shard,
        )  # fmt: skip
        if dry_run_or_none(plan, cmd, verb, task, media):
            return
        remove_stale_parts_beside(plan.done)
        if cmd.engine == "ray":
            summary = run_on_ray(plan, cmd, task=task, image_format=formats.image, media=media, verb=verb)
            finish(summary, cmd)  # the actors' notes are in the summary already
            return
        restorer = restorer_for(cmd, task)
        handler = job_handler(
            restoration(restorer), quality=cmd.quality, image_format=formats.image, compare=cmd.compare, media=media
        )
        show = not (cmd.quiet or cmd.json_out) and draws_progress()  # a real terminal: not FORCE_COLOR's log
        with carry_interrupts():  # no interruption between the batch's wrap-up and its printed summary
            summary = run_jobs(
                plan, handler, overwrite=cmd.overwrite, update=cmd.update, progress=show, description=verb,
                console=err_console,
            )  # fmt: skip
            finish(summary, cmd, lambda: restorer_notes(restorer))


#: The most file descriptors the locks of an ``--in-place`` run hold (:func:`inputs_locked`): each lock keeps one
#: open for the whole run (two with ``--shard``), and the run needs its own. More inputs named than a quarter of
#: this (a shell's ``*.jpg``) are locked by their folders, and ancestors past it go unlocked.
MOST_LOCKS = 256

#: Where the per-user lock folder is made (:func:`lock_folder`); None: ``/tmp`` (else the system's temporary
#: folder). Tests point it elsewhere.
LOCK_PARENT: Path | None = None


@contextlib.contextmanager
def inputs_locked(paths: Sequence[str], shard: tuple[int, int] | None = None) -> Iterator[None]:
    """While the block runs, hold an advisory lock on each input of an ``--in-place`` run: exclusive on each folder
    and file given (a glob pattern's matches; a recursive ``**`` pattern's literal folder), shared on each folder
    above them. A second ``--in-place`` run over the same input, one inside it or one around it is refused before
    any work (:class:`~weatherclean.errors.InputError`, exit code 2), naming the input.

    Why: two ``--in-place`` runs over one folder at once (a cron job started again before the last one ended)
    each replaced every photo with its result, silently: every photo came out desnowed twice, with exit code 0.

    The locks are ``flock`` on files of a private folder of the user's (:func:`lock_folder`), one per input and
    folder above it, named by its (device, inode), a file's by its folder's and its name (:func:`_lock_name`), so
    they are per user and per machine: never on the user's own files, which another program may lock
    for its own ends (``flock -n photos weatherclean desnow photos --in-place``, as usage.md suggests for cron,
    was refused as "another run"), and nothing is written into the user's folders. The system releases them when
    the run ends, however it ends. With ``shard`` (``--shard K/N``) the processes of one split work side by side,
    as usage.md says: each takes the input's lock shared (an unsharded run, which takes it exclusive, still
    conflicts) and an exclusive lock of its own shard, so one shard started twice is refused. Where no private
    folder can be had (one owned by another user, or a link), or the file system takes no ``flock``, the run
    goes on without locking. Runs without ``--in-place`` take none: they never replace what another run wrote.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; nothing is locked
        yield
        return
    folder = lock_folder()
    if folder is None:
        yield
        return
    targets = sorted(_lock_targets(paths), key=lambda pair: str(pair[1]))  # one order: `a b` and `b a` never both lose
    if len(targets) > MOST_LOCKS // 4:  # many files named: by their folders
        folders = {(shown if real.is_dir() else shown.parent, real if real.is_dir() else real.parent)
                   for shown, real in targets}  # fmt: skip
        targets = sorted(folders, key=lambda pair: str(pair[1]))[: MOST_LOCKS // 4]
    split = f".shard-{shard[0]}-of-{shard[1]}" if shard else None
    locks = _Locks(folder, fcntl)
    try:
        locks.take_folder()
        for shown, real in targets:
            refused = locks.take(real, "", fcntl.LOCK_SH if split else fcntl.LOCK_EX)
            if split and refused is None:
                refused = locks.take(real, split, fcntl.LOCK_EX)
            if refused is not None:
                inside = " (or on something in it)" if real.is_dir() and refused == 0 else ""
                raise _busy(f"{shown}: another weatherclean --in-place run is working on it{_pid(refused)}{inside}")
        for shown, real in targets:
            for above in real.parents:
                if len(locks.held) >= MOST_LOCKS:
                    break
                refused = locks.take(above, "", fcntl.LOCK_SH)
                if split and refused is None:
                    refused = locks.take(above, split, fcntl.LOCK_SH)
                if refused is not None:
                    where = _as_seen_from_here(above)
                    raise _busy(
                        f"{shown}: another weatherclean --in-place run{_pid(refused)} is working on {where}, "
                        "which holds it"
                    )
        yield
    finally:
        locks.release()


def lock_folder(parent: Path | None = None) -> Path | None:
    """The private folder of this user's ``--in-place`` locks, ``weatherclean-UID/locks`` in ``/tmp`` (else the
    system's temporary folder), made ``0700``; None when it cannot be had safely: a folder of that name owned by
    someone else, or a link in its place, a parent writable by others without the sticky bit, or none can be made.

    A folder of the user's own at another mode (``0755``, a umask's, or one the user opened up) is made ``0700``
    again, not given up on: giving up switched locking off for good, silently, for every later run.

    Why not ``$XDG_RUNTIME_DIR`` or ``$TMPDIR``: every run of the user must find the same folder, and a cron job
    has no ``XDG_RUNTIME_DIR`` where a login shell has one, while Slurm gives each job a ``TMPDIR`` of its own:
    runs of one user would each look in their own folder and never see the other's lock."""
    import tempfile

    if parent is None:
        parent = LOCK_PARENT
    if parent is None:
        parent = Path("/tmp") if os.path.isdir("/tmp") else Path(tempfile.gettempdir())
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    own, locks = parent / f"weatherclean-{uid}", parent / f"weatherclean-{uid}" / "locks"
    if not _shared_parent(parent):
        return None
    for folder in (own, locks):  # own first: once it is 0700, no one else can put anything at locks' name
        with contextlib.suppress(FileExistsError, OSError):
            os.mkdir(folder, 0o700)
        if not _made_private(folder, uid):
            return None
    return locks


def _shared_parent(folder: Path) -> bool:
    """Whether ``folder`` (``/tmp``, the system's own, a link on macOS) may hold the user's lock folder: a folder
    not writable by others, or with the sticky bit (no one can remove or rename another's folder in it)."""
    try:
        info = os.stat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and not (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX)


def _made_private(folder: Path, uid: int) -> bool:
    """Whether ``folder`` is the user's own real folder (not a link), made ``0700`` if it was not: through one
    descriptor opened without following a link, so the folder judged is the folder changed."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # gone, a link (ELOOP), not a folder
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            return False
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o700)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


#: How a lock file is opened: never through a link put in its place, nor kept open by a program the run starts.
_LOCK_FILE_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


#: How often a lock another run holds is tried (:meth:`_Locks.take`), and the wait between tries, before the run
#: is refused: a run that is ending holds its locks a moment longer, while it removes its lock files.
_LOCK_TRIES = 6
_LOCK_RETRY_SECONDS = 0.025


class _Locks:
    """The lock files one run holds in ``folder`` (:func:`inputs_locked`), each kept open and locked for the run,
    its descriptor held by name, so that no file is locked twice (a second ``flock`` of one file through another
    descriptor would be refused as another run's); and the names of those held exclusively, the only ones the run
    removes when it ends (:meth:`release`)."""

    def __init__(self, folder: Path, fcntl: Any) -> None:
        self.folder = folder
        self.fcntl = fcntl
        self.held: dict[str, int] = {}
        self.exclusive: set[str] = set()

    def take_folder(self) -> None:
        """A shared lock on the folder itself, for the run: ``systemd-tmpfiles`` leaves a locked folder alone, so
        the files of a run of many days are not cleaned away under it. None of this may fail the run."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        self.held["."] = fd
        with contextlib.suppress(OSError):
            self.fcntl.flock(fd, self.fcntl.LOCK_SH | self.fcntl.LOCK_NB)

    def take(self, path: Path, kind: str, operation: int) -> int | None:
        """Take ``operation`` (``LOCK_EX`` or ``LOCK_SH``) on the lock file of ``path`` (``kind`` names one of
        its shard's; :func:`_lock_name`): None when taken (or already held by this run, or impossible: a path that
        is gone, a file system without ``flock``; the run goes on without it), else the process id recorded by
        the run that holds it (0: none recorded, or the run is gone).

        A lock held by another run is tried again a few times, a moment apart (:data:`_LOCK_TRIES`), before it
        counts: a run that ends holds its exclusive locks while it removes their files, and a run that started
        just then was refused, though the two never worked at once."""
        name = _lock_name(path, kind)
        if name is None or name in self.held:
            return None
        file = self.folder / name
        refused: int | None = None
        for attempt in range(_LOCK_TRIES):
            try:
                fd = os.open(file, _LOCK_FILE_FLAGS, 0o600)
            except OSError:
                return None
            try:
                self.fcntl.flock(fd, operation | self.fcntl.LOCK_NB)
            except BlockingIOError:
                refused = _recorded_pid(fd)
                os.close(fd)
                if attempt < _LOCK_TRIES - 1:
                    time.sleep(_LOCK_RETRY_SECONDS)
                continue  # opened anew: its holder may have removed the file meanwhile
            except OSError:  # this file system takes no flock (ENOLCK, EOPNOTSUPP)
                os.close(fd)
                return None
            except BaseException:  # an interruption before the descriptor is recorded: never left open
                os.close(fd)
                raise
            try:
                if not _same_file(fd, file):  # unlinked by its last holder between our open and our lock
                    os.close(fd)
                    continue
                if operation == self.fcntl.LOCK_EX:  # recorded for the message of a run it refuses
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
                        os.write(fd, f"{os.getpid()}\n".encode())
            except BaseException:
                os.close(fd)
                raise
            self.held[name] = fd
            if operation == self.fcntl.LOCK_EX:
                self.exclusive.add(name)
            return None
        return refused

    def release(self) -> None:
        """Close every lock; the lock files held exclusively are removed first, while still held (a run that
        opened one meanwhile notices, :func:`_same_file`), so the folder does not fill up. A shared lock is never
        turned exclusive to remove its file: another run's shared lock on the same folder above its own input,
        taken at that moment, was refused (two runs over unrelated folders refused each other over ``/tmp``). The
        files of shared locks stay, one per folder."""
        while self.held:
            name, fd = self.held.popitem()
            if name in self.exclusive:
                with contextlib.suppress(OSError):
                    if _same_file(fd, self.folder / name):
                        os.unlink(self.folder / name)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.exclusive.clear()


def _lock_name(path: Path, kind: str) -> str | None:
    """The name of ``path``'s lock file (``kind``: a shard's suffix), None when it is gone: a folder's by its
    (device, inode); a file's by its folder's and its own name (hashed: any bytes, any length), not its inode:
    ``--in-place`` replaces the file with its result, a new inode, and a second run started after that took
    another lock than the first run's and processed the photo again."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return f"{info.st_dev:x}-{info.st_ino:x}{kind}.lock"
        folder = os.stat(path.parent)
    except OSError:
        return None
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:16]
    return f"{folder.st_dev:x}-{folder.st_ino:x}-{digest}{kind}.lock"


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not unlinked, nor replaced)."""
    try:
        opened, named = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _recorded_pid(fd: int) -> int:
    """The process id the run that holds ``fd``'s file exclusively wrote in it, when that process is alive; else 0."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or 0)
        if pid > 0 and pid != os.getpid():
            try:
                os.kill(pid, 0)
            except PermissionError:
                return pid
            except OSError:
                return 0
            return pid
    return 0


def _pid(pid: int) -> str:
    """`` (process PID)`` for the message of a refusal, when the run that holds the lock recorded it."""
    return f" (process {pid})" if pid else ""


def _busy(message: str) -> InputError:
    """The refusal of an input another ``--in-place`` run holds: ``message`` and what to do."""
    return InputError(f"{message}; wait for that run to end (or stop it), then rerun")


def _as_seen_from_here(folder: Path) -> Path:
    """``folder`` (a real path) relative to the working folder when it is inside it (``.`` for itself), as the user
    typed the input it holds; else as it is."""
    with contextlib.suppress(OSError, ValueError):
        return folder.relative_to(Path.cwd().resolve())
    return folder


def _lock_targets(paths: Sequence[str]) -> list[tuple[Path, Path]]:
    """The inputs of :func:`inputs_locked` as (as given, real path): each existing file or folder given; a glob
    pattern's matches (``trip/*.jpg``: each photo, so that a run over ``trip/2019`` beside it is not refused), or
    for a recursive one (``trip/**/*.jpg``) its literal folder; what does not exist is the plan's to report."""
    import glob

    from weatherclean.batch.inputs import GLOB_CHARS, literal_prefix

    targets = []
    for item in paths:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if os.path.exists(path):
            targets.append((path, Path(os.path.realpath(path))))
            continue
        if not GLOB_CHARS & set(text):
            continue
        pattern = os.path.expanduser(text)
        if "**" not in pattern:
            targets.extend((Path(m), Path(os.path.realpath(m))) for m in sorted(glob.glob(pattern)))
            continue
        parts = path.parts
        literal = literal_prefix(parts)
        path = Path(*parts[:literal]) if literal else Path(".")
        targets.append((path, Path(os.path.realpath(path))))
    return targets


def refuse_quiet_with_verbose(cmd: PhotoCommand) -> None:
    """Refuse ``--quiet`` with ``--verbose``, before planning: one says list no skips, the other list every one,
    and which was meant cannot be told (a script's ``-q`` with a user's ``-v`` added by hand)."""
    if cmd.quiet and cmd.verbose:
        raise InputError("--quiet and --verbose: use one of them (--quiet prints no table, --verbose every row of it)")


def check_engine(cmd: PhotoCommand) -> None:
    """Refuse ``--ray-*`` options without ``--engine ray``, and ``--engine ray`` without Ray, before planning."""
    if cmd.engine not in ("local", "ray"):
        raise InputError(f"--engine '{cmd.engine}': expected local or ray")
    if cmd.engine == "ray":
        if not cmd.dry_run:
            from weatherclean.batch.ray_connect import import_ray

            import_ray()
        return
    ray_options = {
        "--ray-address": cmd.ray_address, "--ray-actors": cmd.ray_actors,
        "--ray-cpus-per-actor": cmd.ray_cpus_per_actor, "--ray-retries": cmd.ray_retries,
    }  # fmt: skip
    given = [name for name, value in ray_options.items() if value is not None]
    if given:
        raise InputError(f"{', '.join(given)}: used only with --engine ray; add --engine ray or leave it out")


def driver_model(cmd: PhotoCommand, task: str) -> Any:
    """``--engine ray``'s model, loaded on the driver with ``--pass-through`` and ``--self-ensemble`` applied: a
    mistyped --model or a bad threshold fails here, before any Ray worker starts, and the actors get the model
    as it will run."""
    from weatherclean.models.registry import check_task, load_model
    from weatherclean.restore import with_pass_through, with_self_ensemble

    model = provided_model(cmd.model, task, cmd.models)
    if isinstance(model, str):
        check_task(model, task)
        model = load_model(model, device="cpu", task=task, offline=cmd.offline or None)
    if cmd.pass_through is not None:
        model = with_pass_through(model, cmd.pass_through)
    return model if cmd.self_ensemble is None else with_self_ensemble(model, cmd.self_ensemble)


def run_on_ray(
    plan: Plan, cmd: PhotoCommand, *, task: str, image_format: str | None, media: MediaOptions | None, verb: str
) -> BatchSummary:
    """``--engine ray``: load the model here (so a mistyped --model fails at once and the workers need no Hub
    access), ship it to one actor per GPU or per CPUs, run the plan there (:mod:`weatherclean.batch.ray_engine`)."""
    from weatherclean.batch import ray_engine

    model = driver_model(cmd, task)
    workers = ray_engine.RestorerWorkers(
        task, device=cmd.device, precision=cmd.precision, tile=cmd.tile, tile_overlap=cmd.tile_overlap,
        compile=cmd.compile, threads=cmd.threads, quality=cmd.quality, image_format=image_format,
        compare=cmd.compare, media=media,
    )  # fmt: skip
    defaults = ray_engine.RayOptions()
    options = ray_engine.RayOptions(
        address=cmd.ray_address, actors=cmd.ray_actors, gpus=cmd.device not in ("cpu", "mps"),
        cpus_per_actor=cmd.ray_cpus_per_actor or defaults.cpus_per_actor,
        retries=defaults.retries if cmd.ray_retries is None else cmd.ray_retries,
    )  # fmt: skip
    show = not (cmd.quiet or cmd.json_out) and draws_progress()  # a real terminal: not FORCE_COLOR's log
    return ray_engine.run_on_ray(
        plan,
        workers,
        model,
        options=options,
        overwrite=cmd.overwrite,
        update=cmd.update,
        progress=show,
        description=verb,
        console=err_console,
    )
