"""Snow synthesis: the image model holds exactly, results are reproducible, levels and area behave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from synthetic import synth_app
from weatherclean.synth.snow import SNOW_LEVELS, SNOW_STYLES, SnowSample, apply_snow, check_styles, synthesize_snow


def _clean(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful image (gradients + low-frequency noise), like a photo without detail."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / max(w - 1, 1), yy / max(h - 1, 1), 0.5 + 0.3 * np.sin(xx / 7.0)], axis=-1)
    return np.clip(base * 0.8 + 0.1 * rng.random((h, w, 3)), 0, 1).astype(np.float32)


def test_sample_follows_the_image_model_exactly() -> None:
    clean = _clean(70, 90)
    s = synthesize_snow(clean, np.random.default_rng(1), "M")
    assert isinstance(s, SnowSample)
    assert s.snowy.shape == (70, 90, 3) and s.mask.shape == (70, 90) and s.aberration.shape == (70, 90, 3)
    assert s.snowy.dtype == s.mask.dtype == s.aberration.dtype == np.float32
    expected = s.aberration * s.mask[..., None] + clean * (1 - s.mask[..., None])
    np.testing.assert_allclose(s.snowy, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(s.snowy, apply_snow(clean, s.mask, s.aberration))
    assert s.mask.min() >= 0.0 and s.mask.max() <= 1.0 and s.mask.max() > 0.2
    # Snow colour is near white, never a saturated colour.
    assert s.aberration.min() >= 0.7 and s.aberration.max() <= 1.0
    assert (s.snowy >= 0).all() and (s.snowy <= 1).all()


def test_same_seed_same_snow_different_seed_different() -> None:
    clean = _clean(64, 64)
    a = synthesize_snow(clean, np.random.default_rng(7))
    b = synthesize_snow(clean, np.random.default_rng(7))
    c = synthesize_snow(clean, np.random.default_rng(8))
    np.testing.assert_array_equal(a.snowy, b.snowy)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.mask, c.mask)


def test_levels_order_by_mask_coverage() -> None:
    clean = _clean(160, 160)
    coverage = {
        level: np.mean([synthesize_snow(clean, np.random.default_rng(s), level).mask.mean() for s in range(6)])
        for level in SNOW_LEVELS
    }
    assert coverage["S"] < coverage["M"] < coverage["L"]
    assert coverage["S"] > 0.001  # light snow is still visible


def test_density_scales_with_area() -> None:
    # A small crop must look like a piece of a big picture, not a miniature of it: mean coverage of
    # many 48x48 crops matches that of 320x320 images. Enough of both that the per-image spread of
    # snowiness (bokeh in particular: some images are full of it) averages out.
    small = np.mean([synthesize_snow(_clean(48, 48), np.random.default_rng(s), "M").mask.mean() for s in range(160)])
    big = np.mean([synthesize_snow(_clean(320, 320), np.random.default_rng(s), "M").mask.mean() for s in range(16)])
    assert 0.6 < small / big < 1.6


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="level"):
        synthesize_snow(_clean(16, 16), np.random.default_rng(0), "XL")
    with pytest.raises(ValueError, match="HxWx3"):
        synthesize_snow(np.zeros((16, 16), np.float32), np.random.default_rng(0))


# --------------------------------------------------------------------------------------------------
# Styles (issue 12)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", SNOW_STYLES)
def test_every_style_renders_alone_and_keeps_the_image_model(style: str) -> None:
    clean = _clean(96, 128)
    for level in SNOW_LEVELS:
        s = synthesize_snow(clean, np.random.default_rng(3), level, styles=[style])
        np.testing.assert_array_equal(s.snowy, apply_snow(clean, s.mask, s.aberration))
        assert s.mask.max() > 0.05, (style, level)  # there is snow of this style
        assert s.mask.min() >= 0 and s.mask.max() <= 1


def _largest_blob(mask: np.ndarray) -> int:
    from scipy.ndimage import label

    labels, n = label(mask > 0.5 * mask.max())
    return int(np.bincount(labels.ravel())[1:].max()) if n else 0


def _elongation(mask: np.ndarray) -> float:
    """How stretched the mask's flakes are: the ratio of the principal axes of its autocorrelation."""
    m = mask - mask.mean()
    spectrum = np.abs(np.fft.fft2(m)) ** 2
    ac = np.fft.fftshift(np.real(np.fft.ifft2(spectrum)))
    c = np.array(ac.shape) // 2
    win = ac[c[0] - 8 : c[0] + 9, c[1] - 8 : c[1] + 9]
    w = np.clip(win, 0, None)
    yy, xx = np.mgrid[-8:9, -8:9]
    cov = np.array([[(w * xx * xx).sum(), (w * xx * yy).sum()], [(w * xx * yy).sum(), (w * yy * yy).sum()]])
    evals = np.linalg.eigvalsh(cov / w.sum())
    return float(np.sqrt(evals[1] / evals[0]))


