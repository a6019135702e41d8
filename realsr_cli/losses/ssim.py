"""SSIM and MS-SSIM training losses (``1 - SSIM``), on the SSIM of the metrics.

SSIM is :func:`realsr_cli.metrics.full_reference.ssim_terms`, the one the ``score`` command reports (Wang et al.,
TIP 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid filtering, as MATLAB's ``ssim_index.m``), here
differentiated in the input's precision (float32); a patch smaller than the window is filtered with a window as
large as the patch. MS-SSIM: Wang, Simoncelli & Bovik, "Multiscale Structural Similarity for Image Quality
Assessment", 2003, with the published scale weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) and 2x2 average
pooling between scales. For training patches too small for five scales (the window must fit at the coarsest scale),
the number of scales is reduced and the remaining weights are renormalised, as pytorch-msssim/IQA implementations
require larger inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from realsr_cli.metrics.full_reference import ssim_map, ssim_terms

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _window(x: Tensor, win_size: int) -> int:
    return min(win_size, *x.shape[-2:])


def _per_image(value: Tensor) -> Tensor:
    return value.flatten(1).mean(1)


def ms_ssim(x: Tensor, y: Tensor, win_size: int = 11, sigma: float = 1.5) -> Tensor:
    """MS-SSIM per image (B,); uses as many of the five scales as the input size allows (at least one)."""
    x, y = x.float(), y.float()
    levels = 1
    while levels < len(MS_SSIM_WEIGHTS) and min(x.shape[-2:]) // (2**levels) >= win_size:
        levels += 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    window = _window(x, win_size)
    values = []
    for level in range(levels):
        lum_num, lum_den, cs_num, cs_den = ssim_terms(x, y, window, sigma)
        if level < levels - 1:
            values.append(_per_image(cs_num / cs_den).clamp_min(1e-8))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        else:
            values.append(_per_image((lum_num * cs_num) / (lum_den * cs_den)).clamp_min(1e-8))
    stacked = torch.stack(values, dim=0)  # (levels, B)
    return torch.prod(stacked ** weights[:, None], dim=0)


class SSIMLoss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        pred, target = pred.float(), target.float()
        return 1 - ssim_map(pred, target, window=_window(pred, 11)).mean()


class MSSSIMLoss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - ms_ssim(pred, target).mean()
