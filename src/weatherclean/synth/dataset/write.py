"""Writing a synth run into OUT_DIR: :func:`write_snow_dataset` and :func:`write_rain_dataset`.

Each item is written to hidden temporaries beside its destinations and moved into place together, the
weather picture last, with Ctrl-C held off meanwhile, so a reader never sees half an item; then it is added
to the run's journal. Each item draws from its own generator, seeded by its position, so a bad photo does not
change the others and a resumed run makes the same files an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from weatherclean import __version__
from weatherclean.errors import DiskFullError, OutputError, WeathercleanError, is_disk_full
from weatherclean.io.permissions import input_mode, new_files_like
from weatherclean.synth.dataset.inputs import list_inputs
from weatherclean.synth.dataset.items import Maker, rain_maker, snow_maker
from weatherclean.synth.dataset.record import (
    PROGRESS_NAME,
    RAIN,
    RECORD_NAME,
    SNOW,
    TEMP_PREFIX,
    Journal,
    Kind,
    clear_for_run,
    is_clip_folder,
    plan_run,
    remove_entry,
    remove_item,
    write_record,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SSIM_SIDE", "Outcome", "Reporter", "style_label", "write_rain_dataset", "write_snow_dataset"]

#: The smallest side ``evaluate`` can score: SSIM's 11x11 window.
SSIM_SIDE = 11


class Reporter(Protocol):
    """What a run tells its caller as it goes (the CLI prints it and draws a progress bar)."""

    def note(self, message: str) -> None:
        """Something worth knowing that is no error: inputs passed over, items evaluate cannot score."""

    def begin(self, total: int, done: int) -> None:
        """The run is recorded in OUT_DIR (an interrupted run now resumes from its journal); ``done`` of its
        ``total`` items were kept from an earlier run."""

    def failed(self, reason: str) -> None:
        """One item could not be made (``reason`` names it, on one line); nothing of it was left, and the run
        goes on."""

    def advance(self) -> None:
        """One more item is done (made, or failed)."""

    def end(self) -> None:
        """No more items: all are done, or the run stopped (Ctrl-C, a full disk)."""


class _Silent:
    def note(self, message: str) -> None:
        pass

    def begin(self, total: int, done: int) -> None:
        pass

    def failed(self, reason: str) -> None:
        pass

    def advance(self) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass
class Outcome:
    """What a run leaves in OUT_DIR (its synth.json says the same)."""

    items: dict[str, Any]  # every item the run holds, in order: name → what synth.json says of it
    kept: int  # how many of them an earlier, interrupted run made
    failed: list[str]  # the photos that could not be made
    small: list[str]  # items evaluate cannot score


def write_snow_dataset(
    clean_dir: Path,
    out_dir: Path,
    *,
    level: str = "mixed",
    styles: Sequence[str] | None = None,
    haze: bool = True,
    seed: int = 0,
    overwrite: bool = False,
    limit: int | None = None,
    report: Reporter | None = None,
) -> Outcome:
    """Put snow on CLEAN_DIR's photos (searched recursively) and write a Snow100K-layout dataset to OUT_DIR:
    ``{synthetic,gt,mask,aberration}/NAME.png`` and synth.json.

    ``level`` is S, M, L or mixed (drawn per photo); ``styles`` the snow styles drawn from (None: all). An
    earlier run of the same command and options is resumed; any other earlier run is refused
    (:class:`~weatherclean.errors.InputError`), or with ``overwrite`` removed first. A photo that cannot be made
    is reported and listed in :attr:`Outcome.failed`; the others are made.
    """
    report = report or _Silent()
    names = list_inputs(clean_dir, out_dir, limit, output_name="{}.png", note=report.note)
    options = {"generator": SNOW.generator, "version": __version__, "seed": seed, "level": level,
               "style": style_label(styles), "haze": haze}  # fmt: skip
    return _write(SNOW, clean_dir, out_dir, names, options, snow_maker(level, styles, haze),
                  "x = a*z + y*(1-z); x=synthetic, y=gt, z=mask, a=aberration", overwrite=overwrite,
                  report=report)  # fmt: skip


def write_rain_dataset(
    clean_dir: Path,
    out_dir: Path,
    *,
    level: str = "mixed",
    styles: Sequence[str] | None = None,
    seed: int = 0,
    clips: bool = False,
    frames: int = 9,
    size: tuple[int, int] | None = None,
    overwrite: bool = False,
    limit: int | None = None,
    report: Reporter | None = None,
) -> Outcome:
    """Put rain (J4R-Net's hybrid model) on CLEAN_DIR's photos and write ``{rain,gt,streak,alpha,reliance}/
    NAME.png``, or with ``clips`` a clip of ``frames`` frames per photo (``NAME/00001.png``...), and synth.json.

    ``level`` is light, heavy or mixed (drawn per photo); ``size`` (height, width) a random view of each photo
    (None: the whole photo, or 85% of it for clips). Earlier runs, and photos that fail, are handled as
    :func:`write_snow_dataset` does.
    """
    report = report or _Silent()
    frame_count = frames if clips else 1
    names = list_inputs(clean_dir, out_dir, limit, output_name="{}", note=report.note)
    kind = RAIN.with_clips(clips)
    options = {"generator": kind.generator, "version": __version__, "seed": seed, "level": level,
               "style": style_label(styles), "clips": clips, "frames": frame_count,
               "size": list(size) if size is not None else None}  # fmt: skip
    make = rain_maker(level, styles, clips=clips, frames=frame_count, view=size)
    return _write(kind, clean_dir, out_dir, names, options, make,
                  "O = (1-alpha)*(B+S) + alpha*A; O=rain, B=gt, S=streak, alpha=alpha, A=reliance",
                  overwrite=overwrite, report=report)  # fmt: skip


def style_label(styles: Sequence[str] | None) -> str:
    """The styles as synth.json keeps them: ``mixed`` for all, else the names joined by commas."""
    return ",".join(styles) if styles else "mixed"


def _write(
    kind: Kind,
    clean_dir: Path,
    out_dir: Path,
    names: dict[str, Path],
    options: dict[str, Any],
    make: Maker,
    model: str,
    *,
    overwrite: bool,
    report: Reporter,
) -> Outcome:
    """Run the items, then write synth.json (in place of the progress file) and note the items too small to
    score."""
    inputs = {name: path.relative_to(clean_dir).as_posix() for name, path in names.items()}
    header = {**options, "clean_dir": str(clean_dir), "inputs": inputs}
    outcome = _run_items(kind, clean_dir, out_dir, names, header, options, make, overwrite=overwrite, report=report)
    write_record(out_dir, {
        **options,
        "clean_dir": str(clean_dir),
        "count": len(outcome.items),
        **_listed(kind, outcome.items),
        "failed": outcome.failed,
        "inputs": inputs,
        "model": model,
    })  # fmt: skip
    if outcome.small:
        report.note(
            f"{len(outcome.small)} item(s) are smaller than {SSIM_SIDE}x{SSIM_SIDE} pixels (e.g. "
            f"{outcome.small[0]}): evaluate cannot score them (SSIM needs {SSIM_SIDE}x{SSIM_SIDE})"
        )
    return outcome


def _listed(kind: Kind, items: dict[str, Any]) -> dict[str, Any]:
    """How synth.json lists the items: rain's ``items`` (name → level, styles, angle); snow's ``levels``
    (name → level, as before the styles were recorded, so readers of it keep working) and ``items`` (name →
    level, styles and veil; items resumed from a run that recorded only the level are left out)."""
    if kind.items_key != "levels":
        return {kind.items_key: items}
    levels = {name: meta.get("level") if isinstance(meta, dict) else meta for name, meta in items.items()}
    return {"levels": levels, "items": {name: meta for name, meta in items.items() if isinstance(meta, dict)}}


def _run_items(
    kind: Kind,
    clean_dir: Path,
    out_dir: Path,
    names: dict[str, Path],
    header: dict[str, Any],
    options: dict[str, Any],
    make: Maker,
    *,
    overwrite: bool,
    report: Reporter,
) -> Outcome:
    """Resume, start over or refuse (see :func:`~weatherclean.synth.dataset.record.plan_run`), then make each
    item not yet made, whole, in order."""
    import numpy as np

    plan = plan_run(out_dir, clean_dir, kind, options, header["inputs"], overwrite)
    clear_for_run(out_dir, kind, plan)
    journal = Journal(out_dir / PROGRESS_NAME, header, plan.kept)
    try:
        report.begin(len(names), len(plan.kept))
        (out_dir / RECORD_NAME).unlink(missing_ok=True)  # it described the earlier run; this one is not done
        failed: list[str] = []
        made: dict[str, Any] = dict(plan.kept)
        small: list[str] = []
        for index, (name, path) in enumerate(names.items()):
            if name in plan.kept:
                continue
            try:
                like = input_mode(path)  # read before the photo: its gt/ copy must not be more open than it
                arrays, meta = make(np.random.default_rng([int(header["seed"]), index]), path)
                # Every file of the item (gt/ is a lossless copy of the photo) takes the photo's permissions less
                # the umask, as desnow's outputs do: a private 0600 photo must not become a 0644 gt/NAME.png.
                with new_files_like(like), _staged(out_dir, kind, name, arrays) as commit, _interrupt_after():
                    commit()
                    journal.add(name, meta)
            except (WeathercleanError, MemoryError, OSError) as exc:
                failed.append(str(path))
                remove_item(out_dir, kind, name)
                if isinstance(exc, WeathercleanError):
                    reason = str(exc)
                elif isinstance(exc, MemoryError):
                    reason = f"{path}: not enough memory to synthesise it"
                else:
                    reason = f"{out_dir}: cannot write {kind.entry(name)} ({exc.strerror or exc})"
                if isinstance(exc, DiskFullError):  # every later item would fail too: stop; the rerun resumes
                    raise
                report.failed(reason)
            else:
                made[name] = meta
                if min(arrays[kind.folders[0]].shape[-3:-1]) < SSIM_SIDE:
                    small.append(name)
            report.advance()
    finally:
        report.end()
        journal.close()
    items = {name: made[name] for name in names if name in made}
    return Outcome(items, len(plan.kept), failed, small)


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


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
def _staged(out_dir: Path, kind: Kind, name: str, arrays: dict[str, np.ndarray]) -> Iterator[Callable[[], None]]:
    """Write one item to hidden temporaries beside its destinations, and yield ``commit``, which moves them
    all into place, the first folder's (the weather picture) last. Whatever is not committed is removed.

    A picture is ``folder/NAME.png``; a clip (``kind.clips``) is ``folder/NAME/00001.png``..., whose folder is
    made whole under a temporary name and renamed, so a reader never sees a clip with some of its frames.
    """
    from weatherclean.io.atomic import atomic_path, atomic_write, make_beside, write_error
    from weatherclean.io.permissions import process_umask

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
                lambda parent: Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{name}.", suffix=".part", dir=parent)),
            )
            os.chmod(tmp, 0o777 & ~process_umask())
            for t, frame in enumerate(arr, start=1):
                atomic_write(tmp / f"{t:05d}.png", _png(frame))

        def commit() -> None:
            for folder in reversed(list(temps)):
                dest = out_dir / folder / name
                try:
                    if dest.is_symlink() or (dest.exists() and not (dest.is_dir() and is_clip_folder(dest))):
                        raise OutputError(f"{dest}: something that synth did not write is in the way; move it away")
                    if dest.exists():  # an earlier run's clip (a resumed item): it may have had more frames
                        remove_entry(out_dir, dest)
                    os.replace(temps[folder], dest)
                    del temps[folder]  # moved; one that failed is removed below, with those not yet moved
                except OSError as exc:
                    raise write_error(dest, exc) from None

        yield commit
    except OSError as exc:  # mkdtemp, chmod: a full disk stops the run, as atomic_write's DiskFullError does
        if is_disk_full(exc):
            raise DiskFullError(
                f"{out_dir}: disk full ({exc.strerror or exc}) while writing {name}; nothing was written under "
                "this name"
            ) from None
        raise OutputError(f"{out_dir}: cannot write {name} ({exc.strerror or exc})") from None
    finally:
        for tmp in temps.values():
            shutil.rmtree(tmp, ignore_errors=True)
