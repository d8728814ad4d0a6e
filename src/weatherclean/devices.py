"""Device selection: CUDA, then Apple MPS, then CPU, unless the user names one.

Errors here reach Python callers (``load_restorer(device=...)``) and the CLI, which prints them as they
are, so each names the value as the library takes it and the CLI option in parentheses:
``device 'cuda': ...; use device='cpu' (--device cpu)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from weatherclean.errors import WeathercleanError, memory_limit

#: Device types weatherclean runs on; PyTorch knows more (``meta``, ``xpu``, ...), on which nothing here is tested.
DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:1``/``mps``, or a :class:`torch.device`, into a usable device.

    Asking for a device that is not there is an error rather than a silent CPU fallback, because a
    user who typed ``--device cuda`` (or passed ``device="cuda"``) expects the GPU and would otherwise
    wait hours without knowing. A :class:`torch.device` gets the same checks as its name: unchecked,
    ``torch.device("cuda")`` on a CPU-only build failed with an AssertionError deep in ``Module.to``, and
    ``torch.device("meta")`` only at the first picture.
    """
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(name, torch.device):
        device = name
    elif isinstance(name, str):
        try:
            device = torch.device(name)
        except RuntimeError as exc:
            raise WeathercleanError(f"unknown device '{name}': use auto, cpu, cuda, cuda:N or mps") from exc
    else:
        raise TypeError(
            f"device must be a str ('auto', 'cpu', 'cuda', 'cuda:N', 'mps') or a torch.device, got {name!r}"
        )
    if device.type not in DEVICE_TYPES:
        raise WeathercleanError(
            f"device '{name}': weatherclean runs on cpu, cuda or mps, not {device.type}; "
            "use device='cpu' (--device cpu)"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise WeathercleanError(
                f"device '{name}': CUDA is not available in this PyTorch build or on this machine; "
                "use device='cpu' (--device cpu), or install a CUDA build of PyTorch (see README)"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise WeathercleanError(
                f"device '{name}': only {count} CUDA device(s) found; use device='cuda' (--device cuda) "
                f"or an index below {count}"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise WeathercleanError(
                f"device '{name}': Apple MPS is not available on this machine; use device='cpu' (--device cpu)"
            )
    return device


def prefers_channels_last(device: torch.device) -> bool:
    """Whether convolutions on ``device`` run faster with channels-last (NHWC) tensors.

    On CPU (oneDNN) our models run 1.7x faster in fp32 and 2.3x in bf16 with NHWC, because the
    NCHW path reorders every activation before and after each convolution; on CUDA, tensor cores want
    NHWC too. MPS support for NHWC is patchy, so it keeps the default layout.
    """
    return device.type in ("cpu", "cuda")


def to_fast_layout(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Put ``model``'s 4-D weights in the layout ``device`` convolves fastest (in place; returned for chaining).

    Inputs need no conversion: a convolution with channels-last weights runs channels-last. Convert
    back with :func:`to_standard_layout` before ``save_pretrained``, since safetensors stores only
    contiguous tensors.
    """
    if prefers_channels_last(device) and isinstance(model, torch.nn.Module):
        model.to(memory_format=torch.channels_last)
    return model


def like_layout(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` in the memory layout of ``like``, a 4-D convolution weight or activation (channels-last or not).

    Why: a convolution whose input and weights differ in layout reorders one of them on every call, and
    tensors made by ``cat``, ``pixel_unshuffle`` or arithmetic on mixed layouts come out NCHW
    (``benchmarks/desnow_paths.py`` times DesnowNet with and without this). A no-op when the layouts match.
    """
    if like.dim() == 4 and like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous():
        return t.contiguous(memory_format=torch.channels_last)
    return t


def to_standard_layout(model: torch.nn.Module) -> torch.nn.Module:
    """Back to contiguous (NCHW) weights, as saving and most tools expect."""
    return model.to(memory_format=torch.contiguous_format)


#: Where the cgroup file system is mounted (v2 files at its root or under the process's own cgroup; v1's under
#: ``memory/``). A constant, so that a test can point it at a folder of its own.
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The process's own cgroup (``0::/system.slice/x.service`` on cgroup v2).
SELF_CGROUP = Path("/proc/self/cgroup")
#: Where ``MemAvailable`` is read.
MEMINFO = Path("/proc/meminfo")
#: What :func:`available_memory` assumes when the system says nothing: a modest laptop's free RAM.
_GUESS = 2 * 1024**3
#: A cgroup v1 limit at or above this is "no limit" (the kernel writes 2**63 rounded down to a page).
_V1_UNLIMITED = 1 << 60


def available_memory() -> int:
    """Bytes of RAM this process could still get now: the smaller of the system's ``MemAvailable``, the room
    left under the process's cgroup limit (``docker run --memory``, systemd's ``MemoryMax``, a batch scheduler's
    job limit) and the room left under its own address-space limit (``ulimit -v``, :func:`_address_space_room`),
    falling back to a 2 GiB guess.

    Why the cgroup: inside a 4 GB container on a 64 GB host, MemAvailable says 60 GB, and a tile or a photo
    decoded ahead chosen from it gets the process OOM-killed without a word. Why the address space: under
    ``ulimit -v 800000`` the machine's free gigabytes chose tiles the process could never allocate, and each photo
    failed in PyTorch ("can't allocate memory") instead of getting a tile that fits, or a refusal that says why. The
    tile choice (:func:`weatherclean.restore.tiling.choose_tile`) and the batch pipeline (:mod:`weatherclean.batch.run`)
    both ask here, so they agree on what is there.
    """
    system = _meminfo_available()
    room = _cgroup_room()
    address = _address_space_room()
    known = [b for b in (system, room, address) if b is not None]
    return max(min(known), 0) if known else _GUESS


#: Where the process's own virtual memory size (``VmSize``) is read: what ``ulimit -v`` limits.
SELF_STATUS = Path("/proc/self/status")


def _address_space_room() -> int | None:
    """The room left under the process's address-space limit (``RLIMIT_AS``, :func:`~weatherclean.errors.memory_limit`)
    less the address space it holds (``VmSize``), or None where no limit is set or the size cannot be read. Address
    space, not RAM, is what the limit counts: every mapping (PyTorch's libraries, thread stacks) takes from it."""
    limit = memory_limit()
    if limit is None:
        return None
    try:
        with open(SELF_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return limit - int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        pass
    return None


def _meminfo_available() -> int | None:
    """``MemAvailable`` from /proc/meminfo (Linux), else the free pages ``sysconf`` reports, else None."""
    try:
        with open(MEMINFO, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _read_bytes(path: Path) -> int | None:
    """A cgroup file's one number, or None where it is missing, unreadable or ``max`` (no limit)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _own_cgroup(prefix: str = "0::") -> Path | None:
    """The process's cgroup path under its hierarchy, from the line of /proc/self/cgroup that starts with ``prefix``
    (``0::`` for v2; a v1 line reads ``4:memory:/docker/abc``)."""
    try:
        lines = SELF_CGROUP.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if prefix == "0::" and line.startswith(prefix):
            return Path(line[3:].strip().lstrip("/"))
        parts = line.split(":", 2)
        if prefix != "0::" and len(parts) == 3 and prefix in parts[1].split(","):
            return Path(parts[2].strip().lstrip("/"))
    return None


def _levels(root: Path, own: Path | None) -> list[Path]:
    """``root / own`` and each folder above it up to ``root`` (only ``root`` when ``own`` is unknown)."""
    levels = [root / own, *(root / p for p in own.parents)] if own is not None else []
    return list(dict.fromkeys([*levels, root]))


def _cgroup_room() -> int | None:
    """The room left under the tightest memory limit of the process's cgroup and those above it (limit − usage),
    or None where no limit is set. cgroup v2: ``memory.max`` and ``memory.current``, from the process's own group
    up to the root (a container sees its group as the root); v1: ``memory.limit_in_bytes`` and
    ``memory.usage_in_bytes`` under ``memory/``, likewise."""
    rooms: list[int] = []
    for folder in _levels(CGROUP_ROOT, _own_cgroup()):
        limit = _read_bytes(folder / "memory.max")
        if limit is not None:
            used = (_read_bytes(folder / "memory.current") or 0) - _stat_value(folder, "inactive_file")
            rooms.append(limit - max(used, 0))
    for folder in _levels(CGROUP_ROOT / "memory", _own_cgroup("memory")):
        limit = _read_bytes(folder / "memory.limit_in_bytes")
        if limit is not None and limit < _V1_UNLIMITED:
            used = (_read_bytes(folder / "memory.usage_in_bytes") or 0) - _stat_value(folder, "total_inactive_file")
            rooms.append(limit - max(used, 0))
    return min(rooms) if rooms else None


def _stat_value(folder: Path, key: str) -> int:
    """One counter of a cgroup's ``memory.stat`` (0 where it is not there): the page cache the kernel drops before
    it kills anything (``inactive_file``), which the usage counts. Not taken off, a container that had read and
    written a few GB of photos looked full (docker stats, cAdvisor and Kubernetes take it off too)."""
    try:
        with open(folder / "memory.stat", encoding="ascii") as fh:
            for line in fh:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0
