"""A benchmarking researcher's findings on `evaluate` and the dataset finders it uses, one test (or a few) each.

Public derain layouts (Rain100L/H, PReNet, JORDER, Restormer, SPA) and CSD; --split for rain; identical pairs;
the conventions; --outputs; tile notes; grey ground truths; shifted clips; two files of one name; nothing
scored; per-split rows; failure names and --json.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from typer.testing import CliRunner

from synthetic import StandIn
from weatherclean.cli import evaluate as evaluate_cli
from weatherclean.data.images import read_rgb
from weatherclean.data.rain import PairedRainDataset, find_rain_clips
from weatherclean.data.snow import find_snow100k
from weatherclean.errors import DatasetError
from weatherclean.evaluation import CAPTION, CONVENTIONS, INPUT_METHOD, evaluate_rain, evaluate_snow, psnr, write_report

RAIN = "input (rainy)"


def _save(path: Path, seed: int, size: tuple[int, int] = (24, 32), mode: str = "RGB") -> np.ndarray:
    """A random picture (different for every seed, so a wrong pairing shows in the scores); returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)
    return arr


def _pair(rainy: Path, clean: Path, seed: int) -> None:
    """A clean picture and a rainy one near it (the clean one plus a little noise)."""
    clean_arr = _save(clean, seed)
    noise = np.random.default_rng(seed + 1000).integers(-12, 13, size=clean_arr.shape)
    rainy.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(clean_arr + noise, 0, 255).astype(np.uint8)).save(rainy)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root, so that evaluate stays a sub-command."""

    evaluate_cli.register(app)
    return app


def _run(*args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), ["evaluate", *args], obj=models, terminal_width=250)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


class _Identity(torch.nn.Module):
    """A snow model that changes nothing (its rows equal the input's)."""

    receptive_field = 8
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


class _WideIdentity(_Identity):
    receptive_field = 48  # asks for more overlap than a 64-px tile leaves: load_restorer's note


@pytest.fixture(scope="module")
def rain_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from weatherclean.models.j4rnet import J4RNet, J4RNetConfig

    folder = tmp_path_factory.mktemp("j4r") / "m"
    J4RNet(J4RNetConfig(channels=8, hidden=8, stride=2)).save_pretrained(folder)
    return folder


def _snow_set(root: Path, stems: list[str], seed: int = 0) -> None:
    for i, stem in enumerate(stems):
        _pair(root / "synthetic" / f"{stem}.png", root / "gt" / f"{stem}.png", seed + i)


# ---------------------------------------------------------------------- 1. public rain layouts, CSD


def _layout(root: Path, kind: str) -> dict[str, str]:
    """Build a public layout of three pairs under ``root``; returns {rainy file name: ground truth file name}."""
    pairs: dict[str, str] = {}
    for i in (1, 2, 3):
        if kind == "rain100_flat":
            rainy, clean = root / f"rain-{i:03d}.png", root / f"norain-{i:03d}.png"
        elif kind == "prenet":
            rainy, clean = root / "rainy" / f"rain-{i:03d}.png", root / f"norain-{i:03d}.png"
        elif kind == "rain_norain":
            rainy, clean = root / "rain" / f"rain-{i:03d}.png", root / "norain" / f"norain-{i:03d}.png"
        elif kind in ("input_target", "input_gt", "rainy_gt"):
            a, b = kind.split("_")
            rainy, clean = root / a / f"{i}.png", root / b / f"{i}.png"
        elif kind == "jorder":
            rainy, clean = root / "rain" / "X2" / f"norain-{i}x2.png", root / "norain" / f"norain-{i}.png"
        elif kind == "names_in_gt":
            rainy, clean = root / "rain" / f"rain-{i:03d}.png", root / "gt" / f"norain-{i:03d}.png"
        elif kind == "spa":
            rainy, clean = root / "rain" / f"{i}_rain.png", root / "gt" / f"{i}_gt.png"
        else:  # "spa_clean"
            rainy, clean = root / "rain" / f"{i}_rain.png", root / "gt" / f"{i}_clean.png"
        _pair(rainy, clean, seed=10 * i)
        pairs[rainy.name] = clean.name
    return pairs


LAYOUTS = (
    "rain100_flat", "prenet", "rain_norain", "input_target", "input_gt", "rainy_gt", "jorder", "names_in_gt", "spa",
    "spa_clean",
)  # fmt: skip


@pytest.mark.parametrize("kind", LAYOUTS)
def test_public_rain_layouts_are_read_and_paired_by_name(tmp_path: Path, kind: str) -> None:
    """Every one of these was refused ("no rainy/clean pairs found"); the pairs must be exactly the named ones."""
    expected = _layout(tmp_path / "set", kind)
    clips = find_rain_clips(tmp_path / "set", missing=[])
    assert {c.rainy[0].name: c.clean[0].name for c in clips} == expected
    assert all(len(c) == 1 and c.layout == "pairs" for c in clips)
    # The clean picture paired is the one whose rainy version it is (closer than any other picture).
    for clip in clips:
        rainy, clean = clip.read()
        assert psnr(rainy[0], clean[0]) > 25


def test_the_rainy_folder_itself_may_be_given(tmp_path: Path) -> None:
    _layout(tmp_path / "prenet", "prenet")
    _layout(tmp_path / "restormer", "input_target")
    assert len(find_rain_clips(tmp_path / "prenet" / "rainy", missing=[])) == 3
    assert len(find_rain_clips(tmp_path / "restormer" / "input", missing=[])) == 3


def test_a_recognised_layout_names_the_picture_without_its_partner(tmp_path: Path) -> None:
    _layout(tmp_path, "rain100_flat")
    (tmp_path / "norain-002.png").unlink()
    missing: list[tuple[Path, str]] = []
    clips = find_rain_clips(tmp_path, missing=missing)
    assert [c.name for c in clips] == ["rain-001", "rain-003"]
    assert [(p.name, "no ground truth 'rain-002.*' or 'norain-002.*'" in why) for p, why in missing] == [
        ("rain-002.png", True)
    ]


def test_stills_are_never_paired_by_order(tmp_path: Path) -> None:
    """input/1.png with target/a.png: the names follow no rule, so nothing is paired (and each is named)."""
    for i, name in enumerate(("a", "b")):
        _pair(tmp_path / "input" / f"{i + 1}.png", tmp_path / "target" / f"{name}.png", seed=i)
    missing: list[tuple[Path, str]] = []
    with pytest.raises(DatasetError, match="no rainy picture or clip has its ground truth"):
        find_rain_clips(tmp_path, missing=missing)
    assert sorted(p.name for p, _ in missing) == ["1.png", "2.png"]


def test_synth_rain_layouts_still_work_beside_the_new_ones(tmp_path: Path) -> None:
    for clip in ("walk", "run"):
        for f in ("00001.png", "00002.png"):
            _pair(tmp_path / "clips" / "rain" / clip / f, tmp_path / "clips" / "gt" / clip / f, seed=len(clip))
    _layout(tmp_path / "r100", "rain100_flat")
    names = sorted(c.name for c in find_rain_clips(tmp_path, missing=[]))
    assert names == ["clips_run", "clips_walk", "r100_rain-001", "r100_rain-002", "r100_rain-003"]


def test_train_reads_the_public_layouts_too(tmp_path: Path) -> None:
    _layout(tmp_path, "jorder")
    data = PairedRainDataset(tmp_path)
    assert len(data) == 3 and data[0]["rainy"].shape == (1, 3, 24, 32)


def test_evaluate_scores_rain100l_as_distributed(tmp_path: Path, rain_model: Path) -> None:
    _layout(tmp_path / "Rain100L", "rain100_flat")
    code, out, err = _run("--task", "rain", "--dataset", str(tmp_path / "Rain100L"), "--model", str(rain_model),
                          "-q", "--json")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert sorted({row["name"] for row in report["images"]}) == ["rain-001", "rain-002", "rain-003"]


def test_csd_snow_layout_is_read_like_snow100k(tmp_path: Path) -> None:
    """CSD's Test/{Snow,Gt,Mask} was refused: "no 'synthetic' folder found"."""
    for i, stem in enumerate(("a", "b")):
        _pair(tmp_path / "CSD" / "Test" / "Snow" / f"{stem}.tif", tmp_path / "CSD" / "Test" / "Gt" / f"{stem}.tif", i)
        _save(tmp_path / "CSD" / "Test" / "Mask" / f"{stem}.tif", 50 + i, mode="L")
    for root in (tmp_path / "CSD", tmp_path / "CSD" / "Test", tmp_path / "CSD" / "Test" / "Snow"):
        triples = find_snow100k(root)
        assert [(t.name, t.gt.parent.name, t.mask is not None, t.split) for t in triples] == [
            ("a", "Gt", True, "test"),
            ("b", "Gt", True, "test"),
        ]
    assert find_snow100k(tmp_path / "CSD", split="test")[0].name == "a"
    with pytest.raises(DatasetError, match="no 'train' folder found .splits found: test"):
        find_snow100k(tmp_path / "CSD", split="train")


# ------------------------------------------------------------------------------------ 2. --split for rain


def _rainsyn(root: Path, split: str, clips: list[str]) -> None:
    for c, clip in enumerate(clips):
        for f in ("1.png", "2.png"):
            base = root / "video_rain_light" / split
            _pair(base / "input" / clip / f, base / "processed" / clip / f, seed=c)


def test_split_picks_rainsyn_test_clips_and_both_splits_get_a_note(tmp_path: Path) -> None:
    _rainsyn(tmp_path, "train", ["a", "b"])
    _rainsyn(tmp_path, "test", ["c"])
    test = evaluate_rain(tmp_path, None, split="test", progress=False)
    assert {row.name.split("/")[0] for row in test.rows} == {"light_test_c"} and test.split == "test"
    both = evaluate_rain(tmp_path, None, progress=False)
    assert {row.name.split("/")[0] for row in both.rows} == {"light_test_c", "light_train_a", "light_train_b"}
    assert any("holds 2 splits (test, train)" in n and "--split" in n for n in both.notes)


def test_split_on_a_rain_set_without_splits_is_refused(tmp_path: Path, rain_model: Path) -> None:
    """`--split M` on a rain/+gt/ set exited 0 and scored everything."""
    _layout(tmp_path, "spa")
    with pytest.raises(DatasetError, match="no train/test folders"):
        evaluate_rain(tmp_path, None, split="test", progress=False)
    code, _, err = _run("--task", "rain", "--dataset", str(tmp_path), "--split", "M", "--model", str(rain_model))
    assert code == 2 and "--split M: this rain set has no train/test folders" in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


# -------------------------------------------------------------------------------- 3. identical pairs


def test_an_identical_pair_is_left_out_of_the_psnr_mean_and_is_null_in_json(tmp_path: Path) -> None:
    _snow_set(tmp_path, ["a", "b"])
    shutil.copy(tmp_path / "gt" / "a.png", tmp_path / "synthetic" / "a.png")  # a dry control picture
    result = evaluate_snow(tmp_path, None, progress=False)
    [row] = result.summary()
    b = next(r for r in result.rows if r.name == "b")
    assert row.psnr_rgb == pytest.approx(b.psnr_rgb) and row.psnr_y == pytest.approx(b.psnr_y)  # not inf
    assert row.infinite_rgb == row.infinite_y == 1 and row.count == 2
    assert row.ssim_rgb == pytest.approx((1.0 + b.ssim_rgb) / 2)  # SSIM keeps it
    assert any("1 of 2 picture(s) are identical to their ground truth (PSNR = inf)" in n for n in result.notes)
    data = json.loads(write_report(result, tmp_path / "r.json").read_text())
    assert next(i for i in data["images"] if i["name"] == "a")["psnr_rgb"] is None
    assert data["summary"][0]["psnr_rgb"] == pytest.approx(b.psnr_rgb)
    rows = list(csv.DictReader(write_report(result, tmp_path / "r.csv").open()))
    assert next(r for r in rows if r["name"] == "a")["psnr_rgb"] == "inf"


# ---------------------------------------------------------------------------------- 4. conventions


def test_the_conventions_say_exactly_how_the_numbers_are_made() -> None:
    """The footer's "Y = BT.601 luma as MATLAB rgb2ycbcr" was not true of MATLAB on uint8, which rounds Y."""
    needles = ("data range 255", "no border crop", "not rounded", "BasicSR", "crop_border=0", "test_y_channel=True",
               "sigma=1.5", "mean over the 3 channels", "per-image", "over all frames")  # fmt: skip
    for needle in needles:
        assert needle in CONVENTIONS
    assert "MATLAB rgb2ycbcr (16-235)" not in CONVENTIONS
    assert "as float" in CAPTION and "not MATLAB's rounded uint8 Y" in CAPTION and "no border crop" in CAPTION


# ------------------------------------------------------------------------------------------ 5. --outputs


def test_outputs_are_scored_mirrored_or_by_name_and_missing_ones_are_named(tmp_path: Path) -> None:
    _snow_set(tmp_path / "data", ["a", "b", "c"])
    mirror, flat = tmp_path / "mirror", tmp_path / "flat"
    shutil.copytree(tmp_path / "data" / "synthetic", mirror / "synthetic")  # outputs = inputs: same scores
    shutil.copytree(tmp_path / "data" / "synthetic", flat)
    for outputs in (mirror, flat):
        code, out, err = _run("--dataset", str(tmp_path / "data"), "--outputs", str(outputs), "--json")
        assert code == 0, err
        report = json.loads(out)
        rows = {s["method"]: s for s in report["summary"]}
        assert list(rows) == [INPUT_METHOD, f"outputs ({outputs.name})"]
        assert rows[f"outputs ({outputs.name})"]["psnr_y"] == pytest.approx(rows[INPUT_METHOD]["psnr_y"])
        assert report["model"]["outputs"] == str(outputs)
    (flat / "b.png").unlink()
    code, _, err = _run("--dataset", str(tmp_path / "data"), "--outputs", str(flat), "-q")
    assert code == 1 and "synthetic/b.png: no restored picture for it in --outputs" in err


def test_outputs_with_a_model_option_are_refused(tmp_path: Path) -> None:
    _snow_set(tmp_path / "data", ["a"])
    (tmp_path / "out").mkdir()
    stand_in = StandIn(_Identity)
    code, _, err = _run("--dataset", str(tmp_path / "data"), "--outputs", str(tmp_path / "out"), "--model", "x",
                        "--tile", "64", models=stand_in)  # fmt: skip
    assert code == 2 and "options for running a model cannot apply: --model, --tile" in err
    assert stand_in.calls == []


def test_outputs_of_rain_clips_are_found_by_clip_and_frame(tmp_path: Path) -> None:
    for f in ("00001.png", "00002.png"):
        _pair(tmp_path / "data" / "rain" / "walk" / f, tmp_path / "data" / "gt" / "walk" / f, seed=3)
    shutil.copytree(tmp_path / "data" / "gt", tmp_path / "out")  # out/walk/00001.png: perfect outputs
    result = evaluate_rain(tmp_path / "data", None, outputs=tmp_path / "out", progress=False)
    [_, outputs_row] = result.summary()
    assert outputs_row.method == "outputs (out)" and outputs_row.count == 2 and outputs_row.ssim_y == 1.0


# ------------------------------------------------------------------------------------------- 6. --tile


def test_evaluate_prints_the_model_notes_and_records_the_tile(tmp_path: Path) -> None:
    for i, stem in enumerate(("a", "b")):
        _pair(tmp_path / "synthetic" / f"{stem}.png", tmp_path / "gt" / f"{stem}.png", i)
        for sub in ("synthetic", "gt"):  # larger than one tile
            arr = np.asarray(Image.open(tmp_path / sub / f"{stem}.png"))
            Image.fromarray(np.tile(arr, (4, 4, 1))).save(tmp_path / sub / f"{stem}.png")
    args = ("--dataset", str(tmp_path), "--tile", "64", "--device", "cpu", "--report", str(tmp_path / "r.json"), "-q")
    code, _, err = _run(*args, models=StandIn(_WideIdentity))
    assert code == 0, err
    assert "note: tile=64 (--tile) leaves room for only 32 px of overlap" in err
    model = json.loads((tmp_path / "r.json").read_text())["model"]
    assert model["tile"] == 64 and model["tiles_used"] == [64] and model["overlap"] == 48


# ------------------------------------------------------------------------------------- 7. grey ground truth


def test_a_grey_ground_truth_with_a_colour_input_gets_a_note(tmp_path: Path) -> None:
    _snow_set(tmp_path, ["col", "grey"])
    Image.open(tmp_path / "gt" / "grey.png").convert("L").save(tmp_path / "gt" / "grey.png")
    result = evaluate_snow(tmp_path, None, progress=False)
    assert result.image_count == 2  # still scored: its Y scores are sound
    [note] = [n for n in result.notes if "greyscale" in n]
    assert note.startswith("grey: the ground truth") and "gt/grey.png" in note and "in colour" in note


# ------------------------------------------------------------------------------ 8. shifted clip frames


def test_clip_frames_paired_by_order_although_some_names_agree_get_a_note(tmp_path: Path) -> None:
    base = tmp_path / "video_rain_light" / "test"
    for i, (r, c) in enumerate(zip(("1", "2", "3"), ("2", "3", "4"), strict=True)):
        _pair(base / "input" / "a" / f"{r}.png", base / "processed" / "a" / f"{c}.png", seed=i)
    for f in ("1.png", "2.png"):  # NTURain-like names that never agree: order, as documented, no note
        _pair(base / "input" / "b" / f, base / "processed" / "b" / f"gt{f}", seed=7)
    result = evaluate_rain(tmp_path, None, progress=False)
    [note] = [n for n in result.notes if "paired by order" in n]
    assert "clip a: only 2 of its 3 frame names" in note and "1.png with 2.png" in note


# ----------------------------------------------------------------------------- 9. two files of one name


def test_two_files_of_one_name_are_noted_and_the_same_type_is_preferred(tmp_path: Path) -> None:
    _pair(tmp_path / "snow" / "synthetic" / "x.png", tmp_path / "snow" / "gt" / "x.png", seed=1)
    _save(tmp_path / "snow" / "gt" / "x.jpg", seed=99)  # sorts first, and was the one used
    result = evaluate_snow(tmp_path / "snow", None, progress=False)
    assert result.rows[0].psnr_rgb > 25  # scored against x.png, its real ground truth
    assert any("2 pictures are named 'x' (x.jpg, x.png); used x.png" in n for n in result.notes)
    _pair(tmp_path / "rain" / "rain" / "y.png", tmp_path / "rain" / "gt" / "y.tif", seed=2)
    _pair(tmp_path / "rain" / "rain" / "y.jpg", tmp_path / "rain" / "gt" / "y.png", seed=3)
    notes: list[str] = []
    [clip] = find_rain_clips(tmp_path / "rain", missing=[], notes=notes)
    assert (clip.rainy[0].name, clip.clean[0].name) == ("y.png", "y.png")  # lossless first, then the same type
    assert any("used y.png and left out y.jpg" in n for n in notes)


# ------------------------------------------------------------------------------------- 10. nothing scored


def test_nothing_scored_exits_2(tmp_path: Path) -> None:
    """Every pair failed: an empty table and exit 1, which a script reads as a partial result."""
    _snow_set(tmp_path, ["a", "b"])
    for stem in ("a", "b"):
        Image.open(tmp_path / "gt" / f"{stem}.png").resize((10, 10)).save(tmp_path / "gt" / f"{stem}.png")
    code, out, err = _run("--dataset", str(tmp_path), "-q", "--device", "cpu", "--report", str(tmp_path / "r.csv"),
                          models=StandIn(_Identity))  # fmt: skip
    assert code == 2 and "none of its pairs could be scored" in err and "PSNR" not in out
    assert not (tmp_path / "r.csv").exists()


# ---------------------------------------------------------------------------------- 11. per-split rows


def test_a_snow100k_root_with_several_splits_gets_per_split_rows(tmp_path: Path) -> None:
    _snow_set(tmp_path / "test" / "Snow100K-S", ["a", "b"], seed=0)
    _snow_set(tmp_path / "test" / "Snow100K-L", ["a"], seed=5)
    code, out, err = _run("--dataset", str(tmp_path), "-q", "--device", "cpu", "--report", str(tmp_path / "r.json"),
                          models=StandIn(_Identity))  # fmt: skip
    assert code == 0, err
    assert "per split" in out and "note:" in err and "holds 2 splits (S, L)" in err
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["by_split"]) == ["S", "L"]
    assert [s["count"] for s in report["by_split"]["S"]] == [2, 2] and report["summary"][0]["count"] == 3
    assert {i["name"]: i["split"] for i in report["images"] if i["method"] == INPUT_METHOD} == {
        "Snow100K-S_a": "S", "Snow100K-S_b": "S", "Snow100K-L_a": "L"
    }  # fmt: skip
    one = evaluate_snow(tmp_path, None, split="L", progress=False)
    assert "by_split" not in one.to_dict() and not one.notes


