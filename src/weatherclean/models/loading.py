"""Loading a model folder by its ``model_type``: what the registry and the Hub code both need.

Kept apart from :mod:`~weatherclean.models.registry` (which knows the named models and downloads
through :mod:`~weatherclean.models.hub`) so that the Hub code can check a folder before it is pushed
without importing the registry back: no import circle.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weatherclean.errors import ModelError, is_out_of_memory, memory_advice, one_line
from weatherclean.io.permissions import process_umask
from weatherclean.models.family import family_of, unknown_model_type

if TYPE_CHECKING:
    from torch import nn

    from weatherclean.models.family import ModelFamily

__all__ = [
    "ReadableWeights", "check_weights_file", "load_from_folder", "model_memory", "read_folder", "readable_by_others",
]  # fmt: skip

#: The family of a config.json without ``model_type``: only DesnowNets were saved before it existed.
LEGACY_MODEL_TYPE = "desnownet"


def read_folder(folder: Path) -> tuple[ModelFamily, Any]:
    """The family and config (its ``config_class``, validated) of a ``save_pretrained`` folder, loading no
    weights: what ``--dry-run`` checks, and the first half of :func:`load_from_folder`.

    A folder without the two files, an unreadable config, an unknown ``model_type`` or a config its family
    refuses is a one-line :class:`ModelError`.
    """
    config_path, weights = folder / "config.json", folder / "model.safetensors"
    if not config_path.is_file() or not weights.is_file():
        raise ModelError(not_a_model_folder(folder))
    check_weights_file(weights)
    try:
        config = json.loads(config_path.read_text())
    except RecursionError:  # "[" * 100000: nested deeper than Python's parser goes, a traceback before
        raise ModelError(
            f"{config_path}: cannot read the model config (nested too deeply to be one); "
            "put the config.json saved with these weights beside them"
        ) from None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelError(f"{config_path}: cannot read the model config ({exc})") from None
    model_type = config.get("model_type", LEGACY_MODEL_TYPE) if isinstance(config, dict) else None
    family = family_of(model_type) if isinstance(model_type, str) else None
    if family is None:
        raise ModelError(f"{config_path}: {unknown_model_type(model_type)}")
    try:
        return family, family.config_class(**config)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of 1e400, read as infinity
        raise _invalid_config(config_path, exc) from None


#: What a ``weatherclean train`` run folder holds beside (or, while it trains, instead of) its ``model/``.
_RUN_FILES = ("train_config.json", "checkpoint.pt")


def not_a_model_folder(folder: Path) -> str:
    """Why ``folder`` is not a model folder, and what to pass instead.

    A file is named as one. A training run's folder (``-o`` of ``train``) is the likeliest mistake: its
    model is in ``RUN/model``, which exists only once the run has finished, so the message names that
    folder, or says the run has not finished and how to finish it.
    """
    if folder.is_file():
        return f"{folder}: a file, not a model folder; pass the folder that holds config.json and model.safetensors"
    if any((folder / name).is_file() for name in _RUN_FILES):
        final = folder / "model"
        if (final / "config.json").is_file():
            return f"{folder}: a training run folder, not a model folder; its model is {final}: pass that"
        return (
            f"{folder}: a training run folder whose run has not finished (it has no model/ yet); run its train "
            f"command again to continue, then pass {final}"
        )
    return (
        f"{folder}: not a model folder (expected config.json and model.safetensors, "
        "as written by `weatherclean train` or save_pretrained)"
    )


#: How a git-LFS pointer file starts: what a Hub repo cloned without git-lfs holds instead of its weights.
_LFS_POINTER = b"version https://git-lfs"
#: A safetensors header larger than this is not one (the format caps it at 100 MB).
_MAX_HEADER = 100_000_000


def check_weights_file(weights: Path) -> None:
    """A one-line :class:`ModelError` unless ``weights`` is laid out like a whole safetensors file: an 8-byte
    header length, that much JSON, and behind it exactly the data its tensors' offsets cover (:func:`_data_end`).
    Reads the header only (kilobytes), and no tensor.

    Why: a repo cloned without git-lfs holds 130-byte pointer files, and a copy cut short holds part of
    one; safetensors then fails deep in its reader ("header too large"), which came out as a traceback
    from every command that touched the folder. And a copy cut short in its data, behind a whole header, passed
    ``--dry-run`` (exit 0) while the run refused it ("damaged or truncated weights", exit 2).
    """
    try:
        with open(weights, "rb") as fh:
            start = fh.read(len(_LFS_POINTER))
            if start == _LFS_POINTER:
                raise ModelError(
                    f"{weights}: a git-LFS pointer, not the weights; run `git lfs pull` in that repository, or "
                    "fetch the model with `weatherclean models download`"
                )
            size = weights.stat().st_size
            (length,) = struct.unpack("<Q", start[:8]) if len(start) >= 8 else (-1,)
            if not 0 < length <= min(_MAX_HEADER, size - 8):
                raise ModelError(
                    f"{weights}: not a whole safetensors file (truncated or damaged); "
                    f"{fetch_again_hint(weights.parent, 'it')}"
                )
            fh.seek(8)
            header = json.loads(fh.read(length))
    except OSError as exc:
        raise ModelError(f"{weights}: cannot read the weights ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:  # not JSON, or nested deeper than Python's parser goes (a traceback)
        why = "nested too deeply to read" if isinstance(exc, RecursionError) else "not JSON"
        raise ModelError(
            f"{weights}: not a safetensors file (its header is {why}); {fetch_again_hint(weights.parent, 'it')}"
        ) from None
    end = _data_end(header)
    if end is not None and 8 + length + end != size:
        cut = "cut short" if size < 8 + length + end else "longer than its tensors"
        raise ModelError(
            f"{weights}: damaged or truncated weights ({size} bytes, {cut}: its header describes "
            f"{8 + length + end}); {fetch_again_hint(weights.parent)}"
        )


def _data_end(header: Any) -> int | None:
    """Where the data of a safetensors header's tensors ends, from the start of the data (the largest end of their
    ``data_offsets``), or None where the header is not laid out so (the loader then has its say). safetensors
    refuses a file whose data is not exactly that long, so a file of another size would fail the run."""
    if not isinstance(header, dict):
        return None
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int and n >= 0 for n in offsets)):
            return None
        end = max(end, offsets[1])
    return end


def readable_by_others(path: Path) -> None:
    """Give ``path`` the permissions of a file created under the process's umask (0644 under the usual
    022), like the config.json and model card beside it: safetensors 0.8 writes its files 0600, so a
    model trained on a shared machine could not be loaded by the teammates who can read its folder."""
    path.chmod(0o666 & ~process_umask())


class ReadableWeights:
    """For a model class, between ``nn.Module`` and ``PyTorchModelHubMixin``: its ``save_pretrained``
    leaves the weights readable by whoever may read the folder (:func:`readable_by_others`)."""

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)  # type: ignore[misc]  # the Hub mixin's, next in the MRO
        readable_by_others(save_directory / "model.safetensors")


def _invalid_config(config_path: Path, exc: Exception) -> ModelError:
    """A config the model class refuses; a setting it does not know most likely comes from a newer release
    (each adds settings, such as DesnowNet's ``context``), so say how to get one."""
    hint = ""
    if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
        hint = "; it may have been saved by a newer weatherclean: pip install -U weatherclean"
    return ModelError(f"{config_path}: invalid model config ({exc}){hint}")


def load_from_folder(folder: str | os.PathLike[str]) -> nn.Module:
    """Load a ``save_pretrained`` folder strictly: a mismatched checkpoint is an error, not garbage.

    This reads the same two files as ``PyTorchModelHubMixin.from_pretrained`` but picks the class from
    ``model_type`` in config.json (the registered :class:`~weatherclean.models.family.ModelFamily`), so one
    loader serves every model family. A ``str`` is a path too, as ``load_restorer(model="folder")`` takes one (it
    ended in a ``TypeError`` here).
    """
    folder = Path(folder)
    family, config = read_folder(folder)
    check_fits(family, config, folder)  # before the real build: a config asking for gigabytes costs none
    with model_memory(folder):
        return _built(family, config, folder)


def _built(family: ModelFamily, config: Any, folder: Path) -> nn.Module:
    """:func:`load_from_folder`'s model, built and its weights read and checked; apart, so that a model that ran out
    of memory half-built is held by no frame still running once :func:`model_memory` has had its say."""
    weights = folder / "model.safetensors"
    try:  # the config is valid; a family may still refuse a combination only its model checks
        model = family.model_class(config)
    except (TypeError, ValueError) as exc:
        raise _invalid_config(folder / "config.json", exc) from None
    # fp32 whatever torch's default dtype: built under a program's torch.set_default_dtype(torch.float64), the model
    # was float64 and failed on every picture (the tiles are float32); precision is the restorer's (autocast)
    model = model.float()
    from safetensors import SafetensorError
    from safetensors.torch import load_model as load_safetensors  # with PyTorch: only when a model loads

    try:
        load_safetensors(model, str(weights), strict=True)
    except SafetensorError as exc:  # data cut short behind a whole header
        raise ModelError(f"{weights}: damaged or truncated weights ({exc}); {fetch_again_hint(folder)}") from None
    except (RuntimeError, ValueError, OSError) as exc:
        if is_out_of_memory(exc):
            raise
        raise ModelError(f"{folder}: {_mismatch(model, weights, config, exc)}") from None
    _refuse_non_finite(model, weights, folder)
    return model


@contextlib.contextmanager
def model_memory(name: object) -> Iterator[None]:
    """Running out of memory inside the block (a ``MemoryError``, or PyTorch's ``RuntimeError`` saying so:
    :func:`~weatherclean.errors.is_out_of_memory`) is a one-line :class:`ModelError` naming the model ``name`` (a
    folder, a registered name) and what to do, with the process's own memory limit where one is set
    (:func:`~weatherclean.errors.memory_advice`).

    Why: under ``ulimit -v`` the model's build failed with a traceback ending in "DefaultCPUAllocator: can't
    allocate memory"; a model that cannot be loaded means nothing can run (the commands' exit code 2). The frames
    that ended in the failure are cleared (their half-built model freed): the error stays the new one's context,
    and while it held them, printing the one-line error itself ran out of memory, in a traceback."""
    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        said = f" ({one_line(exc, 100)})" if str(exc).strip() else ""
        traceback.clear_frames(exc.__traceback__)  # the frames still running are left as they are
        exc.__traceback__ = None
        raise ModelError(f"{name}: not enough memory to load the model{said}; {memory_advice()}") from None


def fetch_again_hint(folder: Path, files: str = "them") -> str:
    """What to do about damaged files in ``folder``: a Hub cache snapshot is fetched again with ``models download
    --force`` (copying a file into the cache by hand would not fix its blob); any other folder is copied again."""
    repo_id = hub_cache_repo_id(folder)
    if repo_id is not None:
        return f"run `weatherclean models download {repo_id} --force`"
    return f"copy {files} again"


def hub_cache_repo_id(folder: Path) -> str | None:
    """``owner/name`` when ``folder`` is a snapshot in the Hub cache (``models--owner--name/snapshots/<commit>``),
    else None. Hub repo ids cannot contain ``--``, so the cache folder's name splits back unambiguously."""
    repo = folder.parent.parent.name
    if folder.parent.name != "snapshots" or not repo.startswith("models--"):
        return None
    parts = repo[len("models--") :].split("--")
    return "/".join(parts) if len(parts) == 2 and all(parts) else None


def _refuse_non_finite(model: nn.Module, weights: Path, folder: Path) -> None:
    """A one-line :class:`ModelError` when any weight is NaN or infinite.

    Why: such a model (a diverged training run, or data damaged behind an intact header) returns NaN for
    every picture, which an 8-bit writer turns into black; every file of a run would fail, so it is refused
    once, at load, before any work. Checking costs a pass over the parameters (milliseconds).
    """
    import torch

    bad = [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if bad:
        raise ModelError(
            f"{weights}: {len(bad)} weight tensor(s) hold NaN or infinite values (e.g. {bad[0]}): damaged, or from "
            f"a diverged training run; retrain the model (from an earlier checkpoint) or {fetch_again_hint(folder)}"
        )


def _header_shapes(weights: Path) -> dict[str, tuple[int, ...]] | None:
    """The name and shape of every tensor in a safetensors file, from its JSON header alone (no data, no
    safetensors import), or None where the header is not the usual layout (the loader then has its say)."""
    try:
        with open(weights, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(length))
        shapes = {
            name: tuple(int(n) for n in entry["shape"]) for name, entry in header.items() if name != "__metadata__"
        }
    except (OSError, ValueError, RecursionError, TypeError, KeyError, AttributeError, struct.error):
        return None
    return shapes


def check_fits(family: ModelFamily, config: Any, folder: Path) -> None:
    """A one-line :class:`ModelError` when the weights file's tensors (names and shapes, from its header) cannot be
    the model's that ``config`` describes, found before the model is built for real.

    Why: building takes the memory the config asks for (gigabytes for a hostile or mistaken config.json beside a
    small weights file), while a skeleton on PyTorch's ``meta`` device holds shapes and no data, so a config that
    does not fit its weights is refused at the cost of building that skeleton. A family whose model cannot be built
    on ``meta`` is left to the strict load. Shared (tied) weights may be saved once: a tensor missing from the file
    that is the same object as one present does not count. ``--dry-run`` asks the same of a model folder
    (:func:`~weatherclean.models.registry.check_model_spec`).
    """
    import torch

    in_file = _header_shapes(folder / "model.safetensors")
    if in_file is None:
        return
    try:
        with torch.device("meta"):
            skeleton = family.model_class(config)
    except (TypeError, ValueError) as exc:
        raise _invalid_config(folder / "config.json", exc) from None
    except Exception:  # noqa: BLE001  # cannot be built without data: the real build and strict load decide
        return
    tensors = skeleton.state_dict(keep_vars=True)
    present = {id(t) for key, t in tensors.items() if key in in_file}
    expected = {key: tuple(t.shape) for key, t in tensors.items() if key in in_file or id(t) not in present}
    summary = _mismatch_summary(expected, in_file, config, type(skeleton).__name__)
    if summary is not None:
        raise ModelError(f"{folder}: {summary}")


def _mismatch(model: nn.Module, weights: Path, config: Any, exc: Exception) -> str:
    """Why the weights do not fit the config, summarised: counts of missing, unexpected and reshaped tensors
    with one example, and what to do.

    Why: PyTorch's own message lists every key and was cut mid-word at any length a one-line error allows,
    which hid the likeliest cause (a config.json copied from other weights).
    """
    in_file = _header_shapes(weights)  # names and shapes, from the header alone
    if in_file is None:  # the summary is a courtesy; fall back to PyTorch's first line
        return f"checkpoint does not match its config ({_first_reason(exc)})"
    expected = {key: tuple(t.shape) for key, t in model.state_dict().items()}
    summary = _mismatch_summary(expected, in_file, config, type(model).__name__)
    return summary or f"checkpoint does not match its config ({_first_reason(exc)})"


def _mismatch_summary(
    expected: dict[str, tuple[int, ...]], in_file: dict[str, tuple[int, ...]], config: Any, class_name: str
) -> str | None:
    """:func:`_mismatch`'s summary of the tensors a model expects against those in its file, or None where
    their names and shapes agree."""
    missing = [k for k in expected if k not in in_file]
    unexpected = [k for k in in_file if k not in expected]
    reshaped = [k for k in expected if k in in_file and in_file[k] != expected[k]]
    if not (missing or unexpected or reshaped):
        return None
    counts = [
        f"{len(found)} {what}"
        for found, what in ((missing, "missing"), (unexpected, "unexpected"), (reshaped, "of another shape"))
        if found
    ]
    if reshaped:
        key = reshaped[0]
        example = f"{key}: {_shape(in_file[key])} in the file, {_shape(expected[key])} in the config"
    else:
        example = f"{'missing' if missing else 'unexpected'}: {(missing or unexpected)[0]}"
    model_type = getattr(config, "model_type", None) or class_name
    return (
        "checkpoint does not match its config: the weights do not fit config.json: "
        f"{', '.join(counts)} (e.g. {example}); the config may belong to other "
        f"weights (model_type {model_type!r}): put the config.json saved with these weights beside them, or "
        "train again"
    )


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) or "scalar"


def _first_reason(exc: Exception) -> str:
    """The first informative line of a loading error: PyTorch's starts with a bare "Error(s) in loading
    state_dict for DesnowNet:" and names the keys on the lines after it."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
    return reason[:200]
