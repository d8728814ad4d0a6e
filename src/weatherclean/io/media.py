"""What counts as a photo or a video, by name and by content: the one list every reader and walker uses.

Folder walks (desnow, derain, ``--frames`` clips, training data) and the readers must agree on what a
picture is: when two lists disagreed, ``derain --frames`` found clip folders with one and listed their
frames with the other, so a ``.bmp`` frame failed a whole clip and ``.heic`` frames vanished without a
word. Every suffix here can be read (HEIC/HEIF with the ``heif`` extra, and without it a one-line error
that says how to get it, never a silent skip), and every image suffix can be written back as it came, but for
``.mpo``: a multi-picture JPEG comes back as the JPEG of its first picture (``weatherclean.batch.outputs``).

This module is a leaf: it imports nothing from weatherclean, so io/images, io/video and data/ can all
depend on it. The readers themselves are :func:`weatherclean.io.images.load_image` (photos) and
:func:`weatherclean.io.video.iter_frames` (video frames); :func:`weatherclean.io.images.read_rgb` and data/
give them as float32 in [0, 1]. :func:`walk_files` is the walk itself: hidden files and folders are never read.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "HEIF_BRANDS",
    "HEIF_EXTRA_HINT",
    "IMAGE_SUFFIXES",
    "JPEG_SUFFIXES",
    "VIDEO_CONTAINERS",
    "VIDEO_SUFFIXES",
    "heif_ready",
    "is_heif",
    "is_image_path",
    "is_video_path",
    "is_visible_image",
    "list_frames",
    "natural_key",
    "read_head",
    "sniff",
    "walk_files",
]

#: File name endings of JPEG files (lower case). ``.jfif`` is how Windows and Chrome save many pictures from
#: the web, and was skipped as "not an image" even when named; ``.jpe`` and ``.jif`` are older spellings.
JPEG_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".jif"})
#: File name endings read as photos (lower case; matching ignores case). HEIC/HEIF are always listed so
#: that, without the optional extra, they fail with a hint instead of being skipped. ``.mpo`` is a multi-picture
#: JPEG (3D cameras' stereo pairs): read as the JPEG of its first picture, as a phone JPEG with a gain map is.
IMAGE_SUFFIXES: frozenset[str] = JPEG_SUFFIXES | frozenset(
    {".png", ".tif", ".tiff", ".webp", ".avif", ".heic", ".heif", ".bmp", ".ppm", ".pgm", ".mpo"}
)
#: File name endings read as videos, and the FFmpeg muxer that writes each (an output keeps its input's
#: container unless ``--format`` says otherwise, so every container read must be writable too).
VIDEO_CONTAINERS: dict[str, str] = {
    ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
    ".mpg": "mpeg", ".mpeg": "mpeg", ".ts": "mpegts", ".wmv": "asf", ".flv": "flv",
    ".mts": "mpegts", ".m2ts": "mpegts", ".3gp": "3gp",  # AVCHD camcorders and older phones
    ".mxf": "mxf",  # broadcast and post-production (DNxHR, XDCAM): read, and written back as MXF
}  # fmt: skip
VIDEO_SUFFIXES: frozenset[str] = frozenset(VIDEO_CONTAINERS)
#: What to tell people who feed us HEIC without pillow-heif installed (the ``heif`` extra in pyproject).
HEIF_EXTRA_HINT = "pip install 'weatherclean[heif]'"
#: ISO-BMFF major brands of HEIF stills (an ``ftyp`` box with one of these is a HEIC/HEIF picture).
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2")
_AVIF_BRANDS = (b"avif", b"avis")


def is_image_path(path: Path | str) -> bool:
    """True for file names with an image suffix we read (or explain how to read)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video_path(path: Path | str) -> bool:
    """True for file names with a video suffix we read and write."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_visible_image(path: Path) -> bool:
    """A file with an image suffix whose name does not start with a dot: what every folder walk takes as a
    picture (dot files are editors' and macOS's side files, ``._IMG_1.jpg`` and the like)."""
    return not path.name.startswith(".") and is_image_path(path) and path.is_file()


def walk_files(folder: Path | str, *, skip_folder: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Every visible file under ``folder`` (recursively): hidden files and hidden folders (``.thumbnails/``,
    ``.git/``: names starting with a dot) are never entered, and a link to a folder is never followed,
    wherever it points (a link to a file is listed; ``folder`` itself may be a link); ``skip_folder(path)``,
    when given, leaves out a sub-folder and everything in it. Unordered.

    This is not desnow's walk (``weatherclean.batch.inputs._walk``), which follows links to folders outside
    the tree it walks: files that only such a link reaches are listed there and not here.
    """
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        dirnames[:] = [
            d for d in dirnames if not d.startswith(".") and (skip_folder is None or not skip_folder(base / d))
        ]
        yield from (base / name for name in filenames if not name.startswith("."))


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders numbers by value: ``2.png`` before ``10.png`` (frame names are rarely padded)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", text) if part)


