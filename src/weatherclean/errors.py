"""Errors that the CLI turns into one-line messages.

Library code raises these (never ``SystemExit``) so that it stays usable without the CLI; the CLI
catches ``WeathercleanError`` and prints ``error: <message>`` without a traceback. The other thing that stops
a run, an interruption (Ctrl-C, SIGTERM), has its own module: :mod:`weatherclean.interrupts`.
"""

from __future__ import annotations

import errno
import re
import sys
from pathlib import Path
from types import ModuleType

try:
    import resource as _resource
except ImportError:  # Windows: no such limit
    _resource = None
resource: ModuleType | None = _resource


class WeathercleanError(Exception):
    """Base class for errors a user can act on. The message says what went wrong and what to do."""


class InputError(WeathercleanError):
    """An input file or folder cannot be used (missing, unreadable, not an image, ...)."""


class ModelError(WeathercleanError):
    """A model name, folder or checkpoint cannot be resolved or loaded."""


class DatasetError(WeathercleanError):
    """A dataset folder does not have the expected layout."""


class OutputError(WeathercleanError):
    """An output file cannot be written (permission, disk full, unsupported format)."""


class DiskFullError(OutputError):
    """The output disk is full: every later write would fail too, so a batch stops instead of going on."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk, or the user's quota, is full (a :class:`DiskFullError` is due)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def os_errno(exc: BaseException) -> int | None:
    """The ``errno`` of ``exc``, or of the ``OSError`` it was raised from or while handling, or None.

    Why: a failed write is re-raised as a one-line :class:`OutputError` ``from None``
    (:func:`weatherclean.io.atomic.write_error`), which hides the ``OSError`` from tracebacks but keeps it as the
    context; a batch reads its errno there to tell a read-only disk (every later write fails too) from one file's
    trouble."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        current = current.__cause__ or current.__context__
    return None


class Cancelled(WeathercleanError):
    """A call stopped because the caller set its ``cancel`` (:meth:`weatherclean.restore.Restorer.restore`'s, a
    ``threading.Event``): asked for, not a fault of the input, the model or the machine. Nothing is left behind
    (no output file, no temporary), and the restorer takes the next call as before."""


class OutOfMemoryError(WeathercleanError):
    """A step could not get the memory it needed: the process's or the machine's shortage, not the input's fault.
    The message says what to do (:func:`memory_advice`); a batch that meets it photo after photo stops
    (:mod:`weatherclean.batch.run`) rather than failing every file the same way."""


class ImageOutOfMemory(InputError, OutOfMemoryError):
    """A photo that could not be decoded for want of memory: an :class:`InputError` for the readers' callers (as
    every failure of :func:`~weatherclean.io.images.load_image` is), and an :class:`OutOfMemoryError` for a
    batch."""


class OutputOutOfMemory(OutputError, OutOfMemoryError):
    """An output that could not be encoded for want of memory: an :class:`OutputError` for the writers' callers (as
    every failure of :func:`~weatherclean.io.images.save_image` is), and an :class:`OutOfMemoryError` for a batch,
    which counts it with the other photos that ran out (rather than probing the output folder for a write fault)."""


#: How PyTorch and the libraries under it word a failed allocation in a ``RuntimeError``, matched case-blind and
#: only as they word it: an allocator's "… out of memory" (CUDA's "CUDA out of memory. Tried to allocate", "CUDA
#: error: out of memory", HIP's, XPU's, "MPS backend out of memory", or a message that begins so), the CPU
#: allocator's "DefaultCPUAllocator: can't allocate memory", oneDNN's "could not create a primitive" (its only word
#: for a failed allocation; "could not create a primitive descriptor for …" is an unsupported type or layout, not
#: memory), and a lock it could not allocate ("can't allocate read lock").
MEMORY_WORDS = re.compile(
    r"(?:^[\s:]*|\b(?:cuda|cuda error:|hip|hip error:|xpu|mps backend)\s+)out of memory\b"
    r"|\b(?:can't|cannot) allocate memory\b"
    r"|\bcould not create a primitive\b(?! descriptor)"
    r"|\bcan't allocate (?:read |write )?lock\b",
    re.IGNORECASE,
)
#: What :func:`is_out_of_memory` takes out of a message before reading it: a quoted name, and any word with a
#: slash in it (a path), so that a file named "out of memory test.mp4" says nothing of memory.
_NAMES = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\S*[/\\]\S*")


