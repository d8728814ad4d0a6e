"""Running a plan on a Ray cluster (``--engine ray``): the same jobs, spread over actors that each hold a model.

The driver plans exactly as a local run does (same :class:`~weatherclean.batch.jobs.Plan`, same skips,
same resume), then hands the jobs to a pool of actors: one per GPU, or one per ``cpus_per_actor`` CPUs
on a cluster without GPUs. Each actor builds its model once, from the model object the driver loaded and
put in Ray's object store (so the workers need neither Hub access nor the model folder), and runs a job
with the local runner (:func:`~weatherclean.batch.run.run_jobs` on that one job): same handlers, same
atomic writes, same "output appeared since planning" skip, same one-line reasons. A video or a
``--frames`` clip is one job, so its recurrent memory stays in one actor.

Paths travel, not pixels: inputs and outputs must be on storage every node sees under the same path
(NFS, Lustre, or an object store mounted with s3fs, mountpoint-s3 or gcsfuse; see docs/scale.md). A
relative path is the driver's: the actor joins it to the driver's working folder before the job runs, and
gives the summary back with the paths as typed.

A worker process that dies (out of memory, a crashing decoder, a lost node) is restarted by Ray and its
jobs are retried (``max_task_retries``); a job that kills its worker on every try fails alone, with a
one-line reason, and the batch goes on. The driver merges what the actors return in plan order, so the
summary, ``--json`` and exit codes read exactly like a local run's.

Nothing is waited for without end: an actor no node can hold is refused before any starts, one that finds
no room is given up after ``start_timeout``, and a cluster that goes away mid-run leaves the files not done
failed with one reason. Ray ends its driver process outright when the Ray node under it stops, so where this
run connects to Ray itself (Linux) the driver is a child process that reports each result to the command.

Ray is optional (``pip install 'weatherclean[ray]'``) and imported only when asked for
(:func:`~weatherclean.batch.ray_connect.import_ray`, with the checks and the connection).
The actor side (:class:`RestorerWorkers`) imports the model pipeline lazily, so that this module stays
free of PyTorch for a driver that only plans.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weatherclean.batch.driver_apart import CLUSTER_GONE, RayError, _drive_apart, _Results
from weatherclean.batch.handlers import Restoration, job_handler
from weatherclean.batch.jobs import DeviceNote, Job, JobHandler, Plan, Record, Replacement, display
from weatherclean.batch.plan import MediaOptions
from weatherclean.batch.ray_connect import (
    RAY_HINT,
    check_reachable,
    check_token,
    connect,
    import_ray,
    ray_messages_on_stderr,
)
from weatherclean.batch.run import INTERRUPTED, BatchSummary, PartialFailure, progress_bar, run_jobs
from weatherclean.errors import one_line
from weatherclean.interrupts import interrupts_held
from weatherclean.io.pillow_warnings import quiet_pillow

if TYPE_CHECKING:
    from types import ModuleType

    from rich.console import Console

    from weatherclean.io.images import Quality

__all__ = [
    "RAY_HINT", "RayOptions", "RestorerWorkers", "Worker", "check_reachable", "check_token", "import_ray", "run_on_ray",
]  # fmt: skip

#: Jobs sent to one actor at a time. One: a job queued behind another on an actor whose worker dies is
#: retried along with it, so a file that kills its worker every time would take an innocent one down too;
#: and the round trip to hand out the next job costs milliseconds, against seconds of work per file.
QUEUE_PER_ACTOR = 1

#: Seconds a Ctrl-C gives the files in flight to finish before their actors are killed. Ray cannot
#: interrupt a running method of an ordinary actor; a file killed part-way leaves only its hidden
#: temporary file, which a later run removes once it is stale (:mod:`weatherclean.io.atomic`).
CANCEL_GRACE_S = 10.0

#: Seconds an actor may take to start, or to come back after its worker died, while no file is running: an
#: actor the cluster has no room for (its CPUs taken by other jobs) would otherwise be waited for forever.
#: Generous: a cold node imports PyTorch and builds the model first.
START_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RayOptions:
    """How to reach Ray and how many actors to run.

    ``address`` None uses ``RAY_ADDRESS`` when set, else starts a local Ray for the run (``local_cpus``
    CPUs, default all), even where a cluster started with ``ray start`` runs on the machine; a program that
    called ``ray.init`` itself keeps its connection. ``actors`` None is one per GPU when the cluster has GPUs
    and ``gpus`` allows them, else one per ``cpus_per_actor`` CPUs. ``retries`` is how often a job is retried
    after its worker died (``max_task_retries``); ``restarts`` how often one actor is restarted before it is
    given up (``max_restarts``); ``start_timeout`` how long actors may take to start while no file runs.
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    #: Whether the actors may take GPUs (False for ``--device cpu``).
    gpus: bool = True
    local_cpus: int | None = None
    retries: int = 2
    restarts: int = 8
    start_timeout: float = START_TIMEOUT_S


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

    ``cwd`` is the driver's working folder: a job's relative paths are made absolute against it before the
    job runs (a worker's own folder is wherever ``ray start`` ran on its node), and the summary comes back
    with the paths as the driver's user typed them (:func:`_absolute`, :func:`_as_typed`).
    """

    def __init__(
        self, make_worker: WorkerFactory, overwrite: bool, update: bool = False, cwd: str | None = None
    ) -> None:
        self._make_worker = make_worker
        self._overwrite, self._update = overwrite, update  # the plan's: checked again just before each job
        self._cwd = Path(cwd) if cwd is not None else Path.cwd()
        self._worker: Worker | None = None
        #: The last jobs' summaries by plan index, for :meth:`recent` (enough to cover what can be queued).
        self._recent: dict[int, BatchSummary] = {}

    def _built(self, shipped: list[Any]) -> Worker:
        if self._worker is None:
            import ray

            quiet_pillow()  # the command's filters: an actor's process is the run's, as the command's is
            self._worker = self._make_worker(ray.get(shipped[0]))
        return self._worker

    def ready(self, shipped: list[Any]) -> str:
        """Build the worker; the node it runs on."""
        self._built(shipped)
        return socket.gethostname()

    def run(self, index: int, job: Job, shipped: list[Any]) -> BatchSummary:
        worker = self._built(shipped)
        sent = _absolute(job, self._cwd)
        # one job has nothing to overlap: no pipeline threads (the same bytes and summary, see batch/run.py)
        summary = run_jobs(
            [sent], worker.handler, overwrite=self._overwrite, update=self._update, progress=False, pipeline=False
        )
        summary = _as_typed(summary, sent, job, self._cwd)
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


def _absolute(job: Job, cwd: Path) -> Job:
    """``job`` with relative paths joined to the driver's working folder ``cwd``, as a worker must open them.

    A worker's own folder is wherever ``ray start`` ran on its node, so ``photos/p0.jpg`` read there is another
    file, or none. Joined, not resolved, as the driver's own ``open`` would take them: a linked photo keeps its
    name (whose extension picks its reader) and ``..`` after a link goes where the kernel takes it.
    """
    source = job.source if job.source.is_absolute() else cwd / job.source
    output = job.output if job.output.is_absolute() else cwd / job.output
    if (source, output) == (job.source, job.output):
        return job
    return dataclasses.replace(job, source=source, output=output)


def _as_typed(summary: BatchSummary, sent: Job, typed: Job, cwd: Path) -> BatchSummary:
    """A summary of ``sent`` (``typed`` made absolute by :func:`_absolute`), as a local run from ``cwd`` gives it.

    Run in the actor, where the summary names ``sent``'s absolute input and shows paths from the worker's own
    folder (``/home/ray`` in a KubeRay pod: ``/home/ray/data/a.jpg`` was shown as ``data/a.jpg``): the records
    and their reasons get the paths the user typed back, so that the summary, ``--json`` and every error line
    read as a local run's.
    """
    names = {str(sent.source): str(typed.source), str(display(sent.output)): str(display(typed.output, cwd))}
    path = display(typed.source, cwd)
    worker_path = display(sent.source)

    def retyped(records: list[Record]) -> list[Record]:
        return [r if isinstance(r, DeviceNote) else retyped_one(r) for r in records]  # a device's note names no file

    def retyped_one(record: Record) -> Record:
        shown = path if record.path == worker_path else record.path
        record = dataclasses.replace(record, path=shown, reason=_renamed(record.reason, names))
        if isinstance(record, PartialFailure) and record.source == sent.source:
            # Its ``.partial`` file is shown from the source as typed (:meth:`PartialFailure.as_typed`): the
            # worker's absolute source showed it absolute in ``--json`` where a local run shows it relative.
            record = dataclasses.replace(record, source=typed.source)
        return record

    return dataclasses.replace(
        summary, done=[typed if j == sent else j for j in summary.done], skipped=retyped(summary.skipped),
        failed=retyped(summary.failed), notes=retyped(summary.notes), not_done=retyped(summary.not_done),
    )  # fmt: skip


def _renamed(text: str, names: dict[str, str]) -> str:
    """``text`` with each path of ``names`` replaced by its value, in one pass, where the path ends (at a
    separator, a colon, a space, a bracket or the end): ``/d/in`` must not rename ``/d/in_desnowed``."""
    olds = sorted((old for old, new in names.items() if old != new), key=len, reverse=True)
    if not olds:
        return text
    pattern = re.compile("(?:" + "|".join(map(re.escape, olds)) + r""")(?=$|[/\\:;,)'"\s])""")
    return pattern.sub(lambda match: names[match.group(0)], text)


def cluster_address(options: RayOptions) -> str | None:
    """The address to connect to: ``options.address``, else ``RAY_ADDRESS``, else None (a local Ray)."""
    return options.address or os.environ.get("RAY_ADDRESS") or None


def _actor_count(ray: ModuleType, options: RayOptions, jobs: int) -> tuple[int, float]:
    """How many actors to start (never more than jobs) and how many GPUs each takes."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if options.gpus else 0
    per_gpu = 1.0 if gpus else 0.0
    count = options.actors or gpus or max(1, int(resources.get("CPU", 1) // options.cpus_per_actor))
    return max(1, min(count, jobs)), per_gpu


def _fit_problem(nodes: Sequence[dict[str, Any]], cpus: float, gpus: float) -> str | None:
    """Why no live node of the cluster (``ray.nodes()``) can hold one actor of ``cpus`` CPUs and ``gpus`` GPUs, or
    None when one can. Ray would keep such an actor pending without a word, and the run would wait forever.

    Judged on the nodes up now: an autoscaling cluster must have one such node up before the run.
    """
    sizes = [
        (float(n.get("Resources", {}).get("CPU", 0)), float(n.get("Resources", {}).get("GPU", 0)))
        for n in nodes
        if n.get("Alive", n.get("alive", False))
    ]  # fmt: skip
    if any(cpu >= cpus and gpu >= gpus for cpu, gpu in sizes):
        return None
    want = f"{cpus:g} CPU{'' if cpus == 1 else 's'}"
    if not sizes:
        return f"the Ray cluster has no live node to run an actor of {want}; is it running (ray status)?"
    gpu_nodes = [cpu for cpu, gpu in sizes if gpu >= gpus]
    if gpus and gpu_nodes:
        return (
            f"no GPU node of the Ray cluster has {want} (the largest has {max(gpu_nodes):g}); lower "
            "--ray-cpus-per-actor, or run on CPUs with --device cpu"
        )
    largest = max(cpu for cpu, _ in sizes)
    return f"no node of the Ray cluster has {want} (the largest has {largest:g}); lower --ray-cpus-per-actor"


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
    """The actors and their queues: jobs go to the actor with the fewest queued, results come back as done.

    An actor is waited for at most ``start_timeout`` seconds to start (or restart) while no job runs: one the
    cluster has no room for stays pending in Ray without a word, and the run would wait forever.
    """

    def __init__(self, ray: ModuleType, actors: list[Any], shipped: list[Any], start_timeout: float) -> None:
        self.ray = ray
        self.shipped = shipped
        self.start_timeout = start_timeout
        self.starting: dict[Any, Any] = {}  # ready ref → actor
        self.asked: dict[Any, float] = {}  # ready ref → when it was asked (time.monotonic)
        self.ready: dict[Any, int] = {}  # actor → jobs queued on it
        self.running: dict[Any, tuple[int, Any]] = {}  # result ref → (job index, actor)
        self.start_error: str | None = None
        for actor in actors:
            self._ask_ready(actor)

    def _ask_ready(self, actor: Any) -> None:
        ref = actor.ready.remote(self.shipped)
        self.starting[ref] = actor
        self.asked[ref] = time.monotonic()

    @property
    def capacity(self) -> int:
        return sum(QUEUE_PER_ACTOR - queued for queued in self.ready.values())

    def submit(self, index: int, job: Job) -> None:
        actor = min(self.ready, key=self.ready.__getitem__)
        self.ready[actor] += 1
        self.running[actor.run.remote(index, job, self.shipped)] = (index, actor)

    def wait(self) -> list[Any]:
        """Block until something finishes; the job refs that did. Actors that became ready join the pool;
        actors that could not start (or restart), or not within :attr:`start_timeout` while no job ran, leave
        it, their reason kept in :attr:`start_error`."""
        refs = [*self.starting, *self.running]
        now = time.monotonic()
        timeout = None if self.running else max(0.0, min(self.asked.values(), default=now) + self.start_timeout - now)
        done, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if not done:
            self._give_up_late()
        finished: list[Any] = []
        for ref in done:
            if ref in self.starting:
                actor = self.starting.pop(ref)
                del self.asked[ref]
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

    def _give_up_late(self) -> None:
        """Kill the actors asked :attr:`start_timeout` ago that have not started (their place goes back)."""
        now = time.monotonic()
        for ref in [ref for ref, asked in self.asked.items() if now - asked >= self.start_timeout]:
            actor = self.starting.pop(ref)
            del self.asked[ref]
            self.ray.kill(actor, no_restart=True)
            self.start_error = (
                f"none started within {self.start_timeout:g} s: the cluster has no room for one now (`ray status` "
                "shows what is in use); free some, or lower --ray-cpus-per-actor or --ray-actors"
            )

    def release(self, ref: Any, *, worker_died: bool) -> int:
        """Forget a finished job ref; its plan index. An actor whose worker died on every try of the job
        leaves the pool until it answers again: restarted, it rejoins; out of restarts, it is gone."""
        index, actor = self.running.pop(ref)
        if actor in self.ready:
            self.ready[actor] -= 1
            if worker_died:
                del self.ready[actor]
                self._ask_ready(actor)
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
        is asked for its recent results, a call that waits behind the job it runs).

        A second Ctrl-C during that grace ends it at once: the actors are killed, and the jobs whose results had
        not come back are not done (a rerun resumes them). Someone who presses it twice wants the run to stop,
        not to wait ten seconds more; before, the second one left the command without a summary."""
        finished: dict[int, BatchSummary] = {}
        try:
            for ref in [*self.starting, *self.running]:
                self.ray.cancel(ref)
            asks = [actor.recent.remote() for actor in self.ready]
            done, _ = self.ray.wait(asks, num_returns=len(asks), timeout=CANCEL_GRACE_S) if asks else ([], [])
            for ref in done:
                try:
                    finished.update(self.ray.get(ref))
                except self.ray.exceptions.RayError:
                    continue
        except KeyboardInterrupt:
            pass
        with interrupts_held():  # a third one must not leave the actors running (in this process; a driver apart
            # gets its stops as SIGUSR1, and a third is a SIGKILL from the command)
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
    :class:`RayError` when Ray is missing, the cluster cannot be reached or refuses the token, no node has room
    for an actor, or no actor could start. Ctrl-C cancels the jobs in flight and returns a summary marked
    interrupted, as a local run does. ``overwrite`` and ``update`` are the plan's: each actor looks at a job's
    output again just before it, as :func:`~weatherclean.batch.run.run_jobs` does.

    Where this run connects to Ray itself (on Linux, from the main thread), the Ray driver runs in a child
    process (:func:`_drive_apart`): Ray ends its driver at once when the cluster, or the node it runs on, goes
    away, and this process then still reports what was done, with the rest failed as :data:`CLUSTER_GONE`.
    """
    ray = import_ray()
    summary = BatchSummary.from_plan(plan)
    jobs = list(plan)
    start = time.perf_counter()
    address = cluster_address(options)
    check_reachable(address)
    if not jobs:  # everything done or skipped: no cluster needed (but the address must still be good)
        return summary
    if not ray.is_initialized():
        check_token(address)
    replace = Replacement(overwrite, update)

    def drive(results: _Results, connected: Callable[[], None]) -> _Results:
        ray_messages_on_stderr()
        started = connect(ray, address, options.local_cpus)
        connected()
        try:
            return _run_jobs(ray, jobs, make_worker, shipped, options, replace, progress, description, console, results)
        finally:
            if started:
                ray.shutdown()

    if _driver_apart(ray):
        results = _drive_apart(drive, jobs, disconnect=lambda: ray.is_initialized() and ray.shutdown())
    else:
        results = drive(_Results(per_job=[None] * len(jobs)), lambda: None)
    for result in results.per_job:
        if result is not None:
            summary.add(result)
    summary.failed += results.lost
    summary.not_done += results.not_done
    summary.notes += list(dict.fromkeys(results.worker_notes))
    summary.interrupted = results.interrupted
    summary.seconds = time.perf_counter() - start
    return summary


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
    results: _Results,
) -> _Results:
    """Start the actors, feed them the jobs, collect each job's summary by its index in the plan into ``results``.
    ``replace`` is what existing outputs may be replaced, for each actor's look at a job's output just before it
    runs. An actor that no node has room for is refused before anything starts (:func:`_fit_problem`)."""
    count, gpus = _actor_count(ray, options, len(jobs))
    problem = _fit_problem(ray.nodes(), options.cpus_per_actor, gpus)
    if problem is not None:
        raise RayError(problem)
    actor_class = ray.remote(
        num_cpus=options.cpus_per_actor, num_gpus=gpus, max_restarts=options.restarts,
        max_task_retries=options.retries,
    )(_JobActor)  # fmt: skip
    model_ref = ray.put(shipped)
    cwd = str(Path.cwd())  # the workers' relative paths are the driver's (_absolute)
    actors = [actor_class.remote(make_worker, *replace, cwd) for _ in range(count)]
    pool = _Pool(ray, actors, [model_ref], options.start_timeout)
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
                    _raise_if_gone(ray)
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
    except _ClusterGone as gone:
        results.lost += [
            Record(display(jobs[i].source), CLUSTER_GONE.format(how=gone.how)) for i in _unrecorded(results)
        ]
        with contextlib.suppress(Exception):  # what can still be stopped
            pool.stop()
    except KeyboardInterrupt:
        for index, summary in pool.interrupt().items():
            if results.per_job[index] is None and not summary.interrupted:
                results.put(index, summary)
        results.interrupted = True
        results.not_done += [Record(display(jobs[i].source), INTERRUPTED) for i in _unrecorded(results)]
    return results


def _unrecorded(results: _Results) -> list[int]:
    """The plan indices of the jobs with no summary yet, for a run that stops early. Taken from the results, not
    from the queue and the running jobs: Ctrl-C or SIGTERM between a job's leaving the queue and its ref's being
    kept, or between its ref's release and its summary's being recorded, left it in neither, and the summary lost
    the file (11 of 12 in the report, none done, failed or not done)."""
    return [index for index, summary in enumerate(results.per_job) if summary is None]


def _collect(ray: ModuleType, pool: _Pool, ref: Any, jobs: list[Job], results: _Results, options: RayOptions) -> bool:
    """Record a finished job's summary (or its worker's death) under its plan index; False if it was cancelled."""
    try:
        summary: BatchSummary = ray.get(ref)
    except ray.exceptions.RayActorError as exc:
        _raise_if_gone(ray)  # not this file's doing: the cluster, or the node under this driver, stopped
        index = pool.release(ref, worker_died=True)
        results.put(index, BatchSummary(failed=[_death_reason(jobs[index], exc, options.retries + 1)]))
        return True
    except ray.exceptions.TaskCancelledError:
        pool.release(ref, worker_died=False)
        return False
    results.put(pool.release(ref, worker_died=False), summary)
    return True


class _ClusterGone(Exception):
    """The cluster's head, or the Ray node under this driver, stopped answering: the batch cannot go on."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


