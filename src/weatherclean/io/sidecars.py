"""Sidecars: the files kept beside a photo or video under its name that hold what the picture file does not.

An XMP sidecar holds a photo's ratings, keywords, colour labels and edits. Two conventions name it:
``IMG_0001.JPG.xmp`` (darktable, digiKam, RawTherapee: the photo's full name and ``.xmp``) and ``IMG_0001.xmp``
(Adobe Lightroom, Bridge and Camera Raw: the stem and ``.xmp``). A video may have one too (``clip.xmp``), and a
drone's (DJI) its flight log as a subtitle file with its stem (``DJI_0001.SRT``: GPS, altitude and exposure per
frame, which DJI's software and editing plugins read beside the clip). An output gets a copy of each sidecar its
input has, named after the output in the same convention (:func:`copy_sidecars`), so that a catalogue that reads
sidecars shows the restored photo with the photographer's ratings rather than bare, and the restored clip keeps
its flight log (its frame timing is kept, so the log still lines up). XMP sidecars are never inputs: folder walks
pass over them (:func:`is_sidecar`), and a run notes those no photo took.

Names are matched ignoring case and Unicode normalisation (``img_0002.jpg.xmp`` is ``IMG_0002.JPG``'s, as the
cards and the Mac and Windows disks photos live on have it; a Mac may spell ``Été.jpg`` in decomposed form),
through one listing per folder per run (:func:`names_in`, :func:`clear_listings`), not a look per spelling.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from weatherclean.errors import OutputAppeared, OutputError, WeathercleanError
from weatherclean.io.atomic import atomic_write, keep_existing
from weatherclean.io.folders import input_problem, name_over_limit, nfc, too_long
from weatherclean.io.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, is_video_path
from weatherclean.io.output_links import follow_output_link, special_kind
from weatherclean.io.permissions import new_files_like

__all__ = [
    "MOST_SIDECAR_BYTES", "OTHER_PICTURE_SUFFIXES", "RAW_SUFFIXES", "SIDECAR_SUFFIX", "SUBTITLE_SUFFIX", "Sidecar",
    "claimed_by", "clear_listings", "clip_of_proxy", "copy_sidecars", "is_picture_name", "is_sidecar", "name_key",
    "names_in", "names_with_stem", "proxies_of", "sidecars_of",
]  # fmt: skip

#: The ending of an XMP sidecar (any case: ``.XMP`` from Windows tools too).
SIDECAR_SUFFIX = ".xmp"
#: The ending of a video's subtitle file, copied with it (a DJI drone's flight log): any case.
SUBTITLE_SUFFIX = ".srt"
#: Camera raw files, by the makers' endings (lower case): never read here, but a picture all the same, whose
#: Adobe sidecar (``IMG_0001.xmp`` beside ``IMG_0001.CR2``) is the raw's (:func:`sidecars_of`).
RAW_SUFFIXES: frozenset[str] = frozenset(
    f".{raw}" for raw in (
        "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "rwl", "pef", "srw",
        "x3f", "3fr", "fff", "iiq", "erf", "mrw", "kdc", "dcr", "mef", "mos",
    )
)  # fmt: skip
#: Other pictures a photographer keeps under a photo's stem that are not read here: an edit saved from Photoshop
#: (``IMG_0001.psd``), an export (``.gif``, ``.jxl``, ``.jp2``), an Insta360 original.
OTHER_PICTURE_SUFFIXES: frozenset[str] = frozenset({".psd", ".psb", ".gif", ".jxl", ".jp2", ".insp", ".insv"})
_PICTURE_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES | RAW_SUFFIXES | OTHER_PICTURE_SUFFIXES
#: The most bytes a sidecar may hold to be copied: an XMP sidecar holds kilobytes, a long flight's SRT a few
#: megabytes. Anything larger is not one (a disk image misnamed, a link to ``/dev/zero``), and reading it whole
#: would take the run's memory.
MOST_SIDECAR_BYTES = 16 * 2**20


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is named like an XMP sidecar (``*.xmp``, any case): metadata, never a picture."""
    return path.suffix.lower() == SIDECAR_SUFFIX


def is_picture_name(name: str | Path) -> bool:
    """Whether a file named ``name`` holds a picture of its own (a photo, a video, a raw, :data:`RAW_SUFFIXES`,
    :data:`OTHER_PICTURE_SUFFIXES`): only those make an Adobe sidecar's stem ambiguous. An iPhone's ``.AAE`` edit
    list, a voice memo, a proxy, a thumbnail or a folder named like the stem do not."""
    return Path(name).suffix.lower() in _PICTURE_SUFFIXES


