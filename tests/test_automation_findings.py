"""weatherclean wired into scripts and cron, as a sysadmin's tester ran it: what a run answers whatever happens
to its signals, its standard streams and its outputs meanwhile.

- An interruption anywhere in a batch ends in its summary (never the "before a summary" answer), with each job
  counted once: done, skipped, failed or not done.
- Off a terminal, stderr gets no progress bar and no blank line; a closed or full stderr or stdout does not
  change the exit code, and a full stdout gets one line on stderr, never a traceback.
- A signal once the outcome is printed exits with the outcome's code, not 143.
- An output that appears while its job runs (another run at once) is kept, not replaced; a folder in its way
  fails that job alone.
- A dry run answers with ``ok`` and ``exit_code`` and its ``error:`` lines, an out-of-range ``--shard`` is an
  option error, and narrow tables fold file names instead of cutting them.

Subprocess tests run the real command (``weatherclean.cli.main``) with a stand-in model; the rest run in-process.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import weatherclean
from synthetic import StandIn, invoke_command, synth_app
from weatherclean.batch import job_handler, plan_batch, run_jobs
from weatherclean.batch.handlers import Restoration
from weatherclean.batch.run import BatchSummary, Pipeline
from weatherclean.cli import desnow
from weatherclean.io.atomic import atomic_write

#: Where this weatherclean was imported from: the command run in a subprocess is the same code.
SRC = str(Path(weatherclean.__file__).parents[1])


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def _photos(folder: Path, count: int = 6) -> Path:
    """``count`` tiny PNGs, p0.png ... (each its own shade)."""
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((12 + i, 16, 3), 30 * i, np.uint8)).save(folder / f"p{i}.png")
    return folder


def _invert(image: Any) -> np.ndarray:
    return 1.0 - image.pixels


def _partition(summary: BatchSummary, count: int) -> dict[str, list[str]]:
    """Each file's outcome by kind; every one of ``count`` files in exactly one."""
    kinds = {
        "done": [j.source.name for j in summary.done],
        "skipped": [r.path.name for r in summary.skipped],
        "failed": [r.path.name for r in summary.failed],
        "not_done": [r.path.name for r in summary.not_done],
    }
    every = [name for names in kinds.values() for name in names]
    assert sorted(every) == [f"p{i}.png" for i in range(count)], kinds
    return kinds


# --- 1. an interruption anywhere in the batch ends in its summary ----------------------------------------------


def _interrupting(real: Any, at: int) -> Any:
    """``real`` (a function or a method, set on its class) with its ``at``-th call from the main thread raising
    KeyboardInterrupt, as SIGTERM (turned into Ctrl-C by the CLI) does when it lands there."""
    calls = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            calls[0] += 1
            if calls[0] == at:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    return wrapped


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, where: str, at: int) -> None:
    """Make the ``at``-th call to ``where`` (in the batch's main loop) raise KeyboardInterrupt."""
    import rich.progress

    from weatherclean.batch import run

    if where == "submit":  # the decoders' and the writers' submit (_decode_ahead, the write behind)
        monkeypatch.setattr(ThreadPoolExecutor, "submit", _interrupting(ThreadPoolExecutor.submit, at))
    elif where == "announce":  # the progress bar's update with the file's name
        monkeypatch.setattr(rich.progress.Progress, "update", _interrupting(rich.progress.Progress.update, at))
    else:  # run._appeared, run.stages_of: the look at the output, the handler's stages
        monkeypatch.setattr(run, where, _interrupting(getattr(run, where), at))


#: Where an interruption lands, by runner: the pipelined one walks decodes and writes ahead and behind (submit,
#: stages_of); both look at each output (_appeared) and announce each file on the bar.
_LANDINGS = [
    *(pytest.param(Pipeline(), where, at, id=f"pipelined-{where}-{at}")
      for where, at in (("submit", 1), ("submit", 2), ("submit", 5), ("_appeared", 2), ("_appeared", 6),
                        ("stages_of", 4), ("announce", 3))),
    *(pytest.param(False, where, at, id=f"one-at-a-time-{where}-{at}")
      for where, at in (("_appeared", 2), ("_appeared", 6), ("announce", 3))),
]  # fmt: skip


