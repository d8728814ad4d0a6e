"""A third-party model family, as an ML engineer extending weatherclean writes one (docs/api.md, "Model families").

The plugin below is a package of its own: a dataclass config, a one-convolution model with
``PyTorchModelHubMixin``, its loss, a ``ModelFamily`` for the snow task (``tinysnow``) and one for a task of its
own (``hazenet``, whose model subclasses the snow one), registered with ``register_family`` and
``register_family_models``. Each test writes it to its own folder and imports it, or installs it with an entry
point (a ``.dist-info`` folder on ``sys.path``), and the registries are put back afterwards.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import StandIn, invoke_command, registered_tiny_snow, tiny_desnownet_config, tiny_snow_run, train_command
from synthetic import write_clean as write_clean_photos
from weatherclean.errors import ModelError

PLUGIN = "wc_tiny_plugin"

PLUGIN_SOURCE = """
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from weatherclean.models import ModelFamily, NamedConfiguration, register_family, register_family_models

CALLS: list[str] = []


@dataclass
class TinyConfig:  # no to_dict(): a plain dataclass
    model_type: str = "tinysnow"
    scale: float = 1.0


class TinyOut(NamedTuple):
    y_hat: torch.Tensor
    y_prime: torch.Tensor
    z_hat: torch.Tensor


