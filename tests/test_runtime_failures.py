"""A reliability engineer's findings, failing the runtime environment mid-run: an input replaced by a FIFO after
planning (the run hung for good), a FIFO appearing at an output's path, a read-only output disk or an output
folder replaced by a file (every photo left was computed, then failed), too little memory (a traceback at the
model's load; each photo failed with PyTorch's own words and "close other programs" under the process's own
limit), and a ``--dry-run`` that passed weights cut short in their data. Each test fails without its fix; tiny
photos and stand-in models made here, in-process."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean import devices, errors
from weatherclean.batch import Job, run_jobs
from weatherclean.batch.handlers import StagedHandler, photo_handler
from weatherclean.batch.run import Pipeline
from weatherclean.cli import desnow
from weatherclean.errors import InputError, ModelError, OutputError
from weatherclean.io.images import load, load_image, opener

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, read-only mounts and ulimit are POSIX's")

PIPELINES = [pytest.param(False, id="one-at-a-time"), pytest.param(True, id="pipelined")]


def _photo(path: Path, size: int = 16, shade: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), shade, np.uint8)).save(path)
    return path


def _jobs(folder: Path, n: int, out: Path | None = None, size: int = 16) -> list[Job]:
    out = out or folder.parent / "out"
    return [Job(_photo(folder / f"p{i}.png", size, 30 * i), out / f"p{i}.png") for i in range(n)]


def _pipeline(pipelined: bool) -> Pipeline | bool:
    return Pipeline() if pipelined else False


def _released(fifo: Path, call: Callable[[], Any], seconds: float = 20.0) -> Any:
    """``call()`` in a thread; if it is still running after ``seconds`` (blocked opening ``fifo`` for reading), a
    writer opens the FIFO and closes it, so the reader sees its end and the test fails rather than hangs."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    while thread.is_alive():
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(0.2)
    assert not hung, f"blocked opening the FIFO {fifo}"
    if "error" in box:
        raise box["error"]
    return box["value"]


# ----------------------------------------------------------------- 1. an input replaced by a FIFO after planning


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_photo_replaced_by_a_fifo_after_planning_fails_alone(tmp_path: Path, pipelined: bool) -> None:
    """The pipeline read the next photo's header (``Image.open`` of its name) and hung there for good."""
    jobs = _jobs(tmp_path / "in", 3)
    jobs[1].source.unlink()
    os.mkfifo(jobs[1].source)
    handler = photo_handler(lambda image: 1.0 - image.pixels)
    summary = _released(jobs[1].source, lambda: run_jobs(jobs, handler, progress=False, pipeline=_pipeline(pipelined)))
    assert [job.source for job in summary.done] == [jobs[0].source, jobs[2].source]
    (failure,) = summary.failed
    assert failure.path == jobs[1].source and "not a regular file (a FIFO)" in failure.reason


