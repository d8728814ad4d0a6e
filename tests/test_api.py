"""The Python API (``from weatherclean import load_restorer``): the types it round-trips, clips with and
without memory, its errors, and the same pixels as the command line for the same input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import Inverter, clean_image, invoke_command
from weatherclean import Restorer, load_restorer
from weatherclean.cli import derain, desnow
from weatherclean.errors import ModelError
from weatherclean.models import RecurrentModel, RestorationModel

ROOT = Path(__file__).resolve().parent.parent


class _Counter(torch.nn.Module):
    """A rain stand-in whose memory counts frames: frame k comes out as a flat k/10."""

    receptive_field = 4
    bytes_per_pixel = None

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[SimpleNamespace, torch.Tensor]:
        count = (state if state is not None else torch.zeros(1)) + 1
        return SimpleNamespace(background=torch.full_like(x, float(count) / 10)), count

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0].background


def _rgb8(seed: int, size: tuple[int, int] = (40, 56)) -> np.ndarray:
    return (np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)


def test_import_weatherclean_does_not_import_torch() -> None:
    code = (
        "import sys, weatherclean; assert 'torch' not in sys.modules, 'torch imported'; print(weatherclean.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert "load_restorer" in dir(__import__("weatherclean"))


@pytest.mark.parametrize(
    "image",
    [
        _rgb8(0),
        _rgb8(1)[..., 0],  # grey H×W
        (np.random.default_rng(2).random((30, 20, 3)) * 65535).astype(np.uint16),
        np.random.default_rng(3).random((30, 20, 3)).astype(np.float32),
        np.random.default_rng(4).random((30, 20)),  # float64 grey
    ],
    ids=["uint8", "grey-uint8", "uint16", "float32", "float64-grey"],
)
def test_arrays_come_back_in_their_type_size_and_dtype(image: np.ndarray) -> None:
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    out = restorer.restore(image)
    assert isinstance(out, np.ndarray) and out.shape == image.shape and out.dtype == image.dtype
    full = float(np.iinfo(image.dtype).max) if image.dtype.kind == "u" else 1.0
    assert np.allclose(out.astype(np.float64), full - image.astype(np.float64), atol=1e-6 * full)
    assert not np.array_equal(out, image)  # the model ran, and the input array was left alone


def test_alpha_passes_through_and_pil_images_keep_their_mode() -> None:
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    rgba = np.dstack([_rgb8(5), np.full((40, 56), 77, np.uint8)])
    out = restorer.restore(rgba)
    assert np.array_equal(out[..., 3], rgba[..., 3]) and np.array_equal(out[..., :3], 255 - rgba[..., :3])
    for mode in ("RGB", "L", "RGBA", "LA", "I;16"):
        picture = Image.fromarray(_rgb8(6)).convert(mode)
        picture.info["dpi"] = (300, 300)
        restored = restorer.restore(picture)
        assert isinstance(restored, Image.Image) and restored.mode == mode and restored.size == picture.size
        assert restored.info["dpi"] == (300, 300)
        before, after = np.asarray(picture).astype(np.int64), np.asarray(restored).astype(np.int64)
        full = 65535 if mode == "I;16" else 255
        colour = before if before.ndim == 2 else before[..., : 3 if mode.startswith("RGB") else 1]
        got = after if after.ndim == 2 else after[..., : colour.shape[-1]]
        assert np.array_equal(got, full - colour), mode
    big_endian = Image.frombytes("I;16B", (7, 5), np.arange(35, dtype=">u2").tobytes())  # a TIFF from a Mac
    restored = restorer.restore(big_endian)
    assert restored.mode == "I;16" and np.array_equal(np.asarray(restored), 65535 - np.arange(35).reshape(5, 7))


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (np.zeros((8, 8, 3), np.int32), "uint8, uint16 or float"),
        (np.zeros((8, 8, 5), np.uint8), "H×W×3"),
        (np.full((8, 8, 3), 200.0, np.float32), "for 0-255 values pass uint8, or divide by 255"),
        (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
        (Image.new("CMYK", (8, 8)), "convert('RGB')"),
        ([[0.5]], "NumPy array or a PIL image"),
    ],
)
def test_unusable_pictures_say_what_is_accepted(image: object, words: str) -> None:
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    with pytest.raises((ValueError, TypeError), match=re.escape(words)):
        restorer.restore(image)  # type: ignore[type-var]


def test_restore_clip_carries_memory_for_rain_and_not_for_snow() -> None:
    frames = [np.full((24, 32, 3), 0.5, np.float32) for _ in range(3)]
    rain = load_restorer("rain", model=_Counter(), device="cpu", precision="fp32", tile=64)
    assert rain.recurrent and isinstance(rain.model, RecurrentModel)
    assert [float(f.mean()) for f in rain.restore_clip(frames)] == pytest.approx([0.1, 0.2, 0.3])
    assert [float(f.mean()) for f in rain.restore_clip(frames)] == pytest.approx([0.1, 0.2, 0.3])  # a new clip
    assert float(rain.restore(frames[0]).mean()) == pytest.approx(0.1)  # a photo has no memory
    snow = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    assert not snow.recurrent and isinstance(snow.model, RestorationModel)
    assert [float(f.mean()) for f in snow.restore_clip(frames)] == pytest.approx([0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="frame 1"):
        list(rain.restore_clip([frames[0], frames[0][:10]]))
    with pytest.raises(TypeError, match="for one picture use restore"):
        list(rain.restore_clip(frames[0]))  # one frame, whose rows would otherwise be taken for frames
    assert len(list(snow.restore_clip(np.stack(frames)))) == 3  # an N×H×W×3 array is a clip
    assert len(list(snow.restore_clip(np.zeros((3, 20, 30), np.uint8)))) == 3  # and an N×H×W stack of grey


def test_floats_a_little_outside_zero_to_one_are_clipped_not_refused() -> None:
    """Sharpening or a cubic resize leaves a few hundredths either side of [0, 1]: not an error."""
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    picture = np.full((8, 8, 3), 1.03, np.float32)
    picture[0] = -0.03
    out = restorer.restore(picture)
    assert out.shape == (8, 8, 3) and out.min() >= 0 and out.max() <= 1


def test_restore_file_writes_the_format_its_name_says_and_the_notes_of_the_way_in(tmp_path: Path) -> None:
    from weatherclean.errors import OutputError

    rgb = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    saved = restorer.restore_file(tmp_path / "a.png", tmp_path / "out.jpg")
    assert saved.format == "JPEG" and (tmp_path / "out.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert restorer.restore_file(tmp_path / "a.png", tmp_path / "out.bin", format="tiff").format == "TIFF"
    assert any("CMYK" in note for note in restorer.restore_file(tmp_path / "cmyk.jpg", tmp_path / "c.jpg").notes)
    with pytest.raises(OutputError, match="ending names PNG"):
        restorer.restore_file(tmp_path / "a.png", tmp_path / "wrong.png", format="jpeg")
    with pytest.raises(OutputError, match=r"wrong\.gif: weatherclean does not write \.gif pictures"):
        restorer.restore_file(tmp_path / "a.png", tmp_path / "wrong.gif")  # it would have held a PNG
    assert not (tmp_path / "wrong.png").exists() and not (tmp_path / "wrong.gif").exists()
    before = (tmp_path / "a.png").read_bytes()
    with pytest.raises(OutputError, match=r"a\.png: would overwrite its input"):
        restorer.restore_file(tmp_path / "a.png", tmp_path / "." / "a.png")  # the commands refuse it too
    assert (tmp_path / "a.png").read_bytes() == before
    for quality in (0, "high", 90.5):  # "high" and 90.5 were a TypeError from deep inside
        message = f"quality must be a whole number from 1 to 100 or 'keep', got {quality!r}"
        with pytest.raises(OutputError, match=re.escape(message)):
            restorer.restore_file(tmp_path / "a.png", tmp_path / "q.jpg", quality=quality)  # as --quality


@pytest.mark.parametrize(("tile", "overlap"), [(0, None), (10, None), (63, None), (256, -1)])
def test_a_tile_the_engine_cannot_use_is_refused_when_loading(tile: int, overlap: int | None) -> None:
    """tile=0 failed only at the first picture, and tile=10 took 38 s on a 300×200 one."""
    with pytest.raises(ValueError, match="tile"):
        load_restorer("snow", model=Inverter(), device="cpu", tile=tile, tile_overlap=overlap)


@pytest.mark.parametrize(("tile", "overlap"), [(64.5, None), ("128", None), (True, None), (256, 5.5)])
def test_a_tile_that_is_not_a_whole_number_is_refused_when_loading(tile: object, overlap: object) -> None:
    """tile=64.5 was accepted and failed at the first picture with a TypeError from the tiling engine."""
    with pytest.raises(TypeError, match="whole number of pixels"):
        load_restorer("snow", model=Inverter(), device="cpu", tile=tile, tile_overlap=overlap)  # type: ignore[arg-type]


def test_big_endian_arrays_are_restored_like_native_ones() -> None:
    """NumPy reads a big-endian 16-bit TIFF as ">u2"; the same picture as a PIL I;16B image was taken."""
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    for channels in (3, 4, 2):  # with alpha too, which comes back as it went in
        native = (np.random.default_rng(2).random((12, 10, channels)) * 65535).astype(np.uint16)
        out = restorer.restore(native.astype(">u2"))
        assert out.dtype == np.dtype(">u2")
        np.testing.assert_array_equal(out, restorer.restore(native))


def test_models_by_object_and_folder_and_the_errors(tmp_path: Path) -> None:
    from weatherclean.models import create_model

    model = create_model("desnownet-light")
    model.save_pretrained(tmp_path / "m")
    for given in (tmp_path / "m", str(tmp_path / "m")):
        restorer = load_restorer("snow", model=given, device="cpu", precision="fp32")
        assert isinstance(restorer, Restorer) and restorer.overlap == restorer.model.receptive_field
    with pytest.raises(ModelError, match="rain model.*derain"):
        load_restorer("snow", model="j4rnet-light", device="cpu")
    with pytest.raises(ModelError, match="snow model.*desnow"):
        load_restorer("rain", model=model, device="cpu")
    with pytest.raises(ModelError, match=re.escape(f"'{tmp_path / 'm'}' is a snow model") + ".*evaluate --task snow"):
        load_restorer("rain", model=tmp_path / "m", device="cpu")  # named by its folder, not its class
    with pytest.raises(ModelError, match="unknown task 'fog'"):
        load_restorer("fog", device="cpu")
    with pytest.raises(ModelError, match="needs restore"):
        load_restorer("snow", model=torch.nn.Identity(), device="cpu")
    small = load_restorer("snow", model=Inverter(), device="cpu", tile=64, tile_overlap=48)
    assert any("seams may show" in note for note in small.notes)


def test_api_and_desnow_give_the_same_pixels(tmp_path: Path) -> None:
    """The bundled default model, the command's default precision: the API's pixels are the command's."""
    photo = np.round(clean_image(np.random.default_rng(7), 72) * 255).astype(np.uint8)[:60]
    Image.fromarray(photo).save(tmp_path / "snowy.png")
    code, _, stderr = invoke_command(desnow, "desnow", str(tmp_path / "snowy.png"), "-o", str(tmp_path / "cli"),
                                     "--device", "cpu", "-q")  # fmt: skip
    assert code == 0, stderr
    with Image.open(tmp_path / "cli" / "snowy.png") as im:
        by_cli = np.asarray(im)
    restorer = load_restorer("snow", device="cpu")
    assert np.array_equal(restorer.restore(photo), by_cli)
    restorer.restore_file(tmp_path / "snowy.png", tmp_path / "api" / "snowy.png")
    with Image.open(tmp_path / "api" / "snowy.png") as im:
        assert np.array_equal(np.asarray(im), by_cli)
    assert not np.array_equal(by_cli, photo)  # the model changed something, so the equality means something


