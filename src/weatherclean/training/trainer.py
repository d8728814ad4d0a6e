"""One training loop for every task: checkpoints, resume, schedule, progress, devices, torchrun.

What is task-specific (the dataset, the model's forward and the loss) comes from a :class:`Task`; the
loop itself knows nothing of snow or rain, so the rain model reuses it unchanged.

Reproducibility: sample ``g`` of the run (a global counter over all steps, ranks and workers) is a pure
function of ``(seed, g)``: the sampler below hands out global indices and the datasets derive their
randomness from the index. So the same seed gives the same result on CPU with any number of data-loader
workers, and a resumed run continues with exactly the samples the interrupted one would have used.

Several processes (``torchrun``): ``batch_size`` is the *global* batch, split evenly over the processes, and
step ``s`` of every run draws global samples ``s·B … s·B + B − 1`` whatever the number of processes, each
process taking one contiguous slice. Every loss term is a batch mean and DDP averages the gradients, so a
run on N processes takes the same steps as one process with the same ``--batch-size`` (up to float
rounding), the logged loss is the mean over all processes, and a run may resume on a different number of
processes. Rank 0 alone reads the checkpoint (and sends it to the others) and writes the run folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from weatherclean import __version__
from weatherclean.devices import resolve_device, to_fast_layout, to_standard_layout
from weatherclean.errors import WeathercleanError, one_line
from weatherclean.io.atomic import atomic_write
from weatherclean.io.folders import expand_home
from weatherclean.restore.precision import cpu_has_native_bf16
from weatherclean.versions import same_release

if TYPE_CHECKING:
    from rich.console import Console

CHECKPOINT_NAME = "checkpoint.pt"
FINAL_DIR = "model"
LOG_NAME = "train_log.jsonl"


class Task(Protocol):
    """What the trainer needs to know about a task (snow, rain)."""

    name: str

    def build_dataset(self) -> Dataset: ...

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]: ...


@dataclass
class TrainConfig:
    """Every knob of a run; written to ``OUTPUT/train_config.json`` so a run can be repeated."""

    output: str = "runs/snow"
    steps: int = 20_000
    batch_size: int = 8
    lr: float = 3e-4
    min_lr_ratio: float = 0.05  # cosine decay from lr down to lr * min_lr_ratio
    warmup_steps: int = 200
    grad_clip: float = 1.0
    seed: int = 0
    workers: int = 2
    device: str = "auto"
    amp: bool | None = None  # None → autocast on CUDA; True also on a CPU with native bf16
    checkpoint_every: int = 250
    log_every: int = 10
    resume: bool = True
    progress: bool = True
    time_limit_minutes: float | None = None  # checkpoint and stop after this long; rerun to continue
    stop_after: int | None = None  # checkpoint and stop after this many steps in this invocation
    extra: dict[str, Any] = field(default_factory=dict)  # task and model settings, for the record


class GlobalIndexSampler(Sampler[int]):
    """Yields the global sample numbers a rank consumes from ``start_step`` to ``steps``.

    ``batch`` is the per-rank batch. Global sample ``g`` of step ``s`` is ``s * world * batch + rank * batch +
    j``: the global batch of a step is one contiguous range, cut into ``world`` slices, so one process with
    batch ``world * batch`` sees the same samples at every step as ``world`` processes together. Datasets turn
    a global number into an item (an index into a permutation of the epoch for finite datasets, or a fresh
    synthetic sample), so what a step sees never depends on workers, on the number of processes, or on where
    a run was resumed.
    """

    def __init__(self, start_step: int, steps: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start_step, self.steps, self.batch, self.rank, self.world = start_step, steps, batch, rank, world

    def __iter__(self) -> Iterator[int]:
        for s in range(self.start_step, self.steps):
            base = (s * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step) * self.batch


class EpochView(Dataset):
    """Maps global sample numbers onto a finite dataset: a new seeded permutation every epoch."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed
        self.n = len(dataset)  # type: ignore[arg-type]
        self._perm_epoch, self._perm = -1, np.arange(0)

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, g: int) -> Any:
        epoch, i = divmod(g, self.n)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        index = int(self._perm[i])
        if hasattr(self.dataset, "item"):  # explicit epoch: no shared counter for workers to race on
            return self.dataset.item(index, epoch)
        return self.dataset[index]


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_name: str) -> tuple[_Dist, torch.device]:
    """Set up data-parallel training when started by ``torchrun`` (one process per GPU, or per CPU share).

    Each process takes the GPU of its ``LOCAL_RANK`` and talks over NCCL; on CPUs (no CUDA, or ``--device
    cpu``) the processes talk over gloo. A fixed ``cuda:N`` would put every process on one GPU, so it is
    refused under torchrun.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), resolve_device(device_name)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    wants_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if device_name.startswith("cuda:"):
        raise WeathercleanError(
            f"--device {device_name}: under torchrun each process takes the GPU of its LOCAL_RANK; use --device "
            "cuda (or auto), and CUDA_VISIBLE_DEVICES to choose the GPUs"
        )
    if wants_cuda:
        resolve_device("cuda")  # a clear error where CUDA is missing
        if local_rank >= torch.cuda.device_count():
            raise WeathercleanError(
                f"torchrun started process LOCAL_RANK={local_rank}, but this machine has only "
                f"{torch.cuda.device_count()} GPU(s): use --nproc-per-node {torch.cuda.device_count()} or fewer"
            )
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = resolve_device("cpu" if device_name == "auto" else device_name), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return _Dist(rank, world, local_rank), device


def _per_rank_batch(batch_size: int, ddp: _Dist) -> int:
    """The share of the global ``--batch-size`` each process computes: it must split evenly."""
    if batch_size % ddp.world:
        raise WeathercleanError(
            f"--batch-size {batch_size} is the global batch and must split evenly over the {ddp.world} training "
            f"processes (torchrun --nnodes × --nproc-per-node): use a multiple of {ddp.world}"
        )
    return batch_size // ddp.world


#: What ``checkpoint.pt`` holds: state dicts (tensors, numbers, lists, dicts, None), the step counts and the
#: log history (dicts of numbers). Nothing else is written, and nothing else is accepted on resume.
_CHECKPOINT_KEYS = frozenset({"model", "optimizer", "scheduler", "scaler", "step", "steps_total", "history"})


def _load_checkpoint(path: Path) -> dict[str, Any]:
    """``OUTPUT/checkpoint.pt`` with ``weights_only=True``: tensors, numbers, strings and containers only.

    A run folder can come from someone else (a shared drive, a download), and a full unpickle runs any
    code the file names; the restricted unpickler refuses every class outside PyTorch's allow-list, so
    such a file is an error, never code. Our checkpoints hold nothing else (see ``_CHECKPOINT_KEYS``).
    """
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _refused_by_allow_list(exc):  # unreadable, not refused: a damaged or foreign file
            raise WeathercleanError(
                f"{path}: cannot resume from this checkpoint ({_pickle_reason(exc)}); it is damaged. Use "
                "--no-resume or a new --output to start over"
            ) from None
        raise WeathercleanError(
            f"{path}: holds objects other than tensors and numbers, so it is not loaded (unpickling them could "
            "run code); a weatherclean checkpoint never does. Use --no-resume or a new --output to start over"
        ) from None
    except (RuntimeError, ValueError, OSError, EOFError) as exc:
        raise WeathercleanError(
            f"{path}: cannot resume from this checkpoint ({one_line(exc)}); it is damaged. Use --no-resume or a "
            "new --output to start over"
        ) from None
    if not isinstance(state, dict) or not {"model", "step"} <= set(state) or set(state) - _CHECKPOINT_KEYS:
        raise WeathercleanError(
            f"{path}: not a weatherclean training checkpoint; use --no-resume or a new --output to start over"
        )
    return state


#: What PyTorch's restricted unpickler says when a checkpoint names a class or function outside its allow-list
#: ("Unsupported global: GLOBAL os.system ...", older releases "Unsupported class"). Every other failure it
#: reports, a damaged byte included, is wrapped in the same "Weights only load failed" text, so that text
#: alone does not tell a refused file from a damaged one.
_REFUSAL_MARKERS = ("unsupported global", "unsupported class")


def _refused_by_allow_list(exc: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` refused a class or function (the file could run code)."""
    text = str(exc).lower()
    return any(marker in text for marker in _REFUSAL_MARKERS)


