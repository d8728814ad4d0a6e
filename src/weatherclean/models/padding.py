"""How far a picture is padded before a network sees it, shared by every family.

Why a floor: below about 32 px a side, a network's context is mostly padding, and what it makes of that
is nothing a photo contains. A flat white 4×4 picture came back 60 grey levels darker from DesnowNet,
and a flat grey 16×16 one 9 levels darker from J4R-Net. Padded to :data:`MIN_SIDE` by repeating their
edges, they are left alone like large pictures, and the padding is cropped off again.
"""

from __future__ import annotations

__all__ = ["MIN_SIDE", "padded_side"]

#: Pictures smaller than this on a side are padded to it (their edge pixels repeated) before the network.
MIN_SIDE = 32


def padded_side(n: int, multiple: int = 1) -> int:
    """The side a picture's side ``n`` is padded to: at least :data:`MIN_SIDE`, a multiple of ``multiple``."""
    n = max(n, MIN_SIDE)
    return n + (-n) % multiple
