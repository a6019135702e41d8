"""Full-reference metrics with the conventions of the SR challenges and BasicSR: PSNR, SSIM, the Y channel.

- PSNR on [0, 1] data: ``10 log10(1 / MSE)``, optionally on the Y channel of ITU-R BT.601 YCbCr as MATLAB's
  ``rgb2ycbcr`` computes it (``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for R, G, B in [0, 1], i.e. Y in
  [16, 235] / 255), after removing ``crop_border`` pixels on each side (BasicSR ``calculate_psnr``; the AIM 2020
  efficient SR protocol crops 4).
- SSIM: Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error visibility to structural similarity",
  IEEE TIP 2004, and their ``ssim_index.m``: 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, the 'valid'
  region of the filtered maps, computed per channel and averaged (as BasicSR ``calculate_ssim`` and scikit-image
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``). The package's one
  SSIM: :func:`ssim_terms` is differentiable, and the SSIM / MS-SSIM training losses (``realsr_cli.losses.ssim``)
  are built on it.
- The AIM 2020 Real Image SR challenge score ``PSNR / 50 + (SSIM - 0.4) / 0.6`` (Wei et al., AIM 2020 Challenge on
  Real Image Super-Resolution, ECCVW 2020).

Inputs are (B, C, H, W) or (C, H, W) float tensors in [0, 1]; results are float64 tensors of shape (B,).
Computation is in float64 so that results agree with reference implementations to 1e-5.
"""

from __future__ import annotations

import math

import torch

from realsr_cli.errors import InputError

# MATLAB rgb2ycbcr (BT.601, studio swing), rows = Y, Cb, Cr; for inputs in [0, 1] and outputs in [0, 255].
_Y_WEIGHTS = (65.481, 128.553, 24.966)


def _as_batch(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise InputError(f"{name}: expected a (B, C, H, W) or (C, H, W) tensor, got shape {tuple(x.shape)}")
    return x


def _check_pair(sr: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    sr, gt = _as_batch(sr, "sr"), _as_batch(gt, "gt")
    if sr.shape[-2:] != gt.shape[-2:]:
        raise InputError(
            f"size mismatch: SR is {sr.shape[-1]}x{sr.shape[-2]}, GT is {gt.shape[-1]}x{gt.shape[-2]} (width x height)"
        )
    if sr.shape[1] != gt.shape[1]:
        raise InputError(f"channel mismatch: SR has {sr.shape[1]} channel(s), GT has {gt.shape[1]}")
    if sr.shape[0] != gt.shape[0] and 1 not in (sr.shape[0], gt.shape[0]):
        raise InputError(f"batch mismatch: SR has {sr.shape[0]} image(s), GT has {gt.shape[0]}")
    return sr, gt


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Y of MATLAB ``rgb2ycbcr`` for RGB in [0, 1]: ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255`` (B, 1, H, W)."""
    x = _as_batch(x, "image")
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise InputError(f"Y channel needs an RGB image, got {x.shape[1]} channels")
    w = torch.tensor(_Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x * w).sum(dim=1, keepdim=True) + 16.0) / 255.0


def _prepare(sr: torch.Tensor, gt: torch.Tensor, crop_border: int, y_channel: bool):
    sr, gt = _check_pair(sr, gt)
    sr, gt = sr.to(torch.float64), gt.to(torch.float64)
    if crop_border:
        if 2 * crop_border >= min(sr.shape[-2:]):
            raise InputError(f"--crop-border {crop_border} leaves nothing of a {sr.shape[-1]}x{sr.shape[-2]} image")
        sr = sr[..., crop_border:-crop_border, crop_border:-crop_border]
        gt = gt[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        sr, gt = rgb_to_y(sr), rgb_to_y(gt)
    return sr, gt


def psnr(sr: torch.Tensor, gt: torch.Tensor, crop_border: int = 0, y_channel: bool = False) -> torch.Tensor:
    """PSNR in dB for [0, 1] images (peak 1), per image; ``inf`` for identical images."""
    sr, gt = _prepare(sr, gt, crop_border, y_channel)
    mse = (sr - gt).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / mse)


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian (MATLAB ``fspecial('gaussian', size, sigma)`` is its outer product)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' filtering of (N, C, H, W) with the 1-D kernel ``g``, as a sum of shifted slices.

    (Faster than a float64 depthwise ``conv2d`` on CPU, and memory-light on large images.)
    """
    k = g.numel()
    h, w = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    weights = g.tolist()
    rows = x[..., :, 0:w] * weights[0]
    for i in range(1, k):
        rows.add_(x[..., :, i : i + w], alpha=weights[i])
    out = rows[..., 0:h, :] * weights[0]
    for i in range(1, k):
        out.add_(rows[..., i : i + h, :], alpha=weights[i])
    return out


def ssim_terms(
    sr: torch.Tensor, gt: torch.Tensor, window: int = 11, sigma: float = 1.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """SSIM's luminance and contrast-structure numerators and denominators, maps (B, C, H - window + 1,
    W - window + 1) of float tensors in [0, 1], in their precision; differentiable (the training losses use them).

    SSIM = (lum_num * cs_num) / (lum_den * cs_den); MS-SSIM's contrast-structure term is cs_num / cs_den."""
    c1, c2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2
    g = gaussian_window(window, sigma, dtype=torch.float64, device=sr.device).to(sr.dtype)
    # One filtering pass over the five stacked moment maps.
    c = sr.shape[1]
    sr, gt = torch.broadcast_tensors(sr, gt)
    stacked = torch.cat([sr, gt, sr * sr, gt * gt, sr * gt], dim=1)
    mu_x, mu_y, xx, yy, xy = _filter_valid(stacked, g).split(c, dim=1)
    sigma_x = xx - mu_x**2
    sigma_y = yy - mu_y**2
    sigma_xy = xy - mu_x * mu_y
    return 2 * mu_x * mu_y + c1, mu_x**2 + mu_y**2 + c1, 2 * sigma_xy + c2, sigma_x + sigma_y + c2


def ssim_map(sr: torch.Tensor, gt: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """SSIM map (B, C, H - window + 1, W - window + 1) of float tensors in [0, 1]; differentiable."""
    lum_num, lum_den, cs_num, cs_den = ssim_terms(sr, gt, window, sigma)
    return (lum_num * cs_num) / (lum_den * cs_den)


def ssim(
    sr: torch.Tensor, gt: torch.Tensor, crop_border: int = 0, y_channel: bool = False, window: int = 11
) -> torch.Tensor:
    """Mean SSIM per image (Wang et al. 2004), per channel then averaged over channels."""
    sr, gt = _prepare(sr, gt, crop_border, y_channel)
    if min(sr.shape[-2:]) < window:
        raise InputError(f"SSIM needs images of at least {window}x{window} pixels, got {sr.shape[-1]}x{sr.shape[-2]}")
    return ssim_map(sr, gt, window=window).mean(dim=(1, 2, 3))


def aim2020_score(psnr_db: float, ssim_value: float) -> float:
    """AIM 2020 Real Image SR challenge score: ``PSNR / 50 + (SSIM - 0.4) / 0.6``."""
    if math.isinf(psnr_db):
        return math.inf
    return psnr_db / 50.0 + (ssim_value - 0.4) / 0.6
