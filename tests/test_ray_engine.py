"""``--engine ray``: the same outputs, summary and exit codes as a local run, on one local Ray with 2 CPUs.

Ray starts once for the whole file (it takes seconds); each command reuses it, as a program that called
``ray.init`` itself does. The actors are separate processes, so the models they run are real ones (the
bundled defaults) or, for the crash test, a wrapper of one that this module ships to them by value.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, local_ray, make_video
from weatherclean.cli import derain, desnow
from weatherclean.models import load_model

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", name="local_ray")
def _local_ray() -> Iterator[Any]:
    """One local Ray with 2 CPUs for every test here; the commands find it already running and keep it."""
    with local_ray(__name__) as running:
        yield running


def _photos(folder: Path, levels: dict[str, float | None]) -> Path:
    """Small noisy photos around the given grey levels (None: a noise photo), as JPEG."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, level in levels.items():
        noise = rng.random((40, 56, 3))
        pixels = noise if level is None else np.clip(level + 0.03 * (noise - 0.5), 0, 1)
        Image.fromarray((pixels * 255).astype(np.uint8)).save(folder / f"{name}.jpg", quality=90)
    return folder


#: The provenance fields that say where the model ran: a local run's device, precision and threads as used, a Ray
#: run's none (each actor resolves its own, unknown to the driver). The model, its weights and settings must match.
_WHERE = ("engine", "device", "precision", "threads")


def _summary(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    for timing in ("seconds", "planning_seconds", "total_seconds"):  # the clock's, not the run's
        data.pop(timing, None)
    return data


def _where(data: dict[str, Any]) -> tuple[Any, ...]:
    """The :data:`_WHERE` fields of a summary's provenance, taken out of it."""
    return tuple(data["provenance"].pop(key) for key in _WHERE)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_photos_match_a_local_run_byte_for_byte(tmp_path: Path, local_ray: Any) -> None:
    photos = _photos(tmp_path / "in", {f"p{i}": None for i in range(5)})
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    local = invoke_command(desnow, "desnow", str(photos), "-o", str(tmp_path / "local"), "--device", "cpu", "--json")
    on_ray = invoke_command(
        desnow, "desnow", str(photos), "-o", str(tmp_path / "ray"), "--device", "cpu", "--json",
        "--engine", "ray", "--ray-actors", "2",
    )  # fmt: skip
    assert local[0] == on_ray[0] == 1, on_ray[2]  # the broken photo fails alone, in both
    expected = _summary(local[1])
    got = _summary(on_ray[1])
    assert _where(expected) == ("local", "cpu", "fp32", torch.get_num_threads())
    assert _where(got) == ("ray", None, None, None)
    assert got["provenance"]["weights_sha256"] and got["provenance"]["pass_through"] == 0.03
    for data, out in ((expected, "local"), (got, "ray")):
        for entry in data["done"]:
            entry["output"] = entry["output"].replace(str(tmp_path / out), "OUT")
    assert got == expected  # same records, same plan order, same reasons
    assert len(got["done"]) == 5 and [Path(r["path"]).name for r in got["failed"]] == ["broken.jpg"]
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")


def test_a_ray_overwrite_leaves_no_other_commands_tag(tmp_path: Path, local_ray: Any) -> None:
    from weatherclean.provenance import read_tag

    photos = _photos(tmp_path / "in", {"a": 0.5})
    out = tmp_path / "clean"
    common = ("-o", str(out), "--device", "cpu", "-q")
    assert invoke_command(desnow, "desnow", str(photos), *common)[0] == 0
    if read_tag(out / "a.jpg") is None:
        pytest.skip("no user extended attributes on this file system")
    code, _, err = invoke_command(
        derain, "derain", str(photos), *common, "--overwrite", "--engine", "ray", "--ray-actors", "1"
    )
    assert code == 0, err
    assert read_tag(out / "a.jpg") is None  # the actors tag nothing: not desnow's tag copied from the file replaced


@pytest.mark.slow
def test_a_video_stays_in_one_actor_and_matches_a_local_run(tmp_path: Path, local_ray: Any) -> None:
    make_video(tmp_path / "in" / "clip.mp4", frames=5, size=(32, 48), audio=None, vfr=False)
    _photos(tmp_path / "in" / "stills", {"s0": 0.4})
    common = ("--device", "cpu", "--preset", "ultrafast", "--quiet")
    code, _, err = invoke_command(derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "local"), *common)
    assert code == 0, err
    code, _, err = invoke_command(
        derain, "derain", str(tmp_path / "in"), "-o", str(tmp_path / "ray"), *common, "--engine", "ray"
    )
    assert code == 0, err
    assert set(_outputs(tmp_path / "ray")) == {"clip.mp4", "stills/s0.jpg"}
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")  # the clip's memory went frame to frame


