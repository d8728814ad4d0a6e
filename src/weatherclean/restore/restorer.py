"""One loaded model, ready to restore pictures: the public Python API and what every command runs on.

:func:`load_restorer` puts the pieces together once, in the order that matters: the device (CUDA, then
MPS, then CPU), the precision (fp16 on CUDA, bf16 on CPUs that compute it natively, each tile checked
and redone in fp32 when it comes out broken), the weights in the memory layout the device convolves
fastest, ``torch.compile`` when asked, and the tile overlap the model needs. ``desnow``, ``derain``,
``evaluate``, the scripts and the benchmarks all get their model this way, so a picture restored from
Python is the picture the command line writes.

A :class:`Restorer` takes pictures in the form a Python user has them (a NumPy array of any usual
dtype, or a PIL image) and gives them back in the same form; files go through the same loader and
writer as the commands, metadata included.
"""

from __future__ import annotations

import contextlib
import functools
import io
import numbers
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from weatherclean.devices import resolve_device, to_fast_layout
from weatherclean.errors import Cancelled, DiskFullError, InputError, ModelError, OutputError

# At run time, not only for type checkers, so that typing.get_type_hints() resolves the public methods' hints
# (LoadedImage, Quality, SavedImage): torch, imported above, costs 1.2 s; these ~50 ms more.
from weatherclean.io.images import LoadedImage, SavedImage
from weatherclean.io.quality import Quality
from weatherclean.models.family import RecurrentModel, RestorationModel, family_for_task
from weatherclean.models.loading import model_memory
from weatherclean.restore.compiled import CompiledCall, compile_model
from weatherclean.restore.picture_gate import apply_picture_gate, gate_of
from weatherclean.restore.pixels import FLOAT_RANGE, check_dtype, engine_pixels, restore_frame
from weatherclean.restore.precision import GuardedPrecision, resolve_precision
from weatherclean.restore.protocols import CancelSignal, ClipRestorer
from weatherclean.restore.recurrent import RecurrentTiles
from weatherclean.restore.tiling import (
    Progress,
    memory_tile_note,
    ran_whole,
    run_tiled_array,
    stop_if_cancelled,
    tile_align,
)

__all__ = [
    "MIN_OVERLAP",
    "MIN_TILE",
    "ClipRestorer",
    "Restorer",
    "load_restorer",
    "with_pass_through",
    "with_self_ensemble",
]

#: Tile overlap used when the model asks for less: below it seams can show whatever the model says.
MIN_OVERLAP = 32
#: The smallest tile edge (``--tile``'s floor too): smaller tiles are mostly overlap and crawl.
MIN_TILE = 64

Picture = TypeVar("Picture", np.ndarray, Image.Image)

#: PIL modes :meth:`Restorer.restore` takes; alpha (RGBA, LA) passes through unchanged. 16-bit grey in
#: either byte order (a big-endian TIFF opens as I;16B) comes back as native I;16, the same values.
_PIL_MODES = ("RGB", "L", "I;16", "I;16B", "I;16L", "RGBA", "LA")
#: The mode to suggest for a PIL mode that is not taken: one that keeps what the picture has (a palette
#: with transparency converted to RGB loses its alpha; RGB is the answer for the rest, CMYK included).
_CONVERT_TO = {"PA": "RGBA", "RGBa": "RGBA", "La": "LA", "1": "L"}


