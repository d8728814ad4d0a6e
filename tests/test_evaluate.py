"""End-to-end evaluation on a tiny fake Snow100K folder: rows, baselines, reports and the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from rich.console import Console
from scipy.ndimage import gaussian_filter
from typer.testing import CliRunner

from synthetic import StandIn
from weatherclean.cli import evaluate as evaluate_cli
from weatherclean.data.images import read_rgb
from weatherclean.errors import InputError
from weatherclean.evaluation import (
    INPUT_METHOD,
    EvaluationResult,
    ImageScore,
    evaluate_snow,
    median_filter,
    psnr,
    render_summary,
    ssim,
    write_report,
)

NAMES = ("a_0001", "b_0002", "c_0003")
MEDIAN = "median filter 3x3"


def _save(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def snow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Snow100K-S layout with three 40x56 pairs: smooth gt, gt plus white blobs, and the blob mask."""
    root = tmp_path_factory.mktemp("snow") / "test" / "Snow100K-S"
    rng = np.random.default_rng(0)
    for name in NAMES:
        gt = gaussian_filter(rng.random((40, 56, 3)), sigma=(4, 4, 0))
        gt = (gt - gt.min()) / (gt.max() - gt.min()) * 0.8 + 0.1
        mask = np.clip(gaussian_filter((rng.random((40, 56)) > 0.96).astype(float), 1.0) * 5, 0, 1)
        snowy = gt * (1 - mask[..., None]) + mask[..., None]
        _save(root / "gt" / f"{name}.png", gt)
        _save(root / "synthetic" / f"{name}.png", snowy)
        _save(root / "mask" / f"{name}.png", np.repeat(mask[..., None], 3, axis=2))
    return root