class _Crashing(torch.nn.Module):
    """The bundled desnow model, but its worker process dies on a bright photo the first time it sees one
    (a marker file remembers across restarts) and on a dark photo every time: a crash Ray must survive."""

    def __init__(self, inner: torch.nn.Module, marker: Path) -> None:
        super().__init__()
        self.inner = inner
        self.marker = str(marker)
        self.receptive_field = inner.receptive_field
        self.bytes_per_pixel = inner.bytes_per_pixel

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        level = float(x.mean())
        if level < 0.1 or (level > 0.9 and not os.path.exists(self.marker)):
            Path(self.marker).touch()
            os._exit(1)  # as a segfault or the OOM killer would: no exception, no cleanup
        return self.inner.restore(x)


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_a_rerun_resumes(tmp_path: Path, local_ray: Any) -> None:
    photos = _photos(tmp_path / "in", {"a": 0.5, "bright": 0.95, "b": 0.3, "dark": 0.02, "c": 0.6})
    args = (str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", "--json", "--engine", "ray")
    crashing = StandIn(lambda: _Crashing(load_model("desnownet-light"), tmp_path / "crashed-once"))
    code, stdout, stderr = invoke_command(
        desnow, "desnow", *args, "--ray-actors", "2", "--ray-retries", "1", models=crashing
    )
    assert code == 1, stderr
    first = json.loads(stdout)
    done = [Path(r["input"]).name for r in first["done"]]
    assert done == ["a.jpg", "b.jpg", "bright.jpg", "c.jpg"]  # plan order; bright redone by a restarted worker
    [failed] = first["failed"]
    assert Path(failed["path"]).name == "dark.jpg"
    assert "Ray worker died" in failed["reason"] and "2 tries" in failed["reason"] and "\n" not in failed["reason"]
    assert (tmp_path / "crashed-once").exists()

    code, stdout, stderr = invoke_command(desnow, "desnow", *args, models=StandIn(lambda: load_model("default")))
    assert code == 0, stderr
    rerun = json.loads(stdout)
    assert [Path(r["input"]).name for r in rerun["done"]] == ["dark.jpg"]  # only what was not done
    assert sorted(Path(r["path"]).name for r in rerun["skipped"]) == ["a.jpg", "b.jpg", "bright.jpg", "c.jpg"]


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_and_a_rerun_resumes(
    tmp_path: Path, local_ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.batch import ray_engine

    photos = _photos(tmp_path / "in", {f"p{i}": None for i in range(4)})
    collect = ray_engine._collect

    def first_then_ctrl_c(*args: Any) -> bool:
        collect(*args)
        raise KeyboardInterrupt  # as Ctrl-C in the driver, once the first job came back

    monkeypatch.setattr(ray_engine, "_collect", first_then_ctrl_c)
    args = (str(photos), "--device", "cpu", "--json", "--engine", "ray", "--ray-actors", "1")
    code, stdout, stderr = invoke_command(desnow, "desnow", *args)
    assert code == 130, stderr
    first = json.loads(stdout)
    done = [Path(r["input"]).name for r in first["done"]]
    assert done and first["interrupted"] is True and first["failed"] == [] and first["ok"] is False
    assert len(done) + len(first["not_done"]) == 4  # not done, not failed: nothing was wrong with them
    written = sorted(p.name for p in (tmp_path / "in_desnowed").iterdir())
    assert written == sorted(done)  # nothing half-written, nothing done but unreported
    monkeypatch.setattr(ray_engine, "_collect", collect)
    code, stdout, stderr = invoke_command(desnow, "desnow", *args)
    assert code == 0, stderr
    assert len(json.loads(stdout)["skipped"]) == len(done)


def test_ctrl_c_between_a_jobs_leaving_the_queue_and_its_start_leaves_it_not_done(
    tmp_path: Path, local_ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM under Ray once the first output was written: the summary had 1 done and 10 not done of 12 photos,
    the one the driver was handing out lost from it. Here Ctrl-C comes in the second hand-out, after the job left
    the queue: every photo is done or not done, and only the done ones are written."""
    from weatherclean.batch import ray_engine

    photos = _photos(tmp_path / "in", {f"p{i}": None for i in range(4)})
    submit = ray_engine._Pool.submit
    calls: list[int] = []

    def second_is_ctrl_c(pool: Any, index: int, job: Any) -> None:
        calls.append(index)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as Ctrl-C in the driver while it hands the job out
        submit(pool, index, job)

    monkeypatch.setattr(ray_engine._Pool, "submit", second_is_ctrl_c)
    args = (str(photos), "--device", "cpu", "--json", "--engine", "ray", "--ray-actors", "1")
    code, stdout, stderr = invoke_command(desnow, "desnow", *args)
    assert code == 130, stderr
    first = json.loads(stdout)
    done = sorted(Path(r["input"]).name for r in first["done"])
    not_done = sorted(Path(r["path"]).name for r in first["not_done"])
    assert first["interrupted"] is True and first["failed"] == []
    assert sorted(done + not_done) == [f"p{i}.jpg" for i in range(4)], first
    assert sorted(p.name for p in (tmp_path / "in_desnowed").iterdir()) == done


def test_workers_that_cannot_start_are_one_line_and_exit_2(tmp_path: Path, local_ray: Any) -> None:
    photos = _photos(tmp_path / "in", {"a": 0.5})
    if torch.cuda.is_available():
        pytest.skip("the workers' error here is a missing GPU")
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), "--engine", "ray", "--device", "cuda")
    assert code == 2
    assert stderr.count("\n") == 1 and "no Ray worker could start: device 'cuda': CUDA is not available" in stderr
    assert not (tmp_path / "in_desnowed").exists()


def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in", {"a": 0.5})
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, stdout, stderr = invoke_command(
        desnow, "desnow", str(photos), "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "--json"
    )
    assert code == 2
    assert stderr.count("\n") == 1 and f"127.0.0.1:{port} cannot be reached" in stderr
    assert json.loads(stdout)["exit_code"] == 2
    assert not (tmp_path / "in_desnowed").exists()


def test_the_address_probe_lets_a_real_cluster_through(local_ray: Any) -> None:
    """The probe of ``--ray-address`` asks as a gRPC client would (a proxy may take any connection): a real
    Ray cluster must pass it."""
    from weatherclean.batch.ray_engine import check_reachable

    address = local_ray.get_runtime_context().gcs_address
    check_reachable(address, timeout=2)  # no RayError


def test_without_ray_the_engine_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _photos(tmp_path / "in", {"a": 0.5})
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), "--engine", "ray")
    assert code == 2 and stderr.count("\n") == 1
    assert "pip install 'weatherclean[ray]'" in stderr
    code, _, stderr = invoke_command(desnow, "desnow", str(photos), "--ray-actors", "2")
    assert code == 2 and "--engine ray" in stderr
