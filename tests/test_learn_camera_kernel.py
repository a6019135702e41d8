"""Issue 13 item 3 / issue 19: centred, untruncated KernelGAN kernels; the camera kernel and its robust aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from realsr_cli.degradations import kernel_centre
from realsr_cli.degradations.kernels import gaussian_kernel
from realsr_cli.learn import camera_kernel, kernel_aggregate, kernel_io
from realsr_cli.learn.kernelgan import (
    KernelGANConfig,
    analytic_kernel,
    camera_crop_plans,
    post_process_kernel,
    prepare_image,
    zeroize_negligible,
)


def _wide_raw_kernel() -> np.ndarray:
    """A raw 13x13 G kernel like the issue's widest: two lobes (0.65 at (2, 2), 0.35 at (10.5, 10)), mass far
    from the centre. Centred, it spans more than 13x13: the old crop back to 13x13 (25x25 at x4) cut it."""
    yy, xx = np.mgrid[0:13, 0:13]
    lobes = [np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.1**2)) for cy, cx in ((2, 2), (10.5, 10))]
    return 0.65 * lobes[0] / lobes[0].sum() + 0.35 * lobes[1] / lobes[1].sum()


def test_wide_kernel_is_centred_and_not_truncated():
    raw = _wide_raw_kernel()
    zeroized = zeroize_negligible(raw, 40)
    k2 = post_process_kernel(raw)
    assert k2.shape[0] > 13 and k2.shape[0] % 2 == 1
    assert np.abs(kernel_centre.centre_offset(k2, 2)).max() < 0.05
    assert kernel_centre.outside_mass(k2, 13) > 0.01  # the 13x13 crop of before would have cut > 1 % of the mass
    want, got = kernel_io.kernel_stats(zeroized), kernel_io.kernel_stats(k2)
    assert got["sigma_major"] == pytest.approx(want["sigma_major"], rel=0.01)  # nothing lost: same spread
    assert got["sigma_minor"] == pytest.approx(want["sigma_minor"], rel=0.05)  # (the spline shift smooths a little)
    k4 = analytic_kernel(k2)
    assert k4.shape[0] > 25 and kernel_centre.outside_mass(k4, 25) > 0.01
    assert np.abs(kernel_centre.centre_offset(k4, 4)).max() < 0.05
    stats4 = kernel_io.kernel_stats(k4)  # k * (k dilated by 2): variance 5x along every axis, when whole
    assert stats4["sigma_major"] == pytest.approx(np.sqrt(5) * got["sigma_major"], rel=0.01)


def test_recentre_keeps_the_mass_and_trim_keeps_alignment():
    k = np.zeros((9, 9))
    k[1:4, 5:8] = 1.0  # centre (2, 6); x2-aligned centre is (4.5, 4.5)
    out = kernel_centre.recentre(k, 2, order=1)
    assert np.abs(kernel_centre.centre_offset(out, 2)).max() < 1e-9 and out.sum() == pytest.approx(1.0)
    assert out.min() >= 0 and out.shape[0] % 2 == 1
    assert kernel_centre.trim(np.pad(out, 3), out.shape[0]).shape == out.shape  # zero rings go, alignment stays


def _jittered(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [
        gaussian_kernel(17, 2.0 + rng.normal(0, 0.08), 1.0 + rng.normal(0, 0.05), 0.5 + rng.normal(0, 0.05))
        for _ in range(n)
    ]


def _aligned(k: np.ndarray) -> np.ndarray:
    return kernel_centre.recentre(k, 2, order=1, min_size=17)


def test_aggregation_rejects_an_outlier():
    rng = np.random.default_rng(0)
    truth = _aligned(gaussian_kernel(17, 2.0, 1.0, 0.5))
    good = [_aligned(k) for k in _jittered(rng, 7)]
    outlier = _aligned(gaussian_kernel(17, 3.5, 3.0, 2.0))
    agg = kernel_aggregate.aggregate([*good[:3], outlier, *good[3:]])
    assert agg.inliers == [True, True, True, False, True, True, True, True]
    mean = kernel_aggregate.common_support([*good, outlier]).mean(0)
    a, t, mean = kernel_aggregate.common_support([agg.kernel, truth, mean])
    assert np.linalg.norm(a - t) < 0.5 * np.linalg.norm(mean - t)  # the plain mean is dragged by the outlier
    assert agg.reliable and agg.kernel.sum() == pytest.approx(1.0)
    assert np.abs(kernel_centre.centre_offset(agg.kernel, 2)).max() < 0.01


def test_disagreeing_estimates_are_reported_unreliable():
    specs = ((0.7, 0.7, 0), (3.5, 3.5, 0), (3.5, 0.7, 0), (3.5, 0.7, 1.57), (2, 2, 0), (2.5, 0.8, 0.8))
    agg = kernel_aggregate.aggregate([_aligned(gaussian_kernel(17, *p)) for p in specs])
    assert not agg.reliable and "disagree" in " ".join(agg.reasons)
    close = kernel_aggregate.aggregate([_aligned(k) for k in _jittered(np.random.default_rng(2), 2)], [0.05, 0.04])
    assert len(close.reasons) == 1 and "border of G's 13x13" in close.reasons[0]


def test_axial_angle_spread_wraps_at_180():
    mean, std = kernel_aggregate.axial_spread([178.0, 2.0, 1.0, 179.0])
    assert min(mean, 180 - mean) < 0.5 and std < 2.5
    _, wide = kernel_aggregate.axial_spread([0.0, 45.0, 90.0, 135.0])
    assert wide > 40


def _photos(n: int, size: int = 80) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    ims = [ndimage.gaussian_filter(rng.random((size, size + 6, 3)), (1.2, 1.2, 0)) for _ in range(n)]
    return [prepare_image((i - i.min()) / (i.max() - i.min())) for i in ims]


def test_camera_crops_come_from_every_photo():
    images = _photos(3)
    cfg = KernelGANConfig(iters=60)
    plans = camera_crop_plans(images, cfg, [np.random.default_rng(s) for s in (1, 2)])
    again = camera_crop_plans(images, cfg, [np.random.default_rng(s) for s in (1, 2)])
    for plan, same in zip(plans, again, strict=True):
        assert set(plan.g_image.tolist()) == {0, 1, 2} and set(plan.d_image.tolist()) == {0, 1, 2}
        assert np.array_equal(plan.g_top, same.g_top) and np.array_equal(plan.d_left, same.d_left)
        assert (plan.g_top % 2 == 0).all() and (plan.g_top + cfg.crop <= 80).all()
        assert (plan.d_left + cfg.d_input <= 86).all()
    assert not np.array_equal(plans[0].g_top, plans[1].g_top)  # each restart has its own stream


def test_camera_kernel_restarts_report_and_determinism():
    images = _photos(2)
    cfg = KernelGANConfig(iters=3)
    result = camera_kernel.camera_kernel(images, seed=4, restarts=3, config=cfg)
    again = camera_kernel.camera_kernel(images, seed=4, restarts=3, config=cfg)
    assert len(result.estimates) == 3 and np.array_equal(result.kernel_x2, again.kernel_x2)
    assert np.abs(kernel_centre.centre_offset(result.kernel_x4, 4)).max() < 0.05
    report = result.report()
    assert len(report["estimates"]) == 3 and {"x2", "x4"} <= set(report["spread"])
    assert report["spread"]["x4"]["estimates"] == sum(e["inlier"] for e in report["estimates"])
    photos = camera_kernel.photo_kernels([("a", images[0]), ("b", images[1])], seed=4, restarts=2, batch=3, config=cfg)
    assert [len(r.estimates) for r in photos.values()] == [2, 2]
    assert camera_kernel.camera_from_photos(photos).kernel_x2.sum() == pytest.approx(1.0)
