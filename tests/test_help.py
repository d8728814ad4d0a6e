"""Help pages read as a user needs them: each option, a short name for its value, what it does; no Python
type tags, no range tags, and each command's own words (derain's pages speak of videos)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from weatherclean.cli import app

PAGES = [
    [], ["desnow"], ["derain"], ["synth"], ["synth", "snow"], ["synth", "rain"], ["train"], ["evaluate"],
    ["compare"], ["models"], ["models", "list"], ["models", "download"], ["models", "info"], ["models", "push"],
]  # fmt: skip


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", PAGES, ids=lambda c: " ".join(c) or "weatherclean")
def test_no_type_tags_or_braces_on_any_page(command: list[str]) -> None:
    text = _help(*command)
    assert not re.search(r"<(bool|str|int|float|path|list|int range|float range)[^>]*>", text), text
    assert not re.search(r"\[\d*<?=?x[<>]=", text) and "x>=" not in text, text  # range tags such as [x>=64]
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage


def test_each_command_speaks_of_its_own_inputs_and_outputs() -> None:
    flat = " ".join(_help("derain").split())
    assert "Usage: weatherclean derain [OPTIONS] PATHS..." in flat
    from weatherclean.io.media import VIDEO_CONTAINERS

    read = ", ".join(suffix.lstrip(".") for suffix in VIDEO_CONTAINERS)  # every container derain reads
    assert f"PATHS... Videos ({read}), photos" in flat
    assert "'clips_derained/'" in flat and "desnowed" not in flat
    assert "Replace each input photo or video" in flat and "Redo photos, videos and clips" in flat
    assert "--output -o DIR" in flat and "--tile PX" in flat and "--crf 0-51" in flat
    flat = " ".join(_help("desnow").split())
    assert "'photos_desnowed/'" in flat and "derained" not in flat and "--quality 1-100" in flat
    assert f"PATHS... Videos ({read}), photos" in flat and "--crf 0-51" in flat and "--frames" in flat


@pytest.mark.parametrize("command", ["desnow", "derain"])
def test_no_arguments_prints_the_usage_and_the_missing_argument(command: str) -> None:
    result = CliRunner().invoke(app, [command])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"Usage: weatherclean {command} [OPTIONS] PATHS..." in text
    assert "Missing argument 'PATHS...'" in text and "--help" in text
    assert "--overwrite" not in text  # the usage and the error, not the whole page


def test_models_info_shows_no_empty_column() -> None:
    result = CliRunner().invoke(app, ["models", "info", "desnownet-light"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "dataset" in line and "metric" in line)
    assert "split" not in header  # the bundled card names no split


def test_models_info_of_a_configuration_without_weights_says_so() -> None:
    result = CliRunner().invoke(app, ["models", "info", "desnownet-base"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "scores: none (no trained weights)" in result.output and "no scores in model card" not in result.output
