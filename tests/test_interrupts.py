"""Interrupted runs (Ctrl-C, or SIGTERM from Slurm, Kubernetes or ``docker stop``): what they report, and
the Ray engine's probe of a cluster address.

An interrupted batch is not a failed one: the files it did not get to are counted as not done (JSON
``not_done``, ``"interrupted": true``), never listed one line each, and ``failed`` keeps real failures.
``--json`` answers on stdout whenever the interruption comes, even before there is a summary. Under
``--engine ray`` SIGTERM stops like Ctrl-C (``ray.init`` installs a handler that exits at once).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import StandIn
from weatherclean.batch import job_handler, plan_batch, run_jobs
from weatherclean.batch.handlers import Restoration
from weatherclean.batch.run import Pipeline
from weatherclean.cli import app

RESUME = "rerun the same command to resume"


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


class _StopsAtHeight14(_Inverter):
    """Ctrl-C while restoring the photo 14 px high, however many calls a device makes per photo."""

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] == 14:
            raise KeyboardInterrupt
        return super().restore(x)


def _photos(folder: Path) -> Path:
    """a (12 px high), b: not an image, c (14 px: Ctrl-C there), d, e: a batch stopped at c."""
    folder.mkdir(parents=True)
    for name, height in (("a", 12), ("c", 14), ("d", 16), ("e", 18)):
        Image.fromarray(np.full((height, 16, 3), 90, np.uint8)).save(folder / f"{name}.png")
    (folder / "b.png").write_text("not a picture")
    return folder


def _run(*args: str, models: StandIn) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), obj=models)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("pipeline", [False, Pipeline()], ids=["one-at-a-time", "pipelined"])
def test_the_files_not_done_are_not_failures(tmp_path: Path, pipeline: Pipeline | bool) -> None:
    plan = plan_batch([str(_photos(tmp_path / "in"))], tmp_path / "out", tag="x")

    def invert(image: Any) -> np.ndarray:
        if image.pixels.shape[0] == 14:
            raise KeyboardInterrupt
        return 1.0 - image.pixels

    summary = run_jobs(plan, job_handler(Restoration(photo=invert)), progress=False, pipeline=pipeline)
    assert summary.interrupted and not summary.ok
    assert [j.source.name for j in summary.done] == ["a.png"]
    assert [r.path.name for r in summary.failed] == ["b.png"]  # a real failure, before the stop
    assert [r.path.name for r in summary.not_done] == ["c.png", "d.png", "e.png"]  # c: stopped mid-way
    data = summary.to_dict()
    assert data["interrupted"] is True and data["ok"] is False
    assert data["counts"] == {"done": 1, "skipped": 0, "failed": 1, "not_done": 3}
    assert [Path(r["path"]).name for r in data["not_done"]] == ["c.png", "d.png", "e.png"]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["a.png"]  # nothing partial


def test_the_summary_counts_what_is_not_done_with_no_line_each(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in")
    args = ("desnow", str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", "--quiet")
    code, stdout, stderr = _run(*args, models=StandIn(_StopsAtHeight14))
    assert code == 130
    totals = " ".join(stdout.split())
    assert "1 done, 0 skipped, 1 failed, 3 not done: interrupted after" in totals and RESUME in totals
    assert stderr.count("error:") == 1 and "b.png" in stderr  # the real failure only
    assert "c.png" not in stdout + stderr and "d.png" not in stdout + stderr

    code, stdout, _ = _run(*args, "--json", models=StandIn(_Inverter))  # the rerun does the rest
    assert code == 1  # b.png still fails
    data = json.loads(stdout)
    assert data["interrupted"] is False and data["not_done"] == [] and data["counts"]["done"] == 3


@pytest.mark.parametrize("command", ["desnow", "derain"])
@pytest.mark.parametrize("moment", ["planning", "loading the model"])
def test_json_answers_when_interrupted_before_there_is_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, moment: str
) -> None:
    """``--json > run.json`` under Slurm: SIGTERM in the first second (loading the model) left an empty file."""
    photos = _photos(tmp_path / "in")

    def interrupted(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyboardInterrupt

    if moment == "planning":
        import weatherclean.batch

        monkeypatch.setattr(weatherclean.batch, "plan_batch", interrupted)
    models = StandIn(interrupted if moment == "loading the model" else _Inverter)
    code, stdout, stderr = _run(command, str(photos), "-o", str(tmp_path / "out"), "--json", models=models)
    assert code == 130
    assert json.loads(stdout) == {"ok": False, "interrupted": True, "error": f"interrupted; {RESUME}", "exit_code": 130}
    assert f"error: interrupted; {RESUME}" in stderr
    assert not (tmp_path / "out").exists()


# --- SIGTERM under Ray -------------------------------------------------------------------------------


@pytest.fixture
def sigterm_as_ctrl_c(handlers_kept: None) -> Iterator[None]:
    """The CLI's SIGTERM handler (``weatherclean.cli.interrupt_on_sigterm``) for one test."""
    from weatherclean.cli import interrupt_on_sigterm

    interrupt_on_sigterm()
    yield


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    sys.exit(signum)  # as ray.init's own handler does


