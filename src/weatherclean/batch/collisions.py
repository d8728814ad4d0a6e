"""Which outputs a batch cannot write as planned: an output that is an input, or that two inputs would share,
also where their paths differ only in case (one file on macOS, Windows and exFAT disks), with the reason that
holds and what to do; and which path each real file is done under when it is reached twice (a link beside it).
Split from :mod:`weatherclean.batch.plan`, which asks here for every output it places.
"""

from __future__ import annotations

import os
from pathlib import Path

from weatherclean.batch.inputs import is_link, real_path
from weatherclean.batch.jobs import display, job_kind
from weatherclean.batch.outputs import WRITTEN_AS

__all__ = ["CLASH_NAMED", "case_folded", "clash_message", "collision_reason", "one_path_per_file", "real_paths"]


def real_paths(paths: list[Path]) -> dict[Path, Path]:
    """Each path → the real file it names. Each folder is resolved once, and a file is looked at only to
    see whether it is a link itself: resolving 20,000 photos one by one took as long as the rest of the
    planning, and more on a network file system."""
    folders: dict[Path, Path] = {}
    real: dict[Path, Path] = {}
    for path in paths:
        if is_link(path):
            real[path] = real_path(path)  # never raises: a link loop fails alone when found (expand_inputs)
            continue
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = real_path(path.parent)
        real[path] = folder / path.name
    return real


def one_path_per_file(paths: list[Path], resolved: dict[Path, Path]) -> dict[Path, Path]:
    """Each real file → the path it is done under: the first reached, unless a later one is the file itself rather
    than a symbolic link to it (an album cover linked to a photo must not take the photo's place in the mirrored
    tree).

    Not the path through the fewest linked folders: across inputs (``desnow plink photos/sub -o out``, ``plink`` a
    link to ``photos``) that moved outputs from ``out/sub/x.jpg`` to ``out/x.jpg``, and a rerun after an upgrade
    redid the work in the new place. Within one input the walks reach no file twice through a linked folder, and a
    pattern keeps the path with the fewest (:func:`weatherclean.batch.inputs.expand_inputs`)."""
    chosen: dict[Path, Path] = {}
    for src in paths:
        real = resolved[src]
        if real not in chosen or (is_link(chosen[real]) and not is_link(src)):
            chosen[real] = src
    return chosen


def case_folded(path: Path) -> str:
    """``path`` as a file system that ignores case sees it (macOS, Windows, exFAT and FAT cards): two outputs whose
    names differ only in case (``IMG_1001.jpg``, ``IMG_1001.JPG``) are one file there, so one would replace or be
    skipped as the other. Outputs are compared so on every system: a batch is often copied to such a disk."""
    return os.path.normcase(path).casefold()


#: Why outputs whose paths differ only in case clash, in the words of every message that says so.
_ONE_FILE_ON_CASELESS = "paths that differ only in case, one file on macOS, Windows and exFAT disks"


def collision_reason(
    src: Path, real: Path, dest: Path, all_sources: set[Path], by_output: dict[str, list[tuple[Path, Path]]]
) -> str | None:
    """Why ``dest`` cannot be written (it is an input, or another input's output already, in any case), or None.

    Outputs that differ only in case clash only when their inputs do not: ``a.jpg`` and ``A.jpg`` (or the folders
    ``trip`` and ``Trip``) side by side can only be on a disk that tells case apart, and their outputs mirror
    them as they are; ``IMG_1.HEIC`` and ``IMG_1.JPG`` written as JPEG, or two folders given whose trees meet in
    the ``-o``, would become one file on a disk that does not.

    An input that clashes is added to ``by_output`` with the others, by case alone too, so that :func:`clash_message`
    names every input that lands there, not the first two, and a later input written exactly where a case-only
    clash was is caught: ``clip.mp4`` after ``CLIP.MP4`` and ``clip.mov`` under ``--format mp4`` was not, as its own
    case variant ``CLIP.MP4`` was the only one recorded there, and the clash named two of the three."""
    if dest in all_sources or dest == real:
        return f"{display(dest)}: output would overwrite an input {job_kind(dest)}; pass another -o DIR"
    taken = by_output.get(case_folded(dest), [])
    other = next((source for output, source in taken if output == dest), None)
    if other is not None:
        taken.append((dest, src))  # one more input that lands here, for clash_message to name
        return _shared_reason(dest, [other, src])
    first, other = next(((o, s) for o, s in taken if case_folded(s) != case_folded(src)), (None, None))
    if first is None or other is None:
        return None
    taken.append((dest, src))  # as above: one more input that lands here (a case variant of it)
    return (
        f"{display(dest)}: both {display(other)} and {display(src)} would be written here, as {display(first)} and "
        f"{display(dest)}: {_ONE_FILE_ON_CASELESS}; {_case_reason(first, dest, other, src)}"
    )


#: How many of the inputs that land on one output a clash names before "and N more".
CLASH_NAMED = 4


