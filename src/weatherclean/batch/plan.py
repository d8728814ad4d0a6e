"""Planning a batch: inputs → jobs, each checked before any work.

Planning is separate from running so that every problem that can be known up front (two inputs that
would write the same output, an output that would overwrite an input, an unwritable output folder, a
bad ``--codec``) stops the command *before* an hour of compute, and so that ``--dry-run`` shows exactly
what would happen. The steps, each its own function:

1. expand the inputs into files (:func:`weatherclean.batch.inputs.expand_inputs`);
2. keep this shard's files (``--shard K/N``, :func:`in_shard`);
3. name each output (:mod:`weatherclean.batch.outputs`, the output-naming rule);
4. refuse collisions and skip outputs that exist (resume), :func:`_add_jobs`: an existing output is never
   replaced unless the caller asks, ``overwrite`` for all of them, ``update`` for those older than their input
   (a photo edited since), as ``cp -u`` (:func:`judge_output`);
5. check that the output folders can be written.

Sharding assigns each input to a shard by a hash of its path below the folder it was found in, with
that folder's name (:func:`~weatherclean.batch.inputs.shard_key`: ``photos``, ``./photos/`` and
``/data/photos`` split alike), before anything is skipped, so N processes given the same inputs split
the batch without overlap, a rerun of any shard sees the same inputs, and inputs added later land in
some shard without moving the others. A file reached by two paths (a link beside the file) goes by the
one path it is done under, so one shard does it. A skipped or failed file is reported by its own shard
only. Not resolved paths: those differ between machines that mount the photos elsewhere.

:func:`plan_clips` plans ``--frames`` (each folder of frames is one clip), and :func:`plan_batch` is the
one call a command makes: photos only, or photos, videos and clips (:class:`MediaOptions`; what ``desnow`` and
``derain`` plan).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from weatherclean.batch.collisions import case_folded, clash_message, collision_reason, one_path_per_file, real_paths
from weatherclean.batch.inputs import (
    GLOB_CHARS,
    Found,
    expand_inputs,
    files_under,
    literal_prefix,
    one_per_path,
    real_path,
    safe_is_dir,
    safe_is_file,
    shard_key,
    write_protected,
)
from weatherclean.batch.jobs import (
    NO_MATCH,
    NOT_FOUND,
    Job,
    Plan,
    Record,
    Replacement,
    Verdict,
    display,
    job_kind,
    judge_output,
    link_reason,
    stat_or_none,
)
from weatherclean.batch.outputs import (
    WRITTEN_AS,
    OutputFormat,
    check_output_folder,
    check_writable_folders,
    foreign_files,
    foreign_reason,
    is_output_folder,
    output_root,
    output_suffix,
    placement,
)
from weatherclean.errors import InputError, OutputError, WeathercleanError
from weatherclean.io.folders import expand_home, expand_home_text, file_line, name_over_limit, path_max, shown
from weatherclean.io.images import is_image_path, suffix_for_format
from weatherclean.io.media import VIDEO_CONTAINERS
from weatherclean.io.output_links import (
    folder_in_the_way,
    follow_output_link,
    refuse_special,
    special_kind,
    through_link,
)
from weatherclean.io.video import VideoOptions, check_encoder, is_video_path, preset_note

__all__ = [
    "NOT_FOUND", "NO_MATCH", "Job", "MediaOptions", "Plan", "Record", "in_shard", "parse_shard", "plan_batch",
    "plan_clips", "plan_jobs", "plan_media", "require_an_input",
]  # fmt: skip

#: ``suffix_for(dest, format)``: the output path with the suffix of the format it will be written in.
SuffixFor = Callable[[Path, str | None], Path]


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 ≤ K ≤ N (shards count from 1, like job-array task ids)."""
    k, sep, n = text.partition("/")
    try:
        kk, nn = int(k), int(n)
    except ValueError:
        kk = nn = 0
    if not sep or not 1 <= kk <= nn:
        raise InputError(f"--shard '{text}': expected K/N with 1 ≤ K ≤ N, e.g. --shard 2/8")
    return kk, nn


def _shard_of(key: str, count: int) -> int:
    """Stable shard (1..count) of a path key: the same on every machine and every Python run."""
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(key: str | Path, shard: tuple[int, int] | None) -> bool:
    """Whether the input with this shard key (:func:`~weatherclean.batch.inputs.shard_key`; a path: as
    walked) belongs to shard ``(K, N)``; everything does without one."""
    text = key.as_posix() if isinstance(key, Path) else key
    return shard is None or _shard_of(text, shard[1]) == shard[0]


