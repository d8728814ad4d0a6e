"""What a clip's run came to: :class:`VideoResult`, and how it is judged once the transcoder is done:
the frames the input should have held (recorded by the container, or estimated from the stream's
length), damage and whether the output is partial, and notes on what AVI's timing could not keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatherclean.io.video.reading import _ends_mid_packet, _Health, _video_end
from weatherclean.io.video.transcoder import _Transcoder


@dataclass
class VideoResult:
    """The outcome of :func:`process_video`: frames written (always all that were decoded), and notes.

    ``expected`` is how many frames the input should have held (see :func:`_expected_frames`), and
    ``partial`` says that the file is damaged (a video packet could not be read, or fewer came than the
    container counts): the output then holds every frame that could be decoded, and the caller decides
    whether that counts as done (``--allow-partial``). ``frames`` below ``expected`` alone is no damage:
    an edit list hides some samples of a whole file from every player.
    """

    path: Path
    frames: int = 0
    notes: list[str] = field(default_factory=list)
    expected: int | None = None
    #: ``expected`` is the duration times the frame rate, not a count the container recorded.
    estimated: bool = False
    #: Video packets that were cut short or could not be decoded (or 1 for a demuxer that gave up).
    damaged: int = 0
    partial: bool = False
    #: The display rotation kept on the output (degrees counter-clockwise, as PyAV reports it).
    rotation: int = 0
    #: How much wider than tall one stored pixel is shown (anamorphic video: 4:3 for 1440×1080 shown as
    #: 16:9); 1 for square pixels.
    pixel_aspect: float = 1.0

    def shown_aspect(self) -> float:
        """:attr:`pixel_aspect` for the frame as shown: a quarter turn swaps a pixel's width and height."""
        return self.pixel_aspect if self.rotation % 180 == 0 else 1.0 / self.pixel_aspect

    def shortfall(self) -> str:
        """The "N of M frames" of messages, with "about" when M is an estimate."""
        about = "about " if self.estimated else ""
        return f"{self.frames} of {about}{self.expected} frames"


def _record_outcome(result: VideoResult, transcoder: _Transcoder, vin: Any, inp: Any, total: int | None) -> None:
    """Fill in frames, damage and the expected count, and decide whether the input was only partly read."""
    health = transcoder.health
    if not health.damaged and _ends_mid_packet(transcoder.src, inp):
        health.damaged += 1  # its last frame is cut off, though FFmpeg hands over what it has of it
    result.frames = transcoder.frames_in
    result.damaged = health.damaged
    result.expected, result.estimated = _expected_frames(total, vin, inp, transcoder.frames_in, health)
    # A recorded count may exceed the packets by one (AVI indexes often count an empty chunk as a frame).
    slack = 1 if not result.estimated else 0
    # Packets, not frames: a whole clip with an edit list (an `ffmpeg -ss ... -c copy` trim) records every
    # sample, and the decoder drops those before the edit's start by design, so N < M proves no damage.
    # A file is partial when a packet was damaged, or when fewer packets came than the count recorded.
    # AVI's count is of index entries, and a frame the recorder dropped is an empty one (how DVRs store
    # variable frame rate): there the packets' slot numbers (their dts) show how far the file was read.
    read = health.packets
    if inp.format.name == "avi" and health.last_dts is not None:
        read = max(read, health.last_dts + (health.step or 1))
    # A packet lost at the seam of joined recordings (one at most per seam, each one of the damaged packets
    # counted, found as they were read: .clock._VideoReading) is the join's, not the file's damage.
    seams = len(transcoder.seam_losses)
    damage = health.damaged - seams
    result.partial = damage > 0 or read < result.expected - slack
    if seams and not damage:
        result.notes.append(f"{seams} frame(s) lost where recordings were joined (FFmpeg flags the packet at a "
                            "seam as damaged); the clip is otherwise whole")  # fmt: skip
    if result.partial:
        result.notes.append(
            f"{result.shortfall()} could be decoded (the file is truncated or damaged); all of them were kept"
        )
    if transcoder.moved:
        result.notes.append(
            f"AVI holds a constant frame rate ({float(transcoder.video.rate):g} fps): {transcoder.moved} frames "
            f"shown up to {transcoder.most_moved * 1000:.0f} ms late"
        )
    if transcoder.resized:
        sizes = ", ".join(f"{w}×{h} from frame {first + 1}" for (w, h), first in transcoder.resized.items())
        stream = transcoder.video.stream
        clip = f"{stream.width}×{stream.height}"
        result.notes.append(f"the picture size changes mid-clip ({sizes}): {transcoder.resized_count} frame(s) were "
                            f"restored at their own size, then scaled to the clip's {clip}")  # fmt: skip
    if transcoder.retimed:
        step = float(transcoder.nudge_ticks * transcoder.vin.time_base) * 1000
        result.notes.append(f"{transcoder.retimed} frame(s) stamped with the time of the frame before: each is "
                            f"shown {step:.3g} ms after it")  # fmt: skip
    order = transcoder.order
    if order.reordered:
        result.notes.append(f"{order.reordered} frame(s) came out of the decoder out of time order "
                            "(a damaged stream's decoder does that); each was put back at its own time")  # fmt: skip
    if order.dropped:
        result.notes.append(f"{order.dropped} frame(s) came out of the decoder too late to take their "
                            "place in time (a damaged stream's decoder does that); dropped")  # fmt: skip
    if transcoder.clock_jumps:
        went = _went_back("the video's", transcoder.clock_jumps)
        result.notes.append(f"{went}; the frames after it follow on, keeping their spacing")
    if transcoder.sound_late >= 0.001:
        result.notes.append(f"AVI cannot skip the audio encoder's delay: the sound starts "
                            f"{transcoder.sound_late * 1000:.0f} ms late")  # fmt: skip
    audio = [s.index for s in inp.streams.audio]
    for idx, jumps in sorted(transcoder.audio_jumps.items()):
        name = "audio" if len(audio) == 1 else f"audio stream {audio.index(idx) + 1}"
        result.notes.append(_jump_note(name, jumps))
    for idx, jumps in sorted(transcoder.copy_jumps.items()):
        kind = inp.streams[idx].type
        same = [s.index for s in inp.streams if s.type == kind]
        what = "audio" if kind == "audio" else f"{kind} stream"  # "the data's timestamps" read as the bytes'
        name = f"the {what}" if len(same) == 1 else f"{kind} stream {same.index(idx) + 1}"
        went = _went_back(name + "'s", jumps)
        result.notes.append(f"{went} while the picture's do not; what follows comes after its last packet, as it was "
                            "spaced")  # fmt: skip
    rate = float(transcoder.video.rate)
    # the picture starting after the sound is kept (empty slots before it: .transcoder._avi_start); not the reverse
    offset = _sound_offset(vin, inp) if transcoder.video.cfr and transcoder.lead_origin is None else None
    lost = offset if offset is not None and abs(offset) * rate > 1 else None  # more than a frame apart
    start = float(transcoder.clip_start)  # the earliest stream's: a picture after its sound is the note below
    if transcoder.video.cfr and abs(start) * rate >= 1:  # (not a priming's few milliseconds)
        sound = ", its sound with it" if transcoder.carries_sound else ""
        result.notes.append(f"AVI cannot store the start time ({_clock(start)}): the clip starts at 0{sound}")
    if lost is not None:
        which = "sound" if lost > 0 else "picture"
        result.notes.append(
            f"AVI cannot keep the {which} starting {abs(lost) * 1000:.0f} ms after the other: both start together"
        )


