"""Training losses from the papers.

DesnowNet (paper eq. 9-10): L = L(y, y′) + L(y, ŷ) + λ_z·L(z, ẑ) + λ_w·‖w‖²₂ with the pyramid loss
L(m, m̂) = Σ_{i=0..τ} ‖P_{2^i}(m) − P_{2^i}(m̂)‖²₂, P_k a k×k max-pool with stride k.

Norm convention: ‖·‖²₂ is a sum of squares over each image (as in the paper), averaged over the batch,
so the balance between the data terms and λ_w·‖w‖² is the paper's whatever the batch size. The crop size
still scales the data terms; Adam is invariant to the overall scale, so only the ratios matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def pyramid_loss(pred: torch.Tensor, target: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """Σ_{i=0..levels} per-image sum of squared differences of 2^i×2^i max-pooled maps, batch mean.

    Levels whose pooling window is larger than the image are skipped (a 37-px crop has no 64× level).
    """
    total = pred.new_zeros(())
    batch = pred.shape[0]
    for i in range(levels + 1):
        k = 2**i
        if k > min(pred.shape[-2:]):
            break
        p = F.max_pool2d(pred, k, k) if k > 1 else pred
        t = F.max_pool2d(target, k, k) if k > 1 else target
        total = total + (p - t).pow(2).sum() / batch
    return total


def weight_l2(model: nn.Module) -> torch.Tensor:
    """‖w‖²₂ over convolution and linear weights (biases and PReLU slopes are not decayed)."""
    params = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.ConvTranspose2d)]
    return torch.stack([p.pow(2).sum() for p in params]).sum()


def mean_pyramid_loss(pred: torch.Tensor, target: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """Σ_{i=1..levels} per-image sum of squared differences of 2^i×2^i *average*-pooled maps, batch mean.

    The paper's pyramid loss pools with a max, so at every coarse level it compares only the brightest
    pixel of each window: a result a few grey levels darker than the target, away from those maxima,
    costs almost nothing there. Average pooling charges any shift of brightness or colour over an area,
    which is what this term is for (our addition, ``--lambda-colour``; docs/models.md "No harm").
    """
    total = pred.new_zeros(())
    batch = pred.shape[0]
    for i in range(1, levels + 1):
        k = 2**i
        if k > min(pred.shape[-2:]):
            break
        total = total + (F.avg_pool2d(pred, k, k) - F.avg_pool2d(target, k, k)).pow(2).sum() / batch
    return total


@dataclass
class DesnowLoss:
    """The full DesnowNet objective. λ_z = 3, λ_w = 5e-4, τ = 4 as in the public ports.

    ``lambda_colour`` > 0 adds our brightness-and-colour term on ŷ (:func:`mean_pyramid_loss`); 0, the
    default, is the paper's loss exactly.
    """

    lambda_z: float = 3.0
    lambda_w: float = 5e-4
    levels: int = 4
    lambda_colour: float = 0.0

    def __call__(
        self, model: nn.Module, out: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        y_hat, y_prime, z_hat = out[0].float(), out[1].float(), out[2].float()
        y, z = batch["y"], batch["z"]
        l_yp = pyramid_loss(y_prime, y, self.levels)
        l_yh = pyramid_loss(y_hat, y, self.levels)
        # Snow100K items without a mask file get no mask supervision (their zeros would teach ẑ = 0).
        # The kept items' sum is still divided by the whole batch, like every other term.
        keep = batch.get("has_mask")
        if keep is None or bool(keep.all()):
            l_z = pyramid_loss(z_hat, z, self.levels)
        elif bool(keep.any()):
            keep = keep.bool()
            l_z = pyramid_loss(z_hat[keep], z[keep], self.levels) * keep.sum() / len(keep)
        else:
            l_z = z_hat.sum() * 0.0  # keeps the graph connected
        l_w = weight_l2(model)
        total = l_yp + l_yh + self.lambda_z * l_z + self.lambda_w * l_w
        parts = {"y_prime": l_yp.item(), "y_hat": l_yh.item(), "z": l_z.item(), "w": l_w.item()}
        if self.lambda_colour > 0:
            l_c = mean_pyramid_loss(y_hat, y, self.levels)
            total = total + self.lambda_colour * l_c
            parts["colour"] = l_c.item()
        return total, parts


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """E(x) of J4R-Net's rectification loss: the image minus a 5×5 Gaussian blur (σ = 1) of it.

    The rectification term asks the output to have the target's fine detail, which a plain L2 loss
    tends to smooth away; only the high frequencies enter it.
    """
    flat = x.reshape(-1, 1, *x.shape[-2:])
    g = torch.exp(-0.5 * (torch.arange(5, device=x.device, dtype=x.dtype) - 2) ** 2)
    kernel = (g[:, None] * g[None, :]) / g.sum() ** 2
    blurred = F.conv2d(F.pad(flat, (2, 2, 2, 2), mode="replicate"), kernel[None, None])
    return (flat - blurred).reshape(x.shape)


def _frame_sse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors per frame, averaged over frames and batch (Caffe's EuclideanLoss scale)."""
    frames = pred.shape[0] * (pred.shape[1] if pred.dim() == 5 else 1)
    return (pred - target).pow(2).sum() / frames