def plan_jobs(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str = "desnowed",
    overwrite: bool = False,
    update: bool = False,
    check_writable: bool = True,
    in_place: bool = False,
    format: str | None = None,
    shard: tuple[int, int] | None = None,
    shard_files: bool = True,
    list_inside: bool = True,
    accept: Callable[[Path], bool] = is_image_path,
    kind: str = "an image file",
    suffix_for: SuffixFor | None = None,
    nest_given: bool = False,
    look: bool = True,
) -> Plan:
    """Expand files, folders (recursively) and globs into jobs and check them before any work.

    Files ``accept`` does not take are skipped with a note (``kind`` names what it takes); existing
    outputs are skipped unless ``overwrite`` (all redone) or ``update`` (those older than their input redone,
    with a note; :func:`judge_output`); missing paths fail; an ``-o`` inside a folder given gets a note, and the
    files already in it a skip each (:func:`_inside_output`). Raises
    :class:`InputError` if two inputs would write the same output or an output would replace an input
    (unless ``in_place``), and :class:`OutputError` if an output folder cannot be written. ``format`` (a
    Pillow format name such as ``"PNG"``) changes output suffixes, as ``suffix_for(dest, format)`` says (default:
    :func:`~weatherclean.batch.outputs.output_suffix`); ``shard=(K, N)`` keeps only the K-th of N
    deterministic parts of the batch (with ``shard_files`` False only of the skipped and failed files:
    ``--frames`` shards whole clips, :func:`plan_clips`). With ``list_inside`` False the files already in an
    ``-o`` inside an input folder are left for the caller to list (:func:`plan_clips`, whose outputs are folders).
    With ``nest_given`` (``--frames``) and ``-o``, the files directly in a folder given go to a folder of its name in
    the ``-o`` (``clipA/0001.png`` → ``DIR/clipA/0001.png``), as its clip's output does: two clips given
    side by side would otherwise both write ``DIR/0001.png``.

    With ``in_place`` an input that would be written under another name without ``--format`` asking it (an MPO,
    written as a JPEG of its first picture) fails alone, as the other files that ``--in-place`` cannot write back
    do; a ``--format`` that would change a file's format is refused as a whole with ``in_place``, and one naming
    its own format (``--format mp4`` for ``DJI_0001.MP4``, ``jpg`` for ``IMG.JPEG``) keeps the file's name.

    With ``look`` (all but ``--frames``' own walk, whose clips read their frames themselves) each input is looked at
    once, and what that tells fails it alone here, in a ``--dry-run`` too (:func:`~.inputs.expand_inputs`): a link
    loop, a FIFO or device always; a broken link or an empty file when its job would run (its output is not there
    yet, or ``overwrite`` or ``update`` redoes it), else it is skipped as done, as any input whose output exists.
    A photo saved under a video's name (``photo.mp4`` holding a JPEG) is done as a photo, under its own name, with
    a note. An output whose name would be longer than its file system takes (a 251-byte ``.jpg`` name given
    ``--format webp``) fails alone too (:func:`_too_long`), rather than ending the batch in a traceback when its
    job starts.
    """
    if in_place and output_dir is not None:
        raise InputError("--in-place replaces the inputs, so it cannot be combined with -o/--output")
    if in_place and update:  # accepted without a word, it read as if in-place runs skipped photos done already
        raise InputError("--in-place outputs are their inputs, so none is out of date: leave out --update")
    out_root = output_root(output_dir) if output_dir is not None else None
    found = expand_inputs(inputs, accept=accept, kind=kind, tag=tag, out_root=out_root, look=look)

    def ours(record: Record) -> bool:  # a record of another shard's file is that shard's to report
        return record not in found.keys or in_shard(found.keys[record], shard)

    shown_out = Path(output_dir) if output_dir is not None else None
    inside = _input_holding(inputs, out_root, tag=tag)
    plan = Plan(
        skipped=[r for r in found.skipped if ours(r)], failed=[r for r in found.failed if ours(r)],
        output_dir=shown_out, notes=[*_inside_note(inside, shown_out), *found.notes],
    )  # fmt: skip
    real = real_paths([f.path for f in found.files])
    keys = {f.path: f.shard_key for f in found.files}
    chosen = one_path_per_file([f.path for f in found.files], real)  # a file reached twice: one shard does it
    in_mine = (lambda f: in_shard(keys[chosen[real[f.path]]], shard)) if shard_files else (lambda f: True)
    mine = [f for f in found.files if in_mine(f)]
    plan.other_shards = len(found.files) - len(mine)
    by_suffix = suffix_for or output_suffix

    def rename(f: Found, dest: Path) -> Path:  # a photo named like a video takes --format's photo format
        return output_suffix(dest, format) if f.content else by_suffix(dest, format)

    beside: dict[tuple[Path, str], Path] = {}  # each input folder's default output folder, looked up once
    formatted: set[Path] = set()  # the inputs whose output name --format changed

    def planned(f: Found) -> _Candidate:
        if not in_place:
            dest, mirrored = placement(
                f.path, f.folder, out_root=out_root, tag=tag, pattern_base=f.pattern_base, beside=beside
            )
            if nest_given and out_root is not None and f.folder is not None and f.path.parent == f.folder:
                dest = out_root / real_path(f.folder).name / dest.name
            renamed = rename(f, dest)
            if renamed != output_suffix(dest, None):
                formatted.add(f.path)
            return _Candidate(f.path, renamed, mirrored)
        renamed = rename(f, f.path)
        if _same_container(renamed, f.path):  # --format mp4 for DJI_0001.MP4: its own format, its name kept
            renamed = f.path
        if renamed not in (f.path, output_suffix(f.path, None)):  # not an MPO's own .jpg: a --format asked for
            what = "photo" if f.content else job_kind(f.path)  # "photo" or "video": a phone clip was called a photo
            raise InputError(
                f"--in-place cannot change a {what}'s format ({display(f.path)}); use -o DIR with --format"
            )
        return _Candidate(f.path, renamed)

    candidates = [planned(f) for f in mine]
    others = [planned(f) for f in found.files if not in_mine(f)] if not in_place else []
    every = candidates + others  # each file's output, before any is set aside: what an -o inside an input holds
    if not in_place:  # a name too long for its file system: that file fails alone, here rather than when written
        long = {
            c.source: why
            for c in candidates
            if (why := _too_long(c.output, formatted=c.source in formatted)) is not None
        }
        plan.failed += [Record(display(source), why) for source, why in long.items()]
        candidates = [c for c in candidates if c.source not in long]
    if nest_given and out_root is not None:
        _one_clip_per_folder(candidates)
    if in_place:  # an MPO: it cannot be written back under its own name, so it fails alone
        plan.failed += [_in_place_renamed(c) for c in candidates if c.output != c.source]
        candidates = [c for c in candidates if c.output == c.source]
    else:  # an MPO whose output a photo beside it takes (a Fuji 3D pair): skipped alone, the photo done
        taken = _taken_by_a_photo_beside(candidates + others)
        plan.skipped += [Record(display(c.source), taken[c.source]) for c in candidates if c.source in taken]
        candidates = [c for c in candidates if c.source not in taken]
        others = [c for c in others if c.source not in taken]
    plan.planned = [(c.source, c.output) for c in candidates]
    if not in_place and len(mine) < len(found.files):  # other shards' outputs: every shard must judge alike
        plan.planned += [(c.source, c.output) for c in others]
    facts = {f.path: f for f in found.files}
    _add_jobs(plan, candidates, real, in_place=in_place, overwrite=overwrite, update=update, facts=facts)
    if list_inside and inside is not None and out_root is not None and shown_out is not None:
        # every file's output, other shards' too: theirs are this run's outputs, not files that were there before
        outputs = {c.output for c in every} | {j.output for j in plan.jobs} | set(plan.done)
        plan.skipped += _inside_output(out_root, shown_out, outputs, accept=accept, tag=tag, shard=shard)
    if check_writable:
        hint = "make it writable, or leave out --in-place and use -o DIR" if in_place else "choose another -o DIR"
        folders = {j.output.parent for j in plan.jobs}
        if in_place and len(folders) > 1:
            _fail_unwritable_folders(plan, folders, hint)
        else:
            check_writable_folders(folders, given=output_dir, hint=hint)
    return plan


