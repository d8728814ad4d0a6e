"""Findings of a tester who embedded weatherclean in a web service: warning filters and Pillow's pixel limit
changed for the whole process by threads that encode or load, no per-restorer pixel limit, notes of
``restore_file`` that said what it had not done, and a cache that grew by one folder per request."""

from __future__ import annotations

import re
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter
from weatherclean import load_restorer
from weatherclean.errors import InputError
from weatherclean.io.images import load_image, opener, save_image
from weatherclean.restore import Restorer
from weatherclean.restore import restorer as restorer_module


@pytest.fixture
def restorer() -> Restorer:
    return load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")


@pytest.fixture
def pillow_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pillow's limit as Pillow ships it, whatever an earlier test left, and put back after."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", opener.PILLOW_DEFAULT_LIMIT)
    monkeypatch.delenv(opener.MAX_MEGAPIXELS_ENV, raising=False)
    yield


def _photo(path: Path, size: tuple[int, int] = (24, 32), fmt: str | None = None) -> Path:
    arr = (np.random.default_rng(0).random((*size, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


# ------------------------------------------------------------------------ 1: warning filters and threads


def test_two_threads_encoding_at_once_leave_the_warning_filters_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``catch_warnings`` around the encoder saved and restored the whole filter list: the thread that entered
    first and left first put back the list from before both, then the other put back the first one's, which
    ignored every UserWarning, for good. Forced here in that order with events in Pillow's ``save``."""
    image = load_image(_photo(tmp_path / "in.jpg"))
    first_inside, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()
    save = Image.Image.save

    def ordered_save(self: Image.Image, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "first":
            first_inside.set()
            second_inside.wait(5)  # both inside the encoder's filter block, then this one leaves first
        else:
            second_inside.set()
            first_done.wait(5)
        save(self, *args, **kwargs)

    def encode(name: str) -> None:
        save_image(tmp_path / f"{name}.jpg", image.pixels, image)
        if name == "first":
            first_done.set()

    before = list(warnings.filters)
    monkeypatch.setattr(Image.Image, "save", ordered_save)
    try:
        first = threading.Thread(target=encode, args=("first",), name="first")
        first.start()
        assert first_inside.wait(5)
        second = threading.Thread(target=encode, args=("second",), name="second")
        second.start()
        first.join(10)
        second.join(10)
        after = list(warnings.filters)
    finally:
        warnings.filters[:] = before  # a failure must not leave the rest of the session's warnings ignored
    assert after == before
    assert (tmp_path / "first.jpg").exists() and (tmp_path / "second.jpg").exists()


# ------------------------------------------------------------------------ 2: the program's own Pillow limit


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the program's limit, so its warning
def test_a_stricter_pillow_limit_of_the_program_is_never_raised_and_binds_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pillow_default: None
) -> None:
    """A service that set ``Image.MAX_IMAGE_PIXELS = 20_000_000`` saw its own ``Image.open`` accept a 400 MP
    header while another thread loaded through weatherclean, which set the limit to its 1000 MP."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)  # the program's policy, scaled down
    with opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == 2_000
        assert opener.max_pixels() == 2_000
    assert Image.MAX_IMAGE_PIXELS == 2_000
    picture = _photo(tmp_path / "p.png", (50, 60))  # 3000 pixels: over the program's limit, under twice it
    with pytest.raises(InputError) as caught:
        opener.open_image(picture)
    message = str(caught.value)
    assert "this program's Pillow limit" in message and "PIL.Image.MAX_IMAGE_PIXELS = 2000" in message
    assert opener.MAX_MEGAPIXELS_ENV not in message and "\n" not in message
    with pytest.raises(InputError, match=r"program's Pillow limit"):  # restore_file's route, through load_image
        load_image(picture)


def test_pillows_untouched_default_and_none_are_raised_to_ours_and_put_back(
    monkeypatch: pytest.MonkeyPatch, pillow_default: None
) -> None:
    """Pillow's own default (~89 MP) is no program's policy: raised to ours while we load, as before (it refused
    real panoramas), and so is None; a tighter limit of ours never lowers it (that is ``open_image``'s to apply)."""
    with opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
        assert opener.max_pixels() == opener.MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS == opener.PILLOW_DEFAULT_LIMIT
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", opener.PILLOW_DEFAULT_LIMIT)
    with opener._pixel_limit(1_000), opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS  # the process's: see the None test below
        assert opener.max_pixels() == 1_000


# ------------------------------------------------------------------------ 3: a pixel limit per restorer


def test_a_restorers_max_pixels_refuses_larger_uploads_and_holds_for_its_own_calls_only(
    tmp_path: Path, pillow_default: None
) -> None:
    small = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32", max_pixels=500)
    assert small.max_pixels == 500 and "max_pixels=500" in repr(small)
    big = _photo(tmp_path / "big.png", (24, 32))  # 768 pixels
    with pytest.raises(InputError) as caught:
        small.restore_file(big, tmp_path / "o.png")
    message = str(caught.value)
    assert message.startswith(f"{big}: image is 32×24 = ") and "this restorer's" in message
    assert "load_restorer(max_pixels=500)" in message and "\n" not in message
    assert not (tmp_path / "o.png").exists()
    assert opener.max_pixels() == opener.MAX_PIXELS  # the call's limit did not outlive it
    fine = _photo(tmp_path / "fine.png", (16, 16))
    assert small.restore_file(fine, tmp_path / "fine_out.png").format == "PNG"
    other = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    assert other.restore_file(big, tmp_path / "o.png").format == "PNG"


def test_the_limit_of_one_thread_is_not_another_threads(pillow_default: None) -> None:
    """A context variable, not a global: a service's two restorers serve two threads side by side."""
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def limited() -> None:
        with opener._pixel_limit(1_234):
            seen.append(opener.max_pixels())
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=limited)
    worker.start()
    try:
        assert inside.wait(5)
        assert opener.max_pixels() == opener.MAX_PIXELS
    finally:
        release.set()
        worker.join(5)
    assert seen == [1_234]


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-5, ValueError), ("5", TypeError), (True, TypeError)])
def test_a_max_pixels_that_is_no_positive_whole_number_is_refused_at_the_call(value: object, error: type) -> None:
    with pytest.raises(error, match="max_pixels"):
        load_restorer("snow", model=Inverter(), device="cpu", precision="fp32", max_pixels=value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ 5, 6: notes on the format written


def test_a_misnamed_upload_is_said_to_be_written_in_the_format_dsts_ending_chose(
    tmp_path: Path, restorer: Restorer
) -> None:
    src = _photo(tmp_path / "x.png", fmt="JPEG")  # an upload named .png that holds a JPEG
    saved = restorer.restore_file(src, tmp_path / "x_out.png")
    assert saved.format == "PNG" and (tmp_path / "x_out.png").read_bytes().startswith(b"\x89PNG")
    assert "named .png but holds a JPEG image; written as PNG, as dst's ending .png names" in saved.notes
    assert not [n for n in saved.notes if "under the same name" in n], saved.notes
    same = restorer.restore_file(src, tmp_path / "y.png", format=None)
    assert same.format == "PNG"
    kept = restorer.restore_file(src, tmp_path / "z", format="jpeg")  # no ending: format= decides
    assert "named .png but holds a JPEG image; written as JPEG, as format='jpeg' asks" in kept.notes


@pytest.mark.parametrize("ending", [".mp4", ".txt"])
def test_an_ending_that_names_no_picture_format_gets_a_note(tmp_path: Path, restorer: Restorer, ending: str) -> None:
    src = _photo(tmp_path / "in.jpg")
    saved = restorer.restore_file(src, tmp_path / f"o{ending}")
    assert saved.format == "JPEG" and (tmp_path / f"o{ending}").read_bytes().startswith(b"\xff\xd8")
    notes = [n for n in saved.notes if "names no picture format" in n]
    assert len(notes) == 1 and notes[0].startswith(f"dst's ending {ending} names no picture format; written as JPEG")
    plain = restorer.restore_file(src, tmp_path / "no_ending")  # no ending at all: the input's format, as documented
    assert plain.format == "JPEG" and not [n for n in plain.notes if "names no picture format" in n]


def test_a_misnamed_upload_into_an_ending_that_names_no_format_is_said_once(tmp_path: Path, restorer: Restorer) -> None:
    src = _photo(tmp_path / "x.png", fmt="JPEG")
    saved = restorer.restore_file(src, tmp_path / "o.mp4")
    assert "named .png but holds a JPEG image" in saved.notes
    assert len([n for n in saved.notes if "written as JPEG" in n]) == 1, saved.notes


# ------------------------------------------------------------------------ 7: the writable-folder cache


def test_the_writable_folder_cache_stays_small_with_a_folder_per_request(tmp_path: Path, restorer: Restorer) -> None:
    src = _photo(tmp_path / "in.png", (8, 8))
    keep = tmp_path / "kept"
    limit = restorer_module._WRITABLE_KEPT
    for i in range(limit + 10):
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        restorer.restore_file(src, folder / "o.png")
        restorer.restore_file(src, keep / f"o{i}.png")  # used on every call: never the one forgotten
    assert len(restorer._writable) <= limit
    assert str(keep.resolve()) in restorer._writable or str(keep) in restorer._writable


# ------------------------------------------------------------------------ 4: docs


def test_the_api_docs_say_what_a_service_needs() -> None:
    """The heading is the signature; the routes' errors, the limits and what is shared between threads are said."""
    import inspect

    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    heading = re.search(r"^## `load_restorer\((.*)\)`$", text, re.M)
    assert heading is not None
    assert heading.group(1).endswith("max_pixels=None")
    assert "max_pixels" in inspect.signature(load_restorer).parameters
    for phrase in ("UnidentifiedImageError", "WEATHERCLEAN_MAX_MEGAPIXELS", "1000 MP", "PIL.Image.MAX_IMAGE_PIXELS",
                   "worker process", "notes"):  # fmt: skip
        assert phrase in text, phrase


# ------------------------------------------------------------------------ review: what is silenced, whose limit


class _Inside:
    """A thread held inside ``pillow_pixel_limit`` (under ``_pixel_limit(limit)``) until :meth:`leave`: a load in
    progress in another thread of the service."""

    def __init__(self, limit: int | None = None) -> None:
        self._inside, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(limit,), daemon=True)
        self._thread.start()
        assert self._inside.wait(5)

    def _hold(self, limit: int | None) -> None:
        with opener._pixel_limit(limit), opener.pillow_pixel_limit():
            self._inside.set()
            self._release.wait(10)

    def leave(self) -> None:
        self._release.set()
        self._thread.join(10)


