"""What every photo-restoring command shares: its options, the model-over-a-batch loop, the report.

``desnow`` and ``derain`` differ in the task and the model, not in how a user points them at photos,
so the options are declared once here (as ``Annotated`` types) and :func:`run_photo_command` does the
work: plan → load the model as a :class:`~weatherclean.restore.Restorer` (the same call as the Python
API) → restore each photo → print the summary and pick the exit code (0 all good, 1 some photo failed,
2 the command could not run).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    from weatherclean.provenance import Provenance
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
#: checks that they agree. The same for ``JOBS_FOLD_OVER`` and ``JOBS_SHOWN`` (tests/test_scale_findings.py).
_FOLD_OVER, _FOLD_SHOWN = 10, 3
_JOBS_FOLD_OVER, _JOBS_SHOWN = 50, 20
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v",
        help="List every skipped file in the summary, and every row of the --dry-run table; without it, more than "
        f"{_FOLD_OVER} skips for one reason (outputs that exist, raw files) show as {_FOLD_SHOWN} and a count, and "
        f"more than {_JOBS_FOLD_OVER} jobs of a dry run as {_JOBS_SHOWN} and a count. Not with --quiet.",
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
    """The command's model as a :class:`Restorer` (device, precision, layout, compile, overlap), loaded once a job
    will run; a run with nothing to do checks ``--model`` and ``--device`` instead (:func:`nothing_to_do`)."""
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

    require_an_input(plan)
    if not cmd.dry_run:
        return False
    note = check_model(cmd, task)
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


@dataclass(frozen=True)
class Clock:
    """When a command began its work and how long it planned, for the summary's times (``perf_counter``).

    Why: the summary gave the batch's own time alone: a rerun over 2,000 finished photos said "in 0.0 s" where
    the command took 4.6 s, all of it planning (and ``--json``'s ``seconds`` 0.2 for a 7.7 s command)."""

    started: float
    planning: float


def finish(
    summary: BatchSummary, cmd: PhotoCommand, notes: Callable[[], list[Record]] = list, clock: Clock | None = None
) -> None:
    """Print the summary, with the model's ``notes()`` at the end, and exit with 1 if anything failed, 130 if
    interrupted (:func:`~weatherclean.cli.common.report_outcome`: neither a signal nor a failing stdout or stderr
    changes that code). With ``clock``, the summary's time is the command's, planning and model loading included,
    and it names the planning's (:func:`~weatherclean.batch.report.print_summary`)."""
    from weatherclean.batch import print_summary

    total = time.perf_counter() - clock.started if clock is not None else None

    def show() -> None:
        summary.notes.extend(notes())
        print_summary(
            summary, json_out=cmd.json_out, quiet=cmd.quiet, console=console, err_console=err_console,
            verbose=cmd.verbose, planning_seconds=clock.planning if clock is not None else None, total_seconds=total,
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
    from weatherclean.batch.locks import inputs_locked
    from weatherclean.io.images.opener import max_pixels
    from weatherclean.io.leftovers import remove_stale_parts_beside
    from weatherclean.provenance import running

    refuse_quiet_with_verbose(cmd)
    check_engine(cmd)
    max_pixels()  # WEATHERCLEAN_MAX_MEGAPIXELS that is no number: one line before any work, not a failure per file
    formats = OutputFormat.parse(cmd.format, videos=media is not None)
    shard = parse_shard(cmd.shard) if cmd.shard else None
    started = time.perf_counter()  # planning begins: the lock, the walk, a look at each file and output
    # --in-place: one run at a time over an input, for the whole run (planned, done and reported); a dry run
    # changes nothing and takes no lock
    with inputs_locked(cmd.paths, shard) if cmd.in_place and not cmd.dry_run else contextlib.nullcontext() as unlocked:
        if unlocked is not None and not cmd.json_out:  # locking is off for good until the user acts: say so once
            err_console.print(
                f"[cyan]note:[/] {escape(f'{unlocked.path}: {unlocked.why}')}", highlight=False, soft_wrap=True
            )
        planned = planned_record(cmd, task, verb)  # the model located once, for the plan and the record
        with running(planned):  # an output another command or model made is not this run's
            plan = plan_batch(
                cmd.paths, cmd.output, tag=tag, formats=formats, media=media, overwrite=cmd.overwrite,
                update=cmd.update, in_place=cmd.in_place, shard=shard,
            )  # fmt: skip
        if unlocked is not None and cmd.json_out:  # --json: in its notes, as the plan's other notes are
            plan.notes.append(unlocked)
        clock = Clock(started, time.perf_counter() - started)
        if dry_run_or_none(plan, cmd, verb, task, media):
            return
        remove_stale_parts_beside(plan.done)
        if cmd.engine == "ray" and plan.jobs:
            summary = run_on_ray(plan, cmd, task=task, image_format=formats.image, media=media, verb=verb)
            summary.provenance = ray_record(planned, cmd, task)
            finish(summary, cmd, clock=clock)  # the actors' notes are in the summary already
            return
        restorer = restorer_for(cmd, task) if plan.jobs else nothing_to_do(cmd, task)
        record = run_record(planned, cmd, task, restorer)
        handler = (
            job_handler(
                restoration(restorer), quality=cmd.quality, image_format=formats.image, compare=cmd.compare,
                media=media,
            )
            if restorer is not None
            else nothing_to_run
        )  # fmt: skip
        show = not (cmd.quiet or cmd.json_out) and draws_progress()  # a real terminal: not FORCE_COLOR's log
        with carry_interrupts(), running(record):  # no interruption between the wrap-up and its printed summary
            summary = run_jobs(
                plan, handler, overwrite=cmd.overwrite, update=cmd.update, progress=show, description=verb,
                console=err_console,
            )  # fmt: skip
            summary.provenance = finished_record(record, restorer)
            finish(summary, cmd, lambda: restorer_notes(restorer) if restorer is not None else [], clock)


def check_model(cmd: PhotoCommand, task: str) -> str | None:
    """What a run checks of ``--model`` without loading it: what ``--dry-run`` checks, and a run with nothing to do
    (:func:`~weatherclean.models.registry.check_model_spec`; the task of a registered name when a program supplies
    the models), so a mistyped ``--model`` is an error (exit code 2) either way. Returns its note (a Hub model not
    in the cache, that a run would download), or None."""
    from weatherclean.models.registry import check_model_spec, check_task

    if cmd.models is not None:
        check_task(cmd.model, task)
        return None
    return check_model_spec(cmd.model, task, offline=cmd.offline or None, pass_through=cmd.pass_through)


def nothing_to_do(cmd: PhotoCommand, task: str) -> None:
    """What a run with nothing to do checks instead of loading the model: ``--model`` (:func:`check_model`; its
    note, of a download, does not apply: nothing is downloaded) and, for a local run, ``--device``
    (:func:`~weatherclean.devices.resolve_device`), so that a mistyped model or an absent GPU is still an error
    (exit code 2) as when files run. ``--precision`` and ``--compile`` are checked only once a file runs.

    Why not load it: a rerun over a folder already done skipped every file only after loading the model, which
    for derain's took ~19 s (desnow's ~5 s) for nothing. Returns None, the run's absent restorer."""
    check_model(cmd, task)
    # Ray's actors resolve their own device, on machines that may have what this lacks; auto and cpu are always
    # there (no PyTorch imported to say so)
    if cmd.engine != "ray" and cmd.device not in ("auto", "cpu"):
        from weatherclean.devices import resolve_device

        resolve_device(cmd.device)


def nothing_to_run(job: Any, _frames: Any) -> list[str]:
    """The handler of a run whose plan holds no job (every file skipped or failed at planning): never called."""
    raise AssertionError(f"{job}: no model was loaded for this run")


def model_name(cmd: PhotoCommand, task: str) -> str:
    """``--model`` as the run names it: ``default`` as the model it is, any other name as given."""
    if cmd.models is not None:
        return cmd.model
    from weatherclean.models.registry import resolve_model_name

    return resolve_model_name(cmd.model, task)


def planned_record(cmd: PhotoCommand, task: str, verb: str) -> Provenance:
    """The run's record as known before anything is loaded, what the plan judges existing outputs against
    (:func:`~weatherclean.batch.jobs.other_task`, :func:`~weatherclean.batch.jobs.other_model`): the command
    (``verb``), the model's name and where it is (:func:`model_origin`: its weights' sha256), the ``--tile`` asked
    for. Device, precision and threads wait for the model (:func:`run_record`)."""
    from weatherclean.provenance import Provenance

    return Provenance(task=verb, model=model_name(cmd, task), tile=cmd.tile, **model_origin(cmd, task))


def model_origin(cmd: PhotoCommand, task: str) -> dict[str, Any]:
    """Where the run's model is (``source``, ``repo_id``, ``commit``, ``folder``), the sha256 of its weights and its
    config's ``pass_through`` and ``self_ensemble`` (the options replace them), read once per run without the
    network or PyTorch: a folder, the package, or the Hub cache. Nothing but ``source`` for a model a program
    supplies; nothing at all for one not found here (a Hub model not downloaded yet, a mistyped name: the run's
    check says so)."""
    from weatherclean.errors import WeathercleanError
    from weatherclean.models.loading import read_folder
    from weatherclean.models.registry import locate_model
    from weatherclean.provenance import weights_sha256

    if cmd.models is not None:
        return {"source": "provided"}
    try:
        source = locate_model(cmd.model, task, offline=True)
        _, config = read_folder(source.folder)
    except (WeathercleanError, OSError):
        return {}
    hub = source.kind == "hub"
    pass_through = getattr(config, "pass_through", None) if cmd.pass_through is None else cmd.pass_through
    self_ensemble = getattr(config, "self_ensemble", None) if cmd.self_ensemble is None else cmd.self_ensemble
    return {
        "source": source.kind, "repo_id": source.repo_id if hub else None, "commit": source.commit if hub else None,
        "folder": str(source.folder) if source.kind == "folder" else None,
        "weights_sha256": source.sha256.get("model.safetensors") or weights_sha256(source.folder),  # pins: verified
        "pass_through": pass_through, "self_ensemble": self_ensemble,
    }  # fmt: skip


def located(record: Provenance, cmd: PhotoCommand, task: str) -> Provenance:
    """``record``, its model located again if it was not before the run (a Hub model this run downloaded)."""
    import dataclasses

    return record if record.source is not None else dataclasses.replace(record, **model_origin(cmd, task))


def run_record(record: Provenance, cmd: PhotoCommand, task: str, restorer: Restorer | None) -> Provenance:
    """The run's record before its jobs (:mod:`weatherclean.provenance`), what each output's tag holds: the planned
    ``record`` (:func:`planned_record`), and once the model is loaded the device, threads and the settings of the
    model as loaded. With nothing to do (no ``restorer``), as planned: device, precision and threads None."""
    import dataclasses

    if restorer is None:
        return record
    import torch

    config = getattr(restorer.model, "config", None)
    return dataclasses.replace(
        located(record, cmd, task), device=str(restorer.device), threads=torch.get_num_threads(),
        pass_through=getattr(config, "pass_through", record.pass_through),
        self_ensemble=getattr(config, "self_ensemble", record.self_ensemble),
    )  # fmt: skip


#: The names ``--precision`` gives the precisions a run may end in (torch's dtype names without ``torch.``).
_PRECISION_NAMES = {"float16": "fp16", "bfloat16": "bf16"}


def finished_record(record: Provenance, restorer: Restorer | None) -> Provenance:
    """``record`` with the precision the run ended in (fp32 once a tile needed it), or as it was (no model)."""
    import dataclasses

    if restorer is None:
        return record
    dtype = restorer.guard.dtype
    name = _PRECISION_NAMES.get(str(dtype).removeprefix("torch."), "fp32") if dtype is not None else "fp32"
    return dataclasses.replace(record, precision=name)


def ray_record(record: Provenance, cmd: PhotoCommand, task: str) -> Provenance:
    """``--engine ray``'s record: the planned ``record`` (the model as located here, its config's settings), with
    ``engine`` ``ray`` and no device, precision or threads: each actor resolves its own, unknown to this process.
    The actors' outputs carry no ``user.weatherclean`` tag: the run's context does not reach them."""
    import dataclasses

    return dataclasses.replace(located(record, cmd, task), engine="ray")


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
