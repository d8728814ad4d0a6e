"""The model sees pictures the way a viewer shows them: EXIF-rotated photos and rotated videos are turned
upright for it and back for the file, which keeps its layout and its orientation tag or rotation."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, make_video
from weatherclean.cli import derain, desnow
from weatherclean.io.orientation import exif_orientation, rotation_stored, rotation_upright, to_stored, to_upright

TOP = 8  # rows the stand-in blacks out at the top of what it is shown


class _BlacksOutTheTop(torch.nn.Module):
    """Stands in for either model: blacks out the top rows of the picture it is shown, so a test can see
    which way up that picture was."""

    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[..., :TOP, :] = 0.0
        return y


def _stored_sideways(path: Path, orientation: int, size: tuple[int, int] = (40, 64)) -> np.ndarray:
    """A mid-grey PNG of ``size`` (H, W) stored with EXIF ``orientation``; returns its pixels."""
    pixels = np.full((*size, 3), 160, np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, exif=exif.tobytes())
    return pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_turns_round_trip_and_match_what_a_viewer_shows(orientation: int) -> None:
    from PIL import ImageOps

    stored = (np.random.default_rng(orientation).random((5, 7, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    shown = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(to_upright(stored, orientation), shown)
    assert np.array_equal(to_stored(to_upright(stored, orientation), orientation), stored)
    assert exif_orientation(exif.tobytes()) == orientation


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90])
def test_video_turns_round_trip(rotation: int) -> None:
    frame = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    turned = rotation_upright(frame, rotation)
    assert turned.shape == ((7, 5, 3) if rotation % 180 else (5, 7, 3))
    assert np.array_equal(rotation_stored(turned, rotation), frame)


@pytest.mark.parametrize("command", [desnow, derain])
def test_a_photo_stored_on_its_side_is_restored_upright_and_keeps_its_tag(tmp_path: Path, command: object) -> None:
    """Orientation 6: stored 40×64, shown 64×40 turned clockwise. The stand-in's top rows, upright, are
    the first stored columns; the output keeps the stored layout and the tag, so a viewer shows it the
    same way up as the input."""
    _stored_sideways(tmp_path / "in" / "portrait.png", 6)
    name = command.__name__.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
    code, _, stderr = invoke_command(
        command, name, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu",
        models=StandIn(_BlacksOutTheTop),
    )  # fmt: skip
    assert code == 0, stderr
    with Image.open(tmp_path / "out" / "portrait.png") as out:
        assert out.getexif().get(0x0112) == 6
        stored = np.asarray(out.convert("RGB")).astype(int)
    assert stored.shape == (40, 64, 3)
    assert (stored[:, :TOP] == 0).all() and (stored[:, TOP:] == 160).all()


def test_a_format_without_exif_gets_upright_pixels(tmp_path: Path) -> None:
    """BMP cannot keep the orientation tag, so the pixels are turned instead, with a note."""
    _stored_sideways(tmp_path / "in" / "portrait.png", 6)
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "bmp", "--device", "cpu",
        models=StandIn(_BlacksOutTheTop),
    )  # fmt: skip
    assert code == 0, stderr
    assert "turned upright" in stdout + stderr
    shown = np.asarray(Image.open(tmp_path / "out" / "portrait.bmp").convert("RGB")).astype(int)
    assert shown.shape == (64, 40, 3)  # as a viewer showed the input
    assert (shown[:TOP] == 0).all() and (shown[TOP:] == 160).all()


def test_a_rotated_video_is_restored_as_a_player_shows_it(tmp_path: Path) -> None:
    """A display rotation of 90° (counter-clockwise): shown upright, the stand-in's top rows are the last
    stored columns. The output keeps the stored size and the rotation."""
    make_video(tmp_path / "in" / "clip.mp4", frames=4, size=(48, 64), audio=None, vfr=False, rotation=90)
    code, _, stderr = invoke_command(
        derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu",
        models=StandIn(_BlacksOutTheTop),
    )  # fmt: skip
    assert code == 0, stderr
    with av.open(str(tmp_path / "out" / "clip.mp4")) as c:
        frames = list(c.decode(video=0))
    assert frames[0].rotation == 90
    stored = frames[-1].to_ndarray(format="rgb24").astype(float)
    assert stored.shape == (48, 64, 3)
    assert stored[:, -TOP + 2 :].mean() < 20 < 60 < stored[:, : -TOP - 2].mean()


@pytest.mark.parametrize("rotation", [90, 270, 180])
def test_a_rotated_video_written_as_avi_is_stored_upright(tmp_path: Path, rotation: int) -> None:
    """AVI cannot store a display rotation: a phone's portrait clip converted to AVI came out on its side.
    Its frames are now written turned upright, at the size the clip is shown at, with a note."""
    make_video(tmp_path / "in" / "clip.mp4", frames=4, size=(48, 64), audio=None, vfr=False, rotation=rotation)
    code, stdout, stderr = invoke_command(
        derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "avi", "--device", "cpu",
        models=StandIn(_BlacksOutTheTop),
    )  # fmt: skip
    assert code == 0, stderr
    said = " ".join((stdout + stderr).replace("│", " ").split())  # the notes' table wraps in a narrow terminal
    assert f"AVI cannot store the {rotation}° rotation;" in said and "turned upright" in said
    with av.open(str(tmp_path / "out" / "clip.avi")) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 4 and frames[0].rotation == 0
    shown = frames[-1].to_ndarray(format="rgb24").astype(float)
    assert shown.shape == ((64, 48, 3) if rotation % 180 else (48, 64, 3))
    assert shown[: TOP - 2].mean() < 20 < 60 < shown[TOP + 2 :].mean()  # the stand-in's black band is on top


def test_an_untagged_sd_clip_turned_into_avi_keeps_its_colours(tmp_path: Path) -> None:
    """Untagged video is read as players read it: BT.709 from 1280 columns or above 576 rows, else BT.601. A
    736×400 portrait clip turned upright into AVI is 736 rows tall: it was read as BT.709 (red 200, 40, 40 came
    to the model as 213, 55, 37). It is read by its own size and written as players will read the output's."""
    from fractions import Fraction

    from weatherclean.io.video import process_video
    from weatherclean.io.video.colour import _Colour, _frame_to_rgb

    src = tmp_path / "sd.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 736, 400, "yuv420p"
        v.set_display_rotation(90)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((400, 736, 3), (200, 40, 40), np.uint8), format="rgb24")
            frame = frame.reformat(format="yuv420p", src_colorspace=5, dst_colorspace=5)  # BT.601, untagged
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    seen: list[np.ndarray] = []
    process_video(src, tmp_path / "sd.avi", lambda f: seen.append(f) or f, upright=True)
    assert np.abs(seen[0].reshape(-1, 3).mean(axis=0) - (200, 40, 40)).max() < 3
    with av.open(str(tmp_path / "sd.avi")) as c:
        frame = next(c.decode(video=0))
        shown = _frame_to_rgb(frame, False, _Colour.of(c.streams.video[0].codec_context, frame.height))
    assert frame.height == 736 and np.abs(shown.reshape(-1, 3).mean(axis=0) - (200, 40, 40)).max() < 3


