"""How the dataset finders pair files, shared by :mod:`weatherclean.data.snow` and :mod:`weatherclean.data.rain`.

A benchmark is only as trustworthy as its pairing: every rule here picks by name, says in a note what it had to
decide, and keeps row names unique, so that ``evaluate`` never scores a picture against another's ground truth or
pools two sets under one name without a word. This module imports nothing from the finders (no import cycle).
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from weatherclean.errors import DatasetError
from weatherclean.io.folders import nfc
from weatherclean.io.media import JPEG_SUFFIXES, is_visible_image

__all__ = [
    "LOSSY_SUFFIXES",
    "PICK_RULE",
    "SPLIT_FOLDERS",
    "Inventory",
    "Notes",
    "PairingLog",
    "Spellings",
    "StemGroups",
    "Unpaired",
    "add_note",
    "ambiguous_spelling",
    "group_names",
    "note_respelled",
    "note_training_sets",
    "one_kind",
    "readable",
    "refuse_unreadable",
    "images_by_stem",
    "lossy",
    "pick_input",
    "pick_partner",
    "pictures_in",
    "preferred",
    "spelled",
    "split_folder",
    "unpaired",
]

#: Folder names that mean a split, whatever the dataset: how RainSyn, NTURain and CSD name theirs.
SPLIT_FOLDERS = {"train": "train", "training": "train", "test": "test", "testing": "test", "val": "val"}

#: Where a dataset finder records inputs without ground truth, as (input, reason), instead of raising.
Unpaired = list[tuple[Path, str]]
#: Where a dataset finder records what the user should know about how it paired files (None: nobody asks).
Notes = list[str]


@dataclass
class Inventory:
    """Every input a finder saw, before a split or a limit was applied: what ``evaluate --outputs`` needs to know
    whether an input's name alone can find its output (it cannot where another input of the dataset, scored now
    or not, has that name, or where the dataset holds several sets)."""

    #: Each input's name in its folder, as :class:`~weatherclean.evaluation.OutputFiles` looks it up: ``x`` for a
    #: picture, ``CLIP/00001`` for a clip frame.
    keys: list[str] = field(default_factory=list)
    #: The dataset holds more than one set (source folder): a name may then be another set's.
    many: bool = False


def unpaired(sink: Unpaired | None, path: Path, reason: str) -> None:
    """An input without its ground truth: :class:`DatasetError` for training, which needs every pair, or
    a row in ``sink`` for ``evaluate``, which scores the others and reports it (exit code 1)."""
    if sink is None:
        raise DatasetError(f"{path}: {reason}")
    sink.append((path, reason))


def add_note(sink: Notes | None, text: str) -> None:
    """Record a note once (training passes no sink: it pairs the same way, silently)."""
    if sink is not None and text not in sink:
        sink.append(text)


def refuse_unreadable(error: OSError) -> None:
    """``os.walk``'s ``onerror``: a folder of the dataset that cannot be listed is refused, not skipped. Left to
    itself ``os.walk`` skips it without a word, and a set missing from the data would train or score as if the
    dataset were whole (exit 0)."""
    raise DatasetError(_unreadable(error)) from None


def _unreadable(error: OSError) -> str:
    reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or type(error).__name__)
    return f"{error.filename}: cannot be read ({reason}); make it readable, or move it out of --dataset"


@contextmanager
def readable() -> Iterator[None]:
    """Turns an ``OSError`` met while a finder lists the dataset's folders (an unreadable ``gt/``) into a one-line
    :class:`DatasetError` naming the folder, instead of a traceback."""
    try:
        yield
    except OSError as error:
        raise DatasetError(_unreadable(error)) from None


def one_kind(root: Path, kinds: dict[str, list[Path]]) -> None:
    """Refuse a ``--dataset`` that holds more than one kind of dataset (RainSyn and paired pictures, Snow100K and
    CSD). A finder reads one kind, so the others would be left out without a word (an NTURain root with a
    Rain100L copy trained on the stills alone), or a test set read into training; which one was meant only the
    user knows. ``kinds`` maps each kind's name to the folders found of it."""
    found = {kind: folders for kind, folders in kinds.items() if folders}
    if len(found) > 1:
        said = "; ".join(f"{kind} in {folders[0]}" for kind, folders in found.items())
        raise DatasetError(f"{root}: holds more than one kind of dataset ({said}); point --dataset at one of them")


