"""The upgrading user's findings (0.1.0 -> 0.2.0): a training run of another release is not resumed silently,
``save_image``'s result still works as the ``Path`` 0.1.0 returned, ``weatherclean.inference`` still imports
(with a warning naming the new homes), and a synth folder of another version is refused for its real reason.

0.1.0's files are written here by hand, as 0.1.0 wrote them (a ``train_config.json`` without a version, a
``synth.json`` without style, haze or inputs), so no old install is needed."""

from __future__ import annotations

import copy
import json
import os
import pickle
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import only_error_line as _error_line
from synthetic import registered_tiny_snow, synth_app, write_clean
from synthetic import tiny_snow_run as _snow
from synthetic import train_command as _train
from weatherclean import __version__

# -- 1. a run started by another release is not resumed ------------------------------------------------------

#: The ``extra`` settings 0.1.0 recorded (a snow run on --clean photos), and nothing else.
EXTRA_0_1_0 = ("task", "arch", "init", "dataset", "clean", "skimage_samples", "crop", "lambda_z", "lambda_w",
               "level", "haze")  # fmt: skip


@pytest.fixture
def tiny_arch() -> Iterator[str]:
    with registered_tiny_snow("tiny-upgrade-test") as name:
        yield name


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_clean(tmp_path / "clean", seed=1, n=2, size=32)


def _settings(run: Path) -> dict:
    return json.loads((run / "train_config.json").read_text())


def _as_written_by(run: Path, version: str | None) -> None:
    """Rewrite the run's settings as another release wrote them: ``version`` recorded, or (None) as 0.1.0 did,
    with no version and only the settings 0.1.0 knew."""
    settings = _settings(run)
    settings.pop("weatherclean_version", None)
    if version is None:
        settings["extra"] = {k: v for k, v in settings["extra"].items() if k in EXTRA_0_1_0}
    else:
        settings["weatherclean_version"] = version
    (run / "train_config.json").write_text(json.dumps(settings, indent=2))


