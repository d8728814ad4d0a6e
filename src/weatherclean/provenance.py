"""What made an output: the provenance record of a ``desnow`` or ``derain`` run, and the short tag each output
file carries of it as the extended attribute ``user.weatherclean``.

Why: outputs said nothing of what made them. An evidence user could not tell which model, weights, precision or
tile gave a picture; and ``derain`` into a ``-o`` folder that ``desnow`` had filled skipped every output as its own
finished work (exit code 0, the rain left in). The record goes into ``--json`` and the summary; the tag (task, model,
weights sha256, version) goes onto each output file before its atomic rename, so it lands with the output, and a
rerun reads it back (:func:`~weatherclean.batch.jobs.other_task`). An output restored from an input that carried a
tag (``desnow --in-place`` then ``derain --in-place``) lists both runs under ``steps``. The tag is best effort: a
system or file system without user extended attributes (macOS, Windows, FAT, some network shares) just has none,
and nothing fails.

Torch-free and light: at import it needs only the package's ``__version__`` (``weatherclean/__init__``, which
loads nothing else), so the batch planner, the atomic writer, :mod:`weatherclean.io.permissions` and the Hub code
all import it; the sha256 of a model's files is :func:`file_sha256`'s, the one the Hub code checks downloads with.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from weatherclean import __version__

__all__ = [
    "CHECKSUMMED", "STEPS", "XATTR", "Provenance", "checksums", "current", "file_sha256", "read_tag", "running",
    "set_tag", "weights_sha256",
]  # fmt: skip

#: The extended attribute each output of ``desnow`` and ``derain`` carries (``getfattr -n user.weatherclean FILE``).
XATTR = "user.weatherclean"
#: The files of a model folder whose sha256 ``models info`` shows (``model.safetensors`` is the weights).
CHECKSUMMED = ("model.safetensors", "config.json")


@dataclass(frozen=True)
class Provenance:
    """One run's record: what made its outputs, and the settings that change their pixels.

    ``task`` is the command (``desnow``, ``derain``); ``source`` where the model came from (``bundled``, ``hub``,
    ``folder``, or ``provided`` by a program embedding the CLI), with ``repo_id`` and ``commit`` for a Hub model and
    ``folder`` for a folder. ``engine`` is where the model ran: ``local`` (this process; also a run with nothing
    to do, which starts no Ray) or ``ray`` (``--engine ray``'s actors). ``precision`` is the one used (after any
    fall back to fp32), ``device`` and ``threads`` those used, ``tile`` the ``--tile`` asked for (None: chosen per
    picture from free memory, which can differ between machines); ``precision``, ``device`` and ``threads`` are
    None when nothing ran (no model was loaded) and on Ray (each actor resolves its own, unknown here).
    ``pass_through`` and ``self_ensemble`` are the model's (its config, or the option that replaced it)."""

    task: str
    model: str
    source: str | None = None
    repo_id: str | None = None
    commit: str | None = None
    folder: str | None = None
    weights_sha256: str | None = None
    precision: str | None = None
    device: str | None = None
    threads: int | None = None
    pass_through: float | None = None
    self_ensemble: bool | None = None
    tile: int | None = None
    engine: str = "local"
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The whole record, for ``--json`` (one top-level object, ``"provenance"``)."""
        return {"version": self.version, **{k: v for k, v in asdict(self).items() if k != "version"}}

    def step(self) -> dict[str, Any]:
        """This run as one step of an output's history: task, model, weights sha256, version."""
        return {"task": self.task, "model": self.model, "weights_sha256": self.weights_sha256, "version": self.version}

    def tag(self, after: Mapping[str, Any] | None = None) -> bytes:
        """The short JSON each output file carries (:data:`XATTR`): this run's :meth:`step`; and, when its input
        carried a tag (``after``: it was restored before, ``desnow --in-place`` then ``derain --in-place``),
        ``steps``: the earlier runs and this one, oldest first, the last :data:`STEPS` of them (the tag stays
        small: an extended attribute shares a few KiB with the file's others)."""
        data = self.step()
        if after is not None:
            data["steps"] = [*_steps(after), self.step()][-STEPS:]
        return json.dumps(data, separators=(",", ":")).encode()

    def line(self) -> str:
        """The summary's one line: ``model: desnownet-light (bundled, sha256 b2724400…), bf16 on cpu, 2 threads``
        (``… on Ray actors`` with ``--engine ray``)."""
        where = [
            *([self.source] if self.source else []),
            *([f"sha256 {self.weights_sha256[:8]}…"] if self.weights_sha256 else []),
        ]
        text = f"model: {self.model}" + (f" ({', '.join(where)})" if where else "")
        if self.engine == "ray":  # each actor resolves its device and precision: unknown here
            text += " on Ray actors"
        elif self.device is None:
            return text + ", not loaded: nothing to do"
        else:
            text += f", {self.precision} on {self.device}"
        if self.threads:
            text += f", {self.threads} thread{'' if self.threads == 1 else 's'}"
        return text + (f", --tile {self.tile}" if self.tile is not None else "")


