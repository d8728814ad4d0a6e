"""``--engine ray`` as an engineer ran it on a Ray cluster of their own (``ray start --head``), and what went wrong.

Most tests need no Ray: they drive the engine's parts with stand-ins (a fake ``ray`` module, a driver that dies
the way Ray ends one). The end-to-end ones share one real cluster started here as the engineer started theirs
(``ray start --head``, token authentication on), from a folder of its own, on free ports and with its own
temporary folder, so that a cluster the user runs on this machine is neither used nor disturbed; every command
reaches it by ``--ray-address``, and this process never calls ``ray.init``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

import weatherclean
from synthetic import invoke_command
from weatherclean.batch import ray_connect, ray_engine
from weatherclean.batch.handlers import Restoration, job_handler
from weatherclean.batch.jobs import Job, Record
from weatherclean.batch.ray_engine import RayError, RayOptions, Worker
from weatherclean.batch.run import INTERRUPTED, BatchSummary, run_jobs
from weatherclean.cli import desnow

ray = pytest.importorskip("ray")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the driver runs apart on Linux only")


def _photo(path: Path, size: tuple[int, int], colour: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _invert(image: Any) -> np.ndarray:
    return 1.0 - image.pixels


@pytest.fixture(autouse=True)
def no_cluster_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``RAY_ADDRESS`` or token of the user's own must not reach these tests."""
    for name in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)


# --- 0. without an address, a local Ray is started for the run, even where `ray start` runs a cluster


class _FakeRay:
    """Just enough of the ``ray`` module for the engine's connecting and its pool of actors."""

    def __init__(self) -> None:
        self.inits: list[dict[str, Any]] = []
        self.waits: list[float | None] = []
        self.killed: list[Any] = []
        self.exceptions = SimpleNamespace(RayError=RuntimeError, RayActorError=RuntimeError)

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def nodes(self) -> list[dict[str, Any]]:
        return [{"Alive": True, "Resources": {"CPU": 2.0}}]

    def remote(self, **_options: Any) -> Any:
        def wrap(_cls: type) -> Any:
            ready = SimpleNamespace(remote=lambda *_args: object())
            return SimpleNamespace(remote=lambda *_args: SimpleNamespace(ready=ready))

        return wrap

    def put(self, value: Any) -> Any:
        return object()

    def wait(self, refs: list[Any], *, num_returns: int, timeout: float | None) -> tuple[list[Any], list[Any]]:
        """Nothing ever starts: the cluster has no room. Waiting without a limit would never end."""
        self.waits.append(timeout)
        if timeout is None and len(self.waits) > 3:
            raise AssertionError("waited for an actor with no time limit: the run would hang forever")
        return [], refs

    def kill(self, actor: Any, *, no_restart: bool) -> None:
        self.killed.append(actor)