def test_a_run_records_the_release_that_wrote_it(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0
    assert _settings(run)["weatherclean_version"] == __version__


def test_a_0_1_0_run_is_refused_with_why_and_what_to_do_and_no_resume_keeps_it(
    tmp_path: Path, clean: Path, tiny_arch: str
) -> None:
    """0.1.0 recorded no version; resuming it silently turned on the pass-through gate and the new synthesis."""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0  # stops after step 1
    _as_written_by(run, None)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    refused = _train(*_snow(clean, run, tiny_arch))
    assert refused.code == 2
    line = _error_line(refused)
    assert line == (
        f"error: {run}: this run was started by an earlier weatherclean (no version recorded: 0.1.0, or a 0.2.0 "
        f"development snapshot), not this weatherclean {__version__}; another release may build the model with "
        "other defaults and draw other training weather, so resuming would train a mix of two runs: finish it with "
        "the weatherclean that started it, installed in another environment (for 0.1.0: pip install "
        "'weatherclean==0.1.0' in a new virtual environment), or pass --no-resume to start over (the run is kept "
        f"in {run}/previous-DATE-TIME/)"
    )
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # nothing touched
    fresh = _train(*_snow(clean, run, tiny_arch, "--no-resume"))
    assert fresh.code == 0, fresh.err
    (previous,) = run.glob("previous-*")
    assert (previous / "checkpoint.pt").read_bytes() == before["checkpoint.pt"]
    assert (previous / "train_config.json").read_bytes() == before["train_config.json"]
    assert _settings(run)["weatherclean_version"] == __version__ and (run / "model").is_dir()


def test_the_same_release_is_the_same_whatever_its_label() -> None:
    from weatherclean.training.trainer import same_release

    for version in ("0.2.0", "0.2.0.dev0", "0.2.0.dev7", "0.2.0rc1", "0.2", "0.2.0.post1", "v0.2.0+local"):
        assert same_release(version, "0.2.0.dev0") and same_release("0.2.0.dev0", version)
    for version in (None, "", "0.1.0", "0.2.1", "0.3.0", "1.2.0", "not a version"):
        assert not same_release(version, "0.2.0.dev0")


@pytest.mark.parametrize(("version", "resumes"), [("0.2.1", False), ("0.2.0rc1", True)])
def test_another_release_is_refused_and_this_release_resumes(
    tmp_path: Path, clean: Path, tiny_arch: str, version: str, resumes: bool
) -> None:
    """Same release (0.2.0, whatever its .devN/rc label) resumes; any other release, even a patch, is refused.
    (This checkout is 0.2.0.devN: a run of 0.2.0rc1 is of the same release.)"""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0
    _as_written_by(run, version)
    again = _train(*_snow(clean, run, tiny_arch))
    if resumes:
        assert again.code == 0 and (run / "model").is_dir(), again.err
        assert _settings(run)["weatherclean_version"] == __version__
    else:
        assert again.code == 2 and not (run / "model").exists()
        line = _error_line(again)
        assert f"started by weatherclean {version}, not this weatherclean {__version__};" in line
        assert (
            f"finish it with weatherclean {version}, installed in another environment (pip install "
            f"'weatherclean=={version}' in a new virtual environment)" in line
        )
        assert "no version recorded" not in line


def test_a_run_of_a_development_snapshot_without_a_version_resumes(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    """Settings with options 0.1.0 never had, and no version, were written by a 0.2.0 development snapshot."""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0
    settings = _settings(run)
    del settings["weatherclean_version"]
    (run / "train_config.json").write_text(json.dumps(settings))
    assert _train(*_snow(clean, run, tiny_arch)).code == 0 and (run / "model").is_dir()


def test_a_development_snapshot_is_told_by_settings_only_0_2_0_writes() -> None:
    """Review: "any key outside 0.1.0's" named a hand-added key a 0.2.0 snapshot's; only 0.2.0's own keys do."""
    from weatherclean.training.trainer import run_version

    old = dict.fromkeys(EXTRA_0_1_0)
    assert run_version({"extra": old}) is None
    assert run_version({"extra": {**old, "my_note": "added by hand"}}) is None  # proves nothing
    for key in ("frames", "run_folder", "pass_through"):
        assert run_version({"extra": {**old, key: 1}}) == "0.2.0.dev0"
    assert run_version({"weatherclean_version": " 0.1.9 ", "extra": {**old, "frames": 1}}) == "0.1.9"


def test_a_finished_run_of_another_release_says_so_and_without_its_card_is_refused(
    tmp_path: Path, clean: Path, tiny_arch: str
) -> None:
    """Run again, a finished run trains nothing: with its card it says it has finished (a script rerun from
    its top gets past it); without one (0.1.0 wrote none) this release would write a card naming itself."""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    _as_written_by(run, "0.1.9")
    card = (run / "model" / "README.md").read_bytes()
    again = _train(*[arg for arg in _snow(clean, run, tiny_arch) if arg != "-q"])  # to see what it says
    assert again.code == 0 and "has finished already" in again.out, again.err
    assert (run / "model" / "README.md").read_bytes() == card
    (run / "model" / "README.md").write_text("This model has been pushed to the Hub using the PytorchModelHubMixin")
    _as_written_by(run, None)
    refused = _train(*_snow(clean, run, tiny_arch))
    assert refused.code == 2
    assert _error_line(refused) == (
        f"error: {run}: this run was started by an earlier weatherclean (no version recorded: 0.1.0, or a 0.2.0 "
        f"development snapshot), not this weatherclean {__version__}, and has finished: use its model as it is "
        f"(--model {run / 'model'}), or pass --no-resume to train a new run (the run is kept in {run}/previous-"
        "DATE-TIME/)"
    )


# -- 2. save_image's result works as 0.1.0's Path did ---------------------------------------------------------


def test_saved_image_works_as_the_path_0_1_0_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherclean.io import SavedImage, load_image, save_image

    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((8, 10, 3), 120, np.uint8)).save("in.png")
    image = load_image("in.png")
    saved = save_image("o.png", image.pixels, image)
    assert isinstance(saved, SavedImage) and saved.path == Path("o.png") and saved.format == "PNG"
    assert saved.notes == []  # its own fields stay
    assert str(saved) == "o.png" and f"{saved}" == "o.png" and "SavedImage(" in repr(saved)
    assert saved == Path("o.png") and Path("o.png") == saved and saved != Path("x.png")
    assert saved.name == "o.png" and saved.suffix == ".png" and saved.stem == "o" and saved.parent == Path(".")
    assert saved.exists() and saved.stat().st_size == Path("o.png").stat().st_size
    assert saved.with_suffix(".jpg") == Path("o.jpg") and saved.read_bytes() == Path("o.png").read_bytes()
    with saved.open("rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert {Path("o.png"): 1}[saved] == 1 and saved in {Path("o.png")}  # hashes as its path
    assert sorted([saved, Path("a.png")]) == [Path("a.png"), saved]
    assert copy.deepcopy(saved) == saved and pickle.loads(pickle.dumps(saved)) == saved
    assert saved != SavedImage(Path("o.png"), "JPEG")  # two records: path, format and notes
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        saved.nope  # noqa: B018


def test_saved_image_compares_as_its_path_does_and_no_more(tmp_path: Path) -> None:
    """Review: == "o.png" was True while hashing as the Path (a == b, hashes apart), unlike 0.1.0's Path; a bytes
    path-like raised TypeError out of ==; and order must agree with equality."""
    from weatherclean.io import SavedImage

    saved = SavedImage(Path("o.png"), "PNG")
    assert saved != "o.png" and "o.png" != saved and Path("o.png") != "o.png"  # noqa: SIM300 (as 0.1.0's Path)
    assert saved == PurePosixPath("o.png") and saved != PureWindowsPath("o.png")
    (tmp_path / "o.png").write_bytes(b"")
    with os.scandir(os.fsencode(tmp_path)) as entries:
        (entry,) = entries  # a bytes path-like
    assert saved != entry and saved.__eq__(entry) is NotImplemented  # never a TypeError
    with pytest.raises(TypeError, match="not supported between instances of 'SavedImage' and '.*DirEntry'"):
        saved < entry  # noqa: B015
    with pytest.raises(TypeError, match="'SavedImage' and 'PureWindowsPath'"):
        saved < PureWindowsPath("a.png")  # noqa: B015
    jpeg, b = SavedImage(Path("o.png"), "JPEG"), SavedImage(Path("b.png"), "PNG")
    for x, y in ((saved, jpeg), (saved, Path("o.png")), (saved, b), (saved, Path("a.png")), (jpeg, saved)):
        assert (x == y) == (not (x < y) and not (x > y)) == (x <= y and x >= y), (x, y)
        assert (x == y) <= (hash(x) == hash(y))  # equal ones hash alike
    assert sorted([saved, jpeg, Path("p.png"), b]) == [b, jpeg, saved, Path("p.png")]


def test_saved_image_joins_and_gives_bytes_as_a_path() -> None:
    """Review: operators are not looked up through __getattr__, so 0.1.0's ``saved / "x"`` failed."""
    from weatherclean.io import SavedImage

    saved = SavedImage(Path("out/o.png"), "PNG")
    assert saved / "x" == Path("out/o.png/x") and saved.parent / "y.png" == Path("out/y.png")
    assert "base" / saved == Path("base/out/o.png") and Path("base") / saved == Path("base/out/o.png")
    assert bytes(saved) == b"out/o.png"
    with pytest.raises(TypeError, match="'SavedImage' and 'int'"):
        saved / 5  # noqa: B018


# -- 3. weatherclean.inference: 0.1.0's names, with a warning naming the new imports ------------------------


@pytest.fixture
def fresh_inference(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shim as a script's first import of it finds it (it warns once per process)."""
    monkeypatch.delitem(sys.modules, "weatherclean.inference", raising=False)
    yield
    sys.modules.pop("weatherclean.inference", None)


def test_inference_reexports_0_1_0_names_and_warns_once(fresh_inference: None) -> None:
    import weatherclean.batch as batch
    import weatherclean.restore.tiling as tiling

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from weatherclean.inference import (
            BatchSummary,
            Job,
            Plan,
            Record,
            choose_tile,
            default_output,
            plan_jobs,
            run_batch,
            run_tiled,
        )
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1 and deprecations[0].filename == __file__  # points at the import line
    message = str(deprecations[0].message)
    assert message.startswith("weatherclean.inference is deprecated and will be removed: use 'from weatherclean.")
    assert "run_tiled, choose_tile from weatherclean.restore.tiling" in message
    assert "plan_jobs, run_batch, Job, Plan, Record, BatchSummary, default_output from weatherclean.batch" in message
    assert (run_tiled, choose_tile) == (tiling.run_tiled, tiling.choose_tile)
    assert (plan_jobs, run_batch, Job, Plan, Record, BatchSummary, default_output) == (
        batch.plan_jobs, batch.run_batch, batch.Job, batch.Plan, batch.Record, batch.BatchSummary,
        batch.default_output,
    )  # fmt: skip
    import weatherclean.inference as inference

    assert sorted(inference.__all__) == sorted(inference.MOVED) and "run_batch" in dir(inference)
    with pytest.raises(AttributeError, match="has no attribute 'LEVEL_DENSITIES'"):
        inference.LEVEL_DENSITIES  # noqa: B018


def test_a_0_1_0_script_runs_through_the_shim(tmp_path: Path, fresh_inference: None) -> None:
    """0.1.0's documented use: plan_jobs over a folder, run_batch with a process that tiles with run_tiled."""
    import torch

    with pytest.warns(DeprecationWarning, match="from weatherclean.batch import BatchSummary"):
        from weatherclean.inference import BatchSummary, Plan, plan_jobs, run_batch, run_tiled
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.fromarray(np.full((20, 24, 3), 40 * i + 50, np.uint8)).save(photos / f"p{i}.png")

    def process(image) -> np.ndarray:  # 0.1.0: a LoadedImage in, H×W×C floats out
        x = torch.from_numpy(image.pixels).permute(2, 0, 1)[None]
        return run_tiled(lambda t: 1.0 - t, x, tile=16, overlap=4)[0].permute(1, 2, 0).numpy()

    plan = plan_jobs([str(photos)], str(tmp_path / "out"))
    assert isinstance(plan, Plan) and len(plan) == 2
    summary = run_batch(plan, process, progress=False)
    assert isinstance(summary, BatchSummary) and summary.ok and len(summary.done) == 2
    got = np.asarray(Image.open(tmp_path / "out" / "p1.png"))
    assert np.abs(got.astype(int) - (255 - 90)).max() <= 1


def test_the_shims_names_are_listed_once(fresh_inference: None) -> None:
    import weatherclean.inference as inference

    with pytest.warns(DeprecationWarning):
        inference.run_batch  # noqa: B018
    names = dir(inference)
    assert len(names) == len(set(names)) and "run_batch" in names and "choose_tile" in names


# -- 5. synth: a folder of another version is refused for its real reason ------------------------------------


def _photos(folder: Path) -> Path:
    for i, name in enumerate(("a.png", "b.png")):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(i)
        Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).save(folder / name)
    return folder


def _synth(*args: str | Path) -> SimpleNamespace:
    result = CliRunner().invoke(synth_app(), ["synth", *map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(code=result.exit_code, out=result.output, err=result.stderr)


def test_a_synth_folder_of_0_1_0_is_refused_as_another_version(tmp_path: Path) -> None:
    """0.1.0 recorded neither --style nor --haze: those are not differences; its version is."""
    clean, out = _photos(tmp_path / "clean"), tmp_path / "tM"
    assert _synth("snow", clean, out, "--level", "M", "--seed", "1", "-q").code == 0
    meta = json.loads((out / "synth.json").read_text())
    old = {"generator": "weatherclean synth snow", "version": "0.1.0", "seed": 1, "level": "M", "clean_dir": "clean",
           "count": 2, "levels": meta["levels"], "failed": [], "model": meta["model"]}  # fmt: skip
    (out / "synth.json").write_text(json.dumps(old, indent=2))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = _synth("snow", clean, out, "--level", "M", "--seed", "1")
    assert again.code == 2
    assert _error_line(again) == (
        f"error: {out}: holds a finished synth snow run made by weatherclean 0.1.0, not this weatherclean "
        f"{__version__}: another version draws other weather, so the same seed gives other pictures; pass "
        "--overwrite to replace it with this version's pictures, or choose another OUT_DIR"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert _synth("snow", clean, out, "--level", "M", "--seed", "1", "--overwrite", "-q").code == 0
    assert json.loads((out / "synth.json").read_text())["version"] == __version__


def test_an_interrupted_synth_run_of_another_version_cannot_be_resumed(tmp_path: Path) -> None:
    clean, out = _photos(tmp_path / "clean"), tmp_path / "out"
    assert _synth("snow", clean, out, "--seed", "1", "-q").code == 0
    meta = json.loads((out / "synth.json").read_text())
    header = {k: v for k, v in meta.items() if k not in ("levels", "items", "count", "failed")} | {"version": "0.3.0"}
    (out / "synth.progress.jsonl").write_text(json.dumps(header) + "\n")
    (out / "synth.json").unlink()
    line = _error_line(_synth("snow", clean, out, "--seed", "1"))
    assert (
        f"holds an interrupted synth snow run made by weatherclean 0.3.0, not this weatherclean {__version__}" in line
    )
    assert line.endswith(
        "so it cannot be resumed: finish it with weatherclean 0.3.0 (installed in another environment, not over "
        "this one), pass --overwrite to start over with this version's pictures, or choose another OUT_DIR"
    )


def test_a_synth_run_with_other_options_lists_them_apart(tmp_path: Path) -> None:
    clean, out = _photos(tmp_path / "clean"), tmp_path / "out"
    assert _synth("snow", clean, out, "--level", "M", "--style", "discs", "--seed", "1", "-q").code == 0
    line = _error_line(_synth("snow", clean, out, "--level", "L", "--seed", "1"))
    assert (
        "holds a finished synth snow run made with --level M, --style discs, where this command has --level L, "
        "--style mixed (defaults included); pass --overwrite to replace it" in line
    )


def _rewrite_record(out: Path, **changes: object) -> None:
    """synth.json as another version wrote it: ``changes`` set, and a key given as None left out."""
    meta = json.loads((out / "synth.json").read_text())
    for key, value in changes.items():
        meta.pop(key, None) if value is None else meta.__setitem__(key, value)
    (out / "synth.json").write_text(json.dumps(meta, indent=2))


def test_a_synth_folder_of_another_label_of_this_release_is_the_same_release(tmp_path: Path) -> None:
    """Review: synth compared version strings exactly where train resumes by release (0.2.0rc1 is 0.2.0)."""
    from weatherclean.versions import release_name

    clean, out = _photos(tmp_path / "clean"), tmp_path / "out"
    assert _synth("snow", clean, out, "--seed", "1", "-q").code == 0
    other_label = f"{release_name(__version__)}rc1"
    _rewrite_record(out, version=other_label)
    before = {p: p.read_bytes() for p in out.rglob("*.png")}
    again = _synth("snow", clean, out, "--seed", "1", "-q")
    assert again.code == 0, again.err
    assert {p: p.read_bytes() for p in out.rglob("*.png")} == before  # kept, not made again
    _rewrite_record(out, version="0.1.9")
    assert "made by weatherclean 0.1.9, not this" in _error_line(_synth("snow", clean, out, "--seed", "1"))


def test_a_synth_record_of_a_development_version_names_what_it_does_not_record(tmp_path: Path) -> None:
    """Review: "made with --style not recorded, --haze not recorded" read as options to type."""
    from weatherclean.versions import release_name

    clean, out = _photos(tmp_path / "clean"), tmp_path / "out"
    assert _synth("snow", clean, out, "--level", "M", "--seed", "1", "-q").code == 0
    _rewrite_record(out, style=None, haze=None)
    line = _error_line(_synth("snow", clean, out, "--level", "M", "--seed", "1"))
    assert (
        f"holds a finished synth snow run whose synth.json names no --style or --haze (an earlier "
        f"{release_name(__version__)} development version), where this command has --style mixed, --haze (defaults "
        "included); pass --overwrite to replace it" in line
    )
    assert "not recorded" not in line
    _rewrite_record(out, style=None, haze=None, level="S")
    line = _error_line(_synth("snow", clean, out, "--level", "M", "--seed", "1"))
    assert (
        "holds a finished synth snow run made with --level S and whose synth.json names no --style or --haze (an "
        f"earlier {release_name(__version__)} development version), where this command has --level M, --style "
        "mixed, --haze (defaults included)" in line
    )
