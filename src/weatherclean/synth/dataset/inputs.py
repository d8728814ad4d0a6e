"""What a synth run reads, checked before any work: CLEAN_DIR's photos and their output names, and whether
the pictures asked for fit in this machine's memory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from weatherclean.errors import InputError
from weatherclean.synth.dataset.record import RECORD_NAME, holds_run

__all__ = [
    "BYTES_PER_PIXEL",
    "MAX_FRAME_PIXELS",
    "PHOTO_BYTES",
    "check_fits",
    "check_view",
    "list_inputs",
    "rain_bytes",
]

#: A frame size beyond which no clean photo gives a useful picture, and which would not fit in memory.
MAX_FRAME_PIXELS = 100_000_000
#: Memory that synthesis takes per output pixel: snow 145 bytes; rain about 130 per pixel of each frame plus
#: two frames' worth (a still takes 310-440), measured on 1-10 MP pictures.
BYTES_PER_PIXEL = 150
#: Bytes per pixel of the photo itself (float32, upright copy), counted when it is not the output size.
PHOTO_BYTES = 48


def rain_bytes(frames: int, pixels: int) -> int:
    """About how much memory a rain picture or clip of ``frames`` frames of ``pixels`` pixels takes."""
    return (frames + 2) * pixels * BYTES_PER_PIXEL


def _physical_memory() -> int | None:
    """Bytes of RAM this machine has (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_view(option: str, view: tuple[int, int], frames: int) -> None:
    """Refuse, before any work, a --size/--crop (and --frames) that no machine of this size can make;
    ``option`` is the size as the user gave it (``--size 360x640``), for the message."""
    h, w = view
    if h * w > MAX_FRAME_PIXELS:
        raise InputError(
            f"{option}: {h * w / 1e6:,.0f} megapixels a frame; synth makes frames of at most "
            f"{MAX_FRAME_PIXELS // 1_000_000} megapixels: pass a smaller size"
        )
    need, ram = rain_bytes(frames, h * w), _physical_memory()
    if ram is not None and need > ram:
        what = f"{option} with --frames {frames}: a clip" if frames > 1 else f"{option}: a picture"
        raise InputError(
            f"{what} needs about {_gib(need)} of memory, more than this machine has ({_gib(ram)}); pass "
            + ("fewer --frames or a smaller size" if frames > 1 else "a smaller size")
        )


def check_fits(path: Path, frames: int, size: tuple[int, int], need: int, advice: str) -> None:
    """Refuse one photo whose output (``frames`` of ``size``) would take more memory than the machine has,
    rather than swap for hours or be killed mid-way."""
    h, w = size
    ram = _physical_memory()
    if ram is not None and need > ram:
        what = f"a clip of {frames} frames of {h}x{w}" if frames > 1 else f"a {h}x{w} picture"
        raise InputError(
            f"{path}: {what} needs about {_gib(need)} of memory, more than this machine has ({_gib(ram)}); {advice}"
        )


def _name_for(path: Path, root: Path) -> str:
    """Output name: the path below CLEAN_DIR without suffix, '/' → '_', so nested files cannot clash."""
    return path.relative_to(root).with_suffix("").as_posix().replace("/", "_")


def find_clean_photos(
    clean_dir: Path, note: Callable[[str], None] | None = None, *, also_skip: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """(the photos, the other files) under ``clean_dir``, each sorted: the one rule for what counts as a
    clean photo, for ``synth`` and ``train --clean`` alike. Hidden files and folders are left out, and so is
    every folder that holds an earlier synth output (a ``synth.json``, or an unfinished run's progress file;
    told to ``note``): its snowy pictures, masks and streak maps are not clean backgrounds. ``also_skip`` is a
    folder (resolved) never searched: synth's own OUT_DIR inside CLEAN_DIR. ``clean_dir`` itself holding a
    synth output is refused in one line."""
    from weatherclean.io.media import is_visible_image, walk_files

    if holds_run(clean_dir):
        raise InputError(
            f"{clean_dir}: holds {RECORD_NAME}: it is the output of an earlier synth, not a folder of clean photos; "
            "pass the folder of photos it was made from"
        )
    earlier: list[Path] = []

    def skip_folder(folder: Path) -> bool:
        if also_skip is not None and folder.resolve() == also_skip:
            return True
        if holds_run(folder):
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
    if earlier and note is not None:
        note(
            f"skipped {len(earlier)} folder(s) in {clean_dir} that hold an earlier synth output ({RECORD_NAME}; "
            f"e.g. {min(earlier).relative_to(clean_dir).as_posix()}): they are not clean photos"
        )
    return sorted(images), sorted(others)


def list_inputs(
    clean_dir: Path, out_dir: Path, limit: int | None, *, output_name: str, note: Callable[[str], None]
) -> dict[str, Path]:
    """Output name → clean image, checked before any work: a folder with images, and no name clashes.

    OUT_DIR may sit inside CLEAN_DIR, so nothing under it is ever read back as a clean photo; nor is any other
    folder that holds an earlier synth output (a ``synth.json``), nor a hidden folder (``.thumbnails/``).
    What was passed over is told to ``note``.
    """
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
    images, others = find_clean_photos(clean_dir, note, also_skip=out_resolved)
    if others:
        note(f"skipped {len(others)} non-image file(s) in {clean_dir} (e.g. {min(others).name})")
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
