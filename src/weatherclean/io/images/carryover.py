"""What an output carries over from its input beside the pixels and the usual metadata: the colours that code
points describe (a HEIC's or AVIF's ``nclx``, a PNG's ``cICP``) with their HDR properties, and what follows a
JPEG's picture (:mod:`.trailer`).

Each is kept where the output can hold it, said the other format's way where that format has one (nclx as PNG
cICP and back, a HEIC's HDR properties as PNG mDCV and cLLI and back), and named in a note where it cannot be:

* HEIC output keeps a HEIC's nclx and HDR properties as they were, and takes a PNG's cICP (as nclx) and its mDCV
  and cLLI (:func:`heic_colour`);
* AVIF output gets the primaries and transfer of the input's nclx or cICP in the box Pillow wrote
  (:func:`avif_tagged`);
* PNG output gets a HEIC's or AVIF's nclx as cICP and a HEIC's HDR properties as mDCV and cLLI;
* a picture whose only colour description is its EXIF (ColorSpace "uncalibrated", with DCF's interoperability
  index R03 for Adobe RGB, as cameras set to Adobe RGB write a JPEG) keeps that EXIF, and a HEIC or AVIF output
  then says "unspecified" in its nclx rather than sRGB (:func:`exif_colour_space`); BMP and PPM, which drop
  the EXIF, say in a note that the colour space went with it;
* a JPEG output keeps the bytes after the input's pictures, as they were (:func:`write_with_trailer`); other
  formats drop them, and the XMP that points at them;
* the XMP's ``xmpMM:InstanceID`` is made new (:func:`_new_instance`): the output is another saved instance, named
  by what it holds, so that the same command on the same input writes the same bytes.

save.py's writers call in here; everything here is about the input, so it lives apart from the encoders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.io.atomic import atomic_path
from weatherclean.io.images.exif import EXIF_POINTER, INTEROP_IFD, exif_ifd0, sub_ifd
from weatherclean.io.images.formats import FORMAT_NAME
from weatherclean.io.images.motion import without_directory, without_dropped_items, without_motion_xmp
from weatherclean.io.images.nclx import HDR_PROPERTIES, Nclx, hdr_from_png, lost_note, png_chunks, with_nclx_tags
from weatherclean.io.images.pngchunks import lost_colour_note
from weatherclean.io.images.records import LoadedImage
from weatherclean.io.images.trailer import Trailer, copy_trailer, trailer_notes

__all__ = ["avif_tagged", "carry_over", "exif_colour_space", "exif_space_note", "heic_colour", "write_with_trailer"]

#: EXIF's ColorSpace (Exif IFD tag 0xA001) value 0xFFFF, "uncalibrated": the colours are not sRGB, and what they
#: are is said elsewhere (an ICC profile, or DCF's interoperability index).
_UNCALIBRATED = 0xFFFF
#: The Exif IFD's ColorSpace tag, and the Interoperability IFD's index tag.
_COLOR_SPACE, _INTEROP_INDEX = 0xA001, 0x0001
#: Primaries and transfer "unspecified" (H.273 code point 2): what a HEIC or AVIF output says of colours that
#: only its EXIF describes, as Pillow's AVIF encoder says of a picture with an ICC profile. The matrix and range
#: are those the encoders code sRGB with (BT.601, full range), so the pixels are coded as before.
_UNSPECIFIED = Nclx(2, 2, 6, True)


def _code_points(like: LoadedImage) -> Nclx | None:
    """The input's colours as code points: a HEIC's or AVIF's nclx, or a PNG's cICP, or None."""
    nclx = like.extra.get("nclx")
    if isinstance(nclx, Nclx):
        return nclx
    return Nclx.from_cicp((like.extra.get("png_chunks") or {}).get("cICP")) if like.format == "PNG" else None


def _described(like: LoadedImage) -> Nclx | None:
    """The input's code points when they are what describes the picture's colours: not plain sRGB, and (but for
    a PNG's cICP, which PNG readers take over it) no ICC profile beside them, which readers take instead."""
    nclx = _code_points(like)
    if nclx is None or nclx.is_srgb or (like.icc_profile and like.format != "PNG"):
        return None
    return nclx


def exif_colour_space(exif: bytes | None) -> str | None:
    """The colour space an EXIF block names when it says the picture is not sRGB (ColorSpace 0xFFFF,
    "uncalibrated"): ``Adobe RGB`` with DCF's interoperability index ``R03``, else ``uncalibrated``; None when it
    says sRGB, says nothing, or cannot be read.

    Why: a camera set to Adobe RGB marks its JPEGs this way and embeds no ICC profile (DCF 2.0's option file).
    A HEIC or AVIF output of such a picture was tagged sRGB by its encoder (nclx 1/13), contradicting the EXIF
    it carried; and a BMP or PPM dropped the EXIF, the only thing that said the colours were not sRGB."""
    parsed = exif_ifd0(exif) if exif else None
    if parsed is None:
        return None
    e, ifd0 = parsed
    found = sub_ifd(ifd0, EXIF_POINTER)
    space = found.get(_COLOR_SPACE)
    if space is None or space[0] != 3 or len(space[2]) < 2:  # SHORT, as EXIF gives it
        return None
    if int.from_bytes(space[2][:2], "big" if e == ">" else "little") != _UNCALIBRATED:
        return None
    index = sub_ifd(found, INTEROP_IFD).get(_INTEROP_INDEX)
    named = bytes(index[2]).rstrip(b"\0 ") if index is not None and isinstance(index[2], bytes) else b""
    return "Adobe RGB" if named == b"R03" else "uncalibrated"


def _exif_space(like: LoadedImage) -> str | None:
    """:func:`exif_colour_space` of the input when its EXIF is the only thing that describes its colours: no ICC
    profile, and no code points of its own (or code points that say "unspecified")."""
    if like.icc_profile:
        return None
    own = _code_points(like)
    if own is not None and (own.primaries, own.transfer) != (2, 2):
        return None
    return exif_colour_space(like.exif)


def exif_space_note(like: LoadedImage, name: str) -> str | None:
    """The note for an output in a format (``name``: BMP, PPM) that drops the EXIF when the EXIF was the only
    thing that said the colours are not sRGB (:func:`exif_colour_space`); None otherwise."""
    space = _exif_space(like)
    if space is None:
        return None
    said = "Adobe RGB, interoperability index R03" if space == "Adobe RGB" else "uncalibrated, not sRGB"
    shown = "in duller colours" if space == "Adobe RGB" else "in other colours"
    return (
        f"the colour space its EXIF gave ({said}) went with the EXIF, so viewers show the {name} as sRGB, {shown}; "
        "--format png or tiff keeps it"
    )


def _label(like: LoadedImage) -> str:
    """What a note calls the input's code points: ``cICP`` in a PNG, ``nclx`` in a HEIC or AVIF."""
    return "cICP" if like.format == "PNG" else "nclx"


def _hdr(like: LoadedImage) -> dict[str, Any]:
    """The input's HDR properties by pillow-heif's names: a HEIC's own, or a PNG's mDCV and cLLI as the same."""
    if like.format == "PNG":
        return hdr_from_png(like.extra.get("png_chunks") or {})
    return dict(like.extra.get("heif_hdr") or {})


def heic_colour(like: LoadedImage) -> dict[str, Any]:
    """pillow-heif's save options for the input's colours: its code points (a HEIC's or AVIF's nclx as it was,
    so the matrix and range the encoder codes with too; a PNG's cICP as a HEIC is coded with it), its HDR
    properties, and a HEIC's chroma subsampling (kept as a JPEG's is: a 4:4:4 picture stays sharp in colour)."""
    params = _hdr(like)
    nclx = _code_points(like)
    if nclx is not None and like.format == "PNG":
        nclx = nclx.for_coding()
    if nclx is None and _exif_space(like) is not None:
        nclx = _UNSPECIFIED  # not sRGB, as the encoder would say unasked: the EXIF it carries says otherwise
    if nclx is not None:
        params["nclx_profile"] = nclx.profile()
    chroma = like.extra.get("chroma") if like.format == "HEIF" else None
    if nclx is not None and nclx.matrix == 0:
        chroma = 444  # RGB coded as is (identity matrix): red and blue would be subsampled as chroma
    if chroma:
        params["chroma"] = chroma
    return params


def avif_tagged(avif: bytes, like: LoadedImage, notes: list[str]) -> bytes:
    """``avif`` (as Pillow wrote it, tagged sRGB) with the primaries and transfer the input's code points describe
    (Display P3, BT.2020 PQ), or "unspecified" where only its EXIF describes its colours (:func:`exif_colour_space`:
    Adobe RGB), or as it was with a note when it has no colour box to set them in."""
    nclx = _described(like)
    space = _exif_space(like) if nclx is None else None
    if nclx is None and space is None:
        return avif
    tagged = with_nclx_tags(avif, nclx or _UNSPECIFIED)
    if tagged is None and nclx is not None:
        notes.append(lost_note(FORMAT_NAME[like.format], [f"{_label(like)}: {nclx.describe()}"], "AVIF", nclx))
    elif tagged is None:
        notes.append(f"AVIF output tagged sRGB by its encoder, though its EXIF says {space}")
    return tagged or avif


def _png_held(like: LoadedImage, fmt: str) -> frozenset[str]:
    """The HDR chunks of a PNG input (cICP, mDCV, cLLI) that an output in ``fmt`` says its own way: HEIC all of
    them (nclx and HDR properties, :func:`heic_colour`), AVIF cICP's colours (:func:`avif_tagged`)."""
    if like.format != "PNG" or fmt not in ("HEIF", "AVIF"):
        return frozenset()
    chunks = like.extra.get("png_chunks") or {}
    held = {"cICP"} if Nclx.from_cicp(chunks.get("cICP")) is not None else set()
    if fmt == "HEIF":
        held |= {chunk for key in hdr_from_png(chunks) if (chunk := HDR_PROPERTIES[key][0])}
    return frozenset(held)


def _colour_description(like: LoadedImage, fmt: str, notes: list[str]) -> LoadedImage:
    """A HEIC's or AVIF's nclx colour and HEIC HDR properties in an output of another format: PNG gets them as
    cICP, mDCV and cLLI (added to ``like``'s PNG chunks), AVIF its nclx (:func:`avif_tagged`); what the output
    cannot hold is named in a note."""
    if like.format not in ("HEIF", "AVIF") or fmt == "HEIF":
        return like
    nclx, hdr = _described(like), _hdr(like)
    if nclx is None and not hdr:
        return like
    held = png_chunks(nclx, hdr) if fmt == "PNG" else {}
    lost = nclx if nclx is not None and "cICP" not in held and fmt != "AVIF" else None  # AVIF: avif_tagged
    parts = [f"nclx: {lost.describe()}"] if lost is not None else []
    parts += [what for key, (chunk, what) in HDR_PROPERTIES.items() if key in hdr and chunk not in held]
    if parts:
        notes.append(lost_note(FORMAT_NAME[like.format], parts, FORMAT_NAME[fmt], lost))
    if not held:
        return like
    chunks = {**(like.extra.get("png_chunks") or {}), **held}
    return dataclasses.replace(like, extra={**like.extra, "png_chunks": chunks})


def _after_the_picture(like: LoadedImage, fmt: str, notes: list[str]) -> LoadedImage:
    """What follows a JPEG's picture (:mod:`.trailer`): a JPEG output carries it on (:func:`write_with_trailer`),
    less the XMP directory entries of the pictures it no longer holds and the motion photo tags of a video that
    was not found; any other output cannot, so it is named in a note, and the XMP that points at it goes."""
    trailer = like.extra.get("trailer")
    xmp = like.xmp
    if not isinstance(trailer, Trailer):
        if like.extra.get("motion_lost") and xmp:  # a HEIC's or AVIF's video, noted on load
            xmp = without_directory(without_motion_xmp(xmp))
    elif fmt == "JPEG":
        notes += trailer_notes(trailer, None)
        xmp = without_dropped_items(xmp, trailer.pictures) if xmp else xmp
        xmp = without_motion_xmp(xmp) if xmp and trailer.video_missing else xmp
    else:
        notes += trailer_notes(trailer, FORMAT_NAME[fmt])
        xmp = without_directory(without_motion_xmp(xmp)) if xmp else xmp
    return like if xmp == like.xmp else dataclasses.replace(like, xmp=xmp)


#: ``xmpMM:InstanceID`` as an attribute (``xmpMM:InstanceID="xmp.iid:..."``) or as an element, its value in group 2.
_INSTANCE_ID = re.compile(
    rb"""(xmpMM:InstanceID\s*=\s*["'])([^"'<>]*)(["'])|(<xmpMM:InstanceID>)([^<]*)(</xmpMM:InstanceID>)"""
)


#: The namespace of the outputs' InstanceIDs (:func:`_new_instance`): a fixed UUID, so that they repeat run to run.
_INSTANCE_NAMESPACE = uuid.UUID("5f0c8a53-2b7e-4c1d-9a64-0e7d3b1f6c92")


def _output_digest(like: LoadedImage, fmt: str, pixels: np.ndarray, settings: str) -> str:
    """A hash of what makes this output what it is: the input's XMP (its InstanceID and DocumentID among it), EXIF
    and ICC profile (a tool may edit one and leave the XMP alone), the format and encoder ``settings``, and the
    ``pixels`` written, as the encoder is handed them."""
    digest = hashlib.sha256()
    for part in (like.xmp, like.exif, like.icc_profile):
        block = part or b""
        digest.update(len(block).to_bytes(8, "little") + block)
    digest.update(f"\0{fmt}\0{settings}\0{pixels.shape}\0{pixels.dtype}\0".encode())
    digest.update(memoryview(np.ascontiguousarray(pixels)).cast("B"))
    return digest.hexdigest()


def _new_instance(like: LoadedImage, fmt: str, pixels: np.ndarray, settings: str) -> LoadedImage:
    """``like`` with a new ``xmpMM:InstanceID`` in its XMP, where it has one; DocumentID and the rest as they were.

    Why: XMP's media management says each save of a document gets a new InstanceID, and asset managers
    (Lightroom, Bridge, digiKam, Photo Mechanic) tell versions of a picture apart by it. The restored output kept
    the input's, so it claimed to be the very file it was restored from. The DocumentID stays: it is the same
    picture, and a catalogue that groups a photo with its versions goes by it.

    The new one is a name-based UUID (version 5) of the old one and :func:`_output_digest`, not a random one: a
    random one made every JPEG differ from the last run's in those 36 bytes, so a rerun could not be checked
    against the first byte for byte (evidence, archives, a backup that deduplicates). Outputs that differ in their
    input, pixels, format or settings still get different IDs; the same output written again is the same
    instance."""
    if not like.xmp or b"InstanceID" not in like.xmp:
        return like
    content = _output_digest(like, fmt, pixels, settings)

    def fresh(match: re.Match[bytes]) -> bytes:
        old = (match.group(2) if match.group(1) is not None else match.group(5)).decode("utf-8", "replace")
        value = f"xmp.iid:{uuid.uuid5(_INSTANCE_NAMESPACE, f'{old} {content}')}".encode()
        if match.group(1) is not None:
            return match.group(1) + value + match.group(3)
        return match.group(4) + value + match.group(6)

    xmp = _INSTANCE_ID.sub(fresh, like.xmp)
    return like if xmp == like.xmp else dataclasses.replace(like, xmp=xmp)


def carry_over(
    like: LoadedImage, fmt: str, icc_kept: bool, notes: list[str], pixels: np.ndarray, settings: str = ""
) -> LoadedImage:
    """``like`` as an output in ``fmt`` carries it over (see the module docstring), with a note for each thing
    the output cannot hold; ``icc_kept`` says whether the output keeps the input's ICC profile. ``pixels`` (as
    the encoder gets them) and ``settings`` (its options, such as the quality) name the output's XMP instance."""
    if fmt != "PNG":
        note = lost_colour_note(like.extra, FORMAT_NAME[fmt], icc_kept, _png_held(like, fmt))
        notes += [note] if note else []
    like = _colour_description(like, fmt, notes)
    return _new_instance(_after_the_picture(like, fmt, notes), fmt, pixels, settings)


def write_with_trailer(dest: Path, jpeg: bytes, like: LoadedImage) -> bool:
    """Write ``jpeg`` and then the bytes after the input's pictures (``like.extra["trailer"]``), copied from the
    input in blocks (never whole in memory), as one atomic file; False, writing nothing, when there are none.
    With ``--in-place`` the input is read to the end before it is replaced, and a trailer that cannot be copied
    leaves it as it was."""
    trailer = like.extra.get("trailer")
    if not isinstance(trailer, Trailer) or not trailer.kept:
        return False
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(jpeg)
        copy_trailer(like.path, trailer, fh)
    return True