def name_key(name: str) -> str:
    """How names are compared: NFC-normalised and casefolded (a Mac's disk may hand back ``e`` + a combining
    accent where the photo's name was typed with ``é``; the cards and disks photos live on ignore case)."""
    return nfc(name).casefold()


@dataclass(frozen=True)
class Sidecar:
    """One sidecar of a photo or video: its ``path``, and whether it is named after the input's full name
    (``full_name``: ``IMG_0001.JPG.xmp``) or after its stem only (``IMG_0001.xmp``, ``DJI_0001.SRT``)."""

    path: Path
    full_name: bool

    def for_output(self, output: Path) -> Path:
        """Where this sidecar's copy goes beside ``output``: named after it in the same convention, with the
        sidecar's own spelling of the ending (``out/IMG_0001.png.xmp``, ``out/IMG_0001.XMP``)."""
        return output.with_name((output.name if self.full_name else output.stem) + self.path.suffix)

    @property
    def label(self) -> str:
        """What notes call it: ``XMP sidecar`` or ``subtitle file``."""
        return "subtitle file" if self.path.suffix.lower() == SUBTITLE_SUFFIX else "XMP sidecar"


@dataclass(frozen=True)
class _Listing:
    """A folder's file names by :func:`name_key` of the name and of the stem, and when it was listed."""

    names: dict[str, list[str]]
    stems: dict[str, list[str]]
    taken: float = 0.0


_EMPTY = _Listing({}, {})
#: Each folder's listing, by its absolute path and its ``(st_dev, st_ino)`` (two ``card`` folders reached from
#: different working folders are two folders): taken once per folder per run, however the folder changes meanwhile.
#: Why not again when its time changes: ``-o`` into the input folder, or a sync client writing there, changed it
#: after every photo, and each photo listed the whole folder again (10,000 photos: 6 minutes; 50,000: hours). A
#: sidecar written beside a photo while the run goes is not worth that. Emptied when a batch starts
#: (:func:`clear_listings`: :mod:`weatherclean.batch.handlers` does it), and a listing older than
#: :data:`_LISTING_SECONDS` is taken again, so a long-lived process that calls this module directly does not see
#: a folder as it was forever. Photos are written from several threads.
_LISTINGS: dict[tuple[str, int, int], _Listing] = {}
_LISTINGS_LOCK = threading.Lock()
#: Folders kept in :data:`_LISTINGS` before it is emptied (a service that runs for days over many folders).
_LISTINGS_KEPT = 64
#: How long a listing is kept at most, in seconds: a few listings an hour of a folder of 50,000 photos (a second
#: each) against one per photo.
_LISTING_SECONDS = 300.0


def clear_listings() -> None:
    """Forget every folder listing (:data:`_LISTINGS`): a batch calls it when it starts, so that each run sees
    its folders as they are then, and a server that runs batch after batch never works from an earlier one's."""
    with _LISTINGS_LOCK:
        _LISTINGS.clear()


def _listing(folder: Path) -> _Listing:
    """``folder``'s listing (:data:`_LISTINGS`); empty when it cannot be listed (nothing is then copied).

    Every name but macOS's AppleDouble files (``._IMG_0001.JPG``, resource forks on a FAT or exFAT card, never a
    picture): a hidden photo given by name (``.IMG_0001.JPG``) has its sidecar (``.IMG_0001.JPG.xmp``) too."""
    try:
        info = os.stat(folder)
        key = (os.path.abspath(folder), info.st_dev, info.st_ino)
    except (OSError, ValueError):
        return _EMPTY
    now = time.monotonic()
    with _LISTINGS_LOCK:
        cached = _LISTINGS.get(key)
        if cached is not None and now - cached.taken < _LISTING_SECONDS:
            return cached
    listing = _Listing({}, {}, now)
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith("._"):
                    listing.names.setdefault(name_key(entry.name), []).append(entry.name)
                    listing.stems.setdefault(name_key(Path(entry.name).stem), []).append(entry.name)
    except OSError:
        return _EMPTY
    with _LISTINGS_LOCK:
        if len(_LISTINGS) >= _LISTINGS_KEPT:
            _LISTINGS.clear()
        _LISTINGS[key] = listing
    return listing


def names_in(folder: Path) -> dict[str, list[str]]:
    """``folder``'s file names by :func:`name_key` (one listing per run: :data:`_LISTINGS`); AppleDouble files
    (``._*``) left out."""
    return _listing(folder).names


