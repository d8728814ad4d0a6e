"""What a fine-art/print photographer's tester found with archive masters: BigTIFF tags lost, IPTC and PNG text
said to be unstorable in TIFF, comparison pictures ignoring the ICC profile and alpha, a 4:4:4 CMYK JPEG
written 4:2:0, a PNG's ICC profile renamed, and a float TIFF refused without saying why.

Every file is made here, small, with Pillow or by hand (no tifffile): a BigTIFF with Pillow's ``big_tiff``.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, TiffImagePlugin

from weatherclean.errors import InputError
from weatherclean.io import compare as pictures
from weatherclean.io.images import load_image, save_image
from weatherclean.io.images.exif import exif_blob, exif_ifd0
from weatherclean.io.images.records import LoadedImage

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
IPTC = (
    b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x05\x00\x0aWinterCat7" + b"\x1c\x02\x74\x00\x15(c) 2024 Print Tester"
)


def _pixels(size: tuple[int, int] = (24, 32)) -> np.ndarray:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    return np.stack([(x * 7) % 256, (y * 9) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.uint8)


def _as_float(arr: np.ndarray) -> np.ndarray:
    return arr.astype(np.float32) / 255.0


def _tiff_tags(path: Path) -> dict[int, object]:
    with Image.open(path) as im:
        return dict(im.tag_v2)


# --------------------------------------------------------------------------------------- 1. BigTIFF


def _bigtiff(path: Path) -> None:
    """A BigTIFF with a print master's tags, as Pillow writes one (uncompressed: its only BigTIFF layout)."""
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[270], info[305], info[315], info[33432] = "Winter cat master", "PrintTestGen 1.0", "Print Tester", "(c) P T"
    info[33723] = IPTC
    info.tagtype[33723] = 7
    Image.fromarray(_pixels()).save(path, big_tiff=True, tiffinfo=info, dpi=(300, 300))
    assert path.read_bytes()[:4] == b"II+\x00"


def test_bigtiff_keeps_every_tag_stays_bigtiff_and_gives_png_its_exif(tmp_path: Path) -> None:
    src = tmp_path / "big.tif"
    _bigtiff(src)
    like = load_image(src)
    saved = save_image(tmp_path / "out.tif", _as_float(_pixels()), like)
    assert saved.notes == []
    assert (tmp_path / "out.tif").read_bytes()[:4] == b"II+\x00"  # still BigTIFF
    tags = _tiff_tags(tmp_path / "out.tif")
    assert (tags[270], tags[305], tags[315], tags[33432]) == ("Winter cat master", "PrintTestGen 1.0",
                                                             "Print Tester", "(c) P T")  # fmt: skip
    assert tags[33723] == IPTC and tags[282] == 300
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.tif")), _pixels())
    # into PNG the same tags go in its EXIF (eXIf), as a classic TIFF's do
    save_image(tmp_path / "out.png", _as_float(_pixels()), like)
    with Image.open(tmp_path / "out.png") as png:
        exif = png.getexif()
    assert (exif[315], exif[33432], exif[270], exif[305]) == ("Print Tester", "(c) P T", "Winter cat master",
                                                              "PrintTestGen 1.0")  # fmt: skip


def test_bigtiff_output_carries_exif_sub_ifds(tmp_path: Path) -> None:
    """A BigTIFF output's Exif and GPS directories are BigTIFF directories too, readable by Pillow and by us."""
    src = tmp_path / "big.tif"
    _bigtiff(src)
    like = load_image(src)
    # little-endian, as a BigTIFF input's own EXIF is (Pillow cannot open a big-endian BigTIFF)
    exif_ifd = {0x9003: (2, 20, b"2024:01:02 03:04:05\x00")}
    gps_ifd = {1: (2, 2, b"N\x00")}
    like.exif = exif_blob("<", {315: (2, 13, b"Print Tester\x00"), 34665: (4, 1, exif_ifd), 34853: (4, 1, gps_ifd)})
    save_image(tmp_path / "out.tif", _as_float(_pixels()), like)
    assert (tmp_path / "out.tif").read_bytes()[:4] == b"II+\x00"
    with Image.open(tmp_path / "out.tif") as out:
        read = out.getexif()
        assert read.get_ifd(0x8769)[0x9003] == "2024:01:02 03:04:05" and read.get_ifd(0x8825)[1] == "N"
    again = exif_ifd0(load_image(tmp_path / "out.tif").exif or b"")
    assert again is not None and again[1][34853][2][1][2] == b"N\x00"


# ------------------------------------------------------------------------------ 2. IPTC and text in TIFF


def _jpeg_with_iptc(path: Path) -> bytes:
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(IPTC)) + IPTC + b"\x00" * (len(IPTC) & 1)
    payload = b"Photoshop 3.0\x00" + resource
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "JPEG", quality=95)
    jpeg = buf.getvalue()
    path.write_bytes(jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:])
    return resource


