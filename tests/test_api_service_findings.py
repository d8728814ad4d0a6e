"""Findings of a backend developer using the Python API (``load_restorer``, ``restore``, ``restore_file``,
``restore_clip``): a device node or FIFO at ``dst`` replaced by a PNG, advice that turned 16-bit and float
pictures white or black, type hints that could not be resolved, and messages that named the wrong thing."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import socket
import stat
import typing
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

from synthetic import Inverter, StandIn, invoke_command
from weatherclean import load_restorer
from weatherclean.cli import desnow
from weatherclean.errors import ModelError, OutputError
from weatherclean.io.atomic import atomic_write
from weatherclean.restore import Restorer


@pytest.fixture
def restorer() -> Restorer:
    return load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")


def _png(path: Path, size: tuple[int, int] = (24, 32)) -> np.ndarray:
    arr = (np.random.default_rng(0).random((*size, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return arr


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here (Windows)")
needs_posix_links = pytest.mark.skipif(os.name == "nt", reason="the owner rule for links is Linux's, not Windows'")


def _symlink(link: Path, target: str) -> None:
    """``link`` → ``target``, or skip: Windows makes links only for administrators or in developer mode."""
    try:
        link.symlink_to(target)
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"cannot make symbolic links here: {exc}")


def _device_node(path: Path) -> bool:
    """A character device like /dev/null at ``path``, made here (only root may); False where it cannot be."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 3))
    except (OSError, AttributeError):
        return False
    return True


# ------------------------------------------------------------------------------------------ 1: what lies at dst


@needs_fifo
def test_restore_file_never_replaces_a_fifo_device_or_socket_and_writes_through_a_link(
    tmp_path: Path, restorer: Restorer
) -> None:
    """``restore_file("in.png", "/dev/full")`` as root replaced the device node with a PNG; a FIFO and a
    socket went the same way, and a link was replaced by a file rather than written through."""
    tmp_path = Path(os.path.realpath(tmp_path))  # a temporary folder under a link (macOS /var) is named through it
    src = tmp_path / "in.png"
    arr = _png(src)
    (tmp_path / "target.png").write_text("target")
    _symlink(tmp_path / "link.png", "target.png")
    saved = restorer.restore_file(src, tmp_path / "link.png")
    assert (tmp_path / "link.png").is_symlink() and os.readlink(tmp_path / "link.png") == "target.png"
    with Image.open(tmp_path / "target.png") as written:  # the target replaced, by the restored picture
        assert np.array_equal(np.asarray(written), 255 - arr)
    assert saved.path == tmp_path / "link.png"  # as the caller named it

    specials = {"fifo.png": f"{tmp_path / 'fifo.png'}: output path is not a regular file (a FIFO)"}
    os.mkfifo(tmp_path / "fifo.png")
    if _device_node(tmp_path / "null.png"):
        specials["null.png"] = f"{tmp_path / 'null.png'}: output path is not a regular file (a character device)"
    (tmp_path / "to-fifo.png").symlink_to("fifo.png")  # named as the user gave it, and what it leads to
    to_fifo = f"{tmp_path / 'to-fifo.png'} → {tmp_path / 'fifo.png'}"
    specials["to-fifo.png"] = f"{to_fifo}: output path is not a regular file (a FIFO)"
    with contextlib.ExitStack() as stack:
        if hasattr(socket, "AF_UNIX"):
            sock = stack.enter_context(socket.socket(socket.AF_UNIX))
            with contextlib.suppress(OSError):  # a path too long for a socket name: the others still count
                sock.bind(os.fspath(tmp_path / "sock.png"))
                specials["sock.png"] = f"{tmp_path / 'sock.png'}: output path is not a regular file (a socket)"
        for name, words in specials.items():
            before = os.lstat(tmp_path / name)
            with pytest.raises(OutputError, match=f"^{re.escape(words)}; choose another dst$"):
                restorer.restore_file(src, tmp_path / name)
            after = os.lstat(tmp_path / name)
            assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), name
    assert not list(tmp_path.glob(".*.part"))