def identity(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


def halve(x: torch.Tensor) -> torch.Tensor:
    return x * 0.5


def _rows(result: EvaluationResult, method: str) -> dict[str, ImageScore]:
    return {r.name: r for r in result.rows if r.method == method}


def test_rows_match_direct_metric_calls(snow_root: Path) -> None:
    result = evaluate_snow(snow_root, halve, baselines={MEDIAN: median_filter}, model_label="halve", progress=False)
    assert result.methods == [INPUT_METHOD, MEDIAN, "halve"]
    assert len(result.rows) == len(NAMES) * 3
    for name in NAMES:
        snowy = read_rgb(snow_root / "synthetic" / f"{name}.png")
        gt = read_rgb(snow_root / "gt" / f"{name}.png")
        expected = {
            INPUT_METHOD: snowy,
            MEDIAN: median_filter(snowy),
            "halve": snowy * 0.5,
        }
        for method, image in expected.items():
            row = _rows(result, method)[name]
            assert row.psnr_rgb == pytest.approx(psnr(image, gt), abs=1e-9)
            assert row.ssim_rgb == pytest.approx(ssim(image, gt), abs=1e-9)
            assert row.psnr_y == pytest.approx(psnr(image, gt, y_channel=True), abs=1e-9)
            assert row.ssim_y == pytest.approx(ssim(image, gt, y_channel=True), abs=1e-9)
    # The blobs are what the fake dataset degrades, so the input must score clearly below perfect.
    assert all(r.psnr_rgb < 40 for r in _rows(result, INPUT_METHOD).values())


def test_identity_model_equals_input_row_even_when_tiled(snow_root: Path) -> None:
    result = evaluate_snow(snow_root, identity, tile=24, overlap=8, progress=False)
    assert result.methods == [INPUT_METHOD, "model"]
    inputs, model = _rows(result, INPUT_METHOD), _rows(result, "model")
    for name in NAMES:
        for field in ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"):
            assert getattr(model[name], field) == getattr(inputs[name], field)
    means = {s.method: s for s in result.summary()}
    assert means["model"].psnr_rgb == means[INPUT_METHOD].psnr_rgb
    assert means[INPUT_METHOD].count == len(NAMES)
    assert means[INPUT_METHOD].psnr_rgb == pytest.approx(np.mean([r.psnr_rgb for r in inputs.values()]))


def test_limit_and_no_model(snow_root: Path) -> None:
    result = evaluate_snow(snow_root.parent, None, split="s", limit=2, progress=False)
    assert result.methods == [INPUT_METHOD]
    assert result.split == "S"
    assert [r.name for r in result.rows] == list(NAMES[:2])
    with pytest.raises(InputError, match="limit"):
        evaluate_snow(snow_root, None, limit=0, progress=False)


def test_median_filter_is_per_channel() -> None:
    image = np.zeros((9, 9, 3), dtype=np.float32)
    image[4, 4, 0] = 1.0  # isolated spike: removed
    image[:, 5:, 1] = 1.0  # edge: kept
    out = median_filter(image)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out[..., 0].max() == 0.0
    np.testing.assert_array_equal(out[..., 1], image[..., 1])
    np.testing.assert_array_equal(out[..., 2], 0.0)


def _result_with_inf() -> EvaluationResult:
    result = EvaluationResult(task="snow", dataset="fake")
    result.add(ImageScore("x", "model", math.inf, 1.0, math.inf, 1.0, 0.5))
    result.add(ImageScore("x", INPUT_METHOD, 20.0, 0.5, 21.0, 0.6, 0.0))
    result.add(ImageScore("y", "model", 30.0, 0.9, 31.0, 0.95, 0.25))
    result.add(ImageScore("y", INPUT_METHOD, 22.0, 0.7, 23.0, 0.8, 0.0))
    return result


def test_reports_have_one_row_per_image_and_method(snow_root: Path, tmp_path: Path) -> None:
    result = evaluate_snow(snow_root, identity, baselines={MEDIAN: median_filter}, progress=False)
    csv_path = write_report(result, tmp_path / "out" / "r.csv")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(NAMES) * 3
    assert {(r["name"], r["method"]) for r in rows} == {(n, m) for n in NAMES for m in result.methods}
    assert list(rows[0]) == [
        "name",
        "method",
        "psnr_rgb",
        "ssim_rgb",
        "psnr_y",
        "ssim_y",
        "seconds",
        "split",
        "set",
        "crop_border",
    ]
    assert float(rows[0]["psnr_rgb"]) == pytest.approx(result.rows[0].psnr_rgb, abs=1e-6)

    data = json.loads(write_report(result, tmp_path / "r.json").read_text())
    assert len(data["images"]) == len(NAMES) * 3
    assert [s["method"] for s in data["summary"]] == [INPUT_METHOD, MEDIAN, "model"]
    assert all(s["count"] == len(NAMES) for s in data["summary"])
    assert "BT.601" in data["conventions"]
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "r.csv", "r.json"]


def test_report_infinity_and_bad_suffix(tmp_path: Path) -> None:
    result = _result_with_inf()
    data = json.loads(write_report(result, tmp_path / "r.json").read_text())  # strict JSON, no Infinity
    assert data["images"][0]["psnr_rgb"] is None  # JSON has no infinity: an exact pair is null
    assert data["summary"][1]["psnr_rgb"] == 30.0 and data["summary"][1]["infinite_rgb"] == 1  # left out of the mean
    rows = list(csv.DictReader((write_report(result, tmp_path / "r.csv")).open()))
    assert float(rows[0]["psnr_rgb"]) == math.inf
    with pytest.raises(InputError, match=r"\.csv or \*\.json"):
        write_report(result, tmp_path / "r.txt")
    assert not (tmp_path / "r.txt").exists()


def test_summary_table_puts_input_first() -> None:
    console = Console(record=True, width=200)
    console.print(render_summary(_result_with_inf()))
    text = console.export_text()
    assert text.index(INPUT_METHOD) < text.index("model")
    input_line = next(line for line in text.splitlines() if INPUT_METHOD in line)
    assert "21.00" in input_line and "22.00" in input_line  # means of (20, 22) and (21, 23)
    assert "BT.601" in text and "11×11" in text and "8 bit" in text


