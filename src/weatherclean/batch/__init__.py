"""Batches of photos, videos and clips: plan first (inputs → jobs, all checked), then run each job.

Where things are:

- :mod:`~weatherclean.batch.inputs`: files, folders (recursive) and glob patterns → the files to consider;
- :mod:`~weatherclean.batch.outputs`: the output-naming rule (``photos/`` → ``photos_desnowed/``,
  ``-o DIR``, ``--format``); the check that output folders can be written is
  :func:`weatherclean.io.folders.check_writable_folders`, handed on from here;
- :mod:`~weatherclean.batch.plan`: ``--shard K/N``, collisions, resume (existing outputs are skipped),
  ``--frames`` clips, and :func:`plan_batch`, the one call a command makes;
- :mod:`~weatherclean.batch.handlers`: doing one job by its kind (photo, video, frames);
- :mod:`~weatherclean.batch.run`: running a plan (progress, Ctrl-C, a full disk) into a summary;
- :mod:`~weatherclean.batch.report`: ``--dry-run``'s plan and the summary, as tables or ``--json``;
- :mod:`~weatherclean.batch.locks`: one ``--in-place`` run at a time over an input (advisory locks);
- :mod:`~weatherclean.batch.ray_engine`: running a plan on Ray actors (``--engine ray``); imported only
  when asked for, as it needs Ray.

Nothing here loads a model: a :class:`~weatherclean.batch.handlers.Restoration` brings the caller's (on
Ray, each actor builds its own from the model the driver ships:
:class:`~weatherclean.batch.ray_engine.RestorerWorkers`).
"""

from weatherclean.batch.handlers import Restoration, job_handler, photo_handler
from weatherclean.batch.jobs import NO_MATCH, NOT_FOUND, FrameProgress, Job, JobHandler, Plan, Record
from weatherclean.batch.outputs import OutputFormat, check_writable_folders, default_output, output_suffix
from weatherclean.batch.plan import (
    MediaOptions,
    parse_shard,
    plan_batch,
    plan_clips,
    plan_jobs,
    plan_media,
    require_an_input,
)
from weatherclean.batch.report import print_plan, print_summary
from weatherclean.batch.run import BatchSummary, run_batch, run_jobs

__all__ = [
    "NOT_FOUND", "NO_MATCH", "BatchSummary", "FrameProgress", "Job", "JobHandler", "MediaOptions", "OutputFormat",
    "Plan", "Record", "Restoration", "check_writable_folders", "default_output", "job_handler", "output_suffix",
    "parse_shard", "photo_handler", "plan_batch", "plan_clips", "plan_jobs", "plan_media", "print_plan",
    "print_summary", "require_an_input", "run_batch", "run_jobs",
]  # fmt: skip
