"""Models from the Hugging Face Hub, tested against a local stand-in (``hub_standin.py``), never huggingface.co.

Every test gets its own Hub cache under ``tmp_path`` and a stand-in server on 127.0.0.1; huggingface_hub is
pointed at it, and a request hook fails any request that would go anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants
from PIL import Image
from typer.testing import CliRunner

from hub_standin import StandinHub, serving
from weatherclean.errors import ModelError
from weatherclean.models.desnownet import DesnowNet, DesnowNetConfig
from weatherclean.models.registry import ModelSpec, describe_weights, load_model, register_model, unregister_model

TINY = DesnowNetConfig(width=0.125, blocks=(1, 1, 1), descriptor_stride=4, head_channels=8, pyramid_channels=8)
PINNED_NAME = "tiny-hub-test"
CARD = """---
library_name: weatherclean
license: mit
model-index:
- name: tiny
  results:
  - task: {type: image-to-image, name: Snow removal}
    dataset: {name: Snow100K-S, type: snow100k, split: test}
    metrics:
    - {type: psnr, value: 30.5, name: PSNR}
    - {type: ssim, value: 0.91, name: SSIM}
---

# tiny

A tiny DesnowNet for tests.
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _one_line(exc: pytest.ExceptionInfo[ModelError]) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A tiny DesnowNet written by save_pretrained, with a model card that has scores."""
    torch.manual_seed(0)
    model = DesnowNet(TINY)
    with torch.no_grad():  # move away from the identity init, so "same weights" means something
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    folder = tmp_path_factory.mktemp("saved") / "tiny"
    model.save_pretrained(folder)
    (folder / "README.md").write_text(CARD)
    return folder, {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture
def hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved_model: tuple[Path, dict[str, torch.Tensor]]
) -> Iterator[StandinHub]:
    """A running stand-in Hub with ``test/tiny`` and ``test/no-weights``, and huggingface_hub pointed at it."""
    with serving(tmp_path / "hf", monkeypatch) as standin:
        standin.add_repo("test/tiny", saved_model[0])
        standin.add_repo(
            "test/no-weights", files={"config.json": b'{"model_type": "desnownet"}', "README.md": b"# x\n"}
        )
        yield standin


@pytest.fixture
def pinned(hub: StandinHub) -> Iterator[ModelSpec]:
    """A registered model pinned to the stand-in's ``test/tiny`` commit and the sha256 of its files."""
    repo = hub.repos["test/tiny"]
    spec = ModelSpec(
        PINNED_NAME,
        "snow",
        "tiny test model from the stand-in Hub",
        repo_id="test/tiny",
        revision=repo.commit,
        sha256={name: _sha256(repo.files[name]) for name in ("config.json", "model.safetensors")},
    )
    register_model(spec, replace=True)
    try:
        yield spec
    finally:
        unregister_model(PINNED_NAME)