@pytest.fixture
def strict_program() -> Iterator[None]:
    """A program that turns Pillow's bomb warnings (and its quirk warnings) into errors, as Pillow's docs suggest;
    its filters put back after."""
    before = list(warnings.filters)
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    warnings.simplefilter("error", UserWarning)
    try:
        yield
    finally:
        warnings.filters[:] = before


def _pillow_user_warning() -> None:
    """A UserWarning as Pillow issues one ("Corrupt EXIF data"), from its own module."""
    warnings.warn_explicit("Corrupt EXIF data", UserWarning, "TiffImagePlugin.py", 1, module="PIL.TiffImagePlugin")


def test_a_save_in_flight_leaves_the_programs_bomb_warning_filter_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pillow_default: None, strict_program: None
) -> None:
    """The encoder's filter ignored every class of Pillow's warnings, first in the process's list: a program's own
    open of a 30 MP header under its 20 MP limit and ``simplefilter("error", DecompressionBombWarning)`` was
    accepted while another thread saved. No filter is touched now: Pillow's UserWarnings stay the program's too."""
    image = load_image(_photo(tmp_path / "in.jpg"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)  # the program's policy, scaled down
    inside, release = threading.Event(), threading.Event()
    save = Image.Image.save

    def slow_save(self: Image.Image, *args: Any, **kwargs: Any) -> None:
        inside.set()
        release.wait(5)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", slow_save)
    saver = threading.Thread(target=save_image, args=(tmp_path / "o.jpg", image.pixels, image), daemon=True)
    saver.start()
    try:
        assert inside.wait(5)
        with pytest.raises(Image.DecompressionBombWarning):  # the program's own check of a 3000-pixel header
            Image._decompression_bomb_check((50, 60))
        with pytest.raises(UserWarning):  # Pillow's remark on a quirk: the program's filter, in force meanwhile
            _pillow_user_warning()
    finally:
        release.set()
        saver.join(10)
    assert (tmp_path / "o.jpg").exists()
    with pytest.raises(UserWarning):
        _pillow_user_warning()


def test_a_load_under_the_programs_limit_leaves_its_bomb_warning_filter_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pillow_default: None, strict_program: None
) -> None:
    """Loads ignored every class of Pillow's warnings too. Where the limit is the program's, its bomb warning is its
    policy, in force for its opens while we load; in ours, raised as an error by its filter, it becomes our
    one-line refusal (not a DecompressionBombWarning traceback)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)
    load = _Inside()
    try:
        with pytest.raises(Image.DecompressionBombWarning):
            Image._decompression_bomb_check((50, 60))
        with pytest.raises(UserWarning):
            _pillow_user_warning()
        picture = _photo(tmp_path / "p.png", (50, 60))  # 3000 pixels: over the program's limit, under twice it
        with pytest.raises(InputError, match=r"over this program's Pillow limit of 0\.002 MP"):
            opener.open_image(picture)
    finally:
        load.leave()
    assert Image.MAX_IMAGE_PIXELS == 2_000


def test_pillows_bomb_warning_is_the_programs_to_filter_also_while_the_limit_is_ours(
    pillow_default: None, strict_program: None
) -> None:
    """Raised to ours (the program set none), Pillow warns of pictures between our limit and twice it, which
    ``open_image`` refuses in its own words. That warning was ignored by a filter of ours while the limit was ours,
    and a ``catch_warnings`` elsewhere could keep that filter for good: no filter is touched now."""
    load = _Inside()
    try:
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
        with pytest.raises(Image.DecompressionBombWarning):  # 1.6 GP: Pillow's warning, the program's filter
            Image._decompression_bomb_check((40_000, 40_000))
    finally:
        load.leave()
    assert Image.MAX_IMAGE_PIXELS == opener.PILLOW_DEFAULT_LIMIT
    with pytest.raises(Image.DecompressionBombWarning):  # 100 MP, over Pillow's default: the program's filter again
        Image._decompression_bomb_check((10_000, 10_000))


def test_a_pillow_limit_the_program_sets_during_a_load_is_kept_and_binds(
    tmp_path: Path, pillow_default: None, strict_program: None
) -> None:
    """Pillow's limit was saved only by the first thread in: one the program set during a load was overwritten by a
    later thread wanting more, the last thread out put back Pillow's default, and ``max_pixels`` (and the refusal's
    advice) went on with the stale value."""
    first = _Inside()
    second: _Inside | None = None
    try:
        Image.MAX_IMAGE_PIXELS = 2_000  # the program's policy, set while a load is in progress
        assert opener.max_pixels() == 2_000
        picture = _photo(tmp_path / "p.png", (50, 60))
        with pytest.raises(InputError) as caught:
            opener.open_image(picture)
        assert "PIL.Image.MAX_IMAGE_PIXELS = 2000" in str(caught.value)
        assert opener.MAX_MEGAPIXELS_ENV not in str(caught.value)
        with pytest.raises(Image.DecompressionBombWarning):  # no longer ours: its bomb warning is its own again
            Image._decompression_bomb_check((50, 60))
        second = _Inside(2 * opener.MAX_PIXELS)  # a restorer wanting more than ours enters meanwhile
        assert Image.MAX_IMAGE_PIXELS == 2_000
        first.leave()
        assert Image.MAX_IMAGE_PIXELS == 2_000
        Image.MAX_IMAGE_PIXELS = 4_000  # and changes it again while only the second is inside
    finally:
        first.leave()
        if second is not None:
            second.leave()
    assert Image.MAX_IMAGE_PIXELS == 4_000


def test_a_strict_limit_never_lowers_pillows_below_the_processs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pillow_default: None
) -> None:
    """A program that turned Pillow's check off (None) for its own huge rasters had them refused at Pillow's
    default while a strict restorer (20 MP) loaded: Pillow's limit now goes no lower than the process's, and the
    restorer's tighter one is ``open_image``'s to apply."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with opener._pixel_limit(1_000, restorer=True), opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS is None
    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "1500")
    with opener._pixel_limit(1_000, restorer=True), opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == 1_500_000_000
    with opener._pixel_limit(1_000, restorer=True), pytest.raises(InputError, match=r"max_pixels=1000"):
        opener.open_image(_photo(tmp_path / "p.png", (50, 60)))
    monkeypatch.setenv(opener.MAX_MEGAPIXELS_ENV, "lots")  # the thread's own limit binds its loads: no error here
    with opener._pixel_limit(1_000, restorer=True), opener.pillow_pixel_limit():
        assert Image.MAX_IMAGE_PIXELS == opener.MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS is None


