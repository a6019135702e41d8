"""PIQE: Venkatanath, Praneeth, Chandrasekhar, Channappayya, Medasani, "Blind Image Quality Evaluation Using
Perception Based Features", NCC 2015.

Port of MATLAB's ``piqe`` (Image Processing Toolbox), following pyiqa ``piqe_arch.py`` and pypiqe: gray (MATLAB
``rgb2gray``, rounded as on uint8 input) rescaled to ``round(255 * I / max(I))``, padded (replicate) to whole 16x16
blocks, MSCN with a 7x7 Gaussian (sigma 7/6, replicate padding, C = 1). A block is *active* when its MSCN variance
exceeds 0.1; an active block is distorted by a noticeable artifact when a 6-pixel segment of one of its edges has a
standard deviation below 0.1 (weight ``1 - var``), or by noise when its deviation exceeds twice the centre-surround
deviation ratio ``beta`` (weight ``var``). Score = ``100 (sum of weights + 1) / (active blocks + 1)``; 0..100, lower
is better. Needs no trained parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from realsr_cli.errors import InputError
from realsr_cli.metrics.natural_scene import mscn, rgb_to_gray

BLOCK = 16
ACTIVITY_T = 0.1
IMPAIRED_T = 0.1
SEGMENT = 6


def _gray_255(x: torch.Tensor) -> torch.Tensor:
    x = x.to(torch.float64)
    x = x if x.dim() == 4 else x.unsqueeze(0)
    if x.shape[1] in (2, 4):
        x = x[:, : x.shape[1] - 1]
    gray = (rgb_to_gray(x) * 255).round() / 255  # rgb2gray of a uint8 image, then im2double
    peak = gray.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (255 * gray / peak).round()


def _edges_impaired(blocks: torch.Tensor) -> torch.Tensor:
    """(B, N, 16, 16) -> (B, N) True when a 6-pixel edge segment is nearly constant (std < 0.1)."""
    edges = (blocks[:, :, 0, :], blocks[:, :, :, -1], blocks[:, :, -1, :], blocks[:, :, :, 0])
    low = [e.unfold(-1, SEGMENT, 1).std(dim=-1, unbiased=True) < IMPAIRED_T for e in edges]
    return torch.stack(low, dim=-1).flatten(2).any(dim=-1)


def _centre_surround(blocks: torch.Tensor) -> torch.Tensor:
    """Ratio of the deviation of the two centre columns to that of the surround (0 where undefined).

    As MATLAB's code (and pyiqa): centre = columns 8 and 9 (1-based); the surround removes column 8 and then
    column 9 *of the shortened block*, i.e. original columns 8 and 10.
    """
    c1 = BLOCK // 2
    centre = blocks[..., c1 - 1 : c1 + 1]
    surround = torch.cat([blocks[..., : c1 - 1], blocks[..., c1 : c1 + 1], blocks[..., c1 + 2 :]], dim=-1)
    ratio = centre.flatten(2).std(dim=-1, unbiased=True) / surround.flatten(2).std(dim=-1, unbiased=True)
    return torch.nan_to_num(ratio)


def piqe(x: torch.Tensor) -> torch.Tensor:
    """PIQE of each image of (B, C, H, W) in [0, 1] (lower is better); float64 (B,)."""
    img = _gray_255(x)
    h, w = img.shape[-2:]
    if h < BLOCK or w < BLOCK:
        raise InputError(f"PIQE needs at least {BLOCK}x{BLOCK} pixels, got {w}x{h}")
    pad_h, pad_w = (-h) % BLOCK, (-w) % BLOCK
    if pad_h or pad_w:
        img = F.pad(img, (0, pad_w, 0, pad_h), mode="replicate")
    norm = mscn(img)
    b = norm.shape[0]
    blocks = norm.unfold(2, BLOCK, BLOCK).unfold(3, BLOCK, BLOCK).reshape(b, -1, BLOCK, BLOCK)
    var = blocks.flatten(2).var(dim=-1, unbiased=True)
    active = var > ACTIVITY_T
    sigma = var.sqrt()
    csd = _centre_surround(blocks)
    beta = (sigma - csd).abs() / torch.maximum(sigma, csd)
    noisy = sigma > 2 * beta
    impaired = _edges_impaired(blocks)
    scores = active * impaired * (1 - var) + active * noisy * var
    return 100.0 * (scores.sum(dim=1) + 1) / (active.sum(dim=1) + 1)
