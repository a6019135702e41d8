"""Natural-scene-statistics helpers shared by NIQE, BRISQUE and PIQE (MATLAB conventions).

- ``rgb_to_gray``: MATLAB ``rgb2gray`` (0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B).
- ``gaussian_kernel``: MATLAB ``fspecial('gaussian', n, sigma)``; ``imfilter``: MATLAB ``imfilter`` (correlation)
  with 'replicate' or zero padding and 'same' output size.
- ``mscn``: mean-subtracted contrast-normalised coefficients (Mittal, Moorthy, Bovik, "No-reference image quality
  assessment in the spatial domain", IEEE TIP 2012, Eq. 1).
- ``estimate_aggd``: moment-matching fit of an asymmetric generalised Gaussian by table look-up over
  ``gam = 0.2:0.001:10`` exactly as ``estimateaggdparam.m`` of the NIQE/BRISQUE MATLAB releases (LIVE, UT Austin).

All functions work on float64 tensors (N, 1, H, W) so that results match the MATLAB reference code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2gray`` of (B, 3, H, W) (gray input passes through); same value range as the input."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(RGB2GRAY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x[:, :3] * w).sum(dim=1, keepdim=True)


def gaussian_kernel(size: int, sigma: float, dtype=torch.float64, device=None) -> torch.Tensor:
    """MATLAB ``fspecial('gaussian', size, sigma)`` (normalised to sum 1)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    k = torch.exp(-(xx**2 + yy**2) / (2.0 * sigma**2))
    return k / k.sum()


def imfilter(x: torch.Tensor, kernel: torch.Tensor, padding: str = "replicate") -> torch.Tensor:
    """MATLAB ``imfilter(x, kernel, padding)`` with 'same' output on (N, 1, H, W); ``padding``: replicate | zeros."""
    kh, kw = kernel.shape
    # MATLAB pads floor((k-1)/2) before and ceil((k-1)/2) after (centre at floor((k+1)/2)).
    pads = ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2)
    x = F.pad(x, pads, mode="replicate") if padding == "replicate" else F.pad(x, pads)
    return F.conv2d(x, kernel.to(x).view(1, 1, kh, kw))


def mscn(
    x: torch.Tensor,
    size: int = 7,
    sigma: float = 7 / 6,
    c: float = 1.0,
    padding: str = "replicate",
    exact_flat: bool = False,
    flat_tol: float = 1e-9,
) -> torch.Tensor:
    """``(I - mu) / (sigma + c)`` with a Gaussian-weighted local mean and deviation (Mittal et al. 2012, Eq. 1).

    ``exact_flat``: where the whole window is constant (range <= ``flat_tol``, i.e. equal up to the rounding noise
    of a resampling) the coefficient is exactly 0 (instead of the rounding noise
    of the filter, whose sign then decides the AGGD fit of nearly flat blocks; see ``niqe``).
    """
    k = gaussian_kernel(size, sigma, dtype=x.dtype, device=x.device)
    mu = imfilter(x, k, padding)
    sd = (imfilter(x * x, k, padding) - mu * mu).abs().sqrt()
    out = (x - mu) / (sd + c)
    if exact_flat:
        pads = ((size - 1) // 2, size // 2, (size - 1) // 2, size // 2)
        xp = F.pad(x, pads, mode="replicate") if padding == "replicate" else F.pad(x, pads)
        flat = F.max_pool2d(xp, size, 1) + F.max_pool2d(-xp, size, 1) <= flat_tol
        out = out.masked_fill(flat, 0.0)
    return out


def _gam_table(dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    gam = torch.arange(200, 10001, dtype=dtype, device=device) / 1000.0  # 0.2:0.001:10
    r_gam = torch.exp(2 * torch.lgamma(2 / gam) - torch.lgamma(1 / gam) - torch.lgamma(3 / gam))
    return gam, r_gam


def estimate_aggd(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AGGD (alpha, beta_left, beta_right) of each row of ``v`` (N, M); NaN where a side is empty."""
    gam, r_gam = _gam_table(v.dtype, v.device)
    left, right = v < 0, v > 0
    left_std = ((v * v) * left).sum(1).div(left.sum(1)).sqrt()
    right_std = ((v * v) * right).sum(1).div(right.sum(1)).sqrt()
    gammahat = left_std / right_std
    rhat = v.abs().mean(1).pow(2) / (v * v).mean(1)
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    idx = (r_gam.unsqueeze(0) - rhatnorm.unsqueeze(1)).pow(2).nan_to_num(float("inf")).argmin(1)
    alpha = torch.where(torch.isnan(rhatnorm), torch.full_like(rhatnorm, float("nan")), gam[idx])
    factor = torch.exp(torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)).sqrt()
    return alpha, left_std * factor, right_std * factor


def aggd_features(v: torch.Tensor) -> torch.Tensor:
    """The 18 NIQE features of each row of MSCN blocks ``v`` (N, h, w): AGGD of the coefficients and of the
    products with their 4 circularly shifted neighbours (alpha, mean, beta_l, beta_r each)."""
    n = v.shape[0]
    alpha, bl, br = estimate_aggd(v.reshape(n, -1))
    feats = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        prod = (v * torch.roll(v, shifts=shift, dims=(1, 2))).reshape(n, -1)
        a, l, r = estimate_aggd(prod)
        mean = (r - l) * torch.exp(torch.lgamma(2 / a) - torch.lgamma(1 / a))
        feats += [a, mean, l, r]
    return torch.stack(feats, dim=1)
