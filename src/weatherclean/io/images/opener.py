"""Opening a file with Pillow safely: our own decompression-bomb limit, and one-line reasons for failures.

Refuse images above one gigapixel: larger files are almost always corrupt or hostile (a "decompression
bomb" that would exhaust memory), and Pillow's default limit (it warns above ~89 MP and refuses above ~179 MP)
is too low for real panoramas. ``WEATHERCLEAN_MAX_MEGAPIXELS`` raises (or lowers) the limit for a trusted file
bigger than that, and a service sets its own per restorer (``load_restorer(max_pixels=N)``, through
:func:`_pixel_limit`, which holds in the loading thread only). A program that set a Pillow limit of its own
(``PIL.Image.MAX_IMAGE_PIXELS``) keeps it: a stricter one then binds us too.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import struct
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from weatherclean.errors import InputError, folder_not_file
from weatherclean.io import media
from weatherclean.io.output_links import special_kind

__all__ = [
    "MAX_PIXELS", "MAX_MEGAPIXELS_ENV", "NotPillow", "header_pixels", "limit_refusal", "max_pixels", "open_image",
    "open_or_explain", "open_regular", "over_limit", "pillow_pixel_limit", "reason",
]  # fmt: skip

#: The largest picture we decode by default, in pixels (see the module docstring).
MAX_PIXELS = 1_000_000_000
#: Set to a number of megapixels to decode pictures up to that size (default 1000).
MAX_MEGAPIXELS_ENV = "WEATHERCLEAN_MAX_MEGAPIXELS"
#: Pillow's own ``Image.MAX_IMAGE_PIXELS`` as Pillow ships it (~89 MP): no program's policy, only Pillow's guess,
#: and too low for real panoramas, so :func:`pillow_pixel_limit` raises it to ours. Any other value was set by the
#: program that uses us, and is its policy for every picture it opens: never touched (see :func:`max_pixels`).
PILLOW_DEFAULT_LIMIT = int(1024 * 1024 * 1024 // 4 // 3)
#: Guards the four values below, which :func:`pillow_pixel_limit`'s threads share.
_pillow_limit_lock = threading.Lock()
_users = 0  # how many threads are inside pillow_pixel_limit
#: The program's Pillow limit (Pillow's default where it set none), while threads are inside: what the last one puts
#: back, and what binds max_pixels. Kept up to date by _follow_program, as the program may set it at any time.
_saved_limit: int | None = Image.MAX_IMAGE_PIXELS
_set_to: int | None = None  # what we set Pillow's limit to while we own it; None: the program's value stands
#: This thread's limit (a restorer's ``max_pixels``, :func:`_pixel_limit`) and whether a restorer set it; None for
#: the process's. A context variable, not a global: each thread (and asyncio task) has its own, so two restorers
#: with two limits serve requests side by side.
_context_limit: ContextVar[tuple[int, bool] | None] = ContextVar("weatherclean_max_pixels", default=None)


@contextlib.contextmanager
def _pixel_limit(pixels: int | None, *, restorer: bool = False) -> Iterator[None]:
    """:func:`max_pixels` is ``pixels`` in this thread only (this context) while inside; None keeps the process's
    (:data:`MAX_MEGAPIXELS_ENV`, else :data:`MAX_PIXELS`). What ``Restorer.restore_file`` loads under
    (``restorer=True``: a refusal then says how to load a restorer with a higher ``max_pixels``): a service sets a
    tighter limit for uploads per restorer, without an environment variable that the whole process shares.

    Private: a context variable does not reach the threads that the code inside starts (the batch pipeline's
    decoder threads went on with the process's limit), so it is no way to limit a batch, only loads made in this
    very thread."""
    token = _context_limit.set(None if pixels is None else (pixels, restorer))
    try:
        yield
    finally:
        _context_limit.reset(token)


def max_pixels() -> int:
    """The largest picture decoded, in pixels: the limit of :func:`_pixel_limit` when one is set (a restorer's
    ``max_pixels``), else :data:`MAX_MEGAPIXELS_ENV` when set to a positive number, else :data:`MAX_PIXELS`; and
    never more than a stricter Pillow limit the program set itself (``PIL.Image.MAX_IMAGE_PIXELS`` lower than
    that, other than Pillow's own default), even one set while a load is in progress: we must not decode what the
    program refuses. Read at each call, so a library caller may set it at any time; a value that is not a number
    is an :class:`InputError` naming it (a typo must not silently keep or lift the guard)."""
    ours = _configured_limit()
    program = _program_limit()
    return ours if program is None else min(ours, program)


def _program_limit() -> int | None:
    """The Pillow limit the program set itself (not one of ours, even while our threads are inside
    :func:`pillow_pixel_limit`), or None where it set none: Pillow's untouched default, or None (the check turned
    off, which is no stricter policy)."""
    with _pillow_limit_lock:
        _follow_program()
        value = _saved_limit if _users else Image.MAX_IMAGE_PIXELS
    return None if value is None or value == PILLOW_DEFAULT_LIMIT else value


def _configured_limit() -> int:
    """Our own limit, before a program's Pillow limit has its say: :func:`_pixel_limit`'s, else the process's."""
    given = _context_limit.get()
    return given[0] if given is not None else _process_limit()


def _process_limit() -> int:
    """The process's limit: :data:`MAX_MEGAPIXELS_ENV`'s, else :data:`MAX_PIXELS`; a variable that is not a
    number is an :class:`InputError` naming it."""
    raw = os.environ.get(MAX_MEGAPIXELS_ENV, "").strip()
    if not raw:
        return MAX_PIXELS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value) and value < 1e12):  # "inf" overflowed int(): a traceback
        raise InputError(f"{MAX_MEGAPIXELS_ENV}={raw!r}: give a number of megapixels, e.g. 1500 (default 1000)")
    return int(value * 1_000_000)


