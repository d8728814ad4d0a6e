"""Review fixes in the video writer: video above 8 bits goes into FLV and MPEG-PS as 8-bit H.264 with a note
(HEVC there is enhanced FLV, or non-standard), not as HEVC; and what the encoder check tries is stated."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from synthetic import make_video
from weatherclean.io.video import VideoOptions, check_encoder, encoder, process_video
from weatherclean.io.video.containers import CONTAINERS
from weatherclean.io.video.video_stream import _choose_codec, _deep_format


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


@pytest.mark.parametrize(
    ("fmt", "why"),
    [("flv", "enhanced FLV"), ("mpeg", "non-standard"), ("3gp", "3gp cannot hold HEVC")],
)
def test_wide_video_keeps_eight_bit_h264_where_hevc_is_not_usual(fmt: str, why: str) -> None:
    """FLV's and MPEG-PS's default is H.264 too, but HEVC in them is enhanced FLV (older players cannot read
    it) or non-standard: the 10-bit HEVC default is for MP4, MOV, MKV and MPEG-TS only."""
    codec, eight_bit_why = _choose_codec(fmt, VideoOptions(), 64, wide=True)
    assert codec == "libx264"
    assert eight_bit_why is not None and why in eight_bit_why


@pytest.mark.skipif(not _deep_format("libx265", "yuv420p10le"), reason="no 10-bit libx265 in this FFmpeg")
def test_the_hevc_default_is_for_the_containers_that_hold_it() -> None:
    """Every suffix whose container is MP4, MOV, Matroska or MPEG-TS (.ts, .mts, .m2ts) gets 10-bit HEVC;
    every other container keeps its own default; 8-bit video and a --codec keep theirs everywhere."""
    hevc = {
        suffix for suffix, fmt in CONTAINERS.items() if _choose_codec(fmt, VideoOptions(), 64, True)[0] == "libx265"
    }
    assert hevc == {".mp4", ".m4v", ".mov", ".mkv", ".ts", ".mts", ".m2ts"}
    assert _choose_codec("flv", VideoOptions(codec="libx265"), 64, True) == ("libx265", None)
    assert _choose_codec("mp4", VideoOptions(), 64, False) == ("libx264", None)


@pytest.mark.parametrize("suffix", [".flv", ".mpg"])
def test_ten_bit_clip_into_flv_or_mpg_comes_back_eight_bit_h264_with_a_note(tmp_path: Path, suffix: str) -> None:
    make_video(tmp_path / "in.mkv", frames=4, audio=None, vfr=False, codec="libx265", pix_fmt="yuv420p10le")
    out = tmp_path / f"out{suffix}"
    result = process_video(tmp_path / "in.mkv", out, _identity)
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.name, ctx.pix_fmt) == ("h264", "yuv420p")
    why = "enhanced FLV" if suffix == ".flv" else "non-standard"
    assert any("encoded at 8 bits" in note and why in note for note in result.notes), result.notes


def test_check_encoder_states_what_it_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe tries the container's default for an even width at 8 bits: its docstring says so, and names
    the two encoders a clip may switch to at run time (10-bit libx265, msmpeg4 for an odd-width WMV)."""
    tried: list[str] = []
    real = encoder._write_probe

    def spy(probe: object, codec: str, opts: VideoOptions, fmt: str) -> None:
        tried.append(codec)
        real(probe, codec, opts, fmt)

    monkeypatch.setattr(encoder, "_write_probe", spy)
    check_encoder(VideoOptions(), ".mp4")
    check_encoder(VideoOptions(), ".wmv")
    assert tried == ["libx264", "wmv2"]
    doc = " ".join((check_encoder.__doc__ or "").split())
    for words in ("64×64 8-bit", "10-bit HEVC (libx265", "msmpeg4", "not tried"):
        assert words in doc, words


def test_the_run_time_switches_pass_the_check_when_asked_for() -> None:
    """What the docstring claims of the two encoders the check does not try by default: each passes it."""
    check_encoder(VideoOptions(codec="msmpeg4"), ".wmv")
    check_encoder(VideoOptions(codec="libx265"), ".mkv")