#: Why ``--in-place`` leaves a write-protected file alone (:func:`~weatherclean.batch.inputs.write_protected`): a
#: rename replaces it all the same (it needs only the folder to be writable), and did, keeping ``0444``: the
#: photo still looked protected.
WRITE_PROTECTED = (
    "read-only (write-protected) file, left as it is by --in-place; make it writable (chmod u+w; on Windows, "
    "clear Read-only) to replace it"
)


def _fail_unwritable_folders(plan: Plan, folders: set[Path], hint: str) -> None:
    """``--in-place`` over several folders: the photos of one that cannot be written fail, with its reason, and the
    others are done; only when none can be written does the run stop before any work (exit code 2).

    Why: a library with one read-only folder (an archive, another user's album on a NAS) stopped the whole run,
    where with ``-o`` the folders are the run's own and one refusing is the run's problem."""
    refused: dict[Path, str] = {}
    for folder in sorted(folders):
        try:
            check_writable_folders([folder], hint=hint)
        except WeathercleanError as exc:
            if len(refused) + 1 == len(folders):
                raise
            refused[folder] = str(exc)
    if refused:
        plan.failed += [Record(display(j.source), refused[j.output.parent]) for j in plan.jobs
                        if j.output.parent in refused]  # fmt: skip
        plan.jobs[:] = [j for j in plan.jobs if j.output.parent not in refused]


def _one_clip_per_folder(candidates: list[_Candidate]) -> None:
    """``--frames``: raise :class:`InputError` when the frames of two folders would land in one output folder (loose
    frames beside a clip of their folder's name, two clips of one name given), before their frames are compared
    one by one: the clash is of clips, and is told so."""
    owners: dict[Path, Path] = {}
    for candidate in candidates:
        out, folder = candidate.output.parent, candidate.source.parent
        owner = owners.setdefault(out, folder)
        if owner == folder:
            continue
        if owner in folder.parents or folder in owner.parents:
            why = "give the loose frames their own folder, or run the clips with different -o folders"
        else:
            why = "give each clip its own -o folder, or pass their common parent folder instead"
        raise InputError(
            f"{display(out)}: both clips {display(owner)} and {display(folder)} would be written here; {why}"
        )


def _taken_by_a_photo_beside(candidates: list[_Candidate]) -> dict[Path, str]:
    """The MPOs (inputs written under another suffix than their own, :data:`WRITTEN_AS`) whose output is that of
    a photo of the same name in the same folder (``DSCF0001.MPO`` beside ``DSCF0001.JPG``, as Fuji 3D cameras
    write them), each with why it is skipped: the photo is done, and the MPO alone is left, not the whole batch
    refused. Where a ``--format`` gives both the same extension, the reason says that instead."""
    photos: dict[str, tuple[Path, Path]] = {}  # by case_folded(output): (the photo, its output)
    for source, output, _ in candidates:
        if source.suffix.lower() not in WRITTEN_AS:
            photos.setdefault(case_folded(output), (source, output))
    taken: dict[Path, str] = {}
    for source, output, _ in candidates:
        other, its = (
            photos.get(case_folded(output), (None, None)) if source.suffix.lower() in WRITTEN_AS else (None, None)
        )
        if other is None or other.parent != source.parent or other.stem.casefold() != source.stem.casefold():
            continue
        formatted = its is not None and its.name != other.name  # the photo's name changed too: by --format
        why = "--format gives both the same extension" if formatted else "an MPO is written as a .jpg"
        taken[source] = (
            f"its output {output.name} would be {other.name}'s ({why}); rename one of them, or do it alone with "
            f"another -o DIR"
        )
    return taken


