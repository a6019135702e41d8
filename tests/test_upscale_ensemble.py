"""Model-ensemble fusion (mean, Samsung-SLSI-MSL luminance) and colour fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realsr_cli.upscale.color_fix import color_fix, color_shift
from realsr_cli.upscale.ensemble import LuminanceFusion, fused_model, luminance_ensemble, median_luma


def _const_model(value: float):
    return lambda x: torch.full((x.shape[0], 3, x.shape[2] * 2, x.shape[3] * 2), value)


def test_median_luma_is_bt601_on_0_255_scale():
    rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
    expected = np.median(255 * (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]))
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    assert median_luma(x) == pytest.approx(float(expected), abs=1e-3)


@pytest.mark.parametrize(("level", "dark"), [(30, True), (63, True), (64, False), (200, False)])
def test_luminance_fusion_formula(level, dark):
    sr_rel, sr_std = torch.full((1, 3, 8, 8), level / 255.0), torch.full((1, 3, 8, 8), 0.2)
    calls = []
    out, luma = luminance_ensemble(sr_rel, lambda: calls.append(1) or sr_std, LuminanceFusion(0.6, 0.4, 64))
    expected = 0.6 * level / 255.0 + 0.4 * 0.2 if dark else level / 255.0
    assert luma == pytest.approx(level, abs=1e-3)
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-6)
    assert len(calls) == (1 if dark else 0)  # the standard-GAN model runs only for dark images


def test_luminance_decision_is_on_the_relativistic_output_not_the_input():
    """Dark SR_rel fuses whatever the input; a given ``luma`` (the image's, for alpha) overrides SR_rel's."""
    params = LuminanceFusion(0.6, 0.4, 64)
    dark_rel = torch.full((1, 3, 4, 4), 40 / 255.0)
    dark_rel[..., 0, 0] = 1.0  # one bright pixel moves the mean, not the median
    std = torch.full((1, 3, 4, 4), 100 / 255.0)
    out, luma = luminance_ensemble(dark_rel, lambda: std, params)
    assert luma == pytest.approx(40, abs=1e-3)
    assert torch.allclose(out[..., 1:, 1:], torch.full((1, 3, 3, 3), (0.6 * 40 + 0.4 * 100) / 255.0), atol=1e-6)
    out, luma = luminance_ensemble(dark_rel, lambda: std, params, luma=200.0)
    assert luma == 200.0 and torch.equal(out, dark_rel)


def test_mean_fusion():
    out = fused_model([_const_model(0.1), _const_model(0.4), _const_model(0.7)])(torch.zeros(1, 3, 2, 2))
    assert torch.allclose(out, torch.full_like(out, 0.4))
    single = _const_model(0.3)
    assert fused_model([single]) is single


def test_color_fix_removes_a_colour_cast_and_keeps_detail():
    gen = torch.Generator().manual_seed(0)
    lr = F.avg_pool2d(torch.rand(1, 3, 96, 96, generator=gen), 4) * 0.5 + 0.25  # smooth-ish 24 x 24
    bicubic = F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
    detail = 0.05 * torch.randn(1, 3, 48, 48, generator=gen)
    cast = torch.tensor([0.1, -0.05, 0.08]).view(1, 3, 1, 1)
    sr = bicubic + detail + cast
    assert color_shift(sr, lr) == pytest.approx(255 * (0.1 + 0.05 + 0.08) / 3, abs=0.6)  # + noise of the detail
    assert color_shift(bicubic, lr) < 0.3  # the bicubic upscale keeps the input's channel means
    fixed = color_fix(sr, lr, 2)
    assert color_shift(fixed, lr) < 0.5
    # high frequencies (the detail) survive: the residual correlates with the injected detail
    corr = torch.corrcoef(torch.stack([(fixed - bicubic).flatten(), detail.flatten()]))[0, 1]
    assert float(corr) > 0.8
    # low frequencies now follow the input: blurred fixed output is close to the blurred bicubic upscale
    from realsr_cli.upscale.color_fix import gaussian_blur

    low = (gaussian_blur(fixed, 4.0) - gaussian_blur(bicubic, 4.0)).abs().mean()
    assert float(low) < 0.01 < float((gaussian_blur(sr, 4.0) - gaussian_blur(bicubic, 4.0)).abs().mean())