@needs_fifo
def test_atomic_writes_refuse_a_fifo_so_the_commands_never_replace_one(tmp_path: Path) -> None:
    """``desnow in -o out --overwrite`` replaced a FIFO (and, as root, a device node) at an output's path."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="output path is not a regular file \\(a FIFO\\); choose another output path"):
        atomic_write(fifo, b"{}")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)

    _png(tmp_path / "in.png")
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "in.png")
    code, _, stderr = invoke_command(
        desnow, "desnow", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), "--overwrite", "--device", "cpu",
        models=StandIn(Inverter),
    )  # fmt: skip
    assert code != 0 and "not a regular file (a FIFO)" in stderr
    assert stat.S_ISFIFO(os.lstat(tmp_path / "out" / "in.png").st_mode)


def test_restore_file_to_a_folder_says_dst_not_the_commands_option(tmp_path: Path, restorer: Restorer) -> None:
    _png(tmp_path / "in.png")
    (tmp_path / "out.png").mkdir()
    with pytest.raises(OutputError, match=r"out\.png: output path is a folder; remove it or choose another dst$"):
        restorer.restore_file(tmp_path / "in.png", tmp_path / "out.png")


# ------------------------------------------------------------------------------------------ 2: PIL modes I and F


def test_mode_i_and_f_advice_keeps_the_values(restorer: Restorer) -> None:
    """Mode I was told ``convert('RGB')``, which made 16-bit values all white; a 0-1 mode F all black. Each
    piece of advice is followed here, and restore() must then give the inverted values back."""
    sixteen = (np.arange(12 * 16).reshape(12, 16) * 300).astype(np.int32)
    eight = (np.arange(12 * 16).reshape(12, 16) % 200).astype(np.int32)
    unit = np.linspace(0, 1, 12 * 16, dtype=np.float32).reshape(12, 16)
    cases = [
        (Image.fromarray(sixteen), "image.convert('I;16')", lambda im: im.convert("I;16"), 65535 - sixteen),
        (Image.fromarray(eight), "image.convert('L')", lambda im: im.convert("L"), 255 - eight),
        (Image.fromarray(unit), "np.asarray(image), float pixels", np.asarray, 1 - unit),
        (Image.fromarray(unit * 255), "np.asarray(image) / 255", lambda im: np.asarray(im) / 255, 1 - unit),
    ]
    for image, advice, follow, expected in cases:
        with pytest.raises(ValueError, match=f"here {re.escape(advice)}") as caught:
            restorer.restore(image)
        assert "convert('RGB'))" not in str(caught.value)
        out = np.asarray(restorer.restore(follow(image)), dtype=np.float64)
        assert np.allclose(out, expected, atol=1e-5), advice


# ------------------------------------------------------------------------------------------ 3: type hints


def test_public_type_hints_resolve_at_run_time() -> None:
    """``typing.get_type_hints(Restorer.restore_file)`` raised NameError: 'Quality' was imported for type
    checkers only."""
    for method in (Restorer.restore, Restorer.restore_file, Restorer.restore_loaded, Restorer.restore_clip,
                   Restorer.new_clip, Restorer.finish, load_restorer):  # fmt: skip
        assert typing.get_type_hints(method), method.__name__
    assert "keep" in typing.get_args(typing.get_type_hints(Restorer.restore_file)["quality"])[1].__args__


# ------------------------------------------------------------------------------------------ 4: smaller ones


def test_model_none_is_the_default_and_an_empty_name_is_refused() -> None:
    """``model=None`` read "'NoneType' cannot restore pictures"; ``model=""`` was taken as the folder '.'."""
    assert load_restorer("snow", model=None, device="cpu").name == load_restorer("snow", device="cpu").name
    for empty in ("", "  "):
        with pytest.raises(ModelError, match=r"^model '.*' is empty: name one \('default'"):
            load_restorer("snow", model=empty, device="cpu")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("photo.jpg", "not the file name 'photo.jpg': the Python API restores pictures in memory; for a photo file "
                      "use restore_file('photo.jpg', dst), or restore(PIL.Image.open('photo.jpg'))"),
        (Path("in/photo.jpg"), "not the file name 'in/photo.jpg'"),
        (b"\xff\xd8\xff", "not bytes: decode them first, e.g. PIL.Image.open(io.BytesIO(data))"),
        (io.BytesIO(b"\xff\xd8"), "not an open file (BytesIO): decode it first, e.g. PIL.Image.open(f)"),
    ],
    ids=["str", "path", "bytes", "bytesio"],
)  # fmt: skip
def test_restore_points_file_names_and_bytes_to_what_reads_them(restorer: Restorer, value: object, words: str) -> None:
    with pytest.raises(TypeError, match=re.escape(f"restore takes a NumPy array or a PIL image, {words}")):
        restorer.restore(value)  # type: ignore[type-var]


def test_restore_clip_names_the_frame_with_a_bad_dtype_or_type(restorer: Restorer) -> None:
    good = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"^frame 2: pixels must be uint8, uint16 or float in \[0, 1\], got int32$"):
        list(restorer.restore_clip([good, good, good.astype(np.int32)]))
    with pytest.raises(TypeError, match=r"^frame 1: restore_clip takes frames as NumPy arrays or PIL images, not the"):
        list(restorer.restore_clip([good, "f1.png"]))
    with pytest.raises(TypeError, match=r"not an open file \(BytesIO\)"):  # a BytesIO is iterable: refused at the call
        restorer.restore_clip(io.BytesIO(b"\x00\x00\x00\x18ftypmp42"))  # type: ignore[arg-type]


def test_restore_of_a_pil_image_rebuilds_the_exif_thumbnail(tmp_path: Path, restorer: Restorer) -> None:
    """The restored PIL image carried its input's EXIF thumbnail, which showed the snowy picture."""
    thumb = io.BytesIO()
    Image.new("RGB", (16, 12), (250, 250, 250)).save(thumb, "JPEG")  # the input's: near white
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Canon"}, "1st": {}, "thumbnail": thumb.getvalue()})
    Image.new("RGB", (40, 30), (250, 250, 250)).save(tmp_path / "snowy.jpg", exif=exif)
    with Image.open(tmp_path / "snowy.jpg") as snowy:
        out = restorer.restore(snowy)  # inverted: near black
    after = piexif.load(out.info["exif"])
    assert after["0th"][piexif.ImageIFD.Make] == b"Canon" and after["thumbnail"] != thumb.getvalue()
    with Image.open(io.BytesIO(after["thumbnail"])) as shown:
        assert np.asarray(shown).mean() < 50  # the result's thumbnail, not the input's


