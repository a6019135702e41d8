"""Unsharp-masked ground truth, as Real-ESRGAN trains its pixel and perceptual losses (``l1_gt_usm``).

BasicSR ``USMSharp`` (basicsr/utils/img_process_util.py): Gaussian blur of size 51 (OpenCV's sigma for
``sigma=0``: 0.3*((51-1)/2-1)+0.8 = 8.0), residual ``img - blur``, mask ``|residual|*255 > 10`` softened by
the same blur, ``out = mask*clip(img + 0.5*residual) + (1-mask)*img``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _gauss(size: int, like: Tensor) -> Tensor:
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).to(like)


def _filter(x: Tensor, kernel: Tensor) -> Tensor:
    c, k = x.shape[1], kernel.shape[-1]
    pad = k // 2
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"
    weight = kernel.expand(c, 1, k, k)
    return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode=mode), weight, groups=c)


@torch.no_grad()
def usm_sharp(img: Tensor, weight: float = 0.5, radius: int = 50, threshold: float = 10) -> Tensor:
    if radius % 2 == 0:
        radius += 1
    kernel = _gauss(radius, img.float())
    img = img.float()
    residual = img - _filter(img, kernel)
    mask = ((residual.abs() * 255) > threshold).float()
    soft = _filter(mask, kernel)
    sharp = (img + weight * residual).clamp(0, 1)
    return soft * sharp + (1 - soft) * img
