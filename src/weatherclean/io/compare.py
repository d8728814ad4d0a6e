"""Pictures to compare: before and after side by side, so a user can look before trusting a result.

Three pictures, all JPEG (or PNG/WebP for a sheet named so), written atomically:

- :func:`side_by_side`: one photo, before | after (``desnow``/``derain --compare``);
- :func:`frame_strip`: a video or a clip of frames, a few frames spread over its length, before above
  after (``desnow``/``derain --compare``); :class:`FrameSampler` picks them while the video streams by, without
  knowing its length and without decoding it twice;
- :func:`contact_sheet`: many pairs, one row each, with the file's name (``weatherclean compare``).

Pictures are shown as a viewer shows them: EXIF orientation and a video's rotation are applied, colours are
converted to sRGB through the photo's ICC profile (the picture itself is untagged, so a ProPhoto or Adobe RGB
master would otherwise show dull and shifted), transparent areas are flattened onto white (as a JPEG output
is), and greyscale is shown as grey. They are previews, downscaled (a side by side to at most
``MAX_SIDE`` px per half), never inputs to anything: their names end in ``.compare.jpg``, which
``desnow``, ``derain`` and ``compare`` skip when they walk folders.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from weatherclean.errors import InputError, OutputError, one_line
from weatherclean.io.atomic import atomic_write
from weatherclean.io.folders import nfc, printable, shown
from weatherclean.io.orientation import rotation_upright, to_upright
from weatherclean.io.permissions import missing_folders, remove_empty

__all__ = [
    "COMPARE_SUFFIX", "MAX_HEIGHT", "MAX_SIDE", "FrameSampler", "check_pair", "compare_path", "contact_sheet",
    "frame_strip", "is_compare_path", "pair_files", "picture_format", "preview", "rows_that_fit", "save_picture",
    "side_by_side", "thumbnail", "upright", "write_side_by_side", "write_strip",
]  # fmt: skip

#: The ending of every comparison picture's name: ``a.jpg`` → ``a.jpg.compare.jpg``.
COMPARE_SUFFIX = ".compare.jpg"
#: Longest side of each half of a side by side: enough to judge snow and rain at full screen, and a
#: 24-MP photo's comparison stays a few MB.
MAX_SIDE = 2048
#: Longest side of each frame in a strip, and of each picture in a contact sheet.
STRIP_SIDE = 480
SHEET_SIDE = 320
_GAP = 8
_BACKGROUND = (255, 255, 255)
_INK = (20, 20, 20)


def compare_path(output: Path) -> Path:
    """Where the comparison of ``output`` goes: beside it, under its whole name plus ``.compare.jpg``
    (``a.jpg`` → ``a.jpg.compare.jpg``, ``clip.mp4`` → ``clip.mp4.compare.jpg``, a clip folder ``clip/`` →
    ``clip.compare.jpg``). The whole name keeps ``a.jpg`` and ``a.png`` apart, and sorts the comparison
    right after its output in a file manager."""
    return output.with_name(output.name + COMPARE_SUFFIX)


def is_compare_path(path: Path) -> bool:
    """Whether ``path`` is named like a comparison picture (never an input to desnow, derain or compare)."""
    return path.name.lower().endswith(COMPARE_SUFFIX)


#: Source pixels converted at a time by :func:`thumbnail` (a band of rows): a few MB of float temporaries.
_BAND_PIXELS = 1 << 18


def thumbnail(
    pixels: np.ndarray, side: int, *, alpha: np.ndarray | None = None, icc: bytes | None = None
) -> Image.Image:
    """Pixels of any kind (H×W×C float in [0, 1], uint8 or uint16; C = 1 to 4) as an RGB picture whose
    longest side is at most ``side``, as a viewer shows them.

    Transparency (the last of 2 or 4 channels, or ``alpha``, H×W of the same kinds) is flattened onto white,
    as the JPEG output flattens it: the colour hidden under transparent pixels (black, for a picture stored
    with associated alpha) is not shown. ``icc``, the photo's ICC profile, converts its colours to sRGB
    (:func:`_in_srgb`), since the comparison picture is untagged.

    The picture is first shrunk by an integer factor s (blocks of s×s pixels averaged, so fine snow and
    rain do not alias) to between ``side`` and ``2 × side`` px, then resized with Lanczos to ``side``.
    Everything runs over bands of rows: each band is averaged, converted to 8 bits and resized across
    (Lanczos works along rows first, then down columns), so a 24-MP float photo costs a few MB of
    temporaries and an 8-bit picture of at most ``2 × side`` by ``side``, never a whole-picture copy.
    """
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    colour = 3 if arr.shape[2] >= 3 else 1
    if alpha is None and arr.shape[2] in (2, 4):
        alpha = arr[..., colour]
    arr = arr[..., :colour]  # a view
    opacity = _opacity(alpha, arr.shape[:2])  # the alpha as given (a view, not a copy), and its opaque value
    h, w, channels = arr.shape
    s = max(1, max(h, w) // side)
    sy, sx = min(s, h), min(s, w)  # a picture thinner than s px keeps its one row or column
    ny, nx = h // sy, w // sx
    fit = min(1.0, side / max(ny, nx))
    tw, th = max(1, round(nx * fit)), max(1, round(ny * fit))
    scale = {np.dtype(np.uint8): 1.0, np.dtype(np.uint16): 255.0 / 65535.0}.get(arr.dtype, 255.0)
    mode = "RGB" if channels == 3 else "L"
    across = Image.new(mode, (tw, ny))
    rows = max(1, _BAND_PIXELS // max(1, nx * sx * sy))  # output rows per band
    for r0 in range(0, ny, rows):
        r1 = min(ny, r0 + rows)
        band = arr[r0 * sy : r1 * sy, : nx * sx]
        if arr.dtype != np.uint8 or s > 1 or opacity is not None:
            values = band.astype(np.float32)
            if opacity is not None:  # colour·a + white·(1 − a), before averaging: what a viewer shows, shrunk
                a = opacity[0][r0 * sy : r1 * sy, : nx * sx, None].astype(np.float32)  # this band's only
                a /= opacity[1]
                np.clip(a, 0.0, 1.0, out=a)
                values *= a
                values += (255.0 / scale) * (1.0 - a)
            if sy * sx > 1:
                values = values.reshape(r1 - r0, sy, nx, sx, channels).mean(axis=(1, 3))
            values *= scale
            np.clip(values, 0.0, 255.0, out=values)
            band = np.rint(values).astype(np.uint8)
        piece = Image.fromarray(np.ascontiguousarray(band[..., 0] if mode == "L" else band), mode)
        if tw != nx:
            piece = piece.resize((tw, r1 - r0), Image.LANCZOS)
        across.paste(piece, (0, r0))
    image = across.resize((tw, th), Image.LANCZOS) if th != ny else across
    image = _in_srgb(image, icc) if icc else image
    return image.convert("RGB") if image.mode != "RGB" else image


def _opacity(alpha: np.ndarray | None, shape: tuple[int, ...]) -> tuple[np.ndarray, float] | None:
    """``alpha`` as given (uint8, uint16 or float; not copied) and the value that means opaque (255, 65535 or 1),
    or None when there is none or all of it is opaque (nothing to flatten). :func:`thumbnail` scales each band's
    slice to [0, 1] as it goes: a whole float copy cost 4 bytes a pixel (190 MB for 48 MP) where the bands cost a
    few MB. An alpha of another size is a caller's mistake: ValueError."""
    if alpha is None:
        return None
    a = np.asarray(alpha)
    if a.shape != tuple(shape):
        raise ValueError(f"alpha {a.shape} does not match pixels {tuple(shape)}")
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)
    if a.size == 0 or a.min() >= top:  # a reduction: no copy, even of a strided view into RGBA pixels
        return None
    return a, top