def names_with_stem(folder: Path, stem: str) -> list[str]:
    """The file names in ``folder`` whose stem is ``stem``, ignoring case and normalisation (the same listing)."""
    return list(_listing(folder).stems.get(name_key(stem), ()))


def _endings(video: bool) -> tuple[str, ...]:
    return (SIDECAR_SUFFIX, SUBTITLE_SUFFIX) if video else (SIDECAR_SUFFIX,)


def _matches(source: Path, *, video: bool) -> list[tuple[list[str], bool]]:
    """The sidecars of ``source`` by convention: (the names found, spelt in any case; whether full-name).

    Full name (``IMG_0001.JPG.xmp``, XMP only): any case, unless another file in the folder has ``source``'s name
    in another case (a case-sensitive disk with ``img_1.jpg`` and ``IMG_1.JPG``): then only the exact spelling.
    Stem (``IMG_0001.xmp``; a video's ``DJI_0001.SRT`` too): unless another picture shares the stem
    (:func:`is_picture_name`: a raw, a JPEG, a video; an iPhone's ``IMG_0001.AAE`` or a voice memo does not; for an
    SRT only another video). Why:
    Adobe names one sidecar per stem, so beside a raw (``IMG_0001.CR2``) shot with the JPEG, ``IMG_0001.xmp`` holds
    the raw's develop settings and ratings, not the JPEG's (Lightroom keeps a JPEG's in the JPEG itself); copied
    beside the JPEG's output it would put another picture's edits on it."""
    listing = _listing(source.parent)
    own = nfc(source.name)
    found: list[tuple[list[str], bool]] = []
    rivals = [n for n in listing.names.get(name_key(source.name), ()) if nfc(n) != own]
    full = listing.names.get(name_key(source.name + SIDECAR_SUFFIX), [])
    if rivals:
        full = [n for n in full if nfc(n[: -len(SIDECAR_SUFFIX)]) == own]
    if full:
        found.append((full, True))
    if source.suffix:  # without an ending the stem is the full name: looked at above
        others = [n for n in listing.stems.get(name_key(source.stem), ()) if nfc(n) != own and is_picture_name(n)]
        for ending in _endings(video):
            # an Adobe sidecar is any picture's; an SRT only a video's (a still exported under the clip's name
            # does not make the flight log ambiguous)
            rivals = [n for n in others if is_video_path(n)] if ending == SUBTITLE_SUFFIX else others
            names = listing.names.get(name_key(source.stem + ending), []) if not rivals else []
            if names:
                found.append((names, False))
    return found


def claimed_by(source: Path, *, video: bool = False) -> list[Path]:
    """Every sidecar file that belongs to ``source`` (:func:`sidecars_of`), those whose names differ only in case
    from the one copied included: a run does not call them sidecars that matched nothing."""
    return [source.parent / name for names, _full in _matches(source, video=video) for name in names]


def sidecars_of(source: Path, *, video: bool = False) -> list[Sidecar]:
    """The sidecars of ``source`` (a video's with ``video``: its SRT too) that belong to it alone (see
    :func:`_matches`); of two whose names differ only in case (``.xmp`` and ``.XMP`` on a case-sensitive disk), the
    one modified last (:func:`_pick`)."""
    return [_pick(source.parent, names, full)[0] for names, full in _matches(source, video=video)]


def _pick(folder: Path, names: list[str], full: bool) -> tuple[Sidecar, list[str]]:
    """One of ``names`` (spellings of one sidecar's name) to copy: the only one, else the one modified last (its
    ratings are the latest); with the names left out."""
    if len(names) == 1:
        return Sidecar(folder / names[0], full), []

    def when(name: str) -> int:
        try:
            return os.stat(folder / name).st_mtime_ns
        except OSError:
            return -1

    chosen = max(sorted(names), key=when)
    return Sidecar(folder / chosen, full), [n for n in sorted(names) if n != chosen]


