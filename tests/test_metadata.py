"""Real metadata (EXIF with GPS + orientation 6 + a maker note, a Display P3 ICC profile, XMP) must come
back from every format that can hold it, byte for byte where the format allows, and every loss must
come with a note. Inputs are written by Pillow (or by hand), never by our own writers, so a bug that
is symmetric in our reader and writer cannot hide."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import piexif
import pytest
from PIL import Image, ImageCms, TiffImagePlugin, TiffTags
from PIL.PngImagePlugin import PngInfo

from weatherclean.errors import InputError, OutputError
from weatherclean.io import (
    OUTPUT_FORMATS,
    SavedImage,
    is_image_path,
    load_image,
    media,
    normalise_format,
    save_image,
    strip_exif_thumbnail,
    suffix_for_format,
)
from weatherclean.io import images as images_mod

H, W = 24, 40  # stored size; with Orientation=6 a viewer shows it 40 tall × 24 wide
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Col du Lautaret in snow</rdf:li></rdf:Alt></dc:title>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)
MAKER_NOTE = b"Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x00\x01\x00\x07\x00\x00\x00\x040210"
POINTER_TAGS = {34665, 34853, 40965}  # sub-IFD offsets legitimately move when a file is re-laid out


# ------------------------------------------------------------------------------------------- builders


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def display_p3_icc() -> bytes:
    """A real ICC v4 display profile: Display P3 primaries, D65 white (Bradford-adapted to D50), sRGB TRC."""
    xy = np.array([[0.680, 0.320], [0.265, 0.690], [0.150, 0.060]])
    white = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])
    prim = np.stack([xy[:, 0] / xy[:, 1], np.ones(3), (1 - xy[:, 0] - xy[:, 1]) / xy[:, 1]])
    rgb_to_xyz = prim * np.linalg.solve(prim, white)
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    d50 = np.array([0.9642, 1.0, 0.8249])
    chad = np.linalg.inv(bradford) @ np.diag((bradford @ d50) / (bradford @ white)) @ bradford
    pcs = chad @ rgb_to_xyz

    def xyz(v: np.ndarray) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)

    def mluc(text: str) -> bytes:
        s = text.encode("utf-16-be")
        return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s

    srgb_curve = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in srgb_curve)
    tags = [
        (b"desc", mluc("Display P3")), (b"cprt", mluc("No copyright, use freely")), (b"wtpt", xyz(d50)),
        (b"rXYZ", xyz(pcs[:, 0])), (b"gXYZ", xyz(pcs[:, 1])), (b"bXYZ", xyz(pcs[:, 2])),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
        (b"chad", b"sf32\0\0\0\0" + b"".join(_s15(v) for v in chad.flatten())),
    ]  # fmt: skip
    table, body = b"", b""
    start = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", start + len(body)) + b"lcms" + struct.pack(">I", 0x04300000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acspAPPL" + b"\0" * 24 + xyz(d50)[8:] + b"\0" * 48
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + body


P3 = display_p3_icc()


def exif_dict(thumbnail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "0th": {
            piexif.ImageIFD.Orientation: 6,
            piexif.ImageIFD.Make: b"NIKON CORPORATION",
            piexif.ImageIFD.Model: b"NIKON Z 6_2",
            piexif.ImageIFD.Software: b"Ver.1.50",
            piexif.ImageIFD.DateTime: b"2024:01:02 10:11:12",
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2024:01:02 10:11:12",
            piexif.ExifIFD.ExposureTime: (1, 500),
            piexif.ExifIFD.FNumber: (56, 10),
            piexif.ExifIFD.ISOSpeedRatings: 200,
            piexif.ExifIFD.ExposureBiasValue: (-2, 3),
            piexif.ExifIFD.MakerNote: MAKER_NOTE,
        },
        "GPS": {
            piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((45, 1), (2, 1), (4512, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((6, 1), (24, 1), (1, 100)),
            piexif.GPSIFD.GPSAltitudeRef: 0,
            piexif.GPSIFD.GPSAltitude: (20580, 10),
        },
    }
    if thumbnail:
        thumb = io.BytesIO()
        Image.new("RGB", (160, 96), (250, 250, 250)).save(thumb, "JPEG")
        data["1st"] = {piexif.ImageIFD.XResolution: (72, 1), piexif.ImageIFD.YResolution: (72, 1)}
        data["thumbnail"] = thumb.getvalue()
    return data


def exif_blob(thumbnail: bool = False) -> bytes:
    return piexif.dump(exif_dict(thumbnail))


def _pixels(channels: int = 3, seed: int = 0) -> np.ndarray:
    """Smooth-ish content so lossy codecs keep it recognisable."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    planes = [(x * 6) % 256, (y * 10) % 256, ((x + y) * 4) % 256, 255 - (x * y) % 256]
    base = np.stack(planes[:channels], axis=-1)
    return np.clip(base + rng.integers(-8, 8, base.shape), 0, 255).astype(np.uint8)


