"""What the output keeps of the input's metadata, the timecode aside (:mod:`.timecode`): the tags of the
recording (when, where, which camera; not those that describe the file as written), as far as each
container holds them; stream languages (MOV's two ISO 639-2 codes); stream dispositions; chapters.

A tag that cannot be kept is named in a note. Where a muxer's rules are not written down, a tiny file
written into memory and read back answers (:func:`_language_kept`).
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any

from weatherclean.errors import one_line
from weatherclean.io.video.pyav import _av, _mux_one_packet, _round_trip


def _keep_disposition(kept: Any, s: Any) -> None:
    """The stream's flags (default, forced, hearing impaired...): a forced subtitle must stay forced, or
    players stop showing it on their own."""
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        kept.disposition = s.disposition


#: The stream flags a note names when the output lost or gained them (FFmpeg's names, as ``ffprobe`` shows them). Not
#: those that say what a stream is rather than how to offer it (a cover picture, thumbnails, layers).
_FLAGS = (
    "default", "dub", "original", "comment", "lyrics", "karaoke", "forced", "hearing_impaired", "visual_impaired",
    "clean_effects", "non_diegetic", "captions", "descriptions", "metadata", "dependent", "still_image",
)  # fmt: skip


def _flags_kept(inp: Any, written: str, pairs: list[tuple[int, int]], fmt: str, notes: list[str]) -> None:
    """A note for each stream flag (:data:`_FLAGS`) the written file ``written`` does not hold as the input's stream
    held it: ``pairs`` are (input stream index, output stream index) of the streams carried, each given its input's
    flags (:func:`_keep_disposition`). Read back from the file: which flags a muxer stores, and which it adds, is
    its own affair (MOV keeps no forced flag; MP4's and MOV's muxers mark the first subtitle track default when
    none is, and players then show it unasked; WebM keeps no commentary flag), and the docs promise a word for each.

    ``default`` counts for subtitles, and where the output holds several streams of a kind, but the first: for the
    one video or sound there is no choice for it to make (and AVI stores none), and the first of several is the one
    players take anyway (an MP4's first sound is default because its muxer made it so: "audio stream 1's default flag
    cannot be stored in avi" came for every MP4 with two). Added, it counts for subtitles only: they then show
    unasked, where the first of several sounds made default is the one players take anyway."""
    av = _av()
    try:
        with av.open(written) as back:
            got = {s.index: (s.type, int(s.disposition)) for s in back.streams}
    except (av.error.FFmpegError, OSError, ValueError):  # read back later by the caller's checks, if at all
        return
    kinds = [kind for kind, _ in got.values()]
    for src, dst in pairs:
        if dst not in got:
            continue
        kind, now = got[dst]
        was = int(inp.streams[src].disposition)
        first = all(other >= dst for other, (k, _) in got.items() if k == kind)
        chosen = kind == "subtitle" or (kinds.count(kind) > 1 and not first)  # whether its default tells players aught
        judged = [f for f in _FLAGS if f != "default" or chosen]
        bit = {f: int(getattr(av.stream.Disposition, f)) for f in judged}
        lost = [f for f in judged if was & bit[f] and not now & bit[f]]
        # the first sound or picture of several made default is the one players take anyway: no news
        added = [f for f in judged if now & bit[f] and not was & bit[f] and (f != "default" or kind == "subtitle")]
        name = _stream_name(inp, src)
        if lost:
            what = " and ".join(f.replace("_", " ") for f in lost)
            notes.append(f"{_possessive(name)} {what} flag{'s' if len(lost) > 1 else ''} cannot be stored in {fmt}; "
                         "dropped")  # fmt: skip
        plural = name.endswith("s")  # "the subtitles", not "subtitle stream 2"
        are, them = ("are", "them") if plural else ("is", "it")
        if "default" in added and fmt in ("mp4", "mov"):
            notes.append(f"{name} {are} marked default in {fmt}: its muxer marks the first subtitle track default when "
                         f"none is, so players show {them} unasked")  # fmt: skip
            added.remove("default")
        if added:
            what, were = " and ".join(f.replace("_", " ") for f in added), "they were" if plural else "it was"
            notes.append(f"{name} {are} marked {what} in {fmt} ({were} not in the input)")


def _stream_name(inp: Any, idx: int) -> str:
    """How a note names input stream ``idx``: "the subtitles", "the audio", "the video" where it is the one of its
    kind, else "subtitle stream 2"."""
    kind = inp.streams[idx].type
    same = [s.index for s in inp.streams if s.type == kind]
    if len(same) == 1:
        return {"subtitle": "the subtitles", "audio": "the audio", "video": "the video"}.get(kind, f"the {kind} stream")
    return f"{kind} stream {same.index(idx) + 1}"


def _possessive(name: str) -> str:
    """``name``'s: "the subtitles'", "audio stream 2's"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _keep_chapters(inp: Any, out: Any, notes: list[str]) -> None:
    """Copy the chapters (before the header is written); a container that cannot hold them gets a note."""
    chapters = inp.chapters() if hasattr(inp, "chapters") else []
    if not chapters:
        return
    try:
        out.set_chapters(chapters)
    except (ValueError, TypeError, _av().error.FFmpegError) as exc:
        notes.append(f"{len(chapters)} chapters dropped ({one_line(exc)})")


#: Metadata that describes the file as written rather than the recording, so it is not copied: the brands,
#: the writing application and QuickTime's vendor code (the muxer writes its own), durations and
#: Matroska's statistics (stale once the video is re-encoded), the old rotation tag (the display matrix
#: carries rotation), and a timecode (QuickTime makes a track of it, refused at some frame rates: it goes
#: its own way, see :func:`.timecode._keep_timecode`).
_WRITER_KEYS = frozenset({
    "major_brand", "minor_version", "compatible_brands", "encoder", "encoding_tool", "original_encoder", "vendor_id",
    "duration",
    "bps", "number_of_frames", "number_of_bytes", "rotate", "timecode",
})  # fmt: skip
#: How FFmpeg names itself as a file's writer ("Lavf62.12.102", a stream's "Lavc62.28.102 libx264"). A
#: ``software`` tag (AVI's ISFT, a Matroska SOFTWARE tag) that starts so is the writer, not copied; any other
#: is a camera's firmware or the recorder's program, and kept.
_FFMPEG_WRITERS = ("Lavf", "Lavc")
#: QuickTime's language-tagged copy of a key ("location-eng" beside "location"), and Matroska's ("BPS-eng").
_LANGUAGE_SUFFIX = re.compile(r"^(.+)-[a-z]{3}$")


#: The file tags AVI's RIFF INFO list holds (FFmpeg's names); it drops every other tag without a word.
_AVI_TAGS = frozenset({"title", "artist", "comment", "copyright", "date", "genre", "language", "album",
                       "track", "subject", "encoded_by", "keywords", "product", "composer", "source"})  # fmt: skip


def _container_tags(fmt: str, tags: dict[str, str], notes: list[str], writer: str | None = None) -> dict[str, str]:
    """``tags`` as the output container can hold them. AVI keeps a date but no creation time, so the
    recording day goes there, and a camera's ``software`` tag (its firmware) in ISFT, where it was; the tags
    it cannot hold (a location, the camera) are named in a note. MP4 and 3GP drop some of the recording's
    tags too (:func:`_quicktime_dropped`), also with a note. ``writer``, the camera's own writer tag
    (:func:`_source_writer`), which cannot go out under its own key (the muxer writes its own there), goes where the
    container keeps it, or is named in a note (:func:`_keep_writer`)."""
    tags = dict(tags)
    if writer is not None:
        _keep_writer(fmt, writer, tags, notes)
    if fmt in _TAGS_READ_BACK:
        dropped = _quicktime_dropped(fmt, tags)
        if dropped:
            mov = fmt != "mov" and all(_tag_kept("mov", k, tags[k]) for k in dropped)
            hint = " (--format mov keeps them)" if mov else ""
            notes.append(f"{fmt.upper()} cannot store the tags {', '.join(dropped)}; dropped{hint}")
        return tags
    if fmt != "avi":
        return tags
    # Matroska's tags come upper-case (ARTIST, COMMENT): AVI's INFO list holds them under FFmpeg's lower-case names
    kept = {k.lower(): v for k, v in tags.items() if k.lower() in _AVI_TAGS}
    created = _tag(tags, "creation_time")
    if created is not None and "date" not in kept:
        kept["date"] = created[:10]  # ISO 8601: the day
    software = _tag(tags, "software")  # a camera's firmware (FFmpeg's own name is never in ``tags``)
    if software is not None:  # under its RIFF name: as "software", the muxer's own name took its place
        kept["ISFT"] = software
    dropped = sorted(k for k in tags if k.lower() not in {*_AVI_TAGS, "creation_time", "software"})
    if dropped:
        notes.append(f"AVI cannot store the tags {', '.join(dropped)}; dropped")
    return kept


#: The containers whose file tags FFmpeg reads back as it writes them, so that :func:`_tag_kept` can tell. Not 3GP:
#: its muxer writes a title and a comment (``titl``, ``dscp``) that its demuxer does not read back.
_TAGS_READ_BACK = frozenset({"mp4", "mov"})
#: The recording's tags that the docs promise to keep: each one an output container drops is named in a note.
#: Not every tag: an Android phone's ``com.android.version`` is dropped by MP4 as well, on every clip, and is
#: not the user's.
_PROMISED_TAGS = frozenset({"creation_time", "location", "title", "make", "model", "comment"})


def _quicktime_dropped(fmt: str, tags: dict[str, str]) -> list[str]:
    """The :data:`_PROMISED_TAGS` among ``tags`` that the QuickTime-family muxer ``fmt`` does not write, sorted.

    FFmpeg's MP4 muxer writes iTunes-style tags, which have no camera make or model (MOV writes ``©mak`` and
    ``©mod``): a dash cam's MOV converted to MP4 lost both without a word, where AVI said so. Its
    ``use_metadata_tags`` flag would keep them as QuickTime keys, but then it writes *every* tag that way, the
    title and comment included, which iTunes-style readers (Windows Explorer, music players) no longer show: so
    that flag stays for an iPhone's own keys (:func:`.containers._muxer_options`, where nothing is dropped), and
    the loss is told instead. Asked of the muxer by a tiny file, not a table (:func:`_tag_kept`).
    """
    if any(k.startswith("com.apple.quicktime.") for k in tags):
        return []  # written with use_metadata_tags: every tag is kept as a QuickTime key
    return sorted(k for k, v in tags.items() if k.lower() in _PROMISED_TAGS and not _tag_kept(fmt, k, v))


@functools.cache
def _tag_kept(fmt: str, key: str, value: str) -> bool:
    """Whether the muxer ``fmt`` writes the file tag ``key`` = ``value`` (read back under that key, or its
    language-tagged copy ``key-eng``): a tiny file written into memory and read back."""

    def write(probe: Any) -> None:
        probe.metadata[key] = value
        stream = probe.add_stream("aac", rate=48000)  # the audio all three take (3GP refuses PCM)
        stream.layout = "mono"
        _mux_one_packet(probe, stream, 48000)

    def read(back: Any) -> bool:
        return any(k.lower() == key.lower() or _LANGUAGE_SUFFIX.sub(r"\1", k).lower() == key.lower() and v
                   for k, v in back.metadata.items())  # fmt: skip

    return _round_trip(fmt, write, read, True)  # a probe FFmpeg refuses: no note rather than a wrong one


def _source_writer(tags: dict[str, str]) -> str | None:
    """The camera that wrote the input, where its writer tag names one: a drone names itself in the file's
    ``encoder`` tag ("DJIMavic3Pro1"; DJI's MP4s carry no make or model); a file that weatherclean wrote keeps it
    under one of :data:`_WRITER_KEYS_OUT`, beside FFmpeg's own ``encoder``. None for a program's name
    (:func:`_names_camera`): FFmpeg's, or an editor's or transcoder's, which the output's own replaces as
    before, since that program did not write the output."""
    for key in (*_WRITER_KEYS_OUT, "encoder"):
        value = _tag(tags, key)
        if value is not None and _names_camera(value):
            return value
    return None


#: Writer tags that name a camera: the makers whose drones and action cameras sign the file's ``encoder`` tag
#: with their model ("DJIMavic3Pro1", "DJI FC3582"), since their files carry no make or model. An allow-list,
#: not a guess at what looks like a program: a guess both dropped camera firmware strings with a version number
#: ("HERO11 Black v2.10") and carried editors missing from a list of programs ("CapCut" went out as the MP4's
#: encoding tool, claiming CapCut wrote it; GoPro's Quik app is an editor too). Any other writer tag is
#: replaced by the output's own, as it was.
_CAMERA = re.compile(
    r"^(?:dji|gopro(?! ?quik)|hero\d|insta360|osmo|autel|parrot|anafi|skydio|yuneec|hubsan|fimi|potensic|akaso|sjcam|"
    r"garmin virb|ricoh theta|kandao|qoocam)",
    re.IGNORECASE,
)


def _names_camera(value: str) -> bool:
    """Whether a writer tag names a camera (:data:`_CAMERA`): only then is it worth carrying over, where a program's
    name would falsely claim that program wrote the output, and a note on every editor's clip would be noise."""
    return bool(_CAMERA.match(value.strip()))


#: The keys a camera's writer tag may go out under, in order: MP4's muxer writes ``encoding_tool`` as ``©too``
#: (read back as ``encoder``) in place of its own name, FLV and ASF as a tag of that name; Matroska puts that key
#: in its WritingApp, which FFmpeg does not read back, but keeps a tag of its own name (``ORIGINAL_ENCODER``).
#: MOV's writes only its own name (``©swr``), MPEG-TS no file tags: there a note names it (:func:`_writer_key`).
_WRITER_KEYS_OUT = ("encoding_tool", "original_encoder")
#: Why a container keeps no camera's writer tag, by FFmpeg's muxer name, for the note (else none is given).
_WRITER_DROPPED_WHY = {"mov": "MOV keeps only its writer's own name", "mpegts": "MPEG-TS keeps no file tags"}
#: Containers by the name a user knows them by, for the note.
_CONTAINER_NAMES = {"mov": "MOV", "mp4": "MP4", "matroska": "Matroska", "webm": "WebM", "mpegts": "MPEG-TS",
                    "avi": "AVI", "flv": "FLV", "3gp": "3GP", "asf": "ASF", "mpeg": "MPEG-PS"}  # fmt: skip


def _keep_writer(fmt: str, writer: str, tags: dict[str, str], notes: list[str]) -> None:
    """Put the input's camera writer tag (a drone's name, :func:`_source_writer`) into ``tags`` where ``fmt`` keeps
    it, else name it in a note: FFmpeg replaced it with its own ("Lavf62...") without a word, and with it the only
    record of which drone shot the clip."""
    key = _writer_key(fmt, writer)
    if key is not None:
        tags[key] = writer
        return
    why = _WRITER_DROPPED_WHY.get(fmt)
    name = _CONTAINER_NAMES.get(fmt, fmt)
    notes.append(f"the encoder tag {writer} (the camera that recorded it) cannot be stored in {name}; dropped"
                 + (f" ({why})" if why else ""))  # fmt: skip


@functools.cache
def _writer_key(fmt: str, writer: str) -> str | None:
    """The first of :data:`_WRITER_KEYS_OUT` under which ``fmt`` keeps ``writer``, read back by
    :func:`_source_writer` (MP4: as ``encoder``, from ``©too``), or None: tiny files written into memory and read
    back."""

    def kept(key: str) -> bool:
        def write(probe: Any) -> None:
            probe.metadata[key] = writer
            stream = probe.add_stream("libopus" if fmt == "webm" else "aac", rate=48000)  # (WebM takes no AAC)
            stream.layout = "mono"
            _mux_one_packet(probe, stream, 48000)

        return _round_trip(fmt, write, lambda back: _source_writer(back.metadata) == writer, False)

    return next((key for key in _WRITER_KEYS_OUT if kept(key)), None)


def _recording_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """The tags that describe the recording (when and where: ``creation_time``, ``location``; title, make,
    model, comment; a stream's language and title), to be written on the output as they were read; not the
    writer tags (the camera's is placed by :func:`_container_tags`).

    MP4 and MOV read a track's title back as ``name``; it goes out as ``title``, the key muxers write.
    """
    tags = dict(metadata or {})
    kept: dict[str, str] = {}
    for key, value in tags.items():
        suffixed = _LANGUAGE_SUFFIX.match(key)
        base = suffixed.group(1) if suffixed else key
        if base.lower() in _WRITER_KEYS or base.lower().startswith("_statistics"):
            continue
        if base.lower() == "software" and (value.startswith(_FFMPEG_WRITERS) or value == _tag(tags, "encoder")):
            continue  # the program that wrote the file (FFmpeg, or whatever wrote the encoder tag too)
        if suffixed and tags.get(base) == value:
            continue  # the same value under its plain key
        kept["title" if key == "name" and "title" not in tags else key] = value
    return kept


#: The QuickTime family, whose muxer stores a language only as a code it knows (see :func:`_language_kept`).
_QUICKTIME = frozenset({"mp4", "mov", "3gp"})


def _tag(metadata: dict[str, str] | None, key: str) -> str | None:
    """A tag's value whatever its case (Matroska's are upper case), None when absent or empty."""
    return next((v for k, v in (metadata or {}).items() if k.lower() == key and v), None)


#: ISO 639-2's two codes for the languages that have two: terminology (T, from the language's own name:
#: "deu") and bibliographic (B, from its English name: "ger"), each way.
_T_TO_B = {"sqi": "alb", "hye": "arm", "eus": "baq", "mya": "bur", "zho": "chi", "ces": "cze", "nld": "dut",
           "fra": "fre", "kat": "geo", "deu": "ger", "ell": "gre", "isl": "ice", "mkd": "mac", "mri": "mao",
           "msa": "may", "fas": "per", "ron": "rum", "slk": "slo", "bod": "tib", "cym": "wel"}  # fmt: skip
_OTHER_CODE = {**_T_TO_B, **{b: t for t, b in _T_TO_B.items()}}
#: Languages that mean no language, never worth a note.
_NO_LANGUAGE = frozenset({"und", "zxx"})


def _stream_tags(fmt: str, s: Any, notes: list[str]) -> dict[str, str]:
    """A stream's :func:`_recording_metadata` as ``fmt`` can hold them: in MOV, a language under the other
    of its two ISO 639-2 codes where the muxer knows only that one; a language it cannot store is named.

    A three-letter code goes out in lower case, as ISO 639-2 spells it: QuickTime's muxers store no other
    ("DEU" came back empty from MOV and MP4, "ENG" too), and Matroska's readers look codes up as given."""
    tags = _recording_metadata(s.metadata)
    code = tags.get("language")
    if code and len(code) == 3 and code.isascii() and code.isalpha():
        code = tags["language"] = code.lower()
    if fmt not in _QUICKTIME or not code or code in _NO_LANGUAGE or _language_kept(fmt, code):
        return tags
    other = _OTHER_CODE.get(code.lower())
    if other is not None and _language_kept(fmt, other):
        tags["language"] = other
    else:
        hint = " (--format mp4 keeps it)" if fmt == "mov" and _language_kept("mp4", code) else ""
        notes.append(f"{s.type} language {code} cannot be stored in {fmt}; dropped{hint}")
    return tags


@functools.cache
def _language_kept(fmt: str, code: str) -> bool:
    """Whether ``fmt`` stores language ``code``: write a track with one sample into memory, read it back.

    MP4 stores any three-letter code; MOV only those of QuickTime's old language table, which for some
    languages is the T code ("fra", "ces") and for others the B code ("ger", "chi"): "deu" came back empty.
    """

    def write(probe: Any) -> None:
        stream = probe.add_stream("aac", rate=48000)  # the audio all three take (3GP refuses PCM)
        stream.layout = "mono"
        stream.metadata["language"] = code
        _mux_one_packet(probe, stream, 48000)

    return _round_trip(fmt, write, lambda back: _tag(back.streams[0].metadata, "language") == code, False)
