"""A security auditor's findings on model configs, model and weights headers, XMP searches and video frame sizes:
a 300-byte config.json that took all the memory, deeply nested JSON that gave a traceback, XMP searches that took
time with the square of the packet's length, and videos that escaped the pixel limit. Each test fails without its
fix; tiny models and data made here, in-process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from synthetic import Inverter, StandIn, invoke_command, make_video
from weatherclean.errors import InputError, ModelError
from weatherclean.io.images import jpegsegments, motion
from weatherclean.models.builtin import BUILTIN_FAMILIES
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
from weatherclean.models.j4rnet import J4RNet, J4RNetConfig
from weatherclean.models.loading import check_weights_file, load_from_folder, read_folder

SNOW = DesnowNetConfig(width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, descriptor_stride=2,
                       head_channels=8)  # fmt: skip
RAIN = J4RNetConfig(channels=8, hidden=8, stride=2, extractor_layers=1, dnet_layers=2, rnet_blocks=1, cnet_blocks=1,
                    jrc_blocks=1)  # fmt: skip


def _app():  # noqa: ANN202 - the Typer app, imported late as the other CLI tests do
    from weatherclean.cli import app

    return app


def _saved(folder: Path, rain: bool = False) -> Path:
    torch.manual_seed(0)
    (J4RNet(RAIN) if rain else DesnowNet(SNOW)).save_pretrained(folder)
    return folder


def _with_config(folder: Path, **changes: object) -> Path:
    config = folder / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **changes}))
    return folder


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    return lines[0]


# -- 1. a config.json that asks for a huge network ---------------------------------------------------------------

HUGE = [
    (False, "blocks", [100000, 100000, 100000], "from 0 to 64"),
    (False, "dilation_levels", 100000000, "from 0 to 8"),
    (False, "maxout_levels", 100000, "from 1 to 16"),
    (False, "pyramid_channels", 10**7, "from 0 to 4096"),
    (False, "head_channels", 10**7, "from 0 to 4096"),
    (False, "descriptor_stride", 2**20, "from 1 to 16"),
    (False, "gate_radius", 10**6, "from 0 to 256"),
    (False, "veil_stride", 2**20, "from 1 to 256"),
    (True, "channels", 10**6, "from 1 to 2048"),
    (True, "hidden", 10**6, "from 1 to 2048"),
    (True, "stride", 2**20, "from 1 to 16"),
    (True, "dnet_layers", 10**6, "from 1 to 64"),
    (True, "extractor_layers", 10**6, "from 0 to 64"),
    (True, "rnet_blocks", 10**6, "from 0 to 64"),
    (True, "cnet_blocks", 10**6, "from 0 to 64"),
    (True, "jrc_blocks", 10**6, "from 0 to 64"),
    (True, "streak_window", 10**6 + 1, "from 3 to 63"),
    (True, "gate_radius", 10**6, "from 0 to 256"),
    (True, "veil_cell", 2**20, "from 8 to 1024"),
]


@pytest.mark.parametrize(("rain", "field", "value", "bound"), HUGE)
def test_a_config_asking_for_a_huge_network_is_refused_before_anything_is_built(
    tmp_path: Path, rain: bool, field: str, value: object, bound: str
) -> None:
    """``blocks: [100000, 100000, 100000]`` took 8.7 GB and ``dilation_levels: 100000000`` 22.7 GB, from a 300-byte
    config.json, before the weights were looked at; ``--dry-run`` accepted both. Now the config's own check refuses
    them (what --dry-run, ``models info`` and every load read), naming the field and its bound."""
    folder = _with_config(_saved(tmp_path / "m", rain), **{field: value})
    for read in (read_folder, load_from_folder):
        started = time.perf_counter()
        with pytest.raises(ModelError, match=f"config.json: invalid model config \\({field} must be") as caught:
            read(folder)
        assert bound in str(caught.value) and "\n" not in str(caught.value)
        assert time.perf_counter() - started < 1.0


def test_models_info_and_dry_run_refuse_a_huge_config_in_one_line(tmp_path: Path) -> None:
    folder = _with_config(_saved(tmp_path / "m"), dilation_levels=100000000)
    Image.new("RGB", (16, 16), (90, 100, 110)).save(tmp_path / "a.png")
    runner = CliRunner()
    result = runner.invoke(_app(), ["models", "info", str(folder)])
    assert result.exit_code == 2 and "dilation_levels must be a whole number from 0 to 8" in _one_error_line(
        result.stderr
    )
    result = runner.invoke(_app(), ["desnow", str(tmp_path / "a.png"), "--dry-run", "--model", str(folder)])
    assert result.exit_code == 2 and "dilation_levels" in _one_error_line(result.stderr)


def test_every_registered_configuration_is_inside_the_bounds() -> None:
    """The bounds are generous: each registered network (desnownet-paper is the largest) passes its config's check."""
    for listing in BUILTIN_FAMILIES.values():
        config_class = DesnowNetConfig if listing.model_type == "desnownet" else J4RNetConfig
        for named in listing.configurations:
            config_class(**dict(named.settings))