# ------------------------------------------------------------------------------------------ review of the fixes above


def _foreign(monkeypatch: pytest.MonkeyPatch, link: Path) -> None:
    """Make ``link`` another user's: really (``lchown``, as root), or else as ``lstat`` reports it to weatherclean."""
    other = 65534 if os.geteuid() != 65534 else 65533
    if os.geteuid() == 0:
        os.lchown(link, other, -1)
        return
    real_lstat = os.lstat

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        info = real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]
        if os.fspath(path) != os.fspath(link):  # type: ignore[arg-type]
            return info
        fields = list(info[:10])
        fields[4] = other  # st_uid
        return os.stat_result(fields)

    monkeypatch.setattr(os, "lstat", lstat)


@needs_posix_links
def test_another_users_link_in_a_sticky_folder_is_not_followed(
    tmp_path: Path, restorer: Restorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``write_target`` followed any link with realpath and renamed over its target, so another user's
    ``/tmp/out.png -> /etc/passwd`` made a root or service process replace that file: the kernel's
    ``fs.protected_symlinks`` never saw it, since nothing was opened through the link."""
    from weatherclean.io.output_links import follow_output_link

    tmp_path = Path(os.path.realpath(tmp_path))
    _png(tmp_path / "in.png")
    victim = tmp_path / "victim.txt"
    victim.write_text("secret")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # sticky and world-writable, as /tmp
    (tmp_path / "etc").mkdir()
    _symlink(shared / "out.png", os.fspath(victim))
    _symlink(shared / "dir", os.fspath(tmp_path / "etc"))  # a link on the way: /tmp/dir/out.png, /tmp/dir -> /etc
    _symlink(shared / "mine.png", os.fspath(victim))
    _foreign(monkeypatch, shared / "out.png")
    refusal = "a symbolic link owned by another user in a shared folder (sticky, world-writable); not followed"
    head = f"{shared / 'out.png'}: output path is {refusal}"
    with pytest.raises(OutputError, match=f"^{re.escape(head)}; choose another dst$"):
        restorer.restore_file(tmp_path / "in.png", shared / "out.png")
    assert victim.read_text() == "secret"
    with pytest.raises(OutputError, match="choose another -o DIR$"):  # the planner's words by default
        follow_output_link(shared / "out.png")
    monkeypatch.undo()
    _foreign(monkeypatch, shared / "dir")
    with pytest.raises(OutputError, match=f": {re.escape(str(shared / 'dir'))} is {re.escape(refusal)}"):
        restorer.restore_file(tmp_path / "in.png", shared / "dir" / "new.png")
    assert not list((tmp_path / "etc").iterdir())
    monkeypatch.undo()

    # The process's own link, and another user's outside a shared folder, are followed, as the kernel follows them.
    restorer.restore_file(tmp_path / "in.png", shared / "mine.png")
    assert (shared / "mine.png").is_symlink() and victim.read_bytes().startswith(b"\x89PNG")
    plain = tmp_path / "plain"
    plain.mkdir()
    _symlink(plain / "out.png", os.fspath(victim))
    _foreign(monkeypatch, plain / "out.png")
    assert follow_output_link(plain / "out.png") == victim
    assert follow_output_link(plain / "missing.png") == plain / "missing.png"  # nothing there: as given


@needs_posix_links
def test_a_loop_of_links_at_dst_is_one_line(tmp_path: Path, restorer: Restorer) -> None:
    """``Path(dst).resolve()`` raised RuntimeError ("Symlink loop") from deep inside, a traceback."""
    _png(tmp_path / "in.png")
    _symlink(tmp_path / "loop1.png", "loop2.png")
    _symlink(tmp_path / "loop2.png", "loop1.png")
    words = r"loop1\.png: too many levels of symbolic links \(a loop, or more than 40\); choose another dst$"
    with pytest.raises(OutputError, match=words):
        restorer.restore_file(tmp_path / "in.png", tmp_path / "loop1.png")


def test_restore_keeps_an_exif_object_in_info(restorer: Restorer) -> None:
    """``info["exif"]`` as a ``PIL.Image.Exif`` (what a caller may put there) ended in AttributeError:
    'Exif' object has no attribute 'startswith'."""
    image = Image.new("RGB", (16, 12))
    exif = Image.Exif()
    exif[271] = "Canon"
    image.info["exif"] = exif
    out = restorer.restore(image)
    assert out.info["exif"] is exif  # nothing to rebuild (no thumbnail): left as it was
    image.info["exif"] = 12345  # nothing weatherclean can read: left as it was
    assert restorer.restore(image).info["exif"] == 12345


@needs_posix_links
def test_errors_through_a_link_name_the_link_and_its_target(
    tmp_path: Path, restorer: Restorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link into a read-only folder read "…/ro/t.png: cannot write (Read-only file system)", after the model had
    run, without a word of the link the user gave."""
    import tempfile

    tmp_path = Path(os.path.realpath(tmp_path))
    _png(tmp_path / "in.png")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "t.png").write_text("t")
    _symlink(tmp_path / "link.png", "ro/t.png")
    ran: list[bool] = []
    restore_loaded = Restorer.restore_loaded
    monkeypatch.setattr(Restorer, "restore_loaded", lambda self, image: ran.append(True) or restore_loaded(self, image))

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    with monkeypatch.context() as patched:  # the folder refuses new files: known before the model runs
        patched.setattr(tempfile, "mkstemp", read_only)
        ro = tmp_path / "ro"
        head = f"{tmp_path / 'link.png'} → {ro / 't.png'}: {ro}: output folder is not writable"
        with pytest.raises(OutputError, match=f"^{re.escape(head)}"):
            restorer.restore_file(tmp_path / "in.png", tmp_path / "link.png")
    assert not ran
    with monkeypatch.context() as patched:  # a write that fails afterwards (the disk went read-only meanwhile)
        patched.setattr(os, "replace", read_only)
        target = tmp_path / "ro" / "t.png"
        words = f"{tmp_path / 'link.png'} → {target}: cannot write ({os.strerror(errno.EROFS)})"
        with pytest.raises(OutputError, match=f"^{re.escape(words)}$"):
            restorer.restore_file(tmp_path / "in.png", tmp_path / "link.png")
    assert ran and (tmp_path / "ro" / "t.png").read_text() == "t"


