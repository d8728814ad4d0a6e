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

import errno
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from weatherclean.errors import InputError, WeathercleanError
from weatherclean.io.folders import check_writable_folders, display, name_over_limit, real_path, under
from weatherclean.io.images import OutputError, is_image_path, normalise_format, suffix_for_format
from weatherclean.io.images.formats import PHOTO_FORMATS_TEXT, format_of_suffix
from weatherclean.io.media import JPEG_SUFFIXES
from weatherclean.io.output_links import follow_output_link
from weatherclean.io.permissions import make_folders
from weatherclean.io.video import VIDEO_FORMATS, is_video_path

__all__ = [
    "WRITTEN_AS", "OutputFormat", "check_output_folder", "check_writable_folders", "default_output", "destination",
    "foreign_files", "foreign_reason", "is_output_folder", "make_parent", "mirrored_folders", "output_root",
    "output_suffix", "placement", "under",
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

    ``-o -`` is refused too (Unix tools write standard output there; a folder named ``-`` was made), unless a
    folder of that name exists, and so is an ``-o`` in a symbolic link loop, itself or a folder above it.
    """
    if folder is None:
        return
    path = Path(folder)
    if os.fspath(folder) == "-" and not _exists(path):  # "write to standard output", as Unix tools read it
        raise InputError(
            f"{option} -: {option} names {what}; outputs are files, never written to standard output (to use a "
            "folder named '-', give it as ./-)"
        )
    if _looped(path):  # the -o itself, or a folder above it (-o loop/sub): one line now, not a failure per file
        raise InputError(
            f"{option} {path}: symbolic link loop (the path or a folder above it); give {what} that exists, or a new "
            "name"
        )
    if _ends_in_separator(folder):
        return
    if not (is_image_path(path) or is_video_path(path)) or _exists(path):
        return
    if hint is None:
        hint = "give a folder name (each output keeps its input's name inside it), or make the folder first if "
        hint += "that is really its name"
        if is_image_path(path):  # the one way to choose an output's file name; videos have none
            hint += "; to name one output photo yourself, use Restorer.restore_file in the Python API (docs/api.md)"
    raise InputError(f"{option} {path}: {option} names {what}, not a file; {hint}")


def _looped(path: Path) -> bool:
    """Whether following ``path`` never ends: it is a link loop (``ln -s out out``), or a folder above it is
    (``-o loop/sub``). ``Path.resolve()`` raised on the first; the second failed each file of the batch."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _exists(path: Path) -> bool:
    """``path.exists()``, and True where it cannot be looked at (a folder above it cannot be entered): then it is
    not refused here; the check of the output folders says why it cannot be written, rather than a traceback."""
    try:
        return path.exists()
    except OSError:
        return True


def _ends_in_separator(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder``, as given, ends in a path separator (``/``, or ``os.sep``/``os.altsep``)."""
    raw = os.fspath(folder)
    return isinstance(raw, str) and raw.endswith(tuple({"/", os.sep, os.altsep or "/"}))


def is_output_folder(name: str, tag: str) -> bool:
    """Whether a folder name is one the naming rule makes (``TAG`` or ``*_TAG``): never walked as input."""
    return name == tag or name.endswith(f"_{tag}")


def default_output(source: Path, *, folder: Path | None, tag: str = "desnowed") -> Path:
    """Where a file goes without ``-o``: beside the input tree, never inside it (see the module docstring).
    A file named by itself goes beside the name given: a link ``inbox/cover.jpg`` to ``../photos/p1.jpg``
    writes ``inbox/desnowed/cover.jpg`` (as walking ``inbox`` does), not into the link target's folder."""
    if folder is not None:
        return _beside(folder, tag) / _relative_in(source, folder)
    source = Path(os.path.abspath(source))  # absolute, links kept: the name the user gave
    return source.parent / tag / source.name


def output_root(output_dir: str | os.PathLike[str]) -> Path:
    """``-o DIR`` as the real, absolute folder the outputs go under, its links followed as a write would follow
    them: another user's link in a shared folder (``-o /tmp/job42``, ``/tmp/job42 -> /etc``) is refused, for the
    whole run, before any work (:func:`~weatherclean.io.output_links.follow_output_link`). Resolved with ``realpath``,
    the outputs' paths held no link left for the writes' own checks to see, and the run wrote into its target.
    The part of the path that does not exist yet is joined to the real folder above it."""
    path, rest = Path(output_dir), []
    while True:
        try:
            real = follow_output_link(path, choose="choose another -o DIR")
        except OutputError as exc:
            raise InputError(str(exc)) from None
        if real.is_absolute() and os.path.lexists(real):
            return real_path(real.joinpath(*reversed(rest))) if rest else real
        if path.parent == path:
            return real_path(Path(output_dir))
        rest.append(path.name)
        path = path.parent


def _beside(folder: Path, tag: str, cache: dict[tuple[Path, str], Path] | None = None) -> Path:
    """The output folder of the input folder ``folder`` without ``-o``: its sibling ``NAME_TAG``. ``cache``, when
    given, keeps it per folder: planning asks it of each of thousands of files found in one folder, and each ask
    resolved the folder's links and asked its file system for its name limit again."""
    if cache is not None and (folder, tag) in cache:
        return cache[folder, tag]
    resolved = real_path(folder)
    if resolved.parent == resolved:
        raise InputError(f"{resolved}: cannot put outputs next to the file-system root; pass -o DIR")
    name = f"{resolved.name}_{tag}"
    over = name_over_limit(name, resolved.parent)
    if over is not None:  # found at planning, before any work, rather than a traceback from the first job
        raise InputError(f"{display(folder)}: its output folder's name (its own + _{tag}) would be {over}; use -o DIR")
    beside = resolved.parent / name
    if os.path.islink(beside):  # another user's link there (``/tmp/photos_desnowed -> /etc``): refused before any work
        try:
            follow_output_link(beside, choose="choose another output folder with -o DIR")
        except OutputError as exc:
            raise InputError(str(exc)) from None
    if cache is not None:
        cache[folder, tag] = beside
    return beside


class Placement(NamedTuple):
    """Where an input's output goes (:func:`destination`) and how many of its folders mirror the input tree
    (:func:`mirrored_folders`)."""

    output: Path
    mirrored: int


def placement(
    source: Path,
    folder: Path | None,
    *,
    out_root: Path | None,
    tag: str,
    pattern_base: Path | None = None,
    beside: dict[tuple[Path, str], Path] | None = None,
) -> Placement:
    """:func:`destination` and :func:`mirrored_folders` at once, from one look at ``source``'s way down from the
    folder it was found in (or the pattern's literal start): what planning asks of each of thousands of files.
    ``beside`` (a dict the caller keeps for one plan) remembers each input folder's default output folder."""
    root = folder if folder is not None else pattern_base if out_root is not None else None
    if root is None:  # a file given by name (or matched by a pattern, without -o): its folder mirrors none
        alone = out_root / source.name if out_root is not None else default_output(source, folder=None, tag=tag)
        return Placement(alone, 0)
    rel = _relative_in(source, root)
    base = out_root if out_root is not None else _beside(root, tag, beside)
    return Placement(base / rel, len(rel.parts))


def destination(
    source: Path, folder: Path | None, *, out_root: Path | None, tag: str, pattern_base: Path | None = None
) -> Path:
    """Where ``source`` (found in ``folder``, or given by itself when None) goes, before ``--format``;
    one a pattern matched mirrors the tree below the pattern's literal start (``pattern_base``) in ``-o``."""
    return placement(source, folder, out_root=out_root, tag=tag, pattern_base=pattern_base).output


def mirrored_folders(
    source: Path, folder: Path | None, *, out_root: Path | None, pattern_base: Path | None = None
) -> int:
    """How many of the folders ``source``'s output goes in (:func:`destination`), from its own up, mirror a
    folder of the input tree: ``priv/2019/a.jpg`` → ``out/2019/a.jpg`` mirrors ``priv/2019`` and ``priv``, 2.
    A file given by its name (or matched by a pattern, without ``-o``) lands in a folder that mirrors none: 0."""
    root = folder if folder is not None else pattern_base if out_root is not None else None
    return 0 if root is None else len(_relative_in(source, root).parts)


#: Files a file manager or an OS adds to any folder it shows: never the user's work, so they do not keep a clip's
#: output folder from being replaced.
_FOLDER_LITTER = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".directory"})