@dataclass
class DerainLoss:
    """J4R-Net's objective: l_joint + λ_d·l_detect + λ_c·l_rect + λ_r·l_removal (λ = 1e-3, 1e-4, 1e-4).

    Every term is a per-frame *sum* over pixels, averaged over frames and batch: the convention of the
    authors' Caffe release (EuclideanLoss) and of our DesnowNet loss. The cross-entropy is summed the
    same way, so that the paper's λ_d keeps the detection term at a few percent of the joint term
    rather than vanishing (the paper does not say which normalisation it used; shared/models.md).
    Pairs without streak/occlusion maps (real data) train l_joint and l_rect only.

    ``lambda_colour`` > 0 adds our brightness-and-colour term on B̂ (:func:`mean_pyramid_loss` per
    frame, issue 13): the paper's terms let a model trade a few grey levels of darkening and a blue drop
    over the whole frame for streak removal, which costs more PSNR on light rain than it gains. 0, the
    default, is the paper's loss exactly.
    """

    lambda_detect: float = 1e-3
    lambda_rect: float = 1e-4
    lambda_removal: float = 1e-4
    lambda_colour: float = 0.0

    def __call__(
        self, out: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        background, streak, logits = out[0].float(), out[1].float(), out[2].float()
        clean = batch["clean"]
        l_joint = _frame_sse(background, clean)
        l_rect = _frame_sse(high_pass(background), high_pass(clean))
        has = batch.get("has_maps")
        keep = torch.ones(len(clean), dtype=torch.bool, device=clean.device) if has is None else has.bool()
        if bool(keep.any()):
            share = keep.sum() / len(keep)  # kept items' terms are divided by the whole batch, like l_joint
            target = batch["alpha"][keep].round().long().flatten(0, 1)[:, 0]  # (N·T)×H×W
            ce = F.cross_entropy(logits[keep].flatten(0, 1), target, reduction="sum")
            l_detect = ce / target.shape[0] * share
            l_removal = _frame_sse(streak[keep], batch["streak"][keep]) * share
        else:
            l_detect = l_removal = logits.sum() * 0.0  # keeps the graph connected
        total = l_joint + self.lambda_detect * l_detect + self.lambda_rect * l_rect + self.lambda_removal * l_removal
        parts = {"joint": l_joint.item(), "detect": l_detect.item(), "rect": l_rect.item(), "removal": l_removal.item()}
        if self.lambda_colour > 0:
            # Clips are N×T×C×H×W: pool each frame, so the term is a per-frame sum averaged over frames.
            pred, target = (background.flatten(0, 1), clean.flatten(0, 1)) if clean.dim() == 5 else (background, clean)
            l_c = mean_pyramid_loss(pred, target)
            total = total + self.lambda_colour * l_c
            parts["colour"] = l_c.item()
        return total, parts
