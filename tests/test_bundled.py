"""The bundled default model and example photos, run the way the README's first command runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import piexif
from PIL import Image
from typer.testing import CliRunner

from weatherclean.cli import app
from weatherclean.models import load_model
from weatherclean.models.registry import DEFAULT_MODELS, bundled_weights_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "photos"


def test_default_model_is_bundled_and_loads_strictly() -> None:
    folder = bundled_weights_dir(DEFAULT_MODELS["snow"])
    assert folder is not None and (folder / "README.md").is_file()
    model = load_model("default")
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) > 100_000


def test_desnow_examples_with_the_bundled_model(tmp_path: Path) -> None:
    photos = shutil.copytree(EXAMPLES, tmp_path / "photos")
    result = CliRunner().invoke(app, ["desnow", str(photos), "--quiet"])
    assert result.exit_code == 0, result.output
    outputs = sorted((tmp_path / "photos_desnowed").glob("*.jpg"))
    assert [p.name for p in outputs] == sorted(p.name for p in EXAMPLES.glob("*.jpg"))
    for out in outputs:
        src = photos / out.name
        with Image.open(src) as a, Image.open(out) as b:
            assert a.size == b.size
            diff = np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean()
            assert diff > 0.5  # the model changed the picture
            exif_in, exif_out = piexif.load(a.info["exif"]), piexif.load(b.info["exif"])
        assert exif_out["GPS"] == exif_in["GPS"]
        assert exif_out["0th"][piexif.ImageIFD.Make] == b"weatherclean"
    # A rerun skips what is done and still exits 0.
    again = CliRunner().invoke(app, ["desnow", str(photos), "--quiet"])
    assert again.exit_code == 0 and "3 skipped" in again.output
    # ... but a mistyped model is an error even when there is nothing left to do.
    typo = CliRunner().invoke(app, ["desnow", str(photos), "--quiet", "--model", "desnownet-ligth"])
    assert typo.exit_code == 2 and "desnownet-ligth" in typo.output