def test_api_and_derain_give_the_same_pixels_for_photos_and_clips(tmp_path: Path) -> None:
    from weatherclean.synth.rain import synthesize_rain

    # Heavy rain, so that the shipped model's gate opens and the memory's effect can show.
    rng = np.random.default_rng(8)
    rainy = [synthesize_rain(clean_image(rng, 48), rng, level="heavy", styles=["lines"]).rainy for _ in range(3)]
    frames = [np.round(f * 255).astype(np.uint8) for f in rainy]
    clip = tmp_path / "clip"
    clip.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(clip / f"f{i}.png")
    code, _, stderr = invoke_command(derain, "derain", str(clip), "--frames", "-o", str(tmp_path / "out"),
                                     "--device", "cpu", "-q")  # fmt: skip
    assert code == 0, stderr
    written = sorted((tmp_path / "out").rglob("f*.png"))
    assert [p.name for p in written] == ["f0.png", "f1.png", "f2.png"]
    by_cli = [np.asarray(Image.open(path)) for path in written]
    rain = load_restorer("rain", device="cpu")
    by_api = list(rain.restore_clip(frames))
    assert all(np.array_equal(a, c) for a, c in zip(by_api, by_cli, strict=True))
    alone = rain.restore(frames[2])
    assert not np.array_equal(alone, by_api[2])  # the third frame of the clip used the memory of the first two
    code, _, stderr = invoke_command(derain, "derain", str(clip / "f2.png"), "-o", str(tmp_path / "photo"),
                                     "--device", "cpu", "-q")  # fmt: skip
    assert code == 0, stderr
    (photo,) = (tmp_path / "photo").rglob("f2.png")
    assert np.array_equal(np.asarray(Image.open(photo)), alone)