def test_jpeg_iptc_goes_into_tiff_iptc_and_photoshop_tags(tmp_path: Path) -> None:
    resource = _jpeg_with_iptc(tmp_path / "a.jpg")
    saved = save_image(tmp_path / "a.tif", _as_float(_pixels()), load_image(tmp_path / "a.jpg"), format="tiff")
    assert not [n for n in saved.notes if "IPTC" in n], saved.notes
    tags = _tiff_tags(tmp_path / "a.tif")
    assert tags[33723] == IPTC and tags[34377] == resource
    # and from that TIFF on, the IPTC travels as any TIFF's does
    back = exif_ifd0(load_image(tmp_path / "a.tif").exif or b"")
    assert back is not None and back[1][33723][2] == IPTC


def _png_with_text(path: Path, text: dict[str, str], exif: bytes | None = None) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in text.items():
        info.add_itxt(key, value) if not value.isascii() else info.add_text(key, value)
    Image.fromarray(_pixels()).save(path, pnginfo=info, **({"exif": exif} if exif else {}))


def test_png_text_goes_into_the_tiff_tags_that_mean_the_same(tmp_path: Path) -> None:
    text = {"Title": "Winter Cat No. 7", "Author": "Print Tester", "Description": "A cat in the snow",
            "Copyright": "(c) 2024 Print Tester ä", "Software": "Gen 1.0"}  # fmt: skip
    _png_with_text(tmp_path / "a.png", text)
    saved = save_image(tmp_path / "a.tif", _as_float(_pixels()), load_image(tmp_path / "a.png"), format="tiff")
    assert saved.notes == ["PNG text (Title) cannot be stored in TIFF; dropped"]
    entries = exif_ifd0(load_image(tmp_path / "a.tif").exif or b"")
    assert entries is not None
    values = {tag: entries[1][tag][2] for tag in (270, 305, 315, 33432)}
    assert values == {270: b"A cat in the snow\x00", 305: b"Gen 1.0\x00", 315: b"Print Tester\x00",
                      33432: "(c) 2024 Print Tester ä\x00".encode()}  # fmt: skip
    assert all(entries[1][tag][0] == 2 for tag in values)  # ASCII