def test_styles_look_like_what_they_are_named() -> None:
    clean = np.full((256, 256, 3), 0.2, np.float32)

    def masks(style: str, n: int = 6) -> list[np.ndarray]:
        return [
            synthesize_snow(clean, np.random.default_rng(s), "M", haze=False, styles=[style]).mask for s in range(n)
        ]

    # Bokeh discs are far bigger than any speck; streaks are far more stretched than round discs.
    assert np.median([_largest_blob(m) for m in masks("bokeh")]) > 10 * np.median(
        [_largest_blob(m) for m in masks("specks")]
    )
    assert np.median([_elongation(m) for m in masks("streaks")]) > 1.5 * np.median(
        [_elongation(m) for m in masks("discs")]
    )


def test_mixed_snow_draws_only_the_allowed_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    import weatherclean.synth.snow as snow

    drawn: list[str] = []
    real = snow._style_depths
    monkeypatch.setattr(snow, "_style_depths", lambda rng, style, *a: drawn.append(style.name) or real(rng, style, *a))
    allowed = [s for s in SNOW_STYLES if s != "flakes"]
    for seed in range(30):
        synthesize_snow(_clean(32, 32), np.random.default_rng(seed), "M", styles=allowed)
    assert "flakes" not in drawn and set(drawn) == set(allowed)  # every other style was drawn, flakes never
    drawn.clear()
    for seed in range(30):
        synthesize_snow(_clean(32, 32), np.random.default_rng(seed), "M")
    assert set(drawn) == set(SNOW_STYLES) and any(drawn.count(s) > 1 for s in SNOW_STYLES)


