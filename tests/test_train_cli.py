"""`weatherclean train` as a user runs it: resuming only the same run, starting over, the architecture a run
trains, option checks, the default run folder and the push advice (the tester's training report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from synthetic import only_error_line as _error_line
from synthetic import registered_tiny_snow, tiny_desnownet_config, write_clean
from synthetic import tiny_snow_run as _snow
from synthetic import train_command as _train
from weatherclean.cli import app
from weatherclean.models.desnownet import DesnowNet
from weatherclean.models.registry import bundled_weights_dir

TINY = tiny_desnownet_config()
TINY_ARCH = "tiny-train-cli-test"


@pytest.fixture
def tiny_arch() -> Iterator[str]:
    """A registered tiny architecture, so a run takes well under a second."""
    with registered_tiny_snow(TINY_ARCH) as name:
        yield name


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_clean(tmp_path / "clean", seed=1, n=2, size=32)


# -- 1. a run resumes only with the options it was made with ---------------------------------------------------


def test_resuming_with_other_options_is_refused_and_free_options_stay_free(
    tmp_path: Path, clean: Path, tiny_arch: str
) -> None:
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0  # stops after step 1
    settings, log = (run / "train_config.json").read_bytes(), (run / "train_log.jsonl").read_bytes()
    changed = _train(*_snow(clean, run, tiny_arch, "--lr", "0.001", "--crop", "32", "--seed", "5", "--no-haze"))
    assert changed.code == 2
    message = _error_line(changed)
    assert f"{run}: this run was made with --lr 0.0003 --seed 0 --crop 24 --haze, not --lr 0.001 --seed 5 " in message
    assert "--crop 32 --no-haze; rerun with the same options to resume, or pass --no-resume" in message
    assert (run / "train_config.json").read_bytes() == settings and (run / "train_log.jsonl").read_bytes() == log
    assert not (run / "model").exists()
    # what only changes how the run is computed or reported stays free: it resumes and finishes
    free = _train(*_snow(clean, run, tiny_arch, "--checkpoint-every", "7", "--log-every", "2", "--device", "cpu"))
    assert free.code == 0, free.out
    card = (run / "model" / "README.md").read_text()
    assert "--crop 24 --lr 0.0003" in card and "--seed 0" in card


def test_a_finished_run_rerun_with_other_options_keeps_its_card(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    card = (run / "model" / "README.md").read_bytes()
    for extra, named in ((["--crop", "16"], "--crop 24, not --crop 16"), (["--steps", "5"], "--steps 3, not --steps 5"),
                         (["--clean-fraction", "0.5"], "--clean-fraction 0, not --clean-fraction 0.5"),
                         (["--pass-through", "0.02"], "no --pass-through, not --pass-through 0.02")):  # fmt: skip
        refused = _train(*_snow(clean, run, tiny_arch, *extra))
        assert refused.code == 2 and named in _error_line(refused)
    assert (run / "model" / "README.md").read_bytes() == card
    assert _train(*_snow(clean, run, tiny_arch)).code == 0  # the same command still writes the same model


def test_the_same_data_folder_given_another_way_is_the_same_run(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _train(*_snow(Path("clean"), Path("run"), tiny_arch, "--time-limit", "0")).code == 0
    resumed = _train(*_snow(clean.resolve(), tmp_path / "run", tiny_arch))
    assert resumed.code == 0, resumed.err
    assert (tmp_path / "run" / "model").is_dir()


def test_the_trainer_refuses_to_resume_another_run(tmp_path: Path, clean: Path) -> None:
    """The library's train() checks too, naming the options as the command line spells them."""
    import dataclasses

    from weatherclean.errors import WeathercleanError
    from weatherclean.training.tasks import SnowTask
    from weatherclean.training.trainer import TrainConfig, train

    task = SnowTask(clean=[clean], crop=24, samples=100, seed=0)
    cfg = TrainConfig(output=str(tmp_path / "r"), steps=3, batch_size=1, workers=0, progress=False, stop_after=1,
                      extra={"crop": 24})  # fmt: skip
    train(DesnowNet(TINY), task, cfg)
    for change, named in (({"seed": 3}, "--seed 0, not --seed 3"), ({"warmup_steps": 5}, "--warmup 200, not"),
                          ({"extra": {"crop": 32}}, "--crop 24, not --crop 32")):  # fmt: skip
        with pytest.raises(WeathercleanError, match=named):
            train(DesnowNet(TINY), task, dataclasses.replace(cfg, **change))
    train(DesnowNet(TINY), task, dataclasses.replace(cfg, workers=1, log_every=1, stop_after=None))  # free