def foreign_files(folder: Path, own: Iterable[str]) -> list[str]:
    """The entries of an existing ``--frames`` output folder that are not a clip's own frame outputs, by name
    (sub-folders end in ``/``); [] when every entry is one. ``own`` names the outputs its frames make.

    Why: replacing a clip's output folder removes the folder as a whole, so a folder the user made under that
    name (``keep/c1/`` holding ``holiday.jpg`` and ``notes.txt``) would be deleted with it. A frame output
    written by an earlier run with another ``--format`` (``0001.jpg`` for ``0001.png``) is the clip's own, but
    only when no other file shares its stem: a run writes one format, so ``0001.tif`` beside ``0001.jpg`` is the
    user's. So is a file manager's litter (``.DS_Store``, ``Thumbs.db``) and a Mac's ``._`` companion of an
    own file. A ``folder`` that is not a folder (a file, a link) is foreign as a whole. Raises :class:`OSError`
    when the folder cannot be read (:func:`foreign_reason` says so).
    """
    if folder.is_symlink() or not folder.is_dir():
        return [folder.name]
    names = set(own)
    stems = {Path(name).stem for name in names}
    with os.scandir(folder) as scan:
        entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in scan]
    shared = Counter(Path(name).stem for name, is_dir in entries if not is_dir and not name.startswith("._"))

    def is_own(entry: str) -> bool:
        name = entry.removeprefix("._")
        if name in names or entry.lower() in _FOLDER_LITTER:
            return True
        stem = Path(name).stem
        return stem in stems and shared[stem] <= 1 and is_image_path(Path(name))

    return sorted(name + "/" if is_dir else name for name, is_dir in entries if is_dir or not is_own(name))