def test_the_thread_limit_is_private_and_names_a_restorer_only_for_a_restorers(
    tmp_path: Path, pillow_default: None
) -> None:
    """A context variable does not reach the batch pipeline's decoder threads, so ``pixel_limit`` was no public way
    to limit anything but this thread's loads; and its refusal named ``load_restorer`` where no restorer was."""
    assert "pixel_limit" not in opener.__all__ and "_pixel_limit" not in opener.__all__
    assert "this thread only" in " ".join((opener._pixel_limit.__doc__ or "").split())
    picture = _photo(tmp_path / "p.png", (50, 60))
    with opener._pixel_limit(500), pytest.raises(InputError) as caught:
        opener.open_image(picture)
    assert "load_restorer" not in str(caught.value) and "limit set for these loads" in str(caught.value)
    with opener._pixel_limit(500, restorer=True), pytest.raises(InputError, match=r"load_restorer\(max_pixels=500\)"):
        opener.open_image(picture)


def test_the_docs_say_what_is_silenced_and_when_to_set_pillows_limit() -> None:
    text = " ".join((Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8").split())
    section = text[text.index("### Limits and threads") :]
    phrases = (
        "refuses above about 179 MP",
        "at start-up, before any loads",
        "now caps weatherclean there",
        "changes no warning filter",
        "Pillow's `DecompressionBombWarning`",
    )
    for phrase in phrases:
        assert phrase in section, phrase
    assert "(about 89 MP) it refuses" not in text
    doc = " ".join((Restorer.restore_file.__doc__ or "").split())
    assert "a ``dst`` with no ending gets it without a note" in doc and "ending names none" not in doc
