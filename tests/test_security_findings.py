"""A security audit's findings: what weatherclean deletes, reads and prints in a shared output folder.

1. The cleanup of a killed run's leftovers deleted any ``.NAME.anything.part`` beside an output, folders and all,
   whoever owned it: now only the user's own, named exactly as ``tempfile`` names them.
2. A sidecar's copy compared its bytes with what another user's link in ``/tmp`` pointed to (a root-only file),
   and the note told which: now such a link is neither followed nor read.
3. An MKV with hundreds of font attachments printed a note per font: now one note names the count.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from weatherclean.io import atomic, leftovers
from weatherclean.io import sidecars as sidecars_module
from weatherclean.io.leftovers import STALE_SECONDS, remove_stale_parts_beside, temp_prefix

# --- 1. leftovers: only the user's own, named as weatherclean names them -------------------------------------------


def _backdate(*paths: Path) -> None:
    """Make ``paths`` older than :data:`STALE_SECONDS` (not following links), as a killed run's leftovers are."""
    long_ago = time.time() - STALE_SECONDS - 3600
    for path in paths:
        os.utime(path, (long_ago, long_ago), follow_symlinks=False)


def _real_leftover(folder: Path, name: str, *, folder_kind: bool = False) -> Path:
    """A leftover named as weatherclean's own ``mkstemp`` / ``mkdtemp`` name it."""
    if folder_kind:
        return Path(tempfile.mkdtemp(prefix=temp_prefix(name), suffix=".part", dir=folder))
    fd, made = tempfile.mkstemp(prefix=temp_prefix(name), suffix=".part", dir=folder)
    os.close(fd)
    return Path(made)


@pytest.fixture(autouse=True)
def _fresh_leftover_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test scans its folders afresh (the index is process-wide)."""
    monkeypatch.setattr(leftovers, "_LEFTOVERS", {})


def test_a_users_own_file_or_folder_of_another_pattern_is_kept(tmp_path: Path) -> None:
    """``.a.jpg.my-thesis.part`` (a folder of work) and ``.a.jpg.notes.part`` are not names ``mkstemp`` makes:
    they were deleted, the folder with its tree, before each write of ``a.jpg``. A real leftover still goes."""
    thesis = tmp_path / ".a.jpg.my-thesis.part"
    (thesis / "chapters").mkdir(parents=True)
    (thesis / "chapters" / "chapter1.tex").write_text("years of work")
    notes = tmp_path / ".a.jpg.notes.part"
    notes.write_text("notes")
    long_random = tmp_path / ".a.jpg.abcdefghi.part"  # 9 characters: not mkstemp's 8
    long_random.write_text("x")
    upper = tmp_path / ".a.jpg.ABCDEFGH.part"  # not tempfile's alphabet
    upper.write_text("x")
    real, real_folder = _real_leftover(tmp_path, "a.jpg"), _real_leftover(tmp_path, "a.jpg", folder_kind=True)
    (real_folder / "00001.png").write_bytes(b"a frame")
    _backdate(thesis, notes, long_random, upper, real, real_folder)

    atomic.atomic_write(tmp_path / "a.jpg", b"done")

    assert (thesis / "chapters" / "chapter1.tex").read_text() == "years of work"
    assert notes.exists() and long_random.exists() and upper.exists()
    assert not real.exists() and not real_folder.exists()
    assert (tmp_path / "a.jpg").read_bytes() == b"done"


def test_leftover_names_match_what_tempfile_makes() -> None:
    """The pattern is ``tempfile``'s own: checked against the names it makes, so a Python that changed it shows."""
    for _ in range(20):
        made = next(tempfile._get_candidate_names())  # what mkstemp and mkdtemp put between prefix and suffix
        assert leftovers.leftover_output_name(f"{temp_prefix('a.jpg')}{made}.part") == "a.jpg"
    assert leftovers.leftover_output_name(".a.jpg.my-thesis.part") is None
    assert leftovers.leftover_output_name(".a.jpg.notes.part") is None
    assert leftovers.leftover_output_name(".abcdefgh.part") is None  # no output name before it


