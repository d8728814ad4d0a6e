"""Subtitles through a video's restoration: copied where the output container holds them as they are,
converted to the text format it does hold (SRT into MP4 as ``mov_text``, into WebM as WebVTT, ``mov_text``
into Matroska as SRT), every cue at its own time with its own text, and dropped with a note only where
the container holds no text subtitles at all (AVI). Converting containers used to drop them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.subtitles.subtitle import SubtitleSet

from weatherclean.io.video import process_video
from weatherclean.io.video.subtitles import _DEFAULT_HEADER

#: (start, end in ms, text) of each cue the test clips carry.
CUES = [(0, 1000, b"Snow is falling"), (1200, 1900, b"Second line")]


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _clip(path: Path, codec: str, *, language: str = "fra") -> None:
    """Two seconds of 64×48 video with a subtitle track of ``codec`` carrying :data:`CUES`."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sub = out.add_stream(codec)
        sub.codec_context.subtitle_header = _DEFAULT_HEADER
        sub.time_base = sub.codec_context.time_base = Fraction(1, 1000)
        sub.metadata["language"] = language
        cues = []
        for i, (start, end, text) in enumerate(CUES):
            packet = sub.codec_context.encode_subtitle(
                SubtitleSet.create(b"%d,0,Default,,0,0,0,,%s" % (i, text), 0, end - start, 0)
            )
            packet.stream, packet.pts, packet.dts = sub, start, start
            packet.duration, packet.time_base = end - start, Fraction(1, 1000)
            cues.append(packet)
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
            if i == 0:
                out.mux(cues)
        out.mux(video.encode(None))


def _cues(path: Path) -> tuple[str, str | None, list[tuple[int, int, bytes]]]:
    """The subtitle codec, language and (start, end in ms, text) of every cue in ``path``, as a player reads them."""
    with av.open(str(path)) as c:
        sub = c.streams.subtitles[0]
        found = []
        for packet in c.demux(sub):
            if packet.dts is None or not packet.size:
                continue
            decoded = sub.codec_context.decode2(packet)
            if not decoded:  # mov_text's empty sample between two cues
                continue
            start = round(packet.pts * packet.time_base * 1000)
            end = start + round(packet.duration * packet.time_base * 1000)
            found += [(start, end, rect.ass.split(b",", 8)[-1]) for rect in decoded]
        return sub.codec_context.name, sub.metadata.get("language"), found


@pytest.mark.parametrize(
    ("source", "codec", "dest", "converted"),
    [
        ("in.mkv", "subrip", "out.mp4", "mov_text"),
        ("in.mkv", "subrip", "out.mov", "mov_text"),
        ("in.mkv", "subrip", "out.webm", "webvtt"),
        ("in.mp4", "mov_text", "out.mkv", "srt"),
    ],
)
def test_text_subtitles_are_converted_for_a_container_that_cannot_copy_them(
    tmp_path: Path, source: str, codec: str, dest: str, converted: str
) -> None:
    _clip(tmp_path / source, codec)
    result = process_video(tmp_path / source, tmp_path / dest, _identity)
    name, language, cues = _cues(tmp_path / dest)
    assert name == converted
    assert cues == [(start, end, text) for start, end, text in CUES]
    assert language in ("fra", "fre")  # MOV writes the bibliographic code
    assert any("subtitles cannot be stored in" in n and "; converted to " in n for n in result.notes), result.notes


def test_subtitles_the_container_holds_are_still_copied_as_they_were(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mkv", "subrip")
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.mkv", _identity)
    assert not any("subtitles" in n for n in result.notes), result.notes
    assert _cues(tmp_path / "out.mkv") == _cues(tmp_path / "in.mkv")


def test_a_container_without_text_subtitles_drops_them_with_a_note(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mkv", "subrip")
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.avi", _identity)
    assert any("subtitles cannot be stored in avi; dropped" in n for n in result.notes), result.notes
    with av.open(str(tmp_path / "out.avi")) as c:
        assert not c.streams.subtitles


def test_cues_shown_at_once_become_one_cue_with_a_line_each() -> None:
    """Two ASS events in one packet (two speakers) go out as one cue: the first's fields, both texts."""
    from weatherclean.io.video.subtitles import _joined

    events = [b"0,0,Default,,0,0,0,,Hello", b"1,0,Other,,0,0,0,,Hi, you"]
    assert _joined(events) == b"0,0,Default,,0,0,0,,Hello\\NHi, you"
    assert _joined(events[:1]) == events[0]