def copy_sidecars(source: Path, output: Path, *, video: bool = False) -> list[str]:
    """Copy each sidecar of ``source`` (:func:`sidecars_of`; a video's SRT with ``video``) beside its ``output``,
    named after it in the sidecar's convention (:meth:`Sidecar.for_output`); returns notes for the job.

    A file already at the copy's name is never replaced, ``--overwrite`` or not: when it holds the same bytes
    nothing is said; when it differs it is kept, with a note, since it may hold ratings or keywords given to the
    output since (a run over a card re-rated in the catalogue wiped them). Each copy is written atomically, with the
    sidecar's own permissions less the umask, and a file that appears at its name meanwhile is kept
    (:func:`~weatherclean.io.atomic.keep_existing`). Nothing here fails the job: a sidecar that cannot be found,
    read or written (a FIFO, a device, one over :data:`MOST_SIDECAR_BYTES`, a copy's name too long for the disk)
    is a note at most, since the output is done. Not for ``--in-place``, where the input's sidecars already stand
    beside the output."""
    try:
        notes: list[str] = []
        for names, full in _matches(source, video=video):
            sidecar, others = _pick(source.parent, names, full)
            if others:
                notes.append(
                    f"{sidecar.label}s {', '.join([sidecar.path.name, *others])} differ only in case: copied "
                    f"{sidecar.path.name}, the one changed last; merge the others into it by hand"
                )
            note = _copy(sidecar, sidecar.for_output(output))
            if note:
                notes.append(note)
        return notes
    except (OSError, ValueError, WeathercleanError) as exc:  # the output is done: never fail it for a sidecar
        return [f"sidecars of {source.name} not copied ({_reason(exc, output)})"]


class _Unreadable(Exception):
    """Why a sidecar, or the file at its copy's name, is not read (its ``args[0]``: words for a note)."""


