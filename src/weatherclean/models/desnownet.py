"""DesnowNet (Liu et al., "DesnowNet: Context-Aware Deep Network for Snow Removal", IEEE TIP 2018).

Snow model: ``x = a ⊙ z + y ⊙ (1 − z)``. The network has two stages:

* **Translucency recovery (TR)**: a descriptor (Inception-V4-style backbone followed by a dilation
  pyramid) feeds two pyramid-maxout heads, the snow mask ``ẑ`` (1 channel) and the chromatic aberration
  map ``a`` (3 channels). The snow-free estimate ``y′`` inverts the snow model (eq. 5 of the paper).
* **Residual generation (RG)**: a second descriptor of the same architecture over ``[y′, ẑ, a]`` and a
  pyramid-sum head produce a residual ``r``; ``ŷ = y′ + r``.

Everything is configured by :class:`DesnowNetConfig`; named configurations live in
:mod:`weatherclean.models.registry`. The paper keeps the descriptor at input resolution (all strides 1,
as the public re-implementations do); ``descriptor_stride > 1`` is our addition for CPU use: the image is
folded into channels with a lossless space-to-depth, the descriptor runs at 1/stride resolution and a
learned pixel-shuffle upsampling brings the features back to full resolution before the per-pixel heads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from weatherclean.devices import like_layout
from weatherclean.models.builtin import BUILTIN_FAMILIES
from weatherclean.models.counting import count_macs
from weatherclean.models.family import ModelFamily, bounded_count, loss_from_options, register_family
from weatherclean.models.loading import ReadableWeights
from weatherclean.models.padding import padded_side

#: Model-card and Hub tags of the family.
TAGS = ("image-restoration", "desnowing", "desnownet", "weatherclean")

# Inception-V4 channel widths (Szegedy et al. 2016), scaled by ``DesnowNetConfig.width``.
_STEM = (32, 32, 64, 96, 64, 96, 64, 64, 64, 96, 192)
_BLOCK_A = (96, 64, 96, 64, 96, 96, 96)  # b0, b1a, b1b, b2a, b2b, b2c, b3
_RED_A = (384, 192, 224, 256)  # k, l, m, n
_BLOCK_B = (384, 192, 224, 256, 192, 192, 224, 224, 256, 128)
_RED_B = (192, 192, 256, 256, 320, 320)
_BLOCK_C = (256, 384, 256, 384, 448, 512, 256, 256)
#: The most Inception blocks of one kind, and channels of a pyramid branch or of the heads, that a config may ask
#: for: many times desnownet-paper's (4, 7, 3 blocks; 384 pyramid channels), and finite (bounded_count says why).
MAX_BLOCKS, MAX_CHANNELS = 64, 4096


@dataclass
class DesnowNetConfig:
    """Everything that shapes a DesnowNet; saved as ``config.json`` next to the weights.

    ``blocks`` counts Inception-A, -B and -C blocks (the paper's Inception-V4 uses 4, 7, 3).
    ``width`` scales every Inception-V4 channel count (1.0 = paper, 0.5 = the half-width ports).
    ``dilation_levels`` is the paper's γ: the dilation pyramid has γ+1 branches with dilations 2^0..2^γ.
    ``maxout_levels`` is β: the heads use kernels 1, 3, ..., 2β−1.
    ``picture_gate`` is read by the restorer, not the network: a picture in which the model darkens fewer
    than this share of pixels by 24 grey levels or more comes back unchanged, and one with twice that
    share or more gets the whole correction (:mod:`weatherclean.restore.picture_gate`).
    """

    model_type: str = "desnownet"  # lets the loader pick the class from config.json alone
    width: float = 1.0
    blocks: tuple[int, int, int] = (4, 7, 3)
    dilation_levels: int = 4
    pyramid_channels: int | None = None  # channels per dilation branch; None → backbone output / 4
    maxout_levels: int = 4
    descriptor_stride: int = 1
    head_channels: int | None = None  # channels of the upsampled features (only used when stride > 1)
    head_skip: bool = True  # with stride > 1, also feed the full-resolution input to the heads
    eps: float = 1e-3  # floor of (1 − ẑ) in the recovery formula where ẑ < 1
    pass_through: float = 0.0  # ẑ below this, around a pixel, returns the input pixel unchanged (0: off)
    gate_radius: int = 3  # how far (pixels) a detected flake opens the gate around it
    veil: bool = False  # a veil stage takes heavy snow's veil off before the flakes (VeilStage)
    veil_stride: int = 8  # the veil stage's cell, in pixels
    veil_floor: float = 0.0  # veil masks below this are left alone, fully removed from 2x it (0: all)
    context: bool = False  # the mask and colour heads also read what the whole picture (or tile) looks like
    picture_gate: float = 0.0  # fewer strongly darkened pixels than this share: the picture is left alone (0: off)

    def __post_init__(self) -> None:
        if self.model_type != "desnownet":
            raise ValueError(f"not a DesnowNet config (model_type={self.model_type!r})")
        # every size has an upper bound (bounded_count says why): the network is built from these alone
        if not isinstance(self.blocks, (list, tuple)) or len(self.blocks) != 3:  # JSON gives lists back
            raise ValueError(f"blocks must be three counts (Inception-A, -B, -C blocks), got {self.blocks!r}")
        self.blocks = tuple(bounded_count("blocks", b, 0, MAX_BLOCKS, "the paper's are 4, 7, 3") for b in self.blocks)
        self.dilation_levels = bounded_count("dilation_levels", self.dilation_levels, 0, 8, "the paper's is 4")
        self.maxout_levels = bounded_count("maxout_levels", self.maxout_levels, 1, 16, "the paper's is 4")
        for name in ("pyramid_channels", "head_channels"):  # None (or 0): the default
            if getattr(self, name) is not None:
                setattr(self, name, bounded_count(name, getattr(self, name), 0, MAX_CHANNELS, "0 or null: default"))
        self.descriptor_stride = bounded_count("descriptor_stride", self.descriptor_stride, 1, 16, "a power of two")
        if self.descriptor_stride & (self.descriptor_stride - 1):
            raise ValueError(f"descriptor_stride must be a power of two, got {self.descriptor_stride}")
        if not 0 < self.width <= 4:
            raise ValueError(f"width must be in (0, 4], got {self.width}")
        if not 0.0 <= self.pass_through < 0.5:
            raise ValueError(f"pass_through must be in [0, 0.5), got {self.pass_through}")
        self.gate_radius = bounded_count("gate_radius", self.gate_radius, 0, 256, "pixels")
        self.veil_stride = bounded_count("veil_stride", self.veil_stride, 1, 256, "pixels, a power of two")
        if self.veil_stride & (self.veil_stride - 1):
            raise ValueError(f"veil_stride must be a power of two, got {self.veil_stride}")
        if not 0.0 <= self.veil_floor < 0.5:
            raise ValueError(f"veil_floor must be in [0, 0.5), got {self.veil_floor}")
        if not 0.0 <= self.picture_gate < 0.5:
            raise ValueError(f"picture_gate must be a share of pixels in [0, 0.5), got {self.picture_gate}")
        if not isinstance(self.context, bool):
            raise ValueError(f"context must be true or false, got {self.context!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _ch(c: int, width: float) -> int:
    """Scale a channel count, keeping at least 4 channels so thin models stay trainable."""
    return max(4, int(round(c * width)))


class ConvAct(nn.Sequential):
    """Conv + ReLU with 'same' padding for any (odd) kernel shape, stride 1."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int] = 1, dilation: int = 1) -> None:
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        pad = (dilation * (k[0] // 2), dilation * (k[1] // 2))
        super().__init__(nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation), nn.ReLU(inplace=True))


def _avgpool_branch(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), ConvAct(cin, cout))


class _Concat(nn.Module):
    """Run branches side by side and concatenate on channels (the Inception pattern)."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def _stem(cin: int, w: float) -> tuple[nn.Module, int]:
    s = [_ch(c, w) for c in _STEM]
    first = nn.Sequential(ConvAct(cin, s[0], 3), ConvAct(s[0], s[1], 3), ConvAct(s[1], s[2], 3))
    mixed3 = _Concat(nn.MaxPool2d(3, stride=1, padding=1), ConvAct(s[2], s[3], 3))
    c3 = s[2] + s[3]
    mixed4 = _Concat(
        nn.Sequential(ConvAct(c3, s[4]), ConvAct(s[4], s[5], 3)),
        nn.Sequential(
            ConvAct(c3, s[6]), ConvAct(s[6], s[7], (1, 7)), ConvAct(s[7], s[8], (7, 1)), ConvAct(s[8], s[9], 3)
        ),
    )
    c4 = s[5] + s[9]
    mixed5 = _Concat(ConvAct(c4, s[10], 3), nn.MaxPool2d(3, stride=1, padding=1))
    return nn.Sequential(first, mixed3, mixed4, mixed5), s[10] + c4


def _block_a(cin: int, w: float) -> tuple[nn.Module, int]:
    b = [_ch(c, w) for c in _BLOCK_A]
    mod = _Concat(
        ConvAct(cin, b[0]),
        nn.Sequential(ConvAct(cin, b[1]), ConvAct(b[1], b[2], 3)),
        nn.Sequential(ConvAct(cin, b[3]), ConvAct(b[3], b[4], 3), ConvAct(b[4], b[5], 3)),
        _avgpool_branch(cin, b[6]),
    )
    return mod, b[0] + b[2] + b[5] + b[6]


def _reduction_a(cin: int, w: float) -> tuple[nn.Module, int]:
    k, l_, m, n = (_ch(c, w) for c in _RED_A)
    mod = _Concat(
        ConvAct(cin, k, 3),
        nn.Sequential(ConvAct(cin, l_), ConvAct(l_, m, 3), ConvAct(m, n, 3)),
        nn.MaxPool2d(3, stride=1, padding=1),
    )
    return mod, k + n + cin


def _block_b(cin: int, w: float) -> tuple[nn.Module, int]:
    b = [_ch(c, w) for c in _BLOCK_B]
    mod = _Concat(
        ConvAct(cin, b[0]),
        nn.Sequential(ConvAct(cin, b[1]), ConvAct(b[1], b[2], (1, 7)), ConvAct(b[2], b[3], (7, 1))),
        nn.Sequential(
            ConvAct(cin, b[4]),
            ConvAct(b[4], b[5], (7, 1)),
            ConvAct(b[5], b[6], (1, 7)),
            ConvAct(b[6], b[7], (7, 1)),
            ConvAct(b[7], b[8], (1, 7)),
        ),
        _avgpool_branch(cin, b[9]),
    )
    return mod, b[0] + b[3] + b[8] + b[9]


def _reduction_b(cin: int, w: float) -> tuple[nn.Module, int]:
    b = [_ch(c, w) for c in _RED_B]
    mod = _Concat(
        nn.Sequential(ConvAct(cin, b[0]), ConvAct(b[0], b[1], 3)),
        nn.Sequential(
            ConvAct(cin, b[2]), ConvAct(b[2], b[3], (1, 7)), ConvAct(b[3], b[4], (7, 1)), ConvAct(b[4], b[5], 3)
        ),
        nn.MaxPool2d(3, stride=1, padding=1),
    )
    return mod, b[1] + b[5] + cin


class _BlockC(nn.Module):
    """Inception-C: its branches split into parallel 1×3 and 3×1 convolutions."""

    def __init__(self, cin: int, w: float) -> None:
        super().__init__()
        b = [_ch(c, w) for c in _BLOCK_C]
        self.b0 = ConvAct(cin, b[0])
        self.b1 = ConvAct(cin, b[1])
        self.b1a, self.b1b = ConvAct(b[1], b[2], (1, 3)), ConvAct(b[1], b[2], (3, 1))
        self.b2 = nn.Sequential(ConvAct(cin, b[3]), ConvAct(b[3], b[4], (3, 1)), ConvAct(b[4], b[5], (1, 3)))
        self.b2a, self.b2b = ConvAct(b[5], b[6], (1, 3)), ConvAct(b[5], b[6], (3, 1))
        self.b3 = _avgpool_branch(cin, b[7])
        self.out_channels = b[0] + 2 * b[2] + 2 * b[6] + b[7]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.b1(x), self.b2(x)
        return torch.cat([self.b0(x), self.b1a(x1), self.b1b(x1), self.b2a(x2), self.b2b(x2), self.b3(x)], 1)


def inception_v4_backbone(cin: int, width: float, blocks: tuple[int, int, int]) -> tuple[nn.Module, int]:
    """Φ: the Inception-V4 layout with every stride set to 1, so features stay at input resolution."""
    layers: list[nn.Module] = []
    mod, c = _stem(cin, width)
    layers.append(mod)
    for _ in range(blocks[0]):
        mod, c = _block_a(c, width)
        layers.append(mod)
    mod, c = _reduction_a(c, width)
    layers.append(mod)
    for _ in range(blocks[1]):
        mod, c = _block_b(c, width)
        layers.append(mod)
    mod, c = _reduction_b(c, width)
    layers.append(mod)
    for _ in range(blocks[2]):
        block = _BlockC(c, width)
        layers.append(block)
        c = block.out_channels
    return nn.Sequential(*layers), c


class Descriptor(nn.Module):
    """D: backbone Φ followed by the dilation pyramid ``concat_n B_{2^n}(Φ(x))``, n = 0..γ.

    With ``stride > 1`` the input is folded by space-to-depth (lossless, so sub-pixel snow specks are
    not lost), the descriptor runs at reduced resolution and a 1×1 conv + ReLU + pixel shuffle brings
    ``head_channels`` features back to full resolution (``up`` is the conv and the ReLU, run folded: the
    ReLU commutes with the shuffle, and the residual head reads the folded features as they are).
    """

    def __init__(self, cin: int, cfg: DesnowNetConfig, context: bool = False) -> None:
        super().__init__()
        s = cfg.descriptor_stride
        self.stride = s
        self.backbone, c = inception_v4_backbone(cin * s * s, cfg.width, cfg.blocks)
        pc = cfg.pyramid_channels or max(4, c // 4)
        self.pyramid = nn.ModuleList(ConvAct(c, pc, 3, dilation=2**n) for n in range(cfg.dilation_levels + 1))
        c_out = pc * (cfg.dilation_levels + 1)
        if s > 1:
            hc = cfg.head_channels or 32
            self.up: nn.Module = nn.Sequential(nn.Conv2d(c_out, hc * s * s, 1), nn.ReLU(inplace=True))
            c_out = hc
        else:
            self.up = nn.Identity()
        self.out_channels = c_out
        self.context = Context(c_out * s * s) if context else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.folded_features(self.fold(x))
        return F.pixel_shuffle(f, self.stride) if self.stride > 1 else f

    def fold(self, x: torch.Tensor) -> torch.Tensor:
        """The input folded by space-to-depth (``x`` itself at stride 1), in the layout of the first
        convolution's weights (``pixel_unshuffle`` returns NCHW)."""
        if self.stride == 1:
            return x
        first = next(m for m in self.backbone.modules() if isinstance(m, nn.Conv2d))
        return like_layout(F.pixel_unshuffle(x, self.stride), first.weight)

    def folded_features(self, folded: torch.Tensor) -> torch.Tensor:
        """The features before the pixel shuffle: ``out_channels``·stride² channels at 1/stride resolution."""
        f = self.local_features(folded)
        return self.context(f) if self.context is not None else f

    def local_features(self, folded: torch.Tensor) -> torch.Tensor:
        """:meth:`folded_features` without the context: what each point's neighbourhood gives, and what the
        context pools over the picture (``scripts/level_probe.py`` reads it)."""
        f = self.backbone(folded)
        return self.up(torch.cat([b(f) for b in self.pyramid], dim=1))


class Context(nn.Module):
    """Scales and shifts every feature channel by the picture's mean features (FiLM, Perez et al. 2018,
    from a squeeze-and-excitation pooling): the heads then see how snowy the whole picture or tile is.

    Why: the same local pattern needs a different answer in light and heavy snow. On the shipped model's
    tuning sets, pixels it darkened by 4–6 grey levels should have darkened by 3.3 in light snow and by 19.1
    in heavy snow (``scripts/calibration_probe.py``, docs/model-history.md "Round 18 (snow)"): a network that
    sees only a neighbourhood must split the difference, removing too much from light snow and snow-free
    photos and too little from heavy snow. The excitation starts at zero, so a model grown from trained
    weights starts as exactly that model. In tiles, each tile is its own picture (scripts/tile_agreement.py
    measures what that changes). Not yet useful: fine-tuned on 96-px crops (snow rounds 18 and 19) it
    learned one scale for every picture, its hidden units dark, and such crops show little of the level
    (``scripts/level_probe.py``); docs/model-history.md "Round 19 (snow)" says what a next attempt needs.
    """

    #: Learning-rate multiple in training (``training.trainer.param_groups``): starting at zero inside trained
    #: weights, it has further to go than they do.
    lr_scale = 10.0

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, 2 * channels)
        nn.init.zeros_(self.excite.weight)
        nn.init.zeros_(self.excite.bias)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """f·(1 + scale) + shift, with scale and shift from f's mean over the picture.

        The pooling and the two layers run in the weights' precision even under autocast, and the scale is
        applied as f + f·scale: in bf16, 1 + scale would round every scale below 1/256 to nothing."""
        pooled = f.mean(dim=(-2, -1), dtype=torch.float32).to(self.squeeze.weight.dtype)
        with torch.autocast(f.device.type, enabled=False):
            scale, shift = self.excite(torch.relu(self.squeeze(pooled))).chunk(2, dim=1)
        scale, shift = scale.to(f.dtype)[..., None, None], shift.to(f.dtype)[..., None, None]
        return torch.addcmul(f + shift, f, scale)


