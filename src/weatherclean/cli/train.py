"""``weatherclean train``: train a model with its paper's full loss, document it, and optionally publish it.

The final model folder gets a model card (``README.md``) that records how it was trained; with
``--push-to-hub`` the folder is then published through :func:`weatherclean.models.hub.push_folder`, the same
code as ``weatherclean models push``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weatherclean.cli.batch import threads_option
from weatherclean.cli.common import cli_errors, console, draws_progress, err_console
from weatherclean.errors import ModelError, WeathercleanError
from weatherclean.io.folders import expand_home

if TYPE_CHECKING:
    from torch import nn

    from weatherclean.models.family import ModelFamily
    from weatherclean.synth.common import Styles
    from weatherclean.training.trainer import TrainConfig, TrainResult


#: The tasks train has data for (a snow job, a rain job); a plugin's own task is refused by name.
TRAINABLE_TASKS = ("snow", "rain")

#: Each loss weight's option, the task whose loss reads it, and its default (the paper's value).
LOSS_WEIGHTS = {
    "--lambda-z": ("snow", 3.0), "--lambda-w": ("snow", 5e-4),
    "--lambda-detect": ("rain", 1e-3), "--lambda-rect": ("rain", 1e-4), "--lambda-removal": ("rain", 1e-4),
}  # fmt: skip


#: Help panels, each a table of its own: in one table the ``--x/--no-x`` flags' second names took a column that
#: left the descriptions 18 characters at 80 columns, cut with "…"; grouped, each panel keeps its own widths. A
#: ``--x/--no-x`` flag is kept apart from long single names with a value: ``--resume/--no-resume`` beside
#: ``--checkpoint-every N`` and ``--time-limit MINUTES`` came out "--checkpoint-…" at 60 columns.
WEATHER_PANEL = "Synthetic weather"
DRY_PANEL = "Weather-free and re-toned samples"
HARDWARE_PANEL = "Hardware"
LOG_PANEL = "Checkpoints and logs"
RESUME_PANEL = "Stopping and resuming"
#: ``--threads`` as desnow, derain and evaluate have it, shown with the hardware.
Threads = threads_option(HARDWARE_PANEL)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


@cli_errors
def train_command(
    task: str = typer.Option("snow", "--task", metavar="snow|rain", help="snow (DesnowNet) or rain (J4R-Net)."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="snow: a Snow100K-layout folder. rain: rain/ + gt/ pairs or clips (RainSyn, NTURain)."
    ),
    clean: list[Path] = typer.Option(
        [], "--clean", help="Folder(s) of clean images: snow or rain is synthesised on the fly."
    ),
    skimage_samples: bool = typer.Option(False, "--skimage-samples", help="Also train on scikit-image samples."),
    arch: str | None = typer.Option(
        None, "--arch", metavar="NAME", help="Registered configuration (default: the task default; `models list`)."
    ),
    init: str | None = typer.Option(
        None, "--init", metavar="MODEL", help="Start from these weights (name, folder or Hub id)."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        show_default="runs/TASK",
        help="Run folder: checkpoint, log, final model/ (runs/snow or runs/rain, after --task).",
    ),
    steps: int = typer.Option(20_000, "--steps", min=1, help="Optimiser steps in total (resume keeps counting)."),
    batch_size: int = typer.Option(
        8,
        "--batch-size",
        min=1,
        help="Crops per optimiser step in total: under torchrun, split evenly over the processes (the same run "
        "as one process with this batch).",
    ),
    crop: int = typer.Option(64, "--crop", min=16, help="Random crop size in pixels."),
    frames: int = typer.Option(
        1, "--frames", min=1, help="rain: frames per clip. 1 = stage 1 (single-frame path); 9 = stage 2 (recurrent)."
    ),
    lr: float = typer.Option(3e-4, "--lr", help="Peak learning rate (Adam), cosine-decayed to 5%; above 0."),
    warmup: int = typer.Option(200, "--warmup", min=0, help="Linear warm-up steps."),
    lambda_z: float = typer.Option(
        LOSS_WEIGHTS["--lambda-z"][1], "--lambda-z", min=0.0, help="Weight of the snow-mask loss (λ_z)."
    ),
    lambda_w: float = typer.Option(LOSS_WEIGHTS["--lambda-w"][1], "--lambda-w", min=0.0, help="Weight decay λ_w·‖w‖²."),
    lambda_detect: float = typer.Option(
        LOSS_WEIGHTS["--lambda-detect"][1],
        "--lambda-detect",
        min=0.0,
        help="rain: weight of the occlusion-detection loss (paper: 0.001).",
    ),
    lambda_rect: float = typer.Option(
        LOSS_WEIGHTS["--lambda-rect"][1],
        "--lambda-rect",
        min=0.0,
        help="rain: weight of the detail (rectification) loss (paper: 0.0001).",
    ),
    lambda_removal: float = typer.Option(
        LOSS_WEIGHTS["--lambda-removal"][1],
        "--lambda-removal",
        min=0.0,
        help="rain: weight of the streak-removal loss on R-Net's streak map, which the pass-through gate reads "
        "(paper: 0.0001, where the term hardly counts beside the joint loss).",
    ),
    level: str | None = typer.Option(
        None,
        "--level",
        metavar="LEVEL",
        help="Synthetic level: snow S, M, L; rain light, heavy; or mixed (default).",
        rich_help_panel=WEATHER_PANEL,
    ),
    haze: bool = typer.Option(
        True, "--haze/--no-haze", help="Include the veil of heavy synthetic snow.", rich_help_panel=WEATHER_PANEL
    ),
    style: list[str] = typer.Option(
        [],
        "--style",
        help="Synthesise only this style (repeatable; default: all). See `synth snow --help`, `synth rain --help`.",
        rich_help_panel=WEATHER_PANEL,
    ),
    exclude_style: list[str] = typer.Option(
        [],
        "--exclude-style",
        help="Never synthesise this style (repeatable): the leave-one-style-out test.",
        rich_help_panel=WEATHER_PANEL,
    ),
    style_weight: list[str] = typer.Option(
        [],
        "--style-weight",
        metavar="NAME=W",
        help="Give this style W times the chance of the others at each draw (repeatable; default 1; 0 leaves it out).",
        rich_help_panel=WEATHER_PANEL,
    ),
    lambda_colour: float = typer.Option(
        0.0,
        "--lambda-colour",
        min=0.0,
        help="Weight of our brightness-and-colour term (0: the paper's loss).",
    ),
    pass_through: float | None = typer.Option(
        None,
        "--pass-through",
        metavar="T",
        min=0.0,
        max=0.49,
        help="Return pixels unchanged where the model finds no weather: its snow mask, or for rain its streak and "
        "occlusion maps, stay below this (0: off; default: as the model). Rain's gate acts at inference only.",
    ),
    clean_fraction: float = typer.Option(
        0.0,
        "--clean-fraction",
        min=0.0,
        max=0.95,
        help="Share of synthetic samples with no weather at all, so the model learns to leave clean pictures alone.",
        rich_help_panel=DRY_PANEL,
    ),  # fmt: skip
    tone_fraction: float = typer.Option(
        0.0,
        "--tone-fraction",
        min=0.0,
        max=1.0,
        help="Share of synthetic backgrounds made brighter, lifted or hazy before the weather is added, so the "
        "model cannot take a bright or low-contrast scene for weather (not with --dataset).",
        rich_help_panel=DRY_PANEL,
    ),
    tone_haze: str = typer.Option(
        "all",
        "--tone-haze",
        metavar="all|dry",
        help="With --tone-fraction: which re-toned backgrounds may get the haze tone, all or only those left "
        "without weather (dry); a haze under the weather looks like its accumulation, which the model must remove.",
        rich_help_panel=DRY_PANEL,
    ),
    dry_crops: int = typer.Option(
        1,
        "--dry-crops",
        min=1,
        help="With --clean-fraction: crop each weather-free sample as the most detailed of this many random crops, "
        "so the model sees detailed scenes (lit windows, shutters) left as they are (1: a plain random crop).",
        rich_help_panel=DRY_PANEL,
    ),
    dry_pick: str = typer.Option(
        "detail",
        "--dry-pick",
        metavar="detail|change",
        help="With --dry-crops: how to pick among the candidates: detail (the most fine detail) or change (the one "
        "the --init weights would change most: hard-negative mining; one model pass per candidate).",
        rich_help_panel=DRY_PANEL,
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the crops, the synthetic weather and fresh weights."),
    workers: int = typer.Option(2, "--workers", min=0, help="Data-loading processes.", rich_help_panel=HARDWARE_PANEL),
    device: str = typer.Option(
        "auto", "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=HARDWARE_PANEL
    ),
    amp: bool | None = typer.Option(
        None,
        "--amp/--no-amp",
        help="Mixed precision, bf16 autocast (default: on with CUDA; on a CPU only when asked, where the CPU has "
        "native bf16).",
        rich_help_panel=HARDWARE_PANEL,
    ),
    checkpoint_every: int = typer.Option(
        250,
        "--checkpoint-every",
        min=1,
        help="Steps between checkpoints (OUTPUT/checkpoint.pt; a rerun resumes).",
        rich_help_panel=LOG_PANEL,
    ),
    log_every: int = typer.Option(
        10,
        "--log-every",
        min=1,
        help="Steps per line of OUTPUT/train_log.jsonl (each the mean over those steps).",
        rich_help_panel=LOG_PANEL,
    ),
    resume: bool = typer.Option(
        True,
        "--resume/--no-resume",
        help="Continue from OUTPUT/checkpoint.pt if present, with the same options (others are refused). "
        "--no-resume starts over and moves the earlier run into OUTPUT/previous-DATE-TIME/.",
        rich_help_panel=RESUME_PANEL,
    ),
    time_limit: float | None = typer.Option(
        None,
        "--time-limit",
        metavar="MINUTES",
        min=0.0,
        help="Minutes to train in this invocation; then checkpoint and stop (rerun to continue).",
        rich_help_panel=RESUME_PANEL,
    ),
    threads: Threads = None,
    push_to_hub: str | None = typer.Option(
        None,
        "--push-to-hub",
        metavar="OWNER/NAME",
        help="When the run finishes, publish OUTPUT/model to this Hub repo (owner/name\\[@branch]); "
        "needs HF_TOKEN or `hf auth login`.",
    ),
    push_private: bool = typer.Option(False, "--push-private", help="With --push-to-hub: create the repo private."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar and no messages; only errors.", rich_help_panel=LOG_PANEL
    ),
) -> None:
    """Train DesnowNet or J4R-Net with its paper's loss; the result in OUTPUT/model loads with --model.

    Examples:\n
      weatherclean train --task snow --dataset Snow100K-training/all -o runs/snow100k\n
      weatherclean train --task snow --clean photos/clean --skimage-samples --steps 5000 -o runs/synth\n
      weatherclean train --task rain --clean photos/clean --frames 1 -o runs/rain1\n
      weatherclean train --task rain --clean photos/clean --frames 9 --init runs/rain1/model -o runs/rain2\n
      weatherclean train --task snow --clean photos/clean -o runs/mine --push-to-hub someone/desnownet-mine\n
    OUTPUT/model/README.md is a model card that records the run.
    Interrupt at any time: the same command resumes from the last checkpoint.
    Exit code 0 when the run finished or stopped at --time-limit (rerun to continue), 2 when it could not run or
    stopped on an error (bad options, unreadable data, a failed push: the message says which), 130 when interrupted
    (the same command resumes).
    Several GPUs, one process each (--batch-size stays the global batch; several machines: docs/usage.md):\n
      torchrun --standalone --nproc-per-node 4 -m weatherclean train ...\n
    """
    import torch  # here, not at the top: --help must not import PyTorch

    from weatherclean.batch.outputs import check_output_folder
    from weatherclean.data.tones import check_tone_haze
    from weatherclean.io.folders import check_writable_folders
    from weatherclean.models.family import tasks
    from weatherclean.models.registry import get_spec, resolve_model_name
    from weatherclean.restore.restorer import with_pass_through
    from weatherclean.training.tasks import RainTask, SnowTask, check_clean_sources
    from weatherclean.training.trainer import (
        RUN_FOLDER,
        TrainConfig,
        finished_model,
        has_own_card,
        recorded_config,
        refuse_changed_run,
        train,
    )

    if task not in TRAINABLE_TASKS:
        if task in tasks():  # a plugin's own task: known, but train has no data for it (it built a rain job)
            raise WeathercleanError(
                f"--task {task}: train has training data for {' and '.join(TRAINABLE_TASKS)} only; train {task} "
                "models with your own loop and their family's loss (docs/api.md, Model families)"
            )
        raise WeathercleanError(f"--task {task}: use {' or '.join(TRAINABLE_TASKS)}")
    check_output_folder(output, what="the run folder", hint="give the run a folder name (the model is written to "
                        "OUTPUT/model), or make the folder first if that is really its name")  # fmt: skip
    output = output or Path("runs") / task
    # A file in the way, a folder below a file, /proc: refused now, not after the model and data are loaded.
    check_writable_folders([output.resolve()], given=output, hint="choose another -o for the run folder")
    _check_numbers(
        {"--lr": lr, "--lambda-z": lambda_z, "--lambda-w": lambda_w, "--lambda-detect": lambda_detect,
         "--lambda-rect": lambda_rect, "--lambda-removal": lambda_removal, "--lambda-colour": lambda_colour,
         "--pass-through": pass_through, "--clean-fraction": clean_fraction, "--tone-fraction": tone_fraction,
         "--time-limit": time_limit}
    )  # fmt: skip
    if lr <= 0:
        raise WeathercleanError(f"--lr {lr:g}: the learning rate must be above 0")
    if dataset is None and not clean and not skimage_samples:
        raise WeathercleanError("no training data: pass --dataset DIR or --clean DIR (or --skimage-samples)")
    if dataset is not None and not dataset.is_dir():
        raise WeathercleanError(f"{dataset}: dataset folder not found")
    check_clean_sources(clean)
    if frames != 1 and task != "rain":
        raise WeathercleanError(f"--frames {frames}: only rain trains on clips; leave it out for --task {task}")
    if init and arch:
        raise WeathercleanError(
            f"--arch {arch} with --init {init}: the starting weights decide the architecture; leave out --arch "
            f"to fine-tune {init}, or --init to train {arch} from scratch"
        )
    level = _level(task, level)
    styles = _styles(task, style, exclude_style, style_weight)
    _refuse_other_loss_weights(
        task, {"--lambda-z": lambda_z, "--lambda-w": lambda_w, "--lambda-detect": lambda_detect,
               "--lambda-rect": lambda_rect, "--lambda-removal": lambda_removal},
    )  # fmt: skip
    if not haze and task != "snow":
        raise WeathercleanError(f"--no-haze: only synthetic snow has a veil; leave it out for --task {task}")
    if dataset is not None:
        _refuse_two_sources(clean, skimage_samples)
        _refuse_synthesis_options(
            {"--no-haze": not haze, "--clean-fraction": clean_fraction, "--tone-fraction": tone_fraction,
             "--tone-haze": tone_haze != "all", "--dry-crops": dry_crops > 1, "--dry-pick": dry_pick != "detail",
             "--level": level is not None, "--style": bool(style), "--exclude-style": bool(exclude_style),
             "--style-weight": bool(style_weight)}
        )  # fmt: skip
    check_tone_haze(tone_haze)
    if tone_haze != "all" and not tone_fraction:
        raise WeathercleanError(f"--tone-haze {tone_haze} needs --tone-fraction above 0: no background is re-toned")
    if dry_crops > 1 and not clean_fraction:
        raise WeathercleanError(f"--dry-crops {dry_crops} needs --clean-fraction above 0: no sample is left dry")
    _check_dry_pick(dry_pick, dry_crops, init)
    if push_to_hub:  # a typo in the repo id, offline mode or a missing login must not cost a training run
        _check_push_ready(push_to_hub, output)
    elif push_private:
        raise WeathercleanError("--push-private only applies with --push-to-hub owner/name")
    if not init:
        # the task's default is the shipped family's (as load_restorer's), whatever plugin also serves the task
        arch = arch or resolve_model_name("default", task)
        get_spec(arch)  # an unknown --arch fails here, before any data is read
    _check_task("--init" if init else "--arch", init or str(arch), task)
    cfg = TrainConfig(
        output=str(output), steps=steps, batch_size=batch_size, lr=lr, warmup_steps=warmup, seed=seed,
        workers=workers, device=device, amp=amp, checkpoint_every=checkpoint_every, log_every=log_every, resume=resume,
        progress=not quiet, time_limit_minutes=time_limit,
        extra={"task": task, "arch": arch, "init": _init_record(init, task), RUN_FOLDER: _folder_record(output),
               "dataset": _folder_record(dataset) if dataset else None,
               "clean": [_folder_record(c) for c in clean], "skimage_samples": skimage_samples, "crop": crop,
               "frames": frames, "lambda_z": lambda_z, "lambda_w": lambda_w, "level": level, "haze": haze,
               "clean_fraction": clean_fraction, "tone_fraction": tone_fraction, "tone_haze": tone_haze,
               "dry_crops": dry_crops, "dry_pick": dry_pick,
               "styles": list(styles) if styles else None,
               "style_weights": dict(styles) if isinstance(styles, dict) else None,
               "lambda_colour": lambda_colour, "pass_through": pass_through, "lambda_detect": lambda_detect,
               "lambda_rect": lambda_rect, "lambda_removal": lambda_removal},
    )  # fmt: skip
    refuse_changed_run(cfg)  # before any weights are fetched or data read; train() checks again
    cfg = recorded_config(cfg)  # a resumed run keeps the data paths it recorded (the card is made from them)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 and (final := finished_model(cfg)) and has_own_card(final):
        _already_finished(final, output, steps, push_to_hub, push_private, init or str(arch), quiet)
        return
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)  # parameter initialisation
    base_model, init_source, init_folder = None, None, None
    if init:
        model, base_model, init_source, init_folder = _load_init(init, task)
    else:
        model = _fresh_model(str(arch))
    if pass_through is not None:
        model = with_pass_through(model, pass_through, label=init or str(arch))
    _check_task("--init" if init else "--arch", init or str(arch), task, model)
    family = _family_of(model, "--init" if init else "--arch", init or str(arch))  # its loss, not the task's
    model.train()
    samples = steps * batch_size * 64
    loss_fn = family.loss(
        lambda_z=lambda_z, lambda_w=lambda_w, lambda_colour=lambda_colour, lambda_detect=lambda_detect,
        lambda_rect=lambda_rect, lambda_removal=lambda_removal,
    )  # fmt: skip
    mined = init_folder if dry_pick == "change" else None  # the very weights loaded, not a second lookup
    note = None if quiet or int(os.environ.get("RANK", "0")) != 0 else _note  # one process says it
    job: SnowTask | RainTask
    if task == "snow":
        job = SnowTask(
            dataset=dataset, clean=list(clean), include_skimage=skimage_samples, crop=crop, samples=samples,
            level=level, haze=haze, seed=seed, clean_fraction=clean_fraction, styles=styles,
            tone_fraction=tone_fraction, tone_haze=tone_haze, dry_crops=dry_crops, loss_fn=loss_fn,
            dry_model=mined, note=note,
        )  # fmt: skip
    else:
        job = RainTask(
            dataset=dataset, clean=list(clean), include_skimage=skimage_samples, frames=frames, crop=crop,
            samples=samples, level=level, seed=seed, clean_fraction=clean_fraction, styles=styles,
            tone_fraction=tone_fraction, tone_haze=tone_haze, dry_crops=dry_crops, loss_fn=loss_fn, dry_model=mined,
            note=note,
        )  # fmt: skip
    result = train(model, job, cfg, console=err_console, bar=draws_progress())
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 alone writes and publishes
        return
    if result.already_finished and result.final_dir is not None and has_own_card(result.final_dir):
        _already_finished(result.final_dir, output, steps, push_to_hub, push_private, init or str(arch), quiet)
        return
    if result.final_dir is None:
        if push_to_hub:
            err_console.print(
                f"not pushed to {push_to_hub}: the run stopped at step {result.steps} of {steps} before finishing; "
                "run the same command again to continue, and the model is pushed when the run finishes",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
        return
    _write_card(
        result, cfg, model, name=output.name, push_to_hub=push_to_hub, base_model=base_model, init_source=init_source
    )
    if not quiet:  # the loss the log's last line and the model card give (a mean over the last logged steps), not
        # one step's, which jumps from batch to batch and disagreed with both
        loss = float(result.history[-1]["loss"]) if result.history else result.last_loss
        console.print(
            f"trained {result.steps} steps in {result.seconds / 60:.1f} min, final loss {loss:.4g} (mean over the "
            f"last logged steps); model saved to [bold]{result.final_dir}[/] (use --model {result.final_dir})"
        )
    if push_to_hub:
        _push(
            Path(str(result.final_dir)),
            push_to_hub,
            private=push_private,
            arch=init or str(arch),
            steps=result.steps,
            quiet=quiet,
        )


def _folder_record(folder: Path) -> str:
    """How the run records a data folder: its real absolute path.

    Why: a relative path means nothing without the folder it was typed in, so a rerun from inside the run
    folder (``--clean ../photos -o .``) was refused as other data, and one from elsewhere that named
    another folder by the same relative path was taken for the same data. The absolute path is compared
    with the folder a rerun names, however that is typed; with the run folder recorded the same way
    (``RUN_FOLDER``), a run moved with its data matches by where the data sat seen from the run. The model
    card still shows it relative to the run folder (:func:`_from_run`), so no published card holds the
    machine's paths.
    """
    return str(expand_home(folder).resolve())


def _init_record(init: str | None, task: str) -> str | None:
    """How the run records ``--init``: a local model folder like a data folder (:func:`_folder_record`); a
    registered name or a Hub id as given, which names the same weights from any folder."""
    from weatherclean.models.registry import list_models, resolve_model_name

    if not init or resolve_model_name(init, task) in {spec.name for spec in list_models()}:
        return init
    folder = expand_home(init)
    return str(folder.resolve()) if folder.is_dir() else init


def _family_of(model: nn.Module, flag: str, value: str) -> ModelFamily:
    """The family of the model being trained, whose loss it trains with.

    Why the model's and not the task's: another family registered for the same task (a plugin's) once
    became the task's, and ``--arch desnownet-light`` then trained DesnowNet with that family's loss (and
    ``--arch tinysnow-8`` a plugin's model with DesnowNet's, an ``IndexError`` deep in the loss).
    """
    from weatherclean.models.family import family_of_model

    family = family_of_model(model)
    if family is None:
        raise ModelError(
            f"{flag} {value}: its model ({type(model).__name__}) belongs to no registered model family, so train "
            "has no loss for it; register its family (register_family) or pick a model from `weatherclean models "
            "list`"
        )
    return family


def _check_task(flag: str, value: str, task: str, model: nn.Module | None = None) -> None:
    """Refuse a model or configuration of the other task, with advice that fits ``train``: use that task's
    ``--task``, or pick a model of this one (the registry's own advice is for running a model, not training it).
    Without ``model``, ``value`` is checked as a name (registered names only)."""
    from weatherclean.models.family import family_of_model
    from weatherclean.models.registry import check_task, get_spec

    try:
        check_task(model if model is not None else value, task)
    except ModelError:
        family = family_of_model(model) if model is not None else None
        other = family.task if family is not None else get_spec(value).task
        what, use = ("configuration", "train it") if flag == "--arch" else ("model", "fine-tune it")
        advice = (
            f"to {use}, use --task {other}"
            if other in TRAINABLE_TASKS
            else f"train has no data for {other} (only {' and '.join(TRAINABLE_TASKS)})"
        )
        raise ModelError(
            f"{flag} {value}: a {other} {what}; {advice}, or pick a {task} {what} for {flag} (`weatherclean models "
            "list`)"
        ) from None


def _note(message: str) -> None:
    """A note on what the run passes over (an earlier synth output among the clean photos), on stderr."""
    err_console.print(f"note: {message}", highlight=False, soft_wrap=True, markup=False)


def _already_finished(
    final: Path, output: Path, steps: int, push_to_hub: str | None, private: bool, arch: str, quiet: bool
) -> None:
    """A finished run run again: its model and card are left as they are, and ``--push-to-hub`` publishes
    them as they are, as ``weatherclean models push`` would.

    Why: rerunning a script from its top reruns every finished step; writing the model and its card again
    lost what a user had added to the card (scores, notes) for nothing, since the weights are the same.
    """
    if not quiet:
        console.print(
            f"{output} has finished already ({steps} steps): {final} and its card are left as they are (use "
            f"--model {final}; --no-resume or another -o trains again)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if push_to_hub:
        _push(final, push_to_hub, private=private, arch=arch, steps=steps, quiet=quiet)


def _write_card(
    result: TrainResult,
    cfg: TrainConfig,
    model: nn.Module,
    *,
    name: str,
    push_to_hub: str | None,
    base_model: str | None,
    init_source: str | None,
) -> None:
    """Replace the mixin's boilerplate README.md in OUTPUT/model with a card that records this run.

    A card is published with the model, so it never holds an absolute path (the training machine's user
    name, its mounts): every folder it names (-o, --dataset, --clean, a local --init) is written relative
    to the run folder, and the card says so; a Hub model is named by its repo id.
    """
    from weatherclean.models.cards import TrainingRecord, render_card, training_seconds, write_card

    final = Path(str(result.final_dir))
    run = Path(cfg.output).resolve()
    settings = asdict(cfg)
    extra = dict(settings.get("extra") or {})
    settings["output"], settings["extra"] = ".", extra
    if extra.get("dataset"):
        extra["dataset"] = _from_run(extra["dataset"], run)
    extra["clean"] = [_from_run(c, run) for c in extra.get("clean") or []]
    init = extra.get("init")
    if init and expand_home(init).exists():  # a local folder (a registered name or Hub id is not a path)
        extra["init"] = _from_run(init, run)
        init_source = f"`{extra['init']}` (a local model folder)"
    history = result.history
    record = TrainingRecord(
        settings=settings,
        steps=result.steps,
        final_loss=float(history[-1]["loss"]) if history else result.last_loss,
        seconds=training_seconds(history, fallback=result.seconds),
        init_source=init_source,
        push_to_hub=push_to_hub,
    )
    text = render_card(
        json.loads((final / "config.json").read_text()),
        name=push_to_hub.partition("@")[0].split("/")[-1] if push_to_hub else name,
        model_ref=push_to_hub or _from_run(final, run),
        parameters=sum(p.numel() for p in model.parameters()),
        training=record,
        base_model=base_model,
        paths_note="Paths in this card are relative to the run folder, the folder that holds `model/`: run the "
        "commands from there.",
    )
    write_card(final, text)


def _from_run(path: str | Path, run: Path) -> str:
    """``path`` relative to the run folder, with forward slashes; only its name where no relative path exists
    (another drive on Windows), so the card never shows an absolute path. ``~`` is the user's home (a quoted
    ``--init '~/models/x'`` reaches us unexpanded), not a folder named ``~``."""
    target = expand_home(path).resolve()
    try:
        return Path(os.path.relpath(target, run)).as_posix()
    except ValueError:
        return target.name


def _check_dry_pick(dry_pick: str, dry_crops: int, init: str | None) -> None:
    """``--dry-pick change`` mines weather-free crops against the starting weights: it needs candidates to
    pick from and a starting model."""
    if dry_pick not in ("detail", "change"):
        raise WeathercleanError(f"--dry-pick {dry_pick}: use detail or change")
    if dry_pick == "detail":
        return
    if dry_crops < 2:
        raise WeathercleanError("--dry-pick change needs --dry-crops 2 or more: there is nothing to pick from")
    if not init:
        raise WeathercleanError("--dry-pick change needs --init: the crops are those the starting weights change most")


def _check_numbers(values: dict[str, float | None]) -> None:
    """Refuse NaN and infinity in a number option (a range check lets NaN through: every comparison with it is
    false), which would otherwise fail deep inside training, or never stop it (``--time-limit nan``)."""
    for flag, value in values.items():
        if value is not None and not math.isfinite(value):
            raise WeathercleanError(f"{flag} {value}: not a finite number")


#: What ``hub`` suggests for a missing or rejected token, and what ``train`` can do instead: it has no
#: ``--token`` (a token on the command line would land in the shell history and the process list for hours).
_TOKEN_ADVICE = (
    (", set HF_TOKEN, or pass --token (a token with write access)", " or set HF_TOKEN to a token with write access"),
    (", set HF_TOKEN, or pass --token", " or set HF_TOKEN"),
    ("set HF_TOKEN / pass --token with", "set HF_TOKEN to"),
)


def _for_train(message: str, run: Path, repo: str) -> str:
    """A Hub error's advice as it applies to ``train``: no ``--token``, but a login, ``HF_TOKEN``, or pushing
    the finished model later with ``weatherclean models push`` (which takes --token)."""
    if "--token" not in message:
        return message
    for hub_advice, train_advice in _TOKEN_ADVICE:
        message = message.replace(hub_advice, train_advice)
    return (
        f"{message}; or train without --push-to-hub and push {run / 'model'} afterwards with "
        f"`weatherclean models push {run / 'model'} {repo}`"
    )


def _check_push_ready(repo: str, run: Path) -> None:
    """:func:`~weatherclean.models.hub.check_push_ready`, with advice that works for ``train``."""
    from weatherclean.models.hub import check_push_ready

    try:
        check_push_ready(repo)
    except ModelError as exc:
        raise ModelError(_for_train(str(exc), run, repo.partition("@")[0])) from None


def _fresh_model(arch: str) -> nn.Module:
    """An untrained model of the registered configuration ``arch``, with the config ``models info`` shows.

    A name that ships weights is shown, and run, with its ``config.json``, which holds our no-harm settings
    (``pass_through``; for J4R-Net also ``streak_mode``, ``clamp_fill``, ``occlusion_floor`` and the
    inference-only veil settings) beside the architecture the registry builds; training from scratch takes
    all of them, so ``--arch NAME`` trains, and saves, the model that ``NAME`` names. ``--pass-through``
    still overrides the gate. Other names build as registered.
    """
    from weatherclean.models.family import get_family
    from weatherclean.models.registry import bundled_weights_dir, create_model

    folder = bundled_weights_dir(arch)
    if folder is None:
        return create_model(arch)
    config = json.loads((folder / "config.json").read_text())  # never the weights: they may be an LFS pointer
    family = get_family(config.pop("model_type"))
    return family.build(config)


def _load_init(init: str, task: str) -> tuple[nn.Module, str | None, str | None, Path]:
    """The model to fine-tune, its Hub repo (the card's ``base_model``), where it came from, in words, and
    the folder it was loaded from (``--dry-pick change`` mines against exactly these weights)."""
    from weatherclean.models.registry import load_from_folder, locate_model

    source = locate_model(init, task)
    model = load_from_folder(source.folder)
    if source.kind == "hub":
        return model, source.repo_id, f"`{init}` (Hub repo {source.repo_id} at commit {source.commit})", source.folder
    # Never the folder's path: it is the training machine's (user name, mounts), and the card is published.
    where = "bundled with weatherclean" if source.kind == "bundled" else "a local model folder"
    return model, None, f"`{init}` ({where})", source.folder


def _push(final: Path, repo: str, *, private: bool, arch: str, steps: int, quiet: bool) -> None:
    """Publish the finished model; on failure, say that it is saved and how to push it later."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    from weatherclean.cli.models import print_push_result
    from weatherclean.models.hub import push_folder

    bars_were_off = are_progress_bars_disabled()
    if quiet:  # -q promises no progress bar: huggingface_hub's upload bar included
        disable_progress_bars()
    try:
        result = push_folder(
            final, repo, private=private, commit_message=f"Train {arch} for {steps} steps with weatherclean"
        )
    except ModelError as exc:
        message = str(exc).replace("pass --token", "pass --token to `weatherclean models push`")
        raise ModelError(
            f"{message} (the trained model is saved in {final}; push it later with "
            f"`weatherclean models push {final} {repo}`)"
        ) from None
    finally:
        if quiet and not bars_were_off:
            enable_progress_bars()
    if not quiet:
        print_push_result(result)
    else:
        console.print(f"pushed {result.spec}", highlight=False, soft_wrap=True, markup=False)


def _styles(task: str, include: list[str], exclude: list[str], weights: list[str]) -> Styles | None:
    """The snow or rain styles to synthesise from ``--style``/``--exclude-style``/``--style-weight``
    (None: all of them, drawn alike).

    Each task has its own styles (docs/synthesis.md); names are checked against the task's list, so a
    snow style given with ``--task rain`` is refused before any data is read. With ``--style-weight``
    the result maps every kept style to its weight (1 unless given), which is how a style that
    dominates the mix (rain's ``downpour``) gets a smaller share without being left out.
    """
    if not include and not exclude and not weights:
        return None
    include, exclude = [s.lower() for s in include], [s.lower() for s in exclude]  # as `synth --style`
    if task == "snow":
        from weatherclean.synth.snow import check_styles
    else:
        from weatherclean.synth.rain import check_styles
    try:
        chosen = check_styles(include)
        check_styles(exclude)
    except ValueError as exc:
        raise WeathercleanError(f"--style: {exc}") from None
    try:
        given = _style_weights(weights)
        check_styles(list(given))
    except ValueError as exc:
        raise WeathercleanError(f"--style-weight: {exc}") from None
    kept = tuple(s for s in chosen if s not in exclude)
    if not kept:
        raise WeathercleanError(f"--style/--exclude-style leave no {task} style to train on")
    if not given:
        return kept
    if unused := [name for name in given if name not in kept]:
        raise WeathercleanError(
            f"--style-weight {unused[0]}: that style is not trained on (see --style, --exclude-style); drop the weight"
        )
    if not any(given.get(name, 1.0) > 0 for name in kept):
        raise WeathercleanError("--style-weight: every style trained on has weight 0; give one a weight above 0")
    try:  # every style not kept weighs 0, every kept one 1 unless given
        return check_styles({name: given.get(name, 1.0) if name in kept else 0.0 for name in check_styles(None)})
    except ValueError as exc:
        raise WeathercleanError(f"--style-weight: {exc}") from None


def _style_weights(options: list[str]) -> dict[str, float]:
    """``["downpour=0.5"]`` → ``{"downpour": 0.5}``; a malformed option raises ValueError saying which."""
    weights: dict[str, float] = {}
    for option in options:
        name, sep, value = option.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        name = name.strip().lower()
        if not sep or not name or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight {option!r}: write NAME=W with W a number >= 0, e.g. downpour=0.5")
        if name in weights:
            raise ValueError(f"{name!r} is given two weights; give it one")
        weights[name] = weight
    return weights


def _refuse_other_loss_weights(task: str, given: dict[str, float]) -> None:
    """A loss weight changed for the task whose loss never reads it would be ignored without a word (and
    recorded as if it counted): refuse it, as ``--push-private`` without ``--push-to-hub`` is refused."""
    ignored = [
        flag for flag, value in given.items() if LOSS_WEIGHTS[flag][0] != task and value != LOSS_WEIGHTS[flag][1]
    ]
    if ignored:
        other = LOSS_WEIGHTS[ignored[0]][0]
        raise WeathercleanError(f"{', '.join(ignored)}: only the {other} loss has it; leave it out for --task {task}")


def _refuse_two_sources(clean: list[Path], skimage_samples: bool) -> None:
    """With ``--dataset``, refuse the clean photos of synthetic training (``--clean``, ``--skimage-samples``).

    Why: a run trains on one source, the pairs when ``--dataset`` is given, so the photos were never read,
    yet the model card listed them as training data beside the pairs. Training on both at once is not
    supported."""
    given = [flag for flag, on in (("--clean", bool(clean)), ("--skimage-samples", skimage_samples)) if on]
    if given:
        flags = " and ".join(given)
        raise WeathercleanError(
            f"--dataset with {flags}: a run trains on --dataset pairs or on weather synthesised over clean photos "
            f"({flags}), not both; leave out {flags} to train on the pairs, or --dataset to train on the photos"
        )


def _refuse_synthesis_options(given: dict[str, float]) -> None:
    """Options that shape synthesised samples do nothing to pairs read from ``--dataset``: refuse them
    rather than train as if they counted (the card would record them)."""
    used = [flag for flag, value in given.items() if value]
    if used:
        raise WeathercleanError(
            f"{', '.join(used)}: only synthetic training data (--clean) has it; --dataset pairs are used as they are"
        )


def _level(task: str, level: str | None) -> str | None:
    """Normalise ``--level`` for the task; ``mixed``/None mean every level."""
    if level is None or level.lower() == "mixed":
        return None
    known = ("S", "M", "L") if task == "snow" else ("light", "heavy")
    value = level.upper() if task == "snow" else level.lower()
    if value not in known:
        raise WeathercleanError(f"--level {level}: {task} levels are {', '.join(known)} or mixed")
    return value