def _went_back(whose: str, jumps: list[tuple[float, float]]) -> str:
    """``WHOSE timestamps go back by BY at AT`` for the first of ``jumps`` (at, by), with how many there were."""
    at, by = jumps[0]
    more = f" ({len(jumps)} times)" if len(jumps) > 1 else ""
    return f"{whose} timestamps go back by {_clock(by)} at {_clock(at)}{more}"


def _jump_note(name: str, jumps: list[tuple[float, float]]) -> str:
    """The note for re-encoded sound whose timestamps jump further than a gap could (a recorder's clock
    set forward): ``jumps`` are (where the sound follows on, how far it jumped), in seconds."""
    at, by = jumps[0]
    if len(jumps) == 1:
        return f"{name} timestamps jump by {_clock(by)} at {_clock(at)}; the sound after it follows on without the gap"
    return (f"{name} timestamps jump {len(jumps)} times, first by {_clock(by)} at {_clock(at)}; the sound after "
            f"each follows on without the gap")  # fmt: skip


def _clock(seconds: float) -> str:
    """A time in a note: "0.8 s" under a minute, else "1:00:00"."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _sound_offset(vin: Any, inp: Any) -> float | None:
    """How many seconds the first sound starts after the picture (negative: before); None without sound.
    AVI output starts both at zero where it cannot put empty slots before the picture (sound that starts later, or
    earlier by under 150 ms or over 10 s: :func:`.transcoder._avi_start`), so an offset larger than a frame is lost
    there."""
    sound = next((s for s in inp.streams.audio if s.start_time is not None and s.time_base), None)
    if sound is None or vin.start_time is None or not vin.time_base:
        return None
    return float(sound.start_time * sound.time_base - vin.start_time * vin.time_base)


def _expected_frames(recorded: int | None, vin: Any, inp: Any, decoded: int, health: _Health) -> tuple[int, bool]:
    """(M, estimated): how many frames the input should hold, for "N of M frames".

    M is the frame count the container records (``recorded``, read before decoding: MP4, MOV and AVI
    record one; it counts samples, so frames an edit list hides are in it). MKV and WebM record none; then M
    is an estimate: the frames decoded plus the time from the last decoded frame to where the video stream
    says it ends, times the frame rate (so a cut-off clip shows its loss, and a whole one, variable
    frame rate included, gives M = N). Where damaged packets cost frames, M is at least the frames
    decoded plus those packets.
    """
    if recorded:
        return int(recorded), False
    floor = decoded + health.damaged
    # the slower of the two rates FFmpeg gives: a remuxed Matroska file without a rate of its own read back with an
    # average of 30000 fps (its guess: 25), and the last frame's ordinary 40 ms to the end counted as ~1200 frames
    # missing, a whole clip failed as truncated; the slower rate counts no frame that is there as missing
    rate = min((r for r in (vin.average_rate, vin.guessed_rate) if r), default=None)
    end = _video_end(vin, inp)
    if end is None or not rate or health.last_pts is None or not vin.time_base:
        return floor, True
    interval = 1 / float(rate)
    gap = end - (float(health.last_pts * vin.time_base) + interval)
    missing = round(gap / interval) if gap > 1.5 * interval else 0
    return max(floor, decoded + missing), True
