"""Test-made clean images, shared by the learning tests (tests never read ../shared)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter


def clean_image(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """A smooth, photo-like clean background: blurred noise plus a colour gradient, in [0.1, 0.8]."""
    noise = gaussian_filter(rng.random((size, size, 3)), sigma=(6, 6, 0))
    ramp = np.linspace(0, 1, size)[None, :, None] * rng.random(3)
    img = (noise - noise.min()) / (np.ptp(noise) + 1e-6) * 0.5 + 0.3 * ramp
    return (0.1 + 0.7 * np.clip(img, 0, 1)).astype(np.float32)


def write_clean(folder: Path, seed: int, n: int, size: int = 96) -> Path:
    """``n`` clean PNGs in ``folder`` (created), deterministic in ``seed``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(np.round(clean_image(rng, size) * 255).astype(np.uint8)).save(folder / f"c{i}.png")
    return folder


def make_video(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (48, 64),
    audio: str | None = "aac",
    vfr: bool = True,
    rotation: int = 0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    container: str | None = None,
    seed: int = 0,
    container_options: dict[str, str] | None = None,
    audio_rate: int = 48000,
    audio_layout: str | None = None,
) -> list[int]:
    """A small test video made with PyAV; returns the frame timestamps in milliseconds.

    ``vfr`` makes every third frame last 100 ms instead of 40 ms, like a phone clip whose frame rate
    drops in the dark; ``audio`` names the audio encoder (None: no audio); ``rotation`` writes a
    display matrix, as phones do for portrait clips; ``container_options`` go to the muxer
    (``{"movflags": "faststart"}`` puts an MP4's index first, as cameras and web uploads do);
    ``audio_rate`` is the sound's sample rate (44100 is a CD's, and a phone's in many apps) and
    ``audio_layout`` its channels (``"5.1"``: a film's; None: the encoder's default, from a mono tone).
    """
    from fractions import Fraction

    import av

    h, w = size
    rng = np.random.default_rng(seed)
    stamps: list[int] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container, options=container_options or {}) as out:
        video = out.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = w, h, pix_fmt
        video.time_base = video.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=audio_rate) if audio else None
        if sound is not None and audio_layout is not None:
            sound.layout = audio_layout
        pts = 0
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray((rng.random((h, w, 3)) * 255).astype(np.uint8), format="rgb24")
            picture.pts, picture.time_base = pts, Fraction(1, 1000)
            stamps.append(pts)
            out.mux(video.encode(picture))
            pts += 100 if vfr and i % 3 == 0 else 40
        out.mux(video.encode(None))
        if sound is not None:
            t = np.arange(audio_rate * pts // 1000) / audio_rate
            layout = audio_layout or "mono"
            channels = av.AudioLayout(layout).nb_channels
            samples = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], channels, axis=0)
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
            chunk.sample_rate, chunk.pts = audio_rate, 0
            out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return stamps


class Inverter(torch.nn.Module):
    """Stands in for a snow or rain model: an obvious, checkable change (1 − x), each picture or frame alone,
    and a small receptive field, so a test sees that the model ran and on which pixels."""

    receptive_field = 4
    bytes_per_pixel = None

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


class StandIn:
    """Supplies the CLI's models in tests, the way a program embedding the CLI would: passed as Click's
    ``obj`` (``weatherclean.cli.batch.ModelProvider``), it is asked for each ``--model`` and returns a fresh
    ``make()``, and records each request as ``"name:task"``."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.calls: list[str] = []

    def __call__(self, name: str, task: str) -> Any:
        self.calls.append(f"{name}:{task}")
        return self.make()


def invoke_command(module: object, name: str, *args: str, models: StandIn | None = None) -> tuple[int, str, str]:
    """Run one CLI sub-command (``module.register(app)``) in isolation: (exit code, stdout, stderr).

    ``models`` stands in for the model loader (see :class:`StandIn`). Exceptions other than the CLI's own
    exits are re-raised, so a traceback fails the test loudly.
    """
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root, so that the command stays a sub-command."""

    module.register(app)  # type: ignore[attr-defined]
    result = CliRunner().invoke(app, [name, *args], obj=models)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def tiny_desnownet_config() -> Any:
    """The smallest DesnowNet that still trains: a run of a few steps takes well under a second."""
    from weatherclean.models.desnownet import DesnowNetConfig

    return DesnowNetConfig(
        width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, descriptor_stride=2, head_channels=8
    )


@contextlib.contextmanager
def local_ray(module: str) -> Iterator[Any]:
    """A local Ray with 2 CPUs for the duration, the test module ``module`` (``__name__``) shipped to its actors by
    value (they have no tests/ on their path). On leaving, Ray is shut down and the SIGTERM handler that ``ray.init``
    puts in is taken out again, which the tests after must not inherit."""
    import ray

    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ray.cloudpickle.register_pickle_by_value(sys.modules[module])
    try:
        yield ray
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[module])
        ray.shutdown()
        signal.signal(signal.SIGTERM, sigterm)


@contextlib.contextmanager
def registered_tiny_snow(name: str) -> Iterator[str]:
    """:func:`tiny_desnownet_config` registered as the architecture ``name`` while the block runs, so that
    ``train --arch name`` is quick; unregistered afterwards."""
    from weatherclean.models.desnownet import DesnowNet
    from weatherclean.models.registry import ModelSpec, register_model, unregister_model

    spec = ModelSpec(name, "snow", "tiny DesnowNet for tests", lambda: DesnowNet(tiny_desnownet_config()))
    register_model(spec, replace=True)
    try:
        yield name
    finally:
        unregister_model(name)


def synth_app() -> Any:
    """A Typer app with only ``synth`` registered (a root callback keeps ``synth`` a sub-command)."""
    import typer

    from weatherclean.cli import synth

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    synth.register(app)
    return app


def train_command(*args: str) -> Any:
    """Run ``weatherclean train ARGS`` in process: ``.code``, ``.out``, ``.err``; a traceback (any exception but
    the CLI's own exit) fails the test."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from weatherclean.cli import app

    result = CliRunner().invoke(app, ["train", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(code=result.exit_code, out=result.output, err=result.stderr)


def tiny_snow_run(clean: Path, run: Path, arch: str, *extra: str) -> list[str]:
    """``train``'s arguments for a three-step snow run of ``arch`` on ``clean`` into ``run``: well under a second."""
    return [
        "--task", "snow", "--clean", str(clean), "--arch", arch, "-o", str(run), "--steps", "3", "--batch-size", "1",
        "--crop", "24", "--warmup", "1", "--workers", "0", "--threads", "1", "-q", *extra,
    ]  # fmt: skip


def only_error_line(result: Any) -> str:
    """The one non-blank line of ``result.err``, which must be an ``error:`` line."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.err
    return lines[0]
