"""What a tester found running ``weatherclean desnow`` on videos and ``--frames`` folders (round of video support
for desnow): each test fails without its fix. Stand-in model, tiny clips: see tests/test_desnow_cli.py."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command, make_video
from weatherclean.cli import desnow
from weatherclean.io.images import OutputError


@pytest.fixture
def loads() -> StandIn:
    """The stand-in model, with the loads asked for in ``calls`` (none: refused before any work)."""
    return StandIn(Inverter)


def _invoke(*args: str, models: StandIn) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=models)


def _frame(path: Path, size: tuple[int, int] = (20, 28), seed: int = 0) -> None:
    """A small PNG frame of ``size`` (height, width)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)).save(path)


def _notes(stdout: str) -> dict[str, str]:
    return {n["path"]: n["note"] for n in json.loads(stdout)["notes"]}


def test_a_video_inside_a_clip_folder_is_a_clash_reported_before_any_work(tmp_path: Path, loads: StandIn) -> None:
    """``card/clipA`` held frames and ``dash.mp4``: the video went to ``out/clipA/dash.mp4``, inside the clip's
    output folder, and the clip was then skipped as "output exists" (with --overwrite: as holding a foreign
    file), exit 0, its frames never done by any rerun."""
    for i in range(3):
        _frame(tmp_path / "card" / "clipA" / f"f{i}.png", seed=i)
    make_video(tmp_path / "card" / "clipA" / "dash.mp4", frames=3, audio=None)
    out = tmp_path / "out"
    for extra in ((), ("--dry-run",), ("--overwrite",), ("--shard", "1/2"), ("--shard", "2/2")):
        code, _, stderr = _invoke(str(tmp_path / "card"), "--frames", "-o", str(out), *extra, models=loads)
        error = " ".join(stderr.split())
        assert code == 2 and "dash.mp4" in error and "output folder of the clip" in error, (extra, stderr)
        assert "move the video out of the clip's folder" in error and len(stderr.strip().splitlines()) == 1
    assert loads.calls == [] and not out.exists()
    # The clip folder given directly: the video goes beside the clip's output folder, as before.
    code, _, stderr = _invoke(str(tmp_path / "card" / "clipA"), "--frames", "-o", str(out), models=loads)
    assert code == 0, stderr
    assert (out / "dash.mp4").is_file() and sorted(p.name for p in (out / "clipA").iterdir()) == [
        "f0.png", "f1.png", "f2.png",
    ]  # fmt: skip


def test_frames_with_a_video_format_get_a_note(tmp_path: Path, loads: StandIn) -> None:
    """``--frames --format mp4`` wrote PNG frames and said nothing (``"notes": []``)."""
    for i in range(2):
        _frame(tmp_path / "frames" / "clip" / f"{i}.png", seed=i)
    code, stdout, _ = _invoke(str(tmp_path / "frames"), "--frames", "-o", str(tmp_path / "o"), "--format", "mkv",
                              "--json", models=loads)  # fmt: skip
    assert code == 0 and (tmp_path / "o" / "clip" / "0.png").is_file()
    note = _notes(stdout)["--format mkv"]
    assert note == "applies to videos only; the 1 folder(s) of frames (--frames) among the inputs keep their own format"


def _tagged_mov(path: Path, tags: dict[str, str]) -> None:
    """A three-frame MOV with file tags, as a dash cam writes them."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        out.metadata.update(tags)
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def test_mov_to_mp4_names_the_make_and_model_it_drops(tmp_path: Path, loads: StandIn) -> None:
    """MP4's muxer writes no camera make or model; the run dropped them silently, where AVI said so."""
    import av

    _tagged_mov(tmp_path / "in" / "tagged.mov", {"title": "Trip", "make": "Garmin", "model": "DashCam 67W"})
    out = tmp_path / "o"
    code, stdout, stderr = _invoke(str(tmp_path / "in"), "-o", str(out), "--format", "mp4", "--json", models=loads)
    assert code == 0, stderr
    notes = list(_notes(stdout).values())
    assert any("MP4 cannot store the tags make, model; dropped (--format mov keeps them)" in n for n in notes), notes
    with av.open(str(out / "tagged.mp4")) as clip:
        assert clip.metadata.get("title") == "Trip"  # the title is still where iTunes-style readers look
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--json", models=loads)
    assert code == 0 and not any("make" in n for n in _notes(stdout).values())  # MOV keeps them


