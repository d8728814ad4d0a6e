"""Decode → process → encode for one clip, over output streams already set up.

:class:`_Transcoder` routes each packet (copied, re-encoded audio, or video decoded to RGB), runs the
caller's ``process`` on every frame, gives frames their output timestamps (AVI's slots included) and
durations (the last one's from the input, so the clip keeps its length) and muxes, threaded by
:class:`.pipeline._Pipeline` or in turn; :class:`_DtsGuard` repairs a decode timestamp an encoder got wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from weatherclean.errors import InputError, OutputError, is_disk_full
from weatherclean.io.orientation import rotation_upright
from weatherclean.io.video.clock import _LAG_PACKETS, _Mark, _SharedClock, _VideoReading
from weatherclean.io.video.colour import _excess_of, _frame_to_rgb, _give_back, _rgb_to_frame
from weatherclean.io.video.order import _FrameOrder
from weatherclean.io.video.pipeline import _Pipeline
from weatherclean.io.video.pyav import _av
from weatherclean.io.video.reading import _Health, _safe_decode, _video_end
from weatherclean.io.video.side_streams import _SideStreams
from weatherclean.io.video.subtitles import _is_cue_end
from weatherclean.io.video.video_stream import _VideoOut
from weatherclean.pipelining import pipeline_enabled


class _Transcoder:
    """Decode → process → encode for one clip, over output streams already set up.

    Three steps, each a method: :meth:`decode` (demux order, video frames already RGB), :meth:`handle`
    (the model, on the calling thread) and :meth:`encode` (the one thread that muxes). :meth:`run` chains
    them through a :class:`_Pipeline` so the codecs overlap the model, or in turn on one thread when
    ``WEATHERCLEAN_PIPELINE=0``; the muxing order, and so the output bytes, is the same either way.
    """

    def __init__(
        self,
        inp: Any,
        out: Any,
        video: _VideoOut,
        side: _SideStreams,
        process: Callable[[np.ndarray], np.ndarray],
        on_frame: Callable[[int, int | None], None] | None,
        total: int | None,
        src: Path,
    ) -> None:
        self.inp, self.out, self.video, self.side = inp, out, video, side
        self.process, self.on_frame, self.total, self.src = process, on_frame, total, src
        self.vin = inp.streams.video[0]
        rate = video.rate
        self.frame_ticks = max(1, round(1 / (rate * self.vin.time_base))) if self.vin.time_base else 1
        #: How far a frame whose time repeats (or steps back by less than a frame) is moved after the one
        #: before: at least a millisecond, the finest step every output container keeps apart (Matroska and
        #: WebM count in milliseconds; rounded up, so two frames never round to one millisecond); one tick of
        #: an input time base coarser than that.
        self.nudge_ticks = max(1, math.ceil(Fraction(1, 1000) / self.vin.time_base)) if self.vin.time_base else 1
        #: Where the video's clock went back by a frame or more (a recorder's clock reset, two clips joined),
        #: as (where the frames follow on, how far it went back) in seconds; and the ticks added to every
        #: frame since, so that what follows keeps its own spacing, a frame after the one before.
        self.clock_jumps: list[tuple[float, float]] = []
        #: The video's packets as read: where their decode times go back, and the damaged packet each such seam
        #: cost (its :attr:`.clock._VideoReading.seam_losses`), on the reading side, in reading order.
        self.reading = _VideoReading()
        self._resets_matched = 0  # the read steps back already matched with a frame that went back
        self._shift = 0
        #: Frames of another size than the output's: each size, by the (0-based) index of its first frame.
        self.resized: dict[tuple[int, int], int] = {}
        self.resized_count = 0
        #: Frames whose time repeated or stepped back, moved :attr:`nudge_ticks` after the frame before.
        self.retimed = 0
        self.dts = _DtsGuard(max(1, round(1 / (rate * video.time_base))))
        # AVI stores no presentation times, and FFmpeg stamps its packets in decode order: with B-frames
        # the frames must be timed again (:class:`_Health`).
        self.health = _Health(reorder=inp.format.name == "avi" and bool(self.vin.codec_context.has_b_frames))
        #: Decoded frames put back in time order, and those too late for their place dropped (:mod:`.order`).
        self.order = _FrameOrder(self.frame_ticks)
        self.frames_in = 0
        self.last_pts: int | None = None
        #: AVI output: the first frame's input timestamp (slot 0), and the frames that had to leave their
        #: own slot (taken by the frame before) with the most any moved, in seconds.
        self.first_pts: Fraction | int | None = None
        #: AVI output: the very first frame's input timestamp. The copied streams keep their input times, and slot
        #: ``s`` lies at this time plus ``s`` frames on their timeline: each clock jump's offset counts from it
        #: (from :attr:`first_pts`, which moves at each jump, a third recording's sound took the second's offset).
        self._origin: Fraction | int | None = None
        self._own_last: int | None = None  # the last frame's own time (ticks of the input's time base)
        self.moved, self.most_moved = 0, 0.0
        #: Re-encoded audio: the next frame's timestamp (in samples), by input stream index.
        self._audio_next: dict[int, int] = {}
        #: Re-encoded audio: the samples taken off every timestamp after a jump that closed up, by input stream.
        self._audio_skipped: dict[int, int] = {}
        #: Re-encoded audio: the jumps too far to be gaps, as (where the sound follows on, how far it jumped)
        #: in seconds, by input stream index (named in a note by :func:`.outcome._record_outcome`).
        self.audio_jumps: dict[int, list[tuple[float, float]]] = {}
        #: Where the input's video ends, in seconds, if the file says: silence never fills sound beyond it.
        self.video_end = _video_end(self.vin)
        #: Copied packets: the last muxed, by output stream (:meth:`_mux_copy`): the output's time base, its decode
        #: time there (moved or not), and its own in seconds.
        self._copy_dts: dict[int, tuple[Fraction, int, Fraction]] = {}
        #: AVI output: how long the sound starts before zero (an encoder delay that AVI plays, late), seconds.
        self.sound_late = 0.0
        #: AVI output: the encoder's delay of each carried AAC stream (1024 samples), seconds, by input stream index.
        self._priming = _priming(side) if video.cfr else {}
        #: AVI output: where its time 0 lies on the input's timeline, in seconds (every stream but the video is moved
        #: back by it: AVI stores no start time), and where the picture starts later, behind empty slots, its slot 0
        #: there, else None (:func:`_avi_start`). Not AVI: 0 and None, nothing moved.
        starts = _starts(inp, self.vin, side)
        self.avi_start, self.lead_origin = _avi_start(starts, self.vin, rate) if video.cfr else (Fraction(0), None)
        #: AVI output: where the clip starts on the input's timeline, its earliest carried stream's start (picture or
        #: sound), seconds, and whether it carries sound: what the note on the start AVI cannot store names.
        self.clip_start, self.carries_sound = _clip_start(starts)
        #: AVI output: how far each carried stream is moved back (by input stream index): :attr:`avi_start`, or for
        #: sound that starts later, its own start (AVI plays it from 0 whatever its times; left later, its muxer
        #: padded the header's length with empty entries that no reader counts).
        self._avi_shifts = _avi_shifts(inp, side, self.avi_start) if video.cfr else {}
        #: AVI output whose picture starts after its sound: the empty slots before the first frame are still to mux.
        self._lead_pending = video.cfr and self.lead_origin is not None
        #: Not AVI: the frame to encode next and its input's duration, held back until the next one's time says
        #: how long it shows; the last shows as long as it did in the input. Each duration goes on the frame's packet
        #: (:attr:`_shown`; the encoders here leave it out): the muxer gave the last one the average frame's, and a
        #: variable-rate clip's last frame (33 ms) lasted 78 ms, the clip 45 ms longer.
        self._held: tuple[Any, int] | None = None
        #: How long the last frame encoded showed (ticks), a frame shown only :attr:`nudge_ticks` before the next left
        #: out: the last frame's, where the input does not say (MPEG-TS gives none), as FFmpeg's own encoding guesses
        #: it; the muxer made it the average frame's, or one tick. (The input's own duration, ``own``, is the length
        #: of a sample in decode order: right for the last frame shown, which x264 and x265 also decode last.)
        self._step = 0
        #: Whether the output's muxer times samples by their decode times, the last one's length from its packet
        #: (MP4, MOV, 3GP): see :meth:`_DtsGuard.mux`. (Never a constant-rate output: ``video.cfr`` is AVI's.)
        self._decode_timed = str(out.format.name) in _DECODE_TIMED
        #: How long each frame encoded and not yet muxed shows, by its time (ticks of the output's time base).
        self._shown: dict[int, int] = {}
        #: Copied streams' times where a clock goes back, moved by the offset the video's frames take; the
        #: packets it let go when the video went back (sent after that frame); and the jumps of a stream whose
        #: clock went back alone, by input stream index (named in a note by :func:`.outcome._record_outcome`).
        self.clock = _SharedClock()
        self._released: list[Any] = []
        self.copy_jumps = self.clock.jumps
        #: What :meth:`encode` does with each kind of item, instead of a ladder of ifs.
        self._encoders: dict[str, Callable[[tuple[Any, ...]], None]] = {
            "copy": self._mux_copy, "audio": self._encode_audio, "video": self._encode_video, "flush": self._flush,
            "subtitle": self._convert_subtitle,
        }  # fmt: skip

    def run(self) -> None:
        """Every item decoded, handled and encoded, then the encoders flushed; no frame at all is an error."""
        if pipeline_enabled():
            with _Pipeline(self.decode, self.encode) as pipe:
                for item in pipe.items():
                    self.handle(item, pipe.send)
                self._require_frames()
                for packet in self.clock.finish():
                    pipe.send(("copy", packet))
                pipe.send(("flush",))
                pipe.finish()
        else:  # WEATHERCLEAN_PIPELINE=0: decode, model and encode in turn, on this thread
            try:
                self.decode(self._handle_here)
            except _EncodeFailed as failed:  # a muxer's error, not the input's: as with the pipeline
                raise failed.error from None
            self._require_frames()
            for packet in self.clock.finish():
                self.encode(("copy", packet))
            self.encode(("flush",))

    @property
    def seam_losses(self) -> list[int]:
        """The damaged packets counted as the seams' of joined recordings (by their number in reading order)."""
        return self.reading.seam_losses

    def _require_frames(self) -> None:
        """Checked before the flush: an output with no video frame is no video, so nothing is written."""
        if self.frames_in == 0:
            raise InputError(f"{self.src}: no frames could be decoded; the file is empty or corrupt")

    def _handle_here(self, item: tuple[Any, ...]) -> None:
        """WEATHERCLEAN_PIPELINE=0: one item handled and encoded inside :meth:`decode`'s demux loop. An FFmpeg
        error of the encoder or muxer goes out wrapped, so that the loop does not take it for a demuxer that
        cannot go on (counted as damage, the decoders drained, and what the muxer refused muxed again)."""
        av = _av()
        try:
            self.handle(item, self.encode)
        except av.error.FFmpegError as exc:
            raise _EncodeFailed(exc) from exc

    def decode(self, put: Callable[[tuple[Any, ...]], None]) -> None:
        """Demux and decode in demux order; the main thread sees video frames already as RGB.

        Damage costs only the frames it touches: a packet cut short (the demuxer flags it corrupt) is
        never given to the decoder, because with frame threading one bad packet made the final drain
        drop every frame still in flight (a truncated clip lost 2 of its last 3 decodable frames),
        and a packet that fails to decode is skipped. A demuxer that gives up mid-file ends the input
        there, and the decoders are still drained, so the frames before it are kept.
        """
        av = _av()
        try:
            for packet in self.inp.demux():
                self._demux_one(packet, put)
        except av.error.FFmpegError as exc:
            if is_disk_full(exc):
                raise
            self.health.damaged += 1  # the demuxer cannot go on: keep what came before, drain the decoders
            for frame in self.health.drain(self.vin):
                self._put_video(self.order.push(self.health.time_of(frame), frame), put)
        self._put_video(self.order.flush(), put)

    def _put_video(self, frames: list[tuple[int | None, Any]], put: Callable[[tuple[Any, ...]], None]) -> None:
        """Send decoded frames on, in the order :class:`_FrameOrder` gave them, as RGB with their times, and what
        their luma holds beyond black and white (:func:`.colour._excess_of`), which RGB cannot: it travels in the
        item, so it stays with its own frame whatever frames are dropped or not written on the way."""
        for pts, frame in frames:
            rgb = _frame_to_rgb(frame, self.video.wide, self.video.colour)
            excess = _excess_of(frame, rgb) if self.video.headroom else None
            put(("video", rgb, pts, self.reading.mark(), excess, frame.duration or 0))

    def _demux_one(self, packet: Any, put: Callable[[tuple[Any, ...]], None]) -> None:
        """Route one packet: copied streams as packets (with where the video is read to), re-encoded audio and
        the video as frames; packets of streams the output does not carry (a second video, data tracks) go
        nowhere, nor do a copied ``mov_text`` track's empty samples, which the muxer writes itself
        (:attr:`.side_streams._SideStreams.cue_ends`)."""
        idx = packet.stream.index
        if idx in self.side.copies:
            if packet.dts is None:  # a demuxer flush marker, not data
                return
            if idx not in self.side.cue_ends or not _is_cue_end(packet):
                put(("copy", packet, self.reading.mark()))
        elif idx in self.side.reencode:
            for frame in _safe_decode(packet, self.src):
                put(("audio", idx, frame))
        elif idx in self.side.subtitles:
            if packet.dts is not None:
                put(("subtitle", packet))
        elif idx == self.vin.index:
            damaged = self.health.damaged
            frames = self.health.decode_video(packet, self.src)
            if packet.size:
                self.reading.read(packet, self.health.damaged > damaged)
            for frame in frames:
                self._put_video(self.order.push(self.health.time_of(frame), frame), put)

    def handle(self, item: tuple[Any, ...], send: Callable[[tuple[Any, ...]], None]) -> None:
        """Restore one decoded video frame and send it on; audio and subtitles go on in demux order, copied
        packets moved on where their clock goes back (:class:`.clock._SharedClock`, here, in the order the
        video's frames come: its offset is theirs; each told where the video was read to when it was)."""
        if item[0] == "copy":
            for packet in self.clock.copied(item[1], item[2]):
                send(("copy", packet))
            return
        if item[0] != "video":
            send(item)
            return
        _, rgb, pts, mark, excess, own = item
        self._released += self.clock.read_to(mark)
        if pts is not None:
            self.health.last_pts = pts if self.health.last_pts is None else max(pts, self.health.last_pts)
        self._check_size(rgb)
        restored = np.asarray(self.process(rgb))
        if restored.shape != rgb.shape:
            raise OutputError(f"{self.src}: processing changed the frame size {rgb.shape} → {restored.shape}")
        pts = self._output_pts(pts, mark)
        self.last_pts = pts
        send(("video", restored, pts, excess, own))
        if self.vin.time_base and not self.video.cfr:
            self.clock.reach(Fraction(pts + self.frame_ticks) * self.vin.time_base)
        elif self.vin.time_base and self._origin is not None:  # AVI: the slot's end, on the copied streams' clock
            self.clock.reach(self._origin * self.vin.time_base + Fraction(pts + 1) / self.video.rate)
        # Taken before they are sent: where sending fails, none goes twice.
        released, self._released = self._released, []
        for packet in released:
            send(("copy", packet))
        self.frames_in += 1
        if self.on_frame is not None:
            self.on_frame(self.frames_in, self.total)

    def _check_size(self, rgb: np.ndarray) -> None:
        """Count frames of another size than the clip's (an IP camera that switched profile mid-recording):
        the encoder scales them to the clip's size, which a note must say (:func:`.outcome._record_outcome`)."""
        size = (rgb.shape[1], rgb.shape[0])
        if size != self.video.stored_size():
            self.resized.setdefault(size, self.frames_in)
            self.resized_count += 1

    def _output_pts(self, pts: int | None, mark: _Mark | None = None) -> int:
        """The frame's output timestamp: its own (variable frame rate stays in sync), its slot for AVI, one
        frame after the last when it has none, and where it is no later than the last (muxers refuse that):
        - a repeat, or a step back by less than a frame (a camera that stamps two frames alike): a millisecond
          after the last. A whole frame's step there made every later frame late by it, the picture drifting
          behind the sound with each repeat; this moves only the frame itself, counted for a note.
        - a clock that goes back further (a recorder's reset, two clips joined): a frame after the last (and
          after the copied streams' last packets end, and as far after it as they start before it), and every
          later frame, and every copied packet, by as much, so that they keep their own spacing and the sound
          stays with the picture (:class:`.clock._SharedClock`); each jump goes into a note. ``mark``: where the
          video was read to when the frame came out of the decoder."""
        if self.video.cfr:
            return self._slot(pts, mark)
        if self.last_pts is None:
            return 0 if pts is None else pts
        if pts is None:
            return self.last_pts + self.frame_ticks
        own, pts = pts, pts + self._shift
        if pts > self.last_pts:
            return pts
        if self.last_pts - pts < self.frame_ticks:  # a repeat: only this frame moves
            self.retimed += 1
            return self.last_pts + self.nudge_ticks
        following = self.last_pts + self.frame_ticks
        seam = self._seam_after(mark, self.last_pts - self._shift)
        if seam is not None:
            # the frame lost at the seam was the first recording's last: it keeps its slot, picture and sound together
            following = max(following, seam + self._shift + self.frame_ticks)
        if self.vin.time_base:
            following = max(following, self.clock.start_for(own, self.vin.time_base))
            self._released += self.clock.start_epoch(Fraction(following - own) * self.vin.time_base, mark)
        self._shift = following - own
        self.clock_jumps.append((float(following * self.vin.time_base), float((following - pts) * self.vin.time_base)))
        return following

    def _seam_after(self, mark: Any, last: int) -> int | None:
        """The time of the frame lost at a seam (:meth:`_seam_time`) when it lies in the slots just after ``last``,
        the first recording's last frame shown, where it keeps its slot; else None."""
        seam = self._seam_time(mark)
        return seam if seam is not None and last < seam <= last + _SEAM_SLOTS * self.frame_ticks else None

    def _seam_time(self, mark: _Mark | None) -> int | None:
        """The time of the damaged packet at the seam where the video goes back now (the frame that goes back
        came out of the decoder with the video read to ``mark``), or None: that of the earliest step back read
        (:class:`.clock._VideoReading`) not yet matched with a frame, skipping those whose frames never came
        (:data:`.clock._LAG_PACKETS` read since: dropped as damage)."""
        resets = self.reading.resets
        while mark is not None and self._resets_matched < mark.resets:
            reads, seam = resets[self._resets_matched]
            self._resets_matched += 1
            if mark.reads - reads < _LAG_PACKETS:
                return seam
        return None

    def _slot(self, pts: int | None, mark: _Mark | None = None) -> int:
        """AVI: the frame's slot at the output rate, counted from the first frame. Slots left out stay empty
        index entries, which players show as the frame before (how DVRs store dropped frames), so the clip
        keeps its length and its sync with the sound instead of closing up. A frame whose slot is taken
        moves to the next free one (counted for the note in :func:`.outcome._record_outcome`); where the
        clock goes back a frame or more, the slots count on from there (:meth:`_slots_from`)."""
        following = 0 if self.last_pts is None else self.last_pts + 1
        if pts is None or not self.vin.time_base:
            return following
        if self.first_pts is None:  # slot 0: the first frame's own time, or the sound's start it comes after
            lead = self.lead_origin  # (already a whole number of slots before the first frame: _avi_start)
            self.first_pts = self._origin = pts if lead is None else lead / self.vin.time_base
        elif self._own_last is not None and self._own_last - pts >= self.frame_ticks:
            self._slots_from(pts, following, mark)
        self._own_last = pts
        exact = float((pts - self.first_pts) * self.vin.time_base * self.video.rate)
        slot = max(round(exact), following)
        if slot - exact > 0.5:
            self.moved += 1
            self.most_moved = max(self.most_moved, (slot - exact) / float(self.video.rate))
        return slot

    def _slots_from(self, pts: int, following: int, mark: _Mark | None) -> None:
        """AVI: the clock goes back at ``pts`` (a recorder's reset, recordings joined): it takes slot
        ``following`` (the seam's lost frame keeping its own first, as in :meth:`_output_pts`) and the frames
        after it count on from there, keeping their spacing; copied streams move on by as much, and the jump
        goes into the note. Counted from the first frame, every later frame had to leave its slot ("10 frames
        shown up to 1000 ms late") and the sound, left behind, was named as going back alone.

        As in :meth:`_output_pts`, the new timeline starts where every stream so far ends
        (:meth:`.clock._SharedClock.start_for`), here at the nearest free slot: moved by the video's offset alone,
        the second recording's first MP2 packet (at 2.000 s) overlapped the first's last (1.992 s, 24 ms long),
        both fell in one tick of AVI's sound time base (an MP2 frame), and the muxer refused the whole clip
        ("Invalid argument"). The nearest slot, not the next: AVI's sound has no times of its own, its packets
        play one after another, so the second recording's sound starts where the first's ends whatever its
        timestamps; a slot after that end put the picture up to a frame behind it (92 ms at 10 fps with 36 ms
        MP2 frames), the nearest puts it within half a frame. (A packet that still overlaps the one before
        follows it: :meth:`_mux_copy`.)"""
        assert self.first_pts is not None and self._own_last is not None and self._origin is not None
        base, rate = self.vin.time_base, self.video.rate
        seam = self._seam_after(mark, self._own_last)
        if seam is not None:
            following = max(following, round((seam - self.first_pts) * base * rate) + 1)
        start = self.clock.start_for(pts, base)  # (slot s lies at the origin plus s frames on the streams' clock)
        following = max(following, round((start - self._origin) * base * rate))
        first = pts - Fraction(following) / (rate * base)  # (ticks, not whole: the slot's own time)
        self.clock_jumps.append((float(following / rate), float((self.first_pts - first) * base)))
        self._released += self.clock.start_epoch((self._origin - first) * base, mark)
        self.first_pts = first

    def encode(self, item: tuple[Any, ...]) -> None:
        """Encode and mux one item, in the order the main thread handed them over (one muxer thread)."""
        self._encoders[item[0]](item)

    def _mux_copy(self, item: tuple[Any, ...]) -> None:
        """Mux an audio or subtitle packet as it came, retargeted at its output stream.

        One whose decode time, in the output's time base, is not after the one before moves just after it:
        AVI counts MP2 sound in whole frames (24 ms at 48 kHz), so two packets apart in the input's 90 kHz
        can round to one tick there, and the muxer refuses the whole clip ("Invalid argument"). Only such a
        packet is touched: the others go as they came, byte for byte, and so do two at the same time in the
        input (cues may share one), for the muxer to judge as before. (The output's time base is the muxer's
        once its header is written, at the first packet: until then a base that changes starts afresh.)"""
        packet = item[1]
        self._to_avi_start(packet, packet.stream.index)
        packet.stream = out = self.side.copies[packet.stream.index]
        if packet.dts is not None and packet.time_base:
            base, exact = out.time_base, Fraction(packet.dts) * packet.time_base
            at = _rescale(packet.dts, packet.time_base, base)
            last = self._copy_dts.get(out.index)
            if last is not None and last[0] == base and at <= last[1] and exact > last[2]:
                step = last[1] + 1 - at
                pts = None if packet.pts is None else _rescale(packet.pts, packet.time_base, base) + step
                duration = _rescale(packet.duration, packet.time_base, base) if packet.duration else 0
                packet.time_base, packet.dts, packet.pts, packet.duration = base, at + step, pts, duration
                at += step
            self._copy_dts[out.index] = (base, at, exact)
        self._mux_sound([packet])

    def _to_avi_start(self, packet: Any, idx: int) -> None:
        """AVI output: ``packet`` of input stream ``idx`` moved back by its stream's shift (:attr:`_avi_shifts`), in
        ticks of its own time base, before anything else judges its time. Why: AVI's audio has no timestamps, its
        muxer counts packets, and one after the next packet's count is padded with empty entries: a clip recorded from
        10 s had its sound's header say 11 s over 1 s of packets. Moved by the same amount as the picture, sound and
        picture stay together.

        And how far the sound starts before zero (an encoder's delay, which an edit list skips): AVI has none to
        skip it (AAC's 1024 samples), so players start the sound that much late, and a note says so. Before zero as
        it came (MP4's edit list), or after the move, up to the codec's delay: the priming of AAC from a clip that
        starts at 10 s lies at 9.979 s, and had no note; more than that is sound that starts before the picture,
        which another note names where it is more than a frame (:func:`.outcome._record_outcome`)."""
        if not self.video.cfr:
            return
        before = -packet.pts * packet.time_base if packet.pts is not None and packet.time_base else 0
        shift = self._avi_shifts.get(idx)
        if shift and packet.time_base:
            ticks = round(shift / packet.time_base)
            if packet.dts is not None:
                packet.dts -= ticks
            if packet.pts is not None:
                packet.pts -= ticks
        after = -packet.pts * packet.time_base if packet.pts is not None and packet.time_base else 0
        late = max(before, min(after, self._priming.get(idx, 0)))
        self.sound_late = max(self.sound_late, float(late))

    def _convert_subtitle(self, item: tuple[Any, ...]) -> None:
        """Mux a subtitle cue converted to the output's text format (:mod:`.subtitles`), at its own time."""
        packet = item[1]
        self.out.mux(self.side.subtitles[packet.stream.index].cue(packet))

    def _mux_sound(self, packets: list[Any], source: int | None = None) -> None:
        """Mux audio (or subtitle) packets, those re-encoded from input stream ``source`` moved to AVI's start
        (:meth:`_to_avi_start`; copied ones were moved before the muxing order was judged: :meth:`_mux_copy`)."""
        if source is not None:
            for packet in packets:
                self._to_avi_start(packet, source)
        self.out.mux(packets)

    def _encode_audio(self, item: tuple[Any, ...]) -> None:
        """Re-encode one decoded audio frame, timed in samples from where the input's sound starts.

        A timestamp must reach the encoder: without one, AAC's priming (1024 samples the encoder puts first)
        counts as sound, and everything after it plays late (128 ms at 8 kHz). With one, the first packet
        starts before zero and the muxer's edit list skips the priming. Frames follow on sample for sample
        from the first one's time (PyAV's frame queue refuses a timestamp off by the rounding of a
        millisecond time base), so the encoder's output is timed by its sample count alone: a gap in the
        input's sound (a recorder that dropped audio packets) would close up, and all after it play early.
        A frame that starts :data:`_GAP_SECONDS` or more after the sound so far ends gets silence before
        it, as FFmpeg's ``aresample=async`` pads; one that starts early (an overlap) follows on as it is.

        Only a gap that could be one is filled (:meth:`_fills`): a recorder's clock that jumps an hour ahead
        made an hour of silence after 2 s of video. The sound after a jump follows on, as before the gap
        fill, and so does all that comes after it (its timestamps less the jump); the jump is kept for a note.
        """
        idx, frame = item[1], item[2]
        rate = frame.sample_rate
        known = frame.pts is not None and frame.time_base is not None
        at = round(frame.pts * frame.time_base * rate) - self._audio_skipped.get(idx, 0) if known else None
        start = self._audio_next.get(idx)
        if start is None:
            start = at if at is not None else 0
        elif at is not None and at - start >= max(1, round(_GAP_SECONDS * rate)):
            if self._fills(start, at, rate):
                for silence in _silence(frame, start, at - start):
                    self._mux_sound(self.side.reencode[idx][1].encode(silence), idx)
                start = at
            else:
                self._audio_skipped[idx] = self._audio_skipped.get(idx, 0) + at - start
                self.audio_jumps.setdefault(idx, []).append((start / rate, (at - start) / rate))
        frame.pts, frame.time_base = start, Fraction(1, rate)
        self._audio_next[idx] = start + frame.samples
        self._mux_sound(self.side.reencode[idx][1].encode(frame), idx)

    def _fills(self, start: int, at: int, rate: int) -> bool:
        """Whether silence fills the sound from ``start`` to ``at`` (in samples): only up to the video's end
        where the file says where that is (then no gap is longer than the video), else only a gap of
        :data:`_MAX_GAP_SECONDS` at most."""
        if self.video_end is not None:
            return at <= self.video_end * rate
        return at - start <= _MAX_GAP_SECONDS * rate

    def _encode_video(self, item: tuple[Any, ...]) -> None:
        """Encode one restored frame, converted back with the input's colour matrix and range (and turned
        upright where the output cannot store the rotation), with the luma its input held beyond black and white
        given back where the model left the pixel alone (:func:`.colour._give_back`)."""
        rgb = rotation_upright(item[1], self.video.turn) if self.video.turn else item[1]
        new = _rgb_to_frame(rgb, self.video.stream.pix_fmt, self.video.written)
        if item[3] is not None:
            _give_back(new, rgb, item[3], self.video.turn)
        new.pts, new.time_base = item[2], self.video.time_base
        if self._lead_pending:
            self._lead_pending = False
            if item[2]:
                self._lead_in(item[2])
        if self.video.cfr:  # AVI: each frame fills its slot
            self._mux_video(self.video.stream.encode(new))
            return
        self._mux_video(self._encode_held(new.pts))
        self._held = (new, item[4])

    def _encode_held(self, until: int | None) -> list[Any]:
        """Encode the frame held back (:attr:`_held`), shown until ``until`` (ticks of the output's time base: the
        next frame's time), or, the last (None), for its input's duration (the output's time base is the input's);
        where that is unknown (0), as long as the frame before it (:attr:`_step`). Returns the encoder's packets."""
        if self._held is None:
            return []
        (frame, own), self._held = self._held, None
        shown = (own or self._step) if until is None else until - frame.pts
        if shown > 0:
            self._shown[frame.pts] = shown
            if shown > self.nudge_ticks:  # a frame moved 1 ms ahead of a repeat is no measure of the last one's
                self._step = shown
        return self.video.stream.encode(frame)

    def _mux_video(self, packets: list[Any], closing: bool = False) -> None:
        """Mux the video encoder's ``packets``, each with the duration of its frame (:attr:`_shown`), if known;
        ``closing``: the last of the stream, the last of which closes an MP4's or MOV's timeline
        (:meth:`_DtsGuard.mux`)."""
        for packet in packets:
            shown = self._shown.pop(packet.pts, None) if packet.pts is not None else None
            if shown is not None:
                packet.duration = shown
        self.dts.mux(self.out, packets, closing and self._decode_timed)

    def _lead_in(self, first: int) -> None:
        """AVI output whose picture starts after its sound: empty index entries for the slots before the ``first``
        frame's, which players count as frames shown as the one before (none: nothing shown), so the picture starts
        at its own time. AVI's muxer pads a gap between two frames so, but not before the first: there the picture
        started with the sound, 500 ms early for a clip whose picture came 0.5 s after it."""
        av = _av()
        for slot in range(first):
            empty = av.Packet(0)
            empty.stream, empty.time_base = self.video.stream, self.video.time_base
            empty.pts = empty.dts = slot
            self.out.mux(empty)
        self.dts.last = first - 1

    def _flush(self, item: tuple[Any, ...]) -> None:
        """The last frame, held back (:meth:`_encode_held`), and the encoders' delayed packets."""
        self._mux_video(self._encode_held(None) + self.video.stream.encode(None), closing=True)
        for idx, (_dec, enc) in self.side.reencode.items():
            self._mux_sound(enc.encode(None), idx)
        for converted in self.side.subtitles.values():
            self.out.mux(converted.flush())