@needs_posix_links
def test_a_link_target_whose_ending_names_another_format_is_refused(tmp_path: Path, restorer: Restorer) -> None:
    """``named.png -> real.jpg`` wrote PNG bytes into real.jpg; a link named without a format ending writes the
    target's."""
    tmp_path = Path(os.path.realpath(tmp_path))
    _png(tmp_path / "in.png")
    (tmp_path / "real.jpg").write_text("j")
    _symlink(tmp_path / "named.png", "real.jpg")
    words = f"{tmp_path / 'named.png'} → {tmp_path / 'real.jpg'}: its ending names JPEG, but the link's name"
    with pytest.raises(OutputError, match=f"^{re.escape(words)} 'named.png' names PNG; rename the link or its target$"):
        restorer.restore_file(tmp_path / "in.png", tmp_path / "named.png")
    assert (tmp_path / "real.jpg").read_text() == "j"
    _symlink(tmp_path / "plain", "real.jpg")
    assert restorer.restore_file(tmp_path / "in.png", tmp_path / "plain").format == "JPEG"
    assert (tmp_path / "real.jpg").read_bytes().startswith(b"\xff\xd8")


def test_special_kind_is_the_one_table_of_what_is_not_a_file() -> None:
    from weatherclean.io.output_links import special_kind

    assert special_kind(stat.S_IFIFO | 0o644) == "a FIFO"
    assert special_kind(stat.S_IFCHR | 0o644) == "a character device"
    assert special_kind(stat.S_IFSOCK | 0o644) == "a socket"
    assert special_kind(stat.S_IFBLK | 0o644) == "a block device"
    for mode in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):
        assert special_kind(mode | 0o644) is None