@pytest.mark.parametrize("fmt", ["webm", "avi", "mp4"])
def test_an_unknown_preset_is_refused_for_every_encoder(tmp_path: Path, loads: StandIn, fmt: str) -> None:
    """``--preset ludicrous`` was refused by x264 (MP4) but passed into WebM and AVI, whose encoders take none."""
    make_video(tmp_path / "a.mp4", frames=2, audio=None)
    code, _, stderr = _invoke(str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), "--format", fmt,
                              "--preset", "ludicrous", models=loads)  # fmt: skip
    assert code == 2 and "--preset ludicrous: no such preset; use one of ultrafast" in " ".join(stderr.split())
    assert loads.calls == [] and not (tmp_path / "o").exists()


def test_a_preset_the_encoder_does_not_take_gets_a_note(tmp_path: Path, loads: StandIn) -> None:
    """``--preset veryfast`` (the docs' tip for 2 cores) gave WebM and AVI no speed-up and no word."""
    make_video(tmp_path / "a.mp4", frames=2, audio=None)
    code, stdout, _ = _invoke(str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), "--format", "webm",
                              "--preset", "veryfast", "--json", models=loads)  # fmt: skip
    assert code == 0 and "ignored for libvpx-vp9 (.webm)" in _notes(stdout)["--preset veryfast"]
    code, stdout, _ = _invoke(str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o2"), "--preset", "veryfast",
                              "--json", models=loads)  # fmt: skip
    assert code == 0 and "--preset veryfast" not in _notes(stdout)  # x264 takes it


def test_a_frame_of_another_size_is_told_in_width_by_height_with_what_to_do(tmp_path: Path, loads: StandIn) -> None:
    """It read "frame size (60, 80) differs from (120, 160)": (h, w) tuples, and no hint."""
    for i in range(2):
        _frame(tmp_path / "fr" / "clip" / f"f{i}.png", size=(20, 28), seed=i)
    _frame(tmp_path / "fr" / "clip" / "f2.png", size=(10, 14))
    code, stdout, _ = _invoke(str(tmp_path / "fr"), "--frames", "-o", str(tmp_path / "o"), "--json", models=loads)
    reason = json.loads(stdout)["failed"][0]["reason"]
    assert code == 1 and "f2.png: frame is 14×10, but the clip's frames are 28×20 (as f0.png)" in reason, reason
    assert "resize or remove this one, or move it to a folder of its own" in reason and "(10, 14)" not in reason


def test_refusals_about_a_video_call_it_a_video(tmp_path: Path, loads: StandIn) -> None:
    make_video(tmp_path / "ip" / "phone.mov", frames=2, audio=None)
    code, _, stderr = _invoke(str(tmp_path / "ip" / "phone.mov"), "--in-place", "--format", "mp4", models=loads)
    assert code == 2 and "--in-place cannot change a video's format" in stderr
    make_video(tmp_path / "same" / "phone.mov", frames=2, audio=None)
    code, _, stderr = _invoke(str(tmp_path / "same" / "phone.mov"), "-o", str(tmp_path / "same"), models=loads)
    assert code == 2 and "output would overwrite an input video" in " ".join(stderr.split())
    assert loads.calls == []


def test_an_encoder_refused_by_a_container_says_what_is_likely_wrong_and_what_works(
    tmp_path: Path, loads: StandIn
) -> None:
    """``--codec mjpeg`` into MP4 read "cannot encode mjpeg into .mp4 with --preset medium --crf 18 (Invalid
    argument)", though MJPEG takes neither option; it refuses the limited-range frames."""
    make_video(tmp_path / "a.mp4", frames=2, audio=None)
    code, _, stderr = _invoke(str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), "--codec", "mjpeg", models=loads)
    error = " ".join(stderr.split())
    assert code == 2 and "--preset medium" not in error and "--crf 18" not in error, error
    assert "limited-range yuv420p" in error and "use --codec libx264" in error and loads.calls == []


def test_the_preset_check_leaves_alone_what_x264_takes_and_encoders_that_take_none(
    tmp_path: Path, loads: StandIn
) -> None:
    """A review found the new check refused ``--preset VeryFast`` and ``--preset 2`` (x264 takes both) and a
    hardware encoder's own presets (``h264_nvenc --preset p5``), which x264's list does not name."""
    from weatherclean.io.video import VideoOptions, check_encoder
    from weatherclean.io.video.encoder import check_preset

    for preset in ("VeryFast", "2", "slow"):
        check_preset(preset, "libx264")
        check_encoder(VideoOptions(preset=preset), ".mp4")
    with pytest.raises(OutputError, match="--preset ludicrous: no such preset"):
        check_preset("ludicrous", "libx264")
    check_preset("p5", "h264_nvenc")  # its own presets: not x264's to judge
