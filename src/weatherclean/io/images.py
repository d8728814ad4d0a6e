"""Reading and writing photos without losing what the photographer cares about.

A restored photo must look, in every viewer, like the input minus the snow: same orientation (we
process pixels *as stored* and keep the EXIF orientation tag, so viewers rotate output as they rotated
input), same colour profile, same capture metadata (EXIF incl. GPS, XMP), same bit depth, same alpha.
The EXIF thumbnail still shows the snowy original, so it is rebuilt from the output (or removed).
Anything that cannot be kept is reported as a one-line note instead of being lost silently.

Pillow cannot hold 16-bit colour, so 16-bit RGB(A) PNG/TIFF are decoded with Pillow's own C decoder
twice (high bytes, then low bytes via the byte-swapped raw mode), 16-bit grey+alpha PNG is decoded as
raw bytes, and 16-bit output is written by the small PNG/TIFF writers below. TIFF output always goes
through our own writer so that EXIF sub-IFDs (Exif, GPS) can be copied entry by entry with their
original types and values, which neither Pillow's nor libtiff's TIFF writer does. Writes are atomic:
a crash or full disk never leaves a half-written photo behind.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import mmap
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from weatherclean.errors import InputError, OutputError, WeathercleanError, folder_not_file
from weatherclean.io.atomic import atomic_write

__all__ = [
    "HEIF_EXTRA_HINT",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "OUTPUT_FORMATS",
    "LoadedImage",
    "OutputError",
    "SavedImage",
    "is_image_path",
    "load_image",
    "normalise_format",
    "save_image",
    "strip_exif_thumbnail",
    "suffix_for_format",
]

#: Refuse images above one gigapixel: larger files are almost always corrupt or hostile (a
#: "decompression bomb" that would exhaust memory), and Pillow's default limit (~179 MP) is too low
#: for real panoramas.
MAX_PIXELS = 1_000_000_000
#: File name endings we treat as images (everything else in a folder is skipped with a note). HEIC/HEIF
#: are always listed so that, without the optional extra, they fail with a hint instead of being skipped.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".avif", ".heic", ".heif"})
#: What to tell people who feed us HEIC without pillow-heif installed.
HEIF_EXTRA_HINT = "pip install 'weatherclean[heif]'"

#: Names users type for ``--format`` → Pillow format name.
_FORMAT_ALIASES = {"jpeg": "JPEG", "jpg": "JPEG", "jpe": "JPEG", "png": "PNG", "tiff": "TIFF", "tif": "TIFF",
                   "webp": "WEBP", "avif": "AVIF", "heic": "HEIF", "heif": "HEIF"}  # fmt: skip
_FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "AVIF": ".avif", "HEIF": ".heic"}
_FORMAT_NAME = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP", "AVIF": "AVIF", "HEIF": "HEIC"}
_SUPPORTED_FORMATS = tuple(_FORMAT_SUFFIX)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2")
_EXIF_PREFIX = b"Exif\x00\x00"
#: A JPEG APP1 segment holds at most this many bytes after its length field.
_JPEG_MAX_APP1 = 65533
_THUMB_NOTE = "EXIF thumbnail removed (it showed the original)"
_pillow_limit_lock = threading.Lock()


def _avif_available() -> bool:
    return bool(features.check("avif"))


#: Names accepted by ``--format`` in this installation (heic/heif only with the optional extra).
OUTPUT_FORMATS: tuple[str, ...] = (
    "jpeg", "jpg", "png", "tiff", "tif", "webp",
    *(("avif",) if _avif_available() else ()),
    *(("heic", "heif") if importlib.util.find_spec("pillow_heif") is not None else ()),
)  # fmt: skip


@functools.cache
def _heif_ready() -> bool:
    """Register pillow-heif with Pillow on first need, so a plain install never imports it."""
    try:
        import pillow_heif  # type: ignore[import-not-found,unused-ignore]

        pillow_heif.register_heif_opener()
    except (ImportError, OSError, RuntimeError):
        return False
    return True


def normalise_format(name: str) -> str:
    """``"jpg"`` → ``"JPEG"``: one spelling per format so the CLI, suffixes and writers agree.

    Raises a one-line :class:`OutputError` for unknown names and for formats this installation cannot
    write (HEIC without the ``heif`` extra, AVIF with a Pillow built without it).
    """
    key = name.strip().lower().lstrip(".")
    fmt = _FORMAT_ALIASES.get(key)
    if fmt is None:
        raise OutputError(f"unknown output format '{name}'; use jpeg, png, tiff, webp, avif or heic")
    if fmt == "AVIF" and not _avif_available():
        raise OutputError(f"{key} output needs Pillow built with AVIF support: pip install -U pillow")
    if fmt == "HEIF" and not (_heif_ready() and "HEIF" in Image.SAVE):
        raise OutputError(f"{key} output needs the optional extra: {HEIF_EXTRA_HINT}")
    return fmt


def suffix_for_format(fmt: str) -> str:
    """File ending for a format (Pillow name or user spelling), e.g. ``"JPEG"`` → ``".jpg"``."""
    key = fmt.strip().lstrip(".")
    pillow = key.upper() if key.upper() in _FORMAT_SUFFIX else _FORMAT_ALIASES.get(key.lower())
    if pillow is None:
        raise OutputError(f"unknown output format '{fmt}'; use jpeg, png, tiff, webp, avif or heic")
    return _FORMAT_SUFFIX[pillow]


def is_image_path(path: Path) -> bool:
    """True for file names with an image suffix we read (or explain how to read)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


@dataclass
class LoadedImage:
    """Pixels plus everything needed to write the result back "the same" as the input.

    ``pixels`` is float32 H×W×C in [0, 1] with C = 3 (colour) or 1 (greyscale); ``alpha`` is H×W float32
    in [0, 1] or None; ``bit_depth`` is 8 or 16 per channel; ``extra`` holds format details used by
    :func:`save_image` (JPEG subsampling, DPI, PNG text chunks, WebP losslessness, ...). ``notes`` are
    one-line, non-fatal things the user should be told (conversions, dropped pages) – the batch runner
    prints them next to the photo. ``frames`` is how many frames/pages the file had (only the first is
    processed).
    """

    path: Path
    pixels: np.ndarray
    bit_depth: int
    format: str
    mode: str
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    frames: int = 1

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


@dataclass
class SavedImage:
    """What :func:`save_image` wrote: the path, the format, and notes about anything not kept.

    ``os.fspath(saved)`` gives the path, so code that treated the old ``Path`` return value as a path
    (``open(saved)``, ``Path(saved)``) keeps working.
    """

    path: Path
    format: str
    notes: list[str] = field(default_factory=list)

    def __fspath__(self) -> str:
        return os.fspath(self.path)


