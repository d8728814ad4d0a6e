"""Progress and cancel for one picture (finding gui 5): ``Restorer.restore(image, progress=, cancel=)`` and the same
on ``restore_file``: a GUI shows a bar tile by tile and stops a long restore from another thread, and the call
raises ``weatherclean.Cancelled`` within one tile's time, leaving nothing behind."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import Inverter
from weatherclean import Cancelled, WeathercleanError, load_restorer
from weatherclean.restore.tiling import tile_grid

ROOT = Path(__file__).resolve().parent.parent
#: A 200×180 picture in 64-px tiles overlapping by 32 px: several tiles, each one model call.
SIZE, TILE = (180, 200), 64


class _Slow(Inverter):
    """An inverter that counts its calls and, at call ``stop_at``, says so (``reached``) and waits (up to 10 s) until
    another thread has set ``cancel``: the cancel then comes mid-tile, mid-picture, without relying on timing."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.stop_at = stop_at
        self.reached = threading.Event()
        self.cancel = threading.Event()

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.stop_at:
            self.reached.set()
            assert self.cancel.wait(10), "the test thread never set cancel"
        return super().restore(x)


def _picture(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((*SIZE, 3)) * 255).astype(np.uint8)


def _tiles() -> int:
    overlap = 32  # max(MIN_OVERLAP, the inverter's receptive field), at most half the tile
    return len(tile_grid(SIZE[0], TILE, overlap)[1]) * len(tile_grid(SIZE[1], TILE, overlap)[1])


def _restorer(model: Inverter, tile: int | None = TILE):  # noqa: ANN202 (a Restorer)
    return load_restorer("snow", model=model, device="cpu", precision="fp32", tile=tile)


def _cancel_from_another_thread(model: _Slow) -> threading.Thread:
    """A thread that sets ``model.cancel`` once the model has reached its ``stop_at`` call."""

    def canceller() -> None:
        if model.reached.wait(10):
            model.cancel.set()

    thread = threading.Thread(target=canceller)
    thread.start()
    return thread


def test_progress_is_told_after_each_tile_and_once_for_a_picture_run_whole() -> None:
    model = _Slow()
    restorer = _restorer(model)
    seen: list[tuple[int, int]] = []
    plain = _restorer(Inverter()).restore(_picture())
    result = restorer.restore(_picture(), progress=lambda done, total: seen.append((done, total)))
    total = _tiles()
    assert total > 4 and model.calls == total
    assert seen == [(done, total) for done in range(1, total + 1)]
    np.testing.assert_array_equal(result, plain)  # bit for bit what a call without it gives

    whole: list[tuple[int, int]] = []
    _restorer(Inverter(), tile=None).restore(_picture(), progress=lambda *args: whole.append(args))
    assert whole == [(1, 1)]


def test_cancel_from_another_thread_stops_the_picture_within_one_tile_and_the_restorer_works_after() -> None:
    model = _Slow(stop_at=3)
    restorer = _restorer(model)
    threads, grad = threading.active_count(), torch.is_grad_enabled()
    canceller = _cancel_from_another_thread(model)
    started = time.monotonic()
    with pytest.raises(Cancelled, match=r"^cancelled after 3 of \d+ tiles$") as caught:
        restorer.restore(_picture(), cancel=model.cancel)
    canceller.join()
    assert isinstance(caught.value, WeathercleanError)
    assert model.calls == 3  # the tile under way finished; no later one started
    assert time.monotonic() - started < 5
    assert threading.active_count() == threads and torch.is_grad_enabled() == grad
    assert not torch.is_inference_mode_enabled()

    model.stop_at, model.calls = None, 0  # the same restorer, again, as if nothing had happened
    np.testing.assert_array_equal(restorer.restore(_picture(1)), _restorer(Inverter()).restore(_picture(1)))
    assert model.calls == _tiles()


def test_a_cancel_set_before_the_call_stops_it_before_any_tile_and_before_any_file(tmp_path: Path) -> None:
    model = _Slow()
    restorer = _restorer(model)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="before it started"):
        restorer.restore(_picture(), cancel=cancel)
    Image.fromarray(_picture()).save(tmp_path / "in.png")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled, match=r"in\.png: cancelled before it started"):
        restorer.restore_file(tmp_path / "in.png", out / "in.png", cancel=cancel)
    assert model.calls == 0 and list(out.iterdir()) == []
    cancel.clear()
    restorer.restore_file(tmp_path / "in.png", out / "in.png", cancel=cancel)
    assert [p.name for p in out.iterdir()] == ["in.png"]


