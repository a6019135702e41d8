"""Noise patches: the RealSR window rule, bit depth, noise-level estimates against known added noise; the adaptive
rule on synthetic noisy cameras (textured scenes, Gaussian / Poisson-Gaussian noise, JPEG)."""

from __future__ import annotations

import numpy as np
import pytest

from realsr_cli.errors import InputError
from realsr_cli.learn.noise_model import block_stats, fit_levels, pool
from realsr_cli.learn.noise_patches import (
    AdaptiveRule,
    NoiseRule,
    adaptive_reason,
    collect_adaptive,
    collect_patches,
    immerkaer_sigma,
    noise_rule_from_options,
    suggestion,
)
from tests.noise_cameras import Camera, photos


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


# ------------------------------------------------------------------------------------------- the adaptive rule

NOISY = {
    "gauss10": Camera(sigma=10.0),
    "gauss25": Camera(sigma=25.0),
    "poisson-gauss": Camera(sigma=3.0, a=2.0),
    "gauss12-jpeg90": Camera(sigma=12.0, jpeg=90),
    "poisson-gauss-jpeg85": Camera(sigma=4.0, a=1.0, jpeg=85),
}


@pytest.mark.parametrize("name", sorted(NOISY))
def test_adaptive_rule_keeps_true_noise_on_noisy_textured_photos_where_realsr_keeps_none(name):
    camera = NOISY[name]
    kept = 0
    shots = photos(camera, n=2, size=384)
    levels = fit_levels(pool([block_stats(p) for p in shots]))  # the camera's, as learn-degradation fits it
    for pixels in shots:
        assert collect_patches(pixels).patches == []  # RealSR: no 256-px window has variance < 20
        assert collect_patches(pixels, NoiseRule(64, 64)).patches == []  # not even with 64-px windows
        res = collect_adaptive(pixels, levels)
        kept += len(res.patches)
        for patch in res.patches:  # each kept window is noise: its std is the camera's at its brightness
            p = patch.astype(np.float64)
            truth = np.sqrt(camera.flat_variance(p.mean((0, 1))))
            np.testing.assert_allclose(p.std((0, 1)), truth, rtol=0.15)
    assert kept >= 2


@pytest.mark.parametrize(
    "camera",
    [Camera(sigma=2.0), Camera(sigma=5.0), Camera(sigma=25.0), Camera(sigma=3.0, a=0.8), Camera(sigma=10.0, jpeg=90)],
    ids=["gauss2", "gauss5", "gauss25", "poisson-gauss", "gauss10-jpeg90"],
)
def test_photo_noise_level_within_15_percent_on_textured_photos(camera):
    for pixels in photos(camera, n=2, size=320, seed=3):
        res = collect_adaptive(pixels, fit_levels(block_stats(pixels)))
        truth = float(np.sqrt(camera.flat_variance(res.brightness).mean()))  # JPEG: the noise left in the file
        assert res.sigma == pytest.approx(truth, rel=0.15)
    if camera.jpeg:  # ... which JPEG shrank: the pre-JPEG sigma is not what the photos hold
        assert truth < 0.85 * camera.sigma


def test_adaptive_rule_on_a_clean_flat_photo_keeps_non_overlapping_windows():
    pixels = _flat_noisy(256, 256, 2.0)
    res = collect_adaptive(pixels, fit_levels(block_stats(pixels)))
    assert res.windows == 49 and res.passed == 49  # (256 - 64) / 32 + 1 = 7 per axis, all flat
    assert 9 <= len(res.patches) <= 16  # greedy, never overlapping, at most max_patches
    tops = sorted(res.boxes)
    assert all(abs(a[0] - b[0]) >= 64 or abs(a[1] - b[1]) >= 64 for i, a in enumerate(tops) for b in tops[i + 1 :])
    assert res.sigma == pytest.approx(2.0, rel=0.15) and res.patch_sigma == pytest.approx(2.0, rel=0.15)
    # the gentle gradient is removed from the saved patches (mean kept)
    assert abs(float(res.patches[0].astype(float).mean()) - float(pixels[:64, :64].astype(float).mean())) < 1.0


def test_adaptive_rule_explains_an_empty_result():
    rng = np.random.default_rng(1)
    texture = rng.integers(30, 226, (200, 200, 3), dtype=np.uint8)
    fit = fit_levels(block_stats(_flat_noisy(200, 200, 3.0)))  # sigma 3, but the image is pure texture
    rule = AdaptiveRule()
    res = collect_adaptive(texture, fit, rule)
    assert res.patches == [] and res.lowest_ratio > 10
    assert "--noise-tolerance" in adaptive_reason(res, rule, texture.shape)
    small = collect_adaptive(texture[:40, :40], fit, rule)
    assert small.windows == 0 and "smaller than one 64x64" in adaptive_reason(small, rule, (40, 40, 3))


def test_noise_rule_options():
    assert isinstance(noise_rule_from_options("adaptive", None, None, 1.3, None, 0.0), AdaptiveRule)
    rule = noise_rule_from_options("adaptive", 48, None, 1.5, None, 0.0)
    assert (rule.window, rule.stride, rule.tolerance) == (48, 24, 1.5)
    realsr = noise_rule_from_options("realsr", None, None, 1.3, None, 5.0)
    assert realsr == NoiseRule(256, 256, 20.0, 5.0)
    with pytest.raises(InputError, match="--noise-rule realsr"):
        noise_rule_from_options("adaptive", None, None, 1.3, 30.0, 0.0)
    with pytest.raises(InputError, match="adaptive or realsr"):
        noise_rule_from_options("magic", None, None, 1.3, None, 0.0)
