"""Publishing models to the Hub (``models push``, ``train --push-to-hub``) and model cards.

Everything runs against the local stand-in Hub (``hub_standin.py``) on 127.0.0.1, which takes uploads the
way huggingface_hub 2.4 sends them (create repo, preupload, git-LFS batch and PUT, NDJSON commit). A request
hook fails any request that would leave it; nothing here needs a network or a GPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants
from typer.testing import CliRunner

from hub_standin import StandinHub, pointed_at
from synthetic import registered_tiny_snow, tiny_desnownet_config, write_clean
from weatherclean.cli import app
from weatherclean.errors import ModelError
from weatherclean.models import cards
from weatherclean.models.desnownet import DesnowNet
from weatherclean.models.hub import check_push_folder, push_folder
from weatherclean.models.j4rnet import J4RNet, J4RNetConfig
from weatherclean.models.registry import (
    ModelSpec,
    bundled_weights_dir,
    load_from_folder,
    load_model,
    register_model,
    unregister_model,
)

# huggingface_hub's own LFS upload passes a file as `data=`, which httpx2 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

TINY = tiny_desnownet_config()
TINY_ARCH = "tiny-push-test"
TOKEN = "hf_test_write_token"  # the stand-in's user "test" may write to test/*
COMMIT = re.compile(r"[0-9a-f]{40}")


def _tiny_folder(folder: Path, seed: int) -> dict[str, torch.Tensor]:
    """A tiny DesnowNet saved by save_pretrained (with the mixin's own card); returns its weights."""
    torch.manual_seed(seed)
    model = DesnowNet(TINY)
    with torch.no_grad():  # away from the identity init, so "same weights" means something
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.save_pretrained(folder)
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same_weights(model: torch.nn.Module, expected: dict[str, torch.Tensor]) -> bool:
    state = model.state_dict()
    return state.keys() == expected.keys() and all(torch.equal(state[k], v) for k, v in expected.items())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(message: str) -> str:
    assert "\n" not in message, message
    return message


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    folder = tmp_path_factory.mktemp("saved") / "tiny"
    return folder, _tiny_folder(folder, seed=0)


@pytest.fixture
def folder(tmp_path: Path, saved: tuple[Path, dict[str, torch.Tensor]]) -> Path:
    """A fresh copy of the saved tiny model, which a test may change."""
    return Path(shutil.copytree(saved[0], tmp_path / "model"))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinHub]:
    """A stand-in Hub that requires a write token, huggingface_hub pointed at it, and HF_TOKEN set."""
    standin = StandinHub().start()
    standin.tokens = {TOKEN: "test"}
    try:
        with pointed_at(standin, tmp_path / "hf", monkeypatch) as escaped:
            monkeypatch.setenv("HF_TOKEN", TOKEN)
            yield standin
    finally:
        standin.stop()
    assert not escaped, escaped


@pytest.fixture
def tiny_arch() -> Iterator[str]:
    """A registered tiny architecture, so `train --arch` runs in a second."""
    with registered_tiny_snow(TINY_ARCH) as name:
        yield name


# -- push, load back, push again -----------------------------------------------------------------------------