def test_png_text_that_the_exif_contradicts_is_named_not_written(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[315] = "Someone Else"
    _png_with_text(tmp_path / "a.png", {"Author": "Print Tester", "Copyright": "(c) P T"}, exif.tobytes())
    saved = save_image(tmp_path / "a.tif", _as_float(_pixels()), load_image(tmp_path / "a.png"), format="tiff")
    assert saved.notes == ["PNG text (Author) differs from the EXIF's Artist; the EXIF's value kept"]
    tags = _tiff_tags(tmp_path / "a.tif")
    assert tags[315] == "Someone Else" and tags[33432] == "(c) P T"


# ------------------------------------------------------------------------------ 3, 4. Comparison pictures


def _swapped_profile() -> bytes:
    """sRGB with its red and blue colorants swapped: pure red in it is sRGB's pure blue (an unmistakable
    wide-gamut stand-in: a picture shown without its profile keeps its red)."""
    data = bytearray(SRGB_ICC)
    (count,) = struct.unpack_from(">I", data, 128)
    where = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = where[b"rXYZ"], where[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = data[blue + 4 : blue + 12], data[red + 4 : red + 12]
    data[84:100] = bytes(16)  # no profile ID: its MD5 no longer holds
    return bytes(data)


def test_comparison_pictures_show_colours_through_the_icc_profile(tmp_path: Path) -> None:
    red = np.zeros((20, 30, 3), np.uint8)
    red[..., 0] = 255
    shown = np.asarray(pictures.thumbnail(red, 64, icc=_swapped_profile()))
    assert shown[10, 15, 2] > 200 and shown[10, 15, 0] < 60  # shown as the profile says: blue
    Image.fromarray(red).save(tmp_path / "a.png", icc_profile=_swapped_profile())
    sheet_side = np.asarray(pictures.preview(tmp_path / "a.png"))
    assert sheet_side[10, 15, 2] > 200 and sheet_side[10, 15, 0] < 60
    # an sRGB profile, a grey one on colour, or a damaged one change nothing (and fail nothing)
    for icc in (SRGB_ICC, ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(), b"junk"):
        assert np.abs(np.asarray(pictures.thumbnail(red, 64, icc=icc)).astype(int) - red).max() <= 2


def test_comparison_pictures_flatten_transparency_onto_white(tmp_path: Path) -> None:
    rgba = np.zeros((20, 40, 4), np.uint8)  # black everywhere; the right half transparent
    rgba[:, :20, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    shown = np.asarray(pictures.preview(tmp_path / "a.png"))
    assert shown[10, 5].tolist() == [0, 0, 0] and shown[10, 35].tolist() == [255, 255, 255]
    photo = load_image(tmp_path / "a.png")
    after = np.asarray(pictures.thumbnail(photo.pixels, 64, alpha=photo.alpha))  # a --compare "after"
    assert after[10, 35].tolist() == [255, 255, 255]
    half = np.asarray(pictures.thumbnail(np.zeros((4, 4, 2), np.float32) + [0.0, 0.5], 8))  # grey+alpha, half
    assert abs(int(half[0, 0, 0]) - 128) <= 1


# ------------------------------------------------------------------------------------ 5. CMYK 4:4:4


def test_cmyk_jpeg_at_full_colour_resolution_is_written_4_4_4(tmp_path: Path) -> None:
    Image.fromarray(_pixels()).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    with Image.open(tmp_path / "c.jpg") as src:
        assert [layer[1:3] for layer in src.layer] == [(1, 1)] * 4  # type: ignore[attr-defined]
    like = load_image(tmp_path / "c.jpg")
    for quality in (95, "keep"):
        save_image(tmp_path / "out.jpg", like.pixels, like, quality=quality)
        with Image.open(tmp_path / "out.jpg") as out:
            assert out.mode == "RGB"
            assert [layer[1:3] for layer in out.layer] == [(1, 1)] * 3  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------ 6. iCCP name


def _renamed_iccp(png: bytes, name: bytes) -> bytes:
    """``png`` with its iCCP chunk's profile name set to ``name`` (Pillow always writes "ICC Profile")."""
    out, pos = bytearray(png[:8]), 8
    while pos < len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"iCCP":
            data = name + b"\x00" + data.partition(b"\x00")[2]
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        pos += 12 + length
    return bytes(out)


def _iccp(path: Path) -> tuple[bytes, bytes]:
    png = path.read_bytes()
    at = png.index(b"iCCP")
    (length,) = struct.unpack_from(">I", png, at - 4)
    name, _, rest = png[at + 4 : at + 4 + length].partition(b"\x00")
    return name, zlib.decompress(rest[1:])


@pytest.mark.parametrize("deep", [False, True])
def test_png_keeps_its_icc_profile_name(tmp_path: Path, deep: bool) -> None:
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "PNG", icc_profile=SRGB_ICC)
    (tmp_path / "a.png").write_bytes(_renamed_iccp(buf.getvalue(), b"Print lab profile"))
    like = load_image(tmp_path / "a.png")
    if deep:
        like.bit_depth = 16
    save_image(tmp_path / "out.png", _as_float(_pixels()), like)
    assert _iccp(tmp_path / "out.png") == (b"Print lab profile", SRGB_ICC)
    # a profile from another format is named as Pillow names it
    Image.fromarray(_pixels()).save(tmp_path / "b.jpg", icc_profile=SRGB_ICC)
    save_image(tmp_path / "b.png", _as_float(_pixels()), load_image(tmp_path / "b.jpg"), format="png")
    assert _iccp(tmp_path / "b.png") == (b"ICC Profile", SRGB_ICC)


# ------------------------------------------------------------------------------------ 7. float TIFF


def _float_rgb_tiff(path: Path) -> None:
    """A 32-bit float RGB TIFF, uncompressed, written by hand (Pillow cannot write one)."""
    h, w = 4, 6
    data = np.random.default_rng(0).random((h, w, 3)).astype("<f4").tobytes()
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 8), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1),
               (339, 3, 3, None)]  # fmt: skip
    ifd_at = 8 + len(data)
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    extras = {258: struct.pack("<3H", 32, 32, 32), 339: struct.pack("<3H", 3, 3, 3)}
    ifd, tail = struct.pack("<H", len(entries)), b""
    for tag, typ, count, value in entries:
        if value is None:
            ifd += struct.pack("<HHII", tag, typ, count, extra_at + len(tail))
            tail += extras[tag]
        else:
            ifd += struct.pack("<HHI", tag, typ, count) + struct.pack("<H" if typ == 3 else "<I", value).ljust(4, b"\0")
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + data + ifd + b"\0\0\0\0" + tail)


def test_float_tiff_is_refused_saying_its_samples_are_float(tmp_path: Path) -> None:
    _float_rgb_tiff(tmp_path / "rgb.tif")
    Image.fromarray(np.ones((4, 6), np.float32)).save(tmp_path / "grey.tif")  # Pillow's mode F
    for name in ("rgb.tif", "grey.tif"):
        with pytest.raises(InputError) as caught:
            load_image(tmp_path / name)
        assert str(caught.value) == (
            f"{tmp_path / name}: 32-bit floating-point samples are not supported; "
            "re-save it as a 16-bit integer TIFF or PNG and run again"
        )


# ======================================================================== review of the fixes above


# ----------------------------------------------------------- 1. BigTIFF directories past 4 GB, LONG8 values


