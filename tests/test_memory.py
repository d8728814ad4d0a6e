"""Low memory: what a folder of big photos holds beside the one computed, the tile choice counting the photo and
a container's limit, and out-of-memory reasons that name the stage (decoding, restoring, encoding); a picture over
the decompression-bomb limit, and an output disk already full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from weatherclean import devices
from weatherclean.batch import Job, run_jobs
from weatherclean.batch import run as batch_run
from weatherclean.batch.handlers import StagedHandler, photo_handler
from weatherclean.batch.run import Pipeline
from weatherclean.errors import InputError, OutputError
from weatherclean.io.images import load, load_image, opener, save_image
from weatherclean.restore import tiling
from weatherclean.restore.tiling import choose_tile, run_tiled_array


def _photos(folder: Path, n: int, size: int = 32) -> list[Job]:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder.parent / "out"
    jobs = []
    for i in range(n):
        src = folder / f"p{i}.png"
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(src)
        jobs.append(Job(src, out / src.name))
    return jobs


def _traced(log: list[str]) -> StagedHandler:
    """The photo handler, its stages logged as they start and end."""
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def decode(job: Job) -> Any:
        log.append(f"decode {job.source.name}")
        return real.decode(job)

    def compute(job: Job, value: Any) -> Any:
        log.append(f"compute {job.source.name}")
        return real.compute(job, value)

    def encode(job: Job, value: Any) -> list[str]:
        notes = real.encode(job, value)
        log.append(f"written {job.source.name}")
        return notes

    return StagedHandler(decode, compute, encode)


def test_big_photos_are_not_decoded_ahead_nor_written_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _photos(tmp_path / "in", 3)
    monkeypatch.setattr(devices, "available_memory", lambda: 1000)  # 32×32 px × 16 B > 250 B: too big to hold
    log: list[str] = []
    summary = run_jobs(jobs, _traced(log), progress=False, pipeline=Pipeline())
    assert len(summary.done) == 3
    # one at a time: each photo decoded only after the previous one is written
    assert log == [f"{s} p{i}.png" for i in range(3) for s in ("decode", "compute", "written")]


def test_small_photos_keep_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _photos(tmp_path / "in", 3)
    monkeypatch.setattr(devices, "available_memory", lambda: 8 << 30)
    log: list[str] = []
    assert len(run_jobs(jobs, _traced(log), progress=False, pipeline=Pipeline()).done) == 3
    assert log.index("decode p1.png") < log.index("written p0.png")


def test_available_memory_counts_the_cgroup_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text("1000000000\n")
    (tmp_path / "memory.current").write_text("400000000\n")
    self_cgroup = tmp_path / "self"
    self_cgroup.write_text("0::/\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 64000000 kB\nMemAvailable:   60000000 kB\n")
    monkeypatch.setattr(devices, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(devices, "SELF_CGROUP", self_cgroup)
    monkeypatch.setattr(devices, "MEMINFO", meminfo)
    assert devices.available_memory() == 600_000_000  # the container's room, not the host's 60 GB
    (tmp_path / "memory.max").write_text("max\n")
    assert devices.available_memory() == 60_000_000 * 1024
    v1 = tmp_path / "memory"
    v1.mkdir()
    (v1 / "memory.limit_in_bytes").write_text("500000000\n")
    (v1 / "memory.usage_in_bytes").write_text("100000000\n")
    self_cgroup.write_text("4:memory:/\n0::/\n")
    assert devices.available_memory() == 400_000_000
    # page cache the kernel drops before it kills anything is no use (a container that read and wrote a few GB of
    # photos looked full and refused an ordinary photo)
    (v1 / "memory.usage_in_bytes").write_text("480000000\n")
    (v1 / "memory.stat").write_text("cache 400000000\ntotal_inactive_file 380000000\n")
    assert devices.available_memory() == 400_000_000
    (tmp_path / "memory.max").write_text("1000000000\n")
    (tmp_path / "memory.current").write_text("900000000\n")
    (tmp_path / "memory.stat").write_text("anon 100000000\ninactive_file 500000000\n")
    assert devices.available_memory() == 400_000_000  # v2: 1e9 − (9e8 − 5e8); v1: as above


def test_tile_choice_leaves_room_for_the_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 2 << 30)
    free = choose_tile(7000, 10000, "cpu", bytes_per_pixel=2600.0)
    beside = choose_tile(7000, 10000, "cpu", bytes_per_pixel=2600.0, reserve=1.5 * (1 << 30))
    assert beside < free


def test_a_photo_that_cannot_fit_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 5_000)
    calls: list[int] = []

    def model(x: Any) -> Any:
        calls.append(1)
        return x

    with pytest.raises(
        tiling.NotEnoughMemory,
        match=r"^needs about 41 MB for this 0\.1-megapixel picture, 0 MB available; close other programs",
    ):
        run_tiled_array(model, np.zeros((200, 300, 3), np.float32), bytes_per_pixel=600.0)
    assert not calls
    jobs = _photos(tmp_path / "in", 1, size=64)
    handler = photo_handler(lambda image: run_tiled_array(model, image.pixels, bytes_per_pixel=600.0))
    summary = run_jobs(jobs, handler, progress=False, pipeline=False)
    (failure,) = summary.failed
    assert failure.reason.startswith(f"{jobs[0].source}: needs about ") and "available" in failure.reason


def _raise_memory(*_args: Any, **_kwargs: Any) -> Any:
    raise MemoryError


def test_sixteen_bit_decode_out_of_memory_says_decode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tifffile = pytest.importorskip("tifffile")
    src = tmp_path / "scan16.tif"
    tifffile.imwrite(src, np.full((8, 8, 3), 1000, np.uint16), photometric="rgb")
    monkeypatch.setattr(load, "read_wide", _raise_memory)  # the 16-bit path (_decode_wide)
    with pytest.raises(InputError, match="not enough memory to decode this image"):
        load_image(src)


@pytest.mark.parametrize(
    ("stage", "says"),
    [
        ("decode", "not enough memory to decode"),
        ("compute", "out of memory while restoring; try a smaller --tile"),
        ("encode", "not enough memory to encode the output"),
    ],
)
@pytest.mark.parametrize("pipeline", [False, True])
def test_out_of_memory_names_the_stage(tmp_path: Path, stage: str, says: str, pipeline: bool) -> None:
    jobs = _photos(tmp_path / "in", 2)
    real = photo_handler(lambda image: 1.0 - image.pixels)
    parts = {"decode": real.decode, "compute": real.compute, "encode": real.encode}

    def failing(job: Job, *args: Any) -> Any:
        if job.source.name == "p0.png":
            raise MemoryError
        return parts[stage](job, *args)

    parts2 = {**parts, stage: failing}
    handler = StagedHandler(parts2["decode"], parts2["compute"], parts2["encode"])
    summary = run_jobs(jobs, handler, progress=False, pipeline=Pipeline() if pipeline else False)
    (failure,) = summary.failed
    assert says in failure.why
    if stage != "compute":
        assert "--tile" not in failure.why
    assert len(summary.done) == 1


def test_save_out_of_memory_is_a_memory_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(src)
    image = load_image(src)
    from weatherclean.io.images import save

    def broken(*_args: Any) -> Any:
        raise OSError("broken data stream when writing image file")

    monkeypatch.setitem(save._WRITERS, "JPEG", broken)
    with pytest.raises(OutputError, match="not enough memory to encode the JPEG output"):
        save_image(tmp_path / "b.jpg", image.pixels, image)
    monkeypatch.setitem(save._WRITERS, "JPEG", _raise_memory)
    with pytest.raises(OutputError, match="not enough memory to encode the JPEG output"):
        save_image(tmp_path / "b.jpg", image.pixels, image)


def test_bomb_limit_message_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "wide.png"
    Image.new("L", (3000, 1000)).save(src)  # 3 MP
    monkeypatch.setattr(opener, "MAX_PIXELS", 2_000_000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700_000)  # Pillow's own check would trip first (above 2×)
    monkeypatch.setattr(opener, "PILLOW_DEFAULT_LIMIT", 700_000)  # ... as Pillow's default, not the program's policy
    with pytest.raises(InputError) as caught:
        load_image(src)
    assert "safety limit (decompression-bomb guard)" in str(caught.value)
    assert "WEATHERCLEAN_MAX_MEGAPIXELS=3" in str(caught.value) and "could be decompression bomb" not in str(
        caught.value
    )
    monkeypatch.setenv("WEATHERCLEAN_MAX_MEGAPIXELS", "4")
    assert load_image(src).pixels.shape[:2] == (1000, 3000)
    assert Image.MAX_IMAGE_PIXELS == 700_000  # put back
    monkeypatch.setenv("WEATHERCLEAN_MAX_MEGAPIXELS", "lots")
    with pytest.raises(InputError, match="WEATHERCLEAN_MAX_MEGAPIXELS='lots'"):
        load_image(src)


def test_full_disk_leaves_the_rest_not_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _photos(tmp_path / "in", 3)
    handler = photo_handler(lambda image: 1.0 - image.pixels)
    monkeypatch.setattr(batch_run, "_free_bytes", lambda _folder: 0)
    summary = run_jobs(jobs, handler, progress=False, pipeline=False)
    assert [r.path for r in summary.not_done] == [j.source for j in jobs]
    (failure,) = summary.failed
    assert "the output disk is full (0 bytes free)" in failure.why
    assert not summary.done and not summary.ok and not any(j.output.exists() for j in jobs)
    data = json.loads(json.dumps(summary.to_dict()))
    assert len(data["not_done"]) == 3 and len(data["failed"]) == 1


def test_disk_full_midway_counts_the_rest_as_not_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.errors import DiskFullError

    jobs = _photos(tmp_path / "in", 3)
    real = photo_handler(lambda image: 1.0 - image.pixels)

    def encode(job: Job, value: Any) -> list[str]:
        raise DiskFullError(f"{job.output}: the disk is full")

    handler = StagedHandler(real.decode, real.compute, encode)
    summary = run_jobs(jobs, handler, progress=False, pipeline=False)
    assert len(summary.failed) == 1 and len(summary.not_done) == 2


def test_the_totals_line_counts_what_a_full_disk_left_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a full disk left unstarted are no failures (``not_done``): the totals line counted them only after
    Ctrl-C, so they showed nowhere but in ``--json``."""
    import io

    from rich.console import Console

    from weatherclean.batch.report import print_summary

    jobs = _photos(tmp_path / "in", 3)
    monkeypatch.setattr(batch_run, "_free_bytes", lambda _folder: 0)
    summary = run_jobs(jobs, photo_handler(lambda image: 1.0 - image.pixels), progress=False, pipeline=False)
    out, err = io.StringIO(), io.StringIO()
    print_summary(
        summary,
        json_out=False,
        quiet=False,
        console=Console(file=out, width=200),
        err_console=Console(file=err, width=200),
    )
    assert "3 not done" in out.getvalue() and "not started" in out.getvalue(), out.getvalue()


