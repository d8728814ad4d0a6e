"""Models on the Hugging Face Hub: loading ``owner/name[@revision]``, and publishing a model folder.

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

Publishing (:func:`push_folder`, behind ``weatherclean models push`` and ``train --push-to-hub``) checks
everything it can locally first: the repo id, the folder (config, weights that load, a model card with
licence, library and tags), offline mode and the presence of a token. Only then does it talk to the Hub,
with ``create_repo(exist_ok=True)`` and one ``create_commit`` of exactly the files weatherclean loads, and
it reports the commit and the sha256 of each file: what a registered :class:`ModelSpec` pins.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from weatherclean.errors import ModelError
from weatherclean.io.permissions import user_name
from weatherclean.models.endpoint import check_hub_endpoint
from weatherclean.provenance import file_sha256

logger = logging.getLogger(__name__)

#: Files every weatherclean model folder has (``save_pretrained`` writes them).
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors")
#: Files fetched when the repo has them: the model card carries the licence and the scores.
OPTIONAL_FILES: tuple[str, ...] = ("README.md",)

_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    check_hub_endpoint()
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return bool(constants.HF_HUB_OFFLINE) or env in {"1", "ON", "YES", "TRUE"}


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
            unreadable = _unreadable_cache(repo_id)
            if unreadable is not None:
                raise ModelError(unreadable)
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


def cached_snapshot(spec: str, *, label: str | None = None) -> Path | None:
    """The cached snapshot folder of ``spec`` holding the files a model needs, or ``None``; never touches the
    network. ``--dry-run`` asks this before it says that a run will download a model; a malformed id raises
    the :class:`ModelError` the run would."""
    repo_id, revision = parse_repo_spec(spec)
    return _from_cache(repo_id, revision, label or spec, REQUIRED_FILES)


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
    check_hub_endpoint()
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _check_cache_home() -> None:
    """Refuse, in one line, a Hub cache under a home folder that no one can name: huggingface_hub puts its cache in
    ``~/.cache/huggingface/hub`` unless ``HF_HOME``, ``HF_HUB_CACHE`` (or ``XDG_CACHE_HOME``) say otherwise, and with
    no ``HOME`` and a user id that has no account entry (a container run as an arbitrary uid) it left the ``~`` as it
    was and then failed expanding it: ``RuntimeError: Could not determine home directory.``, a traceback, exit code 1
    and no ``--json`` answer."""
    root = _cache_root()
    if root.startswith("~") and os.path.expanduser(root) == root:
        raise ModelError(
            f"cannot find the Hub cache ({root}): no home folder is known (HOME is unset and this user id has no "
            "account entry); set HF_HOME or HF_HUB_CACHE to a folder you can write (or set HOME), then rerun"
        )


def _unreadable_cache(repo_id: str) -> str | None:
    """Why ``repo_id``'s entry in the Hub cache cannot be read by this user (a cache shared on a lab server, filled by
    another user with a private umask), or None: huggingface_hub answers "not in the cache" then, and the advice to
    download it once sent the user to a download that failed for the same reason."""
    root = Path(_cache_root())
    for folder in (root, root / f"models--{repo_id.replace('/', '--')}"):
        try:
            if not folder.is_dir():
                return None
        except OSError:  # a folder above it cannot be searched
            return None
        if not os.access(folder, os.R_OK | os.X_OK):
            owner = _owner(folder)
            return (
                f"cannot read the Hub cache {folder} (Permission denied{owner}): '{repo_id}' may be cached there; "
                "ask its owner to open it to you (chmod -R g+rX, with a group you share), or set HF_HUB_CACHE to "
                "a cache of your own"
            )
    return None


def _owner(path: Path) -> str:
    """``; owned by NAME`` for ``path``'s owner (its number where the system cannot name it); empty where the
    folder cannot even be looked at."""
    try:
        return f"; owned by {user_name(path.stat().st_uid)}"
    except OSError:
        return ""


def _from_cache(repo_id: str, revision: str | None, label: str, needed: tuple[str, ...]) -> Path | None:
    """The cached snapshot folder with all ``needed`` files, or ``None``; never touches the network."""
    _check_cache_home()
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
    except OSError as exc:
        error = _cache_write_error(exc)
        if error is None:
            raise
        raise error from None
    return paths[0].parent


def _from_hub(repo_id: str, revision: str | None, label: str, needed: tuple[str, ...], *, force: bool) -> Path:
    """Resolve the revision with one API call, then download the files of that exact commit."""
    _check_cache_home()
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
    cache_error = _cache_write_error(exc)
    if cache_error is not None:
        return cache_error
    if isinstance(exc, OSError) and "consistency check failed" in str(exc).lower():
        return ModelError(
            f"download of '{label}' is corrupt (the file size is wrong: {_first_line(exc)}); run "
            f"`weatherclean models download {label} --force`"
        )
    return exc


#: What an OSError from the Hub cache means when it cannot be written: no permission, a read-only disk, or
#: HF_HUB_CACHE (or a folder in it) being a file.
_CACHE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST})


def _cache_write_error(exc: BaseException) -> ModelError | None:
    """The one-line error for a Hub cache that cannot be written, or None when ``exc`` is something else.

    Why: huggingface_hub creates its lock and blob folders in the cache before a download, and a read-only
    ``HF_HUB_CACHE`` (or one that is a file) ended in a PermissionError / NotADirectoryError traceback.
    """
    if not isinstance(exc, OSError) or exc.errno not in _CACHE_ERRNOS or _is_network_error(exc):
        return None
    root = _cache_root()
    why = exc.strerror or type(exc).__name__
    where = f": {exc.filename}" if exc.filename else ""
    return ModelError(
        f"cannot write the Hub cache {root} ({why}{where}); fix its permissions, or set HF_HUB_CACHE to a "
        "folder you can write"
    )


# -- publishing ----------------------------------------------------------------------------------------------

#: The files a push uploads: what a weatherclean load reads, and the model card. Anything else in the folder
#: (a checkpoint, logs) stays local, so the printed checksums describe the whole published model.
PUSH_FILES: tuple[str, ...] = (*REQUIRED_FILES, *OPTIONAL_FILES)
#: The files a registered :class:`~weatherclean.models.registry.ModelSpec` pins.
PINNED_FILES: tuple[str, ...] = ("model.safetensors", "config.json")
DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class PushResult:
    """What a push published: the repo, the exact commit, and the sha256 of every uploaded file.

    ``changed`` is ``False`` when the branch already held these exact files: the Hub then makes no new
    commit, and ``commit`` is the existing one (still the right thing to pin).
    """

    folder: Path
    repo_id: str
    branch: str
    commit: str
    repo_url: str
    commit_url: str
    sha256: Mapping[str, str]
    changed: bool
    private: bool | None
    task: str | None
    skipped: tuple[str, ...] = field(default=())

    @property
    def spec(self) -> str:
        """``owner/name@commit``: what ``--model`` takes to load exactly this upload."""
        return f"{self.repo_id}@{self.commit}"

    @property
    def pins(self) -> dict[str, str]:
        """The checksums a registered model pins (``model.safetensors`` and ``config.json``)."""
        return {name: self.sha256[name] for name in PINNED_FILES if name in self.sha256}

    def model_spec_code(self) -> str:
        """A ``ModelSpec(...)`` for ``registry.py`` that pins this upload (name and description to fill in)."""
        name = self.repo_id.split("/")[1]
        digests = "".join(f'        "{k}": "{v}",\n' for k, v in self.pins.items())
        return (
            f'ModelSpec(\n    "{name}", "{self.task or "snow"}", "DESCRIBE ME",\n    repo_id="{self.repo_id}",\n'
            f'    revision="{self.commit}",\n    sha256={{\n{digests}    }},\n)'
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``models push --json``)."""
        return {
            "folder": str(self.folder),
            "repo_id": self.repo_id,
            "branch": self.branch,
            "commit": self.commit,
            "model": self.spec,
            "repo_url": self.repo_url,
            "commit_url": self.commit_url,
            "changed": self.changed,
            "private": self.private,
            "task": self.task,
            "sha256": dict(self.sha256),
            "skipped": list(self.skipped),
        }