# -------------------------------------------------------------------------- 14. failure names, --json


def test_every_failure_names_its_input_path_and_json_goes_to_stdout(tmp_path: Path) -> None:
    _snow_set(tmp_path, ["ok", "nogt", "bad"])
    (tmp_path / "gt" / "nogt.png").unlink()
    (tmp_path / "synthetic" / "bad.png").write_bytes(b"not a picture")
    code, out, err = _run("--dataset", str(tmp_path), "--json", "--device", "cpu", models=StandIn(_Identity))
    assert code == 1
    report = json.loads(out)  # stdout is the report alone
    assert report["exit_code"] == 1 and report["ok"] is False
    assert sorted(f["image"] for f in report["failed"]) == [
        str(tmp_path / "synthetic" / "bad.png"),
        str(tmp_path / "synthetic" / "nogt.png"),
    ]
    assert "error:" in err
    code, out, _ = _run("--dataset", str(tmp_path / "absent"), "--json")
    assert code == 2 and json.loads(out)["exit_code"] == 2


def test_outputs_read_and_scored_as_pictures_of_the_same_size(tmp_path: Path) -> None:
    """An output of another size is named, not scored."""
    _snow_set(tmp_path / "data", ["a"])
    _save(tmp_path / "out" / "a.png", seed=5, size=(20, 20))
    result = evaluate_snow(tmp_path / "data", None, outputs=tmp_path / "out", progress=False)
    [(_, why)] = result.failed
    assert not result.rows and "its output" in why and "must keep its input's size" in why
    assert read_rgb(tmp_path / "out" / "a.png").shape == (20, 20, 3)