def test_without_an_address_the_run_starts_its_own_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray.init()`` with no address joins a cluster that ``ray start`` runs on the machine (and refuses
    ``num_cpus`` there); docs/scale.md promises a local Ray started for the run."""
    fake = _FakeRay()
    assert ray_connect.connect(fake, None, 2) is True  # type: ignore[arg-type]
    [init] = fake.inits
    assert init["address"] == "local" and init["num_cpus"] == 2


# --- 1. relative inputs are the driver's, wherever the worker's own folder is


def test_relative_inputs_are_read_from_the_drivers_folder_not_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, worker = tmp_path / "driver", tmp_path / "rayhome"
    _photo(driver / "photos" / "p0.png", (24, 16), "blue")
    _photo(worker / "photos" / "p0.png", (8, 8), "red")  # where `ray start` ran: another photo by that name
    (driver / "photos" / "bad.png").write_bytes(b"not a png")
    (worker / "shared").mkdir()
    (worker / "shared" / "bad.png").write_bytes(b"not a png")  # typed absolute, below the worker's folder
    out = driver / "out"
    good, bad = Job(Path("photos/p0.png"), out / "p0.png"), Job(Path("photos/bad.png"), out / "bad.png")
    shared = Job(worker / "shared" / "bad.png", out / "shared.png")
    handler = job_handler(Restoration(photo=_invert))
    monkeypatch.chdir(driver)
    local = run_jobs([bad, shared], handler, progress=False, pipeline=False)  # how a local run reports them

    monkeypatch.chdir(worker)  # an actor runs in its node's folder
    actor = ray_engine._JobActor(lambda _model: Worker(handler), False, False, str(driver))
    actor._worker = Worker(handler)  # as if built from the model in the object store
    done = actor.run(0, good, [])
    failed = actor.run(1, bad, []).failed + actor.run(2, shared, []).failed
    assert Image.open(out / "p0.png").size == (24, 16)  # the driver's photo, not the red one
    assert done.done == [good] and not done.failed  # the job as typed, for the summary and --json
    assert failed == local.failed  # the same paths and reasons, whatever the worker's folder
    assert [r.path for r in failed] == [Path("photos/bad.png"), worker / "shared" / "bad.png"]


def test_a_path_is_renamed_only_where_it_ends() -> None:
    names = {"/d/in": "in", "/d/in/a.jpg": "in/a.jpg"}
    text = "/d/in/a.jpg: bad; /d/in_desnowed/a.jpg exists; /d/in/b.jpg too; /d/in"
    assert ray_engine._renamed(text, names) == "in/a.jpg: bad; /d/in_desnowed/a.jpg exists; in/b.jpg too; in"


# --- 2. an actor no node can hold is refused at once; none is waited for forever


def test_an_actor_no_node_can_hold_is_named_with_what_to_do() -> None:
    nodes = [
        {"Alive": True, "Resources": {"CPU": 2.0, "memory": 1e9}},
        {"Alive": False, "Resources": {"CPU": 64.0}},  # a dead node holds nothing
        {"Alive": True, "Resources": {"CPU": 1.0, "GPU": 1.0}},
    ]
    assert ray_engine._fit_problem(nodes, 2, 0) is None
    assert ray_engine._fit_problem(nodes, 3, 0) == (
        "no node of the Ray cluster has 3 CPUs (the largest has 2); lower --ray-cpus-per-actor"
    )
    assert ray_engine._fit_problem(nodes, 1, 1) is None
    assert ray_engine._fit_problem(nodes, 2, 1) == (
        "no GPU node of the Ray cluster has 2 CPUs (the largest has 1); lower --ray-cpus-per-actor, or run on CPUs "
        "with --device cpu"
    )
    assert "no live node" in (ray_engine._fit_problem([], 1, 0) or "")


def test_an_actor_the_cluster_has_no_room_for_is_given_up(tmp_path: Path) -> None:
    """Room taken by another job: the actor stays pending in Ray without a word. The run gives it up after
    ``start_timeout``, with one line, instead of waiting forever."""
    fake = _FakeRay()
    jobs = [Job(tmp_path / f"{name}.jpg", tmp_path / "out" / f"{name}.jpg") for name in ("a", "b")]
    options = RayOptions(actors=2, start_timeout=0.01)
    results = ray_engine._Results(per_job=[None, None])
    args = (lambda _m: None, None, options, ray_engine.Replacement(), False, "desnowing", None, results)
    with pytest.raises(RayError, match=r"^no Ray worker could start: none started within 0.01 s: the cluster has"):
        ray_engine._run_jobs(fake, jobs, *args)  # type: ignore[arg-type]
    assert fake.waits and all(t is not None for t in fake.waits) and len(fake.killed) == 2


# --- 3. a cluster that goes away mid-run: the summary, --json and exit code all the same


def _stand_in_driver(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    """No Ray at all: the engine "connects" to nothing and ``run(jobs, results)`` plays the driver's part."""
    monkeypatch.setattr(ray_engine, "connect", lambda _ray, _address, _cpus: False)
    monkeypatch.setattr(ray_engine, "_run_jobs", lambda *args: run(args[1], args[-1]))


