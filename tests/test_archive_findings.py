"""Findings of a photographer's archive test and its review: what a rerun does with a file at an output's path
(never replaced unless asked: ``overwrite`` all, ``update`` those older than their input), file dates and
permissions of outputs and output folders, ``.jfif`` photos, an ``-o`` inside an input folder, and what
``--in-place`` refuses (palette and 1-bit pictures).

Modification times are set with ``os.utime``, never by sleeping: a file's time is coarse (a few ms), and
two files written one after the other in a test can share it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command, local_ray, make_video
from weatherclean.batch import (
    JobHandler,
    MediaOptions,
    Record,
    Restoration,
    job_handler,
    plan_batch,
    plan_clips,
    plan_jobs,
    plan_media,
    run_jobs,
)
from weatherclean.batch.jobs import CHANGED, OUT_OF_DATE_HEAD, OUT_OF_DATE_TAIL, OutputState, modified_ns, output_state
from weatherclean.batch.plan import INSIDE_OUTPUT
from weatherclean.batch.ray_engine import Worker
from weatherclean.batch.run import appeared_reason
from weatherclean.cli import desnow
from weatherclean.errors import InputError
from weatherclean.io.atomic import atomic_write
from weatherclean.io.media import is_image_path
from weatherclean.io.permissions import copy_mode, new_file_mode, new_files_like

_USAGE = Path(__file__).resolve().parents[1] / "docs" / "usage.md"
_INSIDE = "this -o folder is inside the input folder s1: a later run over s1 without -o s1/sub would take these outputs as inputs"  # noqa: E501


@pytest.fixture
def loads() -> StandIn:
    return StandIn(Inverter)


@pytest.fixture
def umask() -> Iterator[None]:
    """The umask most systems start with (022), whatever the test runner's; put back afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _invoke(*args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--device", "cpu", models=models)


def _rgb(path: Path, seed: int = 0, size: tuple[int, int] = (20, 28), format: str | None = None) -> np.ndarray:
    arr = (np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=format)
    return arr


def _dated(path: Path, seconds_ago: float) -> None:
    """Set ``path``'s access and modification times to ``seconds_ago`` before now."""
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


def _invert(image: object) -> np.ndarray:
    return 1.0 - image.pixels  # type: ignore[attr-defined]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- 3. a rerun never replaces an existing output unless asked: --overwrite all, update those older than their input


def _out_of_date(output: Path) -> str:
    return f"{OUT_OF_DATE_HEAD}: {output}; {OUT_OF_DATE_TAIL}"


def test_a_rerun_keeps_an_output_older_than_its_input_and_update_redoes_it(tmp_path: Path, loads: StandIn) -> None:
    """A re-edited photo must not silently keep its stale result, nor may its output be replaced unasked: it is
    skipped with a reason that says why and what redoes it; ``update`` (``--update``) does."""
    src, out = tmp_path / "in", tmp_path / "out"
    _rgb(src / "a.jpg")
    _rgb(src / "b.png", seed=1)
    code, stdout, stderr = _invoke(str(src), "-o", str(out), "--json", models=loads)
    assert code == 0 and json.loads(stdout)["counts"]["done"] == 2, stderr
    edited = _rgb(src / "b.png", seed=2)  # the photographer re-edits b.png
    _dated(src / "a.jpg", 300)
    _dated(out / "a.jpg", 200)  # a.jpg untouched since its output
    _dated(out / "b.png", 200)
    _dated(src / "b.png", 100)  # b.png changed after its output
    stale = (out / "b.png").read_bytes()
    code, stdout, stderr = _invoke(str(src), "-o", str(out), "--json", models=loads)
    summary = json.loads(stdout)
    assert code == 0 and summary["counts"] == {"done": 0, "skipped": 2, "failed": 0, "not_done": 0}, stderr
    reasons = {Path(r["path"]).name: r["reason"] for r in summary["skipped"]}
    assert reasons == {
        "a.jpg": f"output exists: {out / 'a.jpg'} (use --overwrite to redo)", "b.png": _out_of_date(out / "b.png"),
    }  # fmt: skip
    assert (out / "b.png").read_bytes() == stale
    plan = plan_jobs([src], out, update=True)
    assert [(j.source.name, j.note) for j in plan.jobs] == [("b.png", CHANGED)]
    summary = run_jobs(plan, job_handler(Restoration(photo=_invert)), progress=False, update=True)
    assert [(r.path.name, r.reason) for r in summary.notes] == [("b.png", CHANGED)]
    assert np.array_equal(np.asarray(Image.open(out / "b.png")), 255 - edited)  # the new picture's result
    assert not plan_jobs([src], out, update=True).jobs  # now up to date
    _dated(src / "a.jpg", 100)  # edited again: the command's --update redoes it, and only it
    code, stdout, stderr = _invoke(str(src), "-o", str(out), "--json", "--update", models=loads)
    summary = json.loads(stdout)
    assert code == 0 and summary["counts"] == {"done": 1, "skipped": 1, "failed": 0, "not_done": 0}, stderr
    assert [(Path(n["path"]).name, n["note"]) for n in summary["notes"]] == [("a.jpg", CHANGED)]