def test_the_photo_reader_judges_the_file_it_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look at the name before the open leaves a moment in which a FIFO can be put there: what is opened is
    judged, without waiting for a writer (the look is skipped here, as if the FIFO came just after it)."""
    fifo = tmp_path / "late.jpg"
    os.mkfifo(fifo)
    monkeypatch.setattr(load, "_check_file", lambda _path: None)
    with pytest.raises(InputError, match=r"late\.jpg: not a regular file \(a FIFO\)"):
        _released(fifo, lambda: load_image(fifo))
    assert _released(fifo, lambda: opener.header_pixels(fifo)) is None
    photo = _photo(tmp_path / "a.png")  # a regular file still reads, and the image closes the file it was given
    image = opener.open_image(photo)
    handle = image.fp
    image.load()
    assert handle is not None and handle.closed and load_image(photo).pixels.shape == (16, 16, 3)


# -------------------------------------------------------------- 6. a FIFO appearing at an output's path mid-run


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_fifo_appearing_at_an_output_fails_as_at_planning(tmp_path: Path, pipelined: bool) -> None:
    """It was skipped as "output appeared meanwhile (another run?)", exit code 0, where a rerun failed it."""
    jobs = _jobs(tmp_path / "in", 2)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        if job is jobs[0]:
            jobs[1].output.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(jobs[1].output)
        return real.compute(job, value)

    handler = StagedHandler(real.decode, compute, real.encode)
    summary = run_jobs(jobs, handler, progress=False, pipeline=_pipeline(pipelined))
    assert [job.source for job in summary.done] == [jobs[0].source] and not summary.skipped
    (failure,) = summary.failed
    assert "output path is not a regular file (a FIFO); choose another output path" in failure.reason
    assert summary.exit_code == 1


# ------------------------------------------------ 3. a read-only output disk, an output folder replaced by a file


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_read_only_output_disk_stops_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    import weatherclean.io.atomic as atomic

    jobs = _jobs(tmp_path / "in", 4)

    def read_only(_fd: int) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic.os, "fsync", read_only)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    (failure,) = summary.failed
    assert "cannot write (Read-only file system)" in failure.reason and "read-only: the batch stopped" in failure.reason
    assert len(summary.not_done) == 3 and not summary.interrupted and summary.exit_code == 1
    assert all("the output disk is read-only" in record.reason for record in summary.not_done)
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["counts"] == {"done": 0, "skipped": 0, "failed": 1, "not_done": 3}


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_an_output_folder_replaced_by_a_file_stops_the_batch(tmp_path: Path, pipelined: bool) -> None:
    out = tmp_path / "out"
    jobs = _jobs(tmp_path / "in", 5, out)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        if job is jobs[2]:  # the first two are written by now (one-at-a-time) or on their way (pipelined)
            deadline = time.monotonic() + 10  # the write in flight (pipelined) makes out again: let it land first
            while not jobs[1].output.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            shutil.rmtree(out)
            out.write_bytes(b"not a folder")
        return real.compute(job, value)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    # the write that found it (the third photo's; pipelined, the second's, in flight) is the one failure
    (failure,) = summary.failed
    assert "is no longer a folder (a file is there): the batch stopped" in failure.reason, summary.to_dict()
    assert len(summary.not_done) >= 2 and len(summary.done) + len(summary.not_done) == 4
    assert all("is no longer a folder" in record.reason for record in summary.not_done)


def test_one_unwritable_sub_folder_does_not_stop_the_tree(tmp_path: Path) -> None:
    """Only the folder every output goes under stops the batch: a sub-folder of the tree fails its own photos."""
    out = tmp_path / "out"
    jobs = [Job(_photo(tmp_path / "in" / d / f"{d}{i}.png"), out / d / f"{d}{i}.png") for d in "ab" for i in range(2)]
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        if job is jobs[0]:
            (out / "a").parent.mkdir(parents=True, exist_ok=True)
            (out / "a").write_bytes(b"in the way")
        return real.compute(job, value)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False, pipeline=False)
    assert [r.path for r in summary.failed] == [jobs[0].source, jobs[1].source]
    assert [j.source for j in summary.done] == [jobs[2].source, jobs[3].source] and not summary.not_done
    assert not any("stopped" in r.reason for r in summary.failed)


# --------------------------------------------------------------------------------------------- 4. memory


ALLOCATOR = "[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: can't allocate memory: you tried to"


@pytest.fixture
def ulimit_v(monkeypatch: pytest.MonkeyPatch) -> int:
    """The process's address-space limit as ``ulimit -v 800000`` sets it (in bytes), without setting it."""
    limit = 800000 * 1024
    monkeypatch.setattr(errors, "memory_limit", lambda: limit, raising=False)
    monkeypatch.setattr(devices, "memory_limit", lambda: limit, raising=False)
    return limit


