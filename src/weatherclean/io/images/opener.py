"""Opening a file with Pillow safely: our own decompression-bomb limit, and one-line reasons for failures.

Refuse images above one gigapixel: larger files are almost always corrupt or hostile (a "decompression
bomb" that would exhaust memory), and Pillow's default limit (~179 MP) is too low for real panoramas.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from weatherclean.errors import InputError
from weatherclean.io import media

__all__ = ["MAX_PIXELS", "NotPillow", "open_image", "open_or_explain", "pillow_pixel_limit", "reason"]

#: The largest picture we decode, in pixels (see the module docstring).
MAX_PIXELS = 1_000_000_000
_pillow_limit_lock = threading.Lock()


@contextlib.contextmanager
def pillow_pixel_limit() -> Iterator[None]:
    """Use our own bomb limit instead of Pillow's global one, without leaving the global changed."""
    with _pillow_limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises above 2× this, warns above 1×
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def reason(exc: BaseException) -> str:
    """A short human reason for a Pillow decode failure."""
    msg = str(exc).strip() or type(exc).__name__
    low = msg.lower()
    if "truncated" in low or "premature end" in low or "unexpected end" in low or isinstance(exc, EOFError):
        return f"truncated file ({msg}); re-copy it from the source"
    return f"cannot decode image ({msg})"


def open_image(path: Path) -> Image.Image:
    """``Image.open`` under our pixel limit; an :class:`InputError` for pictures over it."""
    with pillow_pixel_limit():
        im = Image.open(path)
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise InputError(
            f"{path}: image is {w}×{h} = {w * h / 1e6:.0f} megapixels, over the {MAX_PIXELS // 1_000_000} MP "
            "safety limit (decompression-bomb guard); downscale or split it first"
        )
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
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: over the {MAX_PIXELS // 1_000_000} MP safety limit ({exc})") from None
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
