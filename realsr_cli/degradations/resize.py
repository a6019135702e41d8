"""Resizing: MATLAB-exact bicubic ``imresize`` and the usual library resamplers, on (B,C,H,W) float tensors.

``imresize`` reproduces MATLAB's ``imresize(I, scale)`` / ``imresize(I, [h w])`` with the default ``'bicubic'``
method — the convention used to make LR images for every SR benchmark (Set5/Set14/DIV2K) and by NIQE: the Keys cubic
kernel with a = -0.5, antialiasing when shrinking (the kernel is stretched by 1/scale and scaled by scale), weights
renormalised to sum 1 per output pixel, symmetric (mirror, edge pixel repeated) borders, output size
``ceil(in * scale)``, and dimensions processed in order of increasing scale (MATLAB's ``sort(scale)``). It follows the
published MATLAB source (``imresize.m``: ``contributions``, ``cubic``) and BasicSR's port
(``basicsr/utils/matlab_functions.py``, Wang et al.). Unlike MATLAB on uint8 input, float outputs are not rounded or
clipped.

Each 1-D pass is a (out x in) weight matrix (mirrored indices folded in) applied by banded block matmuls, so it is
batched and runs on CPU or GPU.

``resize(x, size, method)`` offers: ``nearest`` (OpenCV/PyTorch nearest: src = floor(dst / scale)), ``bilinear`` and
``bicubic`` (PyTorch ``F.interpolate``, half-pixel centres, bicubic a = -0.75 as OpenCV; no antialiasing unless asked,
as Real-ESRGAN's degradation uses them), ``area`` (PyTorch adaptive average pooling), ``lanczos`` (Lanczos-3, Pillow
convention: antialiased when shrinking) and ``matlab`` (``imresize`` above).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "area", "matlab")


def cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a = -0.5 in MATLAB)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = ((a + 2) * ax3 - (a + 3) * ax2 + 1) * (ax <= 1)
    far = (a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax <= 2))
    return near + far


def lanczos3(x: np.ndarray) -> np.ndarray:
    """Lanczos kernel with three lobes."""
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


def output_length(in_length: int, scale: float) -> int:
    """``ceil(in * scale)`` as MATLAB, tolerant to float noise (``0.1 * 30`` gives 3, not 4)."""
    return max(1, int(math.ceil(in_length * scale - 1e-9)))


def weight_matrix(
    in_length: int,
    out_length: int,
    scale: float,
    kernel: Callable[[np.ndarray], np.ndarray] = cubic,
    kernel_width: float = 4.0,
    antialias: bool = True,
) -> np.ndarray:
    """The (out, in) float64 matrix of one 1-D resampling pass (MATLAB ``contributions`` + symmetric padding)."""
    if scale < 1 and antialias:
        kernel_width = kernel_width / scale
        kern = lambda d: scale * kernel(d * scale)  # noqa: E731
    else:
        kern = kernel
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = kern(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    cols = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps), cols.ravel()), weights.ravel())
    return matrix


BLOCK_ROWS = 64  # output rows per banded block


def _bands(matrix: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(row0, row1, col0, col1) blocks covering the non-zero band of a resampling matrix."""
    bands = []
    for r0 in range(0, matrix.shape[0], BLOCK_ROWS):
        r1 = min(r0 + BLOCK_ROWS, matrix.shape[0])
        cols = np.flatnonzero(np.any(matrix[r0:r1] != 0, axis=0))
        bands.append((r0, r1, int(cols[0]), int(cols[-1]) + 1))
    return bands


def _apply_matrix(x: torch.Tensor, matrix: np.ndarray, dim: int) -> torch.Tensor:
    """``matrix @ x`` along ``dim`` (-2 rows, -1 columns), one banded block at a time (the matrix is sparse)."""
    dtype = x.dtype if x.dtype == torch.float64 else torch.float32
    m = torch.from_numpy(matrix).to(device=x.device, dtype=dtype)
    x = x.to(dtype)
    parts = []
    for r0, r1, c0, c1 in _bands(matrix):
        if dim == -1:
            parts.append(torch.matmul(x[..., c0:c1], m[r0:r1, c0:c1].t()))
        else:
            parts.append(torch.matmul(m[r0:r1, c0:c1], x[..., c0:c1, :]))
    return torch.cat(parts, dim=dim)


def _as_bchw(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.dim() == 3:
        return x.unsqueeze(0), True
    if x.dim() == 4:
        return x, False
    raise ValueError(f"expected a (C,H,W) or (B,C,H,W) tensor, got shape {tuple(x.shape)}")


def _separable(
    x: torch.Tensor,
    size: tuple[int, int],
    scales: tuple[float, float],
    kernel: Callable[[np.ndarray], np.ndarray],
    kernel_width: float,
    antialias: bool,
) -> torch.Tensor:
    x4, squeezed = _as_bchw(x)
    in_h, in_w = x4.shape[-2:]
    out = x4
    # MATLAB: dimensions in order of increasing scale (stable: H first on ties).
    for dim in sorted((-2, -1), key=lambda d: (scales[d + 2], d)):
        in_len, out_len = (in_h, size[0]) if dim == -2 else (in_w, size[1])
        if in_len == out_len and scales[dim + 2] == 1:
            continue
        out = _apply_matrix(out, weight_matrix(in_len, out_len, scales[dim + 2], kernel, kernel_width, antialias), dim)
    out = out.to(x.dtype) if x.dtype.is_floating_point else out
    return out.squeeze(0) if squeezed else out


def imresize(
    x: torch.Tensor,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """MATLAB ``imresize(x, scale)`` or ``imresize(x, [h w])``, bicubic, on (B,C,H,W) or (C,H,W) float tensors."""
    in_h, in_w = x.shape[-2:]
    if scale is not None and size is None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        out = (output_length(in_h, scale), output_length(in_w, scale))
        scales = (float(scale), float(scale))
    elif size is not None and scale is None:
        out = (int(size[0]), int(size[1]))
        scales = (out[0] / in_h, out[1] / in_w)
    else:
        raise ValueError("give exactly one of scale or size")
    return _separable(x, out, scales, cubic, 4.0, antialias)


def resize(x: torch.Tensor, size: tuple[int, int], method: str = "matlab", antialias: bool = False) -> torch.Tensor:
    """Resize (B,C,H,W) or (C,H,W) float tensors to ``size`` = (h, w) with one of ``RESIZE_METHODS``.

    ``antialias`` applies to ``bilinear``/``bicubic`` (PyTorch's antialiased variants); ``matlab`` and ``lanczos`` are
    always antialiased when shrinking, ``nearest`` and ``area`` never need it.
    """
    size = (int(size[0]), int(size[1]))
    in_h, in_w = x.shape[-2:]
    if method == "matlab":
        return imresize(x, size=size)
    if method == "lanczos":
        return _separable(x, size, (size[0] / in_h, size[1] / in_w), lanczos3, 6.0, True)
    x4, squeezed = _as_bchw(x)
    if method == "nearest":
        out = F.interpolate(x4, size=size, mode="nearest")
    elif method in ("bilinear", "bicubic"):
        out = F.interpolate(x4, size=size, mode=method, align_corners=False, antialias=antialias)
    elif method == "area":
        out = F.interpolate(x4, size=size, mode="area")
    else:
        raise ValueError(f"unknown resize method {method!r} (choose from {', '.join(RESIZE_METHODS)})")
    return out.squeeze(0) if squeezed else out


def scaled_size(h: int, w: int, scale: float) -> tuple[int, int]:
    """Output size of a scale factor, MATLAB convention (``ceil``)."""
    return output_length(h, scale), output_length(w, scale)