def write_input(path: Path, fmt: str, *, exif: bytes | None = None, rgba: bool = False) -> np.ndarray:
    """Write a photo with EXIF, the P3 profile and XMP the way other software (Pillow) would."""
    arr = _pixels(4 if rgba else 3)
    im = Image.fromarray(arr)
    exif = exif_blob() if exif is None else exif
    if fmt == "TIFF":  # Pillow's TIFF writer ignores xmp=; put everything in one tag directory
        parsed = Image.Exif()
        parsed.load(exif)
        info = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in parsed.items():
            info[tag] = parsed.get_ifd(tag) if tag in (34665, 34853) else value
        info[700] = XMP
        info.tagtype[700] = TiffTags.BYTE
        im.save(path, "TIFF", tiffinfo=info, icc_profile=P3)
    elif fmt == "PNG":
        meta = PngInfo()
        meta.add_itxt("XML:com.adobe.xmp", XMP.decode())
        im.save(path, "PNG", exif=exif, icc_profile=P3, pnginfo=meta)
    else:
        extra: dict[str, Any] = {"quality": 92} if fmt in ("JPEG", "WEBP", "AVIF", "HEIF") else {}
        im.save(path, fmt, exif=exif, icc_profile=P3, xmp=XMP, **extra)
    return arr


# ------------------------------------------------------------------------------------------- readers


def tiff_part(exif: bytes) -> bytes:
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def file_exif(path: Path) -> bytes:
    """The EXIF as stored in the file (TIFF: the file itself is the EXIF structure)."""
    if path.suffix == ".tif":
        return path.read_bytes()
    with Image.open(path) as im:
        return tiff_part(im.info["exif"])


def _norm(value: Any) -> Any:
    """Compare values, not encodings: rationals as fractions, BYTE tuples as bytes."""
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return tuple(Fraction(n, d) for n, d in value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[1]:
        return Fraction(*value)
    if isinstance(value, tuple) and all(isinstance(v, int) and 0 <= v < 256 for v in value):
        return bytes(value)
    return value


def tags(exif: bytes, *, normalise: bool = False) -> dict[str, dict[int, Any]]:
    """IFD0/Exif/GPS tags of an EXIF blob or TIFF file, without pixel-layout tags and sub-IFD pointers."""
    loaded = piexif.load(b"Exif\x00\x00" + tiff_part(exif))
    layout = images_mod.tiff.TIFF_LAYOUT_TAGS | {700, 34675, 282, 283, 296}
    out = {}
    for ifd in ("0th", "Exif", "GPS"):
        out[ifd] = {
            t: (_norm(v) if normalise else v)
            for t, v in loaded[ifd].items()
            if t not in POINTER_TAGS and not (ifd == "0th" and t in layout)
        }
    return out


def pillow_meta(path: Path) -> tuple[bytes | None, bytes | None, tuple[int, int]]:
    with Image.open(path) as im:
        return im.info.get("icc_profile"), im.info.get("xmp"), im.size


SAME_FORMATS = [("JPEG", ".jpg"), ("PNG", ".png"), ("TIFF", ".tif"), ("WEBP", ".webp"), ("AVIF", ".avif")]


# --------------------------------------------------------------------------------------------- tests


def test_display_p3_profile_is_a_real_profile() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(P3))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    red = ImageCms.profileToProfile(Image.new("RGB", (1, 1), (200, 100, 50)), profile, ImageCms.createProfile("sRGB"))
    assert red is not None
    r, g, b = red.getpixel((0, 0))  # type: ignore[misc]
    assert r > 205 and b < 45  # P3 colours are more saturated than the same numbers in sRGB


