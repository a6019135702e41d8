"""DSGAN / CycleGAN degradation learning: filters, training, exact resume, model file, use by make-pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from realsr_cli.degradations.learned_model import load_degradation_model
from realsr_cli.errors import InputError, WeightsNotFoundError
from realsr_cli.learn.dsgan import FilterHigh, FilterLow, VGGPerceptual
from realsr_cli.learn.gan_training import GANConfig, train_degradation


def _data(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    source = [np.clip(0.5 + 0.05 * rng.standard_normal((36, 40, 3)), 0, 1) for _ in range(2)]
    clean = [rng.random((64, 72, 3)) for _ in range(2)]
    return source, clean


def _tiny(method: str, iters: int) -> GANConfig:
    return GANConfig(
        method=method, iters=iters, batch=2, patch=16, n_res_blocks=1, channels=8, d_channels=8, d_layers=2,
        w_per=0.0, checkpoint_every=2,
    )  # fmt: skip


def test_frequency_separation_filters():
    x = torch.rand(1, 3, 20, 20)
    low = FilterLow()(x)
    torch.testing.assert_close(low[..., 2:-2, 2:-2], torch.nn.functional.avg_pool2d(x, 5, 1)[..., :, :])
    const = torch.full((1, 3, 12, 12), 0.3)
    assert FilterHigh()(const).abs().max() < 1e-6  # borders too: padding is not counted in the average
    g = FilterLow(gaussian=True)(const)
    torch.testing.assert_close(g, const)


@pytest.mark.parametrize("method", ["dsgan", "cyclegan"])
def test_training_resumes_exactly_and_writes_a_loadable_model(tmp_path: Path, method: str):
    source, clean = _data()
    straight, split = tmp_path / "straight", tmp_path / "split"
    straight.mkdir(), split.mkdir()
    train_degradation(source, clean, 2, straight, _tiny(method, 4), seed=5)
    first = train_degradation(source, clean, 2, split, _tiny(method, 2), seed=5)
    assert first["iterations"] == 2 and (split / "learn_state.pt").is_file()
    second = train_degradation(source, clean, 2, split, _tiny(method, 4), seed=5, resume=True)
    assert second["resumed_from"] == 2
    a = torch.load(straight / "degradation.pt", weights_only=True)
    b = torch.load(split / "degradation.pt", weights_only=True)
    assert a["format"] == "realsr-degradation" and a["method"] == method and a["scale"] == 2
    for key in a["params"]:
        torch.testing.assert_close(a["params"][key], b["params"][key], rtol=0, atol=1e-6)
    model = load_degradation_model(split / "degradation.pt")
    x = torch.rand(2, 3, 20, 28)
    y = model.degrade(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert model.degrade(x[0]).shape == (3, 20, 28)


def test_resume_refuses_other_method_and_missing_state(tmp_path: Path):
    source, clean = _data()
    train_degradation(source, clean, 2, tmp_path, _tiny("dsgan", 2), seed=0)
    with pytest.raises(InputError, match="dsgan, not cyclegan"):
        train_degradation(source, clean, 2, tmp_path, _tiny("cyclegan", 3), seed=0, resume=True)
    with pytest.raises(InputError, match="nothing to resume"):
        train_degradation(source, clean, 2, tmp_path / "new", _tiny("dsgan", 3), seed=0, resume=True)


def test_small_images_and_bad_model_files(tmp_path: Path):
    source, clean = _data()
    cfg = _tiny("dsgan", 1)
    cfg.patch = 38
    with pytest.raises(InputError, match="smaller than the 38x38 training patch"):
        train_degradation(source, clean, 2, tmp_path, cfg, source_names=["a.png", "b.png"])
    bad = tmp_path / "x.pt"
    torch.save({"format": "realsr-model"}, bad)
    with pytest.raises(InputError, match="not a realsr degradation model"):
        load_degradation_model(bad)
    with pytest.raises(WeightsNotFoundError, match="perceptual-weight 0"):
        VGGPerceptual(tmp_path / "missing.pth")


def test_learned_model_is_applied_by_make_pairs(tmp_path: Path, cli):
    from realsr_cli.io.images import read_image, write_image
    from tests.conftest import synthetic_image

    src, clean_dir, hr_dir = tmp_path / "src", tmp_path / "clean", tmp_path / "hr"
    for d in (src, clean_dir, hr_dir):
        d.mkdir()
    write_image(src / "photo.png", synthetic_image(40, 40, seed=1))
    write_image(clean_dir / "clean.png", synthetic_image(64, 64, seed=2))
    write_image(hr_dir / "hr.png", synthetic_image(48, 64, seed=3))
    out = tmp_path / "learned"
    args = ["--method", "cyclegan", "--clean-dir", clean_dir, "-s", "2", "--patch", "24", "--gan-batch", "2"]
    args += ["--res-blocks", "1", "--channels", "8", "--device", "cpu", "-q"]
    result = cli("learn-degradation", src, "-o", out, *args, "--iters", "2")
    assert result.exit_code == 0, result.output
    result = cli(
        "make-pairs", hr_dir, "-o", tmp_path / "pairs", "-s", "2", "--degradation-model", out / "degradation.pt"
    )
    assert result.exit_code == 0, result.output
    lr = read_image(tmp_path / "pairs" / "lr" / "hr.png").pixels
    assert lr.shape == (24, 32, 3)
    result = cli("degrade", hr_dir, tmp_path / "deg", "-s", "2", "--degradation-model", out / "degradation.pt")
    assert result.exit_code == 0, result.output
    degraded = sorted((tmp_path / "deg").glob("*.png"))
    assert len(degraded) == 1
    # degrade = this model applied to the MATLAB-bicubic LR image
    from realsr_cli.degradations.resize import imresize
    from realsr_cli.io.images import to_float

    hr = torch.from_numpy(to_float(read_image(hr_dir / "hr.png").pixels).transpose(2, 0, 1).copy())[None].float()
    expected = load_degradation_model(out / "degradation.pt").degrade(imresize(hr, scale=0.5).clamp(0, 1))
    got = torch.from_numpy(to_float(read_image(degraded[0]).pixels).transpose(2, 0, 1).copy())[None].float()
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= 1.0 / 255 + 1e-6
    again = cli("learn-degradation", src, "-o", out, *args, "--iters", "2")
    assert again.exit_code == 1 and "--overwrite" in again.output
    resumed = cli("learn-degradation", src, "-o", out, *args, "--iters", "3", "--resume", "--json", tmp_path / "r.json")
    assert resumed.exit_code == 0, resumed.output
    assert '"resumed_from": 2' in (tmp_path / "r.json").read_text()


def test_lpips_vgg_perceptual_loss_uses_the_local_vgg16_weights(shared_weights: Path):
    path = shared_weights / "vgg16-features.pth"
    if not path.is_file():
        pytest.skip("vgg16-features.pth not in ../shared/weights")
    loss = VGGPerceptual(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    torch.testing.assert_close(getattr(loss.lpips.net.slice1, "0").weight, state["features.0.weight"])
    torch.testing.assert_close(getattr(loss.lpips.net.slice5, "28").weight, state["features.28.weight"])
    x = torch.rand(1, 3, 32, 32)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(x, (x + 0.2 * torch.randn_like(x)).clamp(0, 1))) > 0.01


def test_amp_modes_and_the_precision_recorded(tmp_path: Path, monkeypatch):
    from realsr_cli.learn import gan_training

    cpu = torch.device("cpu")
    assert gan_training.resolve_amp("none", cpu) == "none" and gan_training.resolve_amp("bf16", cpu) == "bf16"
    monkeypatch.setattr(gan_training, "bf16_native", lambda device: False)
    assert gan_training.resolve_amp("auto", cpu) == "none"  # emulated bf16 would be slower than fp32
    monkeypatch.setattr(gan_training, "bf16_native", lambda device: True)
    assert gan_training.resolve_amp("auto", cpu) == "bf16"
    with pytest.raises(InputError, match="--gan-amp fp8"):
        gan_training.resolve_amp("fp8", cpu)
    source, clean = _data()
    params = {}
    for amp in ("none", "bf16"):
        (tmp_path / amp).mkdir()
        config = _tiny("dsgan", 2)
        config.amp = amp
        summary = train_degradation(source, clean, 2, tmp_path / amp, config, seed=1)
        saved = torch.load(tmp_path / amp / "degradation.pt", weights_only=True)
        assert summary["amp"] == amp and saved["meta"]["amp"] == amp
        assert all(t.is_contiguous() and t.dtype == torch.float32 for t in saved["params"].values())
        params[amp] = saved["params"]
    diffs = [float((params["none"][k] - params["bf16"][k]).abs().max()) for k in params["none"]]
    assert 0 < max(diffs) < 0.05  # bf16 forward passes: close to fp32, not the same


def test_dsgan_generator_step_with_the_discriminator_frozen_gives_the_same_numbers():
    """Freezing D in G's step skips gradients the next D step's zero_grad would discard: the same updates."""
    import copy

    from realsr_cli.learn.gan_training import GANNets, _dsgan_step

    torch.manual_seed(0)
    config = _tiny("dsgan", 1)
    nets = GANNets(config)
    reference, start = copy.deepcopy(nets), copy.deepcopy(nets)
    low = FilterLow()
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)

    def optimisers(n: GANNets) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        # SGD: the updates are the gradients themselves (Adam would blow the rounding noise of the conv biases
        # before BatchNorm, whose gradient is exactly 0, up to full steps)
        return torch.optim.SGD(n.g_params(), lr=0.5), torch.optim.SGD(n.d_params(), lr=0.5)

    ours, theirs = optimisers(nets), optimisers(reference)
    for _ in range(3):
        _dsgan_step(nets, *ours, x, y, low, None, config)
        # the official order without freezing: D step, then G step with D's gradients computed and left
        fake = reference.g(x)
        theirs[1].zero_grad(set_to_none=True)
        d_loss = -(reference.d(y) + 1e-8).log().mean() - (1 - reference.d(fake.detach()) + 1e-8).log().mean()
        d_loss.backward()
        theirs[1].step()
        theirs[0].zero_grad(set_to_none=True)
        g_loss = torch.nn.functional.l1_loss(low(fake), low(x)) + 0.005 * -(reference.d(fake) + 1e-8).log().mean()
        g_loss.backward()
        theirs[0].step()
    moved = max(float((a - b).detach().abs().max()) for a, b in zip(nets.parameters(), start.parameters(), strict=True))
    for a, b in zip(nets.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)  # the rounding of another conv-backward path at most
    assert moved > 1e-3
