"""The pipelined batch runner: photos decoded ahead and written behind the model, with the same results.

Every test compares against the runner one job at a time (``WEATHERCLEAN_PIPELINE=0`` or
``pipeline=False``): output bytes, the summary and its order, Ctrl-C and resume; and checks the queue
bounds that keep memory to a few photos.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, make_video
from weatherclean.batch import Job, plan_batch, run_jobs
from weatherclean.batch.handlers import StagedHandler, photo_handler
from weatherclean.batch.outputs import OutputFormat
from weatherclean.batch.run import Pipeline
from weatherclean.cli import derain, desnow
from weatherclean.io.video import process_video


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def _photos(folder: Path) -> None:
    """Photos of several formats and depths, with an unreadable one in the middle (c.jpg)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, shape in (("a.jpg", (40, 56, 3)), ("b.png", (33, 47, 3)), ("d.webp", (24, 30, 3))):
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(folder / name)
    (folder / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.fromarray((rng.random((20, 26)) * 65535).astype(np.uint16)).save(folder / "e16.png")
    (folder / "sub").mkdir()
    Image.fromarray((rng.random((18, 22, 3)) * 255).astype(np.uint8)).save(folder / "sub" / "f.tif")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _summary(stdout: str, out: Path) -> dict[str, Any]:
    summary = json.loads(stdout.replace(str(out), "OUT"))
    for timing in ("seconds", "planning_seconds", "total_seconds"):  # the clock's, not the run's
        summary.pop(timing)
    return summary


def test_photos_come_out_byte_identical_with_the_same_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photos(tmp_path / "in")
    results = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("WEATHERCLEAN_PIPELINE", switch)
        out = tmp_path / f"out{switch}"
        code, stdout, _ = invoke_command(
            desnow, "desnow", str(tmp_path / "in"), "-o", str(out), "--json", "--device", "cpu", "--compare",
            models=StandIn(_Inverter),
        )  # fmt: skip
        results[switch] = (code, _summary(stdout, out), _files(out))
    assert results["0"] == results["1"]
    code, summary, files = results["1"]
    assert code == 1 and [Path(f["path"]).name for f in summary["failed"]] == ["c.jpg"]
    assert [Path(d["input"]).name for d in summary["done"]] == ["a.jpg", "b.png", "d.webp", "e16.png", "f.tif"]
    assert "a.jpg" in files and "a.jpg.compare.jpg" in files


@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(decoders=2, ahead=2, writers=2), Pipeline(3, 1, 3)])
def test_any_pipeline_shape_gives_the_same_bytes_and_order(tmp_path: Path, pipeline: Pipeline) -> None:
    _photos(tmp_path / "in")
    outcomes = []
    for name, chosen in (("serial", False), ("piped", pipeline)):
        out = tmp_path / name
        plan = plan_batch([str(tmp_path / "in")], out, tag="x", formats=OutputFormat.parse(None, videos=False))
        summary = run_jobs(plan, photo_handler(lambda image: 1.0 - image.pixels), progress=False, pipeline=chosen)
        as_dict = summary.to_dict()
        as_dict.pop("seconds")
        outcomes.append((json.loads(json.dumps(as_dict).replace(str(out), "OUT")), _files(out)))
    assert outcomes[0] == outcomes[1]


def _counting_handler(log: list[tuple[str, int]], lock: threading.Lock) -> StagedHandler:
    """A photo handler that logs each stage's start and end (by job number) and is slow in the model."""
    inner = photo_handler(lambda image: 1.0 - image.pixels)

    def stage(name: str, fn: Any) -> Any:
        def run(job: Job, *value: Any) -> Any:
            number = int(job.source.stem[1:])
            with lock:
                log.append((f"{name}+", number))
            if name == "compute":
                time.sleep(0.02)  # slower than decoding: the decoders would run far ahead if they could
            result = fn(job, *value)
            with lock:
                log.append((f"{name}-", number))
            return result

        return run

    return StagedHandler(stage("decode", inner.decode), stage("compute", inner.compute), stage("encode", inner.encode))


@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(decoders=2, ahead=2, writers=2)])
def test_queues_stay_bounded(tmp_path: Path, pipeline: Pipeline) -> None:
    for i in range(12):
        Image.fromarray(np.full((16, 16, 3), i * 10, np.uint8)).save(tmp_path / f"p{i:02d}.png")
    plan = plan_batch([str(tmp_path)], tmp_path / "out", tag="x", formats=OutputFormat.parse(None, videos=False))
    log: list[tuple[str, int]] = []
    summary = run_jobs(plan, _counting_handler(log, threading.Lock()), progress=False, pipeline=pipeline)
    assert len(summary.done) == 12
    for at, (event, number) in enumerate(log):
        if event != "compute+":
            continue
        before = log[:at]
        decoded_ahead = {n for e, n in before if e == "decode+"} - {n for e, n in before if e == "compute+"}
        writing = {n for e, n in before if e == "encode+"} - {n for e, n in before if e == "encode-"}
        assert max(decoded_ahead) - number <= pipeline.ahead, f"decoding ran ahead of job {number}: {decoded_ahead}"
        assert len(writing) <= pipeline.writers
    assert any(e == "decode+" and n > 0 for e, n in log[: log.index(("compute-", 0))])  # it did overlap


