"""Findings of a desktop app embedding the Python API, and of evidence-grade processing (round 44): Python's warning
filters left alone by the library, models in fp32 whatever torch's default dtype, a picture refused for memory a
``ModelError``, nothing written to $TMPDIR on load, and the tile that free memory chose said and readable."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import weatherclean
from synthetic import Inverter, tiny_desnownet_config
from weatherclean import errors, load_restorer
from weatherclean.batch import Job, run_jobs
from weatherclean.batch.handlers import photo_handler
from weatherclean.io.images import load_image
from weatherclean.restore import tiling

ROOT = Path(__file__).resolve().parent.parent


def _photo(path: Path, size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


# --------------------------------------------------------------------- 1: the program's warning filters


def test_loading_and_saving_leave_pythons_warning_filters_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter put first while a photo loaded or saved, and taken out after, came back for good when the app's own
    ``warnings.catch_warnings`` block spanned the two, and silenced the app's own Pillow warnings from then on.
    The library now leaves the process's filter list as it is, even while it opens and saves."""
    seen: list[list[Any]] = []
    real_open, real_save = Image.open, Image.Image.save

    def watched_open(*args: Any, **kwargs: Any) -> Any:
        seen.append(list(warnings.filters))
        return real_open(*args, **kwargs)

    def watched_save(self: Image.Image, *args: Any, **kwargs: Any) -> None:
        seen.append(list(warnings.filters))
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image, "open", watched_open)
    monkeypatch.setattr(Image.Image, "save", watched_save)
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    before = list(warnings.filters)
    restorer.restore_file(_photo(tmp_path / "in.jpg"), tmp_path / "out.png")
    assert (tmp_path / "out.png").exists()
    assert seen and all(filters == before for filters in seen)
    assert list(warnings.filters) == before


def test_pillows_limit_still_binds_and_is_put_back(tmp_path: Path) -> None:
    """Pillow's own limit is still raised to ours while a load runs and put back after; an over-limit picture is
    still our one-line refusal."""
    from weatherclean.io.images import opener

    assert Image.MAX_IMAGE_PIXELS == opener.PILLOW_DEFAULT_LIMIT
    with opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS == opener.PILLOW_DEFAULT_LIMIT
    with opener._pixel_limit(1_000, restorer=True), pytest.raises(errors.InputError, match=r"max_pixels=1000"):
        opener.open_image(_photo(tmp_path / "p.png"))


def test_the_command_ignores_pillows_remarks_for_its_process_and_a_program_calling_it_keeps_its_filters() -> None:
    """The ``weatherclean`` command owns its process: it puts its two Pillow filters in once at start (first, so
    even ``python -W error`` does not turn them into tracebacks), and imports no Pillow for it. Called by a program
    (``main([...])``), the filters stay the program's."""
    code = (
        "import sys, warnings\n"
        "from weatherclean.cli import main\n"
        "sys.argv = ['weatherclean', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'PIL' not in sys.modules\n"
        "from PIL import Image\n"
        "Image.MAX_IMAGE_PIXELS = 10\n"
        "Image._decompression_bomb_check((4, 4))\n"
        "warnings.warn_explicit('Corrupt EXIF data', UserWarning, 'TiffImagePlugin.py', 1,\n"
        "                       module='PIL.TiffImagePlugin')\n"
        "try:\n    warnings.warn('not Pillow', UserWarning)\nexcept UserWarning:\n    print('others kept')\n"
    )
    command = [sys.executable, "-W", "error", "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "others kept"
    from weatherclean.cli import main

    before = list(warnings.filters)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert list(warnings.filters) == before


# --------------------------------------------------------------------- 2: torch's default dtype


@pytest.fixture
def restores_default_dtype() -> Iterator[None]:
    """torch's default dtype put back to float32 after the test, whatever the test set it to."""
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


def _model_folders(tmp_path: Path) -> dict[str, Path]:
    """A tiny snow and a tiny rain model folder, with weights that are not the identity."""
    from weatherclean.models.desnownet import DesnowNet
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    torch.manual_seed(0)
    models = {
        "snow": DesnowNet(tiny_desnownet_config()),
        "rain": J4RNet(J4RNetConfig(channels=8, hidden=8, stride=2, streak_mode="detail")),
    }
    folders = {}
    for task, model in models.items():
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.01)
        folders[task] = tmp_path / task
        model.save_pretrained(folders[task])
    return folders


