"""Noise statistics against the documented models, noise patches, and the JPEG round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from realsr_cli.degradations.jpeg import jpeg_compress
from realsr_cli.degradations.noise import (
    NoisePatchBank,
    add_gaussian,
    add_model_noise,
    add_poisson,
    add_poisson_gaussian,
    add_realesrgan_poisson,
    tile_noise,
)
from realsr_cli.errors import InputError
from realsr_cli.io.images import write_image
from tests.conftest import synthetic_image


def _gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


@pytest.mark.parametrize("sigma", [5.0, 25.0])
def test_gaussian_sigma(sigma):
    x = torch.full((1, 3, 256, 256), 0.5)
    y = add_gaussian(x, sigma, _gen(), clip=False)
    measured = float((y - x).std()) * 255
    assert measured == pytest.approx(sigma, rel=0.02)
    assert abs(float((y - x).mean())) * 255 < 0.1


def test_gaussian_gray_is_shared_across_channels_and_clipped():
    x = torch.full((2, 3, 64, 64), 0.5)
    n = add_gaussian(x, 10.0, _gen(), gray=True, clip=False) - x
    assert torch.equal(n[:, 0], n[:, 1]) and torch.equal(n[:, 1], n[:, 2])
    assert not torch.equal(n[0], n[1])
    y = add_gaussian(torch.zeros(1, 3, 32, 32), 50.0, _gen())
    assert float(y.min()) == 0.0 and float(y.max()) <= 1.0


def test_poisson_mean_and_variance():
    x = torch.full((1, 1, 512, 512), 0.3)
    peak = 80.0
    y = add_poisson(x, peak, _gen(1), clip=False)
    assert float(y.mean()) == pytest.approx(0.3, rel=0.01)
    assert float(y.var()) == pytest.approx(0.3 / peak, rel=0.03)
    # values are integer photon counts / peak
    counts = (y * peak).numpy()
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)


@pytest.mark.parametrize("alpha,sigma", [(1.0, 5.0), (2.0, 3.0), (0.5, 0.0)])
def test_poisson_gaussian_variance_model(alpha, sigma):
    # Var[y] = alpha * x / 255 + (sigma / 255)^2 in [0, 1] units, E[y] = x.
    for level in (0.2, 0.6):
        x = torch.full((1, 1, 400, 400), level)
        y = add_poisson_gaussian(x, sigma, _gen(2), alpha=alpha, clip=False)
        expected = alpha * level / 255 + (sigma / 255) ** 2
        assert float(y.var()) == pytest.approx(expected, rel=0.03)
        assert float(y.mean()) == pytest.approx(level, abs=1e-3)


def test_realesrgan_poisson_scale():
    x = torch.full((1, 3, 128, 128), 0.5)
    assert torch.equal(add_realesrgan_poisson(x, 0.0, _gen()), x)
    # one unique value -> vals = 1: noise = P(x) - x, variance = x; scaled by s: s^2 * x
    y = add_realesrgan_poisson(x, 0.1, _gen(), clip=False)
    assert float((y - x).var()) == pytest.approx(0.01 * 0.5, rel=0.05)
    g = add_realesrgan_poisson(x, 0.1, _gen(), gray=True, clip=False)
    assert torch.equal(g[:, 0], g[:, 2])


def test_noise_is_deterministic_per_seed():
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(add_poisson_gaussian(x, 3.0, _gen(5)), add_poisson_gaussian(x, 3.0, _gen(5)))
    assert not torch.equal(add_gaussian(x, 3.0, _gen(5)), add_gaussian(x, 3.0, _gen(6)))


@pytest.mark.parametrize("channels", [1, 3])
def test_model_noise_leaves_alpha_alone(channels):
    x = torch.full((1, channels + 1, 16, 16), 0.5)
    a, b, corr = [0.5] * channels, [20.0] * channels, np.eye(channels).tolist()
    y = add_model_noise(x, a, b, corr, _gen(3))
    assert torch.equal(y[:, -1], x[:, -1])
    assert torch.equal(y[:, :-1], add_model_noise(x[:, :-1], a, b, corr, _gen(3)))


def test_tile_noise_mirrors():
    patch = np.arange(3, dtype=np.float32).reshape(1, 3, 1)
    row = tile_noise(patch, 1, 8, (0, 1))[0, :, 0]
    np.testing.assert_array_equal(row, [1, 2, 2, 1, 0, 0, 1, 2])


def test_noise_patch_bank_subtracts_mean(tmp_path):
    folder = tmp_path / "noise"
    folder.mkdir()
    patch = synthetic_image(16, 16, seed=3)
    write_image(folder / "p0.png", patch)
    write_image(folder / "p1.png", synthetic_image(8, 8, seed=4))
    bank = NoisePatchBank(folder)
    assert len(bank) == 2
    assert bank.sample(np.random.default_rng(0)) in bank.paths
    x = torch.full((1, 3, 16, 16), 0.5)
    y = bank.inject(x, "p0.png", clip=False)
    expected = patch.astype(np.float64) / 255 - (patch.astype(np.float64) / 255).mean(axis=(0, 1))
    np.testing.assert_allclose((y - x)[0].permute(1, 2, 0).numpy(), expected, atol=1e-6)
    gray = bank.inject(torch.full((1, 1, 16, 16), 0.5), "p0.png", clip=False)
    assert gray.shape == (1, 1, 16, 16) and abs(float(gray.mean()) - 0.5) < 1e-6
    with pytest.raises(InputError):
        NoisePatchBank(tmp_path / "empty")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def test_jpeg_round_trip_quality_and_pillow_agreement():
    img = synthetic_image(64, 64, seed=1)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    hi, lo = jpeg_compress(x, 95), jpeg_compress(x, 10)
    assert hi.shape == x.shape
    assert _psnr(hi, x) > 28 and _psnr(lo, x) < _psnr(hi, x) - 5
    # independent decoder path: Pillow encoding at the same quality gives nearly the same image
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    pil = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.float32)
    ours = (hi[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(ours - pil).mean() < 1.5
    # values are 8-bit levels; gray images stay gray
    assert torch.allclose((hi * 255).round(), hi * 255, atol=1e-4)
    assert jpeg_compress(x[:, :1], 50).shape == (1, 1, 64, 64)


def test_realesrgan_poisson_levels_from_unique_values():
    # 3 distinct 8-bit values -> vals = 4: the noisy image is P(4 q) / 4, so (noise + q) * 4 is an integer count
    q = torch.tensor([0.0, 128 / 255, 1.0]).repeat(1, 3, 20, 7)[..., :20, :20]
    y = add_realesrgan_poisson(q, 1.0, _gen(3), clip=False)
    counts = (y * 4).numpy()
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    assert not np.allclose(y.numpy() * 2, np.round(y.numpy() * 2), atol=1e-4)  # not vals = 2
