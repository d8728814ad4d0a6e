"""The summary (and the --dry-run table) folds many skips of one kind into one line (``--verbose`` lists each): a
rerun's "output exists", a RAW+JPEG card's "raw (CR2) images are not supported", a Takeout folder's .json files; the
skips a user may act on and the failures are never folded. Every help page stays readable at 80 columns (nothing cut
with "…", descriptions not squeezed to a sliver), and at 60 no option's name is cut."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from synthetic import StandIn, invoke_command
from weatherclean.batch import BatchSummary, print_plan, print_summary
from weatherclean.batch.inputs import (
    EMPTY_FOLDER,
    ONLY_OURS,
    ONLY_SIDECARS,
    PARTIAL_INPUT,
    camera_file_reason,
    nameless_video_reason,
)
from weatherclean.batch.jobs import OutputState, Plan, Record, exists_reason
from weatherclean.batch.report import FOLD_OVER, FOLD_SHOWN, NEVER_FOLDED
from weatherclean.batch.run import appeared_reason
from weatherclean.cli import app, desnow
from weatherclean.cli.batch import PhotoCommand, check_engine, refuse_quiet_with_verbose
from weatherclean.errors import InputError

# ---------------------------------------------------------------------------------------------------------------
# Finding 1: a rerun over a 300-photo burst printed 300 "output exists" rows.


# The reasons are built by the functions the run uses, so that a rewording cannot silently stop them folding.
def _exists(i: int) -> Record:
    return Record(Path(f"in/p{i:03d}.jpg"), exists_reason(Path(f"out/p{i:03d}.jpg"), OutputState.DONE))


def _older(i: int) -> Record:
    return Record(Path(f"in/e{i}.jpg"), exists_reason(Path(f"out/e{i}.jpg"), OutputState.OUT_OF_DATE))


def _future(i: int) -> Record:
    return Record(Path(f"in/f{i:03d}.jpg"), exists_reason(Path(f"out/f{i:03d}.jpg"), OutputState.UNKNOWN))


def _summary(exists: int, older: int = 2, future: int = 0) -> BatchSummary:
    skipped = [_exists(i) for i in range(exists)] + [_older(i) for i in range(older)]
    skipped += [_future(i) for i in range(future)]
    return BatchSummary(
        skipped=skipped,
        failed=[Record(Path("in/bad.jpg"), "in/bad.jpg: not an image")],
        notes=[Record(Path("in/n.tif"), "in/n.tif: only the first page of 3")],
        seconds=1.0,
    )


def _printed(summary: BatchSummary, **options: bool) -> tuple[str, str]:
    """The summary as printed: (stdout, stderr), 200 columns so no row wraps."""
    out, err = io.StringIO(), io.StringIO()
    print_summary(
        summary,
        json_out=False,
        quiet=options.pop("quiet", False),
        console=Console(file=out, width=200),
        err_console=Console(file=err, width=200),
        **options,
    )
    return out.getvalue(), err.getvalue()


def test_many_skips_of_outputs_that_exist_fold_into_one_row() -> None:
    out, err = _printed(_summary(300))
    assert out.count("output exists: out/p") == FOLD_SHOWN
    assert re.search(r"… and 297 more\s+│\s+output exists \(use --overwrite to redo\); --verbose lists each", out)
    assert "p299.jpg" not in out and "p000.jpg" in out
    assert out.count("older than its input") == 2  # the skips a user may act on stay listed, each
    assert "only the first page of 3" in out  # notes too
    assert "error: in/bad.jpg: not an image" in err  # failures never folded
    assert "1 done" not in out and "0 done, 302 skipped, 1 failed" in out  # the totals count every file


def test_verbose_lists_every_skip() -> None:
    out, _ = _printed(_summary(300), verbose=True)
    assert "more" not in out and all(f"p{i:03d}.jpg" in out for i in range(300))


def test_a_handful_of_skips_is_listed_as_it_was() -> None:
    out, _ = _printed(_summary(FOLD_OVER))
    assert "more" not in out and all(f"p{i:03d}.jpg" in out for i in range(FOLD_OVER))
    out, _ = _printed(_summary(FOLD_OVER + 1))
    assert f"… and {FOLD_OVER + 1 - FOLD_SHOWN} more" in out


def test_out_of_date_skips_are_never_folded_and_future_dated_ones_fold_apart() -> None:
    out, _ = _printed(_summary(0, older=40, future=20))
    assert out.count("older than its input") == 40
    assert f"… and {20 - FOLD_SHOWN} more" in out and "dated in the future" in out
    assert out.count("… and") == 1


def test_json_and_quiet_are_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    summary = _summary(300)
    print_summary(
        summary,
        json_out=True,
        quiet=False,
        console=Console(file=io.StringIO()),
        err_console=Console(file=io.StringIO()),
    )
    data = json.loads(capsys.readouterr().out)
    assert len(data["skipped"]) == 302 and data["counts"]["skipped"] == 302
    out, err = _printed(summary, quiet=True)
    assert "output exists:" not in out + err and err.count("older than its input") == 2


def test_the_dry_run_table_folds_alike() -> None:
    plan = Plan(skipped=[_exists(i) for i in range(50)] + [_older(0)])
    out = io.StringIO()
    print_plan(plan, verb="desnow", json_out=False, console=Console(file=out, width=200))
    assert "… and 47 more" in out.getvalue() and "older than its input" in out.getvalue()
    out = io.StringIO()
    print_plan(plan, verb="desnow", json_out=False, console=Console(file=out, width=200), verbose=True)
    assert "more" not in out.getvalue() and "p049.jpg" in out.getvalue()


class _Inverter(torch.nn.Module):
    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


def test_a_rerun_of_the_command_folds_and_verbose_lists(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(np.full((8, 8, 3), 20 * i, np.uint8)).save(folder / f"p{i:02d}.png")
    args = ("desnow", str(folder), "-o", str(tmp_path / "out"), "--device", "cpu")
    assert invoke_command(desnow, *args, models=StandIn(_Inverter))[0] == 0
    code, stdout, _ = invoke_command(desnow, *args, models=StandIn(_Inverter))
    assert code == 0 and "… and 9 more" in stdout and "12 skipped" in stdout, stdout
    code, stdout, _ = invoke_command(desnow, *args, "--verbose", models=StandIn(_Inverter))
    assert code == 0 and "more" not in stdout and stdout.count("output exists") == 12, stdout
    code, stdout, _ = invoke_command(desnow, *args, "--dry-run", models=StandIn(_Inverter))
    assert code == 0 and "… and 9 more" in stdout, stdout
    code, stdout, stderr = invoke_command(desnow, *args, "-q", "-v", models=StandIn(_Inverter))
    assert code == 2 and "--quiet and --verbose" in stderr and not stdout, stderr


def _card(root: Path, photos: int = 12) -> list[str]:
    """A camera card shot RAW+JPEG (a .CR2 and a .NEF beside each photo) with a Takeout .json beside each, and, given
    by name, what is never folded: empty folders, partial results, links to one photo, empty photos (failures)."""
    card = root / "card"
    card.mkdir()
    for i in range(photos):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(card / f"IMG_{i:02d}.png")
        for ending in (".CR2", ".NEF", ".png.json"):
            (card / f"IMG_{i:02d}{ending}").write_bytes(b"{}")
        (card / f"link{i:02d}.png").symlink_to("IMG_00.png")  # each "a link to card/IMG_00.png": the same words
        (root / f"empty{i:02d}").mkdir()
        (root / f"clip{i:02d}.partial.mp4").write_bytes(b"x")
        (root / f"bad{i:02d}.png").write_bytes(b"")
    given = [f"{name}{i:02d}{end}" for name, end in (("empty", ""), ("clip", ".partial.mp4"), ("bad", ".png"))
             for i in range(photos)]  # fmt: skip
    return [str(card), *(str(root / name) for name in given)]


def test_every_kind_of_skip_folds_by_its_reason_and_the_never_folded_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: a RAW+JPEG card printed one "raw (CR2) ... not supported" row per photo on every run; now each
    kind of raw folds apart (CR2, NEF), the .json files and the links fold, and empty folders, partial results and
    failures are listed each (they would fold, having the same words each, were they not :data:`NEVER_FOLDED`)."""
    monkeypatch.chdir(tmp_path)
    inputs = _card(Path("."))
    code, stdout, stderr = invoke_command(desnow, "desnow", *inputs, "-o", "out", "--dry-run")
    assert code == 1, stdout + stderr  # the empty photos fail
    for reason in ("raw (CR2) images are not supported", "raw (NEF) images are not supported", "(by name)"):
        rows = [line for line in stdout.splitlines() if reason in line]
        assert len(rows) == FOLD_SHOWN + 1, (reason, stdout)
        assert "… and 9 more" in rows[-1], rows
    assert stdout.count("… and") == 4 and stdout.count("; --verbose lists") == 4, stdout
    assert stdout.count("skip: a link to card/IMG_00.png") == FOLD_SHOWN and "skip: a link to …" in stdout, stdout
    assert stdout.count("empty folder") == 12 and stdout.count("a partial result") == 12, stdout
    assert stdout.count("error: empty file") == 12 and stderr.count("error:") == 12
    code, stdout, _ = invoke_command(desnow, "desnow", *inputs, "-o", "out", "--dry-run", "--verbose")
    assert "… and" not in stdout and stdout.count("raw (CR2)") == 12, stdout


