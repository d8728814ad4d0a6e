"""Reaching Ray for ``--engine ray``: importing it, checking the address and the token, and connecting.

Each check fails at once with one line that says what to do (:class:`~weatherclean.batch.driver_apart.RayError`),
where Ray itself would retry for seconds or minutes with a log line a second: an address that does not answer,
a cluster whose token authentication refuses this run, Ray not installed. What runs on the cluster once
connected is :mod:`weatherclean.batch.ray_engine`'s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from weatherclean.batch.driver_apart import RayError
from weatherclean.errors import one_line

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "RAY_HINT", "check_reachable", "check_token", "connect", "import_ray", "program_keeps_sigterm",
    "ray_messages_on_stderr",
]  # fmt: skip

#: What to do when Ray is missing: one line, the CLI's exit code 2.
RAY_HINT = "--engine ray needs Ray, which is not installed: pip install 'weatherclean[ray]' (or pip install ray)"

#: Seconds to wait for a cluster's address to answer before calling it unreachable: ``ray.init`` itself
#: retries an address that does not answer for minutes.
CONNECT_TIMEOUT_S = 5.0

#: Seconds the token probe of ``--ray-address HOST:PORT`` may take (:func:`check_token`): it starts Python.
TOKEN_PROBE_TIMEOUT_S = 15.0

#: Where Ray looks for the token of a cluster with token authentication, as the messages name it.
TOKEN_PLACES = "RAY_AUTH_TOKEN, a file named by RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token"


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayError` with the one-line hint to install it."""
    try:
        import ray
    except ImportError:
        raise RayError(RAY_HINT) from None
    return ray


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayError` at once when ``address`` (``host:port`` or ``ray://host:port``) does not accept
    a connection: ``ray.init`` would otherwise retry it for minutes. ``auto``/``local`` are Ray's to find."""
    if address is None or address in ("auto", "local"):
        return
    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RayError(f"--ray-address '{address}': expected HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:10001")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        why = f"no answer in {timeout:g} s" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
        raise RayError(f"Ray cluster at {address} cannot be reached ({why}); is it running (ray status)?") from None


#: Run in a child Python by :func:`check_token`: exit status 4 when this run is in token mode without a token,
#: 3 when the cluster refuses the token (or its absence), 0 when it lets the client in. Ray 2.60's client raises
#: at once there, where ``ray.init`` retries for 20 s with a log line a second; any other outcome (an older Ray,
#: a proxy) leaves it to ``ray.init``.
_TOKEN_PROBE = """
import sys
from ray._private.authentication.authentication_token_setup import ensure_token_if_auth_enabled
from ray._raylet import GcsClient
from ray.exceptions import AuthenticationError
try:
    ensure_token_if_auth_enabled(None, create_token_if_missing=False)
except AuthenticationError:
    sys.exit(4)
try:
    GcsClient(address=sys.argv[1])
except AuthenticationError:
    sys.exit(3)
"""


def _token_mode() -> bool:
    """Whether this run sends a token: Ray does for ``RAY_AUTH_MODE=token`` (and, found by ``auto``, on its own)."""
    return os.environ.get("RAY_AUTH_MODE", "").strip().lower() == "token"


def _token_error(address: str | None, *, found: bool = True) -> str:
    """The one line for a cluster that refused this run's token, or ``found`` False: token mode, no token here."""
    where = f"the Ray cluster at {address}" if address else "the Ray cluster"
    get = f"the cluster's token (`ray get-auth-token` on its head prints it) in {TOKEN_PLACES}; see docs/scale.md"
    if not found:
        return f"RAY_AUTH_MODE=token but no Ray token was found: put {get}"
    if _token_mode():
        return f"{where} rejected this run's token: put {get}"
    return f"{where} uses token authentication and this run sent no token: set RAY_AUTH_MODE=token and put {get}"


def check_token(address: str | None, timeout: float = TOKEN_PROBE_TIMEOUT_S) -> None:
    """Raise :class:`RayError` at once when the cluster at ``address`` (``HOST:PORT``) refuses this run's token.

    ``ray start --head`` turns on Ray's token authentication, and ``ray.init`` sends the token for an address
    only with ``RAY_AUTH_MODE=token`` (``auto`` finds it by itself): without it, it retried for 20 s with a log
    line a second, then said "Failed to connect". The probe runs in a child Python (whose Ray may print or
    abort as it likes), bounded by ``timeout``; without a clear answer, ``ray.init`` decides as before.
    """
    if address is None or address in ("auto", "local") or "://" in address:
        return
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _TOKEN_PROBE, address], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    if probe.returncode in (3, 4):
        raise RayError(_token_error(address, found=probe.returncode == 3))


def connect(ray: ModuleType, address: str | None, local_cpus: int | None) -> bool:
    """Connect to the cluster or start a local Ray; True when this run started it (and must shut it down).

    Without an address the local Ray is asked for by name (``address="local"``): a bare ``ray.init`` joins a
    cluster that ``ray start`` runs on the machine instead, refusing ``num_cpus`` ("When connecting to an
    existing cluster, num_cpus and num_gpus must not be provided"), and its workers read relative paths from
    where that cluster was started.
    """
    if ray.is_initialized():  # a program that called ray.init itself keeps its connection
        return False
    import logging

    common: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    refused = getattr(getattr(ray, "exceptions", None), "AuthenticationError", None)  # Ray 2.60: token auth
    try:
        with program_keeps_sigterm(ray):
            if address is not None:
                ray.init(address=address, **common)
            else:
                ray.init(address="local", num_cpus=local_cpus, include_dashboard=False, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise RayError(f"cannot start {where}: {one_line(exc)}") from None
    except Exception as exc:
        if refused is None or not isinstance(exc, refused):
            raise
        raise RayError(_token_error(address, found="no authentication token was found" not in str(exc))) from None
    return True


@contextlib.contextmanager
def program_keeps_sigterm(ray: ModuleType) -> Iterator[None]:
    """Around ``ray.init``: put the program's own SIGTERM handler back once Ray has replaced it.

    ``ray.init`` installs a SIGTERM handler that exits at once (status 15: no summary, no ``--json``), and
    Ray's C++ core adds one that dumps a stack ("*** SIGTERM received at ..."). The CLI turns SIGTERM (a
    Slurm time limit, ``docker stop``, Kubernetes) into Ctrl-C, so that the run stops cleanly and says so;
    under Ray too, then. A SIGTERM that arrives while ``ray.init`` runs makes Ray's handler exit there: the
    program's handler is then called as if it had been in force (the CLI's raises ``KeyboardInterrupt``),
    after Ray is shut down again. A program without a SIGTERM handler of its own (the default action) keeps
    Ray's, which stops Ray's processes before exiting.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if on_main_thread and hasattr(signal, "SIGTERM") else None
    if previous is None or previous is signal.SIG_DFL:  # None: not set from Python, cannot be put back
        yield
        return
    try:
        yield
    except SystemExit:  # only Ray's SIGTERM handlers exit during ray.init
        signal.signal(signal.SIGTERM, previous)
        if ray.is_initialized():
            ray.shutdown()
        if callable(previous):
            previous(signal.SIGTERM, None)  # the CLI's raises KeyboardInterrupt: an interrupted run
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def ray_messages_on_stderr() -> None:
    """Send the driver's messages from Ray ("(raylet) A worker died ...", "... will be retried") to stderr.

    Ray prints them on stdout from a background thread, where they would break ``--json`` (stdout is
    the summary's), and some arrive after a batch ends. Its printing function is looked up at each
    message, so it is wrapped once for the process; a Ray version without it is left as it is.
    """
    try:
        from ray._private import worker as ray_worker
    except ImportError:
        return
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "weatherclean_stderr", False):
        return

    def to_stderr(data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original({**data, "is_err": True}, *args, **kwargs)

    to_stderr.weatherclean_stderr = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = to_stderr