def _assert_same_weights(model: torch.nn.Module, expected: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def _resolve_gets(hub: StandinHub) -> list[str]:
    return [path for method, path in hub.requests if method == "GET" and "/resolve/" in path]


# -- downloads and the cache -------------------------------------------------------------------------------


def test_first_download_gives_the_saved_model(hub: StandinHub, saved_model: tuple[Path, dict]) -> None:
    commit = hub.repos["test/tiny"].commit
    model = load_model(f"test/tiny@{commit}")
    _assert_same_weights(model, saved_model[1])
    assert ("GET", f"/test/tiny/resolve/{commit}/model.safetensors") in hub.requests
    snapshot = Path(constants.HF_HUB_CACHE) / "models--test--tiny" / "snapshots" / commit
    assert (snapshot / "model.safetensors").is_file() and (snapshot / "README.md").is_file()


def test_cache_hit_for_a_full_commit_makes_no_request(hub: StandinHub, saved_model: tuple[Path, dict]) -> None:
    spec = f"test/tiny@{hub.repos['test/tiny'].commit}"
    load_model(spec)
    hub.clear_requests()
    _assert_same_weights(load_model(spec), saved_model[1])
    assert hub.requests == []


def test_branch_checks_the_hub_but_downloads_nothing_again(hub: StandinHub) -> None:
    load_model("test/tiny")
    assert _resolve_gets(hub)
    hub.clear_requests()
    load_model("test/tiny")
    assert hub.requests and not _resolve_gets(hub)


@pytest.mark.parametrize("how", ["argument", "env", "constant"])
def test_offline_mode_uses_the_cache_only(
    hub: StandinHub, saved_model: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    commit = hub.repos["test/tiny"].commit
    load_model("test/tiny")  # a branch: offline use needs the cache's refs/main
    hub.clear_requests()
    offline: bool | None = None
    if how == "argument":
        offline = True
    elif how == "env":  # set after huggingface_hub was imported
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # as huggingface_hub reads HF_HUB_OFFLINE at import
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    for spec in ("test/tiny", f"test/tiny@{commit}"):
        _assert_same_weights(load_model(spec, device="cpu", offline=offline), saved_model[1])
    assert hub.requests == []  # the stand-in still runs: any request would have been recorded


def test_offline_with_a_cache_it_cannot_read_says_so(hub: StandinHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache shared on a lab server, filled by another user with a private umask: huggingface_hub answers "not in
    the cache", and the advice to download it once led to a download that failed the same way (a lab tester's
    finding). Root can read any folder, so the refusal is stood in for by ``os.access``."""
    from huggingface_hub import constants

    from weatherclean.models import hub as hub_module

    hub_module.download("test/tiny")  # cached now
    entry = Path(constants.HF_HUB_CACHE) / "models--test--tiny"
    real_access = os.access
    monkeypatch.setattr(hub_module.os, "access", lambda path, mode: Path(path) != entry and real_access(path, mode))
    monkeypatch.setattr(hub_module, "_from_cache", lambda *_args: None)  # what huggingface_hub answers then
    with pytest.raises(ModelError) as exc:
        hub_module.download("test/tiny", offline=True)
    message = _one_line(exc)
    assert message.startswith(f"cannot read the Hub cache {entry} (Permission denied") and "HF_HUB_CACHE" in message


def test_offline_without_cache_says_what_to_do(hub: StandinHub) -> None:
    with pytest.raises(ModelError) as exc:
        load_model(f"test/tiny@{hub.repos['test/tiny'].commit}", offline=True)
    message = _one_line(exc)
    assert "not in the local Hub cache" in message and "offline" in message
    assert "weatherclean models download test/tiny@" in message
    assert hub.requests == []


# -- errors ------------------------------------------------------------------------------------------------


def test_unknown_repo(hub: StandinHub) -> None:
    with pytest.raises(ModelError) as exc:
        load_model("test/nope")
    message = _one_line(exc)
    assert "'test/nope' not found" in message and "HF_TOKEN" in message


def test_unknown_revision(hub: StandinHub) -> None:
    with pytest.raises(ModelError) as exc:
        load_model("test/tiny@v9")
    message = _one_line(exc)
    assert "no revision 'v9'" in message and "branch, tag or commit" in message


def test_missing_model_file(hub: StandinHub) -> None:
    with pytest.raises(ModelError) as exc:
        load_model("test/no-weights")
    message = _one_line(exc)
    assert "has no model.safetensors" in message and "save_pretrained" in message


@pytest.mark.parametrize("pin", [False, True])
def test_no_network_fails_fast_with_a_clear_message(hub: StandinHub, pin: bool) -> None:
    spec = f"test/tiny@{hub.repos['test/tiny'].commit}" if pin else "test/tiny"
    hub.stop()
    start = time.perf_counter()
    with pytest.raises(ModelError) as exc:
        load_model(spec)
    # huggingface_hub retries failed file requests with backoff for ~20 s; the first, non-retrying API call
    # must have answered instead.
    assert time.perf_counter() - start < 5
    message = _one_line(exc)
    assert "cannot reach the Hub" in message and hub.url in message and "check your connection" in message


def test_no_network_falls_back_to_a_cached_branch(
    hub: StandinHub, saved_model: tuple[Path, dict], caplog: pytest.LogCaptureFixture
) -> None:
    load_model("test/tiny")
    hub.stop()
    _assert_same_weights(load_model("test/tiny"), saved_model[1])
    assert "using the cached 'test/tiny'" in caplog.text


def test_a_path_is_always_a_folder_and_never_asked_of_the_hub(
    hub: StandinHub, saved_model: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load_restorer("snow", Path("runs/mine"))``, a missing folder, was looked up on the Hub and, offline,
    reported as "cannot reach the Hub ... check your connection"."""
    import shutil

    from weatherclean import load_restorer

    monkeypatch.chdir(tmp_path)
    hub.clear_requests()
    for path in (Path("runs/mine"), Path("test/tiny"), Path("desnownet-light")):  # a Hub id, a registered name
        for offline in (None, True):
            with pytest.raises(ModelError) as exc:
                load_restorer("snow", path, device="cpu", offline=offline)
            assert _one_line(exc) == (
                f"model folder '{path}' not found; check the path (a trained run keeps it in RUN/model)"
            )
    assert hub.requests == []
    shutil.copytree(saved_model[0], tmp_path / "runs" / "mine")
    for given in (Path("runs/mine"), "runs/mine"):  # a folder that exists is the folder, however it is named
        _assert_same_weights(load_restorer("snow", given, device="cpu", precision="fp32").model, saved_model[1])
    assert hub.requests == []


def test_a_str_that_is_no_folder_is_asked_of_the_hub_and_its_error_says_no_folder_either(
    hub: StandinHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``"runs/mine"`` is a Hub id too, so it is still looked up there; a failure now also says no such local
    folder exists, so that a mistyped path is recognisable, in the run and in ``--dry-run`` alike."""
    from weatherclean import load_restorer
    from weatherclean.cli import app

    monkeypatch.chdir(tmp_path)
    start = "'runs/mine' is neither a local model folder (check the path) nor loadable from the Hub: "
    with pytest.raises(ModelError) as exc:
        load_restorer("snow", "runs/mine", device="cpu")
    assert _one_line(exc).startswith(start + "Hub repo 'runs/mine' not found")  # the stand-in has no such repo
    with pytest.raises(ModelError) as exc:
        load_restorer("snow", "runs/mine", device="cpu", offline=True)
    assert _one_line(exc).startswith(start) and "not in the local Hub cache" in _one_line(exc)
    Image.new("RGB", (16, 12)).save(tmp_path / "a.png")
    result = CliRunner().invoke(app, ["desnow", "a.png", "--dry-run", "--offline", "--model", "runs/mine"])
    assert result.exit_code == 2 and " ".join(result.stderr.split()).startswith(f"error: {start}"), result.stderr
    hub.stop()
    with pytest.raises(ModelError) as exc:
        load_restorer("snow", "runs/mine", device="cpu")
    assert _one_line(exc).startswith(start + "cannot reach the Hub") and "check your connection" in _one_line(exc)
    with pytest.raises(ModelError) as exc:
        load_model("test/tiny")  # a real repo id with no network: the same words, and still the Hub's advice
    assert _one_line(exc).startswith("'test/tiny' is neither a local model folder") and hub.url in _one_line(exc)


# -- registered, pinned models -----------------------------------------------------------------------------


def test_corrupt_download_is_caught_by_the_pinned_sha256(
    hub: StandinHub, pinned: ModelSpec, saved_model: tuple[Path, dict]
) -> None:
    from weatherclean.cli import app

    hub.corrupt("test/tiny", "model.safetensors")
    served = hub.repos["test/tiny"].served["model.safetensors"]
    with pytest.raises(ModelError) as exc:
        load_model(PINNED_NAME)
    message = _one_line(exc)
    cache = Path(constants.HF_HUB_CACHE) / "models--test--tiny"
    assert "corrupt" in message and "model.safetensors" in message
    assert _sha256(served)[:12] in message and pinned.sha256["model.safetensors"][:12] in message
    assert str(cache) in message and f"weatherclean models download {PINNED_NAME} --force" in message

    hub.repair("test/tiny", "model.safetensors")
    with pytest.raises(ModelError, match="corrupt"):  # still corrupt in the cache: checked on cache hits too
        load_model(PINNED_NAME)
    result = CliRunner().invoke(app, ["models", "download", PINNED_NAME, "--force"])
    assert result.exit_code == 0, result.output
    _assert_same_weights(load_model(PINNED_NAME), saved_model[1])


def test_corrupted_cache_file_is_caught_without_network(hub: StandinHub, pinned: ModelSpec) -> None:
    load_model(PINNED_NAME)
    snapshot = Path(constants.HF_HUB_CACHE) / "models--test--tiny" / "snapshots" / str(pinned.revision)
    blob = (snapshot / "config.json").resolve()
    blob.write_bytes(blob.read_bytes().replace(b'"width": 0.125', b'"width": 0.250'))
    hub.clear_requests()
    with pytest.raises(ModelError) as exc:
        load_model(PINNED_NAME)
    assert "corrupt: config.json" in _one_line(exc)
    assert hub.requests == []


def test_dry_run_checks_a_hub_model_from_the_cache_only(
    hub: StandinHub, pinned: ModelSpec, tmp_path: Path, saved_model: tuple[Path, dict]
) -> None:
    """``desnow --dry-run`` never asks the Hub: an uncached model gets a note (also in --json) unless offline
    mode is on, where the run would fail and so does the dry run; a malformed id and a corrupt cached file
    fail it as they fail the run."""
    from weatherclean.cli import app

    Image.new("RGB", (16, 12), (40, 80, 120)).save(tmp_path / "a.png")

    def dry_run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["desnow", str(tmp_path / "a.png"), "--dry-run", *args])
        return result.exit_code, result.stdout, result.stderr

    hub.clear_requests()
    code, stdout, stderr = dry_run("--model", PINNED_NAME)
    assert code == 0 and "would be desnowed" in stdout and "will download it" in stderr
    code, stdout, _ = dry_run("--model", "test/tiny", "--json")
    assert code == 0 and "will download it" in json.loads(stdout)["notes"][0]
    code, _, stderr = dry_run("--model", PINNED_NAME, "--offline")
    assert code == 2 and "not in the local Hub cache" in stderr and "offline mode is on" in stderr
    code, _, stderr = dry_run("--model", "test/tiny@")
    assert code == 2 and "not a Hub repo id" in stderr
    assert hub.requests == []
    load_model(PINNED_NAME)  # now cached: checked offline, by its pins, with no note
    hub.clear_requests()
    code, _, stderr = dry_run("--model", PINNED_NAME, "--offline")
    assert code == 0 and stderr == ""
    snapshot = Path(constants.HF_HUB_CACHE) / "models--test--tiny" / "snapshots" / str(pinned.revision)
    blob = (snapshot / "config.json").resolve()
    blob.write_bytes(blob.read_bytes().replace(b'"width": 0.125', b'"width": 0.250'))
    code, _, stderr = dry_run("--model", PINNED_NAME)
    assert code == 2 and "corrupt: config.json" in stderr
    assert hub.requests == []


@pytest.mark.parametrize(
    ("revision", "sha256"),
    [
        ("main", None),
        ("v1.0", None),
        ("abc1234", None),  # a short commit could later match another commit
        ("a" * 39, None),
        ("A" * 40, None),
        (None, None),
        ("a" * 40, {"config.json": "0" * 64}),  # no pin for the weights
        ("a" * 40, {"model.safetensors": "0" * 63}),  # not a sha256
    ],
)
def test_registration_requires_a_full_commit_and_checksums(revision: str | None, sha256: dict | None) -> None:
    digests = {"model.safetensors": "0" * 64} if sha256 is None else sha256
    with pytest.raises(ValueError):
        register_model(ModelSpec("bad-pin", "snow", "x", repo_id="test/tiny", revision=revision, sha256=digests))
    assert unregister_model("bad-pin") is None


# -- the CLI -----------------------------------------------------------------------------------------------


def test_cli_download_prints_the_cache_path(hub: StandinHub, pinned: ModelSpec) -> None:
    from weatherclean.cli import app

    runner = CliRunner()
    for name in (PINNED_NAME, f"test/tiny@{pinned.revision}"):
        result = runner.invoke(app, ["models", "download", name])
        assert result.exit_code == 0, result.output
        folder = Path(result.stdout.strip().splitlines()[-1])
        assert folder == Path(constants.HF_HUB_CACHE).resolve() / "models--test--tiny" / "snapshots" / pinned.revision
        assert (folder / "model.safetensors").is_file()
    assert (
        "sha256 verified: config.json, model.safetensors"
        in runner.invoke(app, ["models", "download", PINNED_NAME]).stdout
    )
    bundled = runner.invoke(app, ["models", "download", "default"])
    assert bundled.exit_code == 0 and "nothing to download" in bundled.stdout
    assert (Path(bundled.stdout.strip().splitlines()[-1]) / "model.safetensors").is_file()  # `tail -n 1` too


def test_cli_info_json(hub: StandinHub, pinned: ModelSpec, saved_model: tuple[Path, dict]) -> None:
    from weatherclean.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["models", "download", PINNED_NAME]).exit_code == 0
    hub.stop()  # --offline: everything comes from the cache
    result = runner.invoke(app, ["models", "info", PINNED_NAME, "--json", "--offline"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    source = info["source"]
    assert source["kind"] == "hub" and source["repo_id"] == "test/tiny" and source["commit"] == pinned.revision
    assert Path(source["cache_folder"]).name == "models--test--tiny"
    assert set(source["sha256_verified"]) == {"config.json", "model.safetensors"}
    assert info["parameters"] == sum(p.numel() for p in DesnowNet(TINY).parameters())
    assert info["size_mb"] == pytest.approx((saved_model[0] / "model.safetensors").stat().st_size / 1e6, abs=1e-3)
    assert info["config"]["width"] == 0.125
    assert {(s["dataset"], s["metric"], s["value"]) for s in info["scores"]} == {
        ("Snow100K-S", "PSNR", 30.5),
        ("Snow100K-S", "SSIM", 0.91),
    }
    text = runner.invoke(app, ["models", "info", PINNED_NAME, "--offline"])
    assert text.exit_code == 0 and "PSNR" in text.stdout and "30.5" in text.stdout


def test_cli_download_and_info_of_a_local_folder(saved_model: tuple[Path, dict]) -> None:
    """A folder is a model too: its last line is its folder, and its task is its family's."""
    from weatherclean.cli import app

    runner = CliRunner()
    folder = str(saved_model[0])
    download = runner.invoke(app, ["models", "download", folder])
    assert download.exit_code == 0 and Path(download.stdout.strip().splitlines()[-1]) == saved_model[0].resolve()
    info = runner.invoke(app, ["models", "info", folder, "--json"])
    assert info.exit_code == 0 and json.loads(info.stdout)["task"] == "snow"


@pytest.mark.parametrize("args", [["models", "info", "test/nope", "--json", "--offline"],
                                  ["models", "push", "no-such-folder", "someone/x", "--json"]])  # fmt: skip
def test_cli_json_errors_reach_stdout(args: list[str]) -> None:
    """A script reading stdout of --json must never get nothing: an error is a JSON object there too."""
    from weatherclean.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["ok"] is False and error["exit_code"] == 2 and error["error"]


def test_cli_errors_are_one_line_with_exit_code_2(hub: StandinHub) -> None:
    from weatherclean.cli import app

    result = CliRunner().invoke(app, ["models", "download", "test/nope"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "HF_TOKEN" in lines[0]


def test_cli_list_shows_where_weights_come_from(
    hub: StandinHub, pinned: ModelSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weatherclean.cli import app
    from weatherclean.cli.common import console

    assert describe_weights(pinned) == f"Hub test/tiny@{str(pinned.revision)[:8]}"
    monkeypatch.setattr(console, "_width", 250)  # a wide terminal, so rich does not wrap the cells
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert f"Hub test/tiny@{str(pinned.revision)[:8]}" in result.stdout
    assert "desnownet-light (default)" in result.stdout and "bundled" in result.stdout
    assert hub.requests == []  # listing never downloads