def test_the_folded_row_gives_the_reason_without_the_paths() -> None:
    """Skips naming each its own output or its own file group together, the folded row saying what they share."""
    appeared = [Record(Path(f"in/a{i:02d}.jpg"), appeared_reason(Path(f"out/a{i:02d}.jpg"))) for i in range(11)]
    nameless = [Record(Path(f"in/v{i:02d}"), nameless_video_reason(f"v{i:02d}")) for i in range(11)]
    out, _ = _printed(BatchSummary(skipped=[*appeared, *nameless, *(_future(i) for i in range(11))], seconds=1.0))
    folded = [line for line in out.splitlines() if "… and 8 more" in line]
    assert len(folded) == 3, out
    assert "output appeared meanwhile (another run?); kept, not replaced" in folded[0], folded
    assert "rename it (e.g. ….mp4) to process it" in folded[1], folded
    assert "output exists (use --overwrite to redo; it or its input is dated in the future" in folded[2], folded
    assert not any("out/" in line for line in folded)


def test_skips_of_outputs_older_than_their_inputs_are_never_folded() -> None:
    assert exists_reason(Path("out/a.jpg"), OutputState.OUT_OF_DATE).startswith(NEVER_FOLDED)
    out, _ = _printed(_summary(0, older=FOLD_OVER * 3))
    assert out.count("older than its input") == FOLD_OVER * 3 and "… and" not in out


