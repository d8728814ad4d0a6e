"""Provenance of desnow and derain runs: the record in --json and the summary, the ``user.weatherclean`` tag on
each output, the refusal of another command's output on a rerun, ``models info``'s checksums, and a rerun with
nothing to do that loads no model."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, make_video
from weatherclean.cli import derain, desnow
from weatherclean.provenance import XATTR, Provenance, read_tag


class _Same(torch.nn.Module):
    """A model for either task that leaves every pixel as it is (photos: ``restore``; clips: ``step``)."""

    receptive_field = 8
    bytes_per_pixel = None

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        return SimpleNamespace(background=x.clone()), torch.zeros(1)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def _xattrs_here(folder: Path) -> bool:
    probe = folder / "probe"
    probe.write_bytes(b"x")
    try:
        os.setxattr(probe, XATTR, b"{}")
    except (AttributeError, OSError):
        return False
    finally:
        probe.unlink()
    return True


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    if not _xattrs_here(tmp_path):
        pytest.skip("no user extended attributes on this file system")
    path = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


def _run(module: object, name: str, *args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    return invoke_command(module, name, *args, "--device", "cpu", models=models or StandIn(_Same))


def test_output_carries_the_tag_and_json_the_record(photo: Path) -> None:
    out = photo.parent / "out"
    code, stdout, _ = _run(desnow, "desnow", str(photo), "-o", str(out), "--json", "--tile", "64", "--threads", "1")
    assert code == 0
    record = json.loads(stdout)["provenance"]
    assert record["task"] == "desnow" and record["source"] == "provided"
    assert (record["precision"], record["device"], record["threads"], record["tile"]) == ("fp32", "cpu", 1, 64)
    tag = read_tag(out / "a.png")
    assert tag is not None and tag["task"] == "desnow" and tag["model"] == "default" and "version" in tag


def test_summary_names_the_model_in_one_line_but_not_under_quiet(photo: Path) -> None:
    _, stdout, _ = _run(desnow, "desnow", str(photo), "-o", str(photo.parent / "o1"))
    assert "model: default (provided), fp32 on cpu" in stdout
    _, stdout, stderr = _run(desnow, "desnow", str(photo), "-o", str(photo.parent / "o2"), "-q")
    assert "model:" not in stdout + stderr


def test_derain_refuses_desnow_output_in_the_same_folder(photo: Path) -> None:
    out = photo.parent / "clean"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    before = (out / "a.png").read_bytes()
    code, stdout, stderr = _run(derain, "derain", str(photo), "-o", str(out), "--json")
    assert code == 1
    summary = json.loads(stdout)
    assert summary["counts"]["skipped"] == 0 and not summary["ok"]
    reason = summary["failed"][0]["reason"]
    assert "was made by desnow (default), not derain" in reason and "--overwrite" in reason and "-o" in reason
    assert (out / "a.png").read_bytes() == before
    code, _, _ = _run(derain, "derain", str(photo), "-o", str(out), "--overwrite")
    assert code == 0 and read_tag(out / "a.png")["task"] == "derain"  # type: ignore[index]


def test_same_task_other_model_is_skipped_naming_that_model(photo: Path) -> None:
    out = photo.parent / "out"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    tag = {"task": "desnow", "model": "desnownet-deep", "weights_sha256": None, "version": "0"}
    os.setxattr(out / "a.png", XATTR, json.dumps(tag).encode())
    code, stdout, _ = _run(desnow, "desnow", str(photo), "-o", str(out), "--json")
    summary = json.loads(stdout)
    assert code == 0 and summary["counts"]["skipped"] == 1
    assert "made with desnownet-deep, not default" in summary["skipped"][0]["reason"]


def test_untagged_output_is_skipped_as_before(photo: Path) -> None:
    out = photo.parent / "out"
    out.mkdir()
    Image.open(photo).save(out / "a.png")  # an older run's output, or one from a file system without xattrs
    code, stdout, _ = _run(derain, "derain", str(photo), "-o", str(out), "--json")
    assert code == 0 and json.loads(stdout)["counts"]["skipped"] == 1


def test_in_place_output_carries_the_tag(photo: Path) -> None:
    assert _run(desnow, "desnow", str(photo), "--in-place")[0] == 0
    assert read_tag(photo)["task"] == "desnow"  # type: ignore[index]


def test_video_output_carries_the_tag(photo: Path) -> None:
    clip = photo.parent / "clip.mp4"
    make_video(clip, frames=3, audio=None, vfr=False)
    out = photo.parent / "out"
    assert _run(derain, "derain", str(clip), "-o", str(out))[0] == 0
    assert read_tag(out / "clip.mp4")["task"] == "derain"  # type: ignore[index]


def test_no_xattr_support_is_no_failure(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    out = photo.parent / "out"
    code, _, _ = _run(desnow, "desnow", str(photo), "-o", str(out))
    assert code == 0 and (out / "a.png").stat().st_size > 0 and read_tag(out / "a.png") is None


def test_rerun_with_nothing_to_do_loads_no_model(photo: Path) -> None:
    out = photo.parent / "out"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    models = StandIn(_Same)
    code, stdout, _ = _run(desnow, "desnow", str(photo), "-o", str(out), "--json", models=models)
    assert code == 0 and models.calls == []
    assert json.loads(stdout)["provenance"]["device"] is None
    code, _, stderr = _run(desnow, "desnow", str(photo), "-o", str(out), "--model", "j4rnet-wide", models=models)
    assert code == 2 and "rain" in stderr and models.calls == []  # --model is still checked, as --dry-run does


def test_models_info_shows_the_weights_checksum() -> None:
    from weatherclean.cli.models import model_info
    from weatherclean.models.hub import file_sha256

    info = model_info("desnownet-light")
    folder = Path(info["source"]["folder"])
    assert info["sha256"]["model.safetensors"] == file_sha256(folder / "model.safetensors")
    assert info["sha256"]["config.json"] == file_sha256(folder / "config.json")


def test_record_line_is_short() -> None:
    record = Provenance(
        task="desnow", model="desnownet-light", source="bundled", weights_sha256="b2724400" + "0" * 56,
        precision="bf16", device="cpu", threads=2,
    )  # fmt: skip
    assert record.line() == "model: desnownet-light (bundled, sha256 b2724400…), bf16 on cpu, 2 threads"
    assert json.loads(record.tag())["weights_sha256"].startswith("b2724400")


def _tag_of(task: str, model: str = "default", sha: str | None = None) -> bytes:
    return json.dumps({"task": task, "model": model, "weights_sha256": sha, "version": "0"}).encode()


def test_an_untagged_overwrite_keeps_no_old_tag(photo: Path) -> None:
    # a program's own batch (no run's record in effect), as --engine ray's actors: the replaced file's tag said
    # desnow, and was copied onto derain's output with the file's other attributes
    from weatherclean.batch import plan_jobs, run_batch

    out = photo.parent / "clean"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    os.setxattr(out / "a.png", "user.xdg.comment", b"keep me")
    assert read_tag(out / "a.png")["task"] == "desnow"  # type: ignore[index]
    plan = plan_jobs([photo], out, tag="derained", overwrite=True)
    summary = run_batch(plan, lambda image: image.pixels, overwrite=True, progress=False)
    assert len(summary.done) == 1
    assert read_tag(out / "a.png") is None
    assert os.getxattr(out / "a.png", "user.xdg.comment") == b"keep me"  # the user's own attributes stay


def test_a_tag_that_cannot_be_set_leaves_none_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.provenance import set_tag

    if not _xattrs_here(tmp_path):
        pytest.skip("no user extended attributes on this file system")
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    os.setxattr(path, XATTR, _tag_of("desnow"))
    real_setxattr = os.setxattr

    def refuse(target: object, name: str, value: bytes, *rest: object) -> None:
        if name == XATTR and value == b"new":
            raise OSError(errno.EACCES, "Permission denied")
        real_setxattr(target, name, value, *rest)  # type: ignore[arg-type]

    def no_chmod(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "setxattr", refuse)
    monkeypatch.setattr(os, "chmod", no_chmod)
    set_tag(path, b"new")
    assert read_tag(path) is None


def test_nothing_to_do_still_checks_the_device(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = photo.parent / "out"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    models = StandIn(_Same)
    code, _, stderr = invoke_command(desnow, "desnow", str(photo), "-o", str(out), "--device", "cuda", models=models)
    assert code == 2 and "CUDA is not available" in stderr and models.calls == []


def test_nothing_to_do_json_under_quiet_is_the_summary_alone(photo: Path) -> None:
    out = photo.parent / "out"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    code, stdout, stderr = _run(desnow, "desnow", str(photo), "-o", str(out), "--json", "-q")
    summary = json.loads(stdout)
    assert code == 0 and summary["counts"]["skipped"] == 1 and "model:" not in stdout + stderr
    record = summary["provenance"]
    assert record["task"] == "desnow" and record["engine"] == "local" and record["device"] is None


def test_update_does_not_take_the_other_commands_output(photo: Path) -> None:
    out = photo.parent / "clean"
    assert _run(desnow, "desnow", str(photo), "-o", str(out))[0] == 0
    before = (out / "a.png").read_bytes()
    os.utime(out / "a.png", (1, 1))  # older than its input: --update would redo it
    code, stdout, _ = _run(derain, "derain", str(photo), "-o", str(out), "--update", "--json")
    summary = json.loads(stdout)
    assert code == 1 and "was made by desnow" in summary["failed"][0]["reason"]
    assert (out / "a.png").read_bytes() == before


def test_in_place_keeps_the_history_and_the_users_attributes(photo: Path) -> None:
    os.setxattr(photo, XATTR, _tag_of("derain", "j4rnet-light"))  # an earlier run's, in place
    os.setxattr(photo, "user.xdg.tags", b"holiday")
    assert _run(desnow, "desnow", str(photo), "--in-place")[0] == 0
    assert _run(derain, "derain", str(photo), "--in-place")[0] == 0
    tag = read_tag(photo)
    assert tag is not None and tag["task"] == "derain"
    assert [(step["task"], step["model"]) for step in tag["steps"]] == [
        ("derain", "j4rnet-light"), ("desnow", "default"), ("derain", "default"),
    ]  # fmt: skip
    assert os.getxattr(photo, "user.xdg.tags") == b"holiday"


def test_history_is_bounded() -> None:
    from weatherclean.provenance import STEPS

    earlier = {"task": "desnow", "model": "m", "steps": [{"task": "desnow", "model": f"m{i}"} for i in range(20)]}
    tag = json.loads(Provenance(task="derain", model="j").tag(after=earlier))
    assert len(tag["steps"]) == STEPS and tag["steps"][-1]["task"] == "derain"
    assert tag["steps"][0]["model"] == f"m{20 - STEPS + 1}"
    assert "steps" not in json.loads(Provenance(task="derain", model="j").tag())  # no history: the tag as before


def test_a_frames_folder_and_its_frames_are_tagged(tmp_path: Path) -> None:
    if not _xattrs_here(tmp_path):
        pytest.skip("no user extended attributes on this file system")
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(2):
        Image.fromarray(np.full((24, 32, 3), 40 * i, dtype=np.uint8)).save(clip / f"f{i}.png")
    out = tmp_path / "out"
    code, _, stderr = _run(derain, "derain", str(clip), "--frames", "-o", str(out), "-q")
    assert code == 0, stderr
    frames = sorted(out.rglob("f*.png"))
    assert len(frames) == 2
    for path in (frames[0].parent, *frames):
        assert read_tag(path)["task"] == "derain", path  # type: ignore[index]


def test_same_weights_under_another_name_are_the_same_model() -> None:
    from weatherclean.batch.jobs import other_model
    from weatherclean.provenance import running

    ours, theirs = "a" * 64, "b" * 64
    with running(Provenance(task="desnow", model="./runs/mine", weights_sha256=ours)):
        assert other_model({"task": "desnow", "model": "runs/mine", "weights_sha256": ours}) is None
        retrained = other_model({"task": "desnow", "model": "./runs/mine", "weights_sha256": theirs})
        assert retrained is not None and "other weights of ./runs/mine (sha256 bbbbbbbb" in retrained
        assert other_model({"task": "desnow", "model": "./runs/mine", "weights_sha256": None}) is None
        assert other_model({"task": "desnow", "model": "x", "weights_sha256": None}) == "made with x, not ./runs/mine"


def test_an_existing_output_s_tag_is_read_once(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.batch import jobs
    from weatherclean.provenance import running

    out = photo.parent / "a_out.png"
    Image.open(photo).save(out)
    os.setxattr(out, XATTR, _tag_of("desnow", "other"))
    reads: list[object] = []
    monkeypatch.setattr(jobs, "read_tag", lambda path: reads.append(path) or read_tag(path))
    with running(Provenance(task="desnow", model="default")):
        verdict = jobs.judge_output(out, lambda: [photo], jobs.Replacement())
    assert verdict.skip is not None and "made with other" in verdict.skip and len(reads) == 1


def test_ray_record_is_the_model_and_where_it_ran() -> None:
    record = Provenance(
        task="desnow", model="desnownet-light", source="bundled", weights_sha256="b2724400" + "0" * 56, engine="ray"
    )
    assert record.line() == "model: desnownet-light (bundled, sha256 b2724400…) on Ray actors"
    data = record.to_dict()
    assert data["engine"] == "ray" and (data["device"], data["precision"], data["threads"]) == (None, None, None)


def test_provenance_imports_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, weatherclean.provenance; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
