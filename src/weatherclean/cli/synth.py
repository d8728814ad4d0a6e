"""``weatherclean synth snow`` and ``synth rain``: put synthetic weather on a folder of clean photos.

``snow`` writes a Snow100K-style dataset; ``rain`` writes rainy images, or rainy clips filmed from each
photo with a moving camera, with their ground truth, streak, occlusion and reliance maps. The weather
models live in :mod:`weatherclean.synth`, and the dataset writer (one run per OUT_DIR, whole items, resume
after Ctrl-C, ``--overwrite``) in :mod:`weatherclean.synth.dataset`; this module turns the options into its
call, and prints what it reports: notes, a progress bar, errors, the summary and the exit code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.markup import escape

from weatherclean.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_SOME_FAILED,
    cli_errors,
    console,
    draws_progress,
    err_console,
    fail,
)
from weatherclean.errors import InputError
from weatherclean.synth.names import RAIN_STYLES, SNOW_STYLES

# The dataset writer (and with it NumPy, Pillow and the weather models) is imported inside the commands:
# building the CLI (``weatherclean --help``) must stay quick.
if TYPE_CHECKING:
    from weatherclean.synth.dataset import Outcome


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


# --------------------------------------------------------------------------------------------------
# Options, checked before any work; what a run reports, printed
# --------------------------------------------------------------------------------------------------


LevelT = TypeVar("LevelT", Level, RainLevelChoice)


def _parse_level(given: str, levels: type[LevelT]) -> LevelT:
    """``--level`` in any case (``s`` is ``S``), as the member of ``levels`` it names.

    Why not the option parser's case-insensitive choice: its error listed the levels folded to lower case
    ("'Q' is not one of 's', 'm', 'l', 'mixed'") while the help and the docs write S, M, L.
    """
    for level in levels:
        if given.strip().casefold() == level.value.casefold():
            return level
    names = [level.value for level in levels]
    raise InputError(f"--level {given}: use {', '.join(names[:-1])} or {names[-1]}")


def _parse_styles(given: list[str], weather: str, known: tuple[str, ...]) -> list[str] | None:
    """``--style`` values as the names to draw from (None: all).

    Several names are drawn as ``train --style`` draws them: one to three of them per item."""
    names = list(dict.fromkeys(s.strip().lower() for s in given))
    if not names or names == ["mixed"]:
        return None
    if "mixed" in names:
        raise InputError("--style mixed draws from every style; give it alone, or name the styles to draw from")
    if unknown := [n for n in names if n not in known]:
        raise InputError(f"--style {unknown[0]}: unknown {weather} style {unknown[0]!r}: use one of {', '.join(known)}")
    return names


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


class _Printer:
    """The run's reports (:class:`weatherclean.synth.dataset.Reporter`) on the terminal: notes and errors on
    stderr, and a progress bar unless ``--quiet`` or stderr is not a terminal (off one, Rich's bar draws nothing
    and leaves a blank line behind, which cron mails)."""

    def __init__(self, command: str, quiet: bool) -> None:
        self.command, self.quiet = command, quiet
        self.started = False  # the run is recorded in OUT_DIR: Ctrl-C from now on resumes it
        self._bar: Any = None  # a rich Progress, from begin() to end()
        self._task: Any = None

    def note(self, message: str) -> None:
        err_console.print(f"note: {message}", highlight=False, soft_wrap=True)

    def begin(self, total: int, done: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.started = True
        self._bar = Progress(
            TextColumn(self.command), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=err_console, disable=self.quiet or not draws_progress(), transient=True,
        )  # fmt: skip
        self._bar.start()
        self._task = self._bar.add_task("synth", total=total, completed=done)

    def failed(self, reason: str) -> None:
        err_console.print(f"[bold red]error:[/] {escape(reason)}; skipped", highlight=False, soft_wrap=True)

    def advance(self) -> None:
        self._bar.advance(self._task)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def interrupted(self, overwrite: bool) -> typer.Exit:
        """Ctrl-C: what brings the run back. With --overwrite, once the new run is recorded, the same command
        would start over again, so it is dropped to resume."""
        if overwrite and self.started:
            return fail("interrupted; rerun the same command without --overwrite to resume", code=EXIT_INTERRUPTED)
        return fail("interrupted; rerun the same command to resume", code=EXIT_INTERRUPTED)


def _summarise(outcome: Outcome, summary: Callable[[int], str]) -> None:
    """Print the summary (``summary(n)`` for the n items made now); exit 1 if any failed."""
    message = summary(len(outcome.items) - outcome.kept)
    if outcome.kept:
        message += f"; kept {outcome.kept} made earlier by the same command"
    failed = outcome.failed
    console.print(message + (f"; {len(failed)} failed" if failed else ""), highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


# --------------------------------------------------------------------------------------------------
# synth snow
# --------------------------------------------------------------------------------------------------


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
    level_given: str = typer.Option(
        Level.mixed.value,
        "--level",
        metavar="|".join(Level),
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
    from weatherclean.synth.dataset import style_label, write_snow_dataset

    level = _parse_level(level_given, Level)
    styles = _parse_styles(style, "snow", SNOW_STYLES)
    printer = _Printer("synth snow", quiet)
    try:
        outcome = write_snow_dataset(clean_dir, out_dir, level=level.value, styles=styles, haze=haze, seed=seed,
                                     overwrite=overwrite, limit=limit, report=printer)  # fmt: skip
    except KeyboardInterrupt:
        raise printer.interrupted(overwrite) from None
    _summarise(outcome, lambda n: f"wrote {n} snowy image(s) to {out_dir} (level {level.value}, style "
               f"{style_label(styles)}, seed {seed})")  # fmt: skip


# --------------------------------------------------------------------------------------------------
# synth rain
# --------------------------------------------------------------------------------------------------


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
    level_given: str = typer.Option(
        RainLevelChoice.mixed.value,
        "--level",
        metavar="|".join(RainLevelChoice),
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
    from weatherclean.synth.dataset import check_view, style_label, write_rain_dataset

    level = _parse_level(level_given, RainLevelChoice)
    styles = _parse_styles(style, "rain", RAIN_STYLES)
    if frames is not None and not clips:
        raise InputError("--frames is the length of a clip: add --clips, or leave --frames out")
    frame_count = (frames or 9) if clips else 1
    view = _parse_size(size, crop)
    if view is not None:
        check_view(f"--crop {crop}" if crop is not None else f"--size {size}", view, frame_count)
    printer = _Printer("synth rain", quiet)
    try:
        outcome = write_rain_dataset(clean_dir, out_dir, level=level.value, styles=styles, seed=seed, clips=clips,
                                     frames=frame_count, size=view, overwrite=overwrite, limit=limit,
                                     report=printer)  # fmt: skip
    except KeyboardInterrupt:
        raise printer.interrupted(overwrite) from None
    what = f"rainy clip(s) of {frame_count} frames" if clips else "rainy image(s)"
    _summarise(outcome, lambda n: f"wrote {n} {what} to {out_dir} (level {level.value}, style {style_label(styles)}, "
               f"seed {seed})")  # fmt: skip