def test_smaller_findings_nan_open_files_and_frame_errors(restorer: Restorer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mode F picture with NaN was told "its values are nan to nan"; anything with ``read`` was "an open file";
    ``type(exc)(f"frame {n}: …")`` broke on exception classes that take other arguments."""
    from weatherclean.restore import restorer as module

    nan = Image.fromarray(np.array([[np.nan, 0.5], [0.2, 0.1]], np.float32))
    with pytest.raises(ValueError, match=r"here np\.asarray\(image\), float pixels in \[0, 1\].*NaN and infinite"):
        restorer.restore(nan)

    class Reader:  # a caller's own object with read(): not a file
        def read(self) -> bytes:
            return b""

    with pytest.raises(TypeError, match=r"^expected a NumPy array or a PIL image, got Reader$"):
        restorer.restore(Reader())  # type: ignore[type-var]

    def odd(frame: object, call: str) -> None:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")  # five arguments, not one

    monkeypatch.setattr(module, "_split", odd)
    with pytest.raises(ValueError, match=r"^frame 0: 'utf-8' codec can't decode") as caught:
        list(restorer.restore_clip([np.zeros((8, 8, 3), np.uint8)]))
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


# ------------------------------------------------------------------------------------------ second review


def _shared_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A sticky, world-writable folder (as ``/tmp``) and an empty folder standing for ``/etc``, under real paths."""
    tmp_path = Path(os.path.realpath(tmp_path))
    shared, etc = tmp_path / "shared", tmp_path / "etc"
    shared.mkdir()
    shared.chmod(0o1777)
    etc.mkdir()
    return shared, etc


@needs_posix_links
def test_a_link_made_while_the_model_runs_is_refused_before_the_write(
    tmp_path: Path, restorer: Restorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``restore_file(src, "/tmp/job42/passwd")`` checked the path before the model ran, when ``/tmp/job42`` did not
    exist; another user's ``/tmp/job42 -> /etc`` made meanwhile got the file (``mkdir -p`` and the rename went
    through it)."""
    shared, etc = _shared_tree(tmp_path)
    _png(tmp_path / "in.png")
    restore_loaded = Restorer.restore_loaded

    def attacker(self: Restorer, image: object) -> np.ndarray:
        _symlink(shared / "job42", os.fspath(etc))
        _foreign(monkeypatch, shared / "job42")
        return restore_loaded(self, image)  # type: ignore[arg-type]

    monkeypatch.setattr(Restorer, "restore_loaded", attacker)
    head = f"{shared / 'job42' / 'passwd'}: {shared / 'job42'} is a symbolic link owned by another user"
    with pytest.raises(OutputError, match=f"^{re.escape(head)} in a shared folder .*; choose another dst$"):
        restorer.restore_file(tmp_path / "in.png", shared / "job42" / "passwd")
    assert not list(etc.iterdir())


@needs_posix_links
def test_atomic_writes_check_the_folder_again_before_the_temporary_file_and_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch and every writer go through ``atomic_path``: a link that appeared after the planner looked (before
    the temporary file is made, or while a video was written) must not take the file elsewhere."""
    from weatherclean.io.atomic import atomic_path
    from weatherclean.io.permissions import make_folders

    shared, etc = _shared_tree(tmp_path)
    _symlink(shared / "job42", os.fspath(etc))
    _foreign(monkeypatch, shared / "job42")
    refusal = f"{shared / 'job42'} is a symbolic link owned by another user in a shared folder"
    with pytest.raises(OutputError, match=f"^{re.escape(str(shared / 'job42' / 'out.png'))}: {re.escape(refusal)}"):
        atomic_write(shared / "job42" / "out.png", b"png")
    with pytest.raises(OutputError, match=re.escape(refusal)):  # no folder made through it either (mkdir -p)
        make_folders(shared / "job42" / "deeper")
    assert not list(etc.iterdir())
    monkeypatch.undo()

    # While the file is written (a video takes minutes), the folder is replaced by another user's link.
    job = shared / "job"
    job.mkdir()
    words = f"^{re.escape(str(job / 'out.png'))}: {re.escape(str(job))} is a symbolic"
    with pytest.raises(OutputError, match=words), atomic_path(job / "out.png") as tmp:
        tmp.write_bytes(b"png")
        job.rename(shared / "moved")
        _symlink(job, os.fspath(etc))
        _foreign(monkeypatch, job)
    assert not list(etc.iterdir())
    assert [p.suffix for p in (shared / "moved").iterdir()] == [".part"]  # left for the stale cleanup, not followed
    monkeypatch.undo()
    job.unlink()

    # Or by a link of the process's own that leads elsewhere: not the folder that was checked, so not written.
    job.mkdir()
    (tmp_path / "elsewhere").mkdir()
    words = f"^{re.escape(str(job / 'out.png'))}: its folder {re.escape(str(job))} now leads to .*elsewhere"
    with pytest.raises(OutputError, match=words), atomic_path(job / "out.png") as tmp:
        tmp.write_bytes(b"png")
        job.rename(shared / "moved2")
        _symlink(job, os.fspath(tmp_path / "elsewhere"))
    assert not list((tmp_path / "elsewhere").iterdir())
    job.unlink()

    # And between the flush and the rename (the last look, in _commit): the rename does not go through it either.
    from weatherclean.io import atomic

    job.mkdir()
    keep_attributes = atomic.keep_attributes

    def then_swap(tmp: object, dest: Path) -> None:
        keep_attributes(tmp, dest)  # type: ignore[arg-type]
        job.rename(shared / "moved3")
        _symlink(job, os.fspath(tmp_path / "elsewhere"))

    with monkeypatch.context() as patched:
        patched.setattr(atomic, "keep_attributes", then_swap)
        with pytest.raises(OutputError, match=words):
            atomic_write(job / "out.png", b"png")
    assert not list((tmp_path / "elsewhere").iterdir())
    job.unlink()

    # The process's own links are still written through, the temporary file made in the folder they lead to.
    _symlink(shared / "mine", os.fspath(tmp_path / "elsewhere"))
    atomic_write(shared / "mine" / "ok.png", b"png")
    assert (tmp_path / "elsewhere" / "ok.png").read_bytes() == b"png"


@needs_fifo
def test_the_commands_say_the_output_path_is_the_fifo_not_the_input(tmp_path: Path) -> None:
    """``error: in.png: not a regular file (a FIFO)`` said that of the input, a plain photo: the FIFO was
    ``out/in.png``. The message says what is wrong about the output."""
    _png(tmp_path / "in.png")
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "in.png")
    code, _, stderr = invoke_command(
        desnow, "desnow", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), "--device", "cpu",
        models=StandIn(Inverter),
    )  # fmt: skip
    assert code == 1 and "output path is not a regular file (a FIFO)" in stderr
    assert "in.png: not a regular file" not in stderr


