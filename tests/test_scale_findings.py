"""Findings of a photo archivist with a 20,000-file tree, and of a reliability tester: a quoted ``**`` pattern that
went round a link to a parent folder, a ``--dry-run`` table of 20,000 rows whose totals came first, a totals line
that left planning out of its time, a ``--format`` clash that named two of three inputs, and ``--in-place``
resume advice that redid the photos already replaced. Tiny photos made here, stand-in models, all in-process."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from rich.console import Console

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.batch import BatchSummary, OutputFormat, plan_batch
from weatherclean.batch.collisions import CLASH_NAMED, case_folded, clash_message, collision_reason, one_path_per_file
from weatherclean.batch.jobs import Job, Record
from weatherclean.batch.report import JOBS_FOLD_OVER, JOBS_SHOWN, print_summary
from weatherclean.cli import batch as batch_cli
from weatherclean.cli import desnow


def _photo(path: Path, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), "gray").save(path)
    return path


def _dry_run(*args: str) -> tuple[int, str, str]:
    return invoke_command(desnow, "desnow", *args, "--dry-run", models=StandIn(Inverter))


# 1. A quoted ** pattern follows no link to a folder above it, and a file reached twice is done under its own name.


def test_a_recursive_pattern_is_walked_like_the_folder_not_round_a_link_to_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``'small/**/*.jpg'`` with ``small/a/up -> ..`` planned ``small/a/up/a/up/.../x.jpg`` (40 levels) and wrote it
    as ``gs/a/up/a/up/.../x.jpg``; a link loop named like a photo failed once per level."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("small/a/x.jpg"))
    os.symlink("..", "small/a/up")
    os.symlink("loopx.jpg", "small/loopx.jpg")  # a link to itself: fails, once
    code, stdout, _ = _dry_run("small/**/*.jpg", "-o", "gs", "--json")
    plan = json.loads(stdout)
    assert code == 1
    assert plan["jobs"] == [{"input": "small/a/x.jpg", "output": "gs/a/x.jpg"}]
    assert [f["path"] for f in plan["failed"]] == ["small/loopx.jpg"]
    _, walked, _ = _dry_run("small", "-o", "gs", "--json")  # the folder form plans the same
    assert json.loads(walked)["jobs"] == plan["jobs"]


def test_a_recursive_pattern_still_follows_a_link_to_a_tree_outside_and_matches_as_glob_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the walk keeps of ``glob``: a year kept on another disk and linked in is matched; ``**`` matches no
    folder at all too (``lib/top.jpg``); hidden folders and output folders are passed over; ``lib/**`` is lib."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("other/2019/y.jpg"))
    _photo(Path("lib/top.jpg"))
    _photo(Path("lib/d/e/deep.jpg"))
    _photo(Path("lib/.cache/hidden.jpg"))
    _photo(Path("lib/lib_desnowed/old.jpg"))
    os.symlink(tmp_path / "other", "lib/linked")
    plan = plan_batch(["lib/**/*.jpg"], "out", tag="desnowed")
    assert sorted(str(j.source) for j in plan.jobs) == ["lib/d/e/deep.jpg", "lib/linked/2019/y.jpg", "lib/top.jpg"]
    whole = plan_batch(["lib/**"], "out2", tag="desnowed")
    assert sorted(str(j.source) for j in whole.jobs) == sorted(str(j.source) for j in plan.jobs)


def test_a_file_reached_through_a_linked_folder_and_by_its_own_path_is_done_under_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``one_path_per_file`` kept the first path in sorted order unless it was a link itself: ``0sel/x.jpg`` (a
    folder linked to ``a``) sorts before ``a/x.jpg`` and took its place."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("t/a/x.jpg"))
    os.symlink("a", "t/0sel")
    plan = plan_batch(["t/*/*.jpg"], "out", tag="desnowed")  # glob without **: both paths match
    assert [(str(j.source), str(j.output.relative_to(tmp_path / "out"))) for j in plan.jobs] == [
        ("t/a/x.jpg", "a/x.jpg")
    ]
    a, sel = Path("t/a/x.jpg"), Path("t/0sel/x.jpg")
    real = {a: tmp_path / "t/a/x.jpg", sel: tmp_path / "t/a/x.jpg"}
    assert one_path_per_file([sel, a], real) == {real[a]: sel}  # across inputs: the first reached, as ever


# 2. A big --dry-run folds its jobs and ends with its totals.


def test_a_big_dry_run_folds_its_jobs_and_ends_with_the_totals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20,008 job rows (40,040 lines), the only total in the title on line 1, the output ending with the border."""
    monkeypatch.chdir(tmp_path)  # short paths: no row wraps
    many = JOBS_FOLD_OVER + 10
    for i in range(many):
        _photo(Path("in", f"p{i:03d}.jpg"))
    Path("in/notes.txt").write_text("a skip, counted in the totals")
    code, stdout, _ = _dry_run("in", "-o", "out")
    lines = stdout.strip().splitlines()
    assert code == 0 and lines[-1] == f"dry run: {many} file(s) would be desnowed, 1 skipped, 0 failing"
    assert f"… and {many - JOBS_SHOWN} more" in stdout and "--json or --verbose lists each" in stdout
    assert f"p{JOBS_SHOWN - 1:03d}.jpg" in stdout and f"p{JOBS_SHOWN:03d}.jpg" not in stdout
    _, listed, _ = _dry_run("in", "-o", "out", "--verbose")
    assert "more" not in listed and all(f"p{i:03d}.jpg" in listed for i in range(many))
    _, as_json, _ = _dry_run("in", "-o", "out", "--json")
    assert len(json.loads(as_json)["jobs"]) == many