def list_frames(folder: Path | str) -> list[Path]:
    """The pictures directly inside ``folder``, in natural order: a clip's frames. The caller checks that
    ``folder`` is a folder (and says so in its own terms)."""
    return sorted((p for p in Path(folder).iterdir() if is_visible_image(p)), key=lambda p: natural_key(p.name))


def read_head(path: Path, size: int = 12) -> bytes:
    """The first ``size`` bytes of a file, or ``b""`` when it cannot be read (the caller explains why)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def is_heif(path: Path) -> bool:
    """Whether the file holds a HEIC/HEIF picture, whatever it is named."""
    return sniff(path) == "HEIF"


def _ftyp(head: bytes) -> str:
    brand = head[8:12]
    if brand in _AVIF_BRANDS:
        return "AVIF"
    return "HEIF" if brand in HEIF_BRANDS else "video"


def _netpbm(head: bytes) -> str | None:
    return "PPM" if len(head) >= 3 and head[:1] == b"P" and head[1:2] in b"123456" and head[2:3].isspace() else None


#: Magic bytes at the start of a file → its kind (image formats by Pillow's name; any container "video").
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF8", "GIF"),
    (b"\x1aE\xdf\xa3", "video"),  # Matroska / WebM (EBML)
    (b"0&\xb2u\x8ef\xcf\x11", "video"),  # ASF (wmv)
    (b"FLV\x01", "video"),
    (b"\x00\x00\x01\xba", "video"),  # MPEG program stream
)


def sniff(path: Path | str) -> str | None:
    """What a file holds, told from its first bytes: an image format by Pillow's name (``"JPEG"``,
    ``"PNG"``, ``"TIFF"``, ``"WEBP"``, ``"BMP"``, ``"PPM"``, ``"GIF"``, ``"AVIF"``, ``"HEIF"``), ``"video"``
    for a container, or None. Names lie (a HEIC saved as ``.jpg``); content does not.
    """
    head = read_head(Path(path), 189)  # 16 tell most kinds; an MPEG-TS needs its second packet's sync byte
    if head[4:8] == b"ftyp":
        return _ftyp(head)
    if head[:4] == b"RIFF":
        return {b"WEBP": "WEBP", b"AVI ": "video"}.get(head[8:12])
    if head[:1] == b"\x47" and len(head) == 189 and head[188] == 0x47:  # MPEG-TS: 188-byte packets, each 0x47
        return "video"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return _netpbm(head)


@functools.cache
def heif_ready() -> bool:
    """Register pillow-heif with Pillow on first need, so a plain install never imports it."""
    try:
        import pillow_heif  # type: ignore[import-not-found,unused-ignore]

        pillow_heif.register_heif_opener()
    except (ImportError, OSError, RuntimeError):
        return False
    return True