@dataclass(eq=False)
class Restorer:
    """A model with its device, precision, tiling and compile choices; make one with :func:`load_restorer`.

    ``dtype`` is the autocast precision (None: fp32); ``tile`` None picks the tile size from free memory
    per picture; ``overlap`` is how far tiles overlap as asked (or the model's receptive field): each tile
    uses at most half its edge of it, and :attr:`notes` say when a fixed ``tile`` leaves less. One precision
    guard serves every picture, so once a tile needed fp32 the rest of the run stays in fp32 (:attr:`notes`
    says when that happened).
    """

    model: RestorationModel
    device: torch.device
    dtype: torch.dtype | None = None
    tile: int | None = None
    overlap: int = MIN_OVERLAP
    task: str | None = None
    compiled: CompiledCall | None = None
    #: The model as it was named to :func:`load_restorer` (a registered name, ``default`` resolved; a folder;
    #: a Hub id), None for a model object: what :func:`repr` shows beside the model's class.
    name: str | None = None
    #: The largest picture :meth:`restore_file` decodes, in pixels (:func:`load_restorer`'s ``max_pixels``); None
    #: for the process's (``WEATHERCLEAN_MAX_MEGAPIXELS``, else 1000 MP). Read at each call.
    max_pixels: int | None = None
    guard: GuardedPrecision = field(init=False)
    _notes: list[str] = field(default_factory=list, init=False, repr=False)
    #: Output folders (absolute) that :meth:`restore_file` found writable, the most recently used last: tried once,
    #: not before every picture. At most :data:`_WRITABLE_KEPT`: a service writing each request into a folder of its
    #: own (``tempfile.mkdtemp``) grew a set by one deleted folder per call, for ever.
    _writable: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False, repr=False)
    #: This thread's last picture: its tile (:attr:`tile_used`). Per thread: a service shares one restorer.
    _last: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def __post_init__(self) -> None:
        label = f"{type(self.model).__name__}.restore()"
        self.guard = GuardedPrecision(self.model.restore, self.device, self.dtype, label=label)

    def __getstate__(self) -> dict[str, Any]:
        """The fields but :attr:`_last`, a ``threading.local``, which pickle and ``copy.deepcopy`` refuse: a copy, or a
        restorer sent to a worker process, starts with no last picture (:attr:`tile_used` None in every thread)."""
        state = self.__dict__.copy()
        state.pop("_last", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._last = threading.local()

    def __repr__(self) -> str:
        """One short line: what was loaded and how it runs. The dataclass's own repr printed the whole network
        (42,894 characters for the default snow model), which buried all of this in a notebook."""
        model = type(self.model).__name__
        parts = [
            f"task={self.task!r}",
            f"model={self.name!r} ({model})" if self.name else f"model={model}",
            f"device='{self.device}'",
            f"precision='{_PRECISION_NAMES.get(self.guard.dtype, str(self.guard.dtype))}'",  # after any fp32 fallback
            f"tile={self.tile}",
            f"overlap={self.overlap}",
        ]
        ensemble = getattr(getattr(self.model, "config", None), "self_ensemble", None)
        if isinstance(ensemble, bool):
            parts.append(f"self_ensemble={ensemble}")
        if self.compiled is not None:
            parts.append("compile=True")
        if self.max_pixels is not None:
            parts.append(f"max_pixels={self.max_pixels}")
        return f"Restorer({', '.join(parts)})"

    # ------------------------------------------------------------------------------------------ pictures

    def restore(
        self, image: Picture, *, progress: Progress | None = None, cancel: CancelSignal | None = None
    ) -> Picture:
        """The restored picture, of the same type, size and dtype as ``image``.

        ``image`` is a NumPy array H×W×3 or H×W (also H×W×1, and H×W×4 or H×W×2 whose last channel is
        alpha, passed through) of uint8, uint16 or float in [0, 1]; or a PIL image in mode RGB, L,
        I;16, RGBA or LA. Float results are clipped to [0, 1]; integer results are rounded. A PIL image comes
        back with the input's ``info``, its EXIF with a thumbnail of the result rather than of the input.

        A file name, bytes or an open file are a ``TypeError`` saying what to use instead (``restore_file``,
        ``PIL.Image.open``): this call restores pixels in memory.

        ``progress(done, total)``, when given, is called after each tile (``total``: this picture's tiles; once,
        ``(1, 1)``, for a picture run whole), in the calling thread: a GUI's progress bar. ``cancel``, any object
        with an ``is_set()`` method (a ``threading.Event`` another thread sets), is asked before each tile; once it
        is set the call raises :class:`~weatherclean.errors.Cancelled`, within one tile's time, and the restorer
        is ready for the next call. An exception ``progress`` raises goes up as it is. Neither changes the result.
        """
        _check_hooks(progress, cancel)
        pixels, rebuild = _split(image, "restore")
        return rebuild(self._restore_array(pixels, progress=progress, cancel=cancel))

    def _restore_array(
        self,
        pixels: np.ndarray,
        *,
        out: np.ndarray | None = None,
        on_note: Callable[[int, str], object] | None = None,
        progress: Progress | None = None,
        cancel: CancelSignal | None = None,
    ) -> np.ndarray:
        """Checked H×W×C pixels (C = 1 or 3; uint8, uint16 or float) → restored, as :func:`run_tiled_array`
        returns them (float32 for float input, else the input's integer type), written into ``out`` when given.
        The tile it ran in is :attr:`tile_used`'s; ``on_note(tile, note)`` is told the note when that tile makes
        the pixels depend on free memory (:meth:`_tile_note`).

        Private: it trusts its caller to have checked the pixels (:func:`_split`, :func:`engine_pixels`), so
        0-255 floats would be clipped white here without a word. A model with a picture gate
        (``config.picture_gate``) then compares the whole output with the input; when ``out`` is ``pixels``
        itself, the input is copied first for that. ``progress`` and ``cancel``: see :meth:`restore`; ``cancel`` is
        asked once more at the end, so that one set during the last (or only) tile still stops the call."""
        before = pixels
        if out is not None and gate_of(self.model) > 0 and np.may_share_memory(out, pixels):
            before = pixels.copy()
        # The model's hint for the automatic tile size was measured on a CPU; on CUDA the engine measures.
        bpp = self.model.bytes_per_pixel if self.device.type != "cuda" else None
        used: list[int] = []
        result = run_tiled_array(
            self.guard, pixels, tile=self.tile, overlap=self.overlap, device=self.device, bytes_per_pixel=bpp, out=out,
            align=tile_align(self.model), on_tile=used.append, progress=progress, cancel=cancel,
        )  # fmt: skip
        height, width = pixels.shape[:2]
        whole = ran_whole(used[-1], height, width, overlap=self.overlap, align=tile_align(self.model))
        self._last.tile = max(height, width) if whole else used[-1]
        note = None if whole else self._tile_note(used[-1], height, width)  # whole: as with any memory
        if note is not None and on_note is not None:
            on_note(used[-1], note)
        result = self._gate(before, result)
        stop_if_cancelled(cancel, "after its last tile")
        return result

    @property
    def tile_used(self) -> int | None:
        """The tile edge, in pixels, that the last picture restored in the calling thread went through the model in
        (its longer side when it ran whole, also under a fixed ``tile`` larger than the picture); None before any.
        Per thread, as a service shares one restorer: read it in the thread that restored. With ``tile=None`` it
        follows free memory, so the same picture may get other tiles, and slightly other pixels, on another
        machine: passing it as ``tile`` (``--tile``) makes the tiling, and so the output, independent of free
        memory."""
        return getattr(self._last, "tile", None)

    def _tile_note(self, used: int, height: int, width: int) -> str | None:
        """The note for a picture restored in ``used``-px tiles that another machine, with more memory, would not
        have used: an automatic tile smaller than the device's standard one
        (:func:`~weatherclean.restore.tiling.memory_tile_note`), or a fixed ``tile`` that ran out of memory and
        was halved. None otherwise."""
        if self.tile is None:
            return memory_tile_note(
                used, height, width, self.device, overlap=self.overlap, align=tile_align(self.model)
            )
        if used >= self.tile:
            return None
        return f"tiles of {used} px for want of free memory (with more: the {self.tile} px asked)"

    def finish(self, pixels: np.ndarray, result: np.ndarray) -> np.ndarray:
        """What happens to a whole picture once its tiles are joined: the model's picture gate
        (:mod:`~weatherclean.restore.picture_gate`; nothing for a model without one), written into
        ``result``. ``evaluate`` calls it after its own tiling, so what it scores is what ``desnow`` writes.

        ``pixels`` (the input) and ``result`` (the model's output for it) are H×W×C arrays of one shape,
        checked as :meth:`restore` checks a picture: the gate compares brightness, which 0-255 floats
        would turn into nonsense."""
        pixels, result = engine_pixels(pixels, "pixels"), engine_pixels(result, "result")
        if result.shape != pixels.shape:
            raise ValueError(f"result is {result.shape}, pixels {pixels.shape}; they must be one picture's")
        return self._gate(pixels, result)

    def _gate(self, pixels: np.ndarray, result: np.ndarray) -> np.ndarray:
        """:meth:`finish` on pixels already checked."""
        floor = gate_of(self.model)
        return apply_picture_gate(pixels, result, floor) if floor > 0 else result

    def restore_loaded(
        self, image: LoadedImage, *, progress: Progress | None = None, cancel: CancelSignal | None = None
    ) -> np.ndarray:
        """A decoded photo's restored pixels (float32 H×W×C), for :func:`~weatherclean.io.images.save_image`:
        the commands' way to restore a photo, as :func:`~weatherclean.io.images.load_image` hands it over.
        ``image.pixels`` are checked as :meth:`restore` checks a picture (H×W×1 or H×W×3, uint8, uint16 or
        float in [0, 1]).

        The result is written over ``image.pixels`` when they are a writable float32 array, because a
        decoded photo is a copy that nothing reads again (the writer needs only its shape and metadata):
        that saves a whole float32 image (288 MB at 24 megapixels) on the way to the encoder, except for a
        model with a picture gate, which keeps a copy of the input to compare with.

        A photo whose EXIF orientation turns it (a portrait photo stored on its side) is restored the way a
        viewer shows it and turned back, so the result is again as stored: rain falls down the displayed
        picture, and stored sideways it was left in.

        ``progress`` and ``cancel`` are :meth:`restore`'s; a cancelled call may leave ``image.pixels`` partly
        overwritten (the decoded copy, which nothing reads again).
        """
        from weatherclean.io.orientation import to_stored, to_upright

        if not hasattr(image, "pixels"):
            raise TypeError(
                f"restore_loaded takes a decoded photo (weatherclean.io.images.load_image), got "
                f"{type(image).__name__}; for an array or a PIL image use restore()"
            )
        _check_hooks(progress, cancel)
        orientation = getattr(image, "orientation", 1)  # a record of the caller's own may not say
        stored = engine_pixels(image.pixels, "image.pixels")
        pixels = to_upright(stored, orientation)  # a copy when it turns anything
        notes = getattr(image, "notes", None)  # the photo's notes reach restore_file's and the batch's rows
        result = self._restore_array(
            pixels, out=pixels if _reusable(pixels) else None,
            on_note=(lambda _tile, note: notes.append(note)) if isinstance(notes, list) else None,
            progress=progress, cancel=cancel,
        )  # fmt: skip
        if pixels is stored:
            return result
        # Turned back into the decoded array, not a third copy: 2 float pictures at the peak, not 3.
        back = to_stored(result, orientation, view=True)
        if _reusable(stored) and stored.shape == back.shape:
            np.copyto(stored, back)
            return stored
        return np.ascontiguousarray(back)

    def restore_file(
        self,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        *,
        format: str | None = None,
        quality: Quality = 95,
        progress: Progress | None = None,
        cancel: CancelSignal | None = None,
    ) -> SavedImage:
        """Restore the photo ``src`` into ``dst`` as ``desnow``/``derain`` write photos: bit depth, alpha and
        metadata (EXIF, GPS, ICC, XMP) kept, written atomically, in the format ``dst``'s ending names
        (``.jpg``, ``.png``, ...), else ``format``, else the input's. The returned
        :class:`~weatherclean.io.images.SavedImage`'s ``notes`` say what was converted on the way in (CMYK,
        a palette, a misnamed file), which format was written when the input was misnamed or ``dst`` has an ending
        that names no picture format (``o.mp4``: the input's; a ``dst`` with no ending gets it without a note), and
        what the output could not keep, as the commands' summaries do. ``quality`` is 1-100, or ``"keep"`` (as
        ``--quality keep``): a JPEG written as JPEG keeps its own quantisation tables and subsampling; other photos
        get 95.
        An existing file at ``dst`` other than ``src`` is replaced (atomically); a link to a file is written
        through (the file it points to is replaced, the link kept), as the commands write their outputs.

        Another user's symbolic link in a sticky, world-writable folder such as ``/tmp`` is never followed, wherever
        it lies on ``dst``'s path (:func:`~weatherclean.io.output_links.follow_output_link`); it is looked for before
        the model runs and again just before the file is written. Links elsewhere are followed, as the kernel
        follows them: a root service writing ``/home/alice/out.png`` writes through Alice's link there.

        Raises :class:`~weatherclean.errors.InputError` for an unreadable input and
        :class:`~weatherclean.errors.OutputError` for an unwritable output, a ``format`` that ``dst``'s ending, or
        the ending of the file a link at ``dst`` points to, contradicts, too many links in a row (a loop), a NUL
        character in ``dst``, and a ``dst`` that is a folder or not a file at all (a device, a FIFO, a socket: a
        rename would replace it), each one line naming the file (``DST → TARGET`` through a link), before the
        model runs. The output folder is tried first (a probe file made and removed there), once per restorer
        and folder: a service looping over one folder does not add a file and a deletion per picture (each an
        object on a bucket mounted with s3fs or gcsfuse, an event for folder watchers).

        The picture is decoded under :attr:`max_pixels` (when set; else the process's limit), and a larger one is an
        :class:`~weatherclean.errors.InputError` before it is decoded.

        ``progress`` and ``cancel`` are :meth:`restore`'s: ``cancel`` is also asked before the photo is read and
        before it is written, and a cancelled call writes nothing (no ``dst``, no temporary). Decoding and
        encoding are not interrupted: to bound those (a hostile upload that decodes slowly), run the call in a
        worker process.
        """
        from weatherclean.io.folders import check_writable_folders
        from weatherclean.io.images import load_image, save_image
        from weatherclean.io.images.opener import _pixel_limit
        from weatherclean.io.output_links import follow_output_link, through_link, write_target
        from weatherclean.io.permissions import input_mode, new_files_like
        from weatherclean.io.quality import check_quality

        src, dst = _file_path(src, "src"), _file_path(dst, "dst")
        _check_hooks(progress, cancel, os.fspath(src))
        if "\0" in os.fspath(src):  # os.stat would raise ValueError ("embedded null byte"), a traceback
            shown = os.fspath(src).replace("\0", "\\0")
            raise InputError(f"{shown}: holds a NUL character, which no file name can; check src")
        limit = _checked_max_pixels(self.max_pixels, "max_pixels")  # an attribute set by hand, too
        asked, format = format, _output_format(Path(dst), format)
        dest = write_target(Path(dst), choose=_CHOOSE_DST)  # through a link; never over a device or FIFO
        # realpath, not Path.resolve: it never raises (a loop of links raised RuntimeError); write_target refuses one
        if os.path.realpath(dst) == os.path.realpath(src) or _same_file(src, dst):  # a hard link, a case-blind disk
            raise OutputError(f"{dst}: would overwrite its input {src}; write the result elsewhere")
        try:
            check_quality(quality)  # before the model runs: save_image would refuse it only afterwards
        except ValueError as exc:
            raise OutputError(f"{dst}: {exc}") from None
        linked = through_link(dst, dest) != os.fspath(dst)  # a link led elsewhere: errors are about its target
        if linked:
            format = _format_behind_link(dst, dest, format)
        folder = os.path.abspath(dest.parent)
        if not self._tried(folder):
            try:  # as the commands do: a read-only folder failed only after the model had run
                check_writable_folders([dest.parent], hint=_CHOOSE_DST)
            except OutputError as exc:
                raise _through(exc, dst, dest) if linked else exc from None
            self._remember(folder)
        mode = input_mode(src)  # the commands' rule: the output's permissions are the input's, read when it starts
        with _pixel_limit(limit, restorer=True):  # this thread only: another restorer may serve another one
            image = load_image(src)
        shape = image.pixels.shape
        try:
            # only the hooks given: a subclass's (or a test's) restore_loaded(image) of before still serves the rest
            hooks = {name: hook for name, hook in (("progress", progress), ("cancel", cancel)) if hook is not None}
            result = self.restore_loaded(image, **hooks)
            if result.shape[:2] != shape[:2]:
                raise OutputError(f"{src}: processing changed the size {shape} → {result.shape}")
            stop_if_cancelled(cancel, f"after its last tile, before {os.fspath(dst)} was written")
        except Cancelled as exc:  # which photo: a service cancels one of many
            raise Cancelled(f"{os.fspath(src)}: {exc}") from None
        try:
            try:
                follow_output_link(dest.parent, choose=_CHOOSE_DST, output=dest)  # a link made while the model ran
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{dest.parent}: cannot create output folder ({exc.strerror or exc})") from None
            with new_files_like(mode):
                saved = save_image(dest, result, image, format=format, quality=quality)
        except OutputError as exc:
            self._writable.pop(folder, None)  # what was tried is no longer so: try again before the next model run
            raise _through(exc, dst, dest) if linked else exc from None
        saved.path = Path(dst)  # as the caller named it, not the file behind a link
        chosen = _format_reason(Path(dst), dest if linked else None, asked)
        saved.notes[:0] = _written_notes(Path(src), Path(dst), image, saved.format, chosen)
        return saved

    def _tried(self, folder: str) -> bool:
        """Whether :meth:`restore_file` found ``folder`` writable lately (then the most recently used). Tolerant of
        other threads of a service sharing the restorer: one may have dropped it meanwhile."""
        if folder not in self._writable:
            return False
        with contextlib.suppress(KeyError):
            self._writable.move_to_end(folder)
        return True

    def _remember(self, folder: str) -> None:
        """Note ``folder`` as writable, forgetting the least recently used beyond :data:`_WRITABLE_KEPT` (one probe
        more, at worst, for a folder used again after that many others)."""
        self._writable[folder] = None
        with contextlib.suppress(KeyError):
            self._writable.move_to_end(folder)
        while len(self._writable) > _WRITABLE_KEPT:
            try:
                self._writable.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                break

    # ------------------------------------------------------------------------------------------ clips

    @property
    def recurrent(self) -> bool:
        """Whether the model carries memory from frame to frame (J4R-Net) or restores each frame alone."""
        return isinstance(self.model, RecurrentModel)

    def new_clip(self) -> ClipRestorer:
        """A fresh restorer for one clip, called with each frame in turn: what the commands run videos and
        ``--frames`` folders with (:meth:`restore_clip` is the same, over an iterable of frames in any form
        :meth:`restore` takes). A recurrent model starts with empty memory (clips never share it), one memory
        per tile position; any other model restores each frame alone. Frames are H×W×1 or H×W×3 arrays of
        uint8, uint16 or float in [0, 1], checked as :meth:`restore` checks a picture, and come back in
        their dtype."""
        return self._new_clip(check=True)

    def _new_clip(self, *, check: bool) -> ClipRestorer:
        """:meth:`new_clip`; ``check=False`` for frames already checked (:meth:`restore_clip`'s)."""
        if isinstance(self.model, RecurrentModel):
            model, device, dtype = self.model, self.device, self.dtype
            return RecurrentTiles(model, device=device, dtype=dtype, tile=self.tile, overlap=self.overlap, check=check)
        return _FrameByFrame(self._restore_array, check=check)

    def restore_clip(self, frames: Iterable[Picture]) -> Iterator[Picture]:
        """Restore a clip's frames in order, lazily: each restored frame is yielded before the next is read.

        Frames take the forms :meth:`restore` takes and come back in the same form. J4R-Net's memory is
        carried from each frame to the next (a new call is a new clip); a snow model restores each frame
        alone. Frames of one clip must all have the same size. A snow model's picture gate decides frame by
        frame, so a clip whose snow sits near its floor can switch between corrected and unchanged frames.

        An array is split along its first axis: N×H×W×3 (or ×4, ×2 with alpha) is N colour frames and N×H×W
        is N grey frames, so a (3, H, W) array is three grey frames, not one channels-first picture (use
        ``np.moveaxis(a, 0, -1)`` for that). One picture (H×W, or H×W×C with C ≤ 4), a PIL image, a file
        name and anything that is not iterable are a ``TypeError`` here, at the call: this API restores
        frames, and ``weatherclean desnow`` and ``derain`` read video files.
        """
        _check_clip_argument(frames)
        return self._clip_frames(iter(frames))

    def _clip_frames(self, frames: Iterator[Picture]) -> Iterator[Picture]:
        """:meth:`restore_clip`'s generator (a separate one, so that a wrong argument fails at the call)."""
        clip = self._new_clip(check=False)  # _split checks each frame
        size: tuple[int, ...] | None = None
        try:
            for number, frame in enumerate(frames):
                try:  # which frame: the 500th of a clip may be the odd one
                    pixels, rebuild = _split(frame, "restore_clip")
                except TypeError as exc:  # the documented classes, not type(exc): a subclass may take other arguments
                    raise TypeError(f"frame {number}: {exc}") from exc
                except ValueError as exc:
                    raise ValueError(f"frame {number}: {exc}") from exc
                if size is not None and pixels.shape[:2] != size:
                    raise ValueError(f"frame {number} is {pixels.shape[:2]}, the clip's first frame {size}")
                size = pixels.shape[:2]
                yield rebuild(clip(pixels))
        finally:
            self._notes.extend(note for note in clip.notes if note not in self._notes)

    @property
    def notes(self) -> list[str]:
        """Things the user should know about the run: precision fallbacks, a failed compile, a tile too small
        for the overlap, an out-of-memory tile shrink in a clip."""
        notes = [*self._notes, *self.guard.fallbacks]
        if self.compiled is not None and self.compiled.failure:
            notes.append(f"torch.compile failed ({self.compiled.failure}); ran without it")
        return notes


@dataclass
class _FrameByFrame:
    """A clip restorer for models without memory: every frame is a photo of its own. ``check``: see
    :func:`~weatherclean.restore.pixels.restore_frame`."""

    #: :meth:`Restorer._restore_array`.
    restore: Callable[..., np.ndarray]
    check: bool = True
    #: The tile note of the frame with the smallest tile, and that tile: one note per clip, however often free
    #: memory changed the tile over a long clip (a note per tile value filled the summary).
    _tile_note: tuple[int, str] | None = field(default=None, init=False)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return restore_frame(functools.partial(self.restore, on_note=self._keep_note), frame, check=self.check)

    def _keep_note(self, tile: int, note: str) -> None:
        if self._tile_note is None or tile < self._tile_note[0]:
            self._tile_note = (tile, note)

    @property
    def notes(self) -> list[str]:
        return [self._tile_note[1]] if self._tile_note is not None else []


def _check_clip_argument(frames: object) -> None:
    """Refuse, at the call, what :meth:`Restorer.restore_clip` could only fail on at the first ``next()``: one
    picture, a file name, or something that is not iterable at all."""
    shape = "a list, a generator or an N×H×W(×3) array"
    mistake = _not_pixels(frames, f"restore_clip takes frames ({shape})", "clip")
    if mistake is not None:
        raise mistake
    if isinstance(frames, Image.Image):
        raise TypeError(f"restore_clip takes frames ({shape}), got one PIL image; for one picture use restore()")
    if isinstance(frames, np.ndarray) and (frames.ndim < 3 or (frames.ndim == 3 and frames.shape[-1] <= 4)):
        raise TypeError(
            f"restore_clip takes frames ({shape}), got one {frames.shape} array; for one picture use restore()"
        )
    try:
        iter(frames)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"restore_clip takes frames ({shape}), got {type(frames).__name__}") from None


