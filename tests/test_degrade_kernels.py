"""Blur kernels: shapes, normalisation, closed forms, kernel files, blur and (I * k)↓s."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.io import savemat

from realsr_cli.degradations.kernels import (
    blur,
    blur_subsample,
    find_kernel_files,
    gaussian_kernel,
    generalized_gaussian_kernel,
    load_kernel,
    make_kernel,
    plateau_kernel,
    sinc_kernel,
)
from realsr_cli.errors import InputError


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "iso", "size": 15, "sigma_x": 2.0},
        {"type": "aniso", "size": 21, "sigma_x": 3.0, "sigma_y": 0.7, "theta": 0.4},
        {"type": "generalized_iso", "size": 9, "sigma_x": 1.5, "beta": 0.6},
        {"type": "generalized_aniso", "size": 11, "sigma_x": 2.0, "sigma_y": 1.0, "theta": -1.0, "beta": 3.0},
        {"type": "plateau_iso", "size": 7, "sigma_x": 1.0, "beta": 1.5},
        {"type": "plateau_aniso", "size": 13, "sigma_x": 1.0, "sigma_y": 2.5, "theta": 2.0, "beta": 1.2},
        {"type": "sinc", "size": 13, "cutoff": 1.2, "pad_to": 21},
    ],
)
def test_kernel_shapes_and_sum(spec):
    k = make_kernel(spec)
    size = spec.get("pad_to", spec["size"])
    assert k.shape == (size, size) and k.dtype == np.float64
    assert abs(k.sum() - 1) < 1e-12
    # point symmetric (k(-x) = k(x)), peak in the centre
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)
    assert k[size // 2, size // 2] == k.max()


def test_isotropic_gaussian_closed_form():
    k = gaussian_kernel(15, 2.0)
    ax = np.arange(15) - 7
    g = np.exp(-(ax**2) / (2 * 2.0**2))
    np.testing.assert_allclose(k, np.outer(g, g) / np.outer(g, g).sum(), atol=1e-15)
    # generalized Gaussian with beta = 1 is the Gaussian; plateau follows 1/(1+d^beta)
    np.testing.assert_allclose(generalized_gaussian_kernel(15, 2.0, beta=1.0), k, atol=1e-15)
    d = (ax[None, :] ** 2 + ax[:, None] ** 2) / 4.0
    p = 1 / (1 + d**2)
    np.testing.assert_allclose(plateau_kernel(15, 2.0, beta=2.0), p / p.sum(), atol=1e-15)


def test_anisotropic_gaussian_orientation():
    # sigma_x > sigma_y, theta = 90 degrees: spread along the rows (vertical) axis.
    k = gaussian_kernel(31, 3.0, 1.0, math.pi / 2)
    var_rows = (k.sum(axis=1) * (np.arange(31) - 15) ** 2).sum()
    var_cols = (k.sum(axis=0) * (np.arange(31) - 15) ** 2).sum()
    assert var_rows == pytest.approx(9.0, rel=0.01) and var_cols == pytest.approx(1.0, rel=0.01)


def test_sinc_kernel_centre_value_before_normalisation():
    k = sinc_kernel(21, math.pi)  # cutoff pi: close to a delta-like low pass
    assert k.sum() == pytest.approx(1.0)
    assert k[10, 10] == k.max()


def test_load_kernel_formats(tmp_path):
    k = gaussian_kernel(13, 1.7, 0.9, 0.3) * 3.0  # unnormalised on purpose
    savemat(tmp_path / "img_kernel_x2.mat", {"Kernel": k})
    savemat(tmp_path / "lower.mat", {"kernel": k})
    np.save(tmp_path / "k.npy", k)
    scaled16 = np.rint(k / k.max() * 65535).astype(np.uint16)
    scaled8 = np.rint(k / k.max() * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "k16.png"), scaled16)
    cv2.imwrite(str(tmp_path / "k8.png"), scaled8)
    expected = k / k.sum()
    for name in ("img_kernel_x2.mat", "lower.mat", "k.npy"):
        np.testing.assert_allclose(load_kernel(tmp_path / name), expected, atol=1e-15)
    np.testing.assert_allclose(load_kernel(tmp_path / "k16.png"), scaled16 / scaled16.sum(), atol=1e-15)
    np.testing.assert_allclose(load_kernel(tmp_path / "k8.png"), scaled8 / scaled8.sum().astype(float), atol=1e-15)
    assert load_kernel(tmp_path / "k16.png").sum() == pytest.approx(1.0)
    np.save(tmp_path / "zero.npy", np.zeros((5, 5)))
    with pytest.raises(InputError, match="zero.npy"):
        load_kernel(tmp_path / "zero.npy")
    (tmp_path / "bad.mat").write_bytes(b"not a mat file")
    with pytest.raises(InputError, match="bad.mat"):
        load_kernel(tmp_path / "bad.mat")


def test_find_kernel_files(tmp_path):
    k = gaussian_kernel(13, 1.0)
    for img in ("a", "b"):  # KernelGAN result layout
        (tmp_path / "results" / img).mkdir(parents=True)
        savemat(tmp_path / "results" / img / f"{img}_kernel_x2.mat", {"Kernel": k})
        savemat(tmp_path / "results" / img / f"{img}_kernel_x4.mat", {"Kernel": k})
    (tmp_path / "kernels").mkdir()
    np.save(tmp_path / "kernels" / "c_kernel_x4.npy", k)
    savemat(tmp_path / "kernels" / "c_kernel_x4.mat", {"Kernel": k})
    found = find_kernel_files(tmp_path, 4)
    assert [p.name for p in found] == ["c_kernel_x4.npy", "a_kernel_x4.mat", "b_kernel_x4.mat"]
    flat = tmp_path / "flat"
    flat.mkdir()
    np.save(flat / "one.npy", k)
    assert [p.name for p in find_kernel_files(flat, 2)] == ["one.npy"]
    with pytest.raises(InputError):
        find_kernel_files(tmp_path / "missing", 2)


@pytest.mark.parametrize("size", [7, 17])  # direct convolution and FFT paths
def test_blur_matches_scipy_correlate(size):
    rng = np.random.default_rng(0)
    img = rng.random((2, 19, 23))
    k = gaussian_kernel(size, 2.0, 0.8, 0.5)
    k[0, 1] += 0.05  # make it asymmetric so correlation vs convolution matters
    k /= k.sum()
    out = blur(torch.from_numpy(img)[None], k)[0].numpy()
    sym = blur(torch.from_numpy(img)[None], k, padding="symmetric")[0].numpy()
    for c in range(2):
        np.testing.assert_allclose(out[c], ndimage.correlate(img[c], k, mode="mirror"), atol=1e-12)
        np.testing.assert_allclose(sym[c], ndimage.correlate(img[c], k, mode="reflect"), atol=1e-12)


def test_blur_subsample_is_kernelgan_model():
    rng = np.random.default_rng(1)
    img = rng.random((1, 3, 16, 20))
    k = gaussian_kernel(13, 1.5)
    out = blur_subsample(torch.from_numpy(img), k, 4)[0].numpy()
    assert out.shape == (3, 4, 5)
    for c in range(3):
        full = ndimage.correlate(img[0, c], k, mode="reflect")
        np.testing.assert_allclose(out[c], full[0::4, 0::4], atol=1e-12)
    # a delta kernel is plain decimation
    delta = np.zeros((5, 5))
    delta[2, 2] = 1
    np.testing.assert_array_equal(blur_subsample(torch.from_numpy(img), delta, 2).numpy(), img[..., ::2, ::2])


def test_zero_padded_kernel_gives_the_same_blur():
    x = torch.from_numpy(np.random.default_rng(2).random((1, 3, 20, 20)))
    k = make_kernel({"type": "aniso", "size": 7, "sigma_x": 1.5, "sigma_y": 0.6, "theta": 0.3})
    padded = make_kernel({"type": "aniso", "size": 7, "sigma_x": 1.5, "sigma_y": 0.6, "theta": 0.3, "pad_to": 21})
    assert padded.shape == (21, 21)
    torch.testing.assert_close(blur(x, padded), blur(x, k), atol=1e-12, rtol=0)
