"""The ``weatherclean`` command's filters for Pillow's warnings, put in once for the command's own process.

The standard library alone: the command puts them in at start, before anything heavy is imported (``weatherclean
--version`` imports no Pillow), and a Ray actor's process puts them in as it starts. Never as a library: Python's
warning filters are the process's, so a program calling weatherclean filters Pillow's warnings itself (docs/api.md,
"Warning filters").
"""

from __future__ import annotations

import warnings

__all__ = ["PILLOW_BOMB_WARNING", "PILLOW_MODULES", "quiet_pillow"]

#: The modules whose warnings :func:`quiet_pillow` ignores: Pillow's own, nothing else's.
PILLOW_MODULES = r"PIL(\.|$)"
#: How Pillow's ``DecompressionBombWarning`` (a ``RuntimeWarning``) begins: matched by its words, so that putting the
#: filter in imports no Pillow.
PILLOW_BOMB_WARNING = r"Image size \(\d+ pixels\) exceeds limit"


def quiet_pillow() -> None:
    """Ignore, for the rest of the process, Pillow's ``UserWarning``\\ s (its remarks on a file's quirks: "Corrupt
    EXIF data", "Truncated File Read", which the user cannot act on, and which a program showing stderr's first
    line, such as a photo editor's external-editor hook, showed as the outcome) and its
    ``DecompressionBombWarning`` (the command's own limit refuses those pictures in its own words): the filters
    of a process the ``weatherclean`` command owns, put in once at its start."""
    warnings.filterwarnings("ignore", category=UserWarning, module=PILLOW_MODULES)
    warnings.filterwarnings("ignore", PILLOW_BOMB_WARNING, category=RuntimeWarning, module=PILLOW_MODULES)