def test_no_resume_moves_the_earlier_run_aside(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    """While the new run trains, no model/ of the old run sits beside its log looking current; the old run is
    kept whole in a previous-* folder of its own (a second --no-resume must not delete the first one's), and
    an interrupted new run resumes its own checkpoint, not the old one."""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    old_model = (run / "model" / "model.safetensors").read_bytes()
    new = _snow(clean, run, tiny_arch, "--crop", "32", "--seed", "2")
    assert _train(*new, "--no-resume", "--time-limit", "0").code == 0
    assert not (run / "model").exists()
    (previous,) = run.glob("previous-*")
    assert (previous / "model" / "model.safetensors").read_bytes() == old_model
    assert json.loads((previous / "train_config.json").read_text())["extra"]["crop"] == 24
    assert json.loads((run / "train_config.json").read_text())["extra"]["crop"] == 32
    resumed = _train(*new)
    assert resumed.code == 0, resumed.err
    assert "--crop 32" in (run / "model" / "README.md").read_text()
    assert _train(*new, "--no-resume", "--time-limit", "0").code == 0  # again: both earlier runs are kept
    kept = sorted(run.glob("previous-*"))
    assert len(kept) == 2 and (previous / "model" / "model.safetensors").read_bytes() == old_model


# -- 2. --init decides the architecture ---------------------------------------------------------------------------


def test_init_with_arch_is_refused_and_init_alone_records_no_arch(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    assert _train(*_snow(clean, tmp_path / "a", tiny_arch)).code == 0
    start = str(tmp_path / "a" / "model")
    args = ["--task", "snow", "--clean", str(clean), "--init", start, "-o", str(tmp_path / "b"), "--steps", "1",
            "--batch-size", "1", "--crop", "24", "--workers", "0", "-q"]  # fmt: skip
    refused = _train(*args, "--arch", "desnownet-deep")
    assert refused.code == 2 and "--arch desnownet-deep with --init" in _error_line(refused)
    assert not (tmp_path / "b").exists()
    assert _train(*args).code == 0  # the default --arch is not taken for a given one
    assert json.loads((tmp_path / "b" / "train_config.json").read_text())["extra"]["arch"] is None
    assert "| architecture | as the starting model |" in (tmp_path / "b" / "model" / "README.md").read_text()


# -- 3. --arch NAME trains the configuration `models info NAME` shows ----------------------------------------------


@pytest.mark.parametrize(("task", "arch"), [("snow", "desnownet-light"), ("rain", "j4rnet-wide")])
def test_arch_from_scratch_trains_the_named_models_config(tmp_path: Path, clean: Path, task: str, arch: str) -> None:
    """The no-harm settings of a name that ships weights (its config.json, what `models info` shows) are
    trained and saved, including J4R-Net's inference-only ones, so the trained folder acts like the name."""
    folder = bundled_weights_dir(arch)
    assert folder is not None
    shown = json.loads((folder / "config.json").read_text())
    args = ["--task", task, "--clean", str(clean), "--arch", arch, "--steps", "1", "--batch-size", "1",
            "--crop", "16", "--workers", "0", "-q"]  # fmt: skip
    assert _train(*args, "-o", str(tmp_path / "run")).code == 0
    trained = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert {k: trained.get(k) for k in shown} == {k: v for k, v in shown.items()}
    assert shown["pass_through"] > 0  # the gate is on in both
    off = _train(*args, "--pass-through", "0", "-o", str(tmp_path / "off"))  # still the override; also its veil
    assert off.code == 0, off.err
    config = json.loads((tmp_path / "off" / "model" / "config.json").read_text())
    assert config["pass_through"] == 0 and not config.get("veil_threshold")


# -- 4. option checks: one line, exit code 2, nothing written ------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [["--seed", "-1"], ["--lr", "-1"], ["--lr", "0"], ["--lr", "nan"], ["--time-limit", "-1"], ["--lambda-z", "-1"],
     ["--lambda-w", "nan"], ["--lambda-colour", "inf"], ["--frames", "3"], ["--threads", "0"],
     ["--pass-through", "nan"]],
    ids=lambda bad: " ".join(bad),
)  # fmt: skip
def test_bad_values_are_refused_before_anything_is_written(
    tmp_path: Path, clean: Path, tiny_arch: str, bad: list[str]
) -> None:
    result = _train(*_snow(clean, tmp_path / "run", tiny_arch, *bad))
    assert result.code == 2, result.out
    assert "Traceback" not in result.out and bad[0] in result.out
    assert not (tmp_path / "run").exists()