def test_push_then_load_the_exact_commit_back(
    hub: StandinHub, folder: Path, saved: tuple[Path, dict[str, torch.Tensor]]
) -> None:
    (folder / "checkpoint.pt").write_bytes(b"not part of the model")
    result = push_folder(folder, "test/tiny-push")

    assert COMMIT.fullmatch(result.commit) and result.changed
    assert result.repo_url == f"{hub.url}/test/tiny-push" and result.branch == "main"
    assert result.sha256 == {name: _sha256(folder / name) for name in ("config.json", "model.safetensors", "README.md")}
    assert result.skipped == ("checkpoint.pt",) and result.task == "snow"
    repo = hub.repos["test/tiny-push"]
    assert repo.commit == result.commit and "checkpoint.pt" not in repo.files
    # the weights went through git-LFS, the small files inline in the commit, as on the Hub
    assert hub.commits[-1]["files"] == {"config.json": "inline", "model.safetensors": "lfs", "README.md": "inline"}
    assert any(method == "PUT" and path.startswith("/lfs-upload/") for method, path in hub.requests)

    assert _same_weights(load_model(f"test/tiny-push@{result.commit}"), saved[1])
    # what was printed pins it: a registered model with these checksums loads (and is verified)
    spec = ModelSpec("pushed-tiny", "snow", "x", repo_id=result.repo_id, revision=result.commit, sha256=result.pins)
    register_model(spec, replace=True)
    try:
        assert _same_weights(load_model("pushed-tiny"), saved[1])
    finally:
        unregister_model("pushed-tiny")


def test_pushing_again_makes_a_new_commit_only_when_files_change(
    hub: StandinHub, folder: Path, saved: tuple[Path, dict[str, torch.Tensor]], caplog: pytest.LogCaptureFixture
) -> None:
    first = push_folder(folder, "test/tiny-push")
    with caplog.at_level(logging.INFO):
        same = push_folder(folder, "test/tiny-push")
    assert not same.changed and same.commit == first.commit and len(hub.commits) == 1
    assert not [r for r in caplog.records if r.name.startswith("huggingface_hub")]  # the result says it once

    new_weights = _tiny_folder(folder, seed=1)
    second = push_folder(folder, "test/tiny-push", commit_message="retrained")
    assert second.changed and second.commit != first.commit
    repo = hub.repos["test/tiny-push"]
    assert repo.parents[second.commit] == first.commit and repo.messages[second.commit] == "retrained"
    assert second.sha256["model.safetensors"] != first.sha256["model.safetensors"]
    assert second.sha256["config.json"] == first.sha256["config.json"]
    # both commits stay loadable by their hash; the default branch moved on
    assert _same_weights(load_model(f"test/tiny-push@{first.commit}"), saved[1])
    assert _same_weights(load_model(f"test/tiny-push@{second.commit}"), new_weights)
    assert _same_weights(load_model("test/tiny-push"), new_weights)


def test_cli_push_to_a_private_branch_with_json(hub: StandinHub, folder: Path) -> None:
    result = CliRunner().invoke(
        app, ["models", "push", str(folder), "test/tiny-branch", "--branch", "v2", "--private", "--json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    repo = hub.repos["test/tiny-branch"]
    assert repo.private and info["private"] is True
    assert (
        info["branch"] == "v2"
        and repo.refs["v2"] == info["commit"]
        and info["model"] == f"test/tiny-branch@{info['commit']}"
    )
    assert set(repo.files) == {".gitattributes"}  # main keeps the repo's first commit
    assert info["sha256"]["model.safetensors"] == _sha256(folder / "model.safetensors")


def test_cli_push_prints_what_pins_the_model(hub: StandinHub, folder: Path) -> None:
    result = CliRunner().invoke(app, ["models", "push", str(folder), "test/tiny-text"])
    assert result.exit_code == 0, result.output
    commit = hub.repos["test/tiny-text"].commit
    out = result.stdout
    assert f"{hub.url}/test/tiny-text" in out and f"commit  {commit}" in out
    for name in ("model.safetensors", "config.json"):
        assert f"sha256  {_sha256(folder / name)}  {name}" in out
    assert f"--model test/tiny-text@{commit}" in out
    assert f'revision="{commit}"' in out and f'"model.safetensors": "{_sha256(folder / "model.safetensors")}"' in out


# -- refused before any request ----------------------------------------------------------------------------


def _drop_card(folder: Path) -> None:
    (folder / "README.md").unlink()


def _card_without_license(folder: Path) -> None:  # what save_pretrained writes for J4R-Net
    (folder / "README.md").write_text("---\nlibrary_name: weatherclean\ntags:\n- j4rnet\n---\n\n# x\n")


def _foreign_card(folder: Path) -> None:
    (folder / "README.md").write_text("---\nlicense: mit\nlibrary_name: transformers\ntags: [x]\n---\n# x\n")


def _broken_yaml(folder: Path) -> None:
    (folder / "README.md").write_text("---\nlicense: [mit\n---\n# x\n")


def _drop_config(folder: Path) -> None:
    (folder / "config.json").unlink()


def _drop_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()


def _unknown_type(folder: Path) -> None:
    (folder / "config.json").write_text('{"model_type": "unet"}')


def _other_weights(folder: Path) -> None:
    J4RNet(J4RNetConfig(channels=8, hidden=8)).save_pretrained(folder / "other")
    shutil.copy(folder / "other" / "model.safetensors", folder / "model.safetensors")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_drop_card, "has no model card (README.md)"),
        (_card_without_license, "has no license"),
        (_foreign_card, "library_name is 'transformers'"),
        (_broken_yaml, "YAML front matter is invalid"),
        (_drop_config, "no config.json"),
        (_drop_weights, "no model.safetensors"),
        (_unknown_type, "'unet' is not a weatherclean model"),
        (_other_weights, "checkpoint does not match its config"),
    ],
)
def test_bad_folders_are_refused_before_any_request(hub: StandinHub, folder: Path, damage, expected: str) -> None:
    damage(folder)
    with pytest.raises(ModelError) as exc:
        push_folder(folder, "test/refused")
    assert expected in _one_line(str(exc.value)) and str(folder) in str(exc.value)
    assert hub.requests == [] and "test/refused" not in hub.repos


