import torch

# One intra-op thread: the test models are tiny, and on a 2-core CI machine a second OpenMP thread
# competing with data-loader workers (or anything else) makes PyTorch spin-wait, up to 50× slower.
torch.set_num_threads(1)