def test_quiet_with_verbose_is_refused_by_its_own_check() -> None:
    """Finding 4: the refusal is no part of check_engine, which checks the engine options."""
    cmd = PhotoCommand(paths=["a.jpg"], quiet=True, verbose=True)
    check_engine(cmd)
    with pytest.raises(InputError, match="--quiet and --verbose"):
        refuse_quiet_with_verbose(cmd)
    refuse_quiet_with_verbose(PhotoCommand(paths=["a.jpg"], verbose=True))


# ---------------------------------------------------------------------------------------------------------------
# Second review: skips naming their own clip, file or target fold by their builders' templates; nothing else is
# rewritten; folded rows are printable; what is never folded is the modules' own wording.


def _dry_run_rows(*args: str) -> tuple[str, list[str]]:
    """A desnow --dry-run's stdout, and its table rows with each row's wrapped lines joined (a row ends where the
    next one starts: a line whose input column is not blank)."""
    code, stdout, stderr = invoke_command(desnow, "desnow", *args, "--dry-run")
    assert code in (0, 1), stdout + stderr
    rows: list[str] = []
    for line in stdout.splitlines():
        cells = line.split("│")
        if len(cells) < 4:
            continue
        if cells[1].strip() or not rows:
            rows.append("")
        rows[-1] = " ".join(" ".join((rows[-1], *cells[1:3])).split())
    return stdout, rows