def test_another_users_leftover_is_never_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a shared output folder (``/tmp``) another user's file or folder named like a leftover is theirs: it was
    removed, folder and all. Here the running user is made another uid, as a test cannot ``chown`` without root."""
    theirs_file, theirs_folder = _real_leftover(tmp_path, "a.jpg"), _real_leftover(tmp_path, "b.jpg", folder_kind=True)
    (theirs_folder / "chapter1.tex").write_text("their work")
    _backdate(theirs_file, theirs_folder)
    monkeypatch.setattr(leftovers.os, "geteuid", lambda: os.lstat(tmp_path).st_uid + 1, raising=False)

    atomic.atomic_write(tmp_path / "a.jpg", b"done")
    remove_stale_parts_beside([tmp_path / "b.jpg"])  # a rerun's cleanup of outputs it skips as done

    assert theirs_file.exists() and (theirs_folder / "chapter1.tex").read_text() == "their work"


def test_a_link_named_like_a_leftover_is_removed_itself_never_followed(tmp_path: Path) -> None:
    """A leftover's name that is a link to a folder: the link goes (it is the user's, stale), never what it leads to."""
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file.txt").write_text("keep me")
    link = tmp_path / f"{temp_prefix('a.jpg')}abcd_123.part"
    link.symlink_to(kept)
    _backdate(link)

    remove_stale_parts_beside([tmp_path / "a.jpg"])

    assert not os.path.lexists(link) and (kept / "file.txt").read_text() == "keep me"


# --- 2. sidecars: another user's link in a shared folder is not read ------------------------------------------------


def test_a_sidecar_copy_never_reads_another_users_link_in_a_shared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/tmp/out/a.jpg.xmp -> /root/secret`` made by another user: the note said whether the root-only file held
    the sidecar's bytes (none) or not (kept, differs). Now the link is not read, and the note says why. The
    sticky, world-writable folder and the other owner are made by patching ``os.stat`` / ``geteuid``."""
    (tmp_path / "in").mkdir()
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(b"photo")
    (tmp_path / "in" / "a.jpg.xmp").write_bytes(b"<x:xmpmeta/>")
    secret = tmp_path / "secret"
    secret.write_bytes(b"<x:xmpmeta/>")  # the same bytes: the old note said nothing, telling so
    (shared / "a.jpg.xmp").symlink_to(secret)
    read: list[str] = []
    real_read = sidecars_module._read_small
    monkeypatch.setattr(sidecars_module, "_read_small", lambda path: read.append(str(path)) or real_read(path))
    me = os.geteuid()
    real_stat = os.stat

    def sticky_stat(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> os.stat_result:
        info = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if os.fspath(path) == os.fspath(shared):  # /tmp's mode, owned by root
            fields = list(info)
            fields[stat.ST_MODE] = stat.S_IFDIR | 0o1777
            fields[stat.ST_UID] = me + 2
            return os.stat_result(fields)
        return info

    monkeypatch.setattr(os, "stat", sticky_stat)
    monkeypatch.setattr(os, "geteuid", lambda: me + 1)  # the link is now "another user's"

    notes = sidecars_module.copy_sidecars(tmp_path / "in" / "a.jpg", shared / "a.jpg")

    assert len(notes) == 1, notes
    assert "a.jpg.xmp beside the output is a symbolic link owned by another user in a shared folder" in notes[0]
    assert "not followed" in notes[0] and "differs" not in notes[0]
    assert str(shared / "a.jpg.xmp") not in read and secret.read_bytes() == b"<x:xmpmeta/>"
    assert (shared / "a.jpg.xmp").is_symlink()


def test_a_sidecar_copy_still_compares_the_users_own_link(tmp_path: Path) -> None:
    """The user's own link is followed as before: the same bytes there need no note."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(b"photo")
    (tmp_path / "in" / "a.jpg.xmp").write_bytes(b"<x:xmpmeta/>")
    (tmp_path / "mine.xmp").write_bytes(b"<x:xmpmeta/>")
    (tmp_path / "out" / "a.jpg.xmp").symlink_to(tmp_path / "mine.xmp")
    assert sidecars_module.copy_sidecars(tmp_path / "in" / "a.jpg", tmp_path / "out" / "a.jpg") == []


# --- 3. attachments: one note -----------------------------------------------------------------------------------


def _mkv_with_fonts(path: Path, fonts: int) -> None:
    """A 3-frame MKV with ``fonts`` TrueType attachments (``f000.ttf`` …), as an anime release with ASS subtitles."""
    with av.open(os.fspath(path), "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        for i in range(fonts):
            out.add_attachment(f"f{i:03d}.ttf", "application/x-truetype-font", b"\0" * 16)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 100, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def test_many_attachments_are_one_note(tmp_path: Path) -> None:
    """900 fonts were 900 notes (110 KB of ``--json``); 40 here stand for them."""
    from weatherclean.io.video import process_video

    _mkv_with_fonts(tmp_path / "ep01.mkv", 40)
    result = process_video(tmp_path / "ep01.mkv", tmp_path / "out.mkv", lambda frame: frame)
    about = [n for n in result.notes if "attachment" in n]
    assert about == [
        "40 attachments (fonts f000.ttf, f001.ttf, f002.ttf, …) dropped: only video, audio, subtitles and data "
        "are copied"
    ], result.notes


def test_one_attachment_is_named() -> None:
    """One attachment, not a font: named alone, without "…"."""
    from weatherclean.io.video.side_streams import _attachments_dropped

    class _Cover:
        index, name, mimetype = 1, "cover.jpg", "image/jpeg"

    note = _attachments_dropped([_Cover()])
    assert note == "1 attachment (cover.jpg) dropped: only video, audio, subtitles and data are copied"