# ==================================================================== review of the fixes above (findings 1-8)


def _rain_set(root: Path, stems: tuple[str, ...] = ("1", "2"), seed: int = 0) -> None:
    for i, stem in enumerate(stems):
        _pair(root / "rain" / f"{stem}.png", root / "gt" / f"{stem}.png", seed + i)


# ------------------------------------------------- 1. --outputs by name only where no other input has the name


def test_outputs_found_by_name_never_pair_an_input_with_another_sets_output(tmp_path: Path) -> None:
    """With --limit 1 (or --split), A's 1.png was scored against OUT/1.png, B's output: the shared names were
    counted over the inputs left after the cut, not over the dataset."""
    _rain_set(tmp_path / "data" / "A", seed=0)
    _rain_set(tmp_path / "data" / "B", seed=10)
    shutil.copytree(tmp_path / "data" / "B" / "gt", tmp_path / "flat")  # B's outputs, by name
    for kwargs in ({"limit": 1}, {}):
        result = evaluate_rain(tmp_path / "data", None, outputs=tmp_path / "flat", progress=False, **kwargs)
        assert not result.rows and result.failed  # nothing paired by a name that could be another set's
        assert "looked for" in result.failed[0][1] and "flat/A/rain/1.*" in result.failed[0][1]
        assert any("only as a mirror of --dataset" in n and "several sets" in n for n in result.notes)
    (tmp_path / "mirror" / "A").mkdir(parents=True)
    shutil.copytree(tmp_path / "data" / "A" / "gt", tmp_path / "mirror" / "A" / "rain")
    result = evaluate_rain(tmp_path / "data", None, outputs=tmp_path / "mirror", limit=2, progress=False)
    assert {r.name for r in result.rows if r.method == "outputs (mirror)"} == {"A_1", "A_2"}