class TinySnow(nn.Module, PyTorchModelHubMixin):
    receptive_field = 1
    bytes_per_pixel = None

    def __init__(self, config: TinyConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else TinyConfig()
        self.conv = nn.Conv2d(3, 3, 1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> TinyOut:
        y = x + self.config.scale * self.conv(x)
        return TinyOut(y, y, x[:, :1] * 0)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).y_hat.clamp(0, 1)


def _loss_fn(model, out, batch):
    CALLS.append("tinysnow")
    loss = (out.y_hat - batch["y"]).abs().mean()
    return loss, {"l1": loss.item()}


def _loss(**options):
    return _loss_fn


FAMILY = ModelFamily(
    model_type="tinysnow", task="snow", command="desnow", title="TinySnow", paper="a test family",
    inputs="photos", example_input="photos/", config_class=TinyConfig, model_class=TinySnow, loss=_loss,
    macs_per_pixel=lambda model: 9.0, tags=("weatherclean", "tinysnow"),
    configurations=(NamedConfiguration("tinysnow-8", "a one-convolution snow model", {"scale": 1.0}),),
    default_model="tinysnow-8",
)
register_family(FAMILY)
register_family_models(FAMILY)


@dataclass
class HazeConfig:
    model_type: str = "hazenet"
    scale: float = 1.0


class HazeNet(TinySnow):
    pass


HAZE = ModelFamily(
    model_type="hazenet", task="haze", command="", title="HazeNet", paper="a test family", inputs="photos",
    example_input="photos/", config_class=HazeConfig, model_class=HazeNet, loss=_loss,
    macs_per_pixel=lambda model: 9.0, tags=("weatherclean",),
    configurations=(NamedConfiguration("hazenet-8", "a one-convolution haze model"),), default_model="hazenet-8",
)
register_family(HAZE)
register_family_models(HAZE)
"""


@pytest.fixture(autouse=True)
def registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The family and model registries, the loader's state and the plugin modules, as they were before the test."""
    import importlib.metadata

    from weatherclean.models import family, registry

    # only the plugins the tests install (the distribution wc-tiny): one installed in this environment (a plugin
    # author's own, `pip install -e .`) would hold the tests' model_types and names (in this process: the one test
    # that starts a fresh Python sees the environment's plugins too)
    installed = importlib.metadata.entry_points

    def tests_own(**selection: str) -> Any:
        found = installed(**selection)
        if selection.get("group") != family.PLUGIN_GROUP:
            return found
        return type(found)(e for e in found if e.dist is not None and e.dist.name == "wc-tiny")

    monkeypatch.setattr(importlib.metadata, "entry_points", tests_own)
    for name in ("_BUILTINS_LOADED", "_PLUGINS_LOADED", "_ENTRY_POINTS"):
        monkeypatch.setattr(family, name, getattr(family, name, None), raising=False)
    if family._ENTRY_POINTS:  # read before this test, with the environment's plugins among them
        monkeypatch.setattr(family, "_ENTRY_POINTS", ())
    family.families()  # the shipped families loaded, as every other test finds them
    saved = dict(family._FAMILIES), dict(registry._REGISTRY), dict(registry.DEFAULT_MODELS)
    monkeypatch.setattr(family, "_PLUGIN_PROBLEMS", {}, raising=False)
    yield
    family._FAMILIES = saved[0]  # a new dict: registering swaps the dict rather than changing it
    for live, before in zip((registry._REGISTRY, registry.DEFAULT_MODELS), saved[1:], strict=True):
        live.clear()
        live.update(before)  # type: ignore[arg-type]
    for name in [m for m in sys.modules if m.startswith("wc_")]:
        del sys.modules[name]


def write_plugin(folder: Path, name: str = PLUGIN, source: str = PLUGIN_SOURCE) -> Path:
    """The plugin module ``name`` in ``folder``, importable once ``folder`` is on ``sys.path``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def import_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(write_plugin(tmp_path / "site")))
    return importlib.import_module(PLUGIN)


def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str]) -> None:
    """A distribution ``wc-tiny`` on ``sys.path`` with ``entries`` (name → module) in the plugin group, as
    ``pip install`` of a package with that ``[project.entry-points."weatherclean.families"]`` table leaves it."""
    from weatherclean.models import family

    site = write_plugin(tmp_path / "site")
    dist = site / "wc_tiny-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wc-tiny\nVersion: 0.1\n")
    (dist / "top_level.txt").write_text(f"{PLUGIN}\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entries.items())
    (dist / "entry_points.txt").write_text(f"[{family.PLUGIN_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(family, "_ENTRY_POINTS", None)  # read the entry points again
    monkeypatch.setattr(family, "_PLUGINS_LOADED", False)


def as_in_a_fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """No family registered and no shipped model module imported yet, as when a program starts (restored after)."""
    import weatherclean.models as package
    from weatherclean.models import family

    for module in ("desnownet", "j4rnet"):
        monkeypatch.setattr(package, module, getattr(package, module), raising=False)
        monkeypatch.delitem(sys.modules, f"weatherclean.models.{module}")
    family._FAMILIES = {}  # put back by the registries fixture
    monkeypatch.setattr(family, "_BUILTINS_LOADED", False)
    monkeypatch.setattr(family, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(family, "_ENTRY_POINTS", ())


def haze_desnow_config(base: type) -> type:
    """A config for a family built on DesnowNet: DesnowNet's fields, and a ``model_type`` of its own (its
    config.json must name its own family, not ``desnownet``)."""

    @dataclass
    class HazeDesnowConfig(base):  # type: ignore[misc,valid-type]
        model_type: str = "hazedesnow"

        def __post_init__(self) -> None:  # DesnowNetConfig checks its fields, and that it is a DesnowNet config
            self.model_type = "desnownet"
            super().__post_init__()
            self.model_type = "hazedesnow"

    return HazeDesnowConfig


def saved_model(module: ModuleType, folder: Path, family: str = "FAMILY") -> Path:
    getattr(module, family).build().save_pretrained(folder)
    return folder


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


# -- 1. a built-in model_type, before the first lookup -------------------------------------------------------


def test_a_builtin_model_type_is_refused_at_once_and_the_shipped_families_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean import load_restorer
    from weatherclean.models import ModelFamily, register_family
    from weatherclean.models.family import family_for_task

    plugin = import_plugin(tmp_path, monkeypatch)
    as_in_a_fresh_process(monkeypatch)
    config = make_dataclass("OwnConfig", [("model_type", str, "desnownet")], bases=(plugin.TinyConfig,))
    fake = ModelFamily(**{**plugin.FAMILY.__dict__, "model_type": "desnownet", "config_class": config})
    with pytest.raises(ValueError, match=r"'desnownet' is weatherclean's built-in \(weatherclean\.models\.desnownet\)"):
        register_family(fake)
    assert family_for_task("snow").title == "DesnowNet" and family_for_task("rain").title == "J4R-Net"
    restorer = load_restorer("rain", model=plugin.TinySnow(), device="cpu")  # no "unknown task 'rain'"
    assert restorer.task == "rain"


def test_a_failed_builtin_import_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import family

    as_in_a_fresh_process(monkeypatch)
    monkeypatch.setitem(sys.modules, "weatherclean.models.j4rnet", None)  # its import fails
    with pytest.raises(ImportError):
        family.family_for_task("rain")
    assert not family._BUILTINS_LOADED and "j4rnet" not in family._FAMILIES
    monkeypatch.delitem(sys.modules, "weatherclean.models.j4rnet")  # the cause mended
    assert family.family_for_task("rain").model_type == "j4rnet"
    assert list(family.families()) == ["desnownet", "j4rnet"]


# -- 2 and 3. the family of --arch, not of the task ------------------------------------------------------------


def test_a_plugin_registered_first_takes_no_task_from_the_shipped_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models.family import family_for_task, tasks
    from weatherclean.models.registry import DEFAULT_MODELS, resolve_model_name

    monkeypatch.syspath_prepend(str(write_plugin(tmp_path / "site")))
    as_in_a_fresh_process(monkeypatch)
    importlib.import_module(PLUGIN)  # before any lookup
    assert family_for_task("snow").model_type == "desnownet"
    assert resolve_model_name("default", "snow") == "desnownet-light" == DEFAULT_MODELS["snow"]
    assert tasks() == ["snow", "rain", "haze"]
    assert resolve_model_name("default", "haze") == "hazenet-8"


def test_train_uses_the_loss_of_the_arch_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = import_plugin(tmp_path, monkeypatch)
    clean = write_clean_photos(tmp_path / "clean", seed=1, n=2, size=32)
    # the plugin's arch: trained with its own loss (it crashed inside DesnowNet's, an IndexError)
    result = train_command(*tiny_snow_run(clean, tmp_path / "tiny", "tinysnow-8"))
    assert result.code == 0, result.err
    assert plugin.CALLS, "the plugin's loss never ran"
    card = (tmp_path / "tiny" / "model" / "README.md").read_text()
    assert "DesnowNet" not in card and "the training loss of TinySnow" in card
    assert "pip install weatherclean wc-tiny" in card or "provides model_type 'tinysnow'" in card
    # a DesnowNet arch, with the plugin registered for the same task: DesnowNet's loss, as its card says
    plugin.CALLS.clear()
    with registered_tiny_snow("tiny-desnow"):
        result = train_command(*tiny_snow_run(clean, tmp_path / "desnow", "tiny-desnow"))
    assert result.code == 0, result.err
    assert plugin.CALLS == []
    assert "the DesnowNet paper loss" in (tmp_path / "desnow" / "model" / "README.md").read_text()


# -- 4. plugins through the entry point group -----------------------------------------------------------------


def test_an_installed_plugin_reaches_the_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import models as models_cli

    install_plugin(tmp_path, monkeypatch, {"tiny": PLUGIN})
    folder = tmp_path / "tinyfolder"
    # the folder is written by a plugin already imported elsewhere; the command finds it by its entry point
    code, out, err = invoke_command(models_cli, "models", "list", "--json")
    assert code == 0, err
    names = {row["name"]: row for row in json.loads(out)["models"]}
    assert names["tinysnow-8"]["task"] == "snow" and not names["tinysnow-8"]["default"]
    assert names["desnownet-light"]["default"]
    saved_model(sys.modules[PLUGIN], folder)
    code, out, err = invoke_command(models_cli, "models", "info", str(folder), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["task"] == "snow" and info["config"]["model_type"] == "tinysnow" and info["macs_per_pixel"] == 9.0


def test_a_broken_plugin_is_one_line_and_the_rest_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import family

    write_plugin(tmp_path / "site", "wc_broken", "raise RuntimeError('needs a newer torch')\n")
    install_plugin(tmp_path, monkeypatch, {"broken": "wc_broken", "tiny": PLUGIN})
    with pytest.warns(family.PluginWarning) as caught:
        known = family.families()
    assert {"desnownet", "j4rnet", "tinysnow", "hazenet"} <= set(known)
    (message,) = [str(w.message) for w in caught if w.category is family.PluginWarning]
    assert "'broken'" in message and "RuntimeError: needs a newer torch" in message and "\n" not in message
    with pytest.raises(ModelError, match=r"plugins that failed to import: broken"):
        family.get_family("nosuchtype")


def test_an_unknown_model_type_says_its_package_may_be_missing() -> None:
    from weatherclean.models.family import get_family

    with pytest.raises(ModelError) as caught:
        get_family("tinysnow")
    message = str(caught.value)
    assert "unknown model_type 'tinysnow'" in message and "weatherclean.families" in message and "install" in message


def test_models_list_imports_no_family_without_a_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import family
    from weatherclean.models.registry import list_models

    monkeypatch.setattr(family, "_BUILTINS_LOADED", False)
    monkeypatch.setattr(family, "_ENTRY_POINTS", ())  # no plugin installed
    assert {"desnownet-light", "j4rnet-wide"} <= {spec.name for spec in list_models()}
    assert not family._BUILTINS_LOADED  # nothing imported (and so no PyTorch in a fresh process)


# -- 5. a task of a plugin's own ------------------------------------------------------------------------------


def test_train_refuses_a_task_it_has_no_data_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import_plugin(tmp_path, monkeypatch)
    clean = write_clean_photos(tmp_path / "clean", seed=1, n=1, size=32)
    result = train_command("--task", "haze", "--clean", str(clean), "-o", str(tmp_path / "run"), "-q")
    line = error_line(result.err)
    assert result.code == 2 and "--task haze: train has training data for snow and rain only" in line
    assert not (tmp_path / "run").exists()


def test_hints_for_a_plugin_task_name_no_command_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean import load_restorer
    from weatherclean.models.registry import check_task, locate_model

    plugin = import_plugin(tmp_path, monkeypatch)
    folder = saved_model(plugin, tmp_path / "hazefolder", "HAZE")
    for call in (lambda: check_task("hazenet-8", "snow"), lambda: load_restorer("snow", model=folder, device="cpu")):
        with pytest.raises(ModelError) as caught:
            call()
        message = str(caught.value)
        assert "is a haze model" in message and "load_restorer('haze', model=...)" in message
        assert "dehaze" not in message and "--task haze" not in message
    assert load_restorer("haze", model=folder, device="cpu").task == "haze"  # the Python API runs it
    with pytest.raises(ModelError) as caught:  # a name without weights: no `train --task haze` to suggest
        locate_model("hazenet-8", "haze")
    assert "train --task haze" not in str(caught.value) and "load_restorer('haze', model=FOLDER)" in str(caught.value)


# -- 6. a family whose model subclasses another's -------------------------------------------------------------


def test_the_family_of_a_subclass_is_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import ModelFamily, NamedConfiguration, register_family
    from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
    from weatherclean.models.family import family_of_model
    from weatherclean.models.registry import check_task

    plugin = import_plugin(tmp_path, monkeypatch)
    assert family_of_model(plugin.HazeNet()).model_type == "hazenet"  # registered after its base's family

    class HazeDesnow(DesnowNet):
        """A haze model built on DesnowNet, as the tester's HazeNet(DesnowNet)."""

    register_family(
        ModelFamily(
            model_type="hazedesnow", task="haze", command="", title="HazeDesnow", paper="-", inputs="photos",
            example_input="photos/", config_class=haze_desnow_config(DesnowNetConfig), model_class=HazeDesnow,
            loss=lambda **options: None, macs_per_pixel=lambda model: 0.0, tags=(),
            configurations=(NamedConfiguration("hazedesnow-x", "-"),), default_model="hazedesnow-x",
        )
    )  # fmt: skip
    model = HazeDesnow(tiny_desnownet_config())
    assert family_of_model(model).model_type == "hazedesnow"
    check_task(model, "haze")
    with pytest.raises(ModelError, match=r"'folder' is a haze model"):
        check_task(model, "snow", label="folder")

    class Tuned(DesnowNet):
        """A subclass with no family of its own: its base's."""

    assert family_of_model(Tuned(tiny_desnownet_config())).model_type == "desnownet"