@pytest.mark.parametrize("pipelined", PIPELINES)
@pytest.mark.parametrize("said", ["could not create a primitive", "can't allocate read lock", ALLOCATOR])
def test_pytorch_out_of_memory_errors_are_memory_failures(tmp_path: Path, pipelined: bool, said: str) -> None:
    """Under a memory limit PyTorch raises RuntimeErrors: each photo failed as "RuntimeError: could not create a
    primitive", which read like a bug. One photo alone (the next one restores) fails, and the batch goes on."""
    jobs = _jobs(tmp_path / "in", 2)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        if job is jobs[0]:
            raise RuntimeError(said)
        return real.compute(job, value)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    (failure,) = summary.failed
    assert failure.why.startswith("out of memory while restoring (") and "RuntimeError" not in failure.why
    assert "try a smaller --tile" in failure.why and len(summary.done) == 1 and not summary.not_done


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_batch_whose_model_cannot_get_memory_stops(tmp_path: Path, ulimit_v: int, pipelined: bool) -> None:
    """Under ``ulimit -v`` every one of 40 photos failed alike: two in a row, with none left smaller, stop it."""
    jobs = _jobs(tmp_path / "in", 6)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        raise RuntimeError("could not create a primitive")

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    assert len(summary.failed) == 2 and len(summary.not_done) == 4, summary.to_dict()
    assert "none left is smaller: the batch stopped" in summary.failed[-1].reason
    assert "ulimit -v 800000" in summary.failed[0].reason and "close other programs" not in summary.failed[0].reason
    assert all("not enough memory" in r.reason and "ulimit -v unlimited" in r.reason for r in summary.not_done)


def test_big_photos_out_of_memory_do_not_stop_the_small_ones_behind(tmp_path: Path) -> None:
    """A rerun does the jobs in the same order: stopping at two big photos would never reach the small ones."""
    jobs = [Job(_photo(tmp_path / "in" / f"p{i}.png", size), tmp_path / "out" / f"p{i}.png")
            for i, size in enumerate((64, 64, 64, 16))]  # fmt: skip
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        if value.image.pixels.shape[0] > 32:
            raise MemoryError
        return real.compute(job, value)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False, pipeline=False)
    assert len(summary.failed) == 3 and [j.source for j in summary.done] == [jobs[3].source]
    assert not summary.not_done


