"""model.pt: atomic save, weights_only load, EMA preference, clear errors."""

from __future__ import annotations

import pytest
import torch

from realsr_cli.archs import build_arch
from realsr_cli.errors import InputError
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.loading import load_model

ARGS = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_block": 1}


def test_save_load_roundtrip_format(tmp_path):
    model = build_arch("msrresnet", scale=2, **ARGS)
    path = save_model(tmp_path / "model.pt", model, arch="msrresnet", arch_args=ARGS, scale=2, meta={"iter": 7})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "realsr-model" and raw["format_version"] == 1
    assert raw["arch"] == "msrresnet" and raw["scale"] == 2 and raw["arch_args"] == ARGS and raw["meta"] == {"iter": 7}
    assert "params_ema" not in raw
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind
    loaded, info = load_model(path)
    assert not loaded.training
    assert (info.arch, info.scale, info.arch_args, info.meta) == ("msrresnet", 2, ARGS, {"iter": 7})
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))


def test_ema_preferred(tmp_path):
    model = build_arch("msrresnet", scale=2, **ARGS)
    ema = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    save_model(tmp_path / "m.pt", model, arch="msrresnet", arch_args=ARGS, scale=2, ema_state=ema)
    loaded, _ = load_model(tmp_path / "m.pt")
    assert all(float(p.detach().abs().sum()) == 0 for p in loaded.parameters())
    raw_params, _ = load_model(tmp_path / "m.pt", prefer_ema=False)
    torch.testing.assert_close(raw_params.conv_first.weight, model.conv_first.weight)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.pt: model file not found"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="junk.pt: not a readable"):
        load_model(tmp_path / "junk.pt")
    torch.save({"a.weight": torch.zeros(2)}, tmp_path / "odd.pth")
    with pytest.raises(InputError, match="unknown architecture"):
        load_model(tmp_path / "odd.pth")
    model = build_arch("msrresnet", scale=2, **ARGS)
    torch.save(model.state_dict(), tmp_path / "plain.pth")
    with pytest.raises(InputError, match="do not fit"):
        load_model(tmp_path / "plain.pth", arch="msrresnet", arch_args={**ARGS, "num_feat": 16}, scale=2)


def test_kair_msrresnet_keys(tmp_path):
    model = build_arch("msrresnet", scale=4, **ARGS)
    kair = {}
    for k, v in model.state_dict().items():
        kair[k.replace("body.", "recon_trunk.").replace("conv_hr.", "HRconv.")] = v
    assert "recon_trunk.0.conv1.weight" in kair and "HRconv.weight" in kair
    torch.save(kair, tmp_path / "MSRResNetx4.pth")
    loaded, info = load_model(tmp_path / "MSRResNetx4.pth")
    assert info.arch == "msrresnet" and info.scale == 4 and info.arch_args == ARGS
    torch.testing.assert_close(loaded.conv_hr.weight, model.conv_hr.weight)


def test_safetensors(tmp_path):
    from safetensors.torch import save_file

    model = build_arch("srvggnet-compact", scale=2, num_feat=8, num_conv=2)
    save_file(model.state_dict(), str(tmp_path / "m.safetensors"))
    loaded, info = load_model(tmp_path / "m.safetensors")
    assert info.arch == "srvggnet-compact" and info.scale == 2


@pytest.mark.parametrize(
    ("arch", "kwargs", "scale"),
    [
        ("rfdn", {"nf": 8, "num_modules": 2}, 3),
        ("pan", {"nf": 8, "unf": 6, "nb": 2}, 4),
        ("imdn", {"nf": 8, "num_modules": 2}, 2),
    ],
)
def test_official_aim2020_state_dicts_detected(tmp_path, arch, kwargs, scale):
    model = build_arch(arch, scale=scale, **kwargs).eval()
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / "official.pth")  # DataParallel
    loaded, info = load_model(tmp_path / "official.pth")
    assert info.arch == arch and info.scale == scale
    assert all(info.arch_args[k] == v for k, v in kwargs.items())
    x = torch.rand(1, 3, 20, 18)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_explicit_scale_and_wrapped_state(tmp_path):
    model = build_arch("rrdbnet", scale=4, num_block=1, num_feat=8, num_grow_ch=4)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "w.pth")
    loaded, info = load_model(tmp_path / "w.pth", arch="rrdbnet", scale=4)
    assert info.scale == 4 and "scale" not in info.arch_args and info.arch_args["num_block"] == 1