def _in_place_renamed(candidate: _Candidate) -> Record:
    """The failure of an input ``--in-place`` cannot write back under its own name (an MPO), with the name it
    would get; the other files of the batch go on. Planning does not open the file, so the reason is the new
    name, true of an MPO of one picture too (not "the pictures after its first")."""
    return Record(
        display(candidate.source),
        f"--in-place cannot write it back under its own name: an MPO is written as a JPEG of its first picture, "
        f"under a new name ({candidate.output.name}); use -o DIR to keep the original",
    )


class _Candidate(NamedTuple):
    """An input found and where its output would go (before collisions and resume are judged)."""

    source: Path
    output: Path
    #: :attr:`Job.mirrored <weatherclean.batch.jobs.Job.mirrored>`.
    mirrored: int = 0


def _add_jobs(
    plan: Plan,
    candidates: list[_Candidate],
    resolved: dict[Path, Path],
    *,
    in_place: bool,
    overwrite: bool,
    update: bool = False,
    facts: dict[Path, Found] | None = None,
) -> None:
    """Turn candidates into jobs: each input once, collisions refused, and an output that exists skipped
    unless ``overwrite`` or (when older than its input) ``update``, so a rerun resumes where the last one
    stopped and replaces nothing it was not asked to (:func:`judge_output`). ``resolved`` maps each source to its
    real path; ``facts`` each source to what the expansion found of it (its inode, the photo a file named
    like a video holds, a problem), which decides a job's kind and its ``--in-place`` hard links
    (:func:`_links_outside`). An input with a problem that does not block a rerun (an empty file, a broken link:
    :attr:`~weatherclean.batch.inputs.Found.problem`) fails here when its job would run, and is skipped as done as
    before when its output is there: a complete run's rerun, nightly from cron, keeps exit code 0."""
    facts = facts or {}
    replace = Replacement(overwrite=overwrite, update=update)
    by_output: dict[str, list[tuple[Path, Path]]] = {}  # by case_folded(output): the (output, input) pairs so far
    collisions: list[tuple[Path, str]] = []  # all of them at once: fixing one per run is tedious
    chosen = one_path_per_file([c.source for c in candidates], resolved)
    all_sources = set(chosen)
    linked = _links_outside([facts.get(src) for src in chosen.values()], list(chosen)) if in_place else {}
    for src, dest, mirrored in candidates:
        real = resolved[src]
        if chosen[real] != src:  # the same file reached twice: done once, under its own name
            if src.is_symlink() and not chosen[real].is_symlink():
                plan.skipped.append(Record(display(src), link_reason(display(chosen[real]))))
            continue
        fact = facts.get(src)
        problem = fact.problem if fact is not None else None  # an empty file, a broken link: fails if it would run
        kind, note = _kind_of(src, dest, fact)
        if in_place and problem is not None:
            plan.failed.append(Record(display(src), problem))
            continue
        if in_place and (fact.read_only if fact is not None and fact.read_only is not None
                         else write_protected(stat_or_none(real))):  # fmt: skip
            plan.failed.append(Record(display(src), WRITE_PROTECTED))
            continue
        if in_place:  # write to the real file, so a symlinked photo is updated rather than replaced by a copy
            plan.jobs.append(Job(src, real, replaces_input=True, kind=kind, note=note, other_links=linked.get(real, 0)))
            continue
        info = stat_or_none(dest)  # the one look at an existing output (Path.resolve would look again)
        if info is not None:  # written through a link, never through another user's in /tmp; never over a FIFO
            try:
                target = follow_output_link(display(dest))  # as typed: a refusal names the path the user knows
                if special_kind(info.st_mode) is not None:  # the stat taken already: the message only when needed
                    refuse_special(target, label=through_link(display(dest), target))
            except OutputError as exc:
                plan.failed.append(Record(display(src), f"{display(src)}: {exc}"))  # the output named after it
                continue
            dest = target
        clash = collision_reason(src, real, dest, all_sources, by_output)
        if clash is not None:
            collisions.append((dest, clash))
            continue
        by_output.setdefault(case_folded(dest), []).append((dest, src))
        if info is not None and stat.S_ISDIR(info.st_mode):  # never done, and never in the way of the others
            plan.failed.append(Record(display(src), f"{display(src)}: {folder_in_the_way(display(dest))}"))
            continue
        is_file = info is not None and stat.S_ISREG(info.st_mode)
        verdict = judge_output(
            dest, lambda s=src, f=is_file: [s] if f else [], replace, info, photo=src if kind == "photo" else None
        )
        if verdict.fail is not None:  # another photo's output (another card's IMG_0001.JPG): never taken as this one's
            plan.failed.append(Record(display(src), verdict.fail))
            continue
        if verdict.skip is not None:  # done already: an input emptied or a broken link since is no reason to fail
            plan.skipped.append(Record(display(src), verdict.skip))
            plan.done.append(dest)
            continue
        if problem is not None:
            plan.failed.append(Record(display(src), problem))
            continue
        note = verdict.note or note  # "redone: input changed" is the one the runner acts on (--update)
        plan.jobs.append(Job(src, dest, kind=kind, note=note, mirrored=mirrored))
    if collisions:
        raise InputError(clash_message(collisions, by_output))


