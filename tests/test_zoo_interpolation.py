"""Network interpolation (DNI, Wang et al. CVPR 2019) and the srvgg-bicubic variant (issue 14)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from realsr_cli.archs import build_arch
from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image
from realsr_cli.metrics.blockiness import block_boundary_ratio
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.interpolation import interpolate_models, interpolate_state
from realsr_cli.models.loading import load_sr_model

ARGS = {"num_feat": 8, "num_conv": 2}


def _saved(tmp_path, name: str, seed: int, arch: str = "srvgg-bicubic", **args) -> str:
    torch.manual_seed(seed)
    net = build_arch(arch, scale=2, **{**ARGS, **args})
    for p in net.parameters():  # residual init zeroes the last conv: give both ends distinct, non-zero weights
        p.data.normal_(0, 0.05)
    path = tmp_path / name
    save_model(path, net, arch=arch, arch_args={**ARGS, **args}, scale=2)
    return str(path)


def test_untrained_srvgg_bicubic_is_exactly_bicubic_and_compact_stays_nearest():
    x = torch.rand(1, 3, 20, 24)
    smooth = build_arch("srvgg-bicubic", scale=4).eval()
    with torch.no_grad():
        assert torch.equal(smooth(x), F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))
    compact = build_arch("srvggnet-compact", scale=4, num_feat=8, num_conv=2).eval()
    with torch.no_grad():
        for p in compact.parameters():
            p.zero_()
        assert torch.equal(compact(x), F.interpolate(x, scale_factor=4, mode="nearest"))


def test_block_ratio_flags_nearest_upsampling_not_bicubic():
    x = torch.rand(1, 3, 16, 16)
    nearest = block_boundary_ratio(F.interpolate(x, scale_factor=4, mode="nearest"), 4)
    smooth = block_boundary_ratio(F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False), 4)
    assert float(nearest) > 1e6 and 0.3 < float(smooth) < 3.0
    with pytest.raises(ValueError):
        block_boundary_ratio(x, 1)


def test_interpolate_state_is_the_linear_mix():
    a = {"w": torch.tensor([0.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([4.0, 6.0]), "n": torch.tensor(5)}
    out = interpolate_state(a, b, 0.25)
    assert torch.allclose(out["w"], torch.tensor([1.0, 3.0])) and int(out["n"]) == 3
    with pytest.raises(InputError, match="different layers"):
        interpolate_state(a, {"w": b["w"]}, 0.5)
    with pytest.raises(InputError, match="shapes"):
        interpolate_state(a, {"w": torch.zeros(3), "n": b["n"]}, 0.5)


def test_interpolated_model_runs_between_its_ends(tmp_path):
    first = load_sr_model(_saved(tmp_path, "a.pt", 0))
    second = load_sr_model(_saved(tmp_path, "b.pt", 1))
    mid = interpolate_models(first, second, 0.5)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        ya, yb, ym = first.module(x), second.module(x), mid.module(x)
    assert not torch.allclose(ya, yb)
    assert torch.equal(interpolate_models(first, second, 0.0).module(x), ya)
    assert (ym - (ya + yb) / 2).abs().max() > 0  # a mix of weights, not of outputs (the net is nonlinear)
    assert float((ym - ya).abs().mean()) < float((yb - ya).abs().mean())
    other = load_sr_model(_saved(tmp_path, "c.pt", 2, arch="srvggnet-compact"))
    with pytest.raises(InputError, match="architectures"):
        interpolate_models(first, other, 0.5)
    with pytest.raises(InputError, match="between 0 and 1"):
        interpolate_models(first, second, -0.1)


def test_upscale_cli_interpolate_and_denoise_rules(tmp_path, image_folder, cli):
    a, b = _saved(tmp_path, "a.pt", 0), _saved(tmp_path, "b.pt", 1)
    out = tmp_path / "out"
    res = cli(*["upscale", str(image_folder), str(out), "-m", a, "--interpolate", b, "--denoise", "0.3", "-q"])
    assert res.exit_code == 0, res.output
    assert read_image(out / "img0.png").pixels.shape[:2] == (64, 80)
    res = cli(*["upscale", str(image_folder), str(tmp_path / "o2"), "-m", a, "--interpolate", b, "-q"])
    assert res.exit_code != 0 and "--denoise" in res.output
    res = cli(*["upscale", str(image_folder), str(tmp_path / "o3"), "-m", a, "--denoise", "0.5", "-q"])
    assert res.exit_code != 0 and "--interpolate" in res.output


def test_models_interpolate_writes_the_blend_and_refuses_mismatches(tmp_path, cli):
    a, b = _saved(tmp_path, "a.pt", 0), _saved(tmp_path, "b.pt", 1)
    out = tmp_path / "mix.pt"
    res = cli("models", "interpolate", a, b, "--weight", "0.25", "-o", out, "-q")
    assert res.exit_code == 0, res.output
    blend = load_sr_model(str(out)).module.state_dict()
    sa, sb = load_sr_model(a).module.state_dict(), load_sr_model(b).module.state_dict()
    assert all(torch.allclose(blend[k], 0.75 * sa[k] + 0.25 * sb[k], atol=1e-7) for k in blend)
    again = cli("models", "interpolate", a, b, "-o", out, "-q")
    assert again.exit_code != 0 and "exists" in again.output  # never replaced without --overwrite
    other = _saved(tmp_path, "c.pt", 2, num_feat=12)
    bad = cli("models", "interpolate", a, other, "-o", tmp_path / "bad.pt", "-q")
    assert bad.exit_code != 0 and "does not match" in bad.output
