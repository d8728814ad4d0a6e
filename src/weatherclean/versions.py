"""Which weatherclean releases may carry on each other's work (a training run, a synth folder).

Standard library only, and importing nothing of weatherclean but its version string: ``train`` (which imports
PyTorch) and ``synth``'s record (which must not) both ask :func:`same_release`, so that a run and a synth
folder are judged by one rule.
"""

from __future__ import annotations

import re

from weatherclean import __version__

__all__ = ["release", "release_name", "same_release"]


def release(version: str) -> tuple[int, int, int] | None:
    """``(major, minor, micro)`` of a version (``0.2.0.dev0``, ``0.2.0rc1`` and ``0.2`` give ``(0, 2, 0)``);
    None when it starts with no number."""
    match = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if match is None:
        return None
    major, minor, micro = (int(part or 0) for part in match.groups())
    return major, minor, micro


def release_name(version: str = __version__) -> str:
    """The release a version belongs to, as people write it (``0.2.0`` for ``0.2.0.dev0``); the version itself
    when it names no release."""
    numbers = release(version)
    return ".".join(map(str, numbers)) if numbers is not None else version


def same_release(version: str | None, now: str = __version__) -> bool:
    """Whether work written by weatherclean ``version`` (None: no version recorded) may be carried on by
    weatherclean ``now``: the same release, whatever its development, pre- or post-release label.

    Why this strict: a release may change a model's defaults (0.2.0 turned on DesnowNet's pass-through gate,
    which the forward pass applies in training too) and the weather it synthesises (0.2.0's five snow styles),
    so a run resumed by another release mixes two runs that neither release describes; a patch release is
    refused too, since nothing records which of its changes touch training or synthesis. Why not stricter: the
    labels are ignored because a development checkout keeps one version string (``0.2.0.dev0``) across all its
    commits, so they could not tell its snapshots apart anyway, and work started on a release candidate may be
    finished on the release.
    """
    if not isinstance(version, str):
        return False
    then, here = release(version), release(now)
    return then is not None and then == here
