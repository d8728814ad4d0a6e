"""J4R-Net (Liu et al., "Erase or Fill? Deep Joint Recurrent Rain Removal and Reconstruction in Videos",
CVPR 2018).

Rain model: ``O_t = (1 − α_t)(B_t + S_t) + α_t·A_t``: where rain is additive (α = 0) the background is
``O − S``; where rain occludes the scene (α = 1) the frame holds nothing of it, and the background has
to be filled in from what earlier frames showed. The network does both, one frame at a time:

* **CNN**: a first convolution and a two-layer extractor make per-frame features ``F_t``.
* **D-Net** classifies every pixel as additive streak or occlusion (``α_t``) from ``F_t`` and the
  memory ``H_{t−1}``; its 4th-layer features ``f^d`` feed the gates.
* **F-Net**, a convolutional GRU with the paper's gates: update ``z = σ(W_z F + U_z H + V_z f^d)``,
  read ``r = ReLU(W_r F + U_r H + V_r f^d)`` (a ReLU, as in the paper), candidate
  ``H̃ = tanh(W_h F + U_h (r ⊙ H))`` and ``H_t = (1 − z) ⊙ H_{t−1} + z ⊙ H̃``.
* **R-Net** estimates the streaks ``Ŝ_t`` from ``F_t`` (spatial appearance).
* **C-Net** reconstructs the background from the memory ``H_t`` and ``F_t`` (temporal context), as a
  correction of the streak-free frame ``O − Ŝ``.
* **JRC-Net** joins them, ``(1 − α̂)(O − Ŝ) + α̂·B̂_c``, and refines the result with ``H_t``.

The network is truly recurrent: :meth:`J4RNet.step` handles one frame and returns the new hidden state,
so a video costs one pass per frame. ``H = 0`` (the default) is single-frame use, for photos.

``stride > 1`` is our addition for CPUs, as in DesnowNet: frames are folded into channels by a lossless
space-to-depth, everything runs at 1/stride resolution (the hidden state too), and each output comes back
to full resolution through a pixel shuffle, so thin streaks stay representable.

Our "no harm" options (issue 13, docs/models.md) are each off by default, so that weights trained
without them behave exactly as before: ``streak_mode="detail"`` makes the streak non-negative and free
of any constant or smooth offset; ``occlusion_floor`` and ``clamp_fill`` stop C-Net's fill leaking into
pixels nobody found occluded (the green stripe on real frames); ``pass_through > 0`` returns a pixel
unchanged where the model finds no rain near it; ``veil_cell > 0`` keeps the veil JRC-Net removes smooth.
"""

from __future__ import annotations

import math
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
from weatherclean.models.padding import MIN_SIDE, padded_side

__all__ = ["FAMILY", "J4RNet", "J4RNetConfig", "J4ROutput", "bytes_per_pixel", "macs_per_pixel", "smooth_veil"]

#: Model-card and Hub tags of the family.
TAGS = ("image-restoration", "deraining", "video", "j4rnet", "weatherclean")
#: The most channels (``channels``, ``hidden``) and layers or residual blocks of one kind a config may ask for:
#: many times the authors' release (64 channels, 1 or 2 blocks, 4 D-Net layers), and finite (bounded_count says why).
MAX_CHANNELS, MAX_LAYERS = 2048, 64