def parse_push_target(repo: str, revision: str | None = None) -> tuple[str, str]:
    """``owner/name[@branch]`` (and ``--revision``) → ``(repo_id, branch)``, checked as the Hub would, offline.

    A push goes to a branch: a commit hash names a past state and cannot take a new commit.
    """
    check_hub_endpoint()
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    repo_id, at = parse_repo_spec(repo)
    if at and revision and at != revision:
        raise ModelError(f"'{repo}' names branch '{at}' but --revision is '{revision}'; give the branch once")
    branch = revision or at or DEFAULT_BRANCH
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise ModelError(
            f"'{repo_id}' is not a valid Hub repo id ({_first_line(exc)}); use owner/name with letters, digits, "
            "'-', '_' and '.'"
        ) from None
    if is_commit(branch) or not branch.strip() or branch != branch.strip():
        raise ModelError(f"cannot push to '{branch}': name a branch (default: {DEFAULT_BRANCH}), not a commit")
    return repo_id, branch


def check_push_ready(repo: str, *, revision: str | None = None, token: str | None = None) -> tuple[str, str, str]:
    """Everything about a push that can be checked without the network; returns ``(repo_id, branch, token)``.

    ``train --push-to-hub`` calls this before training, so a typo in the repo id, offline mode or a missing
    login is reported at once rather than after hours of training.
    """
    repo_id, branch = parse_push_target(repo, revision)
    if offline_mode():
        raise ModelError(
            f"cannot push to '{repo_id}': offline mode is on (HF_HUB_OFFLINE); unset HF_HUB_OFFLINE and run again"
        )
    return repo_id, branch, _write_token(token, repo_id)


