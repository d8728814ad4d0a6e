"""An operations tester's findings, running weatherclean from automation (SSH sessions, tmux, cron, schedulers).

1. SIGHUP (an SSH connection dropped, a terminal closed, ``tmux kill-session``) killed the run outright: no summary,
   an empty ``--json`` file, a ``.NAME.*.part`` left. It now stops as SIGTERM does; under ``nohup`` it stays ignored.
2. A signal in the first ~0.35 s, while the CLI was imported, its commands built or the arguments parsed: killed by
   SIGTERM, a silent exit code 130, or a KeyboardInterrupt traceback. Now exit code 130 with the one-line message,
   and the documented JSON error object with ``--json``.
3. An output another run wrote after the plan was made was skipped as a plain "output exists", like an earlier
   run's: now "output appeared meanwhile (another run?)".
4. Two ``--in-place`` runs over one folder at once desnowed every photo twice, silently: the second is now refused
   before any work, with exit code 2.
5. The ``--json`` run summary lacked ``exit_code`` and ``counts.not_done``.

A review of those fixes: shards of one split refused each other with ``--in-place``; the locks sat on the user's
own folders (another program's ``flock`` was taken for a run); SIGHUP was not relayed to the Ray driver child;
``main([...])`` took over a daemon's SIGHUP; an interruption after the command's answer added a second one; inputs
were locked in the order typed, a descriptor could leak on an interruption, and a quoted ``'*.jpg'`` locked its whole
folder.

A second review of the lock: runs over unrelated folders refused each other now and then (a run's release turned
its shared locks on the folders above its input exclusive, to remove their files); a file input's lock went with
its inode, which ``--in-place`` replaces; a lock folder of the user's own at ``0755`` switched locking off for good.
And an ``--update`` output replaced by another run meanwhile is "output appeared meanwhile", as any other: the file
written meanwhile need not be this photo's.

Everything runs in-process with a stand-in model; signals are sent to this process by the model itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch import job_handler, plan_batch, run_jobs
from weatherclean.batch.handlers import Restoration
from weatherclean.batch.locks import _lock_name
from weatherclean.batch.run import appeared_reason
from weatherclean.cli import desnow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals and flock as on Linux and macOS")


def _photos(folder: Path, count: int = 3) -> Path:
    """``count`` small PNGs, p0.png (12 px high), p1.png (14 px), ...: each photo's height tells which it is."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((12 + 2 * i, 16, 3), 40 + 30 * i, np.uint8)).save(folder / f"p{i}.png")
    return folder


# --- 1. SIGHUP ------------------------------------------------------------------------------------------------------


class _HangsUpAt14(Inverter):
    """Sends this process SIGHUP while restoring the photo 14 px high (p1.png), as a dropped SSH session does."""

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] == 14:
            assert callable(signal.getsignal(signal.SIGHUP)), "SIGHUP would kill the test process"
            os.kill(os.getpid(), signal.SIGHUP)
        return super().restore(x)