def test_files_at_output_paths_that_are_not_their_inputs_outputs_are_never_replaced(
    tmp_path: Path, loads: StandIn
) -> None:
    """Older than its input is not "made from an earlier version of it": a same-named photo of another card, a
    hand-retouched result after a metadata-only touch of its input, another day's run into the same -o, a copy
    of the input tree (``cp -r`` makes every date new). Each was replaced without --overwrite."""
    archive = tmp_path / "archive"
    _rgb(archive / "IMG_0001.jpg", seed=7, format="JPEG")  # last year's, from another card
    _dated(archive / "IMG_0001.jpg", 86400 * 300)
    before = {p: p.read_bytes() for p in archive.iterdir()}
    _rgb(tmp_path / "card" / "IMG_0001.jpg", seed=1)
    code, stdout, stderr = _invoke(str(tmp_path / "card"), "-o", str(archive), "--json", models=loads)
    assert code == 0 and json.loads(stdout)["skipped"][0]["reason"] == _out_of_date(archive / "IMG_0001.jpg"), stderr
    # a retouched, read-only result; then the input's metadata is edited (its date moves, its picture does not)
    _rgb(tmp_path / "ro" / "a.png")
    assert _invoke(str(tmp_path / "ro"), "-q", models=loads)[0] == 0
    retouched = tmp_path / "ro_desnowed" / "a.png"
    _rgb(retouched, seed=5)
    os.chmod(retouched, 0o444)
    _dated(retouched, 100)
    _dated(tmp_path / "ro" / "a.png", 10)
    kept = retouched.read_bytes()
    # day1 then day2 into one -o, both with a photo named p.png
    _rgb(tmp_path / "day1" / "p.png", seed=2)
    _rgb(tmp_path / "day2" / "p.png", seed=3)
    assert _invoke(str(tmp_path / "day1"), "-o", str(tmp_path / "days"), "-q", models=loads)[0] == 0
    _dated(tmp_path / "days" / "p.png", 100)
    day1 = (tmp_path / "days" / "p.png").read_bytes()
    for args in ([str(tmp_path / "ro"), "--json"], [str(tmp_path / "day2"), "-o", str(tmp_path / "days"), "--json"]):
        code, stdout, stderr = _invoke(*args, models=loads)
        assert code == 0 and json.loads(stdout)["counts"]["done"] == 0, stderr
        assert json.loads(stdout)["skipped"][0]["reason"].startswith(OUT_OF_DATE_HEAD)
    assert retouched.read_bytes() == kept and _mode(retouched) == 0o444
    assert (tmp_path / "days" / "p.png").read_bytes() == day1
    assert {p: p.read_bytes() for p in archive.iterdir()} == before
    # cp -r of the input tree: every input is newer than its output now
    shutil.copytree(tmp_path / "day1", tmp_path / "copy")
    assert _invoke(str(tmp_path / "copy"), "-o", str(tmp_path / "days"), "-q", models=loads)[0] == 0
    assert (tmp_path / "days" / "p.png").read_bytes() == day1


def test_the_plan_allows_a_modify_window_and_distrusts_future_dates(tmp_path: Path) -> None:
    """FAT keeps times to 2 s and clocks differ a little: an input newer by less than 2 s is not changed; a date
    beyond now, on the input or the output, cannot be judged, so the output is kept even with ``update``."""
    src, out = tmp_path / "in" / "a.png", tmp_path / "out" / "a.png"
    _rgb(src)
    _rgb(out, seed=1)
    _dated(out, 200)
    _dated(src, 199)  # 1 s newer: within the window
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out", update=True)
    assert not plan.jobs and plan.skipped[0].reason.endswith("(use --overwrite to redo)") and plan.done == [out]
    _dated(src, 197)  # 3 s newer: out of date
    (job,) = plan_jobs([tmp_path / "in"], tmp_path / "out", update=True).jobs
    assert job.note == CHANGED and job.output == out
    assert plan_jobs([tmp_path / "in"], tmp_path / "out", overwrite=True).jobs[0].note is None  # redone anyway
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out")
    assert not plan.jobs and plan.skipped[0].reason == _out_of_date(out)
    _dated(src, -10 * 86400)  # a camera clock ten days ahead: not an edit, or it would be redone on every rerun
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out", update=True)
    assert not plan.jobs and "dated in the future" in plan.skipped[0].reason
    _dated(src, 300)
    _dated(out, -10 * 86400)  # an output dated in the future: "cannot tell" too
    assert output_state(out, lambda: [src]) is OutputState.UNKNOWN
    assert not plan_jobs([tmp_path / "in"], tmp_path / "out", update=True).jobs


def test_a_repointed_symbolic_link_is_a_changed_input(tmp_path: Path) -> None:
    """Both photos are old, so the link's target time says nothing: the link's own time does (``make -L``)."""
    folder = tmp_path / "sl"
    for name, seed in (("old1.jpg", 1), ("old2.jpg", 2)):
        _rgb(folder / name, seed=seed, format="JPEG")
        _dated(folder / name, 86400 * 1000)
    link = tmp_path / "links" / "pick.jpg"
    link.parent.mkdir()
    link.symlink_to(folder / "old1.jpg")
    _rgb(tmp_path / "out" / "pick.jpg")
    _dated(tmp_path / "out" / "pick.jpg", 200)
    os.utime(link, (time.time() - 300,) * 2, follow_symlinks=False)
    assert not plan_jobs([link.parent], tmp_path / "out", update=True).jobs  # the link predates the output
    link.unlink()
    link.symlink_to(folder / "old2.jpg")  # re-pointed after the output was written
    (job,) = plan_jobs([link.parent], tmp_path / "out", update=True).jobs
    assert job.note == CHANGED and modified_ns(link) == link.lstat().st_mtime_ns