@linux_only
def test_a_driver_that_ray_ends_still_gets_its_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray ends its driver from its C++ core (``_exit(1)``) when the Ray node under it stops (``ray stop``): no
    exception, no summary, no JSON. The command's own process must not be that driver."""
    photos = tmp_path / "photos"
    for name in ("p0", "p1", "p2"):
        _photo(photos / f"{name}.jpg", (24, 16), "blue")
    command = os.getpid()

    def one_then_gone(jobs: list[Job], results: Any) -> Any:
        results.put(0, BatchSummary(done=[jobs[0]]))
        if os.getpid() == command:
            raise AssertionError("the Ray driver is the command's own process: Ray would end it with no summary")
        os._exit(1)  # as Ray does

    _stand_in_driver(monkeypatch, one_then_gone)
    out = tmp_path / "out"
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(photos), "-o", str(out), "--engine", "ray", "--device", "cpu", "--json"
    )
    assert code == 1, stderr
    data = json.loads(stdout)
    assert [Path(r["input"]).name for r in data["done"]] == ["p0.jpg"]
    assert [Path(r["path"]).name for r in data["failed"]] == ["p1.jpg", "p2.jpg"]
    reason = "not done: the Ray cluster went away (Ray ended this run's driver, exit status 1); rerun the same command"
    assert all(r["reason"].startswith(reason) for r in data["failed"])
    assert data["ok"] is False and data["interrupted"] is False
    assert stderr.count("\n") == 2 and "Traceback" not in stderr  # one line per file not done


def _driver_apart_setup(tmp_path: Path) -> tuple[Path, Path, Path, int]:
    """Three photos, and the files a stand-in driver in its child writes: when it started (its pid) and the stops it
    took; with the command's own pid, which the driver must not be."""
    photos = tmp_path / "photos"
    for name in ("p0", "p1", "p2"):
        _photo(photos / f"{name}.jpg", (24, 16), "blue")
    return photos, tmp_path / "started", tmp_path / "stops", os.getpid()