# -- 5. the push advice fits train ---------------------------------------------------------------------------------


def test_push_without_a_login_says_what_works_for_train(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    import weatherclean.models.hub as hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    monkeypatch.setattr(hub, "offline_mode", lambda: False)
    result = _train(*_snow(clean, tmp_path / "run", tiny_arch, "--push-to-hub", "me/x"))
    assert result.code == 2
    message = _error_line(result)
    assert "not logged in" in message and "--token" not in message and "HF_TOKEN" in message
    assert f"weatherclean models push {tmp_path / 'run' / 'model'} me/x" in message
    assert not (tmp_path / "run").exists()


def test_quiet_push_shows_no_upload_progress_bar(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub.utils import are_progress_bars_disabled

    import weatherclean.models.hub as hub

    bars_off_during_push = []

    def push_folder(folder: Path, repo: str, **_: object) -> SimpleNamespace:
        bars_off_during_push.append(are_progress_bars_disabled())
        return SimpleNamespace(spec=f"{repo}@{'0' * 40}")

    monkeypatch.setattr(hub, "check_push_ready", lambda repo: None)
    monkeypatch.setattr(hub, "push_folder", push_folder)
    before = are_progress_bars_disabled()
    result = _train(*_snow(clean, tmp_path / "run", tiny_arch, "--push-to-hub", "me/x"))
    assert result.code == 0, result.err
    assert bars_off_during_push == [True] and are_progress_bars_disabled() == before


# -- 6. the default run folder follows --task; another task's run is named as such ---------------------------------


def test_default_run_folder_follows_the_task_and_another_tasks_run_is_named(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rain = ["--task", "rain", "--clean", str(clean), "--arch", "j4rnet-light", "--steps", "1", "--batch-size", "1",
            "--crop", "16", "--workers", "0", "-q"]  # fmt: skip
    assert _train(*rain).code == 0
    assert (tmp_path / "runs" / "rain" / "model").is_dir() and not (tmp_path / "runs" / "snow").exists()
    snow = _train(*_snow(clean, Path("runs/rain"), tiny_arch))
    assert snow.code == 2
    assert _error_line(snow) == "error: runs/rain holds a rain run (j4rnet-light); use another -o for a snow run"
    help_text = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "runs/TASK" in help_text


# -- 7. the tester's workflow findings ----------------------------------------------------------------------------


def _tiny(run: Path, arch: str, *data: str) -> list[str]:
    """``train`` on the tiny architecture with any data options (``_snow`` always passes --clean)."""
    return [
        "--task", "snow", *data, "--arch", arch, "-o", str(run), "--steps", "3", "--batch-size", "1", "--crop", "24",
        "--warmup", "1", "--workers", "0", "--threads", "1", "-q",
    ]  # fmt: skip


#: A run of one tiny step, for a command that should be refused (without the check it would train).
_SHORT = ("--steps", "1", "--batch-size", "1", "--crop", "16", "--workers", "0", "--threads", "1", "-q")


def _pairs(root: Path, *, sizes: tuple[int, int] = (32, 32), missing_gt: bool = False) -> Path:
    """A Snow100K-layout folder with one pair: ``sizes`` are the snowy and the gt picture's widths (two sizes:
    found only when the pair is first read); ``missing_gt`` leaves the gt out (found when the folder is listed)."""
    from PIL import Image

    for sub in ("synthetic", "gt"):
        (root / sub).mkdir(parents=True)
    Image.new("RGB", (sizes[0], 32), (90, 120, 150)).save(root / "synthetic" / "a.png")
    if not missing_gt:
        Image.new("RGB", (sizes[1], 32), (80, 110, 140)).save(root / "gt" / "a.png")
    return root


def test_a_data_folder_is_the_folder_the_run_started_from(
    tmp_path: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--clean photos` recorded as typed was compared from today's working folder: the same folder named
    from inside the run (`../photos`) was refused, and another folder's `photos` was taken for it and trained
    on, rewriting the run's settings."""
    a, b = tmp_path / "pA", tmp_path / "pB"
    write_clean(a / "photos", seed=1, n=2, size=32)
    write_clean(b / "photos", seed=2, n=2, size=32)
    monkeypatch.chdir(a)
    assert _train(*_snow(Path("photos"), Path("run"), tiny_arch, "--time-limit", "0")).code == 0
    settings = (a / "run" / "train_config.json").read_bytes()
    assert json.loads(settings)["extra"]["clean"] == [str((a / "photos").resolve())]
    monkeypatch.chdir(b)  # another folder, by the same relative name
    other = _train(*_snow(Path("photos"), Path("../pA/run"), tiny_arch))
    assert other.code == 2 and "--clean" in _error_line(other) and str(b.resolve() / "photos") in other.err
    assert (a / "run" / "train_config.json").read_bytes() == settings and not (a / "run" / "model").exists()
    monkeypatch.chdir(a / "run")  # the same folder, named from inside the run
    same = _train(*_snow(Path("../photos"), Path("."), tiny_arch))
    assert same.code == 0, same.err
    assert json.loads((a / "run" / "train_config.json").read_text())["extra"] == json.loads(settings)["extra"]
    assert "--clean ../photos" in (a / "run" / "model" / "README.md").read_text()


def test_a_run_moved_with_its_data_resumes(tmp_path: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project copied to another machine or mount: the recorded absolute data folder no longer exists, and
    the same command there was refused as other data; where the folder sits seen from the run decides."""
    import shutil

    a, b = tmp_path / "machineA" / "proj", tmp_path / "machineB" / "proj"
    write_clean(a / "photos", seed=1, n=2, size=32)
    monkeypatch.chdir(a)
    assert _train(*_snow(Path("photos"), Path("run"), tiny_arch, "--time-limit", "0")).code == 0
    shutil.copytree(a, b)
    shutil.rmtree(a)
    monkeypatch.chdir(b)
    moved = _train(*_snow(Path("photos"), Path("run"), tiny_arch, "--time-limit", "0"))
    assert moved.code == 0, moved.err
    extra = json.loads((b / "run" / "train_config.json").read_text())["extra"]
    assert extra["clean"] == [str((b / "photos").resolve())] and extra["run_folder"] == str((b / "run").resolve())
    write_clean(b / "other", seed=2, n=2, size=32)  # a folder elsewhere is still other data
    assert _train(*_snow(Path("other"), Path("run"), tiny_arch, "--time-limit", "0")).code == 2


def test_a_resumed_run_keeps_the_data_paths_it_recorded(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run recorded with a relative path (as earlier releases wrote them) resumes with the folder given
    another way, and its settings keep the path as recorded."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch, "--time-limit", "0")).code == 0
    settings = json.loads((run / "train_config.json").read_text())
    settings["extra"]["clean"] = ["clean"]  # relative to the folder it was typed in, as before
    (run / "train_config.json").write_text(json.dumps(settings))
    assert _train(*_snow(clean.resolve(), run, tiny_arch, "--time-limit", "0")).code == 0
    assert json.loads((run / "train_config.json").read_text())["extra"]["clean"] == ["clean"]


@pytest.mark.parametrize("task", ["snow", "rain"])
@pytest.mark.parametrize(
    ("extra", "named"),
    [(["--clean", "CLEAN"], "--dataset with --clean: a run trains on --dataset pairs or on weather synthesised"),
     (["--skimage-samples"], "--dataset with --skimage-samples"),
     (["--no-haze"], "--no-haze: only")],
    ids=["clean", "skimage", "no-haze"],
)  # fmt: skip
def test_dataset_with_photo_options_is_refused(
    tmp_path: Path, clean: Path, task: str, extra: list[str], named: str
) -> None:
    """They were ignored, yet the model card listed them as training data."""
    args = ["--task", task, "--dataset", str(_pairs(tmp_path / "pairs")), "-o", str(tmp_path / "run"), *_SHORT]
    result = _train(*args, *[str(clean) if e == "CLEAN" else e for e in extra])
    assert result.code == 2 and named in _error_line(result)
    assert not (tmp_path / "run").exists()


def test_no_haze_is_refused_for_rain(tmp_path: Path, clean: Path) -> None:
    result = _train("--task", "rain", "--clean", str(clean), "--no-haze", "-o", str(tmp_path / "run"), *_SHORT)
    assert result.code == 2 and "--no-haze: only synthetic snow has a veil" in _error_line(result)


def test_clean_photos_leave_out_an_earlier_synth_output(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    """`synth snow photos photos/snowy` leaves snowy pictures and masks inside the photos: synth passes over
    such a folder, and now train does too, with the same note; the synth output itself is refused."""
    from weatherclean.training.tasks import SnowTask

    made = CliRunner().invoke(app, ["synth", "snow", str(clean), str(clean / "snowy"), "-q"])
    assert made.exit_code == 0, made.output
    notes: list[str] = []
    images = SnowTask(clean=[clean], note=notes.append).clean_images()
    assert sorted(Path(str(p)).name for p in images) == ["c0.png", "c1.png"]
    assert notes == [f"skipped 1 folder(s) in {clean} that hold an earlier synth output (synth.json; e.g. snowy): "
                     "they are not clean photos"]  # fmt: skip
    shown = _train(*[a for a in _snow(clean, tmp_path / "run", tiny_arch) if a != "-q"])
    assert shown.code == 0 and "note: skipped 1 folder(s)" in shown.err, shown.err
    refused = _train(*_snow(clean / "snowy", tmp_path / "r2", tiny_arch))
    assert refused.code == 2 and "holds synth.json: it is the output of an earlier synth" in _error_line(refused)
    assert not (tmp_path / "r2").exists()


@pytest.mark.parametrize("where", ["afile", "afile/x", "/proc/run"])
def test_a_run_folder_that_cannot_be_made_is_refused_before_any_work(
    tmp_path: Path, clean: Path, tiny_arch: str, where: str
) -> None:
    if where.startswith("/proc") and not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    (tmp_path / "afile").write_text("mine")
    run = Path(where) if where.startswith("/") else tmp_path / where
    result = _train(*_snow(clean, run, tiny_arch))  # a traceback (FileExistsError, ...) would raise here
    assert result.code == 2
    assert _error_line(result).startswith(f"error: {run}: ") and "choose another -o" in result.err
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("bad", ["missing gt", "two sizes"])
def test_no_resume_with_bad_data_leaves_the_earlier_run_where_it_was(
    tmp_path: Path, clean: Path, tiny_arch: str, bad: str
) -> None:
    """The earlier run was moved into previous-*/ before the data was read: a command that then failed left
    the run folder without its model. A pair of two sizes is found only when first read, in the first step."""
    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    pairs = _pairs(tmp_path / "pairs", sizes=(32, 40), missing_gt=bad == "missing gt")
    result = _train(*_tiny(run, tiny_arch, "--dataset", str(pairs)), "--no-resume")
    assert result.code == 2 and ("no ground truth" if bad == "missing gt" else "differs from its gt") in result.err
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert not list(run.glob("previous-*"))


def test_a_train_that_fails_on_its_data_makes_no_run_folder(tmp_path: Path, clean: Path, tiny_arch: str) -> None:
    """It left a folder holding only train_config.json and an empty log. An unreadable photo is still refused
    (the card names the folder), with what to do about it."""
    run = tmp_path / "run"
    for data, said in (
        (["--dataset", str(_pairs(tmp_path / "pairs", missing_gt=True))], "no ground truth"),
        (["--dataset", str(_pairs(tmp_path / "pairs2", sizes=(32, 40)))], "differs from its gt"),
        (["--clean", str(tmp_path / "nowhere")], "--clean folder not found"),
    ):
        result = _train(*_tiny(run, tiny_arch, *data))
        assert result.code == 2 and said in _error_line(result)
        assert not run.exists(), data
    (clean / "broken.jpg").write_bytes(b"not a photo")
    result = _train(*_snow(clean, run, tiny_arch))
    assert result.code == 2 and not run.exists()
    assert f"{clean / 'broken.jpg'}: not an image" in _error_line(result) and "fix or remove this photo" in result.err


def test_the_same_command_on_a_finished_run_leaves_its_model_and_card(
    tmp_path: Path, clean: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun (a script run again from its top) wrote the model and the card again, losing what a user had
    added to the card; now it says the run has finished and touches nothing. A card still the placeholder
    save_pretrained writes (a run stopped just before its card) is written."""
    import weatherclean.models.hub as hub

    run = tmp_path / "run"
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    card = run / "model" / "README.md"
    card.write_text(card.read_text() + "\nMy scores: 30 dB.\n")
    before = {p.relative_to(run): (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()}
    again = _train(*[a for a in _snow(clean, run, tiny_arch) if a != "-q"])
    assert again.code == 0 and f"{run} has finished already (3 steps)" in again.out, again.out
    assert {p.relative_to(run): (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()} == before
    pushed: list[tuple[Path, str]] = []
    monkeypatch.setattr(hub, "check_push_ready", lambda repo: None)
    monkeypatch.setattr(hub, "push_folder", lambda folder, repo, **_: pushed.append((folder, repo))
                        or SimpleNamespace(spec=f"{repo}@{'0' * 40}"))  # fmt: skip
    assert _train(*_snow(clean, run, tiny_arch, "--push-to-hub", "me/x")).code == 0
    assert pushed == [(run / "model", "me/x")] and "My scores: 30 dB." in card.read_text()  # as it is
    card.write_text("This model has been pushed to the Hub using the [PytorchModelHubMixin](...) integration")
    assert _train(*_snow(clean, run, tiny_arch)).code == 0
    assert "weatherclean train --task snow" in card.read_text()


def test_init_of_the_other_task_gets_advice_for_train(tmp_path: Path, clean: Path) -> None:
    """A rain model folder given to a snow run said to use it with load_restorer('rain', ...)."""
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    J4RNet(J4RNetConfig(channels=8, hidden=8, stride=2)).save_pretrained(tmp_path / "rainy")
    result = _train("--task", "snow", "--clean", str(clean), "--init", str(tmp_path / "rainy"), "-o",
                    str(tmp_path / "run"), *_SHORT)  # fmt: skip
    assert result.code == 2
    line = _error_line(result)
    assert f"--init {tmp_path / 'rainy'}: a rain model; to fine-tune it, use --task rain, or pick a snow model" in line
    assert "load_restorer" not in line and not (tmp_path / "run").exists()


def test_train_names_the_sets_it_found_unless_quiet(tmp_path: Path, tiny_arch: str) -> None:
    """The finders' notes never reached the console in training: two sets, or a test split, trained on silently."""
    data = tmp_path / "data"
    _pairs(data / "test" / "Snow100K-S")
    _pairs(data / "test" / "Snow100K-M")
    loud = [a for a in _tiny(tmp_path / "run", tiny_arch, "--dataset", str(data)) if a != "-q"]
    result = _train(*loud)
    assert result.code == 0, result.err
    assert "training on 2 sets" in result.err and "training on a test split" in result.err
    quiet = _train(*_tiny(tmp_path / "run2", tiny_arch, "--dataset", str(data)))
    assert quiet.code == 0 and "note:" not in quiet.err
