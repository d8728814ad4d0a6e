"""``weatherclean train``: train a model with its paper's full loss."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from weatherclean.cli.common import cli_errors, console
from weatherclean.errors import WeathercleanError


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


@cli_errors
def train_command(
    task: str = typer.Option("snow", "--task", help="snow (DesnowNet) or rain (J4R-Net)."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="snow: a Snow100K-layout folder. rain: rain/ + gt/ pairs or clips (RainSyn, NTURain)."
    ),
    clean: list[Path] = typer.Option(
        [], "--clean", help="Folder(s) of clean images: snow or rain is synthesised on the fly."
    ),
    skimage_samples: bool = typer.Option(False, "--skimage-samples", help="Also train on scikit-image samples."),
    arch: str | None = typer.Option(None, "--arch", help="Registered configuration (default: the task default)."),
    init: str | None = typer.Option(None, "--init", help="Start from these weights (name, folder or Hub id)."),
    output: Path = typer.Option(Path("runs/snow"), "--output", "-o", help="Run folder: checkpoint, log, final model/."),
    steps: int = typer.Option(20_000, "--steps", min=1, help="Optimiser steps in total (resume keeps counting)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    crop: int = typer.Option(64, "--crop", min=16, help="Random crop size in pixels."),
    frames: int = typer.Option(
        1, "--frames", min=1, help="rain: frames per clip. 1 = stage 1 (single-frame path); 9 = stage 2 (recurrent)."
    ),
    lr: float = typer.Option(3e-4, "--lr", help="Peak learning rate (Adam), cosine-decayed to 5%."),
    warmup: int = typer.Option(200, "--warmup", min=0, help="Linear warm-up steps."),
    lambda_z: float = typer.Option(3.0, "--lambda-z", help="Weight of the snow-mask loss (λ_z)."),
    lambda_w: float = typer.Option(5e-4, "--lambda-w", help="Weight decay λ_w·‖w‖²."),
    level: str | None = typer.Option(
        None, "--level", help="Synthetic level: snow S, M, L; rain light, heavy; or mixed (default)."
    ),
    haze: bool = typer.Option(True, "--haze/--no-haze", help="Include the veil of heavy synthetic snow."),
    seed: int = typer.Option(0, "--seed"),
    workers: int = typer.Option(2, "--workers", min=0, help="Data-loading processes."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    amp: bool | None = typer.Option(None, "--amp/--no-amp", help="Mixed precision (default: on with CUDA)."),
    checkpoint_every: int = typer.Option(250, "--checkpoint-every", min=1),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUTPUT/checkpoint.pt if present."),
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Minutes to train in this invocation; then checkpoint and stop (rerun to continue)."
    ),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for PyTorch (default: PyTorch's)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Train DesnowNet or J4R-Net with its paper's loss; the result in OUTPUT/model loads with --model.

    Examples:\n
      weatherclean train --task snow --dataset Snow100K-training/all -o runs/snow100k\n
      weatherclean train --task snow --clean photos/clean --skimage-samples --steps 5000 -o runs/synth\n
      weatherclean train --task rain --clean photos/clean --frames 1 -o runs/rain1\n
      weatherclean train --task rain --clean photos/clean --frames 9 --init runs/rain1/model -o runs/rain2\n
    Interrupt at any time: the same command resumes from the last checkpoint.
    Several GPUs: torchrun --nproc-per-node 4 -m weatherclean train ...
    """
    from weatherclean.models.registry import DEFAULT_MODELS, check_task, create_model, get_spec, load_model
    from weatherclean.training.losses import DesnowLoss
    from weatherclean.training.tasks import RainTask, SnowTask
    from weatherclean.training.trainer import TrainConfig, train

    if task not in ("snow", "rain"):
        raise WeathercleanError(f"--task {task}: use snow or rain")
    if dataset is None and not clean and not skimage_samples:
        raise WeathercleanError("no training data: pass --dataset DIR or --clean DIR (or --skimage-samples)")
    if dataset is not None and not dataset.is_dir():
        raise WeathercleanError(f"{dataset}: dataset folder not found")
    level = _level(task, level)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)  # parameter initialisation
    arch = arch or DEFAULT_MODELS[task]
    get_spec(arch)  # an unknown --arch fails here, before any data is read
    check_task(init or arch, task)
    model = load_model(init, "cpu", task) if init else create_model(arch)
    check_task(model, task)
    model.train()
    cfg = TrainConfig(
        output=str(output), steps=steps, batch_size=batch_size, lr=lr, warmup_steps=warmup, seed=seed,
        workers=workers, device=device, amp=amp, checkpoint_every=checkpoint_every, resume=resume,
        progress=not quiet, time_limit_minutes=time_limit,
        extra={"task": task, "arch": arch, "init": init, "dataset": str(dataset) if dataset else None,
               "clean": [str(c) for c in clean], "skimage_samples": skimage_samples, "crop": crop,
               "frames": frames, "lambda_z": lambda_z, "lambda_w": lambda_w, "level": level, "haze": haze},
    )  # fmt: skip
    samples = steps * batch_size * 64
    job: SnowTask | RainTask
    if task == "snow":
        job = SnowTask(
            dataset=dataset, clean=list(clean), include_skimage=skimage_samples, crop=crop, samples=samples,
            level=level, haze=haze, seed=seed, loss_fn=DesnowLoss(lambda_z=lambda_z, lambda_w=lambda_w),
        )  # fmt: skip
    else:
        job = RainTask(
            dataset=dataset, clean=list(clean), include_skimage=skimage_samples, frames=frames, crop=crop,
            samples=samples, level=level, seed=seed,
        )  # fmt: skip
    result = train(model, job, cfg)
    if result.final_dir is None:
        return
    if not quiet:
        console.print(
            f"trained {result.steps} steps in {result.seconds / 60:.1f} min, last loss {result.last_loss:.4g}; "
            f"model saved to [bold]{result.final_dir}[/] (use --model {result.final_dir})"
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
