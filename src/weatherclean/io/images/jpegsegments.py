"""JPEG segments Pillow reads but does not write: IPTC (APP13), extended XMP, and the rest, named in a note.

Pillow writes EXIF, XMP, ICC and the comment; everything else in the input's APPn segments was lost. Two of
them matter to photographers and stay true after restoration, so they are copied into the encoded output:

* APP13, the Photoshop resource block: agencies keep the IPTC caption, credit, copyright and keywords
  there (resource 0x0404). Its thumbnail resources (0x0409, 0x040C) still show the snowy original, so
  those alone are dropped, with a note, as the EXIF thumbnail is rebuilt. Its EXIF copies (0x0422,
  0x0423) can hold an IFD1 thumbnail of the original too: it is cut out as from the EXIF itself, and a
  copy that cannot be read (so may still show it) is dropped.
* Extended XMP (APP1 ``http://ns.adobe.com/xmp/extension/``): the part of an XMP packet too big for one
  segment, such as a phone's depth map or Photo Sphere data. It describes the scene, not the pixels'
  snow, and the main packet names it by a GUID, so it is copied as it was.

Other APPn segments (vendor data such as APP12 "Ducky") are named in a note; APP14 "Adobe" is written by
the encoder itself where the output needs it.

A JPEG file's structure is walked here too (:func:`jpeg_segments`): where its pictures end
(:func:`~weatherclean.io.images.trailer.jpeg_end`), and its EXIF for a rerun's capture identity
(:func:`~weatherclean.io.images.capture.file_exif`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from weatherclean.io.images.exif import strip_exif_thumbnail, tiff_head, tiff_part

__all__ = [
    "PHOTOSHOP_HEADER",
    "XMP_EXTENSION_HEADER",
    "app13_segments",
    "insert_segments",
    "iptc_records",
    "jpeg_segments",
    "photoshop_block",
    "unkept_segments",
    "with_jfif",
    "without_extended_xmp_pointer",
    "xmp_extensions",
]

PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
#: Bytes a JPEG segment holds after its two length bytes.
_MAX_SEGMENT = 65533
#: Photoshop image resources that hold a thumbnail of the picture (Photoshop 4.0 and 5.0+ formats).
_THUMBNAIL_RESOURCES = frozenset({0x0409, 0x040C})
#: Photoshop image resources that hold a copy of the EXIF ("EXIF data 1" and "3"), IFD1 thumbnail and all.
_EXIF_RESOURCES = frozenset({0x0422, 0x0423})
#: Resource signatures besides "8BIM" that some writers use (as ExifTool reads them).
_SIGNATURES = frozenset({b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa"})
#: APPn payloads that the output keeps (or rewrites) by their leading signature, per marker.
_KEPT_APP = {
    "APP0": None,  # JFIF is written anew, its units and density as they were (with_jfif); a JFXX thumbnail
    # shows the original and is rightly gone
    "APP1": (b"Exif\x00", b"http://ns.adobe.com/xap/1.0/\x00", XMP_EXTENSION_HEADER),
    "APP2": (b"ICC_PROFILE\x00", b"MPF\x00"),  # MPF: the other pictures, dropped with their own note
    "APP13": None,  # handled by photoshop_block
    "APP14": None,  # Adobe: written by the encoder where the output needs it
}
#: Bytes read at a time while searching compressed data for the next marker.
_BLOCK = 1 << 20
#: Bytes read at a time while looking for the next marker between segments (it is most often the next byte).
_SMALL = 1 << 12
#: The next marker as libjpeg (and so Pillow) finds it between segments: bytes other than 0xFF skipped, then fill
#: 0xFFs, then the marker's code; 0xFF 0x00 is no marker and is skipped too. Phone JPEGs with junk bytes between
#: segments decode fine, and their ends must be found as well. The last 0xFF of a run is matched alone: a pattern
#: that matched the whole run would try it again from each of its bytes (a block of fill would take hours).
_MARKER = re.compile(rb"\xff([^\x00\xff])")
#: The same inside compressed data, where the restart markers (0xD0-0xD7) belong to the scan.
_MARKER_IN_SCAN = re.compile(rb"\xff([^\x00\xd0-\xd7\xff])")
#: Markers that stand alone, without a length: TEM, the restart markers and a stray SOI.
_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
_EOI, _SOS = 0xD9, 0xDA


#: ``xmpNote:HasExtendedXMP`` as an attribute (with the space before it), an element or an empty element. In time
#: proportional to the packet's length: the spaces are matched from the first of a run only (the lookbehind changes
#: no match) and a tag ends at the first ``<`` or ``>``; a pattern tried from every space of a run, or from every
#: ``<`` to the packet's end, took time with the square of its length (minutes at 400 KB).
def xmp_property(names: bytes) -> re.Pattern[bytes]:
    """A pattern for the XMP properties named by ``names`` (a regular expression of local names) written as an
    attribute, an element or an empty element, for removing them with ``sub``. Each part starts where a match can
    (a run of blanks, a ``<``) and stops at ``<`` or ``>``, so that a long packet is searched in linear time: a
    200 KB XMP took a minute where a part could start anywhere in a run of letters."""
    return re.compile(
        rb"(?<!\s)\s+[\w.-]+:" + names + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')"
        rb"|<([\w.-]+:" + names + rb")\b[^<>]*>[^<]*</\1>"
        rb"|<[\w.-]+:" + names + rb"\b[^<>]*/>"
    )


_XMP_POINTER = xmp_property(rb"HasExtendedXMP")


def _resources(stream: bytes) -> list[tuple[int, bytes, bytes]] | None:
    """(resource id, header, data) of each image resource in a Photoshop block, where the header is the
    signature, id and name: ``header + size + data`` (+ a pad byte) rebuilds it. None when it does not parse."""
    out: list[tuple[int, bytes, bytes]] = []
    pos = 0
    while pos < len(stream):
        if stream[pos : pos + 4] not in _SIGNATURES or pos + 7 > len(stream):
            if not stream[pos:].strip(b"\x00"):
                break  # zero padding at the end of the block
            return None
        (rid,) = struct.unpack_from(">H", stream, pos + 4)
        name_len = stream[pos + 6]
        size_at = pos + 6 + name_len + 1 + ((name_len + 1) & 1)  # Pascal name, padded to an even length
        if size_at + 4 > len(stream):
            return None
        (size,) = struct.unpack_from(">I", stream, size_at)
        end = size_at + 4 + size
        if end > len(stream):
            return None
        out.append((rid, stream[pos:size_at], stream[size_at + 4 : end]))
        if size & 1 and stream[end : end + 1] == b"\x00":
            end += 1  # the pad byte after odd-sized data (some writers leave it out)
        pos = end
    return out


def _resource(header: bytes, data: bytes) -> bytes:
    """One image resource again: header, size, data, and a pad byte after odd-sized data."""
    return header + struct.pack(">I", len(data)) + data + b"\x00" * (len(data) & 1)


def _without_thumbnail(rid: int, header: bytes, data: bytes) -> tuple[bytes | None, bool]:
    """(the resource as the output keeps it, or None to drop it; whether a picture of the original went)."""
    if header[:4] != b"8BIM":
        return _resource(header, data), False
    if rid in _THUMBNAIL_RESOURCES:
        return None, True
    if rid in _EXIF_RESOURCES:
        tiff = tiff_part(data)
        if len(tiff) < 8 or tiff_head(tiff) is None:
            return None, False  # not an EXIF structure: dropped, but no reader could find a picture in it
        stripped = strip_exif_thumbnail(data)
        return _resource(header, stripped), stripped != data
    return _resource(header, data), False


def photoshop_block(applist: Iterable[tuple[str, bytes]]) -> tuple[bytes, bool] | None:
    """(the APP13 resource stream without pictures of the original, whether one was removed); None when an
    APP13 block is there but cannot be parsed (then it is not kept, as before). ``(b"", False)`` when none.
    Thumbnail resources are dropped, EXIF copies lose their IFD1 thumbnail; every other resource is kept."""
    parts = [data for marker, data in applist if marker == "APP13"]
    if not parts:
        return b"", False
    if not all(part.startswith(PHOTOSHOP_HEADER) for part in parts):
        return None
    resources = _resources(b"".join(part[len(PHOTOSHOP_HEADER) :] for part in parts))
    if resources is None:
        return None
    kept, removed = [], False
    for rid, header, data in resources:
        raw, gone = _without_thumbnail(rid, header, data)
        kept += [raw] if raw is not None else []
        removed = removed or gone
    return b"".join(kept), removed


def iptc_records(stream: bytes) -> bytes | None:
    """The IPTC records (IIM datasets) of a Photoshop resource stream: its resource 0x0404, or None. A TIFF
    keeps them in its IPTC-NAA tag (33723), where readers look for a TIFF's IPTC."""
    for rid, header, data in _resources(stream) or ():
        if rid == 0x0404 and header[:4] == b"8BIM" and data:
            return data
    return None