def _python_blocks(markdown: Path, heading: str | None = None) -> list[str]:
    """The ```python blocks of a Markdown file (under ``heading`` only, up to the next heading of its level)."""
    text = markdown.read_text()
    if heading is not None:
        start = text.index(heading)
        level = heading.split(" ")[0]
        end = text.find(f"\n{level} ", start + len(heading))
        text = text[start : end if end != -1 else len(text)]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize(("doc", "heading"), [("README.md", "### Python"), ("docs/api.md", None)])
def test_documented_examples_run(
    doc: str, heading: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _python_blocks(ROOT / doc, heading)
    assert blocks, f"no Python example in {doc}"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    for block in blocks:
        exec(compile(block, f"{doc} example", "exec"), {"__name__": "__example__"})  # noqa: S102


def test_pass_through_replaces_the_models_gate_in_a_copy_for_the_api_the_commands_and_ray(tmp_path: Path) -> None:
    """``pass_through`` (``--pass-through``): a higher threshold leaves more pixels exactly as they were, 0
    turns the gate off (and a rain model's veil term with it); the model given is not changed; the command
    and the Ray driver's model do the same; bad values are one line before any work."""
    from weatherclean.cli.batch import PhotoCommand, driver_model
    from weatherclean.models import load_model
    from weatherclean.synth.snow import synthesize_snow

    rng = np.random.default_rng(11)
    snowy = np.round(synthesize_snow(clean_image(rng, 72), rng, level="S").snowy * 255).astype(np.uint8)
    unchanged = {}
    for value in (None, 0.0, 0.45):
        restorer = load_restorer("snow", device="cpu", precision="fp32", pass_through=value)
        unchanged[value] = float((restorer.restore(snowy) == snowy).all(axis=2).mean())
        if value is not None:
            assert restorer.model.config.pass_through == value
    assert unchanged[0.45] > unchanged[None] > unchanged[0.0]
    mine = load_model("default")
    own = mine.config.pass_through
    assert load_restorer("snow", model=mine, device="cpu", pass_through=0.2).model.config.pass_through == 0.2
    assert mine.config.pass_through == own  # a copy was changed, not the caller's model

    Image.fromarray(snowy).save(tmp_path / "snowy.png")
    code, _, stderr = invoke_command(desnow, "desnow", str(tmp_path / "snowy.png"), "-o", str(tmp_path / "cli"), "-q",
                                     "--device", "cpu", "--precision", "fp32", "--pass-through", "0.45")  # fmt: skip
    assert code == 0, stderr
    with Image.open(tmp_path / "cli" / "snowy.png") as im:
        assert np.array_equal(np.asarray(im), snowy)  # at 0.45 every pixel of this light snow passes through
    ray_model = driver_model(PhotoCommand(paths=[], pass_through=0.45), "snow")
    assert ray_model.config.pass_through == 0.45

    frame = np.round(clean_image(np.random.default_rng(3), 64) * 255).astype(np.uint8)
    own_rain, gate_off = (load_restorer("rain", device="cpu", pass_through=v) for v in (None, 0))
    assert gate_off.model.config.pass_through == 0 and gate_off.model.config.veil_threshold == 0
    assert gate_off.overlap < own_rain.overlap  # the gate's reach is no longer part of the tile overlap
    assert not np.array_equal(gate_off.restore(frame), own_rain.restore(frame))

    for bad, words in ((0.7, r"^pass_through=0\.7 \(--pass-through 0\.7\): must be in \[0, 0\.5\)"),
                       ("x", r"^pass_through='x' \(--pass-through\): not a number")):  # fmt: skip
        with pytest.raises(ModelError, match=words):
            load_restorer("snow", device="cpu", pass_through=bad)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=r"^pass_through=0\.1 \(--pass-through\): .*no pass-through gate"):
        load_restorer("snow", model=Inverter(), device="cpu", pass_through=0.1)
    with pytest.raises(ModelError, match="snow model"):  # the task is checked before the threshold
        load_restorer("rain", model=mine, device="cpu", pass_through=0.7)
    with pytest.raises(ModelError, match=r"pass_through=-1 \(--pass-through -1\): must be in"):
        driver_model(PhotoCommand(paths=[], pass_through=-1), "snow")
    for value in ("0.7", "-1"):
        code, _, stderr = invoke_command(desnow, "desnow", str(tmp_path / "snowy.png"), "-o", str(tmp_path / "bad"),
                                         "--device", "cpu", "--pass-through", value)  # fmt: skip
        assert code == 2 and stderr.strip().count("\n") == 0 and f"--pass-through {float(value):g}" in stderr
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------------------------------ tester's findings


