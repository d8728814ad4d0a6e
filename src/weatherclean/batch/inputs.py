"""Inputs as typed on the command line → the files to consider: files, folders (walked recursively) and
glob patterns, each kind by its own small rule (:data:`_RULES`).

Nothing is named or sharded here (:mod:`weatherclean.batch.plan` does that); this module only finds
files, in a stable order, and records what it passes over and why: files that are not inputs, empty
folders, folders named like files, patterns that match nothing, paths that do not exist. Walks never
enter output folders (``TAG``, ``*_TAG``, the ``-o`` folder) nor read files weatherclean writes beside its
outputs, so rerunning a command never takes earlier results as inputs. They pass over XMP sidecars (a photo's
metadata, copied beside its output: :mod:`weatherclean.io.sidecars`), with one note for those no photo or video
found takes, and list no video's subtitle file (``DJI_0001.SRT``, copied with it) as skipped
(:func:`_settle_sidecars`).
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weatherclean.batch.jobs import NO_MATCH, NOT_FOUND, STDIN, Record, display
from weatherclean.batch.outputs import is_output_folder, under
from weatherclean.errors import folder_not_file
from weatherclean.io.compare import COMPARE_SUFFIX
from weatherclean.io.folders import LINK_LOOP, expand_home, input_problem, real_path, too_long
from weatherclean.io.media import is_image_path
from weatherclean.io.sidecars import (
    RAW_SUFFIXES,
    SUBTITLE_SUFFIX,
    claimed_by,
    clear_listings,
    clip_of_proxy,
    is_picture_name,
    is_sidecar,
    name_key,
    names_in,
    names_with_stem,
)
from weatherclean.io.video import is_partial_path, is_video_path

__all__ = [
    "CAMERA_FILES", "EMPTY_FOLDER", "GLOB_CHARS", "NOTHING_TO_DO_HEAD", "ONLY_OURS", "ONLY_SIDECARS",
    "ONLY_SIDECARS_MATCHED", "PARTIAL_INPUT",
    "Found", "Inputs", "camera_file_reason", "expand_inputs", "files_under", "literal_prefix", "nameless_video_reason",
    "one_per_path",
    "real_path", "safe_is_dir", "safe_is_file", "unreachable", "write_protected",
]  # fmt: skip

#: The characters that make an input a glob pattern (when no file of that name exists).
GLOB_CHARS = frozenset("*?[")


def literal_prefix(parts: tuple[str, ...]) -> int:
    """How many of a glob pattern's leading ``parts`` hold no wildcard: its literal folder, where its matches lie
    (the planner names outputs from there; an ``--in-place`` run locks it)."""
    return next((i for i, part in enumerate(parts) if GLOB_CHARS & set(part)), len(parts))


#: How the skip reason of a file judged by its name alone ends (``not an image file (by name)``).
_BY_NAME = " (by name)"

#: Image formats people try that weatherclean cannot write back faithfully: say so instead of "not an image".
_UNSUPPORTED_IMAGES = {
    ".gif": "GIF", ".ico": "ICO", ".psd": "Photoshop", ".jp2": "JPEG 2000", ".jxl": "JPEG XL", ".tga": "TGA",
    ".pbm": "PBM", ".pnm": "PNM",
    **{raw: f"raw ({raw[1:].upper()})" for raw in sorted(RAW_SUFFIXES)},  # camera raw files, by the makers' endings
}  # fmt: skip

#: The skip reason of an XMP sidecar given by name (walks and patterns pass over sidecars: :func:`_settle_sidecars`).
#: Not "it is copied beside its photo's output": it is not under ``--in-place``, nor when its photo is not among the
#: inputs, nor an Adobe sidecar whose stem a raw shares.
_SIDECAR_INPUT = (
    "an XMP sidecar (photo metadata, not a picture), never processed itself; give its photo, whose own sidecars are "
    "copied beside its output (not with --in-place, where they stay as they are)"
)
#: What the files action cameras and drones write beside a clip are, rather than "not an image or video file", by
#: ending (:func:`camera_file_reason`).
CAMERA_FILES = {
    ".lrv": "a GoPro low-resolution proxy (LRV)",
    ".lrf": "a DJI low-resolution proxy (LRF)",
    ".thm": "a camera's thumbnail (THM)",
}
_INSTA360 = {
    ".insv": "an Insta360 360° video (.insv), not supported; export it to MP4 (Insta360 Studio) first",
    ".insp": "an Insta360 360° photo (.insp), not supported; export it to JPEG (Insta360 Studio) first",
}
#: The skip reason of a ``*.partial.mp4`` given by name: a failed video's restored frames, kept to look at. Public,
#: as are the folder reasons below, so that the summary never folds them by their very words
#: (:data:`weatherclean.batch.report.NEVER_FOLDED`): each names an input the user gave that does nothing.
PARTIAL_INPUT = "a partial result (a video that decoded in part), never read as an input; rename it to use it"
#: The skip reason of a folder given (or matched) that holds no file at all.
EMPTY_FOLDER = "empty folder: nothing to do"
#: How the skip reason of a folder that holds files, none of them an input, starts (:data:`ONLY_SIDECARS`,
#: :data:`ONLY_OURS`).
NOTHING_TO_DO_HEAD = "nothing to do: "
#: A folder holding XMP sidecars and nothing else.
ONLY_SIDECARS = f"{NOTHING_TO_DO_HEAD}it holds only XMP sidecars (photo metadata), no photos"
#: A quoted pattern whose matches are all XMP sidecars (``'card/*.xmp'``).
ONLY_SIDECARS_MATCHED = (
    f"{NOTHING_TO_DO_HEAD}it matches only XMP sidecars (photo metadata); give the photos, whose sidecars go with them"
)
#: A folder holding only what earlier runs wrote.
ONLY_OURS = f"{NOTHING_TO_DO_HEAD}it holds only results of earlier runs (--compare pictures, partial videos)"


@dataclass(frozen=True, slots=True)
class Found:
    """A file to consider, and the folder it was found in (None: given by name or matched by a pattern).

    The folder decides where the output goes: its tree is mirrored (:func:`~weatherclean.batch.outputs.destination`).
    ``pattern_base`` is the literal start of the pattern that matched the file (``lib`` for
    ``lib/**/*.jpg``): under ``-o DIR`` the tree below it is mirrored, so two cards' ``IMG_0001.JPG`` in
    ``DCIM/100CANON`` and ``DCIM/101CANON`` do not collide; without ``-o`` each goes beside itself.

    When the expansion looked at the file (``look``: one ``stat`` per file, nothing opened but a file named like a
    video): ``inode`` is its ``(st_dev, st_ino, st_nlink)`` when it has other hard links (``--in-place`` counts
    those outside the batch), else None (the whole ``stat`` was kept before: 60 MB for 100,000 files, for those
    few); ``content`` the image format a file named like a video holds (``"JPEG"`` for a photo saved as
    ``photo.mp4``), read from its first bytes: such a file is done as the photo it is (:func:`expand_inputs`);
    ``problem`` why it cannot be read when that does not stop a rerun from skipping it as done (an empty file, a
    broken link): the planner fails it only when its job would run (:func:`~weatherclean.batch.plan.plan_jobs`).
    """

    path: Path
    folder: Path | None = None
    pattern_base: Path | None = None
    inode: tuple[int, int, int] | None = field(default=None, compare=False, repr=False)
    #: Whether the file is write-protected (:func:`write_protected`), from the same ``stat``; None: not looked at.
    read_only: bool | None = field(default=None, compare=False, repr=False)
    content: str | None = None
    problem: str | None = field(default=None, compare=False)

    @property
    def shard_key(self) -> str:
        """What ``--shard`` hashes: the path below the folder or pattern it was found by (see :func:`shard_key`)."""
        return shard_key(self.path, self.folder or self.pattern_base or self.path.parent)


def write_protected(info: os.stat_result | None) -> bool:
    """Whether the file ``info`` describes is one no one may write (``0444``; a camera's "Protect", which is FAT's
    read-only flag), which ``--in-place`` leaves alone (:func:`~weatherclean.batch.plan.plan_jobs`)."""
    return info is not None and stat.S_ISREG(info.st_mode) and not info.st_mode & 0o222


def shard_key(path: Path, root: Path) -> str:
    """``path`` as its shard knows it: the name of the folder it was found under (``root``, the folder given,
    a pattern's literal start, or the folder of a file given by name), then the way down from there.

    Not the path as typed: one process given ``photos`` and another ``/data/photos`` or ``./photos/`` must
    split a batch the same way, or photos are done twice and others by no one. Not the resolved path
    either: machines that mount the photos at different places must agree too."""
    try:
        below = path.relative_to(root).as_posix()
    except ValueError:
        below = path.name
    return f"{Path(os.path.abspath(root)).name}/{below}"  # ".." and "./x/" named, no link followed


@dataclass
class Inputs:
    """What the inputs expand to: ``files`` in order, plus paths passed over (``skipped``) or ``failed``.

    ``keys`` gives the shard key (:func:`shard_key`) of each skipped or failed record that belongs to one
    file or folder found, so that each shard reports only its own; a record without one (an input that
    does not exist, a pattern that matched nothing) concerns the command line, and every shard reports it.
    """

    files: list[Found] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    keys: dict[Record, str] = field(default_factory=dict)
    #: Notes about an input as given (a name with wildcards taken as the file of that name, not as a pattern).
    notes: list[Record] = field(default_factory=list)

    def note(self, into: list[Record], record: Record, path: Path, root: Path) -> None:
        """Add a skipped or failed ``record`` about ``path``, found under ``root``, with its shard key."""
        into.append(record)
        self.keys[record] = shard_key(path, root)


def expand_inputs(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    accept: Callable[[Path], bool],
    kind: str,
    tag: str,
    out_root: Path | None = None,
    look: bool = False,
) -> Inputs:
    """Expand files, folders (recursively) and glob patterns into the files ``accept`` takes.

    ``kind`` names what ``accept`` takes, in skip notes ("not an image file"); ``tag`` and ``out_root``
    (the resolved ``-o`` folder) say which folders hold outputs, never walked.

    With ``look``, each file taken is looked at once (``stat``, :func:`~weatherclean.io.folders.input_problem`):
    a symbolic link loop, a FIFO, socket or device fails here, alone, with its reason; an empty file or a broken
    link is kept with its reason (:attr:`Found.problem`), and the planner fails it when its job would run. A
    ``--dry-run`` then knows them (exit code 1) as the run does, and a link loop no longer ended the batch in a
    traceback. A file named like a video is read from its first bytes too (videos are few, photos many and never so
    read): one that holds a photo is done as that photo (:attr:`Found.content`).

    ``-`` (standard input, to Unix tools) fails with a reason saying so, unless a file of that name exists. A name
    with wildcards that is also a file's or folder's is that file or folder, and gets a note when, as a pattern, it
    would have matched other paths too.
    """
    clear_listings()  # each plan lists its folders as they are now (a server plans batch after batch)
    expander = _Expander(accept, kind, tag, out_root, look=look)
    literal = _LiteralNames(inputs, tag)
    for item in inputs:
        text = os.fspath(item)
        path = expand_home(text)
        if (text == "-" and not os.path.lexists(path)) or _descriptor(path):
            expander.found.failed.append(Record(path, STDIN))
            continue
        try:
            rule = next(rule for applies, rule in _RULES if applies(path, text))
        except OSError as exc:  # a folder above it cannot be entered: what it is cannot even be told
            expander.found.failed.append(Record(path, unreachable(exc, path)))
            continue
        if rule is not _Expander.pattern and GLOB_CHARS & set(text):
            expander.found.notes += literal.note(path, text)
        rule(expander, path, text)
    found = expander.found
    # A recursive glob ('in/**') reaches a folder both as a match and inside its parent: one row each.
    found.skipped, found.failed = one_per_path(found.skipped), list(dict.fromkeys(found.failed))
    found.files = _one_per_file(found.files)
    _settle_sidecars(expander)
    # A file taken by its content when given by name (``scan``, no ending) was also skipped "by name" by the walk of
    # its folder given beside it: it is one file, done, and listed once (usage.md), not done and skipped.
    if found.skipped:  # only files given by name are taken so; display() of each of 20,000 walked took 0.3 s
        taken = {display(f.path) for f in found.files if f.folder is None and f.pattern_base is None}
        found.skipped = [r for r in found.skipped if r.path not in taken]
    return found


def _descriptor(path: Path) -> bool:
    """Whether ``path`` names an open file descriptor (``/dev/stdin``, ``/dev/fd/3``, ``/proc/self/fd/0``), not a
    file. Why: ``/dev/stdin`` was skipped as "not an image (by name)" with exit code 0; redirected from a photo it was
    processed, and its output written to ``/dev/desnowed/stdin``."""
    parts = Path(os.path.abspath(path)).parts
    return (
        parts[:3] == ("/", "dev", "stdin")
        or (parts[1:3] == ("dev", "fd") and len(parts) > 3)
        or (parts[1:2] == ("proc",) and parts[3:4] == ("fd",) and len(parts) > 4)
    )


class _LiteralNames:
    """The notes of inputs with wildcards (``'G/*.jpg'``) that name an existing file or folder, and so are taken as
    that one, not as a pattern, when the pattern would also match paths not given (``G/b.jpg``). Why: the others
    were left out without a word, where the user may have meant the pattern.

    Paths are compared as absolute, normalised paths, ``~`` expanded, on both sides (``'./G/*.jpg' G/b.jpg`` gave
    all there is; ``'~/G/*.jpg'`` matches itself). A folder is listed once, and only its names not given are matched
    against the pattern: a shell's expansion of ``B/*.jpg`` over 5,000 names like ``IMG [1] 00001.jpg`` gives each
    of them, and a ``glob`` per name listed the folder 5,000 times (15 s, where planning took 0.3 s)."""

    def __init__(self, inputs: Sequence[str | os.PathLike[str]], tag: str) -> None:
        self.inputs = inputs
        self.tag = tag  # output folders (``desnowed``) are never inputs: no pattern is taken to mean them
        self._given: set[str] | None = None
        self._cwd = ""
        self._unlisted: dict[str, list[str]] = {}  # folder → its names not given

    def _norm(self, text: str) -> str:
        return os.path.normpath(os.path.join(self._cwd, os.path.expanduser(text)))

    def note(self, path: Path, text: str) -> list[Record]:
        """The note of the input ``text`` (``path``: as expanded), taken as the file or folder of that name."""
        if not os.path.lexists(path):
            return []
        if self._given is None:  # only once a name with wildcards is given: most runs have none
            self._cwd = os.getcwd()
            self._given = {self._norm(os.fspath(item)) for item in self.inputs}
        pattern = self._norm(text)
        head, tail = os.path.split(pattern)
        if GLOB_CHARS & set(head) or "**" in tail:  # wildcards in a folder's name too: rare, matched in full
            matches = [self._norm(m) for m in _pattern_matches(pattern, self.tag)]
        else:
            unlisted = self._names_not_given(head)  # none when the shell expanded the pattern: nothing to match
            names = fnmatch.filter(unlisted, tail) if unlisted else []
            matches = [os.path.join(head, name) for name in names if tail.startswith(".") or name[:1] != "."]
        others = sorted(m for m in matches if m != pattern and m not in self._given)
        if not others:
            return []
        return [
            Record(
                Path(text),
                f"a file or folder has this very name, so it was taken as that one, not as a pattern (which would "
                f"also match {len(others)} other path(s), such as {display(Path(others[0]))}); to use the pattern, "
                "rename that file, or let the shell expand it",
            )
        ]

    def _names_not_given(self, folder: str) -> list[str]:
        """The names in ``folder`` (absolute, normalised) whose paths were not given, listed once."""
        names = self._unlisted.get(folder)
        if names is None:
            try:
                listed = os.listdir(folder)
            except OSError:
                listed = []
            given = self._given or set()
            names = self._unlisted[folder] = [
                n for n in listed if os.path.join(folder, n) not in given and not is_output_folder(n, self.tag)
            ]
        return names


def _one_per_file(files: list[Found]) -> list[Found]:
    """Each path once, as first reached: a photo named twice (``desnow a.jpg a.jpg``) or named beside the
    folder holding it (``desnow holiday holiday/astro.jpg``) is one file, done once, as usage.md says.
    Kept twice, both copies planned the same output and the run was refused as a name clash. (Paths that
    differ but name the same file, ``a.jpg`` and ``./x/../a.jpg`` or a link, are left to the planner,
    which knows real paths.)"""
    first: dict[Path, Found] = {}
    for f in files:
        first.setdefault(f.path, f)
    return list(first.values())


def one_per_path(records: list[Record]) -> list[Record]:
    """One record per path, in the order first reached. A file reached twice (in a folder given and by its
    own name: ``derain upper upper/noext``; or by derain's walk and by ``--frames``' walk of the same
    folder) was listed twice, with two reasons. A guess "by name" gives way to a reason found otherwise
    (the file was opened: "a video without a file ending; rename it..."), which says what to do; else the
    first stands."""
    best: dict[Path, Record] = {}
    for record in records:
        if record.path not in best or (_by_name(best[record.path]) and not _by_name(record)):
            best[record.path] = record
    return list(best.values())


def _by_name(record: Record) -> bool:
    return record.reason.endswith(_BY_NAME)


class _Expander:
    """The state of one expansion and a method per kind of input (the rules of :data:`_RULES`)."""

    def __init__(
        self, accept: Callable[[Path], bool], kind: str, tag: str, out_root: Path | None, *, look: bool = False
    ) -> None:
        self.accept, self.kind, self.tag, self.out_root, self.look = accept, kind, tag, out_root, look
        self.skip_dirs = {out_root} if out_root is not None else set()
        self.found = Inputs()
        #: XMP sidecars walks and patterns passed over, and the skipped rows of subtitle files (``.SRT``), with their
        #: paths: settled once every input is found (:func:`_settle_sidecars`).
        self.sidecars: list[Path] = []
        self.subtitles: list[tuple[Path, Record]] = []

    def file(self, path: Path, folder: Path | None = None, *, pattern_base: Path | None = None) -> None:
        """A file given, matched or walked: an input if ``accept`` takes it (and, with ``look``, it can be read:
        else a failure with the reason), else a skip with the reason."""
        root = folder or pattern_base or path.parent
        if not self.accept(path):
            record = Record(display(path), _skip_reason(path, self.kind))
            self.found.note(self.found.skipped, record, path, root)
            if path.suffix.lower() == SUBTITLE_SUFFIX:
                self.subtitles.append((path, record))
            return
        info, problem = input_problem(path) if self.look else (None, None)
        if problem is not None and _blocks(info, problem):
            self.found.note(self.found.failed, Record(display(path), problem), path, root)
            return
        content = _photo_inside(path) if problem is None and self.look and is_video_path(path) else None
        inode = (info.st_dev, info.st_ino, info.st_nlink) if info is not None and info.st_nlink > 1 else None
        locked = write_protected(info) if info is not None else None
        self.found.files.append(
            Found(path, folder, pattern_base, inode=inode, read_only=locked, content=content, problem=problem)
        )

    def given_file(self, path: Path, _text: str) -> None:
        """A file named on the command line. One named without an ending is taken by its content when it
        holds a photo the command reads (a folder walk still goes by names: it cannot open every file). One
        without an ending that is no regular file (``/dev/stdin``, a FIFO) fails with what it is, rather than
        being skipped "by name"."""
        if path.suffix or self.accept(path):
            self.file(path)
            return
        info, problem = input_problem(path) if self.look else (None, None)
        if problem is not None and not problem.startswith("empty file"):
            self.found.note(self.found.failed, Record(display(path), problem), path, path.parent)
            return
        if stat.S_ISREG(info.st_mode) if info is not None else path.is_file():
            from weatherclean.io.images.formats import SUPPORTED_FORMATS, suffix_for_format
            from weatherclean.io.media import sniff

            found = sniff(path)
            ending = suffix_for_format(found) if found in SUPPORTED_FORMATS else {"GIF": ".gif"}.get(found or "")
            if ending is not None and self.accept(path.with_suffix(ending)):
                self.found.files.append(Found(path, None))
                return
            if ending is not None:  # what it holds, rather than "by name", which says nothing here
                record = Record(display(path), _skip_reason(path.with_suffix(ending), self.kind))
                self.found.note(self.found.skipped, record, path, path.parent)
                return
            if found == "video":  # the output's container is picked by its ending, which this name lacks
                record = Record(display(path), _video_skip_reason(path, self.kind))
                self.found.note(self.found.skipped, record, path, path.parent)
                return
        self.file(path)

    def folder(self, path: Path, _text: str = "") -> None:
        """A folder, given or matched by a glob (the same either way): every file under it, with a row for
        each folder named like an input (``x.jpg``, ``clip.mp4``) that holds no file, itself included."""
        seen = sidecars = 0
        misnamed: list[Path] = []
        unreadable: list[tuple[Path, str]] = []
        walk = _walk(
            path, self.skip_dirs, self.tag, named_like_file=self.accept, misnamed=misnamed, unreadable=unreadable
        )
        for f in walk:
            if is_sidecar(f):  # a photo's metadata, copied with it (weatherclean.io.sidecars): not worth a row each
                sidecars += 1
                self.sidecars.append(f)
                continue
            seen += 1
            self.file(f, path)
        for d, why in unreadable:  # its photos cannot even be listed: a failure, never an "empty folder"
            record = Record(display(d), why)
            self.found.note(self.found.failed, record, d, path if d != path else path.parent)
        if seen == 0 and not unreadable and self.accept(Path(path.name)):
            misnamed.insert(0, path)
        for d in misnamed:
            record = Record(display(d), f"{folder_not_file(_kind_by_name(d))}; it holds no files")
            self.found.note(self.found.failed, record, d, path if d != path else path.parent)
        if seen == 0 and not misnamed and not unreadable:
            why = EMPTY_FOLDER
            if sidecars:
                why = ONLY_SIDECARS
            elif _holds_ours(path, self.tag):  # not empty to the eye: say what its files are
                why = ONLY_OURS
            self.found.note(self.found.skipped, Record(display(path), why), path, path.parent)

    def pattern(self, _path: Path, text: str) -> None:
        """A glob pattern (quoted, so the shell left it): its matches (:func:`_pattern_matches`: a ``**`` walks as a
        folder given does), less earlier outputs of ours."""
        pattern = os.path.expanduser(text)
        matches = sorted(_pattern_matches(pattern, self.tag, self.skip_dirs))
        if not matches:
            self.found.failed.append(Record(Path(text), NO_MATCH))
        parts = Path(pattern).parts
        base_parts = literal_prefix(parts)
        if matches and all(is_sidecar(Path(m)) and not safe_is_dir(Path(m)) for m in matches):
            # said once for the pattern (a sidecar given by name gets its own row): "0 done" and nothing else
            # left the user guessing
            self.found.skipped.append(Record(Path(text), ONLY_SIDECARS_MATCHED))
            return
        walked = _walked(parts)  # the walk entered no output folder: no match needs a look at its real path
        if not walked:
            matches = _fewest_links(matches, base_parts)
        pattern_base = Path(*parts[:base_parts])
        for m in matches:
            mp = Path(m)
            if (not walked and _in_output_tree(mp, base_parts, self.out_root, self.tag)) or _ours(mp.name):
                continue  # an earlier run's output, comparison picture or partial video: as walks skip them
            is_dir = safe_is_dir(mp)
            if is_sidecar(mp) and not is_dir:  # as walks pass over them
                self.sidecars.append(mp)
                continue
            if is_dir:
                self.folder(mp)
            else:
                self.file(mp, pattern_base=pattern_base)

    def partial(self, path: Path, _text: str) -> None:
        self.found.note(self.found.skipped, Record(display(path), PARTIAL_INPUT), path, path.parent)

    def missing(self, path: Path, _text: str) -> None:
        self.found.failed.append(Record(path, NOT_FOUND))


#: What each input given is, tested in order (the first that applies wins), and the rule for it.
_RULES: tuple[tuple[Callable[[Path, str], bool], Callable[[_Expander, Path, str], None]], ...] = (
    (lambda path, _text: path.is_dir(), _Expander.folder),
    (lambda path, _text: is_partial_path(path) and path.exists(), _Expander.partial),
    (lambda path, _text: path.exists() or path.is_symlink(), _Expander.given_file),
    (lambda _path, text: bool(GLOB_CHARS & set(text)), _Expander.pattern),
    (lambda _path, _text: True, _Expander.missing),
)


def _skip_reason(path: Path, kind: str) -> str:
    if is_sidecar(path):
        return _SIDECAR_INPUT
    suffix = path.suffix.lower()
    if suffix in _INSTA360:
        return _INSTA360[suffix]
    if suffix in CAMERA_FILES:
        return camera_file_reason(suffix, clip_of_proxy(path))
    name = _UNSUPPORTED_IMAGES.get(suffix)
    if name:
        return f"{name} images are not supported; convert to PNG, JPEG or TIFF first"
    if is_video_path(path) and "video" not in kind:
        return _video_skip_reason(path, kind)
    return f"not {kind}{_BY_NAME}"


def camera_file_reason(suffix: str, clip: str | None) -> str:
    """The skip reason of a camera's proxy or thumbnail ending in ``suffix`` (a key of :data:`CAMERA_FILES`, lower
    case), naming the ``clip`` it lies beside when there is one: ``a DJI low-resolution proxy (LRF) of
    DJI_0001.MP4; not processed``. Public so that the summary folds these by the same words
    (:mod:`weatherclean.batch.report`): each names its own clip, and a 200-clip card is 200 such rows."""
    return f"{CAMERA_FILES[suffix]}{f' of {clip}' if clip else ''}; not processed"


def _settle_sidecars(expander: _Expander) -> None:
    """Once every input is found: drop the skipped rows of subtitle files that a video found takes
    (``DJI_0001.SRT``, a drone's flight log, copied beside its output), and add one note naming the XMP sidecars
    walks and patterns passed over that name no picture in their folder.

    Why: passed over without a word, a sidecar spelt unlike its photo was neither copied nor mentioned (it used to
    be a skipped row). A sidecar counts as matched when a picture in its folder has its name or stem
    (:func:`_names_a_picture`), whether or not this run takes that picture: one skipped as done, another shard's,
    a raw's, one that failed at planning (a FIFO), or one a quoted pattern of sidecars did not match. The note is
    for the sidecars of nothing: a deleted photo's, or one named unlike its photo."""
    found = expander.found
    if not expander.sidecars and not expander.subtitles:
        return
    key = os.path.abspath
    if expander.subtitles:
        claimed = {
            key(p)
            for f in found.files
            if is_video_path(f.path) and f.content is None
            for p in claimed_by(f.path, video=True)
        }
        taken = {record for path, record in expander.subtitles if key(path) in claimed}
        if taken:
            found.skipped = [r for r in found.skipped if r not in taken]
    left = [p for p in dict.fromkeys(expander.sidecars) if not _names_a_picture(p)]
    if left:
        found.notes.append(_unmatched_note(left))


def _names_a_picture(sidecar: Path) -> bool:
    """Whether a picture in ``sidecar``'s folder (:func:`~weatherclean.io.sidecars.is_picture_name`) takes it, or a
    raw (or another picture this tool does not read) it belongs to: ``IMG_0001.JPG.xmp`` by its full name;
    ``IMG_0001.xmp`` by its stem when one picture has that stem, or a raw does (it is the raw's: Lightroom keeps a
    JPEG's own in the JPEG). Not when two pictures it could both be (``IMG_0001.JPG`` and ``IMG_0001.png``) share
    the stem: it goes to neither, so the note names it. Case and Unicode form ignored; looked up in the folder's
    listing by key, not by walking it (5,000 sidecars in a folder of 10,000 names took three minutes to plan)."""
    base = sidecar.name[: -len(sidecar.suffix)]
    if any(is_picture_name(n) for n in names_in(sidecar.parent).get(name_key(base), ())):
        return True
    sharing = [n for n in names_with_stem(sidecar.parent, base) if is_picture_name(n)]
    return len(sharing) == 1 or any(not (is_image_path(Path(n)) or is_video_path(Path(n))) for n in sharing)


#: How many unmatched sidecars the note names before "…".
_NAMED = 5


def _unmatched_note(left: list[Path]) -> Record:
    """The one note of the XMP sidecars ``left`` (no photo or video found takes them), about their common folder."""
    try:
        common = Path(os.path.commonpath([os.fspath(p.parent) for p in left]))
    except ValueError:  # absolute and relative paths mixed: about the first one's folder
        common = left[0].parent
    names = [os.path.relpath(p, common) for p in left[:_NAMED]] + (["…"] if len(left) > _NAMED else [])
    n = len(left)
    what = f"{n} XMP sidecar{'s' if n > 1 else ''} matched no photo or video and {'were' if n > 1 else 'was'}"
    return Record(
        display(common),
        f"{what} not copied: {', '.join(names)} (a deleted photo's, a darktable duplicate's, or one named unlike its "
        "photo: name it IMG.JPG.xmp or IMG.xmp after its photo)",
    )


def _video_skip_reason(path: Path, kind: str) -> str:
    """Why a video is skipped: a plan for photos only (:func:`~weatherclean.batch.plan.plan_jobs`), or a video
    without a file ending, whose output container nothing names."""
    if "video" not in kind:
        return "a video; this plan takes photos only (plan_media plans videos)"
    return nameless_video_reason(path.name)


def nameless_video_reason(name: str) -> str:
    """The skip reason of a video named ``name`` without a file ending (``scan``, found a video by its content):
    the output's container is picked by its ending. Public so that the summary folds these by the same words
    (:mod:`weatherclean.batch.report`), each naming its own file."""
    return f"a video without a file ending; rename it (e.g. {name}.mp4) to process it"


def _kind_by_name(path: Path) -> str:
    """What a name promises, for "a folder, not ...": a video file (``clip.mp4``) or an image file."""
    return "a video file" if is_video_path(path) else "an image file"


def _in_output_tree(match: Path, base_parts: int, out_root: Path | None, tag: str) -> bool:
    """Whether a glob match lies in an output folder, so that re-running a pattern never reads earlier
    outputs: the folder walk's rule applied to the folders the wildcards matched (not to the
    pattern's literal prefix, which the user typed), or under the ``-o`` root when that root lies
    below the literal prefix."""
    parts = match.parts[base_parts:] if safe_is_dir(match) else match.parts[base_parts:-1]
    if any(is_output_folder(d, tag) for d in parts):
        return True
    if out_root is None:
        return False
    base = real_path(Path(*match.parts[:base_parts])) if base_parts else Path.cwd()
    return not under(base, out_root) and under(real_path(match), out_root)


#: A pattern part that matches any number of folders, when it is a whole part (``a/**/*.jpg``; ``a**`` is ``a*``).
_ANY_DEPTH = "**"


def _pattern_matches(pattern: str, tag: str, skip_dirs: frozenset[Path] | set[Path] = frozenset()) -> list[str]:
    """The paths a quoted glob ``pattern`` matches, as ``glob.glob(pattern, recursive=True)`` names them, unsorted,
    less the links to folders that lead into or above the pattern's literal folder (:func:`_link_into_new_tree`).

    A pattern with a ``**`` part is matched by :func:`_walk_pattern`, which walks as a folder given is walked;
    others (``trip/*.jpg``: one listing per part, no walk) are left to ``glob``. Why: ``glob``'s ``**`` follows
    every link to a folder, and ``'small/**/*.jpg'`` with a link ``small/a/up -> ..`` went round it until the
    system said "too many links" (40 times): ``small/a/up/a/up/.../x.jpg`` was planned, and written 40 folders
    deep; over a 20,000-photo tree with such a loop, planning took 11 times as long, 5 times the memory, and the
    loop's one broken link failed 41 times under as many names. A folder a pattern matches is walked whole
    (:meth:`_Expander.folder`): ``'small/*'`` matching a link ``small/root -> ..`` walked, and with ``--in-place``
    rewrote, the photos beside ``small``."""
    parts = Path(pattern).parts
    if not _walked(parts):
        return _links_kept(glob.glob(pattern, recursive=True), parts)
    return _walk_pattern(parts, tag, skip_dirs, folders_only=pattern.endswith(("/", os.sep)))


def _walked(parts: tuple[str, ...]) -> bool:
    """Whether the pattern of ``parts`` is matched by :func:`_walk_pattern`: one with a ``**`` part and no ``..``
    after its literal start (``'../small/**/*.jpg'`` is walked from ``../small``; a ``..`` after a wildcard is rare,
    and left to ``glob``'s own rules)."""
    return _ANY_DEPTH in parts and ".." not in parts[literal_prefix(parts) :]


def _links_kept(matches: list[str], parts: tuple[str, ...]) -> list[str]:
    """``glob``'s ``matches`` less the links to folders that lead into or above the pattern's literal folder, or into
    a tree another match led to (:func:`_link_into_new_tree`), as a folder walk leaves them out. Only folders are
    looked at twice: a file's ``lstat`` is all a match costs."""
    first = literal_prefix(parts)
    trees: list[Path] | None = None
    kept = []
    for m in matches:
        path = Path(m)
        if is_link(path) and safe_is_dir(path):
            if trees is None:
                trees = [real_path(Path(*parts[:first]) if first else Path("."))]
            if not _link_into_new_tree(path, trees):
                continue
        kept.append(m)
    return kept


def _fewest_links(matches: list[str], first: int) -> list[str]:
    """``glob``'s ``matches`` with each file reached by several of them once, under the path that goes through the
    fewest linked folders below the pattern's literal start (``first`` parts), and of those the first.

    Why: ``'t/*/*.jpg'`` over ``t/a/x.jpg`` and ``t/0sel`` (a link to ``a``) matched ``t/0sel/x.jpg`` first, which
    took the file's place in the mirrored tree (``out/0sel/x.jpg``). Only within one pattern: a file reached by two
    inputs is done under the first (:func:`~weatherclean.batch.collisions.one_path_per_file`), as it always was, so
    that a rerun writes where the last run did. A file that is a link itself is left to the planner, which notes
    it. Only the matches' folders are looked at, once each: without a linked one among them, nothing more is."""
    folders: dict[Path, int] = {}
    for m in matches:
        parent = Path(m).parent
        if parent not in folders:
            folders[parent] = sum(is_link(Path(*parent.parts[:i])) for i in range(first + 1, len(parent.parts) + 1))
    if not any(folders.values()):
        return matches
    real = {folder: real_path(folder) for folder in folders}
    best: dict[Path, tuple[int, str]] = {}
    for m in matches:
        path = Path(m)
        key = real[path.parent] / path.name
        if key not in best or folders[path.parent] < best[key][0]:
            best[key] = (folders[path.parent], m)
    kept = {m for _, m in best.values()}
    return [m for m in matches if m in kept]


def _walk_pattern(
    parts: tuple[str, ...], tag: str, skip_dirs: frozenset[Path] | set[Path], *, folders_only: bool = False
) -> list[str]:
    """What the pattern of ``parts`` (one holding ``**``) matches below its literal folder, found by walking that
    folder by the rules of :func:`_walk`: a link to a folder above it or inside it (one walked under its own name)
    is neither entered nor matched, nor is an output folder (``TAG``, ``*_TAG``, the ``-o`` folder in
    ``skip_dirs``): no match needs :func:`_in_output_tree`, whose look at each match's real path doubled the time.
    Names are matched part by part as ``glob`` matches them (``**`` any number of folders, none hidden; a name
    starting with ``.`` only by a part that does too).

    A file matches only where the pattern's last part takes its name (a ``**`` last takes any): ``'lib/*/**'`` takes
    the folders in ``lib`` and everything below them, not ``lib/top.jpg``, which ``*`` takes but whose ``**`` would
    have to match no folder at all after a file. (Taken, an ``--in-place`` run replaced photos the user left out.)

    A folder that matches is not entered: it is walked whole as an input (:meth:`_Expander.folder`), which finds
    everything below it, and listing it here too walked a tree once per level of it (``'lib/**'``)."""
    first = literal_prefix(parts)
    base, rest = (Path(*parts[:first]) if first else None), parts[first:]
    top = base if base is not None else Path(".")
    if not safe_is_dir(top):
        return []
    states = _closure({0}, rest)
    if base is not None and len(rest) in states:  # 'lib/**' matches lib itself
        return [str(base)]
    matches: list[str] = []
    trees = [real_path(top)]

    def visit(folder: Path | None, states: frozenset[int]) -> None:
        try:
            with os.scandir(folder if folder is not None else ".") as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:  # a folder that cannot be listed: glob passed over it too (a folder walk reports it)
            return
        below: list[tuple[Path, frozenset[int]]] = []
        for entry in entries:
            path = Path(entry.name) if folder is None else folder / entry.name
            if not _or_false(entry.is_dir):  # a file, a broken link, a FIFO: matched as glob matches them
                if not folders_only and _takes_file(states, rest, entry.name):
                    matches.append(str(path))
                continue
            after = _step(states, rest, entry.name)
            if not after or not _may_enter(path, entry.name, tag, skip_dirs, trees):
                continue
            if len(rest) in after:
                matches.append(str(path))
            else:
                below.append((path, after))
        for path, after in below:  # each listing's links claimed before going down, as os.walk does in _walk
            visit(path, after)

    visit(base, states)
    return matches


def _takes_file(states: frozenset[int], rest: tuple[str, ...], name: str) -> bool:
    """Whether a file named ``name``, reached with ``states``, matches: only the last of the parts ``rest`` may take
    it, as ``glob`` lists files for the last part alone (a part before it matches folders only)."""
    last = len(rest) - 1
    if last not in states:
        return False
    hidden = name.startswith(".")
    if rest[last] == _ANY_DEPTH:
        return not hidden
    return (not hidden or rest[last].startswith(".")) and fnmatch.fnmatch(name, rest[last])


def _closure(states: Iterable[int], rest: tuple[str, ...]) -> frozenset[int]:
    """``states`` (how many of the parts ``rest`` are matched) with those a ``**`` lets match no folder at all."""
    out = set(states)
    for i in sorted(out):
        while i < len(rest) and rest[i] == _ANY_DEPTH:
            i += 1
            out.add(i)
    return frozenset(out)


def _step(states: frozenset[int], rest: tuple[str, ...], name: str) -> frozenset[int]:
    """The states after one more name: a ``**`` takes any name that is not hidden and stays; another part takes a
    name it matches (a hidden one only when the part starts with ``.``, as in ``glob``)."""
    hidden = name.startswith(".")
    after: set[int] = set()
    for i in states:
        if i == len(rest):
            continue
        part = rest[i]
        if part == _ANY_DEPTH:
            if not hidden:
                after.add(i)
        elif (not hidden or part.startswith(".")) and fnmatch.fnmatch(name, part):
            after.add(i + 1)
    return _closure(after, rest) if after else frozenset()


def _may_enter(path: Path, name: str, tag: str, skip_dirs: frozenset[Path] | set[Path], trees: list[Path]) -> bool:
    """Whether a walk goes down into the folder ``path`` (:func:`_walk`'s), or a pattern's walk matches it: not an
    output folder nor one to skip, and a link only into a tree not walked yet (which it then claims)."""
    if is_output_folder(name, tag) or (skip_dirs and real_path(path) in skip_dirs):
        return False
    return not is_link(path) or _link_into_new_tree(path, trees)


def _walk(
    folder: Path,
    skip_dirs: set[Path],
    tag: str,
    *,
    named_like_file: Callable[[Path], bool] | None = None,
    misnamed: list[Path] | None = None,
    unreadable: list[tuple[Path, str]] | None = None,
) -> Iterable[Path]:
    """All files under ``folder`` (sorted, no hidden files), not descending into output folders.

    Symbolic links to folders outside the tree are followed (a year's photos kept on another disk and
    linked in were left out without a word). A link to a folder inside the tree is not (that folder is
    walked under its own name), nor one to a folder above it, which would walk, and with ``--in-place``
    rewrite, photos outside the folder the user gave, or loop: a link to ``~`` must not mean the home folder.

    Sub-folders that ``named_like_file`` says are named like an input (``x.jpg``, ``clip.mp4``) and that
    hold no file are appended to ``misnamed``: nothing else would show them, and a user who sees
    ``x.jpg`` in a file manager expects it to be a photo.

    A folder that cannot be listed (no read permission: another user's folder on a NAS; a path longer than the
    system takes) is appended to ``unreadable`` with the reason: ``os.walk`` passes over it without a word, and the
    run said it had done everything.
    """
    trees = [real_path(folder)]  # the walk's own tree, then each linked-in one: walked once each

    def refused(exc: OSError) -> None:
        if unreadable is not None:
            where = Path(exc.filename or folder)
            why = (exc.strerror or str(exc)).lower()
            if exc.errno == errno.ENAMETOOLONG:  # permissions have nothing to do with it
                why = too_long(where)
            else:
                why += "; this folder's files cannot be listed (check its permissions)"
            unreadable.append((where, why))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=refused):
        root_path = Path(root)
        visible = (d for d in sorted(dirs) if not d.startswith("."))
        dirs[:] = [d for d in visible if _may_enter(root_path / d, d, tag, skip_dirs, trees)]
        if named_like_file is not None and misnamed is not None:
            for d in dirs:
                sub = root_path / d
                unlisted: list[tuple[Path, str]] = []  # a folder that cannot be listed is reported as that
                empty = (
                    named_like_file(sub) and next(iter(_walk(sub, skip_dirs, tag, unreadable=unlisted)), None) is None
                )
                if empty and not unlisted:
                    misnamed.append(sub)
        for name in sorted(files):
            if not name.startswith(".") and not _ours(name):
                yield root_path / name


