"""``weatherclean desnow`` end to end with a stand-in model: planning, skipping, failing, exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command
from weatherclean.batch import plan_jobs
from weatherclean.cli import desnow


class _Inverter(torch.nn.Module):
    """Stands in for DesnowNet: an obvious, checkable change (1 − x) and a small receptive field."""

    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 3
        return 1.0 - x


@pytest.fixture
def loads() -> StandIn:
    """The stand-in model the CLI runs in place of --model, with the loads asked for in ``calls``."""
    return StandIn(_Inverter)


def _invoke(*args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    """Run desnow on the CPU unless a test names a device: the stand-in models count their calls, and on
    CUDA the engine calls a model once more per picture to measure its memory."""
    device = () if "--device" in args else ("--device", "cpu")
    return invoke_command(desnow, "desnow", *args, *device, models=models)


def _rgb(path: Path, seed: int = 0, size: tuple[int, int] = (20, 28)) -> np.ndarray:
    arr = (np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def test_mirrored_tree_then_rerun_skips(tmp_path: Path, loads: StandIn) -> None:
    src = tmp_path / "in"
    _rgb(src / "a.jpg")
    b = _rgb(src / "sub" / "b.png", seed=1)
    (src / "notes.txt").write_text("not a photo")
    out = tmp_path / "out"
    code, stdout, _ = _invoke(str(src), "-o", str(out), "--json", "--tile", "64", models=loads)
    assert code == 0, stdout
    summary = json.loads(stdout)
    assert summary["counts"] == {"done": 2, "skipped": 1, "failed": 0, "not_done": 0}
    assert loads.calls == ["default:snow"]
    assert (out / "a.jpg").is_file() and (out / "sub" / "b.png").is_file()
    assert not (out / "notes.txt").exists()
    assert np.array_equal(np.asarray(Image.open(out / "sub" / "b.png")), 255 - b)  # the model really ran
    before = (out / "a.jpg").stat().st_mtime_ns
    code, stdout, _ = _invoke(str(src), "-o", str(out), "--json", models=loads)
    again = json.loads(stdout)
    assert code == 0 and again["counts"]["done"] == 0 and again["counts"]["skipped"] == 3
    assert (out / "a.jpg").stat().st_mtime_ns == before
    code, stdout, _ = _invoke(str(src), "-o", str(out), "--json", "--overwrite", "--quiet", models=loads)
    assert code == 0 and json.loads(stdout)["counts"]["done"] == 2


def test_default_outputs_never_land_inside_the_input_tree(tmp_path: Path) -> None:
    _rgb(tmp_path / "photos" / "x.jpg")
    _rgb(tmp_path / "photos" / "desnowed" / "old.jpg")  # an earlier single-file run's output
    _rgb(tmp_path / "single.jpg")
    plan = plan_jobs([tmp_path / "photos", tmp_path / "single.jpg"], None)
    outputs = sorted(str(j.output.relative_to(tmp_path.resolve())) for j in plan.jobs)
    assert outputs == ["desnowed/single.jpg", "photos_desnowed/x.jpg"]


def test_bad_files_fail_one_line_each_and_the_batch_continues(tmp_path: Path, loads: StandIn) -> None:
    src = tmp_path / "in"
    _rgb(src / "good.jpg")
    (src / "zero.jpg").write_bytes(b"")
    (src / "text.jpg").write_text("hello, I am text\n")
    buf = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 200).save(buf, "JPEG")
    (src / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (src / "x.jpg").mkdir()
    code, stdout, _ = _invoke(str(src / "*.jpg"), "-o", str(tmp_path / "out"), "--json", models=loads)
    assert code == 1
    summary = json.loads(stdout)
    assert [d["input"].split("/")[-1] for d in summary["done"]] == ["good.jpg"]
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert set(reasons) == {"zero.jpg", "text.jpg", "cut.jpg", "x.jpg"}
    assert "empty" in reasons["zero.jpg"] and "not an image" in reasons["text.jpg"]
    assert "truncated" in reasons["cut.jpg"] and "folder" in reasons["x.jpg"]
    assert all("\n" not in r for r in reasons.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]  # no partial files
    code, stdout, stderr = _invoke(str(src / "*.jpg"), "-o", str(tmp_path / "out2"), models=loads)
    assert code == 1 and "1 done, 0 skipped, 4 failed" in stdout
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and all(line.count(str(src)) == 1 for line in errors)  # one line, the file once
    assert f"written to {tmp_path / 'out2' / 'good.jpg'}" in stdout  # where the one output went


def test_a_failure_names_its_file_once_however_it_was_typed(tmp_path: Path, loads: StandIn, monkeypatch) -> None:
    """An absolute path inside the working folder is shown relative in the record but absolute in the reason."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "text.jpg").write_text("hello, I am text\n")
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = _invoke(str(tmp_path / "in" / "text.jpg"), "-o", "out", models=loads)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1 and errors[0].count("text.jpg") == 1, errors


