import os
import signal
import threading
from collections.abc import Iterator

import pytest

from weatherclean.interrupts import INTERRUPTS  # Ctrl-C, SIGTERM and SIGHUP where the system has them


def pytest_configure(config: pytest.Config) -> None:
    """One intra-op thread in each process that runs tests: the test models are tiny, and on a 2-core CI machine a
    second OpenMP thread competing with data-loader workers (or anything else) makes PyTorch spin-wait, up to 50×
    slower. Not in pytest-xdist's controller, which runs no test: importing PyTorch there (about 3 s on the CI
    machine) only delayed the start of the workers."""
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return
    import torch

    torch.set_num_threads(1)


# pytest-xdist's workers inherit COLUMNS=80 and LINES=24 from it; the CLI's consoles take COLUMNS as the
# terminal's width, so tables there folded where a plain `pytest` run (120 columns off a terminal) did not.
# Tests see the same console width however they are run.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


# pytest-xdist's workers start with Ctrl-C ignored (SIG_IGN), as a job started with `cmd &` does; the command rightly
# leaves an ignored Ctrl-C ignored, so the tests of what Ctrl-C does passed or failed with whichever test had set a
# handler before them in the same worker. Every test starts from Python's own Ctrl-C handler, as under a plain `pytest`.
if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def handlers_kept() -> Iterator[None]:
    """The test process's own handlers of Ctrl-C, SIGTERM and SIGHUP, back after a test that puts in others."""
    before = {signum: signal.getsignal(signum) for signum in INTERRUPTS}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.fixture(autouse=True)
def _no_test_leaves_its_signal_handling_behind() -> Iterator[None]:
    """A test that leaves a signal blocked, or another handler for Ctrl-C, SIGTERM or SIGHUP, changes what the signal
    tests after it in the same worker see: they then pass or fail by the order the tests ran in."""
    handlers = {s: signal.getsignal(s) for s in INTERRUPTS}
    mask = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, []) if mask else set()
    yield
    if mask:
        left = sorted(s.name for s in signal.pthread_sigmask(signal.SIG_BLOCK, []) - blocked)
        assert not left, f"the test left {', '.join(left)} blocked"
    changed = sorted(s.name for s in INTERRUPTS if signal.getsignal(s) != handlers[s])
    assert not changed, f"the test left another handler for {', '.join(changed)}"
