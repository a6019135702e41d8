"""KernelGAN: fast G == official G, batched D spectral norm, post-processing, accuracy on a known kernel, files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch
import torch.nn.functional as F
from scipy import ndimage

from realsr_cli.degradations.kernel_centre import centre_offset
from realsr_cli.learn import kernel_io
from realsr_cli.learn.kernelgan import (
    BICUBIC_X2,
    BatchedKernelGAN,
    KernelGANConfig,
    ReferenceGenerator,
    analytic_kernel,
    effective_kernel,
    estimate_kernels,
    kernel_shift,
    prepare_image,
    zeroize_negligible,
)


def test_effective_kernel_conv_equals_full_generator():
    torch.manual_seed(0)
    g = ReferenceGenerator()
    for layer in g.layers:  # larger weights than the 0.1-gain init so the comparison is not trivially ~0
        torch.nn.init.xavier_normal_(layer.weight, 1.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        full = g(x)
        k = g.kernel()
        fast = F.conv2d(x.transpose(0, 1), k[None, None], stride=2).transpose(0, 1)
    assert k.shape == (13, 13)
    assert full.shape == fast.shape == (1, 3, 26, 26)
    assert full.abs().max() > 1e-3
    torch.testing.assert_close(fast, full, rtol=1e-4, atol=1e-6 * float(full.abs().max()))


def test_batched_generators_match_reference_per_image():
    cfg = KernelGANConfig()
    gens = [torch.Generator().manual_seed(i) for i in range(3)]
    model = BatchedKernelGAN(3, cfg, gens)
    crops = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        for w in model.g_weights:
            w.mul_(10)
        out = model.generate(crops, model.kernels())
        for b in range(3):
            ref = ReferenceGenerator(cfg)
            for layer, w in zip(ref.layers, model.g_weights, strict=True):
                layer.weight.copy_(w[b])
            expected = ref(crops[b : b + 1])
            torch.testing.assert_close(out[b : b + 1], expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))


def test_effective_kernel_is_differentiable():
    w = [torch.randn(2, 4, 1, 3, 3, requires_grad=True), torch.randn(2, 1, 4, 3, 3, requires_grad=True)]
    k = effective_kernel(w)
    assert k.shape == (2, 5, 5)
    k[0].sum().backward()
    assert w[0].grad[0].abs().sum() > 0 and w[0].grad[1].abs().sum() == 0  # images stay independent


def test_per_image_spectral_norm_converges_to_unit_norm():
    cfg = KernelGANConfig()
    model = BatchedKernelGAN(2, cfg, [torch.Generator().manual_seed(i) for i in range(2)])
    with torch.no_grad():
        model.d_weights[1][1].mul_(7.0)  # image 1 only
        for _ in range(60):
            w = model._sn_weight(1)
    for b in range(2):
        assert torch.linalg.matrix_norm(w[b].reshape(w.shape[1], -1), ord=2).item() == pytest.approx(1.0, abs=1e-3)
    with torch.no_grad():
        d = model.discriminate(torch.rand(2, 3, 26, 26))
    assert d.shape == (2, 1, 20, 20) and float(d.min()) >= 0 and float(d.max()) <= 1


def test_zeroize_and_shift_and_analytic_x4():
    k = np.array([[0.0, 0.1, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.01]])
    z = zeroize_negligible(k, n=1)  # threshold 0.75 * 0.1 = 0.075
    np.testing.assert_allclose(z, np.where(k > 0.075, k - 0.075, 0) / np.where(k > 0.075, k - 0.075, 0).sum())
    shifted = kernel_shift(np.pad(k, 5), sf=2)
    com = ndimage.center_of_mass(shifted)
    wanted = np.array(shifted.shape) // 2 + 0.5 * (2 - np.array(shifted.shape) % 2)
    np.testing.assert_allclose(com, wanted - (shifted.shape[0] - 13) // 2 + (shifted.shape[0] - 13) // 2, atol=0.05)
    # x4 from a Gaussian x2 kernel: k conv (k dilated by 2) has variance s^2 + (2 s)^2
    s = 1.2
    z = np.arange(13) - 6
    g = np.exp(-(z[:, None] ** 2 + z[None] ** 2) / (2 * s * s))
    k4 = analytic_kernel(g / g.sum())
    assert k4.shape == (25, 25) and k4.sum() == pytest.approx(1.0)
    stats = kernel_io.kernel_stats(k4)
    assert stats["sigma_major"] == pytest.approx(s * np.sqrt(5), rel=0.02)
    assert stats["sigma_minor"] == pytest.approx(s * np.sqrt(5), rel=0.02)


def _centred(k: np.ndarray, size: int = 17) -> np.ndarray:
    full = np.zeros((size, size))
    o = (size - k.shape[0]) // 2
    full[o : o + k.shape[0], o : o + k.shape[1]] = k
    com = np.array(ndimage.center_of_mass(np.clip(full, 0, None)))
    out = ndimage.shift(full, np.array([size // 2 + 0.5] * 2) - com, order=1)
    return out / out.sum()


@pytest.mark.slow
def test_kernelgan_estimate_is_closer_to_true_kernel_than_bicubic():
    from realsr_cli.degradations.kernels import blur_subsample, gaussian_kernel

    rng = np.random.default_rng(3)
    hr = ndimage.gaussian_filter(rng.random((320, 320, 3)), (1.5, 1.5, 0))
    hr = (hr - hr.min()) / (hr.max() - hr.min())
    true_k = gaussian_kernel(13, 2.6, 0.8, 0.6)  # strongly anisotropic, rotated
    lr = blur_subsample(torch.from_numpy(hr.transpose(2, 0, 1))[None], true_k, 2)[0].numpy().transpose(1, 2, 0)
    cfg = KernelGANConfig(iters=300)  # the full schedule is 3000; the estimate already beats bicubic here
    (est,) = estimate_kernels([prepare_image(lr)], [np.random.default_rng(0)], cfg)
    assert est.kernel_x2.shape[0] >= 13 and est.kernel_x2.shape[0] % 2 == 1 and est.kernel_x4.shape[0] >= 25
    assert est.kernel_x2.sum() == pytest.approx(1.0)
    assert np.abs(centre_offset(est.kernel_x2, 2)).max() < 0.05 and np.abs(centre_offset(est.kernel_x4, 4)).max() < 0.05
    target = _centred(true_k)
    err_est = np.linalg.norm(_centred(est.kernel_x2) - target)
    err_bic = np.linalg.norm(_centred(BICUBIC_X2) - target)
    assert err_est < 0.8 * err_bic, (err_est, err_bic)
    stats = kernel_io.kernel_stats(est.kernel_x2)
    assert stats["sigma_major"] > 1.3 * stats["sigma_minor"]  # the anisotropy is recovered


def test_prepare_image_rejects_small_and_handles_gray_16bit():
    with pytest.raises(ValueError, match="smaller than the 64x64"):
        prepare_image(np.zeros((40, 100, 3), np.uint8))
    gray16 = (np.arange(65 * 67, dtype=np.uint16).reshape(65, 67, 1) * 13) % 65535
    img = prepare_image(gray16.astype(np.uint16))
    assert img.shape == (64, 66, 3) and np.allclose(img[..., 0], img[..., 2])
    assert img.max() <= 1.0 and img[0, 1, 0] == pytest.approx(13 / 65535)


def test_kernel_files_readable_as_original_and_by_degrade(tmp_path):
    from realsr_cli.degradations.kernels import find_kernel_files, load_kernel

    k = np.random.default_rng(0).random((13, 13))
    k /= k.sum()
    kernel_io.write_kernel(tmp_path, "img", 2, k)
    kernel_io.write_kernel(tmp_path, "img", 4, analytic_kernel(k))
    np.testing.assert_allclose(scipy.io.loadmat(tmp_path / "img_kernel_x2.mat")["Kernel"], k)
    np.testing.assert_allclose(np.load(tmp_path / "img_kernel_x2.npy"), k)
    assert find_kernel_files(tmp_path, 4) == [tmp_path / "img_kernel_x4.npy"]
    np.testing.assert_allclose(load_kernel(tmp_path / "img_kernel_x4.mat"), analytic_kernel(k))
    paths = kernel_io.write_previews(tmp_path / "previews", {"img_x2": k, "b": k.T})
    assert [p.name for p in paths] == ["img_x2.png", "b.png", "contact_sheet.png"]


def test_same_seed_same_kernels_and_batching_only_changes_rounding():
    rng = np.random.default_rng(0)
    ims = [ndimage.gaussian_filter(rng.random((100, 110, 3)), (1.2, 1.2, 0)) for _ in range(2)]
    ims = [prepare_image((i - i.min()) / (i.max() - i.min())) for i in ims]
    cfg = KernelGANConfig(iters=1)
    a = estimate_kernels(ims[:1], [np.random.default_rng(7)], cfg)[0].raw
    again = estimate_kernels(ims[:1], [np.random.default_rng(7)], cfg)[0].raw
    batched = estimate_kernels(ims, [np.random.default_rng(7), np.random.default_rng(8)], cfg)
    np.testing.assert_array_equal(a, again)
    # float32 rounding of the grouped convolutions, relative to the kernel's largest tap (measured: 2e-4; CPUs
    # with other SIMD paths round differently); the other image's own G differs by about its whole size
    scale = np.abs(a).max()
    np.testing.assert_allclose(batched[0].raw, a, rtol=0, atol=2e-3 * scale)
    assert np.abs(batched[1].raw - a).max() > 0.5 * scale


def test_restarts_of_one_photo_compute_its_crop_maps_once(monkeypatch):
    from realsr_cli.learn import kernelgan

    calls = []
    real = kernelgan.crop_maps
    monkeypatch.setattr(kernelgan, "crop_maps", lambda img, c: calls.append(id(img)) or real(img, c))
    monkeypatch.setattr(kernelgan, "_estimate", lambda *args, **kwargs: [])
    rng = np.random.default_rng(0)
    one, two = (prepare_image(ndimage.gaussian_filter(rng.random((100, 110, 3)), (1.2, 1.2, 0))) for _ in range(2))
    rngs = [np.random.default_rng(i) for i in range(5)]
    estimate_kernels([one, one, one, two, two], rngs, KernelGANConfig(iters=1))
    assert calls == [id(one), id(two)]


def test_real_crop_noise_stays_in_each_pairs_photo_as_in_the_official_data_generator():
    """data.py's ``crop_im += noise`` writes into a view of the image: D's noise accumulates where its crops fall,
    G's later crops see it, and each (G, D) pair (one process each in the original) has its own photo. Checked
    against that dense, in-place reference on random crops; the noise is kept in tiles only where D's crops fell."""
    from realsr_cli.learn.kernelgan import NOISE_TILE, _PairImages

    gen = torch.Generator().manual_seed(0)
    photos = [torch.rand(3, 150, 170, generator=gen), torch.rand(3, 90, 100, generator=gen)]
    pairs = _PairImages(photos, 2, accumulate=True)
    dense = [[p.clone() for p in photos] for _ in range(2)]  # the original: every pair writes its own photos
    rng = np.random.default_rng(1)
    for _ in range(40):
        d_corners = [
            (int(i), int(rng.integers(0, photos[i].shape[1] - 26)), int(rng.integers(0, photos[i].shape[2] - 26)))
            for i in rng.integers(0, 2, size=2)
        ]
        g_corners = [
            (int(i), int(rng.integers(0, photos[i].shape[1] - 64)), int(rng.integers(0, photos[i].shape[2] - 64)))
            for i in rng.integers(0, 2, size=2)
        ]
        g = pairs.gather(g_corners, 64)
        for b, (i, r, c) in enumerate(g_corners):
            assert torch.allclose(g[b], dense[b][i][:, r : r + 64, c : c + 64], atol=1e-6)
        noise = torch.randn(2, 3, 26, 26, generator=gen) * 0.05
        d = pairs.add_noise(d_corners, 26, noise)
        for b, (i, r, c) in enumerate(d_corners):
            dense[b][i][:, r : r + 26, c : c + 26] += noise[b]
            assert torch.allclose(d[b], dense[b][i][:, r : r + 26, c : c + 26], atol=1e-6)
    assert all(len(tiles) <= 40 * 4 for tiles in pairs.noise) and NOISE_TILE >= 26
    assert float((photos[0] - dense[0][0]).abs().max()) > 0.05  # the reference did accumulate ...
    fresh = torch.Generator().manual_seed(0)
    assert torch.equal(photos[0], torch.rand(3, 150, 170, generator=fresh))  # ... the shared photos never change
    plain = _PairImages(photos, 2, accumulate=False)
    crops = plain.add_noise([(0, 2, 2), (1, 5, 5)], 26, noise)
    assert torch.allclose(crops[0], photos[0][:, 2:28, 2:28] + noise[0])
    assert torch.equal(plain.gather([(0, 2, 2), (1, 5, 5)], 26)[1], photos[1][:, 5:31, 5:31])


def test_official_real_crop_noise_is_the_default_and_changes_the_estimate():
    cfg = KernelGANConfig()
    assert cfg.accumulate_d_noise and cfg.real_noise == pytest.approx(2 / 255)  # 1/255 in [0, 1] units
    rng = np.random.default_rng(0)
    im = ndimage.gaussian_filter(rng.random((100, 110, 3)), (1.2, 1.2, 0))
    im = prepare_image((im - im.min()) / (im.max() - im.min()))
    runs = [
        estimate_kernels([im], [np.random.default_rng(7)], KernelGANConfig(iters=20, accumulate_d_noise=acc))[0].raw
        for acc in (True, False)
    ]
    assert np.abs(runs[0] - runs[1]).max() > 1e-4 * np.abs(runs[0]).max()
