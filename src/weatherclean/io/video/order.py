"""Decoded frames put back in time order: :class:`_FrameOrder`, between the decoder and the model.

A decoder hands frames out in presentation order, but not after damage: H.264 with B-frames whose references
were lost gives a few concealed frames out of order (their own timestamps correct, not rising: 2.42 s, 0.75 s,
2.50 s, 0.83 s...). Taken as a recorder's clock reset, every later frame was pushed back by the step, and a
3 s clip came out 6.5 s long, out of sync with its sound. A real reset (two TS recordings joined with ``cat``,
a recorder whose clock was set back) is a jump back after which the frames rise again from there; frames out
of order return to the timeline they left. Telling the two apart needs a look at the frames that follow, so
a few frames are held back before they go on.
"""

from __future__ import annotations

import bisect
from collections import deque
from itertools import pairwise
from typing import Any

#: Frames held back to put them in time order: a frame that comes out up to this many frames late still
#: takes its own place (a B-frame pyramid's reorder depth is 2 to 4). Decoded frames, not RGB; with the
#: frames of a run (:data:`_RESET_RUN`) at most 7 are held: about 12 MB each at 4K, 25 MB at 10 bits.
_WINDOW = 4
#: Frames that follow on, each from the one before, after a jump back, that prove it a clock reset: one more
#: than the group of B-frames a damaged stream's decoder may give late (3 with x264's default settings).
_RESET_RUN = 4
#: The largest step, in frames (as the frames sent were spaced, :meth:`_FrameOrder._spacing`), between two
#: frames that still follow on from each other: a recorder that dropped a frame or two after a reset is still
#: the new timeline; a frame back on the old one jumps far more.
_FOLLOW_ON = 2.5
#: Times of the frames sent on that are remembered (ints): a frame back at one of them is from another
#: timeline (:meth:`_FrameOrder._repeats`), and one between them at the end, in a gap, is late.
_HISTORY = 32