class _EncodeFailed(Exception):
    """An encoder's or muxer's FFmpeg error, carried out of :meth:`_Transcoder.decode` unchanged."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _priming(side: _SideStreams) -> dict[int, Fraction]:
    """The encoder's delay of each carried AAC stream (:data:`_AAC_PRIMING` samples), in seconds, by input stream
    index: the part of a sound that starts before the picture that is its codec's, not the recording's."""
    delays = {}
    for idx, out in side.sound_and_copies().items():
        ctx = getattr(out, "codec_context", None)
        rate = getattr(ctx, "sample_rate", 0)
        if getattr(out, "type", None) == "audio" and getattr(ctx, "name", None) == "aac" and rate:
            delays[idx] = Fraction(_AAC_PRIMING, rate)
    return delays


#: AAC's encoder delay, in samples: the priming an MP4's edit list skips and AVI cannot.
_AAC_PRIMING = 1024


def _starts(inp: Any, vin: Any, side: _SideStreams) -> tuple[Fraction, Fraction | None]:
    """Where the picture starts and where the earliest carried sound does (None: no sound carried), in seconds on
    the input's timeline."""
    base = vin.time_base
    picture = Fraction(vin.start_time) * base if vin.start_time is not None and base else Fraction(0)
    carried = side.sound_and_copies()
    starts = [
        Fraction(s.start_time) * s.time_base
        for s in inp.streams.audio
        if s.index in carried and s.start_time is not None and s.time_base
    ]
    return picture, min(starts, default=None)


