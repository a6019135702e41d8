"""Building blocks shared by several architectures: conv helper, weight init, residual block without BN, upsampler.

Follows BasicSR ``basicsr/archs/arch_util.py`` (X. Wang et al., https://github.com/XPixelGroup/BasicSR).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import init


def conv3x3(in_ch: int, out_ch: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias)


@torch.no_grad()
def default_init_weights(modules: nn.Module | list[nn.Module], scale: float = 1.0, bias_fill: float = 0.0) -> None:
    """Kaiming-normal init scaled by ``scale`` (0.1 for residual SR bodies, as BasicSR/ESRGAN)."""
    if not isinstance(modules, list):
        modules = [modules]
    for module in modules:
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if m.weight.is_meta:
                    continue
                init.kaiming_normal_(m.weight)
                m.weight.data *= scale
                if m.bias is not None:
                    m.bias.data.fill_(bias_fill)


class ResidualBlockNoBN(nn.Module):
    """x + res_scale * conv(relu(conv(x))) (EDSR / SRResNet-without-BN block; ReLU applied functionally as BasicSR)."""

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0, init_scale: float | None = 0.1) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = conv3x3(num_feat, num_feat)
        self.conv2 = conv3x3(num_feat, num_feat)
        if init_scale is not None:
            default_init_weights([self.conv1, self.conv2], init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(x))) * self.res_scale


class Upsample(nn.Sequential):
    """conv + PixelShuffle(2) per factor 2, or one conv + PixelShuffle(3) (EDSR/RCAN upsampler)."""

    def __init__(self, scale: int, num_feat: int) -> None:
        layers: list[nn.Module] = []
        if scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [conv3x3(num_feat, 4 * num_feat), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [conv3x3(num_feat, 9 * num_feat), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"scale {scale} is not supported (powers of 2 and 3)")
        super().__init__(*layers)


def upsample_scale(state: dict[str, torch.Tensor], num_feat: int, prefix: str = "upsample.") -> int:
    """The scale of an :class:`Upsample` from its weights: one conv to 9 x num_feat is x3, else 2 ** convs."""
    convs = [k for k in state if k.startswith(prefix) and k.endswith(".weight")]
    if len(convs) == 1 and state[convs[0]].shape[0] == 9 * num_feat:
        return 3
    return 2 ** len(convs)


def make_layer(block: type[nn.Module] | object, n: int, **kwargs) -> nn.Sequential:
    return nn.Sequential(*[block(**kwargs) for _ in range(n)])  # type: ignore[operator]