def note_training_sets(notes: Notes | None, root: Path, groups: Sequence[str | None], tests: Sequence[Path]) -> None:
    """What ``train --dataset`` is about to train on, in ``notes``: the sets found when there are several (a set
    the user did not know was there, ``samples/rain-1.png`` beside ``rain/`` + ``gt/``, is trained on too), and
    the inputs under a test split (``tests``). Neither is refused (it may be meant), but neither is silent."""
    counts = Counter(groups)
    if len(counts) > 1:
        sets = ", ".join(f"{group} ({n})" for group, n in counts.items())
        add_note(notes, f"{root}: training on {len(counts)} sets (inputs per set): {sets}")
    if tests:
        add_note(
            notes,
            f"{root}: training on a test split too ({len(tests)} input(s), e.g. {tests[0]}); if that is not meant, "
            "point --dataset at the training set",
        )


def pictures_in(folder: Path) -> list[Path]:
    """The pictures directly inside ``folder`` (hidden files and other files left out), in name order."""
    return sorted((p for p in folder.iterdir() if is_visible_image(p)), key=lambda p: p.name)


class Spellings:
    """Names by their NFC form (:func:`~weatherclean.io.folders.nfc`), after ``fold`` (``str.lower`` where names
    already match without regard to case), to find a partner whose name is written in another Unicode normalisation.

    Why: a dataset copied through macOS may hold ``café.png`` with ``e`` + a combining accent (NFD) on one side and
    with ``é`` (NFC) on the other; the two look identical but are different names, so the picture had "no ground
    truth 'café.*'". A partner is looked up here only after the exact name (as the caller matches it) found none, so
    an exact match always wins, and a name that two partners share in their NFC form pairs with neither (which one
    is meant, only the names could say)."""

    def __init__(self, names: Iterable[str], fold: Callable[[str], str] | None = None) -> None:
        self._fold = fold
        self._by: dict[str, list[str]] = {}
        for name in names:  # unique names, as every caller gives (folder listings, dict keys)
            self._by.setdefault(self._key(name), []).append(name)

    def _key(self, name: str) -> str:
        return self._fold(nfc(name)) if self._fold is not None else nfc(name)

    def find(self, name: str) -> tuple[str | None, list[str]]:
        """The one other name that reads as ``name`` in NFC, and ``[]``; or None and the names that do, where there
        are several (ambiguous: the caller pairs none, :func:`ambiguous_spelling` says why), or none."""
        others = [other for other in self._by.get(self._key(name), []) if other != name]
        return (others[0], []) if len(others) == 1 else (None, others)


class StemGroups(dict[str, list[Path]]):
    """:func:`images_by_stem`'s groups of pictures by exact stem, which can also find a stem written in another
    Unicode normalisation (:meth:`respelled`)."""

    def __init__(self) -> None:
        super().__init__()
        self._spellings: dict[Callable[[str], str] | None, Spellings] = {}

    def respelled(
        self, stem: str, fold: Callable[[str], str] | None = None, taken: Container[str] = ()
    ) -> tuple[list[Path] | None, str | None]:
        """The group whose stem is ``stem`` in another Unicode normalisation (:class:`Spellings`), for a stem the
        caller found no group of: (that group, None); (None, why) where several groups' stems are (none is used),
        or where the one is in ``taken``, the stems another input has as its own exact name (two inputs that look
        the same would both be scored against it); (None, None) where none is. The index is made on the first
        look (one listing per folder, not per stem)."""
        if fold not in self._spellings:
            self._spellings[fold] = Spellings(self, fold)
        found, rivals = self._spellings[fold].find(stem)
        if found is not None and found in taken:
            names = ", ".join(spelled(p.name) for p in self[found])
            return None, (
                f"{names} there has its name in another Unicode normalisation, but is the ground truth of another "
                "input, whose name matches it as it is; rename one of the two inputs, or remove the one that is a copy"
            )
        if found is not None:
            return self[found], None
        if rivals:
            return None, ambiguous_spelling([p.name for rival in rivals for p in self[rival]])
        return None, None


def spelled(name: str) -> str:
    """``name`` with the Unicode normalisation it is written in, ``café.png (NFD)``: two such names look identical,
    and a line naming both must tell them apart."""
    if unicodedata.is_normalized("NFC", name):
        return f"{name} (NFC)"
    return f"{name} (NFD)" if unicodedata.is_normalized("NFD", name) else f"{name} (neither NFC nor NFD)"