def _kind_of(source: Path, output: Path, found: Found | None) -> tuple[str, str | None]:
    """A file job's kind (``"photo"``, ``"video"``) and the note it gets for it: a photo saved under a video's name
    (``photo.mp4`` holding a JPEG, :attr:`~weatherclean.batch.inputs.Found.content`) is a photo, and is told so, as a
    PNG named ``.jpg`` is; by the name it was a one-frame H.264 video, its EXIF lost (with ``--in-place`` too)."""
    content = found.content if found is not None else None
    if content is None:
        return job_kind(source), None
    note = f"named {source.suffix} but holds a {content} image, not a video: done as a photo"
    if output.suffix == source.suffix:
        note += f", written as {content} under the same name"
    return "photo", note


def _links_outside(found: list[Found | None], reals: list[Path]) -> dict[Path, int]:
    """``--in-place``: for each real file (``reals``, one per input file, beside what was ``found`` of it) with hard
    links, how many of them this batch does not replace (:attr:`~weatherclean.batch.jobs.Job.other_links`), from
    the ``stat`` each input got when found (:attr:`~weatherclean.batch.inputs.Found.inode`): its link count less
    the inputs of the same device and inode. Files without other links are left out (none outside).

    Why not do such a file once, as a symbolic link is: replacing one link leaves the others showing the original
    picture; each link given is the user's to have desnowed, and is."""
    by_inode: dict[tuple[int, int], list[Path]] = {}
    links: dict[tuple[int, int], int] = {}
    for f, real in zip(found, reals, strict=True):
        if f is not None and f.inode is not None:
            dev, ino, count = f.inode
            by_inode.setdefault((dev, ino), []).append(real)
            links[dev, ino] = count
    return {real: links[key] - len(group) for key, group in by_inode.items() for real in group}


def _same_container(renamed: Path, source: Path) -> bool:
    """Whether ``renamed`` (a video's name as ``--format`` gives it) is ``source``'s own container under another
    spelling: ``DJI_0001.MP4`` and ``--format mp4`` (``.mp4``), ``clip.m4v`` and ``mp4``, written by the same FFmpeg
    muxer. ``--in-place`` then keeps the file's name: only the suffix's case or spelling differed, and it was
    refused as a change of format. (A photo's own format under ``--format``, ``IMG.JPG`` with ``jpg`` or ``jpeg``,
    keeps its name already: :func:`~weatherclean.batch.outputs.output_suffix`.)"""
    if renamed == source or renamed.with_suffix("") != source.with_suffix(""):
        return False
    muxer = VIDEO_CONTAINERS.get(renamed.suffix.lower())
    return muxer is not None and muxer == VIDEO_CONTAINERS.get(source.suffix.lower())


def _too_long(output: Path, *, formatted: bool = False) -> str | None:
    """Why ``output`` cannot be written under its name, or None: the name is longer than its file system takes
    (:func:`~weatherclean.io.folders.name_over_limit`: ``PC_NAME_MAX``, 255 bytes on Linux where it does not say, 255
    UTF-16 units on Windows and macOS: a 251-byte ``.jpg`` name written as ``.webp``), or the whole path longer than
    the system takes (:func:`~weatherclean.io.folders.path_max`; not checked where the system does not say). Its
    folders are the input's, which exist, or the ``NAME_TAG`` one, which
    :func:`~weatherclean.batch.outputs.default_output` checks; the hidden names a write goes through first are kept
    short enough by the writer. ``formatted``: the name is the one ``--format`` gives, so leaving that out is a way
    out too (said only then: with no ``--format`` given, the advice to leave it out made no sense)."""
    over = name_over_limit(output.name, output.parent)
    if over is not None:
        hint = ", or leave out --format" if formatted else ""
        return f"output name would be {over}; rename the input shorter{hint}"
    whole, limit = len(os.fsencode(os.path.abspath(output))), path_max()
    if limit is not None and whole >= limit:
        return (
            f"output path would be {whole} bytes, over the system's {limit - 1}-byte limit; use a shorter -o DIR "
            "or move the input higher up"
        )
    return None


def _input_holding(inputs: Sequence[str | os.PathLike[str]], out_root: Path | None, *, tag: str) -> Path | None:
    """The first input folder given (or glob pattern's literal start: ``s1`` for ``'s1/**/*.jpg'``) that holds
    the ``-o`` folder where a walk would enter it, as typed; None when there is none.

    An ``-o`` that a walk never enters anyway (hidden, or named like an output folder, ``*_desnowed``) does not
    count, and an ``-o`` equal to a folder given is the planner's to refuse (its outputs would overwrite the
    inputs)."""
    if out_root is None:
        return None
    for item in inputs:
        text = os.fspath(item)
        given = expand_home(text)
        if not os.path.lexists(given) and GLOB_CHARS & set(text):
            parts = given.parts
            literal = literal_prefix(parts)
            given = Path(*parts[:literal]) if literal else Path(".")
        if not safe_is_dir(given):  # one that cannot be looked at fails alone (expand_inputs says why)
            continue
        folder = real_path(given)
        if folder == out_root or folder not in out_root.parents:
            continue
        below = out_root.relative_to(folder).parts
        if any(part.startswith(".") or is_output_folder(part, tag) for part in below):
            continue
        return given
    return None


