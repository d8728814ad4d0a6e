"""Models from the Hugging Face Hub: ``owner/name`` or ``owner/name@revision``.

Downloads go to the standard Hub cache (``HF_HOME`` / ``HF_HUB_CACHE``), so users share them with every
other Hub-based tool, and ``HF_HUB_OFFLINE=1`` works as everywhere else. Everything goes through
huggingface_hub's public API (``HfApi.model_info`` and ``hf_hub_download``); this module only decides
*when* to use the network and turns Hub exceptions into one-line :class:`ModelError` messages that say
what to do.

Three choices shape the code:

* **A full commit is immutable**, so a cached copy of it is used without asking the Hub at all: a second
  run makes no request, and works on a plane.
* **One cheap, non-retrying API call comes first** on a cache miss. It tells "no such repo", "no such
  revision" and "no network" apart at once, where a file request that cannot connect would make
  huggingface_hub back off and retry for about 20 seconds before failing.
* **Pinned checksums are checked on every load**, downloads and cache hits alike: a truncated or
  tampered file in the cache is caught before PyTorch reads it, and hashing a few MB costs milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from weatherclean.errors import ModelError

logger = logging.getLogger(__name__)

#: Files every weatherclean model folder has (``save_pretrained`` writes them).
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors")
#: Files fetched when the repo has them: the model card carries the licence and the scores.
OPTIONAL_FILES: tuple[str, ...] = ("README.md",)

_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def is_commit(revision: str | None) -> bool:
    """Whether ``revision`` is a full commit hash, the only revision that can never change."""
    return revision is not None and _COMMIT.fullmatch(revision) is not None


def is_sha256(value: str) -> bool:
    """Whether ``value`` looks like a lowercase hex sha256 digest."""
    return _SHA256.fullmatch(value) is not None


def parse_repo_spec(spec: str) -> tuple[str, str | None]:
    """Split ``owner/name[@revision]`` into the repo id and the revision (``None``: the default branch)."""
    repo_id, at, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")) or (at and not revision):
        raise ModelError(f"'{spec}' is not a Hub repo id; expected owner/name or owner/name@revision")
    return repo_id, revision or None


def offline_mode(offline: bool | None = None) -> bool:
    """Resolve the ``offline`` argument: ``None`` follows ``HF_HUB_OFFLINE``.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once, at import; the environment is read again here so that
    setting it later in the same process (a notebook, a test) still counts.
    """
    if offline is not None:
        return offline
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return bool(constants.HF_HUB_OFFLINE) or env in {"1", "ON", "YES", "TRUE"}


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks so large checkpoints never sit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def repo_cache_folder(snapshot: Path) -> Path:
    """The cache folder of a whole repo (``.../models--owner--name``) from one of its snapshot folders.

    Deleting it removes the downloaded blobs too; deleting only ``snapshots/<commit>`` would not help, since
    the next download links the same (possibly bad) blob back in.
    """
    return snapshot.parent.parent


def snapshot_commit(snapshot: Path) -> str:
    """The commit a snapshot folder holds (the cache names ``snapshots/<commit>`` after it)."""
    return snapshot.name


def download(
    spec: str,
    *,
    offline: bool | None = None,
    sha256: Mapping[str, str] | None = None,
    force: bool = False,
    name: str | None = None,
) -> Path:
    """Fetch a Hub model folder (config, weights and model card) into the Hub cache; return the snapshot folder.

    ``offline``: ``True`` uses the cache only, ``None`` follows ``HF_HUB_OFFLINE``. ``sha256`` maps file names
    to their expected digests, checked after every download and cache hit. ``force`` downloads again even
    if cached, which repairs a corrupt cache entry. ``name`` is what the user typed (a registered name), used
    in messages so that the suggested commands work as typed.
    """
    repo_id, revision = parse_repo_spec(spec)
    label = name or spec
    offline = offline_mode(offline)
    if force and offline:
        raise ModelError(
            f"cannot re-download '{label}' in offline mode; drop --force, or go online and unset HF_HUB_OFFLINE"
        )
    # Pinned files beyond the usual ones (a preprocessor config, say) are fetched too, or they could not be checked.
    needed = tuple(dict.fromkeys([*REQUIRED_FILES, *(sha256 or {})]))
    folder: Path | None = None
    if not force and (offline or is_commit(revision)):
        folder = _from_cache(repo_id, revision, label, needed)
        if folder is None and offline:
            raise ModelError(
                f"'{label}' is not in the local Hub cache ({_cache_root()}) and offline mode is on "
                f"(--offline or HF_HUB_OFFLINE); run `weatherclean models download {label}` once while online, "
                "or pass a local model folder"
            )
    if folder is None:
        folder = _from_hub(repo_id, revision, label, needed, force=force)
    if sha256:
        verify_checksums(folder, sha256, label=label)
    return folder


def verify_checksums(folder: Path, expected: Mapping[str, str], *, label: str) -> None:
    """Compare the sha256 of each pinned file with its pin; a mismatch is a corrupt (or tampered) download."""
    fix = f"delete {repo_cache_folder(folder)} or run `weatherclean models download {label} --force`, then try again"
    for filename, want in expected.items():
        path = folder / filename
        if not path.is_file():
            raise ModelError(f"download of '{label}' is incomplete: {filename} is missing from {folder}; {fix}")
        got = file_sha256(path)
        if got != want.lower():
            raise ModelError(
                f"download of '{label}' is corrupt: {filename} has sha256 {got[:12]}... but {want[:12]}... "
                f"was pinned; {fix}"
            )


def _cache_root() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _from_cache(repo_id: str, revision: str | None, label: str, needed: tuple[str, ...]) -> Path | None:
    """The cached snapshot folder with all ``needed`` files, or ``None``; never touches the network."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    paths = []
    try:
        for filename in needed:
            paths.append(Path(hf_hub_download(repo_id, filename, revision=revision, local_files_only=True)))
    except LocalEntryNotFoundError:
        return None
    except HFValidationError as exc:
        raise ModelError(f"'{label}' is not a valid Hub repo id or revision ({_first_line(exc)})") from None
    return paths[0].parent