def test_sighup_stops_the_run_as_sigterm_does(tmp_path: Path, handlers_kept: None) -> None:
    from weatherclean.cli import interrupt_on_signals

    interrupt_on_signals()
    args = (str(_photos(tmp_path / "in")), "-o", str(tmp_path / "out"), "--json", "--device", "cpu")
    code, stdout, _ = invoke_command(desnow, "desnow", *args, models=StandIn(_HangsUpAt14))
    assert code == 130
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["counts"]["done"] >= 1 and data["not_done"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [Path(d["output"]).name for d in data["done"]]


def test_sighup_ignored_at_start_stays_ignored(handlers_kept: None) -> None:
    """``nohup weatherclean ...``: SIGHUP is ignored on purpose, and must not become an interruption."""
    from weatherclean.cli import interrupt_on_signals

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    interrupt_on_signals()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert callable(signal.getsignal(signal.SIGTERM))


def test_sighup_is_held_while_the_summary_is_printed() -> None:
    """It is one of the interruptions held and blocked around the summary (weatherclean.interrupts)."""
    from weatherclean.interrupts import INTERRUPTS

    assert signal.SIGHUP in INTERRUPTS


def test_main_called_by_a_program_gives_its_sighup_handler_back(tmp_path: Path, monkeypatch: Any) -> None:
    from weatherclean.cli import common, main

    monkeypatch.setattr(common._Process, "owned", False)
    monkeypatch.setattr(common._Process, "outcome", None)
    mine = signal.signal(signal.SIGHUP, lambda *_: None)
    try:
        ours = signal.getsignal(signal.SIGHUP)
        with pytest.raises(SystemExit):
            main(["desnow", str(_photos(tmp_path / "in", 1)), "-o", str(tmp_path / "out"), "--dry-run"])
        assert signal.getsignal(signal.SIGHUP) is ours
    finally:
        signal.signal(signal.SIGHUP, mine)


class _SeesSighup(Inverter):
    """Notes the SIGHUP handler in force while each photo is restored."""

    seen: list[Any] = []

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(signal.getsignal(signal.SIGHUP))
        return super().restore(x)


def test_main_called_by_a_daemon_leaves_its_sighup_handler_working(
    tmp_path: Path, monkeypatch: Any, handlers_kept: None
) -> None:
    """A daemon's SIGHUP is "reload": ``main([...])`` took it over as Ctrl-C while the batch ran. Taken only where
    the program left SIGHUP at the default (death)."""
    from weatherclean.cli import common, main

    monkeypatch.setattr(common._Process, "owned", False)

    def reload(*_args: Any) -> None:
        """The daemon's own."""

    photos = _photos(tmp_path / "in", 2)
    for handler, taken in ((reload, False), (signal.SIG_DFL, True)):
        signal.signal(signal.SIGHUP, handler)
        _SeesSighup.seen = []
        with pytest.raises(SystemExit) as ended:
            main(
                ["desnow", str(photos), "-o", str(tmp_path / f"out{taken}"), "--device", "cpu"],
                obj=StandIn(_SeesSighup),
            )
        assert ended.value.code in (0, None)
        assert len(_SeesSighup.seen) == 2
        assert all((h is not handler and callable(h)) if taken else h is reload for h in _SeesSighup.seen)
        assert signal.getsignal(signal.SIGHUP) is handler  # its own, back


def test_sighup_is_relayed_to_the_ray_driver_child(handlers_kept: None) -> None:
    """``--engine ray``: the driver child ignores its own interruptions and the parent relays them; SIGHUP was not
    relayed (a dropped SSH session left the cluster working for nothing)."""
    from weatherclean.batch.driver_apart import _Relay
    from weatherclean.cli import interrupt_on_signals

    interrupt_on_signals()
    with _Relay() as relay:
        assert signal.getsignal(signal.SIGHUP) == relay._relay
        os.kill(os.getpid(), signal.SIGHUP)
    assert relay.stopped and relay.presses == 1
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup: stays ignored
    with _Relay():
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN

    def reload(*_args: Any) -> None:
        """A daemon's own, which ``main([...])`` leaves it."""

    signal.signal(signal.SIGHUP, reload)
    with _Relay():
        assert signal.getsignal(signal.SIGHUP) is reload


def test_one_list_of_stop_signals() -> None:
    from weatherclean.cli import STOP_SIGNALS
    from weatherclean.interrupts import INTERRUPTS

    assert (signal.SIGINT, *STOP_SIGNALS) == INTERRUPTS


# --- 2. an interruption before the command's own handling ------------------------------------------------------------


def _interrupt(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyboardInterrupt


def _main_exit_code(args: list[str]) -> object:
    """``weatherclean.cli.main(args)``'s exit code; a KeyboardInterrupt out of it (a traceback, in the command)
    fails the test rather than stopping the test session."""
    from weatherclean.cli import main

    try:
        main(args)
    except KeyboardInterrupt:
        pytest.fail("a KeyboardInterrupt came out of main(): a traceback, in the command")
    except SystemExit as ended:
        return ended.code
    return 0


@pytest.mark.parametrize("json_out", [True, False], ids=["json", "text"])
def test_an_interruption_while_the_commands_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], json_out: bool
) -> None:
    """The tester's ~0.33 s: a KeyboardInterrupt traceback from ``app(args)`` while Typer built the command tree."""
    import typer.main

    monkeypatch.setattr(typer.main, "get_command", _interrupt)
    args = ["desnow", str(tmp_path), "--device", "cpu", *(["--json"] if json_out else [])]
    assert _main_exit_code(args) == 130
    out, err = capsys.readouterr()
    assert err == "error: interrupted; rerun the same command to resume\n"
    if json_out:
        assert json.loads(out) == {
            "ok": False, "interrupted": True, "error": "interrupted; rerun the same command to resume", "exit_code": 130
        }  # fmt: skip
    else:
        assert out == ""


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["desnow", "in", "--shard", "1/2", "--json"], "interrupted; rerun the same command to resume"),
        (["derain", "--json", "in", "--shard", "1/2"], "interrupted; rerun the same command to resume"),
    ],
    ids=["desnow", "derain"],
)
def test_an_interruption_while_the_arguments_are_parsed(
    monkeypatch: pytest.MonkeyPatch, command: list[str], message: str
) -> None:
    """The tester's ~0.31 s: Typer turned it into exit code 130 alone, with no message and no JSON."""
    import weatherclean.batch.plan
    from weatherclean.cli import app

    monkeypatch.setattr(weatherclean.batch.plan, "parse_shard", _interrupt)  # --shard's check, while parsing
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 130, result.output
    assert result.stderr == f"error: {message}\n"
    assert json.loads(result.stdout) == {"ok": False, "interrupted": True, "error": message, "exit_code": 130}