def _torch_memory_types() -> tuple[type, ...]:
    """PyTorch's own out-of-memory exception types (``torch.OutOfMemoryError``, ``torch.cuda.OutOfMemoryError``),
    where PyTorch is loaded already: this module must not load it (the CLI's quick paths never need it)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return ()
    found = (getattr(torch, "OutOfMemoryError", None), getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None))
    return tuple(kind for kind in found if isinstance(kind, type))


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the process ran out of memory: a ``MemoryError``, an :class:`OutOfMemoryError`, PyTorch's
    own out-of-memory type, an ``OSError`` with ``ENOMEM``, or a ``RuntimeError`` in :data:`MEMORY_WORDS`' words.

    Why the words: under a memory limit PyTorch raises ``RuntimeError``\\ s, not ``MemoryError``, and each file of a
    batch failed with "RuntimeError: could not create a primitive", which said nothing of memory nor what to do.
    Why so precise: a batch stops after photos that ran out of memory, so a false match (oneDNN's "could not create
    a primitive descriptor" for an unsupported layout, a path with "out of memory" in its name) is a wrong stop."""
    if isinstance(exc, (MemoryError, OutOfMemoryError, *_torch_memory_types())):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    if not isinstance(exc, RuntimeError):
        return False
    return MEMORY_WORDS.search(_NAMES.sub(" ", " ".join(str(exc).split()))) is not None


def memory_limit() -> int | None:
    """The process's own address-space limit in bytes (``ulimit -v``: ``RLIMIT_AS``), or None where none is set
    (or the system has no such limit). ``resource`` is imported with this module, not here: asked when memory has
    run out, importing its C extension failed too, and the limit went unsaid ("the install looks broken")."""
    if resource is None:  # Windows
        return None
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft < 0 else int(soft)


def memory_advice(otherwise: str = "close other programs and rerun") -> str:
    """What to do after running out of memory: raise the process's own limit where one is set (it, not other
    programs, is what ran out: "close other programs" sent the user the wrong way), else ``otherwise``."""
    limit = memory_limit()
    if limit is None:
        return otherwise
    return (
        f"this process may use only {limit / 2**20:.0f} MiB (its address-space limit, ulimit -v {limit // 1024}); "
        "raise it (ulimit -v unlimited) and rerun"
    )


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception's message on one line (whitespace collapsed, at most ``limit`` characters), for notes and
    errors; the type's name when the message is empty. A longer message loses its middle, not its end: most
    begin with a path and end with the reason ("…/IMG.jpg.compare.jpg: cannot write (File name too long)"),
    and a cut end kept the path and lost the why."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return f"{text[: limit - 1 - tail]}…{text[len(text) - tail :]}"


def folder_not_file(kind: str) -> str:
    """The one wording for a folder where a file was expected ("a folder, not an image file"), so every
    command and every way of reaching it (given, globbed, walked, loaded) reads the same; ``kind`` is
    what the name promised ("an image file", "a video file")."""
    return f"a folder, not {kind}"


class OutputAppeared(OutputError):
    """A file appeared at an output's path while its job ran (another run writing the same outputs, say), and
    the job was not asked to replace one: the job's result is dropped and the file kept
    (:func:`weatherclean.io.atomic.keep_existing`). ``path`` is the output's."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: output appeared meanwhile (another run?); kept, not replaced")
        self.path = path