def test_unwritable_output_fails_before_any_work(tmp_path: Path, loads: StandIn) -> None:
    _rgb(tmp_path / "in" / "a.jpg")
    blocker = tmp_path / "somefile"
    blocker.write_text("a regular file, so nothing can be created below it")
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(blocker / "out"), models=loads)
    assert code == 2 and "is a file" in stderr and loads.calls == []


def test_collisions_are_detected_before_work(tmp_path: Path, loads: StandIn) -> None:
    _rgb(tmp_path / "a" / "same.jpg")
    _rgb(tmp_path / "b" / "same.jpg")
    first, second = str(tmp_path / "a" / "same.jpg"), str(tmp_path / "b" / "same.jpg")
    code, _, stderr = _invoke(first, second, "-o", str(tmp_path / "out"), models=loads)
    assert code == 2 and "would be written" in stderr and loads.calls == []


def test_dry_run_writes_nothing(tmp_path: Path, loads: StandIn) -> None:
    _rgb(tmp_path / "in" / "a.jpg")
    _rgb(tmp_path / "in" / "deep" / "b.jpg")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, stdout, _ = _invoke(str(tmp_path / "in"), "--dry-run", "--json", models=loads)
    assert code == 0 and len(json.loads(stdout)["jobs"]) == 2
    code, stdout, _ = _invoke(str(tmp_path / "in"), "--dry-run", models=loads)
    assert code == 0 and "would be desnowed" in stdout
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before and loads.calls == []


