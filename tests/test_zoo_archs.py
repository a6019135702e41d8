"""Model zoo: parameter counts against published numbers, output shapes, published key layouts."""

from __future__ import annotations

import pytest
import torch

from realsr_cli.archs import arch_spec, build_arch, list_archs
from realsr_cli.errors import InputError


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_lists_sr_and_discriminators():
    sr = list_archs("sr")
    assert {"msrresnet", "rrdbnet", "srvggnet-compact"} <= set(sr)
    assert not set(sr) & set(list_archs("discriminator"))
    assert arch_spec("ESRGAN").name == "rrdbnet"
    with pytest.raises(InputError, match="unknown architecture"):
        build_arch("nope")
    with pytest.raises(InputError, match="x5"):
        build_arch("msrresnet", scale=5)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("msrresnet", {}, 1_517_571),  # AIM 2020 report
        ("rrdbnet", {}, 16_697_987),  # ESRGAN RRDB_ESRGAN_x4.pth (16.7 M)
        # 3*64*9+64 + 64 (PReLU) + 16*(64*64*9+64+64) + 64*48*9+48, realesr-animevideov3 (0.62 M)
        ("srvggnet-compact", {}, 621_424),
    ],
)
def test_param_counts_match_published(name, kwargs, expected):
    with torch.device("meta"):
        model = build_arch(name, scale=4, **kwargs)
    assert n_params(model) == expected


@pytest.mark.parametrize("name", ["msrresnet", "rrdbnet", "srvggnet-compact"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_output_shape(name, scale):
    small = {"rrdbnet": {"num_block": 1, "num_feat": 8, "num_grow_ch": 4}, "msrresnet": {"num_block": 1, "num_feat": 8}}
    model = build_arch(name, scale=scale, **small.get(name, {"num_conv": 1, "num_feat": 8})).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 12, 10))
    assert out.shape == (1, 3, 12 * scale, 10 * scale)


def test_msrresnet_global_skip_is_bilinear():
    model = build_arch("msrresnet", scale=4, num_block=1, num_feat=8).eval()
    with torch.no_grad():
        model.conv_last.weight.zero_()
        model.conv_last.bias.zero_()
        x = torch.rand(1, 3, 6, 7)
        expected = torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
        torch.testing.assert_close(model(x), expected)