def load_restorer(
    task: str,
    model: str | os.PathLike[str] | RestorationModel | None = "default",
    device: str | torch.device = "auto",
    precision: str = "auto",
    tile: int | None = None,
    *,
    tile_overlap: int | None = None,
    compile: bool = False,
    offline: bool | None = None,
    pass_through: float | None = None,
    self_ensemble: bool | None = None,
    max_pixels: int | None = None,
) -> Restorer:
    """Load the ``task``'s model (``"snow"`` or ``"rain"``) ready to restore pictures.

    ``model``: ``"default"`` (or None), a registered name (``desnownet-light``), a model folder, a Hub repo
    ``owner/name[@revision]``, or a model object (anything with ``restore``, ``receptive_field`` and
    ``bytes_per_pixel``, :class:`~weatherclean.models.family.RestorationModel`; ``step`` too for memory
    across frames), moved to the device and put in eval mode when it is an ``nn.Module``. A
    :class:`~pathlib.Path` is always a folder (never looked up on the Hub); a ``str`` that names no
    registered model and no folder is looked up on the Hub. ``device``: ``auto`` (CUDA, then MPS, then
    CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``, or a :class:`torch.device` (checked alike). ``precision``:
    ``auto``, ``fp32``, ``fp16`` or ``bf16`` (see ``--precision``). ``tile``: tile edge in pixels (None:
    from free memory); ``tile_overlap`` None is the model's receptive field, at least 32. Each tile uses at
    most half its edge of it; :attr:`Restorer.overlap` keeps the value asked for (with ``tile=None`` the tile,
    and so what fits, is known only per picture), and a note says when a ``tile`` leaves less. ``compile`` runs the
    model through ``torch.compile`` (falls back to eager mode, with a note). ``offline`` uses only the Hub
    cache (None follows ``HF_HUB_OFFLINE``). ``pass_through`` replaces the model's own pass-through threshold
    in a copy of the model (see :func:`with_pass_through`); None keeps it.
    ``self_ensemble`` turns a J4R-Net's self-ensemble on or off in a copy (see :func:`with_self_ensemble`);
    None keeps the model's own. ``max_pixels``: the largest picture :meth:`Restorer.restore_file` decodes, in
    pixels (a service's limit for uploads, e.g. ``50_000_000``); None follows ``WEATHERCLEAN_MAX_MEGAPIXELS``,
    else 1000 MP. It holds for this restorer's calls only (each thread's own), never above a stricter
    ``PIL.Image.MAX_IMAGE_PIXELS`` the program set.

    A model for the other task, an unknown name, an empty one (``""``) and an unusable folder are one-line
    :class:`~weatherclean.errors.ModelError`\\ s; a device that is not there a
    :class:`~weatherclean.errors.WeathercleanError`; a ``tile`` or ``tile_overlap`` of the wrong type or
    size a ``TypeError`` or ``ValueError``, as is a ``max_pixels`` that is not a positive whole number.
    """
    from weatherclean.models.registry import check_task, resolve_model_name

    family_for_task(task)  # an unknown task fails before anything loads
    _checked_max_pixels(max_pixels, "max_pixels")
    for label, value in (("tile", tile), ("tile_overlap", tile_overlap)):  # 64.5 failed only at the first picture
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise TypeError(f"{label} must be a whole number of pixels (or None), got {value!r}")
    if tile is not None and tile < MIN_TILE:  # 0 failed only at the first picture, 10 took 38 s on a small one
        raise ValueError(f"tile must be at least {MIN_TILE} px (or None: from free memory), got {tile}")
    if tile_overlap is not None and tile_overlap < 0:
        raise ValueError(f"tile_overlap must not be negative, got {tile_overlap}")
    if model is None:  # as tile=None and tile_overlap=None: the usual choice; it read "'NoneType' cannot restore"
        model = "default"
    if isinstance(model, str | os.PathLike) and not os.fspath(model).strip():  # "" was taken as the folder "."
        raise ModelError(
            f"model {os.fspath(model)!r} is empty: name one ('default', a registered name from `weatherclean models "
            "list`, a model folder or a Hub repo owner/name)"
        )
    dev = resolve_device(device)  # a torch.device too: torch.device("cuda") on a CPU-only build, "meta"
    dtype = resolve_precision(precision, dev)
    name: str | None = None
    if isinstance(model, str):
        name = resolve_model_name(model, task)  # "default" shown as the model it is
        check_task(model, task)  # a registered name of the other task fails before its weights download
    elif isinstance(model, os.PathLike):  # always a folder: never a registered name, never the Hub
        name = os.fspath(model)
    # out of memory while the model is built, read, moved or copied (ulimit -v): one line, not a traceback
    with model_memory(name or f"model {type(model).__name__}"):
        net, compiled = _loaded(
            model, dev, task, name, offline=offline, pass_through=pass_through, self_ensemble=self_ensemble,
            compile=compile,
        )  # fmt: skip
    overlap = tile_overlap if tile_overlap is not None else max(MIN_OVERLAP, int(net.receptive_field))
    restorer = Restorer(
        net, dev, dtype, tile=tile, overlap=overlap, task=task, compiled=compiled, name=name, max_pixels=max_pixels
    )
    if tile is not None and overlap > tile // 2:
        restorer._notes.append(_overlap_note(tile, overlap, asked=tile_overlap is not None))
    return restorer


