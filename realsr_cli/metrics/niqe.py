"""NIQE: Mittal, Soundararajan, Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE SPL 2013.

MATLAB-compatible port of the official release (``niqe_release``: ``computequality.m``, ``computefeature.m``,
``estimateaggdparam.m``; also BasicSR ``basicsr/metrics/niqe.py`` and pyiqa ``niqe_arch.py``): the image is
converted to gray (MATLAB ``rgb2gray``, default) or to the Y of ``rgb2ycbcr``, scaled to [0, 255] and rounded as
MATLAB does for uint8 input, cropped to whole 96x96 blocks; at each of 2 scales (the second made by MATLAB bicubic
``imresize(I, 0.5)`` with antialiasing) MSCN coefficients are computed with a 7x7 Gaussian (sigma 7/6, replicate
padding) and 18 AGGD features per block; a multivariate Gaussian fitted to the block features is compared with the
pristine model (``modelparameters.mat``, shipped as ``data/niqe_pris_params.npz``, Apache-2.0 via BasicSR):
``sqrt((mu_p - mu_d)^T pinv((S_p + S_d) / 2) (mu_p - mu_d))``. Lower is better.

One deliberate detail: in 7x7 windows whose pixels are all equal (up to 1e-9, the rounding noise of the half-size
resampling) the MSCN coefficient is set to exactly 0. Any implementation otherwise gets floating-point noise there
(~1e-14, its sign depending on the summation order of the filter and of ``imresize``), and in images with large flat
areas that noise decides the AGGD fits. With it, the five TID2013 calibration images in ``../shared/data/calibration``
are within 0.03 of the official MATLAB values (pyiqa's port: within 0.44), and the result no longer depends on how
the filters round; on textured images it equals BasicSR's ``calculate_niqe`` to ~1e-5.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.metrics.full_reference import rgb_to_y
from realsr_cli.metrics.natural_scene import aggd_features, mscn, rgb_to_gray

NIQE_PARAMS = Path(__file__).parent / "data" / "niqe_pris_params.npz"
BLOCK = 96


@lru_cache(maxsize=1)
def _pristine() -> tuple[np.ndarray, np.ndarray]:
    with np.load(NIQE_PARAMS, allow_pickle=False) as data:
        return data["mu_pris_param"].ravel().astype(np.float64), data["cov_pris_param"].astype(np.float64)


def to_luma_255(x: torch.Tensor, color: str = "gray") -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> (B, 1, H, W) float64 in [0, 255], rounded like MATLAB on uint8 images."""
    x = x.to(torch.float64)
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.shape[1] in (2, 4):
        x = x[:, : x.shape[1] - 1]  # drop alpha
    if color == "gray":
        luma = rgb_to_gray(x)
    elif color == "y":
        luma = rgb_to_y(x)
    else:
        raise InputError(f"unknown colour conversion '{color}' (gray or y)")
    return (luma * 255.0).round()


def _block_features(img: torch.Tensor, block: int) -> torch.Tensor:
    """(1, 1, H, W) with H, W multiples of ``block`` -> (n_blocks, 18)."""
    coeffs = mscn(img, exact_flat=True)[0, 0]
    h, w = coeffs.shape
    blocks = coeffs.reshape(h // block, block, w // block, block).permute(0, 2, 1, 3).reshape(-1, block, block)
    return aggd_features(blocks)


def niqe_features(luma: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
    """Per-block 36-D NIQE features of one (1, 1, H, W) image in [0, 255]."""
    from realsr_cli.degradations.resize import imresize

    h, w = luma.shape[-2:]
    nh, nw = h // block, w // block
    if nh < 1 or nw < 1:
        raise InputError(f"NIQE needs at least {block}x{block} pixels, got {w}x{h}")
    img = luma[..., : nh * block, : nw * block]
    feats = [_block_features(img, block)]
    half = imresize(img / 255.0, scale=0.5, antialias=True) * 255.0
    feats.append(_block_features(half, block // 2))
    return torch.cat(feats, dim=1)


def niqe_from_features(feats: np.ndarray) -> float:
    """NIQE distance of block features (n, 36) to the pristine model (NaN rows ignored, as MATLAB nancov)."""
    mu_p, cov_p = _pristine()
    mu_d = np.nanmean(feats, axis=0)
    clean = feats[~np.isnan(feats).any(axis=1)]
    if len(clean) == 0:
        raise InputError("NIQE: no 96x96 block has usable statistics (flat image?)")
    # MATLAB cov normalises by N - 1, or by N for a single observation (then all zeros).
    cov_d = np.cov(clean, rowvar=False) if len(clean) > 1 else np.zeros((feats.shape[1], feats.shape[1]))
    diff = mu_p - mu_d
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff))


def niqe(x: torch.Tensor, crop_border: int = 0, color: str = "gray") -> torch.Tensor:
    """NIQE of each image of (B, C, H, W) in [0, 1] (lower is better); returns float64 (B,)."""
    luma = to_luma_255(x, color)
    if crop_border:
        luma = luma[..., crop_border:-crop_border, crop_border:-crop_border]
    values = [niqe_from_features(niqe_features(luma[i : i + 1]).cpu().numpy()) for i in range(luma.shape[0])]
    return torch.tensor(values, dtype=torch.float64)
