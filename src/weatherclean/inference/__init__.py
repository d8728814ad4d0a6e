"""Inference plumbing shared by every restoration command: tiling (the batch runner is :mod:`weatherclean.batch`)."""

from weatherclean.batch import BatchSummary, Job, Plan, Record, default_output, plan_jobs, run_batch
from weatherclean.restore.tiling import choose_tile, run_tiled

__all__ = [
    "BatchSummary",
    "Job",
    "Plan",
    "Record",
    "choose_tile",
    "default_output",
    "plan_jobs",
    "run_batch",
    "run_tiled",
]
