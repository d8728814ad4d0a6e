"""``weatherclean derain`` end to end: videos keep length, timing, rotation and audio; clips keep memory,
photos do not; bad inputs fail alone with one line."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, make_video
from weatherclean.cli import derain
from weatherclean.io.video import process_video

STEP = 0.05


class _Counter(torch.nn.Module):
    """Stands in for J4R-Net: its memory counts frames, and every output pixel shows the count.

    Frame k of a clip (counted per tile position) comes out as a flat grey of k·STEP, so a test can
    see the order frames were processed in, whether memory was carried, and whether tiles shared it.
    """

    receptive_field = 8
    bytes_per_pixel = None

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        count = (state if state is not None else torch.zeros(1)) + 1
        return SimpleNamespace(background=torch.full_like(x, float(count) * STEP)), count

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0].background


@pytest.fixture
def counter() -> StandIn:
    """The stand-in J4R-Net the CLI runs in place of --model, with the loads asked for in ``calls``."""
    return StandIn(_Counter)


def _invoke(*args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    """Run derain on the CPU unless a test names a device: the stand-in's memory counts its calls, and on
    CUDA the engine calls a model once more per picture to measure its memory."""
    device = () if "--device" in args else ("--device", "cpu")
    return invoke_command(derain, "derain", *args, *device, models=models)


def _streams(path: Path) -> dict[str, object]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = list(c.decode(v))
        return {
            "pts_ms": [round(float(f.pts * f.time_base) * 1000) for f in frames],
            "rotation": frames[0].rotation,
            "audio": [s.codec_context.name for s in c.streams.audio],
            "levels": [float(f.to_ndarray(format="rgb24").mean()) / 255 for f in frames],
            "size": (frames[0].height, frames[0].width),
        }


def test_video_keeps_frames_timing_rotation_audio_and_memory(tmp_path: Path, counter: StandIn) -> None:
    stamps = make_video(tmp_path / "in" / "clip.mp4", frames=12, rotation=90)
    code, stdout, stderr = _invoke(str(tmp_path / "in"), "--tile", "64", "--json", models=counter)
    assert code == 0, stderr
    assert counter.calls == ["default:rain"]
    out = tmp_path / "in_derained" / "clip.mp4"
    got = _streams(out)
    assert got["pts_ms"] == stamps  # every frame, variable frame rate kept exactly
    assert got["rotation"] == 90 and got["audio"] == ["aac"] and got["size"] == (48, 64)
    expected = [min(1.0, (k + 1) * STEP) for k in range(12)]  # memory carried, frames in order
    assert np.allclose(got["levels"], expected, atol=0.02)
    with av.open(str(tmp_path / "in" / "clip.mp4")) as a, av.open(str(out)) as b:
        assert abs(float(a.streams.audio[0].duration * a.streams.audio[0].time_base)
                   - float(b.streams.audio[0].duration * b.streams.audio[0].time_base)) < 1e-3  # fmt: skip
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_each_tile_position_has_its_own_memory(tmp_path: Path, counter: StandIn) -> None:
    make_video(tmp_path / "v.mp4", frames=5, size=(96, 128), audio=None, vfr=False)
    code, _, stderr = _invoke(str(tmp_path / "v.mp4"), "-o", str(tmp_path / "out"), "--tile", "64", models=counter)
    assert code == 0, stderr
    levels = _streams(tmp_path / "out" / "v.mp4")["levels"]
    assert np.allclose(levels, [(k + 1) * STEP for k in range(5)], atol=0.02)  # not 6× faster


def test_photos_are_independent_but_frames_are_a_clip(tmp_path: Path, counter: StandIn) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "clip").mkdir()
    for name in ("1.png", "2.png", "10.png"):  # natural order: 1, 2, 10
        Image.fromarray((rng.random((16, 20, 3)) * 255).astype(np.uint8)).save(tmp_path / "clip" / name)
    code, _, stderr = _invoke(str(tmp_path / "clip"), "-o", str(tmp_path / "photos"), models=counter)
    assert code == 0, stderr
    for name in ("1.png", "2.png", "10.png"):  # each photo alone: H = 0
        assert np.asarray(Image.open(tmp_path / "photos" / name)).mean() == pytest.approx(STEP * 255, abs=1)
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "keep.txt").write_text("the user's own file")
    code, _, stderr = _invoke(str(tmp_path / "clip"), "-o", str(tmp_path / "frames"), "--frames", models=counter)
    assert code == 0, stderr
    for k, name in enumerate(("1.png", "2.png", "10.png"), start=1):  # in -o DIR/<clip name>
        frame = np.asarray(Image.open(tmp_path / "frames" / "clip" / name))
        assert frame.mean() == pytest.approx(k * STEP * 255, abs=1)
    code, stdout, _ = _invoke(
        str(tmp_path / "clip"), "-o", str(tmp_path / "frames"), "--frames", "--json", models=counter
    )
    assert code == 0 and json.loads(stdout)["counts"] == {"done": 0, "skipped": 1, "failed": 0, "not_done": 0}
    code, _, _ = _invoke(
        str(tmp_path / "clip"), "-o", str(tmp_path / "frames"), "--frames", "--overwrite", models=counter
    )
    assert code == 0 and (tmp_path / "frames" / "keep.txt").read_text() == "the user's own file"
    assert (tmp_path / "frames" / "clip").stat().st_mode & 0o777 != 0o700  # not mkdtemp's private mode


def _audio_only(path: Path) -> None:
    """An MP4 with a sound track and no video stream."""
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=48000)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="flt", layout="mono")
        chunk.sample_rate, chunk.pts = 48000, 0
        out.mux(a.encode(chunk))
        out.mux(a.encode(None))


def test_bad_videos_fail_alone_with_one_line(tmp_path: Path, counter: StandIn) -> None:
    src = tmp_path / "in"
    src.mkdir()
    make_video(src / "good.mp4", frames=4, audio=None)
    _audio_only(src / "sound.mp4")
    with av.open(str(src / "empty.mkv"), "w") as out:  # a video stream without a single frame
        v = out.add_stream("libx264", rate=25)
        v.width, v.height = 32, 32
        out.start_encoding()  # the header, and nothing after it
    whole = (src / "good.mp4").read_bytes()
    (src / "cut.mp4").write_bytes(whole[: len(whole) // 3])
    (src / "text.mp4").write_text("not a video\n")
    (src / "zero.mov").write_bytes(b"")
    code, stdout, _ = _invoke(str(src), "-o", str(tmp_path / "out"), "--json", models=counter)
    assert code == 1
    summary = json.loads(stdout)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert [Path(d["input"]).name for d in summary["done"]] == ["good.mp4"]
    assert set(reasons) == {"sound.mp4", "empty.mkv", "cut.mp4", "text.mp4", "zero.mov"}
    assert "no video stream" in reasons["sound.mp4"] and "no frames" in reasons["empty.mkv"]
    assert "empty file" in reasons["zero.mov"] and "(unrecognised contents)" in reasons["text.mp4"]
    assert "truncated" in reasons["cut.mp4"]  # an interrupted copy, the commonest broken video
    assert all("\n" not in r and name not in r and "Errno" not in r for name, r in reasons.items())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.mp4"]  # nothing half-written


def test_odd_sizes_ten_bit_and_audio_the_container_cannot_hold(tmp_path: Path, counter: StandIn) -> None:
    make_video(tmp_path / "odd.mp4", size=(47, 63), audio=None, pix_fmt="yuv444p", frames=3)
    make_video(tmp_path / "deep.mkv", audio=None, pix_fmt="yuv420p10le", container="matroska", frames=3)
    make_video(tmp_path / "opus.mkv", audio="libopus", container="matroska", frames=3)
    code, stdout, stderr = _invoke(str(tmp_path / "odd.mp4"), str(tmp_path / "deep.mkv"), "-o",
                                   str(tmp_path / "out"), "--json", models=counter)  # fmt: skip
    assert code == 0, stderr
    notes = " ".join(n["note"] for n in json.loads(stdout)["notes"])
    assert "odd frame size" in notes and "bits" not in notes  # 10-bit video is written at 10 bits, no note
    assert _streams(tmp_path / "out" / "odd.mp4")["size"] == (47, 63)
    with av.open(str(tmp_path / "out" / "deep.mkv")) as deep:
        assert (deep.streams.video[0].codec_context.name, deep.streams.video[0].format.name) == ("hevc", "yuv420p10le")
    code, stdout, stderr = _invoke(str(tmp_path / "opus.mkv"), "-o", str(tmp_path / "avi"), "--format", "avi",
                                   "--json", models=counter)  # fmt: skip
    assert code == 0, stderr
    assert "re-encoded" in json.loads(stdout)["notes"][0]["note"]
    assert _streams(tmp_path / "avi" / "opus.avi")["audio"] == ["aac"]


def test_audio_at_rates_and_in_codecs_the_output_cannot_hold_is_reencoded(tmp_path: Path, counter: StandIn) -> None:
    """Opus takes 48 kHz but not a CD's 44.1: resampled, said in the note. PCM from Matroska into MP4 fails
    only at the trailer, after the whole clip, when its layout is unset: it becomes AAC before."""
    make_video(tmp_path / "cd.mp4", frames=3, audio_rate=44100)
    make_video(tmp_path / "pcm.mkv", audio="pcm_s16le", container="matroska", frames=3, audio_layout="mono")
    make_video(tmp_path / "film.mkv", audio="pcm_s16le", container="matroska", frames=3, audio_layout="5.1")
    code, stdout, stderr = _invoke(str(tmp_path / "cd.mp4"), "-o", str(tmp_path / "webm"), "--format", "webm",
                                   "--json", models=counter)  # fmt: skip
    assert code == 0, stderr
    assert "resampled from 44100 to 48000 Hz" in json.loads(stdout)["notes"][0]["note"]
    assert _streams(tmp_path / "webm" / "cd.webm")["audio"] == ["opus"]
    code, stdout, stderr = _invoke(str(tmp_path / "pcm.mkv"), "-o", str(tmp_path / "mp4"), "--format", "mp4",
                                   "--json", models=counter)  # fmt: skip
    assert code == 0, stderr
    assert "pcm_s16le re-encoded as aac" in json.loads(stdout)["notes"][0]["note"]
    assert _streams(tmp_path / "mp4" / "pcm.mp4")["audio"] == ["aac"]
    assert _channels(tmp_path / "mp4" / "pcm.mp4") == 1  # mono stays mono (not the encoder's stereo)
    for fmt, channels in (("mp4", 6), ("webm", 6), ("mkv", 6)):  # AAC and Opus keep 5.1; Matroska copies
        code, stdout, stderr = _invoke(str(tmp_path / "film.mkv"), "-o", str(tmp_path / f"film-{fmt}"),
                                       "--format", fmt, models=counter)  # fmt: skip
        assert code == 0, stderr
        assert _channels(next((tmp_path / f"film-{fmt}").iterdir())) == channels, fmt


def _channels(path: Path) -> int:
    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.layout.nb_channels


@pytest.mark.parametrize(("size", "full_range"), [((720, 1280), False), ((48, 64), True)])
def test_colours_survive_hd_and_full_range_clips(tmp_path: Path, size: tuple[int, int], full_range: bool) -> None:
    """An HD clip with no colour tags is BT.709 to every player, and a phone's full-range clip is full range:
    read and written that way, a saturated colour comes back within a few levels."""
    from fractions import Fraction

    h, w = size
    colour = np.array([200, 60, 30], np.uint8)
    with av.open(str(tmp_path / "in.mp4"), "w") as out:
        v = out.add_stream("libx264", rate=25, options={"crf": "0"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        if full_range:
            v.codec_context.color_range = 2
        for i in range(2):
            rgb = av.VideoFrame.from_ndarray(np.broadcast_to(colour, (h, w, 3)).copy(), format="rgb24")
            matrix = 1 if h >= 720 else 5
            frame = rgb.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range=2 if full_range else 1)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))

    def identity(frame: np.ndarray) -> np.ndarray:
        return frame

    process_video(tmp_path / "in.mp4", tmp_path / "out.mp4", identity)
    with av.open(str(tmp_path / "out.mp4")) as c:
        ctx = c.streams.video[0].codec_context
        frame = next(c.decode(video=0))
        matrix = {1: 1, 6: 5, 5: 5}[int(ctx.colorspace)]
        got = frame.to_ndarray(format="rgb24", src_colorspace=matrix, src_color_range=int(ctx.color_range))
    assert int(ctx.colorspace) == (1 if h >= 720 else 6) and int(ctx.color_range) == (2 if full_range else 1)
    assert np.abs(got.reshape(-1, 3).mean(axis=0) - colour).max() < 6  # swscale rounding, twice each way


def test_avi_gets_constant_rate_timestamps_in_order(tmp_path: Path, counter: StandIn) -> None:
    make_video(tmp_path / "cam.mkv", frames=10, vfr=False, audio=None, container="matroska")
    code, stdout, stderr = _invoke(
        str(tmp_path / "cam.mkv"), "-o", str(tmp_path / "o"), "--format", "avi", "--json", models=counter
    )
    assert code == 0, stderr
    with av.open(str(tmp_path / "o" / "cam.avi")) as c:
        v = c.streams.video[0]
        times = [round(float(f.pts * f.time_base), 3) for f in c.decode(v)]
        assert abs(float(v.average_rate) - 25) < 0.5
    assert times == [round(i * 0.04, 3) for i in range(10)]


def test_frames_mode_still_derains_videos_and_catches_clip_clashes(tmp_path: Path, counter: StandIn) -> None:
    make_video(tmp_path / "mix" / "cam.mp4", frames=3, audio=None)
    (tmp_path / "mix" / "shots").mkdir()
    for i in (1, 2):
        Image.new("RGB", (16, 12)).save(tmp_path / "mix" / "shots" / f"{i}.png")
    code, stdout, stderr = _invoke(
        str(tmp_path / "mix"), "--frames", "-o", str(tmp_path / "o"), "--json", models=counter
    )
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}
    assert (tmp_path / "o" / "cam.mp4").is_file() and (tmp_path / "o" / "shots" / "2.png").is_file()
    clash = tmp_path / "clash"
    (clash / "clash").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(clash / "top.png")  # loose frames of 'clash' → o2/clash
    Image.new("RGB", (8, 8)).save(clash / "clash" / "1.png")  # and the sub-clip 'clash' → o2/clash too
    code, _, stderr = _invoke(str(clash), "--frames", "-o", str(tmp_path / "o2"), models=counter)
    assert code == 2 and "both clips" in stderr


def test_bad_encoder_settings_fail_once_before_any_work(tmp_path: Path, counter: StandIn) -> None:
    make_video(tmp_path / "a.mp4", frames=2, audio=None)
    for args, words in ((["--preset", "bogus"], "bogus"), (["--codec", "nope"], "no such video encoder"),
                        (["--codec", "libx264", "--format", "webm"], "webm")):  # fmt: skip
        code, _, stderr = _invoke(str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), *args, models=counter)
        assert code == 2 and words in stderr, (args, stderr)
    assert counter.calls == []  # rejected before the model was even loaded
    code, _, stderr = _invoke(
        str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), "--codec", "libx265", "-q", models=counter
    )
    assert code == 0 and "x265 [info]" not in stderr
    with av.open(str(tmp_path / "o" / "a.mp4")) as c:
        assert c.streams.video[0].codec_context.codec_tag == "hvc1"  # what Apple players require


def test_out_of_memory_shrinks_the_tile_once_for_the_whole_clip() -> None:
    """A frame that ran out of memory at 128 px: the next frames start at 64 px instead of failing again."""
    from weatherclean.restore.recurrent import RecurrentTiles

    class _SmallOnly(_Counter):
        ooms = 0

        def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
            if max(x.shape[-2:]) > 64:
                type(self).ooms += 1
                raise RuntimeError("CUDA out of memory (simulated)")
            return super().step(x, state)

    clip = RecurrentTiles(_SmallOnly(), device=torch.device("cpu"), tile=128, overlap=8)
    frames = [clip(np.zeros((128, 128, 3), np.float32)) for _ in range(3)]
    assert _SmallOnly.ooms == 1 and clip.tile == 64 and "64-px tiles" in clip.notes[0]
    assert np.allclose(frames[2], 2 * STEP, atol=1e-6)  # memory restarted once, then carried


def _decodable_frames(path: Path) -> int:
    """What a plain, single-threaded PyAV loop that skips undecodable packets gets out of a file."""
    with av.open(str(path)) as c:
        count = 0
        for packet in c.demux(c.streams.video[0]):
            try:
                count += len(packet.decode())
            except av.error.InvalidDataError:
                continue
        return count


def test_a_truncated_video_keeps_every_decodable_frame_and_fails_unless_allowed(
    tmp_path: Path, counter: StandIn
) -> None:
    """An MP4 cut in the middle with its index first (15 frames listed): every frame a plain decoder gets
    is derained and written, the summary says "N of 15 frames", and only --allow-partial makes it exit 0."""
    whole = tmp_path / "whole.mp4"
    make_video(whole, frames=15, audio=None, container_options={"movflags": "faststart"})
    data = whole.read_bytes()
    (tmp_path / "in").mkdir()
    cut = tmp_path / "in" / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    n = _decodable_frames(cut)
    assert 1 < n < 15
    code, stdout, _ = _invoke(str(cut), "-o", str(tmp_path / "out"), "--json", models=counter)
    summary = json.loads(stdout)
    assert code == 1 and summary["counts"] == {"done": 0, "skipped": 0, "failed": 1, "not_done": 0}
    reason = summary["failed"][0]["reason"]
    assert f"only {n} of 15 frames" in reason and "--allow-partial" in reason and "\n" not in reason
    # Written with every decodable frame, under a marked name: the output's own name would pass for done.
    marked = tmp_path / "out" / "cut.partial.mp4"
    assert "cut.partial.mp4" in reason and len(_streams(marked)["levels"]) == n
    assert not (tmp_path / "out" / "cut.mp4").exists()
    code, stdout, _ = _invoke(str(cut), "-o", str(tmp_path / "out"), "--json", models=counter)  # a rerun still fails
    assert code == 1 and json.loads(stdout)["counts"] == {"done": 0, "skipped": 0, "failed": 1, "not_done": 0}
    code, stdout, _ = _invoke(str(tmp_path / "out"), "--dry-run", "--json", models=counter)  # never read as an input
    assert code == 0 and json.loads(stdout)["jobs"] == []
    code, stdout, _ = _invoke(str(cut), "-o", str(tmp_path / "out"), "--allow-partial", "--json", models=counter)
    summary = json.loads(stdout)
    assert code == 0 and summary["counts"]["done"] == 1
    assert any(f"{n} of 15 frames" in note["note"] for note in summary["notes"])
    assert len(_streams(tmp_path / "out" / "cut.mp4")["levels"]) == n  # --allow-partial: the output's name
    assert not marked.exists()  # the earlier run's partial result is superseded, not left beside it
    assert any("removed cut.partial.mp4" in note["note"] for note in summary["notes"])
    # A container that records no frame count (Matroska): M is estimated from the stream's duration.
    make_video(tmp_path / "whole.mkv", frames=15, audio=None, container="matroska", vfr=False)
    data = (tmp_path / "whole.mkv").read_bytes()
    (tmp_path / "in" / "cut.mkv").write_bytes(data[: len(data) // 2])
    code, stdout, _ = _invoke(str(tmp_path / "in" / "cut.mkv"), "-o", str(tmp_path / "out"), "--json", models=counter)
    reason = json.loads(stdout)["failed"][0]["reason"]
    assert code == 1 and "of about 15 frames" in reason, reason


def test_a_run_that_writes_nothing_leaves_no_empty_output_folder(tmp_path: Path, counter: StandIn) -> None:
    _audio_only(tmp_path / "sound.mp4")
    code, _, stderr = _invoke(str(tmp_path / "sound.mp4"), "-q", models=counter)
    assert code == 1 and "no video stream" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sound.mp4"]  # no empty derained/
    code, _, _ = _invoke(str(tmp_path / "sound.mp4"), "-o", str(tmp_path / "new" / "out"), "-q", models=counter)
    assert code == 1 and not (tmp_path / "new").exists()


def _cut_video(folder: Path) -> Path:
    """An MP4 with its index first, cut in the middle: it decodes only in part."""
    whole = folder / "whole.mp4"
    make_video(whole, frames=15, audio=None, container_options={"movflags": "faststart"})
    data = whole.read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    whole.unlink()
    return cut


def test_in_place_never_replaces_a_video_with_its_partial_result(tmp_path: Path, counter: StandIn) -> None:
    cut = _cut_video(tmp_path)
    before = cut.read_bytes()
    code, _, stderr = _invoke(str(cut), "--in-place", "-q", models=counter)
    assert code == 1 and "cut.partial.mp4" in stderr
    assert cut.read_bytes() == before  # the input, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "cut.partial.mp4"]


def _edit_list_copy(src: Path, dest: Path, frames_before_zero: int) -> None:
    """``src`` remuxed with every timestamp moved earlier, as ``ffmpeg -ss ... -c copy`` trims do: the MP4
    gets an edit list that starts at 0, and players (and PyAV) drop the samples before it."""
    from fractions import Fraction

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        shift = int(Fraction(frames_before_zero, 25) / vin.time_base)
        for packet in inp.demux(vin):
            if packet.dts is None:
                continue
            packet.pts -= shift
            packet.dts -= shift
            packet.stream = vout
            out.mux(packet)


def test_a_whole_video_with_an_edit_list_is_not_partial(tmp_path: Path, counter: StandIn) -> None:
    """The container counts 12 samples, 3 of them before the edit list's start: 9 frames is the whole clip."""
    make_video(tmp_path / "src.mp4", frames=12, audio=None, vfr=False)
    _edit_list_copy(tmp_path / "src.mp4", tmp_path / "trim.mp4", 3)
    with av.open(str(tmp_path / "trim.mp4")) as c:
        assert c.streams.video[0].frames == 12
    shown = len(_streams(tmp_path / "trim.mp4")["levels"])
    assert shown < 12
    code, stdout, stderr = _invoke(str(tmp_path / "trim.mp4"), "-o", str(tmp_path / "out"), "--json", models=counter)
    assert code == 0, stdout + stderr
    summary = json.loads(stdout)
    assert summary["counts"]["done"] == 1 and not any("frames" in n["note"] for n in summary["notes"])
    assert len(_streams(tmp_path / "out" / "trim.mp4")["levels"]) == shown


