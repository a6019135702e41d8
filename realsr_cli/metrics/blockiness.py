"""Block structure of an image at a given period: how much of its gradient energy sits on block boundaries.

``block_boundary_ratio(x, period)`` is the mean squared first difference across the boundaries of a
``period``-pixel grid (between columns/rows ``kp - 1`` and ``kp``) divided by the mean squared difference inside the
blocks, horizontally and vertically pooled. 1 means no preference for the grid; nearest-neighbour x4 upsampling
(SRVGGNetCompact's skip) gives ratios far above 1 on smooth content, as do JPEG's 8x8 blocks. It is the
boundary/interior gradient comparison of the classic blind blockiness measures (Wang, Bovik, Evans, "Blind
measurement of blocking artifacts in images", ICIP 2000; Vlachos, "Detection of blocking artifacts in compressed
video", Electronics Letters 2000), used here to prove that an SR model's output has no staircase.
"""

from __future__ import annotations

import torch


def block_boundary_ratio(x: torch.Tensor, period: int, eps: float = 1e-12) -> torch.Tensor:
    """Per image of a (B, C, H, W) float tensor: boundary / interior mean squared difference at ``period``."""
    if period < 2:
        raise ValueError(f"period {period}: must be at least 2")
    x = x.double()
    dx = (x[..., :, 1:] - x[..., :, :-1]) ** 2  # dx[..., j] is between columns j and j + 1
    dy = (x[..., 1:, :] - x[..., :-1, :]) ** 2
    on_x = (torch.arange(1, x.shape[-1], device=x.device) % period) == 0
    on_y = (torch.arange(1, x.shape[-2], device=x.device) % period) == 0
    boundary = dx[..., :, on_x].flatten(1).sum(1) + dy[..., on_y, :].flatten(1).sum(1)
    interior = dx[..., :, ~on_x].flatten(1).sum(1) + dy[..., ~on_y, :].flatten(1).sum(1)
    n_boundary = dx[..., :, on_x][0].numel() + dy[..., on_y, :][0].numel()
    n_interior = dx[..., :, ~on_x][0].numel() + dy[..., ~on_y, :][0].numel()
    return (boundary / n_boundary) / (interior / n_interior + eps)