def esrgan_old_state_dict(nb: int = 2, nf: int = 8, gc: int = 4) -> dict[str, torch.Tensor]:
    """Key names of the published ESRGAN ``RRDB_ESRGAN_x4.pth`` (written out here, not taken from the code)."""
    g = torch.Generator().manual_seed(0)
    sd: dict[str, torch.Tensor] = {}

    def conv(name: str, cin: int, cout: int) -> None:
        sd[f"{name}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.05
        sd[f"{name}.bias"] = torch.randn(cout, generator=g) * 0.01

    conv("model.0", 3, nf)
    for i in range(nb):
        for r in (1, 2, 3):
            for c in range(1, 6):
                conv(f"model.1.sub.{i}.RDB{r}.conv{c}.0", nf + (c - 1) * gc, gc if c < 5 else nf)
    conv(f"model.1.sub.{nb}", nf, nf)
    conv("model.3", nf, nf)
    conv("model.6", nf, nf)
    conv("model.8", nf, nf)
    conv("model.10", nf, 3)
    return sd


def test_esrgan_old_keys_load_unchanged(tmp_path):
    from realsr_cli.models.loading import load_model

    sd = esrgan_old_state_dict()
    torch.save(sd, tmp_path / "RRDB_ESRGAN_x4.pth")
    model, info = load_model(tmp_path / "RRDB_ESRGAN_x4.pth")
    assert info.arch == "rrdbnet" and info.scale == 4
    assert info.arch_args["num_block"] == 2 and info.arch_args["num_feat"] == 8 and info.arch_args["num_grow_ch"] == 4
    torch.testing.assert_close(model.conv_first.weight, sd["model.0.weight"])
    torch.testing.assert_close(model.body[1].rdb3.conv5.bias, sd["model.1.sub.1.RDB3.conv5.0.bias"])
    torch.testing.assert_close(model.conv_body.weight, sd["model.1.sub.2.weight"])
    torch.testing.assert_close(model.conv_up2.weight, sd["model.6.weight"])
    torch.testing.assert_close(model.conv_last.bias, sd["model.10.bias"])
    assert model(torch.rand(1, 3, 5, 6)).shape == (1, 3, 20, 24)


def test_esrgan_mid_keys_and_basicsr_params_ema(tmp_path):
    from realsr_cli.models.loading import load_model

    old = esrgan_old_state_dict(nb=1)
    mid = {}
    top = {"model.0": "conv_first", "model.1.sub.1": "trunk_conv", "model.3": "upconv1", "model.6": "upconv2"}
    top |= {"model.8": "HRconv", "model.10": "conv_last"}
    for k, v in old.items():
        prefix, _, leaf = k.rpartition(".")
        if prefix in top:
            mid[f"{top[prefix]}.{leaf}"] = v
        else:  # model.1.sub.0.RDB1.conv1.0.weight -> RRDB_trunk.0.RDB1.conv1.weight
            parts = k.split(".")
            mid[f"RRDB_trunk.{parts[3]}.{parts[4]}.{parts[5]}.{parts[7]}"] = v
    torch.save(mid, tmp_path / "mid.pth")
    model_mid, _ = load_model(tmp_path / "mid.pth")
    ref, _ = load_model(_save(tmp_path / "old.pth", old))
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(model_mid(x), ref(x))
    # Real-ESRGAN / BasicSR: {"params_ema": BasicSR keys}; params_ema preferred over params
    basic = ref.state_dict()
    noise = {k: v + 1.0 for k, v in basic.items()}
    torch.save({"params": noise, "params_ema": basic}, tmp_path / "net_g.pth")
    model_b, info = load_model(tmp_path / "net_g.pth")
    with torch.no_grad():
        torch.testing.assert_close(model_b(x), ref(x))
    assert info.meta["foreign"] is True


def test_realesrgan_x2_pixel_unshuffle_layout(tmp_path):
    from realsr_cli.models.loading import load_model

    model = build_arch("rrdbnet", scale=2, num_block=1, num_feat=8, num_grow_ch=4)
    assert model.conv_first.weight.shape[1] == 12  # RealESRGAN_x2plus: 3 * 2 * 2 input channels
    torch.save({"params_ema": model.state_dict()}, tmp_path / "x2.pth")
    loaded, info = load_model(tmp_path / "x2.pth")
    assert info.scale == 2 and info.arch_args["num_in_ch"] == 3


def test_srvgg_keys_detected(tmp_path):
    from realsr_cli.models.loading import load_model

    model = build_arch("srvggnet-compact", scale=4, num_feat=8, num_conv=3)
    torch.save({"params": model.state_dict()}, tmp_path / "realesr.pth")
    loaded, info = load_model(tmp_path / "realesr.pth")
    assert info.arch == "srvggnet-compact" and info.scale == 4 and info.arch_args["num_conv"] == 3


def _save(path, sd):
    torch.save(sd, path)
    return path


def test_rrdbnet_and_compact_match_spandrel():
    """spandrel (chaiNNer's independent loader) runs the same published-format weights: outputs must agree."""
    spandrel = pytest.importorskip("spandrel")
    x = torch.rand(1, 3, 6, 5)
    old = esrgan_old_state_dict(nb=2, nf=16, gc=32)
    ours = build_arch("rrdbnet", scale=4, num_block=2, num_feat=16, num_grow_ch=32).eval()
    ours.load_state_dict(arch_spec("rrdbnet").convert_state(old))
    ref = spandrel.ModelLoader().load_from_state_dict(old).model.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)

    compact = build_arch("srvggnet-compact", scale=4, num_feat=16, num_conv=3).eval()
    with torch.no_grad():
        for p in compact.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    sd = compact.state_dict()
    args, scale = arch_spec("srvggnet-compact").infer_args(sd)
    assert scale == 4 and args["num_conv"] == 3 and args["act_type"] == "prelu"
    ref = spandrel.ModelLoader().load_from_state_dict(sd).model.eval()
    with torch.no_grad():
        torch.testing.assert_close(compact(x), ref(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # 3*256*9+256 + 32*2*(256*256*9+256) + (256*256*9+256) + 2*(256*1024*9+1024) + 256*3*9+3 (EDSR, 43 M)
        ("edsr", 7168 + 64 * 590_080 + 590_080 + 2 * 2_360_320 + 6915),
        ("rcan", 15_592_355),  # RCAN paper: ~16 M (15.59 M without the mean-shift convs)
        ("patchgan", 2_765_633),  # pix2pix prints "Total number of parameters : 2.765 M" for netD basic
        ("unet-sn", 4_376_897),  # Real-ESRGAN net_d (4.38 M)
    ],
)
def test_other_param_counts(name, expected):
    with torch.device("meta"):
        model = build_arch(name)
    assert n_params(model) == expected