def clash_message(collisions: list[tuple[Path, str]], by_output: dict[str, list[tuple[Path, Path]]]) -> str:
    """The one error line of a plan whose outputs clash: the first clash (``collisions`` holds each output and
    its :func:`collision_reason`) naming every input that lands on that output, then how many other outputs clash.

    Why: the reason of the first clash named the two inputs that met first; a third (``a.JPG``, ``a.jpg`` and
    ``a.png`` under ``--format png``) was left out, and renaming one of the two named did not mend the run.
    :func:`collision_reason` records each clashing input in ``by_output``, from which this takes them all, those
    whose outputs differ from ``first`` only in case too (one file on a disk that ignores case)."""
    first, reason = collisions[0]
    landing = by_output.get(case_folded(first), [])
    if len(landing) > 2:
        reason = _shared_reason(first, [src for _, src in landing], [output for output, _ in landing])
    outputs: dict[str, Path] = {}  # each clashing output once, whatever its case: the first path it was met by
    for dest, _ in collisions:
        outputs.setdefault(case_folded(dest), dest)
    more = [str(display(dest)) for key, dest in outputs.items() if key != case_folded(first)]
    also = f" (and {len(more)} more output(s) with the same problem: {', '.join(more)})" if more else ""
    return reason + also


def _shared_reason(dest: Path, sources: list[Path], outputs: list[Path] | None = None) -> str:
    """Why ``dest`` cannot be written: the inputs ``sources`` (two or more, in the order reached) would all be
    written there; :data:`CLASH_NAMED` of them named, then a count. ``outputs`` (each source's own, where they
    differ from ``dest`` in case) are shown when they differ, as the message for two such inputs does."""
    names = [str(display(src)) for src in sources[:CLASH_NAMED]]
    left = len(sources) - len(names)
    if left:
        listed = f"{', '.join(names)} and {left} more input(s)"
    elif len(names) == 2:
        listed = f"both {names[0]} and {names[1]}"
    else:
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
    if len(sources) == 2:
        return f"{display(dest)}: {listed} would be written here; {_clash_reason(sources[0], sources[1])}"
    here = "would all be written here"
    cases = list(dict.fromkeys(outputs or [dest]))
    if len(cases) > 1:
        shown = ", ".join(str(display(output)) for output in cases[:-1])
        here += f", as {shown} and {display(cases[-1])}: {_ONE_FILE_ON_CASELESS}"
    return f"{display(dest)}: {listed} {here}; {_clash_reason_of_all(sources)}"


def _clash_reason_of_all(sources: list[Path]) -> str:
    """What to do about three or more inputs ``sources`` that share an output, in words that hold for all of them.

    Why: the words were those of the first two; ``t2/a.png t2/a.jpg t1/a.jpg --format png`` was told "rename all but
    one, or leave out --format", and without --format ``t1/a.jpg`` and ``t2/a.jpg`` still clashed. Inputs in one
    folder meet by their extensions (:func:`_clash_reason`); inputs in different folders by an ``-o`` that gathers
    them; both can hold at once, and then both are said."""
    by_folder: dict[Path, list[Path]] = {}
    for src in sources:
        by_folder.setdefault(src.parent, []).append(src)
    crowded = next((group for group in by_folder.values() if len(group) > 1), None)
    if len(by_folder) == 1:
        return _for_many(_clash_reason(sources[0], sources[1]), len(sources))
    apart = [group[0] for group in by_folder.values()]  # one from each folder: they meet through -o
    first = apart[0]
    other = next((s for s in apart[1:] if s.name.casefold() != first.name.casefold()), None)  # the widest gap
    other = other or next((s for s in apart[1:] if s.name != first.name), apart[1])
    across = _clash_reason(first, other)
    if crowded is None:
        return across
    listed = ", ".join(str(display(src)) for src in crowded[:CLASH_NAMED])
    return f"{across}; and for {listed}, {_for_many(_clash_reason(crowded[0], crowded[1]), len(crowded))}"


def _for_many(why: str, count: int) -> str:
    """:func:`_clash_reason`'s words (about two inputs) for ``count`` inputs."""
    return why.replace("rename one", "rename all but one") if count > 2 else why


def _case_reason(first: Path, second: Path, first_input: Path, second_input: Path) -> str:
    """What to do about the outputs ``first`` and ``second`` whose paths differ only in case: where the folders
    above differ (``out/trip`` and ``out/Trip``, from two folders given), rename one of them; where the names do,
    as :func:`_clash_reason` says for names."""
    a, b = next(((x, y) for x, y in zip(first.parts, second.parts, strict=False) if x != y), (first.name, second.name))
    if (a, b) != (first.name, second.name):
        return f"rename one of the folders {a} and {b}, or give each input its own -o folder"
    return _clash_reason(first_input, second_input)


def _clash_reason(first: Path, second: Path) -> str:
    """Why two different files share an output, in words that fit the case: the reason told must be the
    one that holds (one photo named twice was once told its names "differ only in the extension, which
    --format makes the same", with no --format given). Without --format an output keeps its input's name
    (but an ``.mpo``, written as ``.jpg``), so only files of the same name (or but for case) in different folders
    can meet; with it, ``a.jpg`` and ``a.png`` too. (Names in one folder that differ only in case do not clash:
    :func:`collision_reason`.)"""
    if first.parent == second.parent and first.stem.casefold() == second.stem.casefold():
        if any(p.suffix.lower() in WRITTEN_AS for p in (first, second)):
            return "their names differ only in the extension, and an MPO is written as JPEG (.jpg); rename one"
        return (
            "their names differ only in the extension, which --format makes the same; rename one, or leave out --format"
        )
    where = "the same name in different folders"
    if first.name != second.name:
        where = "names that differ only in case, in different folders"
    if first.name.casefold() != second.name.casefold():
        where = "the same name in different folders, once --format gives them the same extension"
    return f"give each input its own -o folder, or pass their common parent folder instead ({where})"
