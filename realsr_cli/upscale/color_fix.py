"""Colour fidelity: keep the SR output's low frequencies equal to those of the (bicubically upscaled) input.

GAN upscalers are known to shift colours and tones (e.g. Real-ESRGAN issues about colour casts; StableSR's
"wavelet colour fix", Wang et al., IJCV 2024, replaces the low-frequency band of the output by the input's).
Here the split is a Gaussian low-pass with sigma = 2 x scale output pixels:
``fixed = SR - G(SR) + G(bicubic(LR))``. The colour shift reported in summaries is the mean absolute difference of
the per-channel means of SR and the bicubic upscale, on the 0-255 scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (B, C, H, W) tensor; reflect padding (replicate when the image is too small)."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    pos = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    k = torch.exp(-(pos**2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.dtype)
    channels = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    y = F.pad(x, (radius, radius, 0, 0), mode=mode)
    y = F.conv2d(y, k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    y = F.pad(y, (0, 0, radius, radius), mode=mode)
    return F.conv2d(y, k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def color_fix(sr: torch.Tensor, reference: torch.Tensor, scale: float) -> torch.Tensor:
    """Replace the low frequencies of ``sr`` by those of ``reference`` (the input upscaled to the same size)."""
    if sr.shape != reference.shape:
        raise ValueError(f"colour fix needs equal shapes, got {tuple(sr.shape)} and {tuple(reference.shape)}")
    sigma = 2.0 * float(scale)
    sr = sr.float()
    return (sr - gaussian_blur(sr, sigma) + gaussian_blur(reference.float(), sigma)).clamp(0.0, 1.0)


def color_shift(sr: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean over channels of |mean(SR_c) - mean(reference_c)|, on the 0-255 scale."""
    diff = sr.float().mean(dim=(0, 2, 3)) - reference.float().mean(dim=(0, 2, 3))
    return float(diff.abs().mean()) * 255.0