def ambiguous_spelling(names: Sequence[str], what: str = "files") -> str:
    """Why a picture (or clip) is left without its partner where several ``names`` (``what``: files, folders) are
    its name written in other Unicode normalisations: which they are, and what to do."""
    listed = ", ".join(spelled(name) for name in names)
    return (
        f"{len(names)} {what} there have its name written in other Unicode normalisations ({listed}), so none is "
        "used; rename the right one to match its name exactly"
    )


def note_respelled(
    notes: Notes | None, folder: Path, paired: Sequence[tuple[Path, Path]], what: str = "picture(s)"
) -> None:
    """One note for the pictures (or clips: ``what``) paired with a ground truth in ``folder`` whose name is
    written in another Unicode normalisation (``paired``: (input, ground truth)), the first as example: each such
    pair is a decision that the exact names did not make, so it is said, not taken silently."""
    if paired:
        picture, partner = paired[0]
        add_note(
            notes,
            f"{folder}: paired {len(paired)} {what} with a ground truth whose name is written in another Unicode "
            f"normalisation (as a copy through macOS may leave it), e.g. {spelled(picture.name)} with "
            f"{spelled(partner.name)}",
        )


def images_by_stem(pictures: Iterable[Path]) -> StemGroups:
    """``pictures`` grouped by file stem, each group in name order.

    A group of two (``x.png`` and ``x.jpg``) is a name that pairs ambiguously: the callers pick one with
    :func:`pick_partner` or :func:`pick_input` and say which in a note, instead of keeping whichever file
    the folder listed first without a word. A stem not found as it is may be found in another Unicode
    normalisation (:meth:`StemGroups.respelled`)."""
    found = StemGroups()
    for entry in sorted(pictures, key=lambda p: p.name):
        found.setdefault(entry.stem, []).append(entry)
    return found


#: Picture types that may lose detail when written; a WebP is one unless its bitstream is lossless (VP8L).
LOSSY_SUFFIXES: frozenset[str] = JPEG_SUFFIXES | frozenset({".mpo", ".heic", ".heif", ".avif", ".webp"})
#: How one of several files sharing a name is chosen (:func:`preferred`), for inputs, ground truths, masks and
#: outputs alike, as the notes say.
PICK_RULE = (
    "a lossless type (PNG, TIFF, BMP, lossless WebP...) before a lossy one (JPEG, lossy WebP, HEIF, AVIF), then "
    "the one of its partner's type, then the first by name"
)


class PairingLog(list[str]):
    """Notes (a :data:`Notes` sink) that also keep what :func:`pick_input` left out, for ``evaluate``: every input
    left out for another file of its name (``left_out``: one name, scored once), and of those, the ones of the same
    rank as the file used (``unscored``, as (input, reason): ``x.png`` beside ``x.tif`` may be two different
    pictures, so one pair could not be scored, exit code 1). Training passes a plain list, or nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.left_out: list[Path] = []
        self.unscored: Unpaired = []


def lossy(path: Path) -> bool:
    """Whether ``path``'s type may have lost detail: a lossy copy's own artefacts would be scored (or trained on)
    as if they were the picture's."""
    from weatherclean.io.images.load import webp_lossless  # with Pillow, only where a name is shared

    if path.suffix.lower() != ".webp":
        return path.suffix.lower() in LOSSY_SUFFIXES
    try:
        return not webp_lossless(path)
    except OSError:  # unreadable: the reader says why if it is the one used
        return True


def preferred(group: Sequence[Path], like: Path | None = None) -> Path:
    """The file of ``group`` (files sharing one name) to use, by :data:`PICK_RULE`, ``like`` being its partner
    (the input of a ground truth, mask or output). Why not the first by name: ``x.jpg`` sorts before ``x.png``, so
    the JPEG copy of a pair was used and the lossless one left out."""
    if len(group) == 1:
        return group[0]
    same = like.suffix.lower() if like is not None else None
    return min(group, key=lambda p: (lossy(p), same is not None and p.suffix.lower() != same, p.name))


