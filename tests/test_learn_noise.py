"""Noise patches: the RealSR window rule, bit depth, noise-level estimates against known added noise."""

from __future__ import annotations

import numpy as np
import pytest

from realsr_cli.learn.noise_patches import NoiseRule, collect_patches, immerkaer_sigma, suggestion


def _flat_noisy(h: int, w: int, sigma: float, seed: int = 0, peak: int = 255, level: float = 110.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy = np.linspace(0, 1, h)[:, None, None]
    base = level + 2.0 * yy  # a very gentle gradient: flat-ish, not constant
    scale = peak / 255.0
    img = (base + rng.normal(0, sigma, (h, w, 3))) * scale
    return np.clip(np.rint(img), 0, peak).astype(np.uint16 if peak > 255 else np.uint8)


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_patch_std_within_15_percent_of_true_sigma(sigma):
    img = _flat_noisy(520, 520, sigma)
    res = collect_patches(img)
    assert len(res.patches) == 4  # windows at 0 and 256 in each direction (range(0, 520 - 256, 256))
    assert all(p.shape == (256, 256, 3) and p.dtype == np.uint8 for p in res.patches)
    assert res.patch_sigma == pytest.approx(sigma, rel=0.15)
    assert res.immerkaer_sigma == pytest.approx(sigma, rel=0.15)


def test_16bit_patches_keep_bit_depth_and_report_8bit_units():
    img = _flat_noisy(300, 300, 3.0, peak=65535)
    res = collect_patches(img)
    assert len(res.patches) == 1 and res.patches[0].dtype == np.uint16
    assert res.patch_sigma == pytest.approx(3.0, rel=0.15)


def test_window_rule_matches_realsr_ranges_and_thresholds():
    img = _flat_noisy(512, 512, 2.0)
    # the original iterates range(0, 512 - 256, 256) = [0]: a single window even though two would fit
    assert collect_patches(img).windows == 1
    assert len(collect_patches(img, NoiseRule(max_var=1.0)).patches) == 0  # variance ~4 > 1
    assert len(collect_patches(img, NoiseRule(min_mean=200)).patches) == 0  # mean ~111 < 200
    small = collect_patches(img, NoiseRule(window=100, stride=50))
    assert small.windows == len(range(0, 412, 50)) ** 2


def test_textured_image_gives_none_and_a_suggestion():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    rule = NoiseRule()
    res = collect_patches(img, rule)
    assert res.patches == [] and res.patch_sigma is None
    hint = suggestion(res, rule, img.shape)
    assert "--noise-max-var" in hint and "lowest variance" in hint
    assert "--noise-window" in suggestion(collect_patches(img[:100, :100], rule), rule, (100, 100, 3))


def test_immerkaer_ignores_smooth_structure():
    yy, xx = np.mgrid[0:200, 0:200].astype(np.float64)
    ramp = 0.5 * xx + 0.3 * yy  # planes are annihilated by the Laplacian-difference mask
    assert immerkaer_sigma(ramp) == pytest.approx(0.0, abs=1e-9)
    noise = np.random.default_rng(0).normal(0, 5.0, (200, 200))
    assert immerkaer_sigma(ramp + noise) == pytest.approx(5.0, rel=0.1)
