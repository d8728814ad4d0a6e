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


def _clip(path: Path, codec: str, *, language: str = "fra", cues: list[tuple[int, int, bytes]] = CUES) -> None:
    """Two seconds of 64×48 video with a subtitle track of ``codec`` carrying ``cues``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sub = out.add_stream(codec)
        sub.codec_context.subtitle_header = _DEFAULT_HEADER
        sub.time_base = sub.codec_context.time_base = Fraction(1, 1000)
        sub.metadata["language"] = language
        sub.disposition = av.stream.Disposition.default  # as mkvmerge marks a track unless told otherwise
        packets = []
        for i, (start, end, text) in enumerate(cues):
            packet = sub.codec_context.encode_subtitle(
                SubtitleSet.create(b"%d,0,Default,,0,0,0,,%s" % (i, text), 0, end - start, 0)
            )
            packet.stream, packet.pts, packet.dts = sub, start, start
            packet.duration, packet.time_base = end - start, Fraction(1, 1000)
            packets.append(packet)
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
            if i == 0:
                out.mux(packets)
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
    container = {".mkv": "mkv", ".mp4": "mp4", ".mov": "mov", ".webm": "webm"}[Path(dest).suffix]
    shown = {"mov_text": "mov_text", "srt": "SRT", "webvtt": "WebVTT"}
    said = "SRT" if codec == "subrip" else codec
    assert result.notes == [f"{said} subtitles (fra) cannot be stored in {container}; converted to {shown[converted]}"]


def test_subtitles_the_container_holds_are_still_copied_as_they_were(tmp_path: Path) -> None:
    _clip(tmp_path / "in.mkv", "subrip")
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.mkv", _identity)
    assert not any("subtitles" in n for n in result.notes), result.notes
    assert _cues(tmp_path / "out.mkv") == _cues(tmp_path / "in.mkv")


@pytest.mark.parametrize("dest", ["out.avi", "out.ts", "out.mpg"])
def test_a_container_without_text_subtitles_drops_them_with_a_note(tmp_path: Path, dest: str) -> None:
    """MPEG-TS and MPEG-PS take SRT's header, then write an unlabelled data stream (TS) or one that reads back
    as DVD subtitles (PS): they were "copied" without a note."""
    _clip(tmp_path / "in.mkv", "subrip")
    result = process_video(tmp_path / "in.mkv", tmp_path / dest, _identity)
    assert any(n.startswith("srt subtitles cannot be stored in ") and n.endswith("; dropped") for n in result.notes)
    with av.open(str(tmp_path / dest)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_cues_shown_at_the_same_time_keep_their_times_in_mp4(tmp_path: Path) -> None:
    """MP4's mov_text holds samples one after the other: a sign shown over five lines of dialogue pushed every
    line after the sign (line 0 at 10.0 s, not 1.0 s), and two cues at 3.0 s became a 1 ms cue. The cues are
    cut where any starts or ends, each piece with every text shown then."""
    sign = [(0, 6000, b"SIGN")] + [(1000 + 2000 * i, 2500 + 2000 * i, b"line %d" % i) for i in range(3)]
    _clip(tmp_path / "in.mkv", "subrip", cues=sign)
    process_video(tmp_path / "in.mkv", tmp_path / "out.mp4", _identity)
    _, _, cues = _cues(tmp_path / "out.mp4")
    assert cues == [
        (0, 1000, b"SIGN"), (1000, 2500, b"SIGN\\Nline 0"), (2500, 3000, b"SIGN"), (3000, 4500, b"SIGN\\Nline 1"),
        (4500, 5000, b"SIGN"), (5000, 6000, b"SIGN\\Nline 2"), (6000, 6500, b"line 2"),
    ]  # fmt: skip
    _clip(tmp_path / "same.mkv", "subrip", cues=[(300, 800, b"A"), (300, 500, b"B")])
    process_video(tmp_path / "same.mkv", tmp_path / "same.mp4", _identity)
    assert _cues(tmp_path / "same.mp4")[2] == [(300, 500, b"A\\NB"), (500, 800, b"A")]


def test_a_cue_the_encoder_refuses_is_left_out_not_the_video(tmp_path: Path) -> None:
    """mov_text takes at most 64 KB of text: one longer cue failed the whole clip ("video processing failed")."""
    _clip(tmp_path / "in.mkv", "subrip", cues=[(0, 500, b"ok"), (600, 900, b"x" * 70000), (1000, 1500, b"after")])
    result = process_video(tmp_path / "in.mkv", tmp_path / "out.mp4", _identity)
    assert [text for _, _, text in _cues(tmp_path / "out.mp4")[2]] == [b"ok", b"after"]
    assert any(n.startswith("SRT subtitles (fra): 1 that could not be written (") and n.endswith(") left out")
               for n in result.notes), result.notes  # fmt: skip
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 50


def test_cues_shown_at_once_become_one_cue_with_a_line_each() -> None:
    """Two ASS events in one packet (two speakers) go out as one cue: the first's fields, both texts."""
    from weatherclean.io.video.subtitles import _joined

    events = [b"0,0,Default,,0,0,0,,Hello", b"1,0,Other,,0,0,0,,Hi, you"]
    assert _joined(events) == b"0,0,Default,,0,0,0,,Hello\\NHi, you"
    assert _joined(events[:1]) == events[0]
