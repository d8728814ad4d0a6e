"""The codec threads: :class:`_Pipeline` decodes ahead of the model in one thread and encodes behind it in
another, through bounded queues, and raises a worker's error in the main thread with its own type and
message.

It knows nothing of video: it moves items between the three steps :class:`.transcoder._Transcoder` gives it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: Frames (or other items) that may wait between threads: enough to ride out a slow frame, small
#: enough that 1280×720 frames cost ~11 MB at most (uint8; twice that above 8 bits), plus, for a limited-range
#: clip with samples beyond black or white, up to 5 bytes a pixel of the excess each frame carries (io.video.colour).
_QUEUE_FRAMES = 4
#: How often a blocked thread looks up to see whether the others have failed or stopped (seconds).
_POLL = 0.05


class _Pipeline:
    """Decode ahead in one thread and encode + mux in another, so the model runs while the codecs work.

    The main thread takes items from :meth:`items` (decoded in demux order), processes video frames and
    hands everything on with :meth:`send`, in order; the encoder thread is the only one that touches the
    output container, so muxing happens in exactly the order it did without threads. PyAV releases the
    GIL inside FFmpeg and PyTorch inside its kernels, so decode, model and encode genuinely overlap.

    Errors keep their type and message: an exception in a worker is raised again in the main thread at
    its next :meth:`items`/:meth:`send`/:meth:`finish`. Leaving the ``with`` block for any reason
    (an error, Ctrl-C) stops both workers and waits for them, so nothing touches the containers after
    the caller closes them. Queues are bounded, so memory stays at a few frames however long the clip.
    """

    _END = ("end",)

    def __init__(
        self, decode: Callable[[Callable[[tuple[Any, ...]], None]], None], encode: Callable[[tuple[Any, ...]], None]
    ) -> None:
        self._decode, self._encode = decode, encode
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue(_QUEUE_FRAMES)
        self._outbox: queue.Queue[tuple[Any, ...]] = queue.Queue(_QUEUE_FRAMES)
        self._stop = threading.Event()
        self._error: list[BaseException] = []  # from the encoder thread; the decoder's travel in the inbox
        self._decoder = threading.Thread(target=self._run_decoder, name="weatherclean-decode", daemon=True)
        self._encoder = threading.Thread(target=self._run_encoder, name="weatherclean-encode", daemon=True)

    def __enter__(self) -> _Pipeline:
        self._decoder.start()
        self._encoder.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in (self._decoder, self._encoder):
            thread.join()

    def _put(self, box: queue.Queue[tuple[Any, ...]], item: tuple[Any, ...]) -> bool:
        """Blocking put that gives up (False) once the pipeline is stopping."""
        while not self._stop.is_set():
            try:
                box.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _run_decoder(self) -> None:
        def put(item: tuple[Any, ...]) -> None:
            if not self._put(self._inbox, item):
                raise _Stopped

        try:
            self._decode(put)
            put(self._END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the main thread
            self._put(self._inbox, ("error", exc))

    def _run_encoder(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._outbox.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if item is self._END:
                    return
                self._encode(item)
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread
            self._error.append(exc)

    def _raise_encoder_error(self) -> None:
        if self._error:
            raise self._error[0]

    def items(self) -> Iterator[tuple[Any, ...]]:
        """Decoded items in demux order, until the input ends; a decoder error is raised here."""
        while True:
            self._raise_encoder_error()
            try:
                item = self._inbox.get(timeout=_POLL)
            except queue.Empty:
                if not self._decoder.is_alive() and self._inbox.empty():
                    raise RuntimeError("the video decoder thread stopped without a result") from None
                continue
            if item is self._END:
                return
            if item[0] == "error":
                raise item[1]
            yield item

    def send(self, item: tuple[Any, ...]) -> None:
        """Hand an item to the encoder thread (blocks while it is ``_QUEUE_FRAMES`` behind)."""
        while True:
            self._raise_encoder_error()
            if not self._encoder.is_alive():
                raise RuntimeError("the video encoder thread stopped without a result")
            try:
                self._outbox.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every item sent has been encoded and muxed; raise the encoder's error if any."""
        self.send(self._END)
        self._encoder.join()
        self._raise_encoder_error()


class _Stopped(Exception):
    """The pipeline is shutting down; a worker unwinds quietly."""