def _inside_note(given: Path | None, output_dir: Path | None) -> list[Record]:
    """The note of an ``-o`` inside the input folder ``given`` (:func:`_input_holding`), else [].

    This run never reads its own ``-o`` (the walk leaves it out), but a later run over that folder without
    this ``-o`` would take the outputs as inputs and process them again. It is not refused: a results folder
    kept beside the photos can be what a user wants."""
    if given is None or output_dir is None:
        return []
    reason = f"this -o folder is inside the input folder {given}: a later run over {given} without -o {output_dir} "
    return [Record(output_dir, reason + "would take these outputs as inputs")]


#: The skip reason of a file that was in the ``-o`` folder before the run (:func:`_inside_output`).
INSIDE_OUTPUT = "inside the -o folder; not read as inputs"


def _inside_output(
    out_root: Path,
    output_dir: Path,
    outputs: set[Path],
    *,
    accept: Callable[[Path], bool],
    tag: str,
    shard: tuple[int, int] | None,
) -> list[Record]:
    """A skip for each file in the ``-o`` folder (which lies in an input folder) that the walk of that input
    folder would have taken as an input, but that is none of this run's outputs (``outputs``, done or to do).

    Why: the walk never enters its own ``-o``, so photos that were there already (``desnow s1 -o s1/sub`` with
    ``s1/sub`` holding photos) were neither processed nor listed. Each is listed by one shard only.
    """
    records = []
    for path in files_under(out_root, accept=accept, tag=tag):
        if path in outputs or not in_shard(shard_key(path, out_root), shard):
            continue
        records.append(Record(output_dir / path.relative_to(out_root), INSIDE_OUTPUT))
    return records


def plan_clips(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    overwrite: bool = False,
    update: bool = False,
    shard: tuple[int, int] | None = None,
    format: str | None = None,
) -> Plan:
    """``--frames``: every folder that directly holds frames is one clip, written as a folder of frames.

    Built on :func:`plan_jobs` (so outputs land where the photos of those folders would, with the same
    safety checks), then grouped by folder: a job's ``source`` is the clip folder, its ``output`` the
    output folder, its ``kind`` ``"frames"``. A clip given directly with ``-o DIR`` goes to
    ``DIR/<clip name>``, never to DIR itself: a clip's output folder is replaced as a whole, and the
    folder a user names must never be. A clip whose output folder exists is skipped unless ``overwrite``, or
    ``update`` and one of its frames is newer than that folder (whose time is that of its last frame written;
    :func:`judge_output`). Even then, an output folder that holds anything but the clip's own frame outputs is
    skipped with a reason, never replaced: it is the user's (:func:`~weatherclean.batch.outputs.foreign_files`).
    ``format`` (a Pillow format name, ``--format``'s for pictures) is what the frames are written as: it names a
    clip's own files in its output folder.
    """
    bad = [Record(display(Path(i)), "--frames takes folders of frames, not files") for i in inputs
           if safe_is_file(Path(i))]  # fmt: skip
    folders = [i for i in inputs if not safe_is_file(Path(i))]
    frames = plan_jobs(folders, output_dir, tag=tag, overwrite=True, check_writable=False, shard=shard,
                       shard_files=False, list_inside=False, nest_given=True, look=False)  # fmt: skip
    plan = Plan(skipped=frames.skipped, failed=[*frames.failed, *bad], output_dir=frames.output_dir, notes=frames.notes)
    out_root = output_root(output_dir) if output_dir is not None else None
    clips = _clip_outputs(frames.jobs, out_root)
    plan.planned = list(clips.items())  # every shard's: a video of any shard must not land in one (_add_clips)
    frames_of: dict[Path, list[Job]] = {}
    for job in frames.jobs:
        frames_of.setdefault(job.source.parent, []).append(job)
    replace = Replacement(overwrite=overwrite, update=update)
    names_of = {folder: [output_suffix(Path(j.output.name), format).name for j in own]  # its frame outputs' names
                for folder, own in frames_of.items()}  # fmt: skip
    for folder, out in clips.items():
        if not in_shard(_clip_key(folder, folders), shard):
            plan.other_shards += 1
            continue
        own = frames_of[folder]
        info = stat_or_none(out)
        verdict = judge_output(out, _frames_of(own), replace, info)  # a folder of frames: judged by their dates
        if verdict.skip is None and info is not None:  # an existing folder would be replaced: is it the clip's?
            why = foreign_reason(out, names_of[folder])
            if why is not None:
                verdict = Verdict(verdict.state, skip=f"output folder {display(out)} {why}")
        if verdict.skip is not None:
            plan.skipped.append(Record(display(folder), verdict.skip))
            plan.done.append(out)
        else:  # the folders above the clip's output mirror those above its frames' outputs, less one
            plan.jobs.append(Job(folder, out, kind="frames", note=verdict.note, mirrored=max(0, own[0].mirrored - 1)))
    inside = _input_holding(folders, out_root, tag=tag)
    if inside is not None and out_root is not None and plan.output_dir is not None:
        ours = _clip_files(clips, names_of)
        plan.skipped += _inside_output(out_root, plan.output_dir, ours, accept=is_image_path, tag=tag, shard=shard)
    check_writable_folders({j.output.parent for j in plan.jobs}, given=output_dir)
    return plan