def unreachable(exc: OSError, path: Path | None = None) -> str:
    """The one-line reason of an input that cannot even be looked at (``stat`` fails): for "permission denied", a
    folder above it that cannot be entered (``chmod 600``, another user's folder on a NAS); for a path longer than
    the system takes (``path``, as given), which limit it passes.

    Why: Python 3.11's ``Path.is_dir`` raises on that error, and the whole batch ended in a traceback."""
    why = (exc.strerror or str(exc)).lower()
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{why} (a folder above it cannot be entered; check its permissions)"
    if exc.errno == errno.ENAMETOOLONG and path is not None:
        return too_long(path)
    return f"cannot be looked at ({why})"


def safe_is_dir(path: Path) -> bool:
    """``path.is_dir()``, False where it cannot be looked at (see :func:`unreachable`): such a path then fails
    alone, with its reason, when it is read."""
    return _or_false(path.is_dir)


def safe_is_file(path: Path) -> bool:
    """``path.is_file()``, False where it cannot be looked at (see :func:`unreachable`): :func:`expand_inputs`
    then says why, as it does for any input it cannot look at."""
    return _or_false(path.is_file)


def is_link(path: Path) -> bool:
    """Whether ``path`` is a symbolic link; False where its folder may be listed but not entered (read
    permission without execute: ``chmod -R 644``), which made ``is_symlink`` raise and the whole batch end
    in a traceback. Such a file then fails alone when it is read, with "permission denied"."""
    return _or_false(path.is_symlink)