#: How many runs an output's tag lists under ``steps`` at most (the latest; :meth:`Provenance.tag`).
STEPS = 8


def _steps(tag: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The runs an earlier tag records, oldest first: its ``steps``, or itself alone (a tag without history),
    each cut to a step's four fields (a tag read back is another program's data as much as ours)."""
    steps = tag.get("steps")
    listed = [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else [tag]
    keys = ("task", "model", "weights_sha256", "version")
    return [{key: step.get(key) for key in keys} for step in listed if isinstance(step.get("task"), str)]


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks (``hashlib.file_digest``) so large checkpoints never sit in memory twice."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def checksums(folder: Path, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The sha256 of a model folder's :data:`CHECKSUMMED` files that are there (one read of each), by file name;
    those in ``known`` (a Hub model's pins, verified as it was located: ``ModelSource.sha256``) are not read again."""
    known = known or {}
    return {name: known.get(name) or file_sha256(folder / name) for name in CHECKSUMMED if (folder / name).is_file()}


def weights_sha256(folder: Path) -> str | None:
    """The sha256 of ``folder``'s ``model.safetensors``, or None when it cannot be read."""
    try:
        return file_sha256(folder / "model.safetensors")
    except OSError:
        return None


#: The run under way in this context (the CLI's ``desnow`` or ``derain``, around planning and running): which task
#: and model its outputs are made by, so that a rerun tells another task's output from its own (:func:`current`).
_RUN: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar("weatherclean_run", default=None)


@contextlib.contextmanager
def running(record: Provenance | None) -> Iterator[None]:
    """While the block runs (in this thread), :func:`current` is ``record``."""
    token = _RUN.set(record)
    try:
        yield
    finally:
        _RUN.reset(token)


def current() -> Provenance | None:
    """The run under way (:func:`running`), or None (a program's own batch: outputs are judged by dates alone)."""
    return _RUN.get()


def read_tag(path: str | os.PathLike[str]) -> Mapping[str, Any] | None:
    """The tag (:data:`XATTR`) an output carries, as a mapping with at least ``task`` and ``model``; None when it
    has none, the system or file system has no extended attributes, or the value is not weatherclean's JSON."""
    if not hasattr(os, "getxattr"):
        return None
    try:
        data = json.loads(os.getxattr(path, XATTR))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("task"), str) or not isinstance(data.get("model"), str):
        return None
    return data


#: ``setxattr`` errors that say this system or file system keeps no user attributes here: nothing is tagged.
_UNSUPPORTED = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def set_tag(target: int | str | os.PathLike[str], tag: bytes) -> None:
    """Best effort: give ``target`` (an open descriptor or a path, the caller's own new file) the tag :data:`XATTR`.

    A file made read-only (0444, as the file it replaces) refuses a user attribute even to its owner, so it is
    made writable by its owner for the moment. Where the tag cannot be set, any tag the file has is removed, so
    that no output carries another run's (:func:`~weatherclean.io.permissions.keep_attributes` never copies the
    replaced file's; this holds even if something else did). Never raises: a record that cannot be kept is no
    reason to lose the output."""
    if not hasattr(os, "setxattr"):
        return
    try:
        os.setxattr(target, XATTR, tag)
        return
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return
        if exc.errno in (errno.EACCES, errno.EPERM):
            _set_writable(target, tag)
        else:
            _drop_tag(target)


def _set_writable(target: int | str | os.PathLike[str], tag: bytes) -> None:
    """Set the tag on ``target`` made writable by its owner for the moment, its mode then restored; where it still
    cannot be set, drop any tag it has (:func:`set_tag`)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        os.chmod(target, mode | stat.S_IWUSR)
    except OSError:
        _drop_tag(target)
        return
    try:
        os.setxattr(target, XATTR, tag)
    except OSError:
        _drop_tag(target)
    finally:
        with contextlib.suppress(OSError):
            os.chmod(target, mode)


def _drop_tag(target: int | str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.removexattr(target, XATTR)
