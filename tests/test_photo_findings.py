"""What a photographer's tester found lost between input and output, each kept now or named in a note.

PNG colour chunks (gAMA, cHRM, sRGB, sBIT, bKGD, tIME), PNG text as it was stored, JPEG IPTC (APP13),
extended XMP, other APPn segments, a large EXIF's thumbnail, alpha into JPEG, and ``--quality keep``.
A second review: PNG HDR chunks (cICP, mDCV, cLLI), values PNG forbids, a grey/RGB PNG's tRNS, the
thumbnail of a picture with alpha, keep's tables per component, a note for a finer JPEG written at a
number, Photoshop's EXIF copies, one quality message, and XMP too big for a JPEG segment.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from synthetic import Inverter, StandIn, invoke_command
from weatherclean import load_restorer
from weatherclean.cli import desnow
from weatherclean.errors import OutputError
from weatherclean.io.images import load_image, save_image
from weatherclean.io.images.exif import exif_blob, exif_ifd0

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
GAMMA_18 = struct.pack(">I", 55556)  # gamma 1/1.8: an old Mac export
SRGB_CHRM = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
P3_CHRM = struct.pack(">8I", 31270, 32900, 68000, 32000, 26500, 69000, 15000, 6000)


def _pixels(channels: int = 3, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    planes = [(x * 4) % 256, (y * 5) % 256, ((x + y) * 2) % 256, 255 - (x * 3) % 256]
    return np.stack(planes[:channels], axis=-1).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ PNG


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _chunks(path: Path) -> list[tuple[str, bytes]]:
    b = path.read_bytes()
    out, i = [], 8
    while i < len(b):
        n, tag = struct.unpack(">I4s", b[i : i + 8])
        out.append((tag.decode(), b[i + 8 : i + 8 + n]))
        i += 12 + n
    return out


def _with_chunks(png: bytes, after_ihdr: Sequence[bytes], before_idat: Sequence[bytes] = ()) -> bytes:
    """A PNG with extra chunks put where PNG wants them (colour after IHDR, bKGD just before IDAT)."""
    idat = png.index(b"IDAT") - 4
    return png[:33] + b"".join(after_ihdr) + png[33:idat] + b"".join(before_idat) + png[idat:]


def _png(im: Image.Image, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **options)
    return buf.getvalue()


def _png16(arr: np.ndarray, extra: list[bytes]) -> bytes:
    """A 16-bit RGB PNG (Pillow cannot write one) with ``extra`` chunks after IHDR."""
    h, w, _ = arr.shape
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(extra) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def _roundtrip(src: Path, dst: Path, **options: object) -> list[str]:
    """Load and save unchanged; the notes of both, as the batch summary shows them."""
    loaded = load_image(src)
    return [*loaded.notes, *save_image(dst, loaded.pixels, loaded, **options).notes]  # type: ignore[arg-type]


def test_png_colour_chunks_are_kept_in_png_output(tmp_path: Path) -> None:
    """gAMA/cHRM are the colour description of a PNG without ICC; they were dropped with no note."""
    colour = [_chunk(b"gAMA", GAMMA_18), _chunk(b"cHRM", P3_CHRM), _chunk(b"sBIT", b"\x05\x06\x05")]
    stamp = _chunk(b"tIME", struct.pack(">HBBBBB", 2015, 6, 1, 12, 0, 0))
    bkgd = _chunk(b"bKGD", struct.pack(">3H", 10, 20, 30))
    src = tmp_path / "gama.png"
    src.write_bytes(_with_chunks(_png(Image.fromarray(_pixels())), colour + [stamp], [bkgd]))
    assert _roundtrip(src, tmp_path / "out.png") == []
    out = dict(_chunks(tmp_path / "out.png"))
    assert out["gAMA"] == GAMMA_18 and out["cHRM"] == P3_CHRM and out["sBIT"] == b"\x05\x06\x05"
    assert out["bKGD"] == struct.pack(">3H", 10, 20, 30)
    year, month, day, hour, minute, _ = struct.unpack(">HBBBBB", out["tIME"])
    assert abs((datetime(year, month, day, hour, minute, tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 180
    order = [name for name, _ in _chunks(tmp_path / "out.png")]
    assert order.index("gAMA") < order.index("IDAT") and order.index("bKGD") < order.index("IDAT")

    srgb = tmp_path / "srgb.png"
    srgb.write_bytes(_with_chunks(_png(Image.fromarray(_pixels())), [_chunk(b"sRGB", b"\x00")]))
    _roundtrip(srgb, tmp_path / "srgb_out.png")
    assert dict(_chunks(tmp_path / "srgb_out.png"))["sRGB"] == b"\x00"


def test_16_bit_png_keeps_its_colour_chunks_and_never_srgb_beside_iccp(tmp_path: Path) -> None:
    arr = (_pixels().astype(np.uint16) * 257) ^ 0x0055  # low bytes that matter
    iccp = _chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(SRGB_ICC))
    extra = [iccp, _chunk(b"sRGB", b"\x00"), _chunk(b"gAMA", struct.pack(">I", 45455)), _chunk(b"sBIT", b"\x0c" * 3),
             _chunk(b"bKGD", struct.pack(">3H", 1000, 2000, 65535))]  # fmt: skip
    src = tmp_path / "wide.png"
    src.write_bytes(_png16(arr, extra))
    _roundtrip(src, tmp_path / "out.png")
    out = _chunks(tmp_path / "out.png")
    names = [name for name, _ in out]
    assert "sRGB" not in names and "iCCP" in names
    found = dict(out)
    assert found["gAMA"] == struct.pack(">I", 45455) and found["sBIT"] == b"\x0c" * 3
    assert found["bKGD"] == struct.pack(">3H", 1000, 2000, 65535)
    assert names.index("gAMA") < names.index("IDAT") and names.index("bKGD") < names.index("IDAT")
    again = load_image(tmp_path / "out.png")
    assert again.bit_depth == 16 and np.array_equal(np.rint(again.pixels * 65535).astype(np.uint16), arr)


def test_palette_png_keeps_gamma_but_not_what_described_the_palette(tmp_path: Path) -> None:
    """A palette picture is written as RGB: sBIT's layout and bKGD's palette index no longer hold."""
    pal = Image.fromarray(_pixels()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    src = tmp_path / "pal.png"
    chunks = [_chunk(b"gAMA", GAMMA_18), _chunk(b"sBIT", b"\x08\x08\x08")]
    src.write_bytes(_with_chunks(_png(pal), chunks, [_chunk(b"bKGD", b"\x03")]))
    notes = _roundtrip(src, tmp_path / "out.png")
    assert notes == ["palette image written as RGB"]
    found = dict(_chunks(tmp_path / "out.png"))
    assert found["gAMA"] == GAMMA_18 and "sBIT" not in found and "bKGD" not in found


def test_png_colour_chunks_written_elsewhere_get_a_note_only_when_the_picture_changes(tmp_path: Path) -> None:
    base = _png(Image.fromarray(_pixels()))
    mac = tmp_path / "mac.png"
    mac.write_bytes(_with_chunks(base, [_chunk(b"gAMA", GAMMA_18), _chunk(b"cHRM", SRGB_CHRM)]))
    assert _roundtrip(mac, tmp_path / "mac.jpg", format="jpeg") == [
        "PNG colour information (gAMA 1/1.8) cannot be stored in JPEG; dropped, so colour-managed viewers may show "
        "the picture lighter, darker or in other colours"
    ]
    plain = tmp_path / "plain.png"  # gamma 1/2.2 and sRGB primaries: what a viewer assumes anyway
    plain.write_bytes(_with_chunks(base, [_chunk(b"gAMA", struct.pack(">I", 45455)), _chunk(b"cHRM", SRGB_CHRM)]))
    assert _roundtrip(plain, tmp_path / "plain.webp", format="webp") == []
    tagged = tmp_path / "tagged.png"  # an ICC profile goes along and overrides gAMA
    with_icc = _png(Image.fromarray(_pixels()), icc_profile=SRGB_ICC)
    tagged.write_bytes(_with_chunks(with_icc, [_chunk(b"gAMA", GAMMA_18)]))
    assert _roundtrip(tagged, tmp_path / "tagged.jpg", format="jpeg") == []
    in_bmp = _roundtrip(tagged, tmp_path / "t.bmp", format="bmp")  # BMP holds no ICC: gAMA counted there
    assert any(note.startswith("PNG colour information (gAMA 1/1.8)") for note in in_bmp)


def _text_png(tmp_path: Path) -> Path:
    body = "Schnee über den Bergen " * 40
    texts = [
        _chunk(b"tEXt", b"Title\x00Snowy \xa9"),
        _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(body.encode("latin-1"))),
        _chunk(b"iTXt", b"Description\x00\x00\x00de\x00Beschreibung\x00" + b"Gipfel im Schnee"),
        _chunk(b"iTXt", b"Caption\x00\x01\x00fr\x00L\xc3\xa9gende\x00" + zlib.compress(body.encode())),
    ]
    src = tmp_path / "text.png"
    src.write_bytes(_with_chunks(_png(Image.fromarray(_pixels())), texts))
    return src


def _text_headers(path: Path) -> dict[bytes, tuple[str, bytes]]:
    """keyword → (chunk type, the chunk's bytes up to its text): flags, language and translated keyword."""
    out = {}
    for name, data in _chunks(path):
        if name in ("tEXt", "zTXt", "iTXt") and not data.startswith(b"XML:"):
            key = data.split(b"\x00", 1)[0]
            head = data[: len(key) + 2] if name == "zTXt" else data
            if name == "iTXt":
                parts = data.split(b"\x00", 3)
                head = b"\x00".join(parts[:3]) + b"\x00" + parts[3].split(b"\x00", 1)[0]
            out[key] = (name, head if name != "tEXt" else data)
    return out


def test_png_text_is_written_as_it_was_stored(tmp_path: Path) -> None:
    """iTXt lost its language and translated keyword, and zTXt came back as uncompressed iTXt."""
    src = _text_png(tmp_path)
    _roundtrip(src, tmp_path / "out.png")
    assert _text_headers(tmp_path / "out.png") == _text_headers(src)
    with Image.open(tmp_path / "out.png") as im:
        assert im.text["Caption"] == "Schnee über den Bergen " * 40 and im.text["Caption"].lang == "fr"
        assert im.text["Description"].tkey == "Beschreibung" and im.text["Title"] == "Snowy ©"
    # 16-bit PNGs go through weatherclean's own writer: the same chunks
    wide = load_image(src)
    wide.bit_depth = 16
    save_image(tmp_path / "wide.png", wide.pixels, wide)
    assert _text_headers(tmp_path / "wide.png") == _text_headers(src)


def test_text_note_says_how_many_more_keys_were_dropped(tmp_path: Path) -> None:
    assert _roundtrip(_text_png(tmp_path), tmp_path / "t.jpg", format="jpeg") == [
        "PNG text (Title, Comment, Description and 1 more) cannot be stored in JPEG; dropped"
    ]


# ---------------------------------------------------------------------------------------------- alpha


def test_rgba_into_jpeg_is_flattened_onto_white(tmp_path: Path) -> None:
    """Colour hidden under alpha 0 showed (bright red) once the alpha was simply dropped."""
    arr = np.zeros((32, 32, 4), dtype=np.uint8)
    arr[..., 0] = 255  # red everywhere...
    arr[:16, :, 3] = 255  # ...opaque on top, transparent below, half-transparent in one corner
    arr[16:, 16:, 3] = 128
    Image.fromarray(arr, "RGBA").save(tmp_path / "cut.png")
    for fmt, name in (("jpeg", "JPEG"), ("bmp", "BMP")):
        notes = _roundtrip(tmp_path / "cut.png", tmp_path / f"flat.{fmt}", format=fmt)
        assert notes == [f"alpha dropped: {name} has no alpha; transparent areas flattened onto white"]
        with Image.open(tmp_path / f"flat.{fmt}") as im:
            out = np.asarray(im.convert("RGB")).astype(int)
        assert np.abs(out[20, 4] - [255, 255, 255]).max() <= 3  # transparent: white, not red
        assert np.abs(out[4, 4] - [255, 0, 0]).max() <= 3  # opaque: as it was
        assert np.abs(out[24, 24] - [255, 127, 127]).max() <= 4  # half: halfway to white


# ----------------------------------------------------------------------------------------------- JPEG


def _segments(data: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 2
    while data[i] == 0xFF and data[i + 1] != 0xDA:
        (n,) = struct.unpack(">H", data[i + 2 : i + 4])
        out.append((data[i + 1], data[i + 4 : i + 2 + n]))
        i += 2 + n
    return out


def _insert(jpeg: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """``segments`` right after SOI, where many writers put APP13 and vendor segments."""
    new = b"".join(b"\xff" + bytes([m]) + struct.pack(">H", len(d) + 2) + d for m, d in segments)
    return jpeg[:2] + new + jpeg[2:]


def _resource(rid: int, data: bytes) -> bytes:
    """One Photoshop image resource: signature, id, empty name, size, data padded to even."""
    pad = b"\x00" * (len(data) & 1)
    return b"8BIM" + struct.pack(">H", rid) + b"\x00\x00" + struct.pack(">I", len(data)) + data + pad


IPTC = b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x78\x00\x0bSnowy peak" + b"\x1c\x02\x74\x00\x07(c) Ann"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def _photo_jpeg(path: Path, segments: list[tuple[int, bytes]], **options: object) -> None:
    buf = io.BytesIO()
    exif = piexif.dump({"0th": {271: b"Nikon"}, "Exif": {}, "GPS": {}})
    Image.fromarray(_pixels()).save(buf, "JPEG", quality=90, exif=exif, icc_profile=SRGB_ICC, **options)
    path.write_bytes(_insert(buf.getvalue(), segments))


def test_jpeg_iptc_block_is_kept_without_its_thumbnail(tmp_path: Path) -> None:
    """APP13 held the agency's caption and copyright, and was dropped whole; only its thumbnail must go."""
    thumb = b"\x00" * 28 + b"\xff\xd8 the snowy original \xff\xd9"
    block = _resource(0x0404, IPTC) + _resource(0x040C, thumb) + _resource(0x03ED, b"\x00\x48" * 8)
    src = tmp_path / "iptc.jpg"
    _photo_jpeg(src, [(0xED, b"Photoshop 3.0\x00" + block)], xmp=XMP)
    loaded = load_image(src)
    assert loaded.notes == []
    notes = save_image(tmp_path / "out.jpg", loaded.pixels, loaded).notes
    assert notes == ["Photoshop thumbnail in the IPTC block (APP13) removed (it showed the original)"]
    data = (tmp_path / "out.jpg").read_bytes()
    app13 = [d for m, d in _segments(data) if m == 0xED]
    assert app13 == [b"Photoshop 3.0\x00" + _resource(0x0404, IPTC) + _resource(0x03ED, b"\x00\x48" * 8)]
    with Image.open(tmp_path / "out.jpg") as im:
        im.load()  # still a JPEG that decodes
        assert im.info["photoshop"][0x0404] == IPTC and 0x040C not in im.info["photoshop"]
        assert im.info["icc_profile"] == SRGB_ICC and im.info["xmp"] == XMP
        assert piexif.load(im.info["exif"])["0th"][271] == b"Nikon"


def test_jpeg_iptc_elsewhere_and_unreadable_blocks_are_noted(tmp_path: Path) -> None:
    src = tmp_path / "iptc.jpg"
    _photo_jpeg(src, [(0xED, b"Photoshop 3.0\x00" + _resource(0x0404, IPTC))])
    assert _roundtrip(src, tmp_path / "out.png", format="png") == [
        "IPTC/Photoshop block (APP13) cannot be stored in PNG; dropped"
    ]
    broken = tmp_path / "broken.jpg"
    _photo_jpeg(broken, [(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00")])
    loaded = load_image(broken)
    assert loaded.notes == ["IPTC/Photoshop block (APP13) not kept; XMP and EXIF are"]
    save_image(tmp_path / "broken_out.jpg", loaded.pixels, loaded)
    assert 0xED not in [m for m, _ in _segments((tmp_path / "broken_out.jpg").read_bytes())]


def test_extended_xmp_is_kept_in_jpeg_and_noted_elsewhere(tmp_path: Path) -> None:
    """Extension segments (a depth map, say) vanished silently while the main packet still pointed at them."""
    guid = b"6033AE6C326951CAE85704AD944F2238"
    main = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="' + guid + b'"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    payload = bytes(np.random.default_rng(0).integers(0, 255, 90000, dtype=np.uint8))
    parts = [payload[:60000], payload[60000:]]
    header = b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">I", len(payload))
    extensions = [header + struct.pack(">I", 0) + parts[0], header + struct.pack(">I", 60000) + parts[1]]
    src = tmp_path / "depth.jpg"
    _photo_jpeg(src, [(0xE1, ext) for ext in extensions], xmp=main)
    assert _roundtrip(src, tmp_path / "out.jpg") == []
    kept = [d for m, d in _segments((tmp_path / "out.jpg").read_bytes()) if m == 0xE1 and d.startswith(header[:35])]
    assert kept == extensions
    with Image.open(tmp_path / "out.jpg") as im:
        im.load()
        assert im.info["xmp"] == main and piexif.load(im.info["exif"])["0th"][271] == b"Nikon"
    assert _roundtrip(src, tmp_path / "out.png", format="png") == [
        "extended XMP (88 KB) cannot be stored in PNG; dropped"
    ]
    with Image.open(tmp_path / "out.png") as im:
        packet = im.info["XML:com.adobe.xmp"]
    assert "HasExtendedXMP" not in packet and "<rdf:Description" in packet


def test_other_app_segments_are_named_in_a_note(tmp_path: Path) -> None:
    src = tmp_path / "ducky.jpg"
    _photo_jpeg(src, [(0xEC, b"Ducky\x00\x01\x00\x04\x00\x00\x00P"), (0xE3, b"\x00\x01\x02binary")])
    assert load_image(src).notes == ["JPEG segments not kept: APP12 (Ducky), APP3"]


def _busy(size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """A picture with some texture, whose thumbnails take a few KB as a camera's do."""
    noise = np.random.default_rng(2).integers(-20, 20, (*size, 3))
    return np.clip(_pixels(size=size).astype(int) + noise, 0, 255).astype(np.uint8)


def _big_exif(maker_note: int, thumb: bytes | None = None) -> bytes:
    if thumb is None:  # the camera's own: 160 px at quality 5, about 1.5 KB
        buf = io.BytesIO()
        Image.fromarray(_busy()).resize((160, 120)).save(buf, "JPEG", quality=5)
        thumb = buf.getvalue()
    note = bytes(np.random.default_rng(1).integers(0, 255, maker_note, dtype=np.uint8))
    return piexif.dump({"0th": {271: b"Nikon"}, "Exif": {37500: note}, "GPS": {}, "1st": {259: 6},
                        "thumbnail": thumb})  # fmt: skip


def _thumbnail(path: Path) -> bytes | None:
    with Image.open(path) as im:
        return piexif.load(im.info["exif"]).get("thumbnail")


def test_large_exif_gets_a_smaller_thumbnail_that_fits_one_segment(tmp_path: Path) -> None:
    """A 60 KB maker note left no room for a quality-80 thumbnail: it was removed, blamed on the original."""
    src = tmp_path / "big.jpg"
    maker_note = 65533 - len(_big_exif(0)) - 100  # the camera's thumbnail just fits; ours at quality 80 does not
    Image.fromarray(_busy()).save(src, quality=90, exif=_big_exif(maker_note))
    loaded = load_image(src)
    assert save_image(tmp_path / "out.jpg", 1.0 - loaded.pixels, loaded).notes == []  # restored: inverted
    thumb = _thumbnail(tmp_path / "out.jpg")
    assert thumb
    with Image.open(io.BytesIO(thumb)) as im:
        shown = np.asarray(im.convert("RGB").resize((320, 240))).astype(int)
    assert np.abs(shown - (255 - _busy().astype(int))).mean() < 30  # a picture of the output, not of the input
    with Image.open(tmp_path / "out.jpg") as im:
        assert len(piexif.load(im.info["exif"])["Exif"][37500]) == maker_note


def test_exif_with_no_room_for_any_thumbnail_gives_the_true_reason(tmp_path: Path) -> None:
    src = tmp_path / "full.jpg"
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "JPEG", quality=1)  # a camera's token thumbnail, smaller than any of ours
    stub = buf.getvalue()
    room = 65533 - len(_big_exif(0, stub))
    Image.fromarray(_pixels()).save(src, quality=90, exif=_big_exif(room - 40, stub))
    assert _roundtrip(src, tmp_path / "out.jpg") == [
        "EXIF thumbnail removed (it showed the original): with a new one the EXIF block would be over JPEG's 64 KB "
        "limit"
    ]
    assert not _thumbnail(tmp_path / "out.jpg")


# -------------------------------------------------------------------------------------- --quality keep


@pytest.mark.parametrize(("quality", "subsampling"), [(100, 0), (75, 2)])
def test_quality_keep_reencodes_with_the_inputs_own_tables(tmp_path: Path, quality: int, subsampling: int) -> None:
    """Quality 95 made a quality-100 master worse and a quality-75 phone photo half again as big."""
    src = tmp_path / "in.jpg"
    Image.fromarray(_pixels(size=(96, 128))).save(src, quality=quality, subsampling=subsampling)
    _roundtrip(src, tmp_path / "keep.jpg", quality="keep")
    _roundtrip(src, tmp_path / "q95.jpg")
    with Image.open(src) as a, Image.open(tmp_path / "keep.jpg") as b, Image.open(tmp_path / "q95.jpg") as c:
        assert b.quantization == a.quantization != c.quantization  # type: ignore[attr-defined]
        assert JpegImagePlugin.get_sampling(b) == subsampling
    # a PNG has no tables to keep: 95, as documented
    Image.fromarray(_pixels()).save(tmp_path / "p.png")
    _roundtrip(tmp_path / "p.png", tmp_path / "p_keep.jpg", format="jpeg", quality="keep")
    _roundtrip(tmp_path / "p.png", tmp_path / "p_95.jpg", format="jpeg", quality=95)
    assert (tmp_path / "p_keep.jpg").read_bytes() == (tmp_path / "p_95.jpg").read_bytes()


def test_restore_file_takes_keep_and_still_refuses_nonsense(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    Image.fromarray(_pixels()).save(src, quality=100)
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    restorer.restore_file(src, tmp_path / "out.jpg", quality="keep")
    with Image.open(src) as a, Image.open(tmp_path / "out.jpg") as b:
        assert b.quantization == a.quantization  # type: ignore[attr-defined]
    message = "bad.jpg: quality must be a whole number from 1 to 100 or 'keep', got 'kept'"
    with pytest.raises(OutputError, match=re.escape(message)):
        restorer.restore_file(src, tmp_path / "bad.jpg", quality="kept")


def test_quality_option_takes_keep_and_refuses_anything_else_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "in" / "a.jpg"
    src.parent.mkdir()
    Image.fromarray(_pixels()).save(src, quality=98, subsampling=0)
    loads = StandIn(Inverter)
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(src.parent), "-o", str(tmp_path / "out"), "--quality", "keep", "--device", "cpu",
        models=loads,
    )  # fmt: skip
    assert code == 0, stdout + stderr
    with Image.open(src) as a, Image.open(tmp_path / "out" / "a.jpg") as b:
        assert b.quantization == a.quantization  # type: ignore[attr-defined]
    for bad in ("0", "101", "best", "9.5", "²"):  # "²" is a digit to str.isdigit, and int() refuses it
        code, _, stderr = invoke_command(desnow, "desnow", str(src), "--quality", bad, models=loads)
        assert code == 2
        said = f"Invalid value for '--quality': quality must be a whole number from 1 to 100 or 'keep', got '{bad}'"
        assert said in " ".join(stderr.replace("│", " ").split()), stderr  # as one line, outside Rich's box


# ------------------------------------------------------------------------------------ second review

CICP_PQ = b"\x09\x10\x00\x01"  # BT.2020 primaries, PQ transfer, RGB, full range: an HDR picture
MDCV = struct.pack(">6H2H2I", 35400, 14600, 8500, 39850, 6550, 2300, 15635, 16450, 10000000, 50)
CLLI = struct.pack(">2I", 10000000, 4000000)


def test_hdr_colour_chunks_are_kept_in_png_and_noted_elsewhere(tmp_path: Path) -> None:
    """cICP overrides every other colour chunk: without it an HDR PNG shows as washed-out SDR. It was dropped
    with no note, and Pillow writes no mDCV or cLLI even when asked."""
    hdr = [_chunk(b"cICP", CICP_PQ), _chunk(b"mDCV", MDCV), _chunk(b"cLLI", CLLI)]
    src8 = tmp_path / "hdr8.png"
    src8.write_bytes(_with_chunks(_png(Image.fromarray(_pixels()), icc_profile=SRGB_ICC), hdr))
    src16 = tmp_path / "hdr16.png"
    src16.write_bytes(_png16(_pixels().astype(np.uint16) * 257, hdr))
    for src in (src8, src16):
        out = tmp_path / f"{src.stem}_out.png"
        assert _roundtrip(src, out) == []
        names = [name for name, _ in _chunks(out)]
        found = dict(_chunks(out))
        assert (found["cICP"], found["mDCV"], found["cLLI"]) == (CICP_PQ, MDCV, CLLI)
        assert max(names.index(c) for c in ("cICP", "mDCV", "cLLI")) < names.index("IDAT")
        with Image.open(out) as im:
            im.load()  # still a PNG that decodes
    # JPEG keeps the ICC profile, which cICP overrode: the note is due all the same
    assert _roundtrip(src8, tmp_path / "hdr.jpg", format="jpeg") == [
        "PNG colour information (cICP, mDCV, cLLI) cannot be stored in JPEG; dropped, so colour-managed viewers "
        "may show the picture lighter, darker or in other colours"
    ]


def test_png_values_png_forbids_are_not_copied(tmp_path: Path) -> None:
    """gAMA 0, sBIT 0 or over the bit depth, a bKGD sample beyond the bit depth: copied as they were."""
    from weatherclean.io.images import pngchunks

    base = _png(Image.fromarray(_pixels()))
    cases = {
        "gama0": ([_chunk(b"gAMA", b"\x00" * 4)], []),
        "sbit0": ([_chunk(b"sBIT", b"\x00\x08\x08")], []),
        "sbit9": ([_chunk(b"sBIT", b"\x08\x09\x08")], []),
        "bkgd": ([], [_chunk(b"bKGD", struct.pack(">3H", 0x1234, 5, 5))]),
    }
    for name, (after_ihdr, before_idat) in cases.items():
        src = tmp_path / f"{name}.png"
        src.write_bytes(_with_chunks(base, after_ihdr, before_idat))
        _roundtrip(src, tmp_path / f"{name}_out.png")
        names = {chunk for chunk, _ in _chunks(tmp_path / f"{name}_out.png")}
        assert not names & {"gAMA", "sBIT", "bKGD"}, name
    grey4 = tmp_path / "grey4.png"  # 17 is no 4-bit grey level: it was scaled and clipped to white
    Image.fromarray(_pixels(1)[..., 0] // 17 * 17).save(grey4, bits=4)
    grey4.write_bytes(_with_chunks(grey4.read_bytes(), [], [_chunk(b"bKGD", struct.pack(">H", 17))]))
    _roundtrip(grey4, tmp_path / "grey4_out.png")
    assert "bKGD" not in dict(_chunks(tmp_path / "grey4_out.png"))
    # a palette's sBIT has three bytes (its entries are RGB), not one
    assert pngchunks._valid_sbit(b"\x05\x05\x05", (4, 3)) and not pngchunks._valid_sbit(b"\x05", (4, 3))


def test_a_grey_or_rgb_pngs_transparent_colour_is_not_lost_silently(tmp_path: Path) -> None:
    for mode, key in (("L", 0), ("RGB", (0, 0, 0))):
        src = tmp_path / f"{mode}.png"
        Image.fromarray(_pixels()).convert(mode).save(src, transparency=key)
        assert _roundtrip(src, tmp_path / f"{mode}_out.png") == [
            "PNG transparent colour (tRNS) dropped: restored colours no longer match it exactly"
        ]


def test_exif_thumbnail_of_a_picture_with_alpha_is_flattened_onto_white(tmp_path: Path) -> None:
    """It showed the red hidden under the transparent half, which no viewer shows."""
    arr = np.zeros((120, 160, 4), dtype=np.uint8)
    arr[..., 0] = 255
    arr[:, :80, 3] = 255  # opaque red on the left, transparent (red underneath) on the right
    src = tmp_path / "cut.png"
    Image.fromarray(arr, "RGBA").save(src, exif=_big_exif(0))
    assert _roundtrip(src, tmp_path / "out.png") == []
    thumb = _thumbnail(tmp_path / "out.png")
    assert thumb
    with Image.open(io.BytesIO(thumb)) as im:
        shown = np.asarray(im.convert("RGB")).astype(int)
    h, w, _ = shown.shape
    assert np.abs(shown[h // 2, w // 8] - [255, 0, 0]).max() < 40
    assert np.abs(shown[h // 2, w - w // 8] - [255, 255, 255]).max() < 40  # white, not red


def _patched_table_ids(jpeg: bytes) -> bytes:
    """``jpeg`` with quantisation tables 0 and 1 swapped in DQT and in SOF: the same picture, but the luma
    component now uses table 1 and the chroma components table 0, as some writers number them."""
    data, pos = bytearray(jpeg), 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        marker, (length,) = data[pos + 1], struct.unpack_from(">H", data, pos + 2)
        if marker == 0xDB:
            at = pos + 4
            while at < pos + 2 + length:
                data[at] ^= 1  # Pq/Tq: the table id's low bit
                at += 1 + (128 if data[at] >> 4 else 64)
        elif marker in (0xC0, 0xC1, 0xC2):
            for i in range(data[pos + 9]):
                data[pos + 10 + 3 * i + 2] ^= 1
        pos += 2 + length
    return bytes(data)


def test_quality_keep_gives_each_component_the_table_it_had(tmp_path: Path) -> None:
    """Tables went to components by sorted id, so luma got the chroma table where the ids ran otherwise."""
    buf = io.BytesIO()
    luma, chroma = [2] * 64, [20] * 64
    Image.fromarray(_pixels(size=(96, 128))).save(buf, "JPEG", qtables=[luma, chroma], subsampling=0)
    src = tmp_path / "swapped.jpg"
    src.write_bytes(_patched_table_ids(buf.getvalue()))
    with Image.open(src) as im:
        assert [layer[3] for layer in im.layer] == [1, 0, 0]  # type: ignore[attr-defined]
        assert im.quantization == {0: chroma, 1: luma}  # type: ignore[attr-defined]
    _roundtrip(src, tmp_path / "keep.jpg", quality="keep")
    with Image.open(tmp_path / "keep.jpg") as im:
        tables = im.quantization  # type: ignore[attr-defined]
        assert [tables[layer[3]] for layer in im.layer] == [luma, chroma, chroma]  # type: ignore[attr-defined]


def test_a_finer_jpeg_reencoded_at_a_number_is_told_how_to_keep_its_quality(tmp_path: Path) -> None:
    """A quality-100 master written at the default 95 lost detail without a word."""
    for quality, note in ((100, "about q100"), (98, "about q98"), (95, None), (80, None)):
        src = tmp_path / f"q{quality}.jpg"
        Image.fromarray(_pixels()).save(src, quality=quality)
        expected = [f"re-encoded at quality 95, coarser than the input's ({note}); --quality keep keeps its own"]
        assert _roundtrip(src, tmp_path / f"out{quality}.jpg") == (expected if note else [])
    assert _roundtrip(tmp_path / "q100.jpg", tmp_path / "keep.jpg", quality="keep") == []
    assert _roundtrip(tmp_path / "q100.jpg", tmp_path / "q100.png", format="png") == []


def test_photoshop_exif_copies_lose_the_originals_thumbnail(tmp_path: Path) -> None:
    """Resources 0x0422/0x0423 are EXIF copies, IFD1 thumbnail of the snowy original and all."""
    from weatherclean.io.images.exif import strip_exif_thumbnail

    thumb = io.BytesIO()
    Image.fromarray(_pixels()).resize((80, 60)).save(thumb, "JPEG", quality=50)
    exif = {"0th": {271: b"Nikon"}, "Exif": {}, "GPS": {}, "1st": {259: 6}, "thumbnail": thumb.getvalue()}
    copy = piexif.dump(exif)[len(b"Exif\x00\x00") :]  # the resource holds the bare TIFF structure
    block = _resource(0x0404, IPTC) + _resource(0x0422, copy) + _resource(0x0423, b"\x00\x01 not a TIFF")
    src = tmp_path / "ps.jpg"
    _photo_jpeg(src, [(0xED, b"Photoshop 3.0\x00" + block)])
    assert _roundtrip(src, tmp_path / "out.jpg") == [
        "Photoshop thumbnail in the IPTC block (APP13) removed (it showed the original)"
    ]
    with Image.open(tmp_path / "out.jpg") as im:
        resources = im.info["photoshop"]
    assert resources[0x0404] == IPTC and 0x0423 not in resources
    assert resources[0x0422] == strip_exif_thumbnail(copy) != copy
    assert piexif.load(b"Exif\x00\x00" + resources[0x0422])["0th"][271] == b"Nikon"


def test_quality_type_hints_name_keep() -> None:
    """run_batch, RestorerWorkers and restore_file said ``int`` (or ``int | str``) for a quality that may be
    "keep"; they name the one alias now."""
    from weatherclean.batch.ray_engine import RestorerWorkers
    from weatherclean.batch.run import run_batch
    from weatherclean.restore.restorer import Restorer

    assert run_batch.__annotations__["quality"] == "Quality"
    assert RestorerWorkers.__annotations__["quality"] == "Quality"
    assert Restorer.restore_file.__annotations__["quality"] == "Quality"


def test_xmp_too_big_for_a_jpeg_segment_is_dropped_with_a_note_not_the_picture(tmp_path: Path) -> None:
    """A PNG with 80 KB of XMP could not be converted to JPEG at all: Pillow refused the whole picture."""
    from PIL.PngImagePlugin import PngInfo

    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!--' + b"x" * 80000 + b"--></x:xmpmeta>"
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    src = tmp_path / "big.png"
    Image.fromarray(_pixels()).save(src, pnginfo=info)
    notes = _roundtrip(src, tmp_path / "big.jpg", format="jpeg")
    assert notes == ["XMP (78 KB) is over JPEG's 64 KB segment; dropped"]
    with Image.open(tmp_path / "big.jpg") as im:
        im.load()
        assert "xmp" not in im.info
    _roundtrip(src, tmp_path / "big_out.png")  # PNG holds it
    with Image.open(tmp_path / "big_out.png") as im:
        assert im.info["XML:com.adobe.xmp"].encode() == xmp


def _exif_of(size_maker_note: int, size_comment: int) -> bytes:
    """EXIF as a camera raw converter writes it into a PNG or TIFF: orientation, camera, date, GPS, and a
    maker note and a user comment of the given sizes."""
    rng = np.random.default_rng(3)
    return piexif.dump({
        "0th": {piexif.ImageIFD.Orientation: 6, piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"EOS R5"},
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2026:01:02 03:04:05",
            piexif.ExifIFD.MakerNote: rng.integers(0, 256, size_maker_note, dtype=np.uint8).tobytes(),
            piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00" + b"c" * size_comment,
        },
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((47, 1), (30, 1), (0, 1))},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("maker_note", "comment", "note"),
    [
        (90000, 10, "dropped MakerNote (88 KB)"),
        (3000, 70000, "dropped MakerNote (3 KB), UserComment (68 KB)"),
    ],
)
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_exif_too_big_for_a_jpeg_loses_its_largest_values_not_the_picture(
    tmp_path: Path, suffix: str, maker_note: int, comment: int, note: str
) -> None:
    """A PNG or TIFF with a 90 KB maker note could not be converted to JPEG: Pillow refused the picture
    ("EXIF data is too long"). The largest values go, the maker note first; orientation, camera, date and
    GPS stay, each with its exact bytes."""
    src = tmp_path / f"big{suffix}"
    Image.fromarray(_pixels()).save(src, exif=_exif_of(maker_note, comment))
    notes = _roundtrip(src, tmp_path / "big.jpg", format="jpeg")
    assert f"EXIF is over JPEG's 64 KB segment: {note}; the rest kept" in notes, notes
    with Image.open(tmp_path / "big.jpg") as im:
        kept = piexif.load(im.info["exif"])
    assert kept["0th"][piexif.ImageIFD.Orientation] == 6 and kept["0th"][piexif.ImageIFD.Model] == b"EOS R5"
    assert kept["Exif"][piexif.ExifIFD.DateTimeOriginal] == b"2026:01:02 03:04:05"
    assert kept["GPS"][piexif.GPSIFD.GPSLatitude] == ((47, 1), (30, 1), (0, 1))
    assert piexif.ExifIFD.MakerNote not in kept["Exif"]
    assert (piexif.ExifIFD.UserComment in kept["Exif"]) == (comment < 1000)
    _roundtrip(src, tmp_path / "big_out.png", format="png")  # PNG holds it whole
    with Image.open(tmp_path / "big_out.png") as im:
        im.load()  # eXIf may follow the pixels
        assert len(piexif.load(im.info["exif"])["Exif"][piexif.ExifIFD.MakerNote]) == maker_note


def test_exif_fitted_for_a_jpeg_still_gets_a_thumbnail_of_the_output(tmp_path: Path) -> None:
    """With a 90 KB maker note and a thumbnail, the thumbnail was dropped "because a new one would be over
    64 KB", though what was left after the maker note was 120 bytes."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (9, 9, 9)).save(buf, "JPEG")
    exif = piexif.load(_exif_of(90000, 10))
    exif["1st"] = {piexif.ImageIFD.Compression: 6}
    exif["thumbnail"] = buf.getvalue()
    src = tmp_path / "thumb.png"
    Image.fromarray(_pixels()).save(src, exif=piexif.dump(exif))
    notes = _roundtrip(src, tmp_path / "thumb.jpg", format="jpeg")
    assert notes == ["EXIF is over JPEG's 64 KB segment: dropped MakerNote (88 KB); the rest kept"]
    assert _thumbnail(tmp_path / "thumb.jpg")


def test_fitting_exif_never_drops_the_orientation_and_stays_quick_on_thousands_of_values(tmp_path: Path) -> None:
    """A damaged block of thousands of small values could lose its orientation (ties went by order), was slow
    (rebuilt after every value dropped) and got a note naming every tag dropped."""
    import time

    from weatherclean.io.images.exif import fit_jpeg_exif

    junk = {0x9000 + i: b"abcdefgh" for i in range(4000)}  # 4000 values of 8 bytes (80 KB), in the Exif IFD
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 8}, "Exif": {}})
    e, ifd0 = exif_ifd0(exif)
    ifd0[0x8769] = (4, 1, {tag: (7, 8, value) for tag, value in junk.items()})
    started = time.perf_counter()
    fitted, note = fit_jpeg_exif(exif_blob(e, ifd0))
    assert time.perf_counter() - started < 5
    assert fitted is not None and len(fitted) <= 65533 and piexif.load(fitted)["0th"][piexif.ImageIFD.Orientation] == 8
    assert note.startswith("EXIF is over JPEG's 64 KB segment: dropped ") and "more values; the rest kept" in note
    assert len(note) < 200


def test_exif_with_nothing_left_after_fitting_says_so(tmp_path: Path) -> None:
    from weatherclean.io.images.exif import fit_jpeg_exif

    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00" + b"c" * 70000}})
    fitted, note = fit_jpeg_exif(exif)
    assert (
        fitted is None
        and note == "EXIF is over JPEG's 64 KB segment: dropped UserComment (68 KB); nothing else was left"
    )


# ------------------------------------------------------------------------------ a second review's findings


def test_the_coarser_note_waits_for_two_quality_steps(tmp_path: Path) -> None:
    """One IJG step near the top changes the table sum by about 20 %, so every q96 camera JPEG got the note."""
    src = tmp_path / "q96.jpg"
    Image.fromarray(_pixels()).save(src, quality=96)
    assert _roundtrip(src, tmp_path / "out.jpg") == []


def test_an_exif_copy_that_is_no_exif_is_dropped_without_a_thumbnail_note(tmp_path: Path) -> None:
    src = tmp_path / "ps.jpg"
    block = _resource(0x0404, IPTC) + _resource(0x0422, b"") + _resource(0x0423, b"garbage!!")
    _photo_jpeg(src, [(0xED, b"Photoshop 3.0\x00" + block)])
    assert _roundtrip(src, tmp_path / "out.jpg") == []
    with Image.open(tmp_path / "out.jpg") as im:
        assert set(im.info["photoshop"]) == {0x0404}


def test_quality_keep_on_a_cmyk_jpeg_says_it_cannot(tmp_path: Path) -> None:
    """A CMYK JPEG's four tables were put on the YCbCr output's chroma (K's table, bigger files)."""
    src = tmp_path / "cmyk.jpg"
    Image.fromarray(_pixels(4), "CMYK").save(src, quality=90)
    notes = _roundtrip(src, tmp_path / "out.jpg", quality="keep")
    assert "--quality keep: a CMYK JPEG's tables do not fit an RGB one; written at 95" in notes


def test_a_damaged_chunk_length_is_never_read_into_memory(tmp_path: Path) -> None:
    from weatherclean.io.images.pngchunks import read_png_chunks

    png = _with_chunks(_png(Image.fromarray(_pixels())), [_chunk(b"gAMA", struct.pack(">I", 45455))])
    bad = png[:8] + png[8:33] + struct.pack(">I", 0x7FFFFFF0) + b"cICP" + b"\x00" * 8
    (tmp_path / "bad.png").write_bytes(bad)
    assert read_png_chunks(tmp_path / "bad.png")["png_chunks"] == {}  # skipped, not a 2 GB read
    (tmp_path / "ok.png").write_bytes(png)
    assert read_png_chunks(tmp_path / "ok.png")["png_chunks"] == {"gAMA": struct.pack(">I", 45455)}


def test_a_16_bit_png_drops_a_grey_profile_on_colour_as_the_8_bit_writer_does(tmp_path: Path) -> None:
    grey = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    grey = grey[:16] + b"GRAY" + grey[20:]
    icc = _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(grey))
    src = tmp_path / "w.png"
    src.write_bytes(_png16((np.arange(48 * 64 * 3).reshape(48, 64, 3) * 7 % 65536).astype(np.uint16), [icc]))
    notes = _roundtrip(src, tmp_path / "out.png")
    assert "greyscale ICC profile dropped: it cannot describe the RGB PNG output" in notes
    assert "iCCP" not in [name for name, _ in _chunks(tmp_path / "out.png")]