def test_a_folder_named_like_a_video_is_called_a_folder_not_a_video(tmp_path: Path, counter: StandIn) -> None:
    (tmp_path / "clip.mp4").mkdir()
    code, stdout, _ = _invoke(str(tmp_path / "clip.mp4"), "--json", models=counter)
    reasons = [f["reason"] for f in json.loads(stdout)["failed"]]
    assert code == 1 and len(reasons) == 1 and "a folder, not a video file" in reasons[0], reasons


def test_frames_clips_read_bmp_frames(tmp_path: Path, counter: StandIn) -> None:
    """A clip found by one suffix list and listed by another failed as a whole on a single .bmp frame."""
    rng = np.random.default_rng(1)
    (tmp_path / "clip").mkdir()
    for name in ("1.png", "2.bmp", "3.bmp"):
        Image.fromarray((rng.random((16, 20, 3)) * 255).astype(np.uint8)).save(tmp_path / "clip" / name)
    (tmp_path / "bmps").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "bmps" / "1.bmp")  # a clip of BMP frames only
    code, stdout, stderr = _invoke(str(tmp_path / "clip"), str(tmp_path / "bmps"), "-o", str(tmp_path / "o"),
                                   "--frames", "--json", models=counter)  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}
    for k, name in enumerate(("1.png", "2.bmp", "3.bmp"), start=1):
        with Image.open(tmp_path / "o" / "clip" / name) as im:
            assert im.format == ("PNG" if name.endswith("png") else "BMP")
            assert np.asarray(im).mean() == pytest.approx(k * STEP * 255, abs=1)
    assert (tmp_path / "o" / "bmps" / "1.bmp").is_file()


def test_a_heic_frame_without_the_extra_fails_its_clip_naming_the_file(
    tmp_path: Path, counter: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.io import media

    monkeypatch.setattr(media, "heif_ready", lambda: False)
    (tmp_path / "clip").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "clip" / "1.png")
    (tmp_path / "clip" / "2.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    code, stdout, _ = _invoke(str(tmp_path / "clip"), "-o", str(tmp_path / "o"), "--frames", "--json", models=counter)
    summary = json.loads(stdout)
    assert code == 1 and summary["counts"]["failed"] == 1, summary
    reason = summary["failed"][0]["reason"]
    assert "2.heic" in reason and "pip install 'weatherclean[heif]'" in reason and "\n" not in reason
    assert not (tmp_path / "o" / "clip").exists()