def _loaded(
    model: object,
    dev: torch.device,
    task: str,
    name: str | None,
    *,
    offline: bool | None,
    pass_through: float | None,
    self_ensemble: bool | None,
    compile: bool,
) -> tuple[RestorationModel, CompiledCall | None]:
    """:func:`load_restorer`'s model, loaded (``model`` a name or a folder) or moved to ``dev`` (a model object),
    checked to restore pictures of ``task``, given its ``pass_through`` and ``self_ensemble`` (copies), in the layout
    ``dev`` convolves fastest, and compiled if asked; apart, so that a model that ran out of memory on the way is held
    by no frame still running (:func:`~weatherclean.models.loading.model_memory`)."""
    from weatherclean.models.registry import check_task, load_model

    net: object
    if isinstance(model, str | os.PathLike):
        net = load_model(model, device=dev, task=task, offline=offline)
    else:
        net = model.to(dev).eval() if isinstance(model, nn.Module) else model
    if not isinstance(net, RestorationModel):
        raise ModelError(
            f"'{type(net).__name__}' cannot restore pictures: it needs restore(), receptive_field and bytes_per_pixel"
        )
    if isinstance(net, nn.Module):
        check_task(net, task, label=name)
    if pass_through is not None:
        net = with_pass_through(net, pass_through)
    if self_ensemble is not None:
        net = with_self_ensemble(net, self_ensemble, label=name)
    if isinstance(net, nn.Module) and net is not model:  # loaded or copied here: rebuilt in torch's default dtype
        net = net.float()  # the tiles are float32 (autocast does the rest), whatever a program's default dtype
    if isinstance(net, nn.Module):
        to_fast_layout(net, dev)
    return net, compile_model(net) if compile else None  # before the guard, which calls the compiled entry


