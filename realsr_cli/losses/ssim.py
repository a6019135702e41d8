"""Differentiable SSIM and MS-SSIM losses (``1 - SSIM``).

SSIM: Wang et al., "Image Quality Assessment: From Error Visibility to Structural Similarity", TIP 2004
(11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1). MS-SSIM: Wang, Simoncelli & Bovik,
"Multiscale Structural Similarity for Image Quality Assessment", 2003, with the published scale weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333) and 2x2 average pooling between scales. For training patches
too small for five scales (the window must fit at the coarsest scale), the number of scales is reduced
and the remaining weights are renormalised, as pytorch-msssim/IQA implementations require larger inputs.
Valid (unpadded) filtering, as the reference MATLAB code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_window(size: int, sigma: float, channels: int, like: Tensor) -> Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    win = torch.outer(g, g).to(dtype=like.dtype, device=like.device)
    return win.expand(channels, 1, size, size).contiguous()


def _ssim_cs(x: Tensor, y: Tensor, win: Tensor, c1: float, c2: float) -> tuple[Tensor, Tensor]:
    """Per-image mean SSIM and contrast-structure term, shape (B,)."""
    ch = x.shape[1]
    mu_x = F.conv2d(x, win, groups=ch)
    mu_y = F.conv2d(y, win, groups=ch)
    sxx = F.conv2d(x * x, win, groups=ch) - mu_x.pow(2)
    syy = F.conv2d(y * y, win, groups=ch) - mu_y.pow(2)
    sxy = F.conv2d(x * y, win, groups=ch) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mu_x * mu_y + c1) / (mu_x.pow(2) + mu_y.pow(2) + c1)
    return (lum * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim_map(x: Tensor, y: Tensor, win_size: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """Mean SSIM per image (B,) for (B,C,H,W) tensors; differentiable."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    win = _gaussian_window(min(win_size, x.shape[-1], x.shape[-2]), sigma, x.shape[1], x)
    return _ssim_cs(x.float(), y.float(), win.float(), c1, c2)[0]


def ms_ssim(x: Tensor, y: Tensor, win_size: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """MS-SSIM per image (B,); uses as many of the five scales as the input size allows (at least one)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    x, y = x.float(), y.float()
    levels = 1
    while levels < len(MS_SSIM_WEIGHTS) and min(x.shape[-2:]) // (2**levels) >= win_size:
        levels += 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    win = _gaussian_window(min(win_size, *x.shape[-2:]), sigma, x.shape[1], x)
    values = []
    for level in range(levels):
        s, cs = _ssim_cs(x, y, win, c1, c2)
        if level < levels - 1:
            values.append(cs.clamp_min(1e-8))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        else:
            values.append(s.clamp_min(1e-8))
    stacked = torch.stack(values, dim=0)  # (levels, B)
    return torch.prod(stacked ** weights[:, None], dim=0)


class SSIMLoss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - ssim_map(pred, target).mean()


class MSSSIMLoss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - ms_ssim(pred, target).mean()