def test_drone_and_gopro_proxies_beside_their_clips_fold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 200-clip card printed a row per proxy on every run: each reason named its own clip. The clips lie beside
    the proxies, so each reason names one (``... (LRF) of DJI_0001.MP4; not processed``)."""
    monkeypatch.chdir(tmp_path)
    card = Path("card")
    card.mkdir()
    for i in range(12):
        for name in (f"DJI_{i:04d}.MP4", f"GX01{i:04d}.MP4"):
            (card / name).write_bytes(b"x")
        (card / f"DJI_{i:04d}.LRF").write_bytes(b"x")
        (card / f"GL01{i:04d}.LRV").write_bytes(b"x")
        (card / f"GX01{i:04d}.THM").write_bytes(b"x")
    assert (
        camera_file_reason(".lrf", "DJI_0000.MP4") == "a DJI low-resolution proxy (LRF) of DJI_0000.MP4; not processed"
    )
    stdout, rows = _dry_run_rows(str(card), "-o", "out")
    for kind in ("DJI low-resolution proxy (LRF)", "GoPro low-resolution proxy (LRV)", "camera's thumbnail (THM)"):
        named = [row for row in rows if kind in row]
        assert len(named) == FOLD_SHOWN + 1, (kind, stdout)
        assert " of DJI_0000.MP4" in named[0] or " of GX010000.MP4" in named[0], named
        assert "… and 9 more" in named[-1] and f"{kind} of …; not processed; --verbose lists each" in named[-1], named


def test_a_reason_is_never_rewritten_where_it_holds_the_row_s_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The row's own name was replaced anywhere in every reason: files named ``file`` folded as "not an image or
    video … (by name)", a nameless video named ``a`` as "… video without … file ending"; and it compiled up to three
    regexes per skip (8.9 s for 100 000). Only the builders' reasons hold a name, and they fold by template."""
    files = [Record(Path(f"in/d{i:02d}/file"), "not an image or video file (by name)") for i in range(11)]
    videos = [Record(Path(f"in/d{i:02d}/a"), nameless_video_reason("a")) for i in range(11)]
    its = [Record(Path(f"in/d{i:02d}/it"), nameless_video_reason("it")) for i in range(11)]
    from weatherclean.batch.report import _folded

    regexes: list[object] = []
    with monkeypatch.context() as patch:
        patch.setattr(re, "sub", lambda pattern, *args, **kwargs: regexes.append(pattern))
        _folded([*files, *videos, *its] * 10, verbose=False)
    assert not regexes, "a regex per skip"
    out, _ = _printed(BatchSummary(skipped=[*files, *videos, *its], seconds=1.0))
    folded = [line for line in out.splitlines() if "… and" in line]
    assert len(folded) == 2, out  # the videos named "a" and "it" share one row
    assert re.search(r"… and 8 more +│ not an image or video file \(by name\); --verbose lists each", folded[0])
    assert "… and 19 more │ a video without a file ending; rename it (e.g. ….mp4) to process it" in folded[1], folded


def test_a_folded_row_escapes_control_characters_as_the_other_rows_do() -> None:
    """The folded row printed its reason without printable(): an escape sequence shared by the folded skips reached
    the terminal as it was."""
    skipped = [Record(Path(f"in/p{i:02d}.png"), "unreadable: \x1b[2J\u202egone") for i in range(12)]
    out, _ = _printed(BatchSummary(skipped=skipped, seconds=1.0))
    assert "\x1b" not in out and "\u202e" not in out, repr(out)
    assert "… and 9 more │ unreadable: \\x1b[2J\\xe2\\x80\\xaegone; --verbose lists each" in out, out
    table = io.StringIO()
    print_plan(Plan(skipped=skipped), verb="desnow", json_out=False, console=Console(file=table, width=200))
    assert (
        "\x1b" not in table.getvalue()
        and "skip: unreadable: \\x1b[2J\\xe2\\x80\\xaegone; --verbose" in table.getvalue()
    )