# ------------------------------------------------------------------------------ TIFF/EXIF structures
#
# EXIF is a little TIFF file. To carry it into TIFF output (and out of TIFF input) we copy IFD entries
# as raw (type, count, bytes) triples in the source byte order, so every value keeps its exact type
# and bytes; only offsets change. Pillow's tag tables lack types for many EXIF tags (MakerNote became
# BYTE, rationals were reduced), which is why this is not done with ImageFileDirectory_v2.

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_SUB_IFD_TAGS = frozenset({34665, 34853, 40965})  # Exif, GPS, Interoperability
#: IFD0 tags that describe pixel layout/encoding: our TIFF writer sets its own, and they mean nothing
#: (or something wrong) once copied into another file's EXIF.
_TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289,
     290, 291, 292, 293, 297, 317, 320, 321, 322, 323, 324, 325, 330, 332, 333, 334, 336, 338, 339, 340,
     341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 532}
)  # fmt: skip
#: Carried in their own fields (ICC, XMP) or deliberately dropped (Photoshop resources hold a preview
#: of the original; layer data no longer matches the processed pixels).
_TIFF_SEPARATE_TAGS = frozenset({700, 34675})
_PHOTOSHOP_TAGS = frozenset({34377, 37724})

#: One IFD: tag → (type, count, value bytes) or, for a sub-IFD pointer, (type, 1, nested IFD).
Ifd = dict[int, tuple[int, int, Any]]


def _parse_ifd(buf: Any, e: str, offset: int, depth: int = 0) -> Ifd:
    """Read an IFD from ``buf`` (bytes or mmap) as raw entries; corrupt entries are skipped, not fatal."""
    entries: Ifd = {}
    if offset < 8 or offset + 2 > len(buf):
        return entries
    (n,) = struct.unpack_from(e + "H", buf, offset)
    if n > 4096 or offset + 2 + 12 * n > len(buf):
        return entries
    for i in range(n):
        pos = offset + 2 + 12 * i
        tag, typ, count = struct.unpack_from(e + "HHI", buf, pos)
        size = _TYPE_SIZES.get(typ)
        if size is None:
            continue
        nbytes = size * count
        if nbytes <= 4:
            payload = bytes(buf[pos + 8 : pos + 8 + nbytes])
        else:
            (off,) = struct.unpack_from(e + "I", buf, pos + 8)
            if off + nbytes > len(buf):
                continue
            payload = bytes(buf[off : off + nbytes])
        if tag in _SUB_IFD_TAGS and typ in (4, 13) and count == 1:
            if depth < 3:
                (sub,) = struct.unpack_from(e + "I", payload)
                entries[tag] = (typ, 1, _parse_ifd(buf, e, sub, depth + 1))
            continue
        entries[tag] = (typ, count, payload)
    return entries


def _serialise_ifd(entries: Ifd, e: str, offset: int, next_ifd: int = 0) -> bytes:
    """An IFD placed at ``offset`` followed by its out-of-line values and sub-IFDs (word aligned)."""
    tags = sorted(entries)
    base = offset + 2 + 12 * len(tags) + 4
    head = bytearray(struct.pack(e + "H", len(tags)))
    aux = bytearray()
    for tag in tags:
        typ, count, payload = entries[tag]
        if isinstance(payload, dict):
            aux += b"\x00" * (len(aux) % 2)
            sub_offset = base + len(aux)
            aux += _serialise_ifd(payload, e, sub_offset)
            head += struct.pack(e + "HHI", tag, typ, 1) + struct.pack(e + "I", sub_offset)
        elif len(payload) <= 4:
            head += struct.pack(e + "HHI", tag, typ, count) + payload.ljust(4, b"\x00")
        else:
            aux += b"\x00" * (len(aux) % 2)
            head += struct.pack(e + "HHI", tag, typ, count) + struct.pack(e + "I", base + len(aux))
            aux += payload
    head += struct.pack(e + "I", next_ifd)
    return bytes(head + aux)


def _entry(e: str, typ: int, values: tuple[Any, ...] | bytes) -> tuple[int, int, bytes]:
    """Pack values as a raw IFD entry: SHORT/LONG ints, RATIONAL (num, den) pairs, BYTE/UNDEFINED bytes."""
    if isinstance(values, bytes):
        return typ, len(values), values
    if typ == 5:
        return typ, len(values), b"".join(struct.pack(e + "II", n, d) for n, d in values)
    return typ, len(values), struct.pack(e + ("H" if typ == 3 else "I") * len(values), *values)


def _tiff_head(blob: bytes) -> tuple[str, int] | None:
    """Byte order and IFD0 offset of a TIFF structure (EXIF without its ``Exif\\0\\0`` prefix)."""
    if blob[:4] == b"II*\x00":
        e = "<"
    elif blob[:4] == b"MM\x00*":
        e = ">"
    else:
        return None
    (ifd0,) = struct.unpack_from(e + "I", blob, 4)
    return e, ifd0


def _tiff_part(exif: bytes) -> bytes:
    return exif[len(_EXIF_PREFIX) :] if exif.startswith(_EXIF_PREFIX) else exif


def _exif_ifd0(exif: bytes) -> tuple[str, Ifd] | None:
    tiff = _tiff_part(exif)
    head = _tiff_head(tiff)
    if head is None:
        return None
    return head[0], _parse_ifd(tiff, head[0], head[1])


def _exif_blob(e: str, ifd0: Ifd) -> bytes | None:
    """A standalone EXIF blob (with ``Exif\\0\\0``) from raw IFD0 entries, e.g. those of a TIFF file."""
    if not ifd0:
        return None
    header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", 8)
    return _EXIF_PREFIX + header + _serialise_ifd(ifd0, e, 8)


# --------------------------------------------------------------------------------------------- loading


@contextlib.contextmanager
def _pillow_pixel_limit() -> Iterator[None]:
    """Use our own bomb limit instead of Pillow's global one, without leaving the global changed."""
    with _pillow_limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises above 2× this, warns above 1×
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _reason(exc: BaseException) -> str:
    """A short human reason for a Pillow decode failure."""
    msg = str(exc).strip() or type(exc).__name__
    low = msg.lower()
    if "truncated" in low or "premature end" in low or "unexpected end" in low or isinstance(exc, EOFError):
        return f"truncated file ({msg}); re-copy it from the source"
    return f"cannot decode image ({msg})"