def test_the_errors_are_exported_from_the_package_without_torch() -> None:
    """``except weatherclean.ModelError`` must work, and must not import PyTorch to do so."""
    import weatherclean
    import weatherclean.errors

    for name in ("WeathercleanError", "ModelError", "InputError", "OutputError", "DatasetError", "DiskFullError"):
        assert getattr(weatherclean, name) is getattr(weatherclean.errors, name) and name in weatherclean.__all__
        assert issubclass(getattr(weatherclean, name), weatherclean.WeathercleanError)
    code = "import sys, weatherclean as w; w.ModelError, w.InputError, w.OutputError; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr


def test_restore_file_names_the_parameter_for_what_is_not_a_path(tmp_path: Path) -> None:
    """``restore_file(None, ...)`` and a ``BytesIO`` were a TypeError from inside pathlib."""
    import io

    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    Image.fromarray(_rgb8(0)).save(tmp_path / "a.png")
    buffer = io.BytesIO((tmp_path / "a.png").read_bytes())
    for src, dst, words in (
        (None, tmp_path / "x.png", "src must be a file path (str or os.PathLike), got NoneType"),
        (buffer, tmp_path / "x.png", "src must be a file path (str or os.PathLike), got BytesIO; for a picture in "
         "memory use PIL.Image.open() and restore()"),
        (tmp_path / "a.png", None, "dst must be a file path (str or os.PathLike), got NoneType"),
    ):  # fmt: skip
        with pytest.raises(TypeError, match=f"^restore_file: {re.escape(words)}$"):
            restorer.restore_file(src, dst)  # type: ignore[arg-type]
    assert not (tmp_path / "x.png").exists()


