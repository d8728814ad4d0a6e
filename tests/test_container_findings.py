"""Findings from packaging weatherclean in a container: an arbitrary uid with no passwd entry and no HOME, a read-only
root, no TTY, odd COLUMNS, a working directory removed under the shell, an address-space limit."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from rich.table import Table

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.cli import desnow, models


def _photos(folder: Path) -> Path:
    folder.mkdir()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / "a.png")
    return folder


# --- 1. COLUMNS=0 hid every line; 7. COLUMNS=1 drew one letter a line ------------------------------------------------


def test_columns_that_are_no_width_are_ignored_and_tiny_ones_raised() -> None:
    from weatherclean.cli import NARROWEST, usable_columns

    assert [usable_columns(v) for v in (None, "0", "", "abc", "-3", " 80 ")] == [None, None, None, None, None, 80]
    assert usable_columns("1") == NARROWEST == 20


def test_a_console_made_under_columns_0_prints_its_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from weatherclean.cli import common

    monkeypatch.setenv("COLUMNS", "0")
    console = common._console(stderr=True)
    assert console.width == 120  # not a terminal: as with no COLUMNS
    console.print("error: nothere: file or folder not found", highlight=False, soft_wrap=True)  # this console alone
    assert capsys.readouterr().err == "error: nothere: file or folder not found\n"
    monkeypatch.setenv("COLUMNS", "1")
    assert common._console().width == 20


def test_help_under_columns_0_is_printed_and_columns_put_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from weatherclean.cli import main

    monkeypatch.setenv("COLUMNS", "0")
    with pytest.raises(SystemExit) as ended:
        main(["models", "--help"], as_command=False)
    assert ended.value.code in (0, None)
    assert "list" in capsys.readouterr().out  # Typer's own help console read COLUMNS=0 and printed 1 byte
    assert os.environ["COLUMNS"] == "0"  # a program's environment is its own again


def test_the_command_under_columns_0_still_says_its_error() -> None:
    """The command's own consoles are made as it starts, in its process: one real run."""
    env = {**os.environ, "COLUMNS": "0", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "weatherclean", "desnow", "nothere"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("error: nothere: "), run.stderr


def _models_table() -> Table:
    table = Table("name", "task", "description", title="models")
    table.add_row("desnownet-light", "snow", "the default snow model, small and quick")
    return table


def test_a_table_on_a_one_column_console_folds_into_blocks_as_at_20() -> None:
    from weatherclean.tables import print_table

    shown = {}
    for width in (1, 20):
        out = io.StringIO()
        print_table(Console(file=out, width=width), _models_table())
        shown[width] = out.getvalue()
    assert shown[1] == shown[20]
    assert "  task: snow" in shown[1].splitlines()  # not one letter a line, nor cut at the console's edge


# --- 2. --in-place under a read-only /tmp: locking was off without a word ---------------------------------------------


@pytest.fixture
def read_only_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lock parent in which no folder can be made (``EROFS``, as a read-only root gives), and no TMPDIR."""
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir(mode=0o755)
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    monkeypatch.delenv("TMPDIR", raising=False)
    real_mkdir = os.mkdir

    def mkdir(path: str | os.PathLike[str], mode: int = 0o777, *args: object, **kwargs: object) -> None:
        if Path(path).parent == parent:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        real_mkdir(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", mkdir)
    return parent


def test_a_lock_folder_that_cannot_be_made_is_said_with_the_reason(tmp_path: Path, read_only_tmp: Path) -> None:
    from weatherclean.batch.locks import inputs_locked

    with inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None and unlocked.path == read_only_tmp / f"weatherclean-{os.geteuid()}" / "locks"
        assert "Read-only file system" in unlocked.why and "not locked" in unlocked.why
        assert "TMPDIR" in unlocked.why


def test_tmpdir_takes_the_locks_where_tmp_cannot(
    tmp_path: Path, read_only_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.batch.locks import inputs_locked, lock_folder

    mine = tmp_path / "mytmp"
    mine.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(mine))
    assert lock_folder() == mine / f"weatherclean-{os.geteuid()}" / "locks"
    with inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is None
        assert list((mine / f"weatherclean-{os.geteuid()}" / "locks").iterdir())  # really locked there


def test_an_emptydir_like_tmp_open_to_all_is_said_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir()
    parent.chmod(0o777)  # a Kubernetes emptyDir: open to all, no sticky bit
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    monkeypatch.delenv("TMPDIR", raising=False)
    with locks.inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None and "without the sticky bit" in unlocked.why and "TMPDIR" in unlocked.why


def test_the_cli_says_the_run_is_not_locked(tmp_path: Path, read_only_tmp: Path) -> None:
    photos = _photos(tmp_path / "in")
    code, _, err = invoke_command(desnow, "desnow", str(photos), "--in-place", "--device", "cpu",
                                  models=StandIn(Inverter))  # fmt: skip
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:") and "not locked" in line]
    assert len(notes) == 1 and "the --in-place lock folder cannot be made" in notes[0], err


# --- 3. no HOME and no passwd entry: the Hub cache's ~ ended in a RuntimeError traceback ------------------------------


def test_a_hub_model_with_no_home_is_one_line_naming_hf_home(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    from huggingface_hub import constants

    def no_entry(uid: int) -> object:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", "~/.cache/huggingface/hub")  # as computed with no home
    code, out, err = invoke_command(models, "models", "info", "someone/model", "--offline", "--json")
    assert code == 2, err
    answer = json.loads(out)
    assert answer["ok"] is False and answer["exit_code"] == 2
    assert "HF_HOME or HF_HUB_CACHE" in answer["error"] and "no home folder is known" in answer["error"]
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


# --- 4. a working directory removed under the shell -------------------------------------------------------------------


def test_a_removed_working_directory_is_one_line_and_a_json_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = _photos(tmp_path / "in")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    args = (str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", "--json")
    code, out, err = invoke_command(desnow, "desnow", *args, models=StandIn(Inverter))
    assert code == 2, err
    assert json.loads(out)["error"].startswith("the working directory no longer exists")
    assert err.strip() == (
        "error: the working directory no longer exists (removed while this shell was in it); cd to another folder "
        "and rerun"
    )
    assert not (tmp_path / "out").exists()
    code, out, err = invoke_command(models, "models", "list")  # a command without --json: the line alone
    assert code == 2 and out == "" and "working directory no longer exists" in err


def test_display_with_a_removed_working_directory_shows_the_path_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.io.folders import display

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert display(tmp_path / "out") == tmp_path / "out"


# --- 5. PyTorch that cannot be loaded (ulimit -v) ---------------------------------------------------------------------


def _torch_import_failure(message: str, kind: type[BaseException] = ImportError) -> BaseException:
    """The exception as ``import torch`` raises it: from the top level of a ``torch`` module."""
    code = compile(f"raise {kind.__name__}({message!r})", "torch/__init__.py", "exec")
    try:
        exec(code, {"__name__": "torch"})
    except kind as exc:
        return exc
    raise AssertionError("not raised")


def test_torch_failing_to_load_under_ulimit_v_is_one_line_with_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from weatherclean.cli.common import torch_load_error

    exc = _torch_import_failure("libtorch_cpu.so: failed to map segment from shared object")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (300000 * 1024, resource.RLIM_INFINITY))
    error = torch_load_error(exc)
    assert error is not None and "ulimit -v 300000" in str(error) and "libtorch_cpu.so" in str(error)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert "reinstall" in str(torch_load_error(exc))
    assert torch_load_error(ImportError("No module named 'something_else'")) is None  # others keep their traceback


def test_the_cli_answers_a_torch_load_failure_in_one_line_and_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (300000 * 1024, resource.RLIM_INFINITY))
    photos = _photos(tmp_path / "in")

    def unloadable() -> object:
        raise _torch_import_failure("libtorch_cpu.so: failed to map segment from shared object")

    args = (str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", "--json")
    code, out, err = invoke_command(desnow, "desnow", *args, models=StandIn(unloadable))
    assert code == 2, err
    answer = json.loads(out)
    assert answer["exit_code"] == 2 and "ulimit -v 300000" in answer["error"]
    assert err.startswith("error: PyTorch could not be loaded") and len(err.strip().splitlines()) == 1


# --- 8. a name the output's encoding cannot write ---------------------------------------------------------------------


def test_a_name_is_shown_alike_whatever_the_streams_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """``shown`` (and so ``--json``'s error text) does not depend on the stream's encoding: the name itself goes to
    scripts under any locale; the stream writes what it cannot encode as bytes (the next test)."""
    from weatherclean.io.folders import shown

    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="backslashreplace")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert shown("in/ok \u2603.jpg") == "in/ok \u2603.jpg"


# --- round 2 ----------------------------------------------------------------------------------------------------------
# 1. no usable temporary folder: `models info` of a rain model ended in PyTorch's AssertionError traceback


def test_models_info_of_a_rain_model_with_no_temporary_folder_is_one_line_and_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What PyTorch does there, stood in for: ``tempfile.gettempdir`` raises, and ``FlopCounterMode``'s second import
    of ``torch._dynamo`` (the first one's failure swallowed) raises an AssertionError."""
    # torch._dynamo imported for real first: its import under the stand-in fails half-way and leaves PyTorch's
    # artifact registry broken for every later test in this process
    import tempfile

    import torch._dynamo  # noqa: F401

    from weatherclean.models import j4rnet

    def no_temporary_folder() -> str:
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found in ['/tmp', '/var/tmp']")

    def half_imported(*args: object, **kwargs: object) -> float:
        raise AssertionError("Artifact of type=precompile already registered in mega-cache artifact factory")

    monkeypatch.setattr(tempfile, "gettempdir", no_temporary_folder)
    monkeypatch.setattr(j4rnet, "count_macs", half_imported)
    code, out, err = invoke_command(models, "models", "info", "j4rnet-wide", "--json")
    assert code == 2, err
    answer = json.loads(out)
    assert answer["exit_code"] == 2 and answer["error"].startswith("no usable temporary folder (No usable temporary")
    assert "set TMPDIR" in answer["error"]
    assert err == f"error: {answer['error']}\n"


def test_a_failure_with_a_temporary_folder_keeps_its_traceback() -> None:
    from weatherclean.cli.common import unloadable_error

    assert unloadable_error(AssertionError("a bug")) is None


# 2. the address-space limit was blamed for any PyTorch load failure


def test_a_limit_is_blamed_only_for_a_failure_that_reads_as_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from weatherclean.cli.common import torch_load_error

    monkeypatch.setattr(resource, "getrlimit", lambda which: (64 * 2**30, resource.RLIM_INFINITY))  # a batch default
    for broken in (
        _torch_import_failure("libcudnn.so.9: cannot open shared object file: No such file or directory", OSError),
        _torch_import_failure("No module named 'sympy'", ModuleNotFoundError),
        # the loader's words without memory running out: glibc's static TLS block, a library on a noexec mount
        _torch_import_failure("libgomp.so.1: cannot allocate memory in static TLS block"),
        _torch_import_failure("libtorch_cpu.so: failed to map segment from shared object: Operation not permitted"),
    ):
        said = str(torch_load_error(broken))
        assert "install looks broken" in said and "raise the limit" not in said, said
        assert "ulimit -v 67108864" in said  # the limit, as context
    for memory in (
        _torch_import_failure("libtorch_cpu.so: failed to map segment from shared object"),
        _torch_import_failure("", MemoryError),
    ):
        assert "raise the limit" in str(torch_load_error(memory))
    enomem = _torch_import_failure("mmap", OSError)
    enomem.errno = errno.ENOMEM  # type: ignore[attr-defined]
    assert "raise the limit" in str(torch_load_error(enomem))


# 3. COLUMNS put back wrongly when commands run in two threads, or after the program set it


def test_columns_are_put_back_by_the_last_of_two_overlapping_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interleaving of /tmp/rv/race.py, made certain: the first command ends while the second still runs."""
    import threading

    from weatherclean import cli

    monkeypatch.setenv("COLUMNS", "0")
    seen: list[str | None] = []

    def overlapping() -> None:  # off the main thread, as a program's worker threads are: no signal handlers
        first, second = cli._borrowed_process(), cli._borrowed_process()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        seen.append(os.environ.get("COLUMNS"))
        second.__exit__(None, None, None)

    worker = threading.Thread(target=overlapping)
    worker.start()
    worker.join()
    assert seen == [None]  # still tidied for the second one
    assert os.environ.get("COLUMNS") == "0"


def test_columns_the_program_set_meanwhile_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean import cli

    monkeypatch.setenv("COLUMNS", "0")
    with cli._borrowed_process():
        os.environ["COLUMNS"] = "100"  # the program's own, set while the command ran
    assert os.environ["COLUMNS"] == "100"


# 4. printing the error hit MemoryError importing Rich's emoji table


def test_an_error_line_reads_no_emoji_and_survives_memory_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from weatherclean.cli import common

    common.print_error("model :smile: not found")
    assert capsys.readouterr().err == "error: model :smile: not found\n"  # no emoji table imported, nor shown

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(common.err_console, "print", out_of_memory)
    common.print_error("desnownet-light: cannot load the model (out of memory)")
    assert capsys.readouterr().err == "error: desnownet-light: cannot load the model (out of memory)\n"


# 5. a path inside a reason on an ASCII stream came out as \u2603


def test_a_character_an_ascii_stream_cannot_write_is_written_as_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import common

    ascii_err = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="backslashreplace")
    monkeypatch.setattr(sys, "stderr", ascii_err)
    common.print_error("out/\u2603/x: cannot create the output folder: out/\u2603 is read-only")
    ascii_err.flush()
    written = ascii_err.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    snowman = "".join(f"\\x{b:02x}" for b in os.fsencode("\u2603"))
    assert written == f"error: out/{snowman}/x: cannot create the output folder: out/{snowman} is read-only\n"


# 6. lock notes: one FOLDER: reason per folder tried


def test_a_lock_folder_left_on_a_now_read_only_tmp_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.batch import locks

    parent = tmp_path / "tmp"
    parent.mkdir(mode=0o755)
    uid = os.geteuid()
    left = parent / f"weatherclean-{uid}" / "locks"
    left.mkdir(parents=True, mode=0o700)
    (parent / f"weatherclean-{uid}").chmod(0o700)
    monkeypatch.setattr(locks, "LOCK_PARENT", parent)
    monkeypatch.delenv("TMPDIR", raising=False)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != left and real_access(path, mode, **kw))
    with locks.inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None and unlocked.path == left
        assert unlocked.why.startswith("the --in-place lock folder exists but cannot be written (read-only file ")
        assert "((" not in unlocked.why and "cannot make" not in unlocked.why


def test_two_lock_folders_that_fail_are_each_said_once(
    tmp_path: Path, read_only_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.batch import locks

    other = tmp_path / "other"
    other.mkdir()
    other.chmod(0o777)  # open to all, no sticky bit
    monkeypatch.setenv("TMPDIR", str(other))
    with locks.inputs_locked([str(tmp_path)]) as unlocked:
        assert unlocked is not None
    uid = os.geteuid()
    line = f"{unlocked.path}: {unlocked.why}"
    assert line.startswith(f"{read_only_tmp}/weatherclean-{uid}/locks: the --in-place lock folder cannot be made (")
    assert f"; {other}/weatherclean-{uid}/locks: is not made: its parent is open to all without the sticky bit" in line
    assert line.count(str(read_only_tmp)) == 1 and line.count(str(other)) == 1
    assert len(line) - 2 * len(f"{other}/weatherclean-{uid}/locks") < 400, line


# 7. one NARROWEST; a terminal's width followed under an unusable COLUMNS


def test_the_cli_and_the_tables_share_one_narrowest_width() -> None:
    from weatherclean import cli, tables

    assert cli.NARROWEST == tables.NARROWEST


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("columns", ["abc", "0"])
def test_a_console_on_a_terminal_follows_its_resizes_whatever_columns_holds(
    monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    from weatherclean.cli import common

    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR", "JUPYTER_COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(sys, "stdout", _Terminal())
    size = {"columns": 77}
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=0: os.terminal_size((size["columns"], 24)))
    console = common._console()
    assert console.is_terminal and console.width == 77
    size["columns"] = 99  # the window resized
    assert console.width == 99