def pick_input(group: list[Path], notes: Notes | None) -> Path:
    """One input of a stem that several files share (``x.jpg``, ``x.png``), by :data:`PICK_RULE`; the others are
    named in a note as left out, since both would be scored under the one name ``x``, and kept in a
    :class:`PairingLog` given as ``notes``."""
    if len(group) == 1:
        return group[0]
    chosen = preferred(group)
    left = [p for p in group if p != chosen]
    add_note(
        notes,
        f"{chosen.parent}: {len(group)} pictures are named '{chosen.stem}' ({', '.join(p.name for p in group)}); "
        f"used {chosen.name} and left out {', '.join(p.name for p in left)} (of files sharing a name: {PICK_RULE}); "
        "rename one to use both",
    )
    if isinstance(notes, PairingLog) and left[0] not in notes.left_out:  # once, if a finder looks twice
        notes.left_out += left
        rank = lossy(chosen)  # a .webp's is read from its header
        notes.unscored += [
            (p, f"shares its name with {chosen.name}, which was scored in its place ({PICK_RULE}); rename one to "
             "score both")
            for p in left
            if lossy(p) == rank
        ]  # fmt: skip
    return chosen


def pick_partner(group: list[Path], partner: Path, notes: Notes | None, role: str = "ground truth") -> Path:
    """The ground truth (or other ``role``) of ``partner`` among files sharing one stem, by :data:`PICK_RULE`; a
    note names the stem, the file used and those left out."""
    if len(group) == 1:
        return group[0]
    chosen = preferred(group, partner)
    add_note(
        notes,
        f"{chosen.parent}: {len(group)} pictures are named '{chosen.stem}' ({', '.join(p.name for p in group)}); "
        f"used {chosen.name} as the {role} of {partner} and left out "
        f"{', '.join(p.name for p in group if p != chosen)} (of files sharing a name: {PICK_RULE})",
    )
    return chosen


def _own_name(root: Path) -> str:
    """``root``'s own folder name, also for ``.`` or ``..`` (made absolute without following links, so a link
    named ``test`` still counts as ``test``)."""
    return Path(os.path.abspath(root)).name


def split_folder(path: Path, root: Path) -> str | None:
    """The split (``train``, ``test``, ``val``) ``path`` belongs to: the nearest folder of such a name, from the
    dataset ``root``'s own name down to ``path``.

    Folders above the root say nothing about the dataset: a set kept in ``/home/test/data`` is not a test split,
    and ``--split test`` must not pick it for its owner's name."""
    below = path.relative_to(root).parts if path.is_relative_to(root) else ()
    for part in reversed((_own_name(root), *below)):
        if part.lower() in SPLIT_FOLDERS:
            return SPLIT_FOLDERS[part.lower()]
    return None


def _relative_parts(folder: Path, root: Path) -> tuple[str, ...]:
    return folder.relative_to(root).parts if folder.is_relative_to(root) and folder != root else ()


def group_names(folders: Sequence[Path], root: Path, label: Callable[[Path], str | None]) -> dict[Path, str | None]:
    """A row-name prefix per source folder of one dataset, so that names stay unique across its sets.

    One folder needs none (None). Otherwise each folder's ``label`` is used (``heavy_test`` for RainSyn, a
    Snow100K split's folder name) where no other folder has it; where several share it (Restormer's
    ``test/{Rain100H,Rain100L,Test100}`` are all ``test``), the folder's path below ``root`` is added, without the
    parts the label already says (``test_Rain100H``). Decided over every folder found, before any split is
    picked, so a row keeps its name whichever part of the dataset is scored."""
    if len(folders) < 2:
        return {folder: None for folder in folders}
    labels = {folder: label(folder) or "" for folder in folders}
    counts = Counter(labels.values())

    def by_path(folder: Path) -> str:
        said = {word.lower() for word in labels[folder].split("_") if word}
        parts = [p for p in _relative_parts(folder, root) if SPLIT_FOLDERS.get(p.lower(), p.lower()) not in said]
        words = [labels[folder], *parts] if labels[folder] else parts
        return "_".join(words) if words else _own_name(folder)

    names = {f: labels[f] if labels[f] and counts[labels[f]] == 1 else by_path(f) for f in folders}
    if len(set(names.values())) < len(names):  # a label equal to another's path: every folder by its whole path
        names = {f: "_".join(_relative_parts(f, root)) or _own_name(f) for f in folders}
    return names
