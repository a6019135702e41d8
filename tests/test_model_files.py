"""The one model loader: every registered architecture round-trips through every file form, and every subcommand
that takes a model file reads what ``upscale`` reads (a spandrel-only architecture, SwinIR, included)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from realsr_cli.archs import arch_spec, build_arch, detect_arch, list_archs
from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image, write_image
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.loading import DEFAULT_ENV, default_model_path, load_model, load_sr_model
from realsr_cli.train.export import export_weights
from tests.conftest import synthetic_image

TINY = {  # the smallest sensible arguments of every registered SR architecture (a new one must be added here)
    "msrresnet": {"num_feat": 8, "num_block": 1},
    "rrdbnet": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
    "srvggnet-compact": {"num_feat": 8, "num_conv": 2},
    "srvgg-bicubic": {"num_feat": 8, "num_conv": 2},
    "edsr": {"num_feat": 8, "num_block": 2, "res_scale": 1.0},  # res_scale is not in the weights: 1 below 256 features
    "rcan": {"num_feat": 8, "num_group": 2, "num_block": 2, "squeeze_factor": 4},
    "imdn": {"nf": 8, "num_modules": 2},
    "rfdn": {"nf": 8, "num_modules": 2},
    "pan": {"nf": 8, "unf": 6, "nb": 2},
}
CASES = [(name, scale) for name in list_archs("sr") for scale in arch_spec(name).scales]


def _tiny(name: str, scale: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_arch(name, scale=scale, **TINY[name]).eval()
    with torch.no_grad():  # away from any zero / identity initialisation, so the outputs tell weights apart
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


def _output(module: torch.nn.Module) -> torch.Tensor:
    x = torch.rand(1, 3, 20, 16, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        return module(x)


def test_every_sr_arch_has_tiny_arguments_and_discriminators_are_never_detected():
    assert set(TINY) == set(list_archs("sr"))
    assert not any(arch_spec(name).detect for name in list_archs("discriminator"))


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_round_trip_build_save_detect_load(tmp_path, name, scale):
    model = _tiny(name, scale)
    spec, expected = arch_spec(name), _output(model)
    args = {**spec.defaults, **TINY[name]}
    state = model.state_dict()

    save_model(tmp_path / "model.pt", model, arch=name, arch_args=args, scale=scale)
    export_weights(tmp_path / "model.pt", tmp_path / "exported.safetensors")
    torch.save({"params": {k: v + 1 for k, v in state.items()}, "params_ema": state}, tmp_path / "basicsr.pth")
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "bare.SafeTensors"))
    for file in ("model.pt", "exported.safetensors"):  # files that record their architecture
        loaded = load_sr_model(tmp_path / file)
        assert (loaded.arch, loaded.scale, loaded.arch_args) == (name, scale, args), file
        torch.testing.assert_close(_output(loaded.module), expected)

    detected = detect_arch(state)
    assert arch_spec(detected).target == spec.target
    assert (detected == name) == bool(spec.detect)  # srvgg-bicubic: its bare keys are SRVGGNetCompact's
    for file in ("basicsr.pth", "bare.SafeTensors"):  # bare weights: recognised by the keys, shapes inferred
        loaded = load_sr_model(tmp_path / file, scale=scale)  # the scale, as `upscale -s`: PAN x3 needs it
        assert (loaded.arch, loaded.scale, loaded.meta["foreign"]) == (detected, scale, True), file
        if detected == name:
            torch.testing.assert_close(_output(loaded.module), expected)
            assert loaded.arch_args.items() <= args.items()


def test_a_files_own_scale_wins_over_the_wanted_one(tmp_path):
    torch.save(_tiny("rrdbnet", 2).state_dict(), tmp_path / "x2.pth")
    assert load_sr_model(tmp_path / "x2.pth", scale=4).scale == 2  # the caller says "x2, not x4"


def test_named_arch_that_does_not_fit_is_one_line(tmp_path):
    torch.save(_tiny("rfdn", 2).state_dict(), tmp_path / "rfdn.pth")
    with pytest.raises(InputError, match=r"rfdn\.pth: cannot read the weights as rrdbnet"):
        load_sr_model(tmp_path / "rfdn.pth", arch="rrdbnet")


@pytest.fixture(scope="module")
def swinir(tmp_path_factory):
    """A tiny random SwinIR x2 (an architecture spandrel reads and this tool's registry has not), BasicSR-wrapped."""
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    net = SwinIR(
        upscale=2, img_size=16, window_size=4, depths=[1], embed_dim=12, num_heads=[2], mlp_ratio=2,
        upsampler="pixelshuffledirect",
    ).eval()  # fmt: skip
    path = tmp_path_factory.mktemp("swinir") / "swinir.pth"
    torch.save({"params": net.state_dict()}, path)
    return path, net


def test_spandrel_model_in_upscale_and_export(swinir, tmp_path):
    path, net = swinir
    model = load_sr_model(path)
    assert (model.arch, model.scale) == ("spandrel:SwinIR", 2) and model.network is not model.module
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        torch.testing.assert_close(model.module(x), net(x).clamp(0, 1))
        for fmt, name in (("safetensors", "sw.safetensors"), ("state-dict", "sw.pth")):
            export_weights(path, tmp_path / name, fmt)
            again = load_sr_model(tmp_path / name)
            assert again.arch == "spandrel:SwinIR"
            torch.testing.assert_close(again.module(x), model.module(x))


def test_spandrel_model_in_profile(swinir, cli, tmp_path):
    path, net = swinir
    result = cli("profile", "--model", path, "--input-size", "16", "--runs", "0", "--no-crosscheck", "-q",
                 "--json", tmp_path / "p.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "p.json").read_text())["rows"][0]
    assert (row["arch"], row["scale"], row["name"]) == ("spandrel:SwinIR", 2, "swinir.pth")
    assert row["params"] == sum(p.numel() for p in net.parameters()) and row["macs"] > 0


def _aligned_folders(tmp_path):
    hr_dir, lr_dir = tmp_path / "dslr", tmp_path / "phone"
    for folder, seed in ((hr_dir, 0), (lr_dir, 3)):
        folder.mkdir()
        write_image(folder / "s0.png", synthetic_image(16, 16, seed=seed))
    return hr_dir, lr_dir


def _hr_upscaled(tmp_path, cli, upscaler) -> tuple[np.ndarray, str]:
    """make-pairs --aligned-lr --hr-upscaler UPSCALER -s 2: the written HR image and the recorded upscaler."""
    from realsr_cli.pairs import read_manifest, regenerate_pair

    hr_dir, lr_dir = _aligned_folders(tmp_path)
    out = tmp_path / "pairs"
    result = cli("make-pairs", hr_dir, "-o", out, "-s", "2", "--aligned-lr", lr_dir, "--hr-upscaler", upscaler, "-q")
    assert result.exit_code == 0, result.output
    (record,) = read_manifest(out)
    assert np.array_equal(regenerate_pair(record)[0], read_image(out / record["hr"]).pixels)
    return read_image(out / record["hr"]).pixels, record["mode_options"]["hr_upscaler"]


def _expected_hr(model, tmp_path) -> np.ndarray:
    pixels = read_image(tmp_path / "dslr" / "s0.png").pixels
    x = torch.from_numpy(pixels.transpose(2, 0, 1)[None] / 255.0).float()
    with torch.inference_mode():
        return np.rint(model.module(x).clamp(0, 1)[0].numpy().transpose(1, 2, 0) * 255)


def test_spandrel_model_in_make_pairs(swinir, cli, tmp_path):
    path, _ = swinir
    hr, recorded = _hr_upscaled(tmp_path, cli, path)
    assert recorded == str(path.resolve())
    assert np.abs(hr - _expected_hr(load_sr_model(path), tmp_path)).max() <= 1


def test_make_pairs_default_upscaler_is_upscales_default(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    hr, recorded = _hr_upscaled(tmp_path, cli, "default")
    assert recorded == str(default_model_path(2).resolve())  # the file `upscale --model default -s 2` runs
    assert np.abs(hr - _expected_hr(load_sr_model("default", scale=2), tmp_path)).max() <= 1


def test_spandrel_model_refused_where_this_tools_architecture_is_needed(swinir, tmp_path):
    from realsr_cli.models.interpolation import write_interpolated
    from realsr_cli.train.trainer import load_init

    path, _ = swinir
    generator = build_arch("rrdbnet", scale=2, **TINY["rrdbnet"])
    with pytest.raises(InputError, match=r"swinir\.pth: a spandrel:SwinIR model; train-sr --init needs one of"):
        load_init(generator, path, {"arch": "rrdbnet", "scale": 2})
    with pytest.raises(InputError, match=r"swinir\.pth: a spandrel:SwinIR model; models interpolate"):
        write_interpolated(path, path, 0.5, tmp_path / "blend.pt", overwrite=False)
    assert not (tmp_path / "blend.pt").exists()


def test_train_init_reads_published_weights_and_default(tmp_path):
    from realsr_cli.train.trainer import load_init

    published = _tiny("rrdbnet", 2)
    torch.save({"params_ema": published.state_dict()}, tmp_path / "net_g.pth")
    generator = build_arch("rrdbnet", scale=2, **TINY["rrdbnet"])
    load_init(generator, tmp_path / "net_g.pth", {"arch": "rrdbnet", "scale": 2})
    torch.testing.assert_close(_output(generator.eval()), _output(published))
    default = load_sr_model("default", scale=2)
    student = build_arch(default.arch, scale=2, **default.arch_args)
    load_init(student, "default", {"arch": default.arch, "scale": 2})
    net, info = load_model("default", scale=2)
    assert info.arch == default.arch and all(p.requires_grad for p in net.parameters())
    with pytest.raises(InputError, match=r"do not fit rrdbnet x4"):
        load_init(
            build_arch("rrdbnet", scale=4, **TINY["rrdbnet"]), tmp_path / "net_g.pth", {"arch": "rrdbnet", "scale": 4}
        )