# ------------------------------------------------------------------------------------------------- CLI


class _FakeModel(torch.nn.Module):
    receptive_field = 8
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    evaluate_cli.register(app)

    @app.callback()
    def _root() -> None:  # keeps "evaluate" a sub-command, as in the real app
        pass

    return app


def test_cli_prints_table_and_writes_report(cli: typer.Typer, snow_root: Path, tmp_path: Path) -> None:
    report = tmp_path / "scores.json"
    args = ["evaluate", "--dataset", str(snow_root), "--report", str(report), "--baseline", "median"]
    stand_in = StandIn(_FakeModel)
    res = CliRunner().invoke(cli, [*args, "--device", "cpu", "--limit", "2", "--quiet"], terminal_width=200,
                             obj=stand_in)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert INPUT_METHOD in res.output and MEDIAN in res.output and "DesnowNet (desnownet-light)" in res.output
    assert stand_in.calls == ["default:snow"]
    data = json.loads(report.read_text())
    assert len(data["images"]) == 2 * 3
    again = CliRunner().invoke(cli, [*args, "--device", "cpu", "--limit", "1", "--quiet"], obj=StandIn(_FakeModel))
    assert again.exit_code == 2 and "--overwrite" in again.output  # an earlier evaluation's scores are kept
    assert json.loads(report.read_text()) == data
    again = CliRunner().invoke(cli, [*args, "--device", "cpu", "--limit", "1", "--quiet", "--overwrite"],
                               obj=StandIn(_FakeModel))  # fmt: skip
    assert again.exit_code == 0 and len(json.loads(report.read_text())["images"]) == 1 * 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "rain"], "a snow dataset (synthetic/ and gt/ images); for snow, use --task snow"),
        (["--report", "scores.txt"], "csv or"),
        (["--split", "X"], "split"),
        (["--report", str(Path(__file__)) + "/scores.csv"], "choose another --report FILE"),  # its folder is a file
    ],
)
def test_cli_errors_are_one_line(cli: typer.Typer, snow_root: Path, extra: list[str], message: str) -> None:
    stand_in = StandIn(_FakeModel)
    res = CliRunner().invoke(cli, ["evaluate", "--dataset", str(snow_root), "--quiet", *extra], obj=stand_in)
    assert res.exit_code == 2
    assert "error:" in res.output and message in res.output
    assert stand_in.calls == []  # rejected before the (slow) model load


def test_a_bad_pair_is_reported_and_the_others_still_scored(snow_root: Path, tmp_path: Path) -> None:
    import shutil

    root = shutil.copytree(snow_root, tmp_path / "data")
    victim = sorted((root / "synthetic").iterdir())[0]
    victim.write_bytes(b"not an image")
    result = evaluate_snow(root, identity, progress=False)
    assert [name for name, _ in result.failed] == [str(victim)]  # every failure names its input's path
    assert "not an image" in result.failed[0][1] or victim.name in result.failed[0][1]
    assert victim.stem not in {row.name for row in result.rows}
    assert result.image_count == len(list((root / "gt").iterdir())) - 1
    assert result.to_dict()["failed"][0]["image"] == str(victim)


def test_temporal_median_removes_brief_rain_on_a_static_scene() -> None:
    from weatherclean.evaluation.evaluate import temporal_median

    rng = np.random.default_rng(0)
    scene = rng.random((1, 8, 8, 3)).astype(np.float32)
    frames = np.repeat(scene, 7, axis=0)
    rainy = frames.copy()
    for t in range(7):  # a different bright streak pixel in every frame
        rainy[t, t, t] = 1.0
    assert np.allclose(temporal_median(rainy), frames)