def app13_segments(stream: bytes) -> list[tuple[int, bytes]]:
    """APP13 segments holding ``stream``; a block too big for one is split, each part with the header, as
    Photoshop splits it and readers join it."""
    room = _MAX_SEGMENT - len(PHOTOSHOP_HEADER)
    return [(0xED, PHOTOSHOP_HEADER + stream[i : i + room]) for i in range(0, len(stream), room)]


def xmp_extensions(applist: Iterable[tuple[str, bytes]]) -> list[bytes]:
    """The extended-XMP APP1 payloads, header included, in file order."""
    return [data for marker, data in applist if marker == "APP1" and data.startswith(XMP_EXTENSION_HEADER)]


def without_extended_xmp_pointer(xmp: bytes) -> bytes:
    """The main XMP packet without ``xmpNote:HasExtendedXMP``, for an output that lost the extension: a
    reader would otherwise look for a GUID whose data is gone."""
    return _XMP_POINTER.sub(b"", xmp)


def _label(marker: str, data: bytes) -> str:
    """``APP12 (Ducky)``: the marker and the payload's leading name, when it has a readable one."""
    name = re.match(rb"[\x20-\x7e]{2,32}", data[:33])
    return f"{marker} ({name.group().decode().strip()})" if name and name.group().strip() else marker