def test_verbose_help_gives_the_job_fold_numbers() -> None:
    """--verbose's help copies the report's numbers (importing the report would load NumPy for --help)."""
    assert (batch_cli._JOBS_FOLD_OVER, batch_cli._JOBS_SHOWN) == (JOBS_FOLD_OVER, JOBS_SHOWN)
    code, stdout, _ = invoke_command(desnow, "desnow", "--help")
    text = " ".join(stdout.replace("│", " ").split())
    assert code == 0 and f"more than {JOBS_FOLD_OVER} jobs of a dry run as {JOBS_SHOWN} and a count" in text


def test_a_small_dry_run_lists_every_job_and_ends_with_the_totals(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.jpg")
    code, stdout, _ = _dry_run(str(tmp_path / "in"))
    assert code == 0 and "more" not in stdout
    assert stdout.strip().splitlines()[-1] == "dry run: 1 file(s) would be desnowed, 0 skipped, 0 failing"


# 3. The time the totals give covers planning.


class _Ticks:
    """A ``time`` whose ``perf_counter`` moves 2 s at each call: planning takes 2 s, the command 4 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 2.0
        return self.now


def test_the_totals_time_covers_planning_and_json_has_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun over 2,000 finished photos said "in 0.0 s" for a 4.65 s command; ``--json`` 0.218 for 7.7 s."""
    _photo(tmp_path / "in" / "a.jpg")
    args = (str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu")
    monkeypatch.setattr(batch_cli, "time", SimpleNamespace(perf_counter=_Ticks().perf_counter))
    code, stdout, _ = invoke_command(desnow, "desnow", *args, models=StandIn(Inverter))
    assert code == 0 and "1 done, 0 skipped, 0 failed in 4.0 s (planning 2.0 s)" in " ".join(stdout.split())
    monkeypatch.setattr(batch_cli, "time", SimpleNamespace(perf_counter=_Ticks().perf_counter))
    code, stdout, _ = invoke_command(desnow, "desnow", *args, "--json", models=StandIn(Inverter))
    data = json.loads(stdout)
    assert code == 0 and data["planning_seconds"] == 2.0 and data["total_seconds"] == 4.0
    assert list(data)[list(data).index("seconds") + 1 :][:2] == ["planning_seconds", "total_seconds"]


def test_a_short_planning_is_counted_but_not_named_and_a_program_gets_the_batch_time() -> None:
    out = _printed(BatchSummary(seconds=0.3), planning_seconds=0.2, total_seconds=1.5)
    assert "in 1.5 s" in out and "planning" not in out
    assert "in 0.3 s" in _printed(BatchSummary(seconds=0.3))


# 4. A --format clash names every input that lands on the one output.


def _clash(sources: list[Path], dest: Path) -> str:
    """The error a plan raises for ``sources`` all landing on ``dest``, as the planner asks for it."""
    by_output: dict[str, list[tuple[Path, Path]]] = {}
    collisions: list[tuple[Path, str]] = []
    for src in sources:
        reason = collision_reason(src, src, dest, set(sources), by_output)
        if reason is None:
            by_output.setdefault(case_folded(dest), []).append((dest, src))
        else:
            collisions.append((dest, reason))
    return clash_message(collisions, by_output)


def test_a_format_clash_names_all_three_inputs() -> None:
    """``coll/a.JPG``, ``a.jpg``, ``a.png`` with ``--format png``: the message named the first two only."""
    names = [Path("coll/a.JPG"), Path("coll/a.jpg"), Path("coll/a.png")]
    message = _clash(names, Path("outc/a.png"))
    assert message.startswith("outc/a.png: coll/a.JPG, coll/a.jpg and coll/a.png would all be written here; ")
    assert "rename all but one, or leave out --format" in message
    two = _clash(names[:2], Path("outc/a.png"))  # two: as it was
    assert two.startswith("outc/a.png: both coll/a.JPG and coll/a.jpg would be written here; ")
    assert "rename one, or leave out --format" in two


def test_a_clash_of_many_inputs_names_a_few_then_counts() -> None:
    names = [Path(f"c{i}/IMG_0001.JPG") for i in range(CLASH_NAMED + 3)]
    message = _clash(names, Path("out/IMG_0001.JPG"))
    assert f"c{CLASH_NAMED - 1}/IMG_0001.JPG and 3 more input(s) would all be written here" in message
    assert f"c{CLASH_NAMED}/" not in message


def test_a_format_clash_run_names_all_three_inputs(tmp_path: Path) -> None:
    for name in ("a.jpg", "a.JPG", "a.png"):
        _photo(tmp_path / "coll" / name)
    with pytest.raises(Exception, match=r"a\.JPG, .*a\.jpg and .*a\.png would all be written here"):
        plan_batch([str(tmp_path / "coll")], str(tmp_path / "outc"), tag="desnowed", formats=OutputFormat.parse("png"))


# 5. After an --in-place run stopped part-way, the advice does not redo the photos replaced already.


def _printed(summary: BatchSummary, **options: float) -> str:
    out = io.StringIO()
    print_summary(
        summary,
        json_out=False,
        quiet=True,
        console=Console(file=out, width=400),
        err_console=Console(file=io.StringIO()),
        **options,  # type: ignore[arg-type]
    )
    return out.getvalue()


def _stopped(*, in_place: bool, interrupted: bool) -> BatchSummary:
    done = [Job(Path(f"p{i}.jpg"), Path(f"/x/p{i}.jpg"), replaces_input=in_place) for i in range(12)]
    not_done = [Record(Path(f"q{i}.jpg"), "not done") for i in range(28)]
    return BatchSummary(done=done, not_done=not_done, interrupted=interrupted, seconds=4.8)


def test_an_interrupted_in_place_run_says_to_rerun_on_the_files_not_done() -> None:
    """ "rerun the same command to resume" ran the model a second time over the 12 photos already replaced."""
    out = _printed(_stopped(in_place=True, interrupted=True))
    assert "28 not done: interrupted after 4.8 s; rerun on the files not done only (listed above): " in out
    assert "the 12 done were replaced in place, and a rerun over all would restore them a second time" in out
    assert "rerun the same command" not in out
    assert "rerun the same command to resume" in _printed(_stopped(in_place=False, interrupted=True))


def test_an_in_place_run_stopped_by_a_full_disk_says_the_same() -> None:
    out = _printed(_stopped(in_place=True, interrupted=False))
    assert "(the error above says why): once it is mended, rerun on the files not done only" in out
    assert "rerun the same command" not in out
    assert "rerun the same command once it is mended" in _printed(_stopped(in_place=False, interrupted=False))


# Round 2. 1. The walker matches as glob does: a file only where the pattern's last part takes it.

_TREE = (
    "top.jpg", "lib/top.jpg", "lib/notes.txt", "lib/a/x.jpg", "lib/a/.h2.jpg", "lib/a/b/y.JPG", "lib/a/b/z.png",
    "lib/a/sub/t.png", "lib/sub/s.png", "lib/sub/sub/u.png", "lib/Sub/cap.png", "lib/.hid/h.jpg",
    "lib/.cfg/sub/w.png", "lib/e/.keep", "lib/dir.jpg/in.jpg", "lib/c/sub", "lib/b/q/b/r.jpg", "abc/q.jpg",
    "axe/r.Jpg", ".dot/d.jpg",
)  # fmt: skip
_PATTERNS = (
    "**/*.jpg", "**/sub/*.png", "a*/**/*.[jJ][pP][gG]", "lib/**/.*", "lib/.*/**", "**", "**/*", "lib/**/*",
    "lib/*/**", "*/**", "lib/**/sub", "lib/**/**/*.png", "./lib/**/*.jpg", "ABS/lib/**/*.jpg", "**/b/**",
    "lib/**/", "lib/*/*/**/*.png",
)  # fmt: skip


def _real_files(matches: list[str]) -> set[str]:
    """The real files ``matches`` stand for as inputs: a file itself, a folder every file its walk takes."""
    from weatherclean.batch.inputs import _walk

    files: set[str] = set()
    for m in matches:
        if os.path.isdir(m):
            files.update(os.path.realpath(f) for f in _walk(Path(m), set(), "desnowed"))
        else:
            files.add(os.path.realpath(m))
    return files


@pytest.mark.parametrize("pattern", _PATTERNS)
def test_the_pattern_walk_matches_what_glob_matches(
    pattern: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``'lib/*/**'`` matched ``lib/top.jpg`` too (``*`` took it, and the last ``**`` matched no folder), so
    ``--in-place`` changed photos the user left out, and ``'*/**'`` was refused with a false clash."""
    import glob

    from weatherclean.batch.inputs import _pattern_matches

    monkeypatch.chdir(tmp_path)
    for name in _TREE:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(b"x")
    Path("lib/empty").mkdir()
    pattern = pattern.replace("ABS", str(tmp_path))
    expected = _real_files(glob.glob(pattern, recursive=True))
    assert expected  # each pattern matches something here
    assert _real_files(_pattern_matches(pattern, "desnowed")) == expected


def test_a_wildcard_folder_then_double_star_leaves_the_files_beside_those_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(Path("lib/top.jpg"))
    _photo(Path("lib/a/x.jpg"))
    plan = plan_batch(["lib/*/**"], None, tag="desnowed", in_place=True)
    assert [str(j.source) for j in plan.jobs] == ["lib/a/x.jpg"]
    _photo(Path("top.jpg"))  # in the working folder: it and lib/top.jpg (lib walked) met in one -o before
    code, stdout, _ = _dry_run("*/**", "-o", "out", "--json")
    assert code == 0 and {j["input"] for j in json.loads(stdout)["jobs"]} == {"lib/a/x.jpg", "lib/top.jpg"}


# 2. A ".." before the wildcards is walked too, not left to glob, which went round the loop.


def test_a_pattern_starting_with_dot_dot_is_walked_not_gone_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``'../small/**/*.jpg'`` with ``small/a/top -> ../..`` went round the link 40 times (11.5 s on 20,000 files),
    and took the photos beside ``small`` (``outside/secret.jpg``) through it."""
    _photo(tmp_path / "small/a/x.jpg")
    _photo(tmp_path / "outside/secret.jpg")
    os.symlink("../..", tmp_path / "small/a/top")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    plan = plan_batch(["../small/**/*.jpg"], "out", tag="desnowed")
    assert [str(j.source) for j in plan.jobs] == ["../small/a/x.jpg"]


# 4. A link to a folder above the tree, matched by the pattern itself, is not walked.


@pytest.mark.parametrize("pattern", ["small/**/*", "small/*", "small/**/"])
def test_a_matched_link_to_a_folder_above_is_not_walked(
    pattern: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``small/root -> ..`` matched by ``'small/**/*'`` was walked whole: ``outside/secret.jpg``, beside ``small``,
    was planned (and with ``--in-place`` replaced)."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("small/a/x.jpg"))
    _photo(Path("outside/secret.jpg"))
    os.symlink("..", "small/root")
    os.symlink("a", "small/0sel")  # a link inside the tree: its folder is walked under its own name
    plan = plan_batch([pattern], "out", tag="desnowed", in_place=False)
    assert [str(j.source) for j in plan.jobs] == ["small/a/x.jpg"]


# 5. After an --in-place run stopped, the text summary lists the files not done.


def _both(summary: BatchSummary, *, quiet: bool = False, verbose: bool = False) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    print_summary(
        summary, json_out=False, quiet=quiet, console=Console(file=out, width=300),
        err_console=Console(file=err, width=300), verbose=verbose,
    )  # fmt: skip
    return out.getvalue(), err.getvalue()


def test_a_stopped_in_place_run_lists_the_files_not_done() -> None:
    """The advice said "(--json lists them under not_done)", where a text run listed none, and rerunning with
    ``--json`` would not either."""
    from weatherclean.batch.report import NOT_DONE_IN_PLACE

    out, _ = _both(_stopped(in_place=True, interrupted=True))
    assert all(f"q{i}.jpg" in out for i in range(28)) and out.count(NOT_DONE_IN_PLACE) == 28
    assert "rerun on the files not done only (listed above)" in out and "--json lists" not in out
    _, err = _both(_stopped(in_place=True, interrupted=False), quiet=True)  # quiet: one line each on stderr
    assert f"not done: q27.jpg: {NOT_DONE_IN_PLACE}" in err
    out, _ = _both(_stopped(in_place=False, interrupted=True))  # beside their inputs: the same command resumes
    assert "q0.jpg" not in out


def test_many_files_not_done_are_folded_unless_verbose() -> None:
    many = JOBS_FOLD_OVER + 5
    done = [Job(Path("p.jpg"), Path("/x/p.jpg"), replaces_input=True)]
    summary = BatchSummary(done=done, not_done=[Record(Path(f"q{i:03d}.jpg"), "x") for i in range(many)])
    out, _ = _both(summary)
    assert f"q{JOBS_SHOWN - 1:03d}.jpg" in out and f"q{JOBS_SHOWN:03d}.jpg" not in out
    assert f"… and {many - JOBS_SHOWN} more" in out
    out, _ = _both(summary, verbose=True)
    assert f"q{many - 1:03d}.jpg" in out and "more" not in out


# 6. Across inputs, a file reached twice is done under the first path, as before round 1.


def test_a_file_reached_by_two_inputs_keeps_the_output_it_had(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``desnow plink photos/sub -o out`` (``plink -> photos``) wrote ``out/sub/x.jpg``; round 1 moved it to
    ``out/x.jpg``, and a rerun after the upgrade redid the work there."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("photos/sub/x.jpg"))
    os.symlink("photos", "plink")
    plan = plan_batch(["plink", "photos/sub"], "out", tag="desnowed")
    assert [(str(j.source), str(j.output.relative_to(tmp_path))) for j in plan.jobs] == [
        ("plink/sub/x.jpg", "out/sub/x.jpg")
    ]


# 8. Smaller: jobs with notes are never folded; a clash's advice holds for all its inputs; '**' edge cases.


def test_a_folded_dry_run_still_lists_every_job_with_a_note() -> None:
    from weatherclean.batch.jobs import Plan
    from weatherclean.batch.report import print_plan

    jobs = [Job(Path(f"p{i:03d}.jpg"), Path(f"/o/p{i:03d}.jpg")) for i in range(JOBS_FOLD_OVER + 10)]
    jobs.append(Job(Path("late.jpg"), Path("/o/late.jpg"), note="redone: input changed"))
    out = io.StringIO()
    print_plan(Plan(jobs=jobs), verb="desnow", json_out=False, console=Console(file=out, width=200))
    text = out.getvalue()
    assert "late.jpg" in text and "redone: input changed" in text
    assert f"… and {len(jobs) - JOBS_SHOWN - 1} more" in text


def test_a_clash_across_folders_and_extensions_says_what_mends_both() -> None:
    """``t2/a.png t2/a.jpg t1/a.jpg --format png`` was told "rename all but one, or leave out --format", which left
    ``t1/a.jpg`` and ``t2/a.jpg`` clashing."""
    message = _clash([Path("t2/a.png"), Path("t2/a.jpg"), Path("t1/a.jpg")], Path("out/a.png"))
    head = "out/a.png: t2/a.png, t2/a.jpg and t1/a.jpg would all be written here; give each input its own -o folder"
    assert message.startswith(head)
    assert message.endswith("; and for t2/a.png, t2/a.jpg, their names differ only in the extension, which --format "
                            "makes the same; rename one, or leave out --format")  # fmt: skip
    apart = _clash([Path(f"c{i}/a.jpg") for i in range(3)], Path("out/a.jpg"))
    assert apart.endswith("pass their common parent folder instead (the same name in different folders)")


def test_a_double_star_pattern_lists_no_empty_sub_folder_and_one_matching_nothing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``'lib/**'`` is ``lib``, walked as the folder is (its empty sub-folders are not listed, as glob listed
    each); ``'nope/**'`` matches nothing (glob matched ``nope/`` itself, which does not exist)."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("lib/a/x.jpg"))
    Path("lib/empty").mkdir()
    plan = plan_batch(["lib/**"], "out", tag="desnowed")
    assert [str(j.source) for j in plan.jobs] == ["lib/a/x.jpg"] and plan.skipped == [] and plan.failed == []
    code, stdout, _ = _dry_run("nope/**", "lib", "--json")  # glob's nope/ was skipped "by name", exit code 0
    assert code == 1 and [(f["path"], f["reason"]) for f in json.loads(stdout)["failed"]] == [
        ("nope/**", "no files match this pattern")
    ]
    code, _, stderr = _dry_run("nope/**")  # alone: nothing to do
    assert code == 2 and "nope/**: no files match this pattern; nothing to do" in stderr


def test_a_pattern_walk_still_passes_over_output_folders_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walked matches are not looked up in :func:`_in_output_tree` any more (it doubled the time): the walk itself
    leaves out ``*_desnowed`` and the ``-o`` folder, matched as folders or not."""
    monkeypatch.chdir(tmp_path)
    _photo(Path("lib/a/x.jpg"))
    _photo(Path("lib/lib_desnowed/old.jpg"))
    _photo(Path("lib/out/earlier.jpg"))
    for pattern in ("lib/**/*", "lib/**/*.jpg", "lib/*/**"):
        plan = plan_batch([pattern], "lib/out", tag="desnowed")
        assert [str(j.source) for j in plan.jobs] == ["lib/a/x.jpg"], pattern