def _in_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """An 8-bit L or RGB picture converted to sRGB through its ICC profile, as a colour-managed viewer shows it;
    as it was when the profile cannot describe it (a grey profile on colour) or cannot be read (a damaged
    profile, or Pillow without LittleCMS): a preview is never refused for its colours."""
    try:
        from PIL import ImageCms
    except ImportError:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if str(source.profile.xcolor_space).strip() != {"L": "GRAY", "RGB": "RGB"}.get(image.mode):
            return image
        converted = ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        return image
    return converted if isinstance(converted, Image.Image) else image


@functools.cache
def _srgb_profile() -> Any:
    """LittleCMS's built-in sRGB profile, made once."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def upright(image: Image.Image, *, orientation: int = 1, rotation: int = 0) -> Image.Image:
    """``image`` as a viewer shows it: EXIF ``orientation`` (photos) or ``rotation`` in degrees
    counter-clockwise (a video's display matrix, as PyAV reports it), by the turns the model's input gets
    (:mod:`weatherclean.io.orientation`), so a preview and what the model saw are the same way up."""
    pixels = np.asarray(image)
    turned = rotation_upright(to_upright(pixels, orientation), rotation)
    return image if turned is pixels else Image.fromarray(turned)


def side_by_side(before: Image.Image, after: Image.Image) -> Image.Image:
    """Before | after, each labelled, on white."""
    return _grid([[before, after]], column_labels=["before", "after"])


def frame_strip(pairs: Sequence[tuple[int, Image.Image, Image.Image]]) -> Image.Image:
    """Frames spread over a clip: ``(frame number, before, after)`` as columns, before above after."""
    if not pairs:
        raise ValueError("no frames to show")
    return _grid(
        [[p[1] for p in pairs], [p[2] for p in pairs]],
        column_labels=[f"frame {p[0] + 1}" for p in pairs],
        row_labels=["before", "after"],
    )


def rows_that_fit(path: Path, *, note: bool = True) -> int:
    """How many rows a contact sheet written to ``path`` can hold within its format's :data:`MAX_HEIGHT`
    (rows counted at their tallest, a whole ``SHEET_SIDE`` picture; ``note``: room for the line at the foot)."""
    font = _font(14)
    row = SHEET_SIDE + _text_height(font) + 2 * _GAP
    fixed = _text_height(_font(16)) + 2 * _GAP + (_text_height(font) + _GAP if note else 0)
    return max(1, (MAX_HEIGHT[picture_format(path)] - fixed) // row)


def contact_sheet(rows: Sequence[tuple[str, Image.Image | None, Image.Image | None]], *, note: str = "") -> Image.Image:
    """One row per pair: its name above, before | after (a picture that could not be read is a grey box).

    Each name is drawn as the terminal shows it (:func:`~weatherclean.io.folders.shown`): a name with a newline, a
    tab, a bidirectional override or bytes that are not UTF-8 is drawn quoted with escapes, ``$'caf\\xe9.jpg'``.
    Why: drawn as it was, a newline crashed Pillow ("can't measure length of multiline text") and no sheet was
    written, U+202E drew the name reversed, a tab drew a box, and ``caf\\xe9.jpg`` and ``caf\\xe8.jpg`` were
    both drawn ``caf?.jpg`` with a replacement character; now two names that differ are drawn differently, as the
    notes name them."""
    if not rows:
        raise ValueError("no pairs to show")
    font = _font(14)
    width = 2 * SHEET_SIDE + 3 * _GAP
    blocks: list[Image.Image] = []
    for name, before, after in rows:
        height = max(p.height if p is not None else SHEET_SIDE // 2 for p in (before, after))
        line = _text_height(font) + _GAP
        block = Image.new("RGB", (width, height + line + _GAP), _BACKGROUND)
        draw = ImageDraw.Draw(block)
        draw.text((_GAP, _GAP // 2), _fit(draw, shown(name), font, width - 2 * _GAP), fill=_INK, font=font)
        for i, picture in enumerate((before, after)):
            x = _GAP + i * (SHEET_SIDE + _GAP)
            if picture is None:
                draw.rectangle((x, line, x + SHEET_SIDE - 1, line + height - 1), fill=(200, 200, 200))
            else:
                block.paste(picture, (x, line))
        blocks.append(block)
    header_font = _font(16)
    header = _text_height(header_font) + 2 * _GAP
    total = header + sum(b.height for b in blocks) + (_text_height(font) + _GAP if note else 0)
    sheet = Image.new("RGB", (width, total), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(("before", "after")):
        draw.text((_GAP + i * (SHEET_SIDE + _GAP), _GAP), label, fill=_INK, font=header_font)
    y = header
    for block in blocks:
        sheet.paste(block, (0, y))
        y += block.height
    if note:
        draw.text((_GAP, y), _fit(draw, note, font, width - 2 * _GAP), fill=_INK, font=font)
    return sheet


#: The tallest picture each format can hold (WebP's limit; JPEG's is 65535, less a margin; PNG has none, but
#: a sheet taller than JPEG's would be too much for viewers and memory alike).
MAX_HEIGHT = {"JPEG": 65_500, "PNG": 65_500, "WEBP": 16_383}


def picture_format(path: Path) -> str:
    """The Pillow format a comparison picture is written in: JPEG unless the name says PNG or WebP."""
    return {".png": "PNG", ".webp": "WEBP"}.get(path.suffix.lower(), "JPEG")


def save_picture(image: Image.Image, path: Path, *, quality: int = 90) -> None:
    """Write a comparison picture atomically; JPEG unless the name says PNG or WebP.

    The picture is encoded before anything touches the disk, so an encoder's refusal (a picture too
    large for the format) is an :class:`OutputError` naming the file, and leaves nothing behind. Missing
    parent folders are created only then, and removed again if the write fails: no empty folders.
    """
    fmt = picture_format(path)
    buf = io.BytesIO()
    try:
        image.save(buf, format=fmt, **({"quality": quality} if fmt != "PNG" else {}))
    except (OSError, ValueError) as exc:
        raise OutputError(
            f"{path}: cannot encode the {image.width}×{image.height} picture as {fmt} ({one_line(exc)})"
        ) from None
    created = missing_folders(path.parent)
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from None
        atomic_write(path, buf.getvalue())
    except BaseException:
        remove_empty(created)
        raise


def preview(path: Path, side: int = SHEET_SIDE) -> Image.Image:
    """A picture of a photo, or of the middle frame of a video, upright and at most ``side`` px long.

    Raises :class:`InputError` with a one-line reason when the file cannot be read.
    """
    from weatherclean.io.media import is_video_path

    if is_video_path(path):
        return _video_preview(path, side)
    from weatherclean.io.images import load_image

    photo = load_image(path)
    picture = thumbnail(photo.pixels, side, alpha=photo.alpha, icc=photo.icc_profile)
    return upright(picture, orientation=photo.orientation)


def _video_preview(path: Path, side: int) -> Image.Image:
    """The frame nearest the middle of a video (seek, then decode forward), rotated for display."""
    import av

    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            middle = (container.duration or 0) / 2 / 1_000_000
            if middle and stream.time_base:
                container.seek(int(middle / stream.time_base), stream=stream)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.pts is None or not stream.time_base or float(frame.pts * stream.time_base) >= middle:
                    break
            if chosen is None:
                raise InputError(f"{path}: no frame could be decoded")
            rgb = chosen.to_ndarray(format="rgb24")
            rotation = int(round(getattr(chosen, "rotation", 0) or 0))
    except av.error.FFmpegError as exc:
        # FFmpeg's words without its errno and the path as PyAV quotes it (``'cv/b/v\\udce9\\n.mp4'``, raw), as
        # weatherclean.io.video.reading says it: the path is named once, at the head, where compare shows it.
        reason = exc.strerror or one_line(exc, 120)
        raise InputError(f"{path}: not a readable video ({reason})") from None
    return upright(thumbnail(rgb, side), rotation=rotation)


def check_pair(before: Path, after: Path) -> None:
    """Raise :class:`InputError` unless ``before`` and ``after`` both exist and are two folders or two files.

    :func:`pair_files` runs it first, so API callers get one clear error, and so does ``compare``, which
    pairs before it checks its output: a missing BEFORE was reported as "sheet.compare.jpg: exists" when an
    earlier sheet was there, which hid the real mistake."""
    for path in (before, after):
        if not path.exists():
            raise InputError(f"{path}: file or folder not found")
    if (before.is_file() or after.is_file()) and not (before.is_file() and after.is_file()):
        raise InputError(f"{before}, {after}: give two folders, or two files")


def pair_files(before: Path, after: Path) -> tuple[list[tuple[str, Path, Path]], list[str], list[str]]:
    """Photos and videos of ``before`` matched with their results in ``after``, by path inside each folder.

    Returns (pairs as ``(name, before file, after file)`` sorted by name, names only in ``before``, names
    only in ``after``). The extension does not count (``--format`` changes it), unless two files differ
    only in it, and then the same extension pairs first. A path written in another Unicode normalisation
    (``café`` as ``e`` + a combining accent, as a copy through macOS writes it) pairs too, after every exact
    match: the two look the same, and "only in BEFORE: café.jpg" beside "only in AFTER: café.jpg" read as a
    bug. Hidden files, comparison pictures and, when one folder lies inside the other (``dir/desnowed/``), the
    inner folder's files are left out of the outer one. Two files pair up as they are. Raises
    :class:`InputError` (:func:`check_pair`) for a path that does not exist, or for a folder given with a file,
    before anything is walked.
    """
    check_pair(before, after)
    if before.is_file():
        return [(before.name, before, after)], [], []
    mine, theirs = _media(before, skip=after), _media(after, skip=before)
    partner: dict[Path, Path] = {}
    used: set[Path] = set()
    for key in (lambda r: r.with_suffix("").as_posix(), lambda r: nfc(r.with_suffix("").as_posix())):
        by_key: dict[str, list[Path]] = {}
        for r in sorted(theirs):
            by_key.setdefault(key(r), []).append(r)
        for rel in sorted(mine):
            if rel in partner:
                continue
            # The same extension first, in both passes: in the second, no path equals ``rel`` (its spelling differs).
            same_type = nfc(rel.suffix)
            candidates = sorted(
                (r for r in by_key.get(key(rel), []) if r not in used), key=lambda r: nfc(r.suffix) != same_type
            )
            if candidates:
                used.add(candidates[0])
                partner[rel] = candidates[0]
    pairs = [(rel.as_posix(), mine[rel], theirs[partner[rel]]) for rel in sorted(partner)]
    only_before = [rel.as_posix() for rel in sorted(mine) if rel not in partner]
    only_after = [rel.as_posix() for rel in sorted(theirs) if rel not in used]
    return pairs, only_before, only_after


def _media(folder: Path, *, skip: Path) -> dict[Path, Path]:
    """Photos and videos under ``folder`` by relative path, without hidden ones, comparison pictures, or
    anything under ``skip``."""
    from weatherclean.io.media import is_image_path, is_video_path
    from weatherclean.io.video import is_partial_path

    skip_real = skip.resolve()
    found: dict[Path, Path] = {}
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (root_path / d).resolve() != skip_real)
        for name in sorted(files):
            path = root_path / name
            if name.startswith(".") or is_compare_path(path) or not (is_image_path(path) or is_video_path(path)):
                continue
            if is_partial_path(path):  # a failed video's frames (``a.partial.mp4``), never a result to show
                continue
            found[path.relative_to(folder)] = path
    return found


class FrameSampler:
    """Keeps before/after thumbnails of ``count`` frames spread evenly over a stream of unknown length.

    Every ``stride``-th frame is kept; when ``4 × count`` are kept, every other one is dropped and the
    stride doubles. Whatever the length, the kept frames stay evenly spaced from the first frame to near
    the last, and only a few dozen small thumbnails are ever held.
    """

    def __init__(self, count: int = 4, side: int = STRIP_SIDE) -> None:
        self.count, self.side = count, side
        self.stride = 1
        self.seen = 0
        self.kept: list[tuple[int, Image.Image, Image.Image]] = []

    def offer(self, before: np.ndarray, after: np.ndarray) -> None:
        """One frame, before and after the model (any dtype :func:`thumbnail` takes)."""
        index = self.seen
        self.seen += 1
        if index % self.stride:
            return
        self.kept.append((index, thumbnail(before, self.side), thumbnail(after, self.side)))
        if len(self.kept) >= 4 * self.count:
            self.kept = self.kept[::2]
            self.stride *= 2

    def pairs(self) -> list[tuple[int, Image.Image, Image.Image]]:
        """``count`` of the kept frames (all of them if fewer), first and last included."""
        n = len(self.kept)
        if n <= self.count:
            return list(self.kept)
        picks = sorted({round(j * (n - 1) / (self.count - 1)) for j in range(self.count)})
        return [self.kept[i] for i in picks]


def write_side_by_side(before: Image.Image, after: Image.Image, output: Path, *, orientation: int = 1) -> Path:
    """Save the side by side of one photo beside its ``output``; returns where."""
    path = compare_path(output)
    save_picture(side_by_side(upright(before, orientation=orientation), upright(after, orientation=orientation)), path)
    return path


def write_strip(sampler: FrameSampler, output: Path, *, pixel_aspect: float = 1.0) -> Path:
    """Save the frame strip of a video or clip beside its ``output``; returns where. The sampler holds
    frames as the model saw them, upright already; ``pixel_aspect`` (a shown pixel's width over its
    height) gives anamorphic video its shown shape, as a player does (1440×1080 at 4:3 shows 16:9)."""
    pairs = sampler.pairs()
    if abs(pixel_aspect - 1.0) > 1e-3:
        pairs = [(n, _shown(before, pixel_aspect), _shown(after, pixel_aspect)) for n, before, after in pairs]
    path = compare_path(output)
    save_picture(frame_strip(pairs), path)
    return path


def _shown(picture: Image.Image, pixel_aspect: float) -> Image.Image:
    """A thumbnail of non-square pixels as shown: widened (or made taller), then fitted back within its
    longest side."""
    w, h = picture.width * pixel_aspect, float(picture.height)
    fit = max(picture.width, picture.height) / max(w, h)
    return picture.resize((max(1, round(w * fit)), max(1, round(h * fit))), Image.LANCZOS)


def _grid(
    rows: Sequence[Sequence[Image.Image]], *, column_labels: Sequence[str], row_labels: Sequence[str] = ()
) -> Image.Image:
    """Pictures in a grid on white, each column headed by a label, each row led by one (if given)."""
    font = _font(max(14, min(32, max(p.height for r in rows for p in r) // 24)))
    line = _text_height(font) + _GAP
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lead = max((int(probe.textlength(t, font=font)) for t in row_labels), default=-_GAP) + _GAP
    widths = [max(r[c].width for r in rows) for c in range(len(rows[0]))]
    heights = [max(p.height for p in r) for r in rows]
    width = _GAP + lead + sum(widths) + _GAP * len(widths)
    height = _GAP + line + sum(heights) + _GAP * len(heights)
    grid = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(grid)
    x = _GAP + lead
    for c, label in enumerate(column_labels):
        draw.text((x, _GAP // 2), label, fill=_INK, font=font)
        x += widths[c] + _GAP
    y = _GAP + line
    for r, row in enumerate(rows):
        if r < len(row_labels):
            draw.text((_GAP, y), row_labels[r], fill=_INK, font=font)
        x = _GAP + lead
        for c, picture in enumerate(row):
            grid.paste(picture, (x, y))
            x += widths[c] + _GAP
        y += heights[r] + _GAP
    return grid


#: Fonts with wide coverage (Latin with accents, Greek, Cyrillic; CJK and Arabic in some), tried in order: a file
#: name is drawn in the first one found. Pillow's own font has ASCII and little else.
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",  # Fedora, Arch
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",  # macOS
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:/Windows/Fonts/segoeui.ttf",  # Windows
    "C:/Windows/Fonts/arial.ttf",
)


@functools.cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font of ``size`` pixels: the first of :data:`_FONT_FILES` on this machine, else Pillow's own.

    Why not Pillow's alone: it has no glyph for é, ü, ß, nor any CJK, Arabic or emoji, and drew each such
    character of a file name as a box: "Zürich.jpg" and "Zérich.jpg" were told apart by nothing. What no font
    found has a glyph for is written as an escape (:func:`_drawable`)."""
    for name in _FONT_FILES:
        if os.path.isfile(name):
            try:
                return ImageFont.truetype(name, size)
            except (OSError, ValueError):
                continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _glyph_key(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _has_glyph(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether ``font`` draws ``char`` as itself, not as its "missing" box (.notdef): told by comparing the
    character's mask with that of a code point no font has. ASCII is taken as drawn by any font."""
    if char.isascii():
        return True
    if not isinstance(font, ImageFont.FreeTypeFont):
        return False  # the bitmap font has Latin-1 at most, and draws nothing or a box for the rest
    return _glyph_key(font, char) != _missing_key(font)


@functools.cache
def _missing_key(font: ImageFont.FreeTypeFont) -> tuple[tuple[int, int], bytes]:
    """The mask of ``font``'s "missing" box, rendered once per font: a private-use code point of the last plane."""
    return _glyph_key(font, "\U0010fffd")


def _drawable(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> str:
    """``text`` with each character ``font`` has no glyph for written as an escape (``\\u00e9``), so that two
    names that differ only there still differ on the sheet."""
    return "".join(
        char if _has_glyph(font, char) else (f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
        for char in text
    )


def _text_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    box = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), "Ag", font=font)
    return int(box[3] - box[1]) + 4


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int) -> str:
    """``text`` cut from the left with "…" so it fits ``width`` (a long path keeps its file name); a character the
    font cannot draw is an escape (:func:`_drawable`), and so is one that would break the line or turn it round
    (:func:`~weatherclean.io.folders.printable`: Pillow refuses to measure a newline)."""
    text = _drawable(printable(text), font)
    if draw.textlength(text, font=font) <= width:
        return text
    ellipsis = "…" if _has_glyph(font, "…") else "..."
    while text and draw.textlength(ellipsis + text, font=font) > width:
        text = text[1:]
    return ellipsis + text