def test_models_load_in_fp32_and_run_under_a_float64_default_dtype(tmp_path: Path) -> None:
    """Loaded while the default dtype was float64, the model was float64 and every picture failed with "Input type
    (float) and bias type (double) should be the same"; pass_through's and self_ensemble's copies too."""
    folders = _model_folders(tmp_path)
    picture = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    src = _photo(tmp_path / "in.png", (40, 56))
    expected = {
        task: load_restorer(task, model=folder, device="cpu").restore(picture) for task, folder in folders.items()
    }
    for dtype in (torch.float64, torch.float16):
        torch.set_default_dtype(dtype)
        try:
            for task, folder in folders.items():
                extra: dict[str, Any] = {"pass_through": 0.02, "self_ensemble": False} if task == "rain" else {}
                for options in ({}, extra):
                    restorer = load_restorer(task, model=folder, device="cpu", precision="fp32", **options)
                    assert {p.dtype for p in restorer.model.parameters()} == {torch.float32}, (task, dtype, options)
                    assert "precision='fp32'" in repr(restorer)
                    restored = restorer.restore(picture)
                    if not options:
                        assert np.array_equal(restored, expected[task]), (task, dtype)
                    assert len(list(restorer.restore_clip([picture, picture]))) == 2
                    restorer.restore_file(src, tmp_path / f"{task}.png")
        finally:
            torch.set_default_dtype(torch.float32)


def test_a_restorer_loaded_before_the_default_dtype_changes_keeps_working(
    tmp_path: Path, restores_default_dtype: None
) -> None:
    """Tensors made inside the forward passes follow the default dtype: the output must not change with it."""
    folders = _model_folders(tmp_path)
    picture = np.random.default_rng(2).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    restorers = {task: load_restorer(task, model=folder, device="cpu") for task, folder in folders.items()}
    expected = {task: r.restore(picture) for task, r in restorers.items()}
    torch.set_default_dtype(torch.float64)
    for task, restorer in restorers.items():
        assert np.array_equal(restorer.restore(picture), expected[task]), task


# --------------------------------------------------------------------- 3: out of memory is a ModelError


def test_a_picture_refused_for_memory_is_a_model_error_and_out_of_memory_is_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/api.md lists running out of memory under ModelError; the refusal before any work was only an
    ``OutOfMemoryError``, which the package did not even export."""
    monkeypatch.setattr(tiling, "_available_ram", lambda: 5_000)
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    with pytest.raises(weatherclean.ModelError, match=r"^needs about .* available; ") as caught:
        restorer.restore(np.zeros((64, 64, 3), np.uint8))
    assert isinstance(caught.value, weatherclean.OutOfMemoryError)
    assert weatherclean.OutOfMemoryError is errors.OutOfMemoryError and "OutOfMemoryError" in weatherclean.__all__
    assert issubclass(tiling.TilesOutOfMemory, weatherclean.ModelError)
    code = "import sys, weatherclean as w; w.OutOfMemoryError; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr


def test_a_batch_still_counts_memory_refusals_and_stops_after_two_in_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 5_000)
    jobs = []
    for i in range(4):
        src = _photo(tmp_path / "in" / f"p{i}.png", seed=i)
        jobs.append(Job(src, tmp_path / "out" / src.name))
    handler = photo_handler(lambda image: tiling.run_tiled_array(lambda x: x, image.pixels, bytes_per_pixel=600.0))
    summary = run_jobs(jobs, handler, progress=False, pipeline=False)
    assert len(summary.failed) == 2 and len(summary.not_done) == 2 and not summary.done
    assert summary.failed[0].reason.startswith(f"{jobs[0].source}: needs about ")


# --------------------------------------------------------------------- 4: nothing written to $TMPDIR


def test_loading_the_models_writes_nothing_to_tmpdir(tmp_path: Path) -> None:
    """Loading the rain model made ``$TMPDIR/torchinductor_<user>`` with compile off: PyTorch's meta ``normal_``
    (the loader's skeleton) imports torch._dynamo. In a subprocess, so the test process's imports do not count."""
    empty = tmp_path / "tmp"
    empty.mkdir()
    code = (
        "import sys, weatherclean\n"
        "for task in ('snow', 'rain'):\n    weatherclean.load_restorer(task, device='cpu')\n"
        "assert 'torch._dynamo' not in sys.modules\n"
    )
    env = {**os.environ, "TMPDIR": str(empty), "TEMP": str(empty), "TMP": str(empty)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert list(empty.iterdir()) == []


# --------------------------------------------------------------------- 5: the tile free memory chose


def test_a_tile_smaller_than_with_ample_memory_is_noted_and_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A memory-limited run gave other pixels than a workstation (another tile) with "notes": [] and no way to
    know which tile ran."""
    monkeypatch.setattr(tiling, "_available_ram", lambda: 1 << 40)  # a workstation
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    assert restorer.tile_used is None
    src = _photo(tmp_path / "in.png", (300, 900))
    saved = restorer.restore_file(src, tmp_path / "ample.png")
    assert restorer.tile_used == 768 and not [n for n in saved.notes if "tiles" in n]
    monkeypatch.setattr(tiling, "_available_ram", lambda: 600 << 20)  # room for 256-px tiles of the default guess
    saved = restorer.restore_file(src, tmp_path / "tight.png")
    assert restorer.tile_used == 256
    (note,) = [n for n in saved.notes if "tiles" in n]
    assert note == "tiles of 256 px for want of free memory (with more: 768 px); --tile 256 gives this output anywhere"
    image = load_image(src)
    restorer.restore_loaded(image)
    assert note in image.notes  # what the batch's rows (and --json) show
    assert np.array_equal(restorer.restore(np.zeros((40, 50, 3), np.uint8)), np.full((40, 50, 3), 255, np.uint8))
    assert restorer.tile_used == 50  # whole


def test_the_batch_row_of_a_photo_says_its_tile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 600 << 20)
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    src = _photo(tmp_path / "in" / "p.png", (300, 900))
    summary = run_jobs([Job(src, tmp_path / "out" / "p.png")], photo_handler(restorer.restore_loaded), progress=False)
    assert [r.why for r in summary.notes if "tiles of 256 px" in r.why]
    clip = restorer.new_clip()
    clip(np.zeros((300, 900, 3), np.uint8))
    assert [n for n in clip.notes if "tiles of 256 px" in n]


