"""Model files: this tool's model.pt, ESRGAN old-format, BasicSR params_ema, safetensors, spandrel, default."""

from __future__ import annotations

import re

import pytest
import torch

from realsr_cli.archs import build_arch
from realsr_cli.errors import InputError, WeightsNotFoundError
from realsr_cli.io.images import write_image
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.loading import DEFAULT_ENV, default_model_path, load_sr_model
from tests.conftest import synthetic_image

TINY_RRDB = {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}


def _tiny_rrdb(scale: int = 4) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_arch("rrdbnet", scale=scale, **TINY_RRDB).eval()


def _to_old_esrgan_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """BasicSR RRDBNet keys -> original ESRGAN (xinntao/ESRGAN RRDB_ESRGAN_x4.pth) keys, written from that layout."""
    num_block = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    top = {
        "conv_first": "model.0",
        "conv_up1": "model.3",
        "conv_up2": "model.6",
        "conv_hr": "model.8",
        "conv_last": "model.10",
        "conv_body": f"model.1.sub.{num_block}",
    }
    out = {}
    for key, value in state.items():
        m = re.match(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(weight|bias)", key)
        if m:
            out[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{m[4]}"] = value
        else:
            prefix, leaf = key.rsplit(".", 1)
            out[f"{top[prefix]}.{leaf}"] = value
    return out


def _same_output(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        return bool(torch.allclose(a(x), b(x), atol=1e-6))


def test_own_model_pt_loads(tmp_path):
    model = build_arch("srvggnet-compact", scale=2, num_feat=8, num_conv=2).eval()
    save_model(tmp_path / "model.pt", model, arch="srvggnet-compact", arch_args={"num_feat": 8, "num_conv": 2}, scale=2)
    loaded = load_sr_model(tmp_path / "model.pt")
    assert (loaded.arch, loaded.scale, loaded.in_channels) == ("srvggnet-compact", 2, 3)
    assert _same_output(model, loaded.module)
    assert load_sr_model(tmp_path).scale == 2  # a run folder holding model.pt


def test_esrgan_old_format_and_basicsr_params_ema_load(tmp_path):
    model = _tiny_rrdb(4)
    torch.save(_to_old_esrgan_keys(model.state_dict()), tmp_path / "RRDB_ESRGAN_x4.pth")
    old = load_sr_model(tmp_path / "RRDB_ESRGAN_x4.pth")
    assert (old.arch, old.scale) == ("rrdbnet", 4) and _same_output(model, old.module)
    torch.save({"params_ema": model.state_dict()}, tmp_path / "net_g.pth")
    assert _same_output(model, load_sr_model(tmp_path / "net_g.pth").module)


def test_real_esrgan_compact_params_load(tmp_path):
    torch.manual_seed(1)
    net = build_arch("srvggnet-compact", scale=4, num_feat=8, num_conv=3).eval()
    torch.save({"params": net.state_dict()}, tmp_path / "realesr-general-x4v3.pth")
    loaded = load_sr_model(tmp_path / "realesr-general-x4v3.pth")
    assert (loaded.arch, loaded.scale) == ("srvggnet-compact", 4) and _same_output(net, loaded.module)


def test_safetensors_load(tmp_path):
    from safetensors.torch import save_file

    model = _tiny_rrdb(2)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "x2.safetensors"))
    loaded = load_sr_model(tmp_path / "x2.safetensors")
    assert loaded.scale == 2 and _same_output(model, loaded.module)


def test_other_architectures_go_through_spandrel(tmp_path):
    from spandrel.architectures.SPAN import SPAN

    net = SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2).eval()
    torch.save({"params": net.state_dict()}, tmp_path / "span.pth")
    loaded = load_sr_model(tmp_path / "span.pth")
    assert loaded.arch == "spandrel:SPAN" and loaded.scale == 2
    x = torch.rand(2, 3, 8, 8)
    with torch.inference_mode():
        assert loaded.module(x).shape == (2, 3, 16, 16)


def test_bad_model_files_give_clear_errors(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth: not a readable model file"):
        load_sr_model(tmp_path / "junk.pth")
    torch.save({"mystery.weight": torch.zeros(2, 2)}, tmp_path / "odd.pth")
    with pytest.raises(InputError, match="odd.pth: unknown model architecture"):
        load_sr_model(tmp_path / "odd.pth")
    with pytest.raises(InputError, match="not found"):
        load_sr_model(tmp_path / "missing.pth")


def test_default_model_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    import realsr_cli.models.specs as specs

    monkeypatch.setattr(specs, "DEFAULT_DIR", tmp_path / "default")
    with pytest.raises(WeightsNotFoundError, match=r"default_x4\.pt"):
        default_model_path(4)
    model = _tiny_rrdb(4)
    save_model(tmp_path / "mine.pt", model, arch="rrdbnet", arch_args=TINY_RRDB, scale=4)
    monkeypatch.setenv(DEFAULT_ENV, str(tmp_path / "mine.pt"))
    loaded = load_sr_model("default")
    assert loaded.name == "default" and loaded.scale == 4


def test_cli_upscale_end_to_end(tmp_path, cli, monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    model = build_arch("srvggnet-compact", scale=2, num_feat=8, num_conv=2).eval()
    save_model(tmp_path / "m.pt", model, arch="srvggnet-compact", arch_args={"num_feat": 8, "num_conv": 2}, scale=2)
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "a.png", synthetic_image(16, 24))
    write_image(src / "b.png", synthetic_image(16, 24, seed=1))
    (src / "c.png").write_bytes(b"corrupt")
    result = cli(
        "upscale",
        src,
        tmp_path / "out",
        "--model",
        tmp_path / "m.pt",
        "-s",
        "2",
        "--tta",
        "--tile",
        "8",
        "--json",
        tmp_path / "r.json",
    )
    assert result.exit_code == 1  # the corrupt file fails, the others are written
    assert "c.png" in result.output and "1 of 3" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    bad = cli("upscale", src / "a.png", tmp_path / "x.png", "--model", tmp_path / "m.pt", "-s", "4")
    assert bad.exit_code == 1 and "x2, not x4" in bad.output
    monkeypatch.setattr("realsr_cli.models.specs.DEFAULT_DIR", tmp_path / "nowhere")
    missing = cli("upscale", src / "a.png", tmp_path / "y.png")
    assert missing.exit_code == 1 and "default_x4.pt" in missing.output
