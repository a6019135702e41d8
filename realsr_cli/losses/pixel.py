"""Pixel losses: L1, L2 (MSE) and Charbonnier.

Charbonnier: ``sqrt((x - y)^2 + eps)`` (Lai et al., "Deep Laplacian Pyramid Networks", CVPR 2017), with
BasicSR's default ``eps = 1e-12`` (basicsr/losses/basic_loss.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class L1Loss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


class MSELoss(nn.Module):
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).pow(2).mean()


class CharbonnierLoss(nn.Module):
    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return torch.sqrt((pred - target).pow(2) + self.eps).mean()


PIXEL_LOSSES = {"l1": L1Loss, "l2": MSELoss, "mse": MSELoss, "charbonnier": CharbonnierLoss}


def pixel_loss(kind: str, **kwargs: float) -> nn.Module:
    """``l1`` | ``l2`` (``mse``) | ``charbonnier``."""
    try:
        return PIXEL_LOSSES[kind.lower()](**kwargs)
    except KeyError:
        raise ValueError(f"unknown pixel loss {kind!r} (known: {', '.join(PIXEL_LOSSES)})") from None