def _pillow_level() -> int:
    """What :func:`pillow_pixel_limit` raises Pillow's limit to: the highest of this thread's limit, the process's
    and Pillow's default. Never below the process's: a strict restorer (20 MP) put it at Pillow's default while it
    loaded, and a program that had turned the check off (None) for its own huge rasters had them refused meanwhile;
    the thread's tighter limit is :func:`open_image`'s to apply. A bad variable raises here, before any change,
    unless this thread's own limit is set: that one binds its loads, and the variable's error is for those that
    use it."""
    given = _context_limit.get()
    if given is None:
        return max(_process_limit(), PILLOW_DEFAULT_LIMIT)
    try:
        process = _process_limit()
    except InputError:
        process = MAX_PIXELS
    return max(given[0], process, PILLOW_DEFAULT_LIMIT)


def _follow_program() -> None:
    """Take in a Pillow limit that the program set while threads are inside :func:`pillow_pixel_limit` (with
    ``_pillow_limit_lock`` held; on entry, on exit and when :func:`max_pixels` reads the program's limit): where
    Pillow's limit is no longer what we set, the program set it; it is now the program's value, what is put back
    and what binds us, and no longer ours to raise or put back. Saved only by the first thread in, a limit set
    during a load was missed: a later thread wanting more overwrote it, the last thread out put back a stale
    default, and max_pixels went on with the stale value (a 15 MP picture taken under the program's new 10 MP)."""
    global _saved_limit, _set_to
    if not _users:
        return  # no thread inside: Image.MAX_IMAGE_PIXELS is the program's, read as it is
    current = Image.MAX_IMAGE_PIXELS
    if _set_to is None or current != _set_to:
        _saved_limit = current
        _set_to = None