def test_what_is_never_folded_is_the_inputs_own_wording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders holding only sidecars or only earlier results ("nothing to do: ..."), empty folders and partial
    results given by name are each listed, by the words inputs.py writes (its constants, which NEVER_FOLDED holds)."""
    monkeypatch.chdir(tmp_path)
    given = []
    for i in range(12):
        for kind in ("xmp", "ours", "empty"):
            Path(f"{kind}{i:02d}").mkdir()
            given.append(f"{kind}{i:02d}")
        Path(f"xmp{i:02d}/IMG_0001.xmp").write_bytes(b"<x/>")
        Path(f"ours{i:02d}/a.jpg.compare.jpg").write_bytes(b"x")
        Path(f"clip{i:02d}.partial.mp4").write_bytes(b"x")
        given.append(f"clip{i:02d}.partial.mp4")
    for reason in (ONLY_SIDECARS, ONLY_OURS, EMPTY_FOLDER, PARTIAL_INPUT):
        assert reason.startswith(NEVER_FOLDED)
    stdout, rows = _dry_run_rows(*given, "-o", "out")
    assert "… and" not in stdout, stdout
    for reason in (ONLY_SIDECARS, ONLY_OURS, EMPTY_FOLDER, PARTIAL_INPUT):
        assert sum(reason in row for row in rows) == 12, (reason, rows)


def test_links_to_files_done_under_their_own_names_fold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A "selects" folder of links into the card printed a row per link on every run, each naming its target; the
    target is done under its own name, nothing is asked of the user, so they fold like any other skip. The reason is
    plan.py's own, as a real plan writes it."""
    monkeypatch.chdir(tmp_path)
    Path("card").mkdir()
    Path("selects").mkdir()
    for i in range(12):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(f"card/IMG_{i:02d}.png")
        Path(f"selects/IMG_{i:02d}.png").symlink_to(Path(f"../card/IMG_{i:02d}.png"))
    stdout, rows = _dry_run_rows("card", "selects", "-o", "out")
    links = [row for row in rows if "a link to " in row]
    assert len(links) == FOLD_SHOWN + 1, stdout
    assert "card/IMG_00.png, which is handled under its own name" in links[0], links
    assert "… and 9 more" in links[-1], links
    assert "a link to …, which is handled under its own name; --verbose lists each" in links[-1], links


def test_the_ray_panels_say_when_they_apply_and_verbose_gives_the_real_numbers() -> None:
    """--engine (default local) sat under "Ray cluster (--engine ray)"; the Ray workers' options apply only with
    --engine ray. --verbose's help copies FOLD_OVER and FOLD_SHOWN (importing the report would load NumPy for
    --help): they must agree."""
    text = CliRunner().invoke(app, ["derain", "--help"], env={"COLUMNS": "400"}).output
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert "Ray cluster" in panels and "Ray workers (with --engine ray)" in panels, panels
    cluster = text.split("╭─ Ray cluster ─")[1].split("╰")[0].splitlines()
    assert cluster[1].startswith("│ --engine "), cluster
    assert f"more than {FOLD_OVER} skips for one reason" in text and f"show as {FOLD_SHOWN} and a count" in text


# ---------------------------------------------------------------------------------------------------------------
# Finding 2: at 80 columns derain's help left 18 characters of description and cut texts with "…".

PAGES = [
    [], ["desnow"], ["derain"], ["synth"], ["synth", "snow"], ["synth", "rain"], ["train"], ["evaluate"],
    ["compare"], ["models"], ["models", "list"], ["models", "download"], ["models", "info"], ["models", "push"],
]  # fmt: skip
#: The narrowest description column each width may have (it was 18 at 80 columns).
NARROWEST = {80: 28, 120: 60}


def _description_widths(text: str) -> dict[str, int]:
    """The narrowest description column of each panel: from where an option's description starts (after the
    last gap of two spaces or more on its first line) to the panel's right border."""
    widths: dict[str, int] = {}
    panel = ""
    for line in text.splitlines():
        if line.startswith("╭─"):
            panel = line.strip("╭─╮ ").split(" ─")[0]
        elif re.match(r"│ +(\* +)?-", line):
            body = line[: line.rindex("│")].rstrip()
            start = [m.end() for m in re.finditer(r"\S  +(?=\S)", body)][-1]
            widths[panel] = min(widths.get(panel, 999), line.rindex("│") - 1 - start)
    return widths


