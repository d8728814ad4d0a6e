"""A photo's metadata, as an evidence copy needs it: the same output twice is the same bytes, and a JPEG's JFIF
header keeps its units and density.

* The XMP ``xmpMM:InstanceID`` of an output was a random UUID, so no two runs wrote the same JPEG (29 bytes apart):
  it is now named by the input's ID and what the output holds.
* A JPEG whose JFIF header said "no units, 1:1" (and whose EXIF named no resolution) came back saying 72 dpi, as
  Pillow reads it; dots per cm, and another aspect ratio without units, were rewritten too.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from weatherclean.io.images import load_image, save_image

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"'
    b' xmpMM:InstanceID="xmp.iid:1111" xmpMM:DocumentID="xmp.did:2222"/></rdf:RDF></x:xmpmeta>'
)
_ID = re.compile(rb'InstanceID="([^"]*)"')


def _pixels(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)


def _camera_jpeg(path: Path, xmp: bytes = XMP) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "CCTVCam"  # an EXIF without XResolution: Pillow then says 72 dpi
    Image.fromarray(_pixels()).save(path, quality=92, exif=exif.tobytes(), xmp=xmp)
    return path


def _instance(path: Path) -> bytes:
    found = _ID.search(path.read_bytes())
    assert found is not None
    return found.group(1)


# ------------------------------------------------------------------------------ 3. the same output, the same bytes


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "webp"])
def test_the_same_output_written_twice_is_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    like = load_image(_camera_jpeg(tmp_path / "cam0.jpg"))
    outs = [save_image(tmp_path / f"{name}.{fmt}", like.pixels, like, format=fmt).path for name in "ab"]
    assert outs[0].read_bytes() == outs[1].read_bytes()
    new = _instance(outs[0])
    assert new.startswith(b"xmp.iid:") and new != b"xmp.iid:1111"  # still a new instance of the document
    assert b'DocumentID="xmp.did:2222"' in outs[0].read_bytes()


def test_different_outputs_are_different_instances(tmp_path: Path) -> None:
    """Other pixels, another quality or another input instance: another InstanceID."""
    like = load_image(_camera_jpeg(tmp_path / "cam0.jpg"))
    other = load_image(_camera_jpeg(tmp_path / "cam1.jpg", XMP.replace(b"iid:1111", b"iid:3333")))
    darker = like.pixels * 0.5
    ids = {
        _instance(save_image(tmp_path / "same.jpg", like.pixels, like).path),
        _instance(save_image(tmp_path / "darker.jpg", darker, like).path),
        _instance(save_image(tmp_path / "q80.jpg", like.pixels, like, quality=80).path),
        _instance(save_image(tmp_path / "png.png", like.pixels, like, format="png").path),
        _instance(save_image(tmp_path / "other.jpg", like.pixels, other).path),
    }
    assert len(ids) == 5


def test_the_id_follows_the_exif_and_not_a_quality_the_format_ignores(tmp_path: Path) -> None:
    """Two inputs alike but for their EXIF (edited by a tool that left the XMP alone) are two instances; a PNG
    written with another --quality is the same bytes, so the same instance."""
    like = load_image(_camera_jpeg(tmp_path / "cam0.jpg"))
    exif = Image.Exif()
    exif[0x010F] = "OtherCam"
    edited = dataclasses.replace(like, exif=exif.tobytes())
    assert _instance(save_image(tmp_path / "a.jpg", like.pixels, like).path) != _instance(
        save_image(tmp_path / "b.jpg", like.pixels, edited).path
    )
    first = save_image(tmp_path / "c.png", like.pixels, like, format="png").path.read_bytes()
    assert save_image(tmp_path / "d.png", like.pixels, like, format="png", quality=80).path.read_bytes() == first


# ------------------------------------------------------------------------------ 6. the JFIF header as it was


def _jfif_fields(data: bytes) -> bytes:
    """The JFIF header's units and densities (5 bytes)."""
    at = data.index(b"JFIF\x00")
    return data[at + 7 : at + 12]


def _with_jfif(path: Path, fields: bytes) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "JPEG", quality=92)
    data = bytearray(buf.getvalue())
    at = data.index(b"JFIF\x00")
    data[at + 7 : at + 12] = fields
    path.write_bytes(bytes(data))
    return path


def test_no_units_and_a_1_to_1_density_stay_so_and_no_dpi_is_made_up(tmp_path: Path) -> None:
    src = _camera_jpeg(tmp_path / "cam0.jpg")
    assert _jfif_fields(src.read_bytes()) == b"\x00\x00\x01\x00\x01"
    like = load_image(src)
    jpeg = save_image(tmp_path / "out.jpg", like.pixels, like).path
    assert _jfif_fields(jpeg.read_bytes()) == b"\x00\x00\x01\x00\x01"  # was 01 00 48 00 48: 72 dpi
    png = save_image(tmp_path / "out.png", like.pixels, like, format="png").path
    assert "dpi" not in Image.open(png).info  # no pHYs claiming 72 dpi either


@pytest.mark.parametrize(
    "fields", [b"\x02\x00\x76\x00\x76", b"\x00\x00\x04\x00\x03", b"\x01\x01\x2c\x00\xc8"], ids=["dpcm", "aspect", "dpi"]
)
def test_the_jfif_units_and_density_are_kept(tmp_path: Path, fields: bytes) -> None:
    like = load_image(_with_jfif(tmp_path / "in.jpg", fields))
    out = save_image(tmp_path / "out.jpg", like.pixels, like).path
    assert _jfif_fields(out.read_bytes()) == fields


def test_a_resolution_the_exif_gives_is_still_kept(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x011A], exif[0x011B], exif[0x0128] = 300.0, 300.0, 2
    src = tmp_path / "in.jpg"
    Image.fromarray(_pixels()).save(src, exif=exif.tobytes())
    like = load_image(src)
    png = save_image(tmp_path / "out.png", like.pixels, like, format="png").path
    assert [round(d) for d in Image.open(png).info["dpi"]] == [300, 300]
