"""Video files by name: the container each suffix is written as, the ``--format`` names, the options
given to the output's muxer, and the ``.partial`` name of a video that decoded only in part.

Nothing here decodes: batch planning and folder walks ask these questions of every file name, and the
muxer's options follow from the container, the input's tags and its first bytes (:func:`_index_first`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from weatherclean.io.media import VIDEO_CONTAINERS, is_video_path

#: File name endings treated as videos, and the FFmpeg muxer of each (the one list, in io/media.py).
CONTAINERS: dict[str, str] = VIDEO_CONTAINERS
#: Names users may give to ``--format`` for videos, and the suffix each writes.
VIDEO_FORMATS: dict[str, str] = {"mp4": ".mp4", "mov": ".mov", "mkv": ".mkv", "webm": ".webm", "avi": ".avi"}


#: Muxer options by container. AVI: FFmpeg's default shifts every stream once a packet comes before zero
#: (AAC's encoder delay, -1024 samples), after the first video frame has gone out at slot 0, so the video
#: lost its second slot and drifted a frame; AVI's audio has no timestamps to shift anyway.
_MUXER_OPTIONS: dict[str, dict[str, str]] = {"avi": {"avoid_negative_ts": "disabled"}}
#: Marks the name of a video that decoded only in part (``a.mp4`` → ``a.partial.mp4``), see :func:`partial_path`.
PARTIAL_TAG = ".partial"


def partial_path(output: Path) -> Path:
    """Where a video that decoded only in part is written unless ``--allow-partial``: ``a.mp4`` → ``a.partial.mp4``.

    Not under the output's own name, which a rerun takes as done (the failure would turn into exit 0),
    and never over the input (``--in-place``). The marked name keeps the frames that could be saved
    for a user to look at, and folder walks never read it as an input (:func:`is_partial_path`).
    """
    return output.with_name(f"{output.stem}{PARTIAL_TAG}{output.suffix}")


def is_partial_path(path: Path) -> bool:
    """Whether ``path`` is named like a partial video of ours (``*.partial.mp4``): never an input."""
    return is_video_path(path) and Path(path.stem).suffix.lower() == PARTIAL_TAG


def _muxer_options(fmt: str, inp: Any) -> dict[str, str]:
    """Options for the output muxer: :data:`_MUXER_OPTIONS`, and for MP4/MOV an iPhone's QuickTime keys
    (``com.apple.quicktime.location.ISO6709``, ``...make``) kept as such: FFmpeg writes them only on request;
    and an index at the front (``faststart``) when the input had one: a web-ready clip, which starts
    playing before it has downloaded, came back with its index at the end."""
    options = dict(_MUXER_OPTIONS.get(fmt, {}))
    if fmt in ("mp4", "mov"):
        flags = [flag for flag, wanted in (
            ("use_metadata_tags", any(k.startswith("com.apple.quicktime.") for k in inp.metadata or {})),
            ("faststart", _index_first(Path(inp.name))),
        ) if wanted]  # fmt: skip
        if flags:
            options["movflags"] = "+".join(flags)
    return options


def _index_first(path: Path) -> bool:
    """Whether an MP4/MOV file's index (``moov``) comes before its media data (``mdat``): its top-level
    boxes read from the start, a few bytes each. False for anything else."""
    try:
        with open(path, "rb") as fh:
            for _ in range(64):  # ftyp, free, wide, moov, mdat...: the first few boxes decide
                head = fh.read(8)
                if len(head) < 8:
                    return False
                size, kind = int.from_bytes(head[:4], "big"), head[4:]
                if kind == b"moov" or kind == b"mdat":
                    return kind == b"moov"
                if size == 1:
                    size = int.from_bytes(fh.read(8), "big") - 8
                if size < 8:
                    return False
                fh.seek(size - 8, os.SEEK_CUR)
    except OSError:
        return False
    return False