def test_evaluate_interrupted_before_it_began_says_nothing_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate`` keeps nothing to resume from, and says so when interrupted later too (cli.common)."""
    import typer.main

    from weatherclean.cli.common import INTERRUPTED_NOTHING_KEPT

    monkeypatch.setattr(typer.main, "get_command", _interrupt)
    assert _main_exit_code(["evaluate", "--task", "snow", "--dataset", "d", "--json"]) == 130
    out, err = capsys.readouterr()
    assert json.loads(out)["error"] == INTERRUPTED_NOTHING_KEPT and err == f"error: {INTERRUPTED_NOTHING_KEPT}\n"


def test_json_after_a_double_dash_is_a_file_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer.main

    monkeypatch.setattr(typer.main, "get_command", _interrupt)
    assert _main_exit_code(["desnow", "--", "--json"]) == 130
    assert capsys.readouterr().out == ""


def test_the_command_installs_its_handlers_before_importing_the_cli(handlers_kept: None) -> None:
    """The console script imports ``weatherclean.cli`` and calls ``main``: until ``main`` ran, the default SIGTERM
    (death, status -15) held for as long as importing Typer, Rich and every command module took. That import now
    comes after the handlers, inside ``main``: ``import weatherclean.cli`` needs the standard library alone."""
    import subprocess

    probe = (
        "import sys; import weatherclean.cli; "
        "print(sorted(m for m in ('typer', 'rich', 'click', 'weatherclean.cli.common', 'weatherclean.cli.desnow') "
        "if m in sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("where", ["fail", "_echo_json"])
def test_an_interruption_after_the_answer_adds_no_second_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """The command answered (its error line, its JSON object) and a signal landed before the exit: a second JSON
    object (the interruption's) followed the first on stdout, and the exit code became 130."""
    from weatherclean.cli import common

    real, calls = getattr(common, where), []

    def answer_then_interrupted(*args: Any, **kwargs: Any) -> Any:
        answered = real(*args, **kwargs)
        calls.append(args)
        if len(calls) == 1:  # the command's answer, then the signal
            raise KeyboardInterrupt
        return answered

    monkeypatch.setattr(common, where, answer_then_interrupted)
    assert _main_exit_code(["desnow", str(tmp_path / "missing"), "--json", "--device", "cpu"]) == 2
    out, err = capsys.readouterr()
    answer = json.loads(out)  # one object, not two
    assert answer["exit_code"] == 2 and "interrupted" not in answer
    assert "interrupted" not in err


# --- 3. an output another run wrote after the plan -----------------------------------------------------------------


def _invert(image: Any) -> np.ndarray:
    return 1.0 - image.pixels


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "one-at-a-time"])
def test_an_output_written_after_the_plan_is_said_to_have_appeared(tmp_path: Path, pipeline: bool) -> None:
    photos, out = _photos(tmp_path / "in", 3), tmp_path / "out"
    _photos(out, 1)  # p0's output, there before the plan: an earlier run's
    plan = plan_batch([str(photos)], out, tag="x")
    Image.fromarray(np.zeros((14, 16, 3), np.uint8)).save(out / "p1.png")  # another run's, after the plan
    summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), progress=False, pipeline=pipeline)
    reasons = {r.path.name: r.reason for r in summary.skipped}
    assert reasons["p0.png"] == f"output exists: {out / 'p0.png'} (use --overwrite to redo)"
    assert reasons["p1.png"] == appeared_reason(out / "p1.png")
    assert reasons["p1.png"].startswith("output appeared meanwhile (another run?): ")
    assert [j.source.name for j in summary.done] == ["p2.png"]


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "one-at-a-time"])
def test_an_out_of_date_output_replaced_meanwhile_appeared_too(tmp_path: Path, pipeline: bool) -> None:
    """``--update``: the plan found p0's output older than its photo; another run wrote a newer file there before
    this one's job started. One wording for every output written meanwhile ("appeared"), not "brought up to date":
    the file written meanwhile may be another photo's of the same name (tests/test_card_collision.py)."""
    import time

    from weatherclean.batch.jobs import CHANGED

    photos, out = _photos(tmp_path / "in", 1), tmp_path / "out"
    _photos(out, 1)
    now = time.time()
    os.utime(photos / "p0.png", (now - 1000, now - 1000))
    os.utime(out / "p0.png", (now - 2000, now - 2000))  # older than its photo
    plan = plan_batch([str(photos)], out, tag="x", update=True)
    assert [job.note for job in plan.jobs] == [CHANGED]
    os.utime(out / "p0.png", (now - 500, now - 500))  # another run's file
    summary = run_jobs(
        plan, job_handler(Restoration(photo=_invert)), update=True, progress=False, pipeline=pipeline
    )  # fmt: skip
    assert [(r.path.name, r.reason) for r in summary.skipped] == [("p0.png", appeared_reason(out / "p0.png"))]