@pytest.mark.parametrize("columns", sorted(NARROWEST))
@pytest.mark.parametrize("command", PAGES, ids=lambda c: " ".join(c) or "weatherclean")
def test_help_is_readable_at_80_and_120_columns(command: list[str], columns: int) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= columns
    for panel, width in _description_widths(result.output).items():
        assert width >= NARROWEST[columns], f"{panel}: {width} columns of description\n{result.output}"


def test_every_option_is_still_on_the_pages() -> None:
    """Grouping into panels hides nothing: each option of derain and train has its row, --no-x names included."""
    for command, names in {
        "derain": ["--self-ensemble", "--no-self-ensemble", "--ray-cpus-per-actor", "--engine", "--verbose", "-v"],
        "train": ["--haze", "--no-haze", "--amp", "--no-amp", "--resume", "--no-resume", "--dry-pick"],
    }.items():
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"}).output
        for name in names:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (command, name)


def _option_rows(text: str) -> list[list[str]]:
    """The names on each option's first row: the cells before its description (a row starts at the panel's left
    border with ``-``; the cells are parted by two spaces or more)."""
    rows = []
    for line in text.splitlines():
        if re.match(r"│ (\* +)?-", line):
            cells = re.split(r"\s{2,}", line.strip("│ *"))
            rows.append([cell for cell in cells[:4] if cell.startswith("-")])
    return rows


#: The one name cut at 60 columns: Typer lays an option out in six columns (name, short name, second name, its
#: short name, value, description), two of padding each even where empty, and ``--self-ensemble`` beside
#: ``--no-self-ensemble`` with a description as wide fit from 66 columns on; alone in its panel, so nothing else is.
SELF_ENSEMBLE_FITS = 66


@pytest.mark.parametrize("command", PAGES, ids=lambda c: " ".join(c) or "weatherclean")
def test_no_option_name_is_cut_at_60_columns(command: list[str]) -> None:
    """Finding 2: at 60 columns "--ray-cpus-per-ac…" and train's "--checkpoint-…" were cut (descriptions may
    wrap, and a word too long for their column may be cut: a name must stay whole, it is what the user types)."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    rows = _option_rows(result.output)
    assert rows, result.output
    cut = [name for row in rows if row[0] != "--self-ensemble" for name in row if name.endswith("…")]
    assert not cut, result.output
    assert all(row[1].startswith("--no-self-ens") for row in rows if row[0] == "--self-ensemble"), result.output
    wide = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(SELF_ENSEMBLE_FITS)}).output
    assert not [name for row in _option_rows(wide) for name in row if name.endswith("…")], wide


def test_options_are_grouped_by_what_a_user_looks_for() -> None:
    """Finding 3: desnow and derain keep the model and what it runs on in one panel (not --model, --precision,
    --tile, --compile under "Options" and two settings apart), and train its hardware (--threads with --device)
    and its logs (-q with --log-every) together."""

    def panels(command: str) -> dict[str, set[str]]:
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "100"}).output
        found: dict[str, set[str]] = {}
        panel = ""
        for line in text.splitlines():
            if line.startswith("╭─"):
                panel = line.strip("╭─╮ ").split(" ─")[0]
            elif re.match(r"│ (\* +)?-", line):
                found.setdefault(panel, set()).update(re.split(r"\s{2,}", line.strip("│ *"))[:1])
        return found

    model = {
        "--model",
        "--device",
        "--precision",
        "--tile",
        "--tile-overlap",
        "--threads",
        "--compile",
        "--pass-through",
    }
    for command in ("desnow", "derain"):
        found = panels(command)
        assert model <= found["Model and device"], found
        assert {"--crf", "--codec", "--preset"} <= found["Videos"], found
        assert not model & found["Options"], found
    assert {"--model", "--device", "--precision", "--threads"} <= panels("evaluate")["Model and device"]
    train = panels("train")
    assert {"--device", "--amp", "--workers", "--threads"} <= train["Hardware"], train
    assert {"--checkpoint-every", "--log-every", "--quiet"} <= train["Checkpoints and logs"], train
