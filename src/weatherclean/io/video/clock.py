"""The times of copied packets where a clock goes back: :class:`_SharedClock`, one offset for every stream.

Two MPEG-TS recordings joined with ``cat`` (or a recorder whose clock was set back) go back in time at the
seam, in every stream. Muxers refuse a time that goes back, so what follows must be moved on; but the streams
share the program's clock, so they must move by one offset, or the second recording's sound leaves its
picture: each stream moved to follow its own last packet took the second recording's sound, which starts a
few hundred milliseconds after its picture (as DVR sound often does), to its picture's start (0.28 s off).

The video decides the offset (:meth:`._Transcoder._output_pts`): its frames come to the model many frames
after their packets are read (decoder frame threads, up to 16 on a 16-core server; B-frame reorder;
:class:`.order._FrameOrder`'s window), which at CCTV's 1 fps is half a minute of sound. So a copied stream that
goes back first waits for it, its packets held (:meth:`copied`), and whether the video goes back too is told
where the video is in the file (:class:`_VideoReading`, on the reading side, whose :class:`_Mark` comes with
every item): its packets' decode times go back at once. A copied stream's clock went back alone only once the
video has been read well past that point without going back; timed by the stream's own clock, the wait ran
out while the video was still decoding the first recording, and the second recording's sound was set 5-10 s
off its picture. The offset puts the earliest packet of the new timeline, of any stream, after the latest end
of all (:meth:`start_for`), and every stream takes it (:meth:`start_epoch`).

Where a join goes back, FFmpeg flags one of the first recording's last two video packets as damaged (the
transport stream's continuity counters start again): :class:`_VideoReading` keeps it as the seam's loss, not
the file's damage.
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction
from typing import Any, NamedTuple

#: The least step back of a clock that is a clock going back, seconds: a packet a few milliseconds early is
#: jitter, moved on alone without a word.
_JUMP_SECONDS = 0.05
#: How much of the video (its own time, as read) a copied stream that went back waits for the video to go back
#: too, seconds: beyond, its clock went back alone, and it follows on after its own last packet. A recorder
#: interleaves its streams within a second or so; joined recordings go back in every stream at once.
_WAIT_SECONDS = 5
#: The most video packets between reading a packet and its frame reaching the model: frame threads (FFmpeg
#: starts up to 17), H.264's reorder delay (up to 16), :class:`.order._FrameOrder`'s window and run (8). A video
#: that went back as read and not at the model this far on never will (its frames were dropped as damage).
_LAG_PACKETS = 64
#: The most packets a copied stream holds while it waits, a guard on memory (AAC: under 1 KB each).
_WAIT_PACKETS = 10000
#: How many of the video packets just before the one whose decode time goes back FFmpeg may flag at a seam.
_SEAM_PACKETS = 2


class _Mark(NamedTuple):
    """Where the reading side is in the video when an item is read (the item comes with it, in order)."""

    #: Video packets read.
    reads: int
    #: Seconds of the video read: its decode times' steps forward, added up (not their steps back).
    seconds: float
    #: :attr:`reads` at the latest packet whose decode time went back, or None.
    reset: int | None
    #: How many packets' decode times went back (the first of :attr:`_VideoReading.resets` read by then).
    resets: int


class _VideoReading:
    """The video's packets as they are read, on the reading side: where their decode times go back (at once,
    unlike the frames, which come out of the decoder many packets later) and which damaged packet each seam cost.

    :attr:`resets` keeps each step back as (:attr:`_Mark.reads` at it, the presentation time of the seam's
    damaged packet or None); :attr:`seam_losses` the sequence numbers (1 for the first video packet read) of
    the damaged packets counted as seams': one at most each, never one twice.
    """

    def __init__(self) -> None:
        self.reads = 0
        self.seconds = 0.0
        self.resets: list[tuple[int, int | None]] = []
        self.seam_losses: list[int] = []
        self._dts: int | None = None  # the latest decode time on the current timeline
        self._recent: deque[tuple[int, bool, int | None]] = deque(maxlen=_SEAM_PACKETS)  # (number, damaged, time)

    def read(self, packet: Any, damaged: bool) -> None:
        """One video packet with data, read (``damaged``: the decoder was not given it, or refused it)."""
        self.reads += 1
        dts, base = packet.dts, packet.time_base
        if dts is not None and base:
            if self._dts is not None and (self._dts - dts) * base >= _JUMP_SECONDS:
                self.resets.append((self.reads, self._seam()))
                self._dts = dts
            elif self._dts is None or dts > self._dts:
                self.seconds += float((dts - self._dts) * base) if self._dts is not None else 0.0
                self._dts = dts
        self._recent.append((self.reads, damaged, packet.pts if packet.pts is not None else dts))

    def _seam(self) -> int | None:
        """The damaged packet just before a step back (the nearest of the last :data:`_SEAM_PACKETS`, not yet
        taken): counted as the seam's, its time returned (None without one, or without a time)."""
        for number, damaged, time in reversed(self._recent):
            if damaged and number not in self.seam_losses:
                self.seam_losses.append(number)
                return time
        return None

    def mark(self) -> _Mark:
        """Where the reading is now, for an item read here (a copied packet, or a frame the decoder gave)."""
        return _Mark(self.reads, self.seconds, self.resets[-1][0] if self.resets else None, len(self.resets))