@linux_only
def test_ctrl_c_reaches_a_driver_apart_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C from a terminal reaches every process of the command: the driver in its child must stop once (the
    command relays it), say what it finished, and the command exit with 130 as a local run."""
    photos, started, stops, command = _driver_apart_setup(tmp_path)

    def one_then_wait(jobs: list[Job], results: Any) -> Any:
        assert os.getpid() != command, "the Ray driver is the command's own process"
        results.put(0, BatchSummary(done=[jobs[0]]))
        started.write_text(str(os.getpid()))
        caught, settle = 0, 0.0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not caught or time.monotonic() < settle):
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                caught += 1
                settle = time.monotonic() + 1.0  # a second stop would come within this
        stops.write_text(str(caught))
        results.interrupted = True
        results.not_done = [Record(j.source, INTERRUPTED) for j in jobs[1:]]
        return results

    def terminal_ctrl_c() -> None:  # as a terminal does: SIGINT to the command and to its child
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(int(started.read_text()), signal.SIGINT)
        os.kill(command, signal.SIGINT)

    _stand_in_driver(monkeypatch, one_then_wait)
    handler = signal.getsignal(signal.SIGINT)
    threading.Thread(target=terminal_ctrl_c, daemon=True).start()
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(photos), "-o", str(tmp_path / "out"), "--engine", "ray", "--device", "cpu", "--json"
    )
    assert code == 130, stderr
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["failed"] == [] and len(data["not_done"]) == 2
    assert [Path(r["input"]).name for r in data["done"]] == ["p0.jpg"]
    assert stops.read_text() == "1"
    assert signal.getsignal(signal.SIGINT) is handler  # the command's own handler is back


def test_a_second_ctrl_c_ends_the_grace_at_once() -> None:
    """The first Ctrl-C gives the files in flight ten seconds; a second must end that wait and kill the actors,
    with the finished files still reported, not leave the command without a summary."""
    fake = _FakeRay()

    def impatient(refs: list[Any], *, num_returns: int, timeout: float | None) -> Any:
        raise KeyboardInterrupt  # the second Ctrl-C, during the grace

    fake.wait = impatient  # type: ignore[method-assign]
    fake.cancel = lambda ref: None  # type: ignore[attr-defined]

    class _Actor:
        recent = SimpleNamespace(remote=lambda: object())

    actor = _Actor()
    pool = ray_engine._Pool(fake, [], [], start_timeout=1.0)  # type: ignore[arg-type]
    pool.ready = {actor: 1}
    assert pool.interrupt() == {}
    assert fake.killed == [actor]


@linux_only
def test_a_third_ctrl_c_ends_a_stuck_driver_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver stuck inside Ray (here: one that takes every stop and goes on) no longer holds the command: the
    second Ctrl-C reaches it too, and the third ends it; the command reports what it heard and exits 130."""
    photos, started, stops, command = _driver_apart_setup(tmp_path)

    def one_then_stuck(jobs: list[Job], results: Any) -> Any:
        assert os.getpid() != command, "the Ray driver is the command's own process"
        results.put(0, BatchSummary(done=[jobs[0]]))
        started.write_text(str(os.getpid()))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                with stops.open("a") as told:
                    told.write("x")
        return results

    def three_presses() -> None:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(3):
            time.sleep(0.3)
            os.kill(command, signal.SIGINT)

    _stand_in_driver(monkeypatch, one_then_stuck)
    threading.Thread(target=three_presses, daemon=True).start()
    begun = time.monotonic()
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(photos), "-o", str(tmp_path / "out"), "--engine", "ray", "--device", "cpu", "--json"
    )
    assert code == 130, stderr
    assert time.monotonic() - begun < 15  # not the driver's 20 s
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["failed"] == [] and len(data["not_done"]) == 2
    assert [Path(r["input"]).name for r in data["done"]] == ["p0.jpg"]
    assert stops.read_text() == "xx"  # the first two relayed, the third ended it


# --- end to end, on a cluster started as the engineer started theirs


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class _Head:
    """``ray start --head --block`` from a folder of its own (``home``), with token authentication; started on first
    use and again after a test stopped it. Stopped by killing its process group (this test's own processes)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.token = uuid.uuid4().hex
        self.process: subprocess.Popen[bytes] | None = None
        self.temp: Path | None = None
        self.address = ""

    def ensure(self) -> str:
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self._start()
        return self.address

    def _start(self) -> None:
        port, agent = _free_ports(2)
        self.temp = Path(tempfile.mkdtemp(prefix="wcray", dir="/tmp"))  # short: Ray's socket paths are limited
        log = self.home / "head.log"
        command = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--node-ip-address=127.0.0.1",
            f"--port={port}", f"--dashboard-agent-listen-port={agent}",
            "--num-cpus=2", "--num-gpus=0", f"--temp-dir={self.temp}", "--include-dashboard=false",
            "--object-store-memory=100000000", "--disable-usage-stats",
        ]  # fmt: skip
        with open(log, "wb") as sink:
            self.process = subprocess.Popen(
                command, cwd=self.home, env=self.env(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 90
        while b"block forever" not in log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"ray start --head did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.address = f"127.0.0.1:{port}"

    def env(self) -> dict[str, str]:
        """The environment of a command run on this cluster: it sends the cluster's token, and imports this
        weatherclean. A command of its own: Ray reads its token settings once per process."""
        src = str(Path(weatherclean.__file__).parents[1])
        env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        return env

    def kill_node(self) -> None:
        """What ``ray stop`` does on the node: its raylet and the workers under it go (at once, without its grace)."""
        assert self.process is not None
        for pid in _descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the head and what it started
            self.process.wait(timeout=30)
            self.process = None
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None


def _descendants(root: int) -> list[int]:
    """The processes below ``root`` (from /proc), parents before their children."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Head]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the test cluster is started and stopped the Linux way")
    cluster = _Head(tmp_path_factory.mktemp("rayhome"))
    yield cluster
    cluster.stop()