def check_push_folder(folder: Path, *, write_card: bool = False, repo_id: str | None = None) -> dict[str, Any]:
    """Refuse a folder that is not a complete, loadable weatherclean model with a usable card.

    The weights are loaded (strictly, against the config), because a published model that does not load
    is worse than none. ``write_card`` generates a minimal card when the folder has none (named after
    ``repo_id`` when given); an existing card is never overwritten. Returns the model's ``config.json``.
    """
    from weatherclean.models import cards
    from weatherclean.models.family import families
    from weatherclean.models.loading import load_from_folder

    if not folder.is_dir():
        raise ModelError(_no_push_folder(folder))
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(
            f"{folder} is not a model folder: no {' and no '.join(missing)} (as written by `weatherclean train` "
            "or save_pretrained)"
        )
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder / 'config.json'}: cannot read the model config ({exc})") from None
    if isinstance(config, dict) and "model_type" not in config:
        # it loads (as a DesnowNet, the only family saved before model_type existed), but the Hub copy must say
        raise ModelError(
            f'{folder / "config.json"}: no model_type; add "model_type": "desnownet" to it (folders saved '
            "before model_type existed are DesnowNets), then push again"
        )
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in families():
        raise ModelError(
            f"{folder / 'config.json'}: model_type {model_type!r} is not a weatherclean model "
            f"({', '.join(families())}); only weatherclean model folders can be pushed"
        )
    model = load_from_folder(folder)  # one-line ModelError when the weights do not match the config
    if write_card and not (folder / cards.CARD_NAME).exists():
        text = cards.render_card(
            config,
            name=repo_id.split("/")[1] if repo_id else folder.name,
            model_ref=repo_id or str(folder),
            parameters=sum(p.numel() for p in model.parameters()),
        )
        cards.write_card(folder, text)
    cards.check_card(folder)
    return config


def _no_push_folder(folder: Path) -> str:
    """Why ``folder`` (not a folder) cannot be pushed, and what to pass instead (a file is named as one, as
    everywhere a model folder is read; the command names the folder a registered model's name stands for)."""
    from weatherclean.models.loading import not_a_model_folder

    if folder.is_file():
        return not_a_model_folder(folder)
    return f"{folder}: model folder not found (a trained run keeps it in RUN/model)"