def test_disks_that_cannot_say_their_room_are_not_called_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewer: read-only media (squashfs, ISO 9660) and FUSE file systems without statfs report 0 free, and
    refused a whole --in-place batch as "disk full"; root may write ext4's reserved blocks."""
    import os
    from types import SimpleNamespace

    def stat(**fields: int) -> Any:
        base = {"f_blocks": 1000, "f_bfree": 100, "f_bavail": 0, "f_frsize": 4096, "f_flag": 0}
        return lambda _folder: SimpleNamespace(**{**base, **fields})

    monkeypatch.setattr(os, "statvfs", stat(f_blocks=0))
    assert batch_run._free_bytes(Path(".")) is None
    monkeypatch.setattr(os, "statvfs", stat(f_flag=os.ST_RDONLY))
    assert batch_run._free_bytes(Path(".")) is None
    monkeypatch.setattr(os, "statvfs", stat())
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert batch_run._free_bytes(Path(".")) == 100 * 4096
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert batch_run._free_bytes(Path(".")) == 0


def test_another_threads_pillow_keeps_a_bomb_check(tmp_path: Path) -> None:
    """Reviewer: while one of our threads decoded, Pillow's limit was off for the whole process, and another
    thread's plain ``Image.open`` of a 2-gigapixel header went through (a server's upload). It is ours now, and
    Pillow still refuses what is over twice it; our own refusal is in our words."""
    import struct
    import threading
    import zlib

    from PIL import Image

    from weatherclean.errors import InputError
    from weatherclean.io.images import opener

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    )
    inside, release = threading.Event(), threading.Event()

    def ours() -> None:
        with opener.pillow_pixel_limit():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=ours)
    worker.start()
    try:
        assert inside.wait(10)
        with pytest.raises(Image.DecompressionBombError):
            Image.open(bomb)  # the other thread's, while ours is inside
    finally:
        release.set()
        worker.join()
    with pytest.raises(InputError, match=r"2500 megapixels, over the 1000 MP safety limit"):
        opener.open_image(bomb)


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-5"])
def test_a_limit_that_is_no_finite_number_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from weatherclean.errors import InputError
    from weatherclean.io.images import opener

    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, value)
    with pytest.raises(InputError, match="give a number of megapixels"):
        opener.max_pixels()


def test_pillows_bomb_warning_is_not_printed_by_any_of_our_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewer: with Pillow's limit set to ours, Pillow warned of a picture between it and twice it wherever we
    opened one outside ``load_image`` (the pipeline's header read, ``open_image``)."""
    import warnings

    from PIL import Image

    from weatherclean.errors import InputError
    from weatherclean.io.images import opener

    picture = tmp_path / "p.png"
    Image.new("RGB", (80, 64)).save(picture)  # 5120 pixels
    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "0.004")  # 4000 pixels: between once and twice the limit
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert opener.header_pixels(picture) == 5120
        with pytest.raises(InputError):
            opener.open_image(picture)
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)], seen