@pytest.mark.parametrize(("fmt", "suffix"), SAME_FORMATS)
def test_metadata_survives_same_format(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    write_input(src, fmt)
    loaded = load_image(src)
    assert loaded.pixels.shape == (H, W, 3), "pixels must be processed as stored, not rotated"
    assert loaded.notes == []
    out = tmp_path / f"out{suffix}"
    saved = save_image(out, 1.0 - loaded.pixels, loaded)
    assert isinstance(saved, SavedImage) and saved.path == out and saved.format == fmt and saved.notes == []

    icc, xmp, _ = pillow_meta(out)
    assert icc == P3 and xmp == XMP
    before, after = file_exif(src), file_exif(out)
    if fmt in ("JPEG", "PNG", "WEBP"):
        assert after == before  # byte for byte: maker-note offsets stay valid
    # AVIF stores orientation in its irot box, so Pillow re-serialises EXIF (types of unknown tags may change)
    normalise = fmt == "AVIF"
    assert tags(after, normalise=normalise) == tags(before, normalise=normalise)
    with Image.open(out) as im:
        assert im.getexif()[274] == 6  # AVIF: Pillow maps the irot box back to the tag
    back = load_image(out)
    assert back.pixels.shape == (H, W, 3)
    assert np.abs(back.pixels - (1.0 - loaded.pixels)).mean() < 0.03  # the result, not the input, was written


@pytest.mark.parametrize(("fmt", "suffix"), [f for f in SAME_FORMATS if f[0] != "JPEG"])
def test_jpeg_converted_keeps_exif_icc_xmp(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = tmp_path / "in.jpg"
    write_input(src, "JPEG")
    loaded = load_image(src)
    out = tmp_path / f"out{suffix}"
    saved = save_image(out, loaded.pixels, loaded, format=fmt.lower())
    assert saved.format == fmt and saved.notes == []
    icc, xmp, _ = pillow_meta(out)
    assert icc == P3 and xmp == XMP
    before, after = file_exif(src), file_exif(out)
    if fmt in ("PNG", "WEBP"):
        assert after == before
    normalise = fmt == "AVIF"
    assert tags(after, normalise=normalise) == tags(before, normalise=normalise)
    assert load_image(out).pixels.shape == (H, W, 3)


def test_tiff_exif_sub_ifds_keep_types_and_reach_jpeg(tmp_path: Path) -> None:
    """TIFF → TIFF and TIFF → JPEG keep the GPS and Exif sub-IFDs, entry types included."""
    src = tmp_path / "in.tif"
    stored = write_input(src, "TIFF")
    loaded = load_image(src)
    # Pillow rotates TIFFs on load; we must hand out the pixels as stored, with the tag kept
    assert np.array_equal(np.rint(loaded.pixels * 255).astype(np.uint8), stored)
    for name in ("out.tif", "out.jpg"):
        save_image(tmp_path / name, loaded.pixels, loaded, format=name.split(".")[1])
    in_tags = tags(src.read_bytes())
    assert in_tags["GPS"] and in_tags["Exif"] and in_tags["0th"][274] == 6
    assert tags((tmp_path / "out.tif").read_bytes()) == in_tags
    assert tags(file_exif(tmp_path / "out.jpg")) == in_tags
    with Image.open(tmp_path / "out.tif") as im:
        gps = im.getexif().get_ifd(0x8825)
        assert gps[2] == (45.0, 2.0, 45.12) and gps[6] == 2058.0
        assert im.getexif().get_ifd(0x8769)[37380] == pytest.approx(-2 / 3)
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (W, H) and im.getexif()[274] == 6 and im.info["icc_profile"] == P3
        assert im.info["xmp"] == XMP


def test_jpeg_to_tiff_keeps_maker_note_type(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    write_input(src, "JPEG")
    loaded = load_image(src)
    save_image(tmp_path / "o.tif", loaded.pixels, loaded, format="tiff")
    out = tags((tmp_path / "o.tif").read_bytes())
    assert out["Exif"][piexif.ExifIFD.MakerNote] == MAKER_NOTE  # UNDEFINED stays UNDEFINED (bytes)
    assert out["GPS"][piexif.GPSIFD.GPSLatitude] == ((45, 1), (2, 1), (4512, 100))  # not reduced to 282/25


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_thumbnail_is_rebuilt_from_the_output(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "in.jpg"
    write_input(src, "JPEG", exif=exif_blob(thumbnail=True))
    loaded = load_image(src)
    out = tmp_path / f"out{suffix}"
    dark = np.zeros_like(loaded.pixels) + 0.1
    saved = save_image(out, dark, loaded, format=suffix[1:])
    assert saved.notes == []
    before, after = file_exif(src), file_exif(out)
    new = piexif.load(b"Exif\x00\x00" + after)
    assert tags(after) == tags(before)
    with Image.open(io.BytesIO(new["thumbnail"])) as thumb:
        assert thumb.size == (W, H) and np.asarray(thumb).mean() < 50  # shows the dark output, as stored
    # nothing before the old thumbnail moved: only IFD0's next-IFD pointer changes, the rest is appended
    stripped = tiff_part(strip_exif_thumbnail(b"Exif\x00\x00" + before))
    link = 8 + 2 + 12 * struct.unpack_from(">H", stripped, 8)[0]
    assert after[:link] == stripped[:link] and after[link + 4 : len(stripped)] == stripped[link + 4 :]


@pytest.mark.parametrize("fmt", ["tiff", "avif"])
def test_exif_thumbnail_dropped_with_note_where_not_rebuilt(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "in.jpg"
    write_input(src, "JPEG", exif=exif_blob(thumbnail=True))
    loaded = load_image(src)
    out = tmp_path / f"out{suffix_for_format(fmt)}"
    saved = save_image(out, loaded.pixels, loaded, format=fmt)
    assert saved.notes == ["EXIF thumbnail removed (it showed the original)"]
    after = piexif.load(b"Exif\x00\x00" + file_exif(out))
    assert after["thumbnail"] is None and after["GPS"]


# 16-bit PNG written by hand (Pillow cannot write 16-bit colour), so the reader is tested on a foreign file.
def _png16(arr: np.ndarray) -> bytes:
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("channels", [1, 2, 3, 4], ids=["grey", "grey+alpha", "rgb", "rgba"])
@pytest.mark.parametrize("out_fmt", ["png", "tiff"])
def test_16bit_roundtrips_bit_exact(tmp_path: Path, channels: int, out_fmt: str) -> None:
    raw = np.random.default_rng(channels).integers(0, 65536, (9, 13, channels), dtype=np.uint16)
    raw[0, 0] = 0x0102  # distinct high and low bytes
    src = tmp_path / "in.png"
    src.write_bytes(_png16(raw))
    loaded = load_image(src)
    colour = 1 if channels <= 2 else 3
    assert loaded.bit_depth == 16 and loaded.pixels.shape == (9, 13, colour)
    assert np.array_equal(np.rint(loaded.pixels * 65535).astype(np.uint16), raw[..., :colour])
    out = tmp_path / f"out{suffix_for_format(out_fmt)}"
    saved = save_image(out, loaded.pixels, loaded, format=out_fmt)
    assert saved.notes == []
    back = load_image(out)
    assert back.bit_depth == 16
    assert np.array_equal(np.rint(back.pixels * 65535).astype(np.uint16), raw[..., :colour])
    if channels in (2, 4):
        assert back.alpha is not None
        assert np.array_equal(np.rint(back.alpha * 65535).astype(np.uint16), raw[..., colour])
    else:
        assert back.alpha is None
    if out_fmt == "png":  # what other software sees: the header says 16 bits and the right colour type
        assert out.read_bytes()[24:26] == bytes([16, {1: 0, 2: 4, 3: 2, 4: 6}[channels]])


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_8bit_alpha_passes_through_bit_exact(tmp_path: Path, suffix: str, mode: str) -> None:
    rgba = _pixels(4)
    rgba[..., 3] = np.arange(H * W).reshape(H, W) % 256
    im = Image.fromarray(rgba).convert(mode) if mode == "LA" else Image.fromarray(rgba)
    src = tmp_path / "in.png"
    im.save(src)
    alpha_in = np.asarray(im)[..., -1]
    loaded = load_image(src)
    out = tmp_path / f"out{suffix}"
    saved = save_image(out, np.clip(loaded.pixels * 0.5, 0, 1), loaded, format=suffix[1:])
    with Image.open(out) as back:
        assert np.array_equal(np.asarray(back)[..., -1], alpha_in)
        expected_mode = "RGBA" if suffix == ".webp" else mode
        assert back.mode == expected_mode
    if suffix == ".webp" and mode == "LA":
        assert saved.notes == ["greyscale+alpha written as RGBA: WebP has no grey+alpha mode"]


def test_greyscale_stays_greyscale(tmp_path: Path) -> None:
    grey = _pixels(1)[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.jpg", quality=95)
    loaded = load_image(tmp_path / "g.jpg")
    assert loaded.pixels.shape == (H, W, 1)
    for fmt in ("jpeg", "png", "tiff", "avif"):
        out = tmp_path / f"o{suffix_for_format(fmt)}"
        assert save_image(out, loaded.pixels, loaded, format=fmt).notes == []
        with Image.open(out) as im:
            assert im.mode == "L", fmt
    saved = save_image(tmp_path / "o.webp", loaded.pixels, loaded, format="webp")
    assert saved.notes == ["greyscale written as RGB: WebP has no greyscale mode"]


def test_lossless_webp_stays_lossless_and_lossy_stays_lossy(tmp_path: Path) -> None:
    arr = _pixels()
    Image.fromarray(arr).save(tmp_path / "ll.webp", lossless=True)
    Image.fromarray(arr).save(tmp_path / "ly.webp", quality=80)
    for name, bitstream in (("ll", b"VP8L"), ("ly", b"VP8 ")):
        loaded = load_image(tmp_path / f"{name}.webp")
        save_image(tmp_path / f"{name}_out.webp", loaded.pixels, loaded)
        data = (tmp_path / f"{name}_out.webp").read_bytes()
        assert bitstream in data[12:40], name
    with Image.open(tmp_path / "ll_out.webp") as im:
        assert np.array_equal(np.asarray(im), arr)


def test_cmyk_palette_and_one_bit_are_converted_with_notes(tmp_path: Path) -> None:
    Image.fromarray(_pixels()).convert("CMYK").save(tmp_path / "cmyk.jpg")
    cmyk = load_image(tmp_path / "cmyk.jpg")
    assert cmyk.pixels.shape == (H, W, 3) and cmyk.icc_profile is None
    assert cmyk.notes == ["CMYK converted to RGB (no ICC profile, colours are approximate)"]
    Image.fromarray(_pixels()).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").notes == ["palette image written as RGB"]
    Image.fromarray(_pixels()).convert("P").save(tmp_path / "pt.png", transparency=0)
    pal = load_image(tmp_path / "pt.png")
    assert pal.notes == ["palette image written as RGBA"] and pal.alpha is not None
    Image.fromarray(_pixels()).convert("1").save(tmp_path / "b.png")
    assert load_image(tmp_path / "b.png").notes == ["1-bit image written as 8-bit greyscale"]


def test_multi_frame_inputs_say_what_was_dropped(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.roll(_pixels(), i * 3, axis=1)) for i in range(5)]
    frames[0].save(tmp_path / "m.tif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:3])
    frames[0].save(tmp_path / "a.webp", save_all=True, append_images=frames[1:3], lossless=True)
    assert load_image(tmp_path / "m.tif").notes == ["multi-page TIFF: only page 1 of 5 processed; other pages dropped"]
    assert load_image(tmp_path / "a.png").notes == ["animated PNG: only frame 1 of 3 processed; other frames dropped"]
    webp = load_image(tmp_path / "a.webp")
    assert webp.notes == ["animated WebP: only frame 1 of 3 processed; other frames dropped"] and webp.frames == 3
    assert np.array_equal(np.rint(webp.pixels * 255).astype(np.uint8), np.asarray(frames[0]))


def test_notes_for_what_the_target_cannot_hold(tmp_path: Path) -> None:
    write_input(tmp_path / "a.png", "PNG", rgba=True)
    loaded = load_image(tmp_path / "a.png")
    assert save_image(tmp_path / "a.jpg", loaded.pixels, loaded, format="jpg").notes == [
        "alpha dropped: JPEG has no alpha; transparent areas flattened onto white"
    ]
    src16 = tmp_path / "w.png"
    src16.write_bytes(_png16(np.full((4, 5, 3), 0x1234, dtype=np.uint16)))
    wide = load_image(src16)
    assert save_image(tmp_path / "w.jpg", wide.pixels, wide, format="jpeg").notes == [
        "16-bit written as 8-bit because JPEG cannot hold 16 bits"
    ]
    grey_icc = bytearray(P3)
    grey_icc[16:20] = b"GRAY"  # only the header's colour space matters for this decision
    Image.fromarray(_pixels(1)[..., 0], "L").save(tmp_path / "g.png", icc_profile=bytes(grey_icc))
    grey = load_image(tmp_path / "g.png")
    assert save_image(tmp_path / "g2.webp", grey.pixels, grey, format="webp").notes == [
        "greyscale written as RGB: WebP has no greyscale mode",
        "greyscale ICC profile dropped: it cannot describe the RGB WebP output",
    ]
    with Image.open(tmp_path / "g2.webp") as im:
        assert "icc_profile" not in im.info
    meta = PngInfo()
    meta.add_text("Title", "Snow")
    Image.fromarray(_pixels()).save(tmp_path / "t.png", pnginfo=meta)
    titled = load_image(tmp_path / "t.png")
    assert save_image(tmp_path / "t.png", titled.pixels, titled).notes == []
    assert save_image(tmp_path / "t.jpg", titled.pixels, titled, format="jpeg").notes == [
        "PNG text (Title) cannot be stored in JPEG; dropped"
    ]


def test_png_raw_profile_exif_is_used_and_not_copied_stale(tmp_path: Path) -> None:
    """Old ImageMagick PNGs keep EXIF (thumbnail included) as a hex text chunk; it becomes real EXIF."""
    blob = exif_blob(thumbnail=True)
    hexed = blob.hex()
    meta = PngInfo()
    meta.add_text("Raw profile type exif", f"\nexif\n{len(blob):8d}\n{hexed}\n", zip=True)
    Image.fromarray(_pixels()).save(tmp_path / "im.png", pnginfo=meta)
    loaded = load_image(tmp_path / "im.png")
    assert loaded.exif == blob and "Raw profile type exif" not in loaded.extra["text"]
    save_image(tmp_path / "o.png", loaded.pixels, loaded)
    with Image.open(tmp_path / "o.png") as im:
        assert "Raw profile type exif" not in im.info and tags(im.info["exif"]) == tags(blob)


def test_format_names_and_suffixes() -> None:
    assert normalise_format("jpg") == normalise_format("JPEG") == normalise_format(".jpe") == "JPEG"
    assert normalise_format("tif") == "TIFF" and normalise_format("WebP") == "WEBP"
    assert normalise_format("avif") == "AVIF"
    assert [suffix_for_format(f) for f in ("JPEG", "png", "tiff", "WEBP", "avif", "heic")] == [
        ".jpg", ".png", ".tif", ".webp", ".avif", ".heic"
    ]  # fmt: skip
    assert {"jpeg", "jpg", "png", "tiff", "tif", "webp", "avif"} <= set(OUTPUT_FORMATS)
    with pytest.raises(OutputError, match="unknown output format 'gif'") as info:
        normalise_format("gif")
    assert "\n" not in str(info.value)
    for name in ("a.avif", "b.HEIC", "c.heif", "d.tiff"):
        assert is_image_path(Path(name))
    assert not is_image_path(Path("notes.txt"))


def test_heic_without_the_extra_explains_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "heif_ready", lambda: False)
    (tmp_path / "a.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    with pytest.raises(InputError, match=r"pip install 'weatherclean\[heif\]'") as info:
        load_image(tmp_path / "a.heic")
    assert str(info.value).startswith(str(tmp_path / "a.heic")) and "\n" not in str(info.value)
    (tmp_path / "b.jpg").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")  # misnamed HEIC
    with pytest.raises(InputError, match=r"weatherclean\[heif\]"):
        load_image(tmp_path / "b.jpg")
    with pytest.raises(OutputError, match=r"heic output needs the optional extra: pip install 'weatherclean\[heif\]'"):
        normalise_format("heic")


def test_heic_roundtrip_when_the_extra_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    src = tmp_path / "in.jpg"
    write_input(src, "JPEG")
    loaded = load_image(src)
    saved = save_image(tmp_path / "o.heic", loaded.pixels, loaded, format="heic")
    assert saved.format == "HEIF" and saved.notes == []
    back = load_image(tmp_path / "o.heic")
    assert back.format == "HEIF" and back.icc_profile == P3 and back.xmp == XMP
    # libheif applies the rotation on decode and resets the tag: same picture on screen, upright pixels
    assert back.pixels.shape == (W, H, 3)
    after = tags(back.exif or b"")
    before = tags(file_exif(src))
    assert after["0th"].pop(274) == 1 and before["0th"].pop(274) == 6
    assert after == before
    saved = save_image(tmp_path / "o.jpg", back.pixels, back, format="jpeg")
    with Image.open(saved.path) as im:
        assert im.size == (H, W) and im.getexif()[274] == 1 and im.info["icc_profile"] == P3


def test_avif_high_bit_depth_is_detected(tmp_path: Path) -> None:
    from weatherclean.io.images.nclx import avif_facts

    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "AVIF")
    data = bytearray(buf.getvalue())
    (tmp_path / "a8.avif").write_bytes(data)
    assert avif_facts(tmp_path / "a8.avif").bits == 8
    at = data.find(b"pixi") + 4 + 4  # after the box type and the full-box version/flags
    data[at + 1 : at + 1 + data[at]] = bytes([10] * data[at])
    (tmp_path / "a10.avif").write_bytes(data)
    assert avif_facts(tmp_path / "a10.avif").bits == 10


def test_saved_image_is_path_like(tmp_path: Path) -> None:
    write_input(tmp_path / "a.png", "PNG")
    loaded = load_image(tmp_path / "a.png")
    saved = save_image(tmp_path / "b.png", loaded.pixels, loaded)
    assert Path(saved) == tmp_path / "b.png"
    with pytest.raises(OutputError, match="quality must be a whole number from 1 to 100 or 'keep', got 101"):
        save_image(tmp_path / "c.jpg", loaded.pixels, loaded, format="jpeg", quality=101)


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_png_from_a_transposed_model_output(tmp_path: Path, channels: int) -> None:
    """Model outputs reach the writer as C×H×W → H×W×C views (not C-contiguous); 16 bits must survive."""
    rng = np.random.default_rng(5)
    src = (rng.random((12, 10, channels)) * 65535).astype(np.uint16)
    (tmp_path / "in.png").write_bytes(_png16(src))
    like = load_image(tmp_path / "in.png")
    view = np.ascontiguousarray(like.pixels.transpose(2, 0, 1)).transpose(1, 2, 0)
    assert not view.flags["C_CONTIGUOUS"]
    save_image(tmp_path / "out.png", view, like)
    again = load_image(tmp_path / "out.png")
    assert again.bit_depth == 16 and np.array_equal(np.rint(again.pixels * 65535), np.rint(like.pixels * 65535))