def _pickle_reason(exc: BaseException) -> str:
    """The restricted unpickler's own complaint ("Unsupported operand 254"), without PyTorch's wrapping
    paragraph about ``weights_only`` (which would suggest the fix is to load it unrestricted)."""
    text = str(exc)
    inner = text.partition("WeightsUnpickler error:")[2].partition("Check the documentation")[0]
    return one_line(inner if inner.strip() else exc, 120)


CONFIG_NAME = "train_config.json"
#: Where a fresh start moves the run it replaces, with the time: ``previous-20261206-174301``
#: (see :func:`_set_aside_earlier_run`).
PREVIOUS_DIR = "previous"

#: ``TrainConfig`` fields that change neither the weights nor the data a run draws: where and how fast it is
#: computed (device, precision, processes, data workers) and how it reports and checkpoints. They stay free
#: to change when a run resumes; every other field, and every ``extra`` setting, must stay as it was.
FREE_SETTINGS = frozenset(
    {"output", "workers", "device", "amp", "checkpoint_every", "log_every", "resume", "progress",
     "time_limit_minutes", "stop_after"}
)  # fmt: skip

#: The ``weatherclean train`` option of a setting whose name is not its option's (``warmup_steps`` is
#: ``--warmup``); settings without an option (``min_lr_ratio``, ``grad_clip``) are named as they are.
_OPTION_OF = {"warmup_steps": "--warmup", "styles": "--style", "style_weights": "--style-weight",
              "min_lr_ratio": "min_lr_ratio", "grad_clip": "grad_clip"}  # fmt: skip