def _swap_rawmode(rawmode: str) -> str | None:
    """``RGB;16B`` ↔ ``RGB;16L`` (``16N`` is native): decoding with the swapped mode yields the low bytes."""
    native = "L" if np.little_endian else "B"
    for suffix in (";16B", ";16L", ";16N"):
        if rawmode.endswith(suffix):
            order = native if suffix == ";16N" else suffix[-1]
            return rawmode[: -len(suffix)] + (";16L" if order == "B" else ";16B")
    return None


def _rawmode(tile: Any) -> str | None:
    args = tile.args if hasattr(tile, "args") else tile[3]
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    args = tile.args if hasattr(tile, "args") else tile[3]
    new_args: Any = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=new_args)
    return (tile[0], tile[1], tile[2], new_args)


def _open(path: Path) -> Image.Image:
    with _pillow_pixel_limit():
        im = Image.open(path)
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise InputError(
            f"{path}: image is {w}×{h} = {w * h / 1e6:.0f} megapixels, over the {MAX_PIXELS // 1_000_000} MP "
            "safety limit (decompression-bomb guard); downscale or split it first"
        )
    return im


def _decode_with(path: Path, rawmodes: list[str]) -> np.ndarray:
    """Decode ``path`` with its tiles' raw modes replaced (Pillow's C decoders, our byte layout)."""
    with _open(path) as im:
        im.tile = [_with_rawmode(t, r) for t, r in zip(im.tile, rawmodes, strict=True)]  # type: ignore[arg-type]
        with _pillow_pixel_limit():
            im.load()
        return np.asarray(im)


def _read_wide(path: Path, kind: str) -> np.ndarray | None:
    """16-bit samples that Pillow cannot hold, as uint16 H×W×C; None if the trick does not apply.

    ``"colour"``: decode the high bytes, then the low bytes via the byte-swapped raw mode.
    ``"grey_alpha"`` (PNG colour type 4): Pillow widens it to 8-bit RGBA, so decode the same 4 bytes per
    pixel as plain 8-bit RGBA instead – PNG unfiltering/de-interlacing only depend on the pixel size.
    """
    with _open(path) as im:
        raws = [_rawmode(t) for t in im.tile]
    if not raws or any(r is None for r in raws):
        return None
    if kind == "grey_alpha":
        b = _decode_with(path, ["RGBA"] * len(raws)).astype(np.uint16)
        return np.stack([(b[..., 0] << 8) | b[..., 1], (b[..., 2] << 8) | b[..., 3]], axis=-1)
    swapped = [_swap_rawmode(r) for r in raws if r]
    if any(s is None for s in swapped):
        return None
    hi = _decode_with(path, [r for r in raws if r]).astype(np.uint16)
    lo = _decode_with(path, [s for s in swapped if s]).astype(np.uint16)
    if hi.shape != lo.shape:
        return None
    return (hi << 8) | lo


def _wide_kind(im: Image.Image) -> str | None:
    """Pillow reports 16-bit colour as 8-bit RGB(A); the raw modes tell the truth."""
    raws = [_rawmode(t) or "" for t in im.tile]
    if not raws:
        return None
    if im.mode in ("RGB", "RGBA") and all(";16" in r and not r.startswith("LA") for r in raws):
        return "colour"
    if im.format == "PNG" and all(r == "LA;16B" for r in raws):
        return "grey_alpha"
    return None


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value or None
    if isinstance(value, str):
        return value.encode("utf-8") or None
    if isinstance(value, tuple | list) and all(isinstance(v, int) for v in value):
        return bytes(value) or None
    return None


def _raw_profile(text: Any) -> bytes | None:
    """ImageMagick's PNG ``Raw profile type exif/xmp`` text chunk: ``\\nname\\n  length\\nhex...``."""
    parts = str(text).split()
    try:
        length = int(parts[1])
        data = bytes.fromhex("".join(parts[2:]))[:length]
    except (IndexError, ValueError):
        return None
    return data or None


def _webp_lossless(path: Path) -> bool:
    """True when the (first frame's) bitstream is VP8L: that file was saved lossless and should stay so."""
    with open(path, "rb") as fh:
        if fh.read(12)[8:12] != b"WEBP":
            return False
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return False
            fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
            if fourcc in (b"VP8L", b"VP8 "):
                return fourcc == b"VP8L"
            if fourcc == b"ANMF":  # frame header (16 bytes), then the frame's own chunks
                fh.seek(16, os.SEEK_CUR)
                continue
            fh.seek(size + (size & 1), os.SEEK_CUR)


def _avif_bit_depth(path: Path) -> int:
    """Bits per channel from the AVIF ``pixi`` box (Pillow decodes AVIF to 8 bits whatever it holds)."""
    with open(path, "rb") as fh:
        buf = fh.read(1 << 16)

    def walk(start: int, end: int) -> int:
        pos = start
        while pos + 8 <= end:
            size, typ = struct.unpack_from(">I4s", buf, pos)
            hdr = 8
            if size == 1 and pos + 16 <= end:
                (size,) = struct.unpack_from(">Q", buf, pos + 8)
                hdr = 16
            elif size == 0:
                size = end - pos
            if size < hdr:
                return 8
            if typ == b"pixi" and pos + hdr + 5 < len(buf):
                channels = buf[pos + hdr + 4]
                return max(buf[pos + hdr + 5 : pos + hdr + 5 + channels] or b"\x08")
            if typ in (b"meta", b"iprp", b"ipco"):
                found = walk(pos + hdr + (4 if typ == b"meta" else 0), min(pos + size, end))
                if found != 8:
                    return found
            pos += size
        return 8

    return walk(0, len(buf))


def _sniff(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(12)
    except OSError:
        return b""


def _is_heif(path: Path) -> bool:
    head = _sniff(path)
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _frames_note(fmt: str, n: int) -> str:
    """Only the first frame is processed (the API is one picture per file); say so instead of hiding it."""
    kinds = {"TIFF": ("multi-page TIFF", "page"), "JPEG": ("multi-picture JPEG", "picture"),
             "HEIF": ("HEIC with several images", "image")}  # fmt: skip
    what, unit = kinds.get(fmt, (f"animated {_FORMAT_NAME.get(fmt, fmt)}", "frame"))
    return f"{what}: only {unit} 1 of {n} processed; other {unit}s dropped"


def _tiff_metadata(path: Path, notes: list[str]) -> tuple[bytes | None, bytes | None, bytes | None, int]:
    """(EXIF, ICC, XMP, orientation) of a TIFF's first IFD, copied raw so every tag keeps type and bytes."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        head = _tiff_head(bytes(buf[:8]))
        if head is None:
            return None, None, None, 1
        ifd0 = _parse_ifd(buf, *head)
    e = head[0]
    icc = ifd0[34675][2] if 34675 in ifd0 else None
    xmp = ifd0[700][2] if 700 in ifd0 else None
    orientation = 1
    if 274 in ifd0 and ifd0[274][0] == 3 and ifd0[274][1] == 1:
        (orientation,) = struct.unpack(e + "H", ifd0[274][2])
    if any(t in ifd0 for t in _PHOTOSHOP_TAGS):
        notes.append("Photoshop data (layers, resources) not kept; only the flattened image is processed")
    keep = {t: v for t, v in ifd0.items() if t not in _TIFF_LAYOUT_TAGS | _TIFF_SEPARATE_TAGS | _PHOTOSHOP_TAGS}
    return _exif_blob(e, keep), icc or None, xmp or None, orientation


def _as_stored(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Undo the EXIF rotation Pillow applies to TIFFs on load: we process pixels as stored, like JPEGs.

    Pillow turns stored pixels into displayed ones with the transpose for ``orientation``; this is the
    inverse (flips and transposes are their own inverses; the two quarter turns swap).
    """
    undo = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, 1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, -1),
    }.get(orientation)  # fmt: skip
    return np.ascontiguousarray(undo(arr)) if undo else arr


