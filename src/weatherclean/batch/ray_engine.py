"""Running a plan on a Ray cluster (``--engine ray``): the same jobs, spread over actors that each hold a model.

The driver plans exactly as a local run does (same :class:`~weatherclean.batch.jobs.Plan`, same skips,
same resume), then hands the jobs to a pool of actors: one per GPU, or one per ``cpus_per_actor`` CPUs
on a cluster without GPUs. Each actor builds its model once, from the model object the driver loaded and
put in Ray's object store (so the workers need neither Hub access nor the model folder), and runs a job
with the local runner (:func:`~weatherclean.batch.run.run_jobs` on that one job): same handlers, same
atomic writes, same "output appeared since planning" skip, same one-line reasons. A video or a
``--frames`` clip is one job, so its recurrent memory stays in one actor.

Paths travel, not pixels: inputs and outputs must be on storage every node sees under the same path
(NFS, Lustre, or an object store mounted with s3fs, mountpoint-s3 or gcsfuse; see docs/scale.md).

A worker process that dies (out of memory, a crashing decoder, a lost node) is restarted by Ray and its
jobs are retried (``max_task_retries``); a job that kills its worker on every try fails alone, with a
one-line reason, and the batch goes on. The driver merges what the actors return in plan order, so the
summary, ``--json`` and exit codes read exactly like a local run's.

Ray is optional (``pip install 'weatherclean[ray]'``) and imported only here, only when asked for.
The actor side (:class:`RestorerWorkers`) imports the model pipeline lazily, so that this module stays
free of PyTorch for a driver that only plans.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weatherclean.batch.handlers import Restoration, job_handler
from weatherclean.batch.jobs import DeviceNote, Job, JobHandler, Plan, Record, Replacement, display
from weatherclean.batch.plan import MediaOptions
from weatherclean.batch.run import INTERRUPTED, BatchSummary, progress_bar, run_jobs
from weatherclean.errors import WeathercleanError, one_line

if TYPE_CHECKING:
    from types import ModuleType

    from rich.console import Console

    from weatherclean.io.images import Quality

__all__ = [
    "RAY_HINT", "RayOptions", "RestorerWorkers", "Worker", "check_reachable", "import_ray", "run_on_ray",
]  # fmt: skip

#: What to do when Ray is missing: one line, the CLI's exit code 2.
RAY_HINT = "--engine ray needs Ray, which is not installed: pip install 'weatherclean[ray]' (or pip install ray)"

#: Seconds to wait for a cluster's address to answer before calling it unreachable: ``ray.init`` itself
#: retries an address that does not answer for minutes.
CONNECT_TIMEOUT_S = 5.0

#: Jobs sent to one actor at a time. One: a job queued behind another on an actor whose worker dies is
#: retried along with it, so a file that kills its worker every time would take an innocent one down too;
#: and the round trip to hand out the next job costs milliseconds, against seconds of work per file.
QUEUE_PER_ACTOR = 1

#: Seconds a Ctrl-C gives the files in flight to finish before their actors are killed. Ray cannot
#: interrupt a running method of an ordinary actor; a file killed part-way leaves only its hidden
#: temporary file, which a later run removes once it is stale (:mod:`weatherclean.io.atomic`).
CANCEL_GRACE_S = 10.0


class RayError(WeathercleanError):
    """Ray is missing, the cluster cannot be reached, or no worker could start (the CLI's exit code 2)."""


@dataclass(frozen=True)
class RayOptions:
    """How to reach Ray and how many actors to run.

    ``address`` None uses ``RAY_ADDRESS`` when set, else starts a local Ray for the run (``local_cpus``
    CPUs, default all); a program that called ``ray.init`` itself keeps its connection. ``actors`` None
    is one per GPU when the cluster has GPUs and ``gpus`` allows them, else one per ``cpus_per_actor``
    CPUs. ``retries`` is how often a job is retried after its worker died (``max_task_retries``);
    ``restarts`` how often one actor is restarted before it is given up (``max_restarts``).
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    #: Whether the actors may take GPUs (False for ``--device cpu``).
    gpus: bool = True
    local_cpus: int | None = None
    retries: int = 2
    restarts: int = 8


@dataclass
class Worker:
    """What an actor holds: the handler that does one job, and the notes to report at the end."""

    handler: JobHandler
    notes: Callable[[], list[Record]] = field(default=lambda: [])


#: Builds a :class:`Worker` inside an actor from the object the driver shipped (the model). Must pickle.
WorkerFactory = Callable[[Any], Worker]


@dataclass(frozen=True)
class RestorerWorkers:
    """The :data:`WorkerFactory` of ``desnow`` and ``derain``: a Restorer with the command's options.

    Picklable (plain fields), so it crosses to every actor; the model comes separately, through the
    object store. ``threads`` None leaves PyTorch's thread count to Ray, which sets ``OMP_NUM_THREADS``
    to the actor's CPUs.
    """

    task: str
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    tile_overlap: int | None = None
    compile: bool = False
    threads: int | None = None
    quality: Quality = 95  # 1-100 or "keep"
    image_format: str | None = None
    compare: bool = False
    media: MediaOptions | None = None

    def __call__(self, model: Any) -> Worker:
        import torch

        from weatherclean.restore import load_restorer

        if self.threads:
            torch.set_num_threads(self.threads)
        restorer = load_restorer(
            self.task, model=model, device=self.device, precision=self.precision, tile=self.tile,
            tile_overlap=self.tile_overlap, compile=self.compile,
        )  # fmt: skip
        handler = job_handler(
            Restoration(photo=restorer.restore_loaded, clip=restorer.new_clip),
            quality=self.quality, image_format=self.image_format, compare=self.compare, media=self.media,
        )  # fmt: skip

        def notes() -> list[Record]:
            return [DeviceNote.on(restorer.device.type, reason) for reason in restorer.notes]

        return Worker(handler, notes)


class _JobActor:
    """One Ray actor: builds its worker on its first call, then runs the jobs it is sent, one at a time.

    The model comes with each call, as a reference inside a list (not resolved by Ray, so it costs
    nothing once the worker is built), rather than to the constructor: a restarted actor re-runs its
    constructor, and Ray warns at every start that constructor arguments in the object store may be
    gone by then. The driver holds the reference until the batch ends.
    """

    def __init__(self, make_worker: WorkerFactory, overwrite: bool, update: bool = False) -> None:
        self._make_worker = make_worker
        self._overwrite, self._update = overwrite, update  # the plan's: checked again just before each job
        self._worker: Worker | None = None
        #: The last jobs' summaries by plan index, for :meth:`recent` (enough to cover what can be queued).
        self._recent: dict[int, BatchSummary] = {}

    def _built(self, shipped: list[Any]) -> Worker:
        if self._worker is None:
            import ray

            self._worker = self._make_worker(ray.get(shipped[0]))
        return self._worker

    def ready(self, shipped: list[Any]) -> str:
        """Build the worker; the node it runs on."""
        self._built(shipped)
        return socket.gethostname()

    def run(self, index: int, job: Job, shipped: list[Any]) -> BatchSummary:
        worker = self._built(shipped)
        # one job has nothing to overlap: no pipeline threads (the same bytes and summary, see batch/run.py)
        summary = run_jobs(
            [job], worker.handler, overwrite=self._overwrite, update=self._update, progress=False, pipeline=False
        )
        self._recent[index] = summary
        while len(self._recent) > 2 * QUEUE_PER_ACTOR:
            del self._recent[next(iter(self._recent))]
        return summary

    def recent(self) -> dict[int, BatchSummary]:
        """The summaries of the last jobs done, by plan index: after Ctrl-C the driver's references to
        them are cancelled, but a job that finished anyway has written its output and counts as done."""
        return dict(self._recent)

    def notes(self) -> list[Record]:
        return self._worker.notes() if self._worker is not None else []


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayError` with the one-line hint to install it."""
    try:
        import ray
    except ImportError:
        raise RayError(RAY_HINT) from None
    return ray


def cluster_address(options: RayOptions) -> str | None:
    """The address to connect to: ``options.address``, else ``RAY_ADDRESS``, else None (a local Ray)."""
    return options.address or os.environ.get("RAY_ADDRESS") or None


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


def _connect(ray: ModuleType, options: RayOptions) -> bool:
    """Connect to the cluster or start a local Ray; True when this run started it (and must shut it down)."""
    address = cluster_address(options)
    check_reachable(address)
    if ray.is_initialized():  # a program that called ray.init itself keeps its connection
        return False
    import logging

    common: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    try:
        with _program_keeps_sigterm(ray):
            if address is not None:
                ray.init(address=address, **common)
            else:
                ray.init(num_cpus=options.local_cpus, include_dashboard=False, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise RayError(f"cannot start {where}: {one_line(exc)}") from None
    return True


@contextlib.contextmanager
def _program_keeps_sigterm(ray: ModuleType) -> Iterator[None]:
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


def _ray_messages_on_stderr() -> None:
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


def _actor_count(ray: ModuleType, options: RayOptions, jobs: int) -> tuple[int, float]:
    """How many actors to start (never more than jobs) and how many GPUs each takes."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if options.gpus else 0
    per_gpu = 1.0 if gpus else 0.0
    count = options.actors or gpus or max(1, int(resources.get("CPU", 1) // options.cpus_per_actor))
    return max(1, min(count, jobs)), per_gpu


def _death_reason(job: Job, exc: BaseException, tries: int) -> Record:
    """The one-line failure of a job whose worker died on every try."""
    return Record(
        display(job.source),
        f"{job.source}: the Ray worker died while processing it ({tries} tries: {type(exc).__name__}); "
        "see the Ray logs of that node",
    )


def _creation_error(exc: BaseException) -> str:
    """The root cause of an actor that could not start, on one line (Ray wraps it in a traceback)."""
    cause = getattr(exc, "cause", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    errors = [line for line in lines if "Error:" in line or "Exception:" in line]
    return one_line(errors[-1] if errors else (lines[-1] if lines else type(cause).__name__), 300)


class _Pool:
    """The actors and their queues: jobs go to the actor with the fewest queued, results come back as done."""

    def __init__(self, ray: ModuleType, actors: list[Any], shipped: list[Any]) -> None:
        self.ray = ray
        self.shipped = shipped
        self.starting: dict[Any, Any] = {actor.ready.remote(shipped): actor for actor in actors}
        self.ready: dict[Any, int] = {}  # actor → jobs queued on it
        self.running: dict[Any, tuple[int, Any]] = {}  # result ref → (job index, actor)
        self.start_error: str | None = None

    @property
    def capacity(self) -> int:
        return sum(QUEUE_PER_ACTOR - queued for queued in self.ready.values())

    def submit(self, index: int, job: Job) -> None:
        actor = min(self.ready, key=self.ready.__getitem__)
        self.ready[actor] += 1
        self.running[actor.run.remote(index, job, self.shipped)] = (index, actor)

    def wait(self) -> list[Any]:
        """Block until something finishes; the job refs that did. Actors that became ready join the pool;
        actors that could not start (or restart) leave it, their reason kept in :attr:`start_error`."""
        refs = [*self.starting, *self.running]
        done, _ = self.ray.wait(refs, num_returns=1, timeout=None)
        finished: list[Any] = []
        for ref in done:
            if ref in self.starting:
                actor = self.starting.pop(ref)
                try:
                    self.ray.get(ref)
                except self.ray.exceptions.RayError as exc:
                    self.start_error = _creation_error(exc)
                    self.ray.kill(actor, no_restart=True)  # its resources go back to the cluster
                    continue
                self.ready[actor] = 0
            else:
                finished.append(ref)
        return finished

    def release(self, ref: Any, *, worker_died: bool) -> int:
        """Forget a finished job ref; its plan index. An actor whose worker died on every try of the job
        leaves the pool until it answers again: restarted, it rejoins; out of restarts, it is gone."""
        index, actor = self.running.pop(ref)
        if actor in self.ready:
            self.ready[actor] -= 1
            if worker_died:
                del self.ready[actor]
                self.starting[actor.ready.remote(self.shipped)] = actor
        return index

    @property
    def alive(self) -> bool:
        return bool(self.starting or self.ready)

    def stop(self) -> None:
        """Cancel what is queued or runs, then kill the actors."""
        for ref in [*self.starting, *self.running]:
            self.ray.cancel(ref)
        for actor in {*self.ready, *self.starting.values(), *(a for _, a in self.running.values())}:
            self.ray.kill(actor, no_restart=True)

    def interrupt(self) -> dict[int, BatchSummary]:
        """Ctrl-C: cancel the jobs not started, give the running ones :data:`CANCEL_GRACE_S` to finish, then kill
        the actors; the summaries of the jobs that finished (their references are cancelled, so each actor
        is asked for its recent results, a call that waits behind the job it runs)."""
        for ref in [*self.starting, *self.running]:
            self.ray.cancel(ref)
        asks = [actor.recent.remote() for actor in self.ready]
        done, _ = self.ray.wait(asks, num_returns=len(asks), timeout=CANCEL_GRACE_S) if asks else ([], [])
        finished: dict[int, BatchSummary] = {}
        for ref in done:
            try:
                finished.update(self.ray.get(ref))
            except self.ray.exceptions.RayError:
                continue
        self.stop()
        return finished


def run_on_ray(
    plan: Plan | Sequence[Job],
    make_worker: WorkerFactory,
    shipped: Any,
    *,
    options: RayOptions = RayOptions(),
    overwrite: bool = False,
    update: bool = False,
    progress: bool = True,
    description: str = "processing",
    console: Console | None = None,
) -> BatchSummary:
    """Run the jobs of ``plan`` on Ray actors, each built by ``make_worker(shipped)``; the summary of a local run.

    ``shipped`` (the model) goes to the object store once and reaches every actor from there. Raises
    :class:`RayError` when Ray is missing, the cluster cannot be reached, or no actor could start.
    Ctrl-C cancels the jobs in flight and returns a summary marked interrupted, as a local run does.
    ``overwrite`` and ``update`` are the plan's: each actor looks at a job's output again just before it, as
    :func:`~weatherclean.batch.run.run_jobs` does.
    """
    ray = import_ray()
    summary = BatchSummary.from_plan(plan)
    jobs = list(plan)
    start = time.perf_counter()
    if not jobs:  # everything done or skipped: no cluster needed (but the address must still be good)
        check_reachable(cluster_address(options))
        return summary
    _ray_messages_on_stderr()
    started = _connect(ray, options)
    try:
        replace = Replacement(overwrite, update)
        results = _run_jobs(ray, jobs, make_worker, shipped, options, replace, progress, description, console)
    finally:
        if started:
            ray.shutdown()
    for result in results.per_job:
        if result is not None:
            summary.add(result)
    summary.failed += results.lost
    summary.not_done += results.not_done
    summary.notes += list(dict.fromkeys(results.worker_notes))
    summary.interrupted = results.interrupted
    summary.seconds = time.perf_counter() - start
    return summary


@dataclass
class _Results:
    per_job: list[BatchSummary | None]
    #: Jobs never run because every worker was lost: failures (exit code 1).
    lost: list[Record] = field(default_factory=list)
    #: Jobs Ctrl-C left without an outcome (:attr:`BatchSummary.not_done`).
    not_done: list[Record] = field(default_factory=list)
    worker_notes: list[Record] = field(default_factory=list)
    interrupted: bool = False


def _run_jobs(
    ray: ModuleType,
    jobs: list[Job],
    make_worker: WorkerFactory,
    shipped: Any,
    options: RayOptions,
    replace: Replacement,
    progress: bool,
    description: str,
    console: Console | None,
) -> _Results:
    """Start the actors, feed them the jobs, collect each job's summary by its index in the plan. ``replace`` is
    what existing outputs may be replaced, for each actor's look at a job's output just before it runs."""
    count, gpus = _actor_count(ray, options, len(jobs))
    actor_class = ray.remote(
        num_cpus=options.cpus_per_actor, num_gpus=gpus, max_restarts=options.restarts,
        max_task_retries=options.retries,
    )(_JobActor)  # fmt: skip
    model_ref = ray.put(shipped)
    pool = _Pool(ray, [actor_class.remote(make_worker, *replace) for _ in range(count)], [model_ref])
    results = _Results(per_job=[None] * len(jobs))
    queue = list(enumerate(jobs))
    queue.reverse()  # popped from the end: plan order
    bar = progress_bar(progress, console)
    try:
        while pool.starting and not pool.ready:  # before the bar: an actor that cannot start is one line
            pool.wait()
        if not pool.ready:
            raise RayError(f"no Ray worker could start: {pool.start_error}")
        with bar:
            task = bar.add_task(f"{description} on {count} Ray actor(s)", total=len(jobs))
            while queue or pool.running:
                if not pool.alive and not pool.running:  # nobody left to run the rest
                    if not any(results.per_job):
                        raise RayError(f"no Ray worker could start: {pool.start_error or 'all were lost'}")
                    reason = "not started: every Ray worker was lost; rerun the same command to resume"
                    results.lost += [Record(display(j.source), reason) for _, j in reversed(queue)]
                    break
                while queue and pool.capacity > 0:
                    pool.submit(*queue.pop())
                for ref in pool.wait():
                    if _collect(ray, pool, ref, jobs, results, options):
                        bar.advance(task)
        results.worker_notes = _worker_notes(ray, pool)
        pool.stop()
    except KeyboardInterrupt:
        finished = pool.interrupt()
        for ref, (index, _) in list(pool.running.items()):
            summary = finished.get(index)
            if summary is not None and not summary.interrupted:
                results.per_job[index] = summary
                del pool.running[ref]
        results.interrupted = True
        running = sorted(index for index, _ in pool.running.values())
        left = sorted({*running, *(i for i, _ in queue)})
        results.not_done += [Record(display(jobs[i].source), INTERRUPTED) for i in left]
    return results


def _collect(ray: ModuleType, pool: _Pool, ref: Any, jobs: list[Job], results: _Results, options: RayOptions) -> bool:
    """Record a finished job's summary (or its worker's death) under its plan index; False if it was cancelled."""
    try:
        summary: BatchSummary = ray.get(ref)
    except ray.exceptions.RayActorError as exc:
        index = pool.release(ref, worker_died=True)
        results.per_job[index] = BatchSummary(failed=[_death_reason(jobs[index], exc, options.retries + 1)])
        return True
    except ray.exceptions.TaskCancelledError:
        pool.release(ref, worker_died=False)
        return False
    results.per_job[pool.release(ref, worker_died=False)] = summary
    return True


def _worker_notes(ray: ModuleType, pool: _Pool) -> list[Record]:
    """Every live actor's notes (precision fallbacks, ...), once each."""
    notes: list[Record] = []
    for actor in pool.ready:
        try:
            notes += ray.get(actor.notes.remote())
        except ray.exceptions.RayError:
            continue
    return notes
