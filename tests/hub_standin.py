"""A local stand-in for the Hugging Face Hub, so Hub downloads and uploads are tested without the internet.

It serves repos from plain folders (a model written by ``save_pretrained``) on 127.0.0.1, speaking just
the part of the Hub's HTTP API that huggingface_hub 2.4 uses (read from its ``hf_api.py``,
``file_download.py``, ``_commit_api.py``, ``lfs.py`` and ``utils/_http.py``).

Reading (``HfApi.model_info``, ``hf_hub_download``, ``snapshot_download``):

* ``GET /api/models/{repo}`` and ``GET /api/models/{repo}/revision/{rev}``: repo info, JSON with ``id``,
  ``sha`` (the commit), ``private`` and ``siblings`` (``[{"rfilename": ...}]``).
* ``GET /api/models/{repo}/tree/{rev}``: the file listing ``snapshot_download`` asks for.
* ``HEAD`` and ``GET /{repo}/resolve/{rev}/{path}``: a file, with ``X-Repo-Commit``, ``ETag`` and
  ``Content-Length``, the headers ``get_hf_file_metadata`` needs.

Writing (``HfApi.create_repo``, ``create_branch`` and ``create_commit``, in the order they call it):

* ``POST /api/repos/create``: a new repo with the Hub's first commit (just ``.gitattributes``); 409 if it exists.
* ``POST /api/models/{repo}/branch/{branch}``: a branch at the head of ``main``; 409 if it exists.
* ``POST /api/validate-yaml``: checks the model card's front matter parses as a YAML mapping.
* ``POST /api/models/{repo}/preupload/{rev}``: ``uploadMode`` per file (``lfs`` for weights, ``regular`` for
  the rest) and the ``oid`` of the file already there, which lets huggingface_hub skip unchanged files.
* ``POST /{repo}.git/info/lfs/objects/batch``: the git-LFS batch API with the ``basic`` transfer: an upload
  and a verify action on this server, or no action when the object is already stored.
* ``PUT /lfs-upload/{oid}`` (the bytes; sha256 checked) and ``POST /lfs-verify/{oid}``.
* ``POST /api/models/{repo}/commit/{rev}``: the NDJSON commit (header, inline base64 ``file`` lines,
  ``lfsFile`` lines naming uploaded objects, ``deletedFile``); answers ``commitOid`` and ``commitUrl``.

Xet storage is never advertised: no ``X-Xet-*`` header, no ``xet`` transfer and no Xet token endpoint, so
huggingface_hub uses plain HTTP and git-LFS here (the tests also set ``HF_HUB_DISABLE_XET``).

Errors carry the ``X-Error-Code`` / ``X-Error-Message`` headers the real Hub sends (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``), which is what makes huggingface_hub raise its specific exception
classes. With :attr:`StandinHub.tokens` set, writes need ``Authorization: Bearer <token>`` for a known
token (401 otherwise) whose user owns the namespace (403 otherwise); without it, any write is accepted.

Every request is recorded as ``(method, path)`` so tests can assert that a cache hit, or a refused push,
made none; :meth:`StandinHub.corrupt` serves altered bytes under the original ETag (a download damaged on
the way, or a tampered mirror), and :meth:`StandinHub.stop` closes the port (no network).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

#: Files stored in git-LFS, as the Hub's default .gitattributes says for model weights.
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
GITATTRIBUTES = b"".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n".encode() for s in LFS_SUFFIXES)


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, which the Hub uses as the ETag of files not stored in LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(filename: str) -> bool:
    return filename.endswith(LFS_SUFFIXES)


def file_oid(filename: str, data: bytes) -> str:
    """sha256 for LFS files, git blob sha1 for the rest: the ETag and preupload ``oid`` the Hub gives."""
    return hashlib.sha256(data).hexdigest() if is_lfs(filename) else git_blob_sha1(data)


@dataclass
class StandinRepo:
    """One model repo: its commits, and branches (or tags) pointing at them.

    ``commit`` and ``files`` are the head of ``main``; older commits stay in ``history``, so a pinned
    commit still downloads after a new push, as on the Hub.
    """

    repo_id: str
    commit: str
    files: dict[str, bytes]
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag → commit
    served: dict[str, bytes] = field(default_factory=dict)  # overrides of what GET returns (corruption)
    history: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit → its files
    parents: dict[str, str | None] = field(default_factory=dict)  # commit → parent commit
    messages: dict[str, str] = field(default_factory=dict)  # commit → summary
    private: bool = False

    def __post_init__(self) -> None:
        self.history.setdefault(self.commit, self.files)
        self.parents.setdefault(self.commit, None)

    def etag(self, filename: str, commit: str | None = None) -> str:
        """sha256 for LFS-style weights, git blob sha1 for the rest, as the Hub does."""
        return file_oid(filename, self.files_at(commit or self.commit)[filename])

    def files_at(self, commit: str) -> dict[str, bytes]:
        return self.history[commit]

    def resolve(self, revision: str) -> str | None:
        if revision in self.history:
            return revision
        return self.refs.get(revision)

    def add_commit(self, branch: str, files: dict[str, bytes], message: str) -> str:
        """Make ``files`` the new state of ``branch``; returns the new commit (a hash of parent and content)."""
        parent = self.refs[branch]
        digest = hashlib.sha1(f"{self.repo_id}\0{parent}\0{message}".encode())
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name])
        commit = digest.hexdigest()
        self.history[commit], self.parents[commit], self.messages[commit] = dict(files), parent, message
        self.refs[branch] = commit
        if branch == "main":
            self.commit, self.files = commit, self.history[commit]
        return commit


class StandinHub:
    """A threaded HTTP server on 127.0.0.1 (a free port) that answers like the Hub for a few repos.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :attr:`url` is what
    ``HF_ENDPOINT`` must be set to.
    """

    def __init__(self) -> None:
        self.repos: dict[str, StandinRepo] = {}
        self.requests: list[tuple[str, str]] = []
        #: token → user (the namespace it may write to); empty: writes need no token.
        self.tokens: dict[str, str] = {}
        #: git-LFS objects uploaded so far, by sha256.
        self.lfs_objects: dict[str, bytes] = {}
        #: One entry per commit received: repo, branch, commit, parent, and how each file came (inline/lfs).
        self.commits: list[dict[str, Any]] = []
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
        private: bool = False,
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
        repo = StandinRepo(repo_id, commit, content, refs=dict.fromkeys(branches, commit), private=private)
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


@contextmanager
def pointed_at(standin: StandinHub, home: Path, monkeypatch: Any) -> Iterator[list[str]]:
    """Point huggingface_hub at ``standin``, with its home (cache, token) under ``home``; yield escaped URLs.

    huggingface_hub reads the environment at import, so the values it kept are patched too. Every request
    it makes goes through a hook: one that would leave the stand-in fails the request and is listed in
    the yielded list, which the caller asserts is empty.
    """
    import huggingface_hub.utils._http as hf_http
    from huggingface_hub import constants, set_client_factory

    env = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_ENDPOINT": standin.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(key, raising=False)
    patched = {
        "ENDPOINT": standin.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": standin.url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": True,
    }
    for key, value in patched.items():
        monkeypatch.setattr(constants, key, value)

    escaped: list[str] = []
    original_factory = hf_http._GLOBAL_CLIENT_FACTORY

    def guard(request: Any) -> None:
        url = str(request.url)
        if not url.startswith(standin.url + "/"):
            escaped.append(url)
            raise AssertionError(f"request escaped the stand-in Hub: {url}")

    def factory() -> Any:
        client = original_factory()
        client.event_hooks = {**client.event_hooks, "request": [*client.event_hooks["request"], guard]}
        return client

    set_client_factory(factory)
    try:
        yield escaped
    finally:
        set_client_factory(original_factory)


def _make_handler(hub: StandinHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "standin-hub/1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Silence the per-request log on stderr; requests are recorded in ``hub.requests``."""

        def do_GET(self) -> None:
            self._route(head=False)

        def do_HEAD(self) -> None:
            self._route(head=True)

        def do_POST(self) -> None:
            self._write_route()

        def do_PUT(self) -> None:
            self._write_route()

        # -- routing -----------------------------------------------------------------------------------

        def _parts(self) -> list[str]:
            return [unquote(p) for p in urlsplit(self.path).path.split("/") if p]

        def _route(self, *, head: bool) -> None:
            hub._record(self.command, self.path)
            parts = self._parts()
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

        def _write_route(self) -> None:
            hub._record(self.command, self.path)
            body = self._body()
            parts = self._parts()
            if self.command == "PUT":
                if parts[:1] == ["lfs-upload"] and len(parts) == 2:
                    return self._lfs_upload(parts[1], body)
            elif parts == ["api", "repos", "create"]:
                return self._create_repo(body)
            elif parts == ["api", "validate-yaml"]:
                return self._validate_yaml(body)
            elif parts[:1] == ["lfs-verify"] and len(parts) == 2:
                return self._lfs_verify(parts[1])
            elif parts[:2] == ["api", "models"] and len(parts) >= 6:
                repo_id, action, rev = f"{parts[2]}/{parts[3]}", parts[4], "/".join(parts[5:])
                if action == "branch":
                    return self._create_branch(repo_id, rev)
                if action == "preupload":
                    return self._preupload(repo_id, rev, body)
                if action == "commit":
                    return self._commit(repo_id, rev, body)
            elif len(parts) == 6 and parts[1].endswith(".git") and parts[2:] == ["info", "lfs", "objects", "batch"]:
                return self._lfs_batch(f"{parts[0]}/{parts[1][:-4]}", body)
            self._send(404, b"not found", {"Content-Type": "text/plain"}, head=False)

        def _body(self) -> bytes:
            """The request body, sent with Content-Length or chunked (httpx streams file uploads)."""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline().strip():  # trailers, then the blank line
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()  # the CRLF after each chunk
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

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

        def _may_write(self, namespace: str) -> bool:
            """Answer 401/403 (and return False) unless the request's token may write to ``namespace``."""
            if not hub.tokens:
                return True
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
            if token is None:
                self._fail(401, None, "You must be authenticated to access this resource")
                return False
            if token not in hub.tokens:
                self._fail(401, None, "Invalid credentials in Authorization header")
                return False
            if hub.tokens[token] != namespace:
                self._fail(403, None, f"You don't have the rights to write to the {namespace} namespace")
                return False
            return True

        # -- reading -----------------------------------------------------------------------------------

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
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "library_name": "weatherclean",
                "tags": ["weatherclean"],
                "siblings": [{"rfilename": name} for name in sorted(repo.files_at(commit))],
            }
            self._json(body)

        def _tree(self, repo_id: str, revision: str) -> None:
            found = self._lookup(repo_id, revision)
            if found is None:
                return
            repo, commit = found
            entries = []
            for name, data in sorted(repo.files_at(commit).items()):
                entry: dict[str, object] = {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
                if is_lfs(name):  # LFS-style file: the Hub lists its sha256 too
                    entry["lfs"] = {"oid": file_oid(name, data), "size": len(data), "pointerSize": 134}
                entries.append(entry)
            self._json(entries)

        def _resolve(self, repo_id: str, revision: str, filename: str, *, head: bool) -> None:
            found = self._lookup(repo_id, revision, head=head)
            if found is None:
                return
            repo, commit = found
            files = repo.files_at(commit)
            if filename not in files:
                self._error(
                    "EntryNotFound",
                    f'{filename} does not exist on "{revision}"',
                    head=head,
                    extra={"X-Repo-Commit": commit},
                )
                return
            data = repo.served.get(filename, files[filename]) if commit == repo.commit else files[filename]
            headers = {
                "Content-Type": "application/octet-stream",
                "X-Repo-Commit": commit,
                "ETag": f'"{file_oid(filename, files[filename])}"',
            }
            self._send(200, data, headers, head=head)

        # -- writing -----------------------------------------------------------------------------------

        def _create_repo(self, body: bytes) -> None:
            payload = json.loads(body)
            namespace = payload.get("organization") or next(iter(hub.tokens.values()), "user")
            repo_id = f"{namespace}/{payload['name']}"
            if not self._may_write(namespace):
                return
            with hub._lock:
                exists = repo_id in hub.repos
                if not exists:
                    private = payload.get("visibility") == "private" or bool(payload.get("private"))
                    files = {".gitattributes": GITATTRIBUTES}
                    commit = hashlib.sha1(f"{repo_id}\0initial commit".encode()).hexdigest()
                    hub.repos[repo_id] = StandinRepo(repo_id, commit, files, refs={"main": commit}, private=private)
            if exists:
                self._fail(409, None, "You already created this model repo", extra={"url": f"{hub.url}/{repo_id}"})
                return
            self._json({"url": f"{hub.url}/{repo_id}", "name": repo_id, "id": repo_id})

        def _create_branch(self, repo_id: str, branch: str) -> None:
            if not self._may_write(repo_id.split("/")[0]):
                return
            found = self._lookup(repo_id, "main")
            if found is None:
                return
            repo, head = found
            if branch in repo.refs:
                self._fail(409, None, f"Reference already exists: refs/heads/{branch}")
                return
            repo.refs[branch] = head
            self._json({})

        def _validate_yaml(self, body: bytes) -> None:
            import yaml

            content = json.loads(body).get("content", "")
            if content.startswith("---"):
                front = content.split("\n---", 1)[0][3:]
                try:
                    meta = yaml.safe_load(front)
                except yaml.YAMLError as exc:
                    meta, problem = None, f"invalid YAML: {str(exc).splitlines()[0]}"
                else:
                    problem = None if isinstance(meta, dict | None) else "the metadata must be a YAML mapping"
                if problem:
                    self._send_json(400, {"errors": [{"message": problem}], "warnings": []})
                    return
            self._json({"errors": [], "warnings": []})

        def _preupload(self, repo_id: str, revision: str, body: bytes) -> None:
            if not self._may_write(repo_id.split("/")[0]):
                return
            found = self._lookup(repo_id, revision)
            if found is None:
                return
            repo, commit = found
            existing = repo.files_at(commit)
            files = []
            for f in json.loads(body)["files"]:
                path = f["path"]
                mode = "lfs" if is_lfs(path) or f["size"] > 10 * 2**20 else "regular"
                oid = file_oid(path, existing[path]) if path in existing else None
                files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
            self._json({"files": files, "commitOid": commit})

        def _lfs_batch(self, repo_id: str, body: bytes) -> None:
            if not self._may_write(repo_id.split("/")[0]):
                return
            if repo_id not in hub.repos:
                self._error("RepoNotFound", "Repository not found", head=False)
                return
            payload = json.loads(body)
            objects = []
            for obj in payload["objects"]:
                entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in hub.lfs_objects:
                    entry["actions"] = {
                        "upload": {"href": f"{hub.url}/lfs-upload/{obj['oid']}"},
                        "verify": {"href": f"{hub.url}/lfs-verify/{obj['oid']}"},
                    }
                objects.append(entry)
            body_out = json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode()
            self._send(200, body_out, {"Content-Type": "application/vnd.git-lfs+json"}, head=False)

        def _lfs_upload(self, oid: str, body: bytes) -> None:
            if hashlib.sha256(body).hexdigest() != oid:
                self._fail(400, None, f"uploaded content does not match the sha256 {oid}")
                return
            with hub._lock:
                hub.lfs_objects[oid] = body
            self._send(200, b"", {}, head=False)

        def _lfs_verify(self, oid: str) -> None:
            if oid not in hub.lfs_objects:
                self._fail(404, None, f"LFS object {oid} was not uploaded")
                return
            self._json({})

        def _commit(self, repo_id: str, branch: str, body: bytes) -> None:
            if not self._may_write(repo_id.split("/")[0]):
                return
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error("RepoNotFound", "Repository not found", head=False)
                return
            if branch not in repo.refs:
                self._error("RevisionNotFound", f"Invalid rev id: {branch}", head=False)
                return
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next((line["value"] for line in lines if line["key"] == "header"), {})
            files = dict(repo.files_at(repo.refs[branch]))
            how: dict[str, str] = {}
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                    how[value["path"]] = "inline"
                elif key == "lfsFile":
                    if value["oid"] not in hub.lfs_objects:
                        self._fail(422, None, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                        return
                    files[value["path"]] = hub.lfs_objects[value["oid"]]
                    how[value["path"]] = "lfs"
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                    how[value["path"]] = "deleted"
            with hub._lock:
                parent = repo.refs[branch]
                commit = repo.add_commit(branch, files, header.get("summary", ""))
                hub.commits.append(
                    {"repo_id": repo_id, "branch": branch, "commit": commit, "parent": parent, "files": how}
                )
            self._json({"commitUrl": f"{hub.url}/{repo_id}/commit/{commit}", "commitOid": commit, "success": True})

        # -- responses ---------------------------------------------------------------------------------

        def _json(self, body: object) -> None:
            self._send_json(200, body)

        def _send_json(self, status: int, body: object) -> None:
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"}, head=False)

        def _error(self, code: str, message: str, *, head: bool, extra: dict[str, str] | None = None) -> None:
            headers = {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message}
            headers.update(extra or {})
            self._send(404, json.dumps({"error": message}).encode(), headers, head=head)

        def _fail(self, status: int, code: str | None, message: str, *, extra: dict[str, str] | None = None) -> None:
            """An error as the Hub's API sends it: JSON ``{"error": ...}`` and the X-Error-* headers."""
            headers = {"Content-Type": "application/json", "X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            self._send(status, json.dumps({"error": message, **(extra or {})}).encode(), headers, head=False)

        def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


@contextmanager
def serving(home: Path, monkeypatch: Any) -> Iterator[StandinHub]:
    """A running stand-in Hub with huggingface_hub pointed at it (:func:`pointed_at`, its home under ``home``),
    stopped afterwards; the test fails if a request escaped to anything else. Add repos inside the block."""
    standin = StandinHub().start()
    try:
        with pointed_at(standin, home, monkeypatch) as escaped:
            yield standin
    finally:
        standin.stop()
    assert not escaped, escaped