def _overlap_note(tile: int, overlap: int, *, asked: bool) -> str:
    """The note for a tile too small for its overlap (the engine caps the overlap at half the tile). Named
    as the Python values with the options in parentheses, as the device errors are, since the commands
    print it too; the fix it suggests is the one for the value the user chose: a smaller ``tile_overlap``
    they asked for, or a larger tile when the overlap is the model's own."""
    room = tile // 2
    if asked:
        return (
            f"tile_overlap={overlap} (--tile-overlap) is more than tile={tile} (--tile) leaves room for ({room} px); "
            f"seams may show; use tile_overlap={room} or less (--tile-overlap {room}), or a larger tile"
        )
    larger = max(4 * overlap, 256)
    return (
        f"tile={tile} (--tile) leaves room for only {room} px of overlap, and the model needs {overlap} px; seams "
        f"may show; use tile={larger} or more (--tile {larger})"
    )


def _output_format(dst: Path, format: str | None) -> str | None:
    """The format :meth:`Restorer.restore_file` writes: the one ``dst``'s ending names, when it names one;
    ``format`` must then agree with it. A PNG written under ``out.jpg`` is a file other programs misread."""
    from weatherclean.io.images.formats import format_of_suffix, normalise_format

    named = format_of_suffix(dst.suffix)  # None for an ending that names no format weatherclean writes
    if named is None and dst.suffix.lower() in Image.registered_extensions():
        raise OutputError(f"{dst}: weatherclean does not write {dst.suffix} pictures; use .jpg, .png, .tif or .webp")
    try:  # here, before the picture is restored: a HEIC ending without the extra, an unknown format
        chosen = normalise_format(named or format) if (named or format) else None
        if named is not None and format is not None and normalise_format(format) != named:
            raise OutputError(f"its ending names {named}, but format={format!r}; rename it or leave format out")
    except OutputError as exc:
        raise OutputError(f"{dst}: {exc}") from None
    return chosen