def test_dry_run_checks_the_model_without_loading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the run would refuse of --model fails the dry run the same way (exit 2, one line, nothing written),
    and no model is loaded. Hub ids: tests/test_hub.py."""
    import weatherclean.models.loading as loading
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    def no_loading(folder: Path) -> None:
        raise AssertionError(f"a dry run loaded {folder}")

    monkeypatch.setattr(loading, "load_from_folder", no_loading)
    monkeypatch.setattr("weatherclean.models.registry.load_from_folder", no_loading)
    _rgb(tmp_path / "in" / "a.jpg")
    (tmp_path / "run").mkdir()  # a run folder, not its model/
    J4RNet(J4RNetConfig(channels=8, hidden=8)).save_pretrained(tmp_path / "rain-model")
    cases = {
        "no-such-model": "not a registered name",
        "j4rnet-light": "is a rain model",
        str(tmp_path / "missing"): "not found; check the path",
        str(tmp_path / "run"): "not a model folder",
        str(tmp_path / "rain-model"): "is a rain model",
        "desnownet-base": "no bundled weights",
    }
    for model, reason in cases.items():
        code, stdout, stderr = _invoke(str(tmp_path / "in"), "--dry-run", "--model", model)
        assert code == 2 and reason in stderr and len(stderr.strip().splitlines()) == 1, (model, stderr)
    code, _, stderr = _invoke(str(tmp_path / "in"), "--dry-run", "--pass-through", "0.7")  # DesnowNet: [0, 0.5)
    assert code == 2 and "pass_through=0.7 (--pass-through 0.7): must be in [0, 0.5)" in stderr
    for args in ((), ("--model", "default-snow"), ("--json",)):  # the bundled default
        code, stdout, stderr = _invoke(str(tmp_path / "in"), "--dry-run", *args)
        assert code == 0 and stderr == "" and ("would be desnowed" in stdout or json.loads(stdout)["notes"] == [])
    # A program that supplies the models answers for them, but a name of the other task is refused first.
    code, _, stderr = _invoke(str(tmp_path / "in"), "--dry-run", "--model", "j4rnet-light", models=StandIn(_Inverter))
    assert code == 2 and "is a rain model" in stderr
    assert sorted(p.name for p in (tmp_path / "in").rglob("*")) == ["a.jpg"]


def test_greyscale_stays_grey_and_alpha_passes_through(tmp_path: Path, loads: StandIn) -> None:
    rng = np.random.default_rng(3)
    grey = (rng.random((16, 16)) * 255).astype(np.uint8)
    la = np.dstack([grey, np.arange(256, dtype=np.uint8).reshape(16, 16)])
    Image.fromarray(la, "LA").save(tmp_path / "g.png")
    code, stdout, _ = _invoke(str(tmp_path / "g.png"), "-o", str(tmp_path / "out"), models=loads)
    assert code == 0, stdout
    with Image.open(tmp_path / "out" / "g.png") as im:
        assert im.mode == "LA"
        arr = np.asarray(im)
    assert np.array_equal(arr[..., 1], la[..., 1]) and np.array_equal(arr[..., 0], 255 - la[..., 0])


def test_rerun_of_recursive_glob_skips_outputs_and_done_files(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    trip = tmp_path / "trip"
    _rgb(trip / "a.jpg")
    _rgb(trip / "day2" / "b.jpg", seed=1)
    monkeypatch.chdir(tmp_path)  # a relative pattern, as typed on the command line
    code, stdout, stderr = _invoke("trip/**/*.jpg", "--json", models=loads)
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}
    assert (trip / "desnowed" / "a.jpg").is_file() and (trip / "day2" / "desnowed" / "b.jpg").is_file()
    code, stdout, stderr = _invoke("trip/**/*.jpg", "--json", models=loads)  # now also matches trip/desnowed/a.jpg
    assert code == 0, stderr
    again = json.loads(stdout)
    assert again["counts"] == {"done": 0, "skipped": 2, "failed": 0, "not_done": 0}
    assert all("output exists" in s["reason"] for s in again["skipped"])
    assert not (trip / "desnowed" / "desnowed").exists()


def test_a_recursive_glob_mirrors_the_tree_below_its_literal_start_in_o(tmp_path: Path) -> None:
    """Two cards' IMG_0001.JPG: every match went straight into -o, and the batch was refused as colliding."""
    for card in ("100CANON", "101CANON"):
        _rgb(tmp_path / "lib" / "DCIM" / card / "IMG_0001.JPG")
    plan = plan_jobs([str(tmp_path / "lib" / "**" / "*.JPG")], tmp_path / "out")
    assert sorted(j.output.relative_to(tmp_path / "out").as_posix() for j in plan.jobs) == [
        "DCIM/100CANON/IMG_0001.JPG", "DCIM/101CANON/IMG_0001.JPG",
    ]  # fmt: skip
    without_o = plan_jobs([str(tmp_path / "lib" / "**" / "*.JPG")])  # each beside itself, as before
    assert {j.output.parent.name for j in without_o.jobs} == {"desnowed"}


def test_glob_skips_matches_under_the_output_folder(tmp_path: Path) -> None:
    _rgb(tmp_path / "in" / "a.jpg")
    _rgb(tmp_path / "in" / "results" / "a.jpg")  # an earlier run's -o folder inside the input tree
    plan = plan_jobs([str(tmp_path / "in" / "**" / "*.jpg")], tmp_path / "in" / "results")
    assert [j.source.name for j in plan.jobs] == [] and len(plan.skipped) == 1  # output exists
    assert plan.skipped[0].path.name == "a.jpg" and "results" not in plan.skipped[0].path.parts