@pytest.mark.slow
def test_a_token_missing_or_rejected_is_one_line_at_once(
    head: _Head, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ray start --head`` turns Ray 2.60's token authentication on; ``ray.init`` sends no token for an address
    without ``RAY_AUTH_MODE=token``, and retried for 20 s with a log line a second before "Failed to connect"."""
    address = head.ensure()
    photos = tmp_path / "photos"
    _photo(photos / "p0.jpg", (24, 16), "blue")
    args = ("desnow", str(photos), "--engine", "ray", "--ray-address", address, "--device", "cpu")
    start = time.monotonic()
    code, _, stderr = invoke_command(desnow, *args)
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert f"the Ray cluster at {address} uses token authentication and this run sent no token: set " in stderr
    assert "RAY_AUTH_MODE=token" in stderr and "RAY_AUTH_TOKEN" in stderr and "~/.ray/auth_token" in stderr
    assert time.monotonic() - start < 15  # not ray.init's 20 s of retries

    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "0" * 32)
    code, _, stderr = invoke_command(desnow, *args)
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert f"the Ray cluster at {address} rejected this run's token: put the cluster's token" in stderr
    assert not (tmp_path / "photos_desnowed").exists()


@pytest.mark.slow
def test_a_cluster_that_goes_away_mid_run_leaves_a_summary(head: _Head, tmp_path: Path) -> None:
    """The engineer's two worst findings in one run: inputs typed relative to the driver's folder (the cluster was
    started elsewhere, where a photo of the same name lies), and ``ray stop`` on the node under the driver once
    two files are written. The command runs as the engineer ran it, in a process of its own."""
    address = head.ensure()
    _photo(head.home / "photos" / "p0.jpg", (8, 8), "red")  # where `ray start` ran
    driver = tmp_path / "driver"
    rng = np.random.default_rng(0)
    names = [f"p{i}" for i in range(6)]
    for name in names:  # noise: each takes the model a moment, so the cluster goes while files are left
        (driver / "photos").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (320, 480, 3), dtype=np.uint8)).save(driver / "photos" / f"{name}.jpg")
    args = ["photos", "-o", "out", "--engine", "ray", "--ray-address", address, "--ray-actors", "1", "--json"]
    command = [sys.executable, "-m", "weatherclean", "desnow", *args, "--device", "cpu"]
    run = subprocess.Popen(command, cwd=driver, env=head.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first, second = driver / "out" / "p0.jpg", driver / "out" / "p1.jpg"
    deadline = time.monotonic() + 120
    while not second.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # one actor: p1 is handed out once the driver has p0's result
    head.kill_node()  # `ray stop` on the node the driver runs on
    stdout, stderr = (stream.decode() for stream in run.communicate(timeout=120))
    assert run.returncode == 1, f"{run.returncode}: {stdout[-3000:]} {stderr[-3000:]}"
    data = json.loads(stdout)
    done = [r["input"] for r in data["done"]]
    assert done and done == [f"photos/{name}.jpg" for name in names[: len(done)]]  # as typed, in plan order
    assert data["done"][0]["output"] == "out/p0.jpg"
    assert Image.open(first).size == (480, 320)  # the driver's photo, not the one where the cluster was started
    failed = data["failed"]
    assert [r["path"] for r in failed] == [f"photos/{name}.jpg" for name in names[len(done) :]]
    assert all("not done: the Ray cluster went away" in r["reason"] for r in failed), failed
    assert "Traceback" not in stderr
    written = sorted(p.name for p in (driver / "out").iterdir() if not p.name.startswith("."))
    assert set(written) >= {Path(d).name for d in done}  # a file in flight may be written, never half