@contextlib.contextmanager
def pillow_pixel_limit() -> Iterator[None]:
    """Pillow's own bomb check raised to ours while we open or decode, and put back after: ours
    (:func:`open_image`) says what to do and can be raised (:data:`MAX_MEGAPIXELS_ENV`), where Pillow's default
    (~89 MP) refused real panoramas first, in its own words. Python's warning filters are left alone (the
    program's): raised to ours, Pillow warns only of pictures over it, which :func:`open_image` refuses anyway, and a
    program's ``simplefilter("error", DecompressionBombWarning)`` turns that into the same refusal.

    Counted, not locked for the whole body: a decoder thread's minutes-long decode of a big photo must not hold up
    another thread's open (the batch reads headers while decoding). The first user saves Pillow's limit and, where
    it is Pillow's untouched default or None, sets it to ours (:func:`_pillow_level`; a later user whose level is
    higher raises it to that); the last puts it back. Not off: the limit is the process's, and another thread of
    the program (a server opening an upload with Pillow meanwhile) would have had no check at all; at ours, Pillow
    still refuses what is over twice it, which :func:`open_image` reports in our words. A limit the program set
    itself, before or during our loads (:func:`_follow_program`), is never changed: a service that set a stricter
    one saw its own ``Image.open`` accept a 400 MP upload while another thread loaded here; it binds
    :func:`max_pixels` instead, and a higher one leaves ours to :func:`open_image`'s own check."""
    global _users, _saved_limit, _set_to
    wanted = _pillow_level()  # a bad variable raises here, before any change
    entered = False
    try:
        with _pillow_limit_lock:
            if _users == 0:
                _saved_limit = Image.MAX_IMAGE_PIXELS
            _follow_program()
            unset = _saved_limit is None or _saved_limit == PILLOW_DEFAULT_LIMIT  # no policy of the program's own
            if unset and (_set_to is None or wanted > _set_to):
                Image.MAX_IMAGE_PIXELS = wanted
                _set_to = wanted
            _users += 1
            entered = True
        yield
    finally:
        if entered:
            with _pillow_limit_lock:
                _follow_program()  # a limit the program set meanwhile is its own: kept
                _users -= 1
                if _users == 0 and _set_to is not None:  # still what we set: the program's put back
                    Image.MAX_IMAGE_PIXELS = _saved_limit
                    _set_to = None


def over_limit(path: Path, width: int, height: int, what: str = "image is") -> str | None:
    """The reason a ``width``×``height`` picture is refused (over :func:`max_pixels`), or None; ``what`` names it
    ("video frames are" for a video's)."""
    if width * height <= max_pixels():
        return None
    return _refusal(path, width * height, f"{width}×{height} = ", what)


def _refusal(path: Path, pixels: int, size: str = "", what: str = "image is") -> str:
    """The one line of a picture of ``pixels`` refused by the limit, with what raises it for a trusted file: the
    limit that refused it, as its owner sets it (the program's Pillow limit, the restorer's ``max_pixels``, the
    variable). Advising the variable where the program's own limit binds would have changed nothing, and naming a
    restorer where none set the limit would have sent the reader looking for one."""
    given, ours, program = _context_limit.get(), _configured_limit(), _program_limit()
    image = f"{path}: {what} {size}{_megapixels(pixels)} megapixels"
    if program is not None and program < ours:
        return (
            f"{image}, over this program's Pillow limit of {_megapixels(program)} MP (PIL.Image.MAX_IMAGE_PIXELS = "
            f"{program}, which weatherclean never raises); downscale or split it, or, if the program should take "
            f"it, raise that limit in the program"
        )
    if given is not None and given[1]:
        return (
            f"{image}, over this restorer's {_megapixels(ours)} MP limit (load_restorer(max_pixels={ours})); "
            f"downscale or split it, or, if you trust the file and have the memory, load a restorer with a higher "
            f"max_pixels"
        )
    if given is not None:
        return (
            f"{image}, over the {_megapixels(ours)} MP limit set for these loads; downscale or split it, or, if you "
            f"trust the file and have the memory, raise that limit where the calling code sets it"
        )
    return (
        f"{image}, over the {_megapixels(ours)} MP safety limit (decompression-bomb guard); downscale or split it, "
        f"or, if you trust the file and have the memory, raise the limit: {MAX_MEGAPIXELS_ENV}="
        f"{-(-pixels // 1_000_000)}"
    )


