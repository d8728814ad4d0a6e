"""Reading and writing photos without losing what the photographer cares about.

A restored photo must look, in every viewer, like the input minus the snow: same orientation (we
write pixels *as stored* and keep the EXIF orientation tag, so viewers rotate output as they rotated
input; the model sees them upright, :mod:`weatherclean.io.orientation`), same colour profile, same
capture metadata (EXIF incl. GPS, XMP), same bit depth, same alpha.
The EXIF thumbnail still shows the snowy original, so it is rebuilt from the output (or removed).
Anything that cannot be kept is reported as a one-line note instead of being lost silently. Writes are
atomic: a crash or full disk never leaves a half-written photo behind.

One module per concern:

* ``load``: :func:`load_image`, with one small metadata reader per format, and :func:`read_rgb` (three
  float32 channels, for synthesis, training and evaluation); ``opener``: Pillow under our
  decompression-bomb limit, and one-line reasons; ``pixels``: every Pillow mode, and 16-bit colour
  Pillow cannot hold, as float32.
* ``save``: :func:`save_image`, with one writer per format in a table.
* ``exif``: EXIF IFDs copied entry by entry, and the EXIF thumbnail rewrite.
* ``tiff``: our own TIFF writer (EXIF sub-IFDs kept) and 16-bit grey+alpha TIFF reader.
* ``png16``: a 16-bit PNG writer (Pillow writes 8-bit colour only).
* ``pngchunks``: PNG colour chunks (cICP, mDCV, cLLI, gAMA, cHRM, sRGB, sBIT), bKGD, tIME and how each
  text was stored, which Pillow does not write back; ``jpegsegments``: JPEG IPTC (APP13) and extended
  XMP, which Pillow does not write, and the APPn segments a note names.
* ``heif``: 10/12-bit HEIC decoded and written at its own depth, and the auxiliary images it cannot write;
  ``nclx``: colour given by code points (Display P3, PQ, HLG: a HEIC's or AVIF's nclx, a PNG's cICP) and a
  HEIC's HDR properties; ``carryover``: what of those, and of what follows a JPEG's picture, an output keeps.
* ``trailer``: what follows a JPEG's picture (a gain map, a motion photo's video, Samsung's data), copied
  unchanged after a JPEG output; ``motion``: a motion photo's video found, and its XMP.
* ``formats``: ``--format`` names, suffixes and display names; ``records``: :class:`LoadedImage`,
  :class:`SavedImage`.

Which file names are photos at all is :mod:`weatherclean.io.media`'s one list.
"""

# OutputError was importable from here before the split; code and tests still use it that way.
from weatherclean.errors import OutputError
from weatherclean.io.images.exif import strip_exif_thumbnail
from weatherclean.io.images.formats import OUTPUT_FORMATS, normalise_format, suffix_for_format
from weatherclean.io.images.load import load_image, read_rgb
from weatherclean.io.images.opener import MAX_PIXELS
from weatherclean.io.images.records import LoadedImage, SavedImage
from weatherclean.io.images.save import Quality, save_image
from weatherclean.io.images.tiff import tiff_compression
from weatherclean.io.media import HEIF_EXTRA_HINT, IMAGE_SUFFIXES, is_image_path

__all__ = [
    "HEIF_EXTRA_HINT",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "OUTPUT_FORMATS",
    "LoadedImage",
    "OutputError",
    "Quality",
    "SavedImage",
    "is_image_path",
    "load_image",
    "normalise_format",
    "read_rgb",
    "save_image",
    "strip_exif_thumbnail",
    "suffix_for_format",
    "tiff_compression",
]