def test_missing_card_message_says_how_to_make_one_and_write_card_does(hub: StandinHub, folder: Path) -> None:
    _drop_card(folder)
    result = CliRunner().invoke(app, ["models", "push", str(folder), "test/carded"])
    assert result.exit_code == 2 and "--write-card" in result.stderr and hub.requests == []
    result = CliRunner().invoke(app, ["models", "push", str(folder), "test/carded", "--write-card"])
    assert result.exit_code == 0, result.output
    meta = cards.read_card_metadata(folder / "README.md")
    assert meta["license"] == "mit" and meta["library_name"] == "weatherclean" and "desnowing" in meta["tags"]
    assert hub.repos["test/carded"].files["README.md"] == (folder / "README.md").read_bytes()


@pytest.mark.parametrize("name", ["desnownet-light", "j4rnet-light"])
def test_bundled_models_and_their_hand_written_cards_are_accepted(name: str) -> None:
    folder = bundled_weights_dir(name)
    assert folder is not None
    before = (folder / "README.md").read_bytes()
    assert check_push_folder(folder)["model_type"] in ("desnownet", "j4rnet")
    assert (folder / "README.md").read_bytes() == before


@pytest.mark.parametrize("repo", ["test/bad name", "a/b/c", "test/x--y", "test", "test/ok@" + "a" * 40])
def test_invalid_repo_ids_are_refused_before_any_request(hub: StandinHub, folder: Path, repo: str) -> None:
    with pytest.raises(ModelError) as exc:
        push_folder(folder, repo)
    assert "repo id" in _one_line(str(exc.value)) or "not a commit" in str(exc.value)
    assert hub.requests == []


@pytest.mark.parametrize("how", ["env", "constant"])
def test_offline_mode_refuses_to_push(hub: StandinHub, folder: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="offline mode is on") as exc:
        push_folder(folder, "test/offline")
    _one_line(str(exc.value))
    assert hub.requests == []


def test_not_logged_in_is_refused_before_any_request(
    hub: StandinHub, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ModelError) as exc:
        push_folder(folder, "test/anon")
    message = _one_line(str(exc.value))
    assert "not logged in" in message and "hf auth login" in message and "--token" in message
    assert hub.requests == []