def _read_tiff_grey_alpha16(path: Path) -> np.ndarray | None:
    """16-bit grey+alpha TIFF, which Pillow cannot open (it is what we write for 16-bit LA input).

    Handles the layouts our writer and common tools produce: strips, chunky, uncompressed or deflate,
    with or without horizontal prediction. Anything else returns None (and the caller reports it).
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        head = _tiff_head(bytes(buf[:8]))
        if head is None:
            return None
        e = head[0]
        ifd = _parse_ifd(buf, *head)

        def vals(tag: int, default: tuple[int, ...] = ()) -> tuple[int, ...]:
            if tag not in ifd:
                return default
            typ, count, payload = ifd[tag]
            code = {3: "H", 4: "I"}.get(typ)
            return struct.unpack(e + code * count, payload) if code else ()

        w, h = (vals(256) or (0,))[0], (vals(257) or (0,))[0]
        compression, photometric = vals(259, (1,))[0], vals(262, (1,))[0]
        predictor = vals(317, (1,))[0]
        supported = (
            vals(258) == (16, 16) and vals(277) == (2,) and photometric in (0, 1) and compression in (1, 8, 32946)
            and vals(284, (1,)) == (1,) and predictor in (1, 2) and vals(339, (1, 1)) in ((1,), (1, 1))
            and 0 < w * h <= MAX_PIXELS
        )  # fmt: skip
        offsets, counts = vals(273), vals(279)
        if not supported or not offsets or len(offsets) != len(counts):
            return None
        raw = bytearray()
        for off, cnt in zip(offsets, counts, strict=True):
            chunk = bytes(buf[off : off + cnt])
            raw += zlib.decompress(chunk) if compression != 1 else chunk
    need = w * h * 4
    if len(raw) < need:
        raise InputError(f"{path}: truncated file (image data ends early); re-copy it from the source")
    arr = np.frombuffer(bytes(raw[:need]), dtype=e + "u2").reshape(h, w, 2).astype(np.uint16)
    if predictor == 2:
        arr = np.cumsum(arr, axis=1, dtype=np.uint16)  # undo horizontal differencing (wraps mod 2**16)
    if photometric == 0:  # WhiteIsZero
        arr[..., 0] = 65535 - arr[..., 0]
    return arr


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """CMYK → RGB through the embedded profile when there is one (colour-accurate), else naively."""
    if icc:
        try:
            from PIL import ImageCms

            srgb = ImageCms.createProfile("sRGB")
            rgb = ImageCms.profileToProfile(im, io.BytesIO(icc), srgb, outputMode="RGB")
            if rgb is not None:
                notes.append("CMYK converted to RGB via its ICC profile; written as RGB with an sRGB profile")
                return rgb, ImageCms.ImageCmsProfile(srgb).tobytes()
        except (ImportError, OSError, ValueError, TypeError):
            pass  # littlecms missing or a broken profile: fall through to the plain conversion
        notes.append("CMYK converted to RGB for processing; written as RGB (the CMYK ICC profile was dropped)")
    else:
        notes.append("CMYK converted to RGB (no ICC profile, colours are approximate)")
    return im.convert("RGB"), None


class _NotPillow(Exception):
    """Pillow did not recognise the file; the caller tries our own readers and explains."""


def _open_or_explain(p: Path) -> Image.Image:
    """Open with Pillow, turning its many failure types into one-line :class:`InputError` messages."""
    try:
        try:
            return _open(p)
        except UnidentifiedImageError:
            if not (_is_heif(p) and _heif_ready()):  # pillow-heif installed but not registered yet
                raise
            return _open(p)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: over the {MAX_PIXELS // 1_000_000} MP safety limit ({exc})") from None
    except UnidentifiedImageError:
        raise _NotPillow from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error, not a decoder complaint
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        raise InputError(f"{p}: {_reason(exc)}") from None
    except (SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode a photo as stored (no EXIF rotation) with its metadata; :class:`InputError` if unusable."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: {folder_not_file('an image file')}")
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError(f"{p}: empty file (0 bytes); re-copy it from the source")
    if p.suffix.lower() in (".heic", ".heif") and not _heif_ready():
        raise InputError(f"{p}: HEIC/HEIF photos need the optional extra: {HEIF_EXTRA_HINT}")
    try:
        im = _open_or_explain(p)
    except _NotPillow:
        fallback = _load_tiff_grey_alpha16(p)
        if fallback is not None:
            return fallback
        if _is_heif(p) and not _heif_ready():
            raise InputError(f"{p}: HEIC/HEIF photos need the optional extra: {HEIF_EXTRA_HINT}") from None
        if p.suffix.lower() == ".avif" and not _avif_available():
            raise InputError(f"{p}: AVIF needs Pillow built with AVIF support: pip install -U pillow") from None
        if _tiff_head(_sniff(p)[:8]) is not None:
            raise InputError(f"{p}: unsupported TIFF layout; re-save it as PNG or as a plain 8/16-bit TIFF") from None
        raise InputError(f"{p}: not an image (unrecognised file contents)") from None

    notes: list[str] = []
    orientation = 1
    try:
        with im:
            fmt = im.format or ""
            if fmt == "MPO":  # multi-picture JPEG from some cameras: the first frame is the photo
                fmt = "JPEG"
            if fmt not in _SUPPORTED_FORMATS:
                what = fmt or "unknown"
                raise InputError(f"{p}: {what} images are not supported; use JPEG, PNG, TIFF, WebP, AVIF or HEIC")
            frames = int(getattr(im, "n_frames", 1) or 1)
            if frames > 1:
                notes.append(_frames_note(fmt, frames))
            with contextlib.suppress(WeathercleanError):  # a name that lies about the contents
                named = normalise_format(p.suffix.lstrip("."))
                if named != fmt:
                    notes.append(f"named {p.suffix} but holds a {fmt} image; written as {fmt} under the same name")
            info = dict(im.info)
            mode = im.mode
            wide = _wide_kind(im) if fmt in ("PNG", "TIFF") else None
            extra: dict[str, Any] = {}
            # Pillow reports dpi (1, 1) for a TIFF without resolution tags; writing that back would claim a
            # photo is hundreds of inches wide, so TIFF resolution counts only when the tags are there.
            has_resolution = fmt != "TIFF" or 282 in getattr(im, "tag_v2", {})
            if "dpi" in info and has_resolution:
                extra["dpi"] = info["dpi"]
            exif = _as_bytes(info.get("exif"))
            icc = _as_bytes(info.get("icc_profile"))
            xmp = _as_bytes(info.get("xmp") or info.get("XML:com.adobe.xmp"))
            if fmt == "JPEG":
                from PIL import JpegImagePlugin

                with contextlib.suppress(Exception):
                    extra["subsampling"] = JpegImagePlugin.get_sampling(im)
                extra["progressive"] = bool(info.get("progressive") or info.get("progression"))
                if info.get("comment"):
                    extra["comment"] = info["comment"]
                if any(marker == "APP13" for marker, _ in getattr(im, "applist", [])):
                    notes.append("IPTC/Photoshop block (APP13) not kept; XMP and EXIF are")
            elif fmt == "PNG":
                text = dict(getattr(im, "text", None) or {})
                text.pop("XML:com.adobe.xmp", None)
                raw_exif = text.pop("Raw profile type exif", None)
                raw_exif = text.pop("Raw profile type APP1", None) or raw_exif
                raw_xmp = text.pop("Raw profile type xmp", None)
                exif = exif or (_raw_profile(raw_exif) if raw_exif else None)
                xmp = xmp or (_raw_profile(raw_xmp) if raw_xmp else None)
                extra["text"] = text
            elif fmt == "TIFF":
                exif, tiff_icc, tiff_xmp, orientation = _tiff_metadata(p, notes)
                icc, xmp = icc or tiff_icc, xmp or tiff_xmp
                extra["compression"] = str(info.get("compression") or "raw")
            elif fmt == "WEBP":
                extra["lossless"] = _webp_lossless(p)
            elif fmt == "AVIF" and (bits := _avif_bit_depth(p)) > 8:
                notes.append(f"{bits}-bit AVIF read as 8-bit (Pillow decodes AVIF at 8 bits)")
            elif fmt == "HEIF" and int(info.get("bit_depth") or 8) > 8:
                notes.append(f"{info['bit_depth']}-bit HEIC read as 8-bit")
            with _pillow_pixel_limit():
                im.load()
            if not wide:
                pixels, alpha, depth, icc = _to_float(im, icc, notes)
    except WeathercleanError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: over the {MAX_PIXELS // 1_000_000} MP safety limit ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError) as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None
    except MemoryError:
        raise InputError(f"{p}: not enough memory to decode this image") from None

    if wide:
        try:
            raw = _read_wide(p, wide)
        except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
            raise InputError(f"{p}: {_reason(exc)}") from None
        if raw is None:
            raise InputError(f"{p}: unsupported 16-bit colour layout; convert it to 8-bit or 16-bit PNG")
        scaled = _unit_float(raw, 65535.0)
        colour = 1 if wide == "grey_alpha" else 3
        mode = "LA;16" if wide == "grey_alpha" else mode
        pixels, depth = scaled[..., :colour], 16
        alpha = scaled[..., colour] if raw.shape[-1] == colour + 1 else None
    if orientation != 1:
        pixels = _as_stored(pixels, orientation)
        alpha = None if alpha is None else _as_stored(alpha, orientation)
    return LoadedImage(
        path=p, pixels=np.ascontiguousarray(pixels), bit_depth=depth, format=fmt, mode=mode,
        alpha=alpha, exif=exif, icc_profile=icc, xmp=xmp, extra=extra, notes=notes, frames=frames,
    )  # fmt: skip


def _load_tiff_grey_alpha16(p: Path) -> LoadedImage | None:
    """The one TIFF layout Pillow cannot identify that we must read: 16-bit grey+alpha."""
    try:
        raw = _read_tiff_grey_alpha16(p)
        if raw is None:
            return None
        notes: list[str] = []
        exif, icc, xmp, _ = _tiff_metadata(p, notes)  # raw decoding: pixels are already as stored
    except (OSError, ValueError, struct.error, zlib.error) as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None
    scaled = _unit_float(raw, 65535.0)
    return LoadedImage(
        path=p, pixels=np.ascontiguousarray(scaled[..., :1]), bit_depth=16, format="TIFF", mode="LA;16",
        alpha=np.ascontiguousarray(scaled[..., 1]), exif=exif, icc_profile=icc, xmp=xmp, notes=notes,
    )  # fmt: skip


def _unit_float(arr: np.ndarray, scale: float) -> np.ndarray:
    """Integer pixels as float32 in [0, 1], divided in place: one float copy of the picture, not two."""
    out = arr.astype(np.float32)
    out /= scale
    return out


def _to_float(
    im: Image.Image, icc: bytes | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Pillow image → (pixels H×W×C, alpha, bit depth, icc still valid for the output colour space)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = _unit_float(np.asarray(im), 65535.0)
        return arr[..., None], None, 16, icc
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise InputError(f"{im.filename}: 32-bit integer images are not supported; convert to 16-bit")
        return _unit_float(arr, 65535.0)[..., None], None, 16, icc
    if mode == "F":
        raise InputError(f"{getattr(im, 'filename', 'image')}: floating-point images are not supported")
    if mode == "1":
        im = im.convert("L")
        notes.append("1-bit image written as 8-bit greyscale")
    elif mode in ("P", "PA"):
        target = "RGBA" if mode == "PA" or "transparency" in im.info else "RGB"
        im = im.convert(target)
        notes.append(f"palette image written as {target}")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc, notes)
    elif mode in ("YCbCr", "LAB", "HSV"):
        if icc is not None:
            icc = None  # the embedded profile describes the old colour space, not the RGB we write
        im = im.convert("RGB")
        notes.append(f"{mode} converted to RGB")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = _unit_float(np.asarray(im), 255.0)
    if arr.ndim == 2:
        arr = arr[..., None]
    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = np.ascontiguousarray(arr[..., -1])
        arr = arr[..., :-1]
    return arr, alpha, 8, icc


# ----------------------------------------------------------------------------------- EXIF thumbnail


def _ifd0_link(t: bytes | bytearray) -> tuple[str, int, int] | None:
    """(byte order, position of IFD0's next-IFD pointer, IFD1 offset) of a TIFF structure, or None."""
    try:
        head = _tiff_head(bytes(t[:8]))
        if head is None:
            return None
        e, ifd0 = head
        (n0,) = struct.unpack_from(e + "H", t, ifd0)
        link = ifd0 + 2 + 12 * n0
        (ifd1,) = struct.unpack_from(e + "I", t, link)
    except struct.error:
        return None
    return e, link, ifd1


def strip_exif_thumbnail(exif: bytes) -> bytes:
    """Remove the IFD1 thumbnail from an EXIF blob in place, leaving every other byte where it was.

    Re-serialising EXIF (e.g. with piexif) would move data and break maker notes that use absolute
    offsets, so we only cut the link to IFD1, zero IFD1 and the thumbnail, and drop them when they
    are the tail of the blob (the usual layout). If IFD1 itself is damaged only the link is cut, so a
    viewer still cannot find the stale picture. Unparseable EXIF is returned unchanged.
    """
    prefix = _EXIF_PREFIX if exif.startswith(_EXIF_PREFIX) else b""
    t = bytearray(exif[len(prefix) :])
    found = _ifd0_link(t)
    if found is None or found[2] == 0:
        return exif
    e, link, ifd1 = found
    struct.pack_into(e + "I", t, link, 0)
    try:
        (n1,) = struct.unpack_from(e + "H", t, ifd1)
        ranges = [(ifd1, ifd1 + 2 + 12 * n1 + 4)]
        thumb_off = thumb_len = None
        for i in range(n1):
            pos = ifd1 + 2 + 12 * i
            tag, typ, count = struct.unpack_from(e + "HHI", t, pos)
            nbytes = _TYPE_SIZES.get(typ, 1) * count
            if nbytes > 4:
                (off,) = struct.unpack_from(e + "I", t, pos + 8)
                ranges.append((off, off + nbytes))
            if tag == 0x0201:
                thumb_off = struct.unpack_from(e + "I", t, pos + 8)[0]
            elif tag == 0x0202:
                thumb_len = struct.unpack_from(e + "I", t, pos + 8)[0]
        if thumb_off is not None and thumb_len is not None:
            ranges.append((thumb_off, thumb_off + thumb_len))
    except struct.error:
        return prefix + bytes(t)
    if any(a < 8 or b > len(t) or a > b for a, b in ranges):
        return prefix + bytes(t)
    for a, b in ranges:
        t[a:b] = bytes(b - a)
    end = len(t)
    merged = sorted(ranges)
    changed = True
    while changed:  # drop the tail that consists only of removed bytes
        changed = False
        for a, b in merged:
            if a < end <= b:
                end = a
                changed = True
    return prefix + bytes(t[:end])


def _has_thumbnail(exif: bytes) -> bool:
    found = _ifd0_link(_tiff_part(exif))
    return found is not None and found[2] != 0


def _thumbnail_jpeg(arr: np.ndarray) -> bytes:
    """A ~160 px JPEG of the output (as stored, like the main image; the orientation tag covers both)."""
    a8 = (arr >> 8).astype(np.uint8) if arr.dtype == np.uint16 else arr
    colour = a8[..., :3] if a8.shape[2] >= 3 else np.repeat(a8[..., :1], 3, axis=2)
    im = Image.fromarray(np.ascontiguousarray(colour), "RGB")
    im.thumbnail((160, 160), reducing_gap=2.0)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _refresh_exif_thumbnail(exif: bytes, thumb: bytes) -> bytes | None:
    """Replace the thumbnail without moving any other byte: strip it, then append a new IFD1 + JPEG.

    Appending (instead of re-serialising) keeps maker notes and every offset valid. None when the old
    thumbnail could not be cleanly removed.
    """
    stripped = strip_exif_thumbnail(exif)
    prefix = _EXIF_PREFIX if stripped.startswith(_EXIF_PREFIX) else b""
    t = bytearray(stripped[len(prefix) :])
    found = _ifd0_link(t)
    if found is None or found[2] != 0:
        return None
    e, link, _ = found
    t += b"\x00" * (len(t) % 2)
    ifd1 = len(t)
    entries: Ifd = {
        0x0103: _entry(e, 3, (6,)),  # Compression: JPEG
        0x011A: _entry(e, 5, ((72, 1),)),
        0x011B: _entry(e, 5, ((72, 1),)),
        0x0128: _entry(e, 3, (2,)),  # inches
        0x0201: _entry(e, 4, (0,)),
        0x0202: _entry(e, 4, (len(thumb),)),
    }
    entries[0x0201] = _entry(e, 4, (ifd1 + len(_serialise_ifd(entries, e, ifd1)),))
    struct.pack_into(e + "I", t, link, ifd1)
    return prefix + bytes(t) + _serialise_ifd(entries, e, ifd1) + thumb


def _exif_for_output(exif: bytes | None, fmt: str, arr: np.ndarray) -> tuple[bytes | None, list[str]]:
    """The input EXIF with a thumbnail of the output (JPEG/PNG/WebP), or without one (other formats)."""
    if not exif or not _has_thumbnail(exif):
        return exif, []
    if fmt in ("JPEG", "PNG", "WEBP"):
        refreshed = _refresh_exif_thumbnail(exif, _thumbnail_jpeg(arr))
        if refreshed is not None and (fmt != "JPEG" or len(_EXIF_PREFIX + _tiff_part(refreshed)) <= _JPEG_MAX_APP1):
            return refreshed, []
    return strip_exif_thumbnail(exif), [_THUMB_NOTE]


# ---------------------------------------------------------------------------------------------- saving


#: Values converted per step by :func:`_to_uint`: float temporaries stay a few MB, not a picture's size.
_ROWS_VALUES = 1 << 20


def _to_uint(arr: np.ndarray, depth: int) -> np.ndarray:
    """Float pixels → rounded 8- or 16-bit, in C order (the byte-level writers need plain rows).

    Row blocks at a time: on a whole 24-megapixel picture the float temporaries of clip, scale and round
    would add up to 600 MB at the moment memory peaks.
    """
    scale = 65535.0 if depth == 16 else 255.0
    out = np.empty(arr.shape, dtype=np.uint16 if depth == 16 else np.uint8)
    rows = max(1, _ROWS_VALUES // max(1, arr[0].size if arr.shape[0] else 1))
    for y in range(0, arr.shape[0], rows):
        block = np.nan_to_num(arr[y : y + rows], nan=0.0)  # a float copy of these rows only
        np.clip(block, 0.0, 1.0, out=block)
        block *= scale
        out[y : y + rows] = np.rint(block, out=block)
    return out


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _encode_png16(arr: np.ndarray, like: LoadedImage, exif: bytes | None) -> bytes:
    """Minimal 16-bit PNG writer (Pillow cannot write 16-bit colour), with Paeth filtering and metadata."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = arr.astype(">u2").view(np.uint8).reshape(h, w * c * 2).astype(np.int16)
    bpp = c * 2
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    upleft = np.zeros_like(raw)
    upleft[1:, bpp:] = raw[:-1, :-bpp]
    p = left + up - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    filtered = ((raw - pred) & 0xFF).astype(np.uint8)
    rows = np.concatenate([np.full((h, 1), 4, dtype=np.uint8), filtered], axis=1)
    out = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))]
    if like.icc_profile:
        out.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(like.icc_profile)))
    dpi = like.extra.get("dpi")
    if dpi:
        ppm = [round(float(d) / 0.0254) for d in dpi]
        out.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        out.append(_png_chunk(b"eXIf", _tiff_part(exif)))
    if like.xmp:
        out.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + like.xmp))
    for key, value in (like.extra.get("text") or {}).items():
        with contextlib.suppress(UnicodeEncodeError):
            keyword = key.encode("latin-1")[:79]
            out.append(_png_chunk(b"iTXt", keyword + b"\x00\x00\x00\x00\x00" + str(value).encode()))
    out.append(_png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


def _rational(value: float) -> tuple[int, int]:
    f = Fraction(float(value)).limit_denominator(10000)
    return f.numerator, f.denominator


#: TIFF compressions kept from the input (Pillow's name → our writer's), and each one's TIFF code. Others
#: (JPEG-in-TIFF, CCITT fax) are written with Deflate, with a note; files from other formats get Deflate.
_TIFF_KEPT = {"raw": "none", "tiff_lzw": "lzw", "packbits": "packbits", "tiff_adobe_deflate": "deflate",
              "tiff_deflate": "deflate"}  # fmt: skip
_TIFF_CODES = {"none": 1, "lzw": 5, "deflate": 8, "packbits": 32773}


def tiff_compression(like: LoadedImage) -> tuple[str, str | None]:
    """The compression a TIFF output of ``like`` is written with, and a note when the input's is not kept.

    The input's own, for a TIFF (LZW stays LZW, PackBits stays PackBits, uncompressed stays uncompressed),
    so that a user's archive settings survive; Deflate for anything else. LZW and PackBits are encoded
    by libtiff through Pillow; without libtiff they become Deflate, with a note.
    """
    if like.format != "TIFF":
        return "deflate", None
    given = str(like.extra.get("compression") or "raw")
    kept = _TIFF_KEPT.get(given)
    if kept is None:
        return "deflate", f"TIFF {given} compression not kept: written with Deflate (lossless)"
    if kept in ("lzw", "packbits") and not _libtiff():
        return "deflate", f"TIFF {kept} compression needs Pillow with libtiff; written with Deflate"
    return kept, None


@functools.cache
def _libtiff() -> bool:
    from PIL import features

    return bool(features.check("libtiff"))


def _tiff_strips(data: np.ndarray, compression: str) -> tuple[int, list[bytes]]:
    """(rows per strip, compressed strips) of ``data``, the file's bytes as H × row-bytes.

    LZW and PackBits work on bytes, row by row for PackBits, so libtiff (through Pillow) compresses the
    rows as an 8-bit grey picture of the same bytes, whatever the real depth and channels, and the
    strips are lifted out of that file into ours, which carries the real layout and the EXIF tags.
    """
    h, row_bytes = data.shape
    if compression in ("lzw", "packbits"):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(data), mode="L").save(
            buf, format="TIFF", compression="tiff_lzw" if compression == "lzw" else "packbits"
        )
        blob = buf.getvalue()
        with Image.open(io.BytesIO(blob)) as made:
            tags = made.tag_v2
            offsets, counts = tags[273], tags[279]
            rows = int(tags.get(278, h))
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        return min(rows, h), [blob[o : o + n] for o, n in zip(offsets, counts, strict=True)]
    rows = max(1, min(h, (1 << 18) // max(1, row_bytes)))  # ~256 KiB strips
    if compression == "none":
        return rows, [data[y : y + rows].tobytes() for y in range(0, h, rows)]
    return rows, [zlib.compress(data[y : y + rows].tobytes(), 6) for y in range(0, h, rows)]


def _encode_tiff(arr: np.ndarray, like: LoadedImage, exif: bytes | None, compression: str = "deflate") -> bytes:
    """TIFF (8 or 16 bit, grey/RGB, ± alpha) carrying EXIF IFD0 tags and sub-IFDs entry by entry.

    The file uses the EXIF blob's byte order so raw entries can be copied without re-encoding values.
    Layout: header, strips, then IFD0 with its values and the Exif/GPS sub-IFDs. ``compression`` is
    ``deflate``, ``lzw`` (both with horizontal prediction), ``packbits`` or ``none``.
    """
    h, w, c = arr.shape
    parsed = _exif_ifd0(exif) if exif else None
    e = parsed[0] if parsed else "<"
    predict = compression in ("deflate", "lzw")
    diff = arr.copy() if predict else arr
    if predict:
        diff[:, 1:] -= arr[:, :-1]  # horizontal predictor (TIFF Predictor=2): unsigned wrap-around is intended
    data = diff.astype(e + ("u2" if arr.dtype == np.uint16 else "u1"), copy=False)
    row_bytes = w * c * data.itemsize
    rows, strips = _tiff_strips(np.ascontiguousarray(data).view(np.uint8).reshape(h, row_bytes), compression)
    offsets, pos = [], 8
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    ifd_offset = pos + (pos & 1)

    entries: Ifd = {}
    if parsed:
        entries.update({t: v for t, v in parsed[1].items() if t not in _TIFF_LAYOUT_TAGS | _TIFF_SEPARATE_TAGS})
    dpi = like.extra.get("dpi")
    if dpi and 282 not in entries:
        entries[282] = _entry(e, 5, (_rational(dpi[0]),))
        entries[283] = _entry(e, 5, (_rational(dpi[1]),))
        entries[296] = _entry(e, 3, (2,))
    if like.icc_profile:
        entries[34675] = _entry(e, 7, like.icc_profile)
    if like.xmp:
        entries[700] = _entry(e, 1, like.xmp)
    entries.update({
        256: _entry(e, 4, (w,)), 257: _entry(e, 4, (h,)), 258: _entry(e, 3, (data.itemsize * 8,) * c),
        259: _entry(e, 3, (_TIFF_CODES[compression],)), 262: _entry(e, 3, (1 if c <= 2 else 2,)),
        273: _entry(e, 4, tuple(offsets)), 277: _entry(e, 3, (c,)), 278: _entry(e, 4, (rows,)),
        279: _entry(e, 4, tuple(len(s) for s in strips)), 284: _entry(e, 3, (1,)),
    })  # fmt: skip
    if predict:
        entries[317] = _entry(e, 3, (2,))
    if c in (2, 4):
        entries[338] = _entry(e, 3, (2,))  # unassociated alpha: we never premultiply
    header = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", ifd_offset)
    return header + b"".join(strips) + b"\x00" * (ifd_offset - pos) + _serialise_ifd(entries, e, ifd_offset)


def _encode(pixels: np.ndarray, like: LoadedImage, fmt: str, quality: int) -> tuple[bytes, list[str]]:
    """Encode to bytes in memory, so the file system only ever sees a complete file."""
    notes: list[str] = []
    name = _FORMAT_NAME[fmt]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be H×W×1 or H×W×3, got {pixels.shape}")
    alpha = like.alpha
    if alpha is not None and fmt == "JPEG":
        notes.append("alpha dropped: JPEG has no alpha")
        alpha = None
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match pixels {pixels.shape[:2]}")
    depth = 16 if like.bit_depth == 16 and fmt in ("PNG", "TIFF") else 8
    if like.bit_depth == 16 and depth == 8:
        why = "cannot hold 16 bits" if fmt in ("JPEG", "WEBP") else "output is 8-bit here"
        notes.append(f"16-bit written as 8-bit because {name} {why}")
    if pixels.shape[2] == 1 and (fmt == "WEBP" or (alpha is not None and fmt in ("AVIF", "HEIF"))):
        pixels = np.repeat(pixels, 3, axis=2)
        if alpha is None:
            notes.append(f"greyscale written as RGB: {name} has no greyscale mode")
        else:
            notes.append(f"greyscale+alpha written as RGBA: {name} has no grey+alpha mode")
    planes = pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)
    arr = _to_uint(planes, depth)
    exif, exif_notes = _exif_for_output(like.exif, fmt, arr)
    notes += exif_notes
    text = like.extra.get("text") or {}
    if text and fmt != "PNG":
        notes.append(f"PNG text ({', '.join(list(text)[:3])}) cannot be stored in {name}; dropped")
    if depth == 16 and fmt == "PNG":
        return _encode_png16(arr, like, exif), notes
    if fmt == "TIFF":
        compression, why = tiff_compression(like)
        if compression in ("lzw", "packbits") and arr.shape[2] == 2 and arr.dtype == np.uint16:
            compression = "deflate"  # 16-bit grey+alpha is read by our own reader, which knows Deflate
        notes += [why] if why else []
        return _encode_tiff(arr, like, exif, compression), notes

    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    im = Image.fromarray(np.ascontiguousarray(arr[..., 0] if arr.shape[2] == 1 else arr))
    if im.mode != mode:
        im = im.convert(mode)
    params: dict[str, Any] = {}
    if like.icc_profile and like.icc_profile[16:20] == b"GRAY" and arr.shape[2] >= 3:
        notes.append(f"greyscale ICC profile dropped: it cannot describe the RGB {name} output")
    elif like.icc_profile:
        params["icc_profile"] = like.icc_profile
    dpi = like.extra.get("dpi")
    if dpi:
        params["dpi"] = tuple(float(d) for d in dpi)
    if like.xmp and fmt != "PNG":
        params["xmp"] = like.xmp
    if exif:  # JPEG stores the "Exif\0\0" marker prefix, the others the bare TIFF structure
        params["exif"] = _EXIF_PREFIX + _tiff_part(exif) if fmt == "JPEG" else _tiff_part(exif)
    if fmt == "JPEG":
        params.update(quality=quality, optimize=True)
        sub = like.extra.get("subsampling")
        if isinstance(sub, int) and sub >= 0 and like.format == "JPEG":
            params["subsampling"] = sub
        if like.extra.get("progressive"):
            params["progressive"] = True
        if like.extra.get("comment") and like.format == "JPEG":
            params["comment"] = like.extra["comment"]
    elif fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            with contextlib.suppress(Exception):
                info.add_itxt(key, str(value))
        if like.xmp:
            info.add_itxt("XML:com.adobe.xmp", like.xmp.decode("utf-8", "replace"))
        params.update(pnginfo=info, optimize=False, compress_level=6)
    elif fmt == "WEBP":
        lossless = bool(like.extra.get("lossless")) and like.format == "WEBP"
        # exact: keep the colour under fully transparent pixels, so alpha really passes through untouched
        params.update(lossless=lossless, quality=80 if lossless else quality, method=4, exact=True)
    elif fmt in ("AVIF", "HEIF"):
        params["quality"] = quality
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Pillow re-parses EXIF for some formats and warns about quirks (e.g. piexif's missing next-IFD
        # pointer) that do not stop it from writing every tag; the user cannot act on that warning.
        warnings.simplefilter("ignore", UserWarning)
        im.save(buf, format=fmt, **params)
    return buf.getvalue(), notes


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    like: LoadedImage,
    *,
    format: str | None = None,
    quality: int = 95,
) -> SavedImage:
    """Write ``pixels`` (H×W×C float in [0, 1]) atomically, in ``like``'s format, depth and metadata.

    The file appears under its final name complete or not at all: we encode in memory, write a hidden
    temporary file in the same folder, fsync it and ``os.replace`` it into place. Alpha, ICC, XMP and
    EXIF (with a thumbnail of the *output*) come from ``like``. ``format`` (``"png"``, ``"JPEG"``, ...)
    converts; the returned :class:`SavedImage` lists what the target could not keep. Raises
    :class:`OutputError`.
    """
    dest = Path(path)
    wanted = format or like.format or dest.suffix
    if not wanted:
        raise OutputError(f"{dest}: no output format given and none can be told from the name")
    try:
        fmt = normalise_format(wanted)
    except OutputError as exc:
        raise OutputError(f"{dest}: {exc}") from None
    if not 0 <= quality <= 100:
        raise OutputError(f"{dest}: quality must be between 0 and 100, got {quality}")
    try:
        data, notes = _encode(np.asarray(pixels, dtype=np.float32), like, fmt, quality)
    except (OSError, ValueError, RuntimeError) as exc:
        raise OutputError(f"{dest}: cannot encode {_FORMAT_NAME[fmt]} ({exc})") from None
    atomic_write(dest, data)
    return SavedImage(path=dest, format=fmt, notes=notes)
