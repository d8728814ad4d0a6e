"""Data-parallel training under ``torchrun`` on the CPU (gloo): the same run as one process with the same batch.

``--batch-size`` is the global batch. Step ``s`` draws global samples ``s·B … s·B + B − 1`` whatever the number
of processes, each process taking one contiguous half; every loss term is a batch mean and DDP averages the
gradients. So two processes with ``--batch-size 4`` must take the same steps as one process with
``--batch-size 4``, and a run may be interrupted on one process and resumed on two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from synthetic import write_clean
from weatherclean.cli import app
from weatherclean.errors import WeathercleanError
from weatherclean.models.registry import create_model
from weatherclean.training.trainer import GlobalIndexSampler, _Dist, _per_rank_batch

STEPS = 6
SRC = Path(__file__).resolve().parents[1] / "src"


def _log(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc-per-node 2 -m weatherclean ARGS`` with this checkout on the path.

    ``--standalone`` rendezvous on a free local port, so parallel test runs cannot collide; one thread per
    process keeps two processes on two cores from spin-waiting on each other.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    return subprocess.run(
        [*command, "-m", "weatherclean", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_two_processes_follow_one_process_with_the_same_global_batch(tmp_path: Path) -> None:
    """Interrupted after step 1 on one process, resumed under torchrun on two: steps 2..6 match the straight run.

    Tolerance: both runs see the same samples from the same weights, so they differ only in float rounding
    (convolutions over 2 crops instead of 4, a mean of two half-batch means, the gradient all-reduce):
    measured here, at most 2e-7 of each logged term and 3e-8 in any weight after 6 steps. rtol 1e-4 and
    atol 2e-5 leave a thousandfold room for other CPUs' kernels, yet are a hundred times smaller than the
    change of the loss from one step to the next (asserted below) and than the distance the weights
    travel, so a process that drew the other's samples, logged only its own half of the batch, or
    resumed at another step fails.
    """
    clean = write_clean(tmp_path / "clean", seed=1, n=3)
    base = ["train", "--task", "snow", "--clean", str(clean), "--crop", "16", "--batch-size", "4", "--steps",
            str(STEPS), "--warmup", "1", "--lr", "1e-3", "--workers", "0", "--log-every", "1", "--device",
            "cpu"]  # fmt: skip
    runner = CliRunner()
    one = runner.invoke(app, [*base, "-q", "-o", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    # --time-limit 0 stops (with a checkpoint) after the first step: the run to resume on two processes.
    first = runner.invoke(app, [*base, "-q", "--time-limit", "0", "-o", str(tmp_path / "two")])
    assert first.exit_code == 0, first.output
    assert [r["step"] for r in _log(tmp_path / "two")] == [1]

    done = _torchrun([*base, "-o", str(tmp_path / "two")], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("trained ") == 1  # rank 0 alone reports ...

    two = tmp_path / "two"  # ... and writes: one log, one model with its card, no stray temporary files
    assert sorted(p.name for p in two.iterdir()) == ["checkpoint.pt", "model", "train_config.json", "train_log.jsonl"]
    assert sorted(p.name for p in (two / "model").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    ref, got = _log(tmp_path / "one"), _log(two)
    assert [r["step"] for r in got] == list(range(1, STEPS + 1))  # each step logged once, step 1 from the checkpoint
    losses = [r["loss"] for r in ref]
    assert min(abs(a - b) / a for a, b in zip(losses, losses[1:], strict=False)) > 1e-2  # steps differ by far more
    for a, b in zip(ref, got, strict=True):
        for key in ("loss", "y_prime", "y_hat", "z", "w", "lr"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), (a["step"], key)

    # The weights after 6 Adam steps at lr 1e-3: each step moves a weight by up to about 1e-3.
    w_one, w_two = (load_file(str(run / "model" / "model.safetensors")) for run in (tmp_path / "one", two))
    assert w_one.keys() == w_two.keys()
    for key, value in w_one.items():
        torch.testing.assert_close(w_two[key], value, rtol=0, atol=2e-5, msg=key)
    torch.manual_seed(0)  # the CLI's initialisation for --seed 0: training moved the weights far beyond atol
    start = create_model("desnownet-light").state_dict()
    assert max((value - start[key]).abs().max().item() for key, value in w_one.items()) > 100 * 2e-5


def test_the_global_batch_is_cut_into_contiguous_slices() -> None:
    """Two processes with batch 2 each draw, step by step, exactly the samples of one process with batch 4."""
    one = list(GlobalIndexSampler(3, 6, batch=4))
    halves = [list(GlobalIndexSampler(3, 6, batch=2, rank=r, world=2)) for r in (0, 1)]
    merged = [g for step in range(3) for half in halves for g in half[2 * step : 2 * step + 2]]
    assert merged == one == list(range(12, 24))


def test_a_global_batch_that_does_not_split_evenly_is_refused() -> None:
    assert _per_rank_batch(8, _Dist(rank=1, world=4)) == 2
    with pytest.raises(WeathercleanError, match="--batch-size 6 is the global batch .* 4 training processes"):
        _per_rank_batch(6, _Dist(rank=0, world=4))