#: How :meth:`Restorer.restore_file`'s errors end: its way out, in its own terms (the commands say ``-o DIR``).
_CHOOSE_DST = "choose another dst"
#: How many output folders a :class:`Restorer` remembers as writable (:meth:`Restorer._remember`).
_WRITABLE_KEPT = 32


def _checked_max_pixels(value: object, label: str) -> int | None:
    """``value`` when it is None or a positive whole number of pixels; else a ``TypeError`` or ``ValueError``
    naming ``label``, at the call rather than as a comparison's traceback at the first picture."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{label} must be a whole number of pixels (or None: 1000 MP), got {value!r}")
    if value <= 0:
        raise ValueError(f"{label} must be a positive number of pixels, e.g. 50_000_000 (or None), got {value}")
    return int(value)


def _format_reason(dst: Path, target: Path | None, asked: str | None) -> str | None:
    """Why :meth:`Restorer.restore_file` wrote the format it did, as its notes say it: ``dst``'s ending, ``format``
    (``asked``), or the ending of the file a link at ``dst`` leads to (``target``); None for the input's own."""
    from weatherclean.io.images.formats import format_of_suffix

    if format_of_suffix(dst.suffix) is not None:
        return f"as dst's ending {dst.suffix} names"
    if asked is not None:
        return f"as format={asked!r} asks"
    if target is not None and format_of_suffix(target.suffix) is not None:
        return f"as the ending {target.suffix} of the file dst links to names"
    return None


def _written_notes(src: Path, dst: Path, image: LoadedImage, written: str, chosen: str | None) -> list[str]:
    """The loader's notes, as :meth:`Restorer.restore_file` (not the commands) did the writing: the note on a
    misnamed input said "written as JPEG under the same name", which is what the commands do, beside a PNG that
    ``dst``'s ending had chosen; and a ``dst`` whose ending names no picture format (``o.mp4``) got the input's
    format with no word of it."""
    from weatherclean.io.images.formats import FORMAT_NAME
    from weatherclean.io.images.load import misnamed_note

    name = FORMAT_NAME.get(written, written)
    notes = list(getattr(image, "notes", []))
    unnamed = []
    if chosen is None and dst.suffix:
        unnamed.append(
            f"dst's ending {dst.suffix} names no picture format; written as {name}, the input's format (give dst a "
            f"picture ending such as .jpg, or format=, to choose)"
        )
    fmt = getattr(image, "format", None)
    misnamed = misnamed_note(src.suffix, fmt) if fmt else None
    for i, note in enumerate(notes):
        if misnamed is not None and note.startswith(misnamed):
            if chosen is not None:
                notes[i] = f"{misnamed}; written as {name}, {chosen}"
            else:  # the input's format; a note below on dst's ending says so, where it has one
                notes[i] = misnamed if unnamed else f"{misnamed}; written as {name}, the format it holds"
    return notes + unnamed


def _format_behind_link(dst: str | os.PathLike[str], target: Path, format: str | None) -> str | None:
    """The format :meth:`Restorer.restore_file` writes through a link at ``dst`` to ``target``: ``format`` (what
    ``dst``'s ending or the caller chose), which the target's ending must not contradict, or else the one that
    ending names. ``named.png -> real.jpg`` put PNG bytes into ``real.jpg``, which other programs misread."""
    from weatherclean.io.images.formats import format_of_suffix

    behind = format_of_suffix(target.suffix)
    if behind is None or format is None:
        return format or behind
    if behind != format:
        by_name = format_of_suffix(Path(dst).suffix) is not None
        chosen = f"the link's name {Path(dst).name!r} names" if by_name else f"format={format!r} asks for"
        fix = "rename the link or its target" if by_name else "leave format out"
        raise OutputError(f"{os.fspath(dst)} → {target}: its ending names {behind}, but {chosen} {format}; {fix}")
    return format