def test_outputs_by_name_count_the_inputs_of_every_split(tmp_path: Path) -> None:
    for split, seed in (("train", 0), ("test", 10)):
        _rain_set(tmp_path / "data" / split, seed=seed)
    shutil.copytree(tmp_path / "data" / "train" / "gt", tmp_path / "flat")
    result = evaluate_rain(tmp_path / "data", None, split="test", outputs=tmp_path / "flat", progress=False)
    assert not result.rows and len(result.failed) == 2  # train's outputs are not test's


def test_outputs_by_name_still_work_for_one_set(tmp_path: Path) -> None:
    _rain_set(tmp_path / "data")
    shutil.copytree(tmp_path / "data" / "gt", tmp_path / "flat")
    result = evaluate_rain(tmp_path / "data", None, outputs=tmp_path / "flat", limit=1, progress=False)
    assert [r.name for r in result.rows if r.method == "outputs (flat)"] == ["1"] and not result.failed


# ---------------------------------------------------------------- 2. sibling sets: unique names, per-set table


def _restormer(root: Path) -> None:
    for s, name in enumerate(("Rain100H", "Rain100L", "Test100")):
        for i in (1, 2):
            _pair(root / "test" / name / "input" / f"{i}.png", root / "test" / name / "target" / f"{i}.png", 10 * s + i)