def _clip_files(clips: dict[Path, Path], names_of: dict[Path, list[str]]) -> set[Path]:
    """The files in the clips' output folders (``clips``: clip folder → output folder) that are their own frame
    outputs (``names_of``: by name; under any ``--format``, :func:`~weatherclean.batch.outputs.foreign_files`):
    every clip's, other shards' too, so that an ``-o`` inside an input folder lists none of them as files that were
    there before (:func:`_inside_output`)."""
    ours: set[Path] = set()
    for folder, out in clips.items():
        try:
            names = os.listdir(out)
            foreign = set(foreign_files(out, names_of[folder]))
        except OSError:  # not there yet (a first run), or unreadable: nothing in it is this run's
            continue
        ours.update(out / name for name in names if name not in foreign)
    return ours


def _frames_of(own: list[Job]) -> Callable[[], list[Path]]:
    """A clip's sources for :func:`judge_output`: its frames (the inputs of ``own``, its frame jobs), read only when its
    output folder exists; the folder is judged against them, not against its input folder's own time."""
    return lambda: [j.source for j in own]


def _clip_key(folder: Path, given: Sequence[str | os.PathLike[str]]) -> str:
    """A clip folder's shard key: its way down from the folder given that holds it (itself, when given)."""
    for root in map(Path, given):
        if folder == root:
            return shard_key(folder, folder.parent)
        if root in folder.parents:
            return shard_key(folder, root)
    return shard_key(folder, folder.parent)


def _clip_outputs(frame_jobs: list[Job], out_root: Path | None) -> dict[Path, Path]:
    """Clip folder → its output folder (where its frames' outputs lie), refusing two clips in one folder."""
    clips: dict[Path, Path] = {}
    for job in frame_jobs:
        out = job.output.parent
        if out_root is not None and real_path(out) == out_root:
            out = out / real_path(job.source.parent).name
        clips.setdefault(job.source.parent, out)
    owners: dict[Path, Path] = {}
    for folder, out in clips.items():
        if out in owners:
            raise InputError(
                f"{display(out)}: both clips {display(owners[out])} and {display(folder)} would be written "
                "here; give the loose frames their own folder, or run the clips with different -o folders"
            )
        owners[out] = folder
    return clips


@dataclass(frozen=True)
class MediaOptions:
    """What a batch of videos adds to one of photos (``desnow``, ``derain``): the encoder, what a partly decoded video
    counts as, and ``frames``: each folder of images is one clip (``--frames``) rather than photos."""

    frames: bool = False
    video: VideoOptions = field(default_factory=VideoOptions)
    #: Count a video that decodes only in part as done (else failed, its frames kept in NAME.partial.mp4).
    allow_partial: bool = False


def _photo_or_video(path: Path) -> bool:
    return is_image_path(path) or is_video_path(path)