# -- 7. what a family must be ---------------------------------------------------------------------------------


def test_a_config_without_to_dict_is_shown_by_models_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import models as models_cli

    import_plugin(tmp_path, monkeypatch)
    code, out, err = invoke_command(models_cli, "models", "info", "tinysnow-8", "--json")
    assert code == 0, err
    assert json.loads(out)["config"] == {"model_type": "tinysnow", "scale": 1.0}


def test_a_family_is_checked_when_it_is_declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import dataclass

    from weatherclean.models import ModelFamily

    plugin = import_plugin(tmp_path, monkeypatch)

    @dataclass
    class NoType:
        scale: float = 1.0

    base = {**plugin.FAMILY.__dict__, "model_type": "notype"}
    with pytest.raises(ValueError, match=r"needs a field model_type: str = 'notype'"):
        ModelFamily(**{**base, "config_class": NoType})
    with pytest.raises(ValueError, match=r"config_class must be a dataclass or have a to_dict\(\) method"):
        ModelFamily(**{**base, "config_class": object})


def test_a_forward_that_is_not_a_named_tuple_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.training.tasks import RainTask, SnowTask

    plugin = import_plugin(tmp_path, monkeypatch)

    class Plain(plugin.TinySnow):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # enough to restore with, not to train
            return x

    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ModelError, match=r"Plain\.forward returned Tensor; training needs a NamedTuple \(or tuple\)"):
        SnowTask(loss_fn=plugin._loss_fn).loss(Plain(), {"x": x, "y": x})
    with pytest.raises(ModelError, match=r"Plain\.forward returned Tensor; training a rain model needs \(outputs, "):
        RainTask().loss(Plain(), {"rainy": x[None], "clean": x[None]})