def test_evaluate_rain_scores_clips_in_order_with_baseline(tmp_path: Path) -> None:
    """A synth-rain clip set scored end to end: input row, temporal median row, model row, per clip."""
    from synthetic import write_clean
    from weatherclean.cli import synth
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    write_clean(tmp_path / "clean", seed=4, n=2, size=48)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    synth.register(app)
    evaluate_cli.register(app)
    made = CliRunner().invoke(app, ["synth", "rain", str(tmp_path / "clean"), str(tmp_path / "clips"), "--clips",
                                    "--frames", "4", "--crop", "40", "--seed", "3", "-q"])  # fmt: skip
    assert made.exit_code == 0, made.output
    J4RNet(J4RNetConfig(channels=8, hidden=8, stride=2)).save_pretrained(tmp_path / "m")  # identity at init
    args = ["evaluate", "--task", "rain", "--dataset", str(tmp_path / "clips"), "--model", str(tmp_path / "m"),
            "--baseline", "median", "--report", str(tmp_path / "r.json")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    rows = {s["method"]: s for s in report["summary"]}
    assert list(rows)[0] == "input (rainy)" and "temporal median (5 frames)" in rows
    model_row = next(v for k, v in rows.items() if k.startswith("J4R-Net"))
    assert model_row["count"] == 8 and model_row["psnr_y"] == pytest.approx(rows["input (rainy)"]["psnr_y"], abs=0.05)
    assert "per clip" in result.output and "c0" in result.output
    quiet = CliRunner().invoke(app, [*args, "--overwrite", "-q"])  # only the summary table, as --help says
    assert quiet.exit_code == 0 and "per clip" not in quiet.output and "input (rainy)" in quiet.output


def test_a_picture_without_ground_truth_is_left_out_and_reported(
    cli: typer.Typer, snow_root: Path, tmp_path: Path
) -> None:
    """A missing gt file stopped the whole run with exit 2 and no scores; an unreadable pair is left out
    with exit 1. Both are now the same: the others are scored, and the run says which one was not."""
    import shutil

    root = shutil.copytree(snow_root, tmp_path / "data")
    orphan = sorted((root / "gt").iterdir())[0]
    orphan.unlink()
    result = evaluate_snow(root, identity, progress=False)
    assert [(Path(path).name, "no ground truth" in why) for path, why in result.failed] == [(orphan.name, True)]
    assert result.image_count == len(NAMES) - 1
    args = ["evaluate", "--dataset", str(root), "--device", "cpu", "-q"]
    res = CliRunner().invoke(cli, args, obj=StandIn(_FakeModel))
    assert res.exit_code == 1, res.output
    assert "no ground truth" in res.output and "left out of the means" in res.output


def test_a_rain_picture_without_ground_truth_is_left_out(tmp_path: Path) -> None:
    from weatherclean.evaluation.evaluate import evaluate_rain

    rng = np.random.default_rng(2)
    for name in ("a", "b"):
        _save(tmp_path / "rain" / f"{name}.png", rng.random((16, 16, 3)))
    _save(tmp_path / "gt" / "a.png", rng.random((16, 16, 3)))
    result = evaluate_rain(tmp_path, model=None, progress=False)
    assert [Path(path).name for path, _ in result.failed] == ["b.png"]
    assert result.image_count == 1


def test_a_report_names_the_run_and_says_what_was_scored(cli: typer.Typer, snow_root: Path, tmp_path: Path) -> None:
    """Every trained model lives in RUN/model: two runs' tables both said "DesnowNet (model)", and the JSON
    report said nothing of the model, device or precision."""
    (tmp_path / "run7" / "model").mkdir(parents=True)
    report = tmp_path / "r.json"
    args = ["evaluate", "--dataset", str(snow_root), "--model", str(tmp_path / "run7" / "model"), "--device", "cpu"]
    res = CliRunner().invoke(cli, [*args, "--report", str(report), "-q"], obj=StandIn(_FakeModel), terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "DesnowNet (run7/model)" in res.output
    model = json.loads(report.read_text())["model"]
    assert model["resolved"] == str(tmp_path / "run7" / "model") and model["device"] == "cpu"
    assert model["precision"] == "fp32" and model["weatherclean"]


def test_a_clip_with_fewer_ground_truth_frames_is_left_out_and_the_others_scored(tmp_path: Path) -> None:
    """One clip whose gt folder held fewer frames stopped the whole evaluation with exit code 2."""
    from weatherclean.evaluation.evaluate import evaluate_rain
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    rng = np.random.default_rng(5)
    for clip, rainy, clean in (("short", 3, 2), ("whole", 2, 2)):
        for i in range(rainy):
            _save(tmp_path / "data" / "rain" / clip / f"{i:03d}.png", rng.random((16, 16, 3)))
        for i in range(clean):
            _save(tmp_path / "data" / "gt" / clip / f"{i:03d}.png", rng.random((16, 16, 3)))
    result = evaluate_rain(tmp_path / "data", model=None, progress=False)
    assert [(Path(path).name, "3 rainy frames but 2 ground-truth frames" in why) for path, why in result.failed] == [
        ("short", True)
    ]
    assert result.image_count == 2  # the two frames of the whole clip
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    evaluate_cli.register(app)
    J4RNet(J4RNetConfig(channels=8, hidden=8, stride=2)).save_pretrained(tmp_path / "m")
    args = ["evaluate", "--task", "rain", "--dataset", str(tmp_path / "data"), "--model", str(tmp_path / "m"), "-q"]
    res = CliRunner().invoke(app, args, terminal_width=200)
    assert res.exit_code == 1, res.output
    assert "3 rainy frames but 2 ground-truth frames" in res.output and "1 clip(s) or image pair(s)" in res.output


def test_a_second_model_is_refused(cli: typer.Typer, snow_root: Path) -> None:
    """The parser kept the last --model and dropped the first without a word."""
    stand_in = StandIn(_FakeModel)
    args = ["evaluate", "--dataset", str(snow_root), "--model", "a", "--model", "b", "-q"]
    res = CliRunner().invoke(cli, args, obj=stand_in, terminal_width=200)
    assert res.exit_code == 2 and "error: --model given 2 times (a, b): evaluate scores one model" in res.output
    assert stand_in.calls == []


def test_a_run_folder_given_as_the_model_names_the_folder_to_pass(
    cli: typer.Typer, snow_root: Path, tmp_path: Path
) -> None:
    """`--model RUN` said only "not a model folder": it names RUN/model, or says the run has not finished."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_config.json").write_text("{}")
    args = ["evaluate", "--dataset", str(snow_root), "--model", str(run), "--device", "cpu", "-q"]
    res = CliRunner().invoke(cli, args, terminal_width=300)
    assert res.exit_code == 2 and "not finished" in res.output and "run its train command again" in res.output
    (run / "model").mkdir()
    (run / "model" / "config.json").write_text("{}")
    res = CliRunner().invoke(cli, args, terminal_width=300)
    assert res.exit_code == 2, res.output
    assert f"a training run folder, not a model folder; its model is {run / 'model'}: pass that" in res.output


def test_a_set_where_no_clip_has_its_ground_truth_says_so(tmp_path: Path) -> None:
    """Not that the folder holds no clips: it holds one, without its ground truth."""
    from weatherclean.data.rain import find_rain_clips
    from weatherclean.errors import DatasetError

    rng = np.random.default_rng(6)
    for i in range(3):
        _save(tmp_path / "rain" / "short" / f"{i}.png", rng.random((8, 8, 3)))
    _save(tmp_path / "gt" / "short" / "0.png", rng.random((8, 8, 3)))
    with pytest.raises(DatasetError, match="no rainy picture or clip has its ground truth .e.g. 3 rainy frames"):
        find_rain_clips(tmp_path, missing=[])
    with pytest.raises(DatasetError, match="short: 3 rainy frames but 1 ground-truth frames"):  # training: every pair
        find_rain_clips(tmp_path)