@pytest.mark.parametrize(("pipeline", "where", "at"), _LANDINGS)
def test_an_interruption_anywhere_in_the_batch_ends_in_its_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline | bool, where: str, at: int
) -> None:
    """The tester's 1 in 8: SIGTERM in ``_decode_ahead``'s ``submit`` (or in ``announce``, ``_appeared``) went
    past the one ``try`` around the model, and the run answered as if it had not started."""
    from rich.console import Console

    monkeypatch.setenv("TERM", "xterm")  # the bar drawn (a terminal), so announce runs Rich's update
    plan = plan_batch([str(_photos(tmp_path / "in"))], tmp_path / "out", tag="x")
    _interrupt_at(monkeypatch, where, at)
    bar = Console(file=open(os.devnull, "w"), force_terminal=True)  # noqa: SIM115 - closed with the test
    try:
        summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), console=bar, pipeline=pipeline)
    except KeyboardInterrupt:
        pytest.fail(f"the interruption at {where} #{at} went up: no summary")
    finally:
        bar.file.close()
    kinds = _partition(summary, 6)
    if kinds["not_done"]:
        assert summary.interrupted and not summary.ok
    assert kinds["failed"] == [] and kinds["skipped"] == []
    out = tmp_path / "out"
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert written == sorted(kinds["done"])  # every output written is counted, and nothing else was left


def _after(real: Any, at: int) -> Any:
    """``real`` with its ``at``-th call from the main thread raising KeyboardInterrupt once it has returned."""
    calls = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if threading.current_thread() is threading.main_thread():
            calls[0] += 1
            if calls[0] == at:
                raise KeyboardInterrupt
        return result

    return wrapped


