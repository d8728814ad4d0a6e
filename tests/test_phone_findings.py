"""What a phone-photo tester found: motion photos lost their video (and ``--in-place`` destroyed it), HEIC/AVIF
``nclx`` colour came back as sRGB, 10-bit HEIC came back 8-bit, outputs whose names differ only in case were not a
clash, ``.mpo`` files were skipped, ``--format heic`` without the extra was called unknown, and ``--in-place`` on a
two-picture MPO spoke of "frames 2–2". Then what a review of those fixes found: bytes after a JPEG's picture that
were no motion video (Samsung's Live Focus original, a depth map), or a video behind junk between the JPEG's
segments, were still dropped without a word; an ``.mpo`` refused a whole ``--in-place`` batch; a HEIC's gain map
and depth map were dropped silently; a PNG's cICP was "not stored" in HEIC; ``--frames`` clips given side by side
clashed on ``DIR/0000.png``.

Every picture here is made in the test, a few dozen pixels, with a stand-in "video" of a few KB: the code under
test copies the video's bytes and never decodes them.
"""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch import OutputFormat, plan_batch
from weatherclean.batch.handlers import in_place_loss
from weatherclean.batch.outputs import output_suffix
from weatherclean.cli import desnow
from weatherclean.errors import InputError, OutputError
from weatherclean.io import media
from weatherclean.io.images import LoadedImage, load_image, save_image
from weatherclean.io.images import trailer as trailer_module
from weatherclean.io.images.formats import size_text
from weatherclean.io.images.trailer import jpeg_end

#: A stand-in for a phone's MP4: an ``ftyp`` box and a ``mdat`` box of bytes that are no picture.
VIDEO = (
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    + struct.pack(">I", 8 + 3000)
    + b"mdat"
    + bytes(range(256)) * 11
    + bytes(184)
)
_RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
MICROVIDEO_XMP = (
    f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF}><rdf:Description rdf:about="" '
    'xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" '
    f'GCamera:MicroVideoOffset="{len(VIDEO)}" GCamera:MicroVideoPresentationTimestampUs="1500000"/>'
    "</rdf:RDF></x:xmpmeta>"
).encode()


def _pixels(size: tuple[int, int] = (40, 56), seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    noise = np.random.default_rng(seed).integers(0, 40, (*size, 3))
    return ((np.stack([x * 4, y * 5, (x + y) * 2], axis=-1) + noise) % 256).astype(np.uint8)


def _jpeg(xmp: bytes | None = None, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels(seed=seed)).save(buf, "JPEG", quality=90, **({"xmp": xmp} if xmp else {}))
    return buf.getvalue()


def _directory_xmp(gain_map: int | None) -> bytes:
    """Motion Photo 1.0: ``Camera:MotionPhoto`` and a ``Container:Directory`` (Primary, [GainMap], MotionPhoto)."""
    item = '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="{}" Item:Semantic="{}"{}/></rdf:li>'
    items = [item.format("image/jpeg", "Primary", ' Item:Length="0" Item:Padding="0"')]
    if gain_map is not None:
        items.append(item.format("image/jpeg", "GainMap", f' Item:Length="{gain_map}"'))
    items.append(item.format("video/mp4", "MotionPhoto", f' Item:Length="{len(VIDEO)}" Item:Padding="0"'))
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF}><rdf:Description rdf:about="" '
        'xmlns:Camera="http://ns.google.com/photos/1.0/camera/" '
        'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
        'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" Camera:MotionPhoto="1" '
        f'Camera:MotionPhotoVersion="1"><Container:Directory><rdf:Seq>{"".join(items)}</rdf:Seq>'
        "</Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def _picture_end(data: bytes) -> int:
    end = jpeg_end(io.BytesIO(data), 0)
    assert end is not None
    return end


def _invoke(*args: str) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=StandIn(Inverter))


# ------------------------------------------------------------------------------------ 1. motion photos


def test_google_microvideo_keeps_its_video_after_the_new_picture(tmp_path: Path) -> None:
    src = tmp_path / "MVIMG_20240115_102030.jpg"
    src.write_bytes(_jpeg(MICROVIDEO_XMP) + VIDEO)
    like = load_image(src)
    saved = save_image(tmp_path / "out.jpg", 1.0 - like.pixels, like)
    out = saved.path.read_bytes()
    assert saved.notes == [f"motion photo: its video ({round(len(VIDEO) / 1000)} KB) kept as it was, not restored"]
    assert out[_picture_end(out) :] == VIDEO  # right after the new picture's EOI, byte for byte
    found = re.search(rb'MicroVideoOffset="(\d+)"', out)
    assert found is not None
    offset = int(found.group(1))
    assert out[len(out) - offset :] == VIDEO  # the XMP, unchanged, still points at it
    with Image.open(saved.path) as im:
        assert im.size == (56, 40) and im.format == "JPEG"