# --- 4. --in-place runs over the same inputs at once ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def private_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runs' lock folders under this test's own folder, not the machine's /tmp."""
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir(mode=0o700)
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    return parent


@pytest.fixture
def another_run() -> Iterator[Any]:
    """Takes the locks another ``--in-place`` run over ``paths`` (with ``--shard`` ``shard``) holds:
    ``lock(paths, shard=None)``; released after the test (or by ``.close()`` of what it returns)."""
    import contextlib

    from weatherclean.batch.locks import inputs_locked

    stacks: list[contextlib.ExitStack] = []

    def lock(paths: list[str], shard: tuple[int, int] | None = None) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stacks.append(stack)
        stack.enter_context(inputs_locked(paths, shard))
        return stack

    yield lock
    for stack in stacks:
        stack.close()


def _pixels(folder: Path) -> dict[str, bytes]:
    return {p.name: np.asarray(Image.open(p)).tobytes() for p in sorted(folder.iterdir())}


def _in_place(*args: str) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--in-place", "--device", "cpu", models=StandIn(Inverter))


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_a_second_in_place_run_over_a_folder_is_refused(
    tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch, json_out: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    photos = _photos(Path("in"))
    before = _pixels(photos)
    another_run(["in"])
    code, stdout, stderr = _in_place("in", *(["--json"] if json_out else []))
    message = (
        "in: another weatherclean --in-place run is working on it (or on something in it); wait for that run to end "
        "(or stop it), then rerun"
    )
    assert code == 2
    assert stderr == f"error: {message}\n"
    assert _pixels(photos) == before  # nothing done
    if json_out:
        assert json.loads(stdout) == {"ok": False, "error": message, "exit_code": 2}


def test_the_refusal_names_the_process_that_holds_the_lock(
    tmp_path: Path, another_run: Any, private_locks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photos(Path("in"))
    another_run(["in"])
    (lock,) = [p for p in (private_locks / f"weatherclean-{os.geteuid()}" / "locks").iterdir() if p.name.endswith(
        f"{os.stat('in').st_ino:x}.lock"
    )]  # fmt: skip
    assert lock.read_text() == f"{os.getpid()}\n"  # what a run records; here, this test's process
    lock.write_text(f"{os.getppid()}\n")  # as if another process, alive, held it
    code, _, stderr = _in_place("in")
    assert code == 2 and f"in: another weatherclean --in-place run is working on it (process {os.getppid()});" in stderr


def test_in_place_runs_inside_or_around_a_locked_input_are_refused(
    tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photos(Path("lib/2019"))
    _photos(Path("lib/2020"))
    run = another_run(["lib"])  # a run over all of lib
    code, _, stderr = _in_place("lib/2019/p1.png")
    assert code == 2 and stderr.startswith("error: lib/2019/p1.png: another weatherclean --in-place run is working on")
    assert "lib, which holds it" in stderr
    run.close()
    another_run(["lib/2020"])  # a run over lib/2020: lib as a whole is refused, lib/2019 is not
    code, _, stderr = _in_place("lib")
    assert code == 2 and "lib: another weatherclean --in-place run is working on it" in stderr
    code, stdout, stderr = _in_place("lib/2019")
    assert code == 0, stderr
    assert "3 done" in stdout


def test_another_programs_flock_on_the_folder_is_not_another_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's ``flock -n in weatherclean desnow in --in-place`` (usage.md's cron advice, with the folder as
    the lock): refused as "another weatherclean --in-place run". The locks are the run's own now, elsewhere, and
    nothing is written into the user's folders."""
    monkeypatch.chdir(tmp_path)
    photos = _photos(Path("in"))
    fd = os.open(photos, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, stdout, stderr = _in_place("in")
    finally:
        os.close(fd)
    assert code == 0, stderr
    assert "3 done" in stdout
    assert sorted(p.name for p in photos.iterdir()) == ["p0.png", "p1.png", "p2.png"]


def test_shards_of_one_split_run_side_by_side(
    tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """usage.md's ``--shard K/N`` processes over one batch, with ``--in-place``: each refused the others."""
    monkeypatch.chdir(tmp_path)
    _photos(Path("in"), 6)
    another_run(["in"], shard=(1, 2))  # shard 1/2 at work
    code, _, stderr = _in_place("in", "--shard", "2/2")
    assert code == 0, stderr
    code, _, stderr = _in_place("in", "--shard", "1/2")  # the same shard twice: it would be done twice
    assert code == 2 and "in: another weatherclean --in-place run is working on it" in stderr
    code, _, stderr = _in_place("in")  # a run over the whole of it
    assert code == 2 and "in: another weatherclean --in-place run is working on it" in stderr
    code, _, stderr = _in_place(".", "--shard", "1/2")  # one around it, the same shard of the same split
    assert code == 2 and ".: another weatherclean --in-place run is working on it" in stderr


def test_an_unsharded_run_refuses_shards(tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _photos(Path("in"))
    another_run(["in"])
    code, _, stderr = _in_place("in", "--shard", "1/2")
    assert code == 2 and "in: another weatherclean --in-place run is working on it" in stderr


def test_a_glob_locks_its_matches(tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quoted '*.png' locked its whole folder: a run over a subfolder beside its photos was refused."""
    monkeypatch.chdir(tmp_path)
    _photos(Path("top"))
    _photos(Path("top/sub"))
    another_run(["top/*.png"])
    code, stdout, stderr = _in_place("top/sub")
    assert code == 0, stderr
    code, _, stderr = _in_place("top/p1.png")
    assert code == 2 and "top/p1.png: another weatherclean --in-place run is working on it" in stderr
    code, _, stderr = _in_place("top")
    assert code == 2 and "top: another weatherclean --in-place run is working on it" in stderr


def test_a_recursive_glob_is_locked_by_its_folder(
    tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photos(Path("top/sub"))
    another_run(["top/**/*.png"])
    code, _, stderr = _in_place("top/sub")
    assert code == 2 and "top, which holds it" in stderr


def test_inputs_are_locked_in_one_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``a b`` and ``b a`` at once: each took its first input and was refused its second; both refused."""
    from weatherclean.batch import locks

    monkeypatch.chdir(tmp_path)
    _photos(Path("a"), 1)
    _photos(Path("b"), 1)
    taken: list[str] = []
    real_take = locks._Locks.take

    def take(self: Any, path: Path, kind: str, operation: int) -> int | None:
        if operation == fcntl.LOCK_EX:
            taken.append(path.name)
        return real_take(self, path, kind, operation)

    monkeypatch.setattr(locks._Locks, "take", take)
    for order in (["b", "a"], ["a", "b"]):
        taken.clear()
        with locks.inputs_locked(order):
            pass
        assert taken == ["a", "b"]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else len(os.listdir("/dev/fd"))


def test_an_interruption_while_locking_leaves_no_descriptor_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.batch.locks import inputs_locked

    _photos(tmp_path / "in", 1)
    calls = []
    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the folder's own lock went; the input's is cut short
            raise KeyboardInterrupt
        real_flock(fd, operation)

    before = _open_fds()
    monkeypatch.setattr(fcntl, "flock", flock)
    with pytest.raises(KeyboardInterrupt), inputs_locked([str(tmp_path / "in")]):
        pass
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert _open_fds() == before


def test_a_lock_folder_of_ones_own_open_to_others_is_made_private(tmp_path: Path, private_locks: Path) -> None:
    """A ``weatherclean-UID`` (or its ``locks``) of the user's own at ``0755`` or ``0777`` switched locking off for
    good, silently: it is made ``0700`` and used."""
    from weatherclean.batch.locks import inputs_locked, lock_folder
    from weatherclean.errors import InputError

    own = private_locks / f"weatherclean-{os.geteuid()}"
    own.mkdir(mode=0o755)
    own.chmod(0o755)
    (own / "locks").mkdir()
    (own / "locks").chmod(0o777)
    assert lock_folder() == own / "locks"
    assert own.stat().st_mode & 0o777 == 0o700 and (own / "locks").stat().st_mode & 0o777 == 0o700
    _photos(tmp_path / "in", 1)
    with inputs_locked([str(tmp_path / "in")]), pytest.raises(InputError, match="another weatherclean --in-place"):
        inputs_locked([str(tmp_path / "in")]).__enter__()  # the second is refused: locking is on


def test_a_lock_folder_not_ones_own_is_not_used(
    tmp_path: Path, private_locks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user could take, or fake, the locks in a folder of theirs, or behind a link: the run goes on without
    locking; so it does where the shared parent (``/tmp``) is open to all without its sticky bit."""
    from weatherclean.batch import locks

    with monkeypatch.context() as patch:
        patch.setattr(os, "geteuid", lambda: os.getuid() + 4242)  # the folder made is this test's, not that uid's
        assert locks.lock_folder() is None
    other = tmp_path / "elsewhere"
    other.mkdir(mode=0o700)
    (private_locks / f"weatherclean-{os.geteuid()}").symlink_to(other)
    assert locks.lock_folder() is None
    assert other.stat().st_mode & 0o777 == 0o700 and not (other / "locks").exists()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # a /tmp without its sticky bit
    assert locks.lock_folder(shared) is None
    shared.chmod(0o1777)
    assert locks.lock_folder(shared) is not None


def test_runs_over_unrelated_folders_never_refuse_each_other(tmp_path: Path) -> None:
    """Two loops of runs over ``w/a`` and ``w/b``, side by side: ~2 % were refused (exit code 2), naming ``/`` or
    ``/tmp``, when a run that ended turned its shared lock on a folder above its input exclusive to remove its
    file. Threads with locks of their own conflict as processes do (each ``flock`` is on its own descriptor)."""
    import threading
    import time

    from weatherclean.batch.locks import inputs_locked
    from weatherclean.errors import InputError

    folders = [tmp_path / "w" / "a", tmp_path / "w" / "b"]
    for folder in folders:
        folder.mkdir(parents=True)
    refusals: list[str] = []
    runs = [0, 0]
    end = time.monotonic() + 1.5

    def loop(index: int) -> None:
        while time.monotonic() < end:
            runs[index] += 1
            try:
                with inputs_locked([str(folders[index])]):
                    pass
            except InputError as exc:
                refusals.append(str(exc))

    threads = [threading.Thread(target=loop, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert min(runs) > 50
    assert refusals == []


def test_a_run_that_is_ending_is_waited_for_a_moment(tmp_path: Path, another_run: Any) -> None:
    """A lock another run gives back a moment later is tried again before the run is refused."""
    import threading

    from weatherclean.batch.locks import inputs_locked

    photos = _photos(tmp_path / "in", 1)
    run = another_run([str(photos)])
    timer = threading.Timer(0.03, run.close)
    timer.start()
    try:
        with inputs_locked([str(photos)]):
            pass
    finally:
        timer.join()


def test_a_photo_replaced_by_its_result_keeps_its_lock(
    tmp_path: Path, another_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--in-place`` replaces the photo (a new inode): a second run over the photo, started after that while the
    first still ran, took another lock and processed it again."""
    monkeypatch.chdir(tmp_path)
    _photos(Path("in"), 1)
    another_run(["in/p0.png"])
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save("new.png")
    os.replace("new.png", "in/p0.png")  # the first run's result in place
    code, _, stderr = _in_place("in/p0.png")
    assert code == 2 and "in/p0.png: another weatherclean --in-place run is working on it" in stderr


class _TriesTheLock(Inverter):
    """Looks, while the run works, whether another run could lock its folder (``FOLDER``)."""

    FOLDER = Path()
    answers: list[bool] = []

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        from weatherclean.batch.locks import inputs_locked
        from weatherclean.errors import InputError

        try:
            with inputs_locked([str(self.FOLDER)]):
                self.answers.append(True)
        except InputError:
            self.answers.append(False)
        return super().restore(x)


def test_the_lock_is_held_while_the_run_works_and_released_after(tmp_path: Path, private_locks: Path) -> None:
    from weatherclean.batch.locks import inputs_locked

    photos = _photos(tmp_path / "in")
    before = _pixels(photos)
    _TriesTheLock.FOLDER, _TriesTheLock.answers = photos, []
    code, stdout, stderr = invoke_command(desnow, "desnow", str(photos), "--in-place", models=StandIn(_TriesTheLock))
    assert code == 0, stderr
    assert _TriesTheLock.answers == [False] * 3  # each photo restored while the folder was locked
    assert _pixels(photos) != before
    with inputs_locked([str(photos)]):  # released: a later run may go
        pass
    left = {p.name for p in (private_locks / f"weatherclean-{os.geteuid()}" / "locks").iterdir()}
    assert _lock_name(photos, "") not in left  # its input's lock file removed
    assert left == {_lock_name(folder, "") for folder in photos.resolve().parents}  # those of the folders above kept


def test_runs_without_in_place_and_dry_runs_take_no_lock(tmp_path: Path, another_run: Any) -> None:
    photos = _photos(tmp_path / "in")
    another_run([str(photos)])
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), "--in-place", "--dry-run", models=StandIn(Inverter))
    assert code == 0, stderr
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), "-o", str(tmp_path / "o"), models=StandIn(Inverter))
    assert code == 0, stderr


def test_a_file_system_without_flock_goes_on_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def unsupported(*_args: Any) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", unsupported)
    photos = _photos(tmp_path / "in")
    code, stdout, stderr = invoke_command(desnow, "desnow", str(photos), "--in-place", models=StandIn(Inverter))
    assert code == 0, stderr
    assert "3 done" in stdout


# --- 5. exit_code and counts.not_done in the --json summary --------------------------------------------------------


class _StopsAt14(Inverter):
    """Ctrl-C while restoring the photo 14 px high (p1.png)."""

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] == 14:
            raise KeyboardInterrupt
        return super().restore(x)


@pytest.mark.parametrize(
    ("model", "broken", "code"), [(Inverter, False, 0), (Inverter, True, 1), (_StopsAt14, False, 130)],
    ids=["done", "failed", "interrupted"],
)  # fmt: skip
def test_the_json_summary_has_the_exit_code_and_counts_what_was_not_done(
    tmp_path: Path, model: type[torch.nn.Module], broken: bool, code: int
) -> None:
    photos = _photos(tmp_path / "in", 4)
    if broken:
        (photos / "p9.png").write_text("not a picture")
    args = (str(photos), "-o", str(tmp_path / "out"), "--json", "--device", "cpu")
    exit_code, stdout, _ = invoke_command(desnow, "desnow", *args, models=StandIn(model))
    data = json.loads(stdout)
    assert exit_code == code and data["exit_code"] == code
    assert set(data["counts"]) == {"done", "skipped", "failed", "not_done"}
    assert data["counts"]["not_done"] == len(data["not_done"])
    assert (data["counts"]["not_done"] > 0) == (code == 130)
