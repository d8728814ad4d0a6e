"""Narrow, dumb, logged and unwritable terminals: tables that fit, plain output, progress only on a real terminal,
option errors as ``error:`` lines, an interrupted evaluate that says what it kept, and file names on contact sheets
drawn rather than boxed."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from rich.console import Console
from typer.testing import CliRunner

from weatherclean.evaluation import INPUT_METHOD, EvaluationResult, ImageScore, render_summary

BOX = set("┏┓┗┛┃━│─┌┐└┘╭╮╰╯┡┩╇┳┻┼├┤")


def _result() -> EvaluationResult:
    result = EvaluationResult(task="snow", dataset="syn")
    for name in ("a", "b"):
        result.add(ImageScore(name, INPUT_METHOD, 28.97, 0.9933, 31.43, 0.9911, 0.0))
        result.add(ImageScore(name, "median filter 3x3", 10.93, 0.1804, 15.70, 0.1933, 0.008))
        result.add(ImageScore(name, "DesnowNet (desnownet-light)", 23.47, 0.9723, 26.14, 0.9617, 0.31))
    return result


def _printed(table: object, width: int, encoding: str = "utf-8") -> str:
    from weatherclean.tables import print_table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None, legacy_windows=False)
    if encoding != "utf-8":
        console._file = type("F", (io.StringIO,), {"encoding": encoding})()  # type: ignore[attr-defined]
        buffer = console._file  # type: ignore[attr-defined]
    print_table(console, table)  # type: ignore[arg-type]
    return buffer.getvalue()


# ------------------------------------------------------------------ 1. evaluate's tables on narrow terminals


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_evaluate_table_keeps_every_method_name_whole_at_any_width(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 60 columns the "method" column shrank to nothing; at 80 "(desnownet-li ght)" broke mid-word; the
    caption was cut at the edge."""
    monkeypatch.delenv("TERM", raising=False)
    text = _printed(render_summary(_result()), width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    words = text.split()
    for word in ("(snowy)", "3x3", "(desnownet-light)", "28.97", "0.9933", "0.9617", "0.310"):
        assert word in words or any(word in line for line in lines), (word, text)
    assert "(desnownet-light)" in text and "…" not in text
    assert "per-image values" in " ".join(words)  # the caption's end, wrapped, not cut
    # every score stays beside its method's name: each method's row (or block) holds its PSNR
    assert INPUT_METHOD in text and "median filter" in text


# ------------------------------------------------------------------ 2. models list / info


def test_models_list_names_are_never_cut_at_40_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import app
    from weatherclean.cli.common import console
    from weatherclean.models.registry import list_models

    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(console, "_width", 40)
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout and all(len(line) <= 40 for line in result.stdout.splitlines())
    for spec in list_models():
        assert spec.name in result.stdout.split() or f"{spec.name} (default)" in result.stdout


def test_models_list_json() -> None:
    from weatherclean.cli import app
    from weatherclean.models.registry import DEFAULT_MODELS, list_models

    result = CliRunner().invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["models"]
    assert [m["name"] for m in models] == [s.name for s in list_models()]
    first = models[0]
    assert set(first) == {"name", "task", "default", "weights", "bundled", "repo_id", "description"}
    assert {m["name"] for m in models if m["default"]} == set(DEFAULT_MODELS.values())


def test_models_info_folder_is_whole_at_80_and_unboxed_at_40(monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.cli import app
    from weatherclean.cli.common import console
    from weatherclean.models.registry import bundled_weights_dir

    monkeypatch.delenv("TERM", raising=False)
    folder = str(bundled_weights_dir("desnownet-light"))
    monkeypatch.setattr(console, "_width", 80)
    result = CliRunner().invoke(app, ["models", "info", "desnownet-light"])
    cells = "".join(result.stdout.replace("│", " ").split())  # a long folder wraps in its cell: whole, never cut
    assert result.exit_code == 0 and "".join(folder.split()) in cells, result.output
    monkeypatch.setattr(console, "_width", 40)
    result = CliRunner().invoke(app, ["models", "info", "desnownet-light"])
    assert result.exit_code == 0 and "…" not in result.stdout
    assert folder.replace("/", "") in "".join(result.stdout.split()).replace("/", "")
    assert '"model_type":' in result.stdout  # the JSON config's keys stay whole


# ------------------------------------------------------------------ 3, 4. progress and the protected stream


def test_progress_is_drawn_only_on_a_real_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """FORCE_COLOR=1 or TTY_COMPATIBLE=1 in CI made Rich draw the bar into the log."""
    from weatherclean.cli.common import draws_progress

    for name in ("TTY_INTERACTIVE", "TERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    logged = Console(file=io.StringIO())
    assert logged.is_interactive  # what the commands asked before
    assert not draws_progress(logged)


def test_evaluate_scores_are_printed_when_stderr_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FORCE_COLOR=1 weatherclean evaluate ... 2>/dev/full`` crashed with ENOSPC (exit code 1, no scores): the
    bar had a console of its own."""
    import sys

    from weatherclean.cli import evaluate
    from weatherclean.cli.common import err_console

    _snow_set(tmp_path / "data", ["a", "b"])

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

        def isatty(self) -> bool:
            return True  # a terminal that fills: the bar is drawn, and must not end the run

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("TERM", raising=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", Full())
    monkeypatch.setattr(err_console, "_force_terminal", True)
    import typer

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    evaluate.register(app)
    code = 0
    try:
        app(["evaluate", "--dataset", str(tmp_path / "data"), "--outputs", str(tmp_path / "data" / "gt_copy")])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0 and "outputs (gt_copy)" in out.getvalue()


def _snow_set(root: Path, stems: list[str]) -> None:
    rng = np.random.default_rng(0)
    for stem in stems:
        gt = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        snowy = np.clip(gt.astype(int) + 40, 0, 255).astype(np.uint8)
        for folder, picture in (("gt", gt), ("synthetic", snowy), ("gt_copy", gt)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(picture).save(root / folder / f"{stem}.png")


# ------------------------------------------------------------------ 5. TERM=dumb and option errors


def test_dumb_terminal_gets_plain_tables_one_row_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    text = _printed(render_summary(_result()), 60)
    assert not BOX & set(text), text
    rows = [line for line in text.splitlines() if line.startswith(("input", "median", "DesnowNet"))]
    assert len(rows) == 3 and all(len(line.split()) >= 8 for line in rows), text  # name and six scores
    assert "DesnowNet (desnownet-light)" in rows[2] and "23.47" in rows[2]


@pytest.mark.parametrize("term", ["dumb", "xterm-256color"])
def test_option_errors_are_one_error_line(term: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer boxed them (╭─ Error ─╮) without the ``error:`` that run errors start with."""
    from weatherclean.cli import app

    monkeypatch.setenv("TERM", term)
    result = CliRunner().invoke(app, ["desnow", "x.jpg", "--no-such-option"])
    assert result.exit_code == 2
    assert not BOX & set(result.stderr), result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: No such option: --no-such-option; see 'weatherclean desnow --help'"], result.stderr


# ------------------------------------------------------------------ 6. non-ASCII names on contact sheets


@pytest.mark.parametrize("name", ["Zürich.jpg", "café.png", "東京.jpg"])
def test_contact_sheet_labels_use_no_missing_glyph_box(name: str) -> None:
    """Pillow's default font has no ü, é or CJK and drew each as a box; a wide font is used where the system has
    one, and what it lacks is written as an escape (\\u00fc), so rows stay told apart on any machine."""
    from weatherclean.io import compare

    font = compare._font(14)
    shown = compare._fit(ImageDraw.Draw(Image.new("RGB", (1, 1))), name, font, 2000)
    assert all(compare._has_glyph(font, char) for char in shown), shown
    if not all(compare._has_glyph(font, char) for char in name):
        assert "\\u" in shown
    if "DejaVuSans" in str(getattr(font, "path", "")):  # the check itself, where DejaVu is there to check it on
        assert compare._has_glyph(font, "ü") and not compare._has_glyph(font, "東")


def test_without_a_system_font_names_are_escaped_not_boxed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's own font draws no ü: the name keeps it as an escape, so "Zürich" and "Zarich" stay two names."""
    from weatherclean.io import compare

    monkeypatch.setattr(compare, "_FONT_FILES", ())
    compare._font.cache_clear()
    try:
        font = compare._font(14)
        shown = compare._fit(ImageDraw.Draw(Image.new("RGB", (1, 1))), "Zürich.jpg", font, 2000)
    finally:
        compare._font.cache_clear()
    assert shown == "Z\\u00fcrich.jpg", shown


# ------------------------------------------------------------------ 7. an interrupted evaluate


def test_an_interrupted_evaluate_says_nothing_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthetic import invoke_command
    from weatherclean.cli import evaluate
    from weatherclean.evaluation import evaluate as library

    _snow_set(tmp_path / "data", ["a"])

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(library, "evaluate_snow", interrupted)
    code, stdout, stderr = invoke_command(
        evaluate, "evaluate", "--dataset", str(tmp_path / "data"), "--outputs", str(tmp_path / "data" / "gt_copy"),
        "--json",
    )  # fmt: skip
    assert code == 130 and "resume" not in stderr and "nothing was written" in stderr
    assert "nothing was written" in json.loads(stdout)["error"]


# ------------------------------------------------------------------ 8. an ASCII-only output


def test_ascii_output_keeps_table_columns_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table

    monkeypatch.delenv("TERM", raising=False)
    table = Table("input", "output")
    table.add_row("Zürich.jpg", "out/a.jpg")
    table.add_row("plain.jpg", "out/b.jpg")
    text = _printed(table, 80, encoding="ascii")
    rows = [line for line in text.splitlines() if "out/" in line]
    assert "Z\\xfcrich.jpg" in rows[0] and rows[0].index("out/a") == rows[1].index("out/b"), text


def test_a_dumb_terminal_gets_plain_help_pages() -> None:
    """Reviewer: under ``TERM=dumb`` the tables were plain but the help pages kept their panels' box borders, which
    a screen reader reads out; and the Rich escape in ``owner/name\\[@revision]`` must read as a bracket."""
    import subprocess
    import sys

    env = {**os.environ, "TERM": "dumb", "COLUMNS": "100"}
    env.pop("TTY_INTERACTIVE", None)
    page = subprocess.run(
        [sys.executable, "-m", "weatherclean", "desnow", "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert not set(page) & set("│╭╰─━┃"), page
    assert "owner/name[@revision]" in " ".join(page.split()) and "\\[" not in page
