"""A ``~`` that reaches the commands unexpanded (a container's ``args:`` list, ``subprocess`` without a shell):
the home folder for ``-o`` as for the inputs, and one line, not a traceback, where no home folder is known."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean.cli import desnow
from weatherclean.errors import InputError
from weatherclean.io.folders import expand_home


def _no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME unset and a user id the system has no account for, as in a container run as an arbitrary uid."""
    import pwd

    def unknown(_uid: int) -> None:
        raise KeyError(_uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", unknown)
    with pytest.raises(RuntimeError):  # what Path.expanduser did, and the run ended in a traceback
        Path("~/x").expanduser()


def test_an_unexpanded_tilde_in_o_is_the_home_folder_not_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "a.png")
    code, _out, err = invoke_command(
        desnow, "desnow", "a.png", "-o", "~/out", "--device", "cpu", models=StandIn(Inverter)
    )
    assert code == 0, err
    assert (home / "out" / "a.png").is_file() and not (tmp_path / "~").exists()


def test_a_tilde_with_no_home_folder_known_is_one_line_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _no_home(monkeypatch)
    with pytest.raises(InputError, match=r"~/photos: cannot expand ~, no home folder is known .* set HOME"):
        expand_home("~/photos")
    (tmp_path / "~").mkdir()  # a folder really named "~" is taken as it is
    assert expand_home("~") == Path("~") and expand_home("a/~") == Path("a/~")
    code, _out, err = invoke_command(desnow, "desnow", "~/x.jpg", "--device", "cpu", models=StandIn(Inverter))
    assert code == 2 and "cannot expand ~" in err and "Traceback" not in err, err
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "a.png")
    code, _out, err = invoke_command(desnow, "desnow", "a.png", "--model", "~/runs/model", "--device", "cpu")
    assert code == 2 and "cannot expand ~" in err and "Traceback" not in err, err
    assert os.environ.get("HOME") is None


def test_o_keeps_its_trailing_slash_through_the_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-o '~/clean.jpg/'`` says "a folder" by its slash, which a ``Path`` would have dropped; without the slash
    the name is refused as a photo's."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "a.png")
    run = ("a.png", "--device", "cpu")
    code, _out, err = invoke_command(desnow, "desnow", *run, "-o", "~/clean.jpg/", models=StandIn(Inverter))
    assert code == 0 and (home / "clean.jpg" / "a.png").is_file(), err
    code, _out, err = invoke_command(desnow, "desnow", *run, "-o", "~/other.jpg", models=StandIn(Inverter))
    assert code == 2 and "-o names an output folder, not a file" in err, err
