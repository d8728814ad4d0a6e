"""``weatherclean synth snow``: put synthetic snow on a folder of clean photos, Snow100K-style.

The snow model lives in :mod:`weatherclean.synth.snow`; this module only lists files, writes PNGs
and reports.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from pathlib import Path

import numpy as np
import typer
from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from weatherclean import __version__
from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console
from weatherclean.data.images import list_images, read_rgb
from weatherclean.errors import InputError, WeathercleanError
from weatherclean.io.atomic import atomic_write
from weatherclean.synth.snow import SNOW_LEVELS, apply_snow, snow_mask_and_aberration

#: Folders written under OUT_DIR; the first three are the Snow100K layout, ``aberration`` is ours.
OUTPUT_FOLDERS: tuple[str, ...] = ("synthetic", "gt", "mask", "aberration")


class Level(StrEnum):
    S = "S"
    M = "M"
    L = "L"
    mixed = "mixed"


def register(app: typer.Typer) -> None:
    """Add the ``synth`` group (with ``snow``) to the root app."""
    synth_app = typer.Typer(
        help="Make synthetic weather on clean photos (training and test data).",
        no_args_is_help=True,
    )
    synth_app.command("snow")(snow_command)
    app.add_typer(synth_app, name="synth")


def _to_u8(arr: np.ndarray) -> np.ndarray:
    return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def _name_for(path: Path, root: Path) -> str:
    """Output name: the path below CLEAN_DIR without suffix, '/' → '_', so nested files cannot clash."""
    return path.relative_to(root).with_suffix("").as_posix().replace("/", "_")


def make_snow_pair(clean: np.ndarray, rng: np.random.Generator, level: str) -> dict[str, np.ndarray]:
    """8-bit snowy/gt/mask/aberration arrays whose equation holds after quantisation.

    z, a and y are rounded to 8 bits *first* and x is composited from the rounded values, so the files
    on disk satisfy ``x = a*z + y*(1-z)`` to within half a grey level (the rounding of x itself).
    """
    y8 = _to_u8(clean)
    y = y8.astype(np.float32) / 255.0
    mask, aberration = snow_mask_and_aberration(y, rng, level)
    z8 = _to_u8(mask)
    a8 = _to_u8(aberration)
    x = apply_snow(y, z8.astype(np.float32) / 255.0, a8.astype(np.float32) / 255.0)
    return {"synthetic": _to_u8(x), "gt": y8, "mask": z8, "aberration": a8}


@cli_errors
def snow_command(
    clean_dir: Path = typer.Argument(
        ..., metavar="CLEAN_DIR", help="Folder of clean photos (searched recursively).", show_default=False
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
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed and inputs give identical files."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Only the first N images (sorted by path)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary line."),
) -> None:
    """Synthesise snow on CLEAN_DIR's photos and write a Snow100K-layout dataset to OUT_DIR."""
    if not clean_dir.is_dir():
        raise InputError(f"{clean_dir}: not a folder; pass a folder of clean images")
    out_resolved = out_dir.resolve()
    # OUT_DIR may sit inside CLEAN_DIR: never read earlier outputs back as clean photos.
    images = [p for p in list_images(clean_dir) if out_resolved not in p.resolve().parents]
    if not images:
        raise InputError(f"{clean_dir}: no images found (looked for .png, .jpg, .tif, ... recursively)")
    if limit is not None:
        images = images[:limit]
    names: dict[str, Path] = {}
    for path in images:  # a.jpg and a.png would both become a.png: refuse before any work
        name = _name_for(path, clean_dir)
        if name in names:
            raise InputError(f"{path} and {names[name]} would both be written as {name}.png; rename one of them")
        names[name] = path
    try:
        for folder in OUTPUT_FOLDERS:
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create output folders ({exc.strerror})") from None

    failed: list[str] = []
    written: dict[str, str] = {}
    with Progress(
        TextColumn("synth snow"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task("synth", total=len(images))
        for index, path in enumerate(images):
            name = _name_for(path, clean_dir)
            # One generator per image, seeded by its position: a bad file does not change the others.
            rng = np.random.default_rng([seed, index])
            image_level = (
                SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))] if level is Level.mixed else level.value
            )
            try:
                arrays = make_snow_pair(read_rgb(path), rng, image_level)
                for folder, arr in arrays.items():
                    buffer = io.BytesIO()
                    Image.fromarray(arr).save(buffer, format="PNG", optimize=False)
                    atomic_write(out_dir / folder / f"{name}.png", buffer.getvalue())
            except WeathercleanError as exc:
                failed.append(str(path))
                err_console.print(f"[bold red]error:[/] {exc}; skipped", highlight=False, soft_wrap=True)
            except OSError as exc:
                failed.append(str(path))
                err_console.print(
                    f"[bold red]error:[/] {out_dir}: cannot write {name}.png ({exc}); skipped",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                written[name] = image_level
            progress.advance(task)

    meta = {
        "generator": "weatherclean synth snow",
        "version": __version__,
        "seed": seed,
        "level": level.value,
        "clean_dir": str(clean_dir),
        "count": len(written),
        "levels": written,
        "failed": failed,
        "model": "x = a*z + y*(1-z); x=synthetic, y=gt, z=mask, a=aberration",
    }
    atomic_write(out_dir / "synth.json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    console.print(
        f"wrote {len(written)} snowy image(s) to {out_dir} (level {level.value}, seed {seed})"
        + (f"; {len(failed)} failed" if failed else ""),
        highlight=False,
        soft_wrap=True,
    )
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)
