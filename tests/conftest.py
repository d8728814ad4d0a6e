import os

import torch

# One intra-op thread: the test models are tiny, and on a 2-core CI machine a second OpenMP thread
# competing with data-loader workers (or anything else) makes PyTorch spin-wait, up to 50× slower.
torch.set_num_threads(1)

# pytest-xdist's workers inherit COLUMNS=80 and LINES=24 from it; the CLI's consoles take COLUMNS as the
# terminal's width, so tables there folded where a plain `pytest` run (120 columns off a terminal) did not.
# Tests see the same console width however they are run.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
