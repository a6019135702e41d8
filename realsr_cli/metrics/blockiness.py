"""Block structure of an image at a given period: how much of its gradient energy sits on block boundaries.

``block_boundary_ratio(x, period)`` is the mean squared first difference across the boundaries of a
``period``-pixel grid (between columns/rows ``kp - 1`` and ``kp``) divided by the mean squared difference inside the
blocks, horizontally and vertically pooled. 1 means no preference for the grid; nearest-neighbour x4 upsampling
(SRVGGNetCompact's skip) gives ratios far above 1 on smooth content, as do JPEG's 8x8 blocks. It is the
boundary/interior gradient comparison of the classic blind blockiness measures (Wang, Bovik, Evans, "Blind
measurement of blocking artifacts in images", ICIP 2000; Vlachos, "Detection of blocking artifacts in compressed
video", Electronics Letters 2000), used here to prove that an SR model's output has no staircase.

``grid_blockiness(gray, period)`` finds a grid of unknown phase (a decoded JPEG's 8x8 blocks, possibly cropped): per
axis, the median over the gaps of each phase of the mean absolute difference across them, the strongest phase over
the others' median. Both share the gap convention of :func:`gap_phases` (phase 0: the grid's boundaries).
"""

from __future__ import annotations

import numpy as np
import torch


def gap_phases(length: int, period: int) -> np.ndarray:
    """The phase of each of the ``length - 1`` gaps between pixels ``j`` and ``j + 1``: ``(j + 1) % period``."""
    return np.arange(1, length) % period


def block_boundary_ratio(x: torch.Tensor, period: int, eps: float = 1e-12) -> torch.Tensor:
    """Per image of a (B, C, H, W) float tensor: boundary / interior mean squared difference at ``period``."""
    if period < 2:
        raise ValueError(f"period {period}: must be at least 2")
    x = x.double()
    dx = (x[..., :, 1:] - x[..., :, :-1]) ** 2  # dx[..., j] is between columns j and j + 1
    dy = (x[..., 1:, :] - x[..., :-1, :]) ** 2
    on_x = torch.from_numpy(gap_phases(x.shape[-1], period) == 0).to(x.device)
    on_y = torch.from_numpy(gap_phases(x.shape[-2], period) == 0).to(x.device)
    boundary = dx[..., :, on_x].flatten(1).sum(1) + dy[..., on_y, :].flatten(1).sum(1)
    interior = dx[..., :, ~on_x].flatten(1).sum(1) + dy[..., ~on_y, :].flatten(1).sum(1)
    n_boundary = dx[..., :, on_x][0].numel() + dy[..., on_y, :][0].numel()
    n_interior = dx[..., :, ~on_x][0].numel() + dy[..., ~on_y, :][0].numel()
    return (boundary / n_boundary) / (interior / n_interior + eps)


def grid_blockiness(gray: np.ndarray, period: int = 8) -> tuple[float, list[tuple[int, int]]]:
    """Boundary / interior ratio (1 = no blocking) of a 2-D image and candidate grid phases (row, col), best first:
    per axis, the median absolute difference across the gaps of each phase (one strong edge of the scene must not
    look like a grid), the best phase's over the others' median; the two strongest phases of each axis are the
    candidates."""
    ratios, tops = [], []
    for axis in (0, 1):
        diff = np.abs(np.diff(gray, axis=axis)).mean(axis=1 - axis)
        phases = gap_phases(len(diff) + 1, period)
        phase = np.array([np.median(diff[phases == p]) for p in range(period)])
        order = [int(v) for v in np.argsort(-phase)]
        ratios.append(phase[order[0]] / max(float(np.median(phase[order[1:]])), 1e-9))
        tops.append(order[:2])
    grids = [(r, c) for r in tops[0] for c in tops[1]]
    return float(np.mean(ratios)), sorted(grids, key=lambda g: (g[0] != tops[0][0]) + (g[1] != tops[1][0]))
