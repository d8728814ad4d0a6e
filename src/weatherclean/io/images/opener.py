"""Opening a file with Pillow safely: our own decompression-bomb limit, and one-line reasons for failures.

Refuse images above one gigapixel: larger files are almost always corrupt or hostile (a "decompression
bomb" that would exhaust memory), and Pillow's default limit (~179 MP) is too low for real panoramas.
``WEATHERCLEAN_MAX_MEGAPIXELS`` raises (or lowers) the limit for a trusted file bigger than that.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from weatherclean.errors import InputError
from weatherclean.io import media

__all__ = [
    "MAX_PIXELS", "MAX_MEGAPIXELS_ENV", "NotPillow", "header_pixels", "limit_refusal", "max_pixels", "open_image",
    "open_or_explain", "over_limit", "pillow_pixel_limit", "pillow_quiet", "reason",
]  # fmt: skip

#: The largest picture we decode by default, in pixels (see the module docstring).
MAX_PIXELS = 1_000_000_000
#: Set to a number of megapixels to decode pictures up to that size (default 1000).
MAX_MEGAPIXELS_ENV = "WEATHERCLEAN_MAX_MEGAPIXELS"
_pillow_limit_lock = threading.Lock()
_users = 0  # how many threads are inside pillow_pixel_limit
_saved_limit: int | None = Image.MAX_IMAGE_PIXELS


def max_pixels() -> int:
    """The largest picture decoded, in pixels: :data:`MAX_MEGAPIXELS_ENV` when set to a positive number, else
    :data:`MAX_PIXELS`. Read at each call, so a library caller may set it at any time; a value that is not a
    number is an :class:`InputError` naming it (a typo must not silently keep or lift the guard)."""
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


_QUIET_LOCK = threading.Lock()
_quiet_users = 0
#: The one filter :func:`pillow_quiet` adds: warnings issued from Pillow's own modules, nothing else's.
_PILLOW_FILTER = ("ignore", None, Warning, re.compile(r"PIL(\.|$)"), 0)


@contextlib.contextmanager
def pillow_quiet() -> Iterator[None]:
    """Pillow's warnings ignored while any thread opens or loads a picture here: one filter for Pillow's modules,
    added by the first and removed by the last (:func:`pillow_pixel_limit` enters it: its limit is ours, and Pillow
    warned of pictures between it and twice it, which :func:`open_image` refuses in its own words). Not
    ``warnings.catch_warnings``: it saves and restores the whole filter list, and two threads loading at once (the
    batch's decoder, a server's requests) could restore each other's, and leave every warning of the program ignored
    for good.
    """
    global _quiet_users
    entered = False
    try:
        with _QUIET_LOCK:
            if _quiet_users == 0:
                warnings.filters.insert(0, _PILLOW_FILTER)  # type: ignore[arg-type]
                _filters_changed()
            _quiet_users += 1
            entered = True
        yield
    finally:
        if entered:
            with _QUIET_LOCK:
                _quiet_users -= 1
                if _quiet_users == 0:
                    with contextlib.suppress(ValueError):
                        warnings.filters.remove(_PILLOW_FILTER)  # type: ignore[arg-type]
                    _filters_changed()


def _filters_changed() -> None:
    """Tell the warnings machinery its filter list changed (what ``warnings.filterwarnings`` does after it edits
    the list), where this Python has the hook; the filter works without it, only cached decisions lag."""
    hook = getattr(warnings, "_filters_mutated", None)
    if callable(hook):
        hook()


@contextlib.contextmanager
def pillow_pixel_limit() -> Iterator[None]:
    """Pillow's own bomb check off while we open or decode, and put back after: ours (:func:`open_image`) says
    what to do and can be raised (:data:`MAX_MEGAPIXELS_ENV`), where Pillow's raised first, in its own words.

    Counted, not locked for the whole body: a decoder thread's minutes-long decode of a big photo must not hold up
    another thread's open (the batch reads headers while decoding). The first user saves Pillow's limit and sets it
    to ours (:func:`max_pixels`), the last puts it back. Not off: the limit is the process's, and another thread
    of the program (a server opening an upload with Pillow meanwhile) would have had no check at all; at ours,
    Pillow still refuses what is over twice it, which :func:`open_image` reports in our words."""
    global _users, _saved_limit
    entered = False
    try:
        with _pillow_limit_lock:
            if _users == 0:
                _saved_limit = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = max_pixels()
            _users += 1
            entered = True
        with pillow_quiet():
            yield
    finally:
        if entered:
            with _pillow_limit_lock:
                _users -= 1
                if _users == 0:
                    Image.MAX_IMAGE_PIXELS = _saved_limit


def over_limit(path: Path, width: int, height: int) -> str | None:
    """The reason a ``width``×``height`` picture is refused (over :func:`max_pixels`), or None."""
    if width * height <= max_pixels():
        return None
    return _refusal(path, width * height, f"{width}×{height} = ")


def _refusal(path: Path, pixels: int, size: str = "") -> str:
    """The one line of a picture of ``pixels`` refused by the limit, with what raises it for a trusted file."""
    return (
        f"{path}: image is {size}{_megapixels(pixels)} megapixels, over the {_megapixels(max_pixels())} MP safety "
        f"limit (decompression-bomb guard); downscale or split it, or, if you trust the file and have the memory, "
        f"raise the limit: {MAX_MEGAPIXELS_ENV}={-(-pixels // 1_000_000)}"
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
    for planning what holding the decoded picture would cost (the batch pipeline) without decoding it."""
    try:
        with pillow_pixel_limit(), Image.open(path) as im:
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


def open_image(path: Path) -> Image.Image:
    """``Image.open`` under our pixel limit; an :class:`InputError` for pictures over it."""
    try:
        with pillow_pixel_limit():
            im = Image.open(path)
    except Image.DecompressionBombError as exc:  # over twice our limit, refused by Pillow at ours: our words
        found = re.search(r"\((\d+) pixels\)", str(exc))
        if found is None:
            raise
        raise InputError(_refusal(path, int(found.group(1)))) from None
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
    except Image.DecompressionBombError as exc:  # a plugin's own check (pillow_pixel_limit sets Pillow's to ours)
        raise InputError(f"{p}: over the {max_pixels() / 1e6:.0f} MP safety limit ({exc})") from None
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