def test_symlink_to_a_photo_outside_the_folder(tmp_path: Path, loads: StandIn) -> None:
    outside = _rgb(tmp_path / "elsewhere" / "far.jpg", seed=2)
    folder = tmp_path / "photos"
    _rgb(folder / "near.jpg")
    (folder / "sub").mkdir()
    (folder / "sub" / "link.jpg").symlink_to(tmp_path / "elsewhere" / "far.jpg")
    code, stdout, stderr = _invoke(str(folder), "--json", models=loads)
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}
    out = tmp_path / "photos_desnowed"
    assert (out / "near.jpg").is_file() and (out / "sub" / "link.jpg").is_file()
    assert np.asarray(Image.open(out / "sub" / "link.jpg")).shape == outside.shape
    code, stdout, stderr = _invoke(str(folder), "-o", str(tmp_path / "out"), "--json", models=loads)
    assert code == 0, stderr
    assert (tmp_path / "out" / "sub" / "link.jpg").is_file()


def test_in_place_replaces_the_real_file_and_refuses_output(tmp_path: Path, loads: StandIn) -> None:
    original = _rgb(tmp_path / "photos" / "a.png")
    _rgb(tmp_path / "elsewhere" / "far.png", seed=4)
    (tmp_path / "photos" / "link.png").symlink_to(tmp_path / "elsewhere" / "far.png")
    code, _, stderr = _invoke(str(tmp_path / "photos"), "--in-place", "-o", str(tmp_path / "out"), models=loads)
    assert code == 2 and "--in-place" in stderr and loads.calls == []
    code, stdout, stderr = _invoke(str(tmp_path / "photos"), "--in-place", "--json", models=loads)
    assert code == 0, stderr
    assert json.loads(stdout)["counts"]["done"] == 2
    assert np.array_equal(np.asarray(Image.open(tmp_path / "photos" / "a.png")), 255 - original)
    assert (tmp_path / "photos" / "link.png").is_symlink()  # the target was updated, the link kept
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["a.png", "link.png"]
    assert not (tmp_path / "photos_desnowed").exists()


def test_linked_folders_are_walked_once_and_a_linked_photo_keeps_its_own_place(tmp_path: Path, loads: StandIn) -> None:
    """A folder linked in (a year kept on another disk) was skipped without a word; a link to a photo in
    the same tree (an album cover) took the photo's place, which never reached the mirrored tree."""
    library = tmp_path / "L"
    _rgb(library / "album" / "photo.png")
    _rgb(tmp_path / "store" / "2019" / "old.png", seed=2)
    (library / "2019").symlink_to(tmp_path / "store" / "2019")
    (library / "cover.png").symlink_to(library / "album" / "photo.png")
    (library / "album" / "loop").symlink_to(library)  # a link to a folder above: must not loop
    (library / "a_shortcut").symlink_to(library / "album")  # inside the tree, sorted first: "album" wins
    _rgb(tmp_path / "elsewhere" / "private.png", seed=3)
    (library / "up").symlink_to(tmp_path)  # above the tree: its photos are not the library's
    code, stdout, stderr = _invoke(str(library), "--json", models=loads)
    assert code == 0, stderr
    written = sorted(str(p.relative_to(tmp_path / "L_desnowed")) for p in (tmp_path / "L_desnowed").rglob("*.png"))
    assert written == ["2019/old.png", "album/photo.png"]
    (skipped,) = json.loads(stdout)["skipped"]
    assert skipped["path"].endswith("cover.png") and skipped["reason"].startswith("a link to")


def test_in_place_refuses_files_it_cannot_write_back_whole(tmp_path: Path, loads: StandIn) -> None:
    """Only the first page of a multi-page TIFF or an animation is processed, and CMYK is written as RGB:
    in place, the other pages and the CMYK data were lost for good with exit 0 and a note."""
    folder = tmp_path / "photos"
    folder.mkdir()
    pages = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    pages[0].save(folder / "scan.tif", save_all=True, append_images=pages[1:])
    pages[0].save(folder / "anim.webp", save_all=True, append_images=pages[1:], duration=100)
    Image.new("CMYK", (16, 16), (10, 20, 30, 40)).save(folder / "cmyk.jpg")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    _rgb(folder / "plain.png")
    code, stdout, stderr = _invoke(str(folder), "--in-place", models=loads)
    assert code == 1, stderr
    assert "1 done, 0 skipped, 3 failed" in stdout
    assert "scan.tif: --in-place would lose pages 2–3" in stderr and "anim.webp: --in-place would lose frames" in stderr
    assert "cmyk.jpg: --in-place would lose its CMYK colours; use -o DIR" in stderr
    assert all((folder / name).read_bytes() == data for name, data in before.items())


