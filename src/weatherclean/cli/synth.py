"""``weatherclean synth snow`` and ``synth rain``: put synthetic weather on a folder of clean photos.

``snow`` writes a Snow100K-style dataset; ``rain`` writes rainy images, or rainy clips filmed from each
photo with a moving camera, with their ground truth, streak, occlusion and reliance maps. The weather
models live in :mod:`weatherclean.synth`; this module only lists files, writes PNGs and reports.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from weatherclean import __version__
from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console
from weatherclean.errors import InputError, WeathercleanError
from weatherclean.synth.names import RAIN_LEVELS, RAIN_STYLES, SNOW_LEVELS, SNOW_STYLES

# NumPy, Pillow, SciPy and the synthesis code are imported inside the functions that use them: building the
# CLI (``weatherclean --help``) must stay quick.
if TYPE_CHECKING:
    import numpy as np

    from weatherclean.synth.common import StyleChoice

#: Folders written under OUT_DIR; the first three are the Snow100K layout, ``aberration`` is ours.
OUTPUT_FOLDERS: tuple[str, ...] = ("synthetic", "gt", "mask", "aberration")


class Level(StrEnum):
    S = "S"
    M = "M"
    L = "L"
    mixed = "mixed"


#: Folders written under OUT_DIR by ``synth rain``: O, B, S, alpha and A of the hybrid rain model.
RAIN_FOLDERS: tuple[str, ...] = ("rain", "gt", "streak", "alpha", "reliance")


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
    style: str = typer.Option(
        "mixed",
        "--style",
        help=f"Snow style: {', '.join(SNOW_STYLES)}, or mixed (one to three of them per image, at random). "
        "docs/synthesis.md shows each.",
    ),
    haze: bool = typer.Option(
        True,
        "--haze/--no-haze",
        help="Include the veil of heavy snow. --no-haze draws the same flakes without it (same seed), to measure "
        "what the veil costs.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed and inputs give identical files."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N images (sorted by path)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary line."),
) -> None:
    """Synthesise snow on CLEAN_DIR's photos and write a Snow100K-layout dataset to OUT_DIR."""
    from PIL import Image

    from weatherclean.data.images import read_rgb
    from weatherclean.io.atomic import atomic_write
    from weatherclean.synth.snow import check_styles

    try:
        styles = None if style.lower() == "mixed" else check_styles([style.lower()])
    except ValueError as exc:
        raise InputError(f"--style {style}: {exc}") from None
    names = _list_inputs(clean_dir, out_dir, limit, note_others=True, output_name="{}.png")
    _make_folders(out_dir, OUTPUT_FOLDERS)

    def make(rng: np.random.Generator, name: str, path: Path) -> str:
        image_level = SNOW_LEVELS[int(rng.integers(0, len(SNOW_LEVELS)))] if level is Level.mixed else level.value
        arrays = make_snow_pair(read_rgb(path), rng, image_level, styles, haze)
        for folder, arr in arrays.items():
            buffer = io.BytesIO()
            Image.fromarray(arr).save(buffer, format="PNG", optimize=False)
            atomic_write(out_dir / folder / f"{name}.png", buffer.getvalue())
        return image_level

    written, failed = _synthesise("synth snow", names, seed, out_dir, make, quiet=quiet, output_name="{}.png")
    meta = {
        "generator": "weatherclean synth snow",
        "version": __version__,
        "seed": seed,
        "level": level.value,
        "style": style.lower(),
        "haze": haze,
        "clean_dir": str(clean_dir),
        "count": len(written),
        "levels": written,
        "failed": failed,
        "model": "x = a*z + y*(1-z); x=synthetic, y=gt, z=mask, a=aberration",
    }
    summary = (
        f"wrote {len(written)} snowy image(s) to {out_dir} (level {level.value}, style {meta['style']}, seed {seed})"
    )
    _finish(out_dir, meta, summary, failed)