def test_the_whole_picture_or_a_fixed_tile_gets_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiling, "_available_ram", lambda: 600 << 20)
    src = _photo(tmp_path / "in.png", (300, 900))
    fixed = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32", tile=256)
    assert not [n for n in fixed.restore_file(src, tmp_path / "o.png").notes if "tiles" in n]
    assert fixed.tile_used == 256
    assert tiling.memory_tile_note(256, 300, 900, "cuda", overlap=16) is None  # no one standard on CUDA
    assert tiling.standard_tile(1080, 1600, "cpu") == 768 and tiling.standard_tile(1080, 1600, "cpu", align=64) == 1600


# --------------------------------------------------------------------- 6: review of the above (round 2)


def test_a_restorer_still_pickles_and_deep_copies_and_the_copy_has_no_last_tile() -> None:
    """The per-thread ``tile_used`` (a ``threading.local``) made a restorer unpicklable and un-deep-copyable: a
    service handing one to a worker process, or a program copying one, failed where it worked before."""
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    picture = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    expected = restorer.restore(picture)
    assert restorer.tile_used == 50
    for copy in (pickle.loads(pickle.dumps(restorer)), deepcopy(restorer)):
        assert copy is not restorer and copy.tile_used is None
        assert np.array_equal(copy.restore(picture[:30]), expected[:30]) and copy.tile_used == 50
        copy.restore(picture[:20, :30])
        assert copy.tile_used == 30 and restorer.tile_used == 50


def test_tile_used_is_the_pictures_longer_side_under_a_fixed_tile_larger_than_it_and_per_thread() -> None:
    """A fixed ``tile=1024`` on a 40×50 picture runs it whole, and ``tile_used`` said 1024 where the docs say "its
    longer side when it ran whole"; another thread's picture does not change this thread's value."""
    fixed = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32", tile=1024)
    fixed.restore(np.zeros((40, 50, 3), np.uint8))
    assert fixed.tile_used == 50
    seen: list[int | None] = []

    def other() -> None:
        seen.append(fixed.tile_used)
        fixed.restore(np.zeros((20, 30, 3), np.uint8))
        seen.append(fixed.tile_used)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(30)
    assert seen == [None, 30] and fixed.tile_used == 50
    tiled = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32", tile=64)
    tiled.restore(np.zeros((100, 150, 3), np.uint8))
    assert tiled.tile_used == 64


def test_the_tile_note_is_one_short_line() -> None:
    """It took three summary lines; at most 100 characters now, on any CPU picture."""
    for used, height, width, align in ((256, 300, 900, 1), (768, 1500, 1800, 64), (96, 4000, 6000, 64)):
        note = tiling.memory_tile_note(used, height, width, "cpu", overlap=16, align=align)
        assert note is not None and len(note) <= 100 and "\n" not in note, note
        assert note.startswith(f"tiles of {used} px for want of free memory") and f"--tile {used} " in note


