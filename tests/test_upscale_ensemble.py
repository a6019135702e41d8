"""Model-ensemble fusion (mean, Samsung-SLSI-MSL luminance) and colour fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realsr_cli.upscale.color_fix import color_fix, color_shift
from realsr_cli.upscale.ensemble import LuminanceFusion, fused_model, median_luma


def _const_model(value: float):
    return lambda x: torch.full((x.shape[0], 3, x.shape[2] * 2, x.shape[3] * 2), value)


def test_median_luma_is_bt601_on_0_255_scale():
    rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
    expected = np.median(255 * (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]))
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    assert median_luma(x) == pytest.approx(float(expected), abs=1e-3)


@pytest.mark.parametrize(("level", "dark"), [(30, True), (63, True), (64, False), (200, False)])
def test_luminance_fusion_formula(level, dark):
    lr = torch.full((1, 3, 4, 4), level / 255.0)
    rel, std = _const_model(0.8), _const_model(0.2)
    fn = fused_model([rel, std], "luminance", luma=median_luma(lr), params=LuminanceFusion(0.6, 0.4, 64))
    out = fn(lr)
    expected = 0.6 * 0.8 + 0.4 * 0.2 if dark else 0.8
    assert out.shape == (1, 3, 8, 8)
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-6)


def test_mean_fusion_and_argument_checks():
    out = fused_model([_const_model(0.1), _const_model(0.4), _const_model(0.7)], "mean")(torch.zeros(1, 3, 2, 2))
    assert torch.allclose(out, torch.full_like(out, 0.4))
    with pytest.raises(ValueError):
        fused_model([_const_model(0.1)] * 3, "luminance", luma=10.0)
    with pytest.raises(ValueError):
        fused_model([_const_model(0.1)] * 2, "median")


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
