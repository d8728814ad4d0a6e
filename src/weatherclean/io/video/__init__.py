"""Videos in, videos out, in one PyAV pass: the same clip back, only the picture changed.

What users of other tools lose, and we keep: audio and subtitle streams (copied packet for packet, not
re-encoded), every frame (never fewer out than in, no reliance on ``nb_frames``), the frame timestamps
(so variable-frame-rate phone clips stay in sync), and the rotation of portrait phone videos. The result
is written under a hidden temporary name and renamed into place when complete, so an interrupted run
leaves nothing under the final name.

Pixels go to the caller as decoded, H×W×3 RGB uint8 (uint16 for video above 8 bits), as stored (rotation
is metadata, as for EXIF orientation in photos), in presentation order, one call per frame. Integers,
not floats: a float copy of every frame would cost the codec threads two more passes over it, and
those threads share the cores with the model (the tiling engine converts one tile at a time instead).

One module per concern, each importing only those listed before it:

* ``pyav``: PyAV, imported on first use; ``containers``: suffixes and their containers, ``--format``
  names, muxer options, the ``.partial`` name.
* ``encoder``: :class:`VideoOptions`, the codec and its options, :func:`check_encoder`, :func:`preset_note`.
* ``colour``: YUV ↔ RGB for every frame, colour tags; ``carries``: which tags an encoder in a container keeps.
* ``reading``: opening a video, :func:`probe_video`, :func:`iter_frames`, decoding around damage.
* ``metadata``: recording tags, stream languages, dispositions, chapters.
* ``video_stream``: the output's video stream; ``timecode``: the start timecode; ``side_streams``: audio,
  subtitle and data streams, copied or re-encoded.
* ``order``: decoded frames back in time order, told from a clock that goes back (damaged H.264 with
  B-frames decodes a few frames late); ``clock``: where the video's clock goes back as its packets are read
  (and the frame each seam of joined recordings cost), and copied packets moved by the video's offset there.
* ``pipeline``: the decode and encode threads; ``transcoder``: decode → process → encode for one clip;
  ``outcome``: :class:`VideoResult`, frames expected, damage; ``process``: :func:`process_video`, and
  :func:`in_place_refusal`, what ``--in-place`` would lose.
"""

from __future__ import annotations

from weatherclean.io.media import VIDEO_SUFFIXES, is_video_path
from weatherclean.io.video.containers import CONTAINERS, is_partial_path, partial_path
from weatherclean.io.video.containers import PARTIAL_TAG as PARTIAL_TAG
from weatherclean.io.video.containers import VIDEO_FORMATS as VIDEO_FORMATS
from weatherclean.io.video.encoder import VideoOptions, check_encoder, encoder_options, preset_note
from weatherclean.io.video.outcome import VideoResult
from weatherclean.io.video.process import in_place_refusal, process_video
from weatherclean.io.video.reading import VideoInfo, iter_frames, probe_video

__all__ = [
    "CONTAINERS",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "VideoOptions",
    "VideoResult",
    "check_encoder",
    "encoder_options",
    "in_place_refusal",
    "is_partial_path",
    "is_video_path",
    "iter_frames",
    "partial_path",
    "preset_note",
    "probe_video",
    "process_video",
]