def test_samsung_motion_photo_keeps_its_marker_and_video(tmp_path: Path) -> None:
    src = tmp_path / "20240115_102030.jpg"
    # Samsung's trailer: other data blocks, the marker and the MP4, then a directory of offsets from the end
    trailer = b"\x00\x00\x01\x0a\x0e\x00\x00\x00Image_UTC_Data1705312830000" + b"MotionPhoto_Data" + VIDEO
    trailer += b"SEFH" + bytes(20) + b"SEFT"
    src.write_bytes(_jpeg() + trailer)
    like = load_image(src)
    saved = save_image(tmp_path / "out.jpg", like.pixels, like)
    out = saved.path.read_bytes()
    assert out[_picture_end(out) :] == trailer and "kept as it was, not restored" in saved.notes[0]


def test_motion_photo_with_a_gain_map_keeps_the_video_and_a_directory_that_adds_up(tmp_path: Path) -> None:
    gain = _jpeg(seed=1)
    src = tmp_path / "PXL_20240115_102030.MP.jpg"
    src.write_bytes(_jpeg(_directory_xmp(len(gain))) + gain + VIDEO)
    like = load_image(src)
    assert like.notes == ["multi-picture JPEG: only picture 1 of 2 processed; other pictures dropped"]
    assert in_place_loss(like) == "picture 2 (only the first is processed)"
    saved = save_image(tmp_path / "out.jpg", like.pixels, like)
    out = saved.path.read_bytes()
    end = _picture_end(out)
    assert out[end:] == VIDEO  # the gain map (a picture of the original) is gone, the video is not
    xmp = like.xmp or b""
    assert b'Item:Semantic="GainMap"' in xmp
    written = out[:end]
    assert b"GainMap" not in written and b'Item:Semantic="MotionPhoto"' in written  # its entry left the directory
    found = re.search(rb'Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="(\d+)"', written)
    assert found is not None
    length = int(found.group(1))
    assert length == len(VIDEO) and out[len(out) - length :] == VIDEO  # counted from the end, and from the front


def test_motion_photo_converted_drops_its_video_and_what_points_at_it(tmp_path: Path) -> None:
    src = tmp_path / "MVIMG_1.jpg"
    src.write_bytes(_jpeg(MICROVIDEO_XMP) + VIDEO)
    like = load_image(src)
    saved = save_image(tmp_path / "out.png", like.pixels, like, format="png")
    assert saved.notes == [f"motion photo video ({round(len(VIDEO) / 1000)} KB) cannot be stored in PNG; dropped"]
    back = load_image(saved.path)
    assert back.xmp is not None and b"MicroVideo" not in back.xmp and b"GCamera" in back.xmp


def test_in_place_keeps_the_motion_photo_video(tmp_path: Path) -> None:
    folder = tmp_path / "mp"
    folder.mkdir()
    (folder / "MVIMG_1.jpg").write_bytes(_jpeg(MICROVIDEO_XMP) + VIDEO)
    (folder / "2.jpg").write_bytes(_jpeg() + b"MotionPhoto_Data" + VIDEO)
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 0, stdout + stderr
    assert (folder / "MVIMG_1.jpg").read_bytes().endswith(VIDEO)
    assert (folder / "2.jpg").read_bytes().endswith(b"MotionPhoto_Data" + VIDEO)
    notes = sorted((Path(n["path"]).name, n["note"]) for n in json.loads(stdout)["notes"])
    kept = f"motion photo: its video ({round(len(VIDEO) / 1000)} KB) kept as it was, not restored"
    assert notes == [("2.jpg", kept), ("MVIMG_1.jpg", kept)]


def test_a_motion_photo_changed_meanwhile_is_not_written_without_its_video(tmp_path: Path) -> None:
    src = tmp_path / "MVIMG_1.jpg"
    original = _jpeg(MICROVIDEO_XMP) + VIDEO
    src.write_bytes(original)
    like = load_image(src)
    src.write_bytes(original[: -len(VIDEO)])  # the video cut off after it was read
    with pytest.raises(OutputError, match=r"MVIMG_1\.jpg: changed since it was read; its motion photo video") as info:
        save_image(src, like.pixels, like)
    assert "\n" not in str(info.value)
    assert src.read_bytes() == original[: -len(VIDEO)]  # left as it was: no output without its video
    assert list(tmp_path.iterdir()) == [src]