def _clip_start(starts: tuple[Fraction, Fraction | None]) -> tuple[Fraction, bool]:
    """Where the clip starts, its earliest carried stream (picture or sound), in seconds, and whether it carries
    sound, from :func:`_starts`. Why: the note on the start time AVI cannot store named the picture's start for a
    clip whose sound started at 0 ("the start time (0.1 s)" where the picture came 0.1 s after its sound)."""
    picture, sound = starts
    return (picture if sound is None else min(picture, sound)), sound is not None


def _avi_start(starts: tuple[Fraction, Fraction | None], vin: Any, rate: Fraction) -> tuple[Fraction, Fraction | None]:
    """Where AVI output's time 0 lies on the input's timeline (seconds), and where the picture starts after it, its
    slot 0 there (None: the picture's first frame is slot 0), from the picture's and sound's starts (:func:`_starts`).

    AVI stores no start time: every stream starts at 0. So all of them move back by one amount, the picture's start,
    and stay together (a clip from a recorder that started at 10 s comes out from 0, with a note). Where the sound
    (the earliest of the audio streams carried) starts before the picture by more than a frame and more than an
    audio encoder's delay (:data:`_PRIMING_SECONDS`: AAC's 1024 samples, 128 ms at 8 kHz, count in a stream's start),
    time 0 is the sound's start and the picture starts later, behind empty slots, from the slot nearest its own
    time (its frames keep their grid; AVI's sound plays from 0 whatever its packets' times)
    (:meth:`_Transcoder._lead_in`), as DVRs store dropped frames; up to :data:`_MAX_LEAD_SECONDS`. Sound that starts
    after the picture cannot be kept: AVI's readers count no empty audio entries, so it starts with the picture
    (a note says so: :func:`.outcome._record_outcome`)."""
    picture, sound = starts
    if sound is None or not vin.time_base:
        return picture, None
    lead = picture - sound
    if lead > max(1 / Fraction(rate), _PRIMING_SECONDS) and lead <= _MAX_LEAD_SECONDS:
        return sound, picture - math.floor(lead * rate + Fraction(1, 2)) / Fraction(rate)  # halves up: sound plays late
    return picture, None