def test_restore_file_probes_its_output_folder_once_per_restorer(
    tmp_path: Path, restorer: Restorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call made and deleted a ``.weatherclean-probe-*`` file: on s3fs or gcsfuse an object made and removed
    per picture, and an event for every folder watcher. Once a write fails, the folder is tried again."""
    import tempfile

    _png(tmp_path / "in.png")
    (tmp_path / "out").mkdir()
    probes: list[str] = []
    mkstemp = tempfile.mkstemp

    def spy(*args: object, **kwargs: typing.Any) -> tuple[int, str]:
        fd, name = mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        if os.path.basename(name).startswith(".weatherclean-probe-"):
            probes.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    for name in ("a.png", "b.png", "c.png"):
        restorer.restore_file(tmp_path / "in.png", tmp_path / "out" / name)
    assert len(probes) == 1
    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only")))
        with pytest.raises(OutputError, match="cannot write"):
            restorer.restore_file(tmp_path / "in.png", tmp_path / "out" / "d.png")
    restorer.restore_file(tmp_path / "in.png", tmp_path / "out" / "d.png")
    assert len(probes) == 2
    other = load_restorer("snow", model=Inverter(), device="cpu", precision="fp32")
    other.restore_file(tmp_path / "in.png", tmp_path / "out" / "e.png")
    assert len(probes) == 3  # per restorer


def test_smaller_findings_of_the_second_review(tmp_path: Path, restorer: Restorer) -> None:
    """41 distinct links read "a loop"; a FIFO's message ended "choose another output path" where the others say
    "choose another dst"; a NUL in ``dst`` or ``src`` was a bare ValueError ("embedded null byte")."""
    from weatherclean.errors import InputError
    from weatherclean.io.output_links import follow_output_link, refuse_special

    _png(tmp_path / "in.png")
    with pytest.raises(OutputError, match=r"^o\\0\.png: output path holds a NUL character, .*; choose another dst$"):
        restorer.restore_file(tmp_path / "in.png", "o\0.png")
    with pytest.raises(InputError, match=r"^i\\0\.png: holds a NUL character"):
        restorer.restore_file("i\0.png", tmp_path / "out.png")
    with pytest.raises(OutputError, match="NUL character"):
        follow_output_link("o\0.png")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(OutputError, match="output path is not a regular file \\(a FIFO\\); do this$"):
            refuse_special(tmp_path / "fifo", choose="do this")
    if os.name == "nt":
        return
    previous = tmp_path / "in.png"
    for number in range(41):  # distinct links, no loop: too many levels all the same, as the kernel says (ELOOP)
        _symlink(tmp_path / f"c{number}", os.fspath(previous))
        previous = tmp_path / f"c{number}"
    assert follow_output_link(tmp_path / "c39") == tmp_path / "in.png"
    with pytest.raises(OutputError, match=r"c40: too many levels of symbolic links \(a loop, or more than 40\)"):
        follow_output_link(tmp_path / "c40")
