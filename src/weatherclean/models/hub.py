"""Models from the Hugging Face Hub: ``owner/name`` or ``owner/name@revision``.

Downloads go to the standard Hub cache (``HF_HOME`` / ``HF_HUB_CACHE``), so users share them with every
other Hub-based tool, and ``HF_HUB_OFFLINE=1`` works as everywhere else. Hub exceptions become one-line
:class:`ModelError` messages that say what to do.
"""

from __future__ import annotations

from pathlib import Path

from weatherclean.errors import ModelError


def parse_repo_spec(spec: str) -> tuple[str, str | None]:
    repo_id, _, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ModelError(f"'{spec}' is not a Hub repo id; expected owner/name or owner/name@revision")
    return repo_id, revision or None


def download(spec: str, *, offline: bool = False) -> Path:
    """Fetch ``config.json`` and ``model.safetensors`` of a Hub model into the Hub cache."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id, revision = parse_repo_spec(spec)
    try:
        path = snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=["config.json", "model.safetensors", "README.md"],
            local_files_only=offline,
        )
    except RepositoryNotFoundError:
        raise ModelError(
            f"Hub repo '{repo_id}' not found (or private: set HF_TOKEN); check the name"
        ) from None
    except RevisionNotFoundError:
        raise ModelError(
            f"Hub repo '{repo_id}' has no revision '{revision}'; check the branch, tag or commit"
        ) from None
    except LocalEntryNotFoundError:
        raise ModelError(
            f"'{spec}' is not in the local Hub cache and the Hub cannot be reached (offline?); "
            "run the same command once while online, or pass a local model folder"
        ) from None
    except EntryNotFoundError as exc:
        raise ModelError(f"Hub repo '{repo_id}' lacks a model file ({exc})") from None
    except HFValidationError as exc:
        raise ModelError(f"'{spec}' is not a valid Hub repo id or revision ({exc})") from None
    except HfHubHTTPError as exc:
        raise ModelError(f"Hub request for '{spec}' failed ({str(exc).splitlines()[0]}); try again later") from None
    return Path(path)