def _avi_shifts(inp: Any, side: _SideStreams, start: Fraction) -> dict[int, Fraction]:
    """How far AVI output moves each carried stream back, by input stream index: ``start`` (:func:`_avi_start`), or
    for sound that starts later, its own start: AVI plays each sound stream from 0."""
    shifts = {}
    for idx in side.sound_and_copies():
        s = inp.streams[idx]
        own = Fraction(s.start_time) * s.time_base if s.type == "audio" and s.start_time is not None else None
        shifts[idx] = max(start, own) if own is not None and s.time_base else start
    return shifts


#: The most a stream's start counts of an audio encoder's delay (AAC's 1024 samples: 21 ms at 48 kHz, 128 ms at
#: 8 kHz), seconds: a picture that starts later than the sound by less is taken to start with it (:func:`_avi_start`).
_PRIMING_SECONDS = Fraction(15, 100)
#: The longest lead of the sound over the picture that AVI output keeps with empty slots, seconds: beyond, the
#: index would fill with empty entries (a recorder's clock set apart, not a camera's sound starting first).
_MAX_LEAD_SECONDS = 10


def _rescale(ticks: int, base: Fraction, to: Fraction) -> int:
    """``ticks`` of ``base`` in ticks of ``to``, rounded as FFmpeg rescales a packet (to nearest, halves away
    from zero)."""
    exact = Fraction(ticks) * base / to
    return math.floor(exact + Fraction(1, 2)) if exact >= 0 else -math.floor(-exact + Fraction(1, 2))


