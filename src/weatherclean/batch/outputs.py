"""The output-naming rule: where each input's result goes.

Default (without ``-o``): a folder ``photos/`` goes to the sibling ``photos_desnowed/`` with the same
tree; a single file ``dir/a.jpg`` goes to ``dir/desnowed/a.jpg`` (the tag is the command's: ``desnowed``,
``derained``). Such folders, named ``TAG`` or ``*_TAG``, are never walked as inputs, so a later run never
reads earlier outputs. With ``-o DIR`` each given folder's tree is mirrored under DIR and single files land
directly in DIR. ``--in-place`` replaces each input instead (atomically, like every write). ``--format``
changes only the suffix (:class:`OutputFormat`).

The check that every output folder can be written before any work is io's
(:func:`weatherclean.io.folders.check_writable_folders`); it stays importable from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from weatherclean.errors import InputError, WeathercleanError
from weatherclean.io.folders import check_writable_folders, display, under
from weatherclean.io.images import OutputError, is_image_path, normalise_format, suffix_for_format
from weatherclean.io.video import VIDEO_FORMATS, is_video_path

__all__ = [
    "OutputFormat", "check_output_folder", "check_writable_folders", "default_output", "destination",
    "is_output_folder", "make_parent", "output_suffix", "under",
]  # fmt: skip


def check_output_folder(
    folder: str | os.PathLike[str] | None,
    *,
    option: str = "-o",
    what: str = "an output folder",
    hint: str | None = None,
) -> None:
    """Refuse an ``-o`` that does not exist yet and is named like a photo or a video (``-o clean.mp4``).

    Why: ``-o`` names a folder, and a new one is made under the name given; a user who meant a file got a
    folder ``clean.mp4/`` holding ``clip.mp4``, reported as ``written to clean.mp4/clip.mp4``, which looks
    like a video in a file manager and is not one. A folder of that name that already exists is the
    user's own doing and keeps working, and so does one given as a string ending in a separator
    (``-o clean.jpg/``): the slash asks for a folder plainly. ``Path()`` drops that slash, so only the raw
    string shows it. ``option`` and ``what`` name the option and what it takes in the message, and ``hint``
    says what to do instead (default: desnow's and derain's advice; train's ``-o`` is its run folder).
    """
    if folder is None or _ends_in_separator(folder):
        return
    path = Path(folder)
    if path.exists() or not (is_image_path(path) or is_video_path(path)):
        return
    if hint is None:
        hint = "give a folder name (each output keeps its input's name inside it), or make the folder first if "
        hint += "that is really its name"
        if is_image_path(path):  # the one way to choose an output's file name; videos have none
            hint += "; to name one output photo yourself, use Restorer.restore_file in the Python API (docs/api.md)"
    raise InputError(f"{option} {path}: {option} names {what}, not a file; {hint}")


def _ends_in_separator(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder``, as given, ends in a path separator (``/``, or ``os.sep``/``os.altsep``)."""
    raw = os.fspath(folder)
    return isinstance(raw, str) and raw.endswith(tuple({"/", os.sep, os.altsep or "/"}))


def is_output_folder(name: str, tag: str) -> bool:
    """Whether a folder name is one the naming rule makes (``TAG`` or ``*_TAG``): never walked as input."""
    return name == tag or name.endswith(f"_{tag}")


def default_output(source: Path, *, folder: Path | None, tag: str = "desnowed") -> Path:
    """Where a file goes without ``-o``: beside the input tree, never inside it (see the module docstring)."""
    if folder is not None:
        given, folder = folder, folder.resolve()
        rel = _relative_in(source, given)
        if folder.parent == folder:
            raise InputError(f"{folder}: cannot put outputs next to the file-system root; pass -o DIR")
        return folder.parent / f"{folder.name}_{tag}" / rel
    source = source.resolve()
    return source.parent / tag / source.name


def destination(
    source: Path, folder: Path | None, *, out_root: Path | None, tag: str, pattern_base: Path | None = None
) -> Path:
    """Where ``source`` (found in ``folder``, or given by itself when None) goes, before ``--format``;
    one a pattern matched mirrors the tree below the pattern's literal start (``pattern_base``) in ``-o``."""
    if out_root is None:
        return default_output(source, folder=folder, tag=tag)
    if folder is not None:
        return out_root / _relative_in(source, folder)
    if pattern_base is not None:
        return out_root / _relative_in(source, pattern_base)
    return out_root / source.name


def _relative_in(path: Path, folder: Path) -> Path:
    """``path`` relative to ``folder`` as walked, *not* resolved: a symlink inside the folder that
    points elsewhere keeps its place in the tree (resolving it would leave the folder)."""
    for a, b in ((path, folder), (Path(os.path.abspath(path)), Path(os.path.abspath(folder)))):
        try:
            return a.relative_to(b)
        except ValueError:
            pass
    try:
        return path.resolve().relative_to(folder.resolve())
    except ValueError:
        raise InputError(f"{display(path)}: not inside {display(folder)}") from None


def output_suffix(dest: Path, fmt: str | None) -> Path:
    """Give ``dest`` the suffix of ``fmt`` unless its suffix already means that format (a.jpeg stays)."""
    if fmt is None:
        return dest
    try:
        same = normalise_format(dest.suffix.lstrip(".")) == fmt
    except WeathercleanError:
        same = False
    return dest if same else dest.with_suffix(suffix_for_format(fmt))


@dataclass(frozen=True)
class OutputFormat:
    """``--format``: one option, meaning what fits each kind of input.

    ``image`` is a Pillow format name (``"PNG"``) for photos and frames; ``video`` a container suffix
    (``".mkv"``) for videos. Either is None to keep the input's own.
    """

    image: str | None = None
    video: str | None = None

    @classmethod
    def parse(cls, name: str | None, *, videos: bool = False) -> OutputFormat:
        """Read ``--format``; with ``videos`` (desnow, derain) a container name (mp4, mkv, ...) is a video format."""
        if not videos:
            return cls(image=normalise_format(name) if name else None)
        if name is None:
            return cls()
        key = name.lower().lstrip(".")
        if key in VIDEO_FORMATS:
            return cls(video=VIDEO_FORMATS[key])
        return cls(image=normalise_format(name))

    def rename(self, dest: Path) -> Path:
        """``dest`` with the suffix of the format it will be written in."""
        if is_video_path(dest):
            return dest.with_suffix(self.video) if self.video else dest
        return output_suffix(dest, self.image)


def make_parent(path: Path) -> None:
    """Create the folder ``path`` goes in; a failure is one line naming the folder and the reason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{path.parent}: cannot create output folder ({reason})") from None
