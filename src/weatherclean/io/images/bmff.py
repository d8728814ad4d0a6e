"""ISO base media file format (ISO-BMFF) box headers: the one walker HEIC/AVIF colour boxes and motion photos use.

HEIC, AVIF, MP4 and MOV are all sequences of boxes (a 32-bit size, a four-letter type, then the payload; a
64-bit size follows where the 32-bit one is 1, and 0 means "to the end"). Two readers walked them with their
own copy of these rules (:mod:`.nclx` in a buffer, :mod:`.motion` in a file); a fix to one missed the other.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["box_heads"]


def box_heads(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, bytes, int]]:
    """(position, size, type, header length) of the boxes from ``start`` to ``end``, read from their headers
    alone, until one too small to be a box (size under 8). A box may run past ``end``: whether that ends the
    walk is the caller's to decide (a motion photo's MP4 is measured up to it; a colour box list stops)."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return
        box, kind = struct.unpack(">I4s", head[:8])
        length = 8
        if box == 1 and len(head) == 16 and pos + 16 <= end:
            (box,) = struct.unpack(">Q", head[8:16])
            length = 16
        elif box == 0:
            box = end - pos
        if box < 8:
            return
        yield pos, box, kind, length
        pos += box
