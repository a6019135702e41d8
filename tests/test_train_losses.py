"""Losses of train-sr checked against independent formulas and reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realsr_cli.errors import WeightsNotFoundError
from realsr_cli.losses import AdversarialLoss, PerceptualLoss, build_losses, ms_ssim, pixel_loss
from realsr_cli.losses.perceptual import layer_names, make_vgg_features
from realsr_cli.metrics.full_reference import ssim


def _pair(seed: int = 0, shape=(2, 3, 24, 28)):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g)
    b = (a + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)
    return a, b


def test_pixel_losses_match_formulas():
    a, b = _pair()
    d = (a - b).double()
    assert float(pixel_loss("l1")(a, b)) == pytest.approx(float(d.abs().mean()), rel=1e-5)
    assert float(pixel_loss("l2")(a, b)) == pytest.approx(float((d**2).mean()), rel=1e-5)
    expected = float(torch.sqrt(d**2 + 1e-6).mean())
    assert float(pixel_loss("charbonnier", eps=1e-6)(a, b)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError):
        pixel_loss("l3")


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    a, b = _pair(1, (1, 3, 40, 36))
    ours = float(ssim(a.double(), b.double()))
    ref = skimage_metrics.structural_similarity(
        a[0].permute(1, 2, 0).numpy(),
        b[0].permute(1, 2, 0).numpy(),
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
    )
    assert ours == pytest.approx(ref, abs=2e-4)


def test_ssim_loss_is_one_minus_the_metric_and_differentiable():
    from realsr_cli.losses import SSIMLoss
    from realsr_cli.metrics.full_reference import ssim_map

    for shape in ((2, 3, 24, 28), (4, 1, 48, 40), (1, 3, 96, 96)):
        a, b = _pair(7, shape)
        assert 1 - float(SSIMLoss()(a, b)) == pytest.approx(float(ssim(a, b).mean()), abs=1e-6)
    x = torch.rand(1, 2, 14, 13, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 2, 14, 13, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ssim_map(t, y).mean(), (x,))


def test_ms_ssim_properties():
    a, b = _pair(2, (1, 3, 200, 200))
    assert float(ms_ssim(a, a)) == pytest.approx(1.0, abs=1e-5)
    small, small_b = a[..., :30, :30], b[..., :30, :30]
    # below 22 px per side after one halving only one scale fits: MS-SSIM is plain SSIM
    assert float(ms_ssim(small[..., :20, :20], small_b[..., :20, :20])) == pytest.approx(
        float(ssim(small[..., :20, :20], small_b[..., :20, :20])), abs=1e-5
    )
    worse = (a + 0.3 * torch.randn_like(a)).clamp(0, 1)
    assert float(ms_ssim(a, b)) > float(ms_ssim(a, worse))
    x = b.clone().requires_grad_(True)
    (1 - ms_ssim(x, a)).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_relativistic_and_standard_gan_losses():
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(4, 1, generator=g), torch.randn(4, 1, generator=g)

    def bce(x, t):
        return float(
            np.mean(
                [
                    -(t * math.log(1 / (1 + math.exp(-v))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-v))))
                    for v in x.flatten().tolist()
                ]
            )
        )

    rel = AdversarialLoss("relativistic", weight=0.005)
    expected_g = 0.005 * (bce(real - fake.mean(), 0) + bce(fake - real.mean(), 1)) / 2
    assert float(rel.generator_loss(fake, real)) == pytest.approx(expected_g, rel=1e-5)
    expected_d = (bce(real - fake.mean(), 1) + bce(fake - real.mean(), 0)) / 2
    assert float(rel.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    std = AdversarialLoss("vanilla", weight=2.0)
    assert float(std.generator_loss(fake)) == pytest.approx(2.0 * bce(fake, 1), rel=1e-5)
    assert float(std.discriminator_loss(real, fake)) == pytest.approx(bce(real, 1) + bce(fake, 0), rel=1e-5)
    ls = AdversarialLoss("lsgan")
    assert float(ls.generator_loss(fake)) == pytest.approx(float(((fake - 1) ** 2).mean()), rel=1e-5)
    with pytest.raises(ValueError):
        AdversarialLoss("wasserstein-ish")


def _save_test_vgg(path, backbone="vgg19", seed=0):
    torch.manual_seed(seed)
    feats = make_vgg_features(backbone)
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, path)
    return feats


def test_perceptual_loss_conv5_4_is_before_activation(tmp_path):
    pytest.importorskip("torchvision")
    path = tmp_path / "vgg19-test.pth"
    _save_test_vgg(path)
    from torchvision.models import vgg as tv_vgg

    ref = tv_vgg.make_layers(tv_vgg.cfgs["E"])  # torchvision's VGG19 ``features`` builder
    ref.load_state_dict({k[len("features.") :]: v for k, v in torch.load(path, weights_only=True).items()})
    assert layer_names("vgg19")[34] == "conv5_4"
    loss = PerceptualLoss({"conv5_4": 1.0}, weights=path)
    a, b = _pair(4, (1, 3, 32, 32))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        fa, fb = ref[:35]((a - mean) / std), ref[:35]((b - mean) / std)  # index 34 = conv5_4, before its ReLU
    assert (fa < 0).any()  # pre-activation features keep negative values
    assert float(loss(a, b)) == pytest.approx(float((fa - fb).abs().mean()), rel=1e-4)


def test_perceptual_vgg16_substitute_with_shared_weights(shared_weights):
    path = shared_weights / "vgg16-features.pth"
    if not path.is_file():
        pytest.skip("vgg16-features.pth not in ../shared/weights")
    loss = PerceptualLoss({"conv5_4": 1.0, "conv3_4": 0.5}, backbone="vgg16", weights=path)
    assert set(loss.layer_weights) == {"conv5_3", "conv3_3"}
    a, b = _pair(5, (1, 3, 32, 32))
    assert float(loss(a, a)) == 0.0 and float(loss(a, b)) > 0


def test_missing_vgg_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REALSR_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("REALSR_VGG_WEIGHTS", raising=False)
    with pytest.raises(WeightsNotFoundError, match="vgg19-dcbb9e9d.pth"):
        build_losses({"perceptual": {"weight": 1.0}})
    # presets without a perceptual term never need VGG weights
    assert "pix" in build_losses({"pixel": {"type": "l1", "weight": 1.0}}).terms


def test_wrong_weights_file_is_rejected(tmp_path):
    path = tmp_path / "not-vgg.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsNotFoundError, match="not torchvision"):
        PerceptualLoss(weights=path)


def test_loss_gradient_flows_through_perceptual(tmp_path):
    path = tmp_path / "vgg.pth"
    _save_test_vgg(path)
    loss = PerceptualLoss({"conv2_2": 1.0}, weights=path)
    a, b = _pair(6, (1, 3, 16, 16))
    x = a.clone().requires_grad_(True)
    loss(x, b).backward()
    assert x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in loss.vgg.parameters())
    assert F.l1_loss(a, a) == 0