def limit_refusal(path: Path) -> str | None:
    """Why the run would refuse ``path`` for its size (:func:`open_image`'s reason), from its header alone, or None
    where it is under the limit or Pillow cannot tell: for ``--dry-run``, which decodes nothing yet must not call a
    photo done that the run then refuses."""
    try:
        open_image(path).close()
    except InputError as exc:  # over the limit, or the limit's variable is not a number
        return str(exc)
    except Exception:  # noqa: BLE001 - anything else is the decode's to report, in the run
        return None
    return None


def _megapixels(pixels: int) -> str:
    """``pixels`` in megapixels as a message shows them: whole numbers, and two figures below 10 (a limit set to
    0.5 MP read "0 MP")."""
    return f"{pixels / 1e6:.0f}" if pixels >= 9_500_000 else f"{pixels / 1e6:.2g}"


def header_pixels(path: Path) -> int | None:
    """The picture's pixel count from its header (Pillow reads no pixels for it), or None where Pillow cannot tell:
    for planning what holding the decoded picture would cost (the batch pipeline) without decoding it. Opened by
    :func:`open_regular`: the pipeline asks this of photos planned minutes ago, and one replaced by a FIFO since
    hung the whole run in ``open`` (None here; its decode then fails that photo alone)."""
    try:
        with open_regular(path) as fh, pillow_pixel_limit(), Image.open(fh) as im:
            width, height = im.size
    except Exception:  # noqa: BLE001 - any failure is "unknown"; the decode says why
        return None
    return width * height


def reason(exc: BaseException) -> str:
    """A short human reason for a Pillow decode failure."""
    msg = str(exc).strip() or type(exc).__name__
    low = msg.lower()
    if "truncated" in low or "premature end" in low or "unexpected end" in low or isinstance(exc, EOFError):
        return f"truncated file ({msg}); re-copy it from the source"
    if any(code in low for code in _BROKEN_DATA):  # libtiff's "decoder error -2" said nothing a user could act on
        return f"truncated or damaged file (its image data does not decode: {msg}); re-copy it from the source"
    return f"cannot decode image ({msg})"


#: How Pillow's decoders say that the compressed data itself is broken (its error -2), not the layout unsupported.
_BROKEN_DATA = ("decoder error -2", "decoding error", "broken data stream")


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, binary, if it is a regular file; else an :class:`InputError` naming it (a FIFO,
    a device or a socket: "not a regular file (a FIFO)", as the planner says; a folder), and an ``OSError`` as
    ``open`` raises it (missing, permission denied) for the caller to word.

    Opened without waiting (``O_NONBLOCK``) and judged by what was opened (``fstat``), not by a look at the name
    before: a batch plans thousands of photos, then opens each minutes later, and a photo replaced by a FIFO
    meanwhile blocked the run in ``open`` forever (no writer ever came). The flag is cleared once the file is known
    to be regular (it means nothing for one, but is no state to hand on)."""
    nonblock = getattr(os, "O_NONBLOCK", 0)

    def opener(name: str, flags: int) -> int:
        fd = os.open(name, flags | nonblock | getattr(os, "O_CLOEXEC", 0))
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise _NotRegular(mode)
            if nonblock and hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    try:
        return open(path, "rb", opener=opener)  # noqa: SIM115 - the caller closes it (Pillow, or a with)
    except _NotRegular as exc:
        raise InputError(f"{path}: {_not_regular(path, exc.mode)}") from None
    except OSError:  # a socket cannot be opened at all (ENXIO): say what it is, not "No such device"
        with contextlib.suppress(OSError):
            mode = os.stat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise InputError(f"{path}: {_not_regular(path, mode)}") from None
        raise


class _NotRegular(Exception):
    """What :func:`open_regular`'s opener found is no regular file; ``mode`` is its ``st_mode``."""

    def __init__(self, mode: int) -> None:
        super().__init__(mode)
        self.mode = mode