def _through(exc: OutputError, dst: str | os.PathLike[str], target: Path) -> OutputError:
    """``exc``, about ``target``, naming it ``DST → TARGET``: the user named the link at ``dst``, and "…/ro/t.png:
    cannot write" did not say which of their outputs that was. Error classes that carry more than a message
    (:class:`~weatherclean.errors.OutputAppeared`) come back as they are."""
    if type(exc) not in (OutputError, DiskFullError):
        return exc
    message, given = str(exc), os.fspath(dst)
    if message.startswith(f"{target}:"):
        return type(exc)(f"{given} → {message}")
    return type(exc)(f"{given} → {target}: {message}")


def with_pass_through(model: Any, value: float, *, label: str | None = None) -> Any:
    """A copy of ``model`` with the pass-through threshold ``value`` (``--pass-through``): where the model's
    own weather evidence stays below it, the model leaves a pixel as it was.

    Why a user sets it: the threshold shipped with a model was tuned on synthetic weather; on their own
    pictures a higher one leaves more alone and removes less, a lower one removes more, and 0 turns the
    gate off (a rain model's veil term, which only widens the gate, goes off with it). Every family with
    the gate keeps it in ``config.pass_through``; the copy is rebuilt from the new config
    (:func:`~weatherclean.models.family.with_config`), so ``model`` itself is not changed. A value the
    model refuses, or a model without the gate, is a one-line :class:`~weatherclean.errors.ModelError`
    naming the model as ``label`` (default: its class).
    """
    from weatherclean.models.family import pass_through_changes, with_config

    config = getattr(model, "config", None)
    if not isinstance(model, nn.Module):
        config = None  # not a model: refused below as a model without the gate
    return with_config(model, **pass_through_changes(config, value, label=label or type(model).__name__))


def with_self_ensemble(model: Any, on: bool, *, label: str | None = None) -> Any:
    """A copy of ``model`` with its self-ensemble on or off (``--self-ensemble`` / ``--no-self-ensemble``).

    Why a user sets it: with it, every frame and its 180° turn go through the network and the output is
    their mean, which removes a little more rain and changes dry pictures less (rain round 24,
    docs/model-history.md) at twice the compute; off, the model runs at full speed. A model without the
    setting (DesnowNet) is a one-line :class:`~weatherclean.errors.ModelError` naming ``label``.
    """
    from weatherclean.models.family import self_ensemble_changes, with_config

    config = getattr(model, "config", None) if isinstance(model, nn.Module) else None
    return with_config(model, **self_ensemble_changes(config, on, label=repr(label) if label else type(model).__name__))


def _check_hooks(progress: object, cancel: object, name: str | None = None) -> None:
    """Refuse, at the call, a ``progress`` that cannot be called or a ``cancel`` without ``is_set()`` (a
    ``TypeError`` naming it, not an ``AttributeError`` at the first tile), and stop at once when ``cancel`` is
    set already: before any work, and before anything is written. ``name``: the file the message begins with."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function progress(done, total), got {type(progress).__name__}")
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise TypeError(f"cancel must have an is_set() method (a threading.Event), got {type(cancel).__name__}")
    stop_if_cancelled(cancel, "before it started", name)


# ---------------------------------------------------------------------------------------- conversions


def _file_path(value: object, parameter: str) -> str | os.PathLike[str]:
    """``value`` when it is a file name (str or ``os.PathLike``); else a one-line ``TypeError`` naming
    ``parameter``, rather than pathlib's own from deep inside (``None``, a ``BytesIO``)."""
    if isinstance(value, str | os.PathLike):
        return value
    hint = "; for a picture in memory use PIL.Image.open() and restore()" if _is_open_file(value) else ""
    raise TypeError(
        f"restore_file: {parameter} must be a file path (str or os.PathLike), got {type(value).__name__}{hint}"
    )


def _split(image: Any, call: str) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """``image`` as H×W×C pixels (C = 1 or 3) the engine takes, and how to turn a result back into its form.
    ``call`` (``restore``, ``restore_clip``) names the method in the ``TypeError`` for what is not a picture."""
    if isinstance(image, np.ndarray):
        return _split_array(image)
    if isinstance(image, Image.Image):
        return _split_pil(image)
    clip = call == "restore_clip"
    takes = f"{call} takes {'frames as NumPy arrays or PIL images' if clip else 'a NumPy array or a PIL image'}"
    mistake = _not_pixels(image, takes, "frame" if clip else "picture")
    raise mistake or TypeError(f"expected a NumPy array or a PIL image, got {type(image).__name__}")


def _not_pixels(value: object, takes: str, kind: Literal["picture", "frame", "clip"]) -> TypeError | None:
    """The ``TypeError`` for a file name, bytes or an open file handed over where pixels are taken, pointing to
    what reads files; None for anything else. ``takes`` begins the message (``restore takes a NumPy array or a
    PIL image``); ``kind`` is what was expected: one ``picture`` (:meth:`Restorer.restore`: ``restore_file`` or
    ``PIL.Image.open``), a ``frame`` of a clip (open each one), or a whole ``clip`` (a video file is the
    commands' work). Shared, so that the two methods point the same way: a bare "expected a NumPy array, got
    str" left a backend developer to guess that files go through ``restore_file``."""
    commands = "the command `weatherclean desnow` (snow) or `weatherclean derain` (rain)"
    if isinstance(value, str | os.PathLike):
        name = os.fsdecode(value)
        if kind == "clip":
            use = f"for a video file use the command `weatherclean desnow {name}` (snow) or "
            use += f"`weatherclean derain {name}` (rain)"
        elif kind == "frame":
            use = "open each frame file first: restore_clip(PIL.Image.open(name) for name in names)"
        else:
            use = f"for a photo file use restore_file({name!r}, dst), or restore(PIL.Image.open({name!r}))"
        restores = "frames" if kind == "clip" else "pictures in memory"
        return TypeError(f"{takes}, not the file name {name!r}: the Python API restores {restores}; {use}")
    if isinstance(value, bytes | bytearray | memoryview):
        if kind == "clip":
            return TypeError(f"{takes}, not bytes: decode them first (PIL, PyAV), or for a video file use {commands}")
        return TypeError(f"{takes}, not bytes: decode them first, e.g. PIL.Image.open(io.BytesIO(data))")
    if _is_open_file(value):
        what = f"an open file ({type(value).__name__})"
        if kind == "clip":
            return TypeError(f"{takes}, not {what}: decode its frames first (PyAV), or for a video file use {commands}")
        return TypeError(f"{takes}, not {what}: decode it first, e.g. PIL.Image.open(f)")
    return None