@pytest.mark.parametrize("value", [True, 4.5, "4", float("inf"), -1])
def test_a_size_that_is_not_a_whole_number_in_range_is_refused(tmp_path: Path, value: object) -> None:
    """JSON's 1e400 is infinity, whose int() overflowed (a traceback); a string or a bool is no count."""
    folder = _saved(tmp_path / "m")
    (folder / "config.json").write_text(
        (folder / "config.json").read_text().replace('"dilation_levels": 2', f'"dilation_levels": {json.dumps(value)}')
    )
    if value == float("inf"):
        (folder / "config.json").write_text((folder / "config.json").read_text().replace("Infinity", "1e400"))
    with pytest.raises(ModelError, match="dilation_levels must be a whole number from 0 to 8"):
        read_folder(folder)


def test_a_config_inside_the_bounds_that_does_not_fit_its_weights_is_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config can still ask for far more than its weights hold (desnownet-paper's 136 M parameters beside a tiny
    file): the tensors' names and shapes are compared with a skeleton built on PyTorch's ``meta`` device, which
    holds no data, and the real network is never built."""
    folder = _with_config(_saved(tmp_path / "m"), width=1.0, blocks=[4, 7, 3], descriptor_stride=1)
    built_on: list[str] = []
    original = DesnowNet.__init__

    def spy(self: DesnowNet, *args: object, **kwargs: object) -> None:
        built_on.append(torch.empty(0).device.type)  # the device a tensor made now would be on
        original(self, *args, **kwargs)

    monkeypatch.setattr(DesnowNet, "__init__", spy)
    with pytest.raises(ModelError, match="checkpoint does not match its config: the weights do not fit config.json"):
        load_from_folder(folder)
    assert built_on == ["meta"]


def test_a_dry_run_refuses_a_config_that_does_not_fit_its_weights(tmp_path: Path) -> None:
    """The run refused it before any work (exit 2) while ``--dry-run`` said the photo would be done, exit 0 (a docs
    tester's finding): the dry run now makes the same check, on the meta device."""
    folder = _with_config(_saved(tmp_path / "m"), dilation_levels=8)
    photo = tmp_path / "p.png"
    Image.new("RGB", (32, 32), (90, 90, 90)).save(photo)
    result = CliRunner().invoke(_app(), ["desnow", str(photo), "-o", str(tmp_path / "out"), "--model", str(folder),
                                         "--dry-run"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "the weights do not fit config.json" in _one_error_line(result.stderr)


def test_a_model_that_fits_its_config_still_loads_bit_for_bit(tmp_path: Path) -> None:
    for rain in (False, True):
        folder = _saved(tmp_path / f"m{rain}", rain)
        loaded = load_from_folder(folder)
        torch.manual_seed(0)
        fresh = J4RNet(RAIN) if rain else DesnowNet(SNOW)
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in fresh.state_dict().items())


# -- 2. deeply nested JSON ---------------------------------------------------------------------------------------


def test_a_deeply_nested_config_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """``[`` * 100000 raised RecursionError inside json, a traceback from --dry-run, models info and loading."""
    folder = _saved(tmp_path / "m")
    (folder / "config.json").write_text("[" * 100000)
    with pytest.raises(ModelError, match=r"config.json: cannot read the model config \(nested too deeply"):
        read_folder(folder)
    result = CliRunner().invoke(_app(), ["models", "info", str(folder)])
    assert result.exit_code == 2 and "cannot read the model config" in _one_error_line(result.stderr)


def test_a_deeply_nested_weights_header_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    folder = _saved(tmp_path / "m")
    header = b"[" * 100000
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 64)
    with pytest.raises(ModelError, match=r"safetensors: not a safetensors file \(its header is nested too deeply"):
        check_weights_file(folder / "model.safetensors")
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_from_folder(folder)


# -- 3. XMP searches in time proportional to the packet's length -------------------------------------------------

_SIZE = 400_000
XMP_CASES = {
    "letters": b"A" * _SIZE,  # the auditor's: 59 s at 200 KB in a 64x48 AVIF, 235 s at 400 KB
    "spaces": b" " * _SIZE,
    "a flag, then letters": b'<x:a GCamera:MicroVideo="1" ' + b"A" * _SIZE,
    "unclosed tags": b"<a:Item " * (_SIZE // 8),
    "unclosed list entries": b"<rdf:li " * (_SIZE // 8),
    "unclosed directories": b"<a:Directory>" * (_SIZE // 13),
    "unclosed motion elements": b"<a:MicroVideoX " * (_SIZE // 15),
}


@pytest.mark.parametrize("xmp", XMP_CASES.values(), ids=XMP_CASES.keys())
def test_a_400_kb_xmp_is_searched_in_well_under_a_second(tmp_path: Path, xmp: bytes) -> None:
    started = time.perf_counter()
    motion.names_video(xmp)
    motion.has_heif_motion_video(tmp_path / "none.avif", xmp)
    motion._google_video_length(xmp)
    motion.without_motion_xmp(xmp)
    motion.without_directory(xmp)
    motion.without_dropped_items(xmp, 1)
    motion._attributes(b"<a:Item " + xmp + b"/>")
    jpegsegments.without_extended_xmp_pointer(xmp)
    assert time.perf_counter() - started < 1.0


GOOGLE = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description rdf:about=""\n'
    b'    xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" xmpNote:HasExtendedXMP="0123456789ABCDEF"\n'
    b'    GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="4321"\n'
    b"    Camera:MotionPhoto='1' tiff:Make=\"Google\">\n"
    b"  <Camera:MotionPhotoPresentationTimestampUs>0</Camera:MotionPhotoPresentationTimestampUs>\n"
    b"  <Container:Directory><rdf:Seq>\n"
    b'    <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"/></rdf:li>\n'
    b'    <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"'
    b' Item:Length="4321"/></rdf:li>\n'
    b"  </rdf:Seq></Container:Directory>\n"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_a_phones_motion_photo_xmp_is_read_and_cleaned_as_before() -> None:
    assert motion.names_video(GOOGLE) and motion._google_video_length(GOOGLE) == 4321
    cleaned = motion.without_motion_xmp(GOOGLE)
    assert b"MicroVideo" not in cleaned and b"MotionPhoto" not in cleaned
    assert b'tiff:Make="Google"' in cleaned and b'Item:Semantic="Primary"' in cleaned
    assert b"Directory" not in motion.without_directory(GOOGLE)
    assert b"HasExtendedXMP" not in jpegsegments.without_extended_xmp_pointer(GOOGLE)
    assert motion._attributes(b"<Container:Item Item:Mime=\"video/mp4\" Item:Length='7'/>") == {
        b"Mime": b"video/mp4",
        b"Length": b"7",
    }


def test_an_empty_directory_does_not_take_what_follows_it_along() -> None:
    """``<Container:Directory/>`` was also read as an opening tag, so everything up to a later Directory's end went
    with it: here the camera's make."""
    xmp = b"<Container:Directory/><tiff:Make>Google</tiff:Make><Container:Directory><rdf:Seq/></Container:Directory>"
    assert motion.without_directory(xmp) == b"<tiff:Make>Google</tiff:Make>"


# -- 4. the pixel limit holds for video frames ---------------------------------------------------------------------


def test_a_video_whose_frames_are_over_the_pixel_limit_is_refused_when_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 14 KB MP4 with one 8192x8192 frame ran 117 s and took 1.47 GB with WEATHERCLEAN_MAX_MEGAPIXELS=10: the limit
    applied to photos only. Here 64x48 frames against a 0.002 MP limit."""
    from weatherclean.cli import derain
    from weatherclean.io.video import probe_video

    clip = tmp_path / "in" / "clip.mp4"
    make_video(clip, frames=2, audio=None, vfr=False)
    assert probe_video(clip).width == 64  # under the default limit
    monkeypatch.setenv("WEATHERCLEAN_MAX_MEGAPIXELS", "0.002")
    with pytest.raises(InputError, match=r"clip.mp4: video frames are 64×48 = 0.0031 megapixels, over the 0.002 MP"):
        probe_video(clip)
    loads = StandIn(Inverter)
    code, _, stderr = invoke_command(derain, "derain", str(clip), "-o", str(tmp_path / "out"), "--device", "cpu",
                                     models=loads)  # fmt: skip
    line = _one_error_line(stderr)
    assert code == 1 and "video frames are 64×48" in line and "WEATHERCLEAN_MAX_MEGAPIXELS=1" in line
    assert not list((tmp_path / "out").rglob("*.mp4")) if (tmp_path / "out").exists() else True