def test_snow_style_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snow takes weights as rain does: a style at weight 0 is never drawn, one at 4 far more often."""
    import weatherclean.synth.snow as snow

    drawn: list[str] = []
    real = snow._style_depths
    monkeypatch.setattr(snow, "_style_depths", lambda rng, style, *a: drawn.append(style.name) or real(rng, style, *a))
    weights = {"flakes": 0, "specks": 4}
    assert check_styles(weights) == {s: 1.0 for s in SNOW_STYLES if s != "flakes"} | {"specks": 4.0}
    for seed in range(40):
        synthesize_snow(_clean(32, 32), np.random.default_rng(seed), "M", styles=weights)
    others = max(drawn.count(s) for s in ("discs", "streaks", "bokeh"))  # about 30 against 12 here; 17 each alike
    assert "flakes" not in drawn and drawn.count("specks") > 1.5 * others


def test_unknown_style_is_refused() -> None:
    assert check_styles(None) == SNOW_STYLES
    with pytest.raises(ValueError, match="unknown snow style 'hail'"):
        synthesize_snow(_clean(16, 16), np.random.default_rng(0), "M", styles=["hail"])


# --------------------------------------------------------------------------------------------------
# CLI: weatherclean synth snow
# --------------------------------------------------------------------------------------------------


@pytest.fixture()
def clean_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray((_clean(40, 56, 1) * 255).astype(np.uint8)).save(folder / "one.png")
    Image.fromarray((_clean(48, 32, 2) * 255).astype(np.uint8)).save(folder / "nested" / "two.jpg")
    return folder


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float32) / 255.0


def test_cli_writes_snow100k_layout_that_satisfies_the_equation(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(synth_app(), ["synth", "snow", str(clean_dir), str(out), "--level", "L", "-q"])
    assert result.exit_code == 0, result.output
    assert "wrote 2" in result.output
    for name in ("one", "nested_two"):
        x = _read(out / "synthetic" / f"{name}.png")
        y = _read(out / "gt" / f"{name}.png")
        z = _read(out / "mask" / f"{name}.png")[..., None]
        a = _read(out / "aberration" / f"{name}.png")
        assert x.shape == y.shape == a.shape and z.shape[:2] == x.shape[:2]
        assert np.abs(x - (a * z + y * (1 - z))).max() <= 1.5 / 255
        assert z.max() > 0.2  # there is snow
    meta = json.loads((out / "synth.json").read_text())
    assert meta["seed"] == 0 and meta["level"] == "L" and meta["count"] == 2


def test_cli_is_reproducible_and_seed_dependent(clean_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for out, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        result = runner.invoke(
            synth_app(), ["synth", "snow", str(clean_dir), str(tmp_path / out), "--seed", seed, "-q"]
        )
        assert result.exit_code == 0, result.output
    same = (tmp_path / "a/synthetic/one.png").read_bytes() == (tmp_path / "b/synthetic/one.png").read_bytes()
    diff = (tmp_path / "a/synthetic/one.png").read_bytes() != (tmp_path / "c/synthetic/one.png").read_bytes()
    assert same and diff


def test_cli_skips_bad_files_and_exits_1(clean_dir: Path, tmp_path: Path) -> None:
    (clean_dir / "broken.png").write_bytes(b"not a png")
    result = CliRunner().invoke(
        synth_app(), ["synth", "snow", str(clean_dir), str(tmp_path / "o"), "-q", "--limit", "5"]
    )
    assert result.exit_code == 1
    assert "broken.png" in result.output and "1 failed" in result.output
    assert (tmp_path / "o/synthetic/one.png").is_file()


def test_cli_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(synth_app(), ["synth", "snow", str(tmp_path / "nope"), str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_cli_refuses_name_clashes_before_any_work(clean_dir: Path, tmp_path: Path) -> None:
    import shutil

    clash = shutil.copytree(clean_dir, tmp_path / "clash")
    first = sorted(clash.glob("*.png"))[0]
    Image.open(first).convert("RGB").save(first.with_suffix(".jpg"))  # a.png and a.jpg → both a.png
    out = tmp_path / "out"
    result = CliRunner().invoke(synth_app(), ["synth", "snow", str(clash), str(out), "-q"])
    assert result.exit_code == 2 and "would both be written" in result.output
    assert not (out / "synthetic").exists() or not any((out / "synthetic").iterdir())


def test_cli_never_reads_its_own_outputs_inside_the_clean_folder(clean_dir: Path, tmp_path: Path) -> None:
    clean, count = clean_dir, 2  # one.png and nested/two.jpg
    for _ in range(2):  # the second run would see the first run's PNGs if OUT_DIR were not excluded
        result = CliRunner().invoke(synth_app(), ["synth", "snow", str(clean), str(clean / "snow"), "-q"])
        assert result.exit_code == 0, result.output
    assert len(list((clean / "snow" / "synthetic").glob("*.png"))) == count


def test_cli_style_renders_one_style_and_refuses_unknown_ones(clean_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outs = {}
    for style in ("bokeh", "streaks"):
        out = tmp_path / style
        result = runner.invoke(synth_app(), ["synth", "snow", str(clean_dir), str(out), "--style", style, "-q"])
        assert result.exit_code == 0, result.output
        assert f"style {style}" in result.output
        assert json.loads((out / "synth.json").read_text())["style"] == style
        outs[style] = (out / "mask" / "one.png").read_bytes()
    assert outs["bokeh"] != outs["streaks"]
    result = runner.invoke(synth_app(), ["synth", "snow", str(clean_dir), str(tmp_path / "x"), "--style", "hail"])
    assert result.exit_code == 2 and "hail" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_synth_cli_no_haze_draws_the_same_flakes(tmp_path: Path) -> None:
    """``synth snow --no-haze`` with the same seed: the same flakes, no veil (the probe's two sets)."""
    from weatherclean.cli import app

    clean = tmp_path / "clean"
    clean.mkdir()
    for i in range(3):
        Image.fromarray(np.round(_clean(96, 128, seed=i) * 255).astype(np.uint8)).save(clean / f"c{i}.png")
    runner = CliRunner()
    for flag in ("--haze", "--no-haze"):
        result = runner.invoke(app, ["synth", "snow", str(clean), str(tmp_path / flag), "--level", "L", "--seed", "5",
                                     flag, "-q"])  # fmt: skip
        assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "--no-haze" / "synth.json").read_text())["haze"] is False
    brighter = []
    for i in range(3):
        with_veil, without = (np.asarray(Image.open(tmp_path / f / "mask" / f"c{i}.png"), np.float32) for f in
                              ("--haze", "--no-haze"))  # fmt: skip
        assert (with_veil >= without - 1).all()  # the veil only adds to the mask
        brighter.append(float((with_veil - without).mean()))
    assert max(brighter) > 2.0  # and at level L at least one picture got one
