"""Round 44: of several files sharing a name (``x.jpg`` and ``x.png``), every finder, ``train``'s as well as
``evaluate``'s, uses a lossless type before a lossy one, then the partner's type, then the first by name, with one
note naming what it left out and the rule (:mod:`weatherclean.data.pairing`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from weatherclean.data import PairedRainDataset, Snow100KDataset
from weatherclean.data.pairing import PICK_RULE, PairingLog, lossy, pick_input, pick_partner, preferred


def _save(path: Path, seed: int, **params: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)).save(path, **params)
    return path


def test_trainings_finders_use_the_lossless_file_of_a_shared_name(tmp_path: Path) -> None:
    """``x.jpg`` sorts before ``x.png``: training took the JPEG copy, artefacts and all, for input and target."""
    for suffix in (".jpg", ".png"):
        _save(tmp_path / "snow" / "synthetic" / f"x{suffix}", 1)
        _save(tmp_path / "snow" / "gt" / f"x{suffix}", 2)
        _save(tmp_path / "rain" / "rain" / f"y{suffix}", 3)
        _save(tmp_path / "rain" / "norain" / f"y{suffix}", 4)
    notes: list[str] = []
    [triple] = Snow100KDataset(tmp_path / "snow", notes=notes).triples
    assert (triple.synthetic.name, triple.gt.name) == ("x.png", "x.png")
    [clip] = PairedRainDataset(tmp_path / "rain", notes=notes).clips
    assert (clip.rainy[0].name, clip.clean[0].name) == ("y.png", "y.png")
    [said] = [n for n in notes if n.startswith(f"{tmp_path / 'snow' / 'synthetic'}: 2 pictures are named 'x'")]
    assert "used x.png and left out x.jpg" in said and PICK_RULE in said  # one note: what was left out, and why


def test_the_rule_ranks_lossless_then_the_partners_type_then_the_name(tmp_path: Path) -> None:
    jpg, png, tif = (_save(tmp_path / f"a{s}", 5) for s in (".jpg", ".png", ".tif"))
    webp_lossless = _save(tmp_path / "b.webp", 6, lossless=True)
    webp_lossy = _save(tmp_path / "c.webp", 6, quality=50)
    assert not lossy(webp_lossless) and lossy(webp_lossy) and lossy(jpg) and not lossy(tif)
    assert preferred([jpg, png, tif]) == png  # lossless, then the first by name
    assert preferred([jpg, png, tif], like=tmp_path / "in.tif") == tif  # lossless, then the partner's type
    assert preferred([jpg, webp_lossy], like=tmp_path / "in.webp") == webp_lossy  # both lossy: the partner's type
    assert preferred([jpg, webp_lossless]) == webp_lossless
    notes: list[str] = []
    assert pick_partner([jpg, png, tif], tmp_path / "in.tif", notes) == tif
    assert notes == [
        f"{tmp_path}: 3 pictures are named 'a' (a.jpg, a.png, a.tif); used a.tif as the ground truth of "
        f"{tmp_path / 'in.tif'} and left out a.jpg, a.png (of files sharing a name: {PICK_RULE})"
    ]


def test_a_left_out_file_of_the_same_rank_is_kept_for_evaluate(tmp_path: Path) -> None:
    """``x.png`` beside ``x.tif`` may be two pictures: evaluate counts the one not scored as failed; a lossy copy
    beside a lossless one is only left out."""
    jpg, png, tif = (_save(tmp_path / f"x{s}", 7) for s in (".jpg", ".png", ".tif"))
    log = PairingLog()
    for _ in range(2):  # a finder that looks twice records it once
        assert pick_input([jpg, png, tif], log) == png
    assert log.left_out == [jpg, tif]
    [(path, why)] = log.unscored
    assert path == tif and why.startswith("shares its name with x.png, which was scored in its place")
    assert len(log) == 1 and "used x.png and left out x.jpg, x.tif" in log[0]