def _from_hub(repo_id: str, revision: str | None, label: str, needed: tuple[str, ...], *, force: bool) -> Path:
    """Resolve the revision with one API call, then download the files of that exact commit."""
    from huggingface_hub import HfApi, constants, hf_hub_download

    try:
        info = HfApi().model_info(repo_id, revision=revision, timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except Exception as exc:
        if _is_network_error(exc) and not force and not is_commit(revision):
            # Like huggingface_hub itself: a branch or tag that was downloaded before still works without
            # a network, at the commit it pointed to then.
            folder = _from_cache(repo_id, revision, label, needed)
            if folder is not None:
                logger.warning(
                    "the Hub cannot be reached (%s); using the cached '%s' at commit %s",
                    _first_line(exc),
                    label,
                    snapshot_commit(folder)[:12],
                )
                return folder
        if _is_network_error(exc) and force:
            raise ModelError(
                f"cannot reach the Hub at {constants.ENDPOINT} ({_first_line(exc)}) to download '{label}' again; "
                "check your connection (and HF_ENDPOINT / HTTPS_PROXY), then try again"
            ) from None
        _raise_hub_error(exc, repo_id, revision, label)
    siblings = {s.rfilename for s in info.siblings or []}
    optional = [f for f in OPTIONAL_FILES if f in siblings and f not in needed]
    first, *rest = [*needed, *optional]
    filename = first
    try:
        # The first file is asked for by the revision as given, so that huggingface_hub records a branch or
        # tag in the cache's refs/ (offline use of `owner/name` needs it); the rest by the commit that file
        # came from, so a branch that moves meanwhile cannot mix two commits in one model.
        folder = Path(hf_hub_download(repo_id, first, revision=revision, force_download=force)).parent
        commit = snapshot_commit(folder)
        for filename in rest:
            hf_hub_download(repo_id, filename, revision=commit, force_download=force)
    except Exception as exc:
        _raise_hub_error(exc, repo_id, revision, label, filename=filename)
    return folder


def _raise_hub_error(
    exc: Exception, repo_id: str, revision: str | None, label: str, *, filename: str | None = None
) -> NoReturn:
    """Raise the one-line :class:`ModelError` for ``exc``, or ``exc`` itself (with its traceback) if unknown."""
    error = _hub_error(exc, repo_id, revision, label, filename=filename)
    if error is exc:
        raise exc
    raise error from None


def _network_error_types() -> tuple[type[BaseException], ...]:
    """Exception classes meaning "could not talk to the Hub", whichever HTTP client huggingface_hub uses.

    huggingface_hub 2.x uses httpx2, 1.x httpx, older releases requests; only clients already imported can
    have raised, so nothing is imported here.
    """
    types: list[type[BaseException]] = [ConnectionError, TimeoutError]  # OfflineModeIsEnabled is a ConnectionError
    for module, names in (
        ("httpx2", ("TransportError",)),
        ("httpx", ("TransportError",)),
        ("requests", ("ConnectionError", "Timeout")),
    ):
        mod = sys.modules.get(module)
        types.extend(getattr(mod, n) for n in names if mod is not None and isinstance(getattr(mod, n, None), type))
    return tuple(types)


def _is_network_error(exc: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError

    return not isinstance(exc, HfHubHTTPError) and isinstance(exc, _network_error_types())


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def _hub_error(
    exc: Exception, repo_id: str, revision: str | None, label: str, *, filename: str | None = None
) -> Exception:
    """One line that says what went wrong and what to do; unknown exceptions are returned unchanged."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f" at revision '{revision}'" if revision else ""
    if isinstance(exc, GatedRepoError):
        return ModelError(
            f"Hub repo '{repo_id}' is gated: accept its terms on its Hub page, then log in with `hf auth login` "
            "or set HF_TOKEN"
        )
    if isinstance(exc, RepositoryNotFoundError):
        return ModelError(
            f"Hub repo '{repo_id}' not found: check the owner/name spelling; if the repo is private, log in with "
            "`hf auth login` or set HF_TOKEN"
        )
    if isinstance(exc, RevisionNotFoundError):
        return ModelError(
            f"Hub repo '{repo_id}' has no revision '{revision}': check the branch, tag or commit "
            "(commits need all 40 hex digits), or drop '@...' to use the default branch"
        )
    if isinstance(exc, OfflineModeIsEnabled):
        return ModelError(
            f"'{label}' must be downloaded but HF_HUB_OFFLINE is set; unset it and run "
            f"`weatherclean models download {label}`, or pass a local model folder"
        )
    if isinstance(exc, LocalEntryNotFoundError):  # before EntryNotFoundError: it is a subclass
        return ModelError(
            f"cannot reach the Hub at {constants.ENDPOINT} and '{label}' is not in the local Hub cache; "
            "check your connection (and HF_ENDPOINT / HTTPS_PROXY), then try again"
        )
    if isinstance(exc, EntryNotFoundError):
        return ModelError(
            f"Hub repo '{repo_id}'{at} has no {filename or 'model files'}: it is not a weatherclean model folder "
            "(it needs config.json and model.safetensors as written by save_pretrained); check the repo id and revision"
        )
    if isinstance(exc, HFValidationError):
        return ModelError(f"'{label}' is not a valid Hub repo id or revision ({_first_line(exc)})")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if getattr(exc, "response", None) is not None else None
        if status in (401, 403):
            return ModelError(
                f"the Hub refused access to '{repo_id}' (HTTP {status}); log in with `hf auth login` or set "
                "HF_TOKEN to a token that can read it"
            )
        return ModelError(f"the Hub could not serve '{label}' (HTTP {status}: {_first_line(exc)}); try again later")
    if _is_network_error(exc):
        return ModelError(
            f"cannot reach the Hub at {constants.ENDPOINT} ({_first_line(exc)}) and '{label}' is not in the local "
            "Hub cache; check your connection (and HF_ENDPOINT / HTTPS_PROXY), then try again"
        )
    if isinstance(exc, OSError) and "consistency check failed" in str(exc).lower():
        return ModelError(
            f"download of '{label}' is corrupt (the file size is wrong: {_first_line(exc)}); run "
            f"`weatherclean models download {label} --force`"
        )
    return exc