def test_format_changes_suffix_and_collisions_are_checked_after(tmp_path: Path, loads: StandIn) -> None:
    _rgb(tmp_path / "in" / "a.jpg")
    _rgb(tmp_path / "in" / "b.jpeg")
    code, stdout, stderr = _invoke(
        str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "png", "--json", models=loads
    )
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    with Image.open(tmp_path / "out" / "a.png") as im:
        assert im.format == "PNG"
    code, stdout, stderr = _invoke(
        str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--format", "jpeg", "--json", models=loads
    )
    assert code == 0 and sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["a.jpg", "b.jpeg"]
    _rgb(tmp_path / "in" / "a.png")  # a.jpg and a.png would both become a.png
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "o3"), "--format", "png", models=loads)
    assert code == 2 and "would be written" in stderr
    code, _, stderr = _invoke(str(tmp_path / "in"), "--format", "bmp9", models=loads)
    assert code == 2 and "bmp9" in stderr


def test_shards_split_without_overlap_and_resume(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 90
    monkeypatch.chdir(tmp_path)  # paths as typed, relative: the shards do not depend on where tmp_path is
    for i in range(n):
        _rgb(Path("in") / f"d{i % 3}" / f"p{i:02d}.png", seed=i, size=(8, 8))
    done: list[set[str]] = []
    for k in (1, 2, 3):
        plan = plan_jobs(["in"], "out", shard=(k, 3))
        assert plan.other_shards == n - len(plan.jobs)
        done.append({j.source.name for j in plan.jobs})
    assert set().union(*done) == {f"p{i:02d}.png" for i in range(n)}
    assert sum(len(d) for d in done) == n and all(len(d) >= n // 6 for d in done)  # disjoint, not lopsided
    code, stdout, stderr = _invoke("in", "-o", "out", "--shard", "2/3", "--json", models=loads)
    assert code == 0, stderr
    first = json.loads(stdout)
    assert {Path(d["input"]).name for d in first["done"]} == done[1] and first["other_shards"] == n - len(done[1])
    victim = next(iter(sorted(done[1])))
    next(Path("out").rglob(victim)).unlink()  # as if interrupted before this photo
    code, stdout, _ = _invoke("in", "-o", "out", "--shard", "2/3", "--json", models=loads)
    again = json.loads(stdout)
    assert [Path(d["input"]).name for d in again["done"]] == [victim]
    assert again["counts"]["skipped"] == len(done[1]) - 1
    for bad in ("0/3", "4/3", "x", "1/0"):
        code, _, stderr = _invoke("in", "--shard", bad, models=loads)
        assert code == 2 and "--shard" in stderr


def _png_bomb(path: Path, width: int = 40_000, height: int = 40_000) -> None:
    """A tiny PNG whose header claims 1.6 gigapixels: the classic decompression bomb."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)))


def test_unreadable_file_and_decompression_bomb_fail_alone(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    src = tmp_path / "in"
    _rgb(src / "good.png")
    _rgb(src / "locked.png", seed=1)
    _png_bomb(src / "bomb.png")
    locked = src / "locked.png"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the OS say "permission denied" as it would to a user
        real_open = open

        def guarded_open(file: object, *args: object, **kwargs: object) -> object:
            if Path(str(file)) == locked:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr("builtins.open", guarded_open)
    code, stdout, _ = _invoke(str(src), "-o", str(tmp_path / "out"), "--json", models=loads)
    locked.chmod(0o644)
    assert code == 1
    summary = json.loads(stdout)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert set(reasons) == {"locked.png", "bomb.png"} and summary["counts"]["done"] == 1
    assert "permission denied" in reasons["locked.png"] and "safety limit" in reasons["bomb.png"]
    assert all("\n" not in r and n not in r for n, r in reasons.items()), reasons  # the path: own field


def test_disk_full_leaves_no_partial_file_and_stops(
    tmp_path: Path, loads: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import weatherclean.io.atomic as atomic

    for name in ("a.png", "b.png", "c.png"):
        _rgb(tmp_path / "in" / name)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    real_fsync = atomic.os.fsync
    monkeypatch.setattr(atomic.os, "fsync", full)
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", models=loads)
    assert code == 1
    summary = json.loads(stdout)
    # the write that found the disk full is the one failure; the two not started are not done, not failures
    assert summary["counts"] == {"done": 0, "skipped": 0, "failed": 1, "not_done": 2}
    assert "disk full" in summary["failed"][0]["reason"]
    assert len(summary["not_done"]) == 2 and summary["interrupted"] is False
    assert (
        loads.calls == ["default:snow"] and not (tmp_path / "out").exists()
    )  # no temporary or partial file, no empty folder
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)  # space freed: the rerun does everything
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", models=loads)
    assert code == 0 and json.loads(stdout)["counts"]["done"] == 3


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM handler on Windows")
def test_sigterm_stops_like_ctrl_c(tmp_path: Path, handlers_kept: None) -> None:
    """``docker stop`` or a scheduler's pre-emption sends SIGTERM: it used to kill the run on the spot,
    with no summary and a hidden ``*.part`` file left for good. Now it stops like Ctrl-C."""
    import os
    import signal

    from weatherclean.cli import interrupt_on_sigterm

    for i, name in enumerate(("a.png", "b.png")):
        _rgb(tmp_path / "in" / name, seed=i, size=(20 + 2 * i, 28))

    class _Terminated(_Inverter):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2] == 22:
                os.kill(os.getpid(), signal.SIGTERM)
            return 1.0 - x

    interrupt_on_sigterm()  # its handlers go with the test (handlers_kept)
    args = (str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json")
    code, stdout, _ = _invoke(*args, models=StandIn(_Terminated))
    assert code == 130
    assert json.loads(stdout)["counts"]["done"] == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]  # nothing half-written, nothing hidden


def test_an_ascii_console_gets_escapes_not_a_traceback(tmp_path: Path) -> None:
    """On an ASCII console (an old Windows one) a name like Zürich.png crashed the printout."""
    import os
    import subprocess

    _rgb(tmp_path / "in" / "Zürich.png")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "weatherclean", "desnow", "in", "--dry-run"], cwd=tmp_path, env=env,
        capture_output=True, text=True, encoding="ascii", errors="strict", timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Z\\xfcrich.png" in run.stdout and "Traceback" not in run.stderr


def test_in_place_keeps_permissions_and_notes_hard_links(tmp_path: Path, loads: StandIn) -> None:
    import os

    photo = tmp_path / "private.png"
    _rgb(photo)
    photo.chmod(0o600)
    os.link(photo, tmp_path / "alias.png")
    code, stdout, stderr = _invoke(str(photo), "--in-place", "--json", models=loads)
    assert code == 0, stderr
    assert (photo.stat().st_mode & 0o777) == 0o600  # a GPS-tagged private photo stays private
    assert "hard link" in json.loads(stdout)["notes"][0]["note"]


def test_ctrl_c_prints_a_summary_and_a_rerun_resumes(tmp_path: Path) -> None:
    for i, name in enumerate(("a.png", "b.png", "c.png")):  # told apart by height, not by the order of calls
        _rgb(tmp_path / "in" / name, seed=i, size=(20 + 2 * i, 28))
    interrupt = [True]

    class _Interrupts(_Inverter):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2] == 22 and interrupt[0]:  # Ctrl-C during b.png, however often a device calls the model
                interrupt[0] = False
                raise KeyboardInterrupt
            return 1.0 - x

    stand_in = StandIn(_Interrupts)
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", models=stand_in)
    assert code == 130
    summary = json.loads(stdout)
    assert summary["counts"]["done"] == 1 and summary["interrupted"] and not summary["failed"]
    assert sorted(Path(f["path"]).name for f in summary["not_done"]) == ["b.png", "c.png"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", models=stand_in)
    assert code == 0 and json.loads(stdout)["counts"] == {"done": 2, "skipped": 1, "failed": 0, "not_done": 0}


def test_unsupported_formats_empty_folders_and_wrong_task_models(tmp_path: Path, loads: StandIn) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "anim.gif")
    (tmp_path / "empty").mkdir()
    (tmp_path / "x.jpg").mkdir()
    code, stdout, _ = _invoke(
        str(tmp_path / "anim.gif"), str(tmp_path / "empty"), str(tmp_path / "x.jpg"), "--json", models=loads
    )
    summary = json.loads(stdout)
    assert code == 1
    assert "GIF images are not supported" in summary["skipped"][0]["reason"]
    assert "empty folder" in summary["skipped"][1]["reason"]
    assert "a folder, not an image file" in summary["failed"][0]["reason"]
    monkeypatch_free = tmp_path / "p.png"
    _rgb(monkeypatch_free)
    code, _, stderr = _invoke(str(monkeypatch_free), "--model", "j4rnet-light", models=loads)
    assert code == 2 and "rain model" in stderr and "derain" in stderr
    code, _, stderr = _invoke(str(monkeypatch_free), "--format", "png[x]", models=loads)
    assert code == 2 and "png[x]" in stderr  # brackets in messages are text, not markup


def test_threads_sets_the_model_thread_count_and_zero_is_refused(tmp_path: Path, loads: StandIn) -> None:
    """--threads caps PyTorch's threads (several jobs side by side on one machine); 0 is a usage error."""
    _rgb(tmp_path / "in" / "a.png")
    before = torch.get_num_threads()
    want = 1 if before > 1 else 2  # differs from the default, so the test fails if the option is ignored
    seen: list[int] = []

    class _Counting(_Inverter):
        def restore(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch.get_num_threads())
            return super().restore(x)

    loads.make = _Counting
    try:
        code, stdout, stderr = _invoke(
            str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--threads", str(want), "-q", models=loads
        )
        assert code == 0, stderr
        assert seen and set(seen) == {want}
    finally:
        torch.set_num_threads(before)
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--threads", "0", models=loads)
    assert code == 2 and "--threads" in stderr


def test_a_folder_named_like_a_photo_inside_a_folder_gets_a_row(tmp_path: Path, loads: StandIn) -> None:
    _rgb(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "x.jpg").mkdir()  # an unzip gone wrong: a folder with a photo's name, empty
    (tmp_path / "in" / "deep" / "y.png").mkdir(parents=True)
    (tmp_path / "in" / "album.jpg").mkdir()  # named like a photo, but holding photos: a folder like any other
    _rgb(tmp_path / "in" / "album.jpg" / "b.jpg")
    code, stdout, _ = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", models=loads)
    summary = json.loads(stdout)
    assert code == 1 and summary["counts"]["done"] == 2
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert set(reasons) == {"x.jpg", "y.png"} and all("a folder, not an image" in r for r in reasons.values())


@pytest.mark.skipif(not Path("/proc/self/mounts").is_file(), reason="Linux's /proc")
def test_an_output_folder_on_a_virtual_file_system_names_the_given_path_and_the_reason(
    tmp_path: Path, loads: StandIn
) -> None:
    _rgb(tmp_path / "a.png")
    code, _, stderr = _invoke(str(tmp_path / "a.png"), "-o", "/proc/wc_out", models=loads)
    message = " ".join(stderr.split())
    assert code == 2 and loads.calls == []
    assert message.startswith("error: /proc/wc_out: ") and "does not accept new files" in message
    assert "'proc' file system" in message and "No such file" not in message


def test_folders_matched_by_a_glob_are_walked_like_folders_given(tmp_path: Path, loads: StandIn) -> None:
    """'in/*' reaches x.jpg/ (empty), album.jpg/ (holding a photo) and sub/y.png/ as 'in' itself would:
    no job for a folder, a row for each folder named like a photo that holds no file."""
    _rgb(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "x.jpg").mkdir()
    _rgb(tmp_path / "in" / "album.jpg" / "b.jpg")
    (tmp_path / "in" / "sub" / "y.png").mkdir(parents=True)
    code, stdout, _ = _invoke(
        str(tmp_path / "in" / "*"), "-o", str(tmp_path / "out"), "--dry-run", "--json", models=loads
    )
    plan = json.loads(stdout)
    assert code == 1 and sorted(Path(j["input"]).name for j in plan["jobs"]) == ["a.jpg", "b.jpg"]
    reasons = {Path(f["path"]).name: f["reason"] for f in plan["failed"]}
    assert set(reasons) == {"x.jpg", "y.png"} and all("a folder, not an image file" in r for r in reasons.values())


def test_a_bmp_photo_is_desnowed_into_a_bmp(tmp_path: Path, loads: StandIn) -> None:
    arr = _rgb(tmp_path / "in" / "a.bmp")
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), models=loads)
    assert code == 0, stderr
    with Image.open(tmp_path / "out" / "a.bmp") as im:
        assert im.format == "BMP"
        np.testing.assert_array_equal(np.asarray(im), 255 - arr)
    code, _, stderr = _invoke(
        str(tmp_path / "in" / "a.bmp"), "-o", str(tmp_path / "png"), "--format", "bmp", models=loads
    )
    assert code == 0 and (tmp_path / "png" / "a.bmp").is_file(), stderr


