"""Tiny models shared by the upscale tests (not a test module)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from realsr_cli.models.loading import SRModel


class NearestUp(nn.Module):
    """Exact nearest-neighbour x s: output pixels are copies of input pixels (no rounding anywhere)."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="nearest") + 0 * self.dummy


class ConvUp(nn.Module):
    """``depth`` 3x3 convs (receptive-field radius = depth) then pixel shuffle; random weights, not equivariant."""

    def __init__(self, scale: int = 2, depth: int = 3, width: int = 8, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        chans = [3] + [width] * (depth - 1) + [3 * scale * scale]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans[:-1], chans[1:], strict=True))
        for conv in self.convs:
            conv.weight.data = torch.randn(conv.weight.shape, generator=gen) * 0.3
            conv.bias.data = torch.randn(conv.bias.shape, generator=gen) * 0.05
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i + 1 < len(self.convs):
                x = torch.tanh(x)
        return torch.sigmoid(self.shuffle(x))


def sr_model(module: nn.Module, scale: int, name: str = "toy") -> SRModel:
    return SRModel(module=module.eval(), scale=scale, name=name, arch="toy", source=name)