class _FakeRay:
    """Stands in for ``ray`` around ``ray.init``: installs Ray's exit-at-once SIGTERM handler, and with
    ``terminated`` receives SIGTERM before it returns."""

    def __init__(self, terminated: bool = False) -> None:
        self.terminated = terminated
        self.started = self.stopped = False

    def is_initialized(self) -> bool:
        return self.started and not self.stopped

    def init(self, **_kwargs: Any) -> None:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.started = True
        if self.terminated:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here

    def shutdown(self) -> None:
        self.stopped = True


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM handler on Windows")
def test_the_cli_keeps_its_sigterm_handler_after_ray_init(sigterm_as_ctrl_c: None) -> None:
    from weatherclean.batch import ray_connect

    ours = signal.getsignal(signal.SIGTERM)
    assert ray_connect.connect(_FakeRay(), None, None) is True  # type: ignore[arg-type]
    assert signal.getsignal(signal.SIGTERM) is ours
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM handler on Windows")
def test_sigterm_during_ray_init_is_an_interruption(sigterm_as_ctrl_c: None) -> None:
    from weatherclean.batch import ray_connect

    ours = signal.getsignal(signal.SIGTERM)
    fake = _FakeRay(terminated=True)
    with pytest.raises(KeyboardInterrupt):
        ray_connect.connect(fake, None, None)  # type: ignore[arg-type]
    assert fake.stopped and signal.getsignal(signal.SIGTERM) is ours


_SLOW_RUN = """
import sys, time
import torch

class Slow(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x):
        time.sleep(0.3)
        return 1.0 - x

from weatherclean.cli import app, interrupt_on_sigterm
interrupt_on_sigterm()  # as weatherclean.cli.main does
app(sys.argv[1:], obj=lambda name, task: Slow(), prog_name="weatherclean")
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM on Windows")
def test_sigterm_under_ray_stops_like_ctrl_c(tmp_path: Path) -> None:
    """The tester's run: SIGTERM once some outputs exist gave status 15, no JSON and Ray's stack dumps."""
    pytest.importorskip("ray")
    photos = tmp_path / "in"
    photos.mkdir()
    for i in range(12):
        Image.fromarray(np.full((32, 32, 3), 20 * i, np.uint8)).save(photos / f"p{i:02d}.jpg")
    (tmp_path / "slow_run.py").write_text(_SLOW_RUN)
    out = tmp_path / "out"
    ray_tmp = tempfile.mkdtemp(prefix="wc-ray-", dir="/tmp")  # short: Ray's socket paths must fit
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, str(tmp_path / "slow_run.py"), "desnow", str(photos), "-o", str(out), "--json",
               "--device", "cpu", "--engine", "ray", "--ray-actors", "1"]  # fmt: skip
    run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (out.is_dir() and any(out.glob("*.jpg"))) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, run.communicate()
        run.send_signal(signal.SIGTERM)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, stderr
    assert "SIGTERM received" not in stderr and "Traceback" not in stderr
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["failed"] == [] and data["not_done"]
    assert len(data["done"]) + len(data["not_done"]) == 12
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(d["output"]).name for d in data["done"])
    time.sleep(1)  # Ray's processes of that run are gone with it
    left = [c for c in Path("/proc").glob("[0-9]*/cmdline") if ray_tmp.encode() in _read(c)]
    assert not left, [_read(c) for c in left]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


# --- the Ray cluster address probe ----------------------------------------------------------------------


def test_an_address_that_does_not_answer_at_all_is_refused_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A black-holed address: the connection itself times out (no network used: the connect is a stand-in)."""
    from weatherclean.batch import ray_connect

    def black_hole(address: tuple[str, int], timeout: float) -> socket.socket:
        time.sleep(min(timeout, 0.1))
        raise TimeoutError("timed out")

    monkeypatch.setattr(ray_connect.socket, "create_connection", black_hole)
    with pytest.raises(ray_connect.RayError, match=r"10.255.255.1:6379 cannot be reached \(no answer in 5 s\)"):
        ray_connect.check_reachable("10.255.255.1:6379")


def test_a_carry_in_a_thread_or_inside_another_leaves_the_outer_batchs_own() -> None:
    """``main([...])`` called from a thread replaced the main thread's carry (its signals then unblocked, and its
    Ctrl-C handler left as the thread's); a batch run inside another's ended the outer one's protection."""
    import threading

    from weatherclean import interrupts

    handler = signal.getsignal(signal.SIGINT)
    with interrupts.carry_interrupts():
        outer = interrupts._carry

        def worker() -> None:
            with interrupts.carry_interrupts():
                pass

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert interrupts._carry is outer
        with interrupts.carry_interrupts():
            assert interrupts._carry is not outer
        assert interrupts._carry is outer
    assert interrupts._carry is None and signal.getsignal(signal.SIGINT) is handler


def test_one_rule_says_which_stop_signals_a_run_may_take_from_a_program() -> None:
    """SIGINT and SIGTERM are always the run's; SIGHUP only from the default or from the CLI's own handler, so a
    daemon's "reload" handler is left to it by the CLI called as ``main([...])`` and by the Ray driver's relay."""
    from weatherclean.interrupts import takes_over

    def reload(_signum: int, _frame: Any) -> None:
        pass

    def ours(_signum: int, _frame: Any) -> None:
        pass

    ours.interrupts_the_run = True  # type: ignore[attr-defined]
    assert takes_over(signal.SIGINT, reload) and takes_over(signal.SIGTERM, signal.SIG_IGN)
    assert takes_over(signal.SIGHUP, signal.SIG_DFL) and takes_over(signal.SIGHUP, ours)
    assert not takes_over(signal.SIGHUP, reload) and not takes_over(signal.SIGHUP, signal.SIG_IGN)