def foreign_reason(folder: Path, own: Iterable[str]) -> str | None:
    """Why the existing clip output folder ``folder`` is never replaced, from its verb on (``holds files that are
    not this clip's frames (a.jpg, notes.txt and 2 more), so ...``), or None when it holds only ``own`` frame
    outputs (:func:`foreign_files`): the planner's skip and the handler's last look before the rename.

    A folder that cannot be read (``--overwrite`` over another user's folder) is never replaced either: what it
    holds cannot be told. Frames left from an earlier version of the clip (re-extracted with fewer frames) are
    not this clip's frames either, and no ``--overwrite`` may delete them for the user; the reason says what to
    remove.
    """
    own = list(own)
    try:
        foreign = foreign_files(folder, own)
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
        return (
            f"cannot be read ({why}), so whether it holds only this clip's frames cannot be told and it is never "
            "replaced; make it readable, remove it or choose another -o"
        )
    if not foreign:
        return None
    listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    hint = (
        " (frames from an earlier version of the clip? remove them or the folder)" if _like_frames(foreign, own) else ""
    )
    return (
        f"holds files that are not this clip's frames ({listed}), so it is never replaced; move them away{hint} or "
        "choose another -o"
    )


def _like_frames(foreign: list[str], own: list[str]) -> bool:
    """Whether some of ``foreign`` are named as the clip's frames are but for their number (``0101.jpg`` beside
    ``0001.jpg``...``0100.jpg``, ``frame_0101.png`` beside ``frame_0001.png``): left from an earlier version of the
    clip, re-extracted with fewer frames, rather than the user's ``holiday.jpg``."""
    prefixes = {Path(name).stem.rstrip("0123456789") for name in own}
    return any(
        is_image_path(Path(name))
        and Path(name).stem[-1:].isdigit()
        and Path(name).stem.rstrip("0123456789") in prefixes
        for name in foreign
    )


def _relative_in(path: Path, folder: Path) -> Path:
    """``path`` relative to ``folder`` as walked, *not* resolved: a symlink inside the folder that
    points elsewhere keeps its place in the tree (resolving it would leave the folder)."""
    for a, b in ((path, folder), (Path(os.path.abspath(path)), Path(os.path.abspath(folder)))):
        try:
            return a.relative_to(b)
        except ValueError:
            pass
    try:
        return real_path(path).relative_to(real_path(folder))
    except ValueError:
        raise InputError(f"{display(path)}: not inside {display(folder)}") from None


#: Photo endings that are read but not written: the format each is written as instead (its suffix with it). An
#: MPO's other pictures are dropped (with a note), so what is written is a plain JPEG, and named so.
WRITTEN_AS = {".mpo": "JPEG"}


def output_suffix(dest: Path, fmt: str | None) -> Path:
    """Give ``dest`` the suffix of ``fmt`` unless its suffix already means that format (a.jpeg, a.jfif stay);
    without ``fmt``, the suffix of the format a read-only ending is written as (``x.MPO`` → ``x.jpg``)."""
    fmt = fmt or WRITTEN_AS.get(dest.suffix.lower())
    if fmt is None:
        return dest
    try:
        same = normalise_format(dest.suffix.lstrip(".")) == fmt
    except WeathercleanError:
        same = False
    same = same or (fmt == "JPEG" and dest.suffix.lower() in JPEG_SUFFIXES)  # endings --format does not spell
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
        try:
            return cls(image=normalise_format(name))
        except OutputError:
            if format_of_suffix(name) is not None:  # a photo format this installation cannot write: say how to get it
                raise
            # a container it reads but does not write (flv, ts): name both lists, not photos only
            videos = ", ".join(list(VIDEO_FORMATS)[:-1]) + f" or {list(VIDEO_FORMATS)[-1]}"
            raise OutputError(
                f"unknown output format '{name}'; for videos use {videos}, for photos {PHOTO_FORMATS_TEXT}"
            ) from None

    def rename(self, dest: Path) -> Path:
        """``dest`` with the suffix of the format it will be written in."""
        if is_video_path(dest):
            return dest.with_suffix(self.video) if self.video else dest
        return output_suffix(dest, self.image)


def make_parent(path: Path, *, like: Path | None = None, mirrored: int = 0) -> None:
    """Create the folder ``path`` goes in; a failure is one line naming the folder and the reason.

    ``like`` is the input whose folder that folder mirrors, and ``mirrored`` how many output folders, from
    ``path``'s up, mirror ``like``'s (:attr:`~weatherclean.batch.jobs.Job.mirrored`): those that are new take
    their input folder's permissions less the umask (:func:`~weatherclean.io.permissions.make_folders`)."""
    try:
        make_folders(path.parent, like.parent if like is not None else None, mirrored=mirrored)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{path.parent}: cannot create output folder ({reason})") from None