@pytest.mark.parametrize("where", ["_settle", "submit"])
def test_a_file_written_just_before_an_interruption_is_counted_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An interruption after a job's rename, before its slot was filled: the file was written but "not done", and
    the rerun skipped it as existing, so no summary ever listed it (done 2, written 3)."""
    from weatherclean.batch import run

    plan = plan_batch([str(_photos(tmp_path / "in"))], tmp_path / "out", tag="x")
    if where == "_settle":  # one at a time: the job's write is done when _settle returns
        monkeypatch.setattr(run, "_settle", _after(run._settle, 3))
        pipeline: Pipeline | bool = False
    else:  # pipelined: the writer's submit returned, the write goes on, its entry not yet pending
        monkeypatch.setattr(ThreadPoolExecutor, "submit", _after(ThreadPoolExecutor.submit, 5))  # job p1's write
        pipeline = Pipeline()
    summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), progress=False, pipeline=pipeline)
    kinds = _partition(summary, 6)
    assert summary.interrupted
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(kinds["done"]) and len(written) >= 2


def test_sigterm_in_the_decode_ahead_gives_the_json_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tester's run: ``{"ok": false, "interrupted": true, "error": ...}`` though outputs were written."""
    photos = _photos(tmp_path / "in")
    monkeypatch.setattr(ThreadPoolExecutor, "submit", _interrupting(ThreadPoolExecutor.submit, 5))
    args = ("desnow", str(photos), "-o", str(tmp_path / "out"), "--json", "--device", "cpu")
    code, stdout, _ = invoke_command(desnow, *args, models=StandIn(_Inverter))
    assert code == 130
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["ok"] is False and "error" not in data
    assert data["counts"]["done"] >= 1 and data["counts"]["done"] + len(data["not_done"]) == 6


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs pthread_sigmask")
def test_a_signal_between_the_batch_and_its_summary_or_during_it_keeps_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C just after the batch's wrap-up (before the summary's hold) answered "interrupted" with no summary; one
    while the summary is printed is blocked (a Python handler during a write to a full pipe truncated the summary,
    exit code 0), and is delivered after the printing: the outcome's code stands."""
    import weatherclean.batch as report
    from weatherclean.cli import batch as batch_cli

    photos = _photos(tmp_path / "in", count=3)
    real_finish, real_print = batch_cli.finish, report.print_summary
    blocked_while_printing: list[bool] = []

    def finish_after_a_signal(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # lands between run_jobs and the report
        real_finish(*args, **kwargs)

    def print_summary(*args: Any, **kwargs: Any) -> None:
        blocked_while_printing.append(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
        os.kill(os.getpid(), signal.SIGINT)
        real_print(*args, **kwargs)

    monkeypatch.setattr(batch_cli, "finish", finish_after_a_signal)
    monkeypatch.setattr(report, "print_summary", print_summary)
    before = signal.getsignal(signal.SIGINT)
    args = ("desnow", str(photos), "-o", str(tmp_path / "out"), "--json", "--device", "cpu")
    code, stdout, _ = invoke_command(desnow, *args, models=StandIn(_Inverter))
    assert code == 0, stdout
    assert json.loads(stdout)["counts"]["done"] == 3
    assert blocked_while_printing == [True]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # nothing left blocked
    assert signal.getsignal(signal.SIGINT) is before


def test_main_called_by_a_program_leaves_its_process_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``weatherclean.cli.main([...])`` from a program left handlers that os._exit the host on its next Ctrl-C, a
    SIGTERM handler, and an exit hook."""
    import atexit

    from weatherclean.cli import common, main

    monkeypatch.setattr(common._Process, "owned", False)
    monkeypatch.setattr(common._Process, "outcome", None)
    hooks: list[object] = []
    monkeypatch.setattr(atexit, "register", lambda func, *a, **k: hooks.append(func))
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    photos = _photos(tmp_path / "in", count=1)
    with pytest.raises(SystemExit) as exit_:
        main(["desnow", str(photos), "-o", str(tmp_path / "out"), "--dry-run", "--json"])
    assert exit_.value.code in (0, None)
    assert {signum: signal.getsignal(signum) for signum in before} == before
    assert common._ignore_late_interrupts not in hooks and common._Process.owned is False


def test_an_ignored_sigint_stays_ignored_after_the_outcome(
    monkeypatch: pytest.MonkeyPatch, handlers_kept: None
) -> None:
    """``cmd &`` in a script, nohup: SIGINT ignored at start got a handler that ended the process on Ctrl-C."""
    from weatherclean.cli import common

    monkeypatch.setattr(common._Process, "owned", True)
    monkeypatch.setattr(common._Process, "outcome", None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    common.exit_on_interrupt(0)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.parametrize("json_out", [False, True], ids=["tables", "json"])
def test_a_report_that_cannot_be_written_comes_after_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_out: bool
) -> None:
    """``evaluate --report`` on a full disk lost every result: the report was written before the tables."""
    from weatherclean.cli import evaluate as evaluate_cli

    for stem, shade in (("a", 40), ("b", 90)):
        for folder, value in (("gt", shade), ("synthetic", shade + 20)):
            (tmp_path / "set" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(tmp_path / "set" / folder / f"{stem}.png")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    args = ["--dataset", str(tmp_path / "set"), "--device", "cpu", "--report", str(tmp_path / "r.json"), "-q"]
    code, stdout, stderr = invoke_command(evaluate_cli, "evaluate", *args, *(["--json"] if json_out else []),
                                          models=StandIn(_Inverter))  # fmt: skip
    assert code == 2, stderr
    assert "disk full" in stderr and "Traceback" not in stderr
    if json_out:
        assert '"summary"' in stdout  # the results, then the report's error
    else:
        assert "PSNR" in stdout
    assert not (tmp_path / "r.json").exists()


# --- 2 and 3. stderr and stdout that are not a terminal, closed or full ------------------------------------


def test_no_blank_line_on_stderr_off_a_terminal(tmp_path: Path) -> None:
    """cron mailed one blank line after every run: the hidden bar's newline when it stopped."""
    photos = _photos(tmp_path / "in", count=2)
    args = ("desnow", str(photos), "-o", str(tmp_path / "out"), "--device", "cpu")
    code, stdout, stderr = invoke_command(desnow, *args, models=StandIn(_Inverter))
    assert code == 0 and "2 done" in stdout
    assert stderr == ""


def test_synth_writes_no_blank_line_on_stderr_off_a_terminal(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    photos = _photos(tmp_path / "clean", count=2)
    result = CliRunner().invoke(synth_app(), ["synth", "snow", str(photos), str(tmp_path / "out"), "--seed", "1"])
    assert result.exit_code == 0 and "wrote 2" in result.stdout
    assert result.stderr == ""


def test_the_error_console_under_a_live_bar_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal Rich's bar stands in for ``sys.stderr`` while it runs; the error console, which looks
    ``sys.stderr`` up at each write (so that a failing one never fails the run), must write past the stand-in,
    not into it (that went round in circles and hung the terminal's run)."""
    from rich.console import Console
    from rich.progress import Progress

    from weatherclean.cli.common import _ForgivingStream

    console = Console(file=_ForgivingStream(2), force_terminal=True)
    finished = threading.Event()

    def run() -> None:
        with Progress(console=console, transient=True) as bar:
            bar.add_task("desnow", total=2)
            print("a library's line", file=sys.stderr)
            console.print("error: a.jpg: not an image")
        finished.set()

    worker = threading.Thread(target=run, daemon=True)  # wrong, it never ends: fail, rather than hang the suite
    worker.start()
    worker.join(timeout=20)
    assert finished.is_set(), "the error console wrote into the bar's stand-in for stderr, which wrote back into it"
    err = capsys.readouterr().err
    assert "a library's line" in err and "error: a.jpg: not an image" in err


_RUN = """
import os, sys
import torch
from weatherclean.cli import main

class Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x):
        report = os.environ.get("FD2_REPORT")
        if report:  # what a library writing to stderr here would write into
            try:
                where = os.readlink("/proc/self/fd/2")
            except OSError:
                where = "closed"
            with open(report, "a") as fh:
                fh.write(where + "\\n")
        return 1.0 - x

main(sys.argv[1:], obj=lambda name, task: Inverter(), as_command=True)
"""


def _command(tmp_path: Path, *extra: str) -> list[str]:
    """The real ``weatherclean desnow`` (:func:`weatherclean.cli.main`) over 3 photos, with a stand-in model."""
    script = tmp_path / "run.py"
    script.write_text(_RUN)
    photos = tmp_path / "in" if (tmp_path / "in").exists() else _photos(tmp_path / "in", count=3)
    return [sys.executable, str(script), "desnow", str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("redirect", ["2</dev/null"])  # 2>/dev/full fails the same write
def test_a_full_or_unwritable_stderr_never_changes_the_outcome(tmp_path: Path, redirect: str) -> None:
    """``2>/dev/full``, and ``2>&-`` through a wrapper script (pyenv's shim left stderr open for reading, so every
    write failed, as ``2</dev/null`` does): exit 1 and no summary after a run whose every file was done."""
    command = ["sh", "-c", f'exec "$@" {redirect}', "sh", *_command(tmp_path)]
    run = subprocess.run(command, env=_env(), stdout=subprocess.PIPE, text=True, timeout=120)
    assert run.returncode == 0, run.stdout
    assert "3 done, 0 skipped, 0 failed" in run.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png", "p2.png"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_a_closed_stderr_is_not_taken_by_a_file_of_the_run(tmp_path: Path) -> None:
    """``2>&-``: the first file the run opened took number 2, and what a library writes to stderr (FFmpeg,
    PyTorch; here the model) would have gone into it: an input, an output being written."""
    report = tmp_path / "fd2.txt"
    command = ["sh", "-c", 'exec "$@" 2>&-', "sh", *_command(tmp_path)]
    run = subprocess.run(command, env={**_env(), "FD2_REPORT": str(report)}, stdout=subprocess.PIPE, timeout=120)
    assert run.returncode == 0
    assert set(report.read_text().splitlines()) == {os.devnull}


def test_a_closed_stdout_keeps_the_outcome_code(tmp_path: Path) -> None:
    """``weatherclean desnow in -o out | true`` exited 1 ("a file failed"): Rich's answer to a broken pipe."""
    run = subprocess.Popen(_command(tmp_path, "--json"), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None
    run.stdout.close()  # the reader is gone before the summary comes
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert stderr == b""  # a closed pipe is said nothing about, as Unix tools do
    assert len(list((tmp_path / "out").iterdir())) == 3


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_gets_one_line_on_stderr(tmp_path: Path) -> None:
    """``> /dev/full`` printed a Python traceback (Errno 28 from print_summary) and exited 1."""
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            _command(tmp_path), env=_env(), stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )
    assert run.returncode == 0
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == [f"error: standard output: {os.strerror(errno.ENOSPC)}; the summary could not be written"]


# --- 7. a signal once the outcome is printed ------------------------------------------------------------------

_SLOW_TEARDOWN = """
import os, sys, time

class SlowToGo:
    # dropped as the interpreter tears __main__ down, after Python has stopped running signal handlers
    def __del__(self, write=os.write, sleep=time.sleep):
        write(2, b"tearing down\\n")
        sleep(2)

slow = SlowToGo()
script = sys.argv.pop(1)  # the command's own script; its arguments follow
exec(compile(open(script).read(), script, "exec"))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM on Windows")
def test_sigterm_while_the_process_tears_down_exits_with_the_outcome(tmp_path: Path) -> None:
    """SIGTERM in the ~0.7 s of teardown after the summary killed the process with 143 instead of 0."""
    command = _command(tmp_path)
    wrapper = tmp_path / "slow_teardown.py"
    wrapper.write_text(_SLOW_TEARDOWN)
    command[1:2] = [str(wrapper), command[1]]
    run = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stderr is not None
        for line in run.stderr:  # the command's own lines, then the teardown's
            if line == "tearing down\n":
                break
        run.send_signal(signal.SIGTERM)
        stdout, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert "3 done" in stdout
    assert run.returncode == 0


# --- 5 and 6. outputs that appear while a run goes on -----------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("pipeline", [Pipeline(), False], ids=["pipelined", "one-at-a-time"])
def test_a_folder_where_an_output_goes_fails_that_file_alone(
    tmp_path: Path, pipeline: Pipeline | bool, overwrite: bool
) -> None:
    """A folder at an output's path was skipped as "output exists" (as if done), or with --overwrite failed the
    whole run."""
    plan = plan_batch([str(_photos(tmp_path / "in", count=3))], tmp_path / "out", tag="x", overwrite=overwrite)
    (tmp_path / "out" / "p1.png").mkdir(parents=True)  # appears after the plan, before the job
    summary = run_jobs(
        plan, job_handler(Restoration(photo=_invert)), overwrite=overwrite, progress=False, pipeline=pipeline
    )
    kinds = _partition(summary, 3)
    assert kinds["done"] == ["p0.png", "p2.png"] and kinds["failed"] == ["p1.png"]
    assert "output path is a folder" in summary.failed[0].reason
    assert (tmp_path / "out" / "p1.png").is_dir()


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_a_folder_at_an_output_path_at_plan_time_fails_that_file_alone(tmp_path: Path, overwrite: bool) -> None:
    """A folder there before the run was skipped as "output exists ... use --overwrite" (exit 0), and with
    --overwrite refused the whole run (exit 2)."""
    photos = _photos(tmp_path / "in", count=3)
    (tmp_path / "out" / "p1.png").mkdir(parents=True)
    args = ("desnow", str(photos), "-o", str(tmp_path / "out"), "--json", "--device", "cpu")
    code, stdout, _ = invoke_command(desnow, *args, *(["--overwrite"] if overwrite else []), models=StandIn(_Inverter))
    assert code == 1, stdout
    data = json.loads(stdout)
    assert sorted(Path(d["input"]).name for d in data["done"]) == ["p0.png", "p2.png"]
    assert [Path(f["path"]).name for f in data["failed"]] == ["p1.png"] and data["skipped"] == []
    assert data["failed"][0]["reason"].endswith("output path is a folder; remove it or choose another -o DIR")
    assert (tmp_path / "out" / "p1.png").is_dir()


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("pipeline", [Pipeline(), False], ids=["pipelined", "one-at-a-time"])
def test_an_output_that_appears_while_its_job_runs_is_kept(
    tmp_path: Path, pipeline: Pipeline | bool, overwrite: bool
) -> None:
    """Two runs at once: the second one's rename replaced outputs the first had just written."""
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_batch([str(_photos(tmp_path / "in", count=3))], out, tag="x", overwrite=overwrite)
    theirs = b"another run's output"

    def invert_while_another_run_writes(image: Any) -> np.ndarray:
        if image.path.name == "p1.png":
            (out / "p1.png").write_bytes(theirs)
        return 1.0 - image.pixels

    handler = job_handler(Restoration(photo=invert_while_another_run_writes))
    summary = run_jobs(plan, handler, overwrite=overwrite, progress=False, pipeline=pipeline)
    kinds = _partition(summary, 3)
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]  # no temporary left
    if overwrite:  # asked to replace: replaced, as before
        assert kinds["done"] == ["p0.png", "p1.png", "p2.png"] and (out / "p1.png").read_bytes() != theirs
    else:
        assert kinds["done"] == ["p0.png", "p2.png"] and kinds["skipped"] == ["p1.png"]
        assert (out / "p1.png").read_bytes() == theirs
        assert summary.skipped[0].reason.startswith("output appeared meanwhile (another run?): ")


@pytest.mark.parametrize("code", [errno.EPERM, errno.EINVAL, errno.ENOTTY], ids=["EPERM", "EINVAL", "unknown"])
def test_a_kept_output_is_still_written_where_the_file_system_cannot_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """FAT and exFAT make no hard links: the write falls back to today's rename. On Windows, FAT/exFAT (WinError 1)
    and SMB shares (ERROR_NOT_SUPPORTED) come as EINVAL, which failed every new output on a memory card."""
    from weatherclean.io.atomic import keep_existing

    def no_links(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_links)
    dest = tmp_path / "a.png"
    with keep_existing(dest):
        atomic_write(dest, b"ours")
    assert dest.read_bytes() == b"ours" and os.listdir(tmp_path) == ["a.png"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_a_link_error_of_the_disk_itself_is_the_writes_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A full, read-only or failing disk is not "cannot link here": no rename is tried, the error is the write's."""
    from weatherclean.errors import OutputError
    from weatherclean.io.atomic import keep_existing

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", failing)
    dest = tmp_path / "a.png"
    with keep_existing(dest), pytest.raises(OutputError):
        atomic_write(dest, b"ours")
    assert os.listdir(tmp_path) == []


def test_a_kept_output_is_refused_and_left_alone(tmp_path: Path) -> None:
    from weatherclean.errors import OutputAppeared
    from weatherclean.io.atomic import keep_existing

    dest = tmp_path / "a.png"
    dest.write_bytes(b"theirs")
    with keep_existing(dest), pytest.raises(OutputAppeared):
        atomic_write(dest, b"ours")
    assert dest.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["a.png"]
    atomic_write(dest, b"ours")  # outside the block, a write replaces as always
    assert dest.read_bytes() == b"ours"


# --- 8. smaller inconsistencies -----------------------------------------------------------------------------------


def _mixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mix/`` with a good photo and a text file named ``bad.jpg``, the working folder at ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    _photos(tmp_path / "mix", count=1)
    (tmp_path / "mix" / "bad.jpg").write_text("not a picture")


def test_a_dry_run_answers_as_a_run_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--dry-run --json`` lacked ``ok`` and ``exit_code``, and a missing input got no ``error:`` line."""
    _mixed(tmp_path, monkeypatch)
    code, stdout, stderr = invoke_command(
        desnow, "desnow", "mix", "nothere", "-o", "out", "--dry-run", "--json", models=StandIn(_Inverter)
    )
    data = json.loads(stdout)
    assert code == 1 and data["ok"] is False and data["exit_code"] == 1 and data["dry_run"] is True
    assert "error: nothere: file or folder not found" in stderr
    code, stdout, stderr = invoke_command(desnow, "desnow", "mix", "-o", "out", "--dry-run", "--json")
    data = json.loads(stdout)
    assert code == 0 and data["ok"] is True and data["exit_code"] == 0 and stderr == ""


@pytest.mark.parametrize("option", [["--shard", "9/8"], ["--shard", "x"], ["--tile", "10"]], ids=["9/8", "x", "tile"])
def test_out_of_range_option_values_are_the_parsers_to_report(tmp_path: Path, option: list[str]) -> None:
    """``--shard 9/8`` answered in JSON on stdout; ``--tile 10`` on stderr only, as the docs say of every option
    error."""
    photos = _photos(tmp_path / "in", count=1)
    code, stdout, stderr = invoke_command(desnow, "desnow", str(photos), "--json", *option, models=StandIn(_Inverter))
    assert code == 2 and stdout == ""
    assert f"Invalid value for '{option[0]}'" in stderr


def test_a_narrow_table_folds_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``COLUMNS=20`` showed a skipped ``mix/notes.gif`` as ``mi…``."""
    from weatherclean.cli.common import console

    monkeypatch.chdir(tmp_path)
    _photos(tmp_path / "mix", count=1)
    (tmp_path / "mix" / "notes_from_the_trip.gif").write_bytes(b"GIF89a")
    monkeypatch.setattr(console, "_width", 24)
    code, stdout, _ = invoke_command(desnow, "desnow", "mix", "-o", "out", "--device", "cpu", models=StandIn(_Inverter))
    assert code == 0 and "…" not in stdout
    cells = [line.split("│")[2].strip() for line in stdout.splitlines() if line.count("│") == 4]
    assert "mix/notes_from_the_trip.gif" in "".join(cells)
