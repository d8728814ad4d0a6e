"""Planning a batch: inputs → jobs, each checked before any work.

Planning is separate from running so that every problem that can be known up front (two inputs that
would write the same output, an output that would overwrite an input, an unwritable output folder, a
bad ``--codec``) stops the command *before* an hour of compute, and so that ``--dry-run`` shows exactly
what would happen. The steps, each its own function:

1. expand the inputs into files (:func:`weatherclean.batch.inputs.expand_inputs`);
2. keep this shard's files (``--shard K/N``, :func:`in_shard`);
3. name each output (:mod:`weatherclean.batch.outputs`, the output-naming rule);
4. refuse collisions and skip outputs that exist (resume), :func:`_add_jobs`;
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weatherclean.batch.inputs import Found, expand_inputs, is_link, one_per_path, shard_key
from weatherclean.batch.jobs import NO_MATCH, NOT_FOUND, Job, Plan, Record, display, is_done, job_kind
from weatherclean.batch.outputs import (
    OutputFormat,
    check_output_folder,
    check_writable_folders,
    destination,
    output_suffix,
)
from weatherclean.errors import InputError
from weatherclean.io.images import is_image_path
from weatherclean.io.video import VideoOptions, check_encoder, is_video_path

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
    check_writable: bool = True,
    in_place: bool = False,
    format: str | None = None,
    shard: tuple[int, int] | None = None,
    shard_files: bool = True,
    accept: Callable[[Path], bool] = is_image_path,
    kind: str = "an image file",
    suffix_for: SuffixFor | None = None,
) -> Plan:
    """Expand files, folders (recursively) and globs into jobs and check them before any work.

    Files ``accept`` does not take are skipped with a note (``kind`` names what it takes); existing
    outputs are skipped unless ``overwrite``; missing paths fail. Raises :class:`InputError` if two
    inputs would write the same output or an output would replace an input (unless ``in_place``), and
    :class:`OutputError` if an output folder cannot be written. ``format`` (a Pillow format name such as
    ``"PNG"``) changes output suffixes, as ``suffix_for(dest, format)`` says (default:
    :func:`~weatherclean.batch.outputs.output_suffix`); ``shard=(K, N)`` keeps only the K-th of N
    deterministic parts of the batch (with ``shard_files`` False only of the skipped and failed files:
    ``--frames`` shards whole clips, :func:`plan_clips`).
    """
    if in_place and output_dir is not None:
        raise InputError("--in-place replaces the inputs, so it cannot be combined with -o/--output")
    out_root = Path(output_dir).resolve() if output_dir is not None else None
    found = expand_inputs(inputs, accept=accept, kind=kind, tag=tag, out_root=out_root)

    def ours(record: Record) -> bool:  # a record of another shard's file is that shard's to report
        return record not in found.keys or in_shard(found.keys[record], shard)

    plan = Plan(
        skipped=[r for r in found.skipped if ours(r)], failed=[r for r in found.failed if ours(r)],
        output_dir=Path(output_dir) if output_dir is not None else None,
    )  # fmt: skip
    real = _real_paths([f.path for f in found.files])
    keys = {f.path: f.shard_key for f in found.files}
    chosen = _one_path_per_file([f.path for f in found.files], real)  # a file reached twice: one shard does it
    in_mine = (lambda f: in_shard(keys[chosen[real[f.path]]], shard)) if shard_files else (lambda f: True)
    mine = [f for f in found.files if in_mine(f)]
    plan.other_shards = len(found.files) - len(mine)
    rename = suffix_for or output_suffix

    def planned_output(f: Found) -> Path:
        if not in_place:
            dest = destination(f.path, f.folder, out_root=out_root, tag=tag, pattern_base=f.pattern_base)
            return rename(dest, format)
        if rename(f.path, format) != f.path:
            raise InputError(f"--in-place cannot change a photo's format ({display(f.path)}); use -o DIR with --format")
        return f.path

    _add_jobs(plan, [(f.path, planned_output(f)) for f in mine], real, in_place=in_place, overwrite=overwrite)
    if check_writable:
        hint = "make it writable, or leave out --in-place and use -o DIR" if in_place else "choose another -o DIR"
        check_writable_folders({j.output.parent for j in plan.jobs}, given=output_dir, hint=hint)
    return plan


def _add_jobs(
    plan: Plan, candidates: list[tuple[Path, Path]], resolved: dict[Path, Path], *, in_place: bool, overwrite: bool
) -> None:
    """Turn (source, planned output) pairs into jobs: each input once, collisions refused, and an output
    that exists skipped unless ``overwrite`` (so a rerun resumes where the last one stopped). ``resolved``
    maps each source to its real path."""
    by_output: dict[Path, Path] = {}
    collisions: list[tuple[Path, str]] = []  # all of them at once: fixing one per run is tedious
    chosen = _one_path_per_file([src for src, _ in candidates], resolved)
    all_sources = set(chosen)
    for src, dest in candidates:
        real = resolved[src]
        if chosen[real] != src:  # the same file reached twice: done once, under its own name
            if src.is_symlink() and not chosen[real].is_symlink():
                plan.skipped.append(
                    Record(display(src), f"a link to {display(chosen[real])}, which is done under its own name")
                )
            continue
        if in_place:  # write to the real file, so a symlinked photo is updated rather than replaced by a copy
            plan.jobs.append(Job(src, real, replaces_input=True, kind=job_kind(src)))
            continue
        dest = dest.resolve() if dest.exists() else dest
        clash = _collision(src, real, dest, all_sources, by_output)
        if clash is not None:
            collisions.append((dest, clash))
            continue
        by_output[dest] = src
        if is_done(dest) and not overwrite:
            plan.skipped.append(Record(display(src), f"output exists: {display(dest)} (use --overwrite to redo)"))
            plan.done.append(dest)
            continue
        if dest.is_dir():
            collisions.append((dest, f"{display(dest)}: output path is a folder; remove it or choose another -o DIR"))
            continue
        plan.jobs.append(Job(src, dest, kind=job_kind(src)))
    if collisions:
        first = collisions[0][0]
        more = [str(display(d)) for d in dict.fromkeys(d for d, _ in collisions) if d != first]
        also = f" (and {len(more)} more output(s) with the same problem: {', '.join(more)})" if more else ""
        raise InputError(collisions[0][1] + also)


def _real_paths(paths: list[Path]) -> dict[Path, Path]:
    """Each path → the real file it names. Each folder is resolved once, and a file is looked at only to
    see whether it is a link itself: resolving 20,000 photos one by one took as long as the rest of the
    planning, and more on a network file system."""
    folders: dict[Path, Path] = {}
    real: dict[Path, Path] = {}
    for path in paths:
        if is_link(path):
            real[path] = path.resolve()
            continue
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = path.parent.resolve()
        real[path] = folder / path.name
    return real


def _one_path_per_file(paths: list[Path], resolved: dict[Path, Path]) -> dict[Path, Path]:
    """Each real file → the path it is done under: the first reached, unless a later one is the file
    itself rather than a symbolic link to it (an album cover linked to a photo must not take the
    photo's place in the mirrored tree)."""
    chosen: dict[Path, Path] = {}
    for src in paths:
        real = resolved[src]
        if real not in chosen or (is_link(chosen[real]) and not is_link(src)):
            chosen[real] = src
    return chosen


def _collision(src: Path, real: Path, dest: Path, all_sources: set[Path], by_output: dict[Path, Path]) -> str | None:
    """Why ``dest`` cannot be written (it is an input, or another input's output already), or None."""
    if dest in all_sources or dest == real:
        return f"{display(dest)}: output would overwrite an input photo; pass another -o DIR"
    other = by_output.get(dest)
    if other is None:
        return None
    why = _clash_reason(other, src)
    return f"{display(dest)}: both {display(other)} and {display(src)} would be written here; {why}"


def _clash_reason(first: Path, second: Path) -> str:
    """Why two different files share an output, in words that fit the case: the reason told must be the
    one that holds (one photo named twice was once told its names "differ only in the extension, which
    --format makes the same", with no --format given). Without --format an output keeps its input's name,
    so only files of the same name in different folders can meet; with it, ``a.jpg`` and ``a.png`` too."""
    if first.parent == second.parent and first.stem == second.stem and first.suffix != second.suffix:
        return "their names differ only in the extension, which --format makes the same"
    where = "the same name in different folders"
    if first.name != second.name:
        where += ", once --format gives them the same extension"
    return f"give each input its own -o folder, or pass their common parent folder instead ({where})"


def plan_clips(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    overwrite: bool = False,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """``--frames``: every folder that directly holds frames is one clip, written as a folder of frames.

    Built on :func:`plan_jobs` (so outputs land where the photos of those folders would, with the same
    safety checks), then grouped by folder: a job's ``source`` is the clip folder, its ``output`` the
    output folder, its ``kind`` ``"frames"``. A clip given directly with ``-o DIR`` goes to
    ``DIR/<clip name>``, never to DIR itself: a clip's output folder is replaced as a whole, and the
    folder a user names must never be. A clip whose output folder exists is skipped unless ``overwrite``.
    """
    bad = [Record(display(Path(i)), "--frames takes folders of frames, not files") for i in inputs
           if Path(i).is_file()]  # fmt: skip
    folders = [i for i in inputs if not Path(i).is_file()]
    frames = plan_jobs(folders, output_dir, tag=tag, overwrite=True, check_writable=False, shard=shard,
                       shard_files=False)  # fmt: skip
    plan = Plan(skipped=frames.skipped, failed=[*frames.failed, *bad], output_dir=frames.output_dir)
    clips = _clip_outputs(frames.jobs, Path(output_dir).resolve() if output_dir is not None else None)
    for folder, out in clips.items():
        if not in_shard(_clip_key(folder, folders), shard):
            plan.other_shards += 1
        elif is_done(out) and not overwrite:
            plan.skipped.append(Record(display(folder), f"output exists: {display(out)} (use --overwrite to redo)"))
            plan.done.append(out)
        else:
            plan.jobs.append(Job(folder, out, kind="frames"))
    check_writable_folders({j.output.parent for j in plan.jobs}, given=output_dir)
    return plan


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
        if out_root is not None and out.resolve() == out_root:
            out = out / job.source.parent.resolve().name
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
        inputs, output_dir, tag=tag, overwrite=overwrite, in_place=in_place, shard=shard,
        accept=is_video_path if media.frames else _photo_or_video, kind="an image or video file",
        suffix_for=lambda dest, _fmt: formats.rename(dest),
    )  # fmt: skip
    if media.frames:
        _add_clips(plan, inputs, output_dir, tag=tag, overwrite=overwrite, shard=shard)
    for suffix in sorted({j.output.suffix for j in plan.jobs if is_video_path(j.output)}):
        check_encoder(media.video, suffix)
    return plan


def _add_clips(
    plan: Plan,
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None,
    *,
    tag: str,
    overwrite: bool,
    shard: tuple[int, int] | None,
) -> None:
    """``--frames``: add the clips among ``inputs`` to ``plan``, whose jobs are the videos only."""
    folders = [p for p in inputs if not Path(p).is_file()]
    clips = plan_clips(folders, output_dir, tag=tag, overwrite=overwrite, shard=shard)
    plan.skipped = [r for r in plan.skipped if not is_image_path(r.path)]  # frames of clips, not skips
    plan.failed += [
        Record(Path(p), "--frames takes folders of frames (and videos), not single images")
        for p in inputs if Path(p).is_file() and is_image_path(Path(p))
    ]  # fmt: skip
    plan.jobs += clips.jobs
    plan.done += clips.done
    # Videos are jobs, not skips; a file both walks reached (a text file beside the frames) is listed once.
    plan.skipped = one_per_path([*plan.skipped, *(r for r in clips.skipped if not is_video_path(r.path))])
    plan.failed += clips.failed
    plan.other_shards += clips.other_shards
    plan.failed = list(dict.fromkeys(plan.failed))  # a missing path was tried as a file and as a clip


def plan_batch(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    tag: str,
    formats: OutputFormat = OutputFormat(),
    media: MediaOptions | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """The plan of a command: photos only when ``media`` is None, else :func:`plan_media` (``desnow``, ``derain``).

    An ``output_dir`` that does not exist and is named like a photo or video is refused first
    (:func:`~weatherclean.batch.outputs.check_output_folder`): it would become a folder that looks like a file.
    """
    check_output_folder(output_dir)
    if media is None:
        return plan_jobs(
            inputs, output_dir, tag=tag, overwrite=overwrite, in_place=in_place, format=formats.image, shard=shard
        )
    return plan_media(
        inputs, output_dir, tag=tag, media=media, formats=formats, overwrite=overwrite, in_place=in_place, shard=shard
    )


def require_an_input(plan: Plan) -> None:
    """Raise :class:`InputError` (the CLI's exit code 2) when nothing could run because no input given exists."""
    missing = plan.missing_only()
    if len(missing) == 1:
        raise InputError(f"{missing[0].path}: {missing[0].reason}; nothing to do")
    if missing:
        listed = ", ".join(str(r.path) for r in missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise InputError(f"none of the {len(missing)} inputs exists or matches a file ({listed}); nothing to do")