def test_discriminator_outputs():
    x = torch.rand(2, 3, 128, 128)
    assert build_arch("vgg128")(x).shape == (2, 1)
    assert build_arch("unet-sn", num_feat=8)(x[:, :, :32, :32]).shape == (2, 1, 32, 32)
    assert build_arch("patchgan", ndf=8)(x[:, :, :64, :64]).shape == (2, 1, 6, 6)  # 70x70 receptive-field patches
    with pytest.raises(ValueError, match="128x128"):
        build_arch("vgg128", num_feat=8)(x[:, :, :64, :64])
    sd = build_arch("unet-sn", num_feat=8).state_dict()
    assert "conv1.weight_orig" in sd and "conv0.weight" in sd  # Real-ESRGAN net_d key layout (spectral norm)


def _to_official_rcan(sd: dict[str, torch.Tensor], n_group: int, n_block: int) -> dict[str, torch.Tensor]:
    """BasicSR RCAN keys -> the official RCAN layout (written out here from yulunzhang/RCAN rcan.py)."""
    import re

    out = {}
    for k, v in sd.items():
        k2 = k.replace("conv_first.", "head.0.").replace("conv_after_body.", f"body.{n_group}.")
        k2 = k2.replace("upsample.", "tail.0.").replace("conv_last.", "tail.1.")
        k2 = re.sub(r"\.rcab\.3\.attention\.(\d)\.", lambda m: f".body.3.conv_du.{int(m[1]) - 1}.", k2)
        k2 = k2.replace(".residual_group.", ".body.").replace(".rcab.", ".body.")
        k2 = re.sub(r"^body\.(\d+)\.conv\.", lambda m: f"body.{m[1]}.body.{n_block}.", k2)
        out[k2] = v
    mean = torch.tensor([0.4488, 0.4371, 0.4040])
    out["sub_mean.weight"] = torch.eye(3).view(3, 3, 1, 1)
    out["sub_mean.bias"] = -255 * mean
    out["add_mean.weight"] = torch.eye(3).view(3, 3, 1, 1)
    out["add_mean.bias"] = 255 * mean
    return out


def test_rcan_official_keys_match_spandrel(tmp_path):
    spandrel = pytest.importorskip("spandrel")
    from realsr_cli.models.loading import load_model

    ours = build_arch("rcan", scale=2, num_feat=16, num_group=2, num_block=2, squeeze_factor=4).eval()
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    official = _to_official_rcan(ours.state_dict(), 2, 2)
    torch.save(official, tmp_path / "RCAN_BIX2.pt")
    loaded, info = load_model(tmp_path / "RCAN_BIX2.pt")
    assert info.arch == "rcan" and info.scale == 2
    assert (info.arch_args["num_group"], info.arch_args["num_block"], info.arch_args["squeeze_factor"]) == (2, 2, 4)
    ref = spandrel.ModelLoader().load_from_state_dict(official).model.eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ours(x))
        torch.testing.assert_close(ours(x), ref(x.clone()), rtol=1e-4, atol=1e-5)


def test_edsr_official_keys(tmp_path):
    from realsr_cli.models.loading import load_model

    ours = build_arch("edsr", scale=4, num_feat=8, num_block=2, res_scale=1.0).eval()
    sd = ours.state_dict()
    official = {}  # EDSR-PyTorch edsr.py layout: head.0, body.i.body.{0,2}, body.N, tail.0.{0,2}, tail.1
    for k, v in sd.items():
        k2 = k.replace("conv_first.", "head.0.").replace("conv_after_body.", "body.2.")
        k2 = k2.replace("upsample.", "tail.0.").replace("conv_last.", "tail.1.")
        official[k2.replace(".conv1.", ".body.0.").replace(".conv2.", ".body.2.")] = v
    torch.save(official, tmp_path / "edsr_baseline_x4.pt")
    loaded, info = load_model(tmp_path / "edsr_baseline_x4.pt")
    assert info.arch == "edsr" and info.scale == 4 and info.arch_args["num_block"] == 2
    assert info.arch_args["res_scale"] == 1.0  # baseline width (not 256) -> res_scale 1 as EDSR-PyTorch
    x = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ours(x))