def test_sibling_sets_under_one_split_folder_get_unique_names_a_note_and_a_per_set_table(tmp_path: Path) -> None:
    """Restormer's Datasets/test/{Rain100H,Rain100L,Test100}: every row was named test_1 or test_2, three times."""
    _restormer(tmp_path / "Datasets")
    expected = [f"test_{s}_{i}" for s in ("Rain100H", "Rain100L", "Test100") for i in (1, 2)]
    for root in (tmp_path / "Datasets", tmp_path / "Datasets" / "test"):
        clips = find_rain_clips(root, missing=[])
        assert [c.name for c in clips] == expected
        assert {c.group for c in clips} == {"test_Rain100H", "test_Rain100L", "test_Test100"}
    result = evaluate_rain(tmp_path / "Datasets", None, progress=False)
    assert result.image_count == 6
    assert any("holds 3 sets (test_Rain100H, test_Rain100L, test_Test100)" in n for n in result.notes)
    report = result.to_dict()
    assert list(report["by_set"]) == ["test_Rain100H", "test_Rain100L", "test_Test100"]
    assert [s["count"] for s in report["by_set"]["test_Rain100L"]] == [2]


def test_sibling_sets_print_a_per_set_table(tmp_path: Path) -> None:
    _restormer(tmp_path / "Datasets")
    mirror = tmp_path / "out"
    shutil.copytree(tmp_path / "Datasets", mirror)  # outputs = the inputs, mirrored
    code, out, err = _run("--task", "rain", "--dataset", str(tmp_path / "Datasets"), "--outputs", str(mirror), "-q")
    assert code == 0, err
    assert "per set" in out and "test_Rain100H" in out and "holds 3 sets" in err


def test_two_snow100k_folders_of_one_name_keep_their_rows_apart(tmp_path: Path) -> None:
    _snow_set(tmp_path / "a" / "Snow100K-S", ["x"], seed=0)
    _snow_set(tmp_path / "b" / "Snow100K-S", ["x"], seed=5)
    assert sorted(t.name for t in find_snow100k(tmp_path)) == ["Snow100K-S_a_x", "Snow100K-S_b_x"]


# -------------------------------------------------------------- 3. splits only at or below the dataset's root


def test_a_split_folder_above_the_dataset_does_not_make_it_a_split(tmp_path: Path) -> None:
    """/home/test/data/R was labelled test, and --split test scored it as a test split."""
    _rain_set(tmp_path / "test" / "data" / "R")
    assert {c.split for c in find_rain_clips(tmp_path / "test" / "data" / "R", missing=[])} == {None}
    with pytest.raises(DatasetError, match="no train/test folders"):
        find_rain_clips(tmp_path / "test" / "data" / "R", split="test", missing=[])
    # The root's own name and the folders below it count.
    assert {c.split for c in find_rain_clips(tmp_path / "test" / "data" / "R" / "..", missing=[])} == {None}
    _rain_set(tmp_path / "sets" / "test")
    assert {c.split for c in find_rain_clips(tmp_path / "sets" / "test", missing=[])} == {"test"}
    assert {c.split for c in find_rain_clips(tmp_path / "sets", missing=[])} == {"test"}
    _pair(tmp_path / "test" / "csd" / "Snow" / "a.tif", tmp_path / "test" / "csd" / "Gt" / "a.tif", 1)
    assert [t.split for t in find_snow100k(tmp_path / "test" / "csd")] == [None]
    assert [t.split for t in find_snow100k(tmp_path / "test" / "csd" / "Snow")] == [None]


