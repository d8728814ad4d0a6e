"""Start-up: ``--help``, ``--version`` and ``models list`` must not import PyTorch, PyAV, NumPy or the models.

Importing PyTorch alone takes 1.5 s on a 2-core machine; the CLI's quick commands took 1.8–2.7 s because
of it. Each check runs in a fresh interpreter (this test process has long imported everything), and
asserts on ``sys.modules``, not on time: a correctness test that a timing-noisy machine cannot break.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

#: Modules the quick commands must not import: each costs 0.1–1.5 s, and none is needed to parse or to list.
HEAVY = ("torch", "av", "numpy", "PIL", "scipy", "safetensors", "weatherclean.models.desnownet",
         "weatherclean.models.j4rnet")  # fmt: skip

_PROBE = """
import json, sys
from typer.testing import CliRunner
from weatherclean.cli import app
results = [CliRunner().invoke(app, args) for args in json.loads(sys.argv[1])]
heavy = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps({"codes": [r.exit_code for r in results], "heavy": heavy, "out": results[-1].output}))
"""


def _run(commands: list[list[str]]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands), json.dumps(HEAVY)],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "commands",
    [
        [["--version"]],
        [["--help"]],
        [["models", "list"]],
        [[name, "--help"] for name in ("desnow", "derain", "compare", "evaluate", "train", "models")]
        + [["synth", "snow", "--help"], ["synth", "rain", "--help"], ["models", "info", "--help"]],
    ],
    ids=["version", "help", "models-list", "each-help"],
)
def test_quick_commands_import_nothing_heavy(commands: list[list[str]]) -> None:
    result = _run(commands)
    assert result["codes"] == [0] * len(commands), result
    assert result["heavy"] == [], f"{commands} imported {result['heavy']}"


def test_models_list_shows_every_registered_model_and_the_defaults() -> None:
    from weatherclean.models.family import families
    from weatherclean.models.registry import list_models

    out = str(_run([["models", "list"]])["out"])
    for spec in list_models():
        assert spec.name in out
    for family in families().values():  # the torch-free listing names the same defaults as the families
        assert f"{family.default_model} (default)" in out


def test_torch_free_listings_agree_with_the_modules_that_define_them() -> None:
    """The names ``--help`` shows are declared apart from the code they name; the two must not drift."""
    from weatherclean.models.builtin import BUILTIN_FAMILIES
    from weatherclean.models.family import families
    from weatherclean.restore import precision
    from weatherclean.synth import names, rain, snow

    assert tuple(snow._STYLES) == names.SNOW_STYLES and tuple(rain._STYLES) == names.RAIN_STYLES
    assert snow.SNOW_LEVELS == names.SNOW_LEVELS and tuple(rain.LEVEL_PARAMS) == names.RAIN_LEVELS
    assert set(precision.PRECISIONS) == {"auto", *precision._DTYPES, "fp32"}
    for model_type, listing in BUILTIN_FAMILIES.items():
        family = families()[model_type]
        assert (family.task, family.command, family.configurations, family.default_model) == (
            listing.task, listing.command, listing.configurations, listing.default_model,
        )  # fmt: skip


def test_the_lazy_packages_still_export_their_names() -> None:
    import weatherclean.models as models
    import weatherclean.restore as restore
    import weatherclean.synth as synth

    for package in (models, restore, synth):
        for name in package.__all__:
            assert getattr(package, name) is not None
        with pytest.raises(AttributeError):
            package.no_such_name  # noqa: B018