def _not_regular(path: Path, mode: int) -> str:
    """Why ``path``, found to be ``mode`` once opened, is not read: the planner's words
    (:func:`~weatherclean.io.folders.input_problem`), so a FIFO put there after planning fails as one there before
    would have; a folder in the photo reader's words."""
    from weatherclean.io.folders import input_problem  # here: folders imports the image readers' package

    if stat.S_ISDIR(mode):
        return folder_not_file("an image file")
    problem = input_problem(path)[1]  # the same thing, looked at by name once more: its words
    if problem is None:  # replaced again since: what was opened is what failed
        problem = f"not a regular file ({special_kind(mode)}); photos and videos are read from files only"
    return problem


def open_image(path: Path) -> Image.Image:
    """``Image.open`` under our pixel limit, of the file :func:`open_regular` opened (Pillow never opens the name
    itself, so its decode reads the regular file that was checked, never a FIFO or device put there since); an
    :class:`InputError` for pictures over the limit and for anything but a regular file. The image owns the file:
    closing it (or loading a one-frame picture) closes the file, as when Pillow opens a name.

    Only the pixels Pillow decodes come from that one open file: the readers that look at the same photo again by
    its name afterwards open it anew: a file swapped in within that moment (milliseconds) is what they read. The
    wide-gamut read comes back here (a FIFO then fails it); a TIFF's memory map, PNG chunks, capture and NCLX tags,
    motion-photo and trailer data and the deep HEIF reader (``pillow_heif``) open the name plainly, so a FIFO put
    there in that moment would block them as it blocked Pillow before."""
    fh = open_regular(path)
    try:
        with pillow_pixel_limit():
            im = Image.open(fh)
    # over twice Pillow's limit; or over it, where the program's filter turns Pillow's DecompressionBombWarning into
    # an error (pillow_pixel_limit changes no filter): our words
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        fh.close()
        found = re.search(r"\((\d+) pixels\)", str(exc))
        if found is None:
            raise
        raise InputError(_refusal(path, int(found.group(1)))) from None
    except BaseException:
        fh.close()
        raise
    # Pillow's own flag for "the file is this image's to close", which Image.open sets for a name it opened itself:
    # without it, the file would stay open until the image was garbage-collected
    im._exclusive_fp = True  # type: ignore[attr-defined]
    # and the name Pillow keeps when it opens one itself: messages about the picture name it (a 32-bit grey TIFF
    # was refused as ": 32-bit integer samples ..."), and an uncompressed picture is memory-mapped from it as before
    im.filename = os.fspath(path)
    w, h = im.size
    refused = over_limit(path, w, h)
    if refused:
        im.close()
        raise InputError(refused)
    return im


class NotPillow(Exception):
    """Pillow did not recognise the file; the caller tries our own readers and explains."""


def open_or_explain(p: Path) -> Image.Image:
    """Open with Pillow, turning its many failure types into one-line :class:`InputError` messages."""
    try:
        try:
            return open_image(p)
        except UnidentifiedImageError:
            if not (media.is_heif(p) and media.heif_ready()):  # pillow-heif installed but not registered yet
                raise
            return open_image(p)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # a plugin's own check, unparsed
        raise InputError(f"{p}: over the {_megapixels(max_pixels())} MP safety limit ({exc})") from None
    except UnidentifiedImageError:
        raise NotPillow from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error, not a decoder complaint
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        raise InputError(f"{p}: {reason(exc)}") from None
    except (SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise InputError(f"{p}: {reason(exc)}") from None
