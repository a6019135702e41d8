"""Where a ``(I * k)↓s`` kernel must be centred, how far a kernel is from it, and re-centring without truncation.

``blur_subsample`` (the KernelGAN / RealSR model) correlates with ``k`` padded by ``(size - 1) // 2`` before and
keeps pixels ``0, s, 2s, ...``. LR pixel ``i`` then samples the HR image around ``s i + c - (size - 1) // 2``
(``c`` the kernel's centre of mass), and it is aligned with MATLAB's bicubic ``imresize`` (LR pixel ``i`` = the
centre ``s i + (s - 1) / 2`` of its HR block) exactly when ``c = (size - 1) // 2 + (s - 1) / 2``: the
"x``s``-aligned centre" of KernelGAN's ``kernel_shift`` (Bell-Kligler et al., NeurIPS 2019, sefibk/KernelGAN
util.py: ``size // 2 + 0.5 * (sf - size % 2)``, the same index for odd sizes). Symmetric padding or trimming
keeps a kernel aligned, so kernels of any odd size can be compared once padded to a common size.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

CENTRE_TOLERANCE = 0.05  # HR pixels: a kernel whose centre of mass is closer than this is "centred"
TRIM_TOLERANCE = 1e-4  # fraction of |mass| a trimmed outer ring may hold (far below the 1 % "truncated" line)


def aligned_centre(size: int, scale: int) -> float:
    """The row (or column) index where the centre of mass of a ``size``-tap ``(I * k)↓scale`` kernel belongs."""
    return (int(size) - 1) // 2 + (int(scale) - 1) / 2


def centre_of_mass(kernel: np.ndarray) -> np.ndarray:
    """(row, col) of the signed centre of mass (the kernel sums to a positive value)."""
    k = np.asarray(kernel, dtype=np.float64)
    total = k.sum()
    rows, cols = np.arange(k.shape[0]), np.arange(k.shape[1])
    return np.array([(k.sum(1) @ rows) / total, (k.sum(0) @ cols) / total])


def centre_offset(kernel: np.ndarray, scale: int) -> np.ndarray:
    """(drow, dcol) from the x``scale``-aligned centre to the centre of mass, in HR pixels."""
    k = np.asarray(kernel)
    wanted = np.array([aligned_centre(k.shape[0], scale), aligned_centre(k.shape[1], scale)])
    return centre_of_mass(k) - wanted


def is_centred(kernel: np.ndarray, scale: int, tol: float = CENTRE_TOLERANCE) -> bool:
    return float(np.abs(centre_offset(kernel, scale)).max()) <= tol


def pad_to(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad symmetrically to ``size`` x ``size`` (alignment is kept); ``size - k.shape`` must be even."""
    k = np.asarray(kernel, dtype=np.float64)
    pr, pc = size - k.shape[0], size - k.shape[1]
    if pr < 0 or pc < 0 or pr % 2 or pc % 2:
        raise ValueError(f"cannot pad a {k.shape} kernel symmetrically to {size}x{size}")
    return np.pad(k, ((pr // 2, pr // 2), (pc // 2, pc // 2)))


def trim(kernel: np.ndarray, min_size: int, tol: float = TRIM_TOLERANCE) -> np.ndarray:
    """Drop outer rings (one each side, so alignment is kept) while the |mass| removed stays below ``tol``."""
    k = np.asarray(kernel, dtype=np.float64)
    budget = tol * np.abs(k).sum()
    removed = 0.0
    while k.shape[0] - 2 >= min_size and k.shape[1] - 2 >= min_size:
        ring = np.abs(k).sum() - np.abs(k[1:-1, 1:-1]).sum()
        if removed + ring > budget:
            break
        removed += ring
        k = k[1:-1, 1:-1]
    return k


def outside_mass(kernel: np.ndarray, size: int) -> float:
    """Fraction of the |mass| outside the centred ``size`` x ``size`` crop (0 when the kernel is not larger)."""
    k = np.abs(np.asarray(kernel, dtype=np.float64))
    pr, pc = max(0, (k.shape[0] - size) // 2), max(0, (k.shape[1] - size) // 2)
    inner = k[pr : k.shape[0] - pr, pc : k.shape[1] - pc]
    return float(1.0 - inner.sum() / k.sum())


def recentre(kernel: np.ndarray, scale: int, order: int = 3, min_size: int | None = None) -> np.ndarray:
    """Shift the centre of mass onto the x``scale``-aligned centre of an odd support large enough to lose nothing.

    The kernel is placed in a zero canvas with room for the shift and the interpolation's reach, shifted by
    ``scipy.ndimage.shift`` (``order`` 3 = KernelGAN's ``kernel_shift``; 1 = linear, non-negative, which moves the
    first moment exactly), then trimmed back symmetrically while the rings removed hold < ``TRIM_TOLERANCE`` of
    the mass; a second pass removes what the spline's rounding left (< 1e-3 px). Sum 1 on return.
    """
    k = np.asarray(kernel, dtype=np.float64)
    k = k / k.sum()
    floor = min_size if min_size is not None else k.shape[0] + (1 - k.shape[0] % 2)
    for _ in range(2):
        offset = centre_offset(k, scale)
        if np.abs(offset).max() < 1e-3:
            break
        margin = int(math.ceil(np.abs(offset).max())) + 4
        size = max(k.shape) + 2 * margin
        size += 1 - size % 2
        canvas = np.zeros((size, size))
        canvas[margin : margin + k.shape[0], margin : margin + k.shape[1]] = k
        k = ndimage.shift(canvas, -centre_offset(canvas, scale), order=order, mode="constant")
        k = trim(k, floor)
        k = k / k.sum()
    return k


def aligned_kernel(kernel: np.ndarray, scale: int, name: str) -> tuple[np.ndarray, str | None]:
    """A loaded ``(I * k)↓scale`` kernel checked for alignment: returned as is when centred (within 0.05 px),
    re-centred (linear shift, nothing cropped) with a one-line note when off by up to one LR pixel, refused
    (``InputError`` naming ``name``) beyond: such a kernel is truncated or follows another convention, and the
    pairs made with it would be shifted against their HR patches."""
    from realsr_cli.errors import InputError

    offset = centre_offset(kernel, scale)
    worst = float(np.abs(offset).max())
    if worst <= CENTRE_TOLERANCE:
        return kernel, None
    com = centre_of_mass(kernel)
    wanted = com - offset
    where = f"centre of mass ({com[0]:.2f}, {com[1]:.2f}) is {worst:.2f} HR px from the x{scale}-aligned centre"
    where += f" ({wanted[0]:.1f}, {wanted[1]:.1f})"
    if worst > scale:
        raise InputError(
            f"{name}: {where}, more than one LR pixel: not a centred (I * k)↓{scale} kernel "
            "(a truncated estimate or another centring convention); re-estimate it or remove the file"
        )
    return recentre(
        kernel, scale, order=1
    ), f"{name}: {where}; re-centred (pairs would be {worst / scale:.2f} LR px off)"