def _stacked_kernels(convs: nn.ModuleList) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad kernels 1, 3, ..., 2β−1 to the largest size and stack them on the output axis."""
    k = convs[-1].kernel_size[0]
    weights = [F.pad(c.weight, [(k - c.kernel_size[0]) // 2] * 4) for c in convs]
    return torch.cat(weights, 0), torch.cat([c.bias for c in convs], 0)


class PyramidMaxout(nn.Module):
    """M_β(f) = max_n conv_{2n−1}(f), n = 1..β, followed by PReLU (the TR heads)."""

    def __init__(self, cin: int, cout: int, levels: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 2 * n + 1, padding=n) for n in range(levels))
        self.act = nn.PReLU(cout)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return fused_maxout(f, self)[0]


def fused_maxout(f: torch.Tensor, *heads: PyramidMaxout) -> list[torch.Tensor]:
    """Several pyramid-maxout heads over the same features ``f``, as one convolution; one output per head.

    Why one convolution: every kernel zero-padded to the largest size is exactly the same maths as β
    separate convolutions per head, and on a CPU a full-resolution convolution with only a few outputs
    uses the hardware poorly, so the mask head's 4 and the aberration head's 12 run better as one with
    16 (``benchmarks/desnow_paths.py`` times the whole model with and without).
    Without gradients the maximum over levels is a chain of element-wise maxima, faster than ``amax``
    over a reshaped axis, which is strided in channels-last memory; with them it stays ``amax``, whose
    gradient splits evenly between tied levels (a chain of ``maximum`` would favour the later ones), so
    training is what it was.
    """
    levels = len(heads[0].convs)
    if any(len(h.convs) != levels for h in heads):
        raise ValueError("fused_maxout needs heads with the same number of levels")
    kernels = [_stacked_kernels(h.convs) for h in heads]
    weight = like_layout(torch.cat([w for w, _ in kernels]), heads[0].convs[-1].weight)
    out = F.conv2d(like_layout(f, weight), weight, torch.cat([b for _, b in kernels]), padding=levels - 1)
    results, start = [], 0
    for head in heads:
        c = head.convs[0].out_channels
        mine = out[:, start : start + levels * c]
        if mine.requires_grad:
            best = mine.unflatten(1, (levels, c)).amax(dim=1)
        else:
            best = mine[:, :c]
            for level in range(1, levels):
                best = torch.maximum(best, mine[:, level * c : (level + 1) * c])
        results.append(head.act(best))
        start += levels * c
    return results


class PyramidSum(nn.Module):
    """r = Σ_n conv_{2n−1}(f), n = 1..β (the RG head; plain sum, as in the paper)."""

    def __init__(self, cin: int, cout: int, levels: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 2 * n + 1, padding=n) for n in range(levels))

    def forward(self, f: torch.Tensor, stride: int = 1) -> torch.Tensor:
        """The residual of features ``f``; with ``stride`` > 1, ``f`` is the space-to-depth fold by ``stride``
        of the full-resolution features, and the result is unfolded back to full resolution.

        Why the folded form: on a CPU a 7×7 convolution with 3 outputs at full resolution uses the
        hardware poorly, while the same kernel rearranged for the folded input (:func:`folded_kernel`:
        3·s² outputs, 3×3 taps) runs as a large, efficient convolution; it counts about 3× the
        multiply-adds, most of them on zero taps, and still takes less time (``benchmarks/desnow_paths.py``).
        The same maths: a sum of convolutions is one convolution with the summed (zero-padded) kernels,
        and folding rearranges that kernel exactly.
        """
        weight, bias = _stacked_kernels(self.convs)
        n = len(self.convs)
        weight = weight.reshape(n, -1, *weight.shape[1:]).sum(0)
        bias = bias.view(n, -1).sum(0)
        if stride > 1:
            weight, bias = folded_kernel(weight, stride), bias.repeat_interleave(stride * stride)
        weight = like_layout(weight, self.convs[-1].weight)
        out = F.conv2d(like_layout(f, weight), weight, bias, padding=weight.shape[-1] // 2)
        return F.pixel_shuffle(out, stride) if stride > 1 else out

    def folding_pays(self, stride: int) -> bool:
        """Whether the model runs this head folded by ``stride``: when that costs at most 3× the
        multiply-adds of the full-resolution kernel. On a 2-core CPU 2.0× (stride 2, 7×7) and 2.9× (stride 4,
        7×7) ran faster than full resolution, and 11.8× (stride 8) slower (``python
        benchmarks/desnow_paths.py --residual-head``, ``runs/bench_desnow_residual_r20.md``). Stride 1
        never folds."""
        return stride > 1 and self.folding_cost(stride) <= 3.0

    def folding_cost(self, stride: int) -> float:
        """Multiply-adds of the head folded by ``stride``, as a multiple of its full-resolution ones."""
        k = self.convs[-1].kernel_size[0]
        return stride * stride * folded_width(k, stride) ** 2 / (k * k)


def folded_width(kernel: int, stride: int) -> int:
    """Taps per side of a ``kernel``-wide kernel folded by ``stride`` (:func:`folded_kernel`): the cells its
    radius reaches on either side, and the centre one."""
    return 2 * -(-(kernel // 2) // stride) + 1


def folded_kernel(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """A k×k convolution kernel (``padding`` k // 2, odd k) rearranged for inputs and outputs folded by
    ``pixel_unshuffle(stride)``: ``pixel_shuffle(conv(unshuffle(f), folded), s) == conv(f, weight)``.

    Output phase p (0..s−1 along an axis) at cell Y reads input phase q at cell Y + u where the
    full-resolution offset s·u + q − p is within the kernel's radius r, so cells u run over
    −⌈r/s⌉..⌈r/s⌉; every other tap of the folded kernel is zero."""
    o, c, k, _ = weight.shape
    r, s, w = k // 2, stride, folded_width(k, stride)
    p = torch.arange(s, device=weight.device).view(s, 1, 1)  # output phase
    q = torch.arange(s, device=weight.device).view(1, s, 1)  # input phase
    u = torch.arange(-(w // 2), w // 2 + 1, device=weight.device).view(1, 1, -1)
    offset = s * u + q - p  # (s, s, w): the full-resolution tap
    inside = offset.abs() <= r
    tap = (offset + r).clamp(0, k - 1)
    rows = tap.view(s, 1, s, 1, w, 1).expand(s, s, s, s, w, w)
    cols = tap.view(1, s, 1, s, 1, w).expand(s, s, s, s, w, w)
    keep = (inside.view(s, 1, s, 1, w, 1) & inside.view(1, s, 1, s, 1, w)).to(weight.dtype)
    folded = weight[:, :, rows, cols] * keep  # o, c, p_row, p_col, q_row, q_col, u_row, u_col
    return folded.permute(0, 2, 3, 1, 4, 5, 6, 7).reshape(o * s * s, c * s * s, w, w)


def snow_gate(z: torch.Tensor, threshold: float, radius: int) -> torch.Tensor:
    """Where the model found snow, 1; where it found none within ``radius`` pixels, 0; a ramp between.

    The gate is the mask ẑ dilated by a max-pool (so a flake's halo, where the residual stage repairs
    edges, is inside it) and mapped 0 → 1 over [threshold, 2·threshold]. ŷ = x + gate·(ŷ − x) then
    returns a pixel unchanged wherever the model sees no snow near it: a snow-free photo comes back as it
    went in instead of a little darker and softer (issue 12, docs/models.md "No harm").
    """
    dilated = square_max(z, 2 * radius + 1) if radius > 0 else z
    return ((dilated - threshold) / threshold).clamp(0.0, 1.0)


def square_max(x: torch.Tensor, k: int) -> torch.Tensor:
    """The maximum over the k × k square around each point (k odd; borders see only what is inside): a
    stride-1 max-pool, bit for bit, as running maxima along rows and then columns.

    Why not ``max_pool2d``: on a one-channel map a CPU max-pool is slow; element-wise maxima of shifted
    views, doubling the window each step, take a small fraction of its time (``python
    benchmarks/desnow_paths.py`` times both on a 1 MP mask). With gradients it stays two 1-D max-pools,
    which send a tie's gradient to one point as before (the maxima would split it), so training is what
    it was."""
    if x.requires_grad:
        return pooled_square_max(x, k)
    return _window_max(_window_max(x, k, -2), k, -1)


def pooled_square_max(x: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`square_max` as two 1-D max-pools: its path under gradients, and the one it ran before."""
    r = k // 2
    rows = F.max_pool2d(x, (k, 1), stride=1, padding=(r, 0))
    return F.max_pool2d(rows, (1, k), stride=1, padding=(0, r))


def _window_max(x: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """The maximum over the k points centred on each point along ``dim`` (-1 or -2), borders padded with −∞.

    After step j, ``p[i]`` is the maximum of the padded ``x[i : i + 2^j]``; the window of k is then the
    maximum of two overlapping power-of-two windows: log2(k) + 1 element-wise maxima in all."""
    if k <= 1:
        return x
    r, size = k // 2, x.shape[dim]
    p = F.pad(x, [0, 0] * (-1 - dim) + [r, r], value=float("-inf"))
    span = 1
    while 2 * span <= k:
        length = p.shape[dim] - span
        p = torch.maximum(p.narrow(dim, 0, length), p.narrow(dim, span, length))
        span *= 2
    return torch.maximum(p.narrow(dim, 0, size), p.narrow(dim, k - span, size))


#: Widths, in cells, of the neighbourhoods whose darkest value the veil stage reads.
VEIL_DARK_REACH = (5, 17, 33, 65)
#: Per-cell statistics the veil stage reads (see :func:`veil_features`).
VEIL_FEATURES = 6 + len(VEIL_DARK_REACH)
#: Terms of the stage's quadratic regression: a constant, the statistics and their pairwise products.
VEIL_TERMS = 1 + VEIL_FEATURES + VEIL_FEATURES * (VEIL_FEATURES + 1) // 2


def veil_features(x: torch.Tensor, cell: int) -> torch.Tensor:
    """Per ``cell``-px cell of ``x`` (N×3×H×W, H and W multiples of ``cell``): its mean and darkest value per
    channel, and the darkest value of the dark channel over :data:`VEIL_DARK_REACH` cells around it.

    Why these: a veil lifts the darkest pixels of a picture towards the snow's colour everywhere at once
    (the dark channel prior of haze removal), while flakes, bright and sparse, hardly move a cell's darkest
    pixel; most snow-free photos have a nearly black pixel within a few hundred pixels."""
    if x.shape[-2] % cell or x.shape[-1] % cell:
        raise ValueError(f"veil_features needs a height and width that are multiples of {cell}, got {tuple(x.shape)}")
    darkest = -F.max_pool2d(-x, cell) if cell > 1 else x
    dark = darkest.amin(dim=1, keepdim=True)
    floors = [-square_max(-dark, k) for k in VEIL_DARK_REACH]
    return torch.cat([F.avg_pool2d(x, cell) if cell > 1 else x, darkest, *floors], dim=1)


def veil_terms(features: torch.Tensor) -> torch.Tensor:
    """The quadratic regression's terms (N×:data:`VEIL_TERMS`×h×w) of :func:`veil_features`' output."""
    i, j = torch.triu_indices(VEIL_FEATURES, VEIL_FEATURES)
    products = features[:, i] * features[:, j]
    return torch.cat([torch.ones_like(features[:, :1]), features, products], dim=1)


class VeilStage(nn.Module):
    """Heavy snow's veil: its mask z_v per cell, a quadratic regression on :func:`veil_features`, and one
    snow colour; both fitted by least squares on synthetic snow (:func:`weatherclean.training.veil.fit_veil`).

    Why a stage of its own: in heavy snow most of the error is coarse, not the flakes (synthetic L sets:
    62 % of the input's squared error is coarser than 33 px, a mean brightening of 12 grey levels, about
    half of the error and 7 of the levels the veil's; ``scripts/snow_band_probe.py``), and the flakes'
    stages, trained on small crops where a veil looks like a bright scene, take off about one level. The
    veil is taken off by the image model itself, ``x_p = (x − a⊙z_v)/(1 − z_v)``, exact for synthetic
    snow, before the flakes are. A regression, not a network: a small network trained on the same
    statistics learned no more than their mean in a session's CPU time (docs/model-history.md, snow round 6),
    while least squares on them explains about two thirds of the veil's variance (R² 0.65 on held-back
    pictures).
    """

    def __init__(self, cell: int) -> None:
        super().__init__()
        self.cell = cell
        self.coef = nn.Parameter(torch.zeros(VEIL_TERMS), requires_grad=False)  # zeros: no veil until fitted
        self.colour = nn.Parameter(torch.full((3,), 0.85), requires_grad=False)

    @property
    def reach(self) -> int:
        """Pixels per side the veil at one point depends on: the widest dark floor, the cell itself and the
        bilinear upsampling's neighbour."""
        return self.cell * (max(VEIL_DARK_REACH) // 2 + 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_v N×1×H×W, a_v 1×3×1×1); H and W multiples of ``cell``."""
        work = x.float()
        terms = veil_terms(veil_features(work, self.cell))
        z = (terms * self.coef.view(1, -1, 1, 1)).sum(dim=1, keepdim=True).clamp(0.0, 0.5)
        if self.cell > 1:
            z = F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return z.to(x.dtype), self.colour.view(1, 3, 1, 1).to(x.dtype)


def veil_gate(z: torch.Tensor, threshold: float) -> torch.Tensor:
    """The veil mask as removed: 0 below ``threshold``, ramping to the full mask at 2× it (0: all of it).

    Why: the stage finds a faint veil on some snow-free pictures too (hazy or bright ones); taking it off
    there would change pictures that have no snow, which issue 12 asks to come back unchanged."""
    if threshold <= 0:
        return z
    return z * ((z - threshold) / threshold).clamp(0.0, 1.0)


def recover(x: torch.Tensor, z: torch.Tensor, a: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Invert the snow model (paper eq. 5): y′ = (x − a⊙ẑ)/(1 − ẑ) where ẑ < 1, else x.

    The denominator is floored at ``eps`` so that ẑ just below 1 cannot blow up; the result is clamped to
    [0, 1] like the public re-implementations do.
    """
    y = (x - a * z) / (1.0 - z).clamp_min(eps)
    y = torch.where(z >= 1.0, x, y)
    return y.clamp(0.0, 1.0)


class DesnowOutput(NamedTuple):
    y_hat: torch.Tensor  # final estimate ŷ = y′ + r
    y_prime: torch.Tensor  # translucency-recovery estimate y′
    z_hat: torch.Tensor  # snow mask ẑ ∈ [0, 1], 1 channel
    a_hat: torch.Tensor  # aberration map a, 3 channels


class DesnowNet(
    nn.Module,
    ReadableWeights,
    PyTorchModelHubMixin,
    library_name="weatherclean",
    tags=list(TAGS[:3]),
    repo_url="https://github.com/weatherclean/weatherclean",
    license="mit",
):
    """DesnowNet. ``forward`` returns all intermediate maps (the loss needs them); ``restore`` is the
    inference entry point used by the tiling engine."""

    def __init__(self, config: DesnowNetConfig | dict | None = None, **kwargs: object) -> None:
        super().__init__()
        if config is None:
            config = DesnowNetConfig(**kwargs)  # type: ignore[arg-type]
        elif isinstance(config, dict):
            config = DesnowNetConfig(**config)
        self.config = config
        cfg = config
        self.tr_descriptor = Descriptor(3, cfg, context=cfg.context)
        c = self.tr_descriptor.out_channels + (3 if cfg.descriptor_stride > 1 and cfg.head_skip else 0)
        self.mask_head = PyramidMaxout(c, 1, cfg.maxout_levels)
        self.aberration_head = PyramidMaxout(c, 3, cfg.maxout_levels)
        self.rg_descriptor = Descriptor(7, cfg)
        c = self.rg_descriptor.out_channels + (7 if cfg.descriptor_stride > 1 and cfg.head_skip else 0)
        self.residual_head = PyramidSum(c, 3, cfg.maxout_levels)
        self.veil_stage = VeilStage(cfg.veil_stride) if cfg.veil else None
        self._init_identity()

    def _init_identity(self) -> None:
        """Start close to "no snow": ẑ ≈ 0 (so y′ ≈ x) and r = 0 (so ŷ = y′).

        An untrained model then returns its input instead of noise, and training improves on the input
        from step one; the zero-initialised weights still receive gradients from non-zero features.
        """
        for conv in self.residual_head.convs:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        for conv in self.mask_head.convs:
            nn.init.constant_(conv.bias, -0.05)

    @property
    def receptive_field(self) -> int:
        """Context in pixels, per side, that tiles should overlap by for seamless output.

        The theoretical receptive field of the two stacked descriptors is hundreds of pixels, but the
        effective one is far smaller, and it grows as training goes on. Measured with the shipped
        ``desnownet-light`` (stride 4) on a 1024² photo in 256-px tiles, against whole-image output:
        32 / 64 / 96 / 128 px of overlap give 46.9 / 49.3 / 54.0 / 59.0 dB and a seam of 0.37 / 0.32 /
        0.22 / 0.10 grey levels (the weights shipped before reached 57.5 dB with 64 px). 24 px per step of
        descriptor stride (96 here) keeps the seam under a quarter of a grey level (tests/test_tiling.py).
        With ``context`` the features are also scaled by their mean over the whole tile, which no overlap
        makes equal between tiles; ``scripts/tile_agreement.py`` measures how far tiles then differ.
        """
        veil = self.veil_stage.reach if self.veil_stage is not None else 0
        return max(32, 24 * self.config.descriptor_stride) + veil

    @property
    def tile_align(self) -> int:
        """Tiles must start on multiples of this: the veil stage's cells count from the input's corner, so
        a tile starting elsewhere would see other cells than the whole picture. 1 without a veil stage."""
        return self.config.veil_stride if self.veil_stage is not None else 1

    @property
    def bytes_per_pixel(self) -> float | None:
        """Memory a tile needs per pixel, for the tile choice: :func:`bytes_per_pixel` of the config."""
        return bytes_per_pixel(self.config)

    def _features(self, descriptor: Descriptor, inp: torch.Tensor) -> torch.Tensor:
        f = descriptor(inp)
        if self.config.descriptor_stride > 1 and self.config.head_skip:
            f = _with_skip(f, inp)
        return f

    def _residual(self, inp: torch.Tensor) -> torch.Tensor:
        """The RG stage's residual r of ``[y′, ẑ, a]``. With a strided descriptor its head runs on the folded
        features, never unfolding them (:meth:`PyramidSum.forward`); the same maths as ``_features`` then
        the head at full resolution."""
        descriptor, stride = self.rg_descriptor, self.config.descriptor_stride
        if not self.residual_head.folding_pays(stride):
            return self.residual_head(self._features(descriptor, inp))
        folded = descriptor.fold(inp)
        f = descriptor.folded_features(folded)
        if self.config.head_skip:
            f = _with_skip(f, folded)
        return self.residual_head(f, stride)

    def remove_veil(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with the veil stage's veil taken off above ``veil_floor`` (``x`` itself without a
        stage). H and W must be multiples of ``veil_stride``."""
        if self.veil_stage is None:
            return x
        z_v, a_v = self.veil_stage(x)
        return recover(x, veil_gate(z_v, self.config.veil_floor), a_v, self.config.eps)

    def forward(self, x: torch.Tensor) -> DesnowOutput:
        h, w = x.shape[-2:]
        s = self.config.descriptor_stride
        if self.veil_stage is not None:
            s = max(s, self.config.veil_stride)  # both powers of two: the larger is a multiple of the other
        ph, pw = (padded_side(n, s) - n for n in (h, w))
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        x = self.remove_veil(x)
        # Under autocast the convolutions run in bf16/fp16, but the maps are brought back to the input's
        # dtype before the recovery formula: its division by (1 − ẑ) would amplify half-precision error.
        f = self._features(self.tr_descriptor, x)
        z, a = fused_maxout(f, self.mask_head, self.aberration_head)
        z, a = z.to(x.dtype).clamp(0.0, 1.0), a.to(x.dtype)
        y_prime = recover(x, z, a, self.config.eps)
        y_hat = y_prime + self._residual(torch.cat([y_prime, z, a], dim=1)).to(x.dtype)
        if ph or pw:
            x, y_hat, y_prime, z, a = (t[..., :h, :w] for t in (x, y_hat, y_prime, z, a))
        if self.config.pass_through > 0:
            # Gated after the crop: mask values in the mirrored padding must not open it for real pixels.
            # Where the gate is shut, a picture comes back with only its veil taken off.
            y_hat = x + snow_gate(z, self.config.pass_through, self.config.gate_radius) * (y_hat - x)
        return DesnowOutput(y_hat, y_prime, z, a)

    @torch.inference_mode()
    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """ŷ clamped to [0, 1]: what users see."""
        return self.forward(x).y_hat.clamp(0.0, 1.0)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _with_skip(f: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
    """Features and the descriptor's own input side by side (``head_skip``), full resolution or folded.

    ``inp`` is not promoted: bf16 features stay bf16 under autocast. It goes in the features' layout, so
    that the concatenation, and the head after it, stay channels-last."""
    return torch.cat([f, like_layout(inp.to(f.dtype), f)], dim=1)


def bytes_per_pixel(config: DesnowNetConfig) -> float | None:
    """Memory a tile needs per pixel, for the tile choice (twice what was measured), or None.

    Peak resident memory of ``desnownet-light`` (stride 4, width 0.125, 16 head channels) on a CPU
    grew by 540–645 bytes per pixel of a 384² or 768² tile, in fp32 and bf16 (channels-last), most of
    it at full resolution in the heads. Wider or less strided descriptors scale their part by
    width × (4 / stride)², more head channels theirs. A stride-1 configuration (the paper's) keeps
    its whole descriptor at full resolution and has not been measured: None lets the tiling engine
    assume its generous default.
    """
    c = config
    if c.descriptor_stride == 1:
        return None
    descriptor = c.width / 0.125 * (4 / c.descriptor_stride) ** 2
    heads = (c.head_channels or 32) / 16  # 32: the model's own default
    return 1300.0 * max(descriptor, heads)


def macs_per_pixel(model: nn.Module, size: int = 64) -> float:
    """Multiply-adds per output pixel of every convolution that runs on a ``size``² input (:func:`count_macs`)."""
    return count_macs(model, model, size)


def _loss(**options: object) -> object:
    """The DesnowNet paper loss (``lambda_z``, ``lambda_w``, ``levels``, ``lambda_colour``)."""
    from weatherclean.training.losses import DesnowLoss

    return loss_from_options(DesnowLoss, options)


_LISTING = BUILTIN_FAMILIES["desnownet"]

FAMILY = register_family(
    ModelFamily(
        model_type="desnownet",
        task=_LISTING.task,
        title="DesnowNet",
        paper="Liu et al., *DesnowNet: Context-Aware Deep Network for Snow Removal*, IEEE TIP 2018",
        inputs="photos",
        example_input="photos/",
        config_class=DesnowNetConfig,
        model_class=DesnowNet,
        loss=_loss,
        macs_per_pixel=macs_per_pixel,
        tags=TAGS,
        configurations=_LISTING.configurations,
        default_model=_LISTING.default_model,
    )
)  # fmt: skip

__all__ = [
    "DesnowNet",
    "DesnowNetConfig",
    "DesnowOutput",
    "FAMILY",
    "PyramidMaxout",
    "PyramidSum",
    "folded_kernel",
    "folded_width",
    "pooled_square_max",
    "fused_maxout",
    "square_max",
    "bytes_per_pixel",
    "macs_per_pixel",
    "recover",
    "snow_gate",
    "veil_features",
    "veil_gate",
    "veil_terms",
    "VeilStage",
]