class _WithoutNoChangeNotice(logging.Filter):
    """Drops huggingface_hub's "No files have been modified since last commit" warning: a push's result
    says "already up to date" in its own words, and the warning would stand beside a --json report."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No files have been modified" not in record.getMessage()


_NO_CHANGE_FILTER = _WithoutNoChangeNotice()


def push_folder(
    folder: Path,
    repo: str,
    *,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    write_card: bool = False,
) -> PushResult:
    """Publish a model folder to the Hub repo ``repo`` (``owner/name[@branch]``) and report what was published.

    The repo is created if needed (``private`` only applies then), and the branch too; the model's files go
    in one commit, so the repo never holds weights from one push and a config from another. Pushing the
    same files again makes no new commit. Every failure is a one-line :class:`ModelError` naming the folder
    or repo and what to do; nothing touches the network before the local checks pass.
    """
    check_hub_endpoint()
    from huggingface_hub import CommitOperationAdd, HfApi

    from weatherclean import __version__
    from weatherclean.models.family import family_of

    folder = Path(folder)
    repo_id, branch = parse_push_target(repo, revision)
    config = check_push_folder(folder, write_card=write_card, repo_id=repo_id)
    repo_id, branch, token = check_push_ready(repo, revision=revision, token=token)
    files = [name for name in PUSH_FILES if (folder / name).is_file()]
    skipped = tuple(sorted(p.name for p in folder.iterdir() if p.name not in files and not p.name.startswith(".")))
    digests = {name: file_sha256(folder / name) for name in files}
    family = family_of(config["model_type"])
    title = family.title if family else config["model_type"]
    message = commit_message or f"Upload {title} with weatherclean {__version__}"

    api = HfApi(token=token)
    try:
        repo_url = api.create_repo(repo_id, private=True if private else None, exist_ok=True)
        if branch != DEFAULT_BRANCH:
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        before = api.model_info(repo_id, revision=branch)
        operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name)) for name in files]
        hub_api_logger = logging.getLogger("huggingface_hub.hf_api")  # where the Hub logs that warning
        hub_api_logger.addFilter(_NO_CHANGE_FILTER)  # only that record: retries and the rest still show
        try:
            info = api.create_commit(repo_id, operations, commit_message=message, revision=branch)
        finally:
            hub_api_logger.removeFilter(_NO_CHANGE_FILTER)
    except Exception as exc:
        raise _push_error(exc, repo_id, branch, folder) from None
    if private and before.private is False:
        logger.warning(
            "'%s' already existed and is public: --private only applies when a repo is created; change its "
            "visibility in the repo's settings on the Hub",
            repo_id,
        )
    return PushResult(
        folder=folder,
        repo_id=repo_id,
        branch=branch,
        commit=str(info.oid),
        repo_url=str(repo_url),
        commit_url=str(info.commit_url),
        sha256=digests,
        changed=info.oid != before.sha,
        private=before.private,
        task=family.task if family else None,
        skipped=skipped,
    )


def _write_token(token: str | None, repo_id: str) -> str:
    """The token a push sends: ``token``, else ``HF_TOKEN`` or the saved login; refuse early when there is none.

    Passed explicitly to huggingface_hub, so a push works with ``HF_HUB_DISABLE_IMPLICIT_TOKEN`` set too.
    """
    from huggingface_hub import get_token

    if token:
        return token
    try:
        found = get_token()
    except Exception as exc:  # an OIDC exchange (HF_OIDC_RESOURCE) can fail in many ways; all mean "no token"
        raise ModelError(f"cannot get a Hub token to push to '{repo_id}' ({_first_line(exc)})") from None
    if not found:
        raise ModelError(
            f"not logged in to the Hub, so nothing can be pushed to '{repo_id}': run `hf auth login`, set HF_TOKEN, "
            "or pass --token (a token with write access)"
        )
    return found


def _push_error(exc: Exception, repo_id: str, branch: str, folder: Path) -> Exception:
    """One line for a failed push: what went wrong, with the folder or repo, and what to do next.

    Unknown exceptions are returned unchanged (a bug deserves its traceback).
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        BadRequestError,
        HfHubHTTPError,
        HFValidationError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"pushing {folder} to '{repo_id}'"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, OfflineModeIsEnabled):
        return ModelError(f"cannot push to '{repo_id}': offline mode is on (HF_HUB_OFFLINE); unset it and run again")
    if isinstance(exc, LocalTokenNotFoundError):
        return ModelError(f"not logged in to the Hub ({where}): run `hf auth login`, set HF_TOKEN, or pass --token")
    if isinstance(exc, HFValidationError):
        return ModelError(f"'{repo_id}' is not a valid Hub repo id or branch ({_first_line(exc)})")
    if status == 401 or (isinstance(exc, RepositoryNotFoundError) and status in (401, 403)):
        return ModelError(
            f"the Hub rejected the token (HTTP 401) when {where}: log in again with `hf auth login`, or set "
            "HF_TOKEN / pass --token with a valid token that has write access"
        )
    if status == 403:
        return ModelError(
            f"the Hub refused to let this token write to '{repo_id}' (HTTP 403): use a token with write access "
            f"to the '{repo_id.split('/')[0]}' namespace (fine-grained tokens need write permission on repos), "
            "or push to a repo in your own namespace"
        )
    if isinstance(exc, RepositoryNotFoundError):
        return ModelError(
            f"Hub repo '{repo_id}' not found when {where}: it could not be created or is not visible to this "
            "token; check the owner/name and that the token may write to it"
        )
    if isinstance(exc, RevisionNotFoundError):
        return ModelError(f"Hub repo '{repo_id}' has no branch '{branch}' and it could not be created ({where})")
    if isinstance(exc, BadRequestError) or status == 400:
        return ModelError(
            f"the Hub rejected {where} (HTTP 400: {_one_line(exc)}); check the repo id and the model card"
        )
    if isinstance(exc, ValueError) and "metadata in README.md" in str(exc):
        return ModelError(
            f"the Hub rejected the model card {folder / 'README.md'} ({_one_line(exc)}); fix its front matter"
        )
    if isinstance(exc, HfHubHTTPError):
        return ModelError(f"the Hub could not complete {where} (HTTP {status}: {_first_line(exc)}); try again later")
    if _is_network_error(exc):
        return ModelError(
            f"cannot reach the Hub at {constants.ENDPOINT} ({_first_line(exc)}) when {where}; check your connection "
            "(and HF_ENDPOINT / HTTPS_PROXY), then run the same command again (pushing again is safe)"
        )
    return exc


def _one_line(exc: BaseException) -> str:
    """All the non-empty lines of an error message joined by '; ' (the Hub's details are on later lines)."""
    lines = [line.strip(" -") for line in str(exc).splitlines() if line.strip(" -")]
    return "; ".join(lines)[:300] or type(exc).__name__