class _ReturnsArray:
    """A duck-typed model (not an nn.Module) whose ``restore`` returns a NumPy array, not a tensor."""

    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> np.ndarray:
        return x.float().numpy()


class _StepsWrong(_Counter):
    """A recurrent model whose ``step`` returns the picture alone, without its state."""

    def step(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return x


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_model_that_returns_no_tensor_is_a_type_error_that_names_it(
    precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In bf16 it was "isfinite(): argument 'input' must be Tensor", nine frames down in restore/precision.py;
    in fp32 a ModelError about the tile's spatial size."""
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "1")  # CPU autocast stands in for native bf16 here
    restorer = load_restorer("snow", model=_ReturnsArray(), device="cpu", precision=precision)
    with pytest.raises(TypeError, match=r"^_ReturnsArray\.restore\(\) returned ndarray, not a torch\.Tensor; it must"):
        restorer.restore(_rgb8(1))
    rain = load_restorer("rain", model=_StepsWrong(), device="cpu", precision=precision, tile=64)
    with pytest.raises(TypeError, match=r"^_StepsWrong\.step\(\) returned Tensor; it must return \(output, state\)"):
        list(rain.restore_clip([_rgb8(2)]))


@pytest.mark.parametrize(
    ("frames", "words"),
    [
        ("clip.mp4", "not the file name 'clip.mp4': the Python API restores frames; for a video file use the "
                     "command `weatherclean desnow clip.mp4` (snow) or `weatherclean derain clip.mp4` (rain)"),
        (Path("in/clip.mp4"), "not the file name 'in/clip.mp4'"),
        (b"\x00\x00\x00\x18ftypmp42", "not bytes"),
        (None, "got NoneType"),
        (5, "got int"),
        (Image.new("RGB", (8, 8)), "got one PIL image; for one picture use restore()"),
        (np.zeros((8, 8, 3), np.uint8), "got one (8, 8, 3) array; for one picture use restore()"),
    ],
    ids=["str", "path", "bytes", "none", "int", "pil", "array"],
)  # fmt: skip
def test_restore_clip_refuses_what_is_not_a_clip_at_the_call(frames: object, words: str) -> None:
    """``restore_clip("clip.mp4")``, ``(None)``, ``(5)`` and ``(pil_image)`` were taken and failed at ``next()``."""
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    with pytest.raises(TypeError, match=re.escape(words)) as caught:
        restorer.restore_clip(frames)  # type: ignore[arg-type]  # no next(): the call itself must fail
    assert str(caught.value).startswith("restore_clip takes frames (a list, a generator or an N×H×W(×3) array)")
    grey = restorer.restore_clip(np.zeros((3, 10, 12), np.uint8))  # (3, H, W): three grey frames, as documented
    assert [f.shape for f in grey] == [(10, 12)] * 3


def test_repr_is_one_short_line_saying_what_runs_where(monkeypatch: pytest.MonkeyPatch) -> None:
    """``repr(restorer)`` printed the whole network: 42,894 characters for the default snow model."""
    monkeypatch.setenv("WEATHERCLEAN_CPU_BF16", "1")  # bf16 asked for below: on any CPU, native bf16 or not
    snow = repr(load_restorer("snow", device="cpu", precision="fp32", tile=128))
    assert snow == (
        "Restorer(task='snow', model='desnownet-light' (DesnowNet), device='cpu', precision='fp32', tile=128, "
        "overlap=96)"
    )
    rain = repr(load_restorer("rain", device="cpu", precision="fp32", self_ensemble=False))
    assert rain.startswith("Restorer(task='rain', model='j4rnet-wide' (J4RNet), device='cpu', precision='fp32'")
    assert rain.endswith(", self_ensemble=False)") and "\n" not in rain and len(rain) < 160
    assert repr(load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")) == (
        "Restorer(task='snow', model=Inverter, device='cpu', precision='fp32', tile=None, overlap=32)"
    )
    fell_back = load_restorer("snow", model=Inverter(), device="cpu", precision="bf16")
    assert "precision='bf16'" in repr(fell_back)
    fell_back.guard.dtype = None  # what a bf16 result that was not finite leaves: fp32 from then on
    assert "precision='fp32'" in repr(fell_back)


def test_the_commands_entry_points_check_pixels_as_restore_does() -> None:
    """``restore_array`` skipped restore()'s checks (0-255 floats silently clipped white, float64 in and float32
    out): it is private now, and what the commands use (restore_loaded, new_clip, finish) checks its pixels."""
    assert not hasattr(Restorer, "restore_array") and hasattr(Restorer, "_restore_array")
    scale255 = np.full((8, 8, 3), 200.0, np.float32)
    snow = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    rain = load_restorer("rain", model=_Counter(), device="cpu", precision="fp32", tile=64)
    calls = {
        "restore_loaded": lambda pixels: snow.restore_loaded(SimpleNamespace(pixels=pixels)),  # type: ignore[arg-type]
        "snow clip": lambda pixels: snow.new_clip()(pixels),
        "rain clip": lambda pixels: rain.new_clip()(pixels),
        "finish": lambda pixels: snow.finish(pixels, np.zeros((8, 8, 3), np.float32)),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match="for 0-255 values pass uint8, or divide by 255"):
            call(scale255.copy())
        with pytest.raises(ValueError, match="NaN"):
            call(np.full((8, 8, 3), np.nan, np.float32))
        with pytest.raises(ValueError, match=r"must be H×W×1 or H×W×3 .*got shape \(8, 8\)"):
            call(np.zeros((8, 8), np.uint8))
        with pytest.raises(TypeError, match="must be a NumPy array"):
            call([[0.5]])
        assert call(np.full((8, 8, 3), 0.25, np.float32)).shape == (8, 8, 3), name
    for clip in (snow.new_clip(), rain.new_clip()):  # a clip's frames come back in their dtype, as restore()'s do
        assert clip(np.full((8, 8, 3), 0.5)).dtype == np.float64 and clip(_rgb8(3, (8, 8))).dtype == np.uint8
    with pytest.raises(TypeError, match="restore_loaded takes a decoded photo"):
        snow.restore_loaded(_rgb8(4))  # type: ignore[arg-type]


def test_messages_name_the_python_value_first_and_the_option_in_parentheses() -> None:
    """The API's notes and errors spoke only in options (``--tile 64 ... use --tile 4000``) and suggested the
    wrong fix for an overlap the user asked for; a wrong-task model named only the command; PIL's P with
    transparency and PA were told to convert('RGB'), which drops their alpha."""
    asked = load_restorer("snow", model=Inverter(), device="cpu", tile=64, tile_overlap=1000).notes
    assert asked == [
        "tile_overlap=1000 (--tile-overlap) is more than tile=64 (--tile) leaves room for (32 px); seams may show; "
        "use tile_overlap=32 or less (--tile-overlap 32), or a larger tile"
    ]
    model_own = load_restorer("snow", device="cpu", tile=64).notes
    assert model_own == [
        "tile=64 (--tile) leaves room for only 32 px of overlap, and the model needs 96 px; seams may show; use "
        "tile=384 or more (--tile 384)"
    ]
    with pytest.raises(
        ModelError,
        match=re.escape(
            "use it with `weatherclean derain` or `evaluate --task rain` (load_restorer('rain', ...) in Python)"
        ),
    ):
        load_restorer("snow", model="j4rnet-light", device="cpu")
    restorer = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    palette = Image.new("P", (8, 8))
    palette.info["transparency"] = 0
    for image, target in ((palette, "RGBA"), (Image.new("PA", (8, 8)), "RGBA"), (Image.new("P", (8, 8)), "RGB")):
        with pytest.raises(ValueError, match=re.escape(f"(here image.convert('{target}')")):
            restorer.restore(image)