def test_a_clip_whose_tile_follows_free_memory_gets_one_note_of_its_smallest_tile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long clip under memory pressure collected one note per tile value that free memory gave its frames."""
    readings = [30 << 30, 600 << 20, 30 << 30, 600 << 20, 30 << 30]  # 560-px, then 256-px tiles, and so on

    monkeypatch.setattr(tiling, "_available_ram", lambda: readings.pop(0) if len(readings) > 1 else readings[0])
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    clip = restorer.new_clip()
    for _ in range(5):
        clip(np.zeros((300, 900, 3), np.uint8))
    assert clip.notes == [
        "tiles of 256 px for want of free memory (with more: 768 px); --tile 256 gives this output anywhere"
    ]
    list(restorer.restore_clip(np.zeros((2, 300, 900, 3), np.uint8)))
    assert len([n for n in restorer.notes if n.startswith("tiles of")]) == 1


class _RecurrentShort(torch.nn.Module):
    """A recurrent stand-in (1 − x, memory unused) that runs out of memory on pieces over 200 px a side."""

    receptive_field = 4
    bytes_per_pixel = None

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        if max(x.shape[-2:]) > 200:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return SimpleNamespace(background=1.0 - x), torch.zeros(1)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0].background


def test_a_recurrent_clips_tile_note_names_the_tile_used_after_a_shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Free memory chose 256-px tiles, out of memory shrank them to 128 px: the note named 256."""
    monkeypatch.setattr(tiling, "_available_ram", lambda: 600 << 20)
    restorer = load_restorer("rain", model=_RecurrentShort(), device="cpu", precision="fp32")
    clip = restorer.new_clip()
    assert clip.notes == []
    out = clip(np.zeros((300, 900, 3), np.uint8))
    assert np.array_equal(out, np.full((300, 900, 3), 255, np.uint8))
    assert "ran out of memory; continued with 128-px tiles" in clip.notes
    assert [n for n in clip.notes if n.startswith("tiles of ")] == [
        "tiles of 128 px for want of free memory (with more: 768 px); --tile 128 gives this output anywhere"
    ]


class _RecurrentOnAGrid(torch.nn.Module):
    """A recurrent stand-in (1 − x, memory unused) whose tiles start on a 64-px grid, as J4R-Net's do."""

    receptive_field = 4
    bytes_per_pixel = None
    tile_align = 64

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        self.seen = tuple(x.shape[-2:])
        return SimpleNamespace(background=1.0 - x), torch.zeros(1)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0].background


def test_a_clip_whose_frames_ran_whole_gets_no_tile_note_as_a_photo_gets_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a 64-px grid a tile up to 63 px shorter than the frame runs it whole; free memory chose 256-px tiles for
    100×300 frames, which then ran whole, and the clip's notes still said "tiles of 256 px for want of free
    memory" (the photo path checked that, a clip's frames did not)."""
    monkeypatch.setattr(tiling, "_available_ram", lambda: 600 << 20)
    model = _RecurrentOnAGrid()
    restorer = load_restorer("rain", model=model, device="cpu", precision="fp32")
    frame = np.zeros((100, 300, 3), np.uint8)
    clip = restorer.new_clip()
    clip(frame)
    assert model.seen == (100, 300) and clip.tile == 256  # chosen 256, ran whole
    assert [n for n in clip.notes if n.startswith("tiles of")] == []
    restorer.restore(frame)
    assert model.seen == (100, 300) and restorer.tile_used == 300
    assert tiling.memory_tile_note(256, 100, 300, "cpu", overlap=4, align=64) is None
    assert tiling.memory_tile_note(256, 100, 340, "cpu", overlap=4, align=64) is not None  # 84 px short: tiled


def test_the_command_filters_live_in_a_light_module_and_the_library_has_no_quiet_shim() -> None:
    """``quiet_pillow`` moved out of ``weatherclean.cli`` (the Ray engine imported it from there: cli → batch →
    ray_engine → cli); its module imports nothing heavy. The no-op ``pillow_quiet`` is gone."""
    from weatherclean.batch import ray_engine
    from weatherclean.io import pillow_warnings
    from weatherclean.io.images import opener

    assert ray_engine.quiet_pillow is pillow_warnings.quiet_pillow
    assert not hasattr(opener, "pillow_quiet") and "pillow_quiet" not in opener.__all__
    code = (
        "import sys\nfrom weatherclean.io.pillow_warnings import quiet_pillow\nquiet_pillow()\n"
        "print([m for m in ('PIL', 'torch', 'numpy', 'weatherclean.cli', 'weatherclean.batch') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