#: How many frames after the last frame shown before a clock goes back the frame lost at the seam (the first
#: recording's last, flagged by FFmpeg) may lie and keep its slot: a B-frame pyramid's reorder depth.
_SEAM_SLOTS = 4
#: A gap in the input's sound from which silence fills it (:meth:`_Transcoder._encode_audio`), seconds: far
#: above a millisecond time base's rounding, and below what a viewer hears as out of sync (about 45 ms).
_GAP_SECONDS = 0.02
#: The longest gap silence fills where the input does not say where its video ends, seconds: longer than a
#: recorder's dropout of a few packets, far shorter than a clock that jumps (or is reset) by hours.
_MAX_GAP_SECONDS = 10
#: Silence goes to the encoder a second at most at a time, so a long gap never sits in memory whole.
_SILENCE_CHUNK_SECONDS = 1


def _silence(like: Any, pts: int, samples: int) -> Iterator[Any]:
    """``samples`` of silence from ``pts`` (in samples), in frames of ``like``'s format, layout and rate: what
    the encoder's resampler was set up for. Unsigned 8-bit samples are silent at 128, all others at 0."""
    av = _av()
    fmt, rate = like.format, like.sample_rate
    quiet = bytes([128 if fmt.name.startswith("u8") else 0])
    step = max(1, rate * _SILENCE_CHUNK_SECONDS)
    for offset in range(0, samples, step):
        frame = av.AudioFrame(format=fmt.name, layout=like.layout, samples=min(step, samples - offset))
        for plane in frame.planes:
            plane.update(quiet * plane.buffer_size)
        frame.sample_rate, frame.pts, frame.time_base = rate, pts + offset, Fraction(1, rate)
        yield frame