def changed_settings(cfg: TrainConfig, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{setting: (saved value, value now)}`` for each setting that changes the result and differs from
    ``saved`` (a run's ``train_config.json``); ``extra`` settings are compared one by one, by their own name.

    Why: a resumed run continues the weights, optimiser and data stream of the checkpoint, so a changed
    ``--lr`` or ``--crop`` silently trains a mix of two runs, and ``train_config.json`` and the model card
    would then claim the whole run used the new values. A setting the saved file lacks (written by an older
    release) is not compared; with ``init`` set the starting weights decide the architecture, so ``arch``
    is not compared either (older releases recorded the task default there).
    """
    now = json.loads(json.dumps(asdict(cfg), default=str))  # as the file holds it: lists, strings
    flat_saved = {k: v for k, v in saved.items() if k not in ("extra", *FREE_SETTINGS)}
    flat_now = {k: v for k, v in now.items() if k not in ("extra", *FREE_SETTINGS)}
    extra_saved, extra_now = saved.get("extra") or {}, now.get("extra") or {}
    if extra_saved.get("init") or extra_now.get("init"):
        extra_saved = {k: v for k, v in extra_saved.items() if k != "arch"}
        extra_now = {k: v for k, v in extra_now.items() if k != "arch"}
    runs = (extra_saved.get(RUN_FOLDER), extra_now.get(RUN_FOLDER))
    flat_saved.update({k: v for k, v in extra_saved.items() if k != RUN_FOLDER})
    flat_now.update({k: v for k, v in extra_now.items() if k != RUN_FOLDER})
    return {
        key: (flat_saved[key], flat_now[key])
        for key in flat_now
        if key in flat_saved and not _same_setting(flat_saved[key], flat_now[key], runs)
    }


#: The ``extra`` key under which a run records where its folder was (absolute): not a setting, never compared,
#: but what lets a run that has moved (another machine, another mount) find its data folders again.
RUN_FOLDER = "run_folder"


def _same_setting(saved: Any, now: Any, runs: tuple[Any, Any] = (None, None)) -> bool:
    """Equal values, or two spellings of one path (``photos`` and ``./photos``, relative and absolute):
    the same folder given another way is the same data. A recorded absolute path that no longer exists
    (the run and its data moved together, to another machine or mount) is the same folder when it sits
    where the folder named now does, seen from the run folder then and now (``runs``)."""
    if saved == now:
        return True
    if isinstance(saved, list) and isinstance(now, list):
        return len(saved) == len(now) and all(_same_setting(a, b, runs) for a, b in zip(saved, now, strict=True))
    if isinstance(saved, str) and isinstance(now, str):
        try:
            if expand_home(saved).resolve() == expand_home(now).resolve():
                return True
            then, here = runs
            if not (isinstance(then, str) and isinstance(here, str)) or Path(saved).exists():
                return False
            moved = Path(os.path.relpath(saved, then))
            return moved == Path(os.path.relpath(expand_home(now).resolve(), Path(here).resolve()))
        except (OSError, RuntimeError, ValueError):
            return False
    return False


def as_options(key: str, value: Any) -> str:
    """A setting as the ``weatherclean train`` options that give it: ``crop, 96`` → ``--crop 96``,
    ``styles`` → ``--style a --style b``, ``haze, False`` → ``--no-haze``, ``init, None`` → ``no --init``."""
    flag = _OPTION_OF.get(key, "--" + key.replace("_", "-"))
    if isinstance(value, bool):
        return flag if value else (f"--no-{flag[2:]}" if key == "haze" else f"no {flag}")
    if value is None or value == [] or value == {}:
        return f"no {flag}"
    if isinstance(value, dict):
        return " ".join(f"{flag} {k}={_number(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(f"{flag} {_number(v)}" for v in value)
    return f"{flag} {_number(value)}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


#: The key of ``train_config.json`` that names the weatherclean release that wrote it (0.1.0 wrote none).
VERSION_KEY = "weatherclean_version"

#: The ``extra`` settings that only 0.2.0's ``weatherclean train`` records, each written by every 0.2.0
#: development snapshot since its first (``frames``, with rain training) or by later ones: a run without a
#: version that holds any of them was made by a 0.2.0 development snapshot (before runs recorded their version).
#: A positive list, not "anything 0.1.0 did not write": a key added by hand, or by a tool, proves nothing.
_EXTRA_SINCE_0_1_0 = frozenset(
    {"frames", RUN_FOLDER, "clean_fraction", "tone_fraction", "tone_haze", "dry_crops", "dry_pick", "styles",
     "style_weights", "lambda_colour", "pass_through", "lambda_detect", "lambda_rect", "lambda_removal"}
)  # fmt: skip

#: How a run whose release cannot be told is named: no version recorded and no setting only 0.2.0 writes.
EARLIER_RELEASE = "an earlier weatherclean (no version recorded: 0.1.0, or a 0.2.0 development snapshot)"


def run_version(saved: dict[str, Any]) -> str | None:
    """The weatherclean that wrote a run's settings (``saved``, its ``train_config.json``): the version recorded,
    ``0.2.0.dev0`` for a 0.2.0 development snapshot's run (no version, but settings only 0.2.0 writes), and None
    where it cannot be told (no version, no such setting: most likely 0.1.0's, but nothing says so)."""
    version = saved.get(VERSION_KEY)
    if isinstance(version, str) and version.strip():
        return version.strip()
    extra = saved.get("extra")
    if isinstance(extra, dict) and not _EXTRA_SINCE_0_1_0.isdisjoint(extra):
        return "0.2.0.dev0"
    return None


def _saved_settings(cfg: TrainConfig) -> dict[str, Any] | None:
    """The ``train_config.json`` of the run ``cfg`` would resume; None where it would start afresh (no
    ``cfg.resume``, no checkpoint) or the run has no settings file (an older release's)."""
    out = Path(cfg.output)
    if not cfg.resume or not (out / CHECKPOINT_NAME).is_file() or not (out / CONFIG_NAME).is_file():
        return None
    try:
        saved = json.loads((out / CONFIG_NAME).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeathercleanError(
            f"{out / CONFIG_NAME}: cannot read this run's settings ({one_line(exc)}), so it cannot be resumed "
            "safely; pass --no-resume (or another -o) to start over"
        ) from None
    if not isinstance(saved, dict):
        raise WeathercleanError(f"{out / CONFIG_NAME}: not a run's settings; pass --no-resume (or another -o)")
    return saved


def recorded_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with each setting spelled as the run it resumes recorded it, where the two spellings name the
    same thing (a data folder given relative now and absolute then, or through a link).

    Why: the recorded spelling is the one that is known to name the folder the run trained on; rewriting it
    with today's would make ``train_config.json`` and the model card depend on the folder the rerun was
    typed in (``--clean ../photos`` from inside the run folder). Settings that differ in substance never get
    here: :func:`refuse_changed_run` refuses them first.
    """
    saved = _saved_settings(cfg)
    if saved is None or not isinstance(saved.get("extra"), dict):
        return cfg
    now = json.loads(json.dumps(cfg.extra, default=str))  # as the file holds it: lists, strings
    extra = dict(cfg.extra)
    for key, value in saved["extra"].items():  # a run that moved records where its data is now
        if key != RUN_FOLDER and key in now and now[key] != value and _same_setting(value, now[key]):
            extra[key] = value
    return dataclasses.replace(cfg, extra=extra)


def holds_final_model(output: str | Path) -> bool:
    """Whether ``OUTPUT/model`` holds a whole saved model: its config, its weights and its card.

    ``save_pretrained`` writes the weights, then the config, then a card (the command replaces that one with
    its own), so a card beside the other two means the final save finished.
    """
    final = Path(output) / FINAL_DIR
    return all((final / name).is_file() for name in ("config.json", "model.safetensors", "README.md"))


def finished_model(cfg: TrainConfig) -> Path | None:
    """``OUTPUT/model`` when the run ``cfg`` would resume has already finished: its checkpoint holds every
    one of ``cfg.steps`` and the final model was saved from it; None otherwise. Reads the checkpoint.

    Why: the same command run again (a script rerun from its top) must leave a finished model, and a card a
    user has added to, as they are, rather than save the model and write its card again.
    """
    out = Path(cfg.output)
    if not cfg.resume or not (out / CHECKPOINT_NAME).is_file() or not holds_final_model(out):
        return None
    refuse_changed_run(cfg)
    state = _load_checkpoint(out / CHECKPOINT_NAME)
    return out / FINAL_DIR if _steps_done(state, cfg.steps) else None


def _steps_done(state: dict[str, Any], steps: int) -> bool:
    """Whether a loaded checkpoint ``state`` holds every one of ``steps``: one test for :func:`finished_model` and
    :func:`_has_finished`, so a rerun and the release check agree on what a finished run is. A checkpoint of
    before ``steps_total`` was saved counts by its step alone."""
    return state.get("steps_total") in (None, steps) and int(state.get("step", 0)) >= steps


def refuse_changed_run(cfg: TrainConfig) -> None:
    """Refuse, in one line, to resume (or re-run) the run in ``cfg.output`` with other result settings, or
    with another weatherclean release than the one that started it (:func:`same_release`; a finished run
    with its card is left to say it has finished).

    Applies only where the run would resume: ``cfg.resume`` and a checkpoint present. A rain run pointed at
    a folder holding a snow run (or the reverse) is named as such, rather than as a model that does not fit.
    """
    out = Path(cfg.output)
    saved = _saved_settings(cfg)
    if saved is None:
        return
    changed = changed_settings(cfg, saved)
    if "task" in changed:
        extra = saved.get("extra") or {}
        made = extra.get("init") or extra.get("arch") or "?"
        raise WeathercleanError(
            f"{out} holds a {changed['task'][0]} run ({made}); use another -o for a {changed['task'][1]} run"
        )
    version = run_version(saved)
    if not same_release(version):
        finished = _has_finished(cfg)
        if not (finished and has_own_card(out / FINAL_DIR)):
            _refuse_other_release(out, version, finished)
    if changed:
        was = " ".join(as_options(key, old) for key, (old, _) in changed.items())
        now = " ".join(as_options(key, new) for key, (_, new) in changed.items())
        raise WeathercleanError(
            f"{out}: this run was made with {was}, not {now}; rerun with the same options to resume, or pass "
            "--no-resume (or another -o) to start over"
        )


def _has_finished(cfg: TrainConfig) -> bool:
    """Whether the run in ``cfg.output`` has finished (its checkpoint holds all ``cfg.steps`` and its final model
    is saved), so that running it again trains nothing and writes no model. Reads the checkpoint."""
    out = Path(cfg.output)
    if not holds_final_model(out):
        return False
    try:
        state = _load_checkpoint(out / CHECKPOINT_NAME)
    except WeathercleanError:
        return False
    return _steps_done(state, cfg.steps)


#: A sentence of the placeholder card ``save_pretrained`` writes (``weatherclean train`` replaces it with its own;
#: 0.1.0 left it, and a run stopped between saving the model and writing its card leaves it too).
PLACEHOLDER_CARD_MARK = "PytorchModelHubMixin"


def has_own_card(final: Path) -> bool:
    """Whether ``final/README.md`` (``OUTPUT/model``'s card) is the one ``weatherclean train`` wrote (perhaps added
    to since), not ``save_pretrained``'s placeholder. The command asks it too: one rule for "finished with its
    card" here, where another release's run is judged, and there, where a finished run is left as it is."""
    try:
        return PLACEHOLDER_CARD_MARK not in (final / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _refuse_other_release(out: Path, version: str | None, finished: bool) -> None:
    """Refuse, in one line, to resume a run another weatherclean release started (see :func:`same_release`).

    A finished run with its card is not refused (:func:`refuse_changed_run`): run again, it trains nothing and
    its model and card are left as they are, so a script rerun from its top still gets past it. One without
    its card (0.1.0 wrote none) would get one from this release, naming this release and a command that does
    not make that model, so it is refused too, pointing at its model.

    Why "in another environment": ``pip install`` of the old release where this one is installed would replace
    it, and with it every other run's and script's weatherclean."""
    made = f"weatherclean {version}" if version is not None else EARLIER_RELEASE
    kept = f"the run is kept in {out / PREVIOUS_DIR}-DATE-TIME/"
    if finished:
        raise WeathercleanError(
            f"{out}: this run was started by {made}, not this weatherclean {__version__}, and has finished: use its "
            f"model as it is (--model {out / FINAL_DIR}), or pass --no-resume to train a new run ({kept})"
        )
    if version is None:
        finish = "the weatherclean that started it, installed in another environment (for 0.1.0: pip install "
        finish += "'weatherclean==0.1.0' in a new virtual environment)"
    elif re.fullmatch(r"\d+(\.\d+)*", version):  # a release pip can install by its name
        finish = f"weatherclean {version}, installed in another environment (pip install 'weatherclean=={version}' in "
        finish += "a new virtual environment)"
    else:
        finish = f"weatherclean {version}, installed in another environment"
    raise WeathercleanError(
        f"{out}: this run was started by {made}, not this weatherclean {__version__}; another release may build the "
        "model with other defaults and draw other training weather, so resuming would train a mix of two runs: "
        f"finish it with {finish}, or pass --no-resume to start over ({kept})"
    )


def _set_aside_earlier_run(out: Path) -> Path | None:
    """On a fresh start, move an earlier run in ``out`` (its ``model/``, checkpoint, log and settings) into a
    new ``out/previous-YYYYMMDD-HHMMSS/`` and return that folder; None when there was none.

    Why: the new run rewrites the log and settings at once but writes ``model/`` only when it finishes, so
    the old model would sit there for hours looking like this run's, and an interrupted new run would
    leave the old checkpoint under the new settings, which the next rerun would resume. Moved, never
    deleted, each into a folder of its own: ``--no-resume`` by mistake, twice, must not cost a finished
    model, and each ``previous-*`` folder is a whole run folder.
    """
    names = (FINAL_DIR, CHECKPOINT_NAME, LOG_NAME, CONFIG_NAME)
    if not (out / FINAL_DIR).exists() and not (out / CHECKPOINT_NAME).exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    previous = out / f"{PREVIOUS_DIR}-{stamp}"
    for n in range(2, 1000):
        if not previous.exists() and not previous.is_symlink():
            break
        previous = out / f"{PREVIOUS_DIR}-{stamp}-{n}"
    previous.mkdir()
    for name in names:
        if (out / name).exists():
            (out / name).rename(previous / name)
    return previous


@dataclass
class _NewRun:
    """What a fresh start did to OUTPUT before its first checkpoint, so that a failure can undo it."""

    out: Path
    created: bool  # OUTPUT did not exist before
    previous: Path | None  # where the earlier run in OUTPUT was set aside (None: there was none)
    checkpointed: bool = False


@contextlib.contextmanager
def _undone_if_it_fails(run: _NewRun | None) -> Iterator[None]:
    """Around the training loop of a fresh start: if it stops by an error or Ctrl-C before its first checkpoint,
    remove its log and settings, put the earlier run it set aside back, and remove OUTPUT if this call made it.

    Why: such a run has nothing to resume (the data can fail only when a pair is first read, a size
    mismatch in ``--dataset``), and a folder holding its settings beside no checkpoint, or an earlier
    finished run moved into ``previous-*`` for nothing, would look like a run that is not there. What an
    earlier run made is only ever moved back, never removed.
    """
    try:
        yield
    except BaseException:
        if run is not None and not run.checkpointed:
            _undo_new_run(run)
        raise


def _undo_new_run(run: _NewRun) -> None:
    """See :func:`_undone_if_it_fails`; a file that cannot be moved or removed is left where it is."""
    for name in (LOG_NAME, CONFIG_NAME):
        with contextlib.suppress(OSError):
            (run.out / name).unlink(missing_ok=True)
    if run.previous is not None:
        for entry in sorted(run.previous.iterdir()):
            if not (run.out / entry.name).exists():
                with contextlib.suppress(OSError):
                    entry.rename(run.out / entry.name)
        with contextlib.suppress(OSError):
            run.previous.rmdir()  # only when all of it went back
    if run.created:
        with contextlib.suppress(OSError):
            run.out.rmdir()  # only when empty


def _atomic_torch_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


@dataclass
class TrainResult:
    final_dir: Path | None  # None when the run stopped before its last step (see stop_after)
    steps: int
    last_loss: float
    seconds: float
    history: list[dict[str, float]]
    already_finished: bool = False  # the run had finished before this call, which left OUTPUT/model as it was


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def param_groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
    """The model's parameters grouped by learning rate: those of a module with an ``lr_scale`` attribute learn
    that many times faster than ``lr``, the rest at ``lr`` (one group, as before, for a model without any).

    Why: a part that starts at zero inside trained weights (DesnowNet's ``Context``) must travel further than
    the weights around it, which a fine-tune's small rate keeps close to where they were; at the same rate
    it hardly moved in 1500 steps (docs/model-history.md, "Round 18 (snow)")."""
    scale_of: dict[int, float] = {}
    for module in model.modules():
        scale = getattr(module, "lr_scale", None)
        if scale is not None:
            scale_of.update((id(p), float(scale)) for p in module.parameters())
    groups: dict[float, list[nn.Parameter]] = {}
    for p in model.parameters():
        groups.setdefault(scale_of.get(id(p), 1.0), []).append(p)
    return [{"params": params, "lr": lr * scale} for scale, params in sorted(groups.items())]


def train(
    model: nn.Module, task: Task, cfg: TrainConfig, *, console: Console | None = None, bar: bool | None = None
) -> TrainResult:
    """Train ``model`` on ``task``; resume from ``OUTPUT/checkpoint.pt`` when present (and allowed).

    The final weights go to ``OUTPUT/model`` via ``save_pretrained`` so they load with ``--model``. A run that
    has finished already is left as it is (``already_finished`` in the result). The task's data is read, and
    so checked, before anything in OUTPUT is written or moved: a run that cannot start leaves an earlier run
    where it was, and no run folder of its own.

    Messages and the progress bar go to ``console`` (default: a console on stderr); ``bar`` False keeps the bar
    off while the messages stay (the CLI's choice where stderr is not a terminal: a log that FORCE_COLOR makes
    Rich take for one would fill with the bar's redraws).
    """
    out = Path(cfg.output)
    ddp, device = _init_distributed(cfg.device)
    torch.manual_seed(cfg.seed)  # parameters were initialised by the caller; this seeds dropout etc.
    model.to(device)
    to_fast_layout(model, device)
    use_amp, amp_dtype = _autocast_choice(cfg.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    optimizer = torch.optim.Adam(param_groups(model, cfg.lr), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))

    start_step, history = 0, []
    ckpt_path = out / CHECKPOINT_NAME
    per_rank = _per_rank_batch(cfg.batch_size, ddp)
    state = _shared_checkpoint(ckpt_path, cfg, ddp)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
        except (RuntimeError, KeyError, ValueError, OSError, EOFError) as exc:
            cause = "it was made with another --arch/--init or is damaged"
            if "parameter group" in str(exc):  # the model's parts with their own rate (lr_scale) changed since
                cause = "its optimiser grouped the learning rates otherwise (made before a part got its own rate)"
            raise WeathercleanError(
                f"{ckpt_path}: cannot resume from this checkpoint ({one_line(exc)}); {cause}. "
                "Use --no-resume or a new --output to start over"
            ) from None
        start_step, history = state["step"], state.get("history", [])
        if state.get("steps_total") not in (None, cfg.steps):
            raise WeathercleanError(
                f"{ckpt_path}: checkpoint was made for --steps {state['steps_total']}, not {cfg.steps}; "
                "use the same --steps to resume, or --no-resume / a new --output to start over"
            )
    if _all_ranks_agree(ddp.main and start_step >= cfg.steps and holds_final_model(out), ddp, device, want=any):
        if ddp.world > 1:
            dist.destroy_process_group()
        last = float(history[-1]["loss"]) if history else float("nan")
        return TrainResult(out / FINAL_DIR, start_step, last, 0.0, history, already_finished=True)
    dataset = EpochView(task.build_dataset(), cfg.seed) if _finite(task) else task.build_dataset()
    new_run: _NewRun | None = None  # what a fresh start did to OUTPUT, undone if it fails before a checkpoint
    if ddp.main:
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        previous = _set_aside_earlier_run(out) if state is None else None
        if previous is not None:
            _say(cfg, f"starting over: the earlier run in {out} is now in {previous}", console)
        if state is None:
            new_run = _NewRun(out, created, previous)
        # The log holds exactly the steps the model has seen: rewritten from the checkpoint's history
        # on resume (dropping steps logged after it), emptied on a fresh start.
        (out / LOG_NAME).write_text("".join(json.dumps(rec) + "\n" for rec in history))
        recorded = recorded_config(cfg) if state is not None else cfg
        settings = {VERSION_KEY: __version__, **asdict(recorded)}  # which release may resume it (same_release)
        (out / CONFIG_NAME).write_text(json.dumps(settings, indent=2, default=str) + "\n")

    train_model: nn.Module = model
    if ddp.world > 1:
        # Channels-last 1×1 weights (to_fast_layout) get gradients whose strides differ from the weights' only
        # in their size-1 dimensions: the same memory layout, so DDP's warning about it is a false alarm.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if start_step >= cfg.steps and ddp.main:
        _say(cfg, f"{ckpt_path} already holds all {cfg.steps} steps; writing the final model", console)
    sampler = GlobalIndexSampler(start_step, cfg.steps, per_rank, ddp.rank, ddp.world)
    loader = DataLoader(
        dataset,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=cfg.workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        worker_init_fn=_worker_init if cfg.workers else None,
        persistent_workers=False,
        prefetch_factor=4 if cfg.workers else None,
    )

    progress = _make_progress(cfg.progress and ddp.main and (bar is None or bar), console)
    t0 = time.perf_counter()
    # a finished run that is run again reports the loss it ended with, not NaN
    step, last_loss, running = start_step, float(history[-1]["loss"]) if history else float("nan"), []
    model.train()
    with progress, _undone_if_it_fails(new_run):
        bar = progress.add_task("training", total=cfg.steps, completed=start_step, loss=last_loss)
        for batch in loader:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items() if torch.is_tensor(v)}
            with torch.autocast(device.type, dtype=amp_dtype) if use_amp else contextlib.nullcontext():
                loss, parts = task.loss(train_model, batch)
            # The loss of the global batch: the mean over the processes (NaN or inf on any one shows in it).
            global_loss, parts = _mean_over_ranks(loss.detach(), parts, ddp)
            if not math.isfinite(global_loss):
                raise WeathercleanError(
                    f"loss became {global_loss} at step {step}; lower --lr or resume from the last checkpoint"
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            last_loss = global_loss
            running.append(last_loss)
            if ddp.main:
                progress.update(bar, completed=step, loss=float(np.mean(running[-50:])))
                if step % cfg.log_every == 0 or step == cfg.steps:
                    rec = {
                        "step": step,
                        "loss": float(np.mean(running[-cfg.log_every :])),
                        "lr": scheduler.get_last_lr()[0],
                        "seconds": time.perf_counter() - t0,
                        **parts,
                    }
                    history.append(rec)
                    with (out / LOG_NAME).open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
            stop = (cfg.stop_after is not None and step - start_step >= cfg.stop_after) or (
                cfg.time_limit_minutes is not None and time.perf_counter() - t0 > 60 * cfg.time_limit_minutes
            )
            # Every rank must stop at the same step, or the others would wait in all-reduce forever.
            stop = _all_ranks_agree(stop, ddp, device, want=any)
            if ddp.main and (step % cfg.checkpoint_every == 0 or step == cfg.steps or stop):
                _atomic_torch_save(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "scaler": scaler.state_dict(),
                        "step": step,
                        "steps_total": cfg.steps,
                        "history": history,
                    },
                    ckpt_path,
                )
                if new_run is not None:
                    new_run.checkpointed = True
            if stop:
                break
    final = out / FINAL_DIR
    if step < cfg.steps:  # stopped early on purpose: the checkpoint holds the state, no final model yet
        if ddp.main:
            _say(cfg, f"stopped at step {step} of {cfg.steps}; run the same command again to continue", console)
        if ddp.world > 1:
            dist.destroy_process_group()
        return TrainResult(None, step, last_loss, time.perf_counter() - t0, history)
    if ddp.main:
        model.eval()
        to_standard_layout(model.to("cpu")).save_pretrained(final)  # type: ignore[operator]
    if ddp.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return TrainResult(final, step, last_loss, time.perf_counter() - t0, history)


def _autocast_choice(amp: bool | None, device: torch.device) -> tuple[bool, torch.dtype]:
    """Whether to train under autocast, and in which dtype.

    CUDA: on unless ``--no-amp``, bf16 where supported (no loss scaling needed), else fp16. CPU: only
    when asked, and only on a CPU with native bf16, where a DesnowNet-light step with channels-last
    weights runs 1.4x faster than fp32 (emulated bf16 would be slower, so it is refused).
    """
    if device.type == "cuda":
        use = amp is None or amp
        return use, torch.bfloat16 if use and torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and amp:
        if not cpu_has_native_bf16():
            raise WeathercleanError("--amp on a CPU needs native bf16 (AVX512-BF16 or AMX); this CPU has none")
        return True, torch.bfloat16
    return False, torch.float32


def _shared_checkpoint(path: Path, cfg: TrainConfig, ddp: _Dist) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: start afresh), read by rank 0 and sent to every other process.

    Only rank 0 writes the run folder, so on several machines without a shared filesystem the others may
    not see it; and every process must start at the same step, or they would wait on each other forever.
    A checkpoint that cannot be read, or a run made with other settings, is an error on every process, with
    rank 0's message.
    """
    state: dict[str, Any] | None = None
    error: str | None = None
    if ddp.main and cfg.resume and path.is_file():
        try:
            refuse_changed_run(cfg)
            state = _load_checkpoint(path)
        except WeathercleanError as exc:
            if ddp.world == 1:
                raise
            error = str(exc)
    if ddp.world > 1:
        box: list[Any] = [state, error]
        dist.broadcast_object_list(box, src=0)  # between our own processes: rank 0 checked it (weights_only)
        state, error = box
    if error is not None:
        raise WeathercleanError(error)
    return state


def _mean_over_ranks(loss: torch.Tensor, parts: dict[str, float], ddp: _Dist) -> tuple[float, dict[str, float]]:
    """The loss and its terms averaged over the processes: each is a batch mean over an equal share of the
    global batch, so their mean is the global batch's value, what one process with that batch would log."""
    if ddp.world == 1:
        return loss.item(), parts
    keys = list(parts)  # the same terms, in the same order, on every process
    values = torch.cat([loss.float().reshape(1), torch.tensor([parts[k] for k in keys], device=loss.device)])
    dist.all_reduce(values)  # SUM: gloo has no AVG
    values = (values / ddp.world).tolist()
    return values[0], dict(zip(keys, values[1:], strict=True))


def _all_ranks_agree(flag: bool, ddp: _Dist, device: torch.device, want: Any) -> bool:
    """``want`` (any/all) of one flag over all ranks; just the flag when training on one process."""
    if ddp.world == 1:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX if want is any else dist.ReduceOp.MIN)
    return bool(t.item())


def _say(cfg: TrainConfig, message: str, console: Console | None) -> None:
    """A message on ``console`` (the CLI's, whose writes never fail; else a console on stderr)."""
    if cfg.progress:
        from rich.console import Console

        (console if console is not None else Console(stderr=True)).print(message, highlight=False, soft_wrap=True)


def _finite(task: Task) -> bool:
    return bool(getattr(task, "finite", False))


def _make_progress(enabled: bool, console: Console | None = None) -> Any:
    """The training bar, on ``console`` (default: a console on stderr; the bar never goes to stdout, where a
    script may read the run's output)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4g}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console if console is not None else Console(stderr=True),
        disable=not enabled,
    )