def test_a_forward_that_returns_a_plain_tuple_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain tuple of tensors is what the docs allow besides a NamedTuple: it was a ``TypeError`` traceback
    ("tuple expected at most 1 argument, got 3") from rebuilding it as ``tuple(*tensors)``."""
    from weatherclean.training.tasks import RainTask, SnowTask

    plugin = import_plugin(tmp_path, monkeypatch)

    class Plain(plugin.TinySnow):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            y = x + self.conv(x)
            return y, y, x[:, :1] * 0

    def snow_loss(model: object, out: tuple[torch.Tensor, ...], batch: dict) -> tuple[torch.Tensor, dict]:
        assert type(out) is tuple and out[0].dtype == torch.float32
        total = (out[0] - batch["y"]).abs().mean()
        return total, {"l1": total.item()}

    x = torch.rand(1, 3, 8, 8)
    total, parts = SnowTask(loss_fn=snow_loss).loss(Plain(), {"x": x, "y": x})
    assert torch.isfinite(total) and "l1" in parts

    class PlainRain(plugin.TinySnow):
        def forward(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], None]:
            return (x + self.conv.bias.view(1, 1, 3, 1, 1), x), None

    def rain_loss(out: tuple[torch.Tensor, ...], batch: dict) -> tuple[torch.Tensor, dict]:
        total = (out[0] - batch["clean"]).abs().mean()
        return total, {"l1": total.item()}

    total, _ = RainTask(loss_fn=rain_loss).loss(PlainRain(), {"rainy": x[None], "clean": x[None]})
    assert torch.isfinite(total)


# -- 8. cards, evaluate's label and models push ---------------------------------------------------------------


def test_a_plugin_models_card_names_its_own_family_and_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models.cards import render_card

    install_plugin(tmp_path, monkeypatch, {"tiny": PLUGIN})
    card = render_card({"model_type": "tinysnow", "scale": 1.0}, name="m", model_ref="someone/tiny")
    assert "TinySnow (a test family)" in card and "pip install weatherclean wc-tiny" in card
    assert "weatherclean desnow photos/ --model someone/tiny" in card
    haze = render_card({"model_type": "hazenet", "scale": 1.0}, name="h", model_ref="someone/haze")
    assert "load_restorer('haze', model='someone/haze')" in haze
    assert "dehaze" not in haze and "--task haze" not in haze and "weatherclean evaluate --task" not in haze


def test_evaluate_labels_a_plugin_model_by_its_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import evaluate as evaluate_cli

    plugin = import_plugin(tmp_path, monkeypatch)
    root = tmp_path / "data" / "Snow100K-S"
    pixels = (np.random.default_rng(0).random((24, 24, 3)) * 255).astype(np.uint8)
    for sub in ("gt", "synthetic"):
        (root / sub).mkdir(parents=True)
        Image.fromarray(pixels).save(root / sub / "a.png")
    models = StandIn(plugin.TinySnow)
    code, out, err = invoke_command(
        evaluate_cli, "evaluate", "--dataset", str(root), "--model", "tinyfolder", "--device", "cpu", "-q",
        models=models,
    )  # fmt: skip
    assert code == 0, err
    assert "TinySnow (tinyfolder)" in out and "DesnowNet" not in out


def test_models_push_speaks_to_a_third_party(capsys: pytest.CaptureFixture[str]) -> None:
    from weatherclean.cli.models import print_push_result
    from weatherclean.models.hub import PushResult

    commit = "a" * 40
    result = PushResult(
        Path("m"), "someone/haze", "main", commit, "https://hf.co/someone/haze", "u", {"model.safetensors": "b" * 64},
        True, None, "haze",
    )  # fmt: skip
    print_push_result(result)
    out = capsys.readouterr().out
    assert f"load_restorer('haze', model='someone/haze@{commit}')" in out and "weatherclean dehaze" not in out
    assert "in your own code" in out and "pin it in src/weatherclean/models/registry.py:" not in out


# -- 10. registering names: all or nothing, the owner named, a reload accepted --------------------------------


def test_register_family_models_is_all_or_nothing_and_names_the_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models import ModelFamily, NamedConfiguration, register_family, register_family_models
    from weatherclean.models.registry import list_models

    plugin = import_plugin(tmp_path, monkeypatch)
    named = (NamedConfiguration("clash-new", "-"), NamedConfiguration("desnownet-light", "-"))
    fields = {**plugin.FAMILY.__dict__, "configurations": named, "default_model": "clash-new"}
    fields["model_type"] = "clash"
    fields["config_class"] = make_dataclass("ClashConfig", [("model_type", str, "clash")], bases=(plugin.TinyConfig,))
    clash = register_family(ModelFamily(**fields))
    with pytest.raises(ValueError, match=r"'desnownet-light' \(a configuration of family 'desnownet'\)"):
        register_family_models(clash)
    assert "clash-new" not in {spec.name for spec in list_models()}
    other = type("OtherSnow", (plugin.TinySnow,), {})  # declared in another module: another owner
    with pytest.raises(ValueError, match=r"'tinysnow' is already registered by TinySnow from wc_tiny_plugin"):
        register_family(ModelFamily(**{**plugin.FAMILY.__dict__, "title": "Other", "model_class": other}))


def test_a_plugin_module_imported_again_registers_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models.family import get_family
    from weatherclean.models.registry import create_model

    plugin = import_plugin(tmp_path, monkeypatch)
    reloaded = importlib.reload(plugin)  # a notebook's autoreload
    assert get_family("tinysnow").model_class is reloaded.TinySnow
    assert isinstance(create_model("tinysnow-8"), reloaded.TinySnow)


# -- 11. the public names --------------------------------------------------------------------------------------


def test_a_family_is_declared_with_names_from_weatherclean_models() -> None:
    import weatherclean.models as models
    from weatherclean.models import family, registry

    assert models.register_family is family.register_family and models.ModelFamily is family.ModelFamily
    assert models.NamedConfiguration is family.NamedConfiguration
    assert models.register_family_models is registry.register_family_models
    tree = ast.parse(Path(family.__file__).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    # as its docstring says: at load, only the torch-free listing (which imports nothing of weatherclean's)
    assert {name for name in imported if name and name.startswith("weatherclean")} == {"weatherclean.models.builtin"}
    listing = ast.parse(Path(family.__file__).with_name("builtin.py").read_text())
    assert not [n for n in listing.body if isinstance(n, ast.Import | ast.ImportFrom) and "weatherclean" in ast.dump(n)]


def test_the_documented_plugin_runs() -> None:
    """docs/api.md's whole plugin, run as written (fenced ``py``: the docs' own test runs ``python`` blocks in one
    process and would leave the family registered for the tests after it)."""
    import re

    from weatherclean import load_restorer
    from weatherclean.models import create_model, families

    text = (Path(__file__).parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text[text.index("### A family of your own") :]
    (block,) = re.findall(r"```py\n(.*?)```", section[: section.index("\n## ")], flags=re.S)
    module = ModuleType("wc_doc_plugin")  # a module of its own, as a plugin's is (dataclasses looks it up)
    sys.modules[module.__name__] = module  # taken out again by the registries fixture
    exec(compile(block, "docs/api.md plugin example", "exec"), module.__dict__)  # noqa: S102
    assert families()["tinysnow"].task == "snow"
    photo = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    assert load_restorer("snow", model=create_model("tinysnow-8"), device="cpu").restore(photo).shape == photo.shape


# -- round 2, 1. several threads looking families up at once --------------------------------------------------

THREADS_SCRIPT = """
import sys, threading, time
from weatherclean.models.family import family_for_task, get_family

