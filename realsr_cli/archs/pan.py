"""PAN: Efficient Image Super-Resolution Using Pixel Attention.

H. Zhao, X. Kong, J. He, Y. Qiao, C. Dong, ECCVW 2020 (AIM 2020 Efficient SR). Official code: zhaohengyuan1/PAN
``codes/models/archs/PAN_arch.py``: 16 SCPA blocks (self-calibrated convolution with pixel attention) of 40 channels,
upsampling by nearest interpolation + conv + pixel attention (PA) + conv at 24 channels (U-PA), bilinear global skip.
Attribute names match the official code, so ``PANx4_DF2K.pth`` loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PA(nn.Module):
    """Pixel attention: x * sigmoid(conv1x1(x))."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(nf, nf, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.conv(x))


class PAConv(nn.Module):
    def __init__(self, nf: int, k_size: int = 3) -> None:
        super().__init__()
        self.k2 = nn.Conv2d(nf, nf, 1)
        self.sigmoid = nn.Sigmoid()
        self.k3 = nn.Conv2d(nf, nf, k_size, padding=(k_size - 1) // 2, bias=False)
        self.k4 = nn.Conv2d(nf, nf, k_size, padding=(k_size - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k4(self.k3(x) * self.sigmoid(self.k2(x)))


class SCPA(nn.Module):
    """Self-calibrated block with pixel attention (after SCNet, Liu et al., CVPR 2020)."""

    def __init__(self, nf: int, reduction: int = 2) -> None:
        super().__init__()
        gw = nf // reduction
        self.conv1_a = nn.Conv2d(nf, gw, 1, bias=False)
        self.conv1_b = nn.Conv2d(nf, gw, 1, bias=False)
        self.k1 = nn.Sequential(nn.Conv2d(gw, gw, 3, 1, 1, bias=False))
        self.PAConv = PAConv(gw)
        self.conv3 = nn.Conv2d(gw * reduction, nf, 1, bias=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_a = self.lrelu(self.conv1_a(x))
        out_b = self.lrelu(self.conv1_b(x))
        out_a = self.lrelu(self.k1(out_a))
        out_b = self.lrelu(self.PAConv(out_b))
        return self.conv3(torch.cat([out_a, out_b], dim=1)) + x


class PAN(nn.Module):
    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 40, unf: int = 24, nb: int = 16, scale: int = 4):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"PAN supports x2, x3, x4 (got x{scale})")
        self.scale = scale
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.SCPA_trunk = nn.Sequential(*[SCPA(nf) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, unf, 3, 1, 1)
        self.att1 = PA(unf)
        self.HRconv1 = nn.Conv2d(unf, unf, 3, 1, 1)
        if scale == 4:
            self.upconv2 = nn.Conv2d(unf, unf, 3, 1, 1)
            self.att2 = PA(unf)
            self.HRconv2 = nn.Conv2d(unf, unf, 3, 1, 1)
        self.conv_last = nn.Conv2d(unf, out_nc, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.SCPA_trunk(fea))
        step = 2 if self.scale == 4 else self.scale
        fea = self.upconv1(F.interpolate(fea, scale_factor=step, mode="nearest"))
        fea = self.lrelu(self.HRconv1(self.lrelu(self.att1(fea))))
        if self.scale == 4:
            fea = self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest"))
            fea = self.lrelu(self.HRconv2(self.lrelu(self.att2(fea))))
        ilr = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.conv_last(fea) + ilr


def is_pan_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for PAN weights (the official zhaohengyuan1/PAN names, which are this module's)."""
    return "SCPA_trunk.0.conv1_a.weight" in state


def infer_pan_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int], int]:
    """(in_nc / out_nc / nf / unf / nb, scale) of a PAN state dict. x2 and x3 have the same shapes: ``scale`` (when
    2 or 3) tells them apart, else x2."""
    nf, in_nc = state["conv_first.weight"].shape[:2]
    nb = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("SCPA_trunk."))
    args = {"in_nc": int(in_nc), "out_nc": int(state["conv_last.weight"].shape[0]), "nf": int(nf)}
    args |= {"unf": int(state["upconv1.weight"].shape[0]), "nb": nb}
    return args, 4 if "upconv2.weight" in state else (scale if scale in (2, 3) else 2)
