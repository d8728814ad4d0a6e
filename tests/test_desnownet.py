"""DesnowNet architecture, the recovery formula and save/load."""

from __future__ import annotations

import json

import pytest
import torch

from weatherclean.errors import ModelError
from weatherclean.models import DesnowNet, DesnowNetConfig, create_model, list_models, load_model
from weatherclean.models.desnownet import PyramidMaxout, PyramidSum, recover
from weatherclean.models.registry import load_from_folder


@pytest.mark.slow
@pytest.mark.parametrize("name", [s.name for s in list_models("snow")])
def test_every_registered_config_runs_on_odd_sizes(name: str) -> None:
    """13×19: odd, and no multiple of any stride, as 37×53 was; desnownet-paper (136 M weights) took 10 s on it on
    one CPU thread, 4 s on this."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(1, 3, 13, 19)
    with torch.inference_mode():
        out = model(x)
    assert out.y_hat.shape == (1, 3, 13, 19)
    assert out.y_prime.shape == (1, 3, 13, 19)
    assert out.z_hat.shape == (1, 1, 13, 19)
    assert out.a_hat.shape == (1, 3, 13, 19)
    assert out.z_hat.min() >= 0 and out.z_hat.max() <= 1
    assert torch.isfinite(out.y_hat).all()


@pytest.mark.parametrize(
    ("name", "parameters", "macs"),
    [("desnownet-light", 758_676, 71_294), ("desnownet-deep", 955_580, 88_262), ("desnownet-base", 2_989_812, 229_416)],
)
def test_capacity_configurations_are_the_ones_measured(name: str, parameters: int, macs: int) -> None:
    """The configurations registered by issue 12's capacity test (docs/models.md, "Capacity (snow)") are the
    sizes it trained and timed: a change to a registered width would silently detach the docs' numbers.
    (Their multiply-adds were 64,739, 80,567 and 218,301 until the residual head ran on folded features,
    which counts zero taps of its rearranged kernel: 6,555 more per pixel for light's 16 head channels,
    7,695 for deep's 20 and 11,115 for base's 32.)"""
    from weatherclean.models.desnownet import macs_per_pixel

    model = create_model(name)
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert round(macs_per_pixel(model)) == macs


def test_recovery_formula_matches_hand_computed_values() -> None:
    x = torch.tensor([0.9, 0.5, 0.7, 0.3]).view(1, 1, 2, 2)
    z = torch.tensor([0.5, 0.0, 1.0, 0.25]).view(1, 1, 2, 2)
    a = torch.tensor([1.0, 0.8, 0.9, 0.2]).view(1, 1, 2, 2)
    y = recover(x, z, a).flatten().tolist()
    # (0.9 − 1·0.5)/0.5 = 0.8; z = 0 → x; z = 1 → x (the paper's else branch); (0.3 − 0.05)/0.75
    assert y == pytest.approx([0.8, 0.5, 0.7, 0.25 / 0.75], abs=1e-6)


def test_recovery_inverts_the_snow_model() -> None:
    torch.manual_seed(1)
    clean = torch.rand(2, 3, 8, 8)
    z = torch.rand(2, 1, 8, 8) * 0.9
    a = 0.8 + 0.2 * torch.rand(2, 3, 8, 8)
    snowy = a * z + clean * (1 - z)
    assert torch.allclose(recover(snowy, z, a), clean, atol=1e-5)


def test_heads_are_the_paper_pyramids() -> None:
    torch.manual_seed(2)
    f = torch.rand(2, 5, 11, 13)
    maxout = PyramidMaxout(5, 3, 4)
    expected = maxout.act(torch.stack([c(f) for c in maxout.convs]).amax(0))
    assert torch.allclose(maxout(f), expected, atol=1e-5)
    assert [c.kernel_size[0] for c in maxout.convs] == [1, 3, 5, 7]
    pyramid_sum = PyramidSum(5, 3, 4)
    assert torch.allclose(pyramid_sum(f), sum(c(f) for c in pyramid_sum.convs), atol=1e-5)


def test_save_load_round_trip_is_exact(tmp_path) -> None:
    torch.manual_seed(3)
    model = create_model("desnownet-light").eval()
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model_type"] == "desnownet" and config["descriptor_stride"] == 4
    loaded = load_model(str(tmp_path / "m"))
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k1 == k2 and torch.equal(v1, v2)
    x = torch.rand(1, 3, 40, 44)
    assert torch.equal(model.restore(x), loaded.restore(x))


def test_mismatched_checkpoint_is_an_error(tmp_path) -> None:
    create_model("desnownet-light").save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["head_channels"] = 8
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="does not match"):
        load_from_folder(tmp_path / "m")
    config["head_channels"] = 16
    config["setting_from_the_future"] = 1  # a newer release's setting
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="setting_from_the_future.*newer weatherclean: pip install -U"):
        load_from_folder(tmp_path / "m")


def test_unknown_model_names_give_clear_errors(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model("no-such-model")
    with pytest.raises(ModelError, match="not a model folder"):
        load_model(str(tmp_path))


def test_weights_that_are_not_whole_are_one_line_errors(tmp_path) -> None:
    """A Hub repo cloned without git-lfs holds pointer files; a copy cut short holds part of the weights.
    Every command touching such a folder died with a safetensors traceback ("header too large")."""
    import shutil

    from weatherclean.models.registry import bundled_weights_dir

    bundled = bundled_weights_dir("desnownet-light")
    assert bundled is not None
    data = (bundled / "model.safetensors").read_bytes()
    cases = {
        "lfs": (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 3\n", "git lfs pull"),
        "head": (data[:1000], "not a whole safetensors file"),
        "tail": (data[:-5000], "damaged or truncated weights"),
        "text": (b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!", "header is not JSON"),
    }
    for name, (content, message) in cases.items():
        folder = shutil.copytree(bundled, tmp_path / name)
        (folder / "model.safetensors").write_bytes(content)
        with pytest.raises(ModelError, match=message) as caught:
            load_model(str(folder))
        assert "\n" not in str(caught.value) and "model.safetensors" in str(caught.value), name


@pytest.mark.parametrize("name", ["desnownet-light", "j4rnet-light"])
def test_saved_weights_are_as_readable_as_the_rest_of_the_folder(tmp_path, name: str) -> None:
    """safetensors 0.8 writes 0600: teammates who could read config.json could not load the model."""
    import os

    from weatherclean.models import create_model

    umask = os.umask(0o027)  # not the usual 022: the weights must follow the user's umask, not a constant
    try:
        create_model(name).save_pretrained(tmp_path / "m")
    finally:
        os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "m").iterdir()}
    assert modes["model.safetensors"] == modes["config.json"] == 0o640, modes


def test_strided_config_pads_and_crops() -> None:
    model = DesnowNet(
        DesnowNetConfig(width=0.05, blocks=(0, 0, 0), descriptor_stride=8, head_channels=4, pyramid_channels=4)
    ).eval()
    out = model.restore(torch.rand(1, 3, 5, 9))  # smaller than the stride in one direction
    assert out.shape == (1, 3, 5, 9)


# --------------------------------------------------------------------------------------------------
# No harm (issue 12): the pass-through gate
# --------------------------------------------------------------------------------------------------


def test_snow_gate_opens_only_near_detected_snow() -> None:
    from weatherclean.models.desnownet import snow_gate

    z = torch.zeros(1, 1, 32, 32)
    z[0, 0, 10, 10] = 0.3  # one flake
    z[0, 0, 25, 25] = 0.01  # a faint hint below the threshold: no flake
    gate = snow_gate(z, threshold=0.02, radius=3)
    assert gate[0, 0, 10, 10] == 1 and gate[0, 0, 13, 13] == 1  # the flake and its halo
    assert gate[0, 0, 10, 14] == 0 and gate[0, 0, 25, 25] == 0  # beyond the radius; below the threshold
    ramp = snow_gate(torch.full((1, 1, 4, 4), 0.03), threshold=0.02, radius=0)
    assert torch.allclose(ramp, torch.full_like(ramp, 0.5))  # halfway between 0.02 and 0.04


def _gated(pass_through: float, stride: int = 4) -> DesnowNet:
    torch.manual_seed(0)
    cfg = DesnowNetConfig(
        width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, descriptor_stride=stride,
        head_channels=8, pass_through=pass_through,
    )  # fmt: skip
    model = DesnowNet(cfg).eval()
    for conv in model.residual_head.convs:  # a residual stage that would change every pixel
        torch.nn.init.normal_(conv.weight, std=0.05)
    return model


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
def test_pass_through_returns_pixels_without_snow_unchanged(autocast: bool) -> None:
    # An odd size, so stride 4 pads the picture; snow "found" in one spot near the padded corner only.
    torch.manual_seed(1)
    x = torch.rand(1, 3, 37, 53)
    x[..., 30:, 46:] = 1.0  # a bright corner: the mask head below fires only on it
    gated, open_ = _gated(0.02), _gated(0.0)
    with torch.no_grad():
        for model in (gated, open_):
            for conv in model.mask_head.convs:
                conv.weight.zero_()
                conv.bias.fill_(-5.0)
        # Find snow where the input's three channels sum to more than 2.97 (the last three features of
        # the heads are the input itself): the 1x1 level of the mask head, set by hand.
        gated.mask_head.convs[0].weight[0, -3:] = 100.0
        gated.mask_head.convs[0].bias.fill_(-297.0)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out = gated(x)
        plain = open_.restore(x)
    from weatherclean.models.desnownet import snow_gate

    closed = snow_gate(out.z_hat, 0.02, gated.config.gate_radius) == 0
    assert closed.sum() > 0.8 * closed.numel() and (~closed).sum() > 0  # snow found in the corner only
    assert torch.equal(out.y_hat[closed.expand_as(x)], x[closed.expand_as(x)])  # the rest: bit for bit
    assert not torch.equal(plain, x)  # without the gate the residual changes it


def test_pass_through_is_saved_and_old_configs_load_without_it(tmp_path) -> None:
    model = _gated(0.03)
    model.save_pretrained(tmp_path / "gated")
    assert json.loads((tmp_path / "gated" / "config.json").read_text())["pass_through"] == 0.03
    assert load_from_folder(tmp_path / "gated").config.pass_through == 0.03
    old = _gated(0.0)
    old.save_pretrained(tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["pass_through"], config["gate_radius"]  # as written before issue 12
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    assert load_from_folder(tmp_path / "old").config.pass_through == 0.0
    with pytest.raises(ValueError, match="pass_through"):
        DesnowNetConfig(pass_through=0.7)


# --------------------------------------------------------------------------------------------------
# Context (snow round 18): what the whole picture looks like, for the heads
# --------------------------------------------------------------------------------------------------


def test_a_model_grown_with_context_starts_as_the_model_it_grew_from(tmp_path) -> None:
    """The excitation starts at zero, so the source's weights in a context model give the source's output; the
    setting is saved, and configs written before it load without it."""
    plain = _gated(0.0)
    torch.manual_seed(5)
    grown = DesnowNet(DesnowNetConfig(**{**plain.config.to_dict(), "context": True})).eval()
    missing, unexpected = grown.load_state_dict(plain.state_dict(), strict=False)
    assert missing and all(".context." in k for k in missing) and not unexpected
    x = torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        assert torch.equal(grown(x).y_hat, plain(x).y_hat)
    grown.save_pretrained(tmp_path / "grown")
    assert json.loads((tmp_path / "grown" / "config.json").read_text())["context"] is True
    assert load_from_folder(tmp_path / "grown").tr_descriptor.context is not None
    assert plain.tr_descriptor.context is None and plain.rg_descriptor.context is None
    plain.save_pretrained(tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["context"]  # as written before snow round 18
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    assert load_from_folder(tmp_path / "old").tr_descriptor.context is None
    with pytest.raises(ValueError, match="context must be true or false"):
        DesnowNetConfig(context="False")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # runs, and in the features' layout
        torch.nn.init.normal_(grown.tr_descriptor.context.excite.weight, std=0.01)
        f = torch.rand(1, 128, 8, 8).to(memory_format=torch.channels_last).bfloat16()  # 8 channels × 4²
        g = grown.tr_descriptor.context(f)
        assert g.dtype == torch.bfloat16 and g.is_contiguous(memory_format=torch.channels_last)


def test_context_learns_what_only_the_whole_picture_shows() -> None:
    """Features to be doubled in "heavy" pictures (mean 0.6) and kept in "light" ones (mean 0.4): per point
    the two overlap, so only the picture's mean tells them apart. The context module learns it."""
    from weatherclean.models.desnownet import Context

    torch.manual_seed(0)
    context = Context(4, hidden=8)
    optimiser = torch.optim.Adam(context.parameters(), lr=1e-2)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        heavy = (torch.rand(16, 1, 1, 1) < 0.5).float()
        f = (0.4 + 0.2 * heavy) + 0.3 * torch.randn(16, 4, 12, 12)
        return f, f * (1.0 + heavy)

    f, target = batch()
    before = torch.nn.functional.mse_loss(context(f), target).item()
    for _ in range(300):
        f, target = batch()
        loss = torch.nn.functional.mse_loss(context(f), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    f, target = batch()
    with torch.no_grad():
        after = torch.nn.functional.mse_loss(context(f), target).item()
    assert after < 0.1 * before, (before, after)


# --------------------------------------------------------------------------------------------------
# The veil stage (snow round 6): a regression of heavy snow's veil, fitted, not bundled
# --------------------------------------------------------------------------------------------------


def _veiled(**changes: object) -> DesnowNet:
    settings = {"width": 0.05, "blocks": (0, 0, 0), "descriptor_stride": 2, "head_channels": 4,
                "pyramid_channels": 4, "veil": True, **changes}  # fmt: skip
    return DesnowNet(DesnowNetConfig(**settings)).eval()


def test_veil_stage_takes_off_exactly_the_veil_it_finds() -> None:
    """x = a·z_v + x_p·(1 − z_v) comes back as x_p; an unfitted stage (zero coefficients) changes nothing."""
    from weatherclean.models.desnownet import veil_gate

    model = _veiled()
    x = torch.rand(1, 3, 40, 48)
    assert torch.equal(model.remove_veil(x), x)
    with torch.no_grad():
        model.veil_stage.coef[0] = 0.2  # a uniform veil of 0.2, whatever the picture
        model.veil_stage.colour.fill_(0.9)
    x_p = torch.rand(1, 3, 40, 48) * 0.8
    veiled = 0.9 * 0.2 + x_p * 0.8
    torch.testing.assert_close(model.remove_veil(veiled), x_p, atol=1e-5, rtol=0)
    # Where the flakes' gate stays shut (no flakes found), the picture comes back with only its veil taken off.
    gated = _veiled(pass_through=0.3)
    gated.load_state_dict(model.state_dict())
    with torch.no_grad():  # a mask head that finds no flakes anywhere
        for conv in gated.mask_head.convs:
            conv.weight.zero_()
            conv.bias.fill_(-1.0)
    torch.testing.assert_close(gated(veiled).y_hat, x_p, atol=1e-5, rtol=0)
    # veil_floor: a veil below it is left alone, bit for bit.
    floored = _veiled(veil_floor=0.3)
    floored.load_state_dict(model.state_dict())
    assert torch.equal(floored.remove_veil(veiled), veiled)
    # Any size works: the model pads to the cell and crops back (the stage itself refuses a cut cell).
    odd = torch.rand(1, 3, 37, 45)
    assert model(odd).y_hat.shape == (1, 3, 37, 45)
    with pytest.raises(ValueError, match="multiples of 8"):
        model.veil_stage(odd)
    z = torch.tensor([0.01, 0.02, 0.03, 0.04, 0.1])
    assert veil_gate(z, 0.02).tolist() == pytest.approx([0.0, 0.0, 0.015, 0.04, 0.1])
    assert torch.equal(veil_gate(z, 0.0), z)


def test_veil_stage_tiles_on_its_cells_and_saves(tmp_path) -> None:
    """Tiles start on multiples of the cell and overlap more; the stage survives save/load; a config
    without it loads as before; bad settings are refused."""
    model, plain = _veiled(), _veiled(veil=False)
    assert model.tile_align == 8 and plain.tile_align == 1
    assert model.receptive_field == plain.receptive_field + model.veil_stage.reach == plain.receptive_field + 272
    with torch.no_grad():
        model.veil_stage.coef.normal_(0, 0.01)
    model.save_pretrained(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["veil"] is True
    loaded = load_from_folder(tmp_path / "m")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    for bad in ({"veil_stride": 6}, {"veil_stride": 0}, {"veil_floor": 0.7}):
        with pytest.raises(ValueError):
            _veiled(**bad)
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    old = {k: v for k, v in saved.items() if not k.startswith("veil")}
    old_model = DesnowNet(DesnowNetConfig(**{**old, "blocks": tuple(old["blocks"])}))
    old_model.save_pretrained(tmp_path / "old2")
    (tmp_path / "old2" / "config.json").write_text(json.dumps(old))  # as written before the veil stage existed
    again = load_from_folder(tmp_path / "old2")
    assert again.veil_stage is None and again.config.veil is False and again.tile_align == 1


@pytest.mark.parametrize(("k", "stride"), [(1, 2), (3, 2), (7, 4), (9, 2), (5, 8)])
def test_a_folded_kernel_is_the_same_convolution(k: int, stride: int) -> None:
    """Unfold(conv(fold(f), folded kernel)) is conv(f, kernel), borders included, kernels wider than the
    stride included (9 at stride 2 reaches two cells)."""
    from weatherclean.models.desnownet import folded_kernel

    torch.manual_seed(k)
    f, weight, bias = torch.rand(2, 5, 8 * stride, 5 * stride), torch.randn(3, 5, k, k), torch.randn(3)
    expected = torch.nn.functional.conv2d(f, weight, bias, padding=k // 2)
    folded = folded_kernel(weight, stride)
    out = torch.nn.functional.conv2d(
        torch.nn.functional.pixel_unshuffle(f, stride), folded, bias.repeat_interleave(stride**2),
        padding=folded.shape[-1] // 2,
    )  # fmt: skip
    torch.testing.assert_close(torch.nn.functional.pixel_shuffle(out, stride), expected, atol=1e-4, rtol=1e-5)


def _unfolded_residual(model: DesnowNet, inp: torch.Tensor) -> torch.Tensor:
    """The RG stage in the paper's order, module by module: unshuffle, backbone, pyramid, the 1×1 conv,
    pixel shuffle and ReLU to full resolution, the input beside them, then every level of the head."""
    d, s = model.rg_descriptor, model.config.descriptor_stride
    f = d.backbone(torch.nn.functional.pixel_unshuffle(inp, s) if s > 1 else inp)
    f = torch.cat([b(f) for b in d.pyramid], dim=1)
    if s > 1:
        f = torch.relu(torch.nn.functional.pixel_shuffle(d.up[0](f), s))
        if model.config.head_skip:
            f = torch.cat([f, inp], dim=1)
    return sum(conv(f) for conv in model.residual_head.convs)


@pytest.mark.parametrize(
    ("stride", "levels", "head_skip", "folds"),
    [(4, 4, True, True), (4, 4, False, True), (2, 5, True, True), (8, 4, True, False), (4, 2, True, False)],
)
def test_the_residual_as_it_runs_is_the_paper_order(stride: int, levels: int, head_skip: bool, folds: bool) -> None:
    """The RG stage as it runs (folded where that pays: a 9×9 kernel at stride 2 reaches two cells; stride
    8, or a 3×3 kernel, stays at full resolution) against the module-by-module order, biases included,
    batch of 2; the gradients too, since training runs the same path."""
    torch.manual_seed(4)
    cfg = DesnowNetConfig(width=0.0625, blocks=(0, 1, 0), dilation_levels=2, pyramid_channels=8, maxout_levels=levels,
                          descriptor_stride=stride, head_channels=8, head_skip=head_skip)  # fmt: skip
    model = DesnowNet(cfg)
    assert model.residual_head.folding_pays(stride) is folds
    for conv in model.residual_head.convs:  # the identity start zeroes the head: give it weights
        torch.nn.init.normal_(conv.weight, std=0.05)
        torch.nn.init.normal_(conv.bias, std=0.1)
    inp = torch.rand(2, 7, 32, 48, requires_grad=True)
    full = _unfolded_residual(model, inp)
    folded = model._residual(inp)
    torch.testing.assert_close(folded, full, atol=1e-5, rtol=0)
    (g_full,) = torch.autograd.grad(full.square().sum(), inp)
    (g_folded,) = torch.autograd.grad(folded.square().sum(), inp)
    torch.testing.assert_close(g_folded, g_full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("grad", [False, True])
def test_fused_heads_are_each_head_on_its_own(grad: bool) -> None:
    """Two heads with their own kernels and PReLU slopes as one convolution: each output is its own head's,
    with and without gradients (the two take different maximum paths); at ties the gradient splits evenly
    between levels, as ``amax`` split it before the fusion."""
    from weatherclean.models.desnownet import fused_maxout

    torch.manual_seed(5)
    f = torch.rand(2, 5, 11, 13, requires_grad=grad)
    first, second = PyramidMaxout(5, 1, 4), PyramidMaxout(5, 3, 4)
    with torch.no_grad():
        first.act.weight.fill_(0.1)
        second.act.weight.copy_(torch.tensor([0.3, 0.6, 0.9]))
    with torch.set_grad_enabled(grad):
        z, a = fused_maxout(f, first, second)
    for head, out in ((first, z), (second, a)):
        expected = head.act(torch.stack([c(f) for c in head.convs]).amax(0))
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    tied = PyramidMaxout(5, 1, 4)
    with torch.no_grad():
        for conv in tied.convs:
            conv.bias.fill_(-0.05)
    fused_maxout(torch.zeros(1, 5, 3, 3), tied)[0].sum().backward()
    assert [c.bias.grad.item() for c in tied.convs] == pytest.approx(
        [9 * 0.25 / 4] * 4
    )  # pixels x PReLU slope / levels


def test_square_max_sends_a_ties_gradient_where_max_pool_did() -> None:
    from weatherclean.models.desnownet import square_max

    x = torch.tensor([[[[0.5, 0.5, 0.2, 0.5]]]], requires_grad=True)
    square_max(x, 3).sum().backward()
    y = x.detach().clone().requires_grad_(True)
    torch.nn.functional.max_pool2d(y, 3, stride=1, padding=1).sum().backward()
    assert torch.equal(x.grad, y.grad)


@pytest.mark.parametrize("k", [1, 3, 7, 65])
def test_square_max_is_the_max_pool_it_replaces(k: int) -> None:
    """The gate's dilation and the veil's dark floors, as two 1-D passes: bit for bit a k × k max-pool."""
    from weatherclean.models.desnownet import square_max

    x = torch.rand(2, 3, 37, 70)
    assert torch.equal(square_max(x, k), torch.nn.functional.max_pool2d(x, k, stride=1, padding=k // 2))