def test_decoding_out_of_memory_names_the_process_limit(
    tmp_path: Path, ulimit_v: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "close other programs" was the wrong way out when the limit that ran out is the process's own."""
    src = _photo(tmp_path / "a.png")

    def no_memory(*_args: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(load, "_decode", no_memory)
    with pytest.raises(InputError) as caught:
        load_image(src)
    assert isinstance(caught.value, getattr(errors, "OutOfMemoryError", ()))  # what a batch counts to stop
    assert "not enough memory to decode this image" in str(caught.value)
    assert "781 MiB" in str(caught.value) and "ulimit -v unlimited" in str(caught.value)


def test_a_model_that_cannot_get_memory_is_one_line_and_exit_2(tmp_path: Path, ulimit_v: int) -> None:
    """``(ulimit -v 800000; weatherclean derain clip.mp4)`` ended in a traceback through the model's build."""

    class Starved(Inverter):
        def to(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(ALLOCATOR)

    _photo(tmp_path / "in" / "a.png")
    code, _stdout, stderr = invoke_command(
        desnow, "desnow", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu",
        models=StandIn(Starved),
    )  # fmt: skip
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: ") and "not enough memory to load the model" in lines[0]
    assert "ulimit -v 800000" in lines[0] and not (tmp_path / "out").exists()


def test_a_model_folder_built_out_of_memory_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models.desnownet import DesnowNet

    folder = _tiny_model(tmp_path / "m")

    def starved(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(ALLOCATOR)

    monkeypatch.setattr(DesnowNet, "__init__", starved)
    from weatherclean.models.loading import load_from_folder

    with pytest.raises(ModelError, match=r"m: not enough memory to load the model \(\[enforce fail"):
        load_from_folder(folder)


def test_the_memory_available_counts_the_address_space_limit(
    tmp_path: Path, ulimit_v: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiles were chosen from the machine's free gigabytes under ``ulimit -v 800000``, and never fitted."""
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmSize:\t  700000 kB\nVmRSS:\t  200000 kB\n")
    monkeypatch.setattr(devices, "SELF_STATUS", status, raising=False)
    monkeypatch.setattr(devices, "_meminfo_available", lambda: 64 * 2**30)
    monkeypatch.setattr(devices, "_cgroup_room", lambda: None)
    assert devices.available_memory() == (800000 - 700000) * 1024


# ----------------------------------------------------------------------- 7. weights cut short in their data


def _tiny_model(folder: Path) -> Path:
    from synthetic import tiny_desnownet_config
    from weatherclean.models.desnownet import DesnowNet

    torch.manual_seed(0)
    DesnowNet(tiny_desnownet_config()).save_pretrained(folder)
    return folder


def test_dry_run_refuses_weights_cut_short_in_their_data(tmp_path: Path) -> None:
    """``head -c N model.safetensors`` behind a whole header passed ``--dry-run`` (exit 0); the run said "damaged
    or truncated weights" (exit 2). The header's data offsets tell it, with no tensor read."""
    from weatherclean.models.loading import check_weights_file

    folder = _tiny_model(tmp_path / "m")
    weights = folder / "model.safetensors"
    check_weights_file(weights)  # whole
    whole = weights.read_bytes()
    weights.write_bytes(whole[: len(whole) - 100])
    with pytest.raises(ModelError, match=r"damaged or truncated weights \(\d+ bytes, cut short"):
        check_weights_file(weights)
    _photo(tmp_path / "a.png")
    code, _stdout, stderr = invoke_command(desnow, "desnow", str(tmp_path / "a.png"), "--dry-run", "--model",
                                           str(folder))  # fmt: skip
    assert code == 2 and "damaged or truncated weights" in stderr and "copy them again" in stderr, stderr


# ------------------------------------------------------- round 2: stops that were one folder's, not the batch's


def _writes_fail(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """Every photo written into ``folder`` fails with ``code``, as the atomic writer reports it: a one-line
    ``OutputError`` raised from the ``OSError`` (whose errno the batch reads)."""
    from weatherclean.io.images import save

    real = save.atomic_write

    def write(dest: Path, data: bytes) -> None:
        if Path(dest).parent == folder:
            try:
                raise OSError(code, os.strerror(code), str(dest))
            except OSError as exc:
                raise OutputError(f"{dest}: cannot write ({exc.strerror})") from exc
        real(dest, data)

    monkeypatch.setattr(save, "atomic_write", write)


def _unwritable(monkeypatch: pytest.MonkeyPatch, folders: Callable[[], set[Path]]) -> None:
    """No file can be made in the folders ``folders()`` names (as for root's ``/data`` to its users; the tests run
    as root, whom permissions do not stop): the probe's ``mkstemp`` there fails with ``EACCES``."""
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dir") is not None and Path(kwargs["dir"]) in folders():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(kwargs["dir"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def _beside(folder: Path, names: str) -> list[Job]:
    """A photo per letter in ``folder``, each written beside it, in ``folder/out``."""
    return [Job(_photo(folder / f"{n}.png"), folder / "out" / f"{n}.png") for n in names]


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_failed_write_under_an_unwritable_shared_parent_does_not_stop_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    """Outputs beside their inputs in two folders share only a parent such as ``/data``, never writable: any failed
    write probed it, found it unwritable, and stopped the batch; the other folder's photos were not done."""
    shared = tmp_path / "shared"
    jobs = [*_beside(shared / "a", "pq"), *_beside(shared / "b", "rs")]
    _unwritable(monkeypatch, lambda: {shared})
    _writes_fail(monkeypatch, shared / "a" / "out", errno.EACCES)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    assert [r.path for r in summary.failed] == [jobs[0].source, jobs[1].source], summary.to_dict()
    assert [j.source for j in summary.done] == [jobs[2].source, jobs[3].source] and not summary.not_done
    assert not any("stopped" in r.reason for r in summary.failed)


def test_in_place_under_an_unwritable_shared_parent_does_the_other_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's repro (``--in-place share/a share/b``, ``a`` made read-only mid-run, the shared parent root's):
    "the output folder share can no longer be written in: the batch stopped", and b's photos not done."""
    shared = tmp_path / "shared"
    a = [_photo(shared / "a" / f"{n}.png", shade=40) for n in "pq"]
    b = [_photo(shared / "b" / f"{n}.png", shade=40) for n in "rs"]
    _unwritable(monkeypatch, lambda: {shared})
    _writes_fail(monkeypatch, shared / "a", errno.EACCES)
    code, stdout, _stderr = invoke_command(
        desnow, "desnow", "--in-place", str(shared / "a"), str(shared / "b"), "--device", "cpu", "--json",
        models=StandIn(Inverter),
    )  # fmt: skip
    data = json.loads(stdout)
    assert code == 1 and data["counts"]["failed"] == 2 and data["counts"]["not_done"] == 0, data
    assert sorted(Path(d["input"]).name for d in data["done"]) == ["r.png", "s.png"]
    assert not any("stopped" in f["reason"] for f in data["failed"])
    assert all(np.asarray(Image.open(p)).mean() > 200 for p in b)  # inverted: done in place
    assert all(np.asarray(Image.open(p)).mean() < 50 for p in a)  # left as they were


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_an_output_folder_made_unwritable_mid_run_still_stops_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    """What the start's look keeps: a folder that could be written in when the batch started and no longer can."""
    out = tmp_path / "out"
    jobs = _jobs(tmp_path / "in", 5, out)
    out.mkdir()
    locked: set[Path] = set()
    _unwritable(monkeypatch, lambda: locked)
    _writes_fail(monkeypatch, out, errno.EACCES)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        locked.add(out)  # chmod a-w out, as the first photo is computed
        return real.compute(job, value)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    assert "can no longer be written in (Permission denied): the batch stopped" in summary.failed[0].reason
    assert len(summary.failed) + len(summary.not_done) == 5 and summary.not_done and not summary.done
    assert all("mend it and rerun" in r.reason for r in summary.not_done)  # no -o was given: none is advised


def _two_disks(monkeypatch: pytest.MonkeyPatch, read_only: Path) -> None:
    """Folders under ``read_only`` are on a read-only file system of their own; the others on a writable one."""
    from weatherclean.batch import run

    def disk(folder: Path) -> tuple[int, bool]:
        return (1, True) if folder.is_relative_to(read_only) else (2, False)

    monkeypatch.setattr(run, "_disk", disk, raising=False)


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_read_only_disk_beside_a_writable_one_fails_its_own_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    """``--in-place ro/B A``, ``ro`` remounted read-only mid-run: the batch stopped, and A's photos, on a writable
    disk, were not done."""
    ro = tmp_path / "ro"
    jobs = [*_beside(ro / "B", "pq"), *_beside(tmp_path / "A", "rs")]
    _two_disks(monkeypatch, ro)
    _writes_fail(monkeypatch, ro / "B" / "out", errno.EROFS)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    assert [r.path for r in summary.failed] == [jobs[0].source, jobs[1].source], summary.to_dict()
    assert [j.source for j in summary.done] == [jobs[2].source, jobs[3].source] and not summary.not_done
    assert all("Read-only file system" in r.reason and "stopped" not in r.reason for r in summary.failed)


def test_in_place_over_a_read_only_folder_and_a_writable_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/usage.md's promise: "--in-place over several folders, one of them read-only: that folder's photos fail,
    the others are done"."""
    ro = tmp_path / "ro"
    b = [_photo(ro / "B" / f"{n}.png", shade=40) for n in "pq"]
    a = [_photo(tmp_path / "A" / f"{n}.png", shade=40) for n in "rs"]
    _two_disks(monkeypatch, ro)
    _writes_fail(monkeypatch, ro / "B", errno.EROFS)
    code, stdout, _stderr = invoke_command(
        desnow, "desnow", "--in-place", str(ro / "B"), str(tmp_path / "A"), "--device", "cpu", "--json",
        models=StandIn(Inverter),
    )  # fmt: skip
    data = json.loads(stdout)
    assert code == 1 and data["counts"]["failed"] == 2 and data["counts"]["not_done"] == 0, data
    assert all(np.asarray(Image.open(p)).mean() > 200 for p in a) and all(
        np.asarray(Image.open(p)).mean() < 50 for p in b
    )


def test_in_place_with_only_read_only_photos_left_stops_without_naming_o(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every photo left is on the read-only disk the batch stops, and its advice fits ``--in-place``: no "(or
    choose another -o)", which it cannot take, and a rerun on the files not done only."""
    ro = tmp_path / "ro"
    sources = [_photo(tmp_path / "A" / "a.png"), *(_photo(ro / "B" / f"b{i}.png") for i in range(3))]
    jobs = [Job(source, source, replaces_input=True) for source in sources]
    _two_disks(monkeypatch, ro)
    _writes_fail(monkeypatch, ro / "B", errno.EROFS)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False, pipeline=False)
    assert [j.source for j in summary.done] == [sources[0]]
    (failure,) = summary.failed
    assert failure.path == sources[1] and failure.reason.endswith("the output disk is read-only: the batch stopped")
    assert len(summary.not_done) == 2
    assert all(
        "rerun on the files not done only" in r.reason and "another -o" not in r.reason for r in summary.not_done
    )


def test_a_read_only_o_folder_still_names_o(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``-o`` (every output on one disk) a read-only disk stops the batch, and another ``-o`` is a way out."""
    from weatherclean.batch import Plan

    out = tmp_path / "out"
    plan = Plan(jobs=_jobs(tmp_path / "in", 3, out), output_dir=out)
    _writes_fail(monkeypatch, out, errno.EROFS)
    summary = run_jobs(plan, photo_handler(lambda image: 1.0 - image.pixels), progress=False, pipeline=False)
    assert len(summary.failed) == 1 and len(summary.not_done) == 2
    assert all("make it writable (or choose another -o) and rerun" in r.reason for r in summary.not_done)


# --------------------------------------------------------------------- round 2: what is out of memory, what not


DESCRIPTOR = "could not create a primitive descriptor for a convolution forward propagation primitive"


@pytest.mark.parametrize(
    "said", [DESCRIPTOR, "cannot open '/videos/out of memory test.mp4'", "cannot open /videos/out of memory test.mp4"]
)
def test_what_is_not_out_of_memory(said: str) -> None:
    """oneDNN's "could not create a primitive descriptor" is an unsupported type or layout; a path is a name."""
    from weatherclean.restore import tiling

    assert not errors.is_out_of_memory(RuntimeError(said)) and not tiling.is_out_of_memory(RuntimeError(said))


@pytest.mark.parametrize(
    "said", ["could not create a primitive", ALLOCATOR, "CUDA out of memory. Tried to allocate 2.00 GiB",
             "CUDA error: out of memory", "MPS backend out of memory (MPS allocated: 1 GB)", "out of memory"],
)  # fmt: skip
def test_what_is_out_of_memory(said: str) -> None:
    assert errors.is_out_of_memory(RuntimeError(said))
    assert errors.is_out_of_memory(torch.OutOfMemoryError("whatever it says"))


def test_a_descriptor_error_is_no_memory_and_stops_nothing(tmp_path: Path, ulimit_v: int) -> None:
    """Each photo failed as "out of memory" (try a smaller --tile, raise ulimit -v), and two in a row stopped the
    batch, for a model that cannot run in this type or layout at all."""
    jobs = _jobs(tmp_path / "in", 3)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def compute(job: Job, value: Any) -> Any:
        raise RuntimeError(DESCRIPTOR)

    summary = run_jobs(jobs, StagedHandler(real.decode, compute, real.encode), progress=False, pipeline=False)
    assert len(summary.failed) == 3 and not summary.not_done, summary.to_dict()
    assert all(f"RuntimeError: {DESCRIPTOR}" in r.reason and "memory" not in r.reason for r in summary.failed)


def test_encoding_out_of_memory_names_the_process_limit(
    tmp_path: Path, ulimit_v: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoder said "close other programs" under ``ulimit -v``, and as a plain OutputError a batch probed the
    output folder instead of counting it as memory."""
    from weatherclean.io.images import save, save_image

    def no_memory(*_args: Any) -> Any:
        raise MemoryError

    image = load_image(_photo(tmp_path / "a.png"))
    monkeypatch.setattr(save, "_encode", no_memory)
    with pytest.raises(OutputError) as caught:
        save_image(tmp_path / "b.png", image.pixels, image)
    assert isinstance(caught.value, errors.OutOfMemoryError)
    assert "not enough memory to encode the PNG output" in str(caught.value)
    assert "ulimit -v 800000" in str(caught.value) and "close other programs" not in str(caught.value)


@pytest.mark.parametrize("pipelined", PIPELINES)
def test_a_batch_that_cannot_encode_for_memory_stops(
    tmp_path: Path, ulimit_v: int, monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    from weatherclean.io.images import save

    def no_memory(*_args: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(save, "_encode", no_memory)
    jobs = _jobs(tmp_path / "in", 5)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False,
                       pipeline=_pipeline(pipelined))  # fmt: skip
    assert len(summary.failed) == 2 and len(summary.not_done) == 3, summary.to_dict()
    assert "none left is smaller: the batch stopped" in summary.failed[-1].reason
    assert all("ulimit -v unlimited" in r.reason for r in [*summary.failed, *summary.not_done])


def test_tiles_out_of_memory_name_the_process_limit(ulimit_v: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``ulimit -v`` the tiles halved on "can't allocate memory" but not on oneDNN's words, and the two refusals
    said "close other programs"; the smallest tile's failure did not count as memory in a batch."""
    from weatherclean.restore import tiling

    def starved(_x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("could not create a primitive")

    with pytest.raises(ModelError) as caught:
        tiling.run_tiled(starved, torch.rand(1, 3, 150, 150), tile=128, overlap=32)
    assert isinstance(caught.value, errors.OutOfMemoryError), caught.value
    assert "even with" in str(caught.value) and "ulimit -v 800000" in str(caught.value)
    monkeypatch.setattr(tiling, "_available_ram", lambda: 5_000)
    with pytest.raises(tiling.NotEnoughMemory) as refused:
        tiling.check_room(200, 300, "cpu", bytes_per_pixel=600.0, reserve=0)
    assert "ulimit -v 800000" in str(refused.value) and "close other programs" not in str(refused.value)
    assert isinstance(refused.value, errors.OutOfMemoryError)


def test_an_outcome_recorded_twice_counts_once(tmp_path: Path) -> None:
    """Ctrl-C between the record and its queue's ``popleft`` records it again: one photo out of memory counted as
    two in a row stopped the batch."""
    from weatherclean.batch import Record, run

    jobs = _jobs(tmp_path / "in", 3)
    outcomes: list[Any] = [None] * 3
    runner = run._Runner(jobs, photo_handler(lambda image: image.pixels), outcomes, run.Replacement(False, False))
    failed = run._Outcome(failure=Record(jobs[0].source, "out of memory"), cause=run.MEMORY)
    assert runner.record(0, failed).stop is None and runner.record(0, failed).stop is None
    assert runner.short == [0] and outcomes[0] is not None and outcomes[1:] == [None, None]


def test_the_address_space_limit_is_read_when_resource_cannot_be_imported_any_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asked when memory has run out, ``import resource`` (a C extension) failed too, and the limit went unsaid
    ("the install looks broken"): the module is imported with weatherclean.errors."""
    import sys

    from weatherclean import errors

    if errors.resource is None:
        pytest.skip("no address-space limits here (Windows)")
    monkeypatch.setitem(sys.modules, "resource", None)  # any later `import resource` raises ImportError
    monkeypatch.setattr(errors.resource, "getrlimit", lambda which: (8 * 2**30, errors.resource.RLIM_INFINITY))
    assert errors.memory_limit() == 8 * 2**30