def _raise_if_gone(ray: ModuleType) -> None:
    """Raise :class:`_ClusterGone` when the cluster's head, or the Ray node this driver runs on, does not take a
    connection. Asked when a worker dies: ``ray stop`` takes every worker with it, and Ray reports each as a
    worker that died on every try (a file that crashed it), or ends the driver itself (:func:`_drive_apart`)."""
    for what, address in _cluster_places(ray):
        try:
            check_reachable(address, timeout=2.0)
        except RayError:
            raise _ClusterGone(f"{what} at {address} stopped answering") from None


def _cluster_places(ray: ModuleType) -> list[tuple[str, str]]:
    """The addresses that answer while the cluster is up: its head, and the Ray node under this driver (read
    from Ray's driver state; left out where this Ray version keeps it elsewhere)."""
    places: list[tuple[str, str]] = []
    with contextlib.suppress(Exception):
        places.append(("its head", str(ray.get_runtime_context().gcs_address)))
    with contextlib.suppress(Exception):
        node = ray._private.worker.global_worker.node
        places.append(("the Ray node this command runs on", f"{node.node_ip_address}:{int(node.node_manager_port)}"))
    return places


def _worker_notes(ray: ModuleType, pool: _Pool) -> list[Record]:
    """Every live actor's notes (precision fallbacks, ...), once each; an actor that does not answer within
    :data:`CANCEL_GRACE_S` (its node gone) has none."""
    notes: list[Record] = []
    for actor in pool.ready:
        try:
            notes += ray.get(actor.notes.remote(), timeout=CANCEL_GRACE_S)
        except ray.exceptions.RayError:
            continue
    return notes


def _driver_apart(ray: ModuleType) -> bool:
    """Whether to run the Ray driver in a child process: where this run connects to Ray itself, from the main
    thread (signals are relayed), on Linux (``fork`` with PyTorch loaded is safe there, not on macOS), and with
    no GPU in use in this process (CUDA does not survive ``fork``)."""
    torch = sys.modules.get("torch")
    return (
        sys.platform.startswith("linux")
        and not ray.is_initialized()
        and threading.current_thread() is threading.main_thread()
        and not (torch is not None and torch.cuda.is_initialized())
    )