def test_restore_file_cancelled_mid_picture_leaves_no_file_in_the_output_folder(tmp_path: Path) -> None:
    Image.fromarray(_picture()).save(tmp_path / "in.png")
    out = tmp_path / "out"
    out.mkdir()
    model = _Slow(stop_at=2)
    restorer = _restorer(model)
    canceller = _cancel_from_another_thread(model)
    with pytest.raises(Cancelled, match=r"in\.png: cancelled after 2 of \d+ tiles"):
        restorer.restore_file(tmp_path / "in.png", out / "in.png", cancel=model.cancel)
    canceller.join()
    assert list(out.iterdir()) == [] and model.calls == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out"]  # no temporary beside it either

    model.cancel.clear()
    model.stop_at = None
    seen: list[tuple[int, int]] = []
    restorer.restore_file(tmp_path / "in.png", out / "in.png", progress=lambda *args: seen.append(args))
    assert [p.name for p in out.iterdir()] == ["in.png"] and seen[-1] == (_tiles(), _tiles())


def test_a_progress_callback_that_raises_goes_up_as_it_is_and_nothing_is_written(tmp_path: Path) -> None:
    bug = RuntimeError("the app's own bug")

    def progress(done: int, total: int) -> None:
        if done == 2:
            raise bug

    Image.fromarray(_picture()).save(tmp_path / "in.png")
    out = tmp_path / "out"
    out.mkdir()
    model = _Slow()
    restorer = _restorer(model)
    with pytest.raises(RuntimeError) as caught:
        restorer.restore_file(tmp_path / "in.png", out / "in.png", progress=progress)
    assert caught.value is bug and model.calls == 2 and list(out.iterdir()) == []
    with pytest.raises(RuntimeError) as caught:
        restorer.restore(_picture(), progress=progress)
    assert caught.value is bug
    np.testing.assert_array_equal(restorer.restore(_picture()), _restorer(Inverter()).restore(_picture()))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"progress": 5}, "progress must be a function"), ({"cancel": True}, r"cancel must have an is_set\(\) method")],
)
def test_a_progress_or_cancel_of_the_wrong_kind_is_a_type_error_at_the_call(kwargs: dict, words: str) -> None:
    model = _Slow()
    with pytest.raises(TypeError, match=words):
        _restorer(model).restore(_picture(), **kwargs)
    assert model.calls == 0


def test_cancelled_is_exported_from_the_package_without_torch() -> None:
    import weatherclean.errors

    assert weatherclean.Cancelled is weatherclean.errors.Cancelled and "Cancelled" in weatherclean.__all__
    code = "import sys, weatherclean as w; w.Cancelled; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr


def test_restore_file_cancelled_after_the_last_tile_writes_nothing(tmp_path: Path) -> None:
    """A cancel that comes while the last tile runs: the photo is not written (the caller asked for nothing)."""
    Image.fromarray(_picture()).save(tmp_path / "in.png")
    out = tmp_path / "out"
    out.mkdir()
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == total:
            cancel.set()

    with pytest.raises(Cancelled, match=r"in\.png: cancelled after its last tile"):
        _restorer(Inverter()).restore_file(tmp_path / "in.png", out / "out.png", progress=progress, cancel=cancel)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("tile", [TILE, None], ids=["tiled", "whole"])
def test_restore_cancelled_during_its_last_or_only_tile_raises(tile: int | None) -> None:
    """``restore_file`` asked ``cancel`` after the last tile, ``restore`` did not: a cancel set while the last tile
    (or a picture run whole, its only one) ran was ignored and the result came back. Asked once more at the end
    now; the restorer takes the next call as usual."""
    restorer = _restorer(Inverter(), tile=tile)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == total:
            cancel.set()

    for call in (restorer.restore, restorer.restore_loaded):
        cancel.clear()
        picture = _picture() if call == restorer.restore else _loaded()
        with pytest.raises(Cancelled, match=r"^cancelled after its last tile$"):
            call(picture, progress=progress, cancel=cancel)  # type: ignore[operator]
    assert np.array_equal(restorer.restore(_picture()), 255 - _picture())


def _loaded():  # noqa: ANN202 (a LoadedImage)
    from weatherclean.io.images import LoadedImage

    return LoadedImage(Path("in.png"), _picture().astype(np.float32) / 255, bit_depth=8, format="PNG", mode="RGB")
