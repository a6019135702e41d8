"""Real noise patches from flat regions, and per-image noise-level estimates.

The RealSR rule (Ji et al., "Real-World Super-Resolution via Kernel Estimation and Noise Injection", CVPRW 2020,
NTIRE 2020 winner; official code https://github.com/jixiaozhong/RealSR codes/preprocess/collect_noise.py):
non-overlapping 256x256 windows of the gray image (``range(0, H - 256, 256)`` as the original, so a window
touching the last row/column is not used), kept when the gray variance is below 20 and the mean above a floor
(both on the 0-255 scale; 16-bit images are judged on value / 257). Kept patches are the colour windows, saved
at the source's bit depth; the mean is removed only when they are injected.

Noise level: the median over kept patches of the per-channel standard deviation (0-255 units), and Immerkaer's
fast estimator on each colour channel of the whole image, averaged (J. Immerkaer, "Fast Noise Variance Estimation", CVIU 1996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


@dataclass
class NoiseRule:
    window: int = 256
    stride: int = 256
    max_var: float = 20.0
    min_mean: float = 0.0


@dataclass
class PatchResult:
    patches: list[np.ndarray]
    boxes: list[tuple[int, int]]
    patch_sigma: float | None
    immerkaer_sigma: float
    windows: int
    lowest_var: float | None = None
    variances: list[float] = field(default_factory=list)


def gray_255(pixels: np.ndarray) -> np.ndarray:
    """Gray image on the 0-255 scale (PIL's 'L' weights; 16-bit divided by 257)."""
    p = pixels.astype(np.float64)
    if pixels.dtype == np.uint16:
        p = p / 257.0
    if p.ndim == 2:
        return p
    if p.shape[2] >= 3:
        return p[:, :, 0] * 0.299 + p[:, :, 1] * 0.587 + p[:, :, 2] * 0.114
    return p[:, :, 0]


def immerkaer_sigma(gray: np.ndarray) -> float:
    """Immerkaer (1996): sigma = sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I conv N|."""
    h, w = gray.shape
    if h < 3 or w < 3:
        return float("nan")
    resp = ndimage.correlate(gray, _IMMERKAER, mode="reflect")[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(resp).sum() / (6.0 * (w - 2) * (h - 2)))


def channel_immerkaer(pixels: np.ndarray) -> float:
    """Mean over colour channels (alpha ignored) of Immerkaer's estimate, 0-255 units."""
    p = pixels.astype(np.float64) / (257.0 if pixels.dtype == np.uint16 else 1.0)
    p = p[:, :, None] if p.ndim == 2 else p
    n = 3 if p.shape[2] >= 3 else 1
    return float(np.mean([immerkaer_sigma(p[:, :, c]) for c in range(n)]))


def collect_patches(pixels: np.ndarray, rule: NoiseRule | None = None) -> PatchResult:
    """Apply the RealSR rule to one image (H, W, C) uint8/uint16; returns kept colour patches and estimates."""
    rule = rule or NoiseRule()
    gray = gray_255(pixels)
    h, w = gray.shape
    sp, st = rule.window, rule.stride
    patches, boxes, variances = [], [], []
    for top in range(0, h - sp, st):
        for left in range(0, w - sp, st):
            win = gray[top : top + sp, left : left + sp]
            var, mean = float(win.var()), float(win.mean())
            variances.append(var)
            if var < rule.max_var and mean > rule.min_mean:
                patches.append(np.ascontiguousarray(pixels[top : top + sp, left : left + sp]))
                boxes.append((top, left))
    sigma = None
    if patches:
        scale = 257.0 if pixels.dtype == np.uint16 else 1.0
        stds = [float(np.mean(p.reshape(-1, p.shape[-1]).astype(np.float64).std(0))) / scale for p in patches]
        sigma = float(np.median(stds))
    return PatchResult(
        patches=patches,
        boxes=boxes,
        patch_sigma=sigma,
        immerkaer_sigma=channel_immerkaer(pixels),
        windows=len(variances),
        lowest_var=min(variances) if variances else None,
        variances=variances,
    )


def suggestion(result: PatchResult, rule: NoiseRule, shape: tuple[int, ...]) -> str:
    """A hint for an image that gave no patches."""
    if result.windows == 0:
        return (
            f"the image ({shape[1]}x{shape[0]}) is not larger than one {rule.window}x{rule.window} window; "
            f"try --noise-window {max(16, min(shape[:2]) // 2)}"
        )
    return (
        f"no {rule.window}x{rule.window} window has variance < {rule.max_var:g} and mean > {rule.min_mean:g} "
        f"(lowest variance {result.lowest_var:.1f}); try --noise-max-var {math.ceil(result.lowest_var * 1.2 + 1)} "
        f"or a smaller --noise-window"
    )
