"""RFDN: Residual Feature Distillation Network, winner of the AIM 2020 Efficient SR challenge.

J. Liu, J. Tang, G. Wu, "Residual Feature Distillation Network for Lightweight Image Super-Resolution", ECCVW 2020.
Official code: njulj/RFDN ``RFDN.py`` + ``block.py``: 4 RFDB blocks of 50 channels (shallow residual blocks, 1x1
distillation convs, LeakyReLU(0.05), enhanced spatial attention ESA), a 1x1 fusion conv + LeakyReLU over the four block
outputs, an LR conv with a global residual, and one conv + PixelShuffle upsampler. Attribute names match the official
code, so ``RFDN_AIM.pth`` loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_layer(cin: int, cout: int, kernel_size: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size, stride, padding=(kernel_size - 1) // 2)


class ESA(nn.Module):
    """Enhanced spatial attention: 1x1 reduce, strided conv + 7/3 max-pool, convs, bilinear up, 1x1 expand, sigmoid."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        f = n_feats // 4
        self.conv1 = nn.Conv2d(n_feats, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, n_feats, 1)
        self.sigmoid = nn.Sigmoid()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        v_max = F.max_pool2d(c1, kernel_size=7, stride=3)
        v_range = self.relu(self.conv_max(v_max))
        c3 = self.relu(self.conv3(v_range))
        c3 = self.conv3_(c3)
        c3 = F.interpolate(c3, (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        cf = self.conv_f(c1_)
        return x * self.sigmoid(self.conv4(c3 + cf))


class RFDB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.dc = in_channels // 2
        self.rc = in_channels
        self.c1_d = conv_layer(in_channels, self.dc, 1)
        self.c1_r = conv_layer(in_channels, self.rc, 3)
        self.c2_d = conv_layer(self.rc, self.dc, 1)
        self.c2_r = conv_layer(self.rc, self.rc, 3)
        self.c3_d = conv_layer(self.rc, self.dc, 1)
        self.c3_r = conv_layer(self.rc, self.rc, 3)
        self.c4 = conv_layer(self.rc, self.dc, 3)
        self.act = nn.LeakyReLU(0.05, inplace=True)
        self.c5 = conv_layer(self.dc * 4, in_channels, 1)
        self.esa = ESA(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.act(self.c1_d(x))
        r1 = self.act(self.c1_r(x) + x)
        d2 = self.act(self.c2_d(r1))
        r2 = self.act(self.c2_r(r1) + r1)
        d3 = self.act(self.c3_d(r2))
        r3 = self.act(self.c3_r(r2) + r2)
        r4 = self.act(self.c4(r3))
        return self.esa(self.c5(torch.cat([d1, d2, d3, r4], dim=1)))


class RFDN(nn.Module):
    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 50, num_modules: int = 4, upscale: int = 4) -> None:
        super().__init__()
        self.num_modules = num_modules
        self.fea_conv = conv_layer(in_nc, nf, 3)
        for i in range(1, num_modules + 1):
            setattr(self, f"B{i}", RFDB(nf))
        self.c = nn.Sequential(nn.Conv2d(nf * num_modules, nf, 1), nn.LeakyReLU(0.05, inplace=True))
        self.LR_conv = conv_layer(nf, nf, 3)
        self.upsampler = nn.Sequential(conv_layer(nf, out_nc * upscale * upscale, 3), nn.PixelShuffle(upscale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_fea = self.fea_conv(x)
        outs, out = [], out_fea
        for i in range(1, self.num_modules + 1):
            out = getattr(self, f"B{i}")(out)
            outs.append(out)
        out_lr = self.LR_conv(self.c(torch.cat(outs, dim=1))) + out_fea
        return self.upsampler(out_lr)


def is_rfdn_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for RFDN weights (the official njulj/RFDN names, which are this module's)."""
    return "B1.c1_d.weight" in state and "upsampler.0.weight" in state


def infer_rfdn_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int], int]:
    """(in_nc / out_nc / nf / num_modules, upscale) of an RFDN state dict (three output channels)."""
    nf, in_nc = state["fea_conv.weight"].shape[:2]
    num_modules = sum(1 for k in state if k.endswith(".c1_d.weight"))
    up = state["upsampler.0.weight"].shape[0]
    return {"in_nc": int(in_nc), "out_nc": 3, "nf": int(nf), "num_modules": num_modules}, int(round((up / 3) ** 0.5))