def _big_ifd(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    """A little-endian BigTIFF IFD of (tag, type, count, inline value) entries."""
    out = struct.pack("<Q", len(entries))
    for tag, typ, count, value in sorted(entries):
        out += struct.pack("<HHQ", tag, typ, count) + value.ljust(8, b"\x00")
    return out + struct.pack("<Q", next_ifd)


def _big_head(extra: list[tuple[int, int, int, bytes]]) -> bytes:
    """A 4×4 RGB BigTIFF's header, pixels and IFD0 (at byte 64) with ``extra`` entries beside its layout."""
    layout = [(256, 3, 1, struct.pack("<H", 4)), (257, 3, 1, struct.pack("<H", 4)),
              (258, 3, 3, struct.pack("<3H", 8, 8, 8)), (259, 3, 1, struct.pack("<H", 1)),
              (262, 3, 1, struct.pack("<H", 2)), (273, 16, 1, struct.pack("<Q", 16)),
              (277, 3, 1, struct.pack("<H", 3)), (278, 3, 1, struct.pack("<H", 4)),
              (279, 16, 1, struct.pack("<Q", 48))]  # fmt: skip
    return b"II+\x00" + struct.pack("<HHQ", 8, 0, 64) + bytes(range(48)) + _big_ifd(layout + extra)


def _holds_sparse_files(folder: Path) -> bool:
    """Whether ``folder``'s file system stores a file's unwritten gap without disk blocks (a 64 MB probe); False
    where the file system does not say how many blocks a file takes (Windows has no ``st_blocks``)."""
    probe = folder / "probe"
    try:
        with open(probe, "wb") as fh:
            fh.seek(64 << 20)
            fh.write(b"\x00")
        blocks = getattr(probe.stat(), "st_blocks", None)
    finally:
        probe.unlink(missing_ok=True)
    return blocks is not None and blocks * 512 < (1 << 20)


def test_bigtiff_exif_directory_past_4_gb_is_kept(tmp_path: Path) -> None:
    """libtiff writes the Exif directory after the image data: in a file over 4 GB its IFD8 pointer is past 4 GB,
    and narrowing it to 32 bits before following it lost the directory without a word."""
    from weatherclean.io.images.tiff import tiff_metadata

    if not _holds_sparse_files(tmp_path):
        pytest.skip("this file system cannot hold a sparse 5 GB file, or does not say whether it does")
    far = 5 << 30
    path = tmp_path / "far.tif"
    notes: list[str] = []
    try:  # made inside: a write that fails past 4 GB (a full disk, a file size limit) leaves nothing behind either
        with open(path, "wb") as fh:
            fh.write(_big_head([(315, 2, 7, b"Tester\x00"), (34665, 18, 1, struct.pack("<Q", far))]))
            fh.seek(far)
            fh.write(_big_ifd([(0x9003, 2, 20, struct.pack("<Q", far + 64))]))
            fh.seek(far + 64)
            fh.write(b"2024:01:02 03:04:05\x00")
        found = exif_ifd0(tiff_metadata(path, notes).exif or b"")
    finally:
        path.unlink(missing_ok=True)  # pytest keeps recent tmp folders: leave no 5 GB file behind, sparse or not
    assert found is not None and notes == []
    assert found[1][315][2] == b"Tester\x00"
    assert found[1][34665][2] == {0x9003: (2, 20, b"2024:01:02 03:04:05\x00")}


def test_bigtiff_value_exif_cannot_hold_is_named(tmp_path: Path) -> None:
    from weatherclean.io.images.tiff import tiff_metadata

    path = tmp_path / "long8.tif"
    path.write_bytes(_big_head([(315, 2, 7, b"Tester\x00"), (50000, 16, 1, struct.pack("<Q", 5 << 32))]))
    notes: list[str] = []
    found = exif_ifd0(tiff_metadata(path, notes).exif or b"")
    assert found is not None and 315 in found[1] and 50000 not in found[1]
    assert notes == ["TIFF tag 50000 not kept: an 8-byte value over 4 G, which EXIF cannot hold"]


# ----------------------------------------------------------------- 2. BigTIFF from big-endian EXIF


def test_bigtiff_from_big_endian_exif_is_little_endian_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.io.images import tiff

    exif = exif_blob(">", {
        274: (3, 1, struct.pack(">H", 1)), 315: (2, 13, b"Print Tester\x00"),
        282: (5, 1, struct.pack(">II", 300, 1)), 283: (5, 1, struct.pack(">II", 300, 1)),
        34665: (4, 1, {0x829A: (5, 1, struct.pack(">II", 1, 250)), 0x8827: (3, 1, struct.pack(">H", 400)),
                       0x927C: (7, 6, b"\x00\x01MKNT")}),
    })  # fmt: skip
    assert exif is not None
    Image.fromarray(_pixels()).save(tmp_path / "a.jpg", exif=exif, quality=95)
    monkeypatch.setattr(tiff, "_CLASSIC_MAX", 100)  # any output is "over 4 GB"
    like = load_image(tmp_path / "a.jpg")
    saved = save_image(tmp_path / "a.tif", like.pixels, like, format="tiff")
    assert saved.notes == ["written as BigTIFF: the file is over classic TIFF's 4 GB"]
    assert (tmp_path / "a.tif").read_bytes()[:4] == b"II+\x00"
    with Image.open(tmp_path / "a.tif") as out:
        out.load()
        read = out.getexif()
        sub = read.get_ifd(0x8769)
        assert read[315] == "Print Tester" and out.tag_v2[282] == 300
        assert sub[0x829A] == 1 / 250 and sub[0x8827] == 400 and bytes(sub[0x927C]) == b"\x00\x01MKNT"
    back = exif_ifd0(load_image(tmp_path / "a.tif").exif or b"")
    assert back is not None and back[0] == "<" and back[1][34665][2][0x8827][2] == struct.pack("<H", 400)


# ----------------------------------------------------------------- 3. signed TIFF that Pillow opens


def _tiff_by_hand(
    path: Path, data: bytes, bits: int, sample_format: int, size: tuple[int, int] = (4, 6), e: str = "<"
) -> None:
    """A one-channel uncompressed TIFF of ``data`` with SampleFormat ``sample_format`` (2: signed), in byte order
    ``e`` (``data`` already in it)."""
    h, w = size
    entries = [(256, w), (257, h), (258, bits), (259, 1), (262, 1), (273, 8), (277, 1), (278, h), (279, len(data)),
               (339, sample_format)]  # fmt: skip
    ifd = struct.pack(e + "H", len(entries))
    for tag, value in entries:
        typ = 4 if tag in (273, 279) else 3
        ifd += struct.pack(e + "HHI", tag, typ, 1) + struct.pack(e + ("I" if typ == 4 else "H"), value).ljust(4, b"\0")
    magic = b"II*\x00" if e == "<" else b"MM\x00*"
    path.write_bytes(magic + struct.pack(e + "I", 8 + len(data)) + data + ifd + b"\0\0\0\0")


@pytest.mark.parametrize(("dtype", "bits"), [(np.int8, 8), (np.int16, 16)])
def test_signed_tiff_that_pillow_opens_is_refused_saying_so(tmp_path: Path, dtype: type, bits: int) -> None:
    """Pillow reads signed 8-bit grey as unsigned (a wrong picture, no note) and signed 16-bit grey as mode I,
    which was refused as a "32-bit integer" image."""
    path = tmp_path / "signed.tif"
    _tiff_by_hand(path, np.full((4, 6), -5, dtype).astype("<" + np.dtype(dtype).str[1:]).tobytes(), bits, 2)
    with Image.open(path):
        pass  # Pillow opens it: the check must not rely on Pillow refusing
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == (
        f"{path}: signed {bits}-bit integer samples are not supported; "
        "re-save it as a 16-bit integer TIFF or PNG and run again"
    )
    _tiff_by_hand(path, np.full((4, 6), 5, np.uint8).tobytes(), 8, 1)  # unsigned: read as before
    assert load_image(path).pixels.max() == pytest.approx(5 / 255)


# ----------------------------------------------------------------- 4. comparison alpha without a full copy


def test_comparison_alpha_is_flattened_band_by_band(tmp_path: Path) -> None:
    import tracemalloc

    h, w = 2000, 3000
    pixels = np.zeros((h, w, 3), np.uint8)
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, w // 2 :] = 0  # the right half transparent: white
    tracemalloc.start()
    try:
        shown = np.asarray(pictures.thumbnail(pixels, 200, alpha=alpha))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shown[50, 10].tolist() == [0, 0, 0] and shown[50, 190].tolist() == [255, 255, 255]
    assert peak < alpha.size * 4 // 2, peak  # a float copy of the whole alpha is 24 MB; the bands cost a few


# ----------------------------------------------------------------- 5. TIFF's own Photoshop resources


def _resource(rid: int, data: bytes) -> bytes:
    return (
        b"8BIM" + struct.pack(">H", rid) + b"\x00\x00" + struct.pack(">I", len(data)) + data + b"\x00" * (len(data) & 1)
    )


def _tiff_with_photoshop(path: Path, stream: bytes, *, layers: bool = False) -> None:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[34377] = stream
    info.tagtype[34377] = 1
    if layers:
        info[37724] = b"Adobe Photoshop Document Data Block\x00"
        info.tagtype[37724] = 7
    Image.fromarray(_pixels()).save(path, tiffinfo=info)


def test_tiff_photoshop_resources_are_kept_less_their_thumbnail(tmp_path: Path) -> None:
    """A JPEG's TIFF output holds its APP13 in 34377: processing that TIFF again dropped it, IPTC resource and
    all, with a note about layers the file never had."""
    iptc, thumb = _resource(0x0404, IPTC), _resource(0x040C, b"\x00" * 28 + b"\xff\xd8 the original")
    resolution = _resource(0x03ED, struct.pack(">IHHIHH", 300 << 16, 1, 1, 300 << 16, 1, 1))
    _tiff_with_photoshop(tmp_path / "a.tif", iptc + thumb + resolution)
    like = load_image(tmp_path / "a.tif")
    assert like.notes == []
    saved = save_image(tmp_path / "b.tif", like.pixels, like)
    assert saved.notes == [
        "Photoshop thumbnail in the Photoshop resources (TIFF tag 34377) removed (it showed the original)"
    ]
    assert _tiff_tags(tmp_path / "b.tif")[34377] == iptc + resolution
    again = load_image(tmp_path / "b.tif")  # a second pass: no thumbnail, nothing to say
    assert save_image(tmp_path / "c.tif", again.pixels, again).notes == []
    assert _tiff_tags(tmp_path / "c.tif")[34377] == iptc + resolution
    save_image(tmp_path / "c.jpg", again.pixels, again, format="jpeg")  # into a JPEG as its APP13
    with Image.open(tmp_path / "c.jpg") as jpeg:
        assert [data for marker, data in jpeg.applist if marker == "APP13"] == [
            b"Photoshop 3.0\x00" + iptc + resolution
        ]
    png = save_image(tmp_path / "c.png", again.pixels, again, format="png")
    assert png.notes == ["Photoshop resources (TIFF tag 34377) cannot be stored in PNG; dropped"]
    # with layers the resources describe them, and both go, as before
    _tiff_with_photoshop(tmp_path / "l.tif", iptc + resolution, layers=True)
    layered = load_image(tmp_path / "l.tif")
    assert layered.notes == ["Photoshop data (layers, resources) not kept; only the flattened image is processed"]
    save_image(tmp_path / "m.tif", layered.pixels, layered)
    assert 34377 not in _tiff_tags(tmp_path / "m.tif") and 37724 not in _tiff_tags(tmp_path / "m.tif")


def test_tiff_module_exports_what_save_uses() -> None:
    from weatherclean.io.images import tiff

    assert {"photoshop_entries", "PNG_TEXT_TAGS", "tiff_file_head"} <= set(tiff.__all__)
    assert all(hasattr(tiff, name) for name in tiff.__all__)
    assert not hasattr(tiff, "is_bigtiff")  # folded into tiff_file_head(...)[2]
    assert tiff.tiff_file_head(b"II+\x00\x08\x00\x00\x00" + struct.pack("<Q", 16)) == ("<", 16, True)


# ======================================================================== second review of the fixes above


# ------------------------------------------------------------------- 1, 2, 7. byte-order change: every type

#: One value of every TIFF type as (struct code, values): three for an out-of-line value, the first (a rational's
#: first pair) for an inline one. BYTE, ASCII, SBYTE and UNDEFINED are bytes, the same in either byte order.
_EVERY_TYPE: dict[int, tuple[str, list[int] | list[float] | bytes]] = {
    1: ("", b"\x01\x02\x03"), 2: ("", b"AB\x00"), 3: ("H", [1, 0x1234, 65535]), 4: ("I", [1, 0x12345678, 2**32 - 1]),
    5: ("I", [1, 2, 3, 4, 5, 6]), 6: ("", b"\xff\x02\xfd"), 7: ("", b"\x01\x02\x03"), 8: ("h", [-2, 0x1234, -32768]),
    9: ("i", [-5, 0x12345678, -(2**31)]), 10: ("i", [-1, 3, 5, -7, 9, 11]), 11: ("f", [1.5, -2.25, 3e10]),
    12: ("d", [1.5, -2.25e100, 3.0]), 13: ("I", [8, 0x10000, 2**31]), 16: ("Q", [1, 2**40, 3]),
    17: ("q", [-2, -(2**40), 3]), 18: ("Q", [8, 16, 2**40]),
}  # fmt: skip


def _typed(e: str, typ: int, inline: bool) -> tuple[int, int, bytes]:
    code, values = _EVERY_TYPE[typ]
    if isinstance(values, bytes):
        return typ, 1 if inline else len(values), values[:1] if inline else values
    pairs = typ in (5, 10)
    values = values[:2] if inline and pairs else values[:1] if inline else values
    return typ, len(values) // 2 if pairs else len(values), struct.pack(e + code * len(values), *values)


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "out-of-line"])
@pytest.mark.parametrize("typ", sorted(_EVERY_TYPE))
def test_swap_ifd_converts_every_tiff_type(typ: int, inline: bool) -> None:
    """Each type's values, in IFD0 and in the Exif directory, come out as the same values packed little-endian,
    type and count kept, and go back unchanged. (Cut down to SHORT, LONG and RATIONAL, the swap passed every test.)"""
    from weatherclean.io.images.exif import swap_ifd

    tag = 40000 + typ
    src = {tag: _typed(">", typ, inline), 34665: (4, 1, {tag: _typed(">", typ, inline)})}
    swapped = swap_ifd(src, ">", "<")
    assert swapped[tag] == _typed("<", typ, inline)
    assert swapped[34665] == (4, 1, {tag: _typed("<", typ, inline)})
    assert swap_ifd(swapped, "<", ">") == src