class _FrameOrder:
    """Hands frames on in time order, within :data:`_WINDOW` frames; what goes back further is judged.

    :meth:`push` takes each decoded frame with its time (stream time base) and returns those that may go on,
    :meth:`flush` the rest at the end. Frames held are sorted: one that steps back by less than a frame (a
    camera's jitter) takes its place among them, and one that repeats the latest time goes on after it (the
    transcoder gives it its own millisecond). A frame that goes back before the frames already sent on, or
    a frame or more back to a time a frame already has (two frames at one time are not one timeline: a clock
    set back by fewer frames than are held), starts a run that the next frames decide:

    * they rise from it, a frame or so apart, :data:`_RESET_RUN` in all: a clock reset. What was held goes
      on first, then the new timeline; the transcoder makes the frames follow on and names the jump in a
      note (:meth:`._Transcoder._output_pts`). A run still open at the end is a reset too (kept, as a clip
      joined just before its end), unless each of its frames falls in a gap of the frames sent.
    * one follows on from the timeline they left (more closely than from the run): the run was frames decoded
      too late to take their place, dropped and counted in :attr:`dropped` (damage: they would show at the
      wrong time).
    """

    def __init__(self, frame_ticks: int, window: int = _WINDOW) -> None:
        self.frame_ticks = max(1, frame_ticks)
        self.window = window
        #: Frames dropped as too late for their place.
        self.dropped = 0
        self._late = 0  # frames that came after a frame a whole frame later
        self._early: set[int] = set()  # (arrival numbers of) frames that a frame a whole frame earlier came after
        self._held: list[tuple[int, int, Any]] = []  # (time, arrival, frame), in time order
        self._arrivals = 0
        self._floor: int | None = None  # the time of the last frame sent on, on the current timeline
        self._sent: deque[int] = deque(maxlen=_HISTORY)  # the times sent on, on the current timeline
        self._run: list[tuple[int, Any]] = []  # frames that went back, as they came

    @property
    def reordered(self) -> int:
        """Frames out of place, put back in time order: the fewer of those that came late and those that came
        early (``[10, 0, 1, 2]`` is one frame early, not three late)."""
        return min(self._late, len(self._early))

    def push(self, pts: int | None, frame: Any) -> list[tuple[int | None, Any]]:
        """Take one frame; the frames (time, frame) that go on now, in order."""
        if pts is None:  # no time to order it by: everything before it goes on, then it
            return [*self.flush(), (None, frame)]
        if self._run:
            if self._continues_run(pts):
                self._run.append((pts, frame))
                return self._reset() if len(self._run) >= _RESET_RUN else []
            self.dropped += len(self._run)  # back on the timeline it left: the run was out of order
            self._run = []
        if self._goes_back(pts):
            self._run.append((pts, frame))
            return []
        self._arrivals += 1
        item = (pts, self._arrivals, frame)
        at = bisect.bisect(self._held, item[:2], key=lambda held: held[:2])
        passed = [held[1] for held in self._held[at:] if held[0] - pts >= self.frame_ticks]
        if passed:  # came after a frame a whole frame later than it: put back in its place
            self._late += 1
            self._early.update(passed)
        self._held.insert(at, item)
        return self._release(self.window)

    def flush(self) -> list[tuple[int | None, Any]]:
        """Every frame still held, in order: at the end, or before a frame without a time."""
        if self._run and not self._fills_gaps():  # a jump back at the very end: a clip joined just before it
            out = self._reset()
        else:
            self.dropped += len(self._run)
            self._run, out = [], []
        return out + self._release(0)

    def _newest(self) -> int | None:
        """The latest time held or sent on, on the current timeline."""
        return self._held[-1][0] if self._held else self._floor

    def _goes_back(self, pts: int) -> bool:
        """Whether ``pts`` can no longer take a place on the current timeline: a frame or more before the
        last frame sent on, or a frame or more before the newest at a time a frame already has."""
        if self._floor is not None and self._floor - pts >= self.frame_ticks:
            return True
        newest = self._newest()
        return newest is not None and newest - pts >= self.frame_ticks and self._repeats(pts)

    def _repeats(self, pts: int) -> bool:
        """Whether a frame held or sent on has ``pts``'s time, to within half a frame."""
        times = [*self._sent, *(held[0] for held in self._held)]
        return any(2 * abs(time - pts) < self.frame_ticks for time in times)

    def _continues_run(self, pts: int) -> bool:
        """Whether ``pts`` rises from the run, a frame or so on (or still far back: a new timeline that lost
        frames), and follows on from it at least as closely as from the timeline it left."""
        last = self._run[-1][0]
        below = self._floor is not None and self._floor - pts >= self.frame_ticks
        if pts <= last or (pts - last > _FOLLOW_ON * self._spacing() and not below):
            return False
        newest = self._newest()
        return newest is None or 2 * (pts - newest) < self.frame_ticks or pts - last <= pts - newest

    def _spacing(self) -> int:
        """How far apart the frames sent on lie (the median step, ticks), a frame at least: a CCTV stream that
        declares 25 fps and records at 8 steps three frames at a time, and its new timeline's frames, so spaced,
        follow on from each other; against the declared rate, each step was a jump, and the frames were dropped."""
        steps = sorted(b - a for a, b in pairwise(self._sent) if b > a)
        return max(self.frame_ticks, steps[len(steps) // 2]) if steps else self.frame_ticks

    def _fills_gaps(self) -> bool:
        """Whether every frame of the run falls between frames sent on, at a time none of them has: frames
        decoded late, not a timeline of their own."""
        if not self._sent:
            return False
        low, high = min(self._sent), self._newest()
        return all(high is not None and low < pts < high and not self._repeats(pts) for pts, _ in self._run)

    def _reset(self) -> list[tuple[int | None, Any]]:
        """A clock reset: the old timeline's frames go on, and the run becomes the new timeline."""
        out = self._release(0)
        self._floor = None
        self._sent.clear()
        for pts, frame in self._run:
            self._arrivals += 1
            self._held.append((pts, self._arrivals, frame))
        self._held.sort(key=lambda held: held[:2])
        self._run = []
        return out + self._release(self.window)

    def _release(self, keep: int) -> list[tuple[int | None, Any]]:
        """The earliest held frames, until ``keep`` are left."""
        out: list[tuple[int | None, Any]] = []
        while len(self._held) > keep:
            pts, _, frame = self._held.pop(0)
            self._floor = pts if self._floor is None else max(self._floor, pts)
            self._sent.append(pts)
            out.append((pts, frame))
        return out
