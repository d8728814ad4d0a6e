"""What follows a JPEG's picture, kept byte for byte behind the restored one: a motion photo's video, or data
weatherclean does not understand.

Pillow reads a JPEG's first picture and stops at its end (EOI). Phones put more after it: Google's and Samsung's
motion photos an MP4 (:mod:`.motion`), Samsung's Live Focus the un-blurred original and a depth map in its SEF
trailer, Dynamic Depth a depth image, Ultra HDR a gain map (another JPEG). All of it was dropped without a word,
and ``--in-place`` destroyed it. Now :func:`find_trailer` finds where the pictures end, and what follows them:

* more JPEG pictures right behind the main one (an Ultra HDR gain map, and a Dynamic Depth map stored as a
  JPEG there) are pictures 2, 3... of a multi-picture JPEG: dropped with them (noted, and ``--in-place``
  refuses the file), not kept;
* every byte after the last picture (a video, Samsung's SEF data, a depth map that is not a JPEG right behind
  the pictures) is appended unchanged after a JPEG output (:func:`copy_trailer`). Every
  offset these formats store is counted from the end of the file (Google's ``MicroVideoOffset`` and
  ``Item:Length``, Samsung's SEF directory), or from the end of the primary picture onwards, so all of them
  stay valid: nothing is rewritten. A note says what was kept, as it was (not restored). An output in another
  format cannot hold it: dropped, with a note.

The bytes are never held in memory: the picture's segments are skipped by their lengths (its compressed data
searched for the next marker), and the trailer is copied from the input in blocks while the output is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from weatherclean.errors import InputError, OutputError
from weatherclean.io.images import motion
from weatherclean.io.images.formats import size_text
from weatherclean.io.images.jpegsegments import jpeg_segments

__all__ = ["Trailer", "copy_trailer", "find_trailer", "jpeg_end", "trailer_notes"]

#: Bytes read at a time while copying the trailer.
_BLOCK = 1 << 20
#: The marker that ends a JPEG picture.
_EOI = 0xD9
#: Bytes of the trailer compared again before copying it: the input must still be the file that was read.
_SIGNATURE = 64
#: Bytes of other data beside a motion photo's video that a note names: less is Samsung's marker, timestamps
#: and directory, not worth a word.
_WORTH_NAMING = 4096


@dataclass(frozen=True)
class Trailer:
    """What follows a JPEG's main picture: ``pictures`` more JPEG pictures (a gain map), dropped, then the bytes
    from ``start`` (the end of the last picture) to the end of the file (``size``), kept after a JPEG output.

    ``video`` is the size of a motion photo's video among them (0: none found), for notes; ``video_missing``
    says the XMP names a motion photo video that was not found (neither kept nor known to be absent).
    ``signature`` is the first bytes from ``start``, checked again before they are copied (:func:`copy_trailer`).
    """

    start: int
    size: int
    pictures: int = 0
    video: int = 0
    video_missing: bool = False
    signature: bytes = b""

    @property
    def kept(self) -> int:
        """How many bytes are appended after the new picture."""
        return self.size - self.start

    @property
    def other(self) -> int:
        """How many of the kept bytes are not the video."""
        return self.kept - self.video

    @property
    def what(self) -> str:
        """What the kept bytes are, as a message names them."""
        return "its motion photo video" if self.video else "the data after its picture"


def jpeg_end(fh: BinaryIO, start: int) -> int | None:
    """Where the JPEG that starts at ``start`` ends (just after its EOI), or None when it is not one or is cut
    short; its markers walked by :func:`~.jpegsegments.jpeg_segments`."""
    for marker, pos, _ in jpeg_segments(fh, start):
        if marker == _EOI:
            return pos
    return None


def _pictures_end(fh: BinaryIO, size: int) -> tuple[int, int]:
    """(where the last picture ends, how many pictures follow the main one): the pictures of a multi-picture
    JPEG (a gain map) lie one after the other right behind it. A main picture cut short ends the file."""
    end = jpeg_end(fh, 0)
    if end is None:
        return size, 0
    following = 0
    while True:
        fh.seek(end)
        if fh.read(3) != b"\xff\xd8\xff":
            return end, following
        after = jpeg_end(fh, end)
        if after is None:
            return end, following
        end, following = after, following + 1


def _trailer(fh: BinaryIO, size: int, xmp: bytes | None) -> Trailer | None:
    end, pictures = _pictures_end(fh, size)
    video = motion.video_length(fh, xmp, end, size) if end < size else 0
    missing = not video and motion.names_video(xmp)
    if end >= size and not pictures and not missing:
        return None
    fh.seek(end)
    return Trailer(end, size, pictures, video, missing, fh.read(_SIGNATURE))


def find_trailer(path: Path, xmp: bytes | None) -> Trailer | None:
    """What follows the main picture of the JPEG at ``path`` (read with the XMP ``xmp``), or None when nothing does.

    Raises a one-line :class:`InputError` when the file cannot be read to the end: what follows the picture
    would be lost without a word otherwise."""
    try:
        with open(path, "rb") as fh:
            return _trailer(fh, os.fstat(fh.fileno()).st_size, xmp)
    except OSError as exc:
        raise InputError(f"{path}: cannot read what follows its picture ({exc.strerror or exc})") from None


def copy_trailer(source: Path, trailer: Trailer, out: BinaryIO) -> None:
    """Append the bytes after ``source``'s last picture to ``out``, block by block, exactly as they were.

    Raises a one-line :class:`OutputError` when ``source`` is gone or changed since it was read (another size,
    other bytes where the trailer began): they cannot be kept then, and the output must not be written without
    them (``--in-place`` would lose them)."""
    why = f"{trailer.what} cannot be copied into the output"
    try:
        with open(source, "rb") as fh:
            if os.fstat(fh.fileno()).st_size != trailer.size:
                raise OutputError(f"{source}: changed since it was read; {why}")
            fh.seek(trailer.start)
            if fh.read(len(trailer.signature)) != trailer.signature:
                raise OutputError(f"{source}: changed since it was read; {why}")
            fh.seek(trailer.start)
            left = trailer.kept
            while left:
                block = fh.read(min(_BLOCK, left))
                if not block:
                    raise OutputError(f"{source}: ended early while reading; {why}")
                out.write(block)
                left -= len(block)
    except FileNotFoundError:
        raise OutputError(f"{source}: no longer there; {why}") from None
    except PermissionError:
        raise OutputError(f"{source}: permission denied; {why}") from None


def trailer_notes(trailer: Trailer, name: str | None) -> list[str]:
    """The notes of an output that keeps the trailer (``name`` None: a JPEG) or cannot (``name``: its format).
    The pictures dropped are told on load, with the other pictures of a multi-picture JPEG."""
    notes: list[str] = []
    if trailer.video_missing:
        notes.append("motion photo: its XMP names a video that was not found after the picture; its motion photo "
                     "tags dropped")  # fmt: skip
    other = trailer.other if not trailer.video or trailer.other >= _WORTH_NAMING else 0
    if name is None:
        if trailer.video:
            notes.append(f"motion photo: its video ({size_text(trailer.video)}) kept as it was, not restored")
        if other:
            notes.append(f"{size_text(other)} of data after the picture kept as they were (not restored)")
        return notes
    if trailer.video:
        notes.append(f"motion photo video ({size_text(trailer.video)}) cannot be stored in {name}; dropped")
    if other:
        notes.append(f"{size_text(other)} of data after the JPEG picture cannot be stored in {name}; dropped")
    return notes
