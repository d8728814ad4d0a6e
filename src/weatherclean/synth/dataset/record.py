"""OUT_DIR holds one run: its record, and what a new run does with it (resume, refuse, or start over).

A finished run leaves ``synth.json`` beside its folders; an unfinished one leaves ``synth.progress.jsonl``
instead: the run's options on its first line, then one line per item as it is finished (:class:`Journal`).
Before any work, :func:`plan_run` reads whichever is there and decides: the same command with the same
options and photos resumes (the items already whole are kept); anything else is refused, unless
``overwrite``, which removes the earlier run's outputs first: only those its record names, in synth's own
folders, so a picture synth did not write is never deleted. Without a record nothing is ever removed (a
folder of pictures named like this run's outputs is refused, ``overwrite`` or not), a synth folder that is a
symbolic link (``gt`` linked to the photos) is refused, and nothing is removed that does not lie in one of
OUT_DIR's own synth folders (:func:`remove_entry` does not follow a link out of it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from weatherclean.errors import DiskFullError, InputError, OutputError, is_disk_full
from weatherclean.versions import release_name, same_release

__all__ = [
    "PROGRESS_NAME", "RAIN", "RAIN_FOLDERS", "RECORD_NAME", "SNOW", "SNOW_FOLDERS", "SYNTH_FOLDERS", "TEMP_PREFIX",
    "BadRecord", "Journal", "Kind", "Plan", "Record", "check_folders", "clear_for_run", "holds_run",
    "is_clip_folder", "plan_run", "read_record", "remove_entry", "remove_item", "write_record",
]  # fmt: skip

#: Folders written under OUT_DIR by ``synth snow``; the first three are the Snow100K layout, ``aberration``
#: is ours.
SNOW_FOLDERS: tuple[str, ...] = ("synthetic", "gt", "mask", "aberration")
#: Folders written under OUT_DIR by ``synth rain``: O, B, S, alpha and A of the hybrid rain model.
RAIN_FOLDERS: tuple[str, ...] = ("rain", "gt", "streak", "alpha", "reliance")
#: Every folder either command writes: an earlier run of the other command is an earlier run too.
SYNTH_FOLDERS: tuple[str, ...] = tuple(dict.fromkeys(SNOW_FOLDERS + RAIN_FOLDERS))
#: What a finished run leaves beside its folders, and what an unfinished one leaves instead.
RECORD_NAME = "synth.json"
PROGRESS_NAME = "synth.progress.jsonl"
#: How the temporaries of an item being written start (hidden, so no reader lists them).
TEMP_PREFIX = ".synth-"
FRAME_NAME = re.compile(r"\d{5}\.png")


@dataclass(frozen=True)
class Kind:
    """What one command writes: its folders (the weather picture's first) and how synth.json lists items."""

    command: str
    folders: tuple[str, ...]
    items_key: str
    clips: bool = False

    @property
    def generator(self) -> str:
        return f"weatherclean {self.command}"

    def entry(self, name: str) -> str:
        """An item's name in each of its folders: a file, or a clip's folder."""
        return name if self.clips else f"{name}.png"

    def with_clips(self, clips: bool) -> Kind:
        return replace(self, clips=clips)


SNOW = Kind("synth snow", SNOW_FOLDERS, "levels")
RAIN = Kind("synth rain", RAIN_FOLDERS, "items")


def _kind_of(generator: object) -> Kind | None:
    return {SNOW.generator: SNOW, RAIN.generator: RAIN}.get(generator) if isinstance(generator, str) else None


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` is the OUT_DIR of a synth run (finished or not)."""
    return (folder / RECORD_NAME).is_file() or (folder / PROGRESS_NAME).is_file()


@dataclass
class Record:
    """An earlier run in OUT_DIR: its synth.json (finished) or synth.progress.jsonl (interrupted)."""

    path: Path
    finished: bool
    meta: dict[str, Any]
    done: dict[str, Any]  # item name → what synth.json says of it
    inputs: dict[str, str] | None  # every item name of that run → its photo below CLEAN_DIR, in order

    @property
    def kind(self) -> Kind | None:
        return _kind_of(self.meta.get("generator"))

    @property
    def names(self) -> set[str]:
        return set(self.done) | set(self.inputs or ())

    @property
    def state(self) -> str:
        return "finished" if self.finished else "interrupted"


class BadRecord(Exception):
    """A synth.json (or progress file) that is not a synth run's."""


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_record(out_dir: Path) -> Record | None:
    """The earlier run in ``out_dir``, None when there is none; :class:`BadRecord` when its record is not one."""
    progress, record = out_dir / PROGRESS_NAME, out_dir / RECORD_NAME
    for path, finished in ((progress, False), (record, True)):  # both: the run was ending; progress is whole
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise BadRecord(f"{path}: cannot read it ({exc.strerror or exc})") from None
        meta = _json_object("\n".join(lines) if finished else (lines[0] if lines else ""))
        if meta is None or _kind_of(meta.get("generator")) is None:
            raise BadRecord(f"{path}: not a record of a synth run")
        if finished:
            listed = meta.get(_kind_of(meta.get("generator")).items_key)  # type: ignore[union-attr]
            done = dict(listed) if isinstance(listed, dict) else {}
            detail = meta.get("items")  # snow's per-item styles and veil, beside its "levels"
            if isinstance(detail, dict):
                done.update({name: value for name, value in detail.items() if name in done})
        else:  # one line per finished item; a line cut short by a crash is no item
            done = {}
            for line in lines[1:]:
                item = _json_object(line)
                if item is not None and isinstance(item.get("name"), str):
                    done[item["name"]] = item.get("meta")
        inputs = meta.get("inputs")
        if not (isinstance(inputs, dict) and all(isinstance(v, str) for v in inputs.values())):
            inputs = None
        return Record(path, finished, meta, done, inputs)
    return None


class Journal:
    """synth.progress.jsonl: the run's options (first line), then one line per item as it is finished."""

    def __init__(self, path: Path, header: dict[str, Any], kept: dict[str, Any]) -> None:
        from weatherclean.io.atomic import atomic_write

        lines = [json.dumps(header)] + [json.dumps({"name": n, "meta": m}) for n, m in kept.items()]
        atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def add(self, name: str, meta: Any) -> None:
        """Record one finished item; a full disk is :class:`~weatherclean.errors.DiskFullError` (the run
        stops; a line cut short is no item, so the rerun makes it again)."""
        try:
            self._fh.write(json.dumps({"name": name, "meta": meta}) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFullError(
                    f"{self.path}: disk full ({exc.strerror or exc}); free some space and rerun the same command "
                    "to resume"
                ) from None
            raise

    def close(self) -> None:
        self._fh.close()


def write_record(out_dir: Path, meta: dict[str, Any]) -> None:
    """Write synth.json, in place of the progress file: the run is finished."""
    from weatherclean.io.atomic import atomic_write

    atomic_write(out_dir / RECORD_NAME, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    (out_dir / PROGRESS_NAME).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------
# What OUT_DIR holds, and the plan: resume, refuse, or remove the earlier run's outputs
# --------------------------------------------------------------------------------------------------


def is_clip_folder(folder: Path) -> bool:
    """A folder that holds nothing but frames (``00001.png``...) and hidden files: what synth writes."""
    try:
        return all((FRAME_NAME.fullmatch(p.name) or p.name.startswith(".")) and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _entries(out_dir: Path) -> list[Path]:
    """The pictures and folders in synth's folders of OUT_DIR: what an evaluation would read."""
    from weatherclean.io.media import is_visible_image

    found = []
    for folder in SYNTH_FOLDERS:
        if (out_dir / folder).is_dir():
            found += [p for p in (out_dir / folder).iterdir() if not p.name.startswith(".") and
                      (p.is_dir() or is_visible_image(p))]  # fmt: skip
    return sorted(found)


def _entry_is(entry: Path, names: set[str] | dict[str, Any], folders: tuple[str, ...], clips: bool | None) -> bool:
    """Whether ``entry`` is one of ``names``' outputs in ``folders``: NAME.png, or a clip folder NAME
    (``clips`` None: either)."""
    if entry.parent.name not in folders:
        return False
    if entry.is_dir():
        return clips is not False and entry.name in names and is_clip_folder(entry)
    return clips is not True and entry.suffix == ".png" and entry.name[: -len(".png")] in names


def _option_text(key: str, value: Any) -> str:
    """An option as the user typed it, for "made with --level M, not --level L"."""
    if key == "frames" and value == 1:
        return ""  # no clips: --clips says it
    if key == "haze":
        return "--haze" if value else "--no-haze"
    if key == "clips":
        return "--clips" if value else "no --clips"
    if key == "size":
        return f"--size {value[0]}x{value[1]}" if isinstance(value, list) and len(value) == 2 else "no --size"
    return f"--{key} {value}"


def _held(record: Record, command: str) -> str:
    """``holds a finished synth snow run`` / ``holds an interrupted ...``: how every refusal starts."""
    return f"holds {'a' if record.finished else 'an'} {record.state} {command} run"


def _unrecorded(meta: dict[str, Any], key: str) -> bool:
    """Whether a record leaves option ``key`` out (an earlier development version did not record it); ``size``
    may be recorded as null (no ``--size``)."""
    return key not in meta or (meta[key] is None and key != "size")


def _or(options: list[str]) -> str:
    """``--style``, ``--style or --haze``, ``--style, --haze or --clips``."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _not_resumable(record: Record, kind: Kind, options: dict[str, Any], inputs: dict[str, str]) -> str | None:
    """Why this run cannot carry on from ``record`` (None: it can); a record of another release is
    :func:`_other_version`'s, asked first (one of this release with another label resumes), so the version is
    settled by then and is never among the options compared here.

    Options are listed with a comma between them, the record's and then this command's, defaults included:
    the record cannot tell which of its options were typed, nor can this command tell the caller's. Options
    the record leaves out are named apart (``whose synth.json names no --style``): an earlier development
    version of this release did not record them, and "--style not recorded" read as an option to type."""
    if record.kind is None or record.kind.command != kind.command:
        return _held(record, str(record.meta.get("generator")).removeprefix("weatherclean "))
    changed = [key for key, value in options.items() if key != "version" and record.meta.get(key) != value]
    if changed:
        missing = [key for key in changed if _unrecorded(record.meta, key)]
        other = [key for key in changed if key not in missing]
        made = []
        if other:
            made.append("made with " + ", ".join(filter(None, (_option_text(k, record.meta[k]) for k in other))))
        if missing:
            made.append(
                f"whose {record.path.name} names no {_or([f'--{key}' for key in missing])} (an earlier "
                f"{release_name(str(options.get('version') or ''))} development version)"
            )
        now = ", ".join(filter(None, (_option_text(key, options[key]) for key in changed)))
        return f"{_held(record, kind.command)} {' and '.join(made)}, where this command has {now} (defaults included)"
    if record.inputs is None:
        return f"{_held(record, kind.command)} whose {record.path.name} does not list its photos"
    old = {name: (i, src) for i, (name, src) in enumerate(record.inputs.items())}
    new = {name: (i, src) for i, (name, src) in enumerate(inputs.items())}
    for name in record.done:
        if name not in new:
            return f"{_held(record, kind.command)} with items this run would not make (e.g. {name})"
        if old.get(name) != new[name]:
            return f"{_held(record, kind.command)} made from another list of photos (e.g. {name})"
    return None


def _other_version(out_dir: Path, record: Record, kind: Kind, options: dict[str, Any]) -> str | None:
    """The refusal, whole, of a run of this command made by another weatherclean release (None: the same release,
    by :func:`~weatherclean.versions.same_release`, the rule ``train`` resumes by; or another command's run,
    which :func:`_not_resumable` names).

    Why a message of its own: the versions draw different weather from the same seed (0.1.0's snow and
    0.2.0's differ), so such a run can be neither resumed nor matched by any options, and listing the
    options the old version did not record (``--style``, ``--haze``), or this version's defaults, as the
    difference sent users hunting for options they never typed."""
    if record.kind is None or record.kind.command != kind.command or "version" not in options:
        return None
    was, now = record.meta.get("version"), options["version"]
    if same_release(was, now):
        return None
    made = f"weatherclean {was}" if isinstance(was, str) and was else "an earlier weatherclean (no version recorded)"
    why = (
        f"{out_dir}: {_held(record, kind.command)} made by {made}, not this weatherclean {now}: another version "
        "draws other weather, so the same seed gives other pictures"
    )
    if record.finished:
        return f"{why}; pass --overwrite to replace it with this version's pictures, or choose another OUT_DIR"
    maker = made if isinstance(was, str) and was else "the weatherclean that made it"
    return (
        f"{why}, so it cannot be resumed: finish it with {maker} (installed in another environment, not over this "
        "one), pass --overwrite to start over with this version's pictures, or choose another OUT_DIR"
    )


@dataclass
class Plan:
    kept: dict[str, Any]  # items of an interrupted (or finished) run of the same command, kept as they are
    remove: list[Path]  # earlier outputs to remove before any work


def check_folders(out_dir: Path, clean_dir: Path) -> None:
    """Refuse, before any work, an OUT_DIR whose synth folders are not its own: one that is a symbolic link
    (``gt`` linked to the photos is a common dataset layout: synth would write into, and ``overwrite`` remove
    from, the folder it points to), or one that is CLEAN_DIR, holds it, or lies inside it other than by OUT_DIR
    lying there (which is fine: CLEAN_DIR's walk leaves OUT_DIR out)."""
    out_resolved, clean_resolved = out_dir.resolve(), clean_dir.resolve()
    for name in SYNTH_FOLDERS:
        folder = out_dir / name
        if folder.is_symlink():
            try:
                target = f" (to {os.readlink(folder)})"
            except OSError:
                target = ""
            raise InputError(
                f"{folder}: is a symbolic link{target}; synth writes, and with --overwrite removes, only in folders of "
                "its own: replace the link with a folder, or choose another OUT_DIR"
            )
        resolved = Path(os.path.realpath(folder))
        if resolved == clean_resolved or resolved in clean_resolved.parents:
            raise InputError(
                f"{folder}: is CLEAN_DIR ({clean_dir}) or holds it; synth would write over the photos: choose "
                "another OUT_DIR"
            )
        if clean_resolved in resolved.parents and clean_resolved not in out_resolved.parents:
            raise InputError(
                f"{folder}: lies inside CLEAN_DIR ({clean_dir}); synth would write among the photos: choose another "
                "OUT_DIR"
            )


def _examples(entries: list[Path], out_dir: Path, count: int = 3) -> str:
    """A few entries, as the user finds them below OUT_DIR (``gt/a.png, gt/b.png, gt/c.png``)."""
    return ", ".join(e.relative_to(out_dir).as_posix() for e in entries[:count])


def plan_run(
    out_dir: Path, clean_dir: Path, kind: Kind, options: dict[str, Any], inputs: dict[str, str], overwrite: bool
) -> Plan:
    """Resume, start over, or refuse (before any work): OUT_DIR must come to hold this run and nothing else.

    Only what a record (synth.json, or the progress file) lists is ever removed: without one, a picture or
    folder in synth's folders is refused, ``overwrite`` or not."""
    check_folders(out_dir, clean_dir)
    try:
        record, problem = read_record(out_dir), None
    except BadRecord as exc:
        record, problem = None, str(exc)
    names = set(inputs)
    entries = _entries(out_dir)
    if record is None:
        if entries:
            raise InputError(
                f"{out_dir}: holds {len(entries)} picture(s) or folder(s) in synth's folders (e.g. "
                f"{_examples(entries, out_dir)}) and no record of a synth run ({RECORD_NAME} or {PROGRESS_NAME}) that "
                "lists them; synth removes only what its record lists, not these, even with --overwrite: move them "
                "away or choose another OUT_DIR"
            )
        if problem is not None and not overwrite:
            raise InputError(f"{problem}; pass --overwrite to replace it, or choose another OUT_DIR")
        return Plan({}, [])
    recorded = [e for e in entries if _entry_is(e, record.names, _folders(record), None)]
    mine = [e for e in entries if e not in recorded and _entry_is(e, names, kind.folders, kind.clips)]
    foreign = [e for e in entries if e not in recorded and e not in mine]
    if foreign:
        raise InputError(
            f"{out_dir}: holds {len(foreign)} picture(s) or folder(s) that no {RECORD_NAME} there lists (e.g. "
            f"{_examples(foreign, out_dir)}); synth replaces only its own outputs: move them away or choose another "
            "OUT_DIR"
        )
    if overwrite:
        return _checked(out_dir, Plan({}, recorded + mine))
    other_version = _other_version(out_dir, record, kind, options)
    if other_version is not None:
        raise InputError(other_version)
    why = _not_resumable(record, kind, options, inputs)
    if why is not None:
        again = "rerun with the same options to resume, or " if not record.finished else ""
        raise InputError(f"{out_dir}: {why}; {again}pass --overwrite to replace it, or choose another OUT_DIR")
    if mine:
        raise InputError(
            f"{out_dir}: holds {len(mine)} output(s) that its {record.path.name} does not list "
            f"(e.g. {mine[0].relative_to(out_dir).as_posix()}); pass --overwrite to start over"
        )
    kept = {n: m for n, m in record.done.items() if _complete(out_dir, kind, n)}
    leftovers = [e for e in recorded if not _entry_is(e, names, kind.folders, kind.clips)]
    return _checked(out_dir, Plan(kept, leftovers))


def _checked(out_dir: Path, plan: Plan) -> Plan:
    """``plan``, refused before any work if it would remove anything that is not synth's own (a link out)."""
    for entry in plan.remove:
        why = _not_own(out_dir, entry)
        if why is not None:
            raise InputError(
                f"{out_dir}: {why}; synth removes only what it wrote there: move it away or choose another OUT_DIR"
            )
    return plan


def _not_own(out_dir: Path, entry: Path) -> str | None:
    """Why ``entry`` is not synth's to remove (None: it is): it must lie in one of synth's folders of OUT_DIR,
    that folder not a link, and a link there must point into the same folder (it is not followed out)."""
    folder = entry.parent
    shown = entry.relative_to(out_dir).as_posix() if entry.is_relative_to(out_dir) else str(entry)
    if folder.name not in SYNTH_FOLDERS or folder.parent != out_dir:
        return f"{shown} is not in one of synth's folders"
    if folder.is_symlink():
        return f"{folder.name} is a symbolic link"
    home = Path(os.path.realpath(out_dir)) / folder.name
    target = Path(os.path.realpath(entry))
    if Path(os.path.realpath(folder)) != home or target.parent != home:
        return f"{shown} is a symbolic link to {target}, outside {folder.name}/"
    return None


def _folders(record: Record) -> tuple[str, ...]:
    kind = record.kind
    return kind.folders if kind is not None else SYNTH_FOLDERS


def _complete(out_dir: Path, kind: Kind, name: str) -> bool:
    """Whether every file (or clip folder) of an item is there."""
    for folder in kind.folders:
        path = out_dir / folder / kind.entry(name)
        whole = path.is_dir() and any(path.iterdir()) if kind.clips else path.is_file()
        if not whole:
            return False
    return True


def clear_for_run(out_dir: Path, kind: Kind, plan: Plan) -> None:
    """Check that OUT_DIR can be written, remove what ``plan`` says (and temporaries a killed run left), and
    make the command's folders."""
    _check_writable(out_dir, kind)
    try:
        for entry in plan.remove:
            remove_entry(out_dir, entry)
        _remove_temporaries(out_dir, kind)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot remove the earlier run's outputs ({exc.strerror or exc})") from None
    _make_folders(out_dir, kind.folders)


def remove_entry(out_dir: Path, entry: Path) -> None:
    """Remove one earlier output: a picture, or a clip folder's frames and then the folder.

    :class:`~weatherclean.errors.OutputError`, removing nothing, unless ``entry`` lies in one of OUT_DIR's own
    synth folders (a link is never followed out of it)."""
    why = _not_own(out_dir, entry)
    if why is not None:
        raise OutputError(f"{out_dir}: {why}; synth removes only what it wrote there: move it away")
    if entry.is_dir() and not entry.is_symlink():
        for frame in entry.iterdir():
            if (FRAME_NAME.fullmatch(frame.name) or frame.name.startswith(".")) and not frame.is_dir():
                frame.unlink()
        entry.rmdir()  # fails, keeping it, if anything else is in it
    else:
        entry.unlink(missing_ok=True)


def remove_item(out_dir: Path, kind: Kind, name: str) -> None:
    """Leave nothing under a failed item's name (an earlier run's files included): OUT_DIR holds one run."""
    for folder in kind.folders:
        path = out_dir / folder / kind.entry(name)
        if path.is_dir() == kind.clips and (path.exists() or path.is_symlink()):
            with contextlib.suppress(OSError, OutputError):  # what is not synth's own stays
                remove_entry(out_dir, path)


def _remove_temporaries(out_dir: Path, kind: Kind) -> None:
    """Temporary clip folders a killed run left (Ctrl-C removes its own)."""
    for folder in kind.folders:
        with contextlib.suppress(OSError):
            for tmp in (out_dir / folder).glob(f"{TEMP_PREFIX}*.part"):
                if tmp.is_dir() and not tmp.is_symlink() and _not_own(out_dir, tmp) is None:
                    shutil.rmtree(tmp, ignore_errors=True)


def _check_writable(out_dir: Path, kind: Kind) -> None:
    from weatherclean.io.folders import check_writable_folders

    resolved = out_dir.resolve()
    check_writable_folders(
        [resolved, *(resolved / folder for folder in kind.folders)], given=out_dir, hint="choose another OUT_DIR"
    )


def _make_folders(out_dir: Path, folders: tuple[str, ...]) -> None:
    for folder in folders:
        try:
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{out_dir / folder}: cannot create output folder ({exc.strerror or exc})") from None
