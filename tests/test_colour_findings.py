"""The colour tester's findings 3 and 4: a picture whose colour space only its EXIF names (Adobe RGB by DCF's
interoperability index R03) is not tagged sRGB in a HEIC or AVIF output, nor loses that space in a BMP or PPM
without a note; and a neutral grey picture comes back from the snow model neutral, at its edges too."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

from weatherclean.io.images import load_image, save_image
from weatherclean.io.images.carryover import exif_colour_space
from weatherclean.io.images.nclx import avif_facts

# ------------------------------------------------------------------ finding 3: Adobe RGB said only by the EXIF


def _exif(color_space: int | None, interop: bytes | None = None) -> bytes:
    """An EXIF block as a Nikon set to Adobe RGB writes it (ColorSpace 65535, interoperability index R03)."""
    exif: dict = {"0th": {piexif.ImageIFD.Make: b"NIKON CORPORATION"}, "Exif": {}, "GPS": {}, "1st": {}}
    if color_space is not None:
        exif["Exif"][piexif.ExifIFD.ColorSpace] = color_space
    if interop is not None:
        exif["Interop"] = {piexif.InteropIFD.InteroperabilityIndex: interop}
    return piexif.dump(exif)


def _jpeg(folder: Path, exif: bytes, icc: bytes | None = None) -> Path:
    rng = np.random.default_rng(3)
    path = folder / "_DSC0001.jpg"
    extra = {"icc_profile": icc} if icc else {}
    Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)).save(path, quality=95, exif=exif, **extra)
    return path


def _saved(src: Path, dest: Path, fmt: str) -> list[str]:
    like = load_image(src)
    with warnings.catch_warnings():  # Pillow warns of piexif's empty IFD1 when it reads the EXIF back
        warnings.simplefilter("ignore")
        return save_image(dest, like.pixels, like, format=fmt).notes


def _exif_of(path: Path) -> tuple[int | None, str | None]:
    """(ColorSpace, interoperability index) of a written file's EXIF."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exif = Image.open(path).getexif()
        return exif.get_ifd(0x8769).get(0xA001), exif.get_ifd(0xA005).get(1)


def test_exif_colour_space_reads_colorspace_and_the_interoperability_index() -> None:
    assert exif_colour_space(_exif(65535, b"R03")) == "Adobe RGB"
    assert exif_colour_space(_exif(65535, b"R03")[len(b"Exif\0\0") :]) == "Adobe RGB"  # as PNG and WebP hold it
    assert exif_colour_space(_exif(65535)) == "uncalibrated"
    assert exif_colour_space(_exif(65535, b"R98")) == "uncalibrated"
    assert exif_colour_space(_exif(1, b"R98")) is None
    assert exif_colour_space(_exif(None)) is None
    assert exif_colour_space(None) is None
    assert exif_colour_space(b"not an EXIF block") is None


def test_adobe_rgb_by_exif_written_as_avif_says_unspecified_not_srgb(tmp_path: Path) -> None:
    src = _jpeg(tmp_path, _exif(65535, b"R03"))
    notes = _saved(src, tmp_path / "out.avif", "avif")
    nclx = avif_facts(tmp_path / "out.avif").nclx
    assert nclx is not None and (nclx.primaries, nclx.transfer) == (2, 2)  # was 1/13: sRGB, against the EXIF
    assert (nclx.matrix, nclx.full_range) == (6, True)  # the pixels are coded as before
    assert _exif_of(tmp_path / "out.avif") == (65535, "R03")
    assert not notes
    # and again from that AVIF: its "unspecified" and its EXIF say the same, so it stays so
    _saved(tmp_path / "out.avif", tmp_path / "again.avif", "avif")
    again = avif_facts(tmp_path / "again.avif").nclx
    assert again is not None and (again.primaries, again.transfer) == (2, 2)


def test_adobe_rgb_by_exif_written_as_heic_says_unspecified_not_srgb(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    src = _jpeg(tmp_path, _exif(65535, b"R03"))
    _saved(src, tmp_path / "out.heic", "heic")
    nclx = pillow_heif.open_heif(tmp_path / "out.heic").info["nclx_profile"]
    assert (nclx["color_primaries"], nclx["transfer_characteristics"]) == (2, 2)
    assert (nclx["matrix_coefficients"], nclx["full_range_flag"]) == (6, 1)


def test_srgb_and_icc_pictures_are_tagged_as_before(tmp_path: Path) -> None:
    """ColorSpace sRGB keeps Pillow's sRGB tags; with an ICC profile the profile describes the colours."""
    (tmp_path / "srgb").mkdir()
    _saved(_jpeg(tmp_path / "srgb", _exif(1, b"R98")), tmp_path / "srgb.avif", "avif")
    srgb = avif_facts(tmp_path / "srgb.avif").nclx
    assert srgb is not None and (srgb.primaries, srgb.transfer) == (1, 13)
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    (tmp_path / "icc").mkdir()
    notes = _saved(_jpeg(tmp_path / "icc", _exif(65535, b"R03"), icc), tmp_path / "icc.bmp", "bmp")
    assert not any("colour space" in note for note in notes), notes  # the ICC profile's loss is the note


@pytest.mark.parametrize("fmt", ["bmp", "ppm"])
def test_a_conversion_that_drops_the_exif_says_the_colour_space_went_with_it(tmp_path: Path, fmt: str) -> None:
    src = _jpeg(tmp_path, _exif(65535, b"R03"))
    notes = _saved(src, tmp_path / f"out.{fmt}", fmt)
    said = [note for note in notes if "Adobe RGB" in note]
    assert len(said) == 1 and "R03" in said[0] and "sRGB" in said[0] and "--format png" in said[0], notes
    assert "\n" not in said[0]