class _SharedClock:
    """Moves copied packets on where their clock goes back, by the offset the video's frames take.

    Each stream keeps an epoch (how many times its clock went back, and the offset every stream takes from
    it, in seconds) and, where its clock went back alone, ticks of its own on top. :attr:`jumps` keeps the
    latter as (where it follows on, how far it went back) in seconds, by input stream index, for a note.
    """

    def __init__(self) -> None:
        self._epochs: list[Fraction] = [Fraction(0)]
        self._epoch_reads: list[int] = [0]  # the video packets read when each epoch began (its frame was put)
        self._epoch: dict[int, int] = {}
        self._own: dict[int, int] = {}
        self._last: dict[int, tuple[int, int]] = {}  # the last packet's decode time (moved) and duration
        self._waiting: dict[int, list[Any]] = {}
        self._since: dict[int, _Mark | None] = {}  # where the video was read when each waiting stream went back
        self._mark: _Mark | None = None  # the latest mark seen
        #: The latest end of any stream, output time in seconds: where a new timeline starts.
        self.end = Fraction(0)
        self.jumps: dict[int, list[tuple[float, float]]] = {}

    def reach(self, end: Fraction) -> None:
        """A stream (the video, after each frame) reaches ``end`` seconds of output time."""
        self.end = max(self.end, end)

    def read_to(self, mark: _Mark) -> list[Any]:
        """The reading side is at ``mark`` (an item read there has come): the packets of each waiting stream
        whose clock, it now shows, went back alone, moved after that stream's own last packet."""
        self._mark = mark
        out: list[Any] = []
        for idx in list(self._waiting):
            if self._alone_at(idx, mark):
                out += self._alone(idx)
        return out

    def copied(self, packet: Any, mark: _Mark | None = None) -> list[Any]:
        """The packets that go on now, moved: ``packet`` (read at ``mark``), those held before it, those of a
        stream whose clock went back alone, or none (it waits). Without marks a stream waits until
        :meth:`start_epoch`, :data:`_WAIT_PACKETS` or :meth:`finish`."""
        out = self.read_to(mark) if mark is not None else []
        idx, base = packet.stream.index, packet.time_base
        if packet.dts is None or not base:
            return [*out, packet]
        if idx in self._waiting:
            waiting = self._waiting[idx]
            waiting.append(packet)
            return out + self._alone(idx) if len(waiting) >= _WAIT_PACKETS else out
        last = self._last.get(idx)
        if last is None:  # a stream's first packet: on the timeline the video is on now
            self._epoch[idx] = len(self._epochs) - 1
        elif self._back(packet, last[0]) >= _JUMP_SECONDS:
            self._waiting[idx] = [packet]
            if self._epoch[idx] == len(self._epochs) - 1:
                self._since[idx] = self._mark
                return out  # the video has not gone back (yet): wait for it
            self._epoch[idx], self._own[idx] = len(self._epochs) - 1, 0  # it went back already: as it did last
            if self._back(packet, last[0]) >= _JUMP_SECONDS:
                return out + self._alone(idx)  # and still too far back: after this stream's own last packet
            del self._waiting[idx]
        return [*out, self._place(packet)]

    def _alone_at(self, idx: int, mark: _Mark) -> bool:
        """Whether waiting stream ``idx``'s clock went back alone, the video read to ``mark``: the video went
        back as read since the stream's epoch began (before the stream did, or after) and its frames have had
        :data:`_LAG_PACKETS` packets to reach the model (they never will: dropped); or it did not, and has been
        read :data:`_WAIT_SECONDS` past where the stream went back."""
        since = self._since.get(idx)
        if since is None:
            return False
        began = max(self._epoch_reads[self._epoch[idx]], since.reads - _LAG_PACKETS)
        if mark.reset is not None and mark.reset > began:
            return mark.reads >= mark.reset + _LAG_PACKETS
        return mark.seconds - since.seconds >= _WAIT_SECONDS

    def start_for(self, pts: int, base: Fraction) -> int:
        """The earliest output time (ticks of ``base``) for a video frame at ``pts`` that goes back: the new
        timeline's earliest packet of any stream (this frame, or one held) after the latest end of all."""
        first = Fraction(pts) * base
        for waiting in self._waiting.values():
            head = waiting[0]
            first = min(first, Fraction(head.pts if head.pts is not None else head.dts) * head.time_base)
        return math.ceil((self.end + Fraction(pts) * base - first) / base)

    def start_epoch(self, offset: Fraction, mark: _Mark | None = None) -> list[Any]:
        """The video went back (its frame read at ``mark``), every stream moved on by ``offset`` seconds from
        now: the held packets go."""
        self._epochs.append(offset)
        self._epoch_reads.append(mark.reads if mark is not None else 0)
        out: list[Any] = []
        for idx, waiting in list(self._waiting.items()):
            self._epoch[idx], self._own[idx] = len(self._epochs) - 1, 0
            del self._waiting[idx]
            self._since.pop(idx, None)
            out += [self._place(packet) for packet in waiting]
        return out

    def finish(self) -> list[Any]:
        """At the end: the packets still held, after their own stream's last."""
        out: list[Any] = []
        for idx in list(self._waiting):
            out += self._alone(idx)
        return out

    def _alone(self, idx: int) -> list[Any]:
        """A stream whose clock went back while the video's did not: its held packets follow on after its own
        last packet (each later one moved as much), and the jump is kept for a note."""
        waiting = self._waiting.pop(idx)
        self._since.pop(idx, None)
        head, (last, duration) = waiting[0], self._last[idx]
        base = head.time_base
        # Sound follows on after its last packet ends; a cue or data packet a tick after the last one starts,
        # since its duration is how long it shows (two cues may share a time, or overlap).
        following = last + (max(1, duration) if head.stream.type == "audio" else 1)
        step = following - head.dts - self._ticks(idx, base)
        self._own[idx] = self._own.get(idx, 0) + step
        self.jumps.setdefault(idx, []).append((float(following * base), float(step * base)))
        return [self._place(packet) for packet in waiting]

    def _back(self, packet: Any, last: int) -> Fraction:
        """How far ``packet``, moved as its stream is now, goes back before the decode time ``last``, seconds."""
        return (last - packet.dts - self._ticks(packet.stream.index, packet.time_base)) * packet.time_base

    def _ticks(self, idx: int, base: Fraction) -> int:
        """What stream ``idx`` adds to its times now, in ticks of its time base ``base``."""
        return round(self._epochs[self._epoch.get(idx, 0)] / base) + self._own.get(idx, 0)

    def _place(self, packet: Any) -> Any:
        """``packet`` moved by its stream's offset; one a little early (jitter) goes just after the one before,
        alone. Its end counts towards where a new timeline starts."""
        idx, base = packet.stream.index, packet.time_base
        shift = self._ticks(idx, base)
        dts = packet.dts + shift
        last = self._last.get(idx)
        if last is not None and dts < last[0]:  # (the same time again: as before, for the muxer to judge)
            early = last[0] + (max(1, last[1]) if packet.stream.type == "audio" else 1) - dts
            dts, shift = dts + early, shift + early
        packet.dts = dts
        if packet.pts is not None:
            packet.pts += shift
        duration = packet.duration or 0
        self._last[idx] = (dts, duration)
        end = (packet.pts if packet.pts is not None else dts) + (duration if packet.stream.type == "audio" else 0)
        self.reach(Fraction(end) * base)
        return packet