# ---------------------------------------------------------- 4. a set inside another set's folder is found again


def test_a_set_inside_another_sets_folder_is_read_for_evaluate_and_for_training(tmp_path: Path) -> None:
    """nested/{rain,gt} + nested/more/{rain,gt} gave 4 clips before the public layouts were read, then 2."""
    _rain_set(tmp_path / "nested", seed=0)
    _rain_set(tmp_path / "nested" / "more", seed=10)
    clips = find_rain_clips(tmp_path / "nested", missing=[])
    assert [c.name for c in clips] == ["nested_1", "nested_2", "more_1", "more_2"]
    assert len(PairedRainDataset(tmp_path / "nested")) == 4  # train reads them all, as it did
    _layout(tmp_path / "mixed", "rain100_flat")
    _layout(tmp_path / "mixed" / "Rain100H", "rain100_flat")
    names = [c.name for c in find_rain_clips(tmp_path / "mixed", missing=[])]
    assert names == [f"{s}_rain-00{i}" for s in ("mixed", "Rain100H") for i in (1, 2, 3)]


def test_a_sets_own_folders_are_not_searched_for_more_sets(tmp_path: Path) -> None:
    """Maps and clip folders inside a set hold its frames, even ones named like another layout's pictures."""
    for i, f in enumerate(("a.png", "b.png")):
        _pair(tmp_path / "rain" / "walk" / f, tmp_path / "gt" / "walk" / f, seed=1)
        _save(tmp_path / "streak" / "walk" / ("1_rain.png", "1_gt.png")[i], seed=2)
    [clip] = find_rain_clips(tmp_path, missing=[])
    assert clip.name == "walk" and len(clip) == 2 and clip.streak is not None


# --------------------------------------------------------- 5. snow/ beside gt/ is CSD only when it holds pictures


def test_a_snow_folder_of_sets_beside_a_gt_folder_is_searched_not_taken_for_csd(tmp_path: Path) -> None:
    """data/{snow/Snow100K-S/{synthetic,gt}, gt/other.png} failed ("hold no images"); it held Snow100K-S."""
    _snow_set(tmp_path / "data" / "snow" / "Snow100K-S", ["a", "b"])
    _save(tmp_path / "data" / "gt" / "other.png", seed=9)
    triples = find_snow100k(tmp_path / "data")
    assert [(t.name, t.split, t.synthetic.parent.parent.name) for t in triples] == [
        ("a", "S", "Snow100K-S"),
        ("b", "S", "Snow100K-S"),
    ]
    from weatherclean.data.snow import Snow100KDataset

    assert len(Snow100KDataset(tmp_path / "data")) == 2  # train --task snow reads it again
    (tmp_path / "empty" / "snow" / "sub").mkdir(parents=True)
    _save(tmp_path / "empty" / "gt" / "x.png", seed=1)
    with pytest.raises(DatasetError, match="empty: no 'synthetic' folder found;"):
        find_snow100k(tmp_path / "empty")


# ------------------------------------------------------------- 6. the score scripts with a PSNR mean of None


def _script(name: str) -> object:
    import importlib.util
    import sys

    folder = Path(__file__).resolve().parent.parent / "scripts"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"_script_{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def test_the_score_scripts_print_inf_where_every_picture_is_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PSNR mean of None (every picture identical to its ground truth) crashed both scripts with a TypeError."""
    import sys
    from types import SimpleNamespace

    _snow_set(tmp_path / "dry", ["a"])
    shutil.copy(tmp_path / "dry" / "gt" / "a.png", tmp_path / "dry" / "synthetic" / "a.png")
    models = _script("score_models")
    identity = SimpleNamespace(guard=lambda x: x.clone(), overlap=8, finish=None)
    monkeypatch.setattr(models, "load_restorer", lambda *a, **k: identity)
    monkeypatch.setattr(models, "SETS", {"snow": {"dry": tmp_path / "dry"}})
    monkeypatch.setattr(sys, "argv", ["score_models.py", "snow", "same=x"])
    models.main()
    out = capsys.readouterr().out
    assert "| dry | input (snowy) | inf | 1.0000 | inf | 1.0000 |" in out and "| n/a |" in out
    assert "same: mean gain (Y) n/a over 0 sets" in out

    _rain_set(tmp_path / "rainy")
    shutil.copy(tmp_path / "rainy" / "gt" / "1.png", tmp_path / "rainy" / "rain" / "1.png")
    shutil.copy(tmp_path / "rainy" / "gt" / "2.png", tmp_path / "rainy" / "rain" / "2.png")
    styles = _script("score_rain_styles")
    none = SimpleNamespace(model=None, device="cpu", tile=None, overlap=8, dtype=None)
    scores, pictures = styles.score_set(tmp_path / "rainy", {"m": none})
    assert scores == {"input": float("inf")}
    assert styles._gain(scores["input"], scores["input"]) == "n/a" and styles._db(scores["input"]) == "inf"
    table = {"rainy": {"input": float("inf"), "m": float("inf")}}
    assert styles.summarise(table, ["m"])["m"]["sets"] == 0


# --------------------------------------------------------- 7. PSNR means over different pictures are marked