def _list_inputs(
    clean_dir: Path, out_dir: Path, limit: int | None, *, note_others: bool, output_name: str
) -> dict[str, Path]:
    """Output name → clean image, checked before any work: a folder with images, and no name clashes.

    OUT_DIR may sit inside CLEAN_DIR, so nothing under it is ever read back as a clean photo.
    """
    from weatherclean.data.images import list_images

    if not clean_dir.is_dir():
        raise InputError(f"{clean_dir}: not a folder; pass a folder of clean images")
    out_resolved = out_dir.resolve()

    def outside_out(path: Path) -> bool:
        return out_resolved != path.resolve() and out_resolved not in path.resolve().parents

    images = [p for p in list_images(clean_dir) if outside_out(p)]
    if note_others:
        image_set = set(images)
        others = sorted(
            p
            for p in clean_dir.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p not in image_set and outside_out(p)
        )
        if others:
            err_console.print(
                f"note: skipped {len(others)} non-image file(s) in {clean_dir} (e.g. {others[0].name})",
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


def _make_folders(out_dir: Path, folders: tuple[str, ...]) -> None:
    try:
        for folder in folders:
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create output folders ({exc.strerror})") from None


def _synthesise(
    label: str,
    names: dict[str, Path],
    seed: int,
    out_dir: Path,
    make: Callable[[np.random.Generator, str, Path], Any],
    *,
    quiet: bool,
    output_name: str,
) -> tuple[dict[str, Any], list[str]]:
    """Run ``make(rng, name, path)`` per image with a progress bar; a bad image is reported and skipped.

    Each image gets its own generator seeded by its position, so a bad file does not change the others.
    Returns ``{name: what make returned}`` and the failed paths.
    """
    import numpy as np
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    failed: list[str] = []
    written: dict[str, Any] = {}
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
        disable=quiet, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("synth", total=len(names))
        for index, (name, path) in enumerate(names.items()):
            try:
                result = make(np.random.default_rng([seed, index]), name, path)
            except WeathercleanError as exc:
                failed.append(str(path))
                err_console.print(f"[bold red]error:[/] {escape(str(exc))}; skipped", highlight=False, soft_wrap=True)
            except OSError as exc:
                failed.append(str(path))
                err_console.print(
                    f"[bold red]error:[/] {out_dir}: cannot write {output_name.format(name)} ({exc}); skipped",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                written[name] = result
            progress.advance(task)
    return written, failed


def _finish(out_dir: Path, meta: dict[str, Any], message: str, failed: list[str]) -> None:
    """Write synth.json, print the summary line, and exit 1 if any image failed."""
    from weatherclean.io.atomic import atomic_write

    atomic_write(out_dir / "synth.json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    console.print(message + (f"; {len(failed)} failed" if failed else ""), highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


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


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _existing_outputs(out_dir: Path, names: list[str]) -> list[Path]:
    """Outputs of an earlier run that this run would replace (files NAME.png or clip folders NAME)."""
    found = []
    for folder in RAIN_FOLDERS:
        for name in names:
            for candidate in (out_dir / folder / f"{name}.png", out_dir / folder / name):
                if candidate.exists():
                    found.append(candidate)
    return found


_FRAME_NAME = re.compile(r"\d{5}\.png")


def _write_rain(out_dir: Path, name: str, arrays: dict[str, np.ndarray], clip: bool) -> None:
    """Write one image (``folder/NAME.png``) or one clip (``folder/NAME/00001.png``...) atomically."""
    from weatherclean.io.atomic import atomic_write

    for folder, arr in arrays.items():
        if not clip:
            atomic_write(out_dir / folder / f"{name}.png", _png(arr))
            continue
        clip_dir = out_dir / folder / name
        clip_dir.mkdir(parents=True, exist_ok=True)
        keep = set()
        for t, frame in enumerate(arr, start=1):
            atomic_write(clip_dir / f"{t:05d}.png", _png(frame))
            keep.add(f"{t:05d}.png")
        # An overwritten clip that used to be longer must not keep its old tail frames.
        for stale in clip_dir.iterdir():
            if _FRAME_NAME.fullmatch(stale.name) and stale.name not in keep:
                stale.unlink()


@cli_errors
def rain_command(
    clean_dir: Path = typer.Argument(
        ..., metavar="CLEAN_DIR", help="Folder of clean photos (searched recursively).", show_default=False
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
    style: str = typer.Option(
        "mixed",
        "--style",
        help=f"Rain style: {', '.join(RAIN_STYLES)}, or mixed (one to three of them per image, at random). "
        "docs/synthesis.md shows each.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed and inputs give identical files."),
    clips: bool = typer.Option(
        False, "--clips", help="Make a clip per photo (camera motion, falling rain) instead of one rainy image."
    ),
    frames: int = typer.Option(9, "--frames", min=1, help="Frames per clip (with --clips)."),
    size: str | None = typer.Option(
        None,
        "--size",
        metavar="HxW",
        help="Output size, e.g. 360x640: a random view of each photo (magnified if the photo is smaller). "
        "Default: the whole photo, or 85% of it for clips (room for the camera to move).",
    ),
    crop: int | None = typer.Option(None, "--crop", min=1, help="Square output size; same as --size NxN."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace outputs an earlier run left in OUT_DIR (default: refuse)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N images (sorted by path)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary line."),
) -> None:
    """Synthesise rain (J4R-Net's hybrid model) on CLEAN_DIR's photos: images, or clips with --clips."""
    import numpy as np

    from weatherclean.data.images import read_rgb
    from weatherclean.synth.rain import check_styles as check_rain_styles
    from weatherclean.synth.rain import rain_maps, synthesize_rain_clip

    try:
        styles = None if style.lower() == "mixed" else check_rain_styles([style.lower()])
    except ValueError as exc:
        raise InputError(f"--style {style}: {exc}") from None
    view = _parse_size(size, crop)
    names = _list_inputs(clean_dir, out_dir, limit, note_others=True, output_name="{}")
    existing = _existing_outputs(out_dir, list(names))
    if existing and not overwrite:
        raise InputError(
            f"{out_dir}: already holds {len(existing)} output(s) of an earlier run "
            f"(e.g. {existing[0].relative_to(out_dir).as_posix()}); pass --overwrite to replace them or choose "
            "another OUT_DIR"
        )
    _make_folders(out_dir, RAIN_FOLDERS)

    def make(rng: np.random.Generator, name: str, path: Path) -> dict[str, object]:
        image_level = (
            RAIN_LEVELS[int(rng.integers(0, len(RAIN_LEVELS)))] if level is RainLevelChoice.mixed else level.value
        )
        clean = read_rgb(path)
        if clips or view is not None:
            clip = synthesize_rain_clip(
                clean, rng, image_level, frames=frames if clips else 1, size=view,
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
        _write_rain(out_dir, name, make_rain_arrays(*maps), clips)
        return {"level": image_level, "styles": list(drawn), "angle_deg": angle}

    written, failed = _synthesise("synth rain", names, seed, out_dir, make, quiet=quiet, output_name="{}")
    meta = {
        "generator": "weatherclean synth rain",
        "version": __version__,
        "seed": seed,
        "level": level.value,
        "style": style.lower(),
        "clips": clips,
        "frames": frames if clips else 1,
        "size": list(view) if view is not None else None,
        "clean_dir": str(clean_dir),
        "count": len(written),
        "items": written,
        "failed": failed,
        "model": "O = (1-alpha)*(B+S) + alpha*A; O=rain, B=gt, S=streak, alpha=alpha, A=reliance",
    }
    what = f"rainy clip(s) of {frames} frames" if clips else "rainy image(s)"
    summary = f"wrote {len(written)} {what} to {out_dir} (level {level.value}, style {meta['style']}, seed {seed})"
    _finish(out_dir, meta, summary, failed)