def _is_open_file(value: object) -> bool:
    """Whether ``value`` is an open file (or a file-like object: ``read`` and ``seek``, as ``PIL.Image.open``
    takes), for the hints that point it to ``PIL.Image.open``. Not merely something with ``read``: a model, a
    record or a reader object of the caller's own may have one and is no file."""
    if isinstance(value, io.IOBase):
        return True
    return callable(getattr(value, "read", None)) and callable(getattr(value, "seek", None))


def _split_array(arr: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    dtype = arr.dtype  # what comes back, byte order included
    arr = check_dtype(arr)
    if arr.ndim == 2:
        return arr[..., None], lambda out: _as_dtype(out[..., 0], dtype)
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or min(arr.shape[:2]) == 0:
        raise ValueError(f"expected an H×W, H×W×1 or H×W×3 picture (H×W×2 or H×W×4 with alpha), got shape {arr.shape}")
    if arr.shape[2] in (1, 3):
        return arr, lambda out: _as_dtype(out, dtype)
    alpha = arr[..., -1:]  # RGBA or grey + alpha: the model sees the colour, alpha comes back unchanged
    return arr[..., :-1], lambda out: _as_dtype(np.concatenate([_as_dtype(out, arr.dtype), alpha], axis=2), dtype)


#: How :func:`repr` names a :class:`Restorer`'s precision, as ``precision=`` takes it.
_PRECISION_NAMES: dict[torch.dtype | None, str] = {None: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one missing: not the same file
        return False


def _reusable(pixels: np.ndarray) -> bool:
    """Whether a decoded picture's array can take the result in place (float32, writable, C order)."""
    return pixels.dtype == np.float32 and pixels.flags.writeable and pixels.flags.c_contiguous


def _as_dtype(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return out if out.dtype == dtype else out.astype(dtype)


def _split_pil(image: Image.Image) -> tuple[np.ndarray, Callable[[np.ndarray], Image.Image]]:
    if image.mode not in _PIL_MODES:
        modes = ", ".join(_PIL_MODES)
        raise ValueError(f"PIL mode {image.mode} is not supported: use {modes} ({_convert_hint(image)})")
    mode, info = image.mode, dict(image.info)
    arr = np.asarray(image)
    pixels, rebuild = _split_array(arr.astype(arr.dtype.newbyteorder("=")) if arr.dtype.byteorder == ">" else arr)
    mode = "I;16" if mode.startswith("I;16") else mode

    def back(out: np.ndarray) -> Image.Image:
        rebuilt = np.ascontiguousarray(rebuild(out))
        made = Image.fromarray(rebuilt)  # the mode follows from shape and dtype
        if made.mode != mode:  # a Pillow that names 16-bit grey "I" rather than "I;16" (the values are the same)
            made = made.convert(mode)
        made.info.update(info)  # DPI, ICC profile, EXIF bytes as PIL read them
        if "exif" in info:
            _exif_of_result(made, image.format, rebuilt)
        return made

    return pixels, back


def _convert_hint(image: Image.Image) -> str:
    """How to hand over a picture of a PIL mode :meth:`Restorer.restore` does not take, keeping its values.

    Integer (``I``) and float (``F``) pictures hold numbers that ``convert('RGB')`` clips: 16-bit values in
    mode I all came out white (255), and a 0-1 float picture all black. So they are pointed to a form that
    keeps them, chosen by their range: 8-bit values as L, 16-bit as I;16 (Pillow clips to 0-65535 there), and
    floats as a NumPy array (``restore`` returns one of the same dtype; ``Image.fromarray`` makes it mode F
    again)."""
    mode = image.mode
    if mode == "I":
        low, high = image.getextrema() if image.width and image.height else (0, 0)
        if low >= 0 and high <= 255:
            return "here image.convert('L'): its values are 0-255"
        clipped = "" if low >= 0 and high <= 65535 else f"; its values {low} to {high} are clipped to 0-65535"
        return f"here image.convert('I;16'), which keeps 16-bit values (convert('RGB') clips them at 255){clipped}"
    if mode == "F":
        return _float_hint(np.asarray(image))
    target = "RGBA" if mode == "P" and "transparency" in image.info else _CONVERT_TO.get(mode, "RGB")
    keeps = ", which keeps its transparency" if target in ("RGBA", "LA") else ""
    return f"here image.convert('{target}'){keeps}"


def _float_hint(values: np.ndarray) -> str:
    """:func:`_convert_hint` for a mode F picture's ``values``: the scale to bring them to [0, 1], and what to do
    about NaN (or infinite) values, which ``restore`` refuses whatever the scale: "its values are nan to nan"
    said nothing of that."""
    finite = np.isfinite(values)
    low, high = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 0.0)
    if FLOAT_RANGE[0] <= low and high <= FLOAT_RANGE[1]:
        scale = ""
    elif low >= 0 and high <= 256:
        scale = " / 255"
    else:
        scale = f" scaled to [0, 1] (its values are {low:g} to {high:g})"
    hint = f"here np.asarray(image){scale}, float pixels in [0, 1]; the result is a float32 array"
    if not finite.all():
        hint += "; NaN and infinite values are not accepted: replace them first, e.g. np.nan_to_num(a, nan=0.0)"
    return hint


def _exif_of_result(made: Image.Image, source_format: str | None, pixels: np.ndarray) -> None:
    """Give the restored ``made`` (whose values are ``pixels``: not copied out of it again) its input's EXIF with a
    thumbnail of the result, as :meth:`Restorer.restore_file`
    writes it (:func:`~weatherclean.io.images.exif.exif_for_output`): a PIL image copied its input's
    ``info["exif"]``, whose thumbnail still showed the snowy picture, which a viewer then shows. The block is
    sized for JPEG (its 64 KB) when the input was a JPEG, where it is most likely saved again. An EXIF block too
    damaged to rewrite is kept as it was: the picture matters more than its thumbnail.

    ``info["exif"]`` may be bytes (what ``Image.open`` reads) or a ``PIL.Image.Exif`` a caller put there (its
    ``tobytes()``, which starts ``Exif\\0\\0`` as the bytes do, is what is rebuilt); anything else is left as it
    was, and so is an ``Exif`` with nothing to change, in its own type."""
    import struct

    from weatherclean.io.images.exif import exif_for_output

    given = made.info["exif"]
    try:
        if isinstance(given, Image.Exif):
            data = given.tobytes()
        elif isinstance(given, bytes | bytearray):
            data = bytes(given)
        else:
            return
        exif, _notes = exif_for_output(data, "JPEG" if source_format == "JPEG" else "PNG",
                                       pixels[..., None] if pixels.ndim == 2 else pixels)  # fmt: skip
    except (ValueError, TypeError, KeyError, struct.error, IndexError, OSError):  # a block Pillow cannot write either
        return
    if exif == data:
        return
    if exif:
        made.info["exif"] = exif
    else:
        made.info.pop("exif", None)