@pytest.mark.parametrize("tag", [33723, 34377, 700, 34675, 37724])
def test_swap_ifd_copies_byte_streams_whatever_their_type(tag: int) -> None:
    """IPTC-NAA as Photoshop writes it (LONG), Photoshop's resources and layers, XMP and ICC: bytes to every reader,
    whatever type they are declared with, so never swapped."""
    from weatherclean.io.images.exif import swap_ifd

    stream = IPTC[:36]  # a whole number of LONGs
    assert swap_ifd({tag: (4, 9, stream)}, ">", "<") == {tag: (4, 9, stream)}


def test_photoshop_big_endian_tiff_keeps_its_iptc_in_bigtiff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Mac Photoshop TIFF (big-endian, IPTC-NAA typed LONG) written as BigTIFF, which is little-endian: its IPTC
    came out with every 4 bytes reversed."""
    from weatherclean.io.images import tiff
    from weatherclean.io.images.tiff import tiff_file_head

    iptc = IPTC[: len(IPTC) // 4 * 4]
    exif = exif_blob(">", {315: (2, 7, b"Tester\x00"), 33723: (4, len(iptc) // 4, iptc)})
    made = tiff.encode_tiff(_pixels(), _like_jpeg(tmp_path), exif, "none")
    assert made[:4] == b"MM\x00*"
    (tmp_path / "ps.tif").write_bytes(made)
    like = load_image(tmp_path / "ps.tif")
    monkeypatch.setattr(tiff, "_CLASSIC_MAX", 100)  # any output is "over 4 GB"
    save_image(tmp_path / "out.tif", like.pixels, like)
    data = (tmp_path / "out.tif").read_bytes()
    head = tiff_file_head(data[:16])
    assert head is not None and head[:1] == ("<",) and head[2]
    ifd0 = _parse(data, head)
    assert ifd0[33723] == (4, len(iptc) // 4, iptc) and ifd0[315][2] == b"Tester\x00"


def _parse(data: bytes, head: tuple[str, int, bool]) -> dict[int, tuple[int, int, object]]:
    from weatherclean.io.images.exif import parse_ifd

    return parse_ifd(data, head[0], head[1], big=head[2])


def _like_jpeg(tmp_path: Path) -> LoadedImage:
    """A plain JPEG input (no metadata of its own) for encoding by hand."""
    Image.fromarray(_pixels()).save(tmp_path / "like.jpg", quality=95)
    return load_image(tmp_path / "like.jpg")


def _structures(e: str) -> dict[int, tuple[int, int, bytes]]:
    """CFAPattern (2×2), OECF and SpatialFrequencyResponse (2 columns × 1 row), DeviceSettingDescription, in ``e``."""
    values = struct.pack(e + "4I", 1, 2, 3, 4)
    blobs = {
        0xA302: struct.pack(e + "HH", 2, 2) + b"\x00\x01\x01\x02",
        0x8828: struct.pack(e + "HH", 2, 1) + b"ISO\x00EV\x00" + values,
        0xA20C: struct.pack(e + "HH", 2, 1) + b"H\x00V\x00" + values,
        0xA40B: struct.pack(e + "HH", 0, 1) + "Mode".encode("utf-16-be" if e == ">" else "utf-16-le") + b"\x00\x00",
    }
    return {tag: (7, len(blob), blob) for tag, blob in blobs.items()}


def test_swap_ifd_converts_fixed_layout_exif_fields_and_leaves_others() -> None:
    """The UNDEFINED Exif fields whose layout the standard fixes are converted field by field; one that does not
    have that layout, a maker note, and the same tags outside the Exif directory are copied as they are."""
    from weatherclean.io.images.exif import swap_ifd

    note = (7, 6, b"\x00\x01MKNT")
    bad = (7, 5, struct.pack(">HH", 2, 2) + b"\x00")  # a CFAPattern 1 byte short of its 2×2
    swapped = swap_ifd({34665: (4, 1, {**_structures(">"), 0x927C: note}), 0xA302: bad}, ">", "<")
    assert swapped[34665][2] == {**_structures("<"), 0x927C: note}
    assert swapped[0xA302] == bad
    assert swap_ifd({34665: (4, 1, {0xA302: bad})}, ">", "<")[34665][2] == {0xA302: bad}


# ------------------------------------------------------------------- 2, 5. the late switch to BigTIFF


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("compression", ["none", "deflate"])
def test_late_bigtiff_from_big_endian_16_bit_keeps_its_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: int, compression: str
) -> None:
    """A 16-bit picture with big-endian EXIF is encoded big-endian, and only then found over 4 GB: the BigTIFF is
    little-endian, so its 16-bit strips must be made again (kept, every sample had its bytes reversed)."""
    from weatherclean.io.images import tiff

    exif = exif_blob(">", {315: (2, 7, b"Tester\x00"), 282: (5, 1, struct.pack(">II", 300, 1))})
    arr = (np.random.default_rng(3).random((19, 23, channels)) * 65535).astype(np.uint16)
    like = _like_jpeg(tmp_path)
    assert tiff.encode_tiff(arr, like, exif, compression)[:4] == b"MM\x00*"  # classic: big-endian, as the EXIF
    monkeypatch.setattr(tiff, "_CLASSIC_MAX", 100)  # the data (some KB) is "over 4 GB" once measured
    (tmp_path / "out.tif").write_bytes(tiff.encode_tiff(arr, like, exif, compression))
    assert (tmp_path / "out.tif").read_bytes()[:4] == b"II+\x00"
    back = load_image(tmp_path / "out.tif")
    assert back.bit_depth == 16
    assert np.array_equal(np.round(back.pixels * 65535).astype(np.uint16), arr)
    again = exif_ifd0(back.exif or b"")
    assert again is not None and again[1][282][2] == struct.pack("<II", 300, 1)


def test_data_under_the_limit_with_huge_metadata_is_written_as_bigtiff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Image data just under the threshold with more metadata than the margin (here a 65 MB XMP) was written as
    classic TIFF past 4 GB, where packing its offsets ended in a struct.error traceback."""
    from weatherclean.io.images import tiff

    monkeypatch.setattr(tiff, "_CLASSIC_MAX", (64 << 20) + 4096)  # a few KB of pixels are far under it
    like = _like_jpeg(tmp_path)
    like.xmp = b" " * (65 << 20)
    data = tiff.encode_tiff(_pixels(), like, None, "none")
    assert data[:4] == b"II+\x00" and len(data) > tiff._CLASSIC_MAX