def test_a_rotation_avi_cannot_turn_by_quarters_is_left_with_a_note(tmp_path: Path) -> None:
    make_video(tmp_path / "in" / "clip.mp4", frames=3, size=(48, 64), audio=None, vfr=False, rotation=45)
    from weatherclean.io.video import process_video

    result = process_video(tmp_path / "in" / "clip.mp4", tmp_path / "clip.avi", lambda f: f, upright=True)
    assert "AVI cannot store the 45° rotation; the clip will show unrotated" in result.notes
    with av.open(str(tmp_path / "clip.avi")) as c:
        assert next(c.decode(video=0)).to_ndarray(format="rgb24").shape == (48, 64, 3)


def test_a_turned_photo_is_restored_into_its_own_decoded_array(tmp_path: Path) -> None:
    """The turned-back result goes into the decoded array, as for an upright photo: a third float copy of
    a 24-MP portrait photo is 288 MB more at the peak."""
    from weatherclean import load_restorer
    from weatherclean.io.images import load_image

    _stored_sideways(tmp_path / "portrait.png", 6)
    image = load_image(tmp_path / "portrait.png")
    decoded = image.pixels
    result = load_restorer("snow", model=_BlacksOutTheTop(), device="cpu").restore_loaded(image)
    assert result is decoded and result.shape == (40, 64, 3)
    assert (result[:, :TOP] == 0).all() and np.allclose(result[:, TOP:], 160 / 255)


def test_frames_stored_on_their_side_are_restored_upright(tmp_path: Path) -> None:
    """``derain --frames``: a folder of a phone's portrait frames went to the model sideways."""
    for i in range(3):
        _stored_sideways(tmp_path / "clip" / f"{i:03d}.png", 6)
    code, _, stderr = invoke_command(
        derain, "derain", str(tmp_path / "clip"), "--frames", "-o", str(tmp_path / "out"), "--device", "cpu",
        models=StandIn(_BlacksOutTheTop),
    )  # fmt: skip
    assert code == 0, stderr
    for i in range(3):
        with Image.open(tmp_path / "out" / "clip" / f"{i:03d}.png") as out:
            assert out.getexif().get(0x0112) == 6
            stored = np.asarray(out.convert("RGB")).astype(int)
        assert stored.shape == (40, 64, 3) and (stored[:, :TOP] == 0).all() and (stored[:, TOP:] == 160).all()
