"""``--self-ensemble`` / ``--no-self-ensemble`` and ``load_restorer(self_ensemble=...)``: a J4R-Net's
self-ensemble turned on or off in a copy of the model, and a clear error for a model without it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import invoke_command
from weatherclean.cli import derain, evaluate, synth
from weatherclean.errors import ModelError
from weatherclean.models import create_model
from weatherclean.models.j4rnet import J4RNet, J4RNetConfig
from weatherclean.restore import load_restorer, with_self_ensemble

SMALL = J4RNetConfig(channels=8, hidden=8, stride=4, extractor_layers=1, dnet_layers=2, rnet_blocks=1,
                     cnet_blocks=1, jrc_blocks=1, streak_mode="detail", veil_cell=16)  # fmt: skip


def _model(on: bool = False) -> J4RNet:
    torch.manual_seed(0)
    model = J4RNet(dataclasses.replace(SMALL, self_ensemble=on))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def _picture(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (48, 64, 3)).astype(np.float32)


def test_load_restorer_turns_it_on_and_off_in_a_copy() -> None:
    model, x = _model(), _picture()
    plain = load_restorer("rain", model, device="cpu", precision="fp32").restore(x)
    on = load_restorer("rain", model, device="cpu", precision="fp32", self_ensemble=True).restore(x)
    assert not model.config.self_ensemble  # the caller's model is left as it was
    np.testing.assert_allclose(on, load_restorer("rain", _model(on=True), device="cpu", precision="fp32").restore(x))
    assert float(np.abs(on - plain).max()) > 1e-3
    off = load_restorer("rain", _model(on=True), device="cpu", precision="fp32", self_ensemble=False).restore(x)
    np.testing.assert_allclose(off, plain, atol=1e-6)


def test_a_model_without_it_says_so_in_one_line() -> None:
    expected = r"self_ensemble=True \(--self-ensemble\): the model DesnowNet has no self-ensemble setting"
    with pytest.raises(ModelError, match=expected):
        with_self_ensemble(create_model("desnownet-light"), True)
    with pytest.raises(ModelError, match=r"self_ensemble=False \(--no-self-ensemble\): the model 'desnownet-light'"):
        load_restorer("snow", "desnownet-light", device="cpu", self_ensemble=False)


def test_derain_and_evaluate_take_it(tmp_path: Path) -> None:
    _model().save_pretrained(tmp_path / "rain-model")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray((_picture(2) * 255).astype(np.uint8)).save(photos / "a.png")
    outputs = {}
    for flag in ("--self-ensemble", "--no-self-ensemble"):
        out = tmp_path / flag.strip("-")
        code, _, stderr = invoke_command(derain, "derain", str(photos), "-o", str(out), "--model",
                                         str(tmp_path / "rain-model"), "--device", "cpu", flag, "-q")  # fmt: skip
        assert code == 0, stderr
        outputs[flag] = np.asarray(Image.open(out / "a.png"), dtype=np.int16)
    assert np.abs(outputs["--self-ensemble"] - outputs["--no-self-ensemble"]).max() > 0
    pairs = tmp_path / "pairs"
    code, _, stderr = invoke_command(synth, "synth", "rain", str(photos), str(pairs), "--level", "light", "-q")
    assert code == 0, stderr
    model = str(tmp_path / "rain-model")
    code, stdout, stderr = invoke_command(
        evaluate, "evaluate", "--task", "rain", "--dataset", str(pairs), "--model", model, "--self-ensemble",
        "--device", "cpu", "-q",
    )  # fmt: skip
    assert code == 0, stderr
    assert "@ self-ensemble" in stdout  # what ran, in the table
    code, stdout, stderr = invoke_command(
        evaluate, "evaluate", "--task", "rain", "--dataset", str(pairs), "--model", model, "--device", "cpu", "-q"
    )
    assert code == 0, stderr
    assert "self-ensemble" not in stdout  # this folder's config has it off
