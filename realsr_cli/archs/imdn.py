"""IMDN: Information Multi-Distillation Network, in the simplified form used by the AIM 2019/2020 challenges.

Z. Hui et al., "Lightweight Image Super-Resolution with Information Multi-distillation Network", ACM MM 2019 (AIM 2019
constrained-SR winner). The efficiency numbers of the AIM 2020 report (893,936 parameters, 43 convs at x4) are those of
K. Zhang's simplified IMDN in cszn/KAIR ``models/network_imdn.py`` + ``models/basicblock.py`` (``IMDBlock``: progressive
distillation with 1/4 of the channels split off after each of three conv + LeakyReLU(0.05) modules, a fourth conv, a
1x1 fusion conv and a block residual; no contrast-aware channel attention), 8 blocks of 64 channels, a body conv with a
global residual, and one conv + PixelShuffle upsampler. Module layout (``model.0``, ``model.1.sub.N.conv1.0``, ...)
matches KAIR, so KAIR's ``imdn_x4.pth`` state dicts load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_act(cin: int, cout: int, slope: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(slope, inplace=True))


class IMDBlock(nn.Module):
    def __init__(self, nf: int = 64, d_rate: float = 0.25, negative_slope: float = 0.05) -> None:
        super().__init__()
        self.d_nc = int(nf * d_rate)
        self.r_nc = nf - self.d_nc
        self.conv1 = _conv_act(nf, nf, negative_slope)
        self.conv2 = _conv_act(self.r_nc, nf, negative_slope)
        self.conv3 = _conv_act(self.r_nc, nf, negative_slope)
        self.conv4 = nn.Conv2d(self.r_nc, self.d_nc, 3, 1, 1)
        self.conv1x1 = nn.Conv2d(self.d_nc * 4, nf, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1, r1 = torch.split(self.conv1(x), [self.d_nc, self.r_nc], dim=1)
        d2, r2 = torch.split(self.conv2(r1), [self.d_nc, self.r_nc], dim=1)
        d3, r3 = torch.split(self.conv3(r2), [self.d_nc, self.r_nc], dim=1)
        d4 = self.conv4(r3)
        return x + self.conv1x1(torch.cat((d1, d2, d3, d4), dim=1))


class ShortcutBlock(nn.Module):
    def __init__(self, sub: nn.Module) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sub(x)


class IMDN(nn.Module):
    def __init__(
        self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, num_modules: int = 8, upscale: int = 4, negative_slope=0.05
    ) -> None:
        super().__init__()
        body: list[nn.Module] = [IMDBlock(nf, negative_slope=negative_slope) for _ in range(num_modules)]
        body.append(nn.Conv2d(nf, nf, 3, 1, 1))
        self.model = nn.Sequential(
            nn.Conv2d(in_nc, nf, 3, 1, 1),
            ShortcutBlock(nn.Sequential(*body)),
            nn.Conv2d(nf, out_nc * upscale * upscale, 3, 1, 1),
            nn.PixelShuffle(upscale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def is_imdn_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for IMDN weights in KAIR's layout (``model.1.sub.N.conv1.0``, which is this module's)."""
    return "model.1.sub.0.conv1.0.weight" in state and "model.1.sub.0.conv1x1.weight" in state


def infer_imdn_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int], int]:
    """(in_nc / out_nc / nf / num_modules, upscale) of an IMDN state dict (three output channels)."""
    nf, in_nc = state["model.0.weight"].shape[:2]
    num_modules = sum(1 for k in state if k.startswith("model.1.sub.") and k.endswith(".conv1x1.weight"))
    up = state["model.2.weight"].shape[0]
    return {"in_nc": int(in_nc), "out_nc": 3, "nf": int(nf), "num_modules": num_modules}, int(round((up / 3) ** 0.5))