def test_psnr_means_over_fewer_pictures_are_marked_and_counted_per_metric(tmp_path: Path) -> None:
    from rich.console import Console

    from weatherclean.evaluation import EvaluationResult, ImageScore, render_summary

    result = EvaluationResult(task="snow", dataset="d")
    inf = float("inf")
    for name, (rgb, y) in {"a": (inf, inf), "b": (30.0, inf), "c": (20.0, 22.0)}.items():
        result.add(ImageScore(name, INPUT_METHOD, rgb, 0.9, y, 0.9, 0.0))
        result.add(ImageScore(name, "model", 25.0, 0.9, 27.0, 0.9, 0.1))
    inp, model = result.summary()
    assert (inp.infinite_rgb, inp.infinite_y, inp.psnr_rgb, inp.psnr_y) == (1, 2, 25.0, 22.0)
    assert (model.infinite_rgb, model.infinite_y) == (0, 0)
    console = Console(record=True, width=200)
    console.print(render_summary(result))
    text = console.export_text()
    line = next(row for row in text.splitlines() if INPUT_METHOD in row)
    assert "25.00 (2/3)" in line and "22.00 (1/3)" in line
    model_line = next(row for row in text.splitlines() if "│ model" in row)
    assert "25.00 " in model_line and "/3)" not in model_line
    summary = result.to_dict()["summary"][0]
    assert (summary["infinite_rgb"], summary["infinite_y"]) == (1, 2) and "infinite" not in summary


# ------------------------------------------------------------- 8. --outputs that is the dataset's own pictures


def test_outputs_that_are_the_datasets_own_ground_truth_or_inputs_are_refused(tmp_path: Path) -> None:
    """--outputs DATA/gt scored the ground truths against themselves: PSNR inf, SSIM 1.0, exit code 0."""
    _snow_set(tmp_path / "data", ["a", "b"])
    for folder, what in (("gt", "ground-truth"), ("synthetic", "input")):
        code, _, err = _run("--dataset", str(tmp_path / "data"), "--outputs", str(tmp_path / "data" / folder), "-q")
        assert code == 2 and f"a folder of the dataset's {what} pictures" in err
    for f in ("00001.png", "00002.png"):
        _pair(tmp_path / "clips" / "rain" / "walk" / f, tmp_path / "clips" / "gt" / "walk" / f, seed=3)
    for outputs in (tmp_path / "clips" / "gt", tmp_path / "clips" / "gt" / "walk", tmp_path / "clips" / "rain"):
        with pytest.raises(Exception, match="--outputs is .*a folder of the dataset's"):
            evaluate_rain(tmp_path / "clips", None, outputs=outputs, progress=False)
    _layout(tmp_path / "r100", "rain100_flat")  # rainy and clean pictures in one folder: a sub-folder may hold outputs
    (tmp_path / "r100" / "results").mkdir()
    for i in (1, 2, 3):
        shutil.copy(tmp_path / "r100" / f"rain-00{i}.png", tmp_path / "r100" / "results" / f"rain-00{i}.png")
    result = evaluate_rain(tmp_path / "r100", None, outputs=tmp_path / "r100" / "results", progress=False)
    assert result.image_count == 3 and not result.failed


# ---------------------------------------------------------------------------------------------------- minor


def test_several_ground_truth_folders_beside_one_rainy_folder_get_a_note(tmp_path: Path) -> None:
    _rain_set(tmp_path)
    _save(tmp_path / "norain" / "1.png", seed=50)
    notes: list[str] = []
    clips = find_rain_clips(tmp_path, missing=[], notes=notes)
    assert [c.clean[0].parent.name for c in clips] == ["gt", "gt"]
    assert any("several ground-truth folders" in n and "used gt/ and left out norain/" in n for n in notes)


def test_pictures_in_no_split_are_noted_and_the_report_has_split_and_set_columns(tmp_path: Path) -> None:
    for split in ("train", "test", "extra"):
        _rain_set(tmp_path / split)
    result = evaluate_rain(tmp_path, None, progress=False)
    assert any("2 picture(s) lie in no split folder" in n for n in result.notes)
    rows = list(csv.DictReader(write_report(result, tmp_path / "r.csv").open()))
    assert {(r["name"], r["split"], r["set"]) for r in rows} >= {("test_1", "test", "test"), ("extra_1", "", "extra")}


def test_an_unpaired_picture_is_named_briefly_and_the_naming_rules_said_once(tmp_path: Path) -> None:
    _layout(tmp_path, "names_in_gt")
    for i in (2, 3):
        (tmp_path / "gt" / f"norain-00{i}.png").unlink()
    result = evaluate_rain(tmp_path, None, progress=False)
    assert len(result.failed) == 2 and all(len(why) < 200 for _, why in result.failed)
    assert len([n for n in result.notes if "found by name, never by order" in n]) == 1


def test_frames_without_ground_truth_and_a_snow_split_for_rain_say_what_to_do(tmp_path: Path) -> None:
    for i in (1, 2):
        _save(tmp_path / "frames" / "clip" / f"{i}.png", seed=i)
    code, _, err = _run("--task", "rain", "--dataset", str(tmp_path / "frames"), "-q")
    assert code == 2 and "no picture has a ground truth" in err and "rain/ + gt/" in err
    _rain_set(tmp_path / "set")
    with pytest.raises(DatasetError, match="S, M and L are Snow100K's splits"):
        find_rain_clips(tmp_path / "set", split="S", missing=[])


def test_evaluate_reads_the_dataset_tree_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's check and the evaluation each read the tree, twice each: four walks of a large dataset."""
    from weatherclean.data import rain

    calls: list[Path] = []
    real = rain._pair_sources
    monkeypatch.setattr(rain, "_pair_sources", lambda root: calls.append(root) or real(root))
    _rain_set(tmp_path / "data")
    shutil.copytree(tmp_path / "data" / "gt", tmp_path / "out")
    code, _, err = _run("--task", "rain", "--dataset", str(tmp_path / "data"), "--outputs", str(tmp_path / "out"))
    assert code == 0, err
    assert len(calls) == 1