# -- Hub errors ----------------------------------------------------------------------------------------------


def test_rejected_token_is_one_line_with_exit_code_2(hub: StandinHub, folder: Path) -> None:
    result = CliRunner().invoke(app, ["models", "push", str(folder), "test/tiny-401", "--token", "hf_wrong"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "HTTP 401" in lines[0] and str(folder) in lines[0] and "hf auth login" in lines[0]
    assert "test/tiny-401" not in hub.repos


def test_namespace_without_write_access_is_one_line(hub: StandinHub, folder: Path) -> None:
    with pytest.raises(ModelError) as exc:
        push_folder(folder, "someone-else/tiny")
    message = _one_line(str(exc.value))
    assert "HTTP 403" in message and "'someone-else/tiny'" in message and "write access" in message


def test_no_network_fails_fast_with_a_clear_message(hub: StandinHub, folder: Path) -> None:
    hub.stop()
    start = time.perf_counter()
    with pytest.raises(ModelError) as exc:
        push_folder(folder, "test/unreachable")
    assert time.perf_counter() - start < 5
    message = _one_line(str(exc.value))
    assert "cannot reach the Hub" in message and hub.url in message and "run the same command again" in message


# -- train --push-to-hub and the training card -----------------------------------------------------------------


def _train_args(tmp_path: Path, clean: Path, *extra: str) -> list[str]:
    return [
        "train", "--task", "snow", "--clean", str(clean), "-o", str(tmp_path / "run"), "--steps", "2",
        "--batch-size", "1", "--crop", "24", "--warmup", "1", "--workers", "0", "--threads", "1", "-q", *extra,
    ]  # fmt: skip


def test_train_writes_a_card_and_pushes_the_finished_model(
    hub: StandinHub, folder: Path, tmp_path: Path, tiny_arch: str
) -> None:
    base = push_folder(folder, "test/tiny-base")  # fine-tune a Hub model: the card names it as base_model
    clean = write_clean(tmp_path / "clean", seed=1, n=2, size=32)
    args = _train_args(tmp_path, clean, "--init", f"test/tiny-base@{base.commit}", "--push-to-hub", "test/trained")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    final = tmp_path / "run" / "model"
    repo = hub.repos["test/trained"]
    assert f"pushed test/trained@{repo.commit}" in result.stdout
    assert _same_weights(load_model(f"test/trained@{repo.commit}"), load_from_folder(final).state_dict())
    assert repo.files["README.md"] == (final / "README.md").read_bytes()

    meta = cards.read_card_metadata(final / "README.md")
    assert meta["license"] == "mit" and meta["library_name"] == "weatherclean"
    assert meta["pipeline_tag"] == "image-to-image" and {"desnowing", "desnownet"} <= set(meta["tags"])
    assert meta["base_model"] == "test/tiny-base"
    card = (final / "README.md").read_text()
    command = (  # folders relative to the run folder: a published card shows no path of the training machine
        f"weatherclean train --task snow --clean ../clean --init test/tiny-base@{base.commit} -o . "
        "--steps 2 --batch-size 1 --crop 24 --lr 0.0003 --warmup 1 --lambda-z 3 --lambda-w 0.0005 --seed 0 "
        "--push-to-hub test/trained"
    )
    assert command in card and str(tmp_path) not in card and "relative to the run folder" in card
    assert "final training loss" in card and "training time" in card and "| steps | 2, batch 1 |" in card
    assert "Not measured yet" in card and "weatherclean evaluate --task snow" in card
    assert "--model test/trained" in card


@pytest.mark.parametrize("init", ["absolute", "home"])
def test_a_card_never_holds_an_absolute_path(
    folder: Path, tmp_path: Path, init: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local --init (absolute, or '~/model' as a quoted argument leaves it), absolute -o and data folders:
    all written relative to the run folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    given = str(folder.resolve()) if init == "absolute" else "~/model"
    clean = write_clean(tmp_path / "data" / "clean", seed=1, n=1, size=32)
    result = CliRunner().invoke(app, _train_args(tmp_path, clean, "--init", given))
    assert result.exit_code == 0, result.output
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert str(tmp_path) not in card and "/tmp" not in card
    assert "--clean ../data/clean --init ../model -o ." in card and "`../model` (a local model folder)" in card
    assert "--model model" in card  # the run folder's model/


def test_train_checks_the_push_target_before_training(hub: StandinHub, tmp_path: Path, tiny_arch: str) -> None:
    clean = write_clean(tmp_path / "clean", seed=1, n=1, size=32)
    result = CliRunner().invoke(
        app, _train_args(tmp_path, clean, "--arch", tiny_arch, "--push-to-hub", "test/bad name")
    )
    assert result.exit_code == 2 and "not a valid Hub repo id" in result.stderr
    assert not (tmp_path / "run").exists() and hub.requests == []


def test_train_stopped_by_time_limit_does_not_push(hub: StandinHub, tmp_path: Path, tiny_arch: str) -> None:
    clean = write_clean(tmp_path / "clean", seed=1, n=1, size=32)
    args = _train_args(tmp_path, clean, "--arch", tiny_arch, "--time-limit", "0", "--push-to-hub", "test/unfinished")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "not pushed to test/unfinished" in result.stderr and "run the same command again" in result.stderr
    assert not (tmp_path / "run" / "model").exists() and hub.requests == []


def test_failed_push_after_training_keeps_the_model_and_says_how_to_retry(
    hub: StandinHub, tmp_path: Path, tiny_arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_expired")  # present, so training starts; the Hub rejects it at the end
    clean = write_clean(tmp_path / "clean", seed=1, n=1, size=32)
    result = CliRunner().invoke(app, _train_args(tmp_path, clean, "--arch", tiny_arch, "--push-to-hub", "test/late"))
    final = tmp_path / "run" / "model"
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "HTTP 401" in lines[0], result.stderr
    assert f"weatherclean models push {final} test/late" in lines[0]
    assert cards.card_problems(cards.read_card_metadata(final / "README.md")) == []
    assert "test/late" not in hub.repos


def test_training_card_without_hub(tmp_path: Path) -> None:
    """A card rendered for a rain run: its own tags, no base_model, the rain options in the command."""
    settings = {
        "output": "runs/rain2", "steps": 500, "batch_size": 4, "lr": 1e-4, "warmup_steps": 10, "seed": 3,
        "device": "auto", "amp": None,
        "extra": {"task": "rain", "arch": "j4rnet-light", "init": "runs/rain1/model", "dataset": None,
                  "clean": ["my photos"], "skimage_samples": True, "crop": 48, "frames": 9, "level": "heavy"},
    }  # fmt: skip
    history = [{"seconds": 10.0}, {"seconds": 70.0}, {"seconds": 5.0}, {"seconds": 20.0}]  # resumed once
    assert cards.training_seconds(history) == 90.0
    record = cards.TrainingRecord(settings, steps=500, final_loss=0.0123, seconds=90.0)
    text = cards.render_card({"model_type": "j4rnet"}, name="rain2", model_ref="runs/rain2/model", training=record)
    path = cards.write_card(tmp_path, text)
    meta = cards.read_card_metadata(path)
    assert "deraining" in meta["tags"] and "base_model" not in meta and cards.card_problems(meta) == []
    assert (
        "weatherclean train --task rain --clean 'my photos' --skimage-samples --init runs/rain1/model -o runs/rain2 "
        "--steps 500 --batch-size 4 --crop 48 --frames 9 --lr 0.0001 --warmup 10 --level heavy --seed 3"
    ) in text
    assert "0.0123" in text and "1.5 min" in text and "weatherclean derain clip.mp4 --model runs/rain2/model" in text
