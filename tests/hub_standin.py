"""A local stand-in for the Hugging Face Hub, so Hub downloads are tested without the internet.

It serves repos from plain folders (a model written by ``save_pretrained``) on 127.0.0.1, speaking just
the part of the Hub's HTTP API that huggingface_hub's ``HfApi.model_info``, ``hf_hub_download`` and
``snapshot_download`` use (read from huggingface_hub 2.4's ``hf_api.py``, ``file_download.py`` and
``utils/_http.py``):

* ``GET /api/models/{repo}`` and ``GET /api/models/{repo}/revision/{rev}``: repo info, JSON with ``id``,
  ``sha`` (the commit) and ``siblings`` (``[{"rfilename": ...}]``).
* ``GET /api/models/{repo}/tree/{rev}``: the file listing ``snapshot_download`` asks for.
* ``HEAD`` and ``GET /{repo}/resolve/{rev}/{path}``: a file, with ``X-Repo-Commit``, ``ETag`` and
  ``Content-Length``, the headers ``get_hf_file_metadata`` needs. No ``X-Xet-*`` header is ever sent, so
  huggingface_hub downloads over plain HTTP from here and never tries Xet storage.

Errors are 404s with the ``X-Error-Code`` header the real Hub sends (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``), which is what makes huggingface_hub raise its specific
exception classes. Every request is recorded as ``(method, path)`` so tests can assert that a cache hit
made none; :meth:`StandinHub.corrupt` serves altered bytes under the original ETag (a download damaged
on the way, or a tampered mirror), and :meth:`StandinHub.stop` closes the port (no network).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, which the Hub uses as the ETag of files not stored in LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class StandinRepo:
    """One model repo at one commit, with branches pointing at it."""

    repo_id: str
    commit: str
    files: dict[str, bytes]
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag → commit
    served: dict[str, bytes] = field(default_factory=dict)  # overrides of what GET returns (corruption)

    def etag(self, filename: str) -> str:
        """sha256 for LFS-style weights, git blob sha1 for the rest, as the Hub does."""
        data = self.files[filename]
        if filename.endswith((".safetensors", ".bin", ".pt")):
            return hashlib.sha256(data).hexdigest()
        return git_blob_sha1(data)

    def resolve(self, revision: str) -> str | None:
        if revision == self.commit:
            return self.commit
        return self.refs.get(revision)


class StandinHub:
    """A threaded HTTP server on 127.0.0.1 (a free port) that answers like the Hub for a few repos.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :attr:`url` is what
    ``HF_ENDPOINT`` must be set to.
    """

    def __init__(self) -> None:
        self.repos: dict[str, StandinRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- content ---------------------------------------------------------------------------------------

    def add_repo(
        self,
        repo_id: str,
        folder: Path | None = None,
        *,
        files: dict[str, bytes] | None = None,
        commit: str | None = None,
        branches: tuple[str, ...] = ("main",),
    ) -> StandinRepo:
        """Serve the files of ``folder`` (and/or ``files``) as ``repo_id`` at one commit.

        The commit defaults to a hash of the content, a realistic 40-hex id that tests can pin.
        """
        content: dict[str, bytes] = {}
        if folder is not None:
            content.update({p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()})
        content.update(files or {})
        if commit is None:
            digest = hashlib.sha1(repo_id.encode())
            for name in sorted(content):
                digest.update(name.encode() + b"\0" + content[name])
            commit = digest.hexdigest()
        repo = StandinRepo(repo_id, commit, content, refs=dict.fromkeys(branches, commit))
        self.repos[repo_id] = repo
        return repo

    def corrupt(self, repo_id: str, filename: str) -> None:
        """Serve ``filename`` with some bytes flipped but the same size and ETag (so only a checksum notices)."""
        data = bytearray(self.repos[repo_id].files[filename])
        for i in range(len(data) // 2, min(len(data), len(data) // 2 + 64)):
            data[i] ^= 0xFF
        self.repos[repo_id].served[filename] = bytes(data)

    def repair(self, repo_id: str, filename: str) -> None:
        """Serve the true bytes of ``filename`` again."""
        self.repos[repo_id].served.pop(filename, None)

    # -- traffic ---------------------------------------------------------------------------------------

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> StandinHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        # A short poll interval: stop() waits for it, and tests stop the server often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="standin-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: clients now get "connection refused", as with no network."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandinHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _make_handler(hub: StandinHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "standin-hub/1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Silence the per-request log on stderr; requests are recorded in ``hub.requests``."""

        def do_GET(self) -> None:
            self._route(head=False)

        def do_HEAD(self) -> None:
            self._route(head=True)

        # -- routing -----------------------------------------------------------------------------------

        def _route(self, *, head: bool) -> None:
            hub._record(self.command, self.path)
            parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
            if parts[:2] == ["api", "models"] and len(parts) >= 4 and not head:
                repo_id, rest = f"{parts[2]}/{parts[3]}", parts[4:]
                if not rest:
                    return self._info(repo_id, "main")
                if rest[0] == "revision" and len(rest) == 2:
                    return self._info(repo_id, rest[1])
                if rest[0] == "tree" and len(rest) >= 2:
                    return self._tree(repo_id, rest[1])
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), head=head)
            self._send(404, b"not found", {"Content-Type": "text/plain"}, head=head)

        def _lookup(self, repo_id: str, revision: str, *, head: bool = False) -> tuple[StandinRepo, str] | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error("RepoNotFound", "Repository not found", head=head)
                return None
            commit = repo.resolve(revision)
            if commit is None:
                self._error("RevisionNotFound", f"Invalid rev id: {revision}", head=head)
                return None
            return repo, commit

        # -- endpoints ---------------------------------------------------------------------------------

        def _info(self, repo_id: str, revision: str) -> None:
            found = self._lookup(repo_id, revision)
            if found is None:
                return
            repo, commit = found
            body = {
                "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit,
                "private": False,
                "gated": False,
                "disabled": False,
                "library_name": "weatherclean",
                "tags": ["weatherclean"],
                "siblings": [{"rfilename": name} for name in sorted(repo.files)],
            }
            self._json(body)

        def _tree(self, repo_id: str, revision: str) -> None:
            found = self._lookup(repo_id, revision)
            if found is None:
                return
            repo, _ = found
            entries = []
            for name in sorted(repo.files):
                data = repo.files[name]
                entry: dict[str, object] = {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
                if repo.etag(name) != git_blob_sha1(data):  # LFS-style file: the Hub lists its sha256 too
                    entry["lfs"] = {"oid": repo.etag(name), "size": len(data), "pointerSize": 134}
                entries.append(entry)
            self._json(entries)

        def _resolve(self, repo_id: str, revision: str, filename: str, *, head: bool) -> None:
            found = self._lookup(repo_id, revision, head=head)
            if found is None:
                return
            repo, commit = found
            if filename not in repo.files:
                self._error(
                    "EntryNotFound",
                    f'{filename} does not exist on "{revision}"',
                    head=head,
                    extra={"X-Repo-Commit": commit},
                )
                return
            data = repo.served.get(filename, repo.files[filename])
            headers = {
                "Content-Type": "application/octet-stream",
                "X-Repo-Commit": commit,
                "ETag": f'"{repo.etag(filename)}"',
            }
            self._send(200, data, headers, head=head)

        # -- responses ---------------------------------------------------------------------------------

        def _json(self, body: object) -> None:
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head=False)

        def _error(self, code: str, message: str, *, head: bool, extra: dict[str, str] | None = None) -> None:
            headers = {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message}
            headers.update(extra or {})
            self._send(404, json.dumps({"error": message}).encode(), headers, head=head)

        def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler
