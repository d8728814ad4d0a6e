"""What a loaded photo carries and what a save reports: the records load and save pass between them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["LoadedImage", "SavedImage", "icc_fits"]


@dataclass
class LoadedImage:
    """Pixels plus everything needed to write the result back "the same" as the input.

    ``pixels`` is float32 H×W×C in [0, 1] with C = 3 (colour) or 1 (greyscale); ``alpha`` is H×W float32
    in [0, 1] or None; ``bit_depth`` is 8 or 16 per channel (a 10- or 12-bit HEIC's pixels are 16-bit, its own
    depth in ``extra["bits"]``); ``mode`` is the mode Pillow gives the file, whatever its depth (``RGB`` for a
    16-bit PNG or a 10-bit HEIC too), or ``LA;16`` for the 16-bit grey+alpha Pillow cannot open; ``extra`` holds
    format details used by
    :func:`save_image` (JPEG subsampling, DPI, PNG text chunks, WebP losslessness, ...). ``notes`` are
    one-line, non-fatal things the user should be told (conversions, dropped pages) – the batch runner
    prints them next to the photo. ``frames`` is how many frames/pages the file had (only the first is
    processed). ``orientation`` is the EXIF orientation (1–8; 1 when there is none): ``pixels`` are as
    stored, and a viewer turns them by it.
    """

    path: Path
    pixels: np.ndarray
    bit_depth: int
    format: str
    mode: str
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    frames: int = 1
    orientation: int = 1

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


@dataclass(eq=False)
class SavedImage:
    """What :func:`save_image` wrote: the path, the format, and notes about anything not kept.

    It also stands in for the ``Path`` that 0.1.0's ``save_image`` returned, so code written for that keeps
    working: ``str(saved)``, ``os.fspath(saved)`` and ``bytes(saved)`` give the path; ``saved == Path(...)``
    compares the path (as a ``Path`` does, a string is never equal: compare ``str(saved)``); it hashes as its
    path does and sorts by its path, among ``Path`` objects too; ``saved / "x"`` and ``"dir" / saved`` join as its
    path would; and any other ``Path`` attribute or method (``name``, ``suffix``, ``stem``, ``parent``,
    ``exists()``, ``stat()``, ``with_suffix()``, ``open()``, ``read_bytes()``, ...) is its path's. It is not a
    ``Path`` subclass (``isinstance(saved, Path)`` is False): ``saved.path`` is the ``Path`` itself. Two records
    are equal when path, format and notes are, and sort by those in turn.

    A type checker sees the delegated attributes through ``__getattr__``, as ``Any``: it neither completes nor
    checks them; type ``saved.path.name`` where that matters.
    """

    path: Path
    format: str
    notes: list[str] = field(default_factory=list)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        """The path, as ``str(Path)`` gives it: a manifest or message written with ``str(saved)`` or an f-string
        got the dataclass's repr instead (``repr(saved)`` still shows every field)."""
        return str(self.path)

    def __bytes__(self) -> bytes:
        """The path's bytes, as ``bytes(Path)`` gives them (``os.fsencode``)."""
        return os.fsencode(self.path)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        """``saved / "x"``: its path joined, as ``Path / "x"`` is (operators are not looked up by ``__getattr__``)."""
        return self._path().__truediv__(other)  # NotImplemented for what is no path: Python's TypeError

    def __rtruediv__(self, other: str | os.PathLike[str]) -> Path:
        """``"dir" / saved``: as ``"dir" / Path`` is (a ``Path`` on the left joins a path-like by itself)."""
        return self._path().__rtruediv__(other)

    def __getattr__(self, name: str) -> Any:
        """Every ``Path`` attribute this record lacks is its path's (``saved.name``, ``saved.exists()``).

        Why: 0.1.0 returned the ``Path``; delegating keeps such callers working without making the record a
        ``Path`` subclass. Only called for names not found on the record, so its own fields come first; the
        dunder guard keeps copy and pickle (which look names up before ``path`` is set) from recursing."""
        if name.startswith("__") or name == "path":
            raise AttributeError(name)
        try:
            return getattr(self.path, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__!r} object (nor its path) has no attribute {name!r}") from None

    def _path(self) -> Path:
        """``path`` as a ``Path`` (a caller may have built the record with a string)."""
        return self.path if isinstance(self.path, Path) else Path(self.path)

    def _keys(self, other: object) -> tuple[Any, Any] | None:
        """What ``self`` and ``other`` compare by: path, format and notes between two records; the path, for a
        ``Path`` (any ``PurePath``, as ``Path`` itself compares); None for anything else, which is then
        ``NotImplemented``, never a ``TypeError`` (a string, or a bytes path-like such as ``os.DirEntry`` from
        ``os.scandir(b".")``). Equality and order use the same keys, so they agree."""
        if isinstance(other, SavedImage):
            return (self._path(), self.format, self.notes), (other._path(), other.format, other.notes)
        if isinstance(other, PurePath):
            return self._path(), other
        return None

    def _compare(self, other: object, op: str) -> Any:
        """``op`` (``"__lt__"``, ...) on the keys of :meth:`_keys`, called as a method so that what they cannot
        compare (a ``PureWindowsPath`` with a ``PosixPath``) is ``NotImplemented`` here too, and Python's
        ``TypeError`` names this type."""
        keys = self._keys(other)
        return NotImplemented if keys is None else getattr(keys[0], op)(keys[1])

    def __eq__(self, other: object) -> bool:
        return self._compare(other, "__eq__")

    def __hash__(self) -> int:
        """As its path's, so a record finds the entry of its ``Path`` in a set or dict (as 0.1.0's ``Path`` did)."""
        return hash(self._path())

    def __lt__(self, other: object) -> bool:
        return self._compare(other, "__lt__")

    def __le__(self, other: object) -> bool:
        return self._compare(other, "__le__")

    def __gt__(self, other: object) -> bool:
        return self._compare(other, "__gt__")

    def __ge__(self, other: object) -> bool:
        return self._compare(other, "__ge__")


def icc_fits(like: LoadedImage, channels: int) -> bool:
    """Whether the input's ICC profile can describe an output of ``channels``: not a grey profile on colour
    pixels, which decoders refuse or misread. Both PNG writers and the other formats ask the same."""
    return bool(like.icc_profile) and not (like.icc_profile[16:20] == b"GRAY" and channels >= 3)  # type: ignore[index]