class _Flat(torch.nn.Module):
    """Stands in for DesnowNet on video: every frame comes out a flat grey of 0.2, whatever came before it."""

    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, 0.2)


def test_videos_are_desnowed_frame_by_frame_keeping_timing_rotation_and_audio(tmp_path: Path) -> None:
    """A snowy dash-cam clip got "a video; this command restores photos only": desnow now runs videos as derain
    does, each frame alone (DesnowNet has no memory), with the clip's timing, rotation and sound kept."""
    import av

    from synthetic import make_video

    stamps = make_video(tmp_path / "in" / "clip.mp4", frames=9, rotation=90)
    _rgb(tmp_path / "in" / "photo.png")
    flat = StandIn(_Flat)
    code, stdout, stderr = _invoke(str(tmp_path / "in"), "--json", "--compare", models=flat)
    assert code == 0, stderr
    assert json.loads(stdout)["counts"] == {"done": 2, "skipped": 0, "failed": 0, "not_done": 0}
    assert flat.calls == ["default:snow"]
    out = tmp_path / "in_desnowed"
    with av.open(str(out / "clip.mp4")) as clip:
        frames = list(clip.decode(clip.streams.video[0]))
        assert [round(float(f.pts * f.time_base) * 1000) for f in frames] == stamps
        assert frames[0].rotation == 90 and [s.codec_context.name for s in clip.streams.audio] == ["aac"]
        levels = [float(f.to_ndarray(format="rgb24").mean()) / 255 for f in frames]
    assert np.allclose(levels, 0.2, atol=0.02)  # every frame through the model, none carried over
    assert (out / "clip.mp4.compare.jpg").is_file() and (out / "photo.png").is_file()
    code, _, stderr = _invoke(str(tmp_path / "in"), "-o", str(tmp_path / "frames"), "--frames", models=flat)
    assert code == 0, stderr
    assert np.allclose(np.asarray(Image.open(tmp_path / "frames" / "in" / "photo.png")) / 255, 0.2, atol=0.01)


def test_the_bundled_snow_model_runs_a_video(tmp_path: Path) -> None:
    from synthetic import make_video

    make_video(tmp_path / "clip.mp4", frames=3, size=(64, 96), audio=None)
    code, stdout, stderr = _invoke(str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out"), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["counts"]["done"] == 1 and (tmp_path / "out" / "clip.mp4").stat().st_size > 0