def test_heic_motion_photo_is_noted_and_refused_in_place(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    pillow_heif.from_bytes("RGB", (56, 40), _pixels().tobytes()).save(buf, quality=80)
    (tmp_path / "a.heic").write_bytes(buf.getvalue() + VIDEO)  # Google's HEIC motion photo: the MP4 after it
    image = load_image(tmp_path / "a.heic")
    assert "motion photo video not kept (weatherclean keeps it for JPEG motion photos only); dropped" in image.notes
    assert in_place_loss(image) == "its motion photo video (kept for JPEG motion photos only)"


# ------------------------------------------------------------------- what else follows a JPEG's picture

#: Samsung's Live Focus trailer: a SEF block holding the un-blurred original (a JPEG), then the SEF directory.
LIVE_FOCUS = b"\x00\x00\x01\x0b\x0a\x00\x00\x00DualShot_1" + _jpeg(seed=7) + b"SEFH" + bytes(28) + b"SEFT"


def _trailer_of(path: Path) -> bytes:
    data = path.read_bytes()
    return data[_picture_end(data) :]


def test_bytes_after_the_picture_that_are_no_video_are_kept_in_jpeg_and_named_elsewhere(tmp_path: Path) -> None:
    """Samsung's Live Focus original and a Dynamic Depth map are no motion photo: they were dropped silently."""
    depth = io.BytesIO()
    Image.fromarray(_pixels((10, 14))[..., 0]).save(depth, "PNG")
    for name, after in (("20240101_livefocus.jpg", LIVE_FOCUS), ("depth.jpg", depth.getvalue())):
        src = tmp_path / name
        src.write_bytes(_jpeg() + after)
        like = load_image(src)
        saved = save_image(tmp_path / f"out_{name}", 1.0 - like.pixels, like)
        assert _trailer_of(saved.path) == after  # right after the new picture's end, byte for byte
        size = size_text(len(after))
        assert saved.notes == [f"{size} of data after the picture kept as they were (not restored)"]
        png = save_image(tmp_path / f"{name}.png", like.pixels, like, format="png")
        assert png.notes == [f"{size} of data after the JPEG picture cannot be stored in PNG; dropped"]


def test_a_video_behind_junk_between_segments_is_found(tmp_path: Path) -> None:
    """libjpeg (so Pillow) skips junk and fill bytes between segments; the end of the picture was not found."""
    jpeg = _jpeg(MICROVIDEO_XMP)
    at = jpeg.index(b"\xff\xdb")  # the quantisation tables, after the XMP
    for gap in (b"\x00\x00\x00\x00", b"\xff\xff\xff", b"ab\xff\x00cd", b"\xff" * 5000):  # fill across a read block
        src = tmp_path / "MVIMG_1.jpg"
        src.write_bytes(jpeg[:at] + gap + jpeg[at:] + VIDEO)
        assert _picture_end(src.read_bytes()) == len(jpeg) + len(gap)
        like = load_image(src)
        saved = save_image(tmp_path / "out.jpg", like.pixels, like)
        assert saved.path.read_bytes().endswith(VIDEO) and "motion photo: its video" in saved.notes[0]


def test_a_video_label_inside_the_exif_is_not_taken_for_the_video(tmp_path: Path) -> None:
    """Samsung's marker and an MP4 header inside the EXIF (a maker note) lie before the picture's end: what follows
    the picture is data, kept as it is, not a motion photo's video."""
    exif = Image.Exif()
    exif[0x927C] = b"note" + b"MotionPhoto_Data" + VIDEO[:32] + bytes(64)
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    src = tmp_path / "20240101_1.jpg"
    src.write_bytes(buf.getvalue() + bytes(3000))
    like = load_image(src)
    saved = save_image(tmp_path / "out.jpg", like.pixels, like)
    assert saved.notes == ["3 KB of data after the picture kept as they were (not restored)"]
    assert _trailer_of(saved.path) == bytes(3000)


def test_samsung_video_is_found_past_a_false_label_and_measured_without_its_trailer(tmp_path: Path) -> None:
    """The first ``MotionPhoto_Data`` need not be the video's, and the note gave the video with Samsung's trailer."""
    trailer = b"MotionPhoto_Data" + b"no video here" + b"MotionPhoto_Data" + VIDEO + b"SEFH" + bytes(2000) + b"SEFT"
    src = tmp_path / "20240101_2.jpg"
    src.write_bytes(_jpeg() + trailer)
    like = load_image(src)
    saved = save_image(tmp_path / "out.jpg", like.pixels, like)
    assert saved.notes == ["motion photo: its video (3 KB) kept as it was, not restored"]  # 3032 bytes, not 5
    assert _trailer_of(saved.path) == trailer


def test_a_motion_photo_whose_video_is_not_found_says_so_and_loses_its_tags(tmp_path: Path) -> None:
    src = tmp_path / "MVIMG_2.jpg"
    src.write_bytes(_jpeg(MICROVIDEO_XMP) + bytes(100))  # the video cut off by an editor
    like = load_image(src)
    assert in_place_loss(like) == "its motion photo video (its XMP names one, but it was not found after the picture)"
    saved = save_image(tmp_path / "out.jpg", like.pixels, like)
    assert saved.notes == [
        "motion photo: its XMP names a video that was not found after the picture; its motion photo tags dropped",
        "100 bytes of data after the picture kept as they were (not restored)",
    ]
    out = saved.path.read_bytes()
    assert b"MicroVideo" not in out and out.endswith(bytes(100))


def test_a_motion_photo_with_a_gain_map_as_png_keeps_no_directory(tmp_path: Path) -> None:
    gain = _jpeg(seed=1)
    src = tmp_path / "PXL_2.MP.jpg"
    src.write_bytes(_jpeg(_directory_xmp(len(gain))) + gain + VIDEO)
    like = load_image(src)
    saved = save_image(tmp_path / "out.png", like.pixels, like, format="png")
    xmp = load_image(saved.path).xmp or b""
    assert b"Camera" in xmp and b"Directory" not in xmp and b"MotionPhoto" not in xmp


def test_a_read_error_after_the_picture_fails_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "MVIMG_3.jpg"
    src.write_bytes(_jpeg(MICROVIDEO_XMP) + VIDEO)

    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(trailer_module, "open", unreadable, raising=False)
    with pytest.raises(
        InputError, match=r"^.*MVIMG_3\.jpg: cannot read what follows its picture \(Input/output error\)$"
    ):
        load_image(src)


def test_in_place_keeps_what_follows_the_picture_and_refuses_what_it_cannot_keep(tmp_path: Path) -> None:
    folder = tmp_path / "ip"
    folder.mkdir()
    files = {
        "20240101_livefocus.jpg": _jpeg() + LIVE_FOCUS,  # kept after the new picture
        "MVIMG_stripped.jpg": _jpeg(MICROVIDEO_XMP) + bytes(100),  # the video the XMP names is not there
        "two.jpg": _jpeg() + _jpeg(seed=2),  # a second picture: dropped, so refused
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 1, stdout + stderr
    report = json.loads(stdout)
    assert _trailer_of(folder / "20240101_livefocus.jpg") == LIVE_FOCUS
    assert (folder / "MVIMG_stripped.jpg").read_bytes() == files["MVIMG_stripped.jpg"]
    assert (folder / "two.jpg").read_bytes() == files["two.jpg"]
    failed = sorted((Path(f["path"]).name, f["reason"]) for f in report["failed"])
    assert failed == [
        ("MVIMG_stripped.jpg", "--in-place would lose its motion photo video (its XMP names one, but it was not found "
         "after the picture); use -o DIR to keep the original"),
        ("two.jpg", "--in-place would lose picture 2 (only the first is processed); use -o DIR to keep the original"),
    ]  # fmt: skip


# ------------------------------------------------------------------------ 2, 4. HEIC/AVIF nclx and 10 bits


P3 = {"color_primaries": 12, "transfer_characteristics": 13, "matrix_coefficients": 6, "full_range_flag": 1}
PQ = {"color_primaries": 9, "transfer_characteristics": 16, "matrix_coefficients": 9, "full_range_flag": 0}
#: The same colours coded as RGB (matrix 0, full range), so that a lossless file holds each code exactly.
PQ_RGB = {**PQ, "matrix_coefficients": 0, "full_range_flag": 1}
HDR_BOXES = {
    "content_light_level": {"max_content_light_level": 1000, "max_pic_average_light_level": 400},
    "mastering_display_colour_volume": {
        "display_primaries_x": (13250, 7500, 34000), "display_primaries_y": (34500, 3000, 16000),  # G, B, R
        "white_point_x": 15635, "white_point_y": 16450,
        "max_display_mastering_luminance": 10_000_000, "min_display_mastering_luminance": 50,
    },
}  # fmt: skip


def _png_chunk(path: Path, tag: bytes) -> bytes | None:
    data = path.read_bytes()
    at = data.find(tag)
    return None if at < 0 else data[at + 4 : at + 4 + struct.unpack(">I", data[at - 4 : at])[0]]


def _ten_bit_ramp() -> np.ndarray:
    """A 10-bit ramp (every code 0-1023 along a row) as pillow-heif's 16-bit samples."""
    codes = np.tile(np.arange(1024, dtype=np.uint16)[None, ::8], (24, 1))  # 128 wide
    return np.stack([codes, codes[::-1], np.roll(codes, 40, axis=1)], axis=-1) << 6


def _p3_is_cicp_in_png_and_dropped_from(like: LoadedImage, tmp_path: Path, kind: str, fmt: str, name: str) -> None:
    """A Display P3 ``like`` (its out.png written already) has its code points as PNG's cICP, and ``fmt``, which has
    no place for them, drops them with the note that says so."""
    assert _png_chunk(tmp_path / "out.png", b"cICP") == bytes((12, 13, 0, 1))
    assert save_image(tmp_path / f"out.{fmt}", like.pixels, like, format=fmt).notes == [
        f"{kind} colour information (nclx: Display P3) cannot be stored in {name}; dropped, so colour-managed "
        "viewers may show the picture in other colours"
    ]


def test_heic_nclx_is_kept_in_heic_as_cicp_in_png_and_named_elsewhere(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.from_bytes("RGB", (56, 40), _pixels().tobytes()).save(tmp_path / "p3.heic", quality=90, nclx_profile=P3)
    like = load_image(tmp_path / "p3.heic")
    saved = save_image(tmp_path / "out.heic", like.pixels, like)
    assert saved.notes == []
    nclx = pillow_heif.open_heif(tmp_path / "out.heic").info["nclx_profile"]
    assert {k: nclx[k] for k in P3} == P3
    assert save_image(tmp_path / "out.png", like.pixels, like, format="png").notes == []
    _p3_is_cicp_in_png_and_dropped_from(like, tmp_path, "HEIC", "jpeg", "JPEG")


def test_ten_bit_pq_heic_keeps_its_bits_colour_and_light_levels(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    ramp = _ten_bit_ramp()
    src = tmp_path / "pq10.heic"
    lossless = {"quality": -1, "chroma": 444, "nclx_profile": PQ_RGB}
    pillow_heif.from_bytes("RGB;16", (128, 24), ramp.tobytes()).save(src, **lossless, **HDR_BOXES)
    like = load_image(src)
    assert like.bit_depth == 16 and like.extra["bits"] == 10 and like.notes == []
    assert like.mode == "RGB"  # Pillow's mode, as a 16-bit PNG's: bit_depth and extra["bits"] say the depth
    assert np.array_equal(np.rint(like.pixels * 1023).astype(np.uint16), ramp >> 6)  # the file's codes, exactly
    saved = save_image(tmp_path / "out.heic", like.pixels, like, quality=100)
    back = pillow_heif.open_heif(saved.path, convert_hdr_to_8bit=False)
    assert saved.notes == [] and back.info["bit_depth"] == 10
    assert {k: back.info["nclx_profile"][k] for k in PQ} == PQ_RGB
    assert back.info["content_light_level"] == HDR_BOXES["content_light_level"]
    error = np.abs((np.asarray(back) >> 6).astype(int) - (ramp >> 6))  # lossy: how close depends on the encoder
    assert error.mean() < 4 and error.max() <= 32
    png = save_image(tmp_path / "out.png", like.pixels, like, format="png")
    assert png.notes == [] and load_image(png.path).bit_depth == 16
    assert _png_chunk(png.path, b"cICP") == bytes((9, 16, 0, 1))
    assert _png_chunk(png.path, b"cLLI") == struct.pack(">2I", 10_000_000, 4_000_000)
    assert _png_chunk(png.path, b"mDCV") == struct.pack(">8H2I", 34000, 16000, 13250, 34500, 7500, 3000, 15635, 16450,
                                                         10_000_000, 50)  # fmt: skip  # R, G, B as PNG orders them
    jpg = save_image(tmp_path / "out.jpg", like.pixels, like, format="jpeg")
    assert jpg.notes == [
        "10-bit written as 8-bit because JPEG cannot hold 10 bits",
        "HEIC colour information (nclx: BT.2020, PQ, mastering display, content light level) cannot be stored in "
        "JPEG; dropped, so the HDR picture shows as washed-out SDR",
    ]


def test_in_place_keeps_a_ten_bit_heic_ten_bit(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "a.heic"
    pillow_heif.from_bytes("RGB;16", (128, 24), _ten_bit_ramp().tobytes()).save(src, quality=90, nclx_profile=PQ)
    before = src.read_bytes()
    code, stdout, stderr = _invoke(str(src.parent), "--in-place")
    assert code == 0, stdout + stderr
    assert src.read_bytes() != before and "8-bit" not in stdout + stderr
    back = pillow_heif.open_heif(src, convert_hdr_to_8bit=False)
    assert back.info["bit_depth"] == 10 and back.info["nclx_profile"]["transfer_characteristics"] == 16


def _heic_with(path: Path, kind: bytes) -> None:
    """A HEIC whose alpha plane is made another auxiliary image: its ``auxC`` type (a URN of the same length)
    rewritten to ``kind``, the depth map's (``...auxid:2``) or another (pillow-heif writes neither)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    pillow_heif.from_bytes("RGBA", (56, 40), np.dstack([_pixels(), _pixels()[..., :1]]).tobytes()).save(buf)
    alpha = b"urn:mpeg:hevc:2015:auxid:1"
    assert len(kind) == len(alpha) and buf.getvalue().count(alpha) == 1
    path.write_bytes(buf.getvalue().replace(alpha, kind))


def test_heic_gain_map_and_depth_map_are_named_and_refused_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "ip"
    folder.mkdir()
    _heic_with(folder / "depth.heic", b"urn:mpeg:hevc:2015:auxid:2")
    _heic_with(folder / "gain.heic", b"urn:com:apple:aux:gainmap1")  # any auxiliary image pillow-heif cannot write
    depth, gain = load_image(folder / "depth.heic"), load_image(folder / "gain.heic")
    assert depth.notes == ["HEIC depth map not kept: weatherclean cannot write auxiliary images; dropped"]
    assert gain.notes == ["HEIC auxiliary image urn:com:apple:aux:gainmap1 not kept: weatherclean cannot write "
                          "auxiliary images; dropped"]  # fmt: skip
    assert in_place_loss(depth) == "its depth map (weatherclean cannot write auxiliary images)"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 1 and json.loads(stdout)["counts"]["failed"] == 2, stdout + stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_heic_keeps_its_viewing_environment_and_diffuse_white(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    ambient = {"ambient_illumination": 3141, "ambient_light_x": 15635, "ambient_light_y": 16450}
    more = {"ambient_viewing_environment": ambient, "nominal_diffuse_white_luminance": 203}
    pillow_heif.from_bytes("RGB", (56, 40), _pixels().tobytes()).save(tmp_path / "a.heic", quality=90, **more)
    if pillow_heif.open_heif(tmp_path / "a.heic").info.get("nominal_diffuse_white_luminance") != 203:
        pytest.skip("this pillow-heif does not write them")
    like = load_image(tmp_path / "a.heic")
    saved = save_image(tmp_path / "out.heic", like.pixels, like)
    info = pillow_heif.open_heif(saved.path).info
    assert saved.notes == [] and {key: info.get(key) for key in more} == more
    png = save_image(tmp_path / "out.png", like.pixels, like, format="png")
    assert png.notes == [
        "HEIC colour information (ambient viewing environment, nominal diffuse white luminance) cannot be stored in "
        "PNG; dropped, so HDR displays tone-map it without them"
    ]


def test_png_cicp_and_hdr_chunks_become_heic_nclx_and_hdr_properties(tmp_path: Path) -> None:
    """A PNG's cICP was said "cannot be stored in HEIC", though HEIC says the same as nclx."""
    pillow_heif = pytest.importorskip("pillow_heif")
    src = tmp_path / "pq.heic"
    pillow_heif.from_bytes("RGB", (56, 40), _pixels().tobytes()).save(src, quality=90, nclx_profile=PQ, **HDR_BOXES)
    heic = load_image(src)
    png = load_image(save_image(tmp_path / "pq.png", heic.pixels, heic, format="png").path)
    saved = save_image(tmp_path / "back.heic", png.pixels, png, format="heic")
    assert saved.notes == []
    info = pillow_heif.open_heif(saved.path).info
    assert {k: info["nclx_profile"][k] for k in PQ} == {**PQ, "matrix_coefficients": 6, "full_range_flag": 1}
    assert info["content_light_level"] == HDR_BOXES["content_light_level"]
    assert info["mastering_display_colour_volume"] == {
        **HDR_BOXES["mastering_display_colour_volume"],
        "display_primaries_x": (13250, 7500, 34000), "display_primaries_y": (34500, 3000, 16000),
    }  # fmt: skip
    assert info["chroma"] == 420  # coded as YCbCr, not as RGB 4:4:4, which few decoders read


def _ten_bit_avif(path: Path) -> None:
    """A real 10-bit AVIF (Pillow writes 8 bits only): one frame of SVT-AV1 in PyAV's AVIF muxer."""
    import av

    if "libsvtav1" not in av.codecs_available or not Image.registered_extensions().get(".avif"):
        pytest.skip("needs PyAV with SVT-AV1 and a Pillow with AVIF")
    with av.open(str(path), "w", format="avif") as out:
        stream = out.add_stream("libsvtav1", rate=1)
        stream.width, stream.height, stream.pix_fmt = 56, 40, "yuv420p10le"
        frame = av.VideoFrame.from_ndarray(_pixels(), format="rgb24").reformat(format="yuv420p10le")
        out.mux(stream.encode(frame))
        out.mux(stream.encode())


def test_in_place_refuses_an_avif_it_would_reduce_to_eight_bits(tmp_path: Path) -> None:
    """Pillow reads AVIF at 8 bits, so a 10-bit AVIF written back in place would lose two bits for good."""
    folder = tmp_path / "ip"
    folder.mkdir()
    _ten_bit_avif(folder / "a.avif")
    ten = load_image(folder / "a.avif")
    assert ten.notes == ["10-bit AVIF read as 8-bit (Pillow decodes AVIF at 8 bits)"]
    assert in_place_loss(ten) == "its 10-bit depth (it is read and written at 8 bits)"
    Image.fromarray(_pixels()).save(folder / "b.avif")
    assert in_place_loss(load_image(folder / "b.avif")) is None
    before = (folder / "a.avif").read_bytes()
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 1 and (folder / "a.avif").read_bytes() == before, stdout + stderr
    assert [Path(f["path"]).name for f in json.loads(stdout)["failed"]] == ["a.avif"]


def _avif_tagged(path: Path, primaries: int, transfer: int) -> None:
    """An AVIF whose nclx box says ``primaries``/``transfer`` (Pillow writes 1/13): its bytes patched by hand."""
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, "AVIF", quality=90)
    data = bytearray(buf.getvalue())
    at = data.index(b"colrnclx") + 8
    data[at : at + 4] = struct.pack(">HH", primaries, transfer)
    path.write_bytes(bytes(data))


def test_avif_nclx_is_kept_in_avif_and_as_cicp_in_png(tmp_path: Path) -> None:
    if not Image.registered_extensions().get(".avif"):
        pytest.skip("this Pillow has no AVIF")
    _avif_tagged(tmp_path / "p3.avif", 12, 13)
    like = load_image(tmp_path / "p3.avif")
    saved = save_image(tmp_path / "out.avif", like.pixels, like)
    assert saved.notes == []
    data = saved.path.read_bytes()
    at = data.index(b"colrnclx") + 8
    assert struct.unpack(">HH", data[at : at + 4]) == (12, 13)  # Pillow wrote 1/13: set to the input's
    assert load_image(saved.path).pixels.shape == like.pixels.shape
    save_image(tmp_path / "out.png", like.pixels, like, format="png")
    _p3_is_cicp_in_png_and_dropped_from(like, tmp_path, "AVIF", "webp", "WebP")


# ---------------------------------------------------------------------------- 3. names that differ in case


def test_outputs_whose_names_differ_only_in_case_clash(tmp_path: Path) -> None:
    folder = tmp_path / "clash"
    folder.mkdir()
    Image.fromarray(_pixels()).save(folder / "IMG_1001.JPG")
    (folder / "IMG_1001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")  # planning does not open it
    code, stdout, stderr = _invoke(str(folder), "--format", "jpeg", "--dry-run")
    assert code == 2, stdout + stderr
    said = " ".join(stderr.split())
    out = tmp_path / "clash_desnowed"
    assert f"both {folder}/IMG_1001.HEIC and {folder}/IMG_1001.JPG would be written here, as " in said
    assert f"as {out}/IMG_1001.jpg and {out}/IMG_1001.JPG: paths that differ only in case, one file on macOS" in said
    assert said.endswith(
        "their names differ only in the extension, which --format makes the same; rename one, or leave out --format"
    )


def test_inputs_that_differ_only_in_case_keep_their_outputs_apart(tmp_path: Path) -> None:
    """``a.jpg`` beside ``A.jpg`` (or ``trip/`` beside ``Trip/``) can only be on a disk that tells case apart: their
    outputs mirror them, as they are. Two folders given whose trees meet in the ``-o`` in two cases still clash,
    and the message shows both paths whole and says which folders to rename."""
    for name in ("same/a.jpg", "same/A.jpg", "same/trip/IMG_1.jpg", "same/Trip/IMG_1.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_pixels()).save(tmp_path / name)
    plan = plan_batch([tmp_path / "same"], tmp_path / "out", tag="desnowed", formats=OutputFormat())
    assert len(plan.jobs) == 4
    for name in ("x/trip/IMG_1.jpg", "y/Trip/IMG_1.jpg"):
        (tmp_path / name).parent.mkdir(parents=True)
        Image.fromarray(_pixels()).save(tmp_path / name)
    out = tmp_path / "o"
    with pytest.raises(InputError) as info:
        plan_batch([tmp_path / "x", tmp_path / "y"], out, tag="desnowed", formats=OutputFormat())
    assert str(info.value) == (
        f"{out}/Trip/IMG_1.jpg: both {tmp_path}/x/trip/IMG_1.jpg and {tmp_path}/y/Trip/IMG_1.jpg would be written "
        f"here, as {out}/trip/IMG_1.jpg and {out}/Trip/IMG_1.jpg: paths that differ only in case, one file on macOS, "
        "Windows and exFAT disks; rename one of the folders trip and Trip, or give each input its own -o folder"
    )


# ---------------------------------------------------------------------------------------------- 5, 7. MPO


def _mpo(path: Path, pictures: int = 2) -> None:
    first = Image.fromarray(_pixels())
    first.save(path, "MPO", save_all=True, append_images=[Image.fromarray(_pixels(seed=i)) for i in range(1, pictures)])


def test_mpo_files_are_photos_written_as_jpeg(tmp_path: Path) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    _mpo(folder / "DSCF0001.MPO")
    assert media.is_image_path(folder / "DSCF0001.MPO")
    assert output_suffix(Path("x.MPO"), None) == Path("x.jpg") and output_suffix(Path("x.mpo"), "PNG") == Path("x.png")
    code, stdout, stderr = _invoke(str(folder), "-o", str(tmp_path / "out"), "--json")
    assert code == 0, stdout + stderr
    with Image.open(tmp_path / "out" / "DSCF0001.jpg") as im:
        assert im.format == "JPEG" and im.size == (56, 40)
    assert [n["note"] for n in json.loads(stdout)["notes"]] == [
        "multi-picture JPEG: only picture 1 of 2 processed; other pictures dropped"
    ]


def test_in_place_fails_an_mpo_alone_and_does_the_rest(tmp_path: Path) -> None:
    """An MPO refused the whole ``--in-place`` batch at planning, so the JPEG beside it was not done either."""
    folder = tmp_path / "e"
    folder.mkdir()
    _mpo(folder / "x.mpo")
    (folder / "y.jpg").write_bytes(_jpeg())
    before = (folder / "x.mpo").read_bytes()
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 1, stdout + stderr
    report = json.loads(stdout)
    assert report["counts"]["done"] == 1 and (folder / "y.jpg").read_bytes() != _jpeg()
    assert [(Path(f["path"]).name, f["reason"]) for f in report["failed"]] == [
        ("x.mpo", "--in-place cannot write it back under its own name: an MPO is written as a JPEG of its first "
         "picture, under a new name (x.jpg); use -o DIR to keep the original")
    ]  # fmt: skip
    assert (folder / "x.mpo").read_bytes() == before and not (folder / "x.jpg").exists()


def test_in_place_names_the_one_picture_it_would_lose(tmp_path: Path) -> None:
    _mpo(tmp_path / "two.jpg")
    _mpo(tmp_path / "three.jpg", pictures=3)
    assert in_place_loss(load_image(tmp_path / "two.jpg")) == "picture 2 (only the first is processed)"
    assert in_place_loss(load_image(tmp_path / "three.jpg")) == "pictures 2–3 (only the first is processed)"


# ------------------------------------------------------------------------------ 6. --format heic, no extra


def test_format_heic_without_the_extra_gives_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "heif_ready", lambda: False)
    Image.fromarray(_pixels()).save(tmp_path / "a.jpg")
    code, stdout, stderr = _invoke(str(tmp_path / "a.jpg"), "--format", "heic", "--dry-run")
    assert code == 2
    assert stderr.strip() == "error: heic output needs the optional extra: pip install 'weatherclean[heif]'"


# ------------------------------------------------------------- a review of the above: AVIF aux, Fuji pairs, sizes


def _avif_with_depth(path: Path) -> None:
    """An AVIF whose alpha is declared a depth map (``auxC`` type ``...auxiliary:depth``), as a phone's depth map."""
    from weatherclean.io.images.formats import avif_available

    if not avif_available():
        pytest.skip("Pillow without AVIF")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 4)).astype(np.uint8)).save(buf, "AVIF")
    path.write_bytes(buf.getvalue().replace(b"auxiliary:alpha", b"auxiliary:depth"))  # same length


def test_an_avif_depth_map_is_noted_and_in_place_refuses_that_file_alone(tmp_path: Path) -> None:
    """A HEIC's auxiliary images were noted and refused ``--in-place``; an AVIF's were lost without a word."""
    folder = tmp_path / "d"
    folder.mkdir()
    _avif_with_depth(folder / "depth.avif")
    (folder / "y.jpg").write_bytes(_jpeg())
    like = load_image(folder / "depth.avif")
    assert like.notes == ["AVIF depth map not kept: weatherclean cannot write auxiliary images; dropped"]
    assert in_place_loss(like) == "its depth map (weatherclean cannot write auxiliary images)"
    before = (folder / "depth.avif").read_bytes()
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json")
    assert code == 1, stdout + stderr
    report = json.loads(stdout)
    assert report["counts"]["done"] == 1 and [Path(f["path"]).name for f in report["failed"]] == ["depth.avif"]
    assert (folder / "depth.avif").read_bytes() == before
    plain = io.BytesIO()
    Image.fromarray(_pixels()).convert("RGBA").save(plain, "AVIF")
    (folder / "alpha.avif").write_bytes(plain.getvalue())  # its alpha is an auxiliary image too, and is kept
    assert load_image(folder / "alpha.avif").notes == []


def test_a_fuji_3d_pair_does_the_jpeg_and_skips_the_mpo_alone(tmp_path: Path) -> None:
    """``DSCF0001.MPO`` beside ``DSCF0001.JPG`` refused the whole folder (exit 2), with ``--format png`` too, where
    the reason given (an MPO is written as JPEG) was false."""
    folder = tmp_path / "fuji"
    folder.mkdir()
    _mpo(folder / "DSCF0001.MPO")
    (folder / "DSCF0001.JPG").write_bytes(_jpeg())
    (folder / "DSCF0002.JPG").write_bytes(_jpeg(seed=2))
    for extra, suffix, why in (
        ((), ".jpg", "an MPO is written as a .jpg"),
        (("--format", "png"), ".png", "--format gives both the same extension"),
    ):
        out = tmp_path / f"out_{suffix[1:]}"
        code, stdout, stderr = _invoke(str(folder), "-o", str(out), "--json", *extra)
        assert code == 0, stdout + stderr
        report = json.loads(stdout)
        assert report["counts"]["done"] == 2
        assert [(Path(r["path"]).name, r["reason"]) for r in report["skipped"]] == [
            ("DSCF0001.MPO", f"its output DSCF0001{suffix} would be DSCF0001.JPG's ({why}); rename one of them, or "
             "do it alone with another -o DIR")
        ]  # fmt: skip
        names = sorted(p.name for p in out.iterdir())
        assert names == (["DSCF0001.JPG", "DSCF0002.JPG"] if suffix == ".jpg" else ["DSCF0001.png", "DSCF0002.png"])


def test_in_place_drops_stale_motion_tags_when_nothing_follows_the_picture(tmp_path: Path) -> None:
    """A JPEG whose XMP says motion photo with nothing after its picture (as earlier weatherclean versions wrote
    them) was refused ``--in-place``, though nothing could be lost."""
    src = tmp_path / "MVIMG_3.jpg"
    src.write_bytes(_jpeg(MICROVIDEO_XMP))
    assert in_place_loss(load_image(src)) is None
    code, stdout, stderr = _invoke(str(src), "--in-place", "--json")
    assert code == 0, stdout + stderr
    assert [n["note"] for n in json.loads(stdout)["notes"]] == [
        "motion photo: its XMP names a video that was not found after the picture; its motion photo tags dropped"
    ]
    assert b"MicroVideo" not in src.read_bytes()


def test_a_one_picture_mpo_in_place_is_told_of_its_new_name_not_of_lost_pictures(tmp_path: Path) -> None:
    _mpo(tmp_path / "one.mpo", pictures=1)
    code, stdout, stderr = _invoke(str(tmp_path), "--in-place", "--json")
    assert code == 1, stdout + stderr
    reason = json.loads(stdout)["failed"][0]["reason"]
    assert "pictures after its first" not in reason and "under a new name (one.jpg)" in reason


def test_sizes_in_notes_are_in_bytes_kb_mb_or_gb() -> None:
    """104 bytes were shown as "1 KB", and 2 GB as "2147.3 MB"; each note had its own formatter."""
    assert [size_text(n) for n in (1, 104, 3032, 5 << 20, 2 << 30)] == ["1 byte", "104 bytes", "3 KB", "5.0 MB",
                                                                      "2.0 GB"]  # fmt: skip
    fake = trailer_module.Trailer(start=10, size=10 + 104)
    assert trailer_module.trailer_notes(fake, None) == ["104 bytes of data after the picture kept as they were (not "
                                                        "restored)"]  # fmt: skip
    assert trailer_module.trailer_notes(trailer_module.Trailer(0, 2 << 30, video=2 << 30), "PNG") == [
        "motion photo video (2.0 GB) cannot be stored in PNG; dropped"
    ]
