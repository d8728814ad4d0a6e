"""The one check of ``HF_ENDPOINT`` before huggingface_hub is imported (:func:`check_hub_endpoint`).

A module of its own, importing nothing of weatherclean's models: the family registry runs it before it
imports the model modules (which import huggingface_hub), and the Hub module before each request.
"""

from __future__ import annotations

import os
import sys

from weatherclean.errors import ModelError

__all__ = ["check_hub_endpoint"]


def check_hub_endpoint() -> None:
    """A one-line :class:`ModelError` when ``HF_ENDPOINT`` is not a URL huggingface_hub can import with.

    Why: huggingface_hub parses ``HF_ENDPOINT`` when it is first imported, and a malformed one
    (``http://[::1``) raised a ``ValueError`` traceback from every command that loads a model. Once
    huggingface_hub is imported the value has been accepted, so nothing is checked then.
    """
    if "huggingface_hub.constants" in sys.modules:
        return
    endpoint = os.environ.get("HF_ENDPOINT")
    if not endpoint:
        return
    from urllib.parse import urlsplit

    try:
        urlsplit(endpoint.rstrip("/")).hostname  # noqa: B018  # what huggingface_hub's import does
    except ValueError as exc:
        raise ModelError(
            f"HF_ENDPOINT={endpoint!r} is not a valid URL ({exc}); fix it (e.g. https://huggingface.co) or unset it"
        ) from None