def _read_small(path: Path) -> bytes:
    """The bytes of the regular file ``path``, at most :data:`MOST_SIDECAR_BYTES`; else :class:`_Unreadable`.

    Looked at before it is opened (:func:`~weatherclean.io.folders.input_problem`: a broken link, a loop; a FIFO or
    a device is never opened), then opened without waiting (``O_NONBLOCK``: a FIFO put there meanwhile does not
    hang the run's writer thread) and looked at again through what was opened, and read no further than the
    limit. Why: ``read_bytes`` of a FIFO named like a sidecar waited forever, and of a link to ``/dev/zero`` took
    all memory and failed the photo already written."""
    info, problem = input_problem(path)
    if info is None:
        raise _Unreadable(problem)
    _refuse(info)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Unreadable(f"it cannot be read ({_os_reason(exc, path)})") from None
    try:
        _refuse(os.fstat(fd))
        chunks: list[bytes] = []
        size = 0
        while size <= MOST_SIDECAR_BYTES:
            chunk = os.read(fd, MOST_SIDECAR_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _Unreadable(f"it cannot be read ({_os_reason(exc, path)})") from None
    finally:
        os.close(fd)
    if size > MOST_SIDECAR_BYTES:
        raise _Unreadable(_too_large())
    return b"".join(chunks)


def _refuse(info: os.stat_result) -> None:
    """:class:`_Unreadable` unless ``info`` is a regular file of at most :data:`MOST_SIDECAR_BYTES`."""
    if stat.S_ISDIR(info.st_mode):
        raise _Unreadable("a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise _Unreadable(f"not a regular file ({special_kind(info.st_mode)})")
    if info.st_size > MOST_SIDECAR_BYTES:
        raise _Unreadable(_too_large())


def _too_large() -> str:
    return f"larger than {MOST_SIDECAR_BYTES // 2**20} MiB, more than a sidecar holds; check what it is"


def _os_reason(exc: OSError, path: Path) -> str:
    """``exc``'s reason alone, in lower case (its message starts with the path, which a note names already)."""
    if exc.errno == errno.ENAMETOOLONG:
        return too_long(path)
    return (exc.strerror or type(exc).__name__).lower()


#: How long a reason in a note may be (as :func:`~weatherclean.errors.one_line` cuts an error).
_REASON_CHARS = 160


def _reason(exc: BaseException, path: Path) -> str:
    """The reason of ``exc`` about ``path`` without the path its message starts with (``out/….xmp: cannot write
    (…)``): a long name filled the note's 160 characters and its reason was cut off."""
    if isinstance(exc, OSError) and exc.strerror:
        return _os_reason(exc, path)
    text = " ".join(str(exc).split())
    named = " ".join(os.fspath(path).split())
    if text.startswith(named):
        text = text[len(named) :].partition(": ")[2] or text
    return text[:_REASON_CHARS] if text else type(exc).__name__


def _copy(sidecar: Sidecar, dest: Path) -> str | None:
    """Copy ``sidecar`` to ``dest`` (see :func:`copy_sidecars`); the note to give, or None."""
    src, label = sidecar.path, sidecar.label
    try:
        data = _read_small(src)  # read first, so a read error is not blamed on the copy
    except _Unreadable as exc:
        return f"{label} {src.name} not copied: {exc.args[0]}"
    if os.path.lexists(dest):
        return _existing(src, dest, data, label)
    over = name_over_limit(dest.name, dest.parent)
    if over is not None:
        return f"{label} {src.name} not copied: its copy's name would be too long ({over}); shorten the photo's name"
    try:
        with new_files_like(src), keep_existing(dest):
            atomic_write(dest, data)
    except OutputAppeared:
        return _existing(src, dest, data, label)
    except (WeathercleanError, OSError) as exc:
        return f"{label} {src.name} not copied: {_reason(exc, dest)}"
    return None


def _existing(src: Path, dest: Path, data: bytes, label: str) -> str | None:
    """The note for a sidecar ``src`` (its bytes ``data``) whose copy's name ``dest`` is taken: none when it is
    the same file (``-o`` into the input's own folder) or holds the same bytes, else that it was kept.

    Another user's link at ``dest`` in a shared folder (sticky, world-writable: ``/tmp``) is neither read nor
    compared (:func:`~weatherclean.io.output_links.follow_output_link`, the output's own rule): a note that said
    "same" or "differs" told whoever made ``/tmp/out/a.xmp -> /root/secret`` whether a file they cannot read holds
    the sidecar's bytes."""
    try:
        follow_output_link(dest)
    except OutputError as exc:
        return f"{label} {src.name} not copied: {_not_followed(exc, dest)}"
    try:
        if os.path.samefile(src, dest):
            return None
    except OSError:
        pass
    try:
        if _read_small(dest) == data:
            return None
    except _Unreadable as exc:
        return f"{label} {src.name} not copied: {dest.name} beside the output was kept ({exc.args[0]})"
    return (
        f"{label} {src.name} not copied: {dest.name} beside the output differs from it and was kept (it may hold "
        f"what was given to the output); to take the input's, copy it over by hand"
    )


def _not_followed(exc: OutputError, dest: Path) -> str:
    """Why the link at ``dest`` was not followed, in a sidecar's note: :func:`follow_output_link`'s reason, said of
    the sidecar's copy (``a.xmp beside the output is a symbolic link owned by another user …``) rather than of the
    "output path", which is the picture's."""
    reason = _reason(exc, dest)
    lead = "output path is "
    if reason.startswith(lead):
        return f"{dest.name} beside the output is {reason[len(lead) :]}"
    return f"{dest.name} beside the output: {reason}"


# --- action cameras' proxies and thumbnails ------------------------------------------------------------------------

#: The endings of the files a camera writes beside a clip that show its picture: a GoPro's proxy, a DJI's, and a
#: thumbnail.
_PROXY_ENDINGS = (".lrv", ".lrf", ".thm")


def _paired_stems(stem: str) -> list[str]:
    """The stems a camera's clip and its proxies share, ``stem`` first: the same stem, and GoPro's, whose proxy of
    ``GX010001.MP4`` or ``GH010001.MP4`` (HEVC, H.264) is ``GL010001.LRV``. The one place this pairing is made
    (:func:`proxies_of` and :func:`clip_of_proxy` both use it); case is ignored wherever names are matched."""
    prefix, rest = stem[:2].upper(), stem[2:]
    if prefix in ("GX", "GH"):
        return [stem, "GL" + rest]
    if prefix == "GL":
        return [stem, "GX" + rest, "GH" + rest]
    return [stem]


def clip_of_proxy(proxy: Path) -> str | None:
    """The name of the video a camera's proxy or thumbnail ``proxy`` belongs to, if it lies beside it: the same
    stem (``GX010001.THM``, ``DJI_0001.LRF``, ``GOPR0001.LRV``), or a GoPro ``GL`` proxy's ``GX``/``GH`` clip
    (``GL010001.LRV`` of ``GX010001.MP4``); case ignored. None when no video is there."""
    for stem in _paired_stems(proxy.stem):
        clips = sorted(n for n in names_with_stem(proxy.parent, stem) if is_video_path(n))
        if clips:
            return clips[0]
    return None


def proxies_of(video: Path) -> list[Path]:
    """The files a camera wrote beside ``video`` that show its picture: a GoPro's low-resolution proxy
    (``GL010001.LRV`` of ``GX010001.MP4`` or ``GH010001.MP4``; ``GOPR0001.LRV`` of ``GOPR0001.MP4``), a DJI's
    (``DJI_0001.LRF``) and a thumbnail (``GX010001.THM``), matched ignoring case. ``--in-place`` leaves them
    showing the original clip. Never raises: a folder that cannot be listed has none."""
    names = names_in(video.parent)
    found: list[Path] = []
    for stem in _paired_stems(video.stem):
        for ending in _PROXY_ENDINGS:
            found += [video.parent / n for n in names.get(name_key(stem + ending), ())]
    return sorted(set(found))