def test_the_pairing_helpers_live_in_one_module_both_finders_use() -> None:
    from weatherclean.data import pairing, rain, snow

    assert snow.SPLIT_FOLDERS is pairing.SPLIT_FOLDERS and rain.pick_partner is pairing.pick_partner
    imports = [line for line in Path(pairing.__file__).read_text().splitlines() if line.startswith(("from", "import"))]
    assert not [line for line in imports if "data.rain" in line or "data.snow" in line or "data import" in line]


# ------------------------------------------------------------- review: kinds, training notes, unreadable folders


def _nturain(root: Path) -> None:
    for f in ("1.png", "2.png"):
        _pair(root / "a1_Rain" / f, root / "a1_GT" / f, seed=7)


def test_a_root_with_two_kinds_of_rain_dataset_is_refused(tmp_path: Path, rain_model: Path) -> None:
    """An NTURain root that also held a Rain100L copy was read as Rain100L alone; RainSyn beside pairs as RainSyn
    alone (exit 0), although every set below --dataset is said to be read."""
    _nturain(tmp_path / "ntu")
    _layout(tmp_path / "ntu", "rain100_flat")
    _rainsyn(tmp_path / "mix", "test", ["c"])
    _layout(tmp_path / "mix" / "Rain100L", "rain100_flat")
    for root, kinds in ((tmp_path / "ntu", "paired pictures.*NTURain"), (tmp_path / "mix", "RainSyn.*paired")):
        with pytest.raises(DatasetError, match=f"more than one kind of dataset .{kinds}.*point --dataset at one"):
            find_rain_clips(root)
        with pytest.raises(DatasetError, match="more than one kind"):
            PairedRainDataset(root)
        code, _, err = _run("--task", "rain", "--dataset", str(root), "--model", str(rain_model), "-q")
        assert code == 2 and "more than one kind of dataset" in err


def test_one_kind_of_rain_dataset_is_read_as_before(tmp_path: Path) -> None:
    """Clip or set folders whose names end in _rain are not NTURain where they have no CLIP_GT beside them."""
    _nturain(tmp_path / "ntu")
    assert [c.name for c in find_rain_clips(tmp_path / "ntu")] == ["a1"]
    for f in ("1.png", "2.png"):
        _pair(tmp_path / "synth" / "rain" / "city_rain" / f, tmp_path / "synth" / "gt" / "city_rain" / f, seed=3)
    _layout(tmp_path / "sets" / "light_rain", "rain_norain")
    assert [c.name for c in find_rain_clips(tmp_path / "synth")] == ["city_rain"]
    assert len(find_rain_clips(tmp_path / "sets")) == 3


def test_a_root_with_snow100k_and_csd_is_refused(tmp_path: Path) -> None:
    """Both were read, so `train --task snow` on such a root trained on CSD/Test too."""
    _snow_set(tmp_path / "Snow100K-training" / "all", ["a"])
    _pair(tmp_path / "CSD" / "Test" / "Snow" / "b.tif", tmp_path / "CSD" / "Test" / "Gt" / "b.tif", 1)
    with pytest.raises(DatasetError, match="more than one kind of dataset .Snow100K in .*; CSD in .*point --dataset"):
        find_snow100k(tmp_path)
    assert [t.name for t in find_snow100k(tmp_path / "CSD")] == ["b"]


def test_training_notes_name_the_sets_and_a_test_split(tmp_path: Path) -> None:
    """`train --dataset` said nothing of the sets it found (an old rain/ + gt/ root that also holds
    samples/rain-1.png + norain-1.png trains on both) nor of a test split it trains on."""
    from weatherclean.training.tasks import RainTask, SnowTask

    _pair(tmp_path / "old" / "rain" / "x.png", tmp_path / "old" / "gt" / "x.png", 1)
    _layout(tmp_path / "old" / "samples", "rain100_flat")
    notes: list[str] = []
    RainTask(dataset=tmp_path / "old", note=notes.append).build_dataset()
    assert any("training on 2 sets" in n and "samples (3)" in n for n in notes), notes
    assert not any("test split" in n for n in notes)
    _layout(tmp_path / "split" / "test", "input_target")
    notes = []
    RainTask(dataset=tmp_path / "split", note=notes.append).build_dataset()
    assert any("training on a test split" in n for n in notes), notes
    _snow_set(tmp_path / "snow" / "test" / "Snow100K-S", ["a"])
    notes = []
    SnowTask(dataset=tmp_path / "snow", note=notes.append).build_dataset()
    assert any("training on a test split" in n for n in notes), notes


def test_an_unreadable_folder_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable gt/ gave a PermissionError traceback; an unreadable set folder was skipped by os.walk
    without a word (the rest trained or scored, exit 0). Tests run as root, so the denial is simulated."""
    import os

    _layout(tmp_path / "A", "rain_norain")
    _layout(tmp_path / "B", "rain_norain")
    _snow_set(tmp_path / "snow" / "S", ["a"])
    real_iterdir, real_scandir = Path.iterdir, os.scandir
    deny = {tmp_path / "A" / "norain", tmp_path / "snow" / "S" / "gt"}

    def iterdir(self: Path):  # noqa: ANN202 - Path.iterdir's own signature
        if self in deny:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(DatasetError, match=f"{tmp_path / 'A' / 'norain'}: cannot be read .permission denied"):
        find_rain_clips(tmp_path / "A")
    with pytest.raises(DatasetError, match="S/gt: cannot be read .permission denied"):
        find_snow100k(tmp_path / "snow")
    monkeypatch.setattr(Path, "iterdir", real_iterdir)

    def scandir(path: object = "."):  # noqa: ANN202 - os.scandir's own signature
        if Path(os.fsdecode(path)).name in ("B", "S"):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DatasetError, match=f"{tmp_path / 'B'}: cannot be read .permission denied"):
        find_rain_clips(tmp_path)
    with pytest.raises(DatasetError, match="S: cannot be read .permission denied.*move it out of --dataset"):
        find_snow100k(tmp_path / "snow")