@dataclass
class J4RNetConfig:
    """Everything that shapes a J4R-Net; saved as ``config.json`` next to the weights.

    ``channels`` is the feature width and ``hidden`` the GRU state width (both 64 in the authors'
    release); ``*_blocks`` count residual blocks in R-Net, C-Net and JRC-Net; ``dnet_layers`` is the
    depth of D-Net (the gates read its 4th layer, or its last if shallower).

    The last seven fields are our "no harm" options (issue 13; docs/models.md). Their defaults are the
    paper's network, so a ``config.json`` written before they existed loads to the same model:

    * ``streak_mode``: ``"paper"`` takes R-Net's output as the streak Ŝ. ``"detail"`` takes the positive
      part of R-Net's output minus its own mean over ``streak_window`` × ``streak_window`` cells (of
      ``stride`` pixels): Ŝ ≥ 0 and no constant or smooth offset is representable, so R-Net cannot carry
      the +56-level "streak" that JRC-Net then has to undo (and undoes imperfectly, in colour).
    * ``occlusion_floor``: α̂ below it counts as 0 (and above it is rescaled to reach 1 at 1). Softmax
      never gives exactly 0, so the paper's blend always mixes in a little of C-Net's fill. The light
      model's C-Net, rarely used in training, reaches ±300 grey levels at strong edges, and α̂ ≈ 0.03
      of that is the green stripe with a 4-pixel grid along a wall edge in real frames (docs/models.md).
    * ``clamp_fill``: C-Net's fill B̂_c is a picture, so clamp it to [0, 1] before it is blended.
      Both work on trained weights as they are.
    * ``pass_through`` (0: off): where the model's own rain evidence (the detail of R-Net's output and
      α̂ above 0.5), dilated by ``gate_radius`` pixels, stays below this, the output is the input pixel
      itself, so dry pictures and dry areas come back unchanged; full correction above twice it. The
      gate acts in eval mode (inference) only; training optimises the network behind it.
    * ``veil_threshold`` (0: off): heavy rain's accumulation is a smooth veil with little streak detail,
      so the streak evidence alone shuts the gate over it. With this set, the gate also opens where the
      network's own correction, averaged over ``gate_radius`` around a pixel, darkens the frame by more
      than this (in [0, 1] units; fully open at twice it): removing a veil darkens by tens of grey levels,
      while the few-level drift a network leaves on a dry photo stays under it.
    * ``veil_cell`` (0: off; inference only): JRC-Net's residual keeps its detail finer than
      ``veil_cell / 4`` pixels (streaks, edges), and its coarse part, the veil it takes off, is replaced by
      its mean over ``veil_cell``-pixel cells, smoothed over 3 × 3 cells and upsampled bilinearly.
      Rain's accumulation is a smooth veil; a residual that darkens a sunlit building twice as much as
      the sky beside it has taken the scene for veil (rain round 17, docs/model-history.md).
    * ``self_ensemble`` (off; inference only): every step runs the frame and its 180° turn through the
      network as one batch of two and returns the mean of the two outputs, the second turned back; in a
      clip each keeps its own memory (the state carries both). Twice the compute. Why: the network's
      mistakes on a frame and on its turn are partly independent while the rain is the same, so the mean
      removes more rain and changes dry pictures less (rain round 24, docs/model-history.md). The frame is
      padded to whole ``veil_cell`` cells (and strides) first, so the turned copy smooths its veil on the
      same cell grid as the frame and tiles on that grid agree with the whole frame.
    """

    model_type: str = "j4rnet"  # lets the loader pick the class from config.json alone
    channels: int = 64
    hidden: int = 64
    stride: int = 1
    extractor_layers: int = 2
    dnet_layers: int = 4
    rnet_blocks: int = 2
    cnet_blocks: int = 2
    jrc_blocks: int = 1
    streak_mode: str = "paper"  # "paper" (R-Net's output) or "detail" (non-negative, offset-free)
    streak_window: int = 5  # cells (of stride px) the "detail" mode's local mean is taken over; odd
    clamp_fill: bool = False  # clamp C-Net's fill B̂_c to [0, 1] before blending
    occlusion_floor: float = 0.0  # α̂ below this counts as "not occluded" (0: the paper's soft α̂)
    pass_through: float = 0.0  # rain evidence below this returns the input pixel unchanged (0: off)
    gate_radius: int = 8  # pixels around detected rain that the pass-through gate keeps open
    veil_threshold: float = 0.0  # mean darkening that also opens the gate, for a veil (0: off)
    veil_cell: int = 0  # pixels over which JRC-Net's coarse residual (the veil) is smoothed (0: off)
    self_ensemble: bool = False  # at inference, the mean of the outputs for the frame and its 180° turn

    def __post_init__(self) -> None:
        if self.model_type != "j4rnet":
            raise ValueError(f"not a J4R-Net config (model_type={self.model_type!r})")
        # every size has an upper bound (bounded_count says why): the network is built from these alone
        self.stride = bounded_count("stride", self.stride, 1, 16, "a power of two")
        if self.stride & (self.stride - 1):
            raise ValueError(f"stride must be a power of two, got {self.stride}")
        self.channels = bounded_count("channels", self.channels, 1, MAX_CHANNELS, "the paper's is 64")
        self.hidden = bounded_count("hidden", self.hidden, 1, MAX_CHANNELS, "the paper's is 64")
        self.dnet_layers = bounded_count("dnet_layers", self.dnet_layers, 1, MAX_LAYERS, "the paper's is 4")
        for name in ("extractor_layers", "rnet_blocks", "cnet_blocks", "jrc_blocks"):
            setattr(self, name, bounded_count(name, getattr(self, name), 0, MAX_LAYERS, "the paper's are 1 or 2"))
        if self.streak_mode not in ("paper", "detail"):
            raise ValueError(f"streak_mode must be 'paper' or 'detail', got {self.streak_mode!r}")
        self.streak_window = bounded_count("streak_window", self.streak_window, 3, 63, "odd, in cells")
        if self.streak_window % 2 == 0:
            raise ValueError(f"streak_window must be odd and at least 3, got {self.streak_window}")
        if not 0.0 <= self.occlusion_floor < 1.0:
            raise ValueError(f"occlusion_floor must be in [0, 1), got {self.occlusion_floor}")
        if not 0.0 <= self.pass_through < 1.0:
            raise ValueError(f"pass_through must be in [0, 1), got {self.pass_through}")
        self.gate_radius = bounded_count("gate_radius", self.gate_radius, 0, 256, "pixels")
        if not 0.0 <= self.veil_threshold < 0.5:
            raise ValueError(f"veil_threshold must be in [0, 0.5), got {self.veil_threshold}")
        if self.veil_threshold > 0 and self.pass_through == 0:
            raise ValueError("veil_threshold widens the pass-through gate: set pass_through > 0 as well")
        bad_cell = not isinstance(self.veil_cell, int) or isinstance(self.veil_cell, bool)
        if bad_cell or (self.veil_cell != 0 and (not 8 <= self.veil_cell <= 1024 or self.veil_cell % 4)):
            raise ValueError(f"veil_cell must be 0 (off) or a multiple of 4 from 8 to 1024, got {self.veil_cell!r}")
        if not isinstance(self.self_ensemble, bool):
            raise ValueError(f"self_ensemble must be true or false, got {self.self_ensemble!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class _ResBlock(nn.Module):
    """conv–ReLU–conv with an identity shortcut, the building block of the authors' release."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.b = _conv(c, c), _conv(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.relu(self.a(x), inplace=True))


def _trunk(cin: int, c: int, blocks: int) -> nn.Sequential:
    """Entry conv (cin → c) + ReLU, then ``blocks`` residual blocks."""
    return nn.Sequential(_conv(cin, c), nn.ReLU(inplace=True), *(_ResBlock(c) for _ in range(blocks)))


class FNet(nn.Module):
    """The gated recurrent fusion with the paper's sigmoid update gate and ReLU read gate.

    W (on F_t), U (on H_{t−1}) and V (on D-Net features) are convolutions; the W and U/V terms of both
    gates are computed by one convolution each, which is the same arithmetic with fewer kernel launches.
    """

    def __init__(self, c: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.w = _conv(c, 3 * hidden)  # W_z, W_r, W_h
        self.u = nn.Conv2d(hidden, 2 * hidden, 3, padding=1, bias=False)  # U_z, U_r
        self.v = nn.Conv2d(c, 2 * hidden, 3, padding=1, bias=False)  # V_z, V_r
        self.u_h = nn.Conv2d(hidden, hidden, 3, padding=1, bias=False)

    def forward(self, f: torch.Tensor, h: torch.Tensor, fd: torch.Tensor) -> torch.Tensor:
        wz, wr, wh = self.w(f).chunk(3, dim=1)
        uz, ur = self.u(h).chunk(2, dim=1)
        vz, vr = self.v(fd).chunk(2, dim=1)
        z = torch.sigmoid(wz + uz + vz)
        r = F.relu(wr + ur + vr)
        candidate = torch.tanh(wh + self.u_h(r * h))
        return (1 - z) * h + z * candidate


def smooth_veil(residual: torch.Tensor, cell: int) -> torch.Tensor:
    """``residual`` (N×C×H×W) with its detail finer than ``cell / 4`` px kept and its coarse part replaced
    by its mean over ``cell``-px cells, smoothed over 3 × 3 cells and upsampled bilinearly.

    Why: JRC-Net's residual carries both the streak-scale repair and the removal of the veil, and the
    veil of rain's accumulation is smooth. Cell means and a bilinear upsampling are cheap at 720p
    (a Gaussian of σ ≈ 64 px is not), and the 3 × 3 smoothing keeps cell edges from showing. Edge cells
    of a frame that is not a multiple of the cell size average only the pixels they have.
    """
    size = residual.shape[-2:]

    def cell_means(x: torch.Tensor, side: int) -> torch.Tensor:
        return F.avg_pool2d(x, side, ceil_mode=True, count_include_pad=False)

    def up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    work = residual.float()
    fine = work - up(cell_means(work, cell // 4))
    coarse = cell_means(work, cell)
    coarse = F.avg_pool2d(F.pad(coarse, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (fine + up(coarse)).to(residual.dtype)


class J4ROutput(NamedTuple):
    """One frame's outputs: background B̂, streaks Ŝ, occlusion logits (2 classes), C-Net's fill B̂_c."""

    background: torch.Tensor
    streak: torch.Tensor
    alpha_logits: torch.Tensor
    filled: torch.Tensor

    @property
    def alpha(self) -> torch.Tensor:
        """Probability that a pixel is occluded by rain (class 1)."""
        return torch.softmax(self.alpha_logits.float(), dim=1)[:, 1:2]


class J4RNet(
    nn.Module,
    ReadableWeights,
    PyTorchModelHubMixin,
    library_name="weatherclean",
    tags=list(TAGS[:4]),
    repo_url="https://pypi.org/project/weatherclean/",
    license="mit",
):
    """J4R-Net over RGB frames in [0, 1]; see the module docstring for the structure."""

    def __init__(self, config: J4RNetConfig | dict | None = None, **kwargs: object) -> None:
        super().__init__()
        if isinstance(config, dict):
            config = J4RNetConfig(**config)
        cfg = config or J4RNetConfig(**kwargs)  # type: ignore[arg-type]
        self.config = cfg
        s2 = cfg.stride * cfg.stride
        c, hd = cfg.channels, cfg.hidden
        self.extract = nn.Sequential(
            _conv(3 * s2, c), nn.ReLU(inplace=True),
            *(m for _ in range(cfg.extractor_layers) for m in (_conv(c, c), nn.ReLU(inplace=True))),
        )  # fmt: skip
        dnet: list[nn.Module] = [_conv(c + hd, c), nn.ReLU(inplace=True)]
        for _ in range(cfg.dnet_layers - 1):
            dnet += [_conv(c, c), nn.ReLU(inplace=True)]
        self.dnet = nn.Sequential(*dnet)
        self.dnet_head = _conv(c, 2 * s2)
        self.fnet = FNet(c, hd)
        self.rnet = _trunk(c, c, cfg.rnet_blocks)
        self.rnet_head = _conv(c, 3 * s2)
        self.cnet = _trunk(c + hd, c, cfg.cnet_blocks)
        self.cnet_head = _conv(c, 3 * s2)
        self.jrc = _trunk(3 * s2 + hd, c, cfg.jrc_blocks)
        self.jrc_head = _conv(c, 3 * s2)
        self._init_outputs()

    def _init_outputs(self) -> None:
        """Start as "no rain": zero streaks, zero corrections, every pixel additive (α̂ ≈ 0).

        An untrained model then returns its input unchanged, and training starts from the identity
        rather than from noise — the same choice as for DesnowNet.
        """
        for head in (self.rnet_head, self.cnet_head, self.jrc_head, self.dnet_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        s2 = self.config.stride**2
        with torch.no_grad():
            self.dnet_head.bias.view(2, s2)[0].fill_(2.0)  # class 0 (additive) favoured: α̂ ≈ 0.12
        if self.config.streak_mode == "detail" and not self.rnet_head.weight.is_meta:
            # The "detail" streak is a ReLU of R-Net's output minus its local mean: from an output that is
            # exactly 0 everywhere it would be 0 with zero gradient, and R-Net would never learn. Tiny
            # random weights (streaks of about a tenth of a grey level) start it alive. Not on the meta device
            # (the loader's skeleton, :func:`~weatherclean.models.loading.check_fits`), which has no values to
            # draw: PyTorch's meta ``normal_`` imports torch._dynamo, which made a torchinductor folder in $TMPDIR
            # at every load, compile or not.
            nn.init.normal_(self.rnet_head.weight, std=1e-4)

    # ------------------------------------------------------------------------------------------ shapes

    @property
    def receptive_field(self) -> int:
        """Context in pixels, per side, that tiles should overlap by (the same rule as DesnowNet's), plus
        what the no-harm options look at around a pixel: the detail window, the gate's dilation, and the
        veil smoothing's reach (a point's cell, the 3 × 3 cells around it and the bilinear upsampling: up to
        2.5 cells away)."""
        c = self.config
        extra = 0
        if c.streak_mode == "detail" or c.pass_through > 0:
            extra += c.stride * (c.streak_window // 2)
        if c.pass_through > 0:
            extra += c.stride * (math.ceil(c.gate_radius / c.stride) + 1)
        if c.veil_cell > 0:
            extra += 5 * c.veil_cell // 2
        return max(32, 16 * c.stride) + extra

    def occlusion(self, logits: torch.Tensor) -> torch.Tensor:
        """α̂ as the joint blend uses it, from occlusion ``logits`` (N×2×H×W): the probability of class 1,
        with ``occlusion_floor`` applied. :attr:`J4ROutput.alpha` is the raw probability."""
        alpha = torch.softmax(logits, dim=1)[:, 1:2]
        floor = self.config.occlusion_floor
        if floor > 0:
            alpha = ((alpha - floor) / (1.0 - floor)).clamp(min=0.0)
        return alpha

    @property
    def tile_align(self) -> int:
        """Tiles must start on multiples of this: ``veil_cell`` counts its cells from the input's corner, so a
        tile starting elsewhere would smooth on another grid than the whole frame (seams of up to 20 grey
        levels at 1080p). 1 without ``veil_cell``."""
        return self.config.veil_cell if self.config.veil_cell > 0 else 1

    @property
    def bytes_per_pixel(self) -> float:
        """Memory one recurrent step needs per pixel, for the tile choice: :func:`bytes_per_pixel` of the config."""
        return bytes_per_pixel(self.config)

    @property
    def _ensembling(self) -> bool:
        """Whether :meth:`step` runs the self-ensemble now: with ``self_ensemble``, outside training."""
        return self.config.self_ensemble and not self.training

    def init_state(self, frame: torch.Tensor) -> torch.Tensor:
        """The zero memory for a clip starting with ``frame`` (N×3×H×W): single-frame mode. With the
        self-ensemble running, the memory of both copies (2N, of the frame padded to whole cells), the
        shape :meth:`step` takes and returns."""
        return self._zero_state(self._ensemble_input(frame) if self._ensembling else frame)

    def _zero_state(self, frame: torch.Tensor) -> torch.Tensor:
        """The zero memory for a batch ``frame`` as :meth:`_step` runs it."""
        n, _, h, w = frame.shape
        s = self.config.stride
        h, w = padded_side(h), padded_side(w)  # as :meth:`_step` pads a small frame
        return frame.new_zeros(n, self.config.hidden, -(-h // s), -(-w // s))

    def _fold(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Space-to-depth by the stride, in the memory layout of the model's weights.

        ``pixel_unshuffle`` returns NCHW; fed to channels-last weights, every convolution output and every
        residual addition after it would mix the two layouts and take slow strided paths (a 720p step
        ran 1.26× slower, with identical results).
        """
        s = self.config.stride
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % s, (-w) % s
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        y = F.pixel_unshuffle(x, s) if s > 1 else x
        return like_layout(y, self.extract[0].weight), (h, w)

    def _unfold(self, y: torch.Tensor, size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
        """Back to full resolution, in ``like``'s dtype: under autocast the convolutions ran in bf16/fp16,
        but the per-pixel blending of the outputs is kept at the frame's precision."""
        s = self.config.stride
        y = F.pixel_shuffle(y, s) if s > 1 else y
        return y[..., : size[0], : size[1]].to(like.dtype)

    # ----------------------------------------------------------------------------------------- forward

    def step(self, frame: torch.Tensor, state: torch.Tensor | None = None) -> tuple[J4ROutput, torch.Tensor]:
        """One frame (N×3×H×W) and the memory H_{t−1} → the frame's outputs and H_t.

        Inputs to convolutions are concatenated in the features' dtype: under autocast the convolutions
        cast them to bf16/fp16 anyway, so this changes no result, but a float32 memory or frame in the
        concatenation would promote it to float32 and cost a copy in and out of every convolution.
        The memory itself and the per-pixel blending stay at the frame's precision.
        """
        if self._ensembling:
            return self._ensemble_step(frame, state)
        out, h, _ = self._step(frame, state)
        return out, h

    def _ensemble_step(self, frame: torch.Tensor, state: torch.Tensor | None) -> tuple[J4ROutput, torch.Tensor]:
        """:meth:`step` with ``self_ensemble``: the frame and its 180° turn as one batch of 2N, each output the
        mean of the two, the second turned back; the memory is the batch's (2N), so each copy keeps its own."""
        out, memory, _ = self._step(self._ensemble_input(frame), state)
        return J4ROutput(*(self._ensemble_mean(t, frame) for t in out)), memory

    def _ensemble_input(self, frame: torch.Tensor) -> torch.Tensor:
        """The batch the self-ensemble runs: ``frame`` (N×3×H×W), then its 180° turn.

        Both are first padded (repeating the edges) to whole ``veil_cell`` cells and strides, so the turned
        copy's cells, counted from its own corner, lie on the frame's grid.
        """
        h, w = frame.shape[-2:]
        unit = math.lcm(self.config.stride, max(self.config.veil_cell, 1))
        pad = (0, (-w) % unit, 0, (-h) % unit)
        padded = F.pad(frame, pad, mode="replicate") if any(pad) else frame
        return torch.cat([padded, padded.flip(-2, -1)])

    @staticmethod
    def _ensemble_mean(t: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """The mean of an ensemble output ``t`` (2N×C×H'×W') over its two copies, the second turned back,
        cropped to ``frame``'s size."""
        n = frame.shape[0]
        return ((t[:n] + t[n:].flip(-2, -1)) / 2)[..., : frame.shape[-2], : frame.shape[-1]]

    @torch.no_grad()
    def gate(self, frame: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """The pass-through gate for ``frame`` (N×1×H×W in [0, 1]): 0 where the output is the input pixel
        unchanged, 1 where it is the model's full correction. All ones when ``pass_through`` is off."""
        if self._ensembling:  # the gate of each copy, averaged as their outputs are
            _, _, g = self._step(self._ensemble_input(frame), state)
            return torch.ones_like(frame[:, :1]) if g is None else self._ensemble_mean(g, frame)
        _, _, g = self._step(frame, state)
        return torch.ones_like(frame[:, :1]) if g is None else g

    def _step(
        self, frame: torch.Tensor, state: torch.Tensor | None
    ) -> tuple[J4ROutput, torch.Tensor, torch.Tensor | None]:
        """:meth:`step` and the pass-through gate (None when off). With the no-harm options off, the
        operations and their order are those of the paper's network, so old weights give the same bits.

        A frame under :data:`~weatherclean.models.padding.MIN_SIDE` px a side is padded to it by repeating its
        edges, and every output cropped back: a flat grey 16×16 picture came back 9 levels darker."""
        h, w = frame.shape[-2:]
        if min(h, w) < MIN_SIDE:
            pad = (0, padded_side(w) - w, 0, padded_side(h) - h)
            out, state, gate = self._step(F.pad(frame, pad, mode="replicate"), state)
            crop = J4ROutput(*(t[..., :h, :w] for t in out))
            return crop, state, None if gate is None else gate[..., :h, :w]
        cfg = self.config
        folded, size = self._fold(frame)
        h_prev = self._zero_state(frame) if state is None else state
        f = self.extract(folded)
        fd = self.dnet(torch.cat([f, h_prev.to(f.dtype)], dim=1))
        logits_low = self.dnet_head(fd)
        logits = self._unfold(logits_low, size, frame)
        h = self.fnet(f, h_prev, fd)
        r_low = self.rnet_head(self.rnet(f))
        detail = _detail(r_low, cfg.streak_window) if cfg.streak_mode == "detail" or cfg.pass_through > 0 else None
        streak = self._unfold(detail if cfg.streak_mode == "detail" else r_low, size, frame)
        removed = frame - streak
        filled = removed + self._unfold(self.cnet_head(self.cnet(torch.cat([f, h.to(f.dtype)], dim=1))), size, frame)
        if cfg.clamp_fill:
            filled = filled.clamp(0.0, 1.0)
        alpha = self.occlusion(logits)
        joint = (1 - alpha) * removed + alpha * filled
        joint_folded, _ = self._fold(joint)
        jrc_in = torch.cat([joint_folded.to(f.dtype), h.to(f.dtype)], dim=1)
        residual = self._unfold(self.jrc_head(self.jrc(jrc_in)), size, frame)
        if cfg.veil_cell > 0 and not self.training:  # inference only, like the gate
            residual = smooth_veil(residual, cfg.veil_cell)
        background = joint + residual
        gate = None
        if cfg.pass_through > 0:
            assert detail is not None
            gate = self._gate(detail, logits_low, size, frame, frame - background)
            # Inference only. In training the loss must see the network behind the gate: a closed gate
            # passes no gradient, and it is closed everywhere at initialisation, before there is any
            # evidence; a straight-through gradient instead pushes the hidden output without limit.
            if not self.training:
                background = frame + gate * (background - frame)
        return J4ROutput(background, streak, logits, filled), h, gate

    def streak_target(self, streak: torch.Tensor) -> torch.Tensor:
        """What the streak output should be for a synthetic streak map S (…×3×H×W), for the removal loss.

        ``"paper"``: S itself. ``"detail"``: S's detail, computed exactly as the model computes its own
        (the same cells and window), so l_removal asks R-Net only for what it can represent: the smooth
        part of S (the veil) is left to JRC-Net and the joint loss instead of being an unreachable
        target that biases R-Net.
        """
        if self.config.streak_mode == "paper":
            return streak
        flat = streak.reshape(-1, *streak.shape[-3:])
        folded, size = self._fold(flat)
        return self._unfold(_detail(folded, self.config.streak_window), size, flat).reshape(streak.shape)

    def _gate(
        self,
        detail: torch.Tensor,
        logits_low: torch.Tensor,
        size: tuple[int, int],
        like: torch.Tensor,
        darkening: torch.Tensor,
    ) -> torch.Tensor:
        """The pass-through gate at full resolution, computed at 1/stride resolution (cheap at 720p).

        Evidence per cell is the larger of the brightest streak detail over its colours and sub-pixel
        phases, and 2·α̂ − 1 for its most occluded phase (occlusion counts from α̂ > 0.5 on: softmax
        never gives exactly 0, and trained models leave α̂ ≈ 0.02 everywhere). It is dilated by
        ``gate_radius`` so a streak's halo, where JRC-Net repairs, stays inside, mapped 0 → 1 over
        [t, 2t] like DesnowNet's gate, and upsampled bilinearly so the gate has no blocky edges.

        With ``veil_threshold`` v > 0, the gate is also at least the network's mean ``darkening`` (input −
        output, over colours and the same reach) mapped 0 → 1 over [v, 2v]: the veil of heavy rain.
        """
        cfg = self.config
        s = cfg.stride
        n, _, hh, ww = logits_low.shape
        streak_evidence = detail.float().amax(dim=1, keepdim=True)
        occluded = torch.softmax(logits_low.float().view(n, 2, s * s, hh, ww), dim=1)[:, 1]
        occlusion_evidence = (2.0 * occluded.amax(dim=1, keepdim=True) - 1.0).clamp(min=0.0)
        evidence = torch.maximum(streak_evidence, occlusion_evidence)
        reach = math.ceil(cfg.gate_radius / s)
        if reach > 0:
            evidence = F.max_pool2d(evidence, 2 * reach + 1, stride=1, padding=reach)
        t = cfg.pass_through
        gate = ((evidence - t) / t).clamp(0.0, 1.0)
        if cfg.veil_threshold > 0:
            v = cfg.veil_threshold
            dark = F.avg_pool2d(darkening.float().mean(dim=1, keepdim=True), s, s, ceil_mode=True)
            if reach > 0:
                dark = F.avg_pool2d(dark, 2 * reach + 1, stride=1, padding=reach, count_include_pad=False)
            gate = torch.maximum(gate, ((dark - v) / v).clamp(0.0, 1.0))
        if s > 1:
            gate = F.interpolate(gate, scale_factor=s, mode="bilinear", align_corners=False)
        return gate[..., : size[0], : size[1]].to(like.dtype)

    def forward(self, clip: torch.Tensor, state: torch.Tensor | None = None) -> tuple[J4ROutput, torch.Tensor]:
        """A clip N×T×3×H×W (or a frame N×3×H×W, as T = 1) → outputs stacked to N×T×C×H×W, and H_T."""
        if clip.dim() == 4:
            clip = clip.unsqueeze(1)
        outs: list[J4ROutput] = []
        h = state
        for t in range(clip.shape[1]):
            out, h = self.step(clip[:, t], h)
            outs.append(out)
        stacked = J4ROutput(*(torch.stack(parts, dim=1) for parts in zip(*outs, strict=True)))
        assert h is not None
        return stacked, h

    @torch.no_grad()
    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """Derain one photo (N×3×H×W) with no memory (H = 0): the single-frame path, clamped to [0, 1]."""
        out, _ = self.step(x)
        return out.background.clamp(0, 1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _detail(r: torch.Tensor, window: int) -> torch.Tensor:
    """The positive part of ``r`` minus its local mean over ``window`` × ``window`` cells, per channel.

    A constant or slowly varying output (an offset) gives exactly 0; a thin bright streak keeps nearly
    all of its height. At 1/stride resolution each channel is one colour at one sub-pixel phase, so an
    offset that differs between phases (a grid) is removed too. Borders average only real cells.
    """
    mean = F.avg_pool2d(r, window, stride=1, padding=window // 2, count_include_pad=False)
    return F.relu(r - mean)


def bytes_per_pixel(config: J4RNetConfig) -> float:
    """Memory one recurrent step needs per pixel, for the tile choice (twice what was measured).

    Peak resident memory of ``j4rnet-light`` on a CPU grew by 230–305 bytes per pixel of a 512² or
    1024² frame, in fp32 and bf16 (channels-last); the light model works at stride 4, so wider or
    stride-1 configurations scale it by their channels × stride².
    """
    c = config
    copies = 2 if c.self_ensemble else 1  # the frame and its turn, as one batch
    return copies * 600.0 * max(c.channels, c.hidden) / 48 * 16 / c.stride**2


def macs_per_pixel(model: J4RNet, size: int = 64) -> float:
    """Multiply-adds per input pixel of one recurrent step, counted from the convolutions actually run, in
    eval mode: as inference runs it (``self_ensemble`` doubles it, and acts only there)."""
    training = model.training
    model.eval()
    try:
        return count_macs(model, model.step, size)
    finally:
        model.train(training)


def _loss(**options: object) -> object:
    """J4R-Net's paper loss (``lambda_colour`` adds our brightness-and-colour term)."""
    from weatherclean.training.losses import DerainLoss

    return loss_from_options(DerainLoss, options)


_LISTING = BUILTIN_FAMILIES["j4rnet"]

FAMILY = register_family(
    ModelFamily(
        model_type="j4rnet",
        task=_LISTING.task,
        title="J4R-Net",
        paper="Liu et al., *Erase or Fill? Deep Joint Recurrent Rain Removal and Reconstruction in Videos*, CVPR 2018",
        inputs="videos and photos",
        example_input="clip.mp4",
        config_class=J4RNetConfig,
        model_class=J4RNet,
        loss=_loss,
        macs_per_pixel=macs_per_pixel,
        tags=TAGS,
        configurations=_LISTING.configurations,
        default_model=_LISTING.default_model,
    )
)  # fmt: skip