#: Muxers (FFmpeg's names) whose samples' lengths are the steps between decode times, the last sample's its packet's
#: duration: their file is as long as its decode times reach (:meth:`_DtsGuard.mux`).
_DECODE_TIMED = frozenset({"mp4", "mov", "3gp"})


class _DtsGuard:
    """Muxes encoder packets, repairing a decode timestamp the encoder got wrong.

    libx265 sometimes hands out an absurd dts for the first packet of a very short stream (seen: −8.7e15),
    which the MP4 muxer rejects. A dts must be at most the pts and increasing, the first a few frames below its pts
    at most; an implausible one is replaced by the nearest value that keeps those rules. Only the first is held to
    frames: after a gap in a variable-rate clip (a recorder that stops for 5 s) the encoder's dts is rightly the pts
    of a frame seconds before, and taken as absurd, the decode times were squeezed into consecutive ticks.
    """

    def __init__(self, frame_ticks: int) -> None:
        self.frame_ticks = frame_ticks
        self.last: int | None = None
        #: The first packet's presentation and decode times (None: no encoder packet muxed yet; AVI's empty lead-in
        #: entries set :attr:`last`, not this), and where the packet shown last ends (ticks).
        self._start: tuple[int, int] | None = None
        self._end: int | None = None

    def mux(self, out: Any, packets: list[Any], closing: bool = False) -> None:
        """Mux ``packets``, their decode times repaired; ``closing``: the stream's last, into MP4 or MOV, whose last
        packet (:meth:`_close`) is given the length that ends the file where the last frame shown ends."""
        for i, packet in enumerate(packets):
            if packet.pts is not None and packet.dts is not None:
                reorder = 16 * self.frame_ticks  # far more than any encoder's B-frame delay
                if self._start is None and not packet.pts - reorder <= packet.dts <= packet.pts:
                    packet.dts = packet.pts - 2 * self.frame_ticks
                if self.last is not None and packet.dts <= self.last:
                    packet.dts = self.last + 1
                packet.dts = min(packet.dts, packet.pts)
                self.last = packet.dts
                self._start = self._start or (packet.pts, packet.dts)
                ends = packet.pts + max(0, packet.duration or 0)
                self._end = ends if self._end is None else max(self._end, ends)
                if closing and i == len(packets) - 1:
                    self._close(packet)
            out.mux(packet)

    def _close(self, last: Any) -> None:
        """Move the ``last`` packet's (in decode order) decode time, and where that cannot reach, its length, so that
        the decode times, from the first packet's, end where the frame shown last ends, as far from the first frame's
        time: an MP4's samples last from one decode time to the next, and its length is where they end. Its own end
        (time and length) stays within the clip's, where the muxer's edit list ends. Why: a variable-rate clip's
        encoder delays decode times by the frames' own spacing, so the last lay further behind its frame than the
        first (by a 5 s gap before the last frame): a 5.03 s clip said 1.02 s, an irregular 1.566 s clip 1.565 s."""
        assert self._start is not None and self._end is not None
        first_pts, first_dts = self._start
        reach = self._end - first_pts + first_dts
        last.dts = min(last.pts, max(last.dts, reach - max(0, last.duration or 0)))
        self.last = last.dts
        if reach > last.dts:
            last.duration = reach - last.dts
