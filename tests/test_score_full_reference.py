"""PSNR / SSIM / Y channel against independent references (scikit-image, hand-computed values, MATLAB formula)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from realsr_cli.errors import InputError
from realsr_cli.metrics import aim2020_score, psnr, rgb_to_y, ssim
from tests.conftest import synthetic_image


def _pair(h=40, w=52, channels=3, seed=0):
    gt = synthetic_image(h, w, channels, seed=seed).astype(np.float64) / 255
    rng = np.random.default_rng(seed + 100)
    sr = np.clip(gt + 0.05 * rng.standard_normal(gt.shape), 0, 1)
    return sr, gt


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0)


def _sk_ssim(a, b):
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=2
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_ssim_match_skimage(channels):
    sr, gt = _pair(channels=channels)
    assert psnr(_t(sr), _t(gt)).item() == pytest.approx(peak_signal_noise_ratio(gt, sr, data_range=1.0), abs=1e-4)
    assert ssim(_t(sr), _t(gt)).item() == pytest.approx(_sk_ssim(sr, gt), abs=1e-5)


def test_crop_border_and_float32_inputs():
    sr, gt = _pair()
    c = 4
    ref_p = peak_signal_noise_ratio(gt[c:-c, c:-c], sr[c:-c, c:-c], data_range=1.0)
    ref_s = _sk_ssim(sr[c:-c, c:-c], gt[c:-c, c:-c])
    s32, g32 = _t(sr).float(), _t(gt).float()
    assert psnr(s32, g32, crop_border=c).item() == pytest.approx(ref_p, abs=1e-4)
    assert ssim(s32, g32, crop_border=c).item() == pytest.approx(ref_s, abs=1e-5)


def test_psnr_hand_computed():
    gt = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    sr = gt.clone()
    sr[0, 0, 0, 0] = 0.5  # MSE = 0.25 / 192
    assert psnr(sr, gt).item() == pytest.approx(10 * math.log10(192 / 0.25), abs=1e-9)
    assert math.isinf(psnr(gt, gt).item())


def test_y_channel_is_matlab_rgb2ycbcr():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    x = rgb.T.reshape(1, 3, 1, 5).double()
    y = rgb_to_y(x).flatten() * 255
    # MATLAB rgb2ycbcr on double inputs: Y = 16 + 65.481 R + 128.553 G + 24.966 B.
    assert y.tolist() == pytest.approx([81.481, 144.553, 40.966, 235.0, 16.0], abs=1e-9)


def test_y_channel_psnr_ssim_match_skimage_on_y():
    sr, gt = _pair(seed=3)
    w = np.array([65.481, 128.553, 24.966])
    ys, yg = (sr @ w + 16) / 255, (gt @ w + 16) / 255
    assert psnr(_t(sr), _t(gt), y_channel=True).item() == pytest.approx(
        peak_signal_noise_ratio(yg, ys, data_range=1.0), abs=1e-4
    )
    ref = structural_similarity(ys, yg, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert ssim(_t(sr), _t(gt), y_channel=True).item() == pytest.approx(ref, abs=1e-5)


def test_batch_gives_one_value_per_image():
    pairs = [_pair(seed=s) for s in range(3)]
    sr = torch.cat([_t(p[0]) for p in pairs])
    gt = torch.cat([_t(p[1]) for p in pairs])
    values = ssim(sr, gt)
    assert values.shape == (3,)
    for i, (s, g) in enumerate(pairs):
        assert values[i].item() == pytest.approx(_sk_ssim(s, g), abs=1e-5)


def test_mismatched_sizes_and_channels_are_clear():
    with pytest.raises(InputError, match="size mismatch"):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(InputError, match="channel mismatch"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))
    with pytest.raises(InputError, match="at least 11x11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_aim2020_score():
    assert aim2020_score(25.0, 0.7) == pytest.approx(0.5 + 0.5)


def test_ssim_matches_official_values_on_matlab_gray(shared_dir):
    """VALUES.md: SSIM of the TID2013 calibration pairs computed by MATLAB on ``rgb2gray`` images."""
    from realsr_cli.metrics.natural_scene import rgb_to_gray
    from realsr_cli.scoring import load_unit

    official = {"I03": 0.6993, "I04": 0.9978, "I06": 0.9989, "I08": 0.9669, "I19": 0.6519}
    cal = shared_dir / "data" / "calibration"
    for name, value in official.items():
        d, r = (rgb_to_gray(load_unit(cal / sub / f"{name}.bmp")) for sub in ("dist", "ref"))
        d, r = (torch.round(x * 255) / 255 for x in (d, r))  # rgb2gray on uint8 images gives uint8
        assert ssim(d, r).item() == pytest.approx(value, abs=6e-5), name