def plan_media(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    media: MediaOptions = MediaOptions(),
    formats: OutputFormat = OutputFormat(),
    overwrite: bool = False,
    update: bool = False,
    in_place: bool = False,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """Videos and photos as jobs of their own; with ``media.frames``, videos and folders of frames (clips).

    Checks the encoder of every output container once (a bad ``--codec`` or ``--preset`` fails before
    any work, ``--dry-run`` included).
    """
    if media.frames and in_place:
        raise InputError("--in-place cannot be used with --frames; write the frames to -o DIR")
    plan = plan_jobs(
        inputs, output_dir, tag=tag, overwrite=overwrite, update=update, in_place=in_place, shard=shard,
        accept=is_video_path if media.frames else _photo_or_video, kind="an image or video file",
        suffix_for=lambda dest, _fmt: formats.rename(dest), format=formats.image,
    )  # fmt: skip
    if media.frames:
        _add_clips(
            plan, inputs, output_dir, tag=tag, overwrite=overwrite, update=update, shard=shard, format=formats.image
        )
    plan.notes += _unused_format_notes(plan.jobs, formats)
    suffixes = sorted({j.output.suffix for j in plan.jobs if is_video_path(j.output)})
    for suffix in suffixes:
        check_encoder(media.video, suffix)
    ignored = preset_note(media.video, suffixes)
    if ignored is not None:
        plan.notes.append(Record(Path(f"--preset {media.video.preset}"), ignored))
    return plan


def _unused_format_notes(jobs: Sequence[Job], formats: OutputFormat) -> list[Record]:
    """A note when ``--format`` names a video container and photos or ``--frames`` clips are among the jobs, or a
    photo format and videos are: those keep their own format, which the run used to do without a word
    (``--frames --format mp4`` wrote PNG frames and said nothing, where a user expected a clip or a refusal).
    A note, not a refusal, as for photos: the same command over a folder of videos and frames is meant."""
    if formats.video and not formats.image:
        name, applies = formats.video, "videos"
        counts = {"photo(s)": _count(jobs, "photo"), "folder(s) of frames (--frames)": _count(jobs, "frames")}
    elif formats.image and not formats.video:
        name, applies = suffix_for_format(formats.image), "photos"
        counts = {"video(s)": _count(jobs, "video")}
    else:
        return []
    listed = [f"{count} {what}" for what, count in counts.items() if count]
    if not listed:
        return []
    reason = f"applies to {applies} only; the {' and '.join(listed)} among the inputs keep their own format"
    return [Record(Path(f"--format {name.lstrip('.')}"), reason)]


def _count(jobs: Sequence[Job], kind: str) -> int:
    """How many of ``jobs`` are of ``kind`` (``"photo"``, ``"video"``, ``"frames"``)."""
    return sum(1 for j in jobs if j.kind == kind)


def _add_clips(
    plan: Plan,
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None,
    *,
    tag: str,
    overwrite: bool,
    update: bool,
    shard: tuple[int, int] | None,
    format: str | None = None,
) -> None:
    """``--frames``: add the clips among ``inputs`` to ``plan``, whose jobs are the videos only; ``format`` is the
    frames' (``--format``'s for pictures, :func:`plan_clips`)."""
    folders = [p for p in inputs if not safe_is_file(Path(p))]
    clips = plan_clips(folders, output_dir, tag=tag, overwrite=overwrite, update=update, shard=shard, format=format)
    _refuse_outputs_in_clips(plan.planned, clips.planned)
    plan.skipped = [r for r in plan.skipped if not is_image_path(r.path)]  # frames of clips, not skips
    plan.failed += [
        Record(Path(p), "--frames takes folders of frames (and videos), not single images")
        for p in inputs if safe_is_file(Path(p)) and is_image_path(Path(p))
    ]  # fmt: skip
    plan.jobs += clips.jobs
    plan.done += clips.done
    plan.notes = list(dict.fromkeys([*plan.notes, *clips.notes]))  # the -o note of both walks, once
    # Videos are jobs, not skips; a file both walks reached (a text file beside the frames) is listed once.
    plan.skipped = one_per_path([*plan.skipped, *(r for r in clips.skipped if not is_video_path(r.path))])
    plan.failed += clips.failed
    plan.other_shards += clips.other_shards
    plan.failed = list(dict.fromkeys(plan.failed))  # a missing path was tried as a file and as a clip


def _refuse_outputs_in_clips(videos: Sequence[tuple[Path, Path]], clips: Sequence[tuple[Path, Path]]) -> None:
    """Raise :class:`InputError` when a video's output would land inside a clip's output folder (``videos`` and
    ``clips``: (input, output) pairs, every shard's).

    A dash-cam card folder often holds a clip and the frames extracted from it (``card/clipA/dash.mp4`` beside
    ``card/clipA/0001.png``): the mirrored tree puts the video at ``out/clipA/dash.mp4``, inside the clip's output
    folder ``out/clipA``. That folder is written whole and moved into place, and never replaced while it holds
    files that are not the clip's frames, so the clip was skipped as "output exists" (with ``--overwrite``: as
    holding a foreign ``dash.mp4``) with exit 0, and no rerun could ever do it. Putting the video elsewhere would
    break the rule that outputs mirror the inputs, and a user would have to hunt for it; so this is the clash of
    two inputs on one output name that the docs promise to report before any work, each case at once.
    """
    if not videos or not clips:
        return
    folders = {Path(os.path.realpath(out)): (clip, out) for clip, out in clips}
    clashes: list[str] = []
    for video, output in videos:
        parent = Path(os.path.realpath(output.parent))
        owner = next((folders[p] for p in (parent, *parent.parents) if p in folders), None)
        if owner is None:
            continue
        clip, folder = owner
        clashes.append(
            f"{display(output)}: the output of {display(video)} would land in {display(folder)}, the output folder "
            f"of the clip {display(clip)}, which --frames writes and replaces as a whole; move the video out of the "
            "clip's folder, or run it on its own with another -o"
        )
    if clashes:
        more = f" (and {len(clashes) - 1} more video(s) inside clip folders)" if len(clashes) > 1 else ""
        raise InputError(clashes[0] + more)


def plan_batch(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    formats: OutputFormat = OutputFormat(),
    media: MediaOptions | None = None,
    overwrite: bool = False,
    update: bool = False,
    in_place: bool = False,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """The plan of a command: photos only when ``media`` is None, else :func:`plan_media` (``desnow``, ``derain``).

    An existing output is skipped unless ``overwrite`` (every one is redone) or ``update`` (one older than its
    input is redone, with a note): ``--overwrite`` and ``--update``. The runner must be given the same two
    (:func:`~weatherclean.batch.run.run_jobs`), since it looks again just before each job.

    An ``output_dir`` that does not exist and is named like a photo or video is refused first
    (:func:`~weatherclean.batch.outputs.check_output_folder`): it would become a folder that looks like a file.
    A leading ``~`` is the home folder, as for the inputs (:func:`~weatherclean.io.folders.expand_home`): a
    ``-o '~/out'`` that reached us unexpanded (no shell in between) made a folder named ``~`` here.
    """
    output_dir = None if output_dir is None else expand_home_text(output_dir)
    check_output_folder(output_dir)
    if media is None:
        return plan_jobs(
            inputs, output_dir, tag=tag, overwrite=overwrite, update=update, in_place=in_place, format=formats.image,
            shard=shard,
        )  # fmt: skip
    return plan_media(
        inputs, output_dir, tag=tag, media=media, formats=formats, overwrite=overwrite, update=update,
        in_place=in_place, shard=shard,
    )  # fmt: skip


def require_an_input(plan: Plan) -> None:
    """Raise :class:`InputError` (the CLI's exit code 2) when nothing could run because no input given exists."""
    missing = plan.missing_only()
    if len(missing) == 1:
        raise InputError(f"{file_line(missing[0].path, missing[0].reason)}; nothing to do")
    if missing:
        listed = ", ".join(shown(r.path) for r in missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise InputError(f"none of the {len(missing)} inputs exists or matches a file ({listed}); nothing to do")
