"""``weatherclean synth snow`` and ``synth rain``: put synthetic weather on a folder of clean photos.

``snow`` writes a Snow100K-style dataset; ``rain`` writes rainy images, or rainy clips filmed from each
photo with a moving camera, with their ground truth, streak, occlusion and reliance maps. The weather
models live in :mod:`weatherclean.synth`; this module lists files, writes PNGs and reports.

An OUT_DIR holds one run. Each item (a picture's set of files, or a clip's folders) is written to hidden
temporaries and moved into place together, the weather picture last, so a reader never sees half an item.
``synth.progress.jsonl`` records the run's options and each finished item while it runs; the same command
rerun after Ctrl-C resumes from it, and ``synth.json`` replaces it at the end. ``--overwrite`` removes an
earlier run's outputs (only those its record names, in synth's own folders) before starting over.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from weatherclean import __version__
from weatherclean.cli.common import EXIT_INTERRUPTED, EXIT_SOME_FAILED, cli_errors, console, err_console, fail
from weatherclean.errors import DiskFullError, InputError, OutputError, WeathercleanError
from weatherclean.synth.names import RAIN_LEVELS, RAIN_STYLES, SNOW_LEVELS, SNOW_STYLES

# NumPy, Pillow, SciPy and the synthesis code are imported inside the functions that use them: building the
# CLI (``weatherclean --help``) must stay quick.
if TYPE_CHECKING:
    import numpy as np

    from weatherclean.synth.common import StyleChoice

#: Folders written under OUT_DIR; the first three are the Snow100K layout, ``aberration`` is ours.
OUTPUT_FOLDERS: tuple[str, ...] = ("synthetic", "gt", "mask", "aberration")
#: Folders written under OUT_DIR by ``synth rain``: O, B, S, alpha and A of the hybrid rain model.
RAIN_FOLDERS: tuple[str, ...] = ("rain", "gt", "streak", "alpha", "reliance")
#: Every folder either command writes: an earlier run of the other command is an earlier run too.
SYNTH_FOLDERS: tuple[str, ...] = tuple(dict.fromkeys(OUTPUT_FOLDERS + RAIN_FOLDERS))
#: What a finished run leaves beside its folders, and what an unfinished one leaves instead.
RECORD_NAME = "synth.json"
PROGRESS_NAME = "synth.progress.jsonl"
#: A frame size beyond which no clean photo gives a useful picture, and which would not fit in memory.
MAX_FRAME_PIXELS = 100_000_000
#: Memory that synthesis takes per output pixel: snow 145 bytes; rain about 130 per pixel of each frame plus
#: two frames' worth (a still takes 310-440), measured on 1-10 MP pictures.
BYTES_PER_PIXEL = 150
#: Bytes per pixel of the photo itself (float32, upright copy), counted when it is not the output size.
_PHOTO_BYTES = 48


def _rain_bytes(frames: int, pixels: int) -> int:
    """About how much memory a rain picture or clip of ``frames`` frames of ``pixels`` pixels takes."""
    return (frames + 2) * pixels * BYTES_PER_PIXEL


#: The smallest side ``evaluate`` can score: SSIM's 11x11 window.
SSIM_SIDE = 11
_TEMP_PREFIX = ".synth-"
_FRAME_NAME = re.compile(r"\d{5}\.png")


class Level(StrEnum):
    S = "S"
    M = "M"
    L = "L"
    mixed = "mixed"


class RainLevelChoice(StrEnum):
    light = "light"
    heavy = "heavy"
    mixed = "mixed"


def register(app: typer.Typer) -> None:
    """Add the ``synth`` group (with ``snow``) to the root app."""
    synth_app = typer.Typer(
        help="Make synthetic weather on clean photos (training and test data).",
        no_args_is_help=True,
    )
    synth_app.command("snow")(snow_command)
    synth_app.command("rain")(rain_command)
    app.add_typer(synth_app, name="synth")


def _to_u8(arr: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def _name_for(path: Path, root: Path) -> str:
    """Output name: the path below CLEAN_DIR without suffix, '/' → '_', so nested files cannot clash."""
    return path.relative_to(root).with_suffix("").as_posix().replace("/", "_")


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# Options and inputs, checked before any work
# --------------------------------------------------------------------------------------------------


def _parse_styles(given: list[str], weather: str, known: tuple[str, ...]) -> tuple[list[str] | None, str]:
    """``--style`` values as the names to draw from (None: all) and the label synth.json keeps.

    Several names are drawn as ``train --style`` draws them: one to three of them per item."""
    names = list(dict.fromkeys(s.strip().lower() for s in given))
    if not names or names == ["mixed"]:
        return None, "mixed"
    if "mixed" in names:
        raise InputError("--style mixed draws from every style; give it alone, or name the styles to draw from")
    if unknown := [n for n in names if n not in known]:
        raise InputError(f"--style {unknown[0]}: unknown {weather} style {unknown[0]!r}: use one of {', '.join(known)}")
    return names, ",".join(names)


def _parse_size(size: str | None, crop: int | None) -> tuple[int, int] | None:
    if size is not None and crop is not None:
        raise InputError("pass either --size HxW or --crop N, not both")
    if crop is not None:
        return crop, crop
    if size is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", size)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise InputError(f"--size {size!r}: write it as HEIGHTxWIDTH in pixels, e.g. 360x640")
    return int(m.group(1)), int(m.group(2))


def _physical_memory() -> int | None:
    """Bytes of RAM this machine has (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _check_view(option: str, view: tuple[int, int], frames: int) -> None:
    """Refuse, before any work, a --size/--crop (and --frames) that no machine of this size can make."""
    h, w = view
    if h * w > MAX_FRAME_PIXELS:
        raise InputError(
            f"{option}: {h * w / 1e6:,.0f} megapixels a frame; synth makes frames of at most "
            f"{MAX_FRAME_PIXELS // 1_000_000} megapixels: pass a smaller size"
        )
    need, ram = _rain_bytes(frames, h * w), _physical_memory()
    if ram is not None and need > ram:
        what = f"{option} with --frames {frames}: a clip" if frames > 1 else f"{option}: a picture"
        raise InputError(
            f"{what} needs about {_gib(need)} of memory, more than this machine has ({_gib(ram)}); pass "
            + ("fewer --frames or a smaller size" if frames > 1 else "a smaller size")
        )


def _check_fits(path: Path, frames: int, size: tuple[int, int], need: int, advice: str) -> None:
    """Refuse one photo whose output (``frames`` of ``size``) would take more memory than the machine has,
    rather than swap for hours or be killed mid-way."""
    h, w = size
    ram = _physical_memory()
    if ram is not None and need > ram:
        what = f"a clip of {frames} frames of {h}x{w}" if frames > 1 else f"a {h}x{w} picture"
        raise InputError(
            f"{path}: {what} needs about {_gib(need)} of memory, more than this machine has ({_gib(ram)}); {advice}"
        )


def _holds_run(folder: Path) -> bool:
    """Whether ``folder`` is the OUT_DIR of a synth run (finished or not)."""
    return (folder / RECORD_NAME).is_file() or (folder / PROGRESS_NAME).is_file()


def _list_inputs(clean_dir: Path, out_dir: Path, limit: int | None, *, output_name: str) -> dict[str, Path]:
    """Output name → clean image, checked before any work: a folder with images, and no name clashes.

    OUT_DIR may sit inside CLEAN_DIR, so nothing under it is ever read back as a clean photo; nor is any other
    folder that holds an earlier synth output (a ``synth.json``), nor a hidden folder (``.thumbnails/``).
    """
    from weatherclean.data.images import walk_files
    from weatherclean.io.media import is_visible_image

    if not clean_dir.exists():
        raise InputError(f"{clean_dir}: not found; pass a folder of clean photos")
    if not clean_dir.is_dir():
        raise InputError(f"{clean_dir}: not a folder; pass a folder of clean photos")
    clean_resolved, out_resolved = clean_dir.resolve(), out_dir.resolve()
    if out_resolved == clean_resolved:
        raise InputError(
            f"{out_dir}: OUT_DIR is CLEAN_DIR; write the dataset to another folder (one inside CLEAN_DIR is fine)"
        )
    if out_resolved in clean_resolved.parents:
        raise InputError(
            f"{out_dir}: OUT_DIR holds CLEAN_DIR ({clean_dir}); write the dataset to a folder outside it (one "
            "inside CLEAN_DIR is fine)"
        )
    if _holds_run(clean_dir):
        raise InputError(
            f"{clean_dir}: holds {RECORD_NAME}: it is the output of an earlier synth, not a folder of clean photos"
        )
    earlier: list[Path] = []

    def skip_folder(folder: Path) -> bool:
        if folder.resolve() == out_resolved:
            return True
        if _holds_run(folder):
            earlier.append(folder)
            return True
        return False

    images: list[Path] = []
    others: list[Path] = []
    for path in walk_files(clean_dir, skip_folder=skip_folder):
        if is_visible_image(path):
            images.append(path)
        elif path.is_file():
            others.append(path)
    images.sort()
    if others:
        err_console.print(
            f"note: skipped {len(others)} non-image file(s) in {clean_dir} (e.g. {min(others).name})",
            highlight=False,
            soft_wrap=True,
        )
    if earlier:
        err_console.print(
            f"note: skipped {len(earlier)} folder(s) in {clean_dir} that hold an earlier synth output ({RECORD_NAME}; "
            f"e.g. {min(earlier).relative_to(clean_dir).as_posix()}): they are not clean photos",
            highlight=False,
            soft_wrap=True,
        )
    if not images:
        raise InputError(f"{clean_dir}: no images found (looked for .png, .jpg, .tif, ... recursively)")
    if limit is not None:
        images = images[:limit]
    names: dict[str, Path] = {}
    for path in images:  # a.jpg and a.png would both become a.png: refuse before any work
        name = _name_for(path, clean_dir)
        if name in names:
            written_as = output_name.format(name)
            raise InputError(f"{path} and {names[name]} would both be written as {written_as}; rename one of them")
        names[name] = path
    return names


# --------------------------------------------------------------------------------------------------
# OUT_DIR holds one run: the earlier run's record, and what this run does with it
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
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


def _kind_of(generator: object) -> _Kind | None:
    if generator == "weatherclean synth snow":
        return _Kind("synth snow", OUTPUT_FOLDERS, "levels")
    if generator == "weatherclean synth rain":
        return _Kind("synth rain", RAIN_FOLDERS, "items")
    return None


@dataclass
class _Record:
    """An earlier run in OUT_DIR: its synth.json (finished) or synth.progress.jsonl (interrupted)."""

    path: Path
    finished: bool
    meta: dict[str, Any]
    done: dict[str, Any]  # item name → what synth.json says of it
    inputs: dict[str, str] | None  # every item name of that run → its photo below CLEAN_DIR, in order

    @property
    def kind(self) -> _Kind | None:
        return _kind_of(self.meta.get("generator"))

    @property
    def names(self) -> set[str]:
        return set(self.done) | set(self.inputs or ())

    @property
    def state(self) -> str:
        return "finished" if self.finished else "interrupted"


class _BadRecord(Exception):
    """A synth.json (or progress file) that is not a synth run's."""


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_record(out_dir: Path) -> _Record | None:
    """The earlier run in ``out_dir``, None when there is none; :class:`_BadRecord` when its record is not one."""
    progress, record = out_dir / PROGRESS_NAME, out_dir / RECORD_NAME
    for path, finished in ((progress, False), (record, True)):  # both: the run was ending; progress is whole
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise _BadRecord(f"{path}: cannot read it ({exc.strerror or exc})") from None
        meta = _json_object("\n".join(lines) if finished else (lines[0] if lines else ""))
        if meta is None or _kind_of(meta.get("generator")) is None:
            raise _BadRecord(f"{path}: not a record of a synth run")
        if finished:
            listed = meta.get(_kind_of(meta.get("generator")).items_key)  # type: ignore[union-attr]
            done = dict(listed) if isinstance(listed, dict) else {}
        else:  # one line per finished item; a line cut short by a crash is no item
            done = {}
            for line in lines[1:]:
                item = _json_object(line)
                if item is not None and isinstance(item.get("name"), str):
                    done[item["name"]] = item.get("meta")
        inputs = meta.get("inputs")
        if not (isinstance(inputs, dict) and all(isinstance(v, str) for v in inputs.values())):
            inputs = None
        return _Record(path, finished, meta, done, inputs)
    return None


def _is_clip_folder(folder: Path) -> bool:
    """A folder that holds nothing but frames (``00001.png``...) and hidden files: what synth writes."""
    try:
        return all((_FRAME_NAME.fullmatch(p.name) or p.name.startswith(".")) and p.is_file() for p in folder.iterdir())
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
        return clips is not False and entry.name in names and _is_clip_folder(entry)
    return clips is not True and entry.suffix == ".png" and entry.name[: -len(".png")] in names


def _option_text(key: str, value: Any) -> str:
    """An option as the user typed it, for "made with --level M, not --level L"."""
    if key == "frames" and value == 1:
        return ""  # no clips: --clips says it
    if value is None and key != "size":
        return f"no {key} recorded"
    if key == "version":
        return f"weatherclean {value}"
    if key == "haze":
        return "--haze" if value else "--no-haze"
    if key == "clips":
        return "--clips" if value else "no --clips"
    if key == "size":
        return f"--size {value[0]}x{value[1]}" if isinstance(value, list) and len(value) == 2 else "no --size"
    return f"--{key} {value}"


def _not_resumable(record: _Record, kind: _Kind, options: dict[str, Any], inputs: dict[str, str]) -> str | None:
    """Why this run cannot carry on from ``record`` (None: it can)."""
    if record.kind is None or record.kind.command != kind.command:
        return f"holds a {record.state} {str(record.meta.get('generator')).removeprefix('weatherclean ')} run"
    changed = [key for key, value in options.items() if record.meta.get(key) != value]
    if changed:
        was = " ".join(filter(None, (_option_text(key, record.meta.get(key)) for key in changed)))
        now = " ".join(filter(None, (_option_text(key, options[key]) for key in changed)))
        return f"holds a {record.state} {kind.command} run made with {was}, not {now}"
    if record.inputs is None:
        return f"holds a {record.state} {kind.command} run whose {record.path.name} does not list its photos"
    old = {name: (i, src) for i, (name, src) in enumerate(record.inputs.items())}
    new = {name: (i, src) for i, (name, src) in enumerate(inputs.items())}
    for name in record.done:
        if name not in new:
            return f"holds a {record.state} {kind.command} run with items this run would not make (e.g. {name})"
        if old.get(name) != new[name]:
            return f"holds a {record.state} {kind.command} run made from another list of photos (e.g. {name})"
    return None


@dataclass
class _Plan:
    kept: dict[str, Any]  # items of an interrupted (or finished) run of the same command, kept as they are
    remove: list[Path]  # earlier outputs to remove before any work


def _plan(out_dir: Path, kind: _Kind, options: dict[str, Any], inputs: dict[str, str], overwrite: bool) -> _Plan:
    """Resume, start over, or refuse (before any work): OUT_DIR must come to hold this run and nothing else."""
    try:
        record, problem = _read_record(out_dir), None
    except _BadRecord as exc:
        record, problem = None, str(exc)
    names = set(inputs)
    entries = _entries(out_dir)
    recorded = [e for e in entries if record is not None and _entry_is(e, record.names, _folders(record), None)]
    mine = [e for e in entries if e not in recorded and _entry_is(e, names, kind.folders, kind.clips)]
    foreign = [e for e in entries if e not in recorded and e not in mine]
    if foreign:
        raise InputError(
            f"{out_dir}: holds {len(foreign)} picture(s) or folder(s) that no {RECORD_NAME} there lists (e.g. "
            f"{foreign[0].relative_to(out_dir).as_posix()}); synth replaces only its own outputs: move them away or "
            "choose another OUT_DIR"
        )
    if record is None:
        if problem is not None and not overwrite:
            raise InputError(f"{problem}; pass --overwrite to replace it, or choose another OUT_DIR")
        if mine and not overwrite:
            raise InputError(
                f"{out_dir}: already holds {len(mine)} output(s) of an earlier run "
                f"(e.g. {mine[0].relative_to(out_dir).as_posix()}); pass --overwrite to replace them or choose "
                "another OUT_DIR"
            )
        return _Plan({}, mine)
    if overwrite:
        return _Plan({}, recorded + mine)
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
    return _Plan(kept, leftovers)


def _folders(record: _Record) -> tuple[str, ...]:
    kind = record.kind
    return kind.folders if kind is not None else SYNTH_FOLDERS


def _complete(out_dir: Path, kind: _Kind, name: str) -> bool:
    """Whether every file (or clip folder) of an item is there."""
    for folder in kind.folders:
        path = out_dir / folder / kind.entry(name)
        whole = path.is_dir() and any(path.iterdir()) if kind.clips else path.is_file()
        if not whole:
            return False
    return True


def _remove_entry(entry: Path) -> None:
    """Remove one earlier output: a picture, or a clip folder's frames and then the folder."""
    if entry.is_dir() and not entry.is_symlink():
        for frame in entry.iterdir():
            if (_FRAME_NAME.fullmatch(frame.name) or frame.name.startswith(".")) and not frame.is_dir():
                frame.unlink()
        entry.rmdir()  # fails, keeping it, if anything else is in it
    else:
        entry.unlink(missing_ok=True)


def _remove_item(out_dir: Path, kind: _Kind, name: str) -> None:
    """Leave nothing under a failed item's name (an earlier run's files included): OUT_DIR holds one run."""
    for folder in kind.folders:
        path = out_dir / folder / kind.entry(name)
        if path.is_dir() == kind.clips and (path.exists() or path.is_symlink()):
            with contextlib.suppress(OSError):
                _remove_entry(path)


def _remove_temporaries(out_dir: Path, kind: _Kind) -> None:
    """Temporary clip folders a killed run left (Ctrl-C removes its own)."""
    for folder in kind.folders:
        with contextlib.suppress(OSError):
            for tmp in (out_dir / folder).glob(f"{_TEMP_PREFIX}*.part"):
                if tmp.is_dir() and not tmp.is_symlink():
                    shutil.rmtree(tmp, ignore_errors=True)


def _check_writable(out_dir: Path, kind: _Kind) -> None:
    from weatherclean.batch.outputs import check_writable_folders

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


# --------------------------------------------------------------------------------------------------
# Writing items whole
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _interrupt_after() -> Iterator[None]:
    """Hold Ctrl-C until the block has ended, so that an item's files are moved into place all or none."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # ignored, or someone else's
    ):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _staged(out_dir: Path, kind: _Kind, name: str, arrays: dict[str, np.ndarray]) -> Iterator[Callable[[], None]]:
    """Write one item to hidden temporaries beside its destinations, and yield ``commit``, which moves them
    all into place, the first folder's (the weather picture) last. Whatever is not committed is removed.

    A picture is ``folder/NAME.png``; a clip (``kind.clips``) is ``folder/NAME/00001.png``..., whose folder is
    made whole under a temporary name and renamed, so a reader never sees a clip with some of its frames.
    """
    from weatherclean.io.atomic import atomic_path, atomic_write, make_beside, process_umask

    if not kind.clips:
        with contextlib.ExitStack() as stack:
            for folder, arr in arrays.items():  # entered first, renamed last
                stack.enter_context(atomic_path(out_dir / folder / f"{name}.png")).write_bytes(_png(arr))
            yield stack.close
        return
    temps: dict[str, Path] = {}
    try:
        for folder, arr in arrays.items():
            temps[folder] = tmp = make_beside(
                out_dir / folder,
                lambda parent: Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{name}.", suffix=".part", dir=parent)),
            )
            os.chmod(tmp, 0o777 & ~process_umask())
            for t, frame in enumerate(arr, start=1):
                atomic_write(tmp / f"{t:05d}.png", _png(frame))

        def commit() -> None:
            for folder in reversed(list(temps)):
                dest = out_dir / folder / name
                try:
                    if dest.is_symlink() or (dest.exists() and not (dest.is_dir() and _is_clip_folder(dest))):
                        raise OutputError(f"{dest}: something that synth did not write is in the way; move it away")
                    if dest.exists():  # an earlier run's clip (a resumed item): it may have had more frames
                        _remove_entry(dest)
                    os.replace(temps.pop(folder), dest)
                except OSError as exc:
                    raise OutputError(f"{dest}: cannot write ({exc.strerror or exc})") from None

        yield commit
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot write {name} ({exc.strerror or exc})") from None
    finally:
        for tmp in temps.values():
            shutil.rmtree(tmp, ignore_errors=True)


class _Progress:
    """synth.progress.jsonl: the run's options (first line), then one line per item as it is finished."""

    def __init__(self, path: Path, header: dict[str, Any], kept: dict[str, Any]) -> None:
        from weatherclean.io.atomic import atomic_write

        lines = [json.dumps(header)] + [json.dumps({"name": n, "meta": m}) for n, m in kept.items()]
        atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def add(self, name: str, meta: Any) -> None:
        self._fh.write(json.dumps({"name": name, "meta": meta}) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


@dataclass
class _Outcome:
    items: dict[str, Any]  # every item the run holds, in order: name → what synth.json says of it
    kept: int  # how many of them an earlier, interrupted run made
    failed: list[str]
    small: list[str]  # items evaluate cannot score


def _execute(
    kind: _Kind,
    out_dir: Path,
    names: dict[str, Path],
    header: dict[str, Any],
    options: dict[str, Any],
    make: Callable[[np.random.Generator, str, Path], tuple[dict[str, np.ndarray], Any]],
    *,
    overwrite: bool,
    quiet: bool,
    started: list[bool],
) -> _Outcome:
    """Resume, start over or refuse (see :func:`_plan`), then make each item not yet made, whole, in order.

    Each item gets its own generator seeded by its position, so a bad file does not change the others and a
    resumed run makes the same files an uninterrupted one would. ``started`` is set once the run is recorded.
    """
    import numpy as np
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    plan = _plan(out_dir, kind, options, header["inputs"], overwrite)
    _check_writable(out_dir, kind)
    try:
        for entry in plan.remove:
            _remove_entry(entry)
        _remove_temporaries(out_dir, kind)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot remove the earlier run's outputs ({exc.strerror or exc})") from None
    _make_folders(out_dir, kind.folders)
    progress_file = _Progress(out_dir / PROGRESS_NAME, header, plan.kept)
    started.append(True)
    try:
        (out_dir / RECORD_NAME).unlink(missing_ok=True)  # it described the earlier run; this one is not done
        failed: list[str] = []
        made: dict[str, Any] = dict(plan.kept)
        small: list[str] = []
        with Progress(
            TextColumn(kind.command), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=err_console, disable=quiet, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("synth", total=len(names), completed=len(plan.kept))
            for index, (name, path) in enumerate(names.items()):
                if name in plan.kept:
                    continue
                try:
                    arrays, meta = make(np.random.default_rng([int(header["seed"]), index]), name, path)
                    with _staged(out_dir, kind, name, arrays) as commit, _interrupt_after():
                        commit()
                        progress_file.add(name, meta)
                except (WeathercleanError, MemoryError, OSError) as exc:
                    failed.append(str(path))
                    _remove_item(out_dir, kind, name)
                    if isinstance(exc, WeathercleanError):
                        reason = str(exc)
                    elif isinstance(exc, MemoryError):
                        reason = f"{path}: not enough memory to synthesise it"
                    else:
                        reason = f"{out_dir}: cannot write {kind.entry(name)} ({exc.strerror or exc})"
                    if isinstance(exc, DiskFullError):  # every later item would fail too: stop; the rerun resumes
                        raise
                    err_console.print(f"[bold red]error:[/] {escape(reason)}; skipped", highlight=False, soft_wrap=True)
                else:
                    made[name] = meta
                    if min(arrays[kind.folders[0]].shape[-3:-1]) < SSIM_SIDE:
                        small.append(name)
                progress.advance(task)
    finally:
        progress_file.close()
    items = {name: made[name] for name in names if name in made}
    return _Outcome(items, len(plan.kept), failed, small)


def _finish(out_dir: Path, meta: dict[str, Any], summary: Callable[[int], str], outcome: _Outcome) -> None:
    """Write synth.json (in place of the progress file), print the notes and the summary (``summary(n)`` for
    the n items made now), exit 1 if any failed."""
    from weatherclean.io.atomic import atomic_write

    atomic_write(out_dir / RECORD_NAME, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    (out_dir / PROGRESS_NAME).unlink(missing_ok=True)
    if outcome.small:
        err_console.print(
            f"note: {len(outcome.small)} item(s) are smaller than {SSIM_SIDE}x{SSIM_SIDE} pixels (e.g. "
            f"{outcome.small[0]}): evaluate cannot score them (SSIM needs {SSIM_SIDE}x{SSIM_SIDE})",
            highlight=False,
            soft_wrap=True,
        )
    message = summary(len(outcome.items) - outcome.kept)
    if outcome.kept:
        message += f"; kept {outcome.kept} made earlier by the same command"
    failed = outcome.failed
    console.print(message + (f"; {len(failed)} failed" if failed else ""), highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _interrupted(overwrite: bool, started: list[bool]) -> typer.Exit:
    """Ctrl-C: what brings the run back. With --overwrite, once the new run is recorded, the same command
    would start over again, so it is dropped to resume."""
    if overwrite and started:
        return fail("interrupted; rerun the same command without --overwrite to resume", code=EXIT_INTERRUPTED)
    return fail("interrupted; rerun the same command to resume", code=EXIT_INTERRUPTED)


def _inputs(names: dict[str, Path], clean_dir: Path) -> dict[str, str]:
    return {name: path.relative_to(clean_dir).as_posix() for name, path in names.items()}


# --------------------------------------------------------------------------------------------------
# synth snow
# --------------------------------------------------------------------------------------------------


def make_snow_pair(
    clean: np.ndarray, rng: np.random.Generator, level: str, styles: StyleChoice = None, haze: bool = True
) -> dict[str, np.ndarray]:
    """8-bit snowy/gt/mask/aberration arrays whose equation holds after quantisation.

    z, a and y are rounded to 8 bits *first* and x is composited from the rounded values, so the files
    on disk satisfy ``x = a*z + y*(1-z)`` to within half a grey level (the rounding of x itself).
    """
    import numpy as np

    from weatherclean.synth.snow import apply_snow, snow_mask_and_aberration

    y8 = _to_u8(clean)
    y = y8.astype(np.float32) / 255.0
    mask, aberration = snow_mask_and_aberration(y, rng, level, haze, styles)
    z8 = _to_u8(mask)
    a8 = _to_u8(aberration)
    x = apply_snow(y, z8.astype(np.float32) / 255.0, a8.astype(np.float32) / 255.0)
    return {"synthetic": _to_u8(x), "gt": y8, "mask": z8, "aberration": a8}


@cli_errors
def snow_command(
    clean_dir: Path = typer.Argument(
        ...,
        metavar="CLEAN_DIR",
        help="Folder of clean photos (searched recursively; hidden folders and earlier synth outputs are not).",
        show_default=False,
    ),
    out_dir: Path = typer.Argument(
        ...,
        metavar="OUT_DIR",
        help="Output folder: {synthetic,gt,mask,aberration}/NAME.png and synth.json.",
        show_default=False,
    ),
    level: Level = typer.Option(
        Level.mixed,
        "--level",
        case_sensitive=False,
        help="Snow100K-like density: S (light), M, L (heavy) or mixed (random per image).",
    ),
    style: list[str] = typer.Option(
        [],
        "--style",
        metavar="NAME",
        help=f"Snow style: {', '.join(SNOW_STYLES)}, or mixed (the default: one to three of them per image, at "
        "random). Repeatable: each image draws one to three of the styles given, as train --style does. "
        "docs/synthesis.md shows each.",
        show_default=False,
    ),
    haze: bool = typer.Option(
        True,
        "--haze/--no-haze",
        help="Include the veil of heavy snow. --no-haze draws the same flakes without it (same seed), to measure "
        "what the veil costs.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed and inputs give identical files."),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an earlier run in OUT_DIR (its outputs are removed first; default: refuse, or resume the "
        "same command).",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N images (sorted by path)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary line."),
) -> None:
    """Synthesise snow on CLEAN_DIR's photos and write a Snow100K-layout dataset to OUT_DIR.

    Exit code 0 when every photo was made, 1 when any failed (the others are kept), 2 when nothing could run,
    130 when interrupted (Ctrl-C; the same command resumes).
    """
    from weatherclean.data.images import read_rgb

    styles, style_label = _parse_styles(style, "snow", SNOW_STYLES)
    names = _list_inputs(clean_dir, out_dir, limit, output_name="{}.png")
    kind = _Kind("synth snow", OUTPUT_FOLDERS, "levels")
    options = {"generator": kind.generator, "version": __version__, "seed": seed, "level": level.value,
               "style": style_label, "haze": haze}  # fmt: skip
    header = {**options, "clean_dir": str(clean_dir), "inputs": _inputs(names, clean_dir)}

    def make(rng: np.random.Generator, name: str, path: Path) -> tuple[dict[str, np.ndarray], str]:
        image_level = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))] if level is Level.mixed else level.value
        clean = read_rgb(path, upright=True)
        h, w = clean.shape[:2]
        _check_fits(path, 1, (h, w), h * w * BYTES_PER_PIXEL, "use a smaller copy of the photo")
        return make_snow_pair(clean, rng, image_level, styles, haze), image_level

    started: list[bool] = []
    try:
        outcome = _execute(kind, out_dir, names, header, options, make, overwrite=overwrite, quiet=quiet,
                           started=started)  # fmt: skip
    except KeyboardInterrupt:
        raise _interrupted(overwrite, started) from None
    meta = {
        **options,
        "clean_dir": str(clean_dir),
        "count": len(outcome.items),
        "levels": outcome.items,
        "failed": outcome.failed,
        "inputs": header["inputs"],
        "model": "x = a*z + y*(1-z); x=synthetic, y=gt, z=mask, a=aberration",
    }
    _finish(out_dir, meta, lambda n: f"wrote {n} snowy image(s) to {out_dir} (level {level.value}, style "
            f"{style_label}, seed {seed})", outcome)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# synth rain
# --------------------------------------------------------------------------------------------------


def make_rain_arrays(
    clean: np.ndarray, streak: np.ndarray, alpha: np.ndarray, reliance: np.ndarray
) -> dict[str, np.ndarray]:
    """8-bit rain/gt/streak/alpha/reliance arrays (one image or a TxHxW... clip) whose model holds on disk.

    B, S, alpha and A are rounded to 8 bits *first* (S is kept at most 255 - B so B + S never exceeds
    white) and O is composited from the rounded values, so the files satisfy
    ``O = (1 - alpha)(B + S) + alpha * A`` to within half a grey level (the rounding of O itself).
    """
    import numpy as np

    from weatherclean.synth.rain import apply_rain

    b8 = _to_u8(clean)
    s8 = np.minimum(_to_u8(streak), 255 - b8)
    a8 = np.where(alpha > 0.5, 255, 0).astype(np.uint8)
    r8 = _to_u8(reliance)
    o = apply_rain(b8 / np.float32(255), s8 / np.float32(255), a8 / np.float32(255), r8 / np.float32(255))
    return {"rain": _to_u8(o), "gt": b8, "streak": s8, "alpha": a8, "reliance": r8}


@cli_errors
def rain_command(
    clean_dir: Path = typer.Argument(
        ...,
        metavar="CLEAN_DIR",
        help="Folder of clean photos (searched recursively; hidden folders and earlier synth outputs are not).",
        show_default=False,
    ),
    out_dir: Path = typer.Argument(
        ...,
        metavar="OUT_DIR",
        help="Output folder: {rain,gt,streak,alpha,reliance}/NAME.png (or NAME/00001.png... with --clips).",
        show_default=False,
    ),
    level: RainLevelChoice = typer.Option(
        RainLevelChoice.mixed,
        "--level",
        case_sensitive=False,
        help="light (like RainSynLight25), heavy (like RainSynComplex25) or mixed (random per image).",
    ),
    style: list[str] = typer.Option(
        [],
        "--style",
        metavar="NAME",
        help=f"Rain style: {', '.join(RAIN_STYLES)}, or mixed (the default: one to three of them per image, at "
        "random). Repeatable: each image draws one to three of the styles given, as train --style does. "
        "docs/synthesis.md shows each.",
        show_default=False,
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed and inputs give identical files."),
    clips: bool = typer.Option(
        False, "--clips", help="Make a clip per photo (camera motion, falling rain) instead of one rainy image."
    ),
    frames: int | None = typer.Option(
        None, "--frames", min=1, help="Frames per clip (with --clips; default 9).", show_default=False
    ),
    size: str | None = typer.Option(
        None,
        "--size",
        metavar="HxW",
        help="Output size, e.g. 360x640: a random view of each photo (magnified if the photo is smaller). "
        "Default: the whole photo, or 85% of it for clips (room for the camera to move).",
    ),
    crop: int | None = typer.Option(None, "--crop", min=1, help="Square output size; same as --size NxN."),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an earlier run in OUT_DIR (its outputs are removed first; default: refuse, or resume the "
        "same command).",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N images (sorted by path)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary line."),
) -> None:
    """Synthesise rain (J4R-Net's hybrid model) on CLEAN_DIR's photos: images, or clips with --clips.

    Exit code 0 when every photo was made, 1 when any failed (the others are kept), 2 when nothing could run,
    130 when interrupted (Ctrl-C; the same command resumes).
    """
    import numpy as np

    from weatherclean.data.images import read_rgb
    from weatherclean.synth.rain import rain_maps, synthesize_rain_clip

    styles, style_label = _parse_styles(style, "rain", RAIN_STYLES)
    if frames is not None and not clips:
        raise InputError("--frames is the length of a clip: add --clips, or leave --frames out")
    frame_count = (frames or 9) if clips else 1
    view = _parse_size(size, crop)
    if view is not None:
        _check_view(f"--crop {crop}" if crop is not None else f"--size {size}", view, frame_count)
    names = _list_inputs(clean_dir, out_dir, limit, output_name="{}")
    kind = _Kind("synth rain", RAIN_FOLDERS, "items", clips=clips)
    options = {"generator": kind.generator, "version": __version__, "seed": seed, "level": level.value,
               "style": style_label, "clips": clips, "frames": frame_count,
               "size": list(view) if view is not None else None}  # fmt: skip
    header = {**options, "clean_dir": str(clean_dir), "inputs": _inputs(names, clean_dir)}

    def make(rng: np.random.Generator, name: str, path: Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        image_level = (
            RAIN_LEVELS[int(rng.integers(0, len(RAIN_LEVELS)))] if level is RainLevelChoice.mixed else level.value
        )
        clean = read_rgb(path, upright=True)
        h, w = clean.shape[:2]
        out_size = view or ((max(1, int(h * 0.85)), max(1, int(w * 0.85))) if clips else (h, w))
        need = _rain_bytes(frame_count, out_size[0] * out_size[1]) + (h * w * _PHOTO_BYTES if out_size != (h, w) else 0)
        _check_fits(path, frame_count, out_size, need, "pass a smaller --size or fewer --frames")
        if clips or view is not None:
            clip = synthesize_rain_clip(
                clean, rng, image_level, frames=frame_count, size=view,
                motion="random" if clips else "static", styles=styles,
            )  # fmt: skip
            maps = (clip.clean, clip.streak, clip.alpha, clip.reliance)
            if not clips:
                maps = tuple(m[0] for m in maps)
            angle, drawn = clip.angle, clip.styles
        else:
            y = _to_u8(clean).astype(np.float32) / 255.0
            found = rain_maps(y, rng, image_level, styles)
            maps = (y, found.streak, found.alpha, found.reliance)
            angle, drawn = found.angle, found.styles
        return make_rain_arrays(*maps), {"level": image_level, "styles": list(drawn), "angle_deg": angle}

    started: list[bool] = []
    try:
        outcome = _execute(kind, out_dir, names, header, options, make, overwrite=overwrite, quiet=quiet,
                           started=started)  # fmt: skip
    except KeyboardInterrupt:
        raise _interrupted(overwrite, started) from None
    meta = {
        **options,
        "clean_dir": str(clean_dir),
        "count": len(outcome.items),
        "items": outcome.items,
        "failed": outcome.failed,
        "inputs": header["inputs"],
        "model": "O = (1-alpha)*(B+S) + alpha*A; O=rain, B=gt, S=streak, alpha=alpha, A=reliance",
    }
    what = f"rainy clip(s) of {frame_count} frames" if clips else "rainy image(s)"
    _finish(out_dir, meta, lambda n: f"wrote {n} {what} to {out_dir} (level {level.value}, style {style_label}, "
            f"seed {seed})", outcome)  # fmt: skip
