"""A tester's findings on the model-management side: NaN weights, `models download` of a local path, an
unwritable Hub cache, a malformed HF_ENDPOINT, advice for damaged Hub cache files, weights that do not fit
their config, long paths in `models info`, and what `models push` says about a name, a file or a config
without model_type. The Hub is the local stand-in (``hub_standin.py``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from hub_standin import StandinHub, serving
from weatherclean.errors import ModelError
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
from weatherclean.models.loading import load_from_folder
from weatherclean.restore.precision import GuardedPrecision

TINY = DesnowNetConfig(width=0.125, blocks=(1, 1, 1), descriptor_stride=4, head_channels=8, pyramid_channels=8)
CPU = torch.device("cpu")


def _save(folder: Path, config: DesnowNetConfig = TINY, *, nan: bool = False) -> Path:
    torch.manual_seed(0)
    model = DesnowNet(config)
    if nan:
        next(model.parameters()).data.fill_(float("nan"))
    model.save_pretrained(folder)
    return folder


def _app():  # noqa: ANN202 - the Typer app, imported late as the other CLI tests do
    from weatherclean.cli import app

    return app


def _error_line(result) -> str:  # noqa: ANN001 - a click Result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


# -- 1. NaN weights -----------------------------------------------------------------------------------------


def test_a_non_finite_fp32_result_is_a_model_error() -> None:
    guard = GuardedPrecision(lambda x: torch.full_like(x, float("nan")), CPU, None, label="Broken.restore()")
    with pytest.raises(ModelError, match=r"Broken.restore\(\) gave NaN or infinite values in fp32.*retrain"):
        guard(torch.rand(1, 3, 8, 8))


def test_a_non_finite_result_after_the_fp32_fallback_is_a_model_error() -> None:
    guard = GuardedPrecision(lambda x: torch.full_like(x, float("inf")), CPU, torch.bfloat16)
    with pytest.raises(ModelError, match="diverged training run"):
        guard(torch.rand(1, 3, 8, 8))


def test_an_all_black_picture_in_fp32_is_no_error() -> None:
    """An all-black picture does not set off the fp32 fallback, nor the fp32 check."""
    guard = GuardedPrecision(lambda x: x * 0.5, CPU, None)
    black = torch.zeros(1, 3, 8, 8)
    assert torch.equal(guard(black), black) and guard.fallbacks == []


def test_nan_weights_are_refused_at_load(tmp_path: Path) -> None:
    folder = _save(tmp_path / "f_nan", nan=True)
    with pytest.raises(ModelError, match=r"f_nan/model.safetensors: 1 weight tensor\(s\) hold NaN") as exc:
        load_from_folder(folder)
    assert "\n" not in str(exc.value) and "diverged training run" in str(exc.value)


def test_desnow_with_nan_weights_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    from PIL import Image

    folder = _save(tmp_path / "f_nan", nan=True)
    Image.new("RGB", (32, 32), (120, 130, 140)).save(tmp_path / "a.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        _app(), ["desnow", str(tmp_path / "a.png"), "--model", str(folder), "-o", str(out), "--precision", "fp32"]
    )
    assert result.exit_code == 2 and "NaN" in _error_line(result)
    assert not any(out.rglob("*.png")) if out.exists() else True


# -- 2. `models download` of a local path ------------------------------------------------------------------


def test_download_of_a_path_that_is_not_a_model_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")
    truncated = _save(tmp_path / "trunc")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    runner = CliRunner()
    cases = {"photos": "not a model folder", "a.jpg": "a file, not a model folder", "trunc": "truncated"}
    for name, expected in cases.items():
        result = runner.invoke(_app(), ["models", "download", str(tmp_path / name)])
        assert result.exit_code == 2 and expected in _error_line(result), (name, result.output)
        assert "nothing to download" not in result.stdout


# -- hub cases -----------------------------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinHub]:
    """A stand-in Hub with ``test/tiny``, ``test/garbage`` (weights not safetensors) and ``test/alien``
    (an unknown model_type)."""
    good = _save(tmp_path / "good")
    alien = json.loads((good / "config.json").read_text()) | {"model_type": "alien"}
    with serving(tmp_path / "hf", monkeypatch) as standin:
        standin.add_repo("test/tiny", good)
        standin.add_repo("test/garbage", files={"config.json": (good / "config.json").read_bytes(),
                                                "model.safetensors": b"\x00" * 64})  # fmt: skip
        weights = (good / "model.safetensors").read_bytes()
        standin.add_repo("test/alien", files={"config.json": json.dumps(alien).encode(), "model.safetensors": weights})
        yield standin


def test_unwritable_hub_cache_is_one_line_exit_2(hub: StandinHub, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from huggingface_hub import constants

    cache_file = tmp_path / "cache-is-a-file"
    cache_file.write_text("")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache_file))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_file))
    result = CliRunner().invoke(_app(), ["models", "download", "test/tiny"])
    line = _error_line(result)
    assert result.exit_code == 2 and f"cannot write the Hub cache {cache_file}" in line and "HF_HUB_CACHE" in line


@pytest.mark.parametrize("repo, expected", [("test/garbage", "models download test/garbage --force"),
                                            ("test/alien", "unknown model_type 'alien'")])  # fmt: skip
def test_download_of_a_repo_that_does_not_load_exits_2(hub: StandinHub, repo: str, expected: str) -> None:
    result = CliRunner().invoke(_app(), ["models", "download", repo])
    assert result.exit_code == 2 and expected in _error_line(result)


def test_damaged_weights_in_the_hub_cache_say_download_force(hub: StandinHub) -> None:
    from weatherclean.models.registry import locate_model

    folder = locate_model("test/tiny").folder
    weights = (folder / "model.safetensors").resolve()  # the blob behind the snapshot's link
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) - 100])  # header intact, data cut short
    with pytest.raises(ModelError, match=r"run `weatherclean models download test/tiny --force`"):
        load_from_folder(folder)


# -- 4. malformed HF_ENDPOINT ------------------------------------------------------------------------------


def test_a_malformed_hf_endpoint_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import family, hub

    folder = _save(tmp_path / "m")
    monkeypatch.setenv("HF_ENDPOINT", "http://[::1")
    # as in a fresh process, where huggingface_hub has not been imported yet
    monkeypatch.delitem(sys.modules, "huggingface_hub.constants")
    monkeypatch.setattr(family, "_BUILTINS_LOADED", False)
    with pytest.raises(ModelError, match=r"HF_ENDPOINT='http://\[::1' is not a valid URL"):
        hub.check_hub_endpoint()
    result = CliRunner().invoke(_app(), ["models", "info", str(folder)])
    assert result.exit_code == 2 and "HF_ENDPOINT" in _error_line(result)


# -- 6. weights that do not fit their config -------------------------------------------------------------


def test_weights_of_another_config_are_summarised(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m")
    other = _save(tmp_path / "other", DesnowNetConfig(width=0.25, blocks=(1, 1, 1), descriptor_stride=4,
                                                      head_channels=8, pyramid_channels=8))  # fmt: skip
    (folder / "config.json").write_bytes((other / "config.json").read_bytes())
    with pytest.raises(ModelError) as exc:
        load_from_folder(folder)
    message = str(exc.value)
    assert "the weights do not fit config.json:" in message and "of another shape (e.g. " in message
    assert " in the file, " in message and "model_type 'desnownet'" in message and "\n" not in message
    assert "Missing key(s)" not in message


# -- 8. long paths in `models info` ------------------------------------------------------------------------


def test_info_shows_a_long_folder_path_whole(tmp_path: Path) -> None:
    folder = _save(tmp_path / ("a-rather-long-folder-name-" * 4) / "model")
    result = CliRunner().invoke(_app(), ["models", "info", str(folder)], terminal_width=80)
    assert result.exit_code == 0 and "…" not in result.stdout
    assert str(folder).replace("/", "") in "".join(c for c in result.stdout if c not in "│ \n/")


# -- 9. what `models push` says ---------------------------------------------------------------------------


def test_push_says_what_a_file_a_name_and_a_config_without_model_type_need(tmp_path: Path) -> None:
    from weatherclean.models.hub import check_push_folder
    from weatherclean.models.registry import bundled_weights_dir, list_models

    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ModelError, match="a file, not a model folder"):
        check_push_folder(tmp_path / "a.jpg")
    bundled = [s.name for s in list_models() if bundled_weights_dir(s.name) is not None]
    from typer.testing import CliRunner

    from weatherclean.cli import app

    result = CliRunner().invoke(app, ["models", "push", bundled[0], "someone/x"])
    assert result.exit_code == 2 and "registered model name, not a folder; its folder is" in result.output
    folder = _save(tmp_path / "legacy")
    config = json.loads((folder / "config.json").read_text())
    del config["model_type"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match='add "model_type": "desnownet"'):
        check_push_folder(folder)


def test_load_from_folder_takes_a_str_as_load_restorer_does(tmp_path: Path) -> None:
    """``weatherclean.models.load_from_folder("folder")`` ended in ``TypeError: unsupported operand type(s) for /``."""
    from synthetic import tiny_desnownet_config
    from weatherclean.models import load_from_folder
    from weatherclean.models.desnownet import DesnowNet

    DesnowNet(tiny_desnownet_config()).save_pretrained(tmp_path / "m")
    assert isinstance(load_from_folder(str(tmp_path / "m")), DesnowNet)