def test_planning_looks_at_an_existing_output_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rgb(tmp_path / "in" / "a.png")
    _rgb(tmp_path / "out" / "a.png")
    looks: list[Path] = []
    real_stat = Path.stat

    def counted(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.name == "a.png" and self.parent.name == "out":
            looks.append(self)
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", counted)
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out", update=True)
    assert not plan.jobs and len(looks) == 1


def test_a_folder_at_an_output_path_is_kept(tmp_path: Path) -> None:
    _rgb(tmp_path / "in" / "a.png")
    (tmp_path / "out" / "a.png").mkdir(parents=True)
    (tmp_path / "out" / "a.png" / "mine.txt").write_text("keep")
    _dated(tmp_path / "out" / "a.png", 300)
    for options in ({}, {"update": True}, {"overwrite": True}):  # that file fails; the folder is never touched
        plan = plan_jobs([tmp_path / "in"], tmp_path / "out", **options)
        assert not plan.jobs and "output path is a folder" in plan.failed[0].reason
    assert (tmp_path / "out" / "a.png" / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("pipeline", [True, False])
def test_the_runner_judges_each_output_again_as_the_plan_does(tmp_path: Path, pipeline: bool) -> None:
    """The runner's own look just before a job (the Ray engine's actors run each job through it too) must redo an
    output the plan found out of date only with ``update``, and skip one another process wrote after planning."""
    _rgb(tmp_path / "in" / "a.png")
    _rgb(tmp_path / "in" / "b.png", seed=1)
    _rgb(tmp_path / "out" / "a.png", seed=2)
    stale = (tmp_path / "out" / "a.png").read_bytes()
    _dated(tmp_path / "out" / "a.png", 200)
    _dated(tmp_path / "in" / "a.png", 100)
    _dated(tmp_path / "in" / "b.png", 100)
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out", update=True)
    assert [(j.source.name, j.note) for j in plan.jobs] == [("a.png", CHANGED), ("b.png", None)]
    _rgb(tmp_path / "out" / "b.png", seed=3)  # written by another process after planning: newer than its input
    handler = job_handler(Restoration(photo=_invert))
    kept = run_jobs(plan, handler, progress=False, pipeline=pipeline)  # the runner not told: nothing replaced
    assert not kept.done and (tmp_path / "out" / "a.png").read_bytes() == stale
    assert [r.reason for r in kept.skipped] == [
        _out_of_date(tmp_path / "out" / "a.png"), appeared_reason(tmp_path / "out" / "b.png"),
    ]  # fmt: skip
    summary = run_jobs(plan, handler, progress=False, pipeline=pipeline, update=True)
    assert [j.source.name for j in summary.done] == ["a.png"]
    assert [(r.path.name, r.reason) for r in summary.notes] == [("a.png", CHANGED)]
    assert [r.reason for r in summary.skipped] == [appeared_reason(tmp_path / "out" / "b.png")]


def test_shards_plan_the_same_outputs_to_update(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(4):
        _rgb(src / f"p{i}.jpg", seed=i)
        _rgb(out / f"p{i}.jpg", seed=9)
        _dated(src / f"p{i}.jpg", 300)
        _dated(out / f"p{i}.jpg", 200)
    _dated(src / "p1.jpg", 100)
    _dated(src / "p2.jpg", 100)  # edited since
    shards = [plan_jobs([src], out, shard=(k, 2), update=True) for k in (1, 2)]
    assert sorted((j.source.name, j.note) for plan in shards for j in plan.jobs) == [
        ("p1.jpg", CHANGED), ("p2.jpg", CHANGED),
    ]  # fmt: skip
    assert sorted(r.path.name for plan in shards for r in plan.skipped) == ["p0.jpg", "p3.jpg"]
    unasked = [plan_jobs([src], out, shard=(k, 2)) for k in (1, 2)]
    assert not any(plan.jobs for plan in unasked)
    assert sorted(r.reason.startswith(OUT_OF_DATE_HEAD) for plan in unasked for r in plan.skipped) == [
        False, False, True, True,
    ]  # fmt: skip


def _inverting_worker(_shipped: object) -> Worker:
    return Worker(job_handler(Restoration(photo=_invert)))


@pytest.mark.slow
def test_the_ray_engine_updates_only_when_asked(tmp_path: Path, umask: None) -> None:
    """``--engine ray``'s actors look at each job's output again as a local run does: ``update`` reaches them."""
    pytest.importorskip("ray")
    from weatherclean.batch.ray_engine import RayOptions, run_on_ray

    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _rgb(src / f"p{i}.jpg", seed=i)
        _dated(src / f"p{i}.jpg", 300)
    _rgb(out / "p1.jpg", seed=9)
    _dated(out / "p1.jpg", 400)  # stale
    os.chmod(src / "p1.jpg", 0o600)
    os.chmod(src / "p2.jpg", 0o600)
    plan = plan_jobs([src], out, update=True)
    with local_ray(__name__):
        kept = run_on_ray(plan, _inverting_worker, None, options=RayOptions(actors=1), progress=False)
        assert kept.skipped[0].reason == _out_of_date(out / "p1.jpg")  # the actor was not told: kept
        summary = run_on_ray(plan, _inverting_worker, None, options=RayOptions(actors=1), progress=False, update=True)
    assert [j.source.name for j in summary.done] == ["p1.jpg"] and summary.ok
    assert [(r.path.name, r.reason) for r in summary.notes] == [("p1.jpg", CHANGED)]
    assert _mode(out / "p1.jpg") == 0o600  # redone: the stricter of its own 0644 and its input's 0600
    assert _mode(out / "p2.jpg") == 0o600 and (out / "p1.jpg").stat().st_mtime > (src / "p1.jpg").stat().st_mtime


def _clip(root: Path, name: str = "c1", frames: int = 2) -> Path:
    clip = root / name
    for i in range(1, frames + 1):
        _rgb(clip / f"{i:04d}.png", seed=i)
        _dated(clip / f"{i:04d}.png", 300)
    return clip


def test_a_clip_older_than_a_frame_is_kept_unless_update(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "frames")
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed").jobs
    job.output.mkdir(parents=True)
    _rgb(job.output / "0001.png")
    _dated(job.output, 200)
    plan = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", update=True)
    assert not plan.jobs and plan.skipped[0].reason.startswith("output exists")
    _dated(clip, 10)  # a hidden file added by a file manager (.DS_Store): the folder's time is not a frame's
    assert not plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", update=True).jobs
    _dated(clip / "0002.png", 100)  # a frame edited after the clip was written
    plan = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed")
    assert not plan.jobs and plan.skipped[0].reason == _out_of_date(job.output)
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", update=True).jobs
    assert job.kind == "frames" and job.note == CHANGED
    (job.output / ".DS_Store").write_bytes(b"litter")
    (job.output / "0002.jpg").write_bytes(b"an earlier run's --format jpeg frame")
    _dated(job.output, 200)
    summary = run_jobs([job], _clip_handler(), progress=False, update=True)
    assert summary.ok and sorted(p.name for p in job.output.iterdir()) == ["0001.png", "0002.png"]


class _InvertClip:
    """A clip restorer (one memory per clip) that inverts each frame."""

    notes: list[str] = []

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return 1.0 - frame


def _clip_handler() -> JobHandler:
    return job_handler(Restoration(photo=_invert, clip=_InvertClip), media=MediaOptions(frames=True))


def test_a_clip_output_folder_holding_the_users_files_is_never_replaced(tmp_path: Path) -> None:
    """``keep/c1/`` held holiday.jpg and notes.txt beside two frames: a rerun whose frames were newer deleted it."""
    _clip(tmp_path / "frames")
    keep = tmp_path / "keep" / "c1"
    for name in ("0001.png", "0002.png", "holiday.jpg"):
        _rgb(keep / name, seed=4)
    (keep / "notes.txt").write_text("my notes")
    _dated(keep, 400)
    before = {p.name: p.read_bytes() for p in keep.iterdir()}
    for asked in ({"update": True}, {"overwrite": True}):
        plan = plan_clips([tmp_path / "frames"], tmp_path / "keep", tag="desnowed", **asked)
        assert not plan.jobs and plan.skipped[0].reason == (
            f"output folder {keep} holds files that are not this clip's frames (holiday.jpg, notes.txt), so it is "
            "never replaced; move them away or choose another -o"
        )
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed").jobs
    job.output.mkdir(parents=True)
    (job.output / "mine.txt").write_text("written after the plan")  # the last look, just before the rename
    summary = run_jobs([job], _clip_handler(), progress=False, overwrite=True)
    assert "holds files that are not this clip's frames (mine.txt)" in summary.failed[0].reason
    assert [p.name for p in job.output.iterdir()] == ["mine.txt"]
    assert {p.name: p.read_bytes() for p in keep.iterdir()} == before


def test_a_clip_output_folder_that_cannot_be_read_is_skipped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--frames --overwrite`` over another user's unreadable output folder ended in a PermissionError traceback
    while planning; the handler's last look raised it too. What it holds cannot be told: never replaced."""
    _clip(tmp_path / "frames")
    out = tmp_path / "out" / "c1"
    _rgb(out / "0001.png")
    _dated(out, 400)  # older than the frames: --update would redo it
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", overwrite=True).jobs
    real_scandir = os.scandir

    def refused(path: Any = ".") -> Any:
        if not isinstance(path, int) and Path(path) in (out, tmp_path / "out" / f".c1.old-{os.getpid()}"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refused)
    reason = (
        f"output folder {out} cannot be read (permission denied), so whether it holds only this clip's frames cannot "
        "be told and it is never replaced; make it readable, remove it or choose another -o"
    )
    for asked in ({"update": True}, {"overwrite": True}):
        plan = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", **asked)
        assert not plan.jobs and plan.skipped == [Record(tmp_path / "frames" / "c1", reason)]
    summary = run_jobs([job], _clip_handler(), progress=False, overwrite=True)  # planned before it became unreadable
    assert [r.reason for r in summary.failed] == [f"{out}: " + reason.removeprefix(f"output folder {out} ")]
    assert [p.name for p in out.iterdir()] == ["0001.png"]


def test_a_file_dropped_in_a_clip_output_folder_as_it_is_replaced_is_never_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler looked at the old output folder, then moved it aside and deleted it as a tree: a file dropped in
    between was deleted with it. It is looked at again once moved aside (then put back, the job failing), and
    removed file by file, its own frames only: whatever comes in later stays, with a note."""
    _clip(tmp_path / "frames")
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed").jobs
    assert run_jobs([job], _clip_handler(), progress=False).ok
    frames = {p.name: p.read_bytes() for p in job.output.iterdir()}
    moved = job.output.with_name(f".c1.old-{os.getpid()}")
    real_replace = os.replace
    drop: dict[str, Path] = {"before": job.output}  # when a file is dropped, and in which folder

    def replace(src: Any, dst: Any) -> None:
        if Path(src) == job.output and "before" in drop:  # just after the last look: into the folder moved aside
            (drop["before"] / "dropped.txt").write_text("written between the look and the rename")
        real_replace(src, dst)
        if Path(dst) == job.output and "after" in drop:  # the new frames are in place: into the old folder
            (drop["after"] / "dropped.txt").write_text("written after the last look")

    monkeypatch.setattr(os, "replace", replace)
    summary = run_jobs([job], _clip_handler(), progress=False, overwrite=True)
    assert (
        "holds files that are not this clip's frames (dropped.txt), so it is never replaced" in summary.failed[0].reason
    )
    assert {p.name: p.read_bytes() for p in job.output.iterdir()} == {**frames, "dropped.txt": ANY}
    assert not moved.exists()
    (job.output / "dropped.txt").unlink()
    drop = {"after": moved}
    summary = run_jobs([job], _clip_handler(), progress=False, overwrite=True)
    assert summary.ok and sorted(p.name for p in job.output.iterdir()) == sorted(frames)
    assert [p.name for p in moved.iterdir()] == ["dropped.txt"]
    assert [r.reason for r in summary.notes] == [
        f"the output folder it replaced was kept as {moved.name} beside c1: it still holds files (dropped in as it "
        "was replaced?) that are not this clip's frames; look at them, then remove it"
    ]


def test_a_clip_output_file_counts_as_the_clips_own_by_stem_only_alone(tmp_path: Path) -> None:
    """``0001.jpg`` is an earlier ``--format`` of the clip's ``0001.png``; ``0001.tif`` beside it is the user's (one
    run writes one format); frames beyond the clip's last are an earlier version of it, and the reason says so."""
    _clip(tmp_path / "frames")
    out = tmp_path / "out" / "c1"
    for name in ("0001.jpg", "0002.jpg"):
        _rgb(out / name, format="JPEG")
    assert plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", overwrite=True).jobs
    _rgb(out / "0001.tif")
    _rgb(out / "0003.jpg", format="JPEG")
    plan = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed", overwrite=True)
    assert not plan.jobs and plan.skipped[0].reason == (
        f"output folder {out} holds files that are not this clip's frames (0001.jpg, 0001.tif, 0003.jpg), so it is "
        "never replaced; move them away (frames from an earlier version of the clip? remove them or the folder) or "
        "choose another -o"
    )


# --- 4. file dates: outputs get the time they are written -------------------------------------------------------


def test_outputs_get_the_time_they_are_written_not_their_inputs(tmp_path: Path, loads: StandIn) -> None:
    """Dates are not copied (an output must be newer than its input for a rerun to judge it, and a backup tool
    must see a replaced photo as changed); usage.md says so."""
    _rgb(tmp_path / "in" / "a.png")
    _rgb(tmp_path / "ip" / "b.png")
    old = time.mktime((2015, 6, 1, 12, 0, 0, 0, 0, -1))
    for path in (tmp_path / "in" / "a.png", tmp_path / "ip" / "b.png"):
        os.utime(path, (old, old))
    started = time.time() - 5
    assert _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", models=loads)[0] == 0
    assert _invoke(str(tmp_path / "ip"), "--in-place", "-q", models=loads)[0] == 0
    assert (tmp_path / "out" / "a.png").stat().st_mtime > started
    assert (tmp_path / "ip" / "b.png").stat().st_mtime > started
    flat = " ".join(_USAGE.read_text(encoding="utf-8").split())
    assert "the time they are written" in flat and "`--in-place` too" in flat


# --- 5. permissions: a new output takes its input's, less the umask ---------------------------------------------


def test_new_outputs_take_the_inputs_permissions_less_the_umask(tmp_path: Path, loads: StandIn, umask: None) -> None:
    """A private 0600 photo (it carries GPS) got a world-readable 0644 output."""
    modes = {"private.jpg": 0o600, "group.png": 0o640, "readonly.png": 0o444, "open.png": 0o666}
    for i, (name, mode) in enumerate(modes.items()):
        _rgb(tmp_path / "in" / name, seed=i)
        os.chmod(tmp_path / "in" / name, mode)
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--compare", "-q", models=loads)
    assert code == 0, stderr
    out = tmp_path / "out"
    assert {name: _mode(out / name) for name in modes} == {
        "private.jpg": 0o600, "group.png": 0o640, "readonly.png": 0o444, "open.png": 0o644,  # as cp gives
    }  # fmt: skip
    assert _mode(out / "private.jpg.compare.jpg") == 0o600  # the before | after picture shows the photo too
    before = (out / "readonly.png").read_bytes()
    os.chmod(tmp_path / "in" / "readonly.png", 0o644)
    _rgb(tmp_path / "in" / "readonly.png", seed=9)  # --overwrite replaces a read-only output: a rename, as it keeps
    code, _, stderr = _invoke(str(tmp_path / "in" / "readonly.png"), "-o", str(out), "--overwrite", "-q", models=loads)
    assert code == 0 and (out / "readonly.png").read_bytes() != before and _mode(out / "readonly.png") == 0o444
    os.umask(0o077)  # a stricter umask still wins, as with cp
    code, _, _ = _invoke(str(tmp_path / "in" / "open.png"), "-o", str(tmp_path / "strict"), "-q", models=loads)
    assert code == 0 and _mode(tmp_path / "strict" / "open.png") == 0o600


def test_a_video_and_a_clip_take_their_inputs_permissions(tmp_path: Path, loads: StandIn, umask: None) -> None:
    make_video(tmp_path / "in" / "clip.mp4", frames=3, size=(32, 48), audio=None)
    os.chmod(tmp_path / "in" / "clip.mp4", 0o600)
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", models=loads)
    assert code == 0, stderr
    assert _mode(tmp_path / "out" / "clip.mp4") == 0o600
    clip = tmp_path / "frames" / "c1"
    for i in (1, 2):
        _rgb(clip / f"{i}.png", seed=i)
        os.chmod(clip / f"{i}.png", 0o640)
    os.chmod(clip, 0o750)
    code, _, stderr = _invoke(str(tmp_path / "frames"), "-o", str(tmp_path / "fo"), "--frames", "-q", models=loads)
    assert code == 0, stderr
    written = tmp_path / "fo" / "c1"
    assert _mode(written) == 0o750 and {_mode(p) for p in written.iterdir()} == {0o640}


def test_new_output_folders_take_their_input_folders_permissions(tmp_path: Path, loads: StandIn, umask: None) -> None:
    """A private 0700 folder got a 0755 ``priv_desnowed/`` anyone could list. Only folders weatherclean makes take
    them, and only those that mirror an input folder; a folder that exists is never changed."""
    priv = tmp_path / "priv"
    _rgb(priv / "2019" / "gps.jpg", format="JPEG")
    _rgb(priv / "2020" / "b.png")
    os.chmod(priv / "2019", 0o700)
    os.chmod(priv / "2020", 0o750)
    os.chmod(priv, 0o700)
    (tmp_path / "priv_desnowed" / "2020").mkdir(parents=True)  # made by the user: left as it is
    os.chmod(tmp_path / "priv_desnowed" / "2020", 0o775)
    os.chmod(tmp_path / "priv_desnowed", 0o755)
    code, _, stderr = _invoke(str(priv), "-q", models=loads)
    assert code == 0, stderr
    modes = {p.relative_to(tmp_path).as_posix(): _mode(p) for p in (tmp_path / "priv_desnowed").rglob("*")}
    assert modes == {"priv_desnowed/2019": 0o700, "priv_desnowed/2020": 0o775, "priv_desnowed/2019/gps.jpg": 0o644,
                     "priv_desnowed/2020/b.png": 0o644}  # fmt: skip
    code, _, stderr = _invoke(str(priv), "-o", str(tmp_path / "new" / "out"), "-q", models=loads)
    assert code == 0, stderr
    assert _mode(tmp_path / "new") == 0o755  # above the -o folder: mirrors nothing
    assert [_mode(tmp_path / "new" / "out" / sub) for sub in ("", "2019", "2020")] == [0o700, 0o700, 0o750]
    _rgb(tmp_path / "one" / "x.png")
    os.chmod(tmp_path / "one", 0o700)
    code, _, stderr = _invoke(str(tmp_path / "one" / "x.png"), "-o", str(tmp_path / "single"), "-q", models=loads)
    assert code == 0 and _mode(tmp_path / "single") == 0o755, stderr  # a file given by name: its folder not mirrored


def test_clip_folders_above_the_output_take_the_input_tree_s_permissions(tmp_path: Path, umask: None) -> None:
    clip = _clip(tmp_path / "frames" / "set")
    os.chmod(clip.parent, 0o710)
    os.chmod(tmp_path / "frames", 0o700)
    os.chmod(clip, 0o750)
    (job,) = plan_clips([tmp_path / "frames"], tmp_path / "out", tag="desnowed").jobs
    assert job.mirrored == 2
    assert run_jobs([job], _clip_handler(), progress=False).ok
    out = tmp_path / "out"
    assert [_mode(out), _mode(out / "set"), _mode(out / "set" / "c1")] == [0o700, 0o710, 0o750]


def test_new_output_folders_in_a_set_group_id_folder_keep_its_group(
    tmp_path: Path, loads: StandIn, umask: None
) -> None:
    """A team's ``chmod 2770`` folder: a new folder inherits set-group-ID, and the chmod that gave it its input
    folder's bits cleared it again, so the outputs below took the user's own group and the team was locked out.
    Mirrored folders, folders that mirror nothing and a clip's output folder (made by ``mkdtemp``) alike."""
    team = tmp_path / "team"
    team.mkdir()
    group = os.getgid() + 4242  # a group that is not the user's own (root may give a folder any group)
    os.chown(team, -1, group)
    os.chmod(team, 0o2770)
    _rgb(team / "photos" / "2019" / "a.png")
    os.chmod(team / "photos" / "2019" / "a.png", 0o640)
    clip = _clip(team / "frames")
    for name, args in (("default", ()), ("o", ("-o", str(team / "new" / "out")))):
        code, _, stderr = _invoke(str(team / "photos"), *args, "-q", models=loads)
        assert code == 0, (name, stderr)
    code, _, stderr = _invoke(str(team / "frames"), "-o", str(team / "fo"), "--frames", "-q", models=loads)
    assert code == 0, stderr
    made = [team / "photos_desnowed", team / "photos_desnowed" / "2019", team / "new", team / "new" / "out",
            team / "new" / "out" / "2019", team / "fo", team / "fo" / "c1"]  # fmt: skip
    setgid = {p.relative_to(team).as_posix(): (bool(p.stat().st_mode & stat.S_ISGID), p.stat().st_gid) for p in made}
    assert setgid == {p.relative_to(team).as_posix(): (True, group) for p in made}
    written = [team / "photos_desnowed" / "2019" / "a.png", team / "new" / "out" / "2019" / "a.png",
               *(team / "fo" / "c1").iterdir()]  # fmt: skip
    assert {p.stat().st_gid for p in written} == {group} and len(written) == 4
    assert _mode(team / "new" / "out" / "2019") == 0o2755 and _mode(team / "new") == 0o2755
    assert _mode(team / "fo" / "c1") == 0o2755 == _mode(clip)  # its input folder's bits, set-group-ID kept


@pytest.mark.parametrize(("bits", "expected"), [(0o777, 0o644), (0o4755, 0o644), (0o000, 0o400), (0o200, 0o600)])
def test_a_new_output_is_never_executable_setuid_or_unreadable_by_its_owner(
    tmp_path: Path, umask: None, bits: int, expected: int
) -> None:
    """Photos from a FAT or NTFS disk show as 0777 and gave executable outputs; set-user-ID is never copied; the
    owner can always read an output back."""
    _rgb(tmp_path / "in" / "a.png")
    os.chmod(tmp_path / "in" / "a.png", bits)
    assert copy_mode(bits) == expected and copy_mode(tmp_path / "in" / "a.png") == expected
    if os.geteuid() == 0 or bits & 0o400:  # only root reads a 0000 or 0200 photo
        assert run_jobs(plan_jobs([tmp_path / "in"], tmp_path / "out"), job_handler(Restoration(photo=_invert)),
                        progress=False).ok  # fmt: skip
        assert _mode(tmp_path / "out" / "a.png") == expected


def test_a_replaced_output_takes_the_stricter_of_its_own_and_its_inputs_permissions(
    tmp_path: Path, loads: StandIn, umask: None
) -> None:
    """A photo made private after its output was written must not be redone into a world-readable file; --in-place
    keeps a photo's own bits (its input is itself)."""
    _rgb(tmp_path / "in" / "a.png")
    assert _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", models=loads)[0] == 0
    assert _mode(tmp_path / "out" / "a.png") == 0o644
    os.chmod(tmp_path / "in" / "a.png", 0o600)
    assert _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--overwrite", "-q", models=loads)[0] == 0
    assert _mode(tmp_path / "out" / "a.png") == 0o600
    os.chmod(tmp_path / "in" / "a.png", 0o666)
    assert _invoke(str(tmp_path / "in"), "--in-place", "-q", models=loads)[0] == 0
    assert _mode(tmp_path / "in" / "a.png") == 0o666


def test_an_outputs_permissions_come_from_its_input_as_the_job_started(tmp_path: Path, umask: None) -> None:
    """A long video's input moved away before its output was written: the output took permissive defaults."""
    src = tmp_path / "private.png"
    _rgb(src)
    os.chmod(src, 0o640)
    with new_files_like(src):
        src.rename(tmp_path / "moved.png")  # gone from where it was when the job started
        atomic_write(tmp_path / "out.png", b"x")
    assert _mode(tmp_path / "out.png") == 0o640
    with new_files_like(tmp_path / "missing.png"):  # unreadable from the start: private, not permissive
        atomic_write(tmp_path / "unknown.png", b"x")
    assert _mode(tmp_path / "unknown.png") == 0o600


def test_the_input_permissions_setting_ends_with_its_block_even_after_an_error(tmp_path: Path, umask: None) -> None:
    src = tmp_path / "private.png"
    _rgb(src)
    os.chmod(src, 0o600)
    with pytest.raises(RuntimeError), new_files_like(src):
        assert new_file_mode() == 0o600
        raise RuntimeError("a failed write")
    assert new_file_mode() == 0o644
    atomic_write(tmp_path / "plain.png", b"x")
    assert _mode(tmp_path / "plain.png") == 0o644


# --- 11. .jfif, .jpe and .jif are JPEG photos -------------------------------------------------------------------


def test_jfif_jpe_and_jif_photos_are_desnowed_under_their_own_names(tmp_path: Path, loads: StandIn) -> None:
    """Windows and Chrome save many web pictures as .jfif: skipped as "not an image", even when named."""
    names = ["web.jfif", "old.jpe", "scan.JIF"]
    assert all(is_image_path(name) for name in names)
    for i, name in enumerate(names):
        _rgb(tmp_path / "in" / name, seed=i, format="JPEG")
    code, stdout, stderr = _invoke(str(tmp_path / "in" / "web.jfif"), "-o", str(tmp_path / "one"), "--json",
                                   models=loads)  # fmt: skip
    assert code == 0 and json.loads(stdout)["counts"]["done"] == 1, stderr
    for fmt in ((), ("--format", "jpeg")):  # --format jpeg keeps a JPEG's own ending, as a.jpeg stays
        out = tmp_path / f"out{len(fmt)}"
        code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(out), *fmt, "-q", models=loads)
        assert code == 0, stderr
        assert sorted(p.name for p in out.iterdir()) == sorted(names)
        for name in names:
            with Image.open(out / name) as im:
                assert im.format == "JPEG"


# --- 12. an -o inside an input folder -----------------------------------------------------------------------------


def test_an_output_folder_inside_an_input_folder_gets_one_note(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later run over s1 without -o s1/sub desnowed the outputs again; usage.md said outputs never land inside
    an input folder, which holds for the default output folder only. Noted, not refused."""
    monkeypatch.chdir(tmp_path)
    _rgb(Path("s1") / "a.png")
    _rgb(Path("s1") / "deeper" / "b.png", seed=1)
    plan = plan_jobs(["s1"], "s1/sub")
    assert plan.notes == [Record(Path("s1/sub"), _INSIDE)]
    assert plan_jobs(["s1", "s1/deeper"], "s1/sub").notes == plan.notes  # once per run
    frames = plan_media(["s1"], "s1/sub", tag="desnowed", media=MediaOptions(frames=True))
    assert frames.notes == plan.notes  # --frames walks twice (videos, then clips): still once
    assert not plan_jobs(["s1"], "elsewhere").notes and not plan_jobs(["s1"]).notes
    assert not plan_jobs(["s1"], "s1/s1_desnowed").notes and not plan_jobs(["s1"], "s1/.out").notes  # never walked
    code, stdout, stderr = _invoke("s1", "-o", "s1/sub", "--json", models=loads)
    assert code == 0, stderr
    assert json.loads(stdout)["notes"] == [{"path": "s1/sub", "note": _INSIDE}]
    code, _, stderr = _invoke("s1", "-o", "s1/sub", "-q", models=loads)  # a rerun says it again, on one line
    assert code == 0 and "note: s1/sub: " + _INSIDE in " ".join(stderr.split())


def test_photos_already_in_an_output_folder_inside_an_input_folder_are_listed(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``desnow s1 -o s1/sub`` with photos in s1/sub already: the walk never enters its own -o, so they were
    neither processed nor listed. This run's own outputs (a rerun) are not listed."""
    monkeypatch.chdir(tmp_path)
    _rgb(Path("s1") / "a.png")
    _rgb(Path("s1") / "sub" / "mine.png", seed=1)
    _rgb(Path("s1") / "sub" / "deeper" / "old.png", seed=2)
    (Path("s1") / "sub" / "notes.txt").write_text("not a photo")
    for _run in range(2):  # the first run writes s1/sub/a.png; the rerun skips it as done, not as one of these
        code, stdout, stderr = _invoke("s1", "-o", "s1/sub", "--json", models=loads)
        summary = json.loads(stdout)
        assert code == 0, stderr
        listed = sorted(r["path"] for r in summary["skipped"] if r["reason"] == INSIDE_OUTPUT)
        assert listed == ["s1/sub/deeper/old.png", "s1/sub/mine.png"]
    assert summary["counts"] == {"done": 0, "skipped": 3, "failed": 0, "not_done": 0}
    shards = [plan_jobs(["s1"], "s1/sub", shard=(k, 2)) for k in (1, 2)]  # each listed by one shard
    assert sorted(str(r.path) for plan in shards for r in plan.skipped if r.reason == INSIDE_OUTPUT) == [
        "s1/sub/deeper/old.png", "s1/sub/mine.png",
    ]  # fmt: skip


def test_no_shard_lists_this_runs_own_outputs_as_files_inside_the_output_folder(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``desnow s2 -o s2/sub`` then ``--shard 2/2``: the outputs of shard 1's photos were listed as files "inside the
    -o folder" (only the shard's own outputs were known to be this run's)."""
    monkeypatch.chdir(tmp_path)
    for i in range(1, 7):
        _rgb(Path("s2") / f"p{i}.jpg", seed=i, format="JPEG")
    code, _, stderr = _invoke("s2", "-o", "s2/sub", "-q", models=loads)
    assert code == 0, stderr
    _rgb(Path("s2") / "sub" / "mine.jpg", format="JPEG")
    listed = []
    for k in (1, 2):
        code, stdout, stderr = _invoke("s2", "-o", "s2/sub", "--shard", f"{k}/2", "--dry-run", "--json", models=loads)
        assert code == 0, stderr
        listed += [r["path"] for r in json.loads(stdout)["skipped"] if r["reason"] == INSIDE_OUTPUT]
    assert listed == ["s2/sub/mine.jpg"]  # by one shard


def test_frames_list_none_of_their_own_outputs_as_files_inside_the_output_folder(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``desnow --frames f3 -o f3/res --format png`` twice: the rerun listed the clip's own frames as files "inside
    the -o folder", since the frames were planned as photos (``f3/res/c1/0001.jpg``, and a clip given itself without
    its own sub-folder), not as the clip writes them."""
    monkeypatch.chdir(tmp_path)
    for root in ("f3/c1", "f4"):
        for i in (1, 2):
            _rgb(Path(root) / f"{i:04d}.jpg", seed=i, format="JPEG")
    for _run in range(2):
        for clip, out in (("f3", "f3/res"), ("f4", "f4/res")):
            code, stdout, stderr = _invoke("--frames", clip, "-o", out, "--format", "png", "--json", models=loads)
            assert code == 0, stderr
            assert not [r for r in json.loads(stdout)["skipped"] if r["reason"] == INSIDE_OUTPUT]
    assert sorted(p.as_posix() for p in Path(".").rglob("*.png")) == [
        "f3/res/c1/0001.png", "f3/res/c1/0002.png", "f4/res/f4/0001.png", "f4/res/f4/0002.png",
    ]  # fmt: skip
    _rgb(Path("f3") / "res" / "c1" / "0001.tif")  # the user's, beside the clip's own 0001.png: listed
    _rgb(Path("f3") / "res" / "mine.png")
    code, stdout, stderr = _invoke("--frames", "f3", "-o", "f3/res", "--format", "png", "--json", models=loads)
    listed = sorted(r["path"] for r in json.loads(stdout)["skipped"] if r["reason"] == INSIDE_OUTPUT)
    assert code == 0 and listed == ["f3/res/c1/0001.tif", "f3/res/mine.png"], stderr


def test_a_glob_with_the_output_folder_below_its_start_gets_the_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _rgb(Path("s1") / "a.jpg", format="JPEG")
    _rgb(Path("s1") / "deep" / "b.jpg", seed=1, format="JPEG")
    _rgb(Path("s1") / "sub" / "c.jpg", seed=2, format="JPEG")
    plan = plan_jobs(["s1/**/*.jpg"], "s1/sub")
    assert plan.notes == [Record(Path("s1/sub"), _INSIDE)]
    assert sorted(j.source.as_posix() for j in plan.jobs) == ["s1/a.jpg", "s1/deep/b.jpg"]
    assert [(str(r.path), r.reason) for r in plan.skipped] == [("s1/sub/c.jpg", INSIDE_OUTPUT)]
    assert not plan_jobs(["s1/**/*.jpg"], "elsewhere").notes


# --- 13. --in-place refuses palette and 1-bit pictures ------------------------------------------------------------


def test_in_place_refuses_palette_and_one_bit_pictures(tmp_path: Path, loads: StandIn) -> None:
    """A 1-bit document scan replaced in place came back as 8-bit greyscale, four times the size, for good."""
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.fromarray(_rgb(tmp_path / "x.png")).convert("P").save(folder / "palette.png")
    Image.new("1", (16, 16), 1).save(folder / "bilevel.png")
    Image.new("1", (16, 16), 1).save(folder / "bilevel.tif")
    Image.new("RGB", (16, 16), "red").convert("P").save(folder / "palette.bmp")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    _rgb(folder / "plain.png")
    code, stdout, stderr = _invoke(str(folder), "--in-place", "--json", models=loads)
    assert code == 1 and json.loads(stdout)["counts"] == {"done": 1, "skipped": 0, "failed": 4, "not_done": 0}
    flat = " ".join(stderr.split())
    assert "palette.png: --in-place would lose its palette (it would be written as RGB" in flat
    assert "bilevel.png: --in-place would lose its 1-bit depth (it would be written as 8-bit greyscale" in flat
    assert flat.count("; use -o DIR to keep the original") == 4
    (tmp_path / "trns").mkdir()
    Image.fromarray(_rgb(tmp_path / "y.png")).convert("P").save(tmp_path / "trns" / "clear.png", transparency=0)
    code, _, stderr = _invoke(str(tmp_path / "trns"), "--in-place", "-q", models=loads)
    assert code == 1 and "its palette (it would be written as RGBA" in " ".join(stderr.split())
    assert all((folder / name).read_bytes() == data for name, data in before.items())
    code, stdout, stderr = _invoke(str(folder), "-o", str(tmp_path / "out"), "--json", models=loads)  # -o: fine
    assert code == 0 and json.loads(stdout)["counts"]["done"] == 5, stderr


# --- 14. inputs that cannot be looked at, --in-place with --update, docs -------------------------------------------


def test_an_input_under_a_folder_that_cannot_be_entered_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Path.is_dir`` raises "permission denied" in Python 3.11 for a path under a folder without search
    permission: the whole plan ended in a traceback (tests run as root, so the refusal is simulated)."""
    monkeypatch.chdir(tmp_path)
    _rgb(Path("locked") / "a.jpg", format="JPEG")
    _rgb(Path("locked") / "sub" / "0001.png")
    _rgb(Path("open") / "b.png")
    real_stat = Path.stat

    def refused(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.parent.name == "locked" and self.name != "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", refused)
    why = "permission denied (a folder above it cannot be entered; check its permissions)"
    for media in (None, MediaOptions(), MediaOptions(frames=True)):
        plan = plan_batch(["locked/a.jpg", "locked/sub", "open"], "out", tag="desnowed", media=media)
        assert [(str(r.path), r.reason) for r in plan.failed if "locked" in str(r.path)] == [
            ("locked/a.jpg", why), ("locked/sub", why),
        ]  # fmt: skip
        assert [j.source.as_posix() for j in plan.jobs] == ["open" if media and media.frames else "open/b.png"]
    code, stdout, _ = _invoke("locked/a.jpg", "-o", "out", "--dry-run", "--json")
    assert code == 1 and json.loads(stdout)["failed"] == [{"path": "locked/a.jpg", "reason": why}]


def test_in_place_with_update_is_refused(tmp_path: Path, loads: StandIn) -> None:
    """``--in-place --update`` was accepted without a word: an in-place output is its input, nothing is out of date."""
    _rgb(tmp_path / "in" / "a.png")
    code, _, stderr = _invoke(str(tmp_path / "in"), "--in-place", "--update", models=loads)
    assert code == 2 and "--in-place outputs are their inputs, so none is out of date: leave out --update" in stderr
    with pytest.raises(InputError, match="leave out --update"):
        plan_batch([tmp_path / "in"], tag="desnowed", in_place=True, update=True)


def test_a_folder_of_earlier_results_is_told_without_walking_its_output_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look for earlier results in a folder with nothing to do walked every output and hidden folder below it
    (thousands of files); an output folder is itself an earlier run's result."""
    left = tmp_path / "left"
    for sub in ("trip_desnowed", ".cache"):
        _rgb(left / sub / "a.png")
    scanned: list[Path] = []
    real_scandir = os.scandir

    def counted(path: Any = ".") -> Any:
        if not isinstance(path, int):  # rmtree scans by file descriptor
            scanned.append(Path(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    (record,) = plan_jobs([left]).skipped
    assert record.reason.startswith("nothing to do: it holds only results of earlier runs")
    assert not {left / "trip_desnowed", left / ".cache"} & set(scanned)


def test_the_docs_say_how_update_meets_fat_disks_and_the_library(tmp_path: Path) -> None:
    usage = " ".join(_USAGE.read_text(encoding="utf-8").split())
    assert "FAT and exFAT also store local time, not UTC: after a daylight-saving change" in usage
    api = " ".join((_USAGE.parent / "api.md").read_text(encoding="utf-8").split())
    assert "unless given `overwrite=True` (redo all) or `update=True`" in api
    assert "`run_batch` and `weatherclean.batch.ray_engine.run_on_ray` take the same `overwrite=` and `update=`" in api


def test_restore_file_gives_its_output_the_inputs_permissions_as_the_commands_do(tmp_path: Path) -> None:
    """``Restorer.restore_file`` wrote a private 0600 photo's result as 0644, where ``desnow`` wrote 0600."""
    from weatherclean import load_restorer

    src = tmp_path / "private.png"
    _rgb(src)
    src.chmod(0o600)
    old = os.umask(0o022)
    try:
        load_restorer("snow", model=Inverter(), device="cpu").restore_file(src, tmp_path / "out.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == 0o600