# ------------------------------------------------------------------- 4. 32-bit integer grey, in one wording


@pytest.mark.parametrize("e", ["<", ">"], ids=["little-endian", "big-endian"])
def test_unsigned_32_bit_grey_is_refused_as_signed_is(tmp_path: Path, e: str) -> None:
    """Pillow opens little-endian 32-bit grey (refused when its values go past 16 bits) and refuses big-endian:
    the two said "convert to 16-bit" and "unsupported TIFF layout", and signed 32-bit a third thing."""
    path = tmp_path / "u32.tif"
    _tiff_by_hand(path, np.full((4, 6), 70000, e + "u4").tobytes(), 32, 1, e=e)
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == (
        f"{path}: 32-bit integer samples are not supported; re-save it as a 16-bit integer TIFF or PNG and run again"
    )
    if e == "<":  # values that fit 16 bits are read, as before
        _tiff_by_hand(path, np.full((4, 6), 1000, "<u4").tobytes(), 32, 1)
        assert load_image(path).pixels.max() == pytest.approx(1000 / 65535)


# ------------------------------------------------------------------- 6. an IFD8 pointer is LONG in EXIF


def test_bigtiff_ifd8_exif_pointer_becomes_long_in_exif(tmp_path: Path) -> None:
    """libtiff's IFD8 Exif pointer came into the EXIF of JPEG, PNG and WebP outputs as IFD (13), where the EXIF
    standard says LONG (4)."""
    from weatherclean.io.images.tiff import tiff_metadata

    head = _big_head([(315, 2, 7, b"Tester\x00"), (34665, 18, 1, struct.pack("<Q", 0))])
    sub_at = len(head) + (len(head) & 1)
    head = _big_head([(315, 2, 7, b"Tester\x00"), (34665, 18, 1, struct.pack("<Q", sub_at))])
    path = tmp_path / "ifd8.tif"
    path.write_bytes(head.ljust(sub_at, b"\x00") + _big_ifd([(0x8827, 3, 1, struct.pack("<H", 400))]))
    found = exif_ifd0(tiff_metadata(path, []).exif or b"")
    assert found is not None
    assert found[1][34665] == (4, 1, {0x8827: (3, 1, struct.pack("<H", 400))})
    like = load_image(path)
    save_image(tmp_path / "out.jpg", like.pixels, like)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.getexif().get_ifd(0x8769)[0x8827] == 400
    again = exif_ifd0(load_image(tmp_path / "out.jpg").exif or b"")
    assert again is not None and again[1][34665][0] == 4


# ------------------------------------------------------------------- 3. the sparse-file probe on Windows


def test_sparse_probe_without_st_blocks_says_no_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows' stat has no ``st_blocks``: the probe ended the 5 GB test in an AttributeError, its file left behind."""

    class NoBlocks:
        st_size = (64 << 20) + 1

    monkeypatch.setattr(Path, "stat", lambda self, **_kwargs: NoBlocks())
    assert not _holds_sparse_files(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