def test_ctrl_c_in_the_model_leaves_no_partial_output_and_the_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEATHERCLEAN_PIPELINE", "1")
    for i in range(4):
        Image.fromarray(np.full((12 + i, 16, 3), 90, np.uint8)).save(tmp_path / f"p{i}.png")

    class _Interrupted(_Inverter):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2] == 13:  # the second photo
                raise KeyboardInterrupt
            return super().restore(x)

    out = tmp_path / "out"
    code, stdout, _ = invoke_command(
        desnow, "desnow", str(tmp_path / "p*.png"), "-o", str(out), "--json", "--device", "cpu",
        models=StandIn(_Interrupted),
    )  # fmt: skip
    summary = json.loads(stdout)
    assert code == 130 and [Path(d["input"]).name for d in summary["done"]] == ["p0.png"]
    assert summary["interrupted"] is True and summary["failed"] == [] and summary["ok"] is False
    assert [Path(f["path"]).name for f in summary["not_done"]] == ["p1.png", "p2.png", "p3.png"]  # p1: mid-way
    assert sorted(p.name for p in out.rglob("*")) == ["p0.png"]  # nothing partial, no temporary file
    code, stdout, _ = invoke_command(
        desnow, "desnow", str(tmp_path / "p*.png"), "-o", str(out), "--json", "--device", "cpu",
        models=StandIn(_Inverter),
    )  # fmt: skip
    summary = json.loads(stdout)
    assert code == 0 and [Path(d["input"]).name for d in summary["done"]] == ["p1.png", "p2.png", "p3.png"]
    assert [Path(s["path"]).name for s in summary["skipped"]] == ["p0.png"]


def test_a_failed_write_leaves_no_empty_folder_and_the_batch_goes_on(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        Image.fromarray(np.full((12, 16, 3), 90, np.uint8)).save(tmp_path / "in" / sub / "p.png")
    inner = photo_handler(lambda image: 1.0 - image.pixels)

    def encode(job: Job, value: Any) -> list[str]:
        if job.source.parent.name == "a":
            job.output.parent.mkdir(parents=True, exist_ok=True)
            raise OSError("no room for this one")
        return inner.encode(job, value)

    out = tmp_path / "out"
    plan = plan_batch([str(tmp_path / "in")], out, tag="x", formats=OutputFormat.parse(None, videos=False))
    handler = StagedHandler(inner.decode, inner.compute, encode)
    summary = run_jobs(plan, handler, progress=False, pipeline=Pipeline(2, 2, 2))
    assert [j.source.parent.name for j in summary.done] == ["b"] and len(summary.failed) == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["b", "b/p.png"]


def test_a_staged_handler_still_runs_one_job_when_called(tmp_path: Path) -> None:
    """What another engine (a Ray actor) does: call the handler per job, no pipeline around it."""
    Image.fromarray(np.full((12, 16, 3), 90, np.uint8)).save(tmp_path / "p.png")
    handler = photo_handler(lambda image: 1.0 - image.pixels)
    job = Job(tmp_path / "p.png", tmp_path / "out" / "p.png")
    assert handler(job, None) == []  # type: ignore[arg-type]
    with Image.open(job.output) as im:
        assert np.asarray(im)[0, 0, 0] == 255 - 90


def test_videos_come_out_byte_identical_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_video(tmp_path / "in.mp4", frames=10)
    outputs = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("WEATHERCLEAN_PIPELINE", switch)
        result = process_video(tmp_path / "in.mp4", tmp_path / f"out{switch}.mp4", lambda f: 255 - f)
        assert result.frames == 10 and not result.partial
        outputs[switch] = (tmp_path / f"out{switch}.mp4").read_bytes()
    assert outputs["0"] == outputs["1"]


def test_derain_of_videos_and_photos_is_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_video(tmp_path / "in" / "clip.mp4", frames=6)
    Image.fromarray(np.full((12, 16, 3), 90, np.uint8)).save(tmp_path / "in" / "a.png")
    Image.fromarray(np.full((12, 16, 3), 30, np.uint8)).save(tmp_path / "in" / "z.png")
    results = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("WEATHERCLEAN_PIPELINE", switch)
        out = tmp_path / f"out{switch}"
        code, stdout, _ = invoke_command(
            derain, "derain", str(tmp_path / "in"), "-o", str(out), "--json", "--device", "cpu",
            models=StandIn(_Inverter),
        )  # fmt: skip
        results[switch] = (code, _summary(stdout, out), _files(out))
    assert results["0"] == results["1"] and results["1"][0] == 0 and len(results["1"][2]) == 3