def unkept_segments(applist: Iterable[tuple[str, bytes]]) -> list[str]:
    """The APPn segments the output does not carry, as ``APP3``, ``APP12 (Ducky)``; each named once."""
    out: list[str] = []
    for marker, data in applist:
        if not marker.startswith("APP"):
            continue  # COM: the comment, kept by the writer
        if marker in _KEPT_APP:
            known = _KEPT_APP[marker]
            if known is None or data.startswith(known):
                continue
        label = _label(marker, data)
        if label not in out:
            out.append(label)
    return out


def with_jfif(jpeg: bytes, jfif: tuple[int, tuple[int, int]] | None) -> bytes:
    """``jpeg`` with the units and density of its JFIF header (the APP0 the encoder writes first) set to ``jfif``
    (units, (x, y)), the input's; as it was where either has none.

    Why: Pillow writes dots per inch or nothing (libjpeg's "no units, 1:1"): a header that said "no units" with
    another aspect ratio, or dots per cm, was rewritten, and an evidence copy's header differed from its original's.
    """
    if jfif is None or jpeg[2:4] != b"\xff\xe0" or jpeg[6:11] != b"JFIF\x00" or len(jpeg) < 18:
        return jpeg
    unit, (x, y) = jfif
    if not (0 <= unit <= 255 and 0 <= x <= 0xFFFF and 0 <= y <= 0xFFFF):
        return jpeg
    return jpeg[:13] + struct.pack(">BHH", unit, x, y) + jpeg[18:]


def insert_segments(jpeg: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """``jpeg`` with ``segments`` ((marker, payload) pairs) placed after its leading APPn and COM segments,
    where readers look for metadata; the encoded picture itself is untouched."""
    if not segments:
        return jpeg
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("encoder output is not a JPEG")
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and (0xE0 <= jpeg[pos + 1] <= 0xEF or jpeg[pos + 1] == 0xFE):
        (length,) = struct.unpack_from(">H", jpeg, pos + 2)
        pos += 2 + length
    new = b"".join(b"\xff" + bytes([marker]) + struct.pack(">H", len(data) + 2) + data for marker, data in segments)
    if any(len(data) > _MAX_SEGMENT for _, data in segments):
        raise ValueError("a metadata segment is over 64 KB")
    return jpeg[:pos] + new + jpeg[pos:]


def _next_marker(fh: BinaryIO, pos: int, pattern: re.Pattern[bytes], block: int) -> tuple[int, int] | None:
    """(where the marker's code ends, the code) of the first marker from ``pos``, or None at the end of the file."""
    while True:
        fh.seek(pos)
        data = fh.read(block)
        found = pattern.search(data)
        if found is not None:
            return pos + found.end(), found.group(1)[0]
        if len(data) < block:
            return None
        pos += len(data) - 1  # a 0xFF at the very end pairs with the next block's first byte (more 0xFF are fill)


def jpeg_segments(fh: BinaryIO, start: int = 0) -> Iterator[tuple[int, int, int]]:
    """(marker code, where its payload starts, the payload's length) of each marker of the JPEG that starts at
    ``start`` in the file ``fh``, in file order, up to its EOI (yielded, with a length of 0, as are markers that
    stand alone); none when it is not a JPEG, and the walk just ends where the file is cut short. Segments are
    skipped by their lengths, as libjpeg reads them (junk and fill bytes between them skipped), and compressed
    data searched for the next marker, so only the picture's own bytes are read: what follows it (a video of tens
    of MB) is not. The walker of a JPEG file as a reader meets it (:func:`~.trailer.jpeg_end`, the EXIF reader of
    reruns); :func:`insert_segments` walks only the encoder's own fresh output, in memory, which holds no fill or
    junk bytes. ``fh`` may be read between two steps."""
    fh.seek(start)
    if fh.read(2) != b"\xff\xd8":
        return
    pos, pattern, block = start + 2, _MARKER, _SMALL
    while True:
        found = _next_marker(fh, pos, pattern, block)
        if found is None:
            return
        pos, marker = found
        if marker == _EOI or marker in _STANDALONE:
            yield marker, pos, 0
            if marker == _EOI:
                return
            continue
        fh.seek(pos)
        length = fh.read(2)
        if len(length) < 2:
            return
        size = struct.unpack(">H", length)[0]
        yield marker, pos + 2, max(size - 2, 0)
        pos += size
        # after a start of scan, its compressed data runs up to the next marker
        pattern, block = (_MARKER_IN_SCAN, _BLOCK) if marker == _SOS else (_MARKER, _SMALL)
