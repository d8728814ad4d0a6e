import os

import torch

# Two cores on CI: keep PyTorch from oversubscribing them when pytest runs.
torch.set_num_threads(min(2, os.cpu_count() or 1))