errors = []

def run(call):
    try:
        call()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

def start(*calls):
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    return threads

# what load_restorer("snow") asks first; the others arrive while the first thread is inside the shipped imports
first = start(lambda: family_for_task("snow"))
while "weatherclean.models.desnownet" not in sys.modules:
    time.sleep(0.001)
later = start(lambda: family_for_task("snow"), lambda: get_family("j4rnet"), lambda: get_family("desnownet"))
for thread in first + later:
    thread.join(60)
print(errors[0][:300] if errors else "ok")
sys.exit(1 if errors or any(t.is_alive() for t in first + later) else 0)
"""


def test_threads_warming_up_at_once_in_a_fresh_process_all_find_their_family() -> None:
    """A web service warming its models up in parallel: a thread arriving while another imports the shipped
    modules once came back with half a registry ("unknown task 'snow'; use " with no task after it), every
    time. A fresh process, so a subprocess."""
    import os
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_two_threads_loading_the_shipped_families_both_see_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, with the shipped modules not yet imported: a thread that looks a family up while another is
    importing them finds it (it once saw the other's loading flag: "unknown model_type 'j4rnet' (known: )")."""
    import time

    from weatherclean.models import family

    as_in_a_fresh_process(monkeypatch)
    register = family.register_family

    def slow_register(*args: object, **kwargs: object) -> object:  # a slow import (PyTorch's, in a fresh process)
        time.sleep(0.2)
        return register(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(family, "register_family", slow_register)  # what the shipped modules import, re-run
    errors: list[str] = []

    def look_up(model_type: str) -> None:
        try:
            family.get_family(model_type)
        except Exception as exc:  # noqa: BLE001  # reported below
            errors.append(f"{model_type}: {exc}")

    threads = [threading.Thread(target=look_up, args=("desnownet",))]
    threads[0].start()
    while "weatherclean.models.desnownet" not in sys.modules and threads[0].is_alive():
        time.sleep(0.0005)
    threads += [threading.Thread(target=look_up, args=(m,)) for m in ("j4rnet", "desnownet")]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not any(t.is_alive() for t in threads), errors
    assert list(family.families()) == ["desnownet", "j4rnet"]


LOOKUP_PLUGIN = PLUGIN_SOURCE.replace(
    "register_family(FAMILY)\nregister_family_models(FAMILY)",
    "register_family(FAMILY)\nimport time\nfrom weatherclean.models import get_family\n"
    "get_family('desnownet')\ntime.sleep(0.2)\nregister_family_models(FAMILY)",
)


def test_a_plugin_imported_by_one_thread_while_another_loads_the_plugins_deadlocks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One thread imports a plugin module itself (holding its import lock; the module looks a family up) while
    another imports the plugins through their entry points: a lock held across the imports would make each wait
    for the other forever. Both finish, and both see the plugin's family."""
    from weatherclean.models import family

    write_plugin(tmp_path / "site", "wc_lookup", LOOKUP_PLUGIN)
    install_plugin(tmp_path, monkeypatch, {"lookup": "wc_lookup"})
    barrier, errors = threading.Barrier(2), []

    def run(call: object) -> None:
        barrier.wait()
        try:
            call()  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001  # reported below
            errors.append(repr(exc))

    threads = [
        threading.Thread(target=run, args=(lambda: importlib.import_module("wc_lookup"),), daemon=True),
        threading.Thread(target=run, args=(lambda: family.get_family("tinysnow"),), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(t.is_alive() for t in threads), "deadlocked"
    assert not errors, errors
    assert family.get_family("tinysnow").model_class is sys.modules["wc_lookup"].TinySnow


# -- round 2, 2. warnings as errors ----------------------------------------------------------------------------


def test_under_warnings_as_errors_a_broken_plugin_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-W error`` (or a test suite's ``filterwarnings = error``) made the warning raise inside the loop: the
    plugins after the broken one were never imported, and ``models list`` ended in a traceback."""
    import warnings

    from weatherclean.models import family
    from weatherclean.models.registry import list_models

    write_plugin(tmp_path / "site", "wc_broken", "raise RuntimeError('needs a newer torch')\n")
    install_plugin(tmp_path, monkeypatch, {"broken": "wc_broken", "tiny": PLUGIN})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        names = {spec.name for spec in list_models()}
        known = family.families()
    assert {"tinysnow-8", "hazenet-8"} <= names and {"tinysnow", "hazenet"} <= set(known)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "wc_broken" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: weatherclean plugin 'broken'"), err
    assert "RuntimeError: needs a newer torch" in lines[0]
    assert family.plugin_problems() == [lines[0].removeprefix("warning: ")]


# -- round 2, 3. a plugin that fails halfway is left out, names and all ---------------------------------------


def test_a_plugin_that_fails_after_registering_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models import family
    from weatherclean.models.registry import DEFAULT_MODELS, list_models

    write_plugin(tmp_path / "site", "wc_late", PLUGIN_SOURCE + "\nraise RuntimeError('fails at the end')\n")
    install_plugin(tmp_path, monkeypatch, {"late": "wc_late"})
    with pytest.warns(family.PluginWarning, match=r"'late'.*RuntimeError: fails at the end"):
        known = family.families()
    assert "tinysnow" not in known and "hazenet" not in known
    assert not {"tinysnow-8", "hazenet-8"} & {spec.name for spec in list_models()}
    assert "haze" not in DEFAULT_MODELS and DEFAULT_MODELS["snow"] == "desnownet-light"


# -- round 2, 5. an edited plugin imported again -----------------------------------------------------------------


def test_an_edited_plugin_imported_again_replaces_its_family_and_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's autoreload of a plugin being written: its new declaration replaces the old one, names it
    dropped go, and its task's default follows (it was refused as "already registered by TinySnow")."""
    import os

    from weatherclean.models.family import get_family
    from weatherclean.models.registry import DEFAULT_MODELS, list_models

    plugin = import_plugin(tmp_path, monkeypatch)
    source = Path(plugin.__file__)
    edited = (
        PLUGIN_SOURCE.replace('title="TinySnow"', 'title="TinySnow v2"')
        .replace('NamedConfiguration("tinysnow-8",', 'NamedConfiguration("tinysnow-16",')
        .replace('default_model="tinysnow-8"', 'default_model="tinysnow-16"')
        .replace('NamedConfiguration("hazenet-8",', 'NamedConfiguration("hazenet-16",')
        .replace('default_model="hazenet-8"', 'default_model="hazenet-16"')
    )
    source.write_text(textwrap.dedent(edited))
    os.utime(source, (source.stat().st_atime, source.stat().st_mtime + 10))  # not the cached bytecode
    reloaded = importlib.reload(plugin)
    assert get_family("tinysnow").title == "TinySnow v2" and get_family("tinysnow").model_class is reloaded.TinySnow
    names = {spec.name for spec in list_models()}
    assert {"tinysnow-16", "hazenet-16"} <= names and not {"tinysnow-8", "hazenet-8"} & names
    assert DEFAULT_MODELS["haze"] == "hazenet-16" and DEFAULT_MODELS["snow"] == "desnownet-light"


# -- round 2, 6 and 7. what a family must be, and which family a model is ---------------------------------------


def test_a_dataclass_config_with_to_dict_must_still_name_its_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config_class=DesnowNetConfig`` (it has ``to_dict``) on another family wrote ``model_type: desnownet``
    into that family's config.json, and its saved models came back as DesnowNets."""
    from weatherclean.models import ModelFamily
    from weatherclean.models.desnownet import DesnowNetConfig

    plugin = import_plugin(tmp_path, monkeypatch)
    base = {**plugin.HAZE.__dict__, "model_type": "hazedesnow"}
    with pytest.raises(ValueError, match=r"DesnowNetConfig needs a field model_type: str = 'hazedesnow'"):
        ModelFamily(**{**base, "config_class": DesnowNetConfig})
    assert ModelFamily(**{**base, "config_class": haze_desnow_config(DesnowNetConfig)}).model_type == "hazedesnow"

    class Written:  # no dataclass: its class attribute says what its to_dict writes
        model_type = "desnownet"

        def to_dict(self) -> dict[str, str]:
            return {"model_type": self.model_type}

    with pytest.raises(ValueError, match=r"Written needs a field model_type: str = 'hazedesnow'"):
        ModelFamily(**{**base, "config_class": Written})


def test_a_family_declaration_checks_command_tags_and_configurations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models import ModelFamily

    plugin = import_plugin(tmp_path, monkeypatch)
    snow, haze = dict(plugin.FAMILY.__dict__), dict(plugin.HAZE.__dict__)
    with pytest.raises(ValueError, match=r"command must be 'desnow' \(the command that runs task 'snow'\)"):
        ModelFamily(**{**snow, "command": "derain"})
    with pytest.raises(ValueError, match=r"command must be '' \(no weatherclean command runs its task\)"):
        ModelFamily(**{**haze, "command": "dehaze"})
    with pytest.raises(ValueError, match=r"tags must be a tuple of strings, got 'weatherclean'"):
        ModelFamily(**{**snow, "tags": "weatherclean"})
    with pytest.raises(ValueError, match=r"configurations must be a tuple of NamedConfiguration"):
        ModelFamily(**{**snow, "configurations": ("tinysnow-8",)})
    assert ModelFamily(**{**snow, "tags": ["a", "b"]}).tags == ("a", "b")


def test_two_families_of_one_model_class_are_told_apart_by_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models import ModelFamily, NamedConfiguration, register_family
    from weatherclean.models.family import family_of_model, is_shipped

    plugin = import_plugin(tmp_path, monkeypatch)
    config = make_dataclass("Tiny2Config", [("model_type", str, "tinysnow2")], bases=(plugin.TinyConfig,))
    named = (NamedConfiguration("tinysnow2-8", "-"),)
    fields = {**plugin.FAMILY.__dict__, "model_type": "tinysnow2", "config_class": config}
    register_family(ModelFamily(**{**fields, "configurations": named, "default_model": "tinysnow2-8"}))
    assert family_of_model(plugin.TinySnow(config())).model_type == "tinysnow2"
    assert family_of_model(plugin.TinySnow()).model_type == "tinysnow"
    assert family_of_model(plugin.HazeNet(config())).model_type == "hazenet"  # its exact class's family
    from weatherclean.models.desnownet import FAMILY as DESNOWNET

    assert is_shipped(DESNOWNET) and not is_shipped(plugin.FAMILY)


def test_the_family_modules_share_no_private_names() -> None:
    """registry.py and cards.py use family.py's public names only (registry.py imported ``_same_definition``)."""
    from weatherclean.models import cards, registry

    for module in (registry, cards):
        tree = ast.parse(Path(module.__file__).read_text())
        private = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "weatherclean.models.family"
            for alias in node.names
            if alias.name.startswith("_")
        ]
        assert not private, f"{module.__name__} imports {private}"


# -- round 3, 1. a failing plugin takes back only what failed with it ------------------------------------------


def test_a_failing_plugin_that_first_imports_the_registry_keeps_every_shipped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program whose first call is ``families()``, with a plugin that imports the model-name registry and then
    fails: the registry's own (shipped) names were registered inside the plugin's import and taken back with it,
    and ``load_restorer("snow")`` said "model 'default' not found" for the rest of the process."""
    import weatherclean.models as package
    from weatherclean.models import family, registry

    monkeypatch.setattr(package, "registry", registry)  # put back afterwards, with sys.modules
    monkeypatch.delitem(sys.modules, "weatherclean.models.registry")  # not imported yet, as in a fresh program
    source = "from weatherclean.models.registry import register_family_models\nraise RuntimeError('broken')\n"
    write_plugin(tmp_path / "site", "wc_fails", source)
    install_plugin(tmp_path, monkeypatch, {"fails": "wc_fails"})
    with pytest.warns(family.PluginWarning, match=r"'fails'.*RuntimeError: broken"):
        family.families()
    fresh = sys.modules["weatherclean.models.registry"]
    assert fresh is not registry
    assert {"desnownet-light", "j4rnet-wide"} <= {spec.name for spec in fresh.list_models()}
    assert fresh.resolve_model_name("default", "snow") == "desnownet-light" == fresh.DEFAULT_MODELS["snow"]


def test_a_failing_plugin_keeps_a_healthy_plugin_it_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken plugin that imports a healthy one, then raises: the healthy one's family and names were taken
    back, and as it stayed imported it never registered again (its own entry point found it imported)."""
    from weatherclean.models import family
    from weatherclean.models.registry import DEFAULT_MODELS, list_models

    write_plugin(tmp_path / "site", "wc_bad", f"import {PLUGIN}\nraise RuntimeError('bad plugin')\n")
    install_plugin(tmp_path, monkeypatch, {"bad": "wc_bad", "tiny": PLUGIN})
    with pytest.warns(family.PluginWarning, match=r"'bad'.*RuntimeError: bad plugin"):
        known = family.families()
    assert {"tinysnow", "hazenet"} <= set(known)
    assert {"tinysnow-8", "hazenet-8"} <= {spec.name for spec in list_models()}
    assert DEFAULT_MODELS["haze"] == "hazenet-8"
    assert [p for p in family.plugin_problems() if "'tiny'" in p] == []


# -- round 3, 3. the owner of a family is the module that registered it ---------------------------------------

SHARED_LIBRARY = """
from dataclasses import dataclass

from torch import nn


@dataclass
class SharedConfig:
    model_type: str = "shared"


class SharedNet(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config
"""

SHARED_USER = """
from wc_shared import SharedConfig, SharedNet
from weatherclean.models import ModelFamily, NamedConfiguration, register_family

FAMILY = register_family(ModelFamily(
    model_type="shared", task="haze", title="{title}", paper="-", inputs="photos", example_input="photos/",
    config_class=SharedConfig, model_class=SharedNet, loss=lambda **o: None, macs_per_pixel=lambda m: 1.0,
    tags=(), configurations=(NamedConfiguration("{title}-1", "-"),), default_model="{title}-1",
))
"""


def test_two_plugins_built_on_one_shared_library_do_not_replace_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both declare ``model_type="shared"`` with the shared library's classes: compared by the classes' modules,
    the second silently replaced the first. Who registered is what counts (and a reload is still quiet)."""
    from weatherclean.models import register_family_models
    from weatherclean.models.family import get_family, is_registered

    site = write_plugin(tmp_path / "site", "wc_shared", SHARED_LIBRARY)
    write_plugin(site, "wc_one", SHARED_USER.format(title="one"))
    write_plugin(site, "wc_two", SHARED_USER.format(title="two"))
    monkeypatch.syspath_prepend(str(site))
    one = importlib.import_module("wc_one")
    with pytest.raises(ValueError, match=r"'shared' is already registered by one from wc_one; give yours another"):
        importlib.import_module("wc_two")
    assert get_family("shared") is one.FAMILY
    assert is_registered(one.FAMILY) and not is_registered(dataclass_copy(one.FAMILY), by="wc_two")
    with pytest.raises(ValueError, match=r"family 'shared' is registered as another definition"):
        register_family_models(dataclass_copy(one.FAMILY))  # from this module, not wc_one
    assert importlib.reload(one).FAMILY is get_family("shared")  # its own module again: quiet


def dataclass_copy(family: object) -> object:
    """Another record equal to ``family`` (what a second module declaring the same thing makes)."""
    from dataclasses import replace

    return replace(family)  # type: ignore[type-var]


# -- round 3, 4. an import-lock cycle broken by Python is no broken plugin ------------------------------------

DEADLOCKED_ONCE = """
from pathlib import Path

MARK = Path({mark!r})
if not MARK.exists():  # the first import: Python breaks an import-lock cycle with another thread here
    from importlib._bootstrap import _DeadlockError

    MARK.touch()
    raise _DeadlockError("deadlock detected by _ModuleLock('wc_other')")
"""


def test_a_plugin_import_broken_off_by_a_lock_cycle_is_tried_again_and_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two plugins importing each other while a program thread imports one: Python ends the import-lock cycle with
    ``_DeadlockError`` in one thread, which was recorded as "could not be imported ... reinstall" for good."""
    import warnings

    from weatherclean.models import family

    source = PLUGIN_SOURCE + DEADLOCKED_ONCE.format(mark=str(tmp_path / "mark"))  # registered, then broken off
    write_plugin(tmp_path / "site", "wc_cycle", source)
    install_plugin(tmp_path, monkeypatch, {"cycle": "wc_cycle"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "tinysnow" not in family.families()
    assert not [w for w in caught if w.category is family.PluginWarning]
    assert family.plugin_problems() == [] and not family._PLUGINS_LOADED
    assert family.get_family("tinysnow").title == "TinySnow"  # the next lookup imports it
    assert family._PLUGINS_LOADED and family.plugin_problems() == []


# -- round 3, 5. a default set since stays; the plugin card's Scores sentence; command from the task ------------


def test_taking_a_failed_plugin_back_keeps_a_default_set_since(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import family
    from weatherclean.models.registry import DEFAULT_MODELS

    source = PLUGIN_SOURCE + (
        "\nfrom weatherclean.models.registry import DEFAULT_MODELS\n"
        "DEFAULT_MODELS['haze'] = 'chosen-since'  # as another thread's code meanwhile\n"
        "raise RuntimeError('fails at the end')\n"
    )
    write_plugin(tmp_path / "site", "wc_late", source)
    install_plugin(tmp_path, monkeypatch, {"late": "wc_late"})
    with pytest.warns(family.PluginWarning):
        family.families()
    assert DEFAULT_MODELS["haze"] == "chosen-since"  # it was taken out: this registration had left 'hazenet-8'


def test_a_plugin_task_card_says_its_scores_sentence_in_one_paragraph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.models.cards import render_card

    import_plugin(tmp_path, monkeypatch)
    card = render_card({"model_type": "hazenet", "scale": 1.0}, name="h", model_ref="someone/haze")
    assert "SSIM on held-out data\nand add them to the `model-index`" in card


def test_a_family_may_leave_its_command_to_its_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.models import ModelFamily

    plugin = import_plugin(tmp_path, monkeypatch)
    snow = {k: v for k, v in plugin.FAMILY.__dict__.items() if k != "command"}
    haze = {k: v for k, v in plugin.HAZE.__dict__.items() if k != "command"}
    assert ModelFamily(**snow).command == "desnow" and ModelFamily(**haze).command == ""
    with pytest.raises(ValueError, match=r"command must be 'desnow'"):  # given, still checked
        ModelFamily(**{**snow, "command": "dehaze"})
