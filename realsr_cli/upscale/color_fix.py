"""Colour fidelity: keep the SR output's low frequencies equal to those of the (bicubically upscaled) input.

GAN upscalers are known to shift colours and tones (e.g. Real-ESRGAN issues about colour casts; StableSR's
"wavelet colour fix", Wang et al., IJCV 2024, replaces the low-frequency band of the output by the input's).
Here the split is a Gaussian low-pass with sigma = 2 LR pixels (2 x scale output pixels), computed at LR
resolution: ``fixed = SR + up(G(LR) - G(down(SR)))`` (down = s x s box average, up = bicubic), i.e. the
low-frequency band of SR is replaced by the input's. The colour shift reported in summaries is the mean absolute
difference of the per-channel means of SR and the bicubic upscale, on the 0-255 scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from realsr_cli.upscale.engine import color_shift  # noqa: F401 - the colour-shift report, importable from here


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


def color_fix(sr: torch.Tensor, lr: torch.Tensor, scale: int, sigma: float = 2.0) -> torch.Tensor:
    """Give ``sr`` (s x ``lr``) the low frequencies of ``lr``: ``SR + up(G(LR) - G(down(SR)))``.

    The low-pass is a Gaussian of ``sigma`` LR pixels (2 x scale output pixels) applied at LR resolution after an
    s x s box average of SR, and the correction is upsampled bicubically: the cost stays that of an LR-sized blur,
    even for huge outputs.
    """
    scale = int(scale)
    if sr.shape[-2:] != (lr.shape[-2] * scale, lr.shape[-1] * scale):
        raise ValueError(f"colour fix needs SR = {scale} x LR, got {tuple(sr.shape)} and {tuple(lr.shape)}")
    sr = sr.float()
    down = F.avg_pool2d(sr, scale) if scale > 1 else sr
    correction = gaussian_blur(lr.float(), sigma) - gaussian_blur(down, sigma)
    if scale > 1:
        correction = F.interpolate(correction, scale_factor=scale, mode="bicubic", align_corners=False)
    return (sr + correction).clamp(0.0, 1.0)