def _or_false(test: Callable[[], bool]) -> bool:
    """``test()``, or False where the path cannot be looked at (the ``OSError`` Python 3.11 raises for it)."""
    try:
        return test()
    except OSError:
        return False


def _link_into_new_tree(link: Path, trees: list[Path]) -> bool:
    """Whether the linked folder ``link`` leads to a tree of its own, not inside or above one already
    walked (and note it): only such a link brings photos the walk would not otherwise see."""
    real = real_path(link)
    if any(under(real, tree) or under(tree, real) for tree in trees):
        return False
    trees.append(real)
    return True


def _blocks(info: os.stat_result | None, problem: str) -> bool:
    """Whether an input's ``problem`` (:func:`~weatherclean.io.folders.input_problem`) fails it whatever its output:
    a FIFO, socket or device (reading it would hang, or read a stream) or a symbolic link loop (which ended the batch
    in a traceback). Not an empty file or a broken link: after a complete run, an input emptied or a link to an
    unmounted disk was skipped as done, and a nightly rerun must not start failing for it; those fail only when
    their job would run."""
    return problem == LINK_LOOP or (info is not None and not stat.S_ISREG(info.st_mode))


def _photo_inside(path: Path) -> str | None:
    """The image format (``"JPEG"``) of a file named like a video that holds a photo the commands read, from its
    first bytes; None for a video or anything else (its reader says what is wrong).

    Why: the name decided, and ``--in-place`` turned a JPEG saved as ``photo.mp4`` into a one-frame H.264 video,
    its EXIF lost, without a word. A photo named like a photo is not so read (thousands of them, on a network
    disk, would make planning slow): one that holds a video fails when it is read, saying so."""
    from weatherclean.io.images.formats import SUPPORTED_FORMATS
    from weatherclean.io.media import sniff

    found = sniff(path)
    return found if found in SUPPORTED_FORMATS else None


def files_under(folder: Path, *, accept: Callable[[Path], bool], tag: str) -> list[Path]:
    """The files a walk of ``folder`` takes as inputs (those ``accept`` takes), in the walk's order: what a run
    over ``folder`` would read."""
    return [path for path in _walk(folder, set(), tag) if accept(path)]


def _holds_ours(folder: Path, tag: str) -> bool:
    """Whether ``folder`` (in which the walk found nothing to do) holds files of ours (:func:`_ours`) or an output
    folder (``TAG``, ``*_TAG``: results of earlier runs too). Output folders and hidden ones are not entered: they
    may hold thousands of files, and looking through them all took as long as the walk itself."""
    for _root, dirs, files in os.walk(folder):
        if any(is_output_folder(d, tag) for d in dirs) or any(_ours(name) for name in files):
            return True
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return False


def _ours(name: str) -> bool:
    """Whether a file name marks something weatherclean wrote beside its outputs, never an input:
    a ``--compare`` picture (``*.compare.jpg``) or a video that decoded in part (``*.partial.mp4``)."""
    return name.lower().endswith(COMPARE_SUFFIX) or is_partial_path(Path(name))
